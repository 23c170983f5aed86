#!/usr/bin/env python3
"""torch_parity.py - botify train and PyTorch on exactly the same pairs.

    make torch-parity                      (or:)
    torch_parity.py BOTIFY CHECK_TORCH_DUMP [WORKDIR]

Simulates EPISODES (20000) sticky_artist and EPISODES random sessions on the
built-in world (seeds 1 and 2), trains botify's default two-tower with
--split-out (lazy Adam on the embedding rows) and again with --optimizer
adam on that split, dumps the pairs botify read (check_torch_dump --pairs)
and trains the same model in PyTorch on the same train/val/test indices:
with torch.optim.Adam(weight_decay) over every parameter ("dense"), and with
sparse embedding gradients under SparseAdam plus Adam on the dense layers
("sparse"). Same sizes, batch, LR schedule (ReduceLROnPlateau factor 0.1,
patience 3, threshold 1e-4), early stopping (patience 5) and best-epoch
weights as botify. Prints one markdown table: test MSE, the 'avg' baseline,
median samples/s of the training passes and the whole run's seconds.

Env: EPISODES, THREADS (2, botify's), TORCH_THREADS (1: on a shared machine
torch's OpenMP threads spin, two ran 6-10x slower than one), VARIANTS
("dense sparse"), OPTIMIZERS ("lazy-adam adam"), MAX_EPOCHS (300), STAGES
("botify torch": with only "torch" it reuses WORKDIR's logs, split and pairs,
so the two can run side by side). Besides wall-clock samples/s (which
follow the machine's load), it reports samples per CPU-second: training
pairs of every epoch run divided by the CPU time of the whole run (botify:
the process, loading included; PyTorch: the training loop). Needs
python3-torch and numpy (Debian: /usr/bin/python3). WORKDIR keeps logs,
split and models (default: a temporary directory, removed).
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

EMB, HIDDEN, OUT, BATCH, LR, WD = 32, 64, 32, 2048, 1e-3, 1e-5


def tower(inp):
    return nn.Sequential(nn.Linear(inp, HIDDEN), nn.LeakyReLU(0.01), nn.Linear(HIDDEN, HIDDEN),
                         nn.LeakyReLU(0.01), nn.Linear(HIDDEN, OUT), nn.LeakyReLU(0.01))


class TwoTower(nn.Module):
    """botify's default two-tower (docs/train.md): the start's artist in the context."""

    def __init__(self, U, N, A, sparse):
        super().__init__()
        self.user = nn.Embedding(U, EMB, sparse=sparse)
        self.start = nn.Embedding(N, EMB, sparse=sparse)
        self.track = nn.Embedding(N, EMB, sparse=sparse)
        self.artist = nn.Embedding(A, EMB, sparse=sparse)
        self.ctx = tower(3 * EMB)
        self.item = tower(2 * EMB)

    def forward(self, u, s, t, a, sa):
        c = self.ctx(torch.cat([self.user(u), self.start(s), self.artist(sa)], dim=1))
        i = self.item(torch.cat([self.track(t), self.artist(a)], dim=1))
        return (c * i).sum(dim=1)


def train_torch(data, split, variant, threads, max_epochs):
    torch.manual_seed(1)
    torch.set_num_threads(threads)
    pairs, artist, (U, N, A) = data
    ids = torch.as_tensor(pairs[:, :3].astype(np.int64))
    y_all = torch.as_tensor(pairs[:, 3].astype(np.float32))
    art = torch.as_tensor(artist.astype(np.int64))
    cols = (ids[:, 0], ids[:, 1], ids[:, 2], art[ids[:, 2]], art[ids[:, 1]])
    tr, va, te = (torch.as_tensor(np.asarray(split[k], dtype=np.int64)) for k in ("train", "val", "test"))
    model = TwoTower(int(U), int(N), int(A), variant == "sparse")
    emb = [p for n, p in model.named_parameters() if n.split(".")[0] in ("user", "start", "track", "artist")]
    dense = [p for n, p in model.named_parameters() if n.split(".")[0] in ("ctx", "item")]
    if variant == "sparse":
        opts = [torch.optim.SparseAdam(emb, lr=LR), torch.optim.Adam(dense, lr=LR, weight_decay=WD)]
    else:
        opts = [torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WD)]
    scheds = [torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.1, patience=3,
                                                         threshold=1e-4) for o in opts]

    def mse(idx):
        model.eval()
        sse = 0.0
        with torch.no_grad():
            for i in range(0, len(idx), 8192):
                k = idx[i:i + 8192]
                sse += float(((model(*(c[k] for c in cols)) - y_all[k]) ** 2).sum())
        model.train()
        return sse / len(idx)

    best, best_state, best_epoch, bad, sps, epochs = float("inf"), None, 0, 0, [], 0
    gen = torch.Generator().manual_seed(1)
    t_start, cpu_start = time.time(), time.process_time()
    for epoch in range(1, max_epochs + 1):
        t0 = time.time()
        order = tr[torch.randperm(len(tr), generator=gen)]
        for i in range(0, len(order), BATCH):
            k = order[i:i + BATCH]
            for o in opts:
                o.zero_grad()
            loss = ((model(*(c[k] for c in cols)) - y_all[k]) ** 2).mean()
            loss.backward()
            for o in opts:
                o.step()
        sps.append(len(tr) / (time.time() - t0))
        v = mse(va)
        epochs = epoch
        for s in scheds:
            s.step(v)
        print(f"torch {variant} epoch {epoch:3d}  val {v:.6f}{'*' if v < best else ' '}  {sps[-1]:.0f} samples/s",
              file=sys.stderr)
        if v < best:
            best, best_epoch, bad = v, epoch, 0
            best_state = {n: p.detach().clone() for n, p in model.state_dict().items()}
        else:
            bad += 1
            if bad >= 5:
                break
    cpu = time.process_time() - cpu_start
    model.load_state_dict(best_state)
    return {"test": mse(te), "sps": statistics.median(sps), "best": best_epoch, "epochs": epochs,
            "seconds": time.time() - t_start, "cpu_sps": epochs * len(tr) / cpu}


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, text=True, **kw)


def train_botify(botify, w, logs, optimizer, threads, split_flag, max_epochs):
    model = os.path.join(w, f"botify.{optimizer}")
    t0 = time.time()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run(botify, "train", "--log", *logs, "--model", model, "--optimizer", optimizer, "--threads", threads,
            "--epochs", max_epochs, "--force", *split_flag, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.time() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
    sps = [float(x) for x in re.findall(r" ([0-9]+) samples/s$", r.stderr, re.M)]
    m = json.load(open(os.path.join(model, "metrics.json")))
    return {"test": m["test_mse"], "avg": m["avg_mse"], "sps": statistics.median(sps), "best": m["best_epoch"],
            "epochs": m["epochs"], "seconds": seconds, "cpu_sps": m["epochs"] * m["n_train"] / cpu}


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    botify, dump = sys.argv[1], sys.argv[2]
    episodes = os.environ.get("EPISODES", "20000")
    threads = int(os.environ.get("THREADS", "2"))
    torch_threads = int(os.environ.get("TORCH_THREADS", "1"))
    stages = os.environ.get("STAGES", "botify torch").split()
    max_epochs = int(os.environ.get("MAX_EPOCHS", "300"))
    variants = os.environ.get("VARIANTS", "dense sparse").split()
    optimizers = os.environ.get("OPTIMIZERS", "lazy-adam adam").split()
    tmp = None
    if len(sys.argv) == 4:
        w = sys.argv[3]
        os.makedirs(w, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="botify-torch-parity.")
        w = tmp.name
    logs = [os.path.join(w, "random.jsonl.gz"), os.path.join(w, "sticky.jsonl.gz")]
    split = os.path.join(w, "split.json")
    rows = []
    if "botify" in stages:
        if not optimizers:
            print("OPTIMIZERS must name at least one botify optimizer (it writes the split)", file=sys.stderr)
            return 2
        for path, rec, seed in ((logs[0], "random", 2), (logs[1], "sticky_artist", 1)):
            run(botify, "simulate", "--episodes", episodes, "--recommender", rec, "--seed", seed, "--log", path,
                "--force", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i, opt in enumerate(optimizers):
            flag = ["--split-out", split, "--force"] if i == 0 else ["--split", split]
            print(f"== botify train --optimizer {opt}", file=sys.stderr)
            rows.append((f"botify --optimizer {opt} ({threads} threads)",
                         train_botify(botify, w, logs, opt, threads, flag, max_epochs)))
        run(dump, "--pairs", "-", w, *logs)
    data = (np.load(os.path.join(w, "pairs.npy")), np.load(os.path.join(w, "artist.npy")),
            np.load(os.path.join(w, "sizes.npy")))
    sp = json.load(open(split))
    tr = np.asarray(sp["train"])
    avg = float(((data[0][np.asarray(sp["test"]), 3] - data[0][tr, 3].astype(np.float64).mean()) ** 2).mean())
    if "torch" in stages:
        for v in variants:
            print(f"== torch {v}", file=sys.stderr)
            rows.append((f"PyTorch {v} ({'SparseAdam + Adam' if v == 'sparse' else 'Adam on every row'}, "
                         f"{torch_threads} thread{'s' if torch_threads > 1 else ''})",
                         train_torch(data, sp, v, torch_threads, max_epochs)))
    print(f"{len(data[0])} pairs ({len(sp['train'])} train / {len(sp['val'])} val / {len(sp['test'])} test), "
          f"torch {torch.__version__}")
    print()
    print("| trainer | test MSE | avg | samples/s (median) | samples per CPU-second | best epoch | epochs | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['test']:.6f} | {avg:.6f} | {r['sps']:.0f} | {r['cpu_sps']:.0f} | {r['best']} | "
              f"{r['epochs']} | {r['seconds']:.1f} |")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
