"""Backend parity: every op of the op table, compiled in PY and NUMBA, against NumPy.

Each *group* below is a set of input values and many outputs, compiled as a few
`loopc.function`s of `CHUNK` outputs each (Numba compiles are what this file
spends its time on, so there are few of them) and run once per mode. Each *case*
checks one output:

- its graph dtype and its run-time dtype equal NumPy's for the same input dtypes
  (Python scalars are weak, NEP 50: a float32 tensor times 2.0 stays float32);
- its shape, and its values: exact for integers and bools; for floats
  `RTOL[dtype]` (relative, and the same absolute) for arithmetic and
  `MATH_ULPS` units in the last place for transcendental math; NaN matches NaN;
- the same against `loopc.reference.evaluate` of the graph (`test_reference`).

Inputs include special values (0, -0, negatives, NaN, inf), empty arrays and
non-contiguous views (transposed, strided, reversed). Where NumPy has no loop
for an op and a dtype, loopc must refuse the graph at build time
(`test_type_rule_refuses`). `test_every_op_is_rendered` checks that the
compiled graphs (after constant folding) use every op of the table, and
`test_shapes_and_strides` runs one small function on views that Hypothesis
draws (any shape up to 4 x 4, empty included, any steps and axis order).

Deliberate differences from NumPy, written into the expectations:
- an op NumPy computes in float16 (math on int8/int16/uint8/uint16/bool) gives
  float32 in loopc, computed as NumPy does on float32 inputs;
- `T.inv` (Theano's reciprocal) casts integers to float first;
- `inc_subtensor(x[idx], y)` accumulates over repeated indices (`np.add.at`).
"""
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

import loopc
import loopc.tensor as T
from loopc.errors import LoopcTypeError
from loopc.ir import ops as O
from loopc.ir.graph import Graph
from loopc.ir.types import float_of, is_discrete, is_float
from loopc.reference import evaluate

MODES = ("PY", "NUMBA")
RTOL = {"float64": 1e-12, "float32": 1e-5}
MATH_ULPS = 4
CHUNK = 16  # outputs per compiled function
RNG = np.random.default_rng(1234)

nan, inf = np.nan, np.inf
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 700.0, nan, inf, -inf])

# -- the harness -------------------------------------------------------------------


@dataclass
class Case:
    out: object
    expected: np.ndarray
    tol: str  # "arith" or "math"; integer and bool results are always exact


class Group:
    """Input variables with their values, and labelled outputs with NumPy's answer."""

    def __init__(self, name):
        self.name = name
        self.inputs, self.values, self.cases, self.refused, self.not_built = [], [], {}, [], {}

    def input(self, var, value):
        value = np.asarray(value) if np.ndim(value) == 0 else value
        assert value.dtype.name == var.dtype and value.ndim == var.ndim, (var, value.dtype, value.shape)
        self.inputs.append(var)
        self.values.append(value)
        return var

    def case(self, label, out, expected, tol="arith"):
        assert label not in self.cases, label
        self.cases[label] = Case(T.as_tensor_variable(out), np.asarray(expected), tol)

    def op(self, label, name, syms, vals, tol=None):
        """A case for the scalar op `name` applied through the T.* function of that name,
        or, where NumPy has no loop for these dtypes, a build that loopc must refuse."""
        try:
            expected = numpy_op(name, vals)
        except TypeError:
            self.refused.append((label, name, syms))
            return
        try:
            out = t_fn(name)(*syms)
        except LoopcTypeError as exc:
            self.not_built[label] = f"{name}{tuple(str(v.type) for v in syms)}: {exc}"
            return
        self.case(label, out, expected, tol or TOL.get(name, "arith"))


GROUPS = {}


def group(build):
    """Register a group builder; it runs now, so the cases are known when pytest collects."""
    g = Group(build.__name__)
    with np.errstate(all="ignore"):
        build(g)
    GROUPS[g.name] = g
    return build


def t_fn(name):
    return getattr(T, {"abs": "abs_", "and": "and_", "or": "or_"}.get(name, name))


NUMPY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide,
    "int_div": np.floor_divide, "mod": np.mod, "pow": np.power, "maximum": np.maximum,
    "minimum": np.minimum, "arctan2": np.arctan2, "neg": np.negative, "abs": np.abs, "sgn": np.sign,
    "sqr": np.square, "sqrt": np.sqrt, "inv": np.reciprocal, "exp": np.exp, "exp2": np.exp2,
    "expm1": np.expm1, "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arcsinh": np.arcsinh,
    "arccosh": np.arccosh, "arctanh": np.arctanh, "sigmoid": scipy.special.expit,
    "softplus": lambda x: np.logaddexp(0, x), "erf": scipy.special.erf, "floor": np.floor,
    "ceil": np.ceil, "trunc": np.trunc, "round": np.round, "eq": np.equal, "neq": np.not_equal,
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor, "invert": np.invert,
    "isnan": np.isnan, "isinf": np.isinf, "switch": np.where, "identity": np.copy,
}
BINARY = ["add", "sub", "mul", "true_div", "int_div", "mod", "pow", "maximum", "minimum", "arctan2",
          "eq", "neq", "lt", "le", "gt", "ge", "and", "or", "xor"]
UNARY_ARITH = ["neg", "abs", "sgn", "sqr", "inv", "floor", "ceil", "trunc", "round", "invert",
               "isnan", "isinf", "identity"]
UNARY_MATH = ["sqrt", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan",
              "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
              "sigmoid", "softplus", "erf"]
TOL = {name: "math" for name in UNARY_MATH + ["pow", "arctan2"]}


def numpy_op(name, vals):
    """NumPy's answer for scalar op `name`, with loopc's two documented differences."""
    vals = [np.asarray(v) if np.ndim(v) == 0 and not isinstance(v, (int, float)) else v for v in vals]
    if name == "inv" and is_discrete(np.asarray(vals[0]).dtype.name):
        vals = [np.asarray(vals[0]).astype(float_of(np.asarray(vals[0]).dtype.name))]
    out = np.asarray(NUMPY[name](*vals))
    if out.dtype == np.float16:  # loopc widens to float32 and computes there
        vals = [v.astype("float32") if isinstance(v, np.ndarray) and is_discrete(v.dtype.name) else v
                for v in vals]
        out = np.asarray(NUMPY[name](*vals)).astype("float32")
    return out


def assert_ulps(got, want, ulps):
    got, want = np.atleast_1d(got), np.atleast_1d(want)
    with np.errstate(invalid="ignore"):
        close = (got == want) | (np.isnan(got) & np.isnan(want))
        close |= np.abs(got - want) <= ulps * np.spacing(np.abs(want))
    bad = np.argwhere(~close)
    assert not bad.size, (f"{len(bad)} values differ by more than {ulps} ulp; first at {tuple(bad[0])}: "
                          f"got {got[tuple(bad[0])]!r}, want {want[tuple(bad[0])]!r}")


def check(case, got):
    want = case.expected
    got = np.asarray(got)
    assert case.out.dtype == want.dtype.name, f"graph dtype {case.out.dtype}, NumPy {want.dtype}"
    assert got.dtype == want.dtype, f"run-time dtype {got.dtype}, NumPy {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape}, NumPy {want.shape}"
    if not is_float(want.dtype.name):
        assert np.array_equal(got, want), f"\ngot  {got!r}\nwant {want!r}"
    elif case.tol == "math":
        assert_ulps(got, want, MATH_ULPS)
    else:
        tol = RTOL[want.dtype.name]
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


# -- float64 elementwise ----------------------------------------------------------


def strided_col(values):
    """`values` as an (n, 1) column that is a strided view into a larger array."""
    base = np.zeros((2 * len(values), 3), values.dtype)
    base[::2, 0] = values
    return base[::2, :1]


def transposed(values, rows):
    """`values` as a (rows, n/rows) matrix that is the transpose of a C array."""
    return np.ascontiguousarray(values.reshape(-1, rows)).T


