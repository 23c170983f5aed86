#!/usr/bin/env python3
"""Writes the A/B fixtures of tests/data/ab and their expected tables.

Run once from the repository root: python3 tests/data/ab/gen_ab_fixtures.py
The outputs are committed, so tests need no Python. Needs numpy, pandas,
scipy and mpmath (Debian: python3-pandas python3-scipy python3-mpmath).

Logs are written row by row in the original service's format (its key
order, Python float repr, "recommendation": null on "last" rows, other
experiments next to the analysed one). Expected tables are computed
independently of botify with pandas and scipy, the way the course's
ab_test notebook computes them (sessionize each (user, treatment) in
timestamp order, a session ends at a "last" row; per-user sums and ratios;
per-arm count/mean/var; Welch-Satterthwaite dof; scipy's t.ppf), with one
documented difference: a (user, arm) with no finished session is left out
(the notebook's explode() would count it in 'time' and 'sessions' as 0).

t quantile fixtures: scipy's stats.t.ppf next to a 40-digit mpmath value
(scipy is off by up to ~1e-10 relative near p = 0.5 for large nu, so the
unit test holds botify to the exact value and reports scipy's gap).
"""
import gzip
import json
import random
import sys

import mpmath as mp
import numpy as np
import pandas as pd
import scipy.stats as ss

OUT = "tests/data/ab"
METRICS = ["time", "sessions", "mean_request_latency", "mean_tracks_per_session",
           "mean_time_per_session"]


def row(message, ts, user, track, time, latency, rec, experiments, extra=None):
    r = {"message": message, "timestamp": ts, "user": user, "track": track, "time": time,
         "latency": latency}
    r["recommendation"] = rec if message == "next" else None
    r["experiments"] = experiments
    if extra:
        r.update(extra)
    return r


def simulate_log(rng, n_users, arms, sessions_per_user, other=True, unfinished=0.0,
                 time_fn=None, t0=1714594690046):
    """Interleaved users, each user's rows in time order."""
    streams = []
    for u in range(n_users):
        user = 1000 + u * 7
        arm = arms[u % len(arms)]
        exps = {"AA": rng.choice(["C", "T1"]), "AB": arm} if other else {"AB": arm}
        rows = []
        n_sessions = sessions_per_user(rng)
        for s in range(n_sessions):
            length = rng.randint(1, 12)
            for k in range(length):
                last = k == length - 1
                if last and s == n_sessions - 1 and rng.random() < unfinished:
                    break  # the log stops mid-session
                t = time_fn(rng, arm) if time_fn else round(rng.random() * (1.3 if arm != "C" else 1.0) % 1.0, 2)
                lat = rng.random() * (1e-3 if arm == "C" else 2e-3)
                if rng.random() < 0.2:
                    lat = lat / 30  # gives reprs like 6.747245788574219e-05
                rows.append(("last" if last else "next", rng.randrange(50000), t, lat,
                             rng.randrange(50000), exps))
        streams.append((user, rows))
    # interleave the users' streams, keeping each user's order
    out, ts = [], t0
    pos = [0] * len(streams)
    live = [i for i in range(len(streams)) if streams[i][1]]
    while live:
        i = rng.choice(live)
        user, rows = streams[i]
        m, track, t, lat, rec, exps = rows[pos[i]]
        ts += rng.randint(1, 9)
        out.append(row(m, ts, user, track, t, lat, rec, dict(exps)))
        pos[i] += 1
        if pos[i] == len(rows):
            live.remove(i)
    return out


def dumps(r):
    return json.dumps(r)  # Python's own separators and float repr, as the service


def write_log(name, rows):
    path = f"{OUT}/{name}"
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "wt") as f:
        for r in rows:
            f.write(dumps(r) + "\n")


def sessionize(user_data):
    sessions, session = [], None
    for _, r in user_data.sort_values("timestamp", kind="stable").iterrows():
        if session is None:
            session = {"timestamp": r["timestamp"], "tracks": 0, "time": 0, "latency": 0}
        session["tracks"] += 1
        session["time"] += r["time"]
        session["latency"] += r["latency"] * 1000
        if r["message"] == "last":
            sessions.append(session)
            session = None
    return sessions


def t_ppf_exact(p, nu):
    """Student's t quantile to 40 digits (mpmath), rounded to a double."""
    if not np.isfinite(nu):
        return float("nan")
    with mp.workdps(40):
        P, N, half = mp.mpf(p), mp.mpf(nu), mp.mpf(1) / 2

        def cdf(t):
            tail = mp.betainc(N / 2, half, 0, N / (N + t * t), regularized=True) / 2
            return 1 - tail if t >= 0 else tail
        return float(mp.findroot(lambda t: cdf(t) - P, mp.mpf(ss.t.ppf(p, nu))))


