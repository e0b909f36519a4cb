"""The op table: every op's type rule (`make_node`) and NumPy reference (`perform`).

Groups:
- elementwise: `Elemwise(scalar)` over `SCALAR_OPS` (name -> arity, NumPy function);
  inputs have equal ndim (the frontend pads with `dimshuffle`); a dimension not
  flagged broadcastable must have the same length in every input that has it.
- reductions: `Reduce(kind, axes)`; keepdims is a dimshuffle after it.
- linear algebra: `Dot` on 0-, 1- and 2-d inputs, as `numpy.dot`; `BatchedDot` (3-d).
- shapes: `Shape`, `ShapeI`, `DimShuffle`, `Reshape`, `Concatenate`.
- along one axis: `CumOp` (cumsum, cumprod), `Sort` (sort, argsort), `Repeat`.
- indexing: `Subtensor`, `IncSubtensor` (basic indexing), `AdvancedSubtensor1`,
  `AdvancedIncSubtensor1` (an integer vector on the first axis), `AdvancedSubtensor`,
  `AdvancedIncSubtensor` (integer arrays on any axes, with slices), `Nonzero`.
- checks: `CheckLengths` (paired axes of two tensors have equal lengths).
- creation: `Alloc`, `ARange`, `Eye`, `MakeVector`.
- side effects: `Print`, `RandomOp` (threads an `rng` value).
`Scan` lives in `scan.py`.
"""
import copy
import math
import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ShapeError
from ..runtime import RANDOM_DISTS, draw, format_print  # noqa: F401  (RANDOM_DISTS: the random ops' table)
from .graph import Apply, Constant, Op, describe
from .types import RandomStateType, TensorType, as_dtype, float_of, is_discrete, is_float, is_int


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


_erf64 = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    # math.erf works in float64; the result takes the input's float type, as np.sin would.
    return np.asarray(_erf64(x)).astype(float_of(np.asarray(x).dtype.name))


def _xlogx(x):
    """Theano's xlogx: x * log(x), and 0 where x is 0 (the limit)."""
    return np.where(x == 0, np.zeros((), np.log(x).dtype), x * np.log(x))


def _xlogy0(x, y):
    """Theano's xlogy0: x * log(y), and 0 where x is 0 (whatever y is)."""
    return np.where(x == 0, np.zeros((), (x * np.log(y)).dtype), x * np.log(y))


@dataclass(frozen=True)
class ScalarSpec:
    arity: int
    numpy: object  # the NumPy reference, elementwise


SCALAR_OPS = {
    # arithmetic
    "add": ScalarSpec(2, np.add), "sub": ScalarSpec(2, np.subtract), "mul": ScalarSpec(2, np.multiply),
    "true_div": ScalarSpec(2, np.true_divide), "int_div": ScalarSpec(2, np.floor_divide),
    "mod": ScalarSpec(2, np.mod), "pow": ScalarSpec(2, np.power),
    "maximum": ScalarSpec(2, np.maximum), "minimum": ScalarSpec(2, np.minimum),
    "arctan2": ScalarSpec(2, np.arctan2),
    "neg": ScalarSpec(1, np.negative), "abs": ScalarSpec(1, np.abs), "sgn": ScalarSpec(1, np.sign),
    "sqr": ScalarSpec(1, np.square), "sqrt": ScalarSpec(1, np.sqrt), "inv": ScalarSpec(1, np.reciprocal),
    # transcendental
    "exp": ScalarSpec(1, np.exp), "exp2": ScalarSpec(1, np.exp2), "expm1": ScalarSpec(1, np.expm1),
    "log": ScalarSpec(1, np.log), "log2": ScalarSpec(1, np.log2), "log10": ScalarSpec(1, np.log10),
    "log1p": ScalarSpec(1, np.log1p),
    "sin": ScalarSpec(1, np.sin), "cos": ScalarSpec(1, np.cos), "tan": ScalarSpec(1, np.tan),
    "arcsin": ScalarSpec(1, np.arcsin), "arccos": ScalarSpec(1, np.arccos), "arctan": ScalarSpec(1, np.arctan),
    "sinh": ScalarSpec(1, np.sinh), "cosh": ScalarSpec(1, np.cosh), "tanh": ScalarSpec(1, np.tanh),
    "arcsinh": ScalarSpec(1, np.arcsinh), "arccosh": ScalarSpec(1, np.arccosh),
    "arctanh": ScalarSpec(1, np.arctanh),
    "sigmoid": ScalarSpec(1, _sigmoid), "softplus": ScalarSpec(1, _softplus),
    "erf": ScalarSpec(1, _erf),
    "xlogx": ScalarSpec(1, _xlogx), "xlogy0": ScalarSpec(2, _xlogy0),
    # rounding
    "floor": ScalarSpec(1, np.floor), "ceil": ScalarSpec(1, np.ceil), "trunc": ScalarSpec(1, np.trunc),
    "round": ScalarSpec(1, np.round),
    # comparison and logic
    "eq": ScalarSpec(2, np.equal), "neq": ScalarSpec(2, np.not_equal), "lt": ScalarSpec(2, np.less),
    "le": ScalarSpec(2, np.less_equal), "gt": ScalarSpec(2, np.greater), "ge": ScalarSpec(2, np.greater_equal),
    "and": ScalarSpec(2, np.bitwise_and), "or": ScalarSpec(2, np.bitwise_or),
    "xor": ScalarSpec(2, np.bitwise_xor), "invert": ScalarSpec(1, np.invert),
    "isnan": ScalarSpec(1, np.isnan), "isinf": ScalarSpec(1, np.isinf),
    # selection and conversion
    "switch": ScalarSpec(3, lambda c, a, b: np.where(c, a, b)),
    "identity": ScalarSpec(1, lambda x: x.copy()),
    "cast": ScalarSpec(1, None),
}


