"""Reverse-mode differentiation of IR graphs (Theano's `theano.gradient`).

`grad(cost, wrt)` walks the nodes between `wrt` and `cost` in reverse
topological order and asks one rule per op, `GRAD[op.name](node, output_grads)`,
for the gradients of the node's inputs. The invariants:

- a gradient has the ndim, broadcast pattern and dtype of the variable it
  belongs to: a rule's result is summed over the axes where that variable is
  broadcastable (keeping them) and cast to its dtype, in one place (`_fit`);
  an integer variable's gradient stays a float (Theano: the gradient of the
  real-valued extension, so `grad(sum(dot(X, W)), X)` is the same for an
  integer and a float X, and d i / d i is 1.0);
- gradients of a variable used several times are added up;
- an integer or bool *output* is locally constant: its gradient becomes the
  symbolic `ZERO` ("connected, but zero") before its op's rule is asked, and
  ZERO flows on without building any graph; a `wrt` whose gradient is `ZERO`
  gets float zeros, as in Theano;
- as in Theano, the seed is ones like the cost and zeros for a `wrt` are zeros
  like it, both referring to that variable (`_fill`), so that a function of a
  gradient takes the same inputs as Theano's;
- a rule returns `None` for an input the output does not depend on
  differentiably (indices, shapes); `CONNECTED` says which inputs those are, so
  that a `wrt` reached only through them is reported as disconnected.

A new op is one entry in `GRAD` (and in `CONNECTED` if it takes index or shape
inputs); a missing entry is an `UnsupportedError` naming the op. The rule of
`scan`, back-propagation through time as a backward scan, is
`loopc.gradient_scan`; it is told which inputs need a gradient (`TOLD_NEEDED`).

Gradient graphs are built with the ops of `loopc.ir.ops` directly (`E.mul(a, b)`
below), so this module does not depend on the frontend.

`jacobian` and `hessian` loop with `loopc.scan` over the rows of the
expression, exactly as Theano (and the seed's Jacobian example) does; when the
number of rows is known while building the graph they loop in Python instead.
`verify_grad` compares `grad` with central finite differences.
"""
import functools
import importlib.util
import math
import warnings

import numpy as np

from .errors import LoopcError, LoopcTypeError, LoopcValueError, UnsupportedError
from .frontend.variable import compute_test_values
from .ir.graph import Constant, Graph, Op, SharedVariable, Variable, clone_replace, is_tensor, toposort
from .ir.ops import (RANDOM_DISTS, SCALAR_OPS, AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor,
                     AdvancedSubtensor1, Alloc, ARange, BatchedDot, Concatenate, DimShuffle, Dot, Elemwise,
                     IncSubtensor, Reduce, Reshape, Shape, ShapeI, Subtensor)
from .ir.ops import CheckLengths, CumOp, GradOverride, MakeVector, Repeat, Sort
from .ir.types import TensorType, is_discrete

__all__ = ["grad", "jacobian", "hessian", "hessian_vector_product", "verify_grad", "subgraph_grad", "Lop", "Rop",
           "zero_grad", "disconnected_grad", "consider_constant", "grad_clip", "grad_scale", "GRAD", "CONNECTED", "ZERO",
           "DisconnectedInputError", "DisconnectedOutputError", "GradientError", "NdimMismatchError"]


class DisconnectedInputError(LoopcValueError):
    """`grad` was asked for the gradient with respect to a variable the cost does not depend on."""


class DisconnectedOutputError(LoopcValueError):
    """`Rop` was asked for the derivative of an output that does not depend on `wrt`."""


class NdimMismatchError(LoopcTypeError, LoopcValueError):
    """A gradient or an eval point whose ndim is not that of its variable (a TypeError, and
    a ValueError as Theano raises for it)."""


class GradientError(LoopcError, AssertionError):
    """`verify_grad` found the symbolic gradient different from the numeric one."""

    def __init__(self, message, *args, arg=None, err_pos=None, shape=None, val1=None, val2=None,
                 abs_err=None, rel_err=None, abs_tol=None, rel_tol=None):
        super().__init__(message, *args)
        self.arg, self.err_pos, self.shape = arg, err_pos, shape
        self.val1, self.val2 = val1, val2  # numeric, analytic (Theano's order)
        self.abs_err, self.rel_err, self.abs_tol, self.rel_tol = abs_err, rel_err, abs_tol, rel_tol


class _Zero:
    """The gradient of a value that cannot change the cost (an integer, a comparison)."""

    def __repr__(self):
        return "ZERO"


ZERO = _Zero()


# -- graph-building helpers (ops applied directly, no frontend) ------------------

def _apply(op, *inputs):
    node = op.make_node(*inputs)
    compute_test_values(node)
    return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)


def _constant(value, dtype, ndim=0):
    """A constant of `ndim` broadcastable dimensions (shape (1,)*ndim)."""
    return Constant(TensorType(dtype, (True,) * ndim), np.full((1,) * ndim, value, dtype=dtype))


def _pad(x, ndim):
    """`x` with broadcastable axes added in front up to `ndim` (NumPy's alignment)."""
    if x.ndim == ndim:
        return x
    return _apply(DimShuffle(("x",) * (ndim - x.ndim) + tuple(range(x.ndim))), x)


def _elemwise(scalar, *args):
    """An elementwise op on variables and Python numbers; numbers take the
    variables' dtype (weak scalars), ranks are aligned as in NumPy."""
    variables = [a for a in args if isinstance(a, Variable)]
    ndim = max(v.ndim for v in variables)
    dtype = np.result_type(*[np.dtype(v.dtype) for v in variables]).name
    if is_discrete(dtype) and any(isinstance(a, float) for a in args):
        dtype = "float64"
    inputs = [_pad(a, ndim) if isinstance(a, Variable) else _constant(a, dtype, ndim) for a in args]
    return _apply(Elemwise(scalar), *inputs)


class _Elementwise:
    """`E.mul(a, b)`, `E.tanh(x)`: elementwise ops by their `SCALAR_OPS` name."""

    def __getattr__(self, scalar):
        if scalar not in SCALAR_OPS:
            raise AttributeError(scalar)
        return functools.partial(_elemwise, scalar)


E = _Elementwise()


def _cast(x, dtype):
    return x if x.dtype == dtype else _apply(Elemwise("cast", dtype), x)


def _length(x, axis):
    """The length of an axis of `x`: the constant 1 on a broadcastable axis."""
    return _constant(1, "int64") if x.broadcastable[axis] else _apply(ShapeI(axis), x)


def _shape_entries(x):
    return [_length(x, axis) for axis in range(x.ndim)]


def _zeros_like(x, dtype=None):
    return _apply(Alloc(), _constant(0, dtype or x.dtype), *_shape_entries(x))


def _float_zeros_like(x):
    """Theano's `_float_zeros_like`: zeros shaped like `x`, of a float dtype."""
    return _fill(x, _constant(0, _float_type(x).dtype))


def _broadcast_like(value, x):
    """`value` (ndim <= x.ndim, broadcastable against it) expanded to the shape of `x`."""
    return _apply(Alloc(), value, *_shape_entries(x))


