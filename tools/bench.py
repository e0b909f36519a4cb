"""Benchmark: loopc against the best hand-written Numba, and against PyTensor and JAX.

    python tools/bench.py                    # W1-W6 at SPEC section 5's sizes, loopc and hand Numba
    python tools/bench.py --peers            # also PyTensor (NUMBA mode) and JAX (jit of lax.scan)
    python tools/bench.py --quick            # tiny sizes: a smoke run of the whole machinery
    python tools/bench.py --only W1,W4 --repeat 15 --json bench.json
    python tools/bench.py --no-fresh         # in one process: steady state only, much faster
    python tools/bench.py --only calls       # the calls section alone: what a call costs
    python tools/bench.py --target cuda      # GPU: loopc CUDA against JAX, torch, hand numba-cuda
    python tools/bench.py --target cuda --quick   # tiny sizes on numba's simulator (a smoke run)

Run it alone on the machine. The project machines have 2 cores: anything else
running (a test suite, a build, a second benchmark) skews the ratios by up to
2x. Times move by about 1.3x between processes and runs, so only the ratios
within one run carry over; never compare absolute times across runs or
machines. The peers need `pip install -e '.[bench]'`; a peer that cannot be
imported is skipped and says why. Never run by the test suite.

Workloads (SPEC section 5, the seed examples scaled up):
    W1  map tanh(X[t] @ W + b), X 10000x64
    W2  RNN x[t] = tanh(x[t-1] @ W + Y[t] @ U + P[T-1-t] @ V), n=128, T=1000
    W3  two taps x[t] = x[t-2] @ U + x[t-1] @ V + tanh(x[t-1] @ W + b), n=32, 2000 steps
    W4  A**k by scan, keeping only result[-1], |A|=1e5, k=1000
    W5  the polynomial sum(c[i] * x**i), 1e5 coefficients
    W6  gradient of sum(x[T-1]) of the W2 RNN with respect to W and U (BPTT)

calls (the last section; `--only calls` runs it alone): functions too small to do any
work, so that their time per call is the call path itself (input checks, dispatch,
random states, updates): `x + 1` of one element, one `normal((16, 2))` draw from
RandomStreams, and `x + 1` with a shared-variable update `acc += x`. Columns: a plain
`numba.njit` of the same body called directly (the draw from Numba's own generator,
the update assigned in Python), loopc NUMBA, and PyTensor's `pytensor.function` in
NUMBA mode (when installed). Measured in this process: the median over blocks of 50
calls of the time per call, in us.

Systems:
    hand      the yardstick: the best Numba we can write by hand, with loopc's njit
              options (error_model='numpy'): sequence-only matrix products hoisted
              out of the loop as one GEMM, fused explicit loops with no allocation
              per step, W4 blocked over 512 elements with all k steps per block,
              tanh from loopc.runtime.vecmath (np.tanh when that is missing;
              the header says which)
    loopc     loopc.function(..., mode='NUMBA')
    pytensor  pytensor.function(..., mode='NUMBA')            (--peers)
    jax       jax.jit of jax.lax.scan, float64                 (--peers)

Every system's result is first checked against a plain NumPy computation; a
system that disagrees fails the run, naming the system. Then each system and
workload is measured in fresh processes (this script re-run with a hidden
`--child W SYSTEM PHASE`, which prints one JSON line), so compile caches and
memory start clean:
    steady    median ms per call over --repeat calls (at least 7) after the first
    cold      seconds for graph build + compile + first call in a fresh process
              with empty caches (a new LOOPC_CACHE_DIR, NUMBA_CACHE_DIR and
              PyTensor base_compiledir); this process also runs the check
    warm      the same in a second fresh process that reuses those cache dirs;
              JAX keeps no disk cache, so its warm is another cold
    memory    peak RSS (getrusage ru_maxrss) of the warm process, minus its RSS
              after imports and input creation, in MiB: what building the function
              and calling it cost; Numba's code generator alone takes about 60 MiB
    calls     the peak RSS of the steady-state calls alone, over the RSS before them
              (Linux: the peak is restarted through /proc/self/clear_refs): the
              memory a call needs, e.g. a W4 that keeps every step. A few MiB either
              way is noise
Each timing cell is `value (ratio to the best of the row)`, the best in bold.
--no-fresh measures the steady state in this one process instead (faster, no
compile or memory tables). --quick shrinks every size (the tables give them) so
that a whole run takes about a minute: its numbers say only that everything runs.

Choices worth knowing when reading the numbers: the hand W5 computes x**i per
term as the program does (a running product would be faster but rounds
differently); JAX's W4 keeps only the scan's carry, JAX's usual way to keep the
last step; JAX's inputs are put on the device once, before the timing.
"""
import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

if "--target" in sys.argv and "cuda" in sys.argv and ("--sim" in sys.argv or (
        "--quick" in sys.argv and os.environ.get("LOOPC_CUDA_HARDWARE") != "1")):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # read once, when numba is first imported

import numba
import numpy as np

import loopc
import loopc.tensor as T
from loopc.errors import UnsupportedError

PEERS = {"pytensor": "pytensor", "jax": "jax"}  # system -> module that must be importable
TITLES = {"hand": "hand Numba", "loopc": "loopc NUMBA", "pytensor": "PyTensor NUMBA", "jax": "JAX lax.scan"}
RTOL, ATOL = 1e-7, 1e-9


class Wrong(Exception):
    """A system's result differs from NumPy's."""


class Skipped(Exception):
    """The system cannot run this workload (yet): a short reason, and the details."""

    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.detail = detail


# -- the hand-written yardstick's tanh ------------------------------------------------
# The parent decides (it can afford a probe compile) and tells the children through
# LOOPC_BENCH_TANH, so that no child compiles anything before its timer starts.

def _vector_tanh():
    if os.environ.get("LOOPC_BENCH_TANH") == "np":
        return np.tanh, "np.tanh (libm; loopc.runtime.vecmath.tanh did not work in njit)"
    try:
        from loopc.runtime.vecmath import tanh as vtanh
    except ImportError as error:
        return np.tanh, f"np.tanh (libm; loopc.runtime.vecmath not importable: {error})"
    return vtanh, "loopc.runtime.vecmath.tanh"


tanh, TANH_NOTE = _vector_tanh()


def _probe_tanh():
    """Fall back to np.tanh if the vectorized kernel does not compile in a loop."""
    global tanh, TANH_NOTE
    if tanh is np.tanh:
        return
    try:
        numba.njit(lambda x: tanh(x[0]))(np.ones(1))
    except Exception as error:  # noqa: BLE001 - any failure means: do not use it
        tanh, TANH_NOTE = np.tanh, f"np.tanh (libm; loopc.runtime.vecmath.tanh failed in njit: {error})"
        os.environ["LOOPC_BENCH_TANH"] = "np"


