"""save_memory: let a scan keep only the last rows of a result that is read only there.

Does: sets `Scan.keep` (see ir/scan.py) for each state and output result whose
every reader is `subtensor` of it with a constant integer index i in [-k, -1]
on axis 0 (other axes indexed anyhow) or `shape_i` of an axis >= 1, and that is
not a graph output; k is the largest -i (1 when nothing reads the result: a
state dce kept for its taps or for the check of its initial rows). A result
read any other way (by another scan, a slice of axis 0, `h[0]`, a symbolic
index, its length) is left alone, and an existing keep is only ever lowered.
Scan bodies are done first, recursively.
Requires: runs after dce (a scan reading a result only for a part of it dce
drops still counts as a reader here).
Guarantees: same inputs, same output types and values; `verify` holds. Every
reader gets the same value or raises the same error: with keep k a result has
min(k, steps run) rows, so `h[i]` (-k <= i <= -1) reads the row it read before
and fails exactly when it failed before (fewer than -i steps run, `until` or
zero steps included), and the other axes keep their lengths.

    %0 = scan n_steps=%n states=[%h0 taps=[-1]] {
    ^(%h: f64[?]):  %1 = tanh %h;  yield %1
    } : f64[?,?]
    %2 = subtensor %0[-1] : f64[?]
  becomes
    %0 = scan n_steps=%n states=[%h0 taps=[-1]] {keep=[1]} {
    ^(%h: f64[?]):  %1 = tanh %h;  yield %1
    } : f64[?,?]
    %2 = subtensor %0[-1] : f64[?]
"""
import dataclasses

from ..ir.graph import Constant
from ..ir.ops import ShapeI, Subtensor
from ..ir.scan import Scan
from ..ir.types import is_int
from .rewrite import rebuild, rewrite_body


def run(graph):
    readers = _readers(graph)
    outputs = set(graph.outputs)
    bodies = {}

    def rewrite(node, original):
        if not isinstance(node.op, Scan):
            return None
        replacement = rewrite_body(node, run, bodies)
        if replacement is not None:
            node = replacement[0].owner
        rows = [_rows_needed(v, readers.get(v, []), outputs) for v in original.outputs]
        kept = _kept(node.op, rows)
        if kept == node.op.keep:
            return replacement
        new = dataclasses.replace(node.op, keep=kept).make_node(*node.inputs)
        for old, var in zip(node.outputs, new.outputs):
            var.name = old.name
        return list(new.outputs)

    return rebuild(graph, rewrite)


def _readers(graph):
    """value -> the nodes that read it (a node once per input position)."""
    readers = {}
    for node in graph.nodes:
        for var in node.inputs:
            readers.setdefault(var, []).append(node)
    return readers


def _rows_needed(var, readers, outputs):
    """How many last rows of the scan result `var` its readers can see, or None for all."""
    if var in outputs:
        return None
    rows = 1
    for node in readers:
        need = _rows_read(node, var)
        if need is None:
            return None
        rows = max(rows, need)
    return rows


def _rows_read(node, var):
    """The number of last rows `node` reads of `var`, or None when it may read any row."""
    if isinstance(node.op, ShapeI):
        return 1 if node.op.axis >= 1 else None
    if not isinstance(node.op, Subtensor) or node.op.idx_list[:1] != ("i",):
        return None
    x, index = node.inputs[0], node.inputs[1]
    if x is not var or var in node.inputs[1:] or not _is_int_constant(index):
        return None
    i = int(index.data)
    return -i if i < 0 else None


def _kept(op, rows):
    """The op's new keep: the rows needed per state and output, never more than it keeps already."""
    n = len(op.state_taps) + op.n_outputs
    old = op.keep or (None,) * n
    new = tuple(_smaller(a, b) for a, b in zip(old, rows[:n]))
    return new if any(k is not None for k in new) else None


def _smaller(a, b):
    if a is None or b is None:
        return b if a is None else a
    return min(a, b)


def _is_int_constant(var):
    return isinstance(var, Constant) and var.ndim == 0 and is_int(var.dtype)