def _keep_dims(x, axes, ndim):
    """Re-insert the reduced `axes` of a reduction result as broadcastable axes."""
    if not axes:
        return x
    kept = iter(range(x.ndim))
    return _apply(DimShuffle(tuple("x" if i in axes else next(kept) for i in range(ndim))), x)


def _sum(x, axes, keepdims=False):
    axes = tuple(sorted(axes))
    if not axes:
        return x
    total = _apply(Reduce("sum", axes), x)
    return _keep_dims(total, axes, x.ndim) if keepdims else total


def _transpose(x):
    return _apply(DimShuffle((1, 0)), x)


def _dot(a, b):
    return _apply(Dot(), a, b)


# -- the rule table ---------------------------------------------------------------
# GRAD[op.name](node, output_grads) -> one entry per input of the node: a variable
# (any dtype, the ndim of the input; `_fit` sums broadcast axes and casts), ZERO,
# or None (not differentiable: indices, shapes). For single-output ops the output
# gradient is always a variable; multi-output ops get None for outputs the cost
# does not depend on and ZERO for integer ones.

GRAD = {}

# CONNECTED[op.name] = how many leading inputs the outputs depend on
# differentiably (Theano's connection_pattern); absent: all of them.
CONNECTED = {
    "shape": 0, "shape_i": 0, "arange": 0, "eye": 0,
    "subtensor": 1, "take": 1, "alloc": 1, "reshape": 1, "repeat": 1,
    "inc_subtensor": 2, "set_subtensor": 2, "inc_take": 2, "set_take": 2,
    "advanced_subtensor": 1, "advanced_inc_subtensor": 2, "advanced_set_subtensor": 2, "nonzero": 0, "check_lengths": 1,
    **{f"random_{dist}": 0 for dist in RANDOM_DISTS},
}


def _unary(fn):
    """A rule from `fn(x, z, gz) -> gx` (z the output)."""
    return lambda node, grads: [fn(node.inputs[0], node.outputs[0], grads[0])]


def _binary(fn):
    """A rule from `fn(x, y, z, gz) -> (gx, gy)`."""
    return lambda node, grads: list(fn(*node.inputs, node.outputs[0], grads[0]))


def _float_only(x, gradient):
    """`gradient()`, or ZERO for an integer `x` (Theano's true_div: an integer operand of a
    division gets no gradient, unlike those of add and mul)."""
    return ZERO if is_discrete(x.dtype) else gradient()


def _zero_rule(node, grads):
    """Piecewise-constant ops (rounding, comparisons, logic): zero, but connected."""
    return [ZERO] * len(node.inputs)


def _no_rule(node, grads):
    """Ops whose output does not depend differentiably on any input."""
    return [None] * len(node.inputs)


def _identity_rule(node, grads):
    return [grads[0]]


LN2, LN10, TWO_OVER_SQRT_PI = math.log(2.0), math.log(10.0), 2.0 / math.sqrt(math.pi)

GRAD.update({
    # arithmetic
    "add": _binary(lambda x, y, z, gz: (gz, gz)),
    "sub": _binary(lambda x, y, z, gz: (gz, E.neg(gz))),
    "mul": _binary(lambda x, y, z, gz: (E.mul(gz, y), E.mul(gz, x))),
    "true_div": _binary(lambda x, y, z, gz: (_float_only(x, lambda: E.true_div(gz, y)),
                                             _float_only(y, lambda: E.neg(E.true_div(E.mul(gz, x), E.sqr(y)))))),
    "int_div": _zero_rule,
    "mod": _binary(lambda x, y, z, gz: (gz, E.neg(E.mul(gz, E.int_div(x, y))))),
    "maximum": _binary(lambda x, y, z, gz: (E.mul(gz, E.eq(z, x)), E.mul(gz, E.eq(z, y)))),
    "minimum": _binary(lambda x, y, z, gz: (E.mul(gz, E.eq(z, x)), E.mul(gz, E.eq(z, y)))),
    "arctan2": _binary(lambda a, b, z, gz: (E.true_div(E.mul(gz, b), E.add(E.sqr(a), E.sqr(b))),
                                            E.neg(E.true_div(E.mul(gz, a), E.add(E.sqr(a), E.sqr(b)))))),
    "neg": _unary(lambda x, z, gz: E.neg(gz)),
    "abs": _unary(lambda x, z, gz: E.mul(gz, E.sgn(x))),
    "sgn": _zero_rule,
    "sqr": _unary(lambda x, z, gz: E.mul(E.mul(gz, x), 2.0)),
    "sqrt": _unary(lambda x, z, gz: E.true_div(E.mul(gz, 0.5), z)),
    "inv": _unary(lambda x, z, gz: E.neg(E.mul(gz, E.sqr(z)))),
    # transcendental
    "exp": _unary(lambda x, z, gz: E.mul(gz, z)),
    "exp2": _unary(lambda x, z, gz: E.mul(E.mul(gz, z), LN2)),
    "expm1": _unary(lambda x, z, gz: E.mul(gz, E.add(z, 1.0))),
    "log": _unary(lambda x, z, gz: E.true_div(gz, x)),
    "log2": _unary(lambda x, z, gz: E.true_div(gz, E.mul(x, LN2))),
    "log10": _unary(lambda x, z, gz: E.true_div(gz, E.mul(x, LN10))),
    "log1p": _unary(lambda x, z, gz: E.true_div(gz, E.add(x, 1.0))),
    "sin": _unary(lambda x, z, gz: E.mul(gz, E.cos(x))),
    "cos": _unary(lambda x, z, gz: E.neg(E.mul(gz, E.sin(x)))),
    "tan": _unary(lambda x, z, gz: E.mul(gz, E.add(E.sqr(z), 1.0))),
    "arcsin": _unary(lambda x, z, gz: E.true_div(gz, E.sqrt(E.sub(1.0, E.sqr(x))))),
    "arccos": _unary(lambda x, z, gz: E.neg(E.true_div(gz, E.sqrt(E.sub(1.0, E.sqr(x)))))),
    "arctan": _unary(lambda x, z, gz: E.true_div(gz, E.add(E.sqr(x), 1.0))),
    "sinh": _unary(lambda x, z, gz: E.mul(gz, E.cosh(x))),
    "cosh": _unary(lambda x, z, gz: E.mul(gz, E.sinh(x))),
    "tanh": _unary(lambda x, z, gz: E.mul(gz, E.sub(1.0, E.sqr(z)))),
    "arcsinh": _unary(lambda x, z, gz: E.true_div(gz, E.sqrt(E.add(E.sqr(x), 1.0)))),
    "arccosh": _unary(lambda x, z, gz: E.true_div(gz, E.sqrt(E.sub(E.sqr(x), 1.0)))),
    "arctanh": _unary(lambda x, z, gz: E.true_div(gz, E.sub(1.0, E.sqr(x)))),
    "sigmoid": _unary(lambda x, z, gz: E.mul(E.mul(gz, z), E.sub(1.0, z))),
    "softplus": _unary(lambda x, z, gz: E.mul(gz, E.sigmoid(x))),
    "erf": _unary(lambda x, z, gz: E.mul(E.mul(gz, TWO_OVER_SQRT_PI), E.exp(E.neg(E.sqr(x))))),
    # Theano's: at x == 0 the derivative of x log x is -inf, that of x log y in x is log y
    "xlogx": _unary(lambda x, z, gz: E.mul(gz, E.add(E.log(x), 1.0))),
    "xlogy0": _binary(lambda x, y, z, gz: (E.mul(gz, E.log(y)), E.true_div(E.mul(gz, x), y))),
    # rounding, comparison and logic: piecewise constant
    **{name: _zero_rule for name in ("floor", "ceil", "trunc", "round", "eq", "neq", "lt", "le", "gt",
                                      "ge", "and", "or", "xor", "invert", "isnan", "isinf")},
    # selection and conversion
    "switch": lambda node, grads: [ZERO, E.switch(node.inputs[0], grads[0], 0.0),
                                   E.switch(node.inputs[0], 0.0, grads[0])],
    "identity": _identity_rule,
    "cast": _identity_rule,  # `_fit` casts back to the input's dtype
})


