"""Benchmark: loopc (NUMBA mode) against hand-written Numba loops for the same work.

    python tools/bench.py [--repeat 15] [--only W1,W2]

Workloads are SPEC section 5's (the seed examples scaled up). For each one it
checks that loopc and the hand loop agree, then prints the median time per call
of each and their ratio (loopc / hand). Machines are noisy: compare ratios from
one run, not absolute times across runs. Never run by the test suite.
"""
import argparse
import statistics
import time

import numba
import numpy as np

import loopc
import loopc.tensor as T

RNG = np.random.default_rng(0)


def median_time(fn, args, repeat):
    fn(*args)  # compile / warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- W1: map tanh(X[t] @ W + b) -----------------------------------------------------

def w1():
    X, W, b = T.matrix("X"), T.matrix("W"), T.vector("b")
    out, _ = loopc.scan(lambda x: T.tanh(T.dot(x, W) + b), sequences=X)
    f = loopc.function([X, W, b], out)

    @numba.njit(cache=True)
    def hand(X, W, b):
        Y = X @ W
        for t in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[t, j] = np.tanh(Y[t, j] + b[j])
        return Y

    args = (RNG.standard_normal((10000, 64)), RNG.standard_normal((64, 64)) / 8, RNG.standard_normal(64))
    return f, hand, args


# -- W2: RNN x[t] = tanh(x[t-1] @ W + Y[t] @ U + P[T-1-t] @ V) ----------------------

def w2():
    x0, W, U, V = T.vector("x0"), T.matrix("W"), T.matrix("U"), T.matrix("V")
    Y, P = T.matrix("Y"), T.matrix("P")
    out, _ = loopc.scan(lambda y, p, h: T.tanh(T.dot(h, W) + T.dot(y, U) + T.dot(p, V)),
                        sequences=[Y, P[::-1]], outputs_info=[x0])
    f = loopc.function([x0, W, Y, U, P, V], out)

    @numba.njit(cache=True)
    def hand(x0, W, Y, U, P, V):
        n = Y.shape[0]
        inp = Y @ U + P[::-1].copy() @ V
        out = np.empty((n, x0.shape[0]))
        h = x0.copy()
        for t in range(n):
            z = h @ W
            for j in range(z.shape[0]):
                out[t, j] = np.tanh(z[j] + inp[t, j])
            h = out[t]
        return out

    n, steps = 128, 1000
    m = lambda *s: RNG.standard_normal(s) / np.sqrt(n)  # noqa: E731
    args = (m(n), m(n, n), m(steps, n), m(n, n), m(steps, n), m(n, n))
    return f, hand, args


# -- W3: two taps x[t] = x[t-2] @ U + x[t-1] @ V + tanh(x[t-1] @ W + b) ----------------

def w3():
    X, U, V, W, b, k = T.matrix("X"), T.matrix("U"), T.matrix("V"), T.matrix("W"), T.vector("b"), T.iscalar("k")
    out, _ = loopc.scan(lambda a, c: T.dot(a, U) + T.dot(c, V) + T.tanh(T.dot(c, W) + b),
                        n_steps=k, outputs_info=[dict(initial=X, taps=[-2, -1])])
    f = loopc.function([X, U, V, W, b, k], out)

    @numba.njit(cache=True)
    def hand(X, U, V, W, b, k):
        out = np.empty((k + 2, X.shape[1]))
        out[:2] = X[:2]
        for t in range(k):
            z = out[t + 1] @ W
            u = out[t] @ U + out[t + 1] @ V
            for j in range(z.shape[0]):
                out[t + 2, j] = u[j] + np.tanh(z[j] + b[j])
        return out[2:]

    n = 32
    m = lambda *s: RNG.standard_normal(s) / (4 * n)  # noqa: E731
    args = (m(2, n), m(n, n), m(n, n), m(n, n), m(n), np.int32(2000))
    return f, hand, args


# -- W4: A ** k keeping only result[-1] ----------------------------------------------

def w4():
    A, k = T.vector("A"), T.iscalar("k")
    out, _ = loopc.scan(lambda prior, B: prior * B, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    f = loopc.function([A, k], out[-1])

    @numba.njit(cache=True)
    def hand(A, k):
        out = np.ones_like(A)
        for s in range(0, A.shape[0], 512):  # blocks that stay in L1, all k steps per block
            e = min(s + 512, A.shape[0])
            for _ in range(k):
                for i in range(s, e):
                    out[i] = out[i] * A[i]
        return out

    args = (RNG.uniform(0.9, 1.1, 100_000), np.int32(100))
    return f, hand, args


# -- W5: polynomial sum(c[i] * x ** i) -------------------------------------------------

def w5():
    c, x = T.vector("c"), T.scalar("x")
    comps, _ = loopc.scan(lambda ci, p, xv: ci * xv ** p, sequences=[c, T.arange(100000)], non_sequences=x)
    f = loopc.function([c, x], comps.sum())

    @numba.njit(cache=True)
    def hand(c, x):
        acc = 0.0
        for i in range(c.shape[0]):
            acc += c[i] * x ** i
        return acc

    args = (RNG.standard_normal(100000) * 1e-3, 0.999)
    return f, hand, args


WORKLOADS = {"W1 map tanh(X[t]@W+b)": w1, "W2 RNN n=128 T=1000": w2, "W3 two taps n=32": w3,
             "W4 A**k keep [-1]": w4, "W5 polynomial": w5}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="comma-separated prefixes, e.g. W1,W4")
    opts = parser.parse_args()
    wanted = [w.strip() for w in opts.only.split(",") if w.strip()]
    print(f"{'workload':28} {'loopc ms':>10} {'hand ms':>10} {'ratio':>7}")
    for label, make in WORKLOADS.items():
        if wanted and not any(label.startswith(w) for w in wanted):
            continue
        f, hand, args = make()
        np.testing.assert_allclose(np.asarray(f(*args)), hand(*args), rtol=1e-7, atol=1e-9)
        t_loopc = median_time(f, args, opts.repeat)
        t_hand = median_time(hand, args, opts.repeat)
        print(f"{label:28} {t_loopc * 1e3:10.3f} {t_hand * 1e3:10.3f} {t_loopc / t_hand:6.2f}x")


if __name__ == "__main__":
    main()
