#!/usr/bin/env python3
"""check_torch.py - compare botify's model with the same model in PyTorch.

`make check-torch` runs it (needs python3-torch and numpy; not part of CI):

    check_torch.py BOTIFY CHECK_TORCH_DUMP

For each arch it trains a tiny model with botify on a tiny world (2 epochs),
loads the model directory's .npy tensors into a PyTorch module written
straight from docs/train.md, runs the batch that check_torch_dump used, and
compares predictions, loss and every parameter gradient. Exit 0 when all
agree to 1e-4 (relative to the largest magnitude of each tensor).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F


def two_tower(W, ids, context_artist):
    u, s, t, a, sa = (torch.as_tensor(ids[i].astype(np.int64)) for i in range(5))

    def tower(x, p):
        for k in (1, 2, 3):
            x = F.leaky_relu(F.linear(x, W[f"{p}_w{k}"], W[f"{p}_b{k}"]), 0.01)
        return x

    ctx = [W["user_emb"][u], W["start_emb"][s]] + ([W["artist_emb"][sa]] if context_artist else [])
    c = tower(torch.cat(ctx, dim=1), "ctx")
    i = tower(torch.cat([W["track_emb"][t], W["artist_emb"][a]], dim=1), "item")
    return (c * i).sum(dim=1)


def dot(W, ids, _context_artist):
    s, t = (torch.as_tensor(ids[i].astype(np.int64)) for i in (1, 2))
    return (W["start_emb"][s] * W["track_emb"][t]).sum(dim=1)


def sum_(W, ids, _context_artist):
    u, s, t = (torch.as_tensor(ids[i].astype(np.int64)) for i in (0, 1, 2))
    return ((W["start_emb"][s] + W["user_emb"][u]) * W["track_emb"][t]).sum(dim=1)


def hybrid(W, ids, _context_artist):
    u, s, t = (torch.as_tensor(ids[i].astype(np.int64)) for i in (0, 1, 2))
    track = W["track_emb"][t]
    user_term = F.linear(W["user_emb"][u] * track, W["user_lin_w"], W["user_lin_b"]).squeeze(1)
    return torch.sigmoid((W["start_emb"][s] * track).sum(dim=1) + user_term)


FORWARD = {"two-tower": two_tower, "dot": dot, "sum": sum_, "hybrid": hybrid}


def close(name, got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = max(np.abs(want).max(), 1e-6)
    err = np.abs(got - want).max() / scale
    ok = got.shape == want.shape and err < 1e-4
    print(f"  {'ok  ' if ok else 'FAIL'} {name:14s} max rel err {err:.2e}")
    return ok


def main():
    botify, dump = sys.argv[1], sys.argv[2]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        world, log = os.path.join(tmp, "world"), os.path.join(tmp, "log.jsonl")
        run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run(botify, "datagen", "--out", world, "--tracks", "200", "--users", "30", "--dim", "8")
        run(botify, "simulate", "--world", world, "--episodes", "500", "--recommender", "sticky_artist", "--log", log)
        for arch in ("two-tower", "dot", "sum", "hybrid"):
            print(arch)
            model, out = os.path.join(tmp, arch), os.path.join(tmp, arch + ".out")
            os.mkdir(out)
            run(botify, "train", "--world", world, "--log", log, "--model", model, "--arch", arch,
                "--emb", "6", "--hidden", "10", "--out", "5" if arch == "two-tower" else "6", "--epochs", "2")
            run(dump, model, world, out)
            cfg = json.load(open(os.path.join(model, "config.json")))
            W = {n: torch.tensor(np.load(os.path.join(model, n + ".npy")), dtype=torch.float64, requires_grad=True)
                 for n in cfg["tensors"] if n not in ("user_pairs", "user_context")}
            ids = np.load(os.path.join(out, "batch_ids.npy"))
            y = torch.tensor(np.load(os.path.join(out, "batch_y.npy")), dtype=torch.float64)
            pred = FORWARD[arch](W, ids, cfg.get("context_artist", False))
            loss = F.mse_loss(pred, y)
            loss.backward()
            ok &= close("pred", np.load(os.path.join(out, "pred.npy")), pred.detach().numpy())
            ok &= close("loss", np.load(os.path.join(out, "loss.npy")), [loss.item()])
            for n, w in W.items():
                ok &= close("grad " + n, np.load(os.path.join(out, f"grad_{n}.npy")), w.grad.numpy())
    print("check-torch:", "all agree" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