def _pow(x, y, z, gz):
    gx = E.mul(E.mul(gz, y), E.pow(x, E.sub(y, 1)))
    gy = E.switch(E.eq(x, 0), 0.0, E.mul(E.mul(gz, E.log(x)), z))
    return gx, gy


GRAD["pow"] = _binary(_pow)


# -- reductions ---------------------------------------------------------------------

def _reduce_sum(node, grads):
    x, axes = node.inputs[0], node.op.axes
    return [_broadcast_like(_keep_dims(grads[0], axes, x.ndim), x)]


def _reduce_extremum(node, grads):
    """max/min: the gradient goes to every position equal to the extremum (Theano)."""
    x, axes = node.inputs[0], node.op.axes
    z = _keep_dims(node.outputs[0], axes, x.ndim)
    return [E.mul(_keep_dims(grads[0], axes, x.ndim), E.eq(z, x))]


def _reduce_prod(node, grads):
    """prod: the product of the other elements, correct with zeros in the input:
    no zero in a group -> prod / x; one zero -> the product of the rest at the
    zero, 0 elsewhere; two or more -> 0."""
    x, axes = node.inputs[0], node.op.axes
    is_zero = E.eq(x, 0)
    n_zeros = _keep_dims(_apply(Reduce("sum", axes), is_zero), axes, x.ndim)
    nonzero_prod = _keep_dims(_apply(Reduce("prod", axes), E.switch(is_zero, 1.0, x)), axes, x.ndim)
    one_zero = E.switch(E.eq(n_zeros, 1), E.switch(is_zero, nonzero_prod, 0.0), 0.0)
    others = E.switch(E.eq(n_zeros, 0), E.true_div(nonzero_prod, E.switch(is_zero, 1.0, x)), one_zero)
    return [E.mul(_keep_dims(grads[0], axes, x.ndim), others)]


GRAD.update({"sum": _reduce_sum, "prod": _reduce_prod, "max": _reduce_extremum, "min": _reduce_extremum,
             "argmax": _zero_rule, "argmin": _zero_rule, "any": _zero_rule, "all": _zero_rule})


# -- linear algebra -------------------------------------------------------------------

def _dot_rule(node, grads):
    """numpy.dot's gradient for every combination of 0-, 1- and 2-d inputs."""
    (a, b), gz = node.inputs, grads[0]
    if a.ndim == 0 or b.ndim == 0:
        ga = E.mul(gz, b) if a.ndim else _sum(E.mul(gz, b), range(gz.ndim))
        gb = E.mul(gz, a) if b.ndim else _sum(E.mul(gz, a), range(gz.ndim))
        return [ga, gb]
    if a.ndim == 1 and b.ndim == 1:
        return [E.mul(gz, b), E.mul(gz, a)]
    if a.ndim == 1:  # v . M
        return [_dot(b, gz), _dot(_apply(DimShuffle((0, "x")), a), _apply(DimShuffle(("x", 0)), gz))]
    if b.ndim == 1:  # M . v
        return [_dot(_apply(DimShuffle((0, "x")), gz), _apply(DimShuffle(("x", 0)), b)), _dot(_transpose(a), gz)]
    return [_dot(gz, _transpose(b)), _dot(_transpose(a), gz)]


GRAD["dot"] = _dot_rule


def _batched_dot_rule(node, grads):
    """Per batch element, the matrix product's gradient."""
    (a, b), gz = node.inputs, grads[0]
    swap = DimShuffle((0, 2, 1))
    return [_apply(BatchedDot(), gz, _apply(swap, b)), _apply(BatchedDot(), _apply(swap, a), gz)]


GRAD["batched_dot"] = _batched_dot_rule


# -- shapes -----------------------------------------------------------------------------

def _dimshuffle_rule(node, grads):
    """The inverse permutation; axes added with 'x' are dropped, dropped axes come back."""
    x, order = node.inputs[0], node.op.order
    back = ["x"] * x.ndim
    for position, axis in enumerate(order):
        if axis != "x":
            back[axis] = position
    return [_apply(DimShuffle(tuple(back)), grads[0])]


def _reshape_rule(node, grads):
    x = node.inputs[0]
    return [_apply(Reshape(x.ndim), grads[0], _apply(Shape(), x)), None]


def _concatenate_rule(node, grads):
    """Each input gets its slice of the output gradient along the axis."""
    axis, gz = node.op.axis, grads[0]
    idx_list = (("s", False, False, False),) * axis + (("s", True, True, False),)
    start, result = _constant(0, "int64"), []
    for x in node.inputs:
        stop = E.add(start, _length(x, axis))
        result.append(_apply(Subtensor(idx_list), gz, start, stop))
        start = stop
    return result


GRAD.update({"shape": _no_rule, "shape_i": _no_rule, "dimshuffle": _dimshuffle_rule,
             "reshape": _reshape_rule, "concatenate": _concatenate_rule})


# -- indexing ---------------------------------------------------------------------------

def _index_rules(get, inc):
    """The gradient rules of an indexing op `get(idx_list)` and of its set/inc `inc(idx_list,
    set_instead_of_inc)`: the output gradient goes back to the indexed positions."""
    def get_rule(node, grads):
        x, *indices = node.inputs
        gx = _apply(inc(node.op.idx_list), _zeros_like(x, grads[0].dtype), grads[0], *indices)
        return [gx] + [None] * len(indices)

    def inc_rule(node, grads):
        """inc: x gets gz, y gets gz at the region; set: x gets gz with the region zeroed."""
        x, y, *indices = node.inputs
        gz, op = grads[0], node.op
        gy = _apply(get(op.idx_list), gz, *indices)
        gx = gz
        if op.set_instead_of_inc:
            gx = _apply(inc(op.idx_list, True), gz, _constant(0, gz.dtype, gy.ndim), *indices)
        return [gx, gy] + [None] * len(indices)
    return get_rule, inc_rule


