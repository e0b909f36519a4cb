"""Gradients: every rule of `loopc.gradient.GRAD` against central finite
differences of the NumPy reference (`loopc.reference.evaluate`), plus the
driver's semantics (broadcasting, accumulation, integer values, disconnected
inputs), jacobian/hessian and verify_grad.

Graphs are built with the ops of `loopc.ir.ops` directly, so each test checks
the rule of exactly the op it names. A failure names the input, the index and
both values.
"""
import importlib.util
import warnings

import numpy as np
import pytest

from loopc.errors import LoopcTypeError, UnsupportedError
from loopc.gradient import (CONNECTED, GRAD, DisconnectedInputError, GradientError, grad, hessian, jacobian,
                            verify_grad)
from loopc.ir.graph import Apply, Constant, Graph, Op
from loopc.ir.ops import (RANDOM_DISTS, REDUCE_KINDS, SCALAR_OPS, AdvancedIncSubtensor, AdvancedIncSubtensor1,
                          AdvancedSubtensor, AdvancedSubtensor1, BatchedDot, CheckLengths, Nonzero,
                          Alloc, ARange, Concatenate, DimShuffle, Dot, Elemwise, Eye, IncSubtensor, MakeVector,
                          Print, RandomOp, Reduce, Reshape, Shape, ShapeI, Subtensor)
from loopc.ir.ops import CumOp, GradOverride, Repeat, Sort
from loopc.ir.types import RandomStateType, TensorType
from loopc.reference import evaluate

HAVE_SCAN = importlib.util.find_spec("loopc.frontend.scan") is not None


# -- building graphs with the ops themselves ----------------------------------------

def ap(op, *inputs):
    node = op.make_node(*inputs)
    return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)


def ew(scalar, *inputs):
    return ap(Elemwise(scalar), *inputs)


def var(name, ndim=0, dtype="float64", bcast=None):
    return TensorType(dtype, bcast or (False,) * ndim)(name)


def const(value, dtype=None):
    data = np.asarray(value, dtype=dtype)
    return Constant(TensorType(data.dtype.name, tuple(n == 1 for n in data.shape)), data)


def total(x):
    return ap(Reduce("sum", tuple(range(x.ndim))), x) if x.ndim else x


def like(value, x):
    """A constant padded with broadcastable axes to the ndim of x."""
    data = np.asarray(value, dtype=x.dtype if x.dtype.startswith("float") else "float64")
    data = data.reshape((1,) * (x.ndim - data.ndim) + data.shape)
    return Constant(TensorType(data.dtype.name, (True,) * data.ndim), data)


# -- the finite-difference check -------------------------------------------------------

def numeric_grads(cost_graph, values, eps=1e-6):
    values = [np.array(v, dtype="float64") for v in values]
    result = []
    for v in values:
        g = np.zeros(v.shape)
        for j in range(v.size):
            original = v.flat[j]
            v.flat[j] = original + eps
            up = float(evaluate(cost_graph, values)[0])
            v.flat[j] = original - eps
            down = float(evaluate(cost_graph, values)[0])
            v.flat[j] = original
            g.flat[j] = (up - down) / (2 * eps)
        result.append(g)
    return result


def assert_grads_close(inputs, symbolic, numeric, rtol=1e-5, atol=1e-6):
    for x, got, want in zip(inputs, symbolic, numeric):
        got = np.asarray(got)
        assert got.shape == want.shape, f"gradient of {x} has shape {got.shape}, the input has {want.shape}"
        bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
        if bad.any():
            pos = tuple(int(k) for k in np.argwhere(bad)[0])
            raise AssertionError(f"gradient of input {x} at index {pos}: symbolic {float(got[pos])!r}, "
                                 f"numeric {float(want[pos])!r} ({int(bad.sum())} of {bad.size} elements differ)")


def check_grad(build, values, bcast=None, rng=None):
    """grad of sum(R * build(*inputs)) against central differences, for random R.
    Every input is float64; `bcast` optionally gives broadcast patterns."""
    rng = rng or np.random.RandomState(0)
    values = [np.asarray(v, dtype="float64") for v in values]
    bcast = bcast or [None] * len(values)
    inputs = [var(f"x{i}", v.ndim, bcast=b) for i, (v, b) in enumerate(zip(values, bcast))]
    out = build(*inputs)
    (out_value,) = evaluate(Graph(inputs, [out]), values)
    r = Constant(TensorType("float64", out.broadcastable), rng.uniform(0.5, 1.5, np.shape(out_value)))
    cost = total(ew("mul", out, r))
    grads = grad(cost, inputs)
    for x, g in zip(inputs, grads):
        assert g.type == x.type, f"gradient of {x} has type {g.type}, expected {x.type}"
    symbolic = evaluate(Graph(inputs, grads), values)
    assert_grads_close(inputs, symbolic, numeric_grads(Graph(inputs, [cost]), values))
    return symbolic


rng = np.random.RandomState(1234)


