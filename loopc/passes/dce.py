"""dce: remove the dead parts of scans.

A graph's nodes are already only those its outputs need, so what is left to
remove lives inside scans. Does: drops from a scan every output (stacked
output, state, or shared update) that nothing outside reads, unless a kept body
output depends on it through its taps (a state) or its current value (a shared
update), or (a state) its initial value may have fewer rows than its taps need,
which the scan must still report; `until` is always kept. Then drops the non-sequences no kept body
output depends on, and a sequence none of whose taps is read when `n_steps`
is, by construction, at most that sequence's usable length (so dropping it
cannot hide a too-short-sequence error). Taps of a kept state or sequence are
all kept: they fix where the other taps read. Scan bodies are pruned
recursively, and the whole thing repeats until nothing changes (a pruned scan
may stop reading another scan's output).
Requires: nothing.
Guarantees: same inputs, same output types and values (shared updates that are
graph outputs are read, so they are kept); `verify` holds. Checks of the scan's
inputs (initial rows, sequence lengths) survive; an error that only a dropped
body value would raise (a shape mismatch in an output nobody reads) does not, as
that value is never computed.

    %0, %1 = scan n_steps=%n states=[%h0 taps=[-1]] non_seqs=[%c] {outputs=1} {
    ^(%h: f64[?], %c_1: f64[?]):  %2 = tanh %h;  %3 = mul %h, %c_1;  yield %2, %3
    } : f64[?,?], f64[?,?]
    return %0
  becomes
    %0 = scan n_steps=%n states=[%h0 taps=[-1]] {
    ^(%h: f64[?]):  %2 = tanh %h;  yield %2
    } : f64[?,?]
    return %0
"""
import dataclasses

from ..ir.graph import Constant, Graph, ancestors
from ..ir.ops import Elemwise, ShapeI
from ..ir.scan import Scan
from .rewrite import rebuild


def run(graph):
    graph, changed = prune(graph)
    while changed:
        graph, changed = prune(graph)
    return graph


def prune(graph):
    """One round over `graph`: (new graph, whether any scan changed)."""
    read = {v for node in graph.nodes for v in node.inputs} | set(graph.outputs)
    changed = False

    def rewrite(node, original):
        nonlocal changed
        if not isinstance(node.op, Scan):
            return None
        live = [v in read for v in original.outputs]
        replacement = prune_scan(node, live)
        changed = changed or replacement is not None
        return replacement

    return rebuild(graph, rewrite), changed


def prune_scan(node, live):
    """Replacement outputs for a scan node whose outputs flagged in `live` are read
    (None for the dropped ones), or None when nothing can be removed."""
    op, body = node.op, node.op.body
    keep = _live_roles(op, live)
    outer = op.split_inputs(node.inputs)
    for i, init in enumerate(outer.states):
        # a state whose initial value may have too few rows stays, with the check of them
        keep["states"][i] = keep["states"][i] or not _rows_guaranteed(init, op.state_rows(i))
    body_in = op.split_body_inputs(body.inputs)
    body_out = op.split_outputs(body.outputs)
    deps = _close_over_carried(keep, body_in, body_out, body)
    keep["non_sequences"] = [v in deps for v in body_in.non_sequences]
    bounded = _length_bounds(outer.n_steps)
    keep["sequences"] = [any(v in deps for v in taps) or not _implied(x, op.sequence_window(i), bounded)
                         for i, (x, taps) in enumerate(zip(outer.sequences, body_in.sequences))]
    new_body = _pruned_body(keep, body_in, body_out)
    new_body = run(new_body)
    if all(all(flags) for flags in keep.values()) and _same(body, new_body):
        return None
    new_op = dataclasses.replace(
        op, body=new_body,
        sequence_taps=_pick(op.sequence_taps, keep["sequences"]),
        state_taps=_pick(op.state_taps, keep["states"]),
        n_outputs=sum(keep["outputs"]), n_shared=sum(keep["shared"]),
        n_non_sequences=sum(keep["non_sequences"]), keep=_kept_rows(op, keep))
    inputs = [outer.n_steps] + _pick(outer.sequences, keep["sequences"]) + _pick(outer.states, keep["states"]) \
        + _pick(outer.shared, keep["shared"]) + _pick(outer.non_sequences, keep["non_sequences"])
    return _spread(node, new_op.make_node(*inputs), keep)


