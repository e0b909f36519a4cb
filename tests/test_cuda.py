"""Mode 'CUDA' (issue 15): the loop IR printed as numba-cuda kernels, checked against
NumPy and the reference evaluator. CI runs them on numba's simulator
(NUMBA_ENABLE_CUDASIM=1, set by conftest.py unless LOOPC_CUDA_HARDWARE=1), which runs
every thread as a Python thread: sizes stay tiny. The seeds run in CUDA mode in
tests/test_seeds.py; LOOPC_TEST_MODES=CUDA runs every mode-parametrized test in it.
"""
import collections

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import loopc
import loopc.tensor as T
from conftest import cuda_available
from loopc.errors import LoopcIndexError, ShapeError, UnsupportedError

pytestmark = [pytest.mark.skipif(cuda_available() is not None, reason=str(cuda_available())),
              pytest.mark.usefixtures("float64")]


def cuda_function(*args, **kwargs):
    return loopc.function(*args, mode="CUDA", **kwargs)


def close(got, want, tol=1e-10):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol, equal_nan=True)


RNG = np.random.default_rng(15)
M = RNG.normal(size=(3, 5))
V = RNG.normal(size=5)


# -- elementwise, reductions, products ----------------------------------------------

def test_elementwise_ops_match_numpy():
    m, v, s = T.matrix("m"), T.vector("v"), T.scalar("s")
    with np.errstate(all="ignore"):
        cases = _elementwise_cases(m, v, s)
    f = cuda_function([m, v, s], [c for c, _ in cases])
    for got, (_, want) in zip(f(M, V, 2.5), cases):
        close(got, want)


def _elementwise_cases(m, v, s):
    return [
        (T.tanh(m) * s + v, np.tanh(M) * 2.5 + V),
        (T.exp(m) - T.log(abs(m)), np.exp(M) - np.log(np.abs(M))),
        (T.sqrt(m), np.sqrt(M)),  # nan where negative, as NumPy (Python's math raises)
        (T.nnet.sigmoid(m), 1 / (1 + np.exp(-M))),
        (T.floor(m * 3) + T.ceil(m) + T.round(m * 2), np.floor(M * 3) + np.ceil(M) + np.round(M * 2)),
        (T.maximum(m, v) + T.minimum(m, 0), np.maximum(M, V) + np.minimum(M, 0)),
        (T.switch(T.gt(m, 0), m, -m ** 2), np.where(M > 0, M, -M ** 2)),
        (T.sgn(m) * T.sin(m) + T.cos(v), np.sign(M) * np.sin(M) + np.cos(V)),
        (m.T * 2, M.T * 2),
        (T.log(m - m), np.full_like(M, -np.inf)),
    ]


def test_reductions_match_numpy():
    m = T.matrix("m")
    b = T.matrix("b", dtype="int64")
    x = M.copy()
    x[1, 2] = np.nan
    bi = (M > 0).astype("int64")
    cases = [
        (m.sum(), x.sum()), (m.sum(axis=0), x.sum(axis=0)), (m.sum(axis=1), x.sum(axis=1)),
        (m.max(), np.max(x)), (m.min(axis=1), np.min(x, axis=1)), (m.prod(axis=0), x.prod(axis=0)),
        (m.mean(), x.mean()), (T.argmax(m, axis=1), np.argmax(x, axis=1)),
        (T.any(T.gt(m, 1)), np.any(x > 1)), (T.all(T.lt(m, 5)), np.all(x < 5)),
        (b.sum(), bi.sum()), (b.max(axis=0), bi.max(axis=0)),
    ]
    f = cuda_function([m, b], [c for c, _ in cases])
    for got, (_, want) in zip(f(x, bi), cases):
        close(got, want)
        assert np.asarray(got).shape == np.asarray(want).shape


def test_a_sum_is_one_tree_reduction_kernel():
    v = T.vector("v")
    f = cuda_function([v], v.sum())
    assert "cuda.shared.array(cu.BLOCK" in f.source and "k_reduce[1, cu.BLOCK]" in f.source
    x = RNG.normal(size=150)  # more elements than threads: partials over a strided range
    close(f(x), x.sum())


def test_products_match_numpy():
    a, b, u, w = T.matrix("a"), T.matrix("b"), T.vector("u"), T.vector("w")
    A, B = RNG.normal(size=(10, 9)), RNG.normal(size=(9, 11))  # more than one 8x8 tile
    U, W = RNG.normal(size=9), RNG.normal(size=10)
    f = cuda_function([a, b, u, w], [T.dot(a, b), T.dot(a, u), T.dot(w, a), T.dot(u, u)])
    for got, want in zip(f(A, B, U, W), [A @ B, A @ U, W @ A, U @ U]):
        close(got, want)
    x3, y3 = T.tensor3("x3"), T.tensor3("y3")
    X3, Y3 = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 3))
    g = cuda_function([x3, y3], T.batched_dot(x3, y3))
    close(g(X3, Y3), np.einsum("bij,bjk->bik", X3, Y3))