def per_user(rows, experiment):
    """The notebook's per-user metrics: one row per (user, treatment)."""
    data = pd.DataFrame([r for r in rows if experiment in r["experiments"]])
    data["treatment"] = data["experiments"].map(lambda e: e[experiment])
    recs = []
    for (user, treatment), g in data.groupby(["user", "treatment"]):
        for s in sessionize(g):
            recs.append(dict(user=user, treatment=treatment, **s))
    sessions = pd.DataFrame(recs)
    u = sessions.groupby(["user", "treatment"]).agg(
        {"timestamp": "count", "tracks": "sum", "time": "sum", "latency": "sum"})
    u["sessions"] = u["timestamp"]
    u["mean_request_latency"] = u["latency"] / u["tracks"]
    u["mean_tracks_per_session"] = u["tracks"] / u["sessions"]
    u["mean_time_per_session"] = u["time"] / u["sessions"]
    return u[METRICS].reset_index()


def expected(rows, experiment, control="C", treatments=None, alpha=0.05, ppf=None):
    """The expected table. ppf is scipy's t.ppf unless given: scipy 1.10's
    is off by up to ~2e-9 relative (p = 0.95, nu ~ 35), more than the
    1e-9 the tables are compared at, so the main fixtures use the exact
    quantile and *.scipy.csv keep the all-scipy numbers for reference."""
    ppf = ppf or ss.t.ppf
    arm = per_user(rows, experiment).groupby("treatment")[METRICS].agg(["count", "mean", "var"])
    if treatments is None:
        treatments = [t for t in arm.index if t != control]
    c = arm.loc[control]
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in treatments:
            x = arm.loc[t]
            for m in METRICS:
                n0, n1 = c[m]["count"], x[m]["count"]
                s0, s1 = c[m]["var"], x[m]["var"]
                num = (s0 / n0 + s1 / n1) * (s0 / n0 + s1 / n1)
                den = s0 * s0 / n0 / n0 / (n0 - 1) + s1 * s1 / n1 / n1 / (n1 - 1)
                dof = np.float64(num) / np.float64(den)
                hw = ppf(1 - alpha / 2, dof) * np.sqrt(s0 / n0 + s1 / n1)
                cm, tm = c[m]["mean"], x[m]["mean"]
                eff = tm - cm
                out.append(dict(treatment=t, metric=m, effect=eff / cm * 100,
                                upper=(eff + hw) / cm * 100, lower=(eff - hw) / cm * 100,
                                control_mean=cm, treatment_mean=tm,
                                significant=bool((eff + hw) * (eff - hw) > 0),
                                n_control=int(n0), n_treatment=int(n1)))
    return out


