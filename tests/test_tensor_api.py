"""The `loopc.tensor` surface, checked against NumPy through the reference evaluator.

Every test builds a small graph with `loopc.frontend.tensor`, runs it with
`loopc.reference.evaluate` (each op's NumPy `perform`) and compares values,
dtypes and shapes with what NumPy computes for the same expression.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopc.config import config
from loopc.errors import LoopcError, LoopcIndexError, LoopcTypeError, LoopcValueError, ShapeError
from loopc.frontend import tensor as T
from loopc.ir import ops
from loopc.ir.graph import Constant, Graph, Variable
from loopc.reference import evaluate

RNG = np.random.default_rng(0)


def run(inputs, out, *values):
    """Evaluate `out` for the given input values; the result as an array."""
    (got,) = evaluate(Graph(inputs, [out]), list(values))
    return np.asarray(got)


def check(inputs, out, values, expected, rtol=1e-6, atol=1e-12):
    """`out` evaluates to `expected`: same dtype (statically and at run time), shape, values."""
    expected = np.asarray(expected)
    got = run(inputs, out, *values)
    assert out.dtype == expected.dtype.name, f"graph dtype {out.dtype}, NumPy {expected.dtype}"
    assert got.dtype == expected.dtype, f"run-time dtype {got.dtype}, NumPy {expected.dtype}"
    assert got.shape == expected.shape
    assert out.ndim == expected.ndim
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    return got


def data(shape, dtype="float64", low=-3.0, high=3.0):
    if np.dtype(dtype).kind == "b":
        return RNG.integers(0, 2, shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(int(max(low, 0 if np.dtype(dtype).kind == "u" else low)), int(high) + 1,
                            shape).astype(dtype)
    return RNG.uniform(low, high, shape).astype(dtype)


@pytest.fixture
def float32_mode():
    saved = config.floatX
    config.floatX = "float32"
    yield
    config.floatX = saved


# -- constructors and constants ----------------------------------------------------

@pytest.mark.parametrize("prefix,dtype", [("b", "int8"), ("w", "int16"), ("i", "int32"), ("l", "int64"),
                                          ("f", "float32"), ("d", "float64")])
@pytest.mark.parametrize("kind,bcast", [("scalar", ()), ("vector", (False,)), ("matrix", (False, False)),
                                        ("row", (True, False)), ("col", (False, True)),
                                        ("tensor3", (False,) * 3), ("tensor4", (False,) * 4)])
def test_typed_constructors(prefix, dtype, kind, bcast):
    var = getattr(T, prefix + kind)("v")
    assert isinstance(var, Variable) and var.name == "v"
    assert var.type == T.TensorType(dtype, bcast)
    assert var.owner is None


def test_unprefixed_constructors_use_floatx(float32_mode):
    assert T.matrix("m").dtype == "float32"
    assert T.vector(dtype="int32").dtype == "int32"
    assert T.scalar().ndim == 0
    assert T.tensor("float64", (False, True), "t").type == T.TensorType("float64", (False, True))
    assert T.tensor().dtype == "float32"


def test_plural_constructors():
    a, b = T.dscalars("a", "b")
    assert (a.name, b.name, a.dtype) == ("a", "b", "float64")
    assert len(T.ivectors(3)) == 3
    assert T.fmatrices("m").name == "m"


def test_constant_default_dtypes(float32_mode):
    assert T.constant(1.5).dtype == "float32"
    assert T.constant(2).dtype == "int64"
    assert T.constant(True).dtype == "bool"
    assert T.constant([1.0, 2.0]).dtype == "float32"
    assert T.constant([1, 2]).dtype == "int64"
    assert T.constant(np.float64(1.5)).dtype == "float64"
    assert T.constant(np.int16(3)).dtype == "int16"
    assert T.constant(np.ones(3, "int8")).dtype == "int8"
    assert T.constant(2, dtype="float32").dtype == "float32"


def test_constant_data_and_broadcastable():
    c = T.constant(np.ones((1, 3)), name="c")
    assert isinstance(c, Constant) and isinstance(c.data, np.ndarray) and c.name == "c"
    assert c.broadcastable == (True, False)
    assert T.constant(3.0).data.shape == ()


def test_constant_copies_user_arrays():
    arr = np.zeros(3)
    c = T.constant(arr)
    arr[0] = 1
    assert c.data[0] == 0


def test_as_tensor_variable():
    x = T.matrix("x")
    assert T.as_tensor_variable(x) is x
    v = T.as_tensor_variable(T.scalar("s"), ndim=2)
    assert v.broadcastable == (True, True)
    assert T.as_tensor_variable(T.row("r"), ndim=1).ndim == 1
    a, b = T.scalar("a"), T.scalar("b")
    stacked = T.as_tensor_variable([a, b, 3.0])
    check([a, b], stacked, [np.float64(1), np.float64(2)], np.array([1.0, 2.0, 3.0]))
    with pytest.raises(LoopcTypeError, match="ndim 1"):
        T.as_tensor_variable(x, ndim=1)
    with pytest.raises(LoopcTypeError):
        T.as_tensor_variable("not a number")
    with pytest.raises(LoopcTypeError):
        T.as_tensor_variable(object())


# -- elementwise ------------------------------------------------------------------

def test_python_scalars_are_weak():
    x = T.fmatrix("x")
    assert (x * 2.0).dtype == "float32"
    assert (2.0 - x).dtype == "float32"
    assert (x ** 2).dtype == "float32"
    assert (x + True).dtype == "float32"
    iv = T.ivector("iv")
    assert (iv * 2.5).dtype == "float64"
    assert (iv + 1).dtype == "int32"
    assert (iv / 2).dtype == "float64"
    assert (T.bvector() + 1).dtype == "int8"


def test_weak_scalar_that_does_not_fit_falls_back():
    # NumPy 2 raises OverflowError for int8 + 300; loopc falls back to the int64 constant.
    b = T.bvector("b")
    out = b + 300
    assert out.dtype == "int64"
    check([b], out, [np.array([1, -2], "int8")], np.array([301, 298]))
    assert (T.vector("u", "uint8") - 1).dtype == "uint8"
    assert (T.vector("u", "uint8") + -1).dtype == "int64"


def test_numpy_values_are_strong():
    x = T.fmatrix("x")
    assert (x * np.float64(2.0)).dtype == "float64"
    assert (x * np.float32(2.0)).dtype == "float32"
    assert (x + np.ones(3)).dtype == "float64"
    assert (x + np.ones(3, "float32")).dtype == "float32"


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_arithmetic_operators(dtype):
    x, y = T.matrix("x", dtype), T.matrix("y", dtype)
    a, b = data((3, 4), dtype, 1, 5), data((3, 4), dtype, 1, 5)
    check([x, y], x + y, [a, b], a + b)
    check([x, y], x - y, [a, b], a - b)
    check([x, y], x * y, [a, b], a * b)
    check([x, y], x / y, [a, b], a / b)
    check([x, y], x // y, [a, b], a // b)
    check([x, y], x % y, [a, b], a % b)
    check([x, y], x ** 2, [a, b], a ** 2)
    check([x], 3 - x, [a], 3 - a)
    check([x], 2 * x + 1, [a], 2 * a + 1)
    check([x], 7 / x, [a], 7 / a)
    check([x], -x, [a], -a)
    check([x], abs(x), [a], np.abs(a))
    check([x], +x, [a], a)


@pytest.fixture
def py_mode():
    saved = config.mode
    config.mode = "PY"
    yield
    config.mode = saved


def test_every_variable_has_the_surface(py_mode):
    """Operators, methods, `eval` and an op called on Python values work on any IR
    variable, also one that a node made without the frontend (which fills the IR's
    `SURFACE` when loopc is imported)."""
    x = T.vector("x")
    y = ops.Elemwise("exp").make_node(x).out
    assert type(y) is Variable
    assert (y + 1).sum().eval({x: np.zeros(3)}) == 6.0
    np.testing.assert_array_equal(ops.Elemwise("add")(x, [1.0, 2.0]).eval({x: np.ones(2)}), [2.0, 3.0])


def test_rpow_and_matmul():
    x = T.vector("x")
    m = T.matrix("m")
    a, w = data(3), data((3, 2))
    check([x], 2.0 ** x, [a], 2.0 ** a)
    check([x, m], x @ m, [a, w], a @ w)


def test_comparisons_give_bool():
    x, y = T.vector("x"), T.vector("y")
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    for out, expected in [(x < y, a < b), (x <= y, a <= b), (x > y, a > b), (x >= y, a >= b),
                          (T.eq(x, y), a == b), (T.neq(x, y), a != b), (x > 1.5, a > 1.5)]:
        check([x, y], out, [a, b], expected)


def test_logic_operators():
    p, q = T.vector("p", "bool"), T.vector("q", "bool")
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    check([p, q], p & q, [a, b], a & b)
    check([p, q], p | q, [a, b], a | b)
    check([p, q], p ^ q, [a, b], a ^ b)
    check([p], ~p, [a], ~a)
    i, j = T.ivector("i"), T.ivector("j")
    c, d = np.array([5, 6, 7], "int32"), np.array([3, 3, 1], "int32")
    check([i, j], T.bitwise_and(i, j), [c, d], c & d)
    check([i, j], T.bitwise_or(i, j), [c, d], c | d)
    check([i, j], T.bitwise_xor(i, j), [c, d], c ^ d)
    check([i], T.invert(i), [c], ~c)


DOMAINS = {"arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctanh": (-0.9, 0.9), "arccosh": (1.1, 4.0),
           "log": (0.1, 4.0), "log2": (0.1, 4.0), "log10": (0.1, 4.0), "log1p": (-0.5, 4.0),
           "sqrt": (0.1, 4.0), "inv": (0.5, 4.0)}
UNARY = ["neg", "abs_", "sgn", "sqr", "sqrt", "inv", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
         "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
         "arctanh", "floor", "ceil", "trunc", "round", "isnan", "isinf", "identity"]
NUMPY_NAME = {"abs_": "abs", "sgn": "sign", "sqr": "square", "inv": "reciprocal", "neg": "negative",
              "identity": "copy"}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_against_numpy(name, dtype):
    x = T.vector("x", dtype)
    a = data(7, dtype, *DOMAINS.get(name, (-2.5, 2.5)))
    expected = getattr(np, NUMPY_NAME.get(name, name))(a)
    check([x], getattr(T, name)(x), [a], expected, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_softplus_erf(dtype):
    x = T.vector("x", dtype)
    a = data(9, dtype, -30, 30)
    check([x], T.sigmoid(x), [a], (1 / (1 + np.exp(-a.astype("float64")))).astype(dtype), rtol=1e-5)
    check([x], T.softplus(x), [a], np.logaddexp(0, a.astype("float64")).astype(dtype), rtol=1e-5)
    check([x], T.erf(x), [a], np.array([math.erf(v) for v in a], dtype), rtol=1e-5)


@pytest.mark.parametrize("dtype,out", [("int32", "float64"), ("int8", "float32"), ("bool", "float32")])
def test_transcendental_of_ints_upgrades_to_float(dtype, out):
    x = T.vector("x", dtype)
    a = np.ones(5, bool) if dtype == "bool" else data(5, dtype, 1, 4)
    check([x], T.exp(x), [a], np.exp(a.astype(out)))
    check([x], T.sqrt(x), [a], np.sqrt(a.astype(out)))
    check([x], T.erf(x), [a], np.array([math.erf(v) for v in a.astype(out)], out), rtol=1e-6)
    check([x], T.inv(x), [a], 1 / a.astype(out))
    check([x, x], x / x, [a, a], a / a)


@pytest.mark.parametrize("name", ["maximum", "minimum", "arctan2", "pow", "mod", "int_div", "true_div"])
def test_binary_functions(name):
    x, y = T.matrix("x"), T.vector("y")
    a, b = data((2, 3), low=0.5), data(3, low=0.5)
    fn = {"pow": np.power, "int_div": np.floor_divide, "true_div": np.true_divide}.get(name, getattr(np, name, None))
    check([x, y], getattr(T, name)(x, y), [a, b], fn(a, b))


def test_variadic_add_mul():
    x, y, z = T.vectors("x", "y", "z")
    a, b, c = data(3), data(3), data(3)
    check([x, y, z], T.add(x, y, z), [a, b, c], a + b + c)
    check([x, y, z], T.mul(x, y, z), [a, b, c], a * b * c)


def test_round_modes():
    x = T.vector("x")
    a = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4])
    check([x], T.round(x), [a], np.round(a))
    check([x], T.round_half_to_even(x), [a], np.round(a))
    check([x], T.round(x, "half_away_from_zero"), [a], np.sign(a) * np.floor(np.abs(a) + 0.5))
    with pytest.raises(LoopcValueError, match="mode"):
        T.round(x, "banker")


def test_switch_where_clip():
    c, x, y = T.vector("c", "bool"), T.vector("x"), T.matrix("y")
    cv, a, b = np.array([True, False, True]), data(3), data((2, 3))
    check([c, x, y], T.switch(c, x, y), [cv, a, b], np.where(cv, a, b))
    check([c, x, y], T.where(c, x, y), [cv, a, b], np.where(cv, a, b))
    check([x], T.switch(x > 0, x, 0.0), [a], np.where(a > 0, a, 0.0))
    f = T.fvector("f")
    assert T.switch(f > 0, f, 0.0).dtype == "float32"
    assert T.switch(c, 1.0, 0.0).dtype == config.floatX
    check([x], T.clip(x, -1.0, 1.0), [a], np.clip(a, -1, 1))
    (nz,) = T.where(c)  # NumPy's one-argument form: nonzero
    check([c], nz, [cv], np.where(cv)[0])
    with pytest.raises(LoopcTypeError, match="nonzero"):
        T.where(c, x)


def test_cast():
    x = T.vector("x")
    assert T.cast(x, "float64") is x
    a = np.array([1.7, -2.2, 3.5])
    check([x], T.cast(x, "int32"), [a], a.astype("int32"))
    check([x], x.astype("float32"), [a], a.astype("float32"))
    assert T.cast(x, "floatX").dtype == config.floatX
    with pytest.raises(LoopcTypeError, match="float16"):
        T.cast(x, "float16")


def test_broadcasting_pads_with_dimshuffle():
    x, v, s = T.matrix("x"), T.vector("v"), T.scalar("s")
    out = x + v
    pad = out.owner.inputs[1].owner
    assert isinstance(pad.op, ops.DimShuffle) and pad.op.order == ("x", 0)
    a, b, c = data((2, 3)), data(3), data(())
    check([x, v], out, [a, b], a + b)
    check([x, s], x * s, [a, c], a * c)
    r, col = T.row("r"), T.col("col")
    ra, ca = data((1, 3)), data((2, 1))
    check([r, col], r + col, [ra, ca], ra + ca)
    assert (r + col).broadcastable == (False, False)
    assert (r + r).broadcastable == (True, False)


def test_elemwise_shape_mismatch_is_a_shape_error():
    x, y = T.vector("x"), T.vector("y")
    with pytest.raises(ShapeError):
        run([x, y], x + y, np.ones(3), np.ones(4))


# -- linear algebra ------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((), (2, 3)), ((2, 3), ())])
def test_dot(sa, sb):
    a, b = data(sa), data(sb)
    x, y = T.tensor("float64", (False,) * len(sa)), T.tensor("float64", (False,) * len(sb))
    check([x, y], T.dot(x, y), [a, b], np.dot(a, b))
    check([x, y], x.dot(y), [a, b], np.dot(a, b))


def test_dot_mixed_dtypes_and_errors():
    x, y = T.fmatrix("x"), T.dvector("y")
    a, b = data((2, 3), "float32"), data(3)
    check([x, y], T.dot(x, y), [a, b], np.dot(a, b))
    assert T.dot(x, 2.0).dtype == "float32"
    with pytest.raises(ShapeError, match="inner"):
        run([x, y], T.dot(x, y), a, np.ones(4))


def test_outer():
    x, y = T.vector("x"), T.vector("y")
    a, b = data(3), data(4)
    check([x, y], T.outer(x, y), [a, b], np.outer(a, b))
    m = T.matrix("m")
    c = data((2, 2))
    check([m, y], T.outer(m, y), [c, b], np.outer(c, b))


# -- reductions -------------------------------------------------------------------------

AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean", "var", "std", "any", "all"])
def test_reductions(name, axis, keepdims):
    x = T.tensor3("x")
    a = data((2, 3, 4), low=0.5, high=1.5)
    if name in ("any", "all"):
        a = a > 1.0
        x = T.tensor("bool", (False,) * 3, "x")
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    check([x], getattr(T, name)(x, axis=axis, keepdims=keepdims), [a], expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "bool", "float32", "float64"])
@pytest.mark.parametrize("name", ["sum", "prod", "mean", "var", "std", "max", "min"])
def test_reduction_dtypes(dtype, name):
    x = T.matrix("x", dtype)
    a = data((3, 4), dtype, 0, 3)
    check([x], getattr(T, name)(x, axis=0), [a], getattr(np, name)(a, axis=0), rtol=1e-5)


def test_sum_prod_mean_dtype_argument():
    x = T.ivector("x")
    a = np.array([1, 2, 4], "int32")
    check([x], T.sum(x, dtype="int32"), [a], np.sum(a, dtype="int32"))
    check([x], T.sum(x, dtype="float32"), [a], np.sum(a, dtype="float32"))
    check([x], T.prod(x, dtype="float64"), [a], np.prod(a, dtype="float64"))
    check([x], T.mean(x, dtype="float32"), [a], np.mean(a, dtype="float32"))
    check([x], T.sum(x, dtype="int64", acc_dtype="float64"), [a], np.sum(a))


def test_mean_counts_elements_with_shape_i():
    x = T.matrix("x")
    out = T.mean(x, axis=1)
    names = {node.op.name for node in Graph([x], [out]).nodes}
    assert "shape_i" in names and "sum" in names
    x32 = T.fmatrix("x32")
    a = data((3, 5), "float32")
    check([x32], x32.mean(), [a], a.mean(), rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(axis, keepdims):
    x = T.matrix("x")
    a = data((3, 4))
    check([x], T.argmax(x, axis=axis, keepdims=keepdims), [a], np.argmax(a, axis=axis, keepdims=keepdims))
    check([x], T.argmin(x, axis=axis, keepdims=keepdims), [a], np.argmin(a, axis=axis, keepdims=keepdims))
    check([x], x.argmax(axis), [a], np.argmax(a, axis=axis))


def test_var_ddof_and_corrected():
    """Theano's var: ddof divides by (length - ddof) per reduced axis (numpy.var's for
    one axis); corrected=True is the corrected two-pass algorithm, not ddof=1."""
    x = T.matrix("x")
    a = data((4, 3))
    check([x], T.var(x, axis=0, ddof=1), [a], np.var(a, axis=0, ddof=1))
    check([x], T.var(x, axis=1, ddof=2, keepdims=True), [a], np.var(a, axis=1, ddof=2, keepdims=True))
    centered = a - a.mean()
    check([x], T.var(x, ddof=1), [a], (centered ** 2).sum() / ((4 - 1) * (3 - 1)))
    check([x], T.var(x, corrected=True), [a], np.var(a), rtol=1e-12)
    check([x], T.var(x, corrected=True), [a], np.mean(centered ** 2) - np.mean(centered) ** 2, rtol=1e-15)
    c0 = a - a.mean(axis=0)
    check([x], T.var(x, axis=0, ddof=1, corrected=True), [a],
          (c0 ** 2).sum(axis=0) / 3 - c0.sum(axis=0) ** 2 / (3 * 4), rtol=1e-15)
    check([x], T.std(x, axis=1, keepdims=True), [a], np.std(a, axis=1, keepdims=True))
    check([x], T.std(x, axis=0, ddof=1), [a], np.std(a, axis=0, ddof=1))
    f = T.fmatrix("f")
    check([f], T.var(f, axis=0, ddof=1), [a.astype("float32")], np.var(a.astype("float32"), axis=0, ddof=1),
          rtol=1e-5)
    with pytest.raises(LoopcValueError, match="keepdims is the fourth"):
        T.var(x, 0, True)


def test_norm_and_methods():
    x = T.matrix("x")
    a = data((3, 4))
    check([x], x.norm(2), [a], np.sqrt((a ** 2).sum()))
    check([x], x.norm(1, axis=0), [a], np.abs(a).sum(axis=0))
    check([x], T.norm(x, np.inf, axis=1), [a], np.abs(a).max(axis=1))
    check([x], T.norm(x, 3), [a], (np.abs(a) ** 3).sum() ** (1 / 3))
    check([x], x.sum(axis=1), [a], a.sum(axis=1))
    check([x], x.max(axis=0, keepdims=True), [a], a.max(axis=0, keepdims=True))
    check([x], x.min(), [a], a.min())
    check([x], x.prod(axis=-1), [a], a.prod(axis=-1))
    check([x], x.mean(0), [a], a.mean(0))
    check([x], x.size, [a], np.asarray(a.size, "int64"))


def test_reduction_axis_errors():
    x = T.matrix("X")
    with pytest.raises(LoopcValueError, match="axis 2 is out of range for X"):
        T.sum(x, axis=2)
    with pytest.raises(LoopcValueError, match="repeated"):
        T.max(x, axis=(0, -2))
    with pytest.raises(LoopcTypeError, match="axis"):
        T.sum(x, axis=1.0)


# -- shapes -------------------------------------------------------------------------------

def test_shape_and_shape_i():
    x = T.matrix("x")
    a = data((2, 5))
    check([x], x.shape, [a], np.array([2, 5], "int64"))
    check([x], T.shape(x), [a], np.array([2, 5], "int64"))
    s0, s1 = x.shape[0], x.shape[-1]
    assert isinstance(s0.owner.op, ops.ShapeI) and s0.owner.op.axis == 0 and s0.owner.inputs[0] is x
    assert isinstance(s1.owner.op, ops.ShapeI) and s1.owner.op.axis == 1
    assert x.shape[np.int64(1)].owner.op == ops.ShapeI(1)
    check([x], s1, [a], np.asarray(5, "int64"))
    check([x], x.shape[1:], [a], np.array([5], "int64"))
    check([x], x.shape[::-1], [a], np.array([5, 2], "int64"))
    check([x], x.shape[2:], [a], np.zeros(0, "int64"))
    assert x.shape[1:][0].owner.op == ops.ShapeI(1)
    with pytest.raises(LoopcIndexError, match="out of bounds"):
        x.shape[2]
    i = T.lscalar("i")
    check([x, i], x.shape[i], [a, np.int64(1)], np.asarray(5, "int64"))


@pytest.mark.parametrize("newshape", [(6,), (3, 2), (-1,), (2, -1), (1, 6), (3, 1, 2), (6, 1)])
def test_reshape_static(newshape):
    x = T.matrix("x")
    a = data((2, 3))
    out = T.reshape(x, newshape)
    check([x], out, [a], a.reshape(newshape))
    assert out.broadcastable == tuple(n == 1 for n in newshape)
    check([x], x.reshape(newshape), [a], a.reshape(newshape))


def test_reshape_symbolic():
    x, n = T.matrix("x"), T.lscalar("n")
    a = data((2, 6))
    check([x], T.reshape(x, (x.shape[0], 3, -1)), [a], a.reshape(2, 3, -1))
    check([x, n], T.reshape(x, (n, -1)), [a, np.int64(3)], a.reshape(3, -1))
    out = T.reshape(x, (n * 4, 1, -1))
    assert out.broadcastable == (False, True, False)
    check([x, n], out, [a, np.int64(1)], a.reshape(4, 1, -1))
    check([x], T.reshape(x, x.shape[::-1]), [a], a.reshape(6, 2))
    shp = T.lvector("shp")
    out = T.reshape(x, shp, ndim=3)
    check([x, shp], out, [a, np.array([3, 2, 2])], a.reshape(3, 2, 2))
    with pytest.raises(LoopcValueError, match="ndim"):
        T.reshape(x, shp)
    with pytest.raises(LoopcValueError, match="ndim=3"):
        T.reshape(x, (3, 4), ndim=3)
    with pytest.raises(ShapeError, match="reshape"):
        run([x], T.reshape(x, (5, -1)), a)
    with pytest.raises(LoopcTypeError, match="integer"):
        T.reshape(x, (T.scalar("f"), 2))


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_flatten(ndim):
    x = T.tensor3("x")
    a = data((2, 3, 4))
    expected = a.reshape(a.shape[:ndim - 1] + (-1,))
    check([x], T.flatten(x, ndim), [a], expected)
    check([x], x.flatten(ndim), [a], expected)
    empty = np.zeros((0, 3, 4))
    flat_shape = empty.shape[:ndim - 1] + (int(np.prod(empty.shape[ndim - 1:])),)
    check([x], T.flatten(x, ndim), [empty], empty.reshape(flat_shape))
    with pytest.raises(LoopcValueError, match="flatten"):
        T.flatten(x, 4)


def test_dimshuffle_and_transpose():
    x = T.tensor3("x")
    a = data((2, 3, 4))
    check([x], x.dimshuffle(2, 0, 1), [a], a.transpose(2, 0, 1))
    check([x], T.dimshuffle(x, [1, "x", 0, 2]), [a], a.transpose(1, 0, 2)[:, None])
    check([x], x.T, [a], a.T)
    check([x], T.transpose(x, (1, 0, 2)), [a], a.transpose(1, 0, 2))
    check([x], x.transpose(1, 2, 0), [a], a.transpose(1, 2, 0))
    check([x], x.transpose((0, -1, 1)), [a], a.transpose(0, 2, 1))
    v = T.vector("v")
    assert v.T is v
    r = T.row("r")
    ra = data((1, 3))
    check([r], r.dimshuffle(1), [ra], ra[0])
    with pytest.raises(LoopcValueError, match="not broadcastable"):
        x.dimshuffle(0, 1)
    with pytest.raises(LoopcValueError, match="permutation"):
        T.transpose(x, (0, 0, 1))


def test_pad_and_broadcast_flags():
    x = T.matrix("x")
    a = data((3, 1))
    check([x], T.shape_padleft(x), [a], a[None])
    check([x], T.shape_padright(x, 2), [a], a[:, :, None, None])
    check([x], T.shape_padaxis(x, 1), [a], a[:, None])
    b = T.addbroadcast(x, 1)
    assert b.broadcastable == (False, True)
    check([x], b, [a], a)
    with pytest.raises(ShapeError):
        run([x], b, data((3, 2)))
    assert T.unbroadcast(T.row("r"), 0).broadcastable == (False, False)
    assert T.patternbroadcast(x, (True, False)).broadcastable == (True, False)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(axis):
    x, y = T.matrix("x"), T.imatrix("y")
    a, b = data((2, 3)), data((2, 3), "int32")
    check([x, y], T.concatenate([x, y], axis=axis), [a, b], np.concatenate([a, b], axis=axis))
    check([x, y], T.join(axis, x, y, x), [a, b], np.concatenate([a, b, a], axis=axis))


def test_concatenate_errors():
    x, v = T.matrix("x"), T.vector("v")
    with pytest.raises(LoopcTypeError, match="v"):
        T.concatenate([x, v])
    with pytest.raises(LoopcValueError, match="axis 2"):
        T.concatenate([x, x], axis=2)
    with pytest.raises(ShapeError):
        run([x], T.concatenate([x, x.T]), data((2, 3)))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    x, y = T.matrix("x"), T.matrix("y")
    a, b = data((2, 3)), data((2, 3))
    check([x, y], T.stack([x, y], axis=axis), [a, b], np.stack([a, b], axis=axis))
    check([x, y], T.stack([x, y], axis), [a, b], np.stack([a, b], axis=axis))


def test_set_subtensor_of_a_stacked_vector():
    s, t = T.scalar("s"), T.scalar("t")
    v = T.stack([s, t])
    check([s, t], T.set_subtensor(v[0], 5.0), [np.float64(1), np.float64(2)], np.array([5.0, 2.0]))


def test_stack_scalars():
    s, t = T.scalar("s"), T.iscalar("t")
    out = T.stack([s, t, 2.0])
    assert isinstance(out.owner.op, ops.MakeVector)
    check([s, t], out, [np.float64(1.5), np.int32(3)], np.array([1.5, 3.0, 2.0]))
    check([s, t], T.stack(s, t), [np.float64(1.5), np.int32(3)], np.array([1.5, 3.0]))


# -- creation --------------------------------------------------------------------------------

def test_arange():
    check([], T.arange(5), [], np.arange(5))
    check([], T.arange(2, 11, 3), [], np.arange(2, 11, 3))
    check([], T.arange(10, 0, -2), [], np.arange(10, 0, -2))
    check([], T.arange(0.5, 3, 0.5), [], np.arange(0.5, 3, 0.5).astype(config.floatX))
    n = T.iscalar("n")
    out = T.arange(n)
    assert out.dtype == "int64"
    check([n], out, [np.int32(4)], np.arange(4))
    x = T.matrix("x")
    check([x], T.arange(x.shape[0]), [data((3, 2))], np.arange(3))
    f = T.fscalar("f")
    assert T.arange(f).dtype == "float32"
    check([f], T.arange(0, f, 0.5), [np.float32(2)], np.arange(0, 2, 0.5, dtype="float32"))
    check([], T.arange(5, dtype="float32"), [], np.arange(5, dtype="float32"))
    with pytest.raises(LoopcValueError, match="step"):
        T.arange(0, 5, 0)
    with pytest.raises(LoopcTypeError, match="scalar"):
        T.arange(T.vector("v"))


def test_arange_float32_mode(float32_mode):
    assert T.arange(0.5, 3.0).dtype == "float32"
    assert T.arange(3).dtype == "int64"


@pytest.mark.parametrize("dtype", [None, "int32", "float32"])
def test_zeros_ones_like(dtype):
    x = T.col("x")
    a = data((3, 1))
    z, o = T.zeros_like(x, dtype), T.ones_like(x, dtype)
    assert z.broadcastable == x.broadcastable
    check([x], z, [a], np.zeros_like(a, dtype=dtype))
    check([x], o, [a], np.ones_like(a, dtype=dtype))
    v = T.vector("v")
    assert T.ones_like(v).type == v.type  # scan's outputs_info=T.ones_like(A) relies on it


def test_zeros_ones():
    n = T.lscalar("n")
    check([], T.zeros((2, 3)), [], np.zeros((2, 3), config.floatX))
    check([], T.ones(4, dtype="int32"), [], np.ones(4, "int32"))
    check([n], T.zeros((n, 2), "float32"), [np.int64(3)], np.zeros((3, 2), "float32"))
    x = T.tensor3("x")
    check([x], T.ones(x.shape), [data((2, 1, 3))], np.ones((2, 1, 3)))
    with pytest.raises(LoopcValueError, match="not known"):
        T.zeros(T.lvector("shp"))


def test_alloc_fill_second():
    v, n = T.vector("v"), T.lscalar("n")
    a = data(3)
    check([v, n], T.alloc(v, n, 3), [a, np.int64(2)], np.broadcast_to(a, (2, 3)))
    check([n], T.alloc(1.5, n), [np.int64(2)], np.full(2, 1.5, config.floatX))
    assert T.alloc(v, 1, 3).broadcastable == (True, False)
    x = T.fmatrix("x")
    b = data((2, 3), "float32")
    check([x], T.fill(x, 2.0), [b], np.full((2, 3), 2.0, "float32"))
    check([x, v], T.second(x, v), [b, a], np.broadcast_to(a, (2, 3)))
    with pytest.raises(ShapeError, match="alloc"):
        run([v, n], T.alloc(v, n, 4), a, np.int64(2))


@pytest.mark.parametrize("n,m,k", [(3, None, 0), (3, 4, 1), (4, 2, -1)])
def test_eye(n, m, k):
    check([], T.eye(n, m, k), [], np.eye(n, m, k, dtype=config.floatX))
    check([], T.eye(n, m, k, dtype="int32"), [], np.eye(n, m, k, dtype="int32"))
    ns = T.lscalar("n")
    check([ns], T.eye(ns, m, k), [np.int64(n)], np.eye(n, m, k))


def test_identity_like():
    x = T.matrix("x")
    check([x], T.identity_like(x), [data((2, 3))], np.eye(2, 3))


# -- indexing -------------------------------------------------------------------------------------

VEC = np.arange(10.0)
MAT = np.arange(24.0).reshape(4, 6)


@pytest.mark.parametrize("index", [-1, 0, 3, slice(1, None), slice(None, None, -1), slice(None, None, -2),
                                   slice(1, -1, 2), slice(-2, None), slice(8, 2, -3), slice(None, 100),
                                   slice(5, 2), Ellipsis, (Ellipsis, 2), (None, slice(2, 5)),
                                   (slice(None), None)])
def test_vector_basic_indexing(index):
    x = T.vector("x")
    check([x], x[index], [VEC], VEC[index])


@pytest.mark.parametrize("index", [(1, 2), (-1, -1), 1, (slice(None), 2), (slice(1, 3), slice(None, None, -1)),
                                   (Ellipsis, 0), (0, Ellipsis), (slice(None, None, -1),), (None, 1, None),
                                   (slice(1, None), None, slice(None, 2)), (np.int32(2), np.int64(3))])
def test_matrix_basic_indexing(index):
    x = T.matrix("x")
    check([x], x[index], [MAT], MAT[index])


def test_int_indices_are_int64_constants():
    x = T.matrix("x")
    node = x[1, -2].owner
    assert isinstance(node.op, ops.Subtensor) and node.op.idx_list == ("i", "i")
    assert all(isinstance(v, Constant) and v.dtype == "int64" for v in node.inputs[1:])
    node = x[1:].owner
    assert node.op.idx_list == (("s", True, False, False),)
    assert x[:, 1:].owner.op.idx_list == (("s", False, False, False), ("s", True, False, False))


def test_symbolic_indices():
    x = T.matrix("X")
    i, j = T.iscalar("i"), T.lscalar("j")
    check([x, i, j], x[i, j], [MAT, np.int32(2), np.int64(-1)], MAT[2, -1])
    check([x, i], x[i], [MAT, np.int32(1)], MAT[1])
    check([x, j], x[:, j], [MAT, np.int64(4)], MAT[:, 4])
    check([x, i, j], x[i:j], [MAT, np.int32(1), np.int64(3)], MAT[1:3])
    check([x, i, j], x[::i, j:], [MAT, np.int32(-1), np.int64(2)], MAT[::-1, 2:])
    check([x, i], x[i, ::-1], [MAT, np.int32(0)], MAT[0, ::-1])
    with pytest.raises(LoopcIndexError, match="out of bounds"):
        run([x, i, j], x[i, j], MAT, np.int32(4), np.int64(0))


@pytest.mark.parametrize("make_index", [lambda: [0, 2, 2], lambda: np.array([3, -1], "int32"),
                                        lambda: T.constant(np.array([1, 0]))])
def test_integer_array_indexing(make_index):
    x = T.matrix("x")
    index = make_index()
    out = x[index]
    assert isinstance(out.owner.op, ops.AdvancedSubtensor1)
    numpy_index = index.data if isinstance(index, Constant) else index
    check([x], out, [MAT], MAT[numpy_index])


def test_integer_array_indexing_symbolic():
    x, idx = T.matrix("x"), T.lvector("idx")
    check([x, idx], x[idx], [MAT, np.array([3, 0, 0])], MAT[[3, 0, 0]])
    check([x, idx], x[idx, 1:3], [MAT, np.array([3, 0])], MAT[[3, 0], 1:3])
    check([x, idx], x[idx, :], [MAT, np.array([1])], MAT[[1], :])
    with pytest.raises(LoopcIndexError, match="out of bounds"):
        run([x, idx], x[idx], MAT, np.array([4]))


def test_indexing_errors():
    x = T.matrix("X")
    with pytest.raises(LoopcIndexError, match="too many indices for X"):
        x[0, 0, 0]
    with pytest.raises(LoopcIndexError, match="X"):
        x[T.scalar("f")]
    with pytest.raises(LoopcIndexError, match="boolean"):
        x[True]
    with pytest.raises(LoopcIndexError, match="boolean"):
        x[T.scalar("b", "bool")]
    with pytest.raises(LoopcValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(LoopcIndexError, match="integer array or a boolean mask"):
        x[:, T.vector("f")]
    with pytest.raises(LoopcIndexError, match="ellipsis"):
        x[..., ...]
    with pytest.raises(LoopcIndexError, match="out of bounds"):
        T.row("r")[3]
    with pytest.raises(LoopcIndexError, match="out of bounds"):
        run([x], x[4], MAT)
    assert issubclass(LoopcIndexError, IndexError) and issubclass(LoopcIndexError, LoopcError)


@pytest.mark.parametrize("set_", [False, True])
@pytest.mark.parametrize("index", [1, -1, slice(1, 3), slice(None, None, -2), (0, 2), (slice(None), 1),
                                   (Ellipsis, slice(2, None))])
def test_inc_set_subtensor(set_, index):
    x = T.matrix("x")
    y = T.tensor("float64", (False,) * np.ndim(MAT[index]), "y")
    b = data(np.shape(MAT[index]))
    fn = T.set_subtensor if set_ else T.inc_subtensor
    expected = MAT.copy()
    if set_:
        expected[index] = b
    else:
        expected[index] += b
    out = fn(x[index], y)
    assert out.type == x.type
    check([x, y], out, [MAT, b], expected)


def test_inc_subtensor_broadcasts_and_casts_the_value():
    x = T.matrix("x")
    expected = MAT.copy()
    expected[1:3] += 5
    check([x], T.inc_subtensor(x[1:3], 5), [MAT], expected)
    v = T.fvector("v")
    out = T.set_subtensor(x[0], v)
    expected = MAT.copy()
    expected[0] = np.arange(6, dtype="float32")
    check([x, v], out, [MAT, np.arange(6, dtype="float32")], expected)
    i = T.ivector("i")
    c = np.array([1, 2, 3], "int32")
    expected = c.copy()
    expected[1] = 7
    check([i], T.set_subtensor(i[1], 7.9), [c], expected)


def test_inc_set_advanced():
    x, idx = T.matrix("x"), T.lvector("idx")
    index = np.array([2, 0, 2])
    expected = MAT.copy()
    np.add.at(expected, index, 1.0)
    check([x, idx], T.inc_subtensor(x[idx], 1.0), [MAT, index], expected)
    expected = MAT.copy()
    expected[index] = np.arange(6.0)
    check([x, idx], T.set_subtensor(x[idx], np.arange(6.0)), [MAT, index], expected)


def test_inc_subtensor_errors():
    x = T.matrix("X")
    with pytest.raises(LoopcTypeError, match="result of indexing"):
        T.inc_subtensor(x, 1.0)
    with pytest.raises(LoopcTypeError, match="more dimensions"):
        T.set_subtensor(x[0], T.matrix("Y"))


# -- nnet -----------------------------------------------------------------------------------------

def test_nnet():
    import loopc.tensor.nnet as nnet

    x = T.matrix("x")
    a = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 999.0]])
    e = np.exp(a - a.max(axis=1, keepdims=True))
    check([x], nnet.softmax(x), [a], e / e.sum(axis=1, keepdims=True))
    check([x], nnet.log_softmax(x), [a], np.log(e / e.sum(axis=1, keepdims=True)))
    check([x], nnet.relu(x - 2), [a], np.maximum(a - 2, 0))
    check([x], nnet.relu(x - 2, 0.1), [a], np.where(a > 2, a - 2, 0.1 * (a - 2)))
    alpha = T.scalar("alpha")
    check([x, alpha], nnet.relu(x - 2, alpha), [a, np.float64(0.3)], np.where(a > 2, a - 2, 0.3 * (a - 2)))
    check([x], nnet.sigmoid(x * 0.001), [a], 1 / (1 + np.exp(-a * 0.001)))
    check([x], nnet.ultra_fast_sigmoid(x * 0.001), [a], 1 / (1 + np.exp(-a * 0.001)))
    check([x], nnet.hard_sigmoid(x - 2), [a], np.clip(0.2 * (a - 2) + 0.5, 0, 1))
    check([x], nnet.softplus(-x), [a], np.logaddexp(0, -a))
    check([x], nnet.softsign(x), [a], a / (1 + np.abs(a)))
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    t = T.lvector("t")
    check([x, t], nnet.categorical_crossentropy(x, t), [p, np.array([1, 0])], -np.log([0.8, 0.6]))
    check([x, t], nnet.categorical_crossentropy(x, t), [p, np.array([-1, -2])], -np.log([0.8, 0.6]))
    check([x], nnet.binary_crossentropy(x, 1.0), [p], -np.log(p))
    assert nnet.softmax(T.fmatrix()).dtype == "float32"
    assert nnet.sigm.sigmoid is T.sigmoid and nnet.nnet.softmax is nnet.softmax


def test_softmax_of_a_vector_is_a_row():
    """Theano's Softmax padded a vector to a 1 x n matrix (rnnslu indexes s[:, 0, :] of a
    scan of them); log_softmax too."""
    import loopc.tensor.nnet as nnet

    v = T.vector("v")
    a = np.array([1.0, -2.0, 0.5])
    e = np.exp(a - a.max())
    row = check([v], nnet.softmax(v), [a], (e / e.sum())[None, :])
    assert nnet.softmax(v).broadcastable == (True, False)
    check([v], nnet.log_softmax(v), [a], np.log(row))


def test_categorical_crossentropy_with_class_indices():
    """Integer targets pick one entry per row: a zero elsewhere in the row is no NaN (a
    one-hot product would give 0 * log(0)), and a class out of range is an error."""
    import loopc.tensor.nnet as nnet

    x, t = T.matrix("x"), T.ivector("t")
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    check([x, t], nnet.categorical_crossentropy(x, t), [p, np.array([1, 2], "int32")], -np.log([1.0, 0.5]))
    onehot = T.matrix("onehot")
    check([x, onehot], nnet.categorical_crossentropy(x, onehot), [p + 0.25, np.eye(3)[[1, 2]]],
          -np.log([1.25, 0.75]))
    with pytest.raises(LoopcIndexError, match="out of bounds.*classes.*length 3"):
        run([x, t], nnet.categorical_crossentropy(x, t), p, np.array([1, 3], "int32"))
    with pytest.raises(ShapeError):
        run([x, t], nnet.categorical_crossentropy(x, t), p, np.array([1, 0, 2], "int32"))
    with pytest.raises(LoopcTypeError, match="categorical_crossentropy"):
        nnet.categorical_crossentropy(x, T.vector("soft"))


# -- the package surface ---------------------------------------------------------------------------

REQUIRED = ("add sub mul true_div int_div mod pow neg abs_ invert and_ or_ xor lt le gt ge getitem shape prod "
            "sum mean max min argmax norm round transpose dimshuffle reshape flatten cast dot").split()


def test_every_name_the_variable_methods_use_exists():
    for name in REQUIRED:
        assert callable(getattr(T, name)), name
    assert all(hasattr(T, name) for name in T.__all__)


def test_tensor_package_reexports():
    import loopc.tensor as TT

    for name in T.__all__:
        assert getattr(TT, name) is getattr(T, name), name
    assert TT.nnet.softmax is not None
    assert TT.abs is TT.abs_ and TT.where is not TT.switch


# -- Hypothesis sweeps -------------------------------------------------------------------------------

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64"]
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


def _broadcast_pair(draw):
    shape = draw(shapes)
    other = tuple(draw(st.sampled_from([1, n])) for n in shape)
    drop = draw(st.integers(0, len(other)))
    return shape, other[drop:]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hypothesis_elemwise_dtype_and_broadcast(hdata):
    sa, sb = _broadcast_pair(hdata.draw)
    if hdata.draw(st.booleans()):
        sa, sb = sb, sa
    da, db = hdata.draw(st.sampled_from(DTYPES)), hdata.draw(st.sampled_from(DTYPES))
    op = hdata.draw(st.sampled_from(["add", "mul", "maximum", "lt", "eq"]))
    x = T.tensor(da, tuple(n == 1 for n in sa), "x")
    y = T.tensor(db, tuple(n == 1 for n in sb), "y")
    a, b = data(sa, da, 0, 3), data(sb, db, 0, 3)
    fn = {"add": np.add, "mul": np.multiply, "maximum": np.maximum, "lt": np.less, "eq": np.equal}[op]
    check([x, y], getattr(T, op)(x, y), [a, b], fn(a, b))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hypothesis_weak_scalars(hdata):
    dtype = hdata.draw(st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "float32", "float64"]))
    scalar = hdata.draw(st.one_of(st.integers(0, 100), st.floats(-4, 4, allow_nan=False), st.booleans()))
    shape = hdata.draw(shapes)
    x = T.tensor(dtype, (False,) * len(shape), "x")
    a = data(shape, dtype, 0, 3)
    op = hdata.draw(st.sampled_from(["add", "mul", "sub"]))
    fn = {"add": np.add, "mul": np.multiply, "sub": np.subtract}[op]
    expected = fn(a, scalar)  # NumPy 2: Python scalars are weak
    check([x], getattr(T, op)(x, scalar), [a], expected, rtol=1e-6)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_hypothesis_reductions(hdata):
    shape = hdata.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    dtype = hdata.draw(st.sampled_from(["int32", "float32", "float64"]))
    name = hdata.draw(st.sampled_from(["sum", "prod", "max", "min", "mean"]))
    axes = hdata.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                                st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1).map(tuple)))
    keepdims = hdata.draw(st.booleans())
    x = T.tensor(dtype, (False,) * len(shape), "x")
    a = data(shape, dtype, 1, 3)
    expected = getattr(np, name)(a, axis=axes, keepdims=keepdims)
    check([x], getattr(T, name)(x, axis=axes, keepdims=keepdims), [a], expected, rtol=1e-5)


slice_part = st.one_of(st.none(), st.integers(-7, 7))


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_hypothesis_slicing(hdata):
    shape = hdata.draw(st.lists(st.integers(0, 5), min_size=1, max_size=3).map(tuple))
    items = []
    for n in shape[:hdata.draw(st.integers(1, len(shape)))]:
        if n and hdata.draw(st.booleans()):
            items.append(hdata.draw(st.integers(-n, n - 1)))
        else:
            step = hdata.draw(st.one_of(st.none(), st.integers(-3, 3).filter(bool)))
            items.append(slice(hdata.draw(slice_part), hdata.draw(slice_part), step))
    index = tuple(items)
    a = np.arange(float(np.prod(shape))).reshape(shape)
    x = T.tensor("float64", (False,) * len(shape), "x")
    check([x], x[index], [a], a[index])
    # The same index with every int given at run time as a symbolic int64 scalar.
    scalars, values = [], []

    def symbolic(v):
        if v is None:
            return None
        s = T.lscalar(f"s{len(scalars)}")
        scalars.append(s)
        values.append(np.int64(v))
        return s

    sym = tuple(slice(symbolic(i.start), symbolic(i.stop), symbolic(i.step)) if isinstance(i, slice)
                else symbolic(i) for i in index)
    check([x, *scalars], x[sym], [a, *values], a[index])


def test_tensor_type_of_floatx_takes_the_setting_when_made():
    import loopc.tensor as LT
    saved = config.floatX
    try:
        config.floatX = "float32"
        assert LT.TensorType("floatX", (False,))("x").dtype == "float32"
    finally:
        config.floatX = saved
    assert LT.TensorType("floatX", (False, False)).dtype == saved
