#!/usr/bin/python3
"""split_check.py - is the split design's interval the right width, given the sessions?

Reads one botify log (plain JSON lines, no experiment needed), sums each user's
listening time, sessions and rows, then splits the users into two arms many times
by murmur3 of the user id with a random 32-bit salt, as `botify ab --design split`
assigns users, and computes each split's Welch z of the per-user metrics (time,
mean_tracks_per_session, mean_time_per_session). The sessions are the same in every
split, so the z values show the randomization alone: their spread should be 1 and
about 5 % of them beyond 1.96. A cross-check of botify's intervals, not a test.

  botify simulate --episodes 20000 --seed 7 --log day.jsonl
  /usr/bin/python3 scripts/split_check.py day.jsonl [SPLITS=600] [SEED=5]
"""
import json
import sys
from collections import defaultdict

import numpy as np

M32 = 0xFFFFFFFF


def rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & M32


def fmix(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def murmur3_32(data, seed):
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h, n = seed & M32, len(data)
    for i in range(n // 4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (rotl((k * c1) & M32, 15) * c2) & M32
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & M32
    tail, k = data[n // 4 * 4:], 0
    for i in reversed(range(len(tail))):
        k ^= tail[i] << (8 * i)
    if tail:
        h ^= (rotl((k * c1) & M32, 15) * c2) & M32
    return fmix(h ^ n)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    splits = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    time, sessions, rows = defaultdict(float), defaultdict(int), defaultdict(int)
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            u = r["user"]
            time[u] += r["time"]
            rows[u] += 1
            sessions[u] += r["message"] == "last"
    users = sorted(u for u in sessions if sessions[u])
    t = np.array([time[u] for u in users])
    s = np.array([sessions[u] for u in users], float)
    k = np.array([rows[u] for u in users], float)
    metrics = {"time": t, "mean_tracks_per_session": k / s, "mean_time_per_session": t / s}
    ids = [str(u).encode() for u in users]
    z = {m: [] for m in metrics}
    for _ in range(splits):
        salt = int(rng.integers(0, 2**32))
        a = np.array([murmur3_32(b, salt) % 2 == 0 for b in ids])
        for m, y in metrics.items():
            ya, yb = y[a], y[~a]
            se = np.sqrt(ya.var(ddof=1) / len(ya) + yb.var(ddof=1) / len(yb))
            z[m].append((yb.mean() - ya.mean()) / se)
    print(f"{len(users)} users, {splits} splits")
    for m, v in z.items():
        v = np.array(v)
        print(f"{m}: spread of z {v.std():.3f} (±{v.std() / np.sqrt(2 * len(v)):.3f}), "
              f"|z| > 1.96 in {100 * np.mean(np.abs(v) > 1.959964):.1f} %")


if __name__ == "__main__":
    main()
