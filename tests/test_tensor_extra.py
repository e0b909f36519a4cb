"""The rest of the tensor API the Theano tutorials use, end to end in every mode.

The values of the new ops (cumsum, cumprod, sort, argsort, repeat, xlogx, diag, tile,
...) against NumPy in REFERENCE, PY and NUMBA are in tests/test_ops.py (group
`along_axis`); here: their gradients, their errors, random draws whose shape comes
from their parameters, MRG_RandomStreams, `bool(variable)`, scans that return only
updates, `theano.scalar`, and the module paths tutorials import from.
"""
import textwrap
from collections import OrderedDict

import numpy as np
import pytest

import loopc
import loopc.tensor as T
from loopc.errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ShapeError
from loopc.gradient import verify_grad
from loopc.sandbox import rng_mrg
from loopc.tensor.shared_randomstreams import RandomStreams

RNG = np.random.RandomState(42)


@pytest.fixture(params=["REFERENCE", "PY", "NUMBA"])
def any_mode(request):
    saved = loopc.config.mode
    loopc.config.mode = request.param
    yield request.param
    loopc.config.mode = saved


def theano_streams(seed, n):
    """Theano's RandomStreams seeding: RandomState(seedgen.randint(2**30)) per variable."""
    seedgen = np.random.RandomState(seed)
    return [np.random.RandomState(seedgen.randint(2 ** 30)) for _ in range(n)]


# -- gradients ---------------------------------------------------------------------------