_subtensor_rule, _inc_subtensor_rule = _index_rules(Subtensor, IncSubtensor)


def _take_rule(node, grads):
    x, idx = node.inputs
    return [_apply(AdvancedIncSubtensor1(), _zeros_like(x, grads[0].dtype), grads[0], idx), None]


def _inc_take_rule(node, grads):
    x, y, idx = node.inputs
    gz = grads[0]
    gx = gz
    if node.op.set_instead_of_inc:
        gx = _apply(AdvancedIncSubtensor1(True), gz, _constant(0, gz.dtype, gz.ndim), idx)
    return [gx, _apply(AdvancedSubtensor1(), gz, idx), None]


GRAD.update({"subtensor": _subtensor_rule, "inc_subtensor": _inc_subtensor_rule,
             "set_subtensor": _inc_subtensor_rule, "take": _take_rule, "inc_take": _inc_take_rule,
             "set_take": _inc_take_rule})


# -- along one axis ------------------------------------------------------------------------

def _reverse(x, axis):
    """`x` reversed along `axis` (a view: `x[:, ::-1]`)."""
    idx_list = (("s", False, False, False),) * axis + (("s", False, False, True),)
    return _apply(Subtensor(idx_list), x, _constant(-1, "int64"))


def _to_front(x, axis):
    """`x` with `axis` moved first, and the order that moves it back."""
    order = (axis,) + tuple(a for a in range(x.ndim) if a != axis)
    back = tuple(order.index(a) for a in range(x.ndim))
    return _apply(DimShuffle(order), x), back


def _cumsum_rule(node, grads):
    """Element i of x reaches every z[j] with j >= i: a cumsum from the end."""
    axis = node.op.axis
    return [_reverse(_apply(CumOp("cumsum", axis), _reverse(grads[0], axis)), axis)]


def _cumprod_rule(node, grads):
    """Theano's rule, cumsum(z * gz from the end) / x: a zero in x gives inf or NaN."""
    (x,), z, axis = node.inputs, node.outputs[0], node.op.axis
    tail = _reverse(_apply(CumOp("cumsum", axis), _reverse(E.mul(z, grads[0]), axis)), axis)
    return [E.true_div(tail, x)]


def _sort_rule(node, grads):
    """Each element of the sorted lines goes back to where argsort took it from."""
    (x,), axis, gz = node.inputs, node.op.axis, grads[0]
    where = _apply(Sort("argsort", axis), x)
    if x.ndim == 1:
        return [_apply(AdvancedIncSubtensor1(True), _zeros_like(x, gz.dtype), gz, where)]
    # lines along the last axis, numbered in C order: element k of line m sits at m * n + k
    order = tuple(a for a in range(x.ndim) if a != axis) + (axis,)
    g_lines, where = _apply(DimShuffle(order), gz), _apply(DimShuffle(order), where)
    lengths = [_length(g_lines, a) for a in range(x.ndim)]
    lines = functools.reduce(E.mul, lengths[:-1])
    first = E.mul(_apply(ARange("int64"), _constant(0, "int64"), lines, _constant(1, "int64")), lengths[-1])
    first = _apply(Reshape(x.ndim - 1), first, _apply(MakeVector("int64"), *lengths[:-1]))
    first = _apply(DimShuffle(tuple(range(x.ndim - 1)) + ("x",)), first)
    flat = _apply(Reshape(1), E.add(where, first), _constant(-1, "int64", 1))
    size = E.mul(lines, lengths[-1])
    scattered = _apply(AdvancedIncSubtensor1(True), _apply(Alloc(), _constant(0, gz.dtype), size),
                       _apply(Reshape(1), g_lines, _constant(-1, "int64", 1)), flat)
    g_lines = _apply(Reshape(x.ndim), scattered, _apply(MakeVector("int64"), *lengths))
    back = tuple(order.index(a) for a in range(x.ndim))
    return [_apply(DimShuffle(back), g_lines)]


def _repeat_rule(node, grads):
    """Every copy of an element adds its gradient back to it."""
    (x, repeats), axis = node.inputs, node.op.axis
    n = _length(x, axis)
    source = _apply(Repeat(0), _apply(ARange("int64"), _constant(0, "int64"), n, _constant(1, "int64")), repeats)
    gz, back = _to_front(grads[0], axis)
    zeros, _ = _to_front(_zeros_like(x, gz.dtype), axis)
    return [_apply(DimShuffle(back), _apply(AdvancedIncSubtensor1(), zeros, gz, source)), None]


GRAD.update({"cumsum": _cumsum_rule, "cumprod": _cumprod_rule, "sort": _sort_rule, "argsort": _zero_rule,
             "repeat": _repeat_rule})


# (repeated positions accumulate: AdvancedIncSubtensor adds each one)
_advanced_subtensor_rule, _advanced_inc_subtensor_rule = _index_rules(AdvancedSubtensor, AdvancedIncSubtensor)


def _check_lengths_rule(node, grads):
    return [grads[0], None]


GRAD.update({"advanced_subtensor": _advanced_subtensor_rule, "advanced_inc_subtensor": _advanced_inc_subtensor_rule,
             "advanced_set_subtensor": _advanced_inc_subtensor_rule, "nonzero": _no_rule,
             "check_lengths": _check_lengths_rule})


# -- creation and side effects ------------------------------------------------------------

def _alloc_rule(node, grads):
    """The value's gradient: summed over the axes alloc added in front
    (`_fit` sums the axes where the value is broadcastable)."""
    value, *shape = node.inputs
    added = range(grads[0].ndim - value.ndim)
    return [_sum(grads[0], added)] + [None] * len(shape)


def _make_vector_rule(node, grads):
    return [_apply(Subtensor(("i",)), grads[0], _constant(i, "int64")) for i in range(len(node.inputs))]


def _grad_override_rule(node, grads):
    """zero_grad: ZERO; disconnected_grad: none; grad_clip: clipped; grad_scale: scaled."""
    kind, params, g = node.op.kind, node.op.params, grads[0]
    if kind == "zero":
        return [ZERO]
    if kind == "disconnected":
        return [None]
    if kind == "clip":
        return [E.minimum(E.maximum(g, params[0]), params[1])]
    return [E.mul(g, params[0])]


GRAD.update({"alloc": _alloc_rule, "arange": _no_rule, "eye": _no_rule, "make_vector": _make_vector_rule,
             "print": _identity_rule, "grad_override": _grad_override_rule,
             **{f"random_{dist}": _no_rule for dist in RANDOM_DISTS}})


def _scan_rule(node, grads, needed=None):
    """Back-propagation through time: a backward scan (loopc.gradient_scan)."""
    from .gradient_scan import scan_grad
    return scan_grad(node, grads, needed)


GRAD["scan"] = _scan_rule
# Rules told which inputs need a gradient: a scan's backward loop computes only those.
TOLD_NEEDED = {"scan"}


# -- the driver -------------------------------------------------------------------------------