# cache=True writes to NUMBA_CACHE_DIR: the children get a fresh one per workload and
# system (empty for cold, filled for warm); without one (--no-fresh) nothing is cached.
njit = numba.njit(error_model="numpy", cache="NUMBA_CACHE_DIR" in os.environ)


@njit
def _add_vecmat(z, h, W):
    """z += h @ W, row by row of W (contiguous, vectorized over z, no allocation)."""
    for i in range(W.shape[0]):
        hi = h[i]
        for j in range(W.shape[1]):
            z[j] += hi * W[i, j]


# -- peers, imported only where asked for ---------------------------------------------

def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def _pytensor():
    import warnings
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")  # NUMBA mode needs none
    import pytensor
    import pytensor.tensor as pt
    return pytensor, pt


def _pt_scan(**kwargs):
    """pytensor.scan's outputs, without its updates, in either of its conventions."""
    import inspect
    pytensor, _ = _pytensor()
    if "return_updates" in inspect.signature(pytensor.scan).parameters:
        return pytensor.scan(return_updates=False, **kwargs)
    return pytensor.scan(**kwargs)[0]


def _jax_call(fn, args):
    """A zero-argument call of the jitted fn on inputs already on the device."""
    jax = _jax()
    args = tuple(jax.device_put(a) for a in args)
    return lambda: jax.block_until_ready(fn(*args))


def _rng(seed):
    return np.random.default_rng(seed)


# -- W1: map tanh(X[t] @ W + b) -------------------------------------------------------

def w1_inputs(steps, n):
    r = _rng(1)
    return r.standard_normal((steps, n)), r.standard_normal((n, n)) / np.sqrt(n), r.standard_normal(n)


def w1_numpy(X, W, b):
    return np.tanh(X @ W + b)


@njit
def _w1_hand(X, W, b):
    Y = X @ W  # the whole map is one GEMM
    for t in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[t, j] = tanh(Y[t, j] + b[j])
    return Y


def w1_hand(X, W, b):
    return lambda: _w1_hand(X, W, b)


def w1_loopc(X, W, b):
    sX, sW, sb = T.matrix("X"), T.matrix("W"), T.vector("b")
    out, _ = loopc.scan(lambda x: T.tanh(T.dot(x, sW) + sb), sequences=sX)
    f = loopc.function([sX, sW, sb], out, mode="NUMBA")
    return lambda: f(X, W, b)


def w1_pytensor(X, W, b):
    pytensor, pt = _pytensor()
    sX, sW, sb = pt.matrix("X"), pt.matrix("W"), pt.vector("b")
    out = _pt_scan(fn=lambda x: pt.tanh(pt.dot(x, sW) + sb), sequences=sX)
    f = pytensor.function([sX, sW, sb], out, mode="NUMBA")
    return lambda: f(X, W, b)


def w1_jax(X, W, b):
    jax = _jax()

    def fn(X, W, b):
        return jax.lax.scan(lambda c, x: (c, jax.numpy.tanh(x @ W + b)), None, X)[1]
    return _jax_call(jax.jit(fn), (X, W, b))


# -- W2: RNN x[t] = tanh(x[t-1] @ W + Y[t] @ U + P[T-1-t] @ V) ------------------------

def w2_inputs(n, steps):
    r = _rng(2)
    m = lambda *shape: r.standard_normal(shape) / np.sqrt(n)  # noqa: E731
    return m(n), m(n, n), m(steps, n), m(n, n), m(steps, n), m(n, n)  # x0, W, Y, U, P, V


def w2_numpy(x0, W, Y, U, P, V):
    h, out = x0, []
    for t in range(len(Y)):
        h = np.tanh(h @ W + Y[t] @ U + P[len(Y) - 1 - t] @ V)
        out.append(h)
    return np.array(out)


@njit
def _rnn_forward(x0, W, Y, U, P, V):
    """States H[0] = x0, H[t+1] = x[t] of the W2 RNN, shape (T + 1, n)."""
    steps, n = Y.shape
    YU, PV = Y @ U, P @ V  # sequence-only products hoisted: one GEMM each
    H = np.empty((steps + 1, n))
    H[0] = x0
    for t in range(steps):
        z = H[t + 1]
        for j in range(n):
            z[j] = YU[t, j] + PV[steps - 1 - t, j]
        _add_vecmat(z, H[t], W)
        for j in range(n):
            z[j] = tanh(z[j])
    return H


def w2_hand(x0, W, Y, U, P, V):
    return lambda: _rnn_forward(x0, W, Y, U, P, V)[1:]


def _w2_loopc_graph():
    s = [T.vector("x0"), T.matrix("W"), T.matrix("Y"), T.matrix("U"), T.matrix("P"), T.matrix("V")]
    sx0, sW, sY, sU, sP, sV = s
    out, _ = loopc.scan(lambda y, p, h: T.tanh(T.dot(h, sW) + T.dot(y, sU) + T.dot(p, sV)),
                        sequences=[sY, sP[::-1]], outputs_info=[sx0])
    return s, out


def w2_loopc(*args):
    s, out = _w2_loopc_graph()
    f = loopc.function(s, out, mode="NUMBA")
    return lambda: f(*args)


def _w2_pytensor_graph():
    _, pt = _pytensor()
    s = [pt.vector("x0"), pt.matrix("W"), pt.matrix("Y"), pt.matrix("U"), pt.matrix("P"), pt.matrix("V")]
    sx0, sW, sY, sU, sP, sV = s
    out = _pt_scan(fn=lambda y, p, h: pt.tanh(pt.dot(h, sW) + pt.dot(y, sU) + pt.dot(p, sV)),
                   sequences=[sY, sP[::-1]], outputs_info=[sx0])
    return s, out


def w2_pytensor(*args):
    pytensor, _ = _pytensor()
    s, out = _w2_pytensor_graph()
    f = pytensor.function(s, out, mode="NUMBA")
    return lambda: f(*args)


def _jax_rnn(x0, W, Y, U, P, V):
    jax = _jax()
    step = lambda h, yp: (jax.numpy.tanh(h @ W + yp[0] @ U + yp[1] @ V),) * 2  # noqa: E731
    return jax.lax.scan(step, x0, (Y, P[::-1]))[1]


def w2_jax(*args):
    return _jax_call(_jax().jit(_jax_rnn), args)


# -- W3: two taps x[t] = x[t-2] @ U + x[t-1] @ V + tanh(x[t-1] @ W + b) --------------

def w3_inputs(n, steps):
    r = _rng(3)
    m = lambda *shape: r.standard_normal(shape) / (4 * n)  # noqa: E731
    return m(2, n), m(n, n), m(n, n), m(n, n), m(n), np.int32(steps)  # X, U, V, W, b, k


def w3_numpy(X, U, V, W, b, k):
    out = [X[0], X[1]]
    for _ in range(k):
        out.append(out[-2] @ U + out[-1] @ V + np.tanh(out[-1] @ W + b))
    return np.array(out[2:])