@group
def float64_elemwise(g):
    # binary ops over every pair of special values: a strided column against a reversed row
    xc = g.input(T.dcol("xc"), strided_col(SPECIAL))
    yr = g.input(T.drow("yr"), SPECIAL[::-1][None, :])
    xc_v, yr_v = g.values
    for name in BINARY:
        g.op(name, name, [xc, yr], [xc_v, yr_v])
    g.op("switch", "switch", [xc, xc, yr], [xc_v, xc_v, yr_v])
    # unary ops on special and ordinary values, in a transposed (Fortran-order) matrix
    u_v = transposed(np.concatenate([SPECIAL, RNG.uniform(-3, 3, 12)]), 4)
    u = g.input(T.dmatrix("u"), u_v)
    for name in UNARY_ARITH + UNARY_MATH:
        g.op(name, name, [u], [u_v])
    # 0-d inputs take another path through the renderer
    s_v, t_v = np.float64(-2.5), np.float64(0.75)
    s, t = g.input(T.dscalar("s"), s_v), g.input(T.dscalar("t"), t_v)
    for name in BINARY:
        g.op(f"{name}_0d", name, [s, t], [s_v, t_v])
    for name in UNARY_ARITH + UNARY_MATH:
        g.op(f"{name}_0d", name, [t], [t_v])
    g.case("switch_0d", T.switch(s < t, s, t), np.where(s_v < t_v, s_v, t_v))
    zero_v = np.float64(0.0)
    zero = g.input(T.dscalar("zero"), zero_v)
    for name in ("true_div", "int_div", "mod", "pow", "arctan2"):
        g.op(f"{name}_by_zero_0d", name, [s, zero], [s_v, zero_v])
        g.op(f"{name}_zero_by_zero_0d", name, [zero, zero], [zero_v, zero_v])
    # casts: finite values to integers; anything to float32 and bool
    w_v = RNG.uniform(-300, 300, (5, 6))[::2, ::-2]
    w = g.input(T.dmatrix("w"), w_v)
    g.case("cast_int8", T.cast(T.clip(w, -128, 127), "int8"), np.clip(w_v, -128, 127).astype("int8"))
    g.case("cast_int32", T.cast(w, "int32"), w_v.astype("int32"))
    g.case("cast_int64", T.cast(w, "int64"), w_v.astype("int64"))
    g.case("cast_uint8", T.cast(T.abs_(w) * 0.5, "uint8"), (np.abs(w_v) * 0.5).astype("uint8"))
    g.case("cast_float32", T.cast(u, "float32"), u_v.astype("float32"))
    g.case("cast_float32_overflow", T.cast(u * 1e300, "float32"), (u_v * 1e300).astype("float32"))
    g.case("cast_bool", T.cast(u, "bool"), u_v.astype("bool"))
    g.case("cast_0d", T.cast(t, "int32"), np.asarray(t_v).astype("int32"))
    # empty arrays, broadcasting against a row
    e_v, row_v = np.zeros((0, 3)), RNG.uniform(-3, 3, (1, 3))
    e, row = g.input(T.dmatrix("e"), e_v), g.input(T.drow("row"), row_v)
    g.case("empty_add_row", e + row, e_v + row_v)
    g.case("empty_exp", T.exp(e), np.exp(e_v), "math")
    g.case("empty_gt", e > 0, e_v > 0)
    g.case("empty_switch", T.switch(e > 0, e, row), np.where(e_v > 0, e_v, row_v))
    g.case("empty_cast", T.cast(e, "int32"), e_v.astype("int32"))
    g.case("empty_transposed", e.T * 2.0, e_v.T * 2.0)
    # broadcasting, Python scalars, composites
    g.case("add_scalar_and_matrix", s + u, s_v + u_v)
    g.case("python_float", 2.0 * u - 1.5, 2.0 * u_v - 1.5)
    g.case("python_int", u ** 2 + 1, u_v ** 2 + 1, "math")
    g.case("clip", T.clip(u, -1.0, 2.0), np.clip(u_v, -1.0, 2.0))
    g.case("round_half_away", T.round(u, "half_away_from_zero"),
           np.sign(u_v) * np.floor(np.abs(u_v) + 0.5))
    h_v = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994])
    h = g.input(T.dvector("h"), h_v)
    g.case("round_halves", T.round(h), np.round(h_v))
    g.case("round_halves_away", T.round(h, "half_away_from_zero"), np.sign(h_v) * np.floor(np.abs(h_v) + 0.5))


# -- float32 elementwise ----------------------------------------------------------


