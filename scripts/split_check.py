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
import os
import sys
from collections import defaultdict

import numpy as np

# the MurmurHash3 of the tests, checked there against published vectors
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                "murmur3"))
from gen_expected import check_vectors, murmur3_x86_32  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    check_vectors()
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
        a = np.array([murmur3_x86_32(b, salt) % 2 == 0 for b in ids])
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
