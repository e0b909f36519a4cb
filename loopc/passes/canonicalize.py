"""canonicalize: fold constants and apply algebraic identities that are obviously right.

Does: replaces a pure node whose inputs are all constants by the constant it
computes (NumPy `perform`, result type kept exactly; results over
`MAX_FOLD_SIZE` elements stay unfolded so generated source stays small), and
rewrites `x * 1`, `x / 1`, `x + 0`, `x - 0` (the constant all-broadcastable, the
result type exactly x's), a cast to x's own dtype, an identity dimshuffle, a
dimshuffle of a dimshuffle, an index-free subtensor, a gradient override
(`zero_grad(x)` is x), `shape(x)[i]` and `shape_i(alloc(v, ..., n, ...))` of an
alloc that cannot fail, and a `check_lengths` that checks no axis.
A scan's constant non-sequences move into its body (which is then
canonicalized like any graph), so they fold there.
Requires: nothing (runs first).
Guarantees: same inputs, same output types and values; `verify` holds; random
ops, `print` and scans are never folded. (`x + 0` turns a -0.0 into 0.0.)

    %0 = dimshuffle 1.0:f64 {order=[x]} : f64[1]      |
    %1 = mul %x, %0 : f64[?]                           |  (gone)
    %2 = dimshuffle %1 {order=[0]} : f64[?]            |
    return %2                                          |  return %x
"""
import dataclasses
import math

import numpy as np

from ..ir.graph import Constant, Graph, clone_replace
from ..ir.ops import (Alloc, ARange, CheckLengths, DimShuffle, Dot, Elemwise, Eye, GradOverride, Print, RandomOp, Shape,
                      ShapeI, Subtensor)
from ..ir.scan import Scan
from .rewrite import rebuild, rewrite_body

MAX_FOLD_SIZE = 1000
IMPURE = (RandomOp, Print, Scan)


def run(graph):
    bodies, inlined = {}, {}

    def rewrite(node, original):
        if not isinstance(node.op, Scan):
            return simplify(node)
        scan = inline_constant_non_sequences(node, inlined)
        replacement = rewrite_body(scan, run, bodies)
        if replacement is None and scan is not node:
            replacement = list(scan.outputs)
        return replacement
    return rebuild(graph, rewrite)


def inline_constant_non_sequences(node, cache):
    """The scan node with its constant non-sequences substituted into its body.

    `cache` maps (op, constants) to the new op, so nodes sharing an op keep sharing one."""
    op = node.op
    outer = op.split_inputs(node.inputs)
    body_in = op.split_body_inputs(op.body.inputs).non_sequences
    constant = [isinstance(v, Constant) for v in outer.non_sequences]
    if not any(constant):
        return node
    key = (id(op), tuple((i, id(v)) for i, (v, c) in enumerate(zip(outer.non_sequences, constant)) if c))
    if key not in cache:
        replace = {inner: v for inner, v, c in zip(body_in, outer.non_sequences, constant) if c}
        body = Graph([v for v in op.body.inputs if v not in replace], clone_replace(op.body.outputs, replace))
        cache[key] = (op, dataclasses.replace(op, body=body, n_non_sequences=constant.count(False)))
    new_op = cache[key][1]  # the old op stays in the cache entry, so its id is not reused
    kept = [v for v, c in zip(outer.non_sequences, constant) if not c]
    new = new_op.make_node(outer.n_steps, *outer.sequences, *outer.states, *outer.shared, *kept)
    for old, var in zip(node.outputs, new.outputs):
        var.name = old.name
    return new


def simplify(node):
    """Replacement outputs for `node` after applying the rules until none applies, or None."""
    result = None
    while node is not None:
        replacement = _apply_rules(node)
        if replacement is None:
            return result
        result = replacement
        # the replacement's node may itself simplify (a merged dimshuffle); every rule
        # removes or merges a node, so this ends
        node = replacement[0].owner if len(replacement) == 1 else None
    return result


def _apply_rules(node):
    folded = fold_constants(node)
    if folded is not None:
        return folded
    for rule in RULES.get(type(node.op), ()):
        var = rule(node)
        if var is not None:
            return [var]
    return None


# -- constant folding ---------------------------------------------------------------

def fold_constants(node):
    """Constants for the outputs of a pure node whose inputs are all constants, or None."""
    if isinstance(node.op, IMPURE) or not all(isinstance(v, Constant) for v in node.inputs):
        return None
    try:
        if _estimated_size(node) > MAX_FOLD_SIZE:
            return None
        values = node.op.perform(node, [v.data for v in node.inputs])
    except Exception:  # noqa: BLE001 -- an error while folding is left for run time to report
        return None
    if any(np.size(value) > MAX_FOLD_SIZE for value in values):
        return None
    return [Constant(out.type, np.array(value, dtype=out.dtype, order="C"))
            for out, value in zip(node.outputs, values)]