def uniform(lo, hi, shape=(2, 3)):
    return rng.uniform(lo, hi, shape)


def away_from_zero(shape=(2, 3)):
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def away_from_integers(shape=(2, 3)):
    return rng.randint(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)


# -- elementwise -------------------------------------------------------------------------

UNARY = {
    "neg": lambda: uniform(-2, 2), "abs": away_from_zero, "sgn": away_from_zero, "sqr": lambda: uniform(-2, 2),
    "sqrt": lambda: uniform(0.5, 2), "inv": away_from_zero, "exp": lambda: uniform(-2, 2),
    "exp2": lambda: uniform(-2, 2), "expm1": lambda: uniform(-2, 2), "log": lambda: uniform(0.5, 3),
    "log2": lambda: uniform(0.5, 3), "log10": lambda: uniform(0.5, 3), "log1p": lambda: uniform(-0.5, 2),
    "sin": lambda: uniform(-3, 3), "cos": lambda: uniform(-3, 3), "tan": lambda: uniform(-1, 1),
    "arcsin": lambda: uniform(-0.9, 0.9), "arccos": lambda: uniform(-0.9, 0.9), "arctan": lambda: uniform(-2, 2),
    "sinh": lambda: uniform(-2, 2), "cosh": lambda: uniform(-2, 2), "tanh": lambda: uniform(-2, 2),
    "arcsinh": lambda: uniform(-2, 2), "arccosh": lambda: uniform(1.5, 3), "arctanh": lambda: uniform(-0.9, 0.9),
    "sigmoid": lambda: uniform(-3, 3), "softplus": lambda: uniform(-3, 3), "erf": lambda: uniform(-2, 2),
    "floor": away_from_integers, "ceil": away_from_integers, "trunc": away_from_integers,
    "round": away_from_integers, "identity": lambda: uniform(-2, 2),
    "xlogx": lambda: uniform(0.2, 3),
}


def _mod_operands():
    y = uniform(1.5, 2.5)
    return [y * (rng.randint(-3, 3, y.shape) + uniform(0.2, 0.8)), y]


def _distinct_pair():
    x = uniform(-2, 2)
    return [x, x + away_from_zero() * 0.5]


BINARY = {
    "add": lambda: [uniform(-2, 2), uniform(-2, 2)], "sub": lambda: [uniform(-2, 2), uniform(-2, 2)],
    "mul": lambda: [uniform(-2, 2), uniform(-2, 2)], "true_div": lambda: [uniform(-2, 2), away_from_zero()],
    "pow": lambda: [uniform(0.5, 2), uniform(-2, 2)], "maximum": _distinct_pair, "minimum": _distinct_pair,
    "arctan2": lambda: [uniform(-2, 2), away_from_zero()], "mod": _mod_operands, "int_div": _mod_operands,
    "xlogy0": lambda: [uniform(-2, 2), uniform(0.2, 3)],
}

COMPARISONS = ("eq", "neq", "lt", "le", "gt", "ge")
LOGIC = ("and", "or", "xor")


@pytest.mark.parametrize("scalar", sorted(UNARY))
def test_unary(scalar):
    check_grad(lambda x: ew(scalar, x), [UNARY[scalar]()])


@pytest.mark.parametrize("scalar", sorted(BINARY))
def test_binary(scalar):
    check_grad(lambda x, y: ew(scalar, x, y), BINARY[scalar]())


def test_pow_at_zero_base_and_integer_exponent():
    x, n = var("x", 1), var("n", 1, dtype="int64")
    gx, gn = grad(total(ew("pow", x, n)), [x, n])
    gx_value, gn_value = evaluate(Graph([x, n], [gx, gn]), [np.array([0.0, 2.0, -3.0]), np.array([2, 3, 2])])
    np.testing.assert_allclose(gx_value, [0.0, 12.0, -6.0])
    # Theano (and PyTensor): the integer exponent gets the gradient of the real extension,
    # d x**n / dn = log(x) x**n, 0 where x is 0 (and NaN for a negative base).
    assert gn.dtype == "float64"
    np.testing.assert_allclose(gn_value, [0.0, 8 * np.log(2.0), np.nan])


@pytest.mark.parametrize("scalar", COMPARISONS)
def test_comparison_passes_no_gradient(scalar):
    # x * (x < y): the comparison is a bool mask, so d/dx = mask and d/dy = 0.
    x, y = _distinct_pair()
    check_grad(lambda a, b: ew("mul", a, ew(scalar, a, b)), [x, y])


@pytest.mark.parametrize("scalar", LOGIC)
def test_logic_passes_no_gradient(scalar):
    check_grad(lambda a, b: ew("mul", a, ew(scalar, ew("gt", a, like(0, a)), ew("lt", b, like(0, b)))),
               [away_from_zero(), away_from_zero()])


@pytest.mark.parametrize("scalar", ["invert", "isnan", "isinf"])
def test_predicates_pass_no_gradient(scalar):
    def build(a, b):
        mask = ew(scalar, ew("gt", b, like(0, b)) if scalar == "invert" else b)
        return ew("mul", a, mask)
    check_grad(build, [uniform(-2, 2), away_from_zero()])