def test_library_calls_match_numpy():
    m, t3, i = T.matrix("m"), T.tensor3("t3"), T.lvector("i")
    X3 = RNG.normal(size=(2, 3, 4))
    cases = [
        (m.reshape((5, 3)), M.reshape(5, 3)), (m.flatten(), M.flatten()),
        (T.concatenate([m, m * 2], axis=1), np.concatenate([M, M * 2], axis=1)),
        (t3.dimshuffle(2, 0, 1), X3.transpose(2, 0, 1)), (m[i], M[[2, -1, 0]]),
        (m[::-1, 1:4], M[::-1, 1:4]), (T.arange(5) * 2, np.arange(5) * 2),
        (T.inc_subtensor(m[1:, ::2], 1.0), _inc(M)), (T.eye(3), np.eye(3)),
    ]
    f = cuda_function([m, t3, i], [c for c, _ in cases])
    for got, (_, want) in zip(f(M, X3, np.array([2, -1, 0])), cases):
        close(got, want)


def _inc(x):
    x = x.copy()
    x[1:, ::2] += 1.0
    return x


def test_unsupported_op_fails_at_compile_time_naming_it():
    v = T.vector("v")
    with pytest.raises(UnsupportedError, match="'sort'"):
        cuda_function([v], T.sort(v))
    with pytest.raises(UnsupportedError, match="'argsort'"):
        cuda_function([v], T.argsort(v))


def test_host_checks_and_kernel_checks_raise_the_cpu_errors():
    a, b = T.matrix("a"), T.matrix("b")
    f = cuda_function([a, b], T.dot(a, b))
    with pytest.raises(ShapeError, match="inner lengths 5 and 3 differ"):
        f(M, M)
    # an index the data chooses, checked inside the kernel: the error record's message
    x, idx = T.vector("x"), T.lvector("idx")
    r, _ = loopc.scan(lambda k: x[k] * 2, sequences=idx)
    g = cuda_function([x, idx], r)
    close(g(V, np.array([4, 0, -5])), V[[4, 0, -5]] * 2)
    numba = loopc.function([x, idx], r, mode="NUMBA")
    with pytest.raises(LoopcIndexError) as cpu:
        numba(V, np.array([1, 7]))
    with pytest.raises(LoopcIndexError) as gpu:
        g(V, np.array([1, 7]))
    assert str(gpu.value) == str(cpu.value)


# -- scans ----------------------------------------------------------------------------

def rnn_reference(x, u, w, h):
    out = []
    for t in range(len(x)):
        h = np.tanh(x[t] @ u + h @ w)
        out.append(h)
    return np.array(out).reshape(len(x), -1)