def _estimated_size(node):
    """An upper bound on the output size for ops that can make large arrays from small
    inputs, so folding never allocates one; 0 for the others (checked after perform)."""
    data = [np.asarray(v.data) for v in node.inputs]
    op = node.op
    if isinstance(op, Alloc):
        return math.prod(max(int(n), 0) for n in data[1:])
    if isinstance(op, Eye):
        return max(int(data[0]), 0) * max(int(data[1]), 0)
    if isinstance(op, ARange):
        start, stop, step = (float(x) for x in data)
        return 0 if step == 0 else max(math.ceil((stop - start) / step), 0)
    if isinstance(op, Elemwise):
        return math.prod(max(dims) for dims in zip(*[x.shape for x in data])) if data[0].ndim else 1
    if isinstance(op, Dot):
        a, b = data
        return max(a.size, b.size) if 0 in (a.ndim, b.ndim) else math.prod(a.shape[:-1]) * math.prod(b.shape[1:])
    return 0


# -- algebraic rules ----------------------------------------------------------------

NEUTRAL = {"mul": (1, (0, 1)), "add": (0, (0, 1)), "sub": (0, (1,)), "true_div": (1, (1,))}


def neutral_operand(node):
    """`x * 1`, `1 * x`, `x + 0`, `0 + x`, `x - 0`, `x / 1` -> x, when the result type is x's."""
    if node.op.scalar not in NEUTRAL:
        return None
    neutral, positions = NEUTRAL[node.op.scalar]
    for pos in positions:
        const, other = node.inputs[pos], node.inputs[1 - pos]
        if _is_neutral(const, neutral) and other.type == node.out.type:
            return other
    return None


def _is_neutral(var, value):
    # all-broadcastable: the constant can neither change x's shape nor fail a length check
    return isinstance(var, Constant) and all(var.broadcastable) and bool(np.all(var.data == value))


def cast_to_same_dtype(node):
    if node.op.scalar == "cast" and node.inputs[0].type == node.out.type:
        return node.inputs[0]
    return None


def identity_dimshuffle(node):
    x = node.inputs[0]
    return x if node.op.order == tuple(range(x.ndim)) else None


def merge_dimshuffles(node):
    """dimshuffle(dimshuffle(x, inner), outer) -> dimshuffle(x, composed)."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, DimShuffle):
        return None
    order = tuple("x" if a == "x" else inner.op.order[a] for a in node.op.order)
    x = inner.inputs[0]
    if order == tuple(range(x.ndim)):
        return x
    return DimShuffle(order).make_node(x).out


def empty_subtensor(node):
    """subtensor(x) with no index at all -> x."""
    return node.inputs[0] if node.op.idx_list == () else None


def shape_subtensor(node):
    """subtensor(shape(x), i) with a constant i -> shape_i(x)."""
    shape, *indices = node.inputs
    if node.op.idx_list != ("i",) or shape.owner is None or not isinstance(shape.owner.op, Shape):
        return None
    if not isinstance(indices[0], Constant):
        return None
    x = shape.owner.inputs[0]
    axis = int(indices[0].data)
    axis = axis + x.ndim if axis < 0 else axis
    if not 0 <= axis < x.ndim:
        return None  # out of range: left for run time to report
    return ShapeI(axis).make_node(x).out


def shape_of_alloc(node):
    """shape_i(alloc(v, n0, n1, ...), k) -> nk, when the alloc cannot fail: nk a
    non-negative constant of shape_i's type (int64[]) and v unable to mismatch (0-d or
    all-broadcastable). A negative length or a value that does not broadcast raises
    in the alloc, and that error must survive the rewrite."""
    alloc = node.inputs[0].owner
    if alloc is None or not isinstance(alloc.op, Alloc):
        return None
    value, lengths = alloc.inputs[0], alloc.inputs[1:]
    if not all(value.broadcastable) or not all(isinstance(n, Constant) and int(n.data) >= 0 for n in lengths):
        return None
    length = lengths[node.op.axis]
    return length if length.type == node.out.type else None


def drop_grad_override(node):
    """`zero_grad(x)`, `grad_clip(x, ...)` and the like are `x` once gradients are built."""
    return node.inputs[0]


def unchecked_lengths(node):
    """check_lengths(x, y) checking no axis (the gradient's fill of a 0-d model) -> x."""
    return node.inputs[0] if node.op.pairs == () else None


RULES = {
    GradOverride: [drop_grad_override],
    CheckLengths: [unchecked_lengths],
    Elemwise: [neutral_operand, cast_to_same_dtype],
    DimShuffle: [identity_dimshuffle, merge_dimshuffles],
    Subtensor: [empty_subtensor, shape_subtensor],
    ShapeI: [shape_of_alloc],
}