def test_switch_picks_the_branch():
    check_grad(lambda c, a, b: ew("switch", ew("gt", c, like(0, c)), ew("mul", a, b), ew("sin", b)),
               [away_from_zero(), uniform(-2, 2), uniform(-2, 2)])


def test_switch_broadcasts_condition_and_branches():
    check_grad(lambda c, a, b: ew("switch", ew("gt", c, like(0, c)), a, ew("exp", b)),
               [away_from_zero((1, 3)), uniform(-2, 2, (4, 1)), uniform(-2, 2, (4, 3))],
               bcast=[(True, False), (False, True), None])


def test_cast_between_floats_casts_the_gradient_back():
    x = var("x", 1, dtype="float32")
    y = ap(Elemwise("cast", "float64"), x)
    g = grad(total(ew("mul", y, y)), x)
    assert g.dtype == "float32"
    value = np.array([1.5, -2.0], dtype="float32")
    np.testing.assert_allclose(evaluate(Graph([x], [g]), [value])[0], 2 * value)


def test_every_scalar_op_has_a_rule_and_a_test():
    tested = set(UNARY) | set(BINARY) | set(COMPARISONS) | set(LOGIC) | {"invert", "isnan", "isinf", "switch",
                                                                         "cast"}
    assert set(SCALAR_OPS) - tested == set()
    assert set(SCALAR_OPS) - set(GRAD) == set()


# -- driver semantics ---------------------------------------------------------------------

def test_broadcastable_input_gets_summed_gradient():
    grads = check_grad(lambda row, m: ew("mul", ew("tanh", row), m), [uniform(-1, 1, (1, 3)), uniform(-1, 1, (4, 3))],
                       bcast=[(True, False), None])
    assert grads[0].shape == (1, 3)


def test_dimshuffled_vector_and_scalar_broadcast():
    def build(v, s, m):
        return ew("add", ew("mul", ap(DimShuffle(("x", 0)), v), m), ap(DimShuffle(("x", "x")), ew("sqr", s)))
    check_grad(build, [uniform(-1, 1, (3,)), np.array(0.7), uniform(-1, 1, (4, 3))])


def test_several_uses_accumulate():
    # x * x + sin(x) * x + tanh(x): four uses of x, two in one node.
    check_grad(lambda x: ew("add", ew("add", ew("mul", x, x), ew("mul", ew("sin", x), x)), ew("tanh", x)),
               [uniform(-2, 2)])


def test_integer_intermediate_stops_the_gradient():
    # cast(cast(x, int64), float64) * x: d/dx = trunc(x), nothing through the int cast.
    check_grad(lambda x: ew("mul", ap(Elemwise("cast", "float64"), ap(Elemwise("cast", "int64"), x)), x),
               [away_from_integers()])


def test_integer_wrt_gets_the_real_gradient():
    # Theano's test_grad_int: through ops with a float result, an integer input gets the
    # gradient of the real-valued extension (a float); through an integer result, zeros.
    x, i = var("x", 1), var("i", 1, dtype="int32")
    cost = total(ew("mul", x, ap(Elemwise("cast", "float64"), i)))
    gx, gi = grad(cost, [x, i])
    assert gi.dtype == "float64" and gi.ndim == 1
    x_value, i_value = np.array([0.5, -1.0, 2.0]), np.array([1, 2, 3], dtype="int32")
    gx_value, gi_value = evaluate(Graph([x, i], [gx, gi]), [x_value, i_value])
    np.testing.assert_array_equal(gi_value, x_value)
    np.testing.assert_array_equal(gx_value, [1.0, 2.0, 3.0])
    integer_product = ap(Elemwise("cast", "float64"), ew("mul", i, i))
    (g_square,) = grad(total(ew("mul", x, integer_product)), [i])
    assert g_square.dtype == "float64"
    np.testing.assert_array_equal(evaluate(Graph([x, i], [g_square]), [x_value, i_value])[0], np.zeros(3))


def test_integer_operands_of_true_div_get_zeros():
    # Theano's TrueDiv.grad (and PyTensor): zeros for an integer operand, though the
    # quotient is a float
    x, i = var("x", 1), var("i", 1, dtype="int32")
    gx, gi = grad(total(ew("add", ew("true_div", i, like(2, i)), ew("true_div", x, i))), [x, i])
    x_value, i_value = np.array([0.5, -1.0, 2.0]), np.array([1, 2, 4], dtype="int32")
    gx_value, gi_value = evaluate(Graph([x, i], [gx, gi]), [x_value, i_value])
    np.testing.assert_array_equal(gi_value, np.zeros(3))
    np.testing.assert_array_equal(gx_value, 1 / i_value)


