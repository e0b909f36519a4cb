"""push_out: move work that does not depend on the step out of scan bodies.

Does, per scan (bodies first, recursively, so work moves out level by level):
(a) loop invariants: a body node whose inputs are all non_sequences, constants,
    shared variables or other invariant values, and which draws no random
    number, prints nothing and holds no scan that does, is computed once before
    the scan and comes in as a new non_sequence. `shape_i` stays in the body
    where the body reads it (it is free there, and is a Python number in
    generated code, which a non_sequence is not).
(b) sequence-only products: a body `dot(x, U)` where x is a vector tap (tap k)
    of a sequence X and U is invariant becomes one `dot` of the rows that tap
    reads with U, before the scan, fed back as a new sequence with tap 0. The
    rows: X[k - lo : k - lo + n_steps] (just X when k - lo is 0 and n_steps is
    X's length); with go_backwards X[::-1][hi - k : hi - k + n_steps] (tap k's
    slice of X, reversed, as Theano cuts it), the product reversed again, as the
    scan reverses every sequence. Repeats while a new sequence's tap is itself
    such an x.
Values the body no longer reads stay as unused inputs; dce drops them (and a
sequence whose length check n_steps makes redundant).
Requires: runs before dce; after canonicalize (constant non_sequences already
inlined, so U may be a constant).
Guarantees: same inputs, same output types; `verify` holds; the same values
up to the rounding of one matrix product against many vector ones. Unlike the
loop, the hoisted work runs even when the scan runs no step, so an error it
raises (a shape mismatch of non_sequences, say) is raised then too.

    %1 = scan n_steps=%0 seqs=[%X taps=[0]] non_seqs=[%W, %b] {outputs=1} {
    ^(%x: f64[?], %w: f64[?,?], %bb: f64[?]):  %2 = dot %x, %w;  %3 = add %2, %bb;  yield %3
    } : f64[?,?]
  becomes
    %1 = dot %X, %W : f64[?,?]
    %2 = scan n_steps=%0 seqs=[%X taps=[0], %1 taps=[0]] non_seqs=[%W, %b] {outputs=1} {
    ^(%x: f64[?], %3: f64[?], %w: f64[?,?], %bb: f64[?]):  %4 = add %3, %bb;  yield %4
    } : f64[?,?]
"""
import dataclasses

import numpy as np

from ..ir.graph import Constant, Graph, SharedVariable, Variable, clone_replace
from ..ir.ops import Dot, Elemwise, Print, RandomOp, ShapeI, Subtensor
from ..ir.scan import Scan
from ..ir.types import TensorType
from .rewrite import rebuild

STAYS = (ShapeI,)  # invariant, but left in the body where the body reads it


def run(graph):
    def rewrite(node, original):
        if not isinstance(node.op, Scan):
            return None
        new = push_out_scan(node)
        return None if new is node else list(new.outputs)
    return rebuild(graph, rewrite)


def push_out_scan(node):
    """`node` with its body's invariant work and sequence products moved out (or `node`)."""
    new = _with_body(node, run(node.op.body))
    new = hoist_invariants(new) or new
    reversed_seqs = {}  # one X[::-1] per sequence, however many products read it
    batched = batch_sequence_products(new, reversed_seqs)
    while batched is not None:
        new = batched
        batched = batch_sequence_products(new, reversed_seqs)
    return new


# -- (a) loop invariants ------------------------------------------------------------------

def hoist_invariants(node):
    """The scan node with its invariant body values moved out as non_sequences, or None."""
    op, body = node.op, node.op.body
    body_in = op.split_body_inputs(body.inputs)
    invariant = invariant_values(body, body_in.non_sequences)
    moved = _frontier(body, invariant)
    if not moved:
        return None
    outer = op.split_inputs(node.inputs)
    values = clone_replace(moved, dict(zip(body_in.non_sequences, outer.non_sequences)))
    fresh = [Variable(v.type, name=v.name) for v in moved]
    new_body = Graph(body.inputs + fresh, clone_replace(body.outputs, dict(zip(moved, fresh))))
    new_op = dataclasses.replace(op, body=new_body, n_non_sequences=op.n_non_sequences + len(fresh))
    return _named_like(node, new_op.make_node(*node.inputs, *values))


def invariant_values(body, non_sequences):
    """The body values that are the same at every step."""
    invariant = set(non_sequences)
    for node in body.nodes:
        if not pure(node.op):
            continue
        if all(v in invariant or _free(v, body) for v in node.inputs):
            invariant.update(node.outputs)
    return invariant


def pure(op):
    """True when running `op` once or once per step is the same (no draw, no print)."""
    if isinstance(op, (RandomOp, Print)):
        return False
    if isinstance(op, Scan):
        return all(pure(node.op) for node in op.body.nodes)
    return True