@group
def float32_elemwise(g):
    xc_v = strided_col(SPECIAL.astype("float32"))
    yr_v = SPECIAL.astype("float32")[::-1][None, :]
    xc, yr = g.input(T.fcol("xc"), xc_v), g.input(T.frow("yr"), yr_v)
    for name in BINARY:
        g.op(name, name, [xc, yr], [xc_v, yr_v])
    u_v = transposed(np.concatenate([SPECIAL, RNG.uniform(-3, 3, 12)]).astype("float32"), 4)
    u = g.input(T.fmatrix("u"), u_v)
    for name in UNARY_ARITH + UNARY_MATH:
        g.op(name, name, [u], [u_v])
    t_v = np.float32(0.75)
    t = g.input(T.fscalar("t"), t_v)
    for name in UNARY_MATH:
        g.op(f"{name}_0d", name, [t], [t_v])
    # NEP 50: Python scalars are weak, NumPy scalars and float64 tensors are not
    d_v = RNG.uniform(-3, 3, (4, 6))
    d = g.input(T.dmatrix("d"), d_v)
    g.case("times_python_float", u * 2.0, u_v * 2.0)
    g.case("python_float_minus", 2.0 - u, 2.0 - u_v)
    g.case("plus_python_int", u + 1, u_v + 1)
    g.case("div_python_int", u / 3, u_v / 3)
    g.case("pow_python_int", u ** 2, u_v ** 2, "math")
    g.case("floordiv_python_float", u // 0.5, u_v // 0.5)
    g.case("gt_python_float", u > 0.5, u_v > 0.5)
    g.case("plus_numpy_float64", u + np.float64(1.0), u_v + np.float64(1.0))
    g.case("plus_float64_tensor", u + d, u_v + d_v)
    g.case("switch_python_zero", T.switch(u > 0, u, 0.0), np.where(u_v > 0, u_v, 0.0))
    g.case("cast_float64", T.cast(u, "float64"), u_v.astype("float64"))
    w_v = (d_v * 50).astype("float32")
    w = g.input(T.fmatrix("w"), w_v)
    g.case("cast_int16", T.cast(w, "int16"), w_v.astype("int16"))
    g.case("cast_uint8", T.cast(abs(w), "uint8"), np.abs(w_v).astype("uint8"))


# -- integer elementwise ----------------------------------------------------------


@group
def int_elemwise(g):
    ia_v = transposed(RNG.integers(-7, 8, 30), 5)  # (5, 6), Fortran order
    ib_v = RNG.integers(-7, 8, (10, 12))[::2, ::2]  # (5, 6), strided
    ib_v[0] = [0, 0, -1, 1, 7, -7]  # division by zero, by -1
    ia_v[0] = [0, 5, -5, 7, -7, 3]
    ia, ib = g.input(T.lmatrix("ia"), ia_v), g.input(T.lmatrix("ib"), ib_v)
    for name in BINARY:
        if name != "pow":
            g.op(name, name, [ia, ib], [ia_v, ib_v])
    e_v = RNG.integers(0, 5, (5, 6)).astype("int32")
    e = g.input(T.imatrix("e"), e_v)
    g.op("pow", "pow", [ia, e], [ia_v, e_v])  # negative integer powers raise in NumPy
    g.op("pow_python_int", "pow", [e, 3], [e_v, 3])
    for name in UNARY_ARITH + ["sqrt", "exp", "log", "sin", "tanh", "sigmoid", "erf"]:
        g.op(name, name, [ia], [ia_v])
    g.op("switch", "switch", [ia, ib, e], [ia_v, ib_v, e_v])
    # small types wrap around; NEP 50 promotions
    i8_v = np.array([[100, -100, 127, -128, 0, 5]], "int8")
    u8_v = np.array([[0, 1, 255, 200, 7, 128]], "uint8")
    i8, u8 = g.input(T.TensorType("int8", (True, False))("i8"), i8_v), \
        g.input(T.TensorType("uint8", (True, False))("u8"), u8_v)
    for name in ("add", "sub", "mul", "int_div", "mod", "maximum", "xor"):
        g.op(f"{name}_int8", name, [i8, i8[:, ::-1]], [i8_v, i8_v[:, ::-1]])
        g.op(f"{name}_uint8", name, [u8, u8[:, ::-1]], [u8_v, u8_v[:, ::-1]])
    for name in ("neg", "abs", "sgn", "invert", "sqr", "exp", "sqrt"):
        g.op(f"{name}_int8", name, [i8], [i8_v])
        g.op(f"{name}_uint8", name, [u8], [u8_v])
    g.op("true_div_int8", "true_div", [i8, i8], [i8_v, i8_v])  # float16 in NumPy, float32 here
    g.case("int32_plus_python_int", e + 1, e_v + 1)
    g.case("int32_times_python_float", e * 2.5, e_v * 2.5)
    g.case("int32_plus_int64", e + ia, e_v + ia_v)
    g.case("uint8_plus_int8", u8 + i8, u8_v + i8_v)
    g.case("uint8_minus_python_int", u8 - 1, u8_v - 1)
    g.case("int8_times_float32", i8 * T.constant(np.float32(1.5)), i8_v * np.float32(1.5))
    g.case("int64_plus_uint64", ia + T.constant(np.array(3, "uint64")), ia_v + np.array(3, "uint64"))
    ie_v = np.zeros((3, 0), "int64")
    ie = g.input(T.lmatrix("ie"), ie_v)
    g.case("empty_int_div", ie // 2, ie_v // 2)
    g.case("empty_neg", -ie, -ie_v)
    g.case("empty_true_div", ie / ie, ie_v / ie_v)
    g.case("cast_int8_wraps", T.cast(ia * 40, "int8"), (ia_v * 40).astype("int8"))
    g.case("cast_uint8_wraps", T.cast(ia, "uint8"), ia_v.astype("uint8"))
    g.case("cast_float32", T.cast(ia, "float32"), ia_v.astype("float32"))
    g.case("cast_bool", T.cast(ib, "bool"), ib_v.astype("bool"))
    j_v, k_v = np.int32(-7), np.int32(2)
    j, k = g.input(T.iscalar("j"), j_v), g.input(T.iscalar("k"), k_v)
    for name in ("add", "sub", "mul", "true_div", "int_div", "mod", "pow", "maximum", "lt", "and", "xor"):
        g.op(f"{name}_0d", name, [j, k], [j_v, k_v])
    for name in ("neg", "abs", "sgn", "invert", "exp"):
        g.op(f"{name}_0d", name, [j], [j_v])
    g.case("cast_0d", T.cast(j, "float32"), np.asarray(j_v).astype("float32"))
    zero_v = np.int64(0)
    zero = g.input(T.lscalar("zero"), zero_v)
    for name in ("true_div", "int_div", "mod"):
        g.op(f"{name}_by_zero_0d", name, [j, zero], [j_v, zero_v])


# -- bool elementwise -------------------------------------------------------------


@group
def bool_elemwise(g):
    bc_v = strided_col(np.array([False, True]))
    br_v = np.array([[True, False]])[:, ::-1]
    bc, br = g.input(T.TensorType("bool", (False, True))("bc"), bc_v), \
        g.input(T.TensorType("bool", (True, False))("br"), br_v)
    for name in BINARY:
        g.op(name, name, [bc, br], [bc_v, br_v])
    b_v = transposed(RNG.integers(0, 2, 12).astype(bool), 3)
    b = g.input(T.TensorType("bool", (False, False))("b"), b_v)
    for name in UNARY_ARITH + ["sqrt", "exp", "sin"]:
        g.op(name, name, [b], [b_v])
    x_v = RNG.uniform(-3, 3, (3, 4))
    x = g.input(T.dmatrix("x"), x_v)
    g.op("switch", "switch", [b, x, -x], [b_v, x_v, -x_v])
    g.case("switch_python_scalars", T.switch(b, 1, 0), np.where(b_v, 1, 0))
    g.case("cast_float64", T.cast(b, "float64"), b_v.astype("float64"))
    g.case("cast_int8", T.cast(b, "int8"), b_v.astype("int8"))
    g.case("plus_int8", b + T.constant(np.int8(3)), b_v + np.int8(3))
    g.case("times_python_float", b * 1.5, b_v * 1.5)
    g.case("compare_float", x > 0, x_v > 0)
    g.case("and_compare", (x > 0) & b, (x_v > 0) & b_v)
    g.case("not_compare", ~(x > 0), ~(x_v > 0))
    c_v = np.True_
    c = g.input(T.TensorType("bool", ())("c"), c_v)
    g.op("and_0d", "and", [c, c], [c_v, c_v])
    g.op("invert_0d", "invert", [c], [c_v])
    g.op("add_0d", "add", [c, c], [c_v, c_v])


# -- reductions -------------------------------------------------------------------

REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "any": np.any, "all": np.all,
          "argmax": np.argmax, "argmin": np.argmin}
REDUCE_T = {"sum": T.sum, "prod": T.prod, "max": T.max, "min": T.min, "any": T.any, "all": T.all,
            "argmax": T.argmax, "argmin": T.argmin}
AXES = {"all": None, "0": 0, "1": 1, "neg1": -1, "tuple02": (0, 2), "neg_tuple": (-1, -3)}


@group
def reductions(g):
    r_v = np.ascontiguousarray(RNG.uniform(0.5, 1.5, (5, 4, 3)) * RNG.choice([-1, 1], (5, 4, 3))).T
    r_v[0, 0, 0] = -0.0
    r = g.input(T.dtensor3("r"), r_v)  # (3, 4, 5), transposed
    for kind in ("sum", "prod", "max", "min", "any", "all"):
        for label, axis in AXES.items():
            g.case(f"{kind}_{label}", REDUCE_T[kind](r, axis=axis), REDUCE[kind](r_v, axis=axis))
        g.case(f"{kind}_keepdims", REDUCE_T[kind](r, axis=1, keepdims=True),
               REDUCE[kind](r_v, axis=1, keepdims=True))
        g.case(f"{kind}_keepdims_tuple", REDUCE_T[kind](r, axis=(0, 2), keepdims=True),
               REDUCE[kind](r_v, axis=(0, 2), keepdims=True))
    for kind in ("argmax", "argmin"):
        for label in ("all", "0", "1", "neg1"):
            g.case(f"{kind}_{label}", REDUCE_T[kind](r, axis=AXES[label]), REDUCE[kind](r_v, axis=AXES[label]))
        g.case(f"{kind}_keepdims", REDUCE_T[kind](r, axis=1, keepdims=True),
               REDUCE[kind](r_v, axis=1, keepdims=True))
    g.case("mean_all", T.mean(r), np.mean(r_v))
    g.case("mean_tuple", T.mean(r, axis=(0, 2)), np.mean(r_v, axis=(0, 2)))
    g.case("var_1", T.var(r, axis=1), np.var(r_v, axis=1))
    g.case("std_all", T.std(r), np.std(r_v))
    # NaN wins; inf is an ordinary value
    n_v = RNG.uniform(-3, 3, (4, 5))
    n_v[1, 2], n_v[2, 0], n_v[2, 4], n_v[3, 1], n_v[3, 3] = nan, inf, -inf, nan, inf
    n = g.input(T.dmatrix("n"), n_v)
    for kind in ("sum", "prod", "max", "min", "argmax", "argmin", "any", "all"):
        g.case(f"{kind}_nan_1", REDUCE_T[kind](n, axis=1), REDUCE[kind](n_v, axis=1))
        g.case(f"{kind}_nan_all", REDUCE_T[kind](n), REDUCE[kind](n_v))
    # empty: sum and prod have identities; max over a kept empty axis is fine
    e_v = np.zeros((0, 4))
    e = g.input(T.dmatrix("e"), e_v)
    for kind in ("sum", "prod", "any", "all"):
        for label in ("all", "0", "1"):
            g.case(f"{kind}_empty_{label}", REDUCE_T[kind](e, axis=AXES[label]),
                   REDUCE[kind](e_v, axis=AXES[label]))
    for kind in ("max", "argmin"):
        g.case(f"{kind}_empty_kept", REDUCE_T[kind](e, axis=1), REDUCE[kind](e_v, axis=1))
    # other dtypes
    i_v = RNG.integers(-4, 5, (8, 6)).astype("int32")[::2, ::-1]
    i = g.input(T.imatrix("i"), i_v)
    for kind in REDUCE:
        g.case(f"{kind}_int32_all", REDUCE_T[kind](i), REDUCE[kind](i_v))
        g.case(f"{kind}_int32_0", REDUCE_T[kind](i, axis=0), REDUCE[kind](i_v, axis=0))
    g.case("sum_int32_dtype", T.sum(i, axis=1, dtype="int32"), np.sum(i_v, axis=1, dtype="int32"))
    g.case("mean_int32", T.mean(i, axis=0), np.mean(i_v, axis=0))
    u_v = np.array([[200, 100, 255], [1, 2, 3]], "uint8")
    u = g.input(T.TensorType("uint8", (False, False))("u"), u_v)
    g.case("sum_uint8", T.sum(u, axis=0), np.sum(u_v, axis=0))
    g.case("max_uint8", T.max(u, axis=1), np.max(u_v, axis=1))
    b_v = RNG.integers(0, 2, (3, 4)).astype(bool)
    b = g.input(T.TensorType("bool", (False, False))("b"), b_v)
    for kind in REDUCE:
        g.case(f"{kind}_bool_1", REDUCE_T[kind](b, axis=1), REDUCE[kind](b_v, axis=1))
    f_v = RNG.uniform(-3, 3, (6, 5)).astype("float32").T
    f = g.input(T.fmatrix("f"), f_v)
    for kind in ("sum", "prod", "max", "argmin"):
        g.case(f"{kind}_float32_0", REDUCE_T[kind](f, axis=0), REDUCE[kind](f_v, axis=0))
    g.case("sum_float32_all", T.sum(f), np.sum(f_v))
    g.case("mean_float32", T.mean(f, axis=1), np.mean(f_v, axis=1))
    row_v = RNG.uniform(-3, 3, (1, 5))[:, ::-1]
    row = g.input(T.drow("row"), row_v)
    g.case("sum_broadcastable_axis", T.sum(row, axis=0), np.sum(row_v, axis=0))
    g.case("max_broadcastable_axis_keepdims", T.max(row, axis=0, keepdims=True), np.max(row_v, axis=0, keepdims=True))
    g.case("argmin_broadcastable_axis", T.argmin(row, axis=0), np.argmin(row_v, axis=0))
    g.case("prod_row_all", T.prod(row), np.prod(row_v))
    s_v = np.float64(2.5)
    s = g.input(T.dscalar("s"), s_v)
    g.case("sum_0d", T.sum(s), np.sum(s_v))
    g.case("max_0d", T.max(s), np.max(s_v))


# -- dot --------------------------------------------------------------------------


@group
def dot(g):
    def operands(dtype, prefix):
        """0-, 1- and 2-d operands a_k and b_k with compatible shapes (m=3, k=4, n=5)."""
        def value(shape):
            if dtype == "bool":
                return RNG.integers(0, 2, shape).astype(bool)
            if is_discrete(dtype):
                return RNG.integers(-5, 6, shape).astype(dtype)
            return RNG.uniform(-3, 3, shape).astype(dtype)
        a = {0: value(()), 1: value(4)[::-1], 2: value((4, 3)).T}  # reversed, transposed
        b = {0: value(()), 1: value(8)[::2], 2: value((4, 5))}
        sym = {}
        for side, vals in (("a", a), ("b", b)):
            for nd, v in vals.items():
                v = v[()] if nd == 0 else v
                sym[side, nd] = g.input(T.TensorType(dtype, (False,) * nd)(f"{prefix}{side}{nd}"), v)
        return sym, {(s, nd): np.asarray(g.values[g.inputs.index(v)]) for (s, nd), v in sym.items()}

    for dtype in ("float64", "float32", "int64", "int32", "int8", "bool"):
        sym, val = operands(dtype, dtype[0] + dtype[-1])
        for na in (0, 1, 2):
            for nb in (0, 1, 2):
                g.case(f"{dtype}_{na}d_{nb}d", T.dot(sym["a", na], sym["b", nb]),
                       np.dot(val["a", na], val["b", nb]))
    f64, v64 = operands("float64", "x")
    i32, v32 = operands("int32", "y")
    f32, vf32 = operands("float32", "z")
    g.case("int32_float64", T.dot(i32["a", 2], f64["b", 2]), np.dot(v32["a", 2], v64["b", 2]))
    g.case("float64_int32_vec", T.dot(f64["a", 1], i32["b", 1]), np.dot(v64["a", 1], v32["b", 1]))
    g.case("float32_float64", T.dot(f32["a", 2], f64["b", 1]), np.dot(vf32["a", 2], v64["b", 1]))
    g.case("matmul_operator", f64["a", 2] @ f64["b", 2], v64["a", 2] @ v64["b", 2])
    g.case("outer", T.outer(f64["a", 1], f64["b", 1]), np.outer(v64["a", 1], v64["b", 1]))
    # an empty inner dimension gives zeros
    ea_v, eb_v = np.zeros((3, 0)), np.zeros((0, 5))
    ea, eb = g.input(T.dmatrix("ea"), ea_v), g.input(T.dmatrix("eb"), eb_v)
    g.case("empty_inner", T.dot(ea, eb), np.dot(ea_v, eb_v))
    ia_v, ib_v = np.zeros((3, 0), "int64"), np.zeros((0, 5), "int64")
    ia, ib = g.input(T.lmatrix("ia"), ia_v), g.input(T.lmatrix("ib"), ib_v)
    g.case("empty_inner_int", T.dot(ia, ib), np.dot(ia_v, ib_v))


@group
def nd_dot(g):
    """N-d dot, tensordot, batched_dot and batched_tensordot against NumPy (float sums
    in another order than NumPy's: `arith` tolerance)."""
    def inp(name, dtype, shape, view=lambda v: v):
        if is_discrete(dtype):
            value = view(RNG.integers(-4, 5, shape).astype(dtype))
        else:
            value = view(RNG.uniform(-3, 3, shape).astype(dtype))
        return g.input(T.TensorType(dtype, (False,) * len(value.shape))(name), value), value

    a3, a3_v = inp("a3", "float64", (4, 3, 2), lambda v: v.transpose(2, 1, 0))  # (2, 3, 4), not contiguous
    b3, b3_v = inp("b3", "float64", (2, 4, 5))
    m, m_v = inp("m", "float64", (4, 5))
    w, w_v = inp("w", "float64", (6, 4))
    v, v_v = inp("v", "float64", (8,), lambda v: v[::2])  # (4,), strided
    a4, a4_v = inp("a4", "float64", (2, 3, 4, 5))
    f3, f3_v = inp("f3", "float32", (2, 3, 4))
    i3, i3_v = inp("i3", "int32", (2, 3, 4))
    ib3, ib3_v = inp("ib3", "int32", (2, 4, 5))
    l2, l2_v = inp("l2", "int64", (4, 5))
    g.case("dot_3d_matrix", T.dot(a3, m), np.dot(a3_v, m_v))
    g.case("dot_3d_vector", T.dot(a3, v), np.dot(a3_v, v_v))
    g.case("dot_vector_3d", T.dot(v, b3), np.dot(v_v, b3_v))
    g.case("dot_matrix_3d", T.dot(w, b3), np.dot(w_v, b3_v))
    g.case("dot_3d_3d", T.dot(a3, b3), np.dot(a3_v, b3_v))
    g.case("dot_4d_matrix", T.dot(a4, m.T), np.dot(a4_v, m_v.T))
    g.case("dot_3d_scalar", T.dot(a3, 2.0), np.dot(a3_v, 2.0))
    g.case("dot_float32_3d", T.dot(f3, m), np.dot(f3_v, m_v))
    g.case("dot_int_3d", T.dot(i3, l2), np.dot(i3_v, l2_v))
    c45, c45_v = inp("c45", "float64", (4, 5, 2))
    g.case("tensordot_default", T.tensordot(a4, c45), np.tensordot(a4_v, c45_v))
    g.case("tensordot_pairs", T.tensordot(a3, a4, [[1, 2], [1, 2]]), np.tensordot(a3_v, a4_v, [[1, 2], [1, 2]]))
    g.case("tensordot_unordered", T.tensordot(a4, a3, [[2, 0], [2, 0]]), np.tensordot(a4_v, a3_v, [[2, 0], [2, 0]]))
    g.case("tensordot_negative", T.tensordot(a3, b3, [[-1], [1]]), np.tensordot(a3_v, b3_v, [[-1], [1]]))
    g.case("tensordot_ints", T.tensordot(a3, m, (2, 0)), np.tensordot(a3_v, m_v, (2, 0)))
    g.case("tensordot_1", T.tensordot(a3, m, 1), np.tensordot(a3_v, m_v, 1))
    g.case("tensordot_outer", T.tensordot(v, m, 0), np.tensordot(v_v, m_v, 0))
    g.case("tensordot_all", T.tensordot(a3, a3, 3), np.tensordot(a3_v, a3_v, 3))
    g.case("tensordot_int", T.tensordot(i3, ib3, [[0, 2], [0, 1]]), np.tensordot(i3_v, ib3_v, [[0, 2], [0, 1]]))
    mb, mb_v = inp("mb", "float64", (2, 4))
    nb, nb_v = inp("nb", "float64", (2, 4))
    vb, vb_v = inp("vb", "float64", (2,))
    g.case("batched_3d_3d", T.batched_dot(a3, b3), np.matmul(a3_v, b3_v))
    g.case("batched_3d_2d", T.batched_dot(a3, mb), np.einsum("bij,bj->bi", a3_v, mb_v))
    g.case("batched_2d_3d", T.batched_dot(mb, b3), np.einsum("bj,bjk->bk", mb_v, b3_v))
    g.case("batched_2d_2d", T.batched_dot(mb, nb), np.einsum("bj,bj->b", mb_v, nb_v))
    g.case("batched_1d_3d", T.batched_dot(vb, a3), vb_v[:, None, None] * a3_v)
    g.case("batched_2d_1d", T.batched_dot(mb, vb), mb_v * vb_v[:, None])
    g.case("batched_float32_float64", T.batched_dot(f3, b3), np.matmul(f3_v, b3_v))
    g.case("batched_int", T.batched_dot(i3, ib3), np.matmul(i3_v, ib3_v))
    c4, c4_v = inp("c4", "float64", (2, 3, 5, 6))
    g.case("batched_4d", T.batched_dot(a4, c4),
           np.stack([np.tensordot(a4_v[k], c4_v[k], [[2], [1]]) for k in range(2)]))
    g.case("batched_tensordot_1", T.batched_tensordot(a3, b3, 1), np.einsum("bij,bjk->bik", a3_v, b3_v))
    g.case("batched_tensordot_pairs", T.batched_tensordot(a4, a3, [[2, 1], [2, 1]]),
           np.einsum("bijk,bij->bk", a4_v, a3_v))
    g.case("batched_tensordot_none", T.batched_tensordot(mb, a3, [[], []]), np.einsum("bi,bjk->bijk", mb_v, a3_v))
    e3, e3_v = inp("e3", "float64", (2, 3, 0))
    eb3, eb3_v = inp("eb3", "float64", (2, 0, 4))
    z3, z3_v = inp("z3", "float64", (0, 3, 4))
    g.case("batched_empty_inner", T.batched_dot(e3, eb3), np.matmul(e3_v, eb3_v))
    g.case("batched_empty_batch", T.batched_dot(z3, b3[:0]), np.matmul(z3_v, b3_v[:0]))
    g.case("dot_3d_empty_inner", T.dot(e3, eb3[0]), np.dot(e3_v, eb3_v[0]))


# -- shapes -----------------------------------------------------------------------


@group
def shapes(g):
    x3_v = np.ascontiguousarray(RNG.uniform(-3, 3, (4, 3, 2))).T  # (2, 3, 4)
    x3 = g.input(T.dtensor3("x3"), x3_v)
    v_v = RNG.uniform(-3, 3, 24)[::-1]
    v = g.input(T.dvector("v"), v_v)
    s_v = np.float64(1.5)
    s = g.input(T.dscalar("s"), s_v)
    row_v = RNG.uniform(-3, 3, (1, 5))
    row = g.input(T.drow("row"), row_v)
    col_v = strided_col(RNG.uniform(-3, 3, 4))
    col = g.input(T.dcol("col"), col_v)
    one_v = np.array([[7.0]])
    one = g.input(T.TensorType("float64", (True, True))("one"), one_v)
    # shape, shape_i
    g.case("shape_3d", x3.shape, np.array(x3_v.shape))
    g.case("shape_row", T.shape(row), np.array(row_v.shape))
    g.case("shape_0d", T.shape(s), np.array(np.shape(s_v), "int64"))
    g.case("shape_i_0", x3.shape[0], np.int64(x3_v.shape[0]))
    g.case("shape_i_neg", x3.shape[-1], np.int64(x3_v.shape[-1]))
    g.case("shape_i_arith", x3.shape[1] * 2 + v.shape[0], np.int64(x3_v.shape[1] * 2 + len(v_v)))
    # dimshuffle: transpose, add and drop axes
    g.case("transpose", x3.T, x3_v.T)
    g.case("dimshuffle_201", x3.dimshuffle(2, 0, 1), x3_v.transpose(2, 0, 1))
    g.case("dimshuffle_add", x3.dimshuffle("x", 0, "x", 1, 2), x3_v[None, :, None])
    g.case("dimshuffle_add_transpose", x3.dimshuffle(2, "x", 1, 0), x3_v.transpose(2, 1, 0)[:, None])
    g.case("dimshuffle_drop_row", row.dimshuffle(1), row_v[0])
    g.case("dimshuffle_drop_col", col.dimshuffle(0), col_v[:, 0])
    g.case("dimshuffle_drop_add", col.dimshuffle("x", 0), col_v.T)
    g.case("dimshuffle_to_0d", one.dimshuffle(), one_v[0, 0])
    g.case("dimshuffle_from_0d", s.dimshuffle("x", "x"), np.full((1, 1), s_v))
    g.case("transpose_axes", T.transpose(x3, (1, 2, 0)), np.transpose(x3_v, (1, 2, 0)))
    g.case("padleft", T.shape_padleft(v), v_v[None])
    g.case("padright", T.shape_padright(v, 2), v_v[:, None, None])
    g.case("padaxis", T.shape_padaxis(x3, -2), np.expand_dims(x3_v, -2))
    # reshape and flatten
    g.case("reshape", x3.reshape((6, 4)), x3_v.reshape((6, 4)))
    g.case("reshape_minus1", x3.reshape((-1,)), x3_v.reshape(-1))
    g.case("reshape_minus1_lead", x3.reshape((-1, 3)), x3_v.reshape((-1, 3)))
    g.case("reshape_ones", x3.reshape((2, 1, 12)), x3_v.reshape((2, 1, 12)))
    g.case("reshape_symbolic", v.reshape(x3.shape), v_v.reshape(x3_v.shape))
    g.case("reshape_symbolic_entries", v.reshape((x3.shape[2], -1)), v_v.reshape((x3_v.shape[2], -1)))
    shp_v = np.array([-1, 8])
    shp = g.input(T.lvector("shp"), shp_v)
    g.case("reshape_vector_input", T.reshape(x3, shp, ndim=2), x3_v.reshape(shp_v))
    g.case("reshape_to_0d", one.reshape(()), one_v.reshape(()))
    g.case("reshape_from_0d", s.reshape((1, 1)), np.reshape(s_v, (1, 1)))
    g.case("flatten", x3.flatten(), x3_v.flatten())
    g.case("flatten_2", T.flatten(x3, 2), x3_v.reshape(2, -1))
    g.case("flatten_noncontig_row", row.T.flatten(), row_v.T.flatten())
    # concatenate and stack
    m_v = RNG.uniform(-3, 3, (3, 4))
    m = g.input(T.dmatrix("m"), m_v)
    im_v = RNG.integers(-5, 5, (2, 4)).astype("int32")
    im = g.input(T.imatrix("im"), im_v)
    g.case("concatenate_0", T.concatenate([m, x3[0, :, :]], axis=0), np.concatenate([m_v, x3_v[0]], 0))
    g.case("concatenate_1", T.concatenate([m, m[:, ::-1], m], axis=1), np.concatenate([m_v, m_v[:, ::-1], m_v], 1))
    g.case("concatenate_neg", T.concatenate([x3, x3], axis=-1), np.concatenate([x3_v, x3_v], -1))
    g.case("concatenate_mixed", T.concatenate([m, im]), np.concatenate([m_v, im_v]))
    g.case("concatenate_ints", T.concatenate([im, im[::-1]]), np.concatenate([im_v, im_v[::-1]]))
    g.case("concatenate_empty", T.concatenate([v, v[:0], v]), np.concatenate([v_v, v_v[:0], v_v]))
    g.case("join", T.join(1, m, m), np.concatenate([m_v, m_v], 1))
    g.case("stack_vectors", T.stack([v, v * 2]), np.stack([v_v, v_v * 2]))
    g.case("stack_axis1", T.stack([m, m], axis=1), np.stack([m_v, m_v], axis=1))
    g.case("stack_axis_neg", T.stack([m, m, m], axis=-1), np.stack([m_v, m_v, m_v], axis=-1))
    # make_vector: stacked scalars
    j_v = np.int32(4)
    j = g.input(T.iscalar("j"), j_v)
    g.case("stack_scalars", T.stack([s, s * 2]), np.stack([s_v, s_v * 2]))
    g.case("stack_scalars_old_form", T.stack(s, s, 3.0), np.array([s_v, s_v, 3.0]))
    g.case("stack_mixed_scalars", T.stack([j, s]), np.stack([j_v, s_v]))
    g.case("stack_int_scalars", T.stack([j, j + 1]), np.stack([j_v, j_v + 1]))
    g.case("list_as_tensor", T.as_tensor_variable([s, 3.0]), np.array([s_v, 3.0]))


# -- indexing ---------------------------------------------------------------------


@group
def indexing(g):
    x_v = RNG.uniform(-3, 3, 20)[::-2]  # (10,), reversed and strided
    x = g.input(T.dvector("x"), x_v)
    m_v = np.ascontiguousarray(RNG.uniform(-3, 3, (6, 5))).T  # (5, 6)
    m = g.input(T.dmatrix("m"), m_v)
    t_v = np.arange(24.0).reshape(2, 3, 4)
    t = g.input(T.dtensor3("t"), t_v)
    ints = dict(i=np.int32(2), j=np.int64(-1), a=np.int64(1), b=np.int64(-1), c=np.int64(-2), n=np.int64(-4))
    i, j, a, b, c, n = (g.input((T.iscalar if k == "i" else T.lscalar)(k), v) for k, v in ints.items())
    iv, jv, av, bv, cv, nv = ints.values()
    basic = {
        "int": (x[3], x_v[3]), "neg_int": (x[-1], x_v[-1]), "slice": (x[1:], x_v[1:]),
        "reverse": (x[::-1], x_v[::-1]), "step": (x[1:8:3], x_v[1:8:3]), "neg_step": (x[-2:0:-1], x_v[-2:0:-1]),
        "neg_step_2": (x[::-2], x_v[::-2]), "neg_step_open": (x[:3:-3], x_v[:3:-3]),
        "empty_slice": (x[5:2], x_v[5:2]), "clamped_slice": (x[-100:100], x_v[-100:100]),
        "sym_int": (x[i], x_v[iv]), "sym_neg_int": (x[j], x_v[jv]), "sym_slice": (x[a:b:c], x_v[av:bv:cv]),
        "sym_neg_step": (x[b:a:n], x_v[bv:av:nv]), "sym_start": (x[n:], x_v[nv:]),
        "matrix_ij": (m[i, j], m_v[iv, jv]), "matrix_row": (m[i], m_v[iv]), "matrix_col": (m[:, j], m_v[:, jv]),
        "matrix_slices": (m[1:, ::-1], m_v[1:, ::-1]), "matrix_mixed": (m[-1, 1:4], m_v[-1, 1:4]),
        "matrix_sym_slices": (m[a:, n::c], m_v[av:, nv::cv]),
        "tensor3_int_slice_int": (t[1, :, -1], t_v[1, :, -1]), "ellipsis": (t[..., 0], t_v[..., 0]),
        "newaxis": (m[None, 1:3], m_v[None, 1:3]), "newaxis_mid": (t[0, None, :, 2], t_v[0, None, :, 2]),
    }
    for label, (out, want) in basic.items():
        g.case(label, out, want)
    y_v = RNG.uniform(-3, 3, 3)
    y = g.input(T.dvector("y"), y_v)

    def updated(base, index, value, inc):
        out = base.copy()
        if inc:
            out[index] += value
        else:
            out[index] = value
        return out

    every = slice(None)
    incs = {  # label: (region, base value, NumPy index, value, its value)
        "slice": (x[1:4], x_v, slice(1, 4), y, y_v),
        "neg_step": (x[8:0:-3], x_v, slice(8, 0, -3), y[::-1], y_v[::-1]),
        "int": (x[-1], x_v, -1, 5.0, 5.0),
        "sym_int": (x[j], x_v, jv, y[0], y_v[0]),
        "matrix_ij": (m[i, j], m_v, (iv, jv), 1.5, 1.5),
        "matrix_col": (m[:, 0], m_v, (every, 0), T.arange(5.0), np.arange(5.0)),
        "matrix_row_bcast": (m[i], m_v, iv, y[1], y_v[1]),
        "matrix_sym_slice": (m[a:, ::c], m_v, (slice(av, None), slice(None, None, cv)), 2.0, 2.0),
        "matrix_block_row_bcast": (m[1:4, 2:5], m_v, (slice(1, 4), slice(2, 5)), y, y_v),
        "matrix_block_col": (m[1:4, 2:5], m_v, (slice(1, 4), slice(2, 5)), y.dimshuffle(0, "x"), y_v[:, None]),
        "tensor3": (t[1, :, -1], t_v, (1, every, -1), y, y_v),
    }
    for label, (region, base_v, index, value, value_v) in incs.items():
        g.case(f"inc_{label}", T.inc_subtensor(region, value), updated(base_v, index, value_v, True))
        g.case(f"set_{label}", T.set_subtensor(region, value), updated(base_v, index, value_v, False))
    li_v = np.array([7, 8, 9, 10], "int64")
    li = g.input(T.lvector("li"), li_v)
    # the value is cast to the tensor's dtype first (Theano), where NumPy's `+=` would refuse
    g.case("inc_int_with_float", T.inc_subtensor(li[1:3], 1.5), updated(li_v, slice(1, 3), 1, True))
    # integer-array indexing on the first axis, repeated and negative indices
    idx_v = np.array([0, -1, 3, 3, -10, 2], "int32")
    idx = g.input(T.ivector("idx"), idx_v)
    lidx_v = np.array([4, 0, 4], "int64")
    lidx = g.input(T.lvector("lidx"), lidx_v)
    g.case("take", x[idx], x_v[idx_v])
    g.case("take_rows", m[lidx], m_v[lidx_v])
    g.case("take_rows_slice", m[lidx, 1:], m_v[lidx_v, 1:])
    g.case("take_tensor3", t[idx[:2] % 2], t_v[idx_v[:2] % 2])
    g.case("take_empty", x[idx[:0]], x_v[idx_v[:0]])
    yi_v = RNG.uniform(-3, 3, 6)
    yi = g.input(T.dvector("yi"), yi_v)
    inc = x_v.copy()
    np.add.at(inc, idx_v, yi_v)
    g.case("inc_take", T.inc_subtensor(x[idx], yi), inc)
    st = x_v.copy()
    for k, ix in enumerate(idx_v):
        st[ix] = yi_v[k]
    g.case("set_take", T.set_subtensor(x[idx], yi), st)
    inc_rows = m_v.copy()
    np.add.at(inc_rows, lidx_v, 1.0)
    g.case("inc_take_rows_scalar", T.inc_subtensor(m[lidx], 1.0), inc_rows)
    z_v = RNG.uniform(-3, 3, (3, 6))
    z = g.input(T.dmatrix("z"), z_v)
    inc_rows_z = m_v.copy()
    np.add.at(inc_rows_z, lidx_v, z_v)
    g.case("inc_take_rows_matrix", T.inc_subtensor(m[lidx], z), inc_rows_z)
    set_rows = m_v.copy()
    set_rows[lidx_v] = y_v[:1].repeat(6)[None]
    g.case("set_take_rows_bcast", T.set_subtensor(m[lidx], T.alloc(y[0], 6)), set_rows)
    inc_li = li_v.copy()
    np.add.at(inc_li, [0, 0, 3], 2)
    g.case("inc_take_int", T.inc_subtensor(li[T.stack([a - 1, a - 1, a + 2])], 2), inc_li)


@group
def advanced_indexing(g):
    """NumPy's advanced indexing: several integer arrays, integer arrays of any ndim on any
    axis, with slices, ints and new axes; boolean masks; set/inc_subtensor of all of them
    (inc accumulates over repeated positions, as np.add.at; set keeps the last write)."""
    x_v = np.ascontiguousarray(RNG.uniform(-3, 3, (5, 4))).T  # (4, 5), Fortran order
    x = g.input(T.dmatrix("x"), x_v)
    t_v = RNG.uniform(-3, 3, (2, 3, 4))
    t = g.input(T.dtensor3("t"), t_v)
    e_v = RNG.uniform(-3, 3, (6, 3))
    e = g.input(T.dmatrix("E"), e_v)
    li_v = RNG.integers(-9, 9, (3, 4)).astype("int64")
    li = g.input(T.lmatrix("li"), li_v)

    def index(name, value):
        value = np.asarray(value)
        kind = {"int32": "i", "int64": "l", "bool": "b"}[value.dtype.name]
        if value.dtype == bool:
            var = T.TensorType("bool", (False,) * value.ndim)(name)
        else:
            var = getattr(T, kind + {1: "vector", 2: "matrix"}[value.ndim])(name)
        return g.input(var, value), value

    idx, idx_v = index("idx", np.array([2, 0, -1, 2], "int32"))
    jdx, jdx_v = index("jdx", np.array([1, 4, 0, -5], "int64"))
    imat, imat_v = index("imat", np.array([[0, 5], [-1, 2], [3, 3]], "int32"))
    y, y_v = index("y", np.array([1, 0, 3, 4], "int32"))
    emp, emp_v = index("emp", np.zeros(0, "int64"))
    k3, k3_v = index("k3", np.array([2, -3, 0], "int64"))
    mask, mask_v = index("mask", RNG.uniform(size=(4, 5)) > 0.5)
    none, none_v = index("none", np.zeros((4, 5), bool))
    rows, rows_v = index("rows", np.array([True, False, True, True]))
    tmask, tmask_v = index("tmask", np.array([[True, False, True], [False, False, True]]))
    col = g.input(T.lcol("col"), np.array([[3], [0], [1]], "int64"))
    row = g.input(T.lrow("row"), np.array([[4, 0]], "int64"))
    col_v, row_v = g.values[-2:]
    reads = {
        "pair": (x[idx, jdx], x_v[idx_v, jdx_v]),
        "int_matrix": (e[imat], e_v[imat_v]),
        "int_matrix_slice": (e[imat, 1:], e_v[imat_v, 1:]),
        "int_matrix_second_axis": (e[:, imat[:1] % 3], e_v[:, imat_v[:1] % 3]),
        "column": (x[:, jdx], x_v[:, jdx_v]),
        "column_of_rows": (x[1:3, jdx], x_v[1:3, jdx_v]),
        "middle_axis_reversed": (t[:, k3, ::-1], t_v[:, k3_v, ::-1]),
        "take_then_int": (x[idx, 2], x_v[idx_v, 2]),
        "int_then_array": (t[:, 1, [0, 3]], t_v[:, 1, [0, 3]]),
        "int_apart_from_array": (t[0, :, [0, 3, 1]], t_v[0, :, [0, 3, 1]]),
        "arrays_apart": (t[[1, -2], :, k3[:2]], t_v[[1, -2], :, k3_v[:2]]),
        "broadcast_col_row": (x[col, row], x_v[col_v, row_v]),
        "broadcast_constant": (x[idx.dimshuffle(0, "x"), [0, 2]], x_v[idx_v[:, None], [0, 2]]),
        "broadcast_0d": (t[1, k3, :2], t_v[1, k3_v, :2]),
        "negative": (x[[-1, -4], [-5, 0]], x_v[[-1, -4], [-5, 0]]),
        "empty": (x[emp, :2], x_v[emp_v, :2]),
        "empty_pair": (x[emp, emp], x_v[emp_v, emp_v]),
        "empty_column": (x[:, emp], x_v[:, emp_v]),
        "empty_list": (x[1:, []], x_v[1:, []]),
        "newaxis": (x[idx, None], x_v[idx_v, None]),
        "newaxis_apart": (x[idx, None, jdx], x_v[idx_v, None, jdx_v]),
        "newaxis_first": (x[None, idx, 1:], x_v[None, idx_v, 1:]),
        "ellipsis": (t[..., [0, 3]], t_v[..., [0, 3]]),
        "ints": (li[[0, 2, 2], [3, -1, 0]], li_v[[0, 2, 2], [3, -1, 0]]),
        "mask": (x[mask], x_v[mask_v]),
        "mask_no_true": (x[none], x_v[none_v]),
        "mask_rows": (x[rows], x_v[rows_v]),
        "mask_rows_slice": (x[rows, 1:], x_v[rows_v, 1:]),
        "mask_columns": (x[:, rows_v.repeat(2)[:5]], x_v[:, rows_v.repeat(2)[:5]]),
        "mask_gt": (x[x > 0], x_v[x_v > 0]),
        "mask_2d_of_3d": (t[tmask], t_v[tmask_v]),
        "mask_then_array": (t[tmask, [1, 1, 3]], t_v[tmask_v, [1, 1, 3]]),
        "mask_constant": (t[:, [True, False, True]], t_v[:, [True, False, True]]),
        "nll": (-T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y]),
                -np.mean(np.log(np.exp(x_v) / np.exp(x_v).sum(1, keepdims=True))[np.arange(4), y_v])),
    }
    for label, (out, want) in reads.items():
        g.case(label, out, want)
    nz = T.nonzero(mask)
    for k, (got, want) in enumerate(zip(nz, np.nonzero(mask_v))):
        g.case(f"nonzero_{k}", got, want)
    g.case("flatnonzero", T.flatnonzero(t[0] > 0), np.flatnonzero(t_v[0] > 0))
    g.case("where_one_argument", T.where(rows)[0], np.where(rows_v)[0])
    z_v = RNG.uniform(-3, 3, (3, 2, 3))
    z = g.input(T.dtensor3("z"), z_v)
    w_v = RNG.uniform(-3, 3, 4)
    w = g.input(T.dvector("w"), w_v)

    def updated(base, index, value, inc):
        out = base.copy()
        if inc:
            np.add.at(out, index, value)
        else:
            out[index] = value
        return out

    writes = {  # label: (region, base value, NumPy index, value, its value)
        "pair": (x[idx, jdx], x_v, (idx_v, jdx_v), w, w_v),
        "repeats": (x[[0, 0, 1, 0], [1, 1, 2, 1]], x_v, ([0, 0, 1, 0], [1, 1, 2, 1]), w, w_v),
        "int_matrix": (e[imat], e_v, imat_v, z, z_v),
        "int_matrix_scalar": (e[imat], e_v, imat_v, 1.5, 1.5),
        "column_repeats": (x[:, [1, 1, 3]], x_v, (slice(None), [1, 1, 3]), w[:3], w_v[:3]),
        "middle_axis_reversed": (t[:, k3, ::-1], t_v, (slice(None), k3_v, slice(None, None, -1)), w, w_v),
        "apart": (t[0, :, [0, 3, 3]], t_v, (0, slice(None), [0, 3, 3]), w[:3].dimshuffle(0, "x"),
                  w_v[:3, None]),
        "broadcast_col_row": (x[col, row], x_v, (col_v, row_v), w[:2], w_v[:2]),
        "empty": (x[emp, :2], x_v, (emp_v, slice(None, 2)), 5.0, 5.0),
        "mask": (x[mask], x_v, mask_v, 2.0, 2.0),
        "mask_gt": (x[x > 0], x_v, x_v > 0, 0.0, 0.0),
        "mask_rows": (x[rows], x_v, rows_v, w[1:].dimshuffle(0, "x"), w_v[1:, None]),
        "mask_2d_of_3d": (t[tmask], t_v, tmask_v, w, w_v),
        "ints": (li[[0, 2, 2], [3, -1, 3]], li_v, ([0, 2, 2], [3, -1, 3]), 7, 7),
    }
    for label, (region, base_v, index, value, value_v) in writes.items():
        g.case(f"inc_{label}", T.inc_subtensor(region, value), updated(base_v, index, value_v, True))
        g.case(f"set_{label}", T.set_subtensor(region, value), updated(base_v, index, value_v, False))