def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", add_names=True, known_grads=None,
         return_disconnected="zero", null_gradients="raise"):
    """Symbolic gradient of the scalar `cost` with respect to `wrt` (a variable,
    or a list or tuple of them: the result has the same structure).

    consider_constant: variables whose owners are not differentiated through.
    disconnected_inputs: 'raise' (DisconnectedInputError), 'warn' or 'ignore' when
        the cost does not depend on an element of wrt.
    return_disconnected: 'zero' (zeros like it), 'None' or 'Disconnected' (both
        give None) for such an element.
    known_grads: {variable: gradient} to start from, with or without a cost.
    add_names: name each gradient `(d<cost>/d<wrt>)` when both have names (Theano).
    null_gradients: 'raise' only: a gradient through an op without one is an
        UnsupportedError naming the op (Theano's 'return' gives a null variable
        loopc has no type for).
    """
    _check_choice("disconnected_inputs", disconnected_inputs, ("raise", "warn", "ignore"))
    _check_choice("return_disconnected", return_disconnected, ("zero", "None", "Disconnected"))
    if null_gradients != "raise":
        raise UnsupportedError("grad: null_gradients=%r; loopc has only 'raise' (a gradient through an op "
                               "without one raises, naming the op)", null_gradients)
    wrt_list = _as_variable_list(wrt, "wrt")
    seeds = _seeds(cost, known_grads)
    totals = backprop(seeds, wrt_list, consider_constant or ())
    results = [_finish(cost, w, i, totals[w], disconnected_inputs, return_disconnected)
               for i, w in enumerate(wrt_list)]
    if add_names and cost is not None and cost.name:
        for w, g in zip(wrt_list, results):
            if g is not None and w.name and g.name is None and g.owner is not None:
                g.name = f"(d{cost.name}/d{w.name})"
    return _format_like(wrt, results)


def backprop(seeds, wrt, consider_constant=()):
    """{w: total gradient (variable, ZERO or None)} for each w in `wrt`, given
    {variable: its gradient} in `seeds` (already of the variables' types)."""
    nodes = toposort(list(seeds), consider_constant)
    reach = _reachable(nodes, wrt)
    terms = {var: [g] for var, g in seeds.items()}
    totals = {}

    def total(var):
        if var not in totals:
            totals[var] = _add_terms(terms.get(var))
        return totals[var]

    for node in reversed(nodes):
        needed = [i for i in _connected(node) if node.inputs[i] in reach]
        if not needed:  # no input depends on wrt
            continue
        out_grads = _through_discrete([total(out) for out in node.outputs], node.outputs)
        if all(g is None for g in out_grads):
            continue
        in_grads = _input_grads(node, out_grads, needed)
        for i in needed:
            term = _fit(in_grads[i], node.inputs[i], node)
            if term is not None:
                terms.setdefault(node.inputs[i], []).append(term)
    return {w: total(w) for w in wrt}


def _reachable(nodes, wrt):
    """The variables that depend differentiably on some element of `wrt`."""
    reach = set(wrt)
    for node in nodes:
        if any(node.inputs[i] in reach for i in _connected(node)):
            reach.update(node.outputs)
    return reach


def _connected(node):
    return range(CONNECTED.get(node.op.name, len(node.inputs)))


def _input_grads(node, out_grads, needed=None):
    """The rule's input gradients; ZERO everywhere when every output gradient is ZERO.
    A rule in `TOLD_NEEDED` also gets `needed`, the positions of the inputs whose
    gradients are wanted (the others it may leave out: None)."""
    if all(g is None or g is ZERO for g in out_grads):
        return [ZERO] * len(node.inputs)
    rule = GRAD.get(node.op.name)
    if rule is None:
        raise UnsupportedError("grad: op %r (%s) has no gradient rule; add one to loopc.gradient.GRAD",
                               node.op.name, type(node.op).__name__)
    if node.op.name in TOLD_NEEDED and needed is not None:
        in_grads = rule(node, out_grads, needed=set(needed))
    else:
        in_grads = rule(node, out_grads)
    if len(in_grads) != len(node.inputs):
        raise LoopcValueError("grad: the rule of op %r returned %d gradients for %d inputs",
                              node.op.name, len(in_grads), len(node.inputs))
    return in_grads


def _fit(term, var, node):
    """`term` made a gradient of `var`: summed over the axes where `var` is
    broadcastable and it is not, cast to `var`'s dtype; ZERO for integer `var`."""
    if term is None or term is ZERO:
        return term
    if not is_tensor(var):
        return None
    if term.ndim != var.ndim:
        where = f"the rule of op {node.op.name!r}" if node is not None else "known_grads"
        raise NdimMismatchError("grad: %s gave a gradient of ndim %d for %s, which has ndim %d",
                             where, term.ndim, var, var.ndim)
    axes = [i for i, (v, t) in enumerate(zip(var.broadcastable, term.broadcastable)) if v and not t]
    return _cast(_sum(term, axes, keepdims=True), _gradient_dtype(var, term))


def _gradient_dtype(var, term):
    """The dtype of a gradient of `var`: var's own, or for an integer `var` the float
    dtype of the term (Theano: the gradient of the real-valued extension)."""
    from .config import config
    if not is_discrete(var.dtype):
        return var.dtype
    return term.dtype if not is_discrete(term.dtype) else config.floatX


def _through_discrete(grads, outputs):
    """ZERO for the gradient of an integer or bool output: such an output is locally
    constant, so nothing flows back through the op from it (Theano's op contract)."""
    return [ZERO if g is not None and is_discrete(out.dtype) else g for g, out in zip(grads, outputs)]


def _add_terms(terms):
    if not terms:
        return None
    live = [t for t in terms if t is not ZERO]
    if not live:
        return ZERO
    return functools.reduce(E.add, live)


def _seeds(cost, known_grads):
    """The starting gradients: 1 for the cost, and the known_grads."""
    seeds = {}
    for var, g in (known_grads or {}).items():
        if not isinstance(var, Variable):
            raise LoopcTypeError("grad: known_grads keys must be variables, got %r", var)
        if not isinstance(g, Variable):
            g = Constant(TensorType(np.asarray(g).dtype.name, (False,) * np.ndim(g)), np.asarray(g))
        seeds[var] = _fit(g, var, None)
    if cost is None:
        if not seeds:
            raise LoopcValueError("grad: give a cost or known_grads")
        return seeds
    if not isinstance(cost, Variable):
        raise LoopcTypeError("grad: the cost must be a symbolic variable, got %r", cost)
    if cost.ndim != 0:
        raise LoopcTypeError("grad: the cost must be a scalar (0-d), got %s, a %s; reduce it first, "
                             "e.g. with T.sum", cost, cost.type.describe())
    if cost not in seeds:  # Theano's ones_like(cost): 1 of cost's float type, referring to cost
        seeds[cost] = _fill(cost, _constant(1, _float_type(cost).dtype))
    return seeds


def _fill(model, value):
    """`value` (0-d) broadcast to the shape of `model` and referring to it (Theano's
    fill), so that a function of the gradient takes model's inputs even when the shape
    is known without them (a 0-d or all-broadcastable model); compiles to the alloc."""
    filled = _broadcast_like(value, model) if model.ndim else value
    if all(model.broadcastable):
        filled = _apply(CheckLengths((), "fill"), filled, model)
    return filled