def test_integer_cost_and_known_grads_on_integers():
    # Theano's test_dxdx and test_known_grads_integers: d i / d i is 1.0, and a known
    # gradient given for an integer variable is passed on as it is.
    i, g = var("i", 0, dtype="int32"), var("g", 0)
    (one,) = grad(i, [i])
    assert one.dtype == "float64" and float(evaluate(Graph([i], [one]), [np.int32(12)])[0]) == 1.0
    (passed,) = grad(None, [i], known_grads={i: g})
    assert float(evaluate(Graph([g], [passed]), [np.array(0.6)])[0]) == 0.6


def test_gradient_keeps_float32():
    x = var("x", 1, dtype="float32")
    g = grad(total(ew("mul", ew("tanh", x), like(2.0, x))), x)
    assert g.dtype == "float32"


def test_disconnected_input_raises_naming_it():
    x, y = var("x", 1), var("y", 1)
    cost = total(ew("exp", x))
    with pytest.raises(DisconnectedInputError, match=r"\by\b.*wrt\[1\]"):
        grad(cost, [x, y])
    with pytest.warns(UserWarning, match="does not depend on y"):
        grad(cost, [x, y], disconnected_inputs="warn")
    gy = grad(cost, y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(evaluate(Graph([y], [gy]), [np.ones(4)])[0], np.zeros(4))
    assert grad(cost, [x, y], disconnected_inputs="ignore", return_disconnected="None")[1] is None


def test_reaching_the_cost_only_through_a_shape_is_disconnected():
    x = var("x", 1)
    with pytest.raises(DisconnectedInputError, match="x"):
        grad(ap(Elemwise("cast", "float64"), ap(ShapeI(0), x)), x)


def test_comparison_is_connected_but_zero():
    x = var("x", 1)
    cost = total(ew("switch", ew("gt", x, like(0, x)), like(1.0, x), like(2.0, x)))
    g = grad(cost, x)  # no DisconnectedInputError: Theano gives zeros here
    np.testing.assert_array_equal(evaluate(Graph([x], [g]), [np.array([-1.0, 1.0])])[0], [0.0, 0.0])


def test_cost_must_be_a_scalar():
    x = var("x", 1)
    with pytest.raises(LoopcTypeError, match="cost.*vector_cost"):
        y = ew("exp", x)
        y.name = "vector_cost"
        grad(y, x)


def test_wrt_structure_is_kept():
    x, y = var("x"), var("y")
    cost = ew("mul", x, y)
    assert isinstance(grad(cost, [x, y]), list)
    assert isinstance(grad(cost, (x, y)), tuple)
    assert grad(cost, x).type == x.type


def test_consider_constant():
    x = var("x", 1)
    y = ew("mul", x, x)
    g = grad(total(ew("mul", y, x)), x, consider_constant=[y])
    value = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(evaluate(Graph([x], [g]), [value])[0], value ** 2)


def test_known_grads():
    x, g_y = var("x", 1), var("g_y", 1)
    y = ew("tanh", x)
    g = grad(None, x, known_grads={y: g_y})
    xv, gv = np.array([0.1, -0.5]), np.array([2.0, 3.0])
    np.testing.assert_allclose(evaluate(Graph([x, g_y], [g]), [xv, gv])[0], gv * (1 - np.tanh(xv) ** 2))


def test_missing_rule_names_the_op():
    class Mystery(Op):
        name = "mystery"

        def make_node(self, x):
            return Apply(self, [x], [x.type])

        def perform(self, node, inputs):
            return [inputs[0]]

    x = var("x", 1)
    with pytest.raises(UnsupportedError, match="mystery"):
        grad(total(Mystery().make_node(x).outputs[0]), x)


def test_every_op_has_a_rule():
    ops = [Dot(), Shape(), ShapeI(0), DimShuffle((0,)), Reshape(1), Concatenate(0), Subtensor(("i",)),
           IncSubtensor(("i",)), IncSubtensor(("i",), True), AdvancedSubtensor1(), AdvancedIncSubtensor1(),
           AdvancedIncSubtensor1(True), Alloc(), ARange("int64"), Eye("float64"), MakeVector("float64"),
           Print("m"), CumOp("cumsum", 0), CumOp("cumprod", 0), Sort("sort", 0), Sort("argsort", 0), Repeat(0),
           AdvancedSubtensor(("a",)), AdvancedIncSubtensor(("a",)),
           AdvancedIncSubtensor(("a",), True), BatchedDot(), Nonzero(), CheckLengths((), "test"),
           GradOverride("zero")] + \
        [RandomOp(d, "float64", 1) for d in RANDOM_DISTS] + [Reduce(k, (0,)) for k in REDUCE_KINDS]
    missing = [op.name for op in ops if op.name not in GRAD]
    assert missing == [] and "scan" in GRAD
    assert set(CONNECTED) <= set(GRAD)


# -- second order ------------------------------------------------------------------------------

def test_second_order_through_the_rules():
    def build(x, a):
        cost = total(ew("mul", ew("tanh", ap(Dot(), x, a)), ap(Reduce("prod", (0,)), ew("sin", a))))
        return grad(cost, x)
    check_grad(build, [uniform(-1, 1, (3,)), uniform(-1, 1, (3, 2))])


def test_second_order_through_indexing():
    def build(x):
        tail = ew("exp", ap(Subtensor((("s", True, False, False),)), x, const(1, "int64")))
        head = ap(Subtensor(("i",)), x, const(0, "int64"))
        return grad(total(ew("mul", tail, ap(DimShuffle(("x",)), head))), x)
    check_grad(build, [uniform(-1, 1, (4,))])


# -- reductions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1)])
def test_sum(axes):
    check_grad(lambda x: ap(Reduce("sum", axes), ew("sin", x)), [uniform(-1, 1, (3, 4))])


def test_sum_middle_axes_of_tensor3():
    check_grad(lambda x: ap(Reduce("sum", (0, 2)), ew("sqr", x)), [uniform(-1, 1, (2, 3, 2))])


@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1)])
def test_prod_with_zeros(axes):
    # rows with no, one and two zeros; prod is linear in each element, so the
    # central difference is exact even at a zero.
    x = np.array([[1.5, -2.0, 0.5, 3.0], [1.5, 0.0, 2.0, -1.0], [0.0, 2.0, 0.0, 1.0]])
    check_grad(lambda a: ap(Reduce("prod", axes), a), [x])


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1)])
def test_max_min(kind, axes):
    x = rng.permutation(12).reshape(3, 4) + uniform(0.0, 0.5, (3, 4))
    check_grad(lambda a: ap(Reduce(kind, axes), a), [x])