# -- creation ---------------------------------------------------------------------


@group
def creation(g):
    k_v, l_v = np.int64(3), np.int32(4)
    k, l_ = g.input(T.lscalar("k"), k_v), g.input(T.iscalar("l"), l_v)
    s_v = np.float64(-2.5)
    s = g.input(T.dscalar("s"), s_v)
    x_v = RNG.uniform(-3, 3, (5, 3))[::-1]
    x = g.input(T.dmatrix("x"), x_v)
    v_v = RNG.uniform(-3, 3, 4)[::-1]
    v = g.input(T.dvector("v"), v_v)
    f_v = RNG.uniform(-3, 3, (2, 3)).astype("float32")
    f = g.input(T.fmatrix("f"), f_v)
    # alloc and friends
    g.case("alloc_scalar", T.alloc(s, k, l_), np.full((k_v, l_v), s_v))
    g.case("alloc_vector", T.alloc(v, k, 4), np.broadcast_to(v_v, (k_v, 4)))
    g.case("alloc_constant", T.alloc(1.5, k), np.full(k_v, 1.5))
    g.case("alloc_float32", T.alloc(f, 2, 2, 3), np.broadcast_to(f_v, (2, 2, 3)))
    g.case("alloc_empty", T.alloc(s, k - 3, l_), np.full((0, l_v), s_v))
    g.case("zeros", T.zeros((k, l_)), np.zeros((k_v, l_v)))
    g.case("ones_shape", T.ones(x.shape), np.ones(x_v.shape))
    g.case("zeros_int8", T.zeros(k, dtype="int8"), np.zeros(k_v, "int8"))
    g.case("zeros_like", T.zeros_like(x), np.zeros_like(x_v))
    g.case("ones_like", T.ones_like(f), np.ones_like(f_v))
    g.case("ones_like_dtype", T.ones_like(x, dtype="int32"), np.ones_like(x_v, dtype="int32"))
    g.case("zeros_like_0d", T.zeros_like(s), np.zeros_like(s_v))
    g.case("fill_python_float", T.fill(x, 2.0), np.full(x_v.shape, 2.0))
    g.case("fill_scalar", T.fill(f, s), np.full(f_v.shape, s_v))
    g.case("fill_vector", T.fill(x, v[:3]), np.broadcast_to(v_v[:3], x_v.shape))
    # arange
    a_v, b_v, c_v = np.float64(1.0), np.float64(-0.35), np.float64(-0.1)
    a, b, c = g.input(T.dscalar("a"), a_v), g.input(T.dscalar("b"), b_v), g.input(T.dscalar("c"), c_v)
    g.case("arange_sym", T.arange(k), np.arange(k_v))
    g.case("arange_int32_widens", T.arange(l_), np.arange(l_v))
    g.case("arange_start_stop_step", T.arange(k - 1, 20, k), np.arange(k_v - 1, 20, k_v))
    g.case("arange_neg_step", T.arange(10, k, -k), np.arange(10, k_v, -k_v))
    g.case("arange_empty", T.arange(k, 0), np.arange(k_v, 0))
    g.case("arange_float", T.arange(a, b, c), np.arange(a_v, b_v, c_v))
    g.case("arange_float_step", T.arange(0.5, 3.0 + a, 0.25), np.arange(0.5, 3.0 + a_v, 0.25))
    g.case("arange_dtype", T.arange(k, dtype="int32"), np.arange(k_v, dtype="int32"))
    g.case("arange_dtype_float32", T.arange(k, dtype="float32"), np.arange(k_v, dtype="float32"))
    g.case("arange_constant", T.arange(10, 0, -3), np.arange(10, 0, -3))
    # eye
    g.case("eye", T.eye(k), np.eye(k_v))
    g.case("eye_rect_k", T.eye(k, l_, 1), np.eye(k_v, l_v, 1))
    g.case("eye_neg_k", T.eye(l_, k, -2), np.eye(l_v, k_v, -2))
    g.case("eye_int32", T.eye(k, dtype="int32"), np.eye(k_v, dtype="int32"))
    g.case("eye_constant", T.eye(3, 2), np.eye(3, 2))
    g.case("identity_like", T.identity_like(x), np.eye(*x_v.shape))
    # make_vector from symbolic scalars
    g.case("make_vector", T.stack([k, l_, k * 2]), np.array([k_v, l_v, k_v * 2]))