@njit
def _w3_hand(X, U, V, W, b, k):
    n = X.shape[1]
    out = np.empty((k + 2, n))
    out[:2] = X
    z = np.empty(n)  # the only scratch, allocated once
    for t in range(k):
        new = out[t + 2]
        new[:] = 0.0
        z[:] = b
        _add_vecmat(new, out[t], U)
        _add_vecmat(new, out[t + 1], V)
        _add_vecmat(z, out[t + 1], W)
        for j in range(n):
            new[j] += tanh(z[j])
    return out[2:]


def w3_hand(*args):
    return lambda: _w3_hand(*args)


def w3_loopc(*args):
    s = [T.matrix("X"), T.matrix("U"), T.matrix("V"), T.matrix("W"), T.vector("b"), T.iscalar("k")]
    sX, sU, sV, sW, sb, sk = s
    out, _ = loopc.scan(lambda a, c: T.dot(a, sU) + T.dot(c, sV) + T.tanh(T.dot(c, sW) + sb),
                        n_steps=sk, outputs_info=[dict(initial=sX, taps=[-2, -1])])
    f = loopc.function(s, out, mode="NUMBA")
    return lambda: f(*args)


def w3_pytensor(*args):
    pytensor, pt = _pytensor()
    s = [pt.matrix("X"), pt.matrix("U"), pt.matrix("V"), pt.matrix("W"), pt.vector("b"), pt.iscalar("k")]
    sX, sU, sV, sW, sb, sk = s
    out = _pt_scan(fn=lambda a, c: pt.dot(a, sU) + pt.dot(c, sV) + pt.tanh(pt.dot(c, sW) + sb),
                   n_steps=sk, outputs_info=[dict(initial=sX, taps=[-2, -1])])
    f = pytensor.function(s, out, mode="NUMBA")
    return lambda: f(*args)


def w3_jax(X, U, V, W, b, k):
    jax = _jax()

    def fn(X, U, V, W, b):
        def step(carry, _):
            a, c = carry
            new = a @ U + c @ V + jax.numpy.tanh(c @ W + b)
            return (c, new), new
        return jax.lax.scan(step, (X[0], X[1]), None, length=int(k))[1]
    return _jax_call(jax.jit(fn), (X, U, V, W, b))


# -- W4: A**k by scan, keeping only result[-1] ----------------------------------------

def w4_inputs(size, k):
    return _rng(4).uniform(0.99, 1.01, size), np.int32(k)


def w4_numpy(A, k):
    return A ** k


@njit
def _w4_hand(A, k):
    out = np.ones_like(A)
    for s in range(0, A.shape[0], 512):  # a block stays in L1 for all k steps
        block, a = out[s:s + 512], A[s:s + 512]
        for _ in range(k):
            for i in range(block.shape[0]):  # from 0: range(s, e) does not vectorize
                block[i] *= a[i]
    return out


def w4_hand(A, k):
    return lambda: _w4_hand(A, k)


def w4_loopc(A, k):
    sA, sk = T.vector("A"), T.iscalar("k")
    out, _ = loopc.scan(lambda prior, B: prior * B, outputs_info=T.ones_like(sA), non_sequences=sA, n_steps=sk)
    f = loopc.function([sA, sk], out[-1], mode="NUMBA")
    return lambda: f(A, k)


def w4_pytensor(A, k):
    pytensor, pt = _pytensor()
    sA, sk = pt.vector("A"), pt.iscalar("k")
    out = _pt_scan(fn=lambda prior, B: prior * B, outputs_info=pt.ones_like(sA), non_sequences=sA, n_steps=sk)
    f = pytensor.function([sA, sk], out[-1], mode="NUMBA")
    return lambda: f(A, k)


def w4_jax(A, k):
    jax = _jax()

    def fn(A):  # the carry alone: the JAX way of keeping only the last step
        return jax.lax.scan(lambda prior, _: (prior * A, None), jax.numpy.ones_like(A), None, length=int(k))[0]
    return _jax_call(jax.jit(fn), (A,))


# -- W5: the polynomial sum(c[i] * x**i) ----------------------------------------------

def w5_inputs(size):
    return _rng(5).standard_normal(size) * 1e-3, np.float64(0.999)


def w5_numpy(c, x):
    return np.sum(c * x ** np.arange(len(c)))


@njit
def _w5_hand(c, x):
    acc = 0.0
    for i in range(c.shape[0]):  # x**i per term, as the program says (no strength reduction)
        acc += c[i] * x ** i
    return acc


def w5_hand(c, x):
    return lambda: _w5_hand(c, x)


def w5_loopc(c, x):
    sc, sx = T.vector("c"), T.scalar("x")
    comps, _ = loopc.scan(lambda ci, p, xv: ci * xv ** p, sequences=[sc, T.arange(len(c))], non_sequences=sx)
    f = loopc.function([sc, sx], comps.sum(), mode="NUMBA")
    return lambda: f(c, x)


def w5_pytensor(c, x):
    pytensor, pt = _pytensor()
    sc, sx = pt.vector("c"), pt.dscalar("x")
    comps = _pt_scan(fn=lambda ci, p, xv: ci * xv ** p, sequences=[sc, pt.arange(len(c))], non_sequences=sx)
    f = pytensor.function([sc, sx], comps.sum(), mode="NUMBA")
    return lambda: f(c, x)


def w5_jax(c, x):
    jax = _jax()

    def fn(c, x):
        terms = jax.lax.scan(lambda _, cp: (None, cp[0] * x ** cp[1]), None, (c, jax.numpy.arange(len(c))))[1]
        return terms.sum()
    return _jax_call(jax.jit(fn), (c, x))


# -- W6: d sum(x[T-1]) / d(W, U) of the W2 RNN (back-propagation through time) --------

w6_inputs = w2_inputs


def w6_numpy(x0, W, Y, U, P, V):
    H = np.vstack([x0, w2_numpy(x0, W, Y, U, P, V)])
    g, DZ = np.ones_like(x0), np.empty_like(Y)
    for t in reversed(range(len(Y))):
        DZ[t] = g * (1 - H[t + 1] ** 2)
        g = W @ DZ[t]
    return H[:-1].T @ DZ, Y.T @ DZ


@njit
def _w6_hand(x0, W, Y, U, P, V):
    steps, n = Y.shape
    H = _rnn_forward(x0, W, Y, U, P, V)
    WT = np.ascontiguousarray(W.T)  # so that g = W @ dz runs row by row, like the forward
    DZ = np.empty((steps, n))
    g = np.ones(n)  # d cost / d x[T-1]
    for t in range(steps - 1, -1, -1):
        dz = DZ[t]
        for j in range(n):
            dz[j] = g[j] * (1.0 - H[t + 1, j] * H[t + 1, j])
        g[:] = 0.0
        _add_vecmat(g, dz, WT)
    return H[:steps].T @ DZ, Y.T @ DZ  # the per-step outer products, summed as GEMMs


def w6_hand(*args):
    return lambda: _w6_hand(*args)