GRADIENTS = {
    # name -> (function of one matrix, needs positive input)
    "cumsum_0": (lambda x: T.cumsum(x, axis=0), False),
    "cumsum_1": (lambda x: T.cumsum(x, axis=1), False),
    "cumsum_None": (lambda x: T.cumsum(x), False),
    "cumprod_0": (lambda x: T.cumprod(x, axis=0), True),
    "cumprod_None": (lambda x: T.cumprod(x), True),
    "sort_0": (lambda x: T.sort(x, axis=0), False),
    "sort_1": (lambda x: T.sort(x, axis=1), False),
    "sort_None": (lambda x: T.sort(x, axis=None), False),
    "sort_row": (lambda x: T.sort(x[1]), False),
    "repeat_vector": (lambda x: T.repeat(x, np.array([2, 0, 3]), axis=0), False),
    "repeat_vector_1": (lambda x: T.repeat(x, np.array([1, 2, 0, 1]), axis=1), False),
    "repeat_scalar": (lambda x: T.repeat(x, 2, axis=1), False),
    "xlogx": (lambda x: T.xlogx.xlogx(x), True),
    "xlogy0": (lambda x: T.xlogx.xlogy0(x, x[::-1]), True),
    "diag_matrix": (lambda x: T.diag(x, 1), False),
    "diag_vector": (lambda x: T.diag(x[0], -1), False),
    "tile": (lambda x: T.tile(x, (2, 1, 2)), False),
    "var_corrected": (lambda x: T.var(x, axis=0, corrected=True), False),
    "std_ddof": (lambda x: T.std(x, axis=1, ddof=1), False),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradient_against_differences(name):
    fn, positive = GRADIENTS[name]
    point = RNG.uniform(0.5, 2.0, (3, 4)) if positive else RNG.uniform(-2.0, 2.0, (3, 4))
    verify_grad(fn, [point], mode="PY")  # a random projection of the output: each element counts


def test_gradients_compile_alike(mode):
    """The gradient graphs (reversed cumsum, scatters by argsort and by repeat) in PY and
    NUMBA, against the closed forms."""
    x, w = T.matrix("x"), T.matrix("w")
    reps = np.array([2, 0, 3])
    costs = [(T.cumsum(x, axis=0) * w).sum(), (T.sort(x, axis=1) * w).sum(),
             (T.repeat(x, reps, axis=0) * T.repeat(w, reps, axis=0)).sum(), T.cumprod(x, axis=1)[:, -1].sum()]
    f = loopc.function([x, w], [T.grad(c, x) for c in costs])
    a, b = RNG.uniform(0.5, 2.0, (3, 4)), RNG.uniform(-1.0, 1.0, (3, 4))
    g_cumsum, g_sort, g_repeat, g_cumprod = f(a, b)
    np.testing.assert_allclose(g_cumsum, np.cumsum(b[::-1], axis=0)[::-1])
    want = np.zeros_like(a)
    np.put_along_axis(want, np.argsort(a, axis=1), b, axis=1)
    np.testing.assert_allclose(g_sort, want)
    np.testing.assert_allclose(g_repeat, b * reps[:, None])
    np.testing.assert_allclose(g_cumprod, np.prod(a, axis=1, keepdims=True) / a)


def test_xlogx_gradients_at_zero_are_theanos():
    """d(x log x)/dx = 1 + log x (-inf at 0); d(x log y)/dx = log y even where x is 0."""
    x, y = T.vector("x"), T.vector("y")
    gx = T.grad(T.xlogx.xlogx(x).sum(), x)
    gxy = T.grad(T.xlogx.xlogy0(x, y).sum(), [x, y])
    f = loopc.function([x, y], [gx, *gxy], mode="PY")
    a, b = np.array([0.0, 1.0, 2.0]), np.array([3.0, 0.5, 2.0])
    got_x, got_xy, got_y = f(a, b)
    np.testing.assert_allclose(got_x, [-np.inf, 1.0, 1.0 + np.log(2.0)])
    np.testing.assert_allclose(got_xy, np.log(b))
    np.testing.assert_allclose(got_y, a / b)


def test_argsort_has_a_zero_gradient():
    x = T.vector("x")
    g = T.grad((T.argsort(x) * x).sum(), x)
    np.testing.assert_allclose(g.eval({x: np.array([3.0, 1.0, 2.0])}), [1.0, 2.0, 0.0])


# -- errors -------------------------------------------------------------------------------

def test_run_time_errors(mode):
    x, reps = T.matrix("x"), T.lvector("reps")
    f = loopc.function([x, reps], T.repeat(x, reps, axis=1))
    a = np.ones((2, 3))
    np.testing.assert_array_equal(f(a, np.array([1, 0, 2])), np.repeat(a, [1, 0, 2], axis=1))
    with pytest.raises(LoopcValueError, match="repeats must be >= 0, got -1"):
        f(a, np.array([1, -1, 2]))
    with pytest.raises(ShapeError, match="repeat: reps gives 2 repeats for the 3 elements of x on axis 1"):
        f(a, np.array([1, 2]))


def test_build_time_errors():
    x = T.matrix("x")
    with pytest.raises(LoopcValueError, match="order"):
        T.sort(x, order="f")
    with pytest.raises(LoopcValueError, match="kind"):
        T.argsort(x, kind="bogo")
    with pytest.raises(LoopcValueError, match="axis 2 is out of range"):
        T.cumsum(x, axis=2)
    with pytest.raises(LoopcValueError, match="0-d"):
        T.cumsum(T.scalar("s"), axis=0)
    with pytest.raises(LoopcTypeError, match="repeats must be an integer"):
        T.repeat(x, 1.5)
    with pytest.raises(LoopcValueError, match="repeats must be >= 0, got -2"):
        T.repeat(x, -2, axis=0)
    with pytest.raises(LoopcValueError, match="diag: expected a vector or a matrix"):
        T.diag(T.tensor3("t"))
    with pytest.raises(LoopcValueError, match="tile: reps must be >= 0"):
        T.tile(x, (2, -1))
    with pytest.raises(LoopcValueError, match="not broadcastable"):
        T.squeeze(x, axis=0)
    with pytest.raises(LoopcTypeError, match="complex"):
        T.sort(T.TensorType("complex128", (False,))("c"))


def test_dtypes():
    assert T.cumsum(T.ivector()).dtype == "int32" and T.cumprod(T.bvector()).dtype == "int8"  # Theano's
    assert T.cumsum(T.TensorType("bool", (False,))()).dtype == "int64"
    assert T.cumprod(T.fvector()).dtype == "float32"
    assert T.argsort(T.fmatrix()).dtype == "int64" and T.sort(T.bvector()).dtype == "int8"
    assert T.repeat(T.fmatrix(), 2, axis=0).dtype == "float32"
    assert T.xlogx.xlogx(T.ivector()).dtype == "float64" and T.xlogx.xlogx(T.fvector()).dtype == "float32"
    assert T.cumsum(T.matrix(), axis=None).ndim == 1 and T.sort(T.matrix(), axis=None).ndim == 1
    assert T.flatten(T.tensor3(), ndim=2).ndim == 2 and T.matrix().ravel().ndim == 1


def test_stacks_and_iround():
    a, b = T.matrix("a"), T.matrix("b")
    x, y = RNG.uniform(-2, 2, (2, 3)), RNG.uniform(-2, 2, (2, 3))
    np.testing.assert_array_equal(T.horizontal_stack(a, b).eval({a: x, b: y}), np.hstack([x, y]))
    np.testing.assert_array_equal(T.vertical_stack(a, b, a).eval({a: x, b: y}), np.vstack([x, y, x]))
    np.testing.assert_array_equal(T.join(1, a, b).eval({a: x, b: y}), np.concatenate([x, y], axis=1))
    np.testing.assert_array_equal(T.stack([a, b], axis=2).eval({a: x, b: y}), np.stack([x, y], axis=2))
    r = T.iround(a)
    assert r.dtype == "int64"
    np.testing.assert_array_equal(r.eval({a: np.array([[0.5, 1.5, -2.5]])}), [[0, 2, -2]])


# -- random draws -----------------------------------------------------------------------------

def test_draws_without_size_take_the_shape_of_their_parameters(any_mode):
    """`binomial(n=1, p=P)` draws one number per element of P, `normal(avg=M, std=s)` the
    broadcast shape: the numbers of NumPy's RandomState with size=None (Theano's)."""
    P, M, s = T.matrix("P"), T.matrix("M"), T.vector("s")
    srng = RandomStreams(99)
    draws = [srng.binomial(n=1, p=P), srng.normal(avg=M, std=s), srng.uniform(low=s, high=s + 1.0),
             srng.binomial(n=1, p=0.5)]
    assert [d.ndim for d in draws] == [2, 2, 1, 0]
    f = loopc.function([P, M, s], draws)
    p, m, sv = RNG.uniform(0, 1, (3, 4)), RNG.uniform(-1, 1, (2, 4)), np.array([1.0, 2.0, 0.5, 3.0])
    streams = theano_streams(99, 4)
    for _ in range(2):  # and the states advance from call to call
        got = f(p, m, sv)
        np.testing.assert_array_equal(got[0], streams[0].binomial(1, p))
        np.testing.assert_allclose(got[1], streams[1].normal(m, sv))
        np.testing.assert_allclose(got[2], streams[2].uniform(sv, sv + 1.0))
        assert got[3].shape == () and got[3] == streams[3].binomial(1, 0.5)
    with pytest.raises(ShapeError, match=r"random_normal: parameters of shapes \(2, 4\), \(3,\) cannot be drawn"):
        f(p, m, np.ones(3))
    with pytest.raises(LoopcValueError, match="random_binomial"):
        f(p + 1.0, m, sv)  # p > 1


def test_size_less_draw_refuses_another_ndim():
    with pytest.raises(LoopcValueError, match="without a size"):
        RandomStreams(1).normal(avg=T.matrix(), ndim=3)


def test_mrg_streams(mode):
    """MRG_RandomStreams: Theano's API (binomial n=1 as uniform < p, multinomial from
    uniforms) on loopc's documented stream, the same numbers for the same seed."""
    pvals, P = T.matrix("pvals"), T.matrix("P")

    def build(seed):
        srng = rng_mrg.MRG_RandomStreams(seed)
        return loopc.function([pvals, P], [srng.uniform((2, 3)), srng.normal((4,), avg=1.0, std=2.0),
                                           srng.binomial(p=P, dtype="float32"), srng.multinomial(pvals=pvals),
                                           srng.multinomial(pvals=pvals, n=40), srng.binomial(size=(2,), p=0.5)])

    pv = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    p = RNG.uniform(0, 1, (3, 2))
    f = build(1234)
    u, n, b, one, counts, b2 = f(pv, p)
    streams = theano_streams(1234, 6)
    np.testing.assert_allclose(u, streams[0].uniform(0.0, 1.0, (2, 3)))
    np.testing.assert_allclose(n, streams[1].normal(1.0, 2.0, (4,)))
    assert b.dtype == np.float32 and b.shape == (3, 2)
    np.testing.assert_array_equal(b, (streams[2].uniform(0.0, 1.0, (3, 2)) < p).astype("float32"))
    draws = streams[3].uniform(0.0, 1.0, (1, 4))[0]
    want = np.zeros((4, 3), "int64")
    for row, d in enumerate(draws):
        want[row, np.argmax(np.cumsum(pv[row]) > d)] = 1
    np.testing.assert_array_equal(one, want)
    assert counts.dtype == np.int64 and (counts.sum(axis=1) == 40).all()
    np.testing.assert_array_equal(counts[1:3], [[40, 0, 0], [0, 0, 40]])
    assert counts[3, 2] == 0 and b2.dtype == np.int64 and b2.shape == (2,)
    again = build(1234)(pv, p)  # deterministic given the seed
    for x, y in zip(again, (u, n, b, one, counts, b2)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(build(4321)(pv, p)[0], u)


def test_mrg_refuses_what_theanos_refused():
    srng = rng_mrg.MRG_RandomStreams(1)
    with pytest.raises(LoopcValueError, match="n=1 only"):
        srng.binomial((2,), n=3, p=0.5)
    with pytest.raises(LoopcValueError, match="pvals as a matrix"):
        srng.multinomial(pvals=T.vector())
    with pytest.raises(LoopcValueError, match="pvals as a matrix"):
        srng.multinomial(size=(2,), pvals=T.matrix())
    with pytest.raises(LoopcTypeError, match="give pvals"):
        srng.multinomial()
    assert rng_mrg.MRG_RandomStreams(seed=[1, 2, 3, 4, 5, 6]).uniform((2,)).ndim == 1


# -- bool(variable) ------------------------------------------------------------------------------

def test_truth_of_variables_is_theanos():
    """True for any variable (rbm.py writes `if not input:`), except the result of a
    comparison, which has no truth value before the graph runs."""
    x = T.matrix("x")
    assert x and (x + 1) and loopc.shared(np.zeros(2)) and T.constant(0.0) and T.sum(x)
    for compare in (lambda: x < 1, lambda: x >= 0, lambda: T.eq(x, 1), lambda: T.neq(x, x), lambda: 0 < x):
        with pytest.raises(LoopcTypeError, match="comparison") as err:
            bool(compare())
        assert isinstance(err.value, TypeError)
    with pytest.raises(TypeError, match="no truth value"):
        if x < 1 < x:  # a chained comparison calls bool() on the first
            pass


# -- scan returning only updates --------------------------------------------------------------

def test_scan_of_updates_only(any_mode):
    """fn returning only an updates dict: scan returns None for the outputs (Theano's)."""
    total = loopc.shared(np.zeros(3), name="total")
    steps = loopc.shared(np.int64(0), name="steps")
    X = T.matrix("X")
    outs, updates = loopc.scan(lambda x: OrderedDict([(total, total + x), (steps, steps + 1)]), sequences=X)
    assert outs is None and list(updates) == [total, steps]
    f = loopc.function([X], [], updates=updates)
    x = np.arange(6.0).reshape(2, 3)
    assert f(x) == []
    np.testing.assert_allclose(total.get_value(), x.sum(axis=0))
    f(x)
    assert steps.get_value() == 4
    outs, updates = loopc.scan(lambda: {steps: steps * 2}, n_steps=3, return_list=True)
    assert outs is None
    loopc.function([], updates=updates)()
    assert steps.get_value() == 32


# -- softmax in a scan (rnnslu) ---------------------------------------------------------------

def test_scan_of_softmax_of_vectors(mode):
    """rnnslu.py: a scan whose step returns softmax of a vector gives (n, 1, k), read as s[:, 0, :]."""
    X, W = T.matrix("X"), T.matrix("W")
    s, _ = loopc.scan(lambda x: T.nnet.softmax(T.dot(x, W)), sequences=X)
    assert s.ndim == 3
    p = s[:, 0, :]
    f = loopc.function([X, W], [p, T.argmax(p, axis=1)])
    x, w = RNG.uniform(-1, 1, (4, 3)), RNG.uniform(-1, 1, (3, 5))
    z = x @ w
    e = np.exp(z - z.max(axis=1, keepdims=True))
    got, best = f(x, w)
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(best, z.argmax(axis=1))


# -- theano.scalar ------------------------------------------------------------------------------

def test_scalar_module():
    import loopc.scalar as S

    # Theano's upcast adds 0-d zeros of the dtypes
    assert S.upcast("int32", "float32") == "float64"
    assert S.upcast("int8", "uint8") == "int16"
    assert S.upcast("float32") == "float32" and S.upcast("bool", "bool") == "bool"
    assert S.upcast("int64", "float32", "int8") == "float64"
    saved = loopc.config.floatX
    try:
        loopc.config.floatX = "float32"
        assert S.upcast("floatX", "int8") == "float32"
    finally:
        loopc.config.floatX = saved
    v = S.float64("v")
    assert v.ndim == 0 and v.dtype == "float64" and S.get_scalar_type("int32") == S.int32
    assert S.Scalar("float32") in S.float_types and S.bool in S.discrete_types and S.int8 in S.all_types
    assert S.upcast_out(S.int32, S.float32) == (S.float64,)
    assert S.constant(2.5).ndim == 0 and S.as_scalar(v) is v
    with pytest.raises(LoopcTypeError):
        S.as_scalar(T.vector())
    with pytest.raises(LoopcTypeError):
        S.constant([1.0, 2.0])
    assert (v * T.vector("w")).ndim == 1  # a scalar is a 0-d tensor: no tensor_from_scalar needed
    assert S.basic.upcast is S.upcast


# -- module paths -------------------------------------------------------------------------------

def test_tutorial_module_paths():
    import loopc.tensor.basic as B
    import loopc.tensor.extra_ops as X
    import loopc.tensor.nnet as N

    assert X.cumsum is T.cumsum and X.repeat is T.repeat and B.flatten is T.flatten and B.diag is T.diag
    assert T.extra_ops.cumprod is T.cumprod and T.basic.tile is T.tile
    assert T.xlogx.xlogy0 is not None and T.nnet.sigmoid is T.sigmoid
    assert N.nnet is N and N.sigm.ultra_fast_sigmoid is N.ultra_fast_sigmoid
    assert rng_mrg.MRG_RandomStreams.__mro__[1] is RandomStreams
    y = T.lvector("y")
    np.testing.assert_array_equal(X.to_one_hot(y, 3).eval({y: np.array([2, 0])}), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(LoopcIndexError, match="classes"):
        X.to_one_hot(y, 3).eval({y: np.array([3])})


THEANO_SCRIPT = """\
import numpy as np
import theano
import theano.scalar
import theano.tensor as T
from theano.tensor.extra_ops import cumsum, repeat
from theano.tensor.basic import flatten
from theano.tensor.nnet import sigmoid
from theano.tensor.nnet.nnet import softmax
from theano.tensor.xlogx import xlogy0
from theano.sandbox.rng_mrg import MRG_RandomStreams
from theano.scalar.basic import upcast
x = T.dvector("x")
f = theano.function([x], [cumsum(x), T.xlogx.xlogy0(x, x), softmax(x), sigmoid(x)], mode="PY")
print(theano.scalar.upcast("int32", "float32"), upcast("int8", "float32"))
print(f(np.array([0.0, 1.0, 2.0]))[0])
"""


def test_theano_imports_through_run(tmp_path, capsys):
    script = tmp_path / "tutorial.py"
    script.write_text(textwrap.dedent(THEANO_SCRIPT))
    from loopc.cli import main
    assert main(["run", "--theano", str(script)]) in (0, None)
    assert capsys.readouterr().out.split("\n")[:2] == ["float64 float32", "[0. 1. 3.]"]