def test_max_ties_give_every_winner_the_gradient():
    x = var("x", 1)
    g = grad(ap(Reduce("max", (0,)), x), x)
    np.testing.assert_array_equal(evaluate(Graph([x], [g]), [np.array([3.0, 1.0, 3.0])])[0], [1.0, 0.0, 1.0])


@pytest.mark.parametrize("kind", ["argmax", "argmin", "any", "all"])
def test_discrete_reductions_pass_no_gradient(kind):
    def build(x):
        arg = ew("gt", x, like(0, x)) if kind in ("any", "all") else x
        return ew("mul", ap(Reduce("sum", (0,)), x), ap(Elemwise("cast", "float64"), ap(Reduce(kind, (0,)), arg)))
    check_grad(build, [away_from_zero((4,))])


# -- dot -------------------------------------------------------------------------------------------

SHAPES = {0: (), 1: (3,), 2: (4, 3)}


@pytest.mark.parametrize("nd_a,nd_b", [(a, b) for a in (0, 1, 2) for b in (0, 1, 2)])
def test_dot(nd_a, nd_b):
    a_shape = SHAPES[nd_a]
    b_shape = {0: (), 1: (3,), 2: (3, 2)}[nd_b] if nd_a else {0: (), 1: (3,), 2: (4, 3)}[nd_b]
    check_grad(lambda a, b: ap(Dot(), a, b), [uniform(-1, 1, a_shape), uniform(-1, 1, b_shape)])


# -- shapes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", [(1, 0), ("x", 0, "x", 1), (1, "x", 0)])
def test_dimshuffle(order):
    check_grad(lambda x: ew("sin", ap(DimShuffle(order), x)), [uniform(-1, 1, (2, 3))])


def test_dimshuffle_dropping_a_broadcastable_axis():
    check_grad(lambda x: ew("sin", ap(DimShuffle((2, 0)), x)), [uniform(-1, 1, (2, 1, 3))],
               bcast=[(False, True, False)])


@pytest.mark.parametrize("shape", [(3, 4), (12,), (2, 3, 2)])
def test_reshape(shape):
    check_grad(lambda x: ap(Reshape(len(shape)), ew("exp", x), const(shape, "int64")), [uniform(-1, 1, (2, 6))])


@pytest.mark.parametrize("axis", [0, 1])
def test_concatenate(axis):
    shapes = [(2, 3), (1, 3), (3, 3)] if axis == 0 else [(3, 2), (3, 1), (3, 4)]
    check_grad(lambda a, b, c: ap(Concatenate(axis), a, ew("sin", b), c), [uniform(-1, 1, s) for s in shapes])


def test_concatenate_broadcastable_input():
    check_grad(lambda a, b: ap(Concatenate(0), a, b), [uniform(-1, 1, (1, 3)), uniform(-1, 1, (2, 3))],
               bcast=[(True, False), None])


# -- indexing -----------------------------------------------------------------------------------------

SUBTENSORS = [
    (("i",), [1]),                                       # x[1]
    ((("s", True, True, False),), [1, 3]),               # x[1:3]
    (("i", ("s", False, False, True)), [-1, -1]),        # x[-1, ::-1]
    ((("s", True, False, True), "i"), [1, 2, 2]),        # x[1::2, 2]
    (("i", "i"), [2, -2]),                               # x[2, -2]
    ((("s", False, False, True),), [-1]),                # x[::-1]
]


