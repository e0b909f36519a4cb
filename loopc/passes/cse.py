"""cse: merge common subexpressions.

Does: two nodes with equal ops applied to the same inputs (after merging their
inputs) become one; constants of equal type and data become one. Random ops and
`print` are never merged (each draws or prints); two scans merge only when they
share their op object (`Scan` compares by identity). Scan bodies are merged
within themselves.
Requires: nothing.
Guarantees: same inputs, same output types and values; `verify` holds.

    %0 = tanh %x : f64[?]                         |  %0 = tanh %x : f64[?]
    %1 = tanh %x : f64[?]                         |
    %2 = add %0, %1 : f64[?]                      |  %1 = add %0, %0 : f64[?]
    return %2                                     |  return %1
"""
from ..ir.graph import Constant
from ..ir.ops import Print, RandomOp
from ..ir.scan import Scan
from .rewrite import rebuild, rewrite_body

NEVER_MERGED = (RandomOp, Print)


def run(graph):
    constants, seen, cache = {}, {}, {}

    def rewrite(node, original):
        inputs = [_constant(v, constants) for v in node.inputs]
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            node = node.op.make_node(*inputs)
            for old, var in zip(original.outputs, node.outputs):
                var.name = old.name
        if isinstance(node.op, Scan):
            node = _node_of(node, rewrite_body(node, run, cache))
        if isinstance(node.op, NEVER_MERGED):
            return list(node.outputs)
        key = _key(node)
        if key is None:
            return list(node.outputs)
        return list(seen.setdefault(key, node).outputs)

    merged = rebuild(graph, rewrite)
    merged.outputs = [_constant(v, constants) for v in merged.outputs]
    return merged


def _constant(var, constants):
    if not isinstance(var, Constant):
        return var
    return constants.setdefault(var.signature(), var)


def _node_of(node, replacement):
    return node if replacement is None else replacement[0].owner


def _key(node):
    """Equal keys, equal results; None when the op cannot be compared (unhashable params)."""
    key = (node.op, node.inputs)
    try:
        hash(key)
    except TypeError:
        return None
    return key
