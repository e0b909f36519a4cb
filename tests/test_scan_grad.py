"""Gradients through scan (back-propagation through time), feature by feature.

Each case is a small graph of scans; its gradient is checked against central
finite differences of the same compiled function (one compile per case and mode:
the function returns the cost and its gradients), in REFERENCE and PY, and in
NUMBA for the cases whose generated code differs most (Numba compile time
dominates). A failure names the case, the input, the index and both values.
Features whose gradient is not the derivative (truncate_gradient) are compared
with PyTensor, or with the rows a NumPy loop gives.
"""
import dataclasses
import warnings

import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from loopc.errors import UnsupportedError
from loopc.gradient import hessian, jacobian
from loopc.ir.scan import Scan
from loopc.tensor.shared_randomstreams import RandomStreams

pytestmark = pytest.mark.usefixtures("float64")

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-7


# -- the check -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """inputs: (name, value) of the float inputs checked; build(*variables) -> the output;
    extra: (variable, value) of inputs that are given but not differentiated."""
    name: str
    inputs: list
    build: object
    extra: list = dataclasses.field(default_factory=list)


def _symbol(name, value):
    value = np.asarray(value)
    return T.TensorType(value.dtype.name, (False,) * value.ndim)(name)


def _cost(out):
    """A smooth scalar that weighs every element of `out` differently."""
    return T.sum(out * T.sin(out * 1.3 + 0.7))


def compile_case(case, mode):
    symbols = [_symbol(f"{case.name}.{n}", v) for n, v in case.inputs]
    cost = _cost(case.build(*symbols))
    grads = theano.grad(cost, symbols)
    extra = [v for v, _ in case.extra]
    f = theano.function(symbols + extra, [cost] + list(grads), mode=mode, on_unused_input="ignore")
    return lambda *values: f(*values, *[x for _, x in case.extra])


def central(f, point):
    numeric = []
    for i, p in enumerate(point):
        g = np.zeros(p.shape)
        for j in range(p.size):
            up = [q.copy() for q in point]
            down = [q.copy() for q in point]
            up[i].flat[j] += EPS
            down[i].flat[j] -= EPS
            g.flat[j] = (f(*up)[0] - f(*down)[0]) / (2 * EPS)
        numeric.append(g)
    return numeric


def assert_grads(case, f):
    point = [np.array(v, dtype="float64") for _, v in case.inputs]
    analytic = f(*point)[1:]
    numeric = central(f, point)
    for (name, _), a, n in zip(case.inputs, analytic, numeric):
        a = np.asarray(a)
        assert a.shape == n.shape, f"{case.name}: the gradient of {name} has shape {a.shape}, expected {n.shape}"
        bad = ~np.isclose(a, n, rtol=RTOL, atol=ATOL)
        if bad.any():
            at = np.unravel_index(int(np.argmax(np.abs(a - n) * bad)), n.shape)
            raise AssertionError(f"{case.name}: d cost / d {name}{list(at)} is {a[at]!r} analytically "
                                 f"but {n[at]!r} numerically")


# -- the cases -----------------------------------------------------------------------------------

R = np.random.RandomState(7)


def rand(*shape):
    return R.uniform(-1, 1, size=shape)


def rnn(X, W, h0):
    h, _ = theano.scan(lambda x, h, W: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[h0],
                       non_sequences=[W])
    return h


def rnn_last(X, W, h0):
    return rnn(X, W, h0)[-1]


def sequence_taps(X, w):
    # taps before and after the step, and an output that is not recurrent
    out, _ = theano.scan(lambda a, b, c: T.tanh(a * w + b * c), sequences=dict(input=X, taps=[-2, 0, 1]))
    return out


def state_taps(h0, w, X):
    # a state with taps -3 and -1: three initial rows, of four given (the last one unused)
    h, _ = theano.scan(lambda x, a, b: T.tanh(a * w + b * x), sequences=[X],
                       outputs_info=dict(initial=h0, taps=[-3, -1]))
    return h


def mixed_outputs(X, h0, v):
    # a state, a non-recurrent output and a state again: outputs_info with None
    def step(x, h, c):
        o = T.sin(h * x)
        return T.tanh(h * v + x), o, c * x + o

    (h, o, c), _ = theano.scan(step, sequences=[X], outputs_info=[h0, None, T.zeros_like(h0)])
    return T.concatenate([h, o * 2.0, c])


def captured(X, W, b):
    # W and b used without being passed (implicit non-sequences)
    out, _ = theano.scan(lambda x: T.tanh(T.dot(x, W) + b), sequences=[X])
    return out


def backwards(X, h0, w):
    h, _ = theano.scan(lambda a, b, h: T.tanh(h * w + a - b), sequences=dict(input=X, taps=[-1, 1]),
                       outputs_info=[h0], go_backwards=True)
    return h


def until_stops(X, h0, w):
    # stops after the step where the integer counter reaches 2: three of five steps
    def step(x, h, k):
        return [T.tanh(h * w + x), k + 1], theano.scan_module.until(T.ge(k, 2))

    (h, _k), _ = theano.scan(step, sequences=[X], outputs_info=[h0, np.int64(0)])
    return h


def two_outputs_one_used(X, h0, g0):
    # g does not reach the cost: no cotangent is built for it
    (h, g), _ = theano.scan(lambda x, h, g: [T.tanh(h + x), g * x], sequences=[X], outputs_info=[h0, g0])
    return T.concatenate([h.flatten(), g0])


def nested(X, W, h0):
    # the body of the outer scan runs a scan over the rows of its matrix
    def outer_step(M, h):
        inner, _ = theano.scan(lambda row, a: T.tanh(T.dot(a, W) + row), sequences=[M], outputs_info=[h])
        return inner[-1]

    h, _ = theano.scan(outer_step, sequences=[X], outputs_info=[h0])
    return h


def same_value_twice(X, h0):
    h, _ = theano.scan(lambda x, h: [T.tanh(h * x), T.tanh(h * x)], sequences=[X], outputs_info=[h0, None])
    return h[0] * 3.0 + h[1]


def unused_state_tap(h0, w):
    # Theano's test_grad_multiple_taps_state: taps -4 and -1, the body reads only -1
    h, _ = theano.scan(lambda far, prev: T.tanh(prev * w), n_steps=5, outputs_info=dict(initial=h0, taps=[-4, -1]))
    return h


CASES = {
    "unused_state_tap": Case("unused_state_tap", [("h0", rand(4, 2)), ("w", rand(2))], unused_state_tap),
    "rnn": Case("rnn", [("X", rand(4, 3)), ("W", rand(3, 3)), ("h0", rand(3))], rnn),
    "rnn_last": Case("rnn_last", [("X", rand(4, 3)), ("W", rand(3, 3)), ("h0", rand(3))], rnn_last),
    "sequence_taps": Case("sequence_taps", [("X", rand(6, 2)), ("w", rand(2))], sequence_taps),
    "state_taps": Case("state_taps", [("h0", rand(4, 2)), ("w", rand(2)), ("X", rand(3, 2))], state_taps),
    "mixed_outputs": Case("mixed_outputs", [("X", rand(4, 2)), ("h0", rand(2)), ("v", rand(2))], mixed_outputs),
    "captured": Case("captured", [("X", rand(3, 2)), ("W", rand(2, 3)), ("b", rand(3))], captured),
    "go_backwards": Case("go_backwards", [("X", rand(5, 2)), ("h0", rand(2)), ("w", rand(2))], backwards),
    "until": Case("until", [("X", rand(5, 2)), ("h0", rand(2)), ("w", rand(2))], until_stops),
    "one_output_used": Case("one_output_used", [("X", rand(3, 2)), ("h0", rand(2)), ("g0", rand(2))],
                            two_outputs_one_used),
    "nested": Case("nested", [("X", rand(2, 3, 2)), ("W", rand(2, 2)), ("h0", rand(2))], nested),
    "same_value_twice": Case("same_value_twice", [("X", rand(3, 2)), ("h0", rand(2))], same_value_twice),
}


def _n_steps_case():
    n = T.lscalar("n")

    def build(X, W, h0):
        h, _ = theano.scan(lambda x, h: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[h0], n_steps=n)
        return T.concatenate([h.flatten(), h0])
    return Case("n_steps", [("X", rand(5, 2)), ("W", rand(2, 2)), ("h0", rand(2))], build, [(n, 3)])


def _zero_steps_case():
    n = T.lscalar("n0")

    def build(X, W, h0):
        h, _ = theano.scan(lambda x, h: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[h0], n_steps=n)
        return T.concatenate([h.flatten(), h0 * 2.0])
    return Case("zero_steps", [("X", rand(3, 2)), ("W", rand(2, 2)), ("h0", rand(2))], build, [(n, 0)])


def _batched_case(name, steps):
    # a minibatch of states: dot(H, W) gives W per-step terms dot(H.T, G), summed as one product
    n = T.lscalar(f"{name}.n")

    def build(X, W, H0):
        H, _ = theano.scan(lambda x, h: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[H0], n_steps=n)
        return T.concatenate([H.flatten(), H0.flatten()])
    return Case(name, [("X", rand(3, 2, 3)), ("W", rand(3, 3)), ("H0", rand(2, 3))], build, [(n, steps)])


def unread_tap(h0, X):
    # taps -2 and -1, the body reads only -1 (found by the differential generator: the
    # window's row for the unread tap had no gradient, and building it failed)
    h, _ = theano.scan(lambda x, early, late: T.tanh(late * x), sequences=[X],
                       outputs_info=dict(initial=h0, taps=[-2, -1]))
    return h


CASES["unread_tap"] = Case("unread_tap", [("h0", rand(2, 2)), ("X", rand(3, 2))], unread_tap)


def _integer_factor_case():
    # dot(k_t, W) with an integer row k_t: W's per-step term is an outer product with an
    # integer factor, which was stacked as a gradient (found by the differential generator)
    K = T.lmatrix("K")

    def build(W):
        h, _ = theano.scan(lambda k: T.tanh(T.dot(k, W)), sequences=[K])
        return h
    return Case("integer_factor", [("W", rand(2, 3))], build, [(K, np.array([[1, 0], [2, -1], [0, 3]]))])


CASES["integer_factor"] = _integer_factor_case()
CASES["batched"] = _batched_case("batched", 3)
CASES["batched_zero_steps"] = _batched_case("batched_zero_steps", 0)
CASES["n_steps"] = _n_steps_case()
CASES["zero_steps"] = _zero_steps_case()


# -- random draws: the backward pass reads the forward's samples ----------------------------------

def _random_case(name, seed):
    srng = RandomStreams(seed)
    outside = srng.uniform(size=(2,))  # made outside fn, used inside: redrawn each step

    def build(X, W, h0):
        def step(x, h):
            mask = srng.binomial(size=(2,), p=0.7)
            return T.tanh(T.dot(h, W) + x * srng.normal(size=(2,))) * mask + outside * h
        h, _ = theano.scan(step, sequences=[X], outputs_info=[h0])
        return h
    # compiled without scan's updates, every call draws the same numbers: the finite
    # differences see one function, which the gradient matches only with the same draws
    return Case(name, [("X", rand(4, 2)), ("W", rand(2, 2)), ("h0", rand(2))], build)


CASES["random"] = _random_case("random", 11)


def test_random_draws_are_outputs_of_the_forward_scan():
    srng = RandomStreams(2)
    X = T.matrix("X")
    h, _ = theano.scan(lambda x: x * srng.uniform(size=(3,)), sequences=[X])
    node = h.owner
    assert node.op.n_outputs == 2  # fn's output, and the draw
    body_out = node.op.split_outputs(node.op.body.outputs)
    assert body_out.outputs[1].owner.op.name == "random_uniform"
    f = theano.function([X], theano.grad(h.sum(), X))
    # nobody reads the draws but the gradient: dce keeps them for it, and only for it
    g = theano.function([X], h)
    assert [n.op.n_outputs for n in g.graph.nodes if isinstance(n.op, Scan)] == [1]
    assert len([n for n in f.graph.nodes if isinstance(n.op, Scan)]) == 2


def test_recomputing_a_draw_is_an_error():
    # dce drops the draws nobody reads: a gradient taken after it would have to draw again
    from loopc.ir.graph import Graph
    from loopc.passes import dce
    srng = RandomStreams(5)
    X = T.matrix("X")
    h, _ = theano.scan(lambda x: x * srng.uniform(size=(3,)), sequences=[X])
    pruned = dce.run(Graph([X], [h])).outputs[0]
    assert pruned.owner.op.n_outputs == 1
    with pytest.raises(UnsupportedError, match="random_uniform, which draws random numbers"):
        theano.grad(pruned.sum(), X)


def _nested_random_case():
    srng = RandomStreams(8)

    def build(X, w):
        # the inner scan draws: the outer scan outputs its results, which the gradient reads
        def outer_step(row, h):
            inner, _ = theano.scan(lambda v, a: T.tanh(a * w + v * srng.uniform()), sequences=[row],
                                   outputs_info=[h])
            return inner[-1]

        h, _ = theano.scan(outer_step, sequences=[X], outputs_info=[T.constant(0.5)])
        return h
    return Case("nested_random", [("X", rand(3, 2)), ("w", rand())], build)


CASES["nested_random"] = _nested_random_case()


# -- shared variables -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["REFERENCE", "PY"])
def test_shared_variable_in_the_body_and_as_wrt(mode):
    W = theano.shared(rand(2, 2), name="W")
    X = T.matrix("X")
    h, _ = theano.scan(lambda x, h: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[T.zeros((2,))])
    cost = _cost(h)
    f = theano.function([X], [cost, theano.grad(cost, W)], mode=mode)
    x = rand(3, 2)
    w = W.get_value()
    numeric = np.zeros_like(w)
    for j in range(w.size):
        for sign in (1, -1):
            moved = w.copy()
            moved.flat[j] += sign * EPS
            W.set_value(moved)
            numeric.flat[j] += sign * f(x)[0] / (2 * EPS)
    W.set_value(w)
    np.testing.assert_allclose(f(x)[1], numeric, rtol=RTOL, atol=ATOL)


def _shared_update_case():
    acc = theano.shared(np.zeros(2), name="acc")

    def build(X, h0):
        # acc is carried from step to step: its gradient flows through the carry, which
        # needs no value of acc at any step
        h, upd = theano.scan(lambda x, h: (T.tanh(h * x), {acc: acc * 0.5 + h}), sequences=[X],
                             outputs_info=[h0])
        return T.concatenate([h.flatten(), upd[acc] * 3.0])
    return Case("shared_update", [("X", rand(3, 2)), ("h0", rand(2))], build)


CASES["shared_update"] = _shared_update_case()


def _shared_per_step_case():
    acc = theano.shared(np.ones(2), name="acc_steps")

    def build(X):
        # every step reads acc's value at that step: the scan also outputs those values
        # (dropped by dce when no gradient reads them), and the carry gets the rest
        h, upd = theano.scan(lambda x: (x * acc, {acc: acc * T.tanh(x)}), sequences=[X])
        return T.concatenate([h.flatten(), upd[acc]])
    return Case("shared_per_step", [("X", rand(3, 2))], build)


CASES["shared_per_step"] = _shared_per_step_case()


def test_a_shared_update_the_gradient_does_not_read_costs_no_rows():
    acc = theano.shared(np.ones(2), name="acc")
    X = T.matrix("X")
    h, upd = theano.scan(lambda x: (x * acc, {acc: acc * x}), sequences=[X])
    f = theano.function([X], h, updates=upd, mode="PY")
    allocs = [line for line in f.dump("loops").splitlines() if "alloc" in line and "stack" in line]
    assert len(allocs) == 1, allocs  # h's rows only, not acc's


# -- truncate_gradient, as Theano (PyTensor) ------------------------------------------------------

def test_truncate_gradient_zero_steps_back():
    X, h0 = T.matrix("X"), T.vector("h0")
    h, _ = theano.scan(lambda x, h: T.tanh(h + x), sequences=[X], outputs_info=[h0], truncate_gradient=0)
    got = theano.function([X, h0], theano.grad((h ** 2).sum(), [X, h0]), mode="PY")(rand(3, 2), rand(2))
    for g in got:
        np.testing.assert_array_equal(g, np.zeros_like(g))


@pytest.mark.parametrize("k", [1, 2, 10])
def test_truncate_gradient_as_pytensor(k):
    pytensor = pytest.importorskip("pytensor")
    pt = pytensor.tensor
    x, w, h0 = rand(5, 2), rand(2, 2), rand(2)

    def build(lib, scan, X, W, h):
        out = scan(lambda x, h: lib.tanh(lib.dot(h, W) + x), sequences=[X], outputs_info=[h],
                   truncate_gradient=k)[0]
        return (out ** 2).sum()

    syms = [T.matrix("X"), T.matrix("W"), T.vector("h0")]
    cost = build(T, theano.scan, *syms)
    got = theano.function(syms, theano.grad(cost, syms), mode="PY")(x, w, h0)
    psyms = [pt.dmatrix("X"), pt.dmatrix("W"), pt.dvector("h0")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTensor's notes on scan's return value and on BLAS
        pcost = build(pt, pytensor.scan, *psyms)
        want = pytensor.function(psyms, pytensor.grad(pcost, psyms))(x, w, h0)
    for g, p in zip(got, want):
        np.testing.assert_allclose(g, p, rtol=1e-12, atol=1e-12)


# -- save_memory runs after the gradient and keeps what the backward scan reads ------------------

def test_save_memory_keeps_the_rows_the_gradient_reads():
    X, W, h0 = T.matrix("X"), T.matrix("W"), T.vector("h0")
    h = rnn(X, W, h0)
    cost = h[-1].sum()
    only_cost = theano.function([X, W, h0], cost)
    with_grad = theano.function([X, W, h0], [cost, theano.grad(cost, W)])
    keeps = lambda f: [n.op.keep for n in f.graph.nodes if isinstance(n.op, Scan)]  # noqa: E731
    assert keeps(only_cost) == [(1,)]
    assert keeps(with_grad) == [None, None]
    x, w, h = rand(4, 3), rand(3, 3), rand(3)
    case = Case("save_memory", [("X", x), ("W", w), ("h0", h)], rnn_last)
    assert_grads(case, compile_case(case, "PY"))


# -- second order: the Hessian of a small scan, and grad inside scan ------------------------------

@pytest.mark.parametrize("mode", ["REFERENCE", "PY", "NUMBA"])
def test_hessian_of_a_scan(mode):
    w, x = T.vector("w"), T.vector("x")
    h, _ = theano.scan(lambda xt, h: T.tanh(h * w + xt), sequences=[x], outputs_info=[T.zeros((2,)) + 0.3])
    cost = (h ** 2).sum()
    H = hessian(cost, w)
    g = theano.grad(cost, w)
    f = theano.function([w, x], [H, g], mode=mode)
    wv, xv = rand(2), rand(3)
    got, _ = f(wv, xv)
    numeric = np.stack([(f(wv + EPS * e, xv)[1] - f(wv - EPS * e, xv)[1]) / (2 * EPS) for e in np.eye(2)])
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got, got.T, rtol=1e-10)


@pytest.mark.parametrize("mode", ["REFERENCE", "PY"])
def test_jacobian_of_a_scan(mode):
    # the seed's pattern: jacobian loops with scan, each step taking grad through the scan
    w, x = T.vector("w"), T.vector("x")
    h, _ = theano.scan(lambda xt, h: T.tanh(h * w + xt), sequences=[x], outputs_info=[T.zeros((2,))])
    J = jacobian(h[-1], w)
    f = theano.function([w, x], [J, h[-1]], mode=mode)
    wv, xv = rand(2), rand(3)
    numeric = np.stack([(f(wv + EPS * e, xv)[1] - f(wv - EPS * e, xv)[1]) / (2 * EPS) for e in np.eye(2)], 1)
    np.testing.assert_allclose(f(wv, xv)[0], numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", ["REFERENCE", "PY", "NUMBA"])
def test_grad_inside_fn_of_its_non_sequences(mode):
    # Theano's tutorial Jacobian and test_computing_gradient: fn gets the non-sequences
    # themselves, so grad(y[i], x) in fn sees that y = x ** 2 + K depends on x, and K,
    # made outside from x (times an integer shared variable), is differentiated too.
    x, k = T.vector("x"), theano.shared(np.array([1, 2, 3]), name="k")
    y = x ** 2 + k * x
    J, updates = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]), non_sequences=[y, x])
    f = theano.function([x], J, updates=updates, mode=mode)
    xv = rand(3)
    np.testing.assert_allclose(f(xv), np.diag(2 * xv + [1, 2, 3]), rtol=1e-12)


# -- types --------------------------------------------------------------------------------------------

def test_float32_gradient_stays_float32():
    def build(X, h0):
        return theano.scan(lambda x, h: T.tanh(h * x), sequences=[X], outputs_info=[h0])[0].sum()

    x, h = rand(3, 2), rand(2)
    grads = {}
    for dtype in ("float32", "float64"):
        X, h0 = T.matrix("X", dtype=dtype), T.vector("h0", dtype=dtype)
        gX, gh0 = theano.grad(build(X, h0), [X, h0])
        assert (gX.dtype, gh0.dtype) == (dtype, dtype)
        grads[dtype] = theano.function([X, h0], [gX, gh0], mode="PY")(x.astype(dtype), h.astype(dtype))
    for g32, g64 in zip(grads["float32"], grads["float64"]):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-6)


def test_integer_sequence_gets_no_gradient():
    X, idx, h0 = T.matrix("X"), T.lvector("idx"), T.vector("h0")
    h, _ = theano.scan(lambda i, x, h: T.tanh(h * x * i), sequences=[idx, X], outputs_info=[h0])
    gX, gidx = theano.grad(h.sum(), [X, idx])
    assert gidx.dtype == "float64"
    got = theano.function([X, idx, h0], [gidx], mode="PY", on_unused_input="ignore")(rand(3, 2), np.arange(3),
                                                                                   rand(2))[0]
    np.testing.assert_array_equal(got, np.zeros(3))


def test_disconnected_output_builds_no_cotangent():
    X, h0, g0 = T.matrix("X"), T.vector("h0"), T.vector("g0")
    (h, g), _ = theano.scan(lambda x, h, g: [T.tanh(h + x), g * x], sequences=[X], outputs_info=[h0, g0])
    gX = theano.grad(h.sum(), X)
    backward = [n for n in theano.function([X, h0, g0], gX, on_unused_input="ignore").graph.nodes
                if isinstance(n.op, Scan) and n.op.label == "grad_of_scan"]
    (node,) = backward
    # one carry: the window of h; g gets none, and nothing of g is read
    assert node.op.n_shared == 1
    with pytest.raises(Exception, match="g0"):
        theano.grad(h.sum(), g0)


# -- every case against finite differences ----------------------------------------------------

# Numba compiles each gradient in 10-30 s: NUMBA runs the cases whose generated code
# differs most (windows of several rows, sequence taps, no step, a nested loop, ...).
NUMBA_CASES = ["rnn_last", "sequence_taps", "state_taps", "mixed_outputs", "go_backwards", "until",
               "zero_steps", "nested", "random", "batched_zero_steps", "nested_random"]


@pytest.mark.parametrize("name,mode", [(name, mode) for name in sorted(CASES) for mode in ("REFERENCE", "PY")]
                         + [(name, "NUMBA") for name in NUMBA_CASES])
def test_gradient_matches_finite_differences(name, mode):
    assert_grads(CASES[name], compile_case(CASES[name], mode))


# -- the training example ---------------------------------------------------------------------------

def test_example_rnn_train_loss_falls():
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "rnn_train.py")
    spec = importlib.util.spec_from_file_location("rnn_train", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    x, y = example.sine_wave()
    train, predict, params = example.build(mode="PY")
    before = [p.get_value() for p in params]
    losses = [float(train(x, y)) for _ in range(8)]
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert all(not np.array_equal(b, p.get_value()) for b, p in zip(before, params))
    np.testing.assert_allclose(np.mean((predict(x) - y) ** 2), float(train(x, y)), rtol=1e-12)