def _numpy_out_dtype(scalar, dtypes):
    """The dtype NumPy's ufunc gives for these input dtypes (float16 widened)."""
    if scalar == "switch":
        dtypes = dtypes[1:]
        out = np.result_type(*dtypes)
    elif scalar == "neg" and dtypes[0] == "bool":  # NumPy refuses too; abs of a bool is the bool
        raise LoopcTypeError("%s of a bool tensor is not defined; cast it first", scalar)
    else:
        with np.errstate(all="ignore"):
            samples = [np.ones((), d) for d in dtypes]
            try:
                out = SCALAR_OPS[scalar].numpy(*samples).dtype
            except TypeError as exc:
                raise LoopcTypeError("%s is not defined for dtypes %s (%s)", scalar, dtypes, exc) from None
    name = np.dtype(out).name
    return "float32" if name == "float16" else name


@dataclass(frozen=True)
class Elemwise(Op):
    scalar: str
    dtype: str = None  # the target of `cast`

    @property
    def name(self):
        return self.scalar

    def make_node(self, *inputs):
        spec = SCALAR_OPS[self.scalar]
        if len(inputs) != spec.arity:
            raise LoopcTypeError("%s takes %d inputs, got %d", self.scalar, spec.arity, len(inputs))
        ndims = {v.ndim for v in inputs}
        if len(ndims) != 1:
            raise LoopcTypeError("%s needs inputs of equal ndim (pad with dimshuffle), got %s",
                                 self.scalar, [v.ndim for v in inputs])
        if self.scalar == "cast":
            dtype = as_dtype(self.dtype)
        else:
            dtype = _numpy_out_dtype(self.scalar, [v.dtype for v in inputs])
        bcast = tuple(all(flags) for flags in zip(*[v.broadcastable for v in inputs]))
        _check_static_broadcast(self.scalar, inputs)
        return Apply(self, inputs, [TensorType(dtype, bcast)])

    def perform(self, node, inputs):
        out = node.outputs[0]
        check_broadcast(self.scalar, node.inputs, [np.shape(x) for x in inputs])
        if self.scalar == "cast":
            with np.errstate(all="ignore"):  # float64 -> float32 overflows to inf, as in the backends
                return [np.asarray(inputs[0]).astype(out.dtype)]
        args = [np.asarray(x) for x in inputs]
        if is_float(out.dtype) and self.scalar != "switch":
            # NumPy computes int8/int16 inputs of exp or true_div in float16; the
            # result type is float32, so compute in float32 as the backends do.
            args = [a.astype(out.dtype) if is_discrete(a.dtype.name) else a for a in args]
        with np.errstate(all="ignore"):
            value = SCALAR_OPS[self.scalar].numpy(*args)
        return [np.asarray(value).astype(out.dtype)]


_STATIC = weakref.WeakKeyDictionary()


def static_shape(var):
    """The lengths of `var` known when the graph is built (None where not): a constant's,
    and what elementwise ops and dimshuffles make of them."""
    if var in _STATIC:
        return _STATIC[var]
    shape = (None,) * var.ndim
    if isinstance(var, Constant):
        shape = np.shape(var.data)
    elif var.owner is not None and isinstance(var.owner.op, Elemwise):
        inputs = var.owner.inputs
        shape = tuple(_broadcast_length([s[axis] for v, s in zip(inputs, map(static_shape, inputs))
                                         if not v.broadcastable[axis]]) if not var.broadcastable[axis] else 1
                      for axis in range(var.ndim))
    elif var.owner is not None and isinstance(var.owner.op, DimShuffle):
        inner = static_shape(var.owner.inputs[0])
        shape = tuple(1 if a == "x" else inner[a] for a in var.owner.op.order)
    _STATIC[var] = shape
    return shape


def _broadcast_length(lengths):
    known = {n for n in lengths if n is not None}
    return known.pop() if len(known) == 1 else None  # non-broadcastable lengths must agree


def check_broadcast(opname, variables, shapes):
    """Theano's rule: non-broadcastable dimensions must agree in length."""
    for axis in range(len(shapes[0])):
        lengths = {s[axis] for v, s in zip(variables, shapes) if not v.broadcastable[axis]}
        if len(lengths) > 1:
            raise ShapeError("%s: inputs %s have lengths %s on axis %d, which must be equal "
                             "(shapes %s)", opname, [str(v) for v in variables], sorted(lengths), axis, shapes)


def _check_static_broadcast(opname, variables):
    """check_broadcast at build time, on the lengths known then (constants')."""
    shapes = [static_shape(v) for v in variables]
    for axis in range(len(shapes[0]) if shapes else 0):
        lengths = {s[axis] for v, s in zip(variables, shapes) if not v.broadcastable[axis] and s[axis] is not None}
        if len(lengths) > 1:
            raise ShapeError("%s: inputs %s have lengths %s on axis %d, which must be equal (shapes %s)", opname,
                             [describe(v) for v in variables], sorted(lengths), axis,
                             [tuple("?" if n is None else n for n in s) for s in shapes])


REDUCE_KINDS = ("sum", "prod", "max", "min", "argmax", "argmin", "any", "all")