def _finish(cost, w, i, total, disconnected_inputs, return_disconnected):
    """The gradient handed to the user for `w` (wrt[i])."""
    if total is None:
        _report_disconnected(cost, w, i, disconnected_inputs)
        return _float_zeros_like(w) if return_disconnected == "zero" else None
    if total is ZERO:
        return _float_zeros_like(w)
    return total


def _report_disconnected(cost, w, i, disconnected_inputs):
    if disconnected_inputs == "ignore":
        return
    message = (f"grad: the cost {cost if cost is not None else '(known_grads)'} does not depend on "
               f"{w} (wrt[{i}], a {w.type.describe()}): it is not part of the cost's graph, or reaches "
               f"it only through non-differentiable inputs (shapes, indices). Pass "
               f"disconnected_inputs='ignore' or 'warn' to get zeros for it.")
    if disconnected_inputs == "warn":
        warnings.warn(message, stacklevel=3)
        return
    raise DisconnectedInputError(message)


def _check_choice(name, value, choices):
    if value not in choices:
        raise LoopcValueError("grad: %s must be one of %s, got %r", name, choices, value)


def _as_variable_list(wrt, what):
    items = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    for i, w in enumerate(items):
        if not isinstance(w, Variable) or not is_tensor(w):
            raise LoopcTypeError("grad: %s must be a tensor variable or a list of them; element %d is %r",
                                 what, i, w)
    return items


def _format_like(wrt, results):
    if isinstance(wrt, list):
        return results
    if isinstance(wrt, tuple):
        return tuple(results)
    return results[0]


# -- jacobian and hessian ---------------------------------------------------------------------

def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """d expression[i] / d wrt, stacked over i: shape (len(expression),) + wrt.shape.

    `expression` is a vector (or a scalar, which gives `grad`). As in Theano the
    rows come from `scan` over `arange(expression.shape[0])`, each step taking
    `grad(expression[i], wrt)`; when the length is known while building (a
    constant, or a broadcastable axis) the rows are built by a Python loop."""
    if not isinstance(expression, Variable) or not is_tensor(expression):
        raise LoopcTypeError("jacobian: expression must be a tensor variable, got %r", expression)
    if expression.ndim > 1:
        raise LoopcTypeError("jacobian: expression must be a vector, got %s of ndim %d; flatten it first",
                             expression, expression.ndim)
    wrt_list = _as_variable_list(wrt, "wrt")
    if expression.ndim == 0:
        return _format_like(wrt, grad(expression, wrt_list, consider_constant, disconnected_inputs))
    rows = _jacobian_rows(expression, wrt_list, consider_constant, disconnected_inputs)
    return _format_like(wrt, rows)


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The matrix of second derivatives of the scalar `cost` for each vector in `wrt`:
    the jacobian of grad(cost, w) with respect to w (Theano's hessian)."""
    wrt_list = _as_variable_list(wrt, "wrt")
    result = []
    for w in wrt_list:
        if w.ndim != 1:
            raise LoopcTypeError("hessian: wrt must be vectors, got %s of ndim %d", w, w.ndim)
        g = grad(cost, w, consider_constant, disconnected_inputs)
        # w may be disconnected from its own gradient (a linear cost): not an error.
        result.extend(_jacobian_rows(g, [w], consider_constant, "ignore"))
    return _format_like(wrt, result)


def hessian_vector_product(cost, wrt, p, **grad_kwargs):
    """H p for the Hessian H of the scalar `cost` with respect to `wrt` (a variable or a
    list, `p` alike), without building H: the gradient of sum_k(grad_k * p_k)
    (PyTensor's hessian_vector_product); `grad_kwargs` go to both `grad` calls."""
    wrt_list, p_list = _as_variable_list(wrt, "wrt"), _as_variable_list(p, "p")
    if len(p_list) != len(wrt_list):
        raise LoopcValueError("hessian_vector_product: %d vectors p for %d wrt", len(p_list), len(wrt_list))
    grads = grad(cost, wrt_list, **grad_kwargs)
    inner = functools.reduce(E.add, [_sum(E.mul(g, v), range(g.ndim)) for g, v in zip(grads, p_list)])
    return _format_like(wrt, grad(inner, wrt_list, **grad_kwargs))


def _jacobian_rows(expression, wrt, consider_constant, disconnected_inputs):
    """For each w in wrt, the rows grad(expression[i], w) stacked on a new first axis."""
    def row_grads(i):
        return [grad(_index(expression, i), w, consider_constant, disconnected_inputs) for w in wrt]

    length = _static_length(expression)
    if length is not None:
        rows = [row_grads(_constant(i, "int64")) for i in range(length)]
        return [_stack([r[k] for r in rows], w) for k, w in enumerate(wrt)]
    if importlib.util.find_spec("loopc.frontend.scan") is None:
        raise UnsupportedError("jacobian of %s: its length is only known at run time, which needs "
                               "loopc.scan, and loopc.frontend.scan is not available", expression)
    from .frontend.scan import scan
    steps = _apply(ARange("int64"), _constant(0, "int64"), _apply(ShapeI(0), expression), _constant(1, "int64"))
    # wrt is captured by the step function, not passed as a non_sequence, so the
    # rows are gradients of the outer graph (the seed's Jacobian pattern).
    results, updates = scan(row_grads, sequences=[steps], return_list=True)
    if updates:
        raise LoopcValueError("jacobian: scan returned updates %s; gradients should not draw random numbers",
                              updates)
    return list(results)


def _index(x, i):
    return _apply(Subtensor(("i",)), x, i)


def _static_length(x):
    """The length of axis 0 of `x` when the graph fixes it, else None."""
    if x.broadcastable[0]:
        return 1
    if isinstance(x, Constant):
        return int(np.shape(x.data)[0])
    return None


def _stack(rows, like):
    """Rows of the shape of `like` stacked on a new first axis."""
    if not rows:
        zero = _constant(0, like.dtype if not is_discrete(like.dtype) else "float64")
        return _apply(Alloc(), zero, _constant(0, "int64"), *_shape_entries(like))
    expanded = [_apply(DimShuffle(("x",) + tuple(range(r.ndim))), r) for r in rows]
    return expanded[0] if len(expanded) == 1 else _apply(Concatenate(0), *expanded)


# -- subgraph_grad --------------------------------------------------------------------------

def subgraph_grad(wrt, end, start=None, cost=None, details=False):
    """Gradients of `cost` and/or of the known gradients `start` ({variable: gradient})
    with respect to the lists `wrt` and `end`, back-propagating no further than the
    variables of `end` (Theano's subgraph_grad: layer by layer back-propagation, or a
    hand-made gradient of a sampling step fed into the next call as `start`).
    Disconnected inputs get zeros. Returns (wrt gradients, end gradients), and with
    `details` also the parts from `start` and from `cost` (None when not given)."""
    if cost is None and start is None:
        raise LoopcValueError("subgraph_grad: give a cost or start gradients")
    for name, value in (("wrt", wrt), ("end", end)):
        if not isinstance(value, list):
            raise LoopcTypeError("subgraph_grad: %s must be a list of variables, got %r", name, value)
    if start is not None and not isinstance(start, dict):
        raise LoopcTypeError("subgraph_grad: start must be a dict {variable: gradient}, got %r", start)
    params = list(dict.fromkeys(wrt + end))
    start_grads = cost_grads = None
    if start is not None:
        start_grads = grad(None, params, consider_constant=end, disconnected_inputs="ignore", known_grads=start)
    if cost is not None:
        cost_grads = grad(cost, params, consider_constant=end, disconnected_inputs="ignore")
    if start_grads is None:
        grads = cost_grads
    elif cost_grads is None:
        grads = start_grads
    else:
        grads = [E.add(a, b) for a, b in zip(start_grads, cost_grads)]
    by_param = dict(zip(params, grads))
    wrt_grads, end_grads = [by_param[w] for w in wrt], [by_param[e] for e in end]
    if details:
        return wrt_grads, end_grads, start_grads, cost_grads
    return wrt_grads, end_grads


# -- Lop and Rop ----------------------------------------------------------------------------

def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """The vector-Jacobian product: for each w in `wrt`, sum over i of
    eval_points[i] * d f[i] / d w (Theano's L-operator; `grad` with known_grads).
    `f` and `eval_points` are a variable or equal-length lists; the result has the
    structure of `wrt`."""
    f_list, points = _paired(f, eval_points, "Lop", "f")
    known = dict(zip(f_list, points))
    return grad(None, wrt, consider_constant, disconnected_inputs, known_grads=known)


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):
    """The Jacobian-vector product: for each f[i], sum over j of
    d f[i] / d wrt[j] * eval_points[j] (Theano's R-operator); the result has the
    structure of `f`.

    Built from two reverse passes, so every op with a gradient rule (scans
    included) has one: with u a stand-in of f's type, Lop(f, wrt, u) is linear in
    u, and the gradient of sum_j(Lop_j * eval_points[j]) with respect to u is the
    product wanted; u is gone from it but for shapes, which f itself gives.
    disconnected_outputs: 'raise' (DisconnectedOutputError), 'warn' or 'ignore'
    for an f[i] that does not depend on wrt; return_disconnected: 'zero' or 'None'
    for what it gets then."""
    _check_choice("disconnected_outputs", disconnected_outputs, ("raise", "warn", "ignore"))
    _check_choice("return_disconnected", return_disconnected, ("zero", "None", "Disconnected"))
    wrt_list, points = _paired(wrt, eval_points, "Rop", "wrt")
    f_list = _as_variable_list(f, "f")
    stand_ins = [Variable(_float_type(out), name=f"{out}_cotangent") for out in f_list]
    vjps = grad(None, wrt_list, known_grads=dict(zip(f_list, stand_ins)), disconnected_inputs="ignore",
                return_disconnected="None")
    terms = [E.mul(g, p) for g, p in zip(vjps, points) if g is not None]
    inner = functools.reduce(E.add, [_sum(t, range(t.ndim)) for t in terms]) if terms else None
    results = []
    for i, (out, u) in enumerate(zip(f_list, stand_ins)):
        total = backprop({inner: _constant(1, inner.dtype)}, [u])[u] if inner is not None else None
        if total is None and _float_path(out, wrt_list):
            total = ZERO  # connected, with a zero derivative (zero_grad, a shape): zeros, no error
        if total is None:
            _report_disconnected_output(out, i, wrt_list, disconnected_outputs)
            results.append(_zeros_like(out, _float_type(out).dtype) if return_disconnected == "zero" else None)
        else:
            results.append(_zeros_like(out, _float_type(out).dtype) if total is ZERO else total)
    replaced = clone_replace([r for r in results if r is not None], dict(zip(stand_ins, f_list)))
    it = iter(replaced)
    results = [None if r is None else _cast(next(it), _float_type(out).dtype) for r, out in zip(results, f_list)]
    return _format_like(f, results)