def w6_loopc(*args):
    s, out = _w2_loopc_graph()
    try:
        grads = loopc.grad(out[-1].sum(), [s[1], s[3]])  # W, U
    except UnsupportedError as error:
        raise Skipped("grad through scan not implemented", f"loopc.grad raised {error!r}") from error
    f = loopc.function(s, grads, mode="NUMBA")
    return lambda: f(*args)


def w6_pytensor(*args):
    pytensor, _ = _pytensor()
    s, out = _w2_pytensor_graph()
    f = pytensor.function(s, pytensor.grad(out[-1].sum(), [s[1], s[3]]), mode="NUMBA")  # W, U
    return lambda: f(*args)


def w6_jax(x0, W, Y, U, P, V):
    jax = _jax()
    cost = lambda W, U, x0, Y, P, V: _jax_rnn(x0, W, Y, U, P, V)[-1].sum()  # noqa: E731
    return _jax_call(jax.jit(jax.grad(cost, argnums=(0, 1))), (W, U, x0, Y, P, V))


# -- the table of workloads -----------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    """One row: `wN_inputs(**size)` makes the inputs, `wN_numpy(*inputs)` the expected
    result, and `wN_SYSTEM(*inputs)` builds a zero-argument call for each system."""
    name: str
    label: str
    full: dict  # SPEC section 5's sizes
    quick: dict  # --quick sizes

    def inputs(self, quick):
        return self._part("inputs")(**(self.quick if quick else self.full))

    def numpy(self, *args):
        return self._part("numpy")(*args)

    def build(self, system, args):
        return self._part(system)(*args)

    def title(self, quick):
        size = self.quick if quick else self.full
        return f"{self.name} {self.label} " + " ".join(f"{k}={v:g}" for k, v in size.items())

    def _part(self, what):
        return globals()[f"{self.name.lower()}_{what}"]


WORKLOADS = {w.name: w for w in [
    Workload("W1", "map `tanh(X[t]@W+b)`", dict(steps=10000, n=64), dict(steps=200, n=16)),
    Workload("W2", "RNN", dict(n=128, steps=1000), dict(n=16, steps=50)),
    Workload("W3", "two taps", dict(n=32, steps=2000), dict(n=8, steps=50)),
    Workload("W4", "`A**k`, keep `[-1]`", dict(size=100_000, k=1000), dict(size=2000, k=20)),
    Workload("W5", "polynomial", dict(size=100_000), dict(size=1000)),
    Workload("W6", "BPTT of W2", dict(n=128, steps=1000), dict(n=16, steps=50)),
]}


# -- the calls section: what a call costs besides its work ----------------------------
# Three functions too small to have any work to speak of, so that their time per call
# is the call path itself: checking the inputs, reaching the compiled code, random
# states and updates. Measured in this process, each system against the same NumPy
# result, as the median of many calls.

CALLS = {  # row -> label
    "add": "`x + 1`, one element",
    "draw": "one `normal((16, 2))` draw",
    "update": "`x + 1` and an update `acc += x`",
}
CALL_SYSTEMS = ["hand", "loopc", "pytensor"]
CALL_TITLES = {"hand": "plain numba.njit", "loopc": "loopc NUMBA", "pytensor": "PyTensor NUMBA"}


@numba.njit
def _hand_add(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] + 1.0
    return out


@numba.njit
def _hand_draw():
    return np.random.normal(0.0, 1.0, (16, 2))  # Numba's own generator: another stream


@numba.njit
def _hand_update(x, acc):
    out, new = np.empty(x.shape[0]), np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] + 1.0
        new[i] = acc[i] + x[i]
    return out, new


def calls_hand(row, x):
    if row == "add":
        return lambda: _hand_add(x)
    if row == "draw":
        return _hand_draw
    acc = [np.zeros(1)]

    def run():
        out, acc[0] = _hand_update(x, acc[0])
        return out
    return run


def calls_loopc(row, x):
    v = T.dvector("x")
    if row == "add":
        f = loopc.function([v], v + 1, mode="NUMBA")
        return lambda: f(x)
    if row == "draw":
        from loopc.tensor.shared_randomstreams import RandomStreams
        return loopc.function([], RandomStreams(1).normal((16, 2)), mode="NUMBA")
    acc = loopc.shared(np.zeros(1), name="acc")
    f = loopc.function([v], v + 1, updates=[(acc, acc + v)], mode="NUMBA")
    return lambda: f(x)


def calls_pytensor(row, x):
    pytensor, pt = _pytensor()
    v = pt.dvector("x")
    if row == "add":
        f = pytensor.function([v], v + 1, mode="NUMBA")
        return lambda: f(x)
    if row == "draw":
        from pytensor.tensor.random.utils import RandomStream
        return pytensor.function([], RandomStream(1).normal(size=(16, 2)), mode="NUMBA")
    acc = pytensor.shared(np.zeros(1), name="acc")
    f = pytensor.function([v], v + 1, updates=[(acc, acc + v)], mode="NUMBA")
    return lambda: f(x)


def check_call(row, system, run, x):
    """Raise Wrong unless two calls give NumPy's numbers (a draw: its shape, and fresh
    numbers on the second call)."""
    first, second = np.asarray(run()), np.asarray(run())
    if row == "draw":
        if first.shape != (16, 2) or np.array_equal(first, second):
            raise Wrong(f"calls {row} {system}: shape {first.shape}, and the second draw repeats the first")
        return
    for got in (first, second):
        try:
            np.testing.assert_allclose(got, x + 1, rtol=RTOL, atol=ATOL)
        except AssertionError as error:
            raise Wrong(f"calls {row} {system}: differs from NumPy:{error}") from None


def per_call_us(run, blocks, inner=50):
    """The median over `blocks` blocks of `inner` calls of the time per call, in us."""
    for _ in range(inner):
        run()
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(inner):
            run()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times) * 1e6


def measure_calls(opts):
    """{row: {system: {"call_us": ...} or why not}}, with progress lines on stderr."""
    blocks = 20 if opts.quick else 200
    x = np.ones(1)
    results = {}
    for row in CALLS:
        results[row] = {}
        for system in CALL_SYSTEMS:
            try:
                import_system(system)
                run = globals()[f"calls_{system}"](row, x)
                check_call(row, system, run, x)
                result = {"call_us": per_call_us(run, blocks)}
                print(f"calls {row} {system}: {result['call_us']:.3g} us", file=sys.stderr)
            except Skipped as why:
                result = {"skipped": str(why), "detail": why.detail}
            except Wrong as error:
                result = {"wrong": str(error)}
                print(f"!!! {error}", file=sys.stderr)
            results[row][system] = result
    return results


def calls_table(results, blocks):
    lines = [f"Per call, us (median of {blocks} blocks of 50 calls; ratio to the best of the row)", "",
             "| function | " + " | ".join(CALL_TITLES[s] for s in CALL_SYSTEMS) + " |",
             "|---" * (len(CALL_SYSTEMS) + 1) + "|"]
    for row, cells in results.items():
        best = min((r["call_us"] for r in cells.values() if "call_us" in r), default=None)
        text = [cell(cells[s], "call_us", best, True) for s in CALL_SYSTEMS]
        lines.append(f"| {CALLS[row]} | " + " | ".join(text) + " |")
    return "\n".join(lines)


# -- measuring ------------------------------------------------------------------------

def check(workload, system, got, want):
    """Raise Wrong, naming the system, if `got` differs from NumPy's `want`."""
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    if len(got) != len(want):
        raise Wrong(f"{workload.name} {system}: {len(got)} outputs, NumPy has {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        try:
            np.testing.assert_allclose(np.asarray(g), w, rtol=RTOL, atol=ATOL)
        except AssertionError as error:
            raise Wrong(f"{workload.name} {system}: output {i} differs from NumPy:{error}") from None


def import_system(system):
    """Import what the system needs, before any timer starts; Skipped if it cannot be."""
    try:
        {"pytensor": _pytensor, "jax": _jax}.get(system, lambda: None)()
    except Exception as error:  # noqa: BLE001 - a peer that does not import is skipped
        raise Skipped(f"cannot import {system}", f"{type(error).__name__}: {error}") from error


def steady_ms(run, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, [t * 1e3 for t in times]


def current_rss_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mib()


def peak_rss_mib():
    scale = 1 if platform.system() == "Darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def reset_peak_rss():
    """Restart the peak-RSS count (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def steady_and_memory(run, repeat, rss0):
    """The steady state, and the peak memory of the whole process and of the calls alone."""
    build_peak = peak_rss_mib()
    rss1 = current_rss_mib() if reset_peak_rss() else None
    steady, times = steady_ms(run, repeat)
    peak = peak_rss_mib()
    return {"steady_ms": steady, "times_ms": times, "memory_mib": max(build_peak, peak) - rss0,
            "calls_mib": None if rss1 is None else peak - rss1}


def child(name, system, phase, quick, repeat):
    """One measurement in this fresh process; prints one JSON line."""
    workload = WORKLOADS[name]
    try:
        import_system(system)
        args = workload.inputs(quick)
        rss0 = current_rss_mib()
        start = time.perf_counter()
        run = workload.build(system, args)
        result = run()
        report = {"compile_s": time.perf_counter() - start}
        if phase == "cold":
            check(workload, system, result, workload.numpy(*args))
        else:
            report.update(steady_and_memory(run, repeat, rss0))
    except Skipped as why:
        report = {"skipped": str(why), "detail": why.detail}
    except Wrong as error:
        report = {"wrong": str(error)}
    print(json.dumps(report))


def run_child(name, system, phase, opts, cache):
    env = dict(os.environ, LOOPC_CACHE_DIR=os.path.join(cache, "loopc"),
               NUMBA_CACHE_DIR=os.path.join(cache, "numba"),
               PYTENSOR_FLAGS=",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"),
                                                     f"base_compiledir={os.path.join(cache, 'pytensor')}"])))
    command = [sys.executable, os.path.abspath(__file__), "--child", name, system, phase,
               "--repeat", str(opts.repeat)] + (["--quick"] if opts.quick else [])
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"{phase} process ran past {opts.timeout} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"error": f"{phase} process exited {done.returncode}:\n{done.stderr[-3000:]}"}
    return json.loads(lines[-1])


def measure_fresh(name, system, opts):
    """Cold (with the check), then warm (steady state and memory), in fresh processes."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-{system}-") as cache:
        cold = run_child(name, system, "cold", opts, cache)
        if "compile_s" not in cold:
            return cold
        warm = run_child(name, system, "warm", opts, cache)
        if "compile_s" not in warm:
            return warm
    warm["cold_s"], warm["warm_s"] = cold.pop("compile_s"), warm.pop("compile_s")
    return warm


def measure_here(name, system, opts):
    """The steady state in this process (--no-fresh), after the check."""
    workload = WORKLOADS[name]
    try:
        import_system(system)
        args = workload.inputs(opts.quick)
        run = workload.build(system, args)
        check(workload, system, run(), workload.numpy(*args))
    except Skipped as why:
        return {"skipped": str(why), "detail": why.detail}
    except Wrong as error:
        return {"wrong": str(error)}
    steady, times = steady_ms(run, opts.repeat)
    return {"steady_ms": steady, "times_ms": times}


# -- reporting ------------------------------------------------------------------------

def fmt(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def cell(result, metric, best, ratio):
    """`value (ratio to best)`, the best in bold; or why there is no value."""
    if "skipped" in result:
        return f"skipped: {result['skipped']}"
    if "wrong" in result or "error" in result:
        return "WRONG" if "wrong" in result else "ERROR"
    value = result.get(metric)
    if value is None:
        return "-"
    if not ratio:
        return fmt(value)
    if value == best:
        return f"**{fmt(value)}**"
    times = value / best if best > 0 else float("inf")
    return f"{fmt(value)} ({times:.0f}x)" if times >= 9.95 else f"{fmt(value)} ({times:.1f}x)"


def table(results, systems, metric, title, quick, ratio=True):
    lines = [title, "", "| workload | " + " | ".join(TITLES[s] for s in systems) + " |",
             "|---" * (len(systems) + 1) + "|"]
    for name, row in results.items():
        best = min((r[metric] for r in row.values() if r.get(metric) is not None), default=None)
        cells = [cell(row[s], metric, best, ratio) for s in systems]
        lines.append(f"| {WORKLOADS[name].title(quick)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def header(opts, systems):
    from importlib.metadata import PackageNotFoundError, version
    versions = [f"numpy {np.__version__}", f"numba {numba.__version__}", f"loopc {loopc.__version__}"]
    for system in (s for s in systems if s in PEERS):
        try:
            versions.append(f"{system} {version(PEERS[system])}")
        except PackageNotFoundError:
            pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"loopc benchmark ({'quick sizes' if opts.quick else 'SPEC section 5 sizes'}, "
            f"{'fresh processes' if opts.fresh else 'one process'}, median of {opts.repeat} calls); "
            f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f} at start; "
            f"{', '.join(versions)}; hand tanh: {TANH_NOTE}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--repeat", type=int, default=9, help="calls in the steady-state median (>= 7)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke runs")
    parser.add_argument("--peers", action="store_true", help="also PyTensor (NUMBA mode) and JAX")
    parser.add_argument("--no-fresh", dest="fresh", action="store_false",
                        help="measure in this process: steady state only, no compile or memory tables")
    parser.add_argument("--json", metavar="FILE", help="also save the raw numbers here")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds allowed per child process")
    parser.add_argument("--child", nargs=3, metavar=("W", "SYSTEM", "PHASE"), help=argparse.SUPPRESS)
    parser.add_argument("--target", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: the GPU workloads in float32 (see CUDA_WORKLOADS), in this process")
    parser.add_argument("--sim", action="store_true", help="--target cuda on numba's simulator (implied by "
                        "--quick unless LOOPC_CUDA_HARDWARE=1)")
    opts = parser.parse_args()
    if opts.target == "cuda":
        return cuda_report(opts)
    if opts.child:
        return child(*opts.child, opts.quick, opts.repeat)
    if opts.repeat < 7:
        parser.error("--repeat must be at least 7")
    wanted = [w.strip().upper() for w in opts.only.split(",") if w.strip()] or list(WORKLOADS) + ["CALLS"]
    unknown = [w for w in wanted if w not in WORKLOADS and w != "CALLS"]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS) + ['calls']}")
    opts.calls = "CALLS" in wanted
    wanted = [w for w in wanted if w != "CALLS"]
    systems = ["hand", "loopc"] + (list(PEERS) if opts.peers else [])
    return report(opts, wanted, systems)


