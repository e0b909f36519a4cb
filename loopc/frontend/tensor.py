"""Theano's `theano.tensor` surface, built only from the ops of `loopc.ir.ops`.

Invariant: every function here returns IR variables whose graph uses nothing but
the op table, with NumPy's result dtypes. Python scalars are weak (NEP 50): in
`x * 2.0` the 2.0 takes the dtype NumPy 2 would give it next to `x`, so float32
graphs stay float32; NumPy arrays and NumPy scalars keep their own dtype.
Elementwise inputs of lower ndim are padded on the left with broadcastable
axes (`DimShuffle`), because `Elemwise` takes inputs of equal ndim.

This module shadows some builtins (`sum`, `max`, `min`, `abs`, `round`, `pow`,
`all`, `any`); code here reaches the builtins through `builtins.`.
"""
import builtins

import numpy as np

from ..config import config
from ..errors import LoopcIndexError, LoopcTypeError, LoopcValueError
from ..ir.graph import Constant, SharedVariable, Variable
from ..ir.ops import (SCALAR_OPS, AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor,
                      AdvancedSubtensor1, Alloc, ARange, BatchedDot, CheckLengths, Concatenate, DimShuffle, Dot,
                      Elemwise, Eye, IncSubtensor, MakeVector, Nonzero, Reduce, Reshape, Shape, ShapeI, Subtensor)
from ..ir.ops import CumOp, Repeat, Sort
from ..ir import types
from ..ir.types import TensorType, float_of, is_discrete, is_float, is_int, upcast

# Theano's class names, for isinstance checks in user code.
TensorVariable = Variable
TensorConstant = Constant
TensorSharedVariable = SharedVariable


def _describe(var):
    """Words naming a variable and its type, for error messages."""
    return f"{var} ({var.type.describe()})"


# -- typed constructors ---------------------------------------------------------

def as_dtype(dtype):
    """A dtype spelling ('floatX' included: the IR never sees it) as its NumPy name."""
    return types.as_dtype(config.floatX if dtype == "floatX" else dtype)


def tensor(dtype=None, broadcastable=(), name=None):
    """A new input variable of `TensorType(dtype, broadcastable)` (dtype None: floatX)."""
    return TensorType(as_dtype(dtype or "floatX"), broadcastable)(name)


_KINDS = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False),
          "col": (False, True), "tensor3": (False,) * 3, "tensor4": (False,) * 4, "tensor5": (False,) * 5}
_PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64"}
_PLURALS = {"scalar": "scalars", "vector": "vectors", "matrix": "matrices", "row": "rows", "col": "cols",
            "tensor3": "tensor3s", "tensor4": "tensor4s", "tensor5": "tensor5s"}


def _typed_constructor(kind, fixed_dtype):
    bcast = _KINDS[kind]
    if fixed_dtype:
        def make(name=None):
            return TensorType(fixed_dtype, bcast)(name)
    else:
        def make(name=None, dtype=None):
            return TensorType(as_dtype(dtype or "floatX"), bcast)(name)

    make.__name__ = make.__qualname__ = (_dtype_prefix(fixed_dtype) + kind)
    make.__doc__ = f"A new {fixed_dtype or 'floatX'} {kind} input variable (broadcastable {bcast})."
    return make


def _dtype_prefix(dtype):
    return {d: p for p, d in _PREFIXES.items()}.get(dtype, "")


def _plural_constructor(single):
    """Theano's `scalars('x', 'y')`, `dvectors(3)`, `fmatrices('ab')`."""

    def make(*names, dtype=None):
        kwargs = {} if dtype is None else {"dtype": dtype}
        if len(names) == 1 and isinstance(names[0], int):
            return [single(**kwargs) for _ in range(names[0])]
        if len(names) == 1:
            names = names[0]
        if len(names) == 1:
            return single(names, **kwargs)
        return [single(n, **kwargs) for n in names]

    make.__name__ = make.__qualname__ = single.__name__ + "s"
    make.__doc__ = f"Several `{single.__name__}` variables: one per name (or a count)."
    return make


_CONSTRUCTORS = {}
for _kind in _KINDS:
    for _dtype in (None, *_PREFIXES.values()):
        _single = _typed_constructor(_kind, _dtype)
        _CONSTRUCTORS[_single.__name__] = _single
        _CONSTRUCTORS[_dtype_prefix(_dtype) + _PLURALS[_kind]] = _plural_constructor(_single)
globals().update(_CONSTRUCTORS)
del _kind, _dtype, _single


# -- conversion -----------------------------------------------------------------

def _is_weak(x):
    """Python scalars are weakly typed (NEP 50); NumPy scalars are not."""
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def _default_array(x, dtype=None):
    """`x` as an array: Python floats -> floatX, Python ints -> int64, bools -> bool."""
    if dtype is not None:
        try:
            return np.array(np.asarray(x).astype(as_dtype(dtype)))
        except (TypeError, ValueError, OverflowError) as exc:
            raise LoopcTypeError("cannot make a %s constant from %r (%s)", dtype, x, exc) from None
    if isinstance(x, (np.ndarray, np.generic)):
        return np.array(x)
    if isinstance(x, bool):
        return np.array(x, dtype="bool")
    if isinstance(x, int):
        if not -2**63 <= x < 2**64:
            raise LoopcTypeError("the Python int %d does not fit in 64 bits", x)
        return np.array(x, dtype="int64" if x < 2**63 else "uint64")
    arr = np.array(x)
    if arr.dtype.kind not in "biufc":
        raise LoopcTypeError("cannot make a tensor constant from %r (a %s; expected a number, a list "
                             "of numbers or a NumPy array)", x, type(x).__name__)
    if arr.dtype == np.float64:  # Python floats (also inside lists) take floatX
        arr = arr.astype(config.floatX)
    return arr


def constant(x, name=None, ndim=None, dtype=None):
    """A `Constant` holding `x` as an array (see the module docstring for its dtype)."""
    data = _default_array(x, dtype)
    if ndim is not None and data.ndim != ndim:
        data = _fit_ndim_data(data, ndim, x)
    as_dtype(data.dtype.name)  # raises on an unsupported dtype (float16, object, ...)
    bcast = tuple(n == 1 for n in data.shape)
    return Constant(TensorType(data.dtype.name, bcast), data, name=name)


def _fit_ndim_data(data, ndim, x):
    squeezed = data.reshape(data.shape[data.ndim - ndim:]) if data.ndim > ndim else data
    if data.ndim > ndim and builtins.all(n == 1 for n in data.shape[:data.ndim - ndim]):
        return squeezed
    if data.ndim < ndim:
        return data.reshape((1,) * (ndim - data.ndim) + data.shape)
    raise LoopcTypeError("cannot make a constant of ndim %d from %r (shape %s)", ndim, x, data.shape)


def as_tensor_variable(x, name=None, ndim=None):
    """`x` as a tensor variable: variables pass through, everything else becomes a `Constant`.

    A list holding variables is stacked. With `ndim`, leading broadcastable axes are
    added or dropped to reach it."""
    if isinstance(x, Variable):
        return x if ndim is None or x.ndim == ndim else _fit_ndim(x, ndim)
    if isinstance(x, (list, tuple)) and builtins.any(isinstance(v, Variable) for v in x):
        return as_tensor_variable(stack(list(x)), name, ndim)
    return constant(x, name=name, ndim=ndim)


def _fit_ndim(x, ndim):
    if x.ndim < ndim:
        return _pad(x, ndim)
    extra = x.ndim - ndim
    if builtins.all(x.broadcastable[:extra]):
        return DimShuffle(tuple(range(extra, x.ndim)))(x)
    raise LoopcTypeError("%s cannot be used where ndim %d is expected", _describe(x), ndim)


def _pad(x, ndim):
    """`x` with broadcastable axes added on the left up to `ndim`."""
    if x.ndim == ndim:
        return x
    return DimShuffle(("x",) * (ndim - x.ndim) + tuple(range(x.ndim)))(x)