@pytest.mark.parametrize("idx_list,index", SUBTENSORS)
def test_subtensor(idx_list, index):
    check_grad(lambda x: ap(Subtensor(idx_list), ew("sqr", x), *[const(i, "int64") for i in index]),
               [uniform(-1, 1, (4, 5))])


@pytest.mark.parametrize("set_instead_of_inc", [False, True])
@pytest.mark.parametrize("idx_list,index", SUBTENSORS[:4])
def test_inc_subtensor(idx_list, index, set_instead_of_inc):
    x = uniform(-1, 1, (4, 5))
    region = ap(Subtensor(idx_list), const(x), *[const(i, "int64") for i in index])
    y_shape = np.shape(evaluate(Graph([], [region]), [])[0])
    op = IncSubtensor(idx_list, set_instead_of_inc)
    check_grad(lambda a, b: ap(op, ew("sin", a), ew("sqr", b), *[const(i, "int64") for i in index]),
               [x, uniform(-1, 1, y_shape)])


def test_inc_subtensor_broadcast_value():
    op = IncSubtensor((("s", True, True, False),))
    check_grad(lambda a, b: ap(op, a, ew("exp", b), const(1, "int64"), const(3, "int64")),
               [uniform(-1, 1, (4, 5)), uniform(-1, 1, (1, 5))], bcast=[None, (True, False)])


def test_take_with_repeated_indices():
    idx = const([0, 2, 2, 4], "int64")
    check_grad(lambda x: ap(AdvancedSubtensor1(), ew("sin", x), idx), [uniform(-1, 1, (5, 3))])


def test_inc_take():
    idx = const([0, 2, 2, 4], "int64")
    check_grad(lambda x, y: ap(AdvancedIncSubtensor1(), x, ew("sqr", y), idx),
               [uniform(-1, 1, (5, 3)), uniform(-1, 1, (4, 3))])


def test_set_take():
    idx = const([4, 0, 2], "int64")
    check_grad(lambda x, y: ap(AdvancedIncSubtensor1(True), ew("sin", x), ew("sqr", y), idx),
               [uniform(-1, 1, (5, 3)), uniform(-1, 1, (3, 3))])


ADVANCED = [  # (idx_list, index values, tensor shape)
    (("a", "a"), [[0, 2, 2, -1], [1, 1, 0, 3]], (3, 4)),                       # x[i, j], a repeat
    (("a",), [[[0, 4], [2, 2]]], (5, 3)),                                     # E[int matrix]
    ((("s", False, False, False), "a"), [[3, 0, 3]], (2, 4)),                 # x[:, j]
    (("a", ("s", True, False, False), "a"), [[1, 0], 1, [2, -1]], (2, 3, 4)),  # x[i, 1:, j]: dims first
    ((("s", False, False, True), "a"), [-1, [[1], [0]]], (3, 2)),              # x[::-1, j] with j a column
]


@pytest.mark.parametrize("idx_list,index,shape", ADVANCED)
def test_advanced_subtensor(idx_list, index, shape):
    indices = [const(i, "int64") for i in index]
    check_grad(lambda x: ap(AdvancedSubtensor(idx_list), ew("sin", x), *indices), [uniform(-1, 1, shape)])


@pytest.mark.parametrize("set_instead_of_inc", [False, True])
@pytest.mark.parametrize("idx_list,index,shape", ADVANCED)
def test_advanced_inc_subtensor(idx_list, index, shape, set_instead_of_inc):
    indices = [const(i, "int64") for i in index]
    region = evaluate(Graph([], [ap(AdvancedSubtensor(idx_list), const(np.zeros(shape)), *indices)]), [])[0]
    positions = evaluate(Graph([], [ap(AdvancedSubtensor(idx_list), const(np.arange(np.prod(shape)).reshape(shape)),
                                       *indices)]), [])[0]
    if set_instead_of_inc and len(np.unique(positions)) < positions.size:
        pytest.skip("set with a repeated position: as in Theano, every copy of the value gets the gradient")
    op = AdvancedIncSubtensor(idx_list, set_instead_of_inc)
    check_grad(lambda a, b: ap(op, ew("sin", a), ew("sqr", b), *indices),
               [uniform(-1, 1, shape), uniform(-1, 1, region.shape)])


def test_advanced_inc_subtensor_broadcast_value():
    op = AdvancedIncSubtensor(("a", "a"))
    i, j = const([0, 2, 2], "int64"), const([1, 1, 1], "int64")
    check_grad(lambda a, b: ap(op, a, ew("exp", b), i, j), [uniform(-1, 1, (3, 4)), uniform(-1, 1, (1,))],
               bcast=[None, (True,)])


@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (1, 4, 2)), ((3, 1, 2), (3, 2, 1))])
def test_batched_dot(shapes):
    check_grad(lambda a, b: ap(BatchedDot(), ew("sin", a), b), [uniform(-1, 1, s) for s in shapes])