@dataclass(frozen=True)
class Reduce(Op):
    kind: str
    axes: tuple  # sorted, non-negative
    dtype: str = None  # accumulator and result dtype of sum/prod

    @property
    def name(self):
        return self.kind

    def make_node(self, x):
        if any(not 0 <= a < x.ndim for a in self.axes):
            raise LoopcValueError("%s: axes %s out of range for %s of ndim %d", self.kind, self.axes, x, x.ndim)
        if self.kind in ("argmax", "argmin") and len(self.axes) not in (1, x.ndim):
            raise LoopcValueError("%s reduces one axis or all of them, got axes %s", self.kind, self.axes)
        bcast = tuple(b for i, b in enumerate(x.broadcastable) if i not in self.axes)
        return Apply(self, [x], [TensorType(self.out_dtype(x.dtype), bcast)])

    def out_dtype(self, dtype):
        if self.kind in ("argmax", "argmin"):
            return "int64"
        if self.kind in ("any", "all"):
            return "bool"
        if self.kind in ("sum", "prod"):
            return self.dtype or sum_dtype(dtype)
        return dtype

    def perform(self, node, inputs):
        (x,) = inputs
        x = np.asarray(x)
        out = node.outputs[0]
        if self.kind in ("max", "min", "argmax", "argmin") and any(x.shape[a] == 0 for a in self.axes):
            raise LoopcValueError("%s of %s: a reduced axis has length 0 (no identity)", self.kind, node.inputs[0])
        if self.kind in ("argmax", "argmin"):
            fn = np.argmax if self.kind == "argmax" else np.argmin
            if len(self.axes) == x.ndim and x.ndim != 1:
                return [np.asarray(fn(x), dtype="int64")]
            return [np.asarray(fn(x, axis=self.axes[0]), dtype="int64")]
        fn = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "any": np.any, "all": np.all}[self.kind]
        kwargs = {"dtype": out.dtype} if self.kind in ("sum", "prod") else {}
        with np.errstate(all="ignore"):  # inf - inf is NaN without a warning, as in the backends
            return [np.asarray(fn(x, axis=self.axes, **kwargs)).astype(out.dtype)]


def sum_dtype(dtype):
    """NumPy's accumulator for sum and prod: ints widen to 64 bits."""
    if dtype == "bool" or (is_int(dtype) and dtype.startswith("int")):
        return "int64"
    if dtype.startswith("uint"):
        return "uint64"
    return dtype


@dataclass(frozen=True)
class Dot(Op):
    name = "dot"

    def make_node(self, a, b):
        if a.ndim > 2 or b.ndim > 2:
            raise LoopcTypeError("dot supports up to 2-d inputs, got %s (ndim %d) and %s (ndim %d)",
                                 a, a.ndim, b, b.ndim)
        dtype = np.result_type(np.dtype(a.dtype), np.dtype(b.dtype)).name
        if a.ndim == 0 or b.ndim == 0:
            bcast = a.broadcastable + b.broadcastable
        else:
            bcast = a.broadcastable[:-1] + b.broadcastable[1:]
        return Apply(self, [a, b], [TensorType(dtype, bcast)])

    def perform(self, node, inputs):
        a, b = (np.asarray(x) for x in inputs)
        check_dot(node.inputs, a.shape, b.shape)
        # With a 0-d operand, dot is multiply (as NumPy documents it; np.dot itself
        # goes through BLAS scal, which turns nan * 0 into 0).
        fn = np.multiply if a.ndim == 0 or b.ndim == 0 else np.dot
        with np.errstate(all="ignore"):
            return [np.asarray(fn(a, b)).astype(node.outputs[0].dtype)]


def check_dot(variables, sa, sb):
    if len(sa) and len(sb):
        k_b = sb[0] if len(sb) == 2 else sb[-1]
        if sa[-1] != k_b:
            raise ShapeError("dot: %s has shape %s and %s has shape %s; their inner lengths %d and %d differ",
                             str(variables[0]), sa, str(variables[1]), sb, sa[-1], k_b)


@dataclass(frozen=True)
class BatchedDot(Op):
    """`dot(a[i], b[i])` for each i along the first axis of two 3-d tensors (Theano's
    BatchedDot): (B, m, n) . (B, n, k) -> (B, m, k). The batch lengths must be equal."""

    name = "batched_dot"

    def make_node(self, a, b):
        if a.ndim != 3 or b.ndim != 3:
            raise LoopcTypeError("batched_dot takes two 3-d tensors, got %s (ndim %d) and %s (ndim %d)",
                                 a, a.ndim, b, b.ndim)
        dtype = np.result_type(np.dtype(a.dtype), np.dtype(b.dtype)).name
        bcast = (a.broadcastable[0] and b.broadcastable[0], a.broadcastable[1], b.broadcastable[2])
        return Apply(self, [a, b], [TensorType(dtype, bcast)])

    def perform(self, node, inputs):
        a, b = (np.asarray(x) for x in inputs)
        (va, vb), out = node.inputs, node.outputs[0]
        if a.shape[0] != b.shape[0]:
            raise ShapeError("batched_dot: %s has %d matrices and %s has %d; the batch lengths must be equal",
                             str(va), a.shape[0], str(vb), b.shape[0])
        if a.shape[2] != b.shape[1]:
            raise ShapeError("batched_dot: %s has shape %s and %s has shape %s; their inner lengths %d and %d differ",
                             str(va), a.shape, str(vb), b.shape, a.shape[2], b.shape[1])
        with np.errstate(all="ignore"):
            return [np.matmul(a.astype(out.dtype), b.astype(out.dtype)).astype(out.dtype)]