def _weak_constant(x, dtypes):
    """The Python scalar `x` as a constant of the dtype NumPy 2 gives it next to `dtypes`."""
    if not dtypes:
        return constant(x)
    try:
        dtype = np.result_type(*[np.dtype(d) for d in dtypes], x).name
        return Constant(TensorType(dtype, ()), np.asarray(x, dtype=dtype))
    except (OverflowError, TypeError):
        return constant(x)


def _as_tensors(args, weak_context=None):
    """Convert arguments, typing Python scalars by the dtypes of the others (or of
    the arguments at the positions in `weak_context`)."""
    strong = {i: as_tensor_variable(a) for i, a in enumerate(args) if not _is_weak(a)}
    context = range(len(args)) if weak_context is None else weak_context
    dtypes = [strong[i].dtype for i in context if i in strong]
    return [strong[i] if i in strong else _weak_constant(a, dtypes) for i, a in enumerate(args)]


# -- elementwise ----------------------------------------------------------------

def elemwise(scalar, *args):
    """Apply the scalar op `scalar` of `SCALAR_OPS` elementwise, NumPy-style broadcast."""
    context = range(1, len(args)) if scalar == "switch" else None
    tensors = _as_tensors(args, context)
    ndim = builtins.max(t.ndim for t in tensors)
    return Elemwise(scalar)(*[_pad(t, ndim) for t in tensors])


def _unary(scalar, name=None):
    def fn(x):
        return elemwise(scalar, x)

    fn.__name__ = fn.__qualname__ = name or scalar
    fn.__doc__ = f"Elementwise `{scalar}`, as NumPy's `{SCALAR_OPS[scalar].numpy.__name__}`."
    return fn


def _binary(scalar, name=None):
    def fn(a, b):
        return elemwise(scalar, a, b)

    fn.__name__ = fn.__qualname__ = name or scalar
    fn.__doc__ = f"Elementwise `{scalar}` of two broadcast inputs."
    return fn


def add(a, *rest):
    """Elementwise sum of one or more inputs (Theano's add is variadic)."""
    for b in rest:
        a = elemwise("add", a, b)
    return a if rest else as_tensor_variable(a)


def mul(a, *rest):
    """Elementwise product of one or more inputs."""
    for b in rest:
        a = elemwise("mul", a, b)
    return a if rest else as_tensor_variable(a)


sub = _binary("sub")
true_div = _binary("true_div")
int_div = _binary("int_div")
mod = _binary("mod")
pow = _binary("pow")
maximum = _binary("maximum")
minimum = _binary("minimum")
arctan2 = _binary("arctan2")
eq = _binary("eq")
neq = _binary("neq")
lt = _binary("lt")
le = _binary("le")
gt = _binary("gt")
ge = _binary("ge")
and_ = _binary("and", "and_")
or_ = _binary("or", "or_")
xor = _binary("xor")

neg = _unary("neg")
abs_ = _unary("abs", "abs_")
sgn = _unary("sgn")
sqr = _unary("sqr")
sqrt = _unary("sqrt")
exp = _unary("exp")
exp2 = _unary("exp2")
expm1 = _unary("expm1")
log = _unary("log")
log2 = _unary("log2")
log10 = _unary("log10")
log1p = _unary("log1p")
sin = _unary("sin")
cos = _unary("cos")
tan = _unary("tan")
arcsin = _unary("arcsin")
arccos = _unary("arccos")
arctan = _unary("arctan")
sinh = _unary("sinh")
cosh = _unary("cosh")
tanh = _unary("tanh")
arcsinh = _unary("arcsinh")
arccosh = _unary("arccosh")
arctanh = _unary("arctanh")
sigmoid = _unary("sigmoid")
softplus = _unary("softplus")
erf = _unary("erf")
floor = _unary("floor")
ceil = _unary("ceil")
trunc = _unary("trunc")
invert = _unary("invert")
isnan = _unary("isnan")
isinf = _unary("isinf")
identity = _unary("identity")


def inv(x):
    """Elementwise 1/x; integer inputs are upgraded to float first, as in Theano."""
    x = as_tensor_variable(x)
    return elemwise("inv", cast(x, float_of(x.dtype)) if is_discrete(x.dtype) else x)


def round(x, mode="half_to_even"):
    """Elementwise rounding: `half_to_even` (NumPy's and Python's) or `half_away_from_zero`."""
    if mode == "half_to_even":
        return elemwise("round", x)
    if mode == "half_away_from_zero":
        return mul(sgn(x), floor(add(abs_(x), 0.5)))
    raise LoopcValueError("round: mode must be 'half_to_even' or 'half_away_from_zero', got %r", mode)


def round_half_to_even(x):
    return round(x, "half_to_even")


def round_half_away_from_zero(x):
    return round(x, "half_away_from_zero")


def switch(cond, ift, iff):
    """Elementwise `ift if cond else iff` (NumPy's three-argument `where`)."""
    return elemwise("switch", cond, ift, iff)


def where(cond, ift=None, iff=None):
    """`switch`; with the condition alone, NumPy's one-argument form (`nonzero`)."""
    if ift is None and iff is None:
        return nonzero(cond)
    if ift is None or iff is None:
        raise LoopcTypeError("where(cond, x, y) needs both x and y, or neither (nonzero)")
    return switch(cond, ift, iff)


def clip(x, lo, hi):
    """Elementwise `minimum(maximum(x, lo), hi)`."""
    return minimum(maximum(x, lo), hi)


def cast(x, dtype):
    """`x` converted to `dtype` ('floatX' allowed); `x` itself when the dtype already matches."""
    x = as_tensor_variable(x)
    dtype = as_dtype(dtype)
    return x if x.dtype == dtype else Elemwise("cast", dtype)(x)


def largest(*args):
    """Elementwise maximum of all arguments."""
    out = args[0]
    for a in args[1:]:
        out = maximum(out, a)
    return as_tensor_variable(out)


def smallest(*args):
    """Elementwise minimum of all arguments."""
    out = args[0]
    for a in args[1:]:
        out = minimum(out, a)
    return as_tensor_variable(out)


# Theano and NumPy spellings of the same ops.
abs = abs_
sub_ = sub
floor_div = int_div
power = pow
square = sqr
sign = sgn
reciprocal = inv
bitwise_and = and_
bitwise_or = or_
bitwise_xor = xor
bitwise_not = invert
tensor_copy = identity


# -- linear algebra -------------------------------------------------------------