METRICS = [  # (key, table title, show ratios), the last three only from fresh processes
    ("steady_ms", "Steady state, ms per call (ratio to the best of the row)", True),
    ("cold_s", "Cold compile (build + compile + first call, empty caches), s", True),
    ("warm_s", "Warm compile (the same, disk caches filled), s", True),
    ("memory_mib", "Peak memory of the process over its inputs (build, first call and calls), MiB", False),
    ("calls_mib", "Peak memory of the steady-state calls alone, MiB", False),
]


def report(opts, wanted, systems):
    _probe_tanh()
    if not opts.fresh:  # keep ~/.cache/loopc out of it
        loopc_cache = tempfile.TemporaryDirectory(prefix="bench-loopc-")
        os.environ["LOOPC_CACHE_DIR"] = loopc_cache.name
    title = header(opts, systems)
    print(title, file=sys.stderr)
    results = {name: {system: measure(name, system, opts) for system in systems} for name in wanted}
    metrics = METRICS if opts.fresh else METRICS[:1]
    tables = [table(results, systems, key, text, opts.quick, ratio) for key, text, ratio in metrics] if wanted else []
    calls = measure_calls(opts) if opts.calls else {}
    if calls:
        tables.append(calls_table(calls, 20 if opts.quick else 200))
    print(title + "\n\n" + "\n\n".join(tables))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"header": title, "options": vars(opts), "results": results, "calls": calls}, f, indent=1)
    rows = list(results.values()) + list(calls.values())
    if any("wrong" in r or "error" in r for row in rows for r in row.values()):
        print("\nFAILED: see the messages marked !!! above (WRONG: differs from NumPy)", file=sys.stderr)
        return 1
    return 0