def test_check_lengths_passes_the_gradient_through():
    op = CheckLengths(((0, 1),), "test")
    check_grad(lambda a: ap(op, ew("sin", a), const(np.zeros((2, 3)))), [uniform(-1, 1, (3, 2))])


# -- creation and side effects --------------------------------------------------------------------------

@pytest.mark.parametrize("value_shape,shape,bcast", [((3,), (4, 3), None), ((), (2, 3), None),
                                                      ((1, 3), (4, 3), (True, False))])
def test_alloc(value_shape, shape, bcast):
    check_grad(lambda v: ap(Alloc(), ew("sin", v), *[const(n, "int64") for n in shape]),
               [uniform(-1, 1, value_shape)], bcast=[bcast])


def test_alloc_shape_from_another_variable_is_disconnected():
    v, m = var("v", 1), var("m", 2)
    out = ap(Alloc(), v, ap(ShapeI(0), m), ap(ShapeI(1), m))
    with pytest.raises(DisconnectedInputError, match=r"\bm\b"):
        grad(total(out), [v, m])
    gv = grad(total(out), v)
    np.testing.assert_array_equal(evaluate(Graph([v, m], [gv]), [np.ones(3), np.ones((4, 3))])[0], [4.0] * 3)


def test_make_vector():
    check_grad(lambda a, b: ew("exp", ap(MakeVector("float64"), a, ew("sin", b), a)), [np.array(0.3), np.array(-0.4)])


def test_print_is_identity(capsys):
    check_grad(lambda x: ew("sin", ap(Print("x is"), x)), [uniform(-1, 1, (3,))])
    assert "x is" in capsys.readouterr().out


def test_shape_path_adds_nothing():
    # sum(x) * len(x): d/dx = len(x); the shape path is not differentiated.
    check_grad(lambda x: ew("mul", ap(Reduce("sum", (0,)), x), ap(Elemwise("cast", "float64"), ap(ShapeI(0), x))),
               [uniform(-1, 1, (4,))])
    def times_length(x):
        length = ap(Subtensor(("i",)), ap(Shape(), x), const(0, "int64"))
        return ew("mul", x, ap(DimShuffle(("x",)), ap(Elemwise("cast", "float64"), length)))
    check_grad(times_length, [uniform(-1, 1, (4,))])


def test_arange_and_eye_are_disconnected():
    x, m = var("x"), var("m", 2)
    seq = ap(ARange("float64"), const(0.0), x, const(1.0))
    with pytest.raises(DisconnectedInputError, match="x"):
        grad(total(seq), x)
    eye = ap(Eye("float64"), const(3, "int64"), const(3, "int64"), const(0, "int64"))
    g = grad(total(ew("mul", eye, m)), m)
    np.testing.assert_array_equal(evaluate(Graph([m], [g]), [np.ones((3, 3))])[0], np.eye(3))


def test_random_sample_is_a_constant_and_its_parameters_disconnected():
    rng_var, x, avg = RandomStateType()("rng"), var("x", 1), var("avg")
    size = ap(MakeVector("int64"), const(3, "int64"))
    _, sample = ap(RandomOp("normal", "float64", 1), rng_var, size, avg, const(1.0))
    cost = total(ew("mul", sample, x))
    with pytest.raises(DisconnectedInputError, match="avg"):
        grad(cost, avg)
    gx = grad(cost, x)
    values = lambda: [np.random.RandomState(3), np.ones(3), np.array(0.0)]  # noqa: E731
    got = evaluate(Graph([rng_var, x, avg], [gx, sample]), values())
    np.testing.assert_array_equal(got[0], got[1])


@pytest.mark.skipif(not HAVE_SCAN, reason="loopc.frontend.scan is not available")
def test_gradient_through_scan():
    # the rule itself is tested in tests/test_scan_grad.py
    from loopc.frontend.scan import scan
    x = var("x", 1)
    out, _ = scan(lambda v: ew("mul", v, v), sequences=[x])
    gx = grad(total(out), x)
    got = evaluate(Graph([x], [gx]), [np.arange(4.0)])[0]
    np.testing.assert_allclose(got, 2 * np.arange(4.0))


# -- jacobian and hessian ---------------------------------------------------------------------------------

def seed_jacobian_graph():
    v, a = var("v", 1), var("A", 2)
    return v, a, ew("tanh", ap(Dot(), v, a))


SEED_X = np.eye(5)[0]
SEED_W = np.eye(5, 3)
SEED_W[2] = 1
SEED_JACOBIAN = [[0.41997434, 0, 0.41997434, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 0, 0]]


def test_seed_jacobian_rows_by_grad():
    v, a, y = seed_jacobian_graph()
    rows = [grad(ap(Subtensor(("i",)), y, const(i, "int64")), v) for i in range(3)]
    got = np.array(evaluate(Graph([a, v], rows), [SEED_W, SEED_X]))
    np.testing.assert_allclose(got, SEED_JACOBIAN, rtol=1e-6, atol=1e-7)