def dot(a, b):
    """`numpy.dot`: beyond 2-d, the last axis of `a` with the second-to-last of `b` (its
    only one for a vector), as `tensordot` (one matrix product of reshaped operands)."""
    a, b = _as_tensors([a, b])
    if a.ndim <= 2 and b.ndim <= 2:
        return Dot()(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    return _tensordot(a, b, [a.ndim - 1], [builtins.max(0, b.ndim - 2)], "dot")


def tensordot(a, b, axes=2):
    """`numpy.tensordot`: the sum of products over `axes` (an int n: the last n axes of
    `a` with the first n of `b`; or two lists of axes, paired in order). The result has
    the other axes of `a`, then those of `b`. Computed as one matrix product: each
    operand transposed to (kept axes, summed axes) and reshaped to 2-d, which is the
    form BLAS wants; the product is reshaped back."""
    a, b = _as_tensors([a, b])
    return _tensordot(a, b, *_tensordot_axes(a, b, axes, "tensordot"), "tensordot")


def _tensordot(a, b, axes_a, axes_b, what):
    a = _check_contracted(a, b, axes_a, axes_b, what)
    if not axes_a:  # nothing summed: the outer product
        return mul(a.dimshuffle(*range(a.ndim), *["x"] * b.ndim), b.dimshuffle(*["x"] * a.ndim, *range(b.ndim)))
    free_a = [k for k in range(a.ndim) if k not in axes_a]
    free_b = [k for k in range(b.ndim) if k not in axes_b]
    product = Dot()(_grouped(a, [free_a, axes_a]), _grouped(b, [axes_b, free_b]))
    if len(free_a) <= 1 and len(free_b) <= 1:
        return product
    return _reshape_entries(product, _lengths(a, free_a) + _lengths(b, free_b))


def _tensordot_axes(a, b, axes, what):
    """`axes` of numpy.tensordot as two equal-length lists of axes of `a` and `b`."""
    if _static_int(axes) is not None:
        n = _static_int(axes)
        if not 0 <= n <= builtins.min(a.ndim, b.ndim):
            raise LoopcValueError("%s: axes=%d needs 0 <= axes <= the ndim of both %s and %s", what, n,
                                  _describe(a), _describe(b))
        return list(range(a.ndim - n, a.ndim)), list(range(n))
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        raise LoopcValueError("%s: axes must be an int or a pair of axis lists, got %r", what, axes)
    pair = [list(ax) if isinstance(ax, (list, tuple)) else [ax] for ax in axes]
    if len(pair[0]) != len(pair[1]):
        raise LoopcValueError("%s: axes %r pairs %d axes of a with %d of b", what, axes, len(pair[0]), len(pair[1]))
    out = []
    for x, ax in zip((a, b), pair):
        normalized = []
        for k in ax:
            k = _static_axis(k, what)
            if not -x.ndim <= k < x.ndim:
                raise LoopcValueError("%s: axis %d is out of range for %s", what, k, _describe(x))
            normalized.append(k % x.ndim)
        if len(set(normalized)) != len(normalized):
            raise LoopcValueError("%s: repeated axis in %r for %s", what, ax, _describe(x))
        out.append(normalized)
    return out[0], out[1]


def _check_contracted(a, b, axes_a, axes_b, what):
    """`a`, checked at run time to have the lengths of `b` on the paired axes: the
    matrix product of the reshaped operands would check only the products of them, and
    its message would name the reshapes."""
    pairs = tuple((i, j) for i, j in zip(axes_a, axes_b)
                  if not (a.broadcastable[i] and b.broadcastable[j]) and not (a is b and i == j))
    return _checked(CheckLengths(pairs, f"{what} (summed axes)"), a, b) if pairs else a


def _checked(check, x, y):
    """`check(x, y)` under x's name, so that errors further on name x."""
    out = check(x, y)
    out.name = x.name
    return out


def _lengths(x, axes):
    """The lengths of `axes` of `x`: the int 1 where it is broadcastable, else a ShapeI."""
    return [1 if x.broadcastable[k] else ShapeI(k)(x) for k in axes]


def _merged_length(x, axes):
    sizes = [n for n in _lengths(x, axes) if not isinstance(n, int)]
    return mul(*sizes) if sizes else 1


def _grouped(x, groups):
    """`x` with its axes ordered as the groups list them and each non-empty group merged
    into one axis (a dimshuffle, and a reshape where some group has other than one axis)."""
    x = dimshuffle(x, *[k for group in groups for k in group])
    groups = [g for g in groups if g]
    if builtins.all(len(g) == 1 for g in groups):
        return x
    position, merged = 0, []
    for g in groups:
        merged.append(_merged_length(x, range(position, position + len(g))))
        position += len(g)
    return _reshape_entries(x, merged)


def batched_dot(a, b):
    """Theano's batched_dot: `dot(a[i], b[i])` for each i along the first (batch) axis;
    a vector is a batch of scalars that scale the other. Beyond 3-d it is
    `batched_tensordot`."""
    a, b = _as_tensors([a, b])
    for v in (a, b):
        if v.ndim == 0:
            raise LoopcTypeError("batched_dot: %s has no batch axis (ndim 0)", _describe(v))
    if a.ndim == 1:
        return mul(a.dimshuffle(0, *["x"] * (b.ndim - 1)), b)
    if b.ndim == 1:
        return mul(a, b.dimshuffle(0, *["x"] * (a.ndim - 1)))
    if a.ndim > 3 or b.ndim > 3:
        return batched_tensordot(a, b, [[a.ndim - 1], [builtins.max(1, b.ndim - 2)]])
    return _batched_product(a, b)


def _batched_product(a, b):
    """`a[i] . b[i]` for 2- or 3-d `a` and `b` (a batch of vectors or of matrices). With
    a matrix among them: `BatchedDot` (one BLAS product per batch element), vectors as
    broadcastable rows and columns; two batches of vectors: the sum of their products."""
    if a.ndim == 3 and b.ndim == 3:  # (B, m, n) . (B, n, k)
        return BatchedDot()(a, b)
    if a.ndim == 3 or b.ndim == 3:  # checked here: BatchedDot's own message would name the dimshuffle
        a = _checked(CheckLengths(((0, 0), (a.ndim - 1, 1)), "batched_dot (batch and summed axes)"), a, b)
    if a.ndim == 3:  # (B, m, n) . (B, n)
        return BatchedDot()(a, b.dimshuffle(0, 1, "x")).dimshuffle(0, 1)
    if b.ndim == 3:  # (B, n) . (B, n, k)
        return BatchedDot()(a.dimshuffle(0, "x", 1), b).dimshuffle(0, 2)
    products = mul(a, b)  # (B, n) . (B, n): one fused loop nest
    if products.dtype == "bool":  # NumPy's matmul of bools: any of the ands
        return any(products, 1)
    return sum(products, 1, acc_dtype=products.dtype)


def batched_tensordot(a, b, axes=2):
    """Theano's batched_tensordot: `tensordot(a[i], b[i], axes)` for each i along the
    first axis; `axes` never names axis 0 (an int n: the last n axes of `a` with axes
    1..n of `b`)."""
    a, b = _as_tensors([a, b])
    for v in (a, b):
        if v.ndim < 2:
            raise LoopcTypeError("batched_tensordot: %s needs a batch axis and at least one more", _describe(v))
    if _static_int(axes) is not None:
        n = _static_int(axes)
        if not 0 <= n < builtins.min(a.ndim, b.ndim):
            raise LoopcValueError("batched_tensordot: axes=%d needs 0 <= axes < the ndim of both %s and %s", n,
                                  _describe(a), _describe(b))
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)), list(range(1, n + 1))
    else:
        axes_a, axes_b = _tensordot_axes(a, b, axes, "batched_tensordot")
    if 0 in axes_a or 0 in axes_b:
        raise LoopcValueError("batched_tensordot: axes %r sum over the batch axis 0", axes)
    a = _check_contracted(a, b, axes_a, axes_b, "batched_tensordot")
    free_a = [k for k in range(1, a.ndim) if k not in axes_a]
    free_b = [k for k in range(1, b.ndim) if k not in axes_b]
    a3 = _grouped(a, [[0], free_a, axes_a])
    b3 = _grouped(b, [[0], axes_b, free_b])
    if not axes_a:  # nothing summed: a batch of outer products
        product = mul(a3.dimshuffle(*range(a3.ndim), *["x"] * (b3.ndim - 1)),
                      b3.dimshuffle(0, *["x"] * (a3.ndim - 1), *range(1, b3.ndim)))
    else:
        product = _batched_product(a3, b3)
    if len(free_a) <= 1 and len(free_b) <= 1:
        return product
    return _reshape_entries(product, _lengths(a, [0] + free_a) + _lengths(b, free_b))


def outer(a, b):
    """Outer product of two vectors (inputs of other ndim are flattened first)."""
    a, b = _as_tensors([a, b])
    a = a if a.ndim == 1 else flatten(a)
    b = b if b.ndim == 1 else flatten(b)
    return mul(a.dimshuffle(0, "x"), b.dimshuffle("x", 0))


# -- reductions -----------------------------------------------------------------

def _static_axis(axis, what):
    if isinstance(axis, Constant) and axis.data.ndim == 0:
        axis = axis.data.item()
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    raise LoopcTypeError("%s: axis must be a Python int, got %r", what, axis)