def measure(name, system, opts):
    """One cell of every table, with a progress line on stderr."""
    missing = system in PEERS and importlib.util.find_spec(PEERS[system]) is None
    if missing:
        result = {"skipped": f"{PEERS[system]} not installed", "detail": "pip install -e '.[bench]'"}
    else:
        result = (measure_fresh if opts.fresh else measure_here)(name, system, opts)
    if "steady_ms" in result:
        extra = "".join(f", {key} {fmt(result[key])}" for key, _, _ in METRICS[1:] if result.get(key) is not None)
        print(f"{name} {system}: steady_ms {fmt(result['steady_ms'])}{extra}", file=sys.stderr)
    else:
        kind = next(k for k in ("skipped", "wrong", "error") if k in result)
        loud = "" if kind == "skipped" else "!!! "
        detail = f" ({result['detail']})" if result.get("detail") else ""
        print(f"{loud}{name} {system} {kind.upper()}: {result[kind]}{detail}", file=sys.stderr)
    return result



# -- --target cuda: the GPU workloads, float32 ----------------------------------------
# Measured in this one process (a GPU process takes seconds to start, and a GPU run is
# lent by the minute): every system's result is first checked against NumPy (float64
# arithmetic on the same float32 inputs), then the median of --repeat calls is taken,
# each call ending in a device synchronize. Every system gets its inputs on the device
# once, before the timing, and leaves its outputs there (loopc with device_outputs=True),
# so that a call is the work and its launches. `first_s`: building the function and its
# first call (graph passes, printing, numba-cuda's kernel compiles, or JAX's trace and
# XLA compile), in this process.
#
#     hand   numba-cuda written by hand: W1 a thread per output element; W2 the
#            sequence-only products Y[t] @ U + P[T-1-t] @ V as one grid kernel, then
#            one persistent block per batch row, the state in shared memory, the time
#            loop inside the kernel; W4 a thread per element doing all k steps
#     loopc  loopc.function(..., mode='CUDA', device_outputs=True)
#     jax    jax.jit of jax.lax.scan, float32 (on the GPU when jax has one)
#     torch  a Python loop of torch ops on the GPU (CPU without one), where importable

CUDA_TITLES = {"hand": "hand numba-cuda", "loopc": "loopc CUDA", "jax": "JAX lax.scan", "torch": "torch loop"}
CUDA_PEERS = {"jax": "jax", "torch": "torch"}
CUDA_RTOL, CUDA_ATOL = 2e-4, 2e-5  # float32 against float64 arithmetic
RNN_MAX_N = 1024  # the hand RNN's state lives in one block's shared memory: a thread per unit


@dataclass(frozen=True)
class CudaWorkload:
    name: str
    label: str
    kind: str  # cw1, cw2, cw4: the functions `{kind}_{inputs,numpy,SYSTEM}`
    full: dict
    quick: dict

    def title(self, quick):
        size = self.quick if quick else self.full
        return f"{self.name} {self.label} " + " ".join(f"{k}={v:g}" for k, v in size.items() if v)

    def part(self, what):
        return globals()[f"{self.kind}_{what}"]


CUDA_WORKLOADS = {w.name: w for w in [
    CudaWorkload("W1", "map `tanh(X[t]@W+b)`", "cw1", dict(steps=10000, n=64), dict(steps=6, n=4)),
    CudaWorkload("W2", "RNN", "cw2", dict(batch=0, n=128, steps=1000), dict(batch=0, n=4, steps=3)),
    CudaWorkload("W2b64", "RNN batched", "cw2", dict(batch=64, n=256, steps=1000), dict(batch=2, n=4, steps=3)),
    CudaWorkload("W2b1024", "RNN batched", "cw2", dict(batch=1024, n=512, steps=200),
                 dict(batch=3, n=4, steps=2)),
    CudaWorkload("W4", "`A**k`, keep `[-1]`", "cw4", dict(size=100_000, k=1000), dict(size=16, k=3)),
]}


def _cuda():
    from numba import cuda
    return cuda


def _jax32():
    import jax  # float32: jax's default (x64 stays off in a --target cuda process)
    return jax


def _torch():
    import torch
    return torch, torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _on_device(*arrays):
    cuda = _cuda()
    return tuple(cuda.to_device(a) if isinstance(a, np.ndarray) and a.ndim else a for a in arrays)


