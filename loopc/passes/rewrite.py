"""Machinery the passes share: rebuild a graph node by node, and rewrite scan bodies.

Invariant: `rebuild` keeps the graph's inputs (the very same variables, in order)
and the number and order of its outputs; only the nodes between them change.
"""
import dataclasses

from ..ir.graph import Graph
from ..ir.scan import Scan


def rebuild(graph, rewrite):
    """A graph with `graph`'s inputs whose nodes are rebuilt in topological order.

    `rewrite(node, original)` sees each node with its inputs already rewritten
    (`original` is the node it came from) and returns replacement variables for
    `node.outputs` (None for an output nobody reads) or None to keep the node."""
    memo = {}
    for original in graph.nodes:
        node = _with_inputs(original, [memo.get(v, v) for v in original.inputs])
        replacement = rewrite(node, original)
        outputs = node.outputs if replacement is None else replacement
        memo.update((old, new) for old, new in zip(original.outputs, outputs) if new is not None)
    return Graph(graph.inputs, [memo.get(v, v) for v in graph.outputs])


def _with_inputs(node, inputs):
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    new = node.op.make_node(*inputs)
    for old, var in zip(node.outputs, new.outputs):
        var.name = old.name
    return new


def same_graph(a, b):
    """True when `b` computes its outputs with the very same variables as `a`."""
    return len(a.outputs) == len(b.outputs) and all(x is y for x, y in zip(a.outputs, b.outputs))


def rewrite_body(node, run_pass, cache):
    """`node` with its scan body rewritten by `run_pass`, or None when that changes nothing.

    `cache` maps each old Scan op (by identity) to its new op, so that nodes
    sharing an op still share one afterwards (CSE merges scans by op identity)."""
    op = node.op
    if not isinstance(op, Scan):
        return None
    if id(op) not in cache:
        body = run_pass(op.body)
        cache[id(op)] = (op, op if same_graph(op.body, body) else dataclasses.replace(op, body=body))
    new_op = cache[id(op)][1]
    if new_op is op:
        return None
    new = new_op.make_node(*node.inputs)
    for old, var in zip(node.outputs, new.outputs):
        var.name = old.name
    return list(new.outputs)