def _float_path(out, wrt):
    """Whether `out` is computed from `wrt` through float values only, not cut by a
    disconnected_grad: Theano's Rop then gives zeros even where the derivative is zero
    by the rules (zero_grad, a gradient's seed); an integer value on every path (a
    shape, argmax) has no R-operator, and Theano raises."""
    reach = {w for w in wrt if not is_discrete(w.dtype)}
    for node in toposort([out]):
        if isinstance(node.op, GradOverride) and node.op.kind == "disconnected":
            continue
        if any(v in reach for v in node.inputs):
            reach.update(v for v in node.outputs if is_tensor(v) and not is_discrete(v.dtype))
    return out in reach


def _float_type(var):
    from .config import config
    return TensorType(config.floatX if is_discrete(var.dtype) else var.dtype, var.broadcastable)


def _paired(variables, points, who, what):
    """`variables` and `points` as two lists of equal length; numbers become constants."""
    var_list = _as_variable_list(variables, what)
    point_list = list(points) if isinstance(points, (list, tuple)) else [points]
    if len(point_list) != len(var_list):
        raise LoopcValueError("%s: %d eval_points for %d %s", who, len(point_list), len(var_list), what)
    out = []
    for i, (v, p) in enumerate(zip(var_list, point_list)):
        if not isinstance(p, Variable):
            data = np.asarray(p, dtype=v.dtype if not is_discrete(v.dtype) else None)
            p = Constant(TensorType(data.dtype.name, tuple(n == 1 for n in data.shape)), data)
        if not is_tensor(p) or p.ndim != v.ndim:
            raise NdimMismatchError("%s: eval_points[%d] must have the ndim of %s[%d] (%s, a %s), got %s",
                                 who, i, what, i, v, v.type.describe(), p)
        out.append(p)
    return var_list, out


def _report_disconnected_output(out, i, wrt, disconnected_outputs):
    if disconnected_outputs == "ignore":
        return
    why = " (an integer output is locally constant)" if is_discrete(out.dtype) else ""
    message = (f"Rop: f[{i}] ({out}) does not depend on {', '.join(map(str, wrt))}{why}; pass "
               f"disconnected_outputs='ignore' or 'warn' to get zeros for it.")
    if disconnected_outputs == "warn":
        warnings.warn(message, stacklevel=3)
        return
    raise DisconnectedOutputError(message)


# -- gradient overrides ---------------------------------------------------------------------

def _override(kind, x, params=()):
    if not isinstance(x, Variable):
        data = np.asarray(x)
        x = Constant(TensorType(data.dtype.name, (False,) * data.ndim), data)
    if not is_tensor(x):
        raise LoopcTypeError("%s: expected a tensor variable, got %r", kind, x)
    return _apply(GradOverride(kind, params), x)


def zero_grad(x):
    """`x`, whose gradient is zero: the cost still depends on what x depends on,
    but back-propagation stops here (Theano's zero_grad)."""
    return _override("zero", x)


def disconnected_grad(x):
    """`x`, with its gradient disconnected: what x depends on is not an input of the
    cost as far as `grad` is concerned (asking for it raises DisconnectedInputError
    unless disconnected_inputs says otherwise)."""
    return _override("disconnected", x)