def fmt(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return v
    v = float(v)
    return "nan" if np.isnan(v) else repr(v)


def write_tables(name, rows, **kw):
    write_csv(name + ".expected.csv", expected(rows, "AB", ppf=t_ppf_exact, **kw))
    write_csv(name + ".scipy.csv", expected(rows, "AB", **kw))


def write_csv(name, table):
    cols = ["treatment", "metric", "effect", "upper", "lower", "control_mean", "treatment_mean",
            "significant", "n_control", "n_treatment"]
    with open(f"{OUT}/{name}", "w") as f:
        f.write(",".join(cols) + "\n")
        for r in table:
            f.write(",".join(fmt(r[c]) for c in cols) + "\n")


def tq_fixture():
    mp.mp.dps = 40
    nus = [1, 1.5, 2, 2.5, 3, 3.7, 4, 5, 7.3, 10, 17.2, 30, 49.9, 50.1, 64, 100, 250.5, 1000,
           3333.3, 1e4, 54321.7, 1e5, 1e6, 1e7]
    ps = [1e-10, 1e-6, 0.0005, 0.001, 0.025, 0.05, 0.1, 0.25, 0.4, 0.49, 0.499999, 0.5000001,
          0.50001, 0.51, 0.6, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9995, 0.99999,
          1 - 1e-8]

    def exact(p, nu):
        p, nu = mp.mpf(p), mp.mpf(nu)
        half = mp.mpf(1) / 2

        def cdf(t):
            tail = mp.betainc(nu / 2, half, 0, nu / (nu + t * t), regularized=True) / 2
            return 1 - tail if t >= 0 else tail
        return mp.findroot(lambda t: cdf(t) - p, mp.mpf(ss.t.ppf(float(p), float(nu))))

    with open(f"{OUT}/t_quantiles.txt", "w") as f:
        f.write("# p nu scipy_t_ppf exact_t (40-digit mpmath)\n")
        for nu in nus:
            for p in ps:
                f.write(f"{p!r} {nu!r} {ss.t.ppf(p, nu)!r} {mp.nstr(exact(p, nu), 20)}\n")
    with open(f"{OUT}/welch_df.txt", "w") as f:
        f.write("# n0 n1 s2_0 s2_1 dof (the notebook's formula in numpy)\n")
        rng = random.Random(5)
        for _ in range(40):
            n0, n1 = rng.randint(2, 5000), rng.randint(2, 5000)
            s0, s1 = rng.random() * 10 ** rng.randint(-3, 3), rng.random() * 10 ** rng.randint(-3, 3)
            num = (s0 / n0 + s1 / n1) * (s0 / n0 + s1 / n1)
            den = s0 * s0 / n0 / n0 / (n0 - 1) + s1 * s1 / n1 / n1 / (n1 - 1)
            f.write(f"{n0} {n1} {s0!r} {s1!r} {num / den!r}\n")
    with open(f"{OUT}/chi2_sf.txt", "w") as f:
        f.write("# x k scipy_chi2_sf\n")
        for k in [1, 2, 3, 5, 15]:
            for x in [0.001, 0.5, 1, 3.84, 10, 10.83, 13.8, 30, 60]:
                f.write(f"{x!r} {k} {ss.chi2.sf(x, k)!r}\n")


def main():
    rng = random.Random(20240501)
    # the original service's format: three arms, other experiments, interleaved
    service = simulate_log(rng, 60, ["C", "T1", "T2"], lambda r: r.randint(1, 4), unfinished=0.3)
    for r in service[::17]:
        r["client"] = "sim-2"          # an extra field
    # rows of another experiment only, and rows without experiments
    service[5:5] = [row("next", 1714594690050, 99999, 7, 0.5, 0.0001, 3, {"AA": "T1"}),
                    row("last", 1714594690051, 99999, 7, 0.5, 0.0001, None, {"AA": "T1"}),
                    row("next", 1714594690052, 99998, 7, 0.5, 0.0001, 3, {})]
    write_log("service.jsonl", service)
    write_tables("service", service)
    write_tables("service.T2.alpha01", service, treatments=["T2"], alpha=0.1)
    write_tables("service.T1ctl", service, control="T1", treatments=["C", "T2"])
    # the same rows shuffled: sessions are rebuilt in timestamp order
    shuffled = list(service)
    random.Random(3).shuffle(shuffled)
    write_log("shuffled.jsonl", shuffled)
    # split into two files, one gzip (two service instances)
    write_log("part1.jsonl", service[0::2])
    write_log("part2.jsonl.gz", service[1::2])
    # every user with one session: 'sessions' has zero variance in both arms
    one = simulate_log(rng, 30, ["C", "T1"], lambda r: 1, other=False)
    write_log("one_session.jsonl", one)
    write_tables("one_session", one)
    # sample-ratio mismatch: 3 of 4 users in C
    srm = simulate_log(rng, 200, ["C", "C", "C", "T1"], lambda r: 1, other=False)
    write_log("srm.jsonl", srm)
    write_tables("srm", srm)
    users = {a: len({r["user"] for r in srm if r["experiments"]["AB"] == a}) for a in ["C", "T1"]}
    chi = ss.chisquare([users["C"], users["T1"]])
    with open(f"{OUT}/srm.expected.txt", "w") as f:
        f.write(f"{chi.statistic!r} {chi.pvalue!r}\n")
    # edge cases
    write_log("no_last.jsonl", [r for r in one if r["message"] == "next"])
    single = simulate_log(rng, 5, ["C", "C", "C", "C", "T1"], lambda r: 2, other=False)
    write_log("single_user_arm.jsonl", single)
    zero = simulate_log(rng, 20, ["C", "T1"], lambda r: 2, other=False,
                        time_fn=lambda r, a: 0.0 if a == "C" else round(r.random(), 2))
    write_log("zero_control.jsonl", zero)
    write_log("other_only.jsonl", [row("next", 1, 5, 1, 1.0, 0.001, 2, {"AA": "C"}),
                                   row("last", 2, 5, 2, 0.5, 0.001, None, {"AA": "C"})])
    tq_fixture()
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