@group
def along_axis(g):
    """cumsum, cumprod, sort, argsort, repeat (ops of their own), the xlogx scalar ops,
    and the functions built from other ops (diag, tile, diff, squeeze)."""
    m_v = RNG.uniform(-3, 3, (3, 4)).T  # 4 x 3, Fortran order
    m = g.input(T.dmatrix("m"), m_v)
    t_v = RNG.uniform(-2, 2, (2, 3, 4))[::-1]
    t = g.input(T.dtensor3("t"), t_v)
    i_v = RNG.integers(-2, 3, (3, 5)).astype("int32")  # ties for argsort's stability
    i = g.input(T.imatrix("i"), i_v)
    b_v = np.array([True, False, True, True, False])
    b = g.input(T.TensorType("bool", (False,))("b"), b_v)
    f_v = RNG.uniform(-3, 3, (2, 5)).astype("float32")
    f = g.input(T.fmatrix("f"), f_v)
    e_v = np.zeros((0, 3))
    e = g.input(T.dmatrix("e"), e_v)
    sp_v = np.array([3.0, nan, -0.0, 0.0, -inf, 1.0, inf, nan, -2.0, 1.0])[::-1]
    sp = g.input(T.dvector("sp"), sp_v)
    reps_v = np.array([2, 0, 1, 3])
    reps = g.input(T.lvector("reps"), reps_v)
    r32_v = np.array([1, 0, 2, 1], "int32")
    r32 = g.input(T.ivector("r32"), r32_v)
    k_v = np.int64(2)
    k = g.input(T.lscalar("k"), k_v)
    # cumulative sums and products: every axis, the flattened input, ints keeping their dtype (Theano)
    for axis in (None, 0, 1, -1):
        g.case(f"cumsum_m_{axis}", T.cumsum(m, axis), np.cumsum(m_v, axis))
    for axis in (0, 1, 2):
        g.case(f"cumsum_t_{axis}", T.cumsum(t, axis=axis), np.cumsum(t_v, axis=axis))
    g.case("cumprod_m_0", T.cumprod(m, axis=0), np.cumprod(m_v, axis=0))
    g.case("cumprod_m_None", T.cumprod(m), np.cumprod(m_v))
    g.case("cumprod_t_2", T.cumprod(t, axis=2), np.cumprod(t_v, axis=2))
    g.case("cumsum_int32", T.cumsum(i, axis=0), np.cumsum(i_v, axis=0, dtype=np.int32))
    g.case("cumprod_int32", T.cumprod(i, axis=1), np.cumprod(i_v, axis=1, dtype=np.int32))
    g.case("cumsum_bool", T.cumsum(b), np.cumsum(b_v))
    g.case("cumsum_float32", T.cumsum(f, axis=1), np.cumsum(f_v, axis=1))
    g.case("cumsum_specials", T.cumsum(sp), np.cumsum(sp_v))
    g.case("cumsum_empty_0", T.cumsum(e, axis=0), np.cumsum(e_v, axis=0))
    g.case("cumprod_empty_1", T.cumprod(e, axis=1), np.cumprod(e_v, axis=1))
    g.case("cumsum_of_exp", T.cumsum(T.exp(m), axis=1), np.cumsum(np.exp(m_v), axis=1), "math")
    # sorting: NaN last, ties in their order, every axis
    for axis in (None, 0, 1):
        g.case(f"sort_m_{axis}", T.sort(m, axis), np.sort(m_v, axis))
    g.case("sort_t_1", T.sort(t, axis=1), np.sort(t_v, axis=1))
    g.case("sort_specials", T.sort(sp), np.sort(sp_v))
    g.case("sort_int32", T.sort(i), np.sort(i_v))
    g.case("sort_float32_0", T.sort(f, axis=0), np.sort(f_v, axis=0))
    g.case("sort_empty", T.sort(e, axis=0), np.sort(e_v, axis=0))
    g.case("argsort_m_0", T.argsort(m, axis=0), np.argsort(m_v, axis=0, kind="stable"))
    g.case("argsort_t_2", T.argsort(t, axis=2), np.argsort(t_v, axis=2, kind="stable"))
    g.case("argsort_int32_ties", T.argsort(i), np.argsort(i_v, kind="stable"))
    g.case("argsort_int32_None", T.argsort(i, axis=None), np.argsort(i_v, axis=None, kind="stable"))
    g.case("argsort_specials", T.argsort(sp), np.argsort(sp_v, kind="stable"))
    g.case("argsort_bool", T.argsort(b), np.argsort(b_v, kind="stable"))
    # repeat: a count per element (its own op), or one count (alloc and reshape)
    g.case("repeat_vector_0", T.repeat(m, reps, axis=0), np.repeat(m_v, reps_v, axis=0))
    g.case("repeat_vector_int32_t", T.repeat(t, r32, axis=2), np.repeat(t_v, r32_v, axis=2))
    g.case("repeat_vector_flat", T.repeat(t[0, 0], reps), np.repeat(t_v[0, 0], reps_v))
    g.case("repeat_scalar_1", T.repeat(m, 2, axis=1), np.repeat(m_v, 2, axis=1))
    g.case("repeat_symbolic", T.repeat(i, k, axis=0), np.repeat(i_v, k_v, axis=0))
    g.case("repeat_scalar_flat", T.repeat(f, 3), np.repeat(f_v, 3))
    g.case("repeat_empty", T.repeat(e, 2, axis=0), np.repeat(e_v, 2, axis=0))
    # xlogx and xlogy0: 0 where x is 0, NaN and inf as x * log(...) gives them
    g.case("xlogx", T.xlogx.xlogx(sp), np.where(sp_v == 0, 0.0, sp_v * np.log(sp_v)), "math")
    g.case("xlogx_float32", T.xlogx.xlogx(abs(f)), np.where(f_v == 0, np.float32(0), abs(f_v) * np.log(abs(f_v))),
           "math")
    g.case("xlogx_int32", T.xlogx.xlogx(i), np.where(i_v == 0, 0.0, i_v * np.log(i_v.astype("float64"))), "math")
    g.case("xlogy0", T.xlogx.xlogy0(sp, sp[::-1]), np.where(sp_v == 0, 0.0, sp_v * np.log(sp_v[::-1])), "math")
    g.case("xlogy0_bcast", T.xlogx.xlogy0(m, abs(m[0])),
           np.where(m_v == 0, 0.0, m_v * np.log(abs(m_v[0]))), "math")
    g.case("xlogy0_0d", T.xlogx.xlogy0(k - 2, m[0, 0]), np.float64(0.0))
    # built from other ops
    for offset in (0, 1, -2, 5):
        g.case(f"diag_matrix_{offset}", T.diag(m, offset), np.diag(m_v, offset))
    for offset in (0, 2, -1):
        g.case(f"diag_vector_{offset}", T.diag(sp, offset), np.diag(sp_v, offset))
    g.case("diag_int32", T.diag(i[0]), np.diag(i_v[0]))
    g.case("tile_2", T.tile(m, (2,)), np.tile(m_v, (2,)))
    g.case("tile_3d", T.tile(m, (2, 1, 3)), np.tile(m_v, (2, 1, 3)))
    g.case("tile_symbolic", T.tile(sp, (k, 1)), np.tile(sp_v, (k_v, 1)))
    g.case("diff_0", T.extra_ops.diff(m, axis=0), np.diff(m_v, axis=0))
    g.case("diff_2", T.extra_ops.diff(i, n=2), np.diff(i_v, n=2))
    g.case("squeeze", T.squeeze(T.addbroadcast(m[:1], 0)), np.squeeze(m_v[:1]))