def _axes(x, axis, what):
    """`axis` (None, int, negative, tuple or list) as a sorted tuple of axes of `x`."""
    if axis is None:
        return tuple(range(x.ndim))
    raw = axis if isinstance(axis, (tuple, list)) else [axis]
    axes = []
    for a in raw:
        a = _static_axis(a, what)
        if not -x.ndim <= a < x.ndim:
            raise LoopcValueError("%s: axis %d is out of range for %s", what, a, _describe(x))
        axes.append(a % x.ndim)
    if len(set(axes)) != len(axes):
        raise LoopcValueError("%s: repeated axis in %r", what, axis)
    return tuple(sorted(axes))


def _keepdims(out, ndim, axes):
    """Put the reduced axes back as broadcastable axes of length 1."""
    order, kept = [], iter(range(ndim - len(axes)))
    for axis in range(ndim):
        order.append("x" if axis in axes else next(kept))
    return DimShuffle(tuple(order))(out)


def _reduce(kind, x, axis, keepdims, dtype=None):
    x = as_tensor_variable(x)
    axes = _axes(x, axis, kind)
    out = Reduce(kind, axes, dtype and as_dtype(dtype))(x)
    return _keepdims(out, x.ndim, axes) if keepdims else out


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Sum over `axis` (all axes when None); ints accumulate in 64 bits, as NumPy."""
    out = _reduce("sum", x, axis, keepdims, acc_dtype or dtype)
    return cast(out, dtype) if dtype and acc_dtype else out


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Product over `axis`."""
    out = _reduce("prod", x, axis, keepdims, acc_dtype or dtype)
    return cast(out, dtype) if dtype and acc_dtype else out


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`."""
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over `axis`."""
    return _reduce("min", x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along one axis, or in the flattened tensor when axis is None."""
    return _reduce("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along one axis, or in the flattened tensor when axis is None."""
    return _reduce("argmin", x, axis, keepdims)


def max_and_argmax(x, axis=None, keepdims=False):
    return max(x, axis, keepdims), argmax(x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """True where any element along `axis` is nonzero."""
    return _reduce("any", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """True where every element along `axis` is nonzero."""
    return _reduce("all", x, axis, keepdims)


def _count(x, axes):
    """The number of elements of `x` along `axes`, as an int64 scalar."""
    sizes = [ShapeI(a)(x) for a in axes if not x.broadcastable[a]]
    return mul(*sizes) if sizes else constant(1)


def _mean_dtype(dtype):
    return dtype if is_float(dtype) or dtype.startswith("complex") else "float64"


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Mean over `axis`, with NumPy's result dtype (float64 for integer inputs)."""
    x = as_tensor_variable(x)
    axes = _axes(x, axis, "mean")
    out_dtype = as_dtype(dtype) if dtype else _mean_dtype(x.dtype)
    acc = as_dtype(acc_dtype) if acc_dtype else _mean_dtype(out_dtype)
    total = Reduce("sum", axes, acc)(x)
    out = cast(true_div(total, cast(_count(x, axes), acc)), out_dtype)
    return _keepdims(out, x.ndim, axes) if keepdims else out


def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Theano's variance over `axis`: the mean of the squared deviations, or with `ddof`
    their sum divided by (length - ddof) once per reduced axis (numpy.var's for one
    axis; over several, Theano divides by the product of each axis's length - ddof).
    `corrected=True` is Theano's corrected two-pass algorithm: it subtracts the
    rounding error left in the deviations (their mean squared), not Bessel's correction.
    Floats keep their dtype; integers give float64, as in NumPy."""
    if isinstance(ddof, bool):
        raise LoopcValueError("var: ddof must be an int (keepdims is the fourth argument: "
                              "var(x, axis=None, ddof=0, keepdims=False, corrected=False))")
    x = as_tensor_variable(x)
    axes = _axes(x, axis, "var")
    deviation = sub(x, mean(x, axes, keepdims=True))
    v = _spread(sqr(deviation), x, axes, ddof, keepdims)
    if corrected:
        error = _spread(deviation, x, axes, ddof, keepdims, squared_count=True)
        v = sub(v, sqr(error) if not ddof else error)
    return v


def _spread(values, x, axes, ddof, keepdims, squared_count=False):
    """mean(values) over `axes` when ddof is 0; else sum(values) divided, per reduced
    axis, by its length - ddof (and, for the corrected pass, the sum squared and divided
    by (length - ddof) * length as well)."""
    if not ddof:
        return mean(values, axes, keepdims=keepdims)
    total = sum(values, axes, keepdims=keepdims)
    if squared_count:
        total = sqr(total)
    for a in axes:
        length = ShapeI(a)(x)
        divisor = sub(length, ddof)
        total = true_div(total, cast(mul(divisor, length) if squared_count else divisor, total.dtype))
    return total


def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Standard deviation over `axis`, as `numpy.std`."""
    return sqrt(var(x, axis, ddof, keepdims, corrected))


def norm(x, L=2, axis=None):
    """The L-norm over `axis` (L = 1, 2, inf or any positive power)."""
    if L == 1:
        return sum(abs_(x), axis)
    if L == 2:
        return sqrt(sum(sqr(x), axis))
    if L in (np.inf, float("inf")):
        return max(abs_(x), axis)
    return pow(sum(pow(abs_(x), L), axis), 1.0 / L)


# -- shapes ---------------------------------------------------------------------

def shape(x):
    """The shape of `x` as an int64 vector (index it: `x.shape[0]` is a scalar)."""
    return Shape()(as_tensor_variable(x))


def _static_int(v):
    """The Python int that `v` stands for when known at build time, else None."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, Constant) and v.data.ndim == 0 and is_int(v.dtype):
        return int(v.data)
    return None


def _int_scalar(v, what):
    """A Python int or integer scalar variable as an integer scalar variable."""
    n = _static_int(v)
    if n is not None:
        return v if isinstance(v, Constant) else constant(n)
    v = as_tensor_variable(v)
    if v.ndim != 0 or not (is_int(v.dtype) or v.dtype == "bool"):
        raise LoopcTypeError("%s must be an integer scalar, got %s", what, _describe(v))
    return v


def _shape_entries(shape_arg, what):
    """A shape given as an int, a tuple/list of ints and scalars, or a vector whose length
    is known when the graph is built, as a list of integer scalar variables or Python ints."""
    if isinstance(shape_arg, (list, tuple)):
        return [_static_int(s) if _static_int(s) is not None else _int_scalar(s, what) for s in shape_arg]
    if _static_int(shape_arg) is not None:
        return [_static_int(shape_arg)]
    v = as_tensor_variable(shape_arg)
    if v.ndim == 0:
        return [_int_scalar(v, what)]
    entries = _vector_entries(v)
    if entries is None:
        raise LoopcValueError("%s: the length of the shape vector %s is not known when the graph is built; "
                              "pass a tuple of scalars instead", what, v)
    return entries


def _vector_entries(v):
    """The scalars a vector is made of, when its graph shows them (else None)."""
    if isinstance(v, Constant):
        return [int(n) for n in v.data]
    op = v.owner.op if v.owner else None
    if isinstance(op, MakeVector):
        return list(v.owner.inputs)
    if isinstance(op, Shape):
        base = v.owner.inputs[0]
        return [ShapeI(i)(base) for i in range(base.ndim)]
    return None


def reshape(x, newshape, ndim=None):
    """`x` with shape `newshape` (a tuple of ints/scalars, -1 allowed; or an int vector
    with `ndim` given or visible from its graph)."""
    x = as_tensor_variable(x)
    if isinstance(newshape, Variable) and newshape.ndim == 1 and not isinstance(newshape, Constant):
        entries = _vector_entries(newshape)
        if entries is None:
            if ndim is None:
                raise LoopcValueError("reshape of %s: the length of the shape vector %s is not known; "
                                      "pass ndim", x, newshape)
            return Reshape(ndim)(x, newshape)
        newshape = entries
    entries = _shape_entries(newshape, f"reshape of {x}: the new shape")
    if ndim is not None and ndim != len(entries):
        raise LoopcValueError("reshape of %s: ndim=%d but the new shape %s has %d entries",
                              x, ndim, newshape, len(entries))
    return _reshape_entries(x, entries)


def _reshape_entries(x, entries):
    if builtins.all(isinstance(e, int) for e in entries):
        return Reshape(len(entries))(x, constant(np.array(entries, dtype="int64")))
    # Literal 1s become broadcastable axes, added after reshaping to the other entries.
    kept = [e for e in entries if not (isinstance(e, int) and e == 1)]
    scalars = [constant(e) if isinstance(e, int) else cast(e, "int64") for e in kept]
    out = Reshape(len(kept))(x, MakeVector("int64")(*scalars))
    if len(kept) == len(entries):
        return out
    order, axes = [], iter(range(len(kept)))
    for e in entries:
        order.append("x" if isinstance(e, int) and e == 1 else next(axes))
    return DimShuffle(tuple(order))(out)


def flatten(x, ndim=1, outdim=None):
    """`x` with its trailing axes merged so that it has `ndim` axes."""
    x = as_tensor_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= builtins.max(x.ndim, 1):
        raise LoopcValueError("flatten: ndim must be between 1 and %d for %s, got %d",
                              builtins.max(x.ndim, 1), _describe(x), ndim)
    if ndim == x.ndim:
        return x
    if ndim == 1:
        return _reshape_entries(x, [-1])
    lead = [1 if x.broadcastable[i] else ShapeI(i)(x) for i in range(ndim - 1)]
    return _reshape_entries(x, lead + [_count(x, range(ndim - 1, x.ndim))])


def dimshuffle(x, *pattern):
    """Theano's dimshuffle: axes of `x` in a new order, 'x' for new broadcastable axes."""
    x = as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = tuple(pattern[0])
    order = tuple(p if p == "x" else _static_axis(p, "dimshuffle") for p in pattern)
    if order == tuple(range(x.ndim)):
        return x
    return DimShuffle(order)(x)


def transpose(x, axes=None):
    """`x` with its axes reversed, or permuted as `axes` says."""
    x = as_tensor_variable(x)
    if axes is not None and len(axes) == 1 and isinstance(axes[0], (list, tuple)):
        axes = axes[0]
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    if sorted(a % builtins.max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise LoopcValueError("transpose: axes %s are not a permutation of the axes of %s", tuple(axes),
                              _describe(x))
    return dimshuffle(x, *[a % x.ndim for a in axes])


def shape_padleft(x, n_ones=1):
    """`x` with `n_ones` broadcastable axes added on the left."""
    x = as_tensor_variable(x)
    return _pad(x, x.ndim + n_ones)


def shape_padright(x, n_ones=1):
    """`x` with `n_ones` broadcastable axes added on the right."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *range(x.ndim), *("x",) * n_ones)


def shape_padaxis(x, axis):
    """`x` with a broadcastable axis inserted at `axis` (negative counts from the end)."""
    x = as_tensor_variable(x)
    axis = _static_axis(axis, "shape_padaxis")
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise LoopcValueError("shape_padaxis: axis %d is out of range for %s", axis, _describe(x))
    order = list(range(x.ndim))
    order.insert(axis % (x.ndim + 1), "x")
    return dimshuffle(x, *order)


def _rebroadcast(x, flags):
    """`x` with the broadcastable flags `flags`, checked at run time by `Alloc`."""
    entries = [constant(1) if flag else ShapeI(i)(x) for i, flag in enumerate(flags)]
    return Alloc()(x, *entries)


def addbroadcast(x, *axes):
    """`x` marked broadcastable on `axes` (their length must be 1 at run time)."""
    x = as_tensor_variable(x)
    axes = _axes(x, list(axes), "addbroadcast")
    flags = [b or i in axes for i, b in enumerate(x.broadcastable)]
    return x if tuple(flags) == x.broadcastable else _rebroadcast(x, flags)


def unbroadcast(x, *axes):
    """`x` no longer marked broadcastable on `axes`."""
    x = as_tensor_variable(x)
    axes = _axes(x, list(axes), "unbroadcast")
    flags = [b and i not in axes for i, b in enumerate(x.broadcastable)]
    return x if tuple(flags) == x.broadcastable else _rebroadcast(x, flags)


def patternbroadcast(x, broadcastable):
    """`x` with exactly the broadcastable flags given."""
    x = as_tensor_variable(x)
    flags = tuple(bool(b) for b in broadcastable)
    return x if flags == x.broadcastable else _rebroadcast(x, flags)


def concatenate(tensors, axis=0):
    """NumPy's concatenate: tensors of one ndim joined along `axis`."""
    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise LoopcValueError("concatenate needs at least one tensor")
    if len({t.ndim for t in tensors}) != 1:
        raise LoopcTypeError("concatenate needs tensors of one ndim, got %s",
                             ", ".join(_describe(t) for t in tensors))
    axis = _static_axis(axis, "concatenate")
    ndim = tensors[0].ndim
    if not -ndim <= axis < ndim:
        raise LoopcValueError("concatenate: axis %d is out of range for tensors of ndim %d", axis, ndim)
    return Concatenate(axis % ndim)(*tensors)


def join(axis, *tensors):
    """Theano's join: `concatenate(tensors, axis)`."""
    return concatenate(tensors, axis)


def stack(*args, axis=0):
    """NumPy's stack: `stack(tensors, axis=0)`, tensors of one shape joined along a new
    axis. Theano's old form `stack(a, b, c)` is accepted too."""
    if args and isinstance(args[0], (list, tuple)):
        if len(args) > 2:
            raise LoopcTypeError("stack(tensors, axis=0) takes a list and an axis, got %d arguments", len(args))
        tensors, axis = args[0], (args[1] if len(args) == 2 else axis)
    else:
        tensors = args
    axis = _static_axis(axis, "stack")
    tensors = _as_tensors(list(tensors))
    if not tensors:
        raise LoopcValueError("stack needs at least one tensor")
    if len({t.ndim for t in tensors}) != 1:
        raise LoopcTypeError("stack needs tensors of one ndim, got %s", ", ".join(_describe(t) for t in tensors))
    dtype = upcast(*[t.dtype for t in tensors])
    if tensors[0].ndim == 0 and axis in (0, -1):
        return MakeVector(dtype)(*[cast(t, dtype) for t in tensors])
    return concatenate([shape_padaxis(t, axis) for t in tensors], axis)


# -- along one axis ---------------------------------------------------------------

def _one_axis(x, axis, what):
    """`x` and `axis` as a non-negative axis of it; with axis None, `x` flattened and 0."""
    x = as_tensor_variable(x)
    if axis is None:
        return (x if x.ndim == 1 else flatten(x)), 0
    if x.ndim == 0:
        raise LoopcValueError("%s: axis %r given for the 0-d %s", what, axis, _describe(x))
    (axis,) = _axes(x, _static_axis(axis, what), what)
    return x, axis


def cumsum(x, axis=None):
    """Running sums along `axis` (of the flattened `x` when None), as `numpy.cumsum`:
    small integers accumulate in 64 bits."""
    x, axis = _one_axis(x, axis, "cumsum")
    return CumOp("cumsum", axis)(x)


def cumprod(x, axis=None):
    """Running products along `axis` (of the flattened `x` when None), as `numpy.cumprod`."""
    x, axis = _one_axis(x, axis, "cumprod")
    return CumOp("cumprod", axis)(x)


def _check_sort_args(what, kind, order):
    if order is not None:
        raise LoopcValueError("%s: order= (sorting structured arrays by field) is not supported", what)
    if kind not in ("quicksort", "mergesort", "heapsort", "stable"):
        raise LoopcValueError("%s: kind must be 'quicksort', 'mergesort', 'heapsort' or 'stable', got %r",
                              what, kind)


def sort(a, axis=-1, kind="quicksort", order=None):
    """`a` sorted along `axis` (the flattened `a` when None); NaN sorts last, as in NumPy.
    Every `kind` gives the stable result."""
    _check_sort_args("sort", kind, order)
    a, axis = _one_axis(a, axis, "sort")
    return Sort("sort", axis)(a)


def argsort(a, axis=-1, kind="quicksort", order=None):
    """The int64 positions that sort `a` along `axis` (the flattened `a` when None).
    Stable whatever `kind`: equal values keep their order (NumPy's quicksort may not)."""
    _check_sort_args("argsort", kind, order)
    a, axis = _one_axis(a, axis, "argsort")
    return Sort("argsort", axis)(a)


def repeat(x, repeats, axis=None):
    """NumPy's repeat (Theano's extra_ops.repeat): each element along `axis` (of the
    flattened `x` when None) `repeats` times, a scalar or one count per element."""
    repeats = as_tensor_variable(repeats)
    if repeats.ndim > 1 or not is_int(repeats.dtype):
        raise LoopcTypeError("repeat: repeats must be an integer scalar or vector, got %s", _describe(repeats))
    x, axis = _one_axis(x, axis, "repeat")
    if repeats.ndim == 1 and not repeats.broadcastable[0]:
        return Repeat(axis)(x, repeats)
    count = repeats if repeats.ndim == 0 else repeats[0]
    n = _static_int(count)
    if n is not None and n < 0:
        raise LoopcValueError("repeat: repeats must be >= 0, got %d", n)
    # Theano's way: a new axis after `axis` of length `count` (alloc), merged into it (reshape)
    lengths = [1 if b else ShapeI(a)(x) for a, b in enumerate(x.broadcastable)]
    count = constant(n) if n is not None else cast(count, "int64")
    copies = alloc(dimshuffle(x, *range(axis + 1), "x", *range(axis + 1, x.ndim)),
                   *lengths[:axis + 1], count, *lengths[axis + 1:])
    merged = n if isinstance(lengths[axis], int) and n is not None else mul(lengths[axis], count)
    return _reshape_entries(copies, [_static_int(e) if _static_int(e) is not None else e
                                     for e in lengths[:axis] + [merged] + lengths[axis + 1:]])


def diff(x, n=1, axis=-1):
    """The n-th difference along `axis`, as `numpy.diff` (`x[1:] - x[:-1]`, n times;
    `neq` for bools)."""
    x, axis = _one_axis(x, axis, "diff")
    head = (slice(None),) * axis
    for _ in range(n):
        later, earlier = x[head + (slice(1, None),)], x[head + (slice(None, -1),)]
        x = neq(later, earlier) if x.dtype == "bool" else sub(later, earlier)
    return x


def squeeze(x, axis=None):
    """`x` without its broadcastable axes (those of `axis`, which must be broadcastable)."""
    x = as_tensor_variable(x)
    drop = [a for a, b in enumerate(x.broadcastable) if b] if axis is None else \
        list(_axes(x, axis if isinstance(axis, (list, tuple)) else [axis], "squeeze"))
    for a in drop:
        if not x.broadcastable[a]:
            raise LoopcValueError("squeeze: axis %d of %s is not broadcastable (its length may differ from 1)",
                                  a, _describe(x))
    return dimshuffle(x, *[a for a in range(x.ndim) if a not in drop])


def ravel(x):
    """`x` flattened to a vector (`flatten(x)`)."""
    return flatten(x)


def _diagonal_start(k, rows, cols):
    """(flat index of the first element, number of elements) of diagonal k of a rows x cols matrix."""
    if k >= 0:
        return constant(k), maximum(minimum(rows, sub(cols, k)), 0)
    return mul(-k, cols), maximum(minimum(add(rows, k), cols), 0)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """Diagonal `offset` of the matrix `a` (above the main one when positive)."""
    a = as_tensor_variable(a)
    k = _static_int(offset)
    if a.ndim != 2 or (axis1, axis2) != (0, 1) or k is None:
        raise LoopcValueError("diagonal takes a matrix, axes (0, 1) and an int offset, got %s, axes %s, "
                              "offset %r", _describe(a), (axis1, axis2), offset)
    rows, cols = ShapeI(0)(a), ShapeI(1)(a)
    start, length = _diagonal_start(k, rows, cols)
    step = add(cols, 1)
    return flatten(a)[start:add(start, mul(length, step)):step]


def _alloc_diag(v, k):
    """The square matrix with the vector `v` on diagonal k and zeros elsewhere."""
    n = add(ShapeI(0)(v), builtins.abs(k))
    start, _ = _diagonal_start(k, n, n)
    flat = alloc(constant(0, dtype=v.dtype), mul(n, n))
    step = add(n, 1)
    flat = set_subtensor(flat[start:add(start, mul(ShapeI(0)(v), step)):step], v)
    return reshape(flat, (n, n))


def diag(v, k=0):
    """Theano's diag: a vector becomes the matrix with it on diagonal k; a matrix gives
    its diagonal k as a vector."""
    v = as_tensor_variable(v)
    if _static_int(k) is None:
        raise LoopcTypeError("diag: k must be a Python int, got %r", k)
    if v.ndim == 1:
        return _alloc_diag(v, _static_int(k))
    if v.ndim == 2:
        return diagonal(v, k)
    raise LoopcValueError("diag: expected a vector or a matrix, got %s", _describe(v))


def tile(x, reps, ndim=None):
    """Theano's tile: `x` repeated `reps[i]` times along axis i (reps a tuple of ints or
    integer scalars, or an integer scalar); the result has max(len(reps), x.ndim) axes,
    or `ndim`."""
    x = as_tensor_variable(x)
    if isinstance(reps, Variable) and reps.ndim == 1:
        entries = _vector_entries(reps)
        if entries is None:
            raise LoopcValueError("tile: the length of the reps vector %s is not known; pass a tuple", reps)
        reps = entries
    reps = list(reps) if isinstance(reps, (list, tuple)) else [reps]
    reps = [_static_int(r) if _static_int(r) is not None else _int_scalar(r, "tile: reps") for r in reps]
    ndim = builtins.max(len(reps), x.ndim) if ndim is None else ndim
    if ndim < x.ndim or len(reps) > ndim:
        raise LoopcValueError("tile: ndim=%d is less than %s's ndim or the %d reps", ndim, _describe(x), len(reps))
    if builtins.any(isinstance(r, int) and r < 0 for r in reps):
        raise LoopcValueError("tile: reps must be >= 0, got %s", reps)
    reps = [1] * (ndim - len(reps)) + reps
    x = _pad(x, ndim)
    lengths = [1 if b else ShapeI(a)(x) for a, b in enumerate(x.broadcastable)]
    # (r0, r1, ..., n0, n1, ...) by alloc, axes interleaved (r0, n0, r1, n1, ...), then merged
    copies = alloc(x, *[constant(r) if isinstance(r, int) else r for r in reps],
                   *[constant(n) if isinstance(n, int) else n for n in lengths])
    copies = dimshuffle(copies, *[a + d for a in range(ndim) for d in (0, ndim)])
    merged = [r * n if isinstance(r, int) and isinstance(n, int) else mul(r, n) for r, n in zip(reps, lengths)]
    return _reshape_entries(copies, merged)


def horizontal_stack(*tensors):
    """Theano's horizontal_stack: matrices side by side (`concatenate(tensors, axis=1)`)."""
    return concatenate(tensors, axis=1)


def vertical_stack(*tensors):
    """Theano's vertical_stack: matrices one above the other (`concatenate(tensors, axis=0)`)."""
    return concatenate(tensors, axis=0)


def iround(x, mode="half_to_even"):
    """`round(x, mode)` as int64 (Theano's iround)."""
    return cast(round(x, mode), "int64")


# -- creation -------------------------------------------------------------------

def alloc(value, *shape):
    """`value` broadcast to `shape` (integer scalars)."""
    value = as_tensor_variable(value)
    entries = [_int_scalar(s, f"alloc: shape entry {i}") for i, s in enumerate(shape)]
    if len(entries) < value.ndim:
        raise LoopcValueError("alloc: %d shape entries given for %s", len(entries), _describe(value))
    return Alloc()(value, *entries)


def _like_entries(x):
    return [constant(1) if b else ShapeI(i)(x) for i, b in enumerate(x.broadcastable)]


def zeros_like(x, dtype=None):
    """Zeros with the shape (and, by default, the dtype) of `x`."""
    x = as_tensor_variable(x)
    return Alloc()(constant(0, dtype=dtype or x.dtype), *_like_entries(x))


def ones_like(x, dtype=None):
    """Ones with the shape (and, by default, the dtype) of `x`."""
    x = as_tensor_variable(x)
    return Alloc()(constant(1, dtype=dtype or x.dtype), *_like_entries(x))


def zeros(shape, dtype=None):
    """Zeros of `shape` (an int, a tuple, or a vector such as `x.shape`)."""
    return _filled(shape, 0, dtype)


def ones(shape, dtype=None):
    """Ones of `shape` (an int, a tuple, or a vector such as `x.shape`)."""
    return _filled(shape, 1, dtype)


def _filled(shape_arg, value, dtype):
    entries = _shape_entries(shape_arg, "shape")
    scalars = [constant(e) if isinstance(e, int) else e for e in entries]
    return Alloc()(constant(value, dtype=dtype or config.floatX), *scalars)


def fill(model, value):
    """`value` (with its own dtype) broadcast to the shape of `model` (Theano's fill/second)."""
    model, value = _as_tensors([model, value])
    ndim = builtins.max(model.ndim, value.ndim)
    model, value = _pad(model, ndim), _pad(value, ndim)
    entries = []
    for axis in range(ndim):
        if not model.broadcastable[axis]:
            entries.append(ShapeI(axis)(model))
        elif not value.broadcastable[axis]:
            entries.append(ShapeI(axis)(value))
        else:
            entries.append(constant(1))
    return Alloc()(value, *entries)


def second(a, b):
    """`b` broadcast to the shape of `a`."""
    return fill(a, b)


def arange(start, stop=None, step=1, dtype=None):
    """NumPy's arange. Without `dtype`: the promotion of the inputs' dtypes (Python
    scalars weak), with every integer result widened to int64 as NumPy does."""
    if stop is None:
        start, stop = 0, start
    if dtype is None and builtins.all(_is_weak(v) for v in (start, stop, step)):
        dtype = "int64" if builtins.all(isinstance(v, int) for v in (start, stop, step)) else config.floatX
    start, stop, step = _as_tensors([start, stop, step])
    for v, what in ((start, "start"), (stop, "stop"), (step, "step")):
        if v.ndim != 0:
            raise LoopcTypeError("arange: %s must be a scalar, got %s", what, _describe(v))
    if dtype is None:
        dtype = upcast(start.dtype, stop.dtype, step.dtype)
        dtype = "int64" if is_discrete(dtype) else dtype
    if _static_int(step) == 0:
        raise LoopcValueError("arange: step must not be 0")
    return ARange(as_dtype(dtype))(start, stop, step)


def eye(n, m=None, k=0, dtype=None):
    """An n x m matrix with ones on diagonal k."""
    n = _int_scalar(n, "eye: n")
    m = n if m is None else _int_scalar(m, "eye: m")
    return Eye(as_dtype(dtype or config.floatX))(n, m, _int_scalar(k, "eye: k"))


def identity_like(x):
    """An identity matrix of the shape and dtype of the matrix `x`."""
    x = as_tensor_variable(x)
    return eye(ShapeI(0)(x), ShapeI(1)(x), 0, x.dtype)


# -- indexing -------------------------------------------------------------------

def getitem(x, index):
    """`x[index]` as NumPy indexes: basic indexing (ints, slices, Ellipsis, None) and
    advanced indexing (integer arrays of any ndim on any axes, boolean masks)."""
    x = as_tensor_variable(x)
    shortcut = _index_known_vector(x, index)
    if shortcut is not None:
        return shortcut
    items = _expand_ellipsis(x, [_index_item(x, i) for i in (index if isinstance(index, tuple) else (index,))])
    if not builtins.any(isinstance(item, (_Advanced, _Mask)) for item in items):
        return _basic_index(x, items)
    return _advanced_index(x, items)


class _Advanced:
    """An integer array used as an index."""

    def __init__(self, vector):
        self.vector = vector


class _Mask:
    """A boolean array used as an index (of as many axes as it has)."""

    def __init__(self, mask):
        self.mask = mask


def _advanced_index(x, items):
    """`x[items]` where some item is an integer array or a mask: masks become the integer
    vectors of their nonzero elements, new axes a dimshuffle of `x` first (as Theano
    does), then `x[idx]` and `x[idx, :]` take rows and the rest is one AdvancedSubtensor."""
    items = _masks_as_arrays(x, items)
    if None in items:
        order, axis = [], 0
        for item in items:
            order.append("x" if item is None else axis)
            axis += item is not None
        x = DimShuffle(tuple(order) + tuple(range(axis, x.ndim)))(x)
        items = [slice(None) if item is None else item for item in items]
    if isinstance(items[0], _Advanced) and items[0].vector.ndim == 1 and builtins.all(
            _is_full_slice(item) for item in items[1:]):
        return AdvancedSubtensor1()(x, items[0].vector)
    idx_list, inputs = [], []
    for axis, item in enumerate(items):
        if isinstance(item, slice):
            idx_list.append(("s", item.start is not None, item.stop is not None, item.step is not None))
            inputs.extend(p for p in (item.start, item.stop, item.step) if p is not None)
            continue
        if not isinstance(item, _Advanced):  # an integer beside arrays is a 0-d array (NumPy)
            _check_static_index(x, axis, item)
        idx_list.append("a")
        inputs.append(item.vector if isinstance(item, _Advanced) else item)
    while idx_list[-1] == ("s", False, False, False):
        idx_list.pop()
    return AdvancedSubtensor(tuple(idx_list))(x, *inputs)


def _masks_as_arrays(x, items):
    """Each boolean mask replaced by one integer vector per axis it covers (its nonzero
    coordinates), after a check that its shape is that of the axes it indexes."""
    out, axis = [], 0
    for item in items:
        if not isinstance(item, _Mask):
            out.append(item)
            axis += item is not None
            continue
        mask = _checked_mask(x, axis, item.mask)
        coords = Nonzero()(mask)
        out.extend(_Advanced(c) for c in (coords if isinstance(coords, list) else [coords]))
        axis += mask.ndim
    return out


def _checked_mask(x, axis, mask):
    """`mask`, checked at run time to have the lengths of axes axis.. of `x` (NumPy's rule)."""
    pairs = tuple((d, axis + d) for d in range(mask.ndim)
                  if not (mask.broadcastable[d] and x.broadcastable[axis + d]))
    return _checked(CheckLengths(pairs, "boolean index (the mask, the tensor)", "LoopcIndexError"), mask, x) \
        if pairs else mask


def _is_full_slice(item):
    return isinstance(item, slice) and item == slice(None)


def _index_item(x, item):
    """One index item as None, Ellipsis, an int scalar variable, a slice of them, or _Advanced."""
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, slice):
        return slice(*[_slice_part(x, p, what) for p, what in
                       ((item.start, "start"), (item.stop, "stop"), (item.step, "step"))])
    if isinstance(item, (bool, np.bool_)):
        raise LoopcIndexError("indexing %s with a boolean is not supported", x)
    if _static_int(item) is not None:
        return constant(_static_int(item))
    if isinstance(item, (list, tuple)) and len(item) == 0:
        return _Advanced(constant(np.zeros(0, "int64")))  # NumPy: an empty list indexes as integers
    v = as_tensor_variable(item)
    if v.dtype == "bool" and v.ndim == 0:
        raise LoopcIndexError("indexing %s with the boolean %s is not supported; use T.switch", x, _describe(v))
    if v.dtype == "bool":
        return _Mask(v)
    if not is_int(v.dtype):
        raise LoopcIndexError("indexing %s: an index must be an integer scalar, a slice, an integer "
                              "array or a boolean mask, got %s", x, _describe(v))
    if v.ndim >= 1:
        return _Advanced(v)
    return v


def _slice_part(x, part, what):
    if part is None:
        return None
    if _static_int(part) is not None:
        if what == "step" and _static_int(part) == 0:
            raise LoopcValueError("indexing %s: slice step cannot be zero", x)
        return constant(_static_int(part))
    v = as_tensor_variable(part)
    if v.ndim != 0 or not is_int(v.dtype):
        raise LoopcIndexError("indexing %s: slice %s must be an integer scalar or None, got %s",
                              x, what, _describe(v))
    return v


def _expand_ellipsis(x, items):
    used = builtins.sum(i.mask.ndim if isinstance(i, _Mask) else 1 for i in items
                        if i is not None and i is not Ellipsis)
    if used > x.ndim:
        raise LoopcIndexError("too many indices for %s: %d given", _describe(x), used)
    ellipses = [k for k, i in enumerate(items) if i is Ellipsis]
    if len(ellipses) > 1:
        raise LoopcIndexError("indexing %s: an index can only have a single ellipsis ('...')", x)
    if not ellipses:
        return items
    k = ellipses[0]
    return items[:k] + [slice(None)] * (x.ndim - used) + items[k + 1:]


def _basic_index(x, items):
    """Subtensor for ints and slices, then a dimshuffle for the None (new) axes."""
    idx_list, inputs, order, out_axis, axis = [], [], [], 0, 0
    for item in items:
        if item is None:
            order.append("x")
            continue
        if isinstance(item, slice):
            parts = [p for p in (item.start, item.stop, item.step) if p is not None]
            idx_list.append(("s", item.start is not None, item.stop is not None, item.step is not None))
            inputs.extend(parts)
            order.append(out_axis)
            out_axis += 1
        else:
            _check_static_index(x, axis, item)
            idx_list.append("i")
            inputs.append(item)
        axis += 1
    while idx_list and idx_list[-1] == ("s", False, False, False):
        idx_list.pop()
    out = Subtensor(tuple(idx_list))(x, *inputs)
    order.extend(range(out_axis, out.ndim))
    return DimShuffle(tuple(order))(out) if "x" in order else out


def _check_static_index(x, axis, index):
    """An int index into an axis known to have length 1 is checked now."""
    i = _static_int(index)
    if i is not None and x.broadcastable[axis] and i not in (0, -1):
        raise LoopcIndexError("index %d is out of bounds for axis %d of %s, which has length 1",
                              i, axis, _describe(x))


def _index_known_vector(x, index):
    """`x.shape[i]` as `ShapeI(i)`, and `x.shape[a:b]` as a MakeVector of them (indexing
    that again gives the ShapeI back). None when the shortcut does not apply."""
    entries = _vector_entries(x) if x.owner else None
    if entries is None or isinstance(x, Constant):
        return None
    if isinstance(x.owner.op, MakeVector) and not builtins.all(
            v.owner and isinstance(v.owner.op, ShapeI) for v in entries):
        return None  # a user's vector: keep the Subtensor, so set_subtensor(v[0], ...) works
    i = _static_int(index)
    if i is not None:
        if not -len(entries) <= i < len(entries):
            raise LoopcIndexError("index %d is out of bounds for %s of length %d", i, x, len(entries))
        return cast(entries[i], x.dtype)
    if isinstance(index, slice) and builtins.all(p is None or _static_int(p) is not None
                                                  for p in (index.start, index.stop, index.step)):
        bounds = [None if p is None else _static_int(p) for p in (index.start, index.stop, index.step)]
        if bounds[2] == 0:
            raise LoopcValueError("indexing %s: slice step cannot be zero", x)
        picked = entries[slice(*bounds)]
        if not picked:
            return constant(np.zeros(0, x.dtype))
        return MakeVector(x.dtype)(*[cast(e, x.dtype) for e in picked])
    return None


def nonzero(a, return_matrix=False):
    """The indices of the nonzero elements of `a`: a tuple of int64 vectors, one per
    axis (NumPy's nonzero); with return_matrix, one (ndim, count) matrix (Theano's)."""
    a = as_tensor_variable(a)
    coords = Nonzero()(a)
    coords = tuple(coords) if isinstance(coords, list) else (coords,)
    return stack(list(coords)) if return_matrix else coords


def flatnonzero(a):
    """The indices of the nonzero elements of `a` flattened."""
    return nonzero(flatten(a))[0]


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    """Theano's inc_subtensor: `x` must be an indexing result `a[idx]`; returns a copy of
    `a` with `y` added to (or, with set_instead_of_inc, written into) `a[idx]`."""
    node = x.owner if isinstance(x, Variable) else None
    what = "set_subtensor" if set_instead_of_inc else "inc_subtensor"
    if node is None or not isinstance(node.op, (Subtensor, AdvancedSubtensor1, AdvancedSubtensor)):
        raise LoopcTypeError("%s expects the result of indexing a tensor (a[idx]) as its first argument, "
                             "got %s", what, _describe(x) if isinstance(x, Variable) else repr(x))
    base = node.inputs[0]
    (y,) = _as_tensors([base, y], weak_context=[0])[1:]
    if y.ndim > x.ndim:
        raise LoopcTypeError("%s: the value %s has more dimensions than the region %s (ndim %d)",
                             what, _describe(y), x, x.ndim)
    y = cast(_pad(y, x.ndim), base.dtype)
    if isinstance(node.op, AdvancedSubtensor1):
        return AdvancedIncSubtensor1(set_instead_of_inc)(base, y, node.inputs[1])
    if isinstance(node.op, AdvancedSubtensor):
        return AdvancedIncSubtensor(node.op.idx_list, set_instead_of_inc)(base, y, *node.inputs[1:])
    return IncSubtensor(node.op.idx_list, set_instead_of_inc)(base, y, *node.inputs[1:])


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """Theano's set_subtensor: a copy of `a` with `a[idx]` (given as `x`) replaced by `y`."""
    return inc_subtensor(x, y, inplace, set_instead_of_inc=True)


__all__ = [
    # types and conversion
    "TensorType", "TensorVariable", "TensorConstant", "TensorSharedVariable", "Variable", "Constant",
    "tensor", "as_tensor_variable", "constant", "cast", *_CONSTRUCTORS,
    # elementwise
    "elemwise", "add", "sub", "mul", "true_div", "int_div", "floor_div", "mod", "pow", "power",
    "maximum", "minimum", "arctan2", "neg", "abs_", "abs", "sgn", "sign", "sqr", "square", "sqrt",
    "inv", "reciprocal", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "sigmoid",
    "softplus", "erf", "floor", "ceil", "trunc", "round", "round_half_to_even", "round_half_away_from_zero",
    "eq", "neq", "lt", "le", "gt", "ge", "and_", "or_", "xor", "invert", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "isnan", "isinf", "switch", "where", "identity", "tensor_copy", "clip",
    "largest", "smallest",
    # linear algebra and reductions
    "dot", "tensordot", "batched_dot", "batched_tensordot", "outer", "sum", "prod", "mean", "var", "std", "max",
    "min", "argmax", "argmin", "max_and_argmax", "any", "all", "norm",
    # shapes
    "shape", "reshape", "flatten", "dimshuffle", "transpose", "shape_padleft", "shape_padright",
    "shape_padaxis", "addbroadcast", "unbroadcast", "patternbroadcast", "concatenate", "join", "stack",
    # creation
    "alloc", "zeros_like", "ones_like", "zeros", "ones", "fill", "second", "arange", "eye", "identity_like",
    # indexing
    "getitem", "inc_subtensor", "set_subtensor", "nonzero", "flatnonzero",
    # along one axis, and built from the ops above
    "cumsum", "cumprod", "sort", "argsort", "repeat", "diff", "squeeze", "ravel", "diagonal", "diag", "tile",
    "horizontal_stack", "vertical_stack", "iround",
]