@dataclass(frozen=True)
class Shape(Op):
    name = "shape"

    def make_node(self, x):
        return Apply(self, [x], [TensorType("int64", (False,))])

    def perform(self, node, inputs):
        return [np.asarray(np.shape(inputs[0]), dtype="int64")]


@dataclass(frozen=True)
class ShapeI(Op):
    axis: int
    name = "shape_i"

    def make_node(self, x):
        if not 0 <= self.axis < x.ndim:
            raise LoopcIndexError("shape_i: axis %d out of range for %s of ndim %d", self.axis, x, x.ndim)
        return Apply(self, [x], [TensorType("int64", ())])

    def perform(self, node, inputs):
        return [np.asarray(np.shape(inputs[0])[self.axis], dtype="int64")]


@dataclass(frozen=True)
class DimShuffle(Op):
    """Theano's dimshuffle: `order` lists input axes and 'x' for new broadcastable ones;
    input axes left out must be broadcastable (they are dropped)."""

    order: tuple
    name = "dimshuffle"

    def make_node(self, x):
        axes = [a for a in self.order if a != "x"]
        if sorted(set(axes)) != sorted(axes) or any(not 0 <= a < x.ndim for a in axes):
            raise LoopcValueError("dimshuffle%s is not valid for %s of ndim %d", self.order, x, x.ndim)
        for axis in range(x.ndim):
            if axis not in axes and not x.broadcastable[axis]:
                raise LoopcValueError("dimshuffle%s drops axis %d of %s, which is not broadcastable",
                                      self.order, axis, x)
        bcast = tuple(True if a == "x" else x.broadcastable[a] for a in self.order)
        return Apply(self, [x], [TensorType(x.dtype, bcast)])

    def perform(self, node, inputs):
        x = np.asarray(inputs[0])
        kept = [a for a in self.order if a != "x"]
        dropped = tuple(a for a in range(x.ndim) if a not in kept)
        x = x.reshape([n for i, n in enumerate(x.shape) if i not in dropped])
        remaining = [a - sum(d < a for d in dropped) for a in kept]
        x = x.transpose(remaining)
        shape, it = [], iter(x.shape)
        for a in self.order:
            shape.append(1 if a == "x" else next(it))
        return [x.reshape(shape)]


@dataclass(frozen=True)
class Reshape(Op):
    ndim: int
    name = "reshape"

    def make_node(self, x, shape):
        if shape.ndim != 1 or not is_int(shape.dtype):
            raise LoopcTypeError("reshape: the shape must be an integer vector, got %s", shape.type.describe())
        bcast = [False] * self.ndim
        if isinstance(shape, Constant):
            bcast = [int(n) == 1 for n in shape.data]
        return Apply(self, [x, shape], [TensorType(x.dtype, tuple(bcast))])

    def perform(self, node, inputs):
        x, shape = inputs
        try:
            return [np.reshape(x, tuple(int(n) for n in shape))]
        except ValueError:
            raise ShapeError("reshape: cannot reshape %s of shape %s to %s", str(node.inputs[0]),
                             np.shape(x), tuple(int(n) for n in shape)) from None


@dataclass(frozen=True)
class Concatenate(Op):
    axis: int
    name = "concatenate"

    def make_node(self, *tensors):
        if not tensors or len({t.ndim for t in tensors}) != 1:
            raise LoopcTypeError("concatenate needs tensors of one ndim, got %s", [t.ndim for t in tensors])
        if not 0 <= self.axis < tensors[0].ndim:
            raise LoopcValueError("concatenate: axis %d out of range for ndim %d", self.axis, tensors[0].ndim)
        dtype = np.result_type(*[np.dtype(t.dtype) for t in tensors]).name
        bcast = [all(f) for f in zip(*[t.broadcastable for t in tensors])]
        bcast[self.axis] = False
        return Apply(self, tensors, [TensorType(dtype, tuple(bcast))])

    def perform(self, node, inputs):
        try:
            out = np.concatenate([np.asarray(x) for x in inputs], axis=self.axis)
        except ValueError as exc:
            raise ShapeError("concatenate: %s", exc) from None
        return [out.astype(node.outputs[0].dtype)]


# -- along one axis: running sums and products, sorting, repeating -------------------

@dataclass(frozen=True)
class CumOp(Op):
    """`cumsum` or `cumprod` along `axis` (the frontend flattens for axis=None). The
    result keeps the input's dtype, as in Theano (an int32 sum wraps as NumPy's does
    with dtype=int32); bool, which has no sums, gives int64."""

    kind: str  # "cumsum" or "cumprod"
    axis: int

    @property
    def name(self):
        return self.kind

    def make_node(self, x):
        if not 0 <= self.axis < x.ndim:
            raise LoopcValueError("%s: axis %d out of range for %s of ndim %d", self.kind, self.axis, x, x.ndim)
        return Apply(self, [x], [TensorType("int64" if x.dtype == "bool" else x.dtype, x.broadcastable)])

    def perform(self, node, inputs):
        fn = np.cumsum if self.kind == "cumsum" else np.cumprod
        with np.errstate(all="ignore"):
            return [np.asarray(fn(np.asarray(inputs[0]), axis=self.axis, dtype=node.outputs[0].dtype))]