# -- the tests --------------------------------------------------------------------

XFAIL = {}  # (group, label, mode or None) -> reason

CASES = [pytest.param(name, label, id=f"{name}-{label}") for name, g in GROUPS.items() for label in g.cases]


@pytest.fixture(scope="module", params=MODES)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def compiled():
    """`get(group, mode)` -> ([functions], {label: output}), compiled and run once per module.

    A group compiles as functions of `CHUNK` outputs each: Numba's compile time grows
    faster than linearly with the size of a function (one function of 128 reductions
    takes twice as long as four of 32)."""
    cache = {}

    def get(name, mode):
        if (name, mode) not in cache:
            g = GROUPS[name]
            labels = list(g.cases)
            functions, results = [], {}
            for start in range(0, len(labels), CHUNK):
                chunk = labels[start:start + CHUNK]
                try:
                    f = loopc.function(g.inputs, [g.cases[label].out for label in chunk], mode=mode,
                                       name=name, on_unused_input="ignore")
                    results.update(zip(chunk, f(*g.values)))
                    functions.append(f)
                except Exception as exc:  # fails the cases of this chunk only
                    results.update((label, exc) for label in chunk)
            cache[name, mode] = functions, results
        return cache[name, mode]
    return get


@pytest.fixture(scope="module")
def reference():
    cache = {}

    def get(name):
        if name not in cache:
            g = GROUPS[name]
            outs = evaluate(Graph(g.inputs, [c.out for c in g.cases.values()]), list(g.values))
            cache[name] = dict(zip(g.cases, outs))
        return cache[name]
    return get