def _numba_call(fn):
    """A zero-argument call of `fn` that waits for the device."""
    cuda = _cuda()

    def run():
        out = fn()
        cuda.synchronize()
        return out
    return run


def _torch_call(fn, args):
    torch, device = _torch()
    args = [torch.as_tensor(a, device=device) if isinstance(a, np.ndarray) and a.ndim else a for a in args]

    def run():
        with torch.no_grad():
            out = fn(*args)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out
    return run


def _jax32_call(fn, args):
    jax = _jax32()
    args = tuple(jax.device_put(a) for a in args)
    return lambda: jax.block_until_ready(fn(*args))


def _to_numpy(value):
    if hasattr(value, "copy_to_host"):
        return value.copy_to_host()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _loopc_cuda(inputs, output, args):
    f = loopc.function(inputs, output, mode="CUDA", device_outputs=True)
    args = _on_device(*args)
    return _numba_call(lambda: f(*args))


# W1 ---------------------------------------------------------------------------------

def cw1_inputs(steps, n):
    return tuple(a.astype(np.float32) for a in w1_inputs(steps, n))


def cw1_numpy(X, W, b):
    return w1_numpy(*(a.astype(np.float64) for a in (X, W, b)))


def cw1_loopc(X, W, b):
    sX, sW, sb = T.fmatrix("X"), T.fmatrix("W"), T.fvector("b")
    out, _ = loopc.scan(lambda x: T.tanh(T.dot(x, sW) + sb), sequences=sX)
    return _loopc_cuda([sX, sW, sb], out, (X, W, b))


_CUDA_KERNELS = {}


def _hand_kernels():
    """The hand-written kernels, defined once numba.cuda is imported (never for --target cpu)."""
    global cuda  # the kernels' `cuda` is a module global: numba's simulator swaps it for its own
    if _CUDA_KERNELS:
        return _CUDA_KERNELS
    cuda = _cuda()

    @cuda.jit
    def w1(X, W, b, out):
        j, t = cuda.grid(2)
        if t < X.shape[0] and j < W.shape[1]:
            acc = b[j]
            for i in range(X.shape[1]):
                acc += X[t, i] * W[i, j]
            out[t, j] = math.tanh(acc)

    @cuda.jit
    def seq_products(Y, U, P, V, Z):
        """Z[t, r] = Y[t, r] @ U + P[T-1-t, r] @ V, a thread per (t, r, j)."""
        j, r, t = cuda.grid(3)
        steps = Y.shape[0]
        if t < steps and r < Y.shape[1] and j < U.shape[1]:
            acc = np.float32(0)
            for i in range(U.shape[0]):
                acc += Y[t, r, i] * U[i, j] + P[steps - 1 - t, r, i] * V[i, j]
            Z[t, r, j] = acc

    @cuda.jit
    def rnn(x0, W, Z, H):
        """One block per batch row r, a thread per unit j; the state in shared memory."""
        r, j = cuda.blockIdx.x, cuda.threadIdx.x
        n = W.shape[0]
        h = cuda.shared.array(RNN_MAX_N, np.float32)
        h[j] = x0[r, j]
        cuda.syncthreads()
        for t in range(Z.shape[0]):
            acc = Z[t, r, j]
            for i in range(n):
                acc += h[i] * W[i, j]
            cuda.syncthreads()  # every thread has read h before any writes it
            h[j] = math.tanh(acc)
            H[t, r, j] = h[j]
            cuda.syncthreads()

    @cuda.jit
    def power(A, k, out):
        i = cuda.grid(1)
        if i < A.shape[0]:
            a, acc = A[i], np.float32(1)
            for _ in range(k):
                acc *= a
            out[i] = acc

    _CUDA_KERNELS.update(w1=w1, seq_products=seq_products, rnn=rnn, power=power)
    return _CUDA_KERNELS