@dataclass(frozen=True)
class Sort(Op):
    """`sort` (the values) or `argsort` (their int64 positions) of every line along
    `axis`. Stable: equal values keep their order, so every backend gives the same
    positions (Theano's default quicksort leaves the order of ties unspecified)."""

    kind: str  # "sort" or "argsort"
    axis: int

    @property
    def name(self):
        return self.kind

    def make_node(self, x):
        if not 0 <= self.axis < x.ndim:
            raise LoopcValueError("%s: axis %d out of range for %s of ndim %d", self.kind, self.axis, x, x.ndim)
        if x.dtype.startswith("complex"):
            raise LoopcTypeError("%s: complex values have no order, got %s", self.kind, x.type.describe())
        dtype = x.dtype if self.kind == "sort" else "int64"
        return Apply(self, [x], [TensorType(dtype, x.broadcastable)])

    def perform(self, node, inputs):
        fn = np.sort if self.kind == "sort" else np.argsort
        return [np.asarray(fn(np.asarray(inputs[0]), axis=self.axis, kind="stable")).astype(node.outputs[0].dtype)]


@dataclass(frozen=True)
class Repeat(Op):
    """NumPy's `repeat(x, repeats, axis)` with an integer vector of repeats, one per
    element along `axis` (a scalar count is alloc and reshape, in the frontend)."""

    axis: int
    name = "repeat"

    def make_node(self, x, repeats):
        if not 0 <= self.axis < x.ndim:
            raise LoopcValueError("repeat: axis %d out of range for %s of ndim %d", self.axis, x, x.ndim)
        if repeats.ndim != 1 or not is_int(repeats.dtype):
            raise LoopcTypeError("repeat: repeats must be an integer vector, got %s", repeats.type.describe())
        bcast = tuple(False if a == self.axis else b for a, b in enumerate(x.broadcastable))
        return Apply(self, [x, repeats], [TensorType(x.dtype, bcast)])

    def perform(self, node, inputs):
        x, repeats = (np.asarray(v) for v in inputs)
        if len(repeats) != x.shape[self.axis]:
            raise ShapeError("repeat: %s gives %d repeats for the %d elements of %s on axis %d",
                             str(node.inputs[1]), len(repeats), x.shape[self.axis], node.inputs[0], self.axis)
        if (repeats < 0).any():
            raise LoopcValueError("repeat: repeats must be >= 0, got %d", int(repeats.min()))
        return [np.repeat(x, repeats, axis=self.axis)]


# -- indexing -------------------------------------------------------------------
# An index list holds, per indexed axis, "i" (an integer scalar input) or a slice
# ("s", has_start, has_stop, has_step) whose present parts are scalar inputs.
# The index inputs follow the indexed tensor (and, for IncSubtensor, the value).

def index_arity(idx_list):
    return sum(1 if item == "i" else sum(item[1:]) for item in idx_list)


def build_index(idx_list, values):
    """The Python index that an index list and its input values stand for."""
    values, index = iter(values), []
    for item in idx_list:
        if item == "i":
            index.append(int(next(values)))
        else:
            index.append(slice(*(int(next(values)) if present else None for present in item[1:])))
    return tuple(index)


def _check_index_inputs(opname, indices):
    for v in indices:
        if v.ndim != 0 or not (is_int(v.dtype) or v.dtype == "bool"):
            raise LoopcTypeError("%s: indices must be integer scalars, got %s", opname, v.type.describe())


def subtensor_type(x, idx_list):
    if len(idx_list) > x.ndim:
        raise LoopcIndexError("too many indices for %s: %d given, it has ndim %d", x, len(idx_list), x.ndim)
    bcast = []
    for axis, item in enumerate(idx_list):
        if item != "i":
            bcast.append(x.broadcastable[axis] and not any(item[1:]))
    bcast.extend(x.broadcastable[len(idx_list):])
    return TensorType(x.dtype, tuple(bcast))


def check_int_index(name, axis, i, length):
    if not -length <= i < length:
        raise LoopcIndexError("index %d is out of bounds for axis %d of %s with length %d", i, axis, name, length)


@dataclass(frozen=True)
class Subtensor(Op):
    idx_list: tuple
    name = "subtensor"

    def make_node(self, x, *indices):
        if len(indices) != index_arity(self.idx_list):
            raise LoopcValueError("subtensor%s expects %d index inputs, got %d", self.idx_list,
                                  index_arity(self.idx_list), len(indices))
        _check_index_inputs("subtensor", indices)
        return Apply(self, [x, *indices], [subtensor_type(x, self.idx_list)])

    def perform(self, node, inputs):
        x, *values = inputs
        index = build_index(self.idx_list, values)
        for axis, i in enumerate(index):
            if isinstance(i, int):
                check_int_index(str(node.inputs[0]), axis, i, np.shape(x)[axis])
        return [np.asarray(x)[index]]


@dataclass(frozen=True)
class IncSubtensor(Op):
    idx_list: tuple
    set_instead_of_inc: bool = False

    @property
    def name(self):
        return "set_subtensor" if self.set_instead_of_inc else "inc_subtensor"

    def make_node(self, x, y, *indices):
        if len(indices) != index_arity(self.idx_list):
            raise LoopcValueError("%s expects %d index inputs, got %d", self.name,
                                  index_arity(self.idx_list), len(indices))
        _check_index_inputs(self.name, indices)
        region = subtensor_type(x, self.idx_list)
        if y.ndim != region.ndim:
            raise LoopcTypeError("%s: the value %s has ndim %d, the indexed region of %s has ndim %d",
                                 self.name, y, y.ndim, x, region.ndim)
        return Apply(self, [x, y, *indices], [x.type])

    def perform(self, node, inputs):
        x, y, *values = inputs
        out = np.array(x, copy=True)
        index = build_index(self.idx_list, values)
        for axis, i in enumerate(index):
            if isinstance(i, int):
                check_int_index(str(node.inputs[0]), axis, i, out.shape[axis])
        region = out[index]
        for axis, (m, n) in enumerate(zip(np.shape(y), np.shape(region))):
            if m != 1 and m != n:
                raise ShapeError("%s: the value %s has length %d on axis %d, the region of %s it goes to has %d",
                                 self.name, node.inputs[1], m, axis, node.inputs[0], n)
        if self.set_instead_of_inc:
            out[index] = y
        else:
            out[index] += np.asarray(y, dtype=out.dtype) if out.ndim else y
        return [out]