def _maybe_xfail(request, name, label, mode):
    reason = XFAIL.get((name, label, mode)) or XFAIL.get((name, label, None))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize("name,label", CASES)
def test_parity(request, compiled, backend, name, label):
    _maybe_xfail(request, name, label, backend)
    got = compiled(name, backend)[1][label]
    if isinstance(got, Exception):
        raise got
    check(GROUPS[name].cases[label], got)


@pytest.mark.parametrize("name,label", CASES)
def test_reference(request, reference, name, label):
    _maybe_xfail(request, name, label, "REFERENCE")
    check(GROUPS[name].cases[label], reference(name)[label])


REFUSED = [pytest.param(g, label, name, syms, id=f"{g.name}-{label}")
           for g in GROUPS.values() for label, name, syms in g.refused]


@pytest.mark.parametrize("g,label,name,syms", REFUSED)
def test_type_rule_refuses(g, label, name, syms):
    """Where NumPy has no loop for an op and these dtypes, loopc refuses to build it."""
    with pytest.raises(LoopcTypeError):
        t_fn(name)(*syms)


def test_type_rule_accepts():
    """Where NumPy has a loop for an op and these dtypes, loopc builds it."""
    not_built = {f"{g.name}-{label}": why for g in GROUPS.values() for label, why in g.not_built.items()}
    assert not not_built