def _kept_rows(op, keep):
    """`op.keep` of the states and outputs that stay."""
    if op.keep is None:
        return None
    n_states = len(op.state_taps)
    rows = _pick(op.keep[:n_states], keep["states"]) + _pick(op.keep[n_states:], keep["outputs"])
    return tuple(rows) if any(k is not None for k in rows) else None


def _live_roles(op, live):
    roles = op.split_outputs(live)
    return {"states": list(roles.states), "outputs": list(roles.outputs), "shared": list(roles.shared)}


def _close_over_carried(keep, body_in, body_out, body):
    """Mark live every state or shared update a live body output reads; return what
    the live body outputs depend on."""
    while True:
        roots = (_pick(body_out.states, keep["states"]) + _pick(body_out.outputs, keep["outputs"])
                 + _pick(body_out.shared, keep["shared"]) + [v for v in [body_out.until] if v is not None])
        deps = ancestors(roots, stop=body.inputs)
        woken = False
        for i, taps in enumerate(body_in.states):
            if not keep["states"][i] and any(v in deps for v in taps):
                keep["states"][i] = woken = True
        for i, current in enumerate(body_in.shared):
            if not keep["shared"][i] and current in deps:
                keep["shared"][i] = woken = True
        if not woken:
            return deps


def _pruned_body(keep, body_in, body_out):
    inputs = ([v for taps in _pick(body_in.sequences, keep["sequences"]) for v in taps]
              + [v for taps in _pick(body_in.states, keep["states"]) for v in taps]
              + _pick(body_in.shared, keep["shared"]) + _pick(body_in.non_sequences, keep["non_sequences"]))
    outputs = (_pick(body_out.states, keep["states"]) + _pick(body_out.outputs, keep["outputs"])
               + _pick(body_out.shared, keep["shared"]) + [v for v in [body_out.until] if v is not None])
    return Graph(inputs, outputs)


def _spread(old, new, keep):
    """The new node's outputs at the old node's positions; None where dropped."""
    new_roles = new.op.split_outputs(new.outputs)
    old_roles = old.op.split_outputs(old.outputs)
    result = []
    for role in ("states", "outputs", "shared"):
        fresh = iter(getattr(new_roles, role))
        for flag, var in zip(keep[role], getattr(old_roles, role)):
            result.append(_named(next(fresh), var.name) if flag else None)
    return result


def _named(var, name):
    var.name = name
    return var


def _pick(items, flags):
    return [x for x, flag in zip(items, flags) if flag]


def _same(a, b):
    return list(a.inputs) == list(b.inputs) and all(x is y for x, y in zip(a.outputs, b.outputs))


# -- sequences n_steps already bounds -------------------------------------------------

def _length_bounds(n_steps):
    """{(x, k)}: n_steps <= len(x) - k holds by how n_steps is computed
    (the frontend's `minimum` over `shape_i(x, 0) - span`)."""
    node = n_steps.owner
    if node is None:
        return set()
    if node.op == ShapeI(0):
        return {(node.inputs[0], 0)}
    if node.op == Elemwise("minimum"):
        return _length_bounds(node.inputs[0]) | _length_bounds(node.inputs[1])
    if node.op == Elemwise("sub") and _is_int_constant(node.inputs[1]):
        return {(x, k + int(node.inputs[1].data)) for x, k in _length_bounds(node.inputs[0])}
    return set()


def _rows_guaranteed(init, rows):
    """True when the initial value `init` has at least `rows` rows whatever the inputs:
    a broadcastable leading axis (the row the frontend adds to a one-step initial value,
    checked to be one row), or a constant with enough rows."""
    if isinstance(init, Constant):
        return init.data.shape[0] >= rows
    return rows == 1 and init.broadcastable[0]


def _is_int_constant(var):
    return isinstance(var, Constant) and var.data.ndim == 0 and var.dtype.startswith(("int", "uint"))


def _implied(x, window, bounded):
    """True when n_steps <= len(x) - (hi - lo): x's length check can never fail."""
    lo, hi = window
    return any(y is x and k >= hi - lo for y, k in bounded)