@dataclass(frozen=True)
class AdvancedSubtensor1(Op):
    name = "take"

    def make_node(self, x, idx):
        if idx.ndim != 1 or not is_int(idx.dtype):
            raise LoopcTypeError("indexing %s with an array needs an integer vector, got %s",
                                 x, idx.type.describe())
        if x.ndim < 1:
            raise LoopcIndexError("cannot index the 0-d tensor %s", x)
        return Apply(self, [x, idx], [TensorType(x.dtype, (False,) + x.broadcastable[1:])])

    def perform(self, node, inputs):
        x, idx = (np.asarray(v) for v in inputs)
        for i in idx:
            check_int_index(str(node.inputs[0]), 0, int(i), x.shape[0])
        return [x[idx]]


@dataclass(frozen=True)
class AdvancedIncSubtensor1(Op):
    set_instead_of_inc: bool = False

    @property
    def name(self):
        return "set_take" if self.set_instead_of_inc else "inc_take"

    def make_node(self, x, y, idx):
        if idx.ndim != 1 or not is_int(idx.dtype):
            raise LoopcTypeError("%s needs an integer vector index, got %s", self.name, idx.type.describe())
        if y.ndim != x.ndim:
            raise LoopcTypeError("%s: value %s has ndim %d, expected %d", self.name, y, y.ndim, x.ndim)
        return Apply(self, [x, y, idx], [x.type])

    def perform(self, node, inputs):
        x, y, idx = inputs
        out = np.array(x, copy=True)
        for i in idx:
            check_int_index(str(node.inputs[0]), 0, int(i), out.shape[0])
        region = (len(idx),) + out.shape[1:]
        for axis, (m, n) in enumerate(zip(np.shape(y), region)):
            if not node.inputs[1].broadcastable[axis] and m != n:
                raise ShapeError("%s: the value %s has length %d on axis %d, the region of %s it goes to has %d",
                                 self.name, node.inputs[1], m, axis, node.inputs[0], n)
        y = np.broadcast_to(np.asarray(y, dtype=out.dtype), region)
        for k, i in enumerate(idx):
            if self.set_instead_of_inc:
                out[i] = y[k]
            else:
                out[i] += y[k]
        return [out]


# -- advanced indexing --------------------------------------------------------------
# An advanced index list holds, per indexed axis, "a" (an integer array input of any
# ndim, 0-d included: NumPy treats an integer beside arrays as a 0-d array) or a slice
# ("s", has_start, has_stop, has_step) as in basic indexing; at least one "a". The
# arrays broadcast together by loopc's rule (right-aligned; an axis not flagged
# broadcastable must have the same length in every array that has it). NumPy's rule
# places the broadcast axes: where the first array is when the arrays are adjacent in
# the list, else first. Boolean masks are the frontend's (`nonzero`).

def advanced_arity(idx_list):
    return sum(1 if item == "a" else sum(item[1:]) for item in idx_list)


def advanced_layout(idx_list, ndim, n_broadcast):
    """Per output axis, ("b", d) for axis d of the arrays' broadcast shape or ("x", k)
    for axis k of the indexed tensor (a slice or an axis not indexed)."""
    arrays = [k for k, item in enumerate(idx_list) if item == "a"]
    rest = [("x", k) for k in range(ndim) if k not in arrays]
    block = [("b", d) for d in range(n_broadcast)]
    if arrays != list(range(arrays[0], arrays[-1] + 1)):
        return block + rest
    return rest[:arrays[0]] + block + rest[arrays[0]:]


def advanced_broadcast(arrays):
    """Broadcast flags of the arrays' broadcast shape."""
    ndim = max(a.ndim for a in arrays)
    flags = []
    for d in range(ndim):
        flags.append(all(a.broadcastable[d - ndim + a.ndim] for a in arrays if d >= ndim - a.ndim))
    return tuple(flags)


def advanced_type(opname, x, idx_list, indices):
    """The type of `x[index]` for an advanced index list, after checking the index inputs."""
    if not any(item == "a" for item in idx_list):
        raise LoopcValueError("%s needs at least one integer array in its index list %s", opname, idx_list)
    if len(idx_list) > x.ndim:
        raise LoopcIndexError("too many indices for %s: %d given, it has ndim %d", x, len(idx_list), x.ndim)
    if len(indices) != advanced_arity(idx_list):
        raise LoopcValueError("%s%s expects %d index inputs, got %d", opname, idx_list, advanced_arity(idx_list),
                              len(indices))
    values, arrays = iter(indices), []
    for item in idx_list:
        if item == "a":
            v = next(values)
            if not is_int(v.dtype):
                raise LoopcTypeError("%s: an index array must have an integer dtype, got %s", opname,
                                     v.type.describe())
            arrays.append(v)
        else:
            _check_index_inputs(opname, [next(values) for present in item[1:] if present])
    block = advanced_broadcast(arrays)
    flags = []
    for kind, k in advanced_layout(idx_list, x.ndim, len(block)):
        if kind == "b":
            flags.append(block[k])
        else:
            item = idx_list[k] if k < len(idx_list) else ("s", False, False, False)
            flags.append(x.broadcastable[k] and not any(item[1:]))
    return TensorType(x.dtype, tuple(flags))


