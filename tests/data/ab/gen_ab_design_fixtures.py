#!/usr/bin/env python3
"""Writes the paired-design and delta-method fixtures of tests/data/ab.

Run once from the repository root: python3 tests/data/ab/gen_ab_design_fixtures.py
(after gen_ab_fixtures.py, whose service.jsonl it reads). The outputs are
committed, so tests need no Python. Needs numpy, pandas, scipy, mpmath.

Expected tables are computed independently of botify, per user with pandas
and then with numpy arrays:
  delta, split:  R = mT/mC, se = sqrt(vT/nT + R^2 vC/nC) / |mC|, Welch
                 dof on those two terms, interval 100 (R - 1 +- t se)
  paired:        pairs of users finished in both arms; the difference's
                 t interval with n - 1 dof; delta: se = std(T - R C, ddof=1)
                 / sqrt(n) / |mC|; notebook: the difference interval / mC
p is the two-sided p-value of the test the relative interval inverts
(scipy's t.sf).
"""
import json
import random
import sys

import numpy as np
import pandas as pd
import scipy.stats as ss

sys.path.insert(0, "tests/data/ab")
from gen_ab_fixtures import METRICS, OUT, fmt, per_user, row, t_ppf_exact, write_log  # noqa: E402

COLS = ["treatment", "metric", "effect", "upper", "lower", "control_mean", "treatment_mean",
        "significant", "n_control", "n_treatment", "diff", "diff_lower", "diff_upper", "p"]


def p_two_sided(t, dof):
    return float(2 * ss.t.sf(abs(t), dof))


def split_delta(rows, alpha=0.05, control="C"):
    u = per_user(rows, "AB")
    out = []
    for t in sorted(x for x in u["treatment"].unique() if x != control):
        for m in METRICS:
            c = u.loc[u["treatment"] == control, m].to_numpy()
            x = u.loc[u["treatment"] == t, m].to_numpy()
            mc, mt, nc, nt = c.mean(), x.mean(), len(c), len(x)
            vc, vt = c.var(ddof=1), x.var(ddof=1)
            R = mt / mc
            a, b = vt / nt, R * R * vc / nc
            se = np.sqrt(a + b) / abs(mc)
            dof = (a + b) ** 2 / (a * a / (nt - 1) + b * b / (nc - 1))
            q = t_ppf_exact(1 - alpha / 2, dof)
            sd = np.sqrt(vc / nc + vt / nt)
            wdof = (vc / nc + vt / nt) ** 2 / (vc * vc / nc / nc / (nc - 1) + vt * vt / nt / nt / (nt - 1))
            hw = t_ppf_exact(1 - alpha / 2, wdof) * sd
            lo, hi = 100 * (R - 1 - q * se), 100 * (R - 1 + q * se)
            out.append(dict(treatment=t, metric=m, effect=(mt - mc) / mc * 100, upper=hi, lower=lo,
                            control_mean=mc, treatment_mean=mt, significant=bool(lo > 0 or hi < 0),
                            n_control=nc, n_treatment=nt, diff=mt - mc, diff_lower=mt - mc - hw,
                            diff_upper=mt - mc + hw, p=p_two_sided((R - 1) / se, dof)))
    return out


def paired(rows, ci, alpha=0.05, control="C"):
    u = per_user(rows, "AB")
    wide = u.pivot(index="user", columns="treatment")
    out = []
    for t in sorted(x for x in u["treatment"].unique() if x != control):
        for m in METRICS:
            pair = wide[m][[control, t]].dropna()
            c, x = pair[control].to_numpy(), pair[t].to_numpy()
            n = len(c)
            mc, mt = c.mean(), x.mean()
            d = x - c
            q = t_ppf_exact(1 - alpha / 2, n - 1)
            sd = d.std(ddof=1) / np.sqrt(n)
            diff = mt - mc
            R = mt / mc
            if ci == "delta":
                se = (x - R * c).std(ddof=1) / np.sqrt(n) / abs(mc)
                lo, hi = 100 * (R - 1 - q * se), 100 * (R - 1 + q * se)
                p = p_two_sided((R - 1) / se, n - 1) if se > 0 else float("nan")
            else:
                lo, hi = (diff - q * sd) / mc * 100, (diff + q * sd) / mc * 100
                p = p_two_sided(diff / sd, n - 1) if sd > 0 else float("nan")
            if sd == 0 and diff == 0:
                lo = hi = float("nan")
            out.append(dict(treatment=t, metric=m, effect=diff / mc * 100, upper=hi, lower=lo,
                            control_mean=mc, treatment_mean=mt,
                            significant=bool(lo > 0 or hi < 0), n_control=n, n_treatment=n,
                            diff=diff, diff_lower=diff - q * sd if sd > 0 else float("nan"),
                            diff_upper=diff + q * sd if sd > 0 else float("nan"), p=p))
    return out


def paired_log(rng, n_users, arms, t0=1714594690046):
    """Every user in every arm, the same number of sessions in each, listen
    times correlated within a user (a user effect), like a paired simulation;
    a few users' last session in one arm is unfinished (dropped from pairs)."""
    rows, ts = [], t0
    for k in range(n_users):
        user = 500 + 3 * k
        level = rng.random()
        n_sessions = rng.randint(1, 3)
        for arm_i, arm in enumerate(arms):
            lift = 0.1 * arm_i
            for s in range(n_sessions):
                length = rng.randint(1, 10)
                unfinished = k % 11 == 5 and arm == arms[-1] and s == n_sessions - 1
                for j in range(length):
                    last = j == length - 1 and not unfinished
                    time = round(min(1.0, max(0.0, level + lift + rng.gauss(0, 0.15))), 2)
                    rows.append(row("last" if last else "next", ts, user, rng.randint(0, 999), time,
                                    round(rng.uniform(1e-5, 9e-5), 6), rng.randint(0, 999),
                                    {"AB": arm}))
                    ts += 1
    return rows


def write_csv(name, table):
    with open(f"{OUT}/{name}", "w") as f:
        f.write(",".join(COLS) + "\n")
        for r in table:
            f.write(",".join(fmt(r[c]) for c in COLS) + "\n")


def main():
    with open(f"{OUT}/service.jsonl") as f:
        service = [json.loads(line) for line in f]
    write_csv("service.delta.expected.csv", split_delta(service))
    rng = random.Random(20261129)
    log = paired_log(rng, 80, ["C", "T1", "T2"])
    write_log("paired.jsonl", log)
    write_csv("paired.delta.expected.csv", paired(log, "delta"))
    write_csv("paired.notebook.expected.csv", paired(log, "notebook"))
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