def test_rnn_runs_as_one_persistent_kernel():
    """W2: the product with the sequence moves out (a tiled dot before the loop); the time
    loop runs inside one kernel of one block, its nests strided over the threads."""
    X, U, W, h0 = T.matrix("X"), T.matrix("U"), T.matrix("W"), T.vector("h0")
    res, _ = loopc.scan(lambda x, h: T.tanh(T.dot(x, U) + T.dot(h, W)), sequences=X, outputs_info=h0)
    f = cuda_function([X, U, W, h0], res)
    assert "cu.dot(X, U)" in f.source and "for t in range(n_steps):" in f.source
    assert "    for t in range(" not in f.source.split("def fn(")[1]  # no host loop
    x, u, w, h = RNG.normal(size=(6, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) / 2, RNG.normal(size=4)
    close(f(x, u, w, h), rnn_reference(x, u, w, h))
    close(f(x[:0], u, w, h), np.zeros((0, 4)))  # zero steps


def test_scan_taps_states_and_outputs():
    X, a0, b0 = T.vector("X"), T.vector("a0"), T.scalar("b0")

    def step(x_m2, x_p1, a_m3, a_m1, b):
        a = a_m3 + a_m1 * x_p1
        return [a, b + a.sum(), x_m2 * 2]  # two states (one with two taps) and a plain output
    (a, b, y), _ = loopc.scan(step, sequences=dict(input=X, taps=[-2, 1]),
                              outputs_info=[dict(initial=a0, taps=[-3, -1]), b0, None])
    f = cuda_function([X, a0, b0], [a, b, y])
    x, init = np.arange(8.0), np.array([1.0, 2.0, 3.0])
    got = f(x, init, 0.5)
    rows, bs, ys, bb = list(init), [], [], 0.5
    for t in range(5):  # taps -2 and 1 leave 8 - 3 steps
        new = rows[-3] + rows[-1] * x[t + 3]
        rows.append(new)
        bb = bb + new
        bs.append(bb)
        ys.append(x[t] * 2)
    close(got[0], rows[3:])
    close(got[1], bs)
    close(got[2], ys)


def test_scan_until_go_backwards_and_last_value_only():
    v, X = T.vector("v"), T.vector("X")
    r, _ = loopc.scan(lambda h: (h * 2, loopc.until(h.sum() > 10)), outputs_info=v, n_steps=10)
    back, _ = loopc.scan(lambda x, h: h + x, sequences=X, outputs_info=T.zeros_like(X[0]), go_backwards=True)
    power, _ = loopc.scan(lambda p, x: p * x, outputs_info=T.ones_like(v), non_sequences=v, n_steps=4)
    f = cuda_function([v, X], [r, back, power[-1]])  # power[-1]: save_memory keeps a ring of rows
    got = f(np.array([1.0, 2.0]), np.arange(5.0))
    close(got[0], [[2, 4], [4, 8], [8, 16]])
    close(got[1], np.cumsum(np.arange(5.0)[::-1]))
    close(got[2], np.array([1.0, 2.0]) ** 4)


def test_scan_with_a_host_draw_runs_a_host_loop():
    """A random draw inside the body runs on the host each step (a host loop of kernels);
    the same seed gives the same numbers as NUMBA mode."""
    from loopc.tensor.shared_randomstreams import RandomStreams
    m = T.matrix("m")
    r, updates = loopc.scan(lambda x: x * RandomStreams(3).binomial(size=x.shape, p=0.5), sequences=m)
    f = cuda_function([m], r, updates=updates)
    assert "draw_random(" in f.source and "for t in range(n_steps):" in f.source.split("def fn(")[1]
    g = loopc.function([m], r, updates=updates, mode="NUMBA")
    saved = {rng: rng.get_value() for rng in updates}
    got = f(M)
    for rng, state in saved.items():
        rng.set_value(state)
    close(got, g(M))


def test_shared_variables_stay_on_the_device_between_calls():
    w = loopc.shared(np.arange(3.0), name="w")
    x = T.vector("x")
    f = cuda_function([x], (w * x).sum(), updates=[(w, w + x)])
    close(f(np.ones(3)), 3.0)
    assert w.container.device is not None  # the update is held on the device
    close(f(np.ones(3)), 6.0)
    close(w.get_value(), [2.0, 3.0, 4.0])
    w.set_value(np.zeros(3))
    close(f(np.ones(3)), 0.0)
    with pytest.raises(ShapeError):
        f(np.ones(4))
    close(w.get_value(), [1.0, 1.0, 1.0])  # a failed call changes no shared variable


def test_scan_updates_a_shared_variable():
    acc = loopc.shared(np.zeros(2), name="acc")
    X = T.matrix("X")
    _, updates = loopc.scan(lambda x: {acc: acc + x}, sequences=X)
    f = cuda_function([X], [], updates=updates)
    f(M[:, :2])
    f(M[:, :2])
    close(acc.get_value(), 2 * M[:, :2].sum(axis=0))


def test_device_arrays_in_and_out():
    from numba import cuda
    x = T.vector("x")
    f = cuda_function([x], [x * 2, x.sum()], device_outputs=True)
    d = cuda.to_device(V)
    doubled, total = f(d)
    assert hasattr(doubled, "copy_to_host")
    close(doubled.copy_to_host(), V * 2)
    close(total.copy_to_host(), [V.sum()])
    close(d.copy_to_host(), V)  # the input is not written


# -- a differential slice: CUDA == REFERENCE, or a compile-time UnsupportedError --------

OUTCOMES = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def report_outcomes():
    yield
    if OUTCOMES:
        print(f"\nCUDA differential slice: {dict(OUTCOMES)}")


def _differential(case, faulty):
    import test_differential as td
    try:
        td.compile_case(case, "CUDA", True)
    except UnsupportedError as exc:
        assert "'" in str(exc), exc  # names the op
        OUTCOMES["unsupported " + str(exc).split("'")[3 if "op '" not in str(exc) else 1]] += 1
        return
    if faulty:
        td.check_failing(case, [("CUDA", True)])
    else:
        td.check_case(case, [("CUDA", True)])
    OUTCOMES["faulty, same error" if faulty else "same values"] += 1


def _slice_settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def test_differential_slice_agrees_with_the_reference():
    from strategies import cases, indexing_cases, scan_cases
    from hypothesis import strategies as st

    @_slice_settings(40)
    @given(st.one_of(cases(), scan_cases(), indexing_cases()))
    def run(case):
        _differential(case, faulty=False)
    run()


def test_differential_slice_faulty_calls_raise_alike():
    from strategies import failing_cases

    @_slice_settings(30)
    @given(failing_cases())
    def run(case):
        _differential(case, faulty=True)
    run()