def _free(var, body):
    """A constant or shared variable the body reads without it being a body input."""
    return isinstance(var, (Constant, SharedVariable)) and var not in body.inputs


def _frontier(body, invariant):
    """The invariant values computed in the body that what stays in the body reads, in
    definition order: walking up from the body outputs, stop at each one."""
    moved, seen, stack = set(), set(), list(body.outputs)
    while stack:
        var = stack.pop()
        if var in seen or var.owner is None:
            continue
        seen.add(var)
        if var in invariant and not isinstance(var.owner.op, STAYS):
            moved.add(var)
        else:
            stack.extend(var.owner.inputs)
    return [v for node in body.nodes for v in node.outputs if v in moved]


# -- (b) sequence-only products -------------------------------------------------------------

def batch_sequence_products(node, reversed_seqs):
    """The scan node with one `dot(x, U)` of a sequence tap x moved out as a new sequence,
    or None; `reversed_seqs` maps a sequence to its X[::-1], made once."""
    op, body = node.op, node.op.body
    body_in = op.split_body_inputs(body.inputs)
    taps = {v: (i, k) for i, tap_vars in enumerate(body_in.sequences) for k, v in zip(op.sequence_taps[i], tap_vars)}
    invariant = set(body_in.non_sequences)
    product = next((p for p in body.nodes if _is_sequence_product(p, taps, invariant, body)), None)
    if product is None:
        return None
    x, u = product.inputs
    outer = op.split_inputs(node.inputs)
    i, k = taps[x]
    u_outer = dict(zip(body_in.non_sequences, outer.non_sequences)).get(u, u)
    seq, flipped = outer.sequences[i], None
    if op.go_backwards:
        flipped = reversed_seqs.setdefault(seq, _reversed(seq))
    batched = _batched(seq, op.sequence_offset(i, k), outer.n_steps, u_outer, flipped)
    return _with_new_sequence(node, batched, product.out)


def _is_sequence_product(node, taps, invariant, body):
    if not isinstance(node.op, Dot):
        return False
    x, u = node.inputs
    return x in taps and x.ndim == 1 and u.ndim in (1, 2) and (u in invariant or _free(u, body))


def _batched(seq, start, n_steps, u, flipped):
    """The sequence that gives, at step t, `dot(row t + start of seq, u)` with seq as the
    scan sees it: `flipped` (seq[::-1]) with go_backwards, and then the result is
    reversed too, as the scan reverses it back."""
    if start == 0 and n_steps.owner is not None and n_steps.owner.op == ShapeI(0) and n_steps.owner.inputs[0] is seq:
        return Dot().make_node(seq, u).out  # all rows: reversing commutes with a product by rows
    rows = _window(seq if flipped is None else flipped, start, n_steps)
    product = Dot().make_node(rows, u).out
    return product if flipped is None else _reversed(product)


def _window(seq, start, n_steps):
    """seq[start:start + n_steps]."""
    if start == 0:
        return Subtensor((("s", False, True, False),)).make_node(seq, n_steps).out
    begin = _int64(start)
    end = Elemwise("add").make_node(begin, n_steps).out
    return Subtensor((("s", True, True, False),)).make_node(seq, begin, end).out


def _reversed(x):
    return Subtensor((("s", False, False, True),)).make_node(x, _int64(-1)).out


def _int64(value):
    return Constant(TensorType("int64", ()), np.asarray(value, dtype="int64"))


def _with_new_sequence(node, seq, replaced):
    """`node` with one more sequence `seq` (tap 0), whose row the body reads where it read `replaced`."""
    op, body = node.op, node.op.body
    body_in = op.split_body_inputs(body.inputs)
    row = Variable(replaced.type, name=replaced.name)
    inputs = ([v for vs in body_in.sequences for v in vs] + [row] + [v for vs in body_in.states for v in vs]
              + body_in.shared + body_in.non_sequences)
    new_body = Graph(inputs, clone_replace(body.outputs, {replaced: row}))
    new_op = dataclasses.replace(op, body=new_body, sequence_taps=op.sequence_taps + ((0,),))
    outer = op.split_inputs(node.inputs)
    return _named_like(node, new_op.make_node(outer.n_steps, *outer.sequences, seq, *outer.states,
                                              *outer.shared, *outer.non_sequences))


# -- nodes -----------------------------------------------------------------------------------

def _with_body(node, body):
    if all(a is b for a, b in zip(body.outputs, node.op.body.outputs)):
        return node
    return _named_like(node, dataclasses.replace(node.op, body=body).make_node(*node.inputs))


def _named_like(old, new):
    for a, b in zip(old.outputs, new.outputs):
        b.name = a.name
    return new