def _blocks(n, per):
    return max(1, (n + per - 1) // per)


def cw1_hand(X, W, b):
    cuda, kernel = _cuda(), _hand_kernels()["w1"]
    X, W, b = _on_device(X, W, b)
    out = cuda.device_array((X.shape[0], W.shape[1]), np.float32)
    launch = kernel[(_blocks(W.shape[1], 16), _blocks(X.shape[0], 16)), (16, 16)]
    return _numba_call(lambda: (launch(X, W, b, out), out)[1])


def cw1_jax(X, W, b):
    jax = _jax32()

    def fn(X, W, b):
        return jax.lax.scan(lambda c, x: (c, jax.numpy.tanh(x @ W + b)), None, X)[1]
    return _jax32_call(jax.jit(fn), (X, W, b))


def cw1_torch(X, W, b):
    torch, _ = _torch()
    return _torch_call(lambda X, W, b: torch.stack([torch.tanh(x @ W + b) for x in X]), (X, W, b))


# W2, batched (batch > 0: x0 is (batch, n), Y and P (steps, batch, n)) or not ----------

def cw2_inputs(batch, n, steps):
    r = _rng(2)
    m = lambda *shape: (r.standard_normal(shape) / np.sqrt(n)).astype(np.float32)  # noqa: E731
    rows = (batch,) if batch else ()
    return m(*rows, n), m(n, n), m(steps, *rows, n), m(n, n), m(steps, *rows, n), m(n, n)  # x0, W, Y, U, P, V


def cw2_numpy(x0, W, Y, U, P, V):
    return w2_numpy(*(a.astype(np.float64) for a in (x0, W, Y, U, P, V)))


def cw2_loopc(x0, W, Y, U, P, V):
    batched = x0.ndim == 2
    s = [T.fmatrix("x0") if batched else T.fvector("x0"), T.fmatrix("W"),
         T.ftensor3("Y") if batched else T.fmatrix("Y"), T.fmatrix("U"),
         T.ftensor3("P") if batched else T.fmatrix("P"), T.fmatrix("V")]
    sx0, sW, sY, sU, sP, sV = s
    out, _ = loopc.scan(lambda y, p, h: T.tanh(T.dot(h, sW) + T.dot(y, sU) + T.dot(p, sV)),
                        sequences=[sY, sP[::-1]], outputs_info=[sx0])
    return _loopc_cuda(s, out, (x0, W, Y, U, P, V))


def cw2_hand(x0, W, Y, U, P, V):
    cuda, kernels = _cuda(), _hand_kernels()
    batched = x0.ndim == 2
    if not batched:  # one batch row
        x0, Y, P = x0[None], Y[:, None], P[:, None]
    steps, rows, n = Y.shape
    if n > RNN_MAX_N:
        raise Skipped(f"n={n} > {RNN_MAX_N}: the state does not fit one block")
    x0, W, Y, U, P, V = _on_device(x0, W, Y, U, P, V)
    Z = cuda.device_array((steps, rows, n), np.float32)
    H = cuda.device_array((steps, rows, n), np.float32)
    products = kernels["seq_products"][(_blocks(n, 8), _blocks(rows, 8), _blocks(steps, 4)), (8, 8, 4)]
    recur = kernels["rnn"][rows, n]

    def run():
        products(Y, U, P, V, Z)
        recur(x0, W, Z, H)
        return H if batched else H.reshape(steps, n)
    return _numba_call(run)


def cw2_jax(*args):
    jax = _jax32()

    def fn(x0, W, Y, U, P, V):  # W2's JAX function, without turning on x64
        step = lambda h, yp: (jax.numpy.tanh(h @ W + yp[0] @ U + yp[1] @ V),) * 2  # noqa: E731
        return jax.lax.scan(step, x0, (Y, P[::-1]))[1]
    return _jax32_call(jax.jit(fn), args)


def cw2_torch(*args):
    torch, _ = _torch()

    def fn(x0, W, Y, U, P, V):
        h, out, steps = x0, [], Y.shape[0]
        for t in range(steps):
            h = torch.tanh(h @ W + Y[t] @ U + P[steps - 1 - t] @ V)
            out.append(h)
        return torch.stack(out)
    return _torch_call(fn, args)


# W4 ---------------------------------------------------------------------------------

def cw4_inputs(size, k):
    A, k = w4_inputs(size, k)
    return A.astype(np.float32), k


def cw4_numpy(A, k):
    return A.astype(np.float64) ** k


def cw4_loopc(A, k):
    sA, sk = T.fvector("A"), T.iscalar("k")
    out, _ = loopc.scan(lambda prior, B: prior * B, outputs_info=T.ones_like(sA), non_sequences=sA, n_steps=sk)
    return _loopc_cuda([sA, sk], out[-1], (A, k))


def cw4_hand(A, k):
    cuda, kernel = _cuda(), _hand_kernels()["power"]
    (A,) = _on_device(A)
    out = cuda.device_array(A.shape, np.float32)
    launch, k = kernel[_blocks(A.shape[0], 256), 256], int(k)
    return _numba_call(lambda: (launch(A, k, out), out)[1])


def cw4_jax(A, k):
    jax = _jax32()

    def fn(A):
        return jax.lax.scan(lambda prior, _: (prior * A, None), jax.numpy.ones_like(A), None, length=int(k))[0]
    return _jax32_call(jax.jit(fn), (A,))


def cw4_torch(A, k):
    torch, _ = _torch()

    def fn(A):
        out = torch.ones_like(A)
        for _ in range(int(k)):
            out = out * A
        return out
    return _torch_call(fn, (A,))


# measuring and the table -------------------------------------------------------------

def cuda_measure(workload, system, opts):
    if system in CUDA_PEERS and importlib.util.find_spec(CUDA_PEERS[system]) is None:
        return {"skipped": f"{CUDA_PEERS[system]} not installed"}
    try:
        args = workload.part("inputs")(**(workload.quick if opts.quick else workload.full))
        start = time.perf_counter()
        run = workload.part(system)(*args)
        got = _to_numpy(run())
        first = time.perf_counter() - start
        want = workload.part("numpy")(*args)
        try:
            np.testing.assert_allclose(got, want, rtol=CUDA_RTOL, atol=CUDA_ATOL)
        except AssertionError as error:
            raise Wrong(f"{workload.name} {system}: differs from NumPy:{error}") from None
        steady, times = steady_ms(run, opts.repeat)
    except Skipped as why:
        return {"skipped": str(why)}
    except Wrong as error:
        return {"wrong": str(error)}
    except Exception as error:  # noqa: BLE001 - one cell's failure, reported in its cell
        return {"error": f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"}
    return {"steady_ms": steady, "times_ms": times, "first_s": first}


def cuda_header(opts, systems):
    from importlib.metadata import PackageNotFoundError, version
    cuda = _cuda()
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        device = "numba's CUDA simulator (no GPU: the numbers say only that everything runs)"
    else:
        device = cuda.get_current_device().name
        device = device.decode() if isinstance(device, bytes) else device
    versions = [f"numpy {np.__version__}", f"numba {numba.__version__}", f"loopc {loopc.__version__}"]
    for system in (s for s in systems if s in CUDA_PEERS):
        try:
            versions.append(f"{system} {version(CUDA_PEERS[system])}")
        except PackageNotFoundError:
            pass
    if "jax" in systems and importlib.util.find_spec("jax"):
        versions.append(f"jax on {_jax32().default_backend()}")
    return (f"loopc CUDA benchmark ({'quick sizes' if opts.quick else 'issue 15 sizes'}, float32, one process, "
            f"median of {opts.repeat} calls); {device}; {', '.join(versions)}")


def cuda_table(results, systems, metric, title, quick):
    lines = [title, "", "| workload | " + " | ".join(CUDA_TITLES[s] for s in systems) + " |",
             "|---" * (len(systems) + 1) + "|"]
    for name, row in results.items():
        best = min((r[metric] for r in row.values() if r.get(metric) is not None), default=None)
        cells = [cell(row[s], metric, best, True) for s in systems]
        lines.append(f"| {CUDA_WORKLOADS[name].title(quick)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cuda_report(opts):
    """`--target cuda`: the GPU workloads, every system in this process."""
    if opts.repeat < 7:
        raise SystemExit("--repeat must be at least 7")
    wanted = [w.strip() for w in opts.only.split(",") if w.strip()] or list(CUDA_WORKLOADS)
    unknown = [w for w in wanted if w not in CUDA_WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown CUDA workloads {unknown}; choose from {list(CUDA_WORKLOADS)}")
    loopc_cache = tempfile.TemporaryDirectory(prefix="bench-loopc-")  # keep ~/.cache/loopc out of it
    os.environ["LOOPC_CACHE_DIR"] = loopc_cache.name
    systems = ["hand", "loopc", "jax", "torch"]
    title = cuda_header(opts, systems)
    print(title, file=sys.stderr)
    results = {}
    for name in wanted:
        results[name] = {}
        for system in systems:
            result = results[name][system] = cuda_measure(CUDA_WORKLOADS[name], system, opts)
            kind = next((k for k in ("skipped", "wrong", "error") if k in result), None)
            if kind is None:
                print(f"{name} {system}: steady_ms {fmt(result['steady_ms'])}, first_s {fmt(result['first_s'])}",
                      file=sys.stderr)
            else:
                print(f"{'' if kind == 'skipped' else '!!! '}{name} {system} {kind.upper()}: {result[kind]}",
                      file=sys.stderr)
    tables = [cuda_table(results, systems, "steady_ms", "Steady state, ms per call (ratio to the best of the row)",
                         opts.quick),
              cuda_table(results, systems, "first_s", "Build + first call (compiles), s", opts.quick)]
    print(title + "\n\n" + "\n\n".join(tables))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"header": title, "options": vars(opts), "results": results}, f, indent=1)
    if any("wrong" in r or "error" in r for row in results.values() for r in row.values()):
        print("\nFAILED: see the messages marked !!! above (WRONG: differs from NumPy)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