def check_index_broadcast(name, variables, shapes):
    """loopc's rule for index arrays: right-aligned, lengths agree on axes not flagged broadcastable."""
    ndim = max(len(s) for s in shapes)
    for d in range(ndim):
        owners = [(str(v), s[d - ndim + len(s)]) for v, s in zip(variables, shapes)
                  if d >= ndim - len(s) and not v.broadcastable[d - ndim + len(s)]]
        if len({n for _, n in owners}) > 1:
            raise LoopcIndexError("indexing %s: the index arrays %s have lengths %s on axis %d of their broadcast "
                                  "shape, which must be equal", name, [v for v, _ in owners],
                                  [n for _, n in owners], d)


def build_advanced_index(name, idx_list, shape, index_vars, values):
    """The NumPy index an advanced index list stands for, after the checks the
    lowering makes too (in its order: the arrays broadcast, then each is in bounds)."""
    values, index, arrays, variables = iter(values), [], [], iter(index_vars)
    for item in idx_list:
        if item == "a":
            arr = np.asarray(next(values))
            arrays.append((next(variables), arr))
            index.append(arr)
        else:
            for present in item[1:]:
                if present:
                    next(variables)
            index.append(slice(*(int(next(values)) if present else None for present in item[1:])))
    check_index_broadcast(name, [v for v, _ in arrays], [a.shape for _, a in arrays])
    axes = [k for k, item in enumerate(idx_list) if item == "a"]
    for axis, (_, arr) in zip(axes, arrays):
        for i in arr.reshape(-1):
            check_int_index(name, axis, int(i), shape[axis])
    return tuple(a.astype(np.intp) if isinstance(a, np.ndarray) else a for a in index)


@dataclass(frozen=True)
class AdvancedSubtensor(Op):
    """`x[index]` with integer arrays (NumPy's advanced indexing) and slices."""

    idx_list: tuple
    name = "advanced_subtensor"

    def make_node(self, x, *indices):
        return Apply(self, [x, *indices], [advanced_type(self.name, x, self.idx_list, indices)])

    def perform(self, node, inputs):
        x, *values = inputs
        x = np.asarray(x)
        index = build_advanced_index(str(node.inputs[0]), self.idx_list, x.shape, node.inputs[1:], values)
        return [x[index]]


@dataclass(frozen=True)
class AdvancedIncSubtensor(Op):
    """A copy of `x` with `y` added to (or written into) `x[index]`, index as in
    AdvancedSubtensor. Repeated positions accumulate (`np.add.at`); with
    set_instead_of_inc the last write wins. `y` has the region's ndim; an axis of `y`
    not flagged broadcastable has the region's length."""

    idx_list: tuple
    set_instead_of_inc: bool = False

    @property
    def name(self):
        return "advanced_set_subtensor" if self.set_instead_of_inc else "advanced_inc_subtensor"

    def make_node(self, x, y, *indices):
        region = advanced_type(self.name, x, self.idx_list, indices)
        if y.ndim != region.ndim:
            raise LoopcTypeError("%s: the value %s has ndim %d, the indexed region of %s has ndim %d",
                                 self.name, y, y.ndim, x, region.ndim)
        return Apply(self, [x, y, *indices], [x.type])

    def perform(self, node, inputs):
        x, y, *values = inputs
        out = np.array(x, copy=True, order="C")
        index = build_advanced_index(str(node.inputs[0]), self.idx_list, out.shape, node.inputs[2:], values)
        positions = np.arange(out.size).reshape(out.shape)[index]  # flat offsets of the region, in order
        for axis, (m, n) in enumerate(zip(np.shape(y), positions.shape)):
            if not node.inputs[1].broadcastable[axis] and m != n:
                raise ShapeError("%s: the value %s has length %d on axis %d, the region of %s it goes to has %d",
                                 self.name, node.inputs[1], m, axis, node.inputs[0], n)
        y = np.broadcast_to(np.asarray(y).astype(out.dtype), positions.shape)
        flat = out.reshape(-1)
        if self.set_instead_of_inc:
            flat[positions.reshape(-1)] = y.reshape(-1)  # NumPy: the last of repeated positions wins
        else:
            np.add.at(flat, positions.reshape(-1), y.reshape(-1))
        return [out]


@dataclass(frozen=True)
class Nonzero(Op):
    """NumPy's nonzero: one int64 vector per axis of `x`, the coordinates of its
    nonzero elements in C order."""

    name = "nonzero"

    def make_node(self, x):
        if x.ndim < 1:
            raise LoopcTypeError("nonzero of the 0-d tensor %s is not defined; index a tensor of ndim >= 1", x)
        return Apply(self, [x], [TensorType("int64", (False,)) for _ in range(x.ndim)])

    def perform(self, node, inputs):
        return [np.asarray(i, dtype="int64") for i in np.nonzero(np.asarray(inputs[0]))]