def consider_constant(x):
    """Theano's older name for a zero gradient through `x` (prefer zero_grad)."""
    return _override("zero", x)


def grad_clip(x, lower_bound, upper_bound):
    """`x`, whose gradient is clipped elementwise to [lower_bound, upper_bound]."""
    lower, upper = _number(lower_bound, "grad_clip", "lower_bound"), _number(upper_bound, "grad_clip", "upper_bound")
    if not lower <= upper:
        raise LoopcValueError("grad_clip: lower_bound (%r) must not exceed upper_bound (%r)", lower, upper)
    return _override("clip", x, (lower, upper))


def grad_scale(x, multiplier):
    """`x`, whose gradient is multiplied by `multiplier`."""
    return _override("scale", x, (_number(multiplier, "grad_scale", "multiplier"),))


def _number(value, who, what):
    if isinstance(value, Variable) or np.ndim(value) != 0 or not np.isrealobj(value):
        raise LoopcTypeError("%s: %s must be a real number, got %r", who, what, value)
    return float(value)


# -- verify_grad ----------------------------------------------------------------------------

# Tolerances and finite-difference steps per dtype (Theano's).
TYPE_TOL = {"float16": 5e-2, "float32": 1e-2, "float64": 1e-4}
TYPE_EPS = {"float16": 1e-1, "float32": 3e-4, "float64": 1e-7}


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, abs_tol=None, rel_tol=None, mode=None,
                out_type=None, cast_to_output_type=False, no_debug_ref=True):
    """Check `grad` of `fun` at the point `pt` (a list of float arrays) against
    central finite differences of the random projection `sum(r * fun(*pt))`, for
    `n_tests` random `r`. Raises GradientError naming the input, the index and
    both values. Compiles with `loopc.function(mode=mode)` where it exists, else
    evaluates with the reference evaluator (`loopc.ir.interpret`)."""
    pt = _check_points(pt)
    abs_tol = max(TYPE_TOL[p.dtype.name] for p in pt) if abs_tol is None else abs_tol
    rel_tol = max(TYPE_TOL[p.dtype.name] for p in pt) if rel_tol is None else rel_tol
    eps = max(TYPE_EPS[p.dtype.name] for p in pt) if eps is None else eps
    rng = np.random.RandomState(42) if rng is None else rng
    inputs = [TensorType(p.dtype.name, tuple(n == 1 for n in p.shape))(name=f"input {i}") for i, p in enumerate(pt)]
    output = _apply(fun, *inputs) if isinstance(fun, Op) else fun(*inputs)
    if isinstance(output, (list, tuple)):
        raise UnsupportedError("verify_grad checks a function with one output, got %d outputs", len(output))
    (value,) = _compile(inputs, [output], mode)(*[p.copy() for p in pt])
    dtype = output.dtype if cast_to_output_type and output.dtype == "float32" else "float64"
    projection = SharedVariable(TensorType(dtype, output.broadcastable), _projection(rng, value, dtype),
                                name="random_projection")
    cost = _sum(E.mul(projection, output), range(output.ndim))
    cost_fn = _compile(inputs, [cost], mode)
    grad_fn = _compile(inputs, grad(cost, inputs, disconnected_inputs="ignore"), mode)
    for test in range(n_tests):
        numeric = central_differences(lambda *xs: cost_fn(*xs)[0], pt, eps)
        analytic = grad_fn(*[p.copy() for p in pt])
        _compare_grads(numeric, analytic, abs_tol, rel_tol, f"test {test + 1} of {n_tests}")
        projection.set_value(_projection(rng, value, dtype))


# Theano's tests catch `verify_grad.E_grad`
verify_grad.E_grad = GradientError


def _check_points(pt):
    if not isinstance(pt, (list, tuple)):
        raise LoopcTypeError("verify_grad: pt must be a list of arrays, got %s", type(pt).__name__)
    pt = [np.array(p) for p in pt]
    for i, p in enumerate(pt):
        if p.dtype.name not in TYPE_TOL:
            raise LoopcTypeError("verify_grad works only with floating-point inputs, but input %d has dtype %s",
                                 i, p.dtype)
    return pt


def _projection(rng, value, dtype):
    # Not too small, or the numeric gradient loses precision.
    return np.asarray(rng.rand(*np.shape(value)) + 0.5, dtype=dtype)


def _compile(inputs, outputs, mode):
    """A callable returning the list of output values."""
    if importlib.util.find_spec("loopc.frontend.function") is None:
        from .ir.interpret import evaluate
        graph = Graph(inputs, outputs)
        return lambda *values: evaluate(graph, values)
    from .frontend.function import function
    f = function(inputs, list(outputs), mode=mode, allow_input_downcast=True, on_unused_input="ignore")
    return lambda *values: list(f(*values))


def central_differences(f, pt, eps):
    """(f(x + eps e_j) - f(x - eps e_j)) / 2 eps for every element j of every
    array in `pt`; `f(*arrays)` returns a scalar."""
    pt = [np.array(p) for p in pt]
    result = []
    for p in pt:
        g = np.zeros(p.shape, dtype="float64")
        flat = p.reshape(-1)  # a view: writing it moves p
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            up, high = float(f(*[q.copy() for q in pt])), float(flat[j])
            flat[j] = original - eps
            down, low = float(f(*[q.copy() for q in pt])), float(flat[j])
            flat[j] = original
            g.flat[j] = (up - down) / (high - low)  # the step actually taken, after rounding
        result.append(g)
    return result


def _compare_grads(numeric, analytic, abs_tol, rel_tol, which):
    """Raise GradientError at the worst element where both errors exceed their tolerances."""
    for arg, (num, ana) in enumerate(zip(numeric, analytic)):
        ana = np.asarray(ana, dtype="float64")
        if ana.shape != num.shape:
            raise GradientError("verify_grad (%s): the gradient of input %d has shape %s, the input has shape %s",
                                which, arg, ana.shape, num.shape)
        abs_err = np.abs(num - ana)
        rel_err = abs_err / np.maximum(np.abs(num) + np.abs(ana), 1e-8)
        bad = (abs_err > abs_tol) & (rel_err > rel_tol) | (np.isnan(num) != np.isnan(ana))
        if not bad.any():
            continue
        pos = np.unravel_index(int(np.argmax(np.where(bad, abs_err, -1.0))), num.shape)
        raise GradientError(
            "verify_grad (%s): the gradient of input %d (shape %s) at index %s is %r analytically "
            "but %r numerically (abs. error %.3g, tolerance %g; rel. error %.3g, tolerance %g)",
            which, arg, num.shape, tuple(int(k) for k in pos), float(ana[pos]), float(num[pos]),
            abs_err[pos], abs_tol, rel_err[pos], rel_tol, arg=arg, err_pos=pos, shape=num.shape,
            val1=float(num[pos]), val2=float(ana[pos]), abs_err=float(abs_err[pos]),
            rel_err=float(rel_err[pos]), abs_tol=abs_tol, rel_tol=rel_tol)
