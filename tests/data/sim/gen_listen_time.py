#!/usr/bin/python3
"""Expected listen times of the simulator, computed the way the original
gym simulator (sim/envs/user.py) computes them, with numpy and scipy:

    score    = np.dot(E[track], s)                      # float32
    raw_time = ss.expit((score - consume_bias) * consume_sharpness)
    time     = np.around(raw_time * np.power(gamma, k), decimals=2)

Run from the repository root with a Python that has numpy and scipy:
    /usr/bin/python3 tests/data/sim/gen_listen_time.py > tests/data/sim/listen_time.txt
Each line: score bias sharpness gamma k expected, the floats in hex (exact,
read with strtod), then a readable comment. CI reads the file; it needs no
Python.
"""
import numpy as np
import scipy.special as ss


def expected(score, bias, sharpness, gamma, k):
    score = np.float32(score)  # the dot product of two float32 vectors
    raw = ss.expit((score - bias) * sharpness)  # float32 - float -> float64
    return float(np.around(raw * np.power(gamma, k), decimals=2))


def line(score, bias, sharpness, gamma, k):
    score = float(np.float32(score))
    t = expected(score, bias, sharpness, gamma, k)
    return "%s %s %s %s %d %s  # %r %r %r %r -> %r" % (
        score.hex(), float(bias).hex(), float(sharpness).hex(), float(gamma).hex(), k,
        t.hex(), score, bias, sharpness, gamma, t)


def main():
    cases = [
        # exact halves at the second decimal: numpy rounds x*100 half to even
        (0.0, 0.0, 1.0, 0.5, 2),    # 0.125  -> 0.12
        (0.0, 0.0, 1.0, 0.75, 1),   # 0.375  -> 0.38
        (0.0, 0.0, 1.0, 1.25, 1),   # 0.625  -> 0.62
        (0.0, 0.0, 1.0, 0.5, 3),    # 0.0625 -> 0.06
        (0.0, 0.0, 1.0, 0.5, 1),    # 0.25
        (0.0, 0.0, 1.0, 0.8, 0),    # 0.5
        (3.0, 3.0, 2.0, 0.25, 1),   # 0.125 again, through bias and sharpness
        # saturation both ways
        (1000.0, 0.0, 1.0, 0.8, 0),
        (-1000.0, 0.0, 1.0, 0.8, 0),
        (1e6, 5.0, 1.93, 0.8, 3),
        (0.0, 9.64, 1.93, 0.8, 0),
        # gamma 0 and 1, large k, negative sharpness
        (7.0, 5.0, 1.0, 0.0, 0),
        (7.0, 5.0, 1.0, 0.0, 1),
        (7.0, 5.0, 1.0, 1.0, 40),
        (7.0, 5.0, 1.0, 0.8, 25),
        (2.0, 5.0, -1.0, 0.8, 0),
        (5.0, 5.0, 0.5, 0.8, 1),    # 0.4
    ]
    rng = np.random.default_rng(20240601)
    for i in range(200):
        bias = rng.uniform(0, 10)
        # mostly near the bias, where the sigmoid is not flat
        score = bias + rng.uniform(-4, 4) if i % 4 else rng.uniform(-5, 15)
        s = rng.uniform(1, 2)
        sharpness = s if rng.random() < 0.5 else 1 / s
        gamma = 0.8 if rng.random() < 0.5 else rng.uniform(0, 1.2)
        k = int(rng.integers(0, 6))
        cases.append((score, bias, sharpness, gamma, k))
    # near-ties: inputs whose exact time lands a few ulps from a .5 at the
    # second decimal, so only the same double arithmetic rounds the same way
    for i in range(24):
        m = int(rng.integers(1, 99))
        gamma, k = (0.8, 1) if i % 3 == 2 else (0.8, 0)
        target = (m + 0.5) / 100 / gamma ** k
        if target >= 1:
            continue
        sharpness = rng.uniform(0.5, 2)
        score = float(np.float32(rng.uniform(-5, 15)))
        bias = score - np.log(target / (1 - target)) / sharpness
        cases.append((score, bias, sharpness, gamma, k))
    for c in cases:
        print(line(*c))


if __name__ == "__main__":
    main()