@dataclass(frozen=True)
class CheckLengths(Op):
    """`x` itself, after checking that it has the lengths of `y` on paired axes: `pairs`
    holds (axis of x, axis of y); a mismatch raises `error`, the message starting with
    `what` (a boolean mask against the tensor it indexes, the summed axes of tensordot)."""

    pairs: tuple
    what: str
    error: str = "ShapeError"
    name = "check_lengths"

    def make_node(self, x, y):
        for i, j in self.pairs:
            if not (0 <= i < x.ndim and 0 <= j < y.ndim):
                raise LoopcValueError("check_lengths: axes %d, %d out of range for %s and %s", i, j, x, y)
        return Apply(self, [x, y], [x.type])

    def message(self, i, j):
        """The %-format of the error for pair (i, j): x's name and length, then y's."""
        return f"{self.what}: axis {i} of %s has length %d but axis {j} of %s has length %d"

    def perform(self, node, inputs):
        x, y = inputs
        for i, j in self.pairs:
            if np.shape(x)[i] != np.shape(y)[j]:
                raise ERRORS[self.error](self.message(i, j), str(node.inputs[0]), np.shape(x)[i],
                                         str(node.inputs[1]), np.shape(y)[j])
        return [x]


@dataclass(frozen=True)
class GradOverride(Op):
    """`x` itself; only its gradient differs (Theano's `zero_grad`, `disconnected_grad`,
    `consider_constant`, `grad_clip`, `grad_scale`). `kind` is one of `GRAD_OVERRIDES`:
    'zero' (zeros, still connected), 'disconnected' (no gradient at all), 'clip' (the
    gradient clipped to `params` = (lower, upper)) or 'scale' (times `params` = (factor,)).
    Canonicalize removes the node; lowering without the passes binds `x`."""

    kind: str
    params: tuple = ()
    name = "grad_override"

    def make_node(self, x):
        if self.kind not in GRAD_OVERRIDES:
            raise LoopcValueError("grad_override: kind must be one of %s, got %r", GRAD_OVERRIDES, self.kind)
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs):
        return [inputs[0]]


GRAD_OVERRIDES = ("zero", "disconnected", "clip", "scale")


ERRORS = {"LoopcIndexError": LoopcIndexError, "ShapeError": ShapeError}


# -- creation -----------------------------------------------------------------

@dataclass(frozen=True)
class Alloc(Op):
    """`value` broadcast to the shape given by the scalar inputs."""

    name = "alloc"

    def make_node(self, value, *shape):
        if len(shape) < value.ndim:
            raise LoopcValueError("alloc: %d dims given for a value of ndim %d", len(shape), value.ndim)
        for s in shape:
            if s.ndim != 0 or not is_int(s.dtype):
                raise LoopcTypeError("alloc: shape entries must be integer scalars, got %s", s.type.describe())
        bcast = tuple(isinstance(s, Constant) and int(s.data) == 1 for s in shape)
        return Apply(self, [value, *shape], [TensorType(value.dtype, bcast)])

    def perform(self, node, inputs):
        value, *shape = inputs
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise LoopcValueError("alloc: negative dimension in shape %s", shape)
        try:
            return [np.array(np.broadcast_to(value, shape))]
        except ValueError:
            raise ShapeError("alloc: cannot broadcast a value of shape %s to %s", np.shape(value), shape) from None


@dataclass(frozen=True)
class ARange(Op):
    dtype: str
    name = "arange"

    def make_node(self, start, stop, step):
        for v in (start, stop, step):
            if v.ndim != 0:
                raise LoopcTypeError("arange: start, stop and step must be scalars, got %s", v.type.describe())
        return Apply(self, [start, stop, step], [TensorType(self.dtype, (False,))])

    def perform(self, node, inputs):
        start, stop, step = inputs
        if step == 0:
            raise LoopcValueError("arange: step must not be 0")
        return [np.arange(start, stop, step).astype(self.dtype)]


@dataclass(frozen=True)
class Eye(Op):
    dtype: str
    name = "eye"

    def make_node(self, n, m, k):
        return Apply(self, [n, m, k], [TensorType(self.dtype, (False, False))])

    def perform(self, node, inputs):
        n, m, k = (int(v) for v in inputs)
        return [np.eye(n, m, k, dtype=self.dtype)]


@dataclass(frozen=True)
class MakeVector(Op):
    dtype: str
    name = "make_vector"

    def make_node(self, *scalars):
        for s in scalars:
            if s.ndim != 0:
                raise LoopcTypeError("make_vector takes scalars, got %s", s.type.describe())
        return Apply(self, scalars, [TensorType(self.dtype, (len(scalars) == 1,))])

    def perform(self, node, inputs):
        return [np.array([np.asarray(v) for v in inputs], dtype=self.dtype).reshape(len(inputs))]


# -- side effects ---------------------------------------------------------------

@dataclass(frozen=True)
class Print(Op):
    """Identity that prints `message __str__ = value` when run (Theano's printing.Print)."""

    message: str
    attrs: tuple = ("__str__",)
    name = "print"

    def make_node(self, x):
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs):
        (x,) = inputs
        print(format_print(self.message, self.attrs, x))
        return [x]


@dataclass(frozen=True)
class RandomOp(Op):
    """Draws `dist(*params, size)` from the rng input; outputs (new rng, sample)."""

    dist: str
    dtype: str
    ndim: int

    @property
    def name(self):
        return f"random_{self.dist}"

    def make_node(self, rng, size, *params):
        if not isinstance(rng.type, RandomStateType):
            raise LoopcTypeError("%s: the first input must be a random state, got %s", self.name, rng)
        if size.ndim != 1 or not is_int(size.dtype):
            raise LoopcTypeError("%s: size must be an integer vector, got %s", self.name, size.type.describe())
        return Apply(self, [rng, size, *params], [RandomStateType(), TensorType(self.dtype, (False,) * self.ndim)])

    def perform(self, node, inputs):
        rng, size, *params = inputs
        rng = copy.deepcopy(rng)  # functional: the input state is left as it was
        return [rng, draw(rng, self.dist, self.dtype, size, params)]