@pytest.mark.skipif(not HAVE_SCAN, reason="loopc.frontend.scan is not available")
def test_seed_jacobian_with_scan():
    v, a, y = seed_jacobian_graph()
    j = jacobian(y, v)
    assert j.owner.op.name == "scan"
    got = evaluate(Graph([a, v], [j]), [SEED_W, SEED_X])[0]
    np.testing.assert_allclose(got, SEED_JACOBIAN, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, ((1 - np.tanh(SEED_X.dot(SEED_W)) ** 2) * SEED_W).T, rtol=1e-12)


@pytest.mark.skipif(not HAVE_SCAN, reason="loopc.frontend.scan is not available")
def test_jacobian_of_several_wrt_keeps_the_structure():
    v, a, y = seed_jacobian_graph()
    jv, ja = jacobian(y, [v, a])
    got_v, got_a = evaluate(Graph([a, v], [jv, ja]), [SEED_W, SEED_X])
    assert got_a.shape == (3, 5, 3)
    d = 1 - np.tanh(SEED_X.dot(SEED_W)) ** 2
    want_a = np.zeros((3, 5, 3))
    for i in range(3):
        want_a[i, :, i] = d[i] * SEED_X
    np.testing.assert_allclose(got_a, want_a)
    np.testing.assert_allclose(got_v, SEED_JACOBIAN, atol=1e-7)


def test_jacobian_of_static_length_loops_in_python():
    v = var("v", 1, bcast=(True,))
    x = var("x", 1)
    y = ew("mul", ew("sin", v), ap(DimShuffle(("x",)), ap(Reduce("sum", (0,)), x)))
    j = jacobian(y, [v, x])
    assert all(r.owner.op.name != "scan" for r in j)
    got = evaluate(Graph([v, x], j), [np.array([0.3]), np.array([1.0, 2.0])])
    np.testing.assert_allclose(got[0], [[np.cos(0.3) * 3.0]])
    np.testing.assert_allclose(got[1], [[np.sin(0.3)] * 2])


def test_jacobian_of_a_scalar_is_grad():
    x = var("x", 1)
    j = jacobian(total(ew("sqr", x)), x)
    np.testing.assert_allclose(evaluate(Graph([x], [j]), [np.array([1.0, 2.0])])[0], [2.0, 4.0])


@pytest.mark.skipif(not HAVE_SCAN, reason="loopc.frontend.scan is not available")
def test_hessian():
    x, a = var("x", 1), var("A", 2)
    cost = total(ew("tanh", ap(Dot(), a, ew("sin", x))))
    h = hessian(cost, x)
    av, xv = uniform(-1, 1, (2, 3)), uniform(-1, 1, (3,))
    got = evaluate(Graph([a, x], [h]), [av, xv])[0]
    g = Graph([a, x], [grad(cost, x)])
    eps, want = 1e-6, np.zeros((3, 3))
    for j in range(3):
        e = np.eye(3)[j] * eps
        want[:, j] = (evaluate(g, [av, xv + e])[0] - evaluate(g, [av, xv - e])[0]) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got, got.T, atol=1e-12)


def test_hessian_of_a_linear_cost_is_zero_not_an_error():
    x = var("x", 1, bcast=(True,))
    h = hessian(total(ew("mul", x, like(3.0, x))), x)
    np.testing.assert_array_equal(evaluate(Graph([x], [h]), [np.array([2.0])])[0], [[0.0]])


# -- verify_grad --------------------------------------------------------------------------------------------

def test_verify_grad_accepts_correct_gradients():
    verify_grad(lambda a, b: ew("tanh", ap(Dot(), a, b)), [uniform(-1, 1, (2, 3)), uniform(-1, 1, (3,))],
                rng=np.random.RandomState(0), mode="PY")


def test_verify_grad_scalar_output():
    def fun(a, b):
        return ap(Reduce("prod", (0,)), ew("mul", ew("sigmoid", a), b))
    verify_grad(fun, [uniform(-1, 1, (3,)), uniform(0.5, 1, (3,))], rng=np.random.RandomState(0), mode="PY")


def test_verify_grad_reports_input_index_and_values(monkeypatch):
    monkeypatch.setitem(GRAD, "sin", GRAD["cos"])  # a wrong rule: d sin = -sin
    with pytest.raises(GradientError, match=r"input 0 \(shape \(3,\)\) at index \(\d,\) is .* analytically "
                                            r"but .* numerically") as info:
        verify_grad(lambda a: ew("sin", a), [np.array([0.1, 0.7, 1.3])], rng=np.random.RandomState(0), mode="PY")
    assert info.value.arg == 0 and info.value.val1 != info.value.val2
    assert verify_grad.E_grad is GradientError  # what Theano's tests catch


def test_verify_grad_rejects_integer_points():
    with pytest.raises(LoopcTypeError, match="input 0 has dtype int64"):
        verify_grad(lambda a: a, [np.arange(3)])


def test_grad_warns_nothing_for_connected_inputs():
    x = var("x", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad(total(ew("exp", x)), x, disconnected_inputs="warn")