def _strided(data, shape):
    """A float64 array of `shape` as a view with random steps, signs and axis order."""
    steps = [data.draw(st.sampled_from([1, 2, -1, -2])) for _ in shape]
    order = data.draw(st.permutations(range(len(shape))))
    base_shape = [max(n, 1) * abs(k) for n, k in zip(shape, steps)]
    base = RNG.uniform(-3, 3, [base_shape[a] for a in order]).transpose(np.argsort(order))
    return base[tuple(slice(None, None, k) for k in steps)][tuple(slice(0, n) for n in shape)]


@pytest.fixture(scope="module")
def strided_function():
    """One small function per mode, run on views of many shapes and strides."""
    a, b = T.dmatrix("a"), T.dmatrix("b")
    outs = [a * 2.0 - b, T.exp(a), T.switch(a > b, a, b), a.sum(axis=0), T.prod(b, axis=1, keepdims=True),
            T.concatenate([a, b]), a[::-1, 1:], T.set_subtensor(a[::2], b[::2]), a.T.flatten()]

    def numpy(a, b):
        s = a.copy()
        s[::2] = b[::2]
        return [a * 2.0 - b, np.exp(a), np.where(a > b, a, b), a.sum(axis=0), np.prod(b, axis=1, keepdims=True),
                np.concatenate([a, b]), a[::-1, 1:], s, a.T.flatten()]
    return {mode: loopc.function([a, b], outs, mode=mode) for mode in MODES}, numpy


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_shapes_and_strides(strided_function, data):
    """Elementwise ops, reductions, joins and indexing on views of any shape and strides."""
    functions, numpy = strided_function
    shape = (data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4)))
    a, b = _strided(data, shape), _strided(data, shape)
    want = numpy(a, b)
    for mode, f in functions.items():
        for k, (got, expected) in enumerate(zip(f(a, b), want)):
            np.testing.assert_allclose(got, expected, rtol=RTOL["float64"], atol=RTOL["float64"],
                                       err_msg=f"{mode}, output {k}, a {a.strides} b {b.strides}")
            assert got.shape == expected.shape and got.dtype == expected.dtype


def test_every_op_is_rendered(compiled):
    """The compiled graphs (constants folded) use every op of the table, every scalar op
    and every reduction kind. Print, random ops and scan are tested elsewhere."""
    seen = set()
    for name in GROUPS:
        for f in compiled(name, "PY")[0]:
            for node in f.graph.nodes:
                seen.add(node.op.name)
                seen.add(type(node.op).__name__)
    classes = {"Elemwise", "Reduce", "Dot", "Shape", "ShapeI", "DimShuffle", "Reshape", "Concatenate",
               "Subtensor", "IncSubtensor", "AdvancedSubtensor1", "AdvancedIncSubtensor1", "Alloc",
               "ARange", "Eye", "MakeVector", "CumOp", "Sort", "Repeat",
               "AdvancedSubtensor", "AdvancedIncSubtensor", "Nonzero",
               "CheckLengths", "BatchedDot"}
    names = set(O.SCALAR_OPS) | set(O.REDUCE_KINDS) | {"set_subtensor", "inc_subtensor", "set_take",
                                                      "inc_take", "advanced_set_subtensor",
                                                      "advanced_inc_subtensor"}
    assert not (classes | names) - seen, f"not exercised: {sorted((classes | names) - seen)}"
