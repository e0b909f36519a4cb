"""The gradient of `scan`: back-propagation through time as a second scan, built in the graph IR.

`scan_grad(node, output_grads, needed)` is `GRAD["scan"]`. For a forward scan of
n steps (the rows its results have: the steps actually run, `until` included) it
builds a backward scan that runs those steps in reverse, last step first, and whose
body is the vector-Jacobian product of the forward body (`backprop` over the body
graph, for the inputs in `needed` and what leads to them):

- what the forward scan stored it reads instead of recomputing: sequence taps,
  state taps (its initial rows followed by its result), state and output rows, the
  per-step values of any body output. The frontend outputs every random draw of a
  body (and the results of a scan in the body that draws), so the backward reads
  the forward's samples and never draws again; recomputing a draw is an
  UnsupportedError. Everything else the VJP needs is recomputed from those rows.
  Every result it reads it reads whole, so save_memory, which runs later, keeps
  all of their rows;
- a state with L taps carries a window of the cotangents of its last L rows (one
  row when L == 1), seeded with zeros, or with v when the state's gradient is that
  of `h[-1]` (inc_subtensor(zeros, v, -1)); its final value is the gradient of the
  initial rows;
- a tensor shared update carries its cotangent, seeded with the gradient of its
  final value;
- a non-sequence's gradient is summed over the steps: a per-step term that is an
  outer product of two per-step factors (`dot(h[:, None], g[None, :])`, what `dot`
  gives for `dot(h, W)`, or `dot(H.T, G)` for a minibatch) is stacked, and becomes
  one matrix product after the loop (a factor that is a sequence or state tap is
  read from the forward's rows, not stacked again); anything else is a carried sum;
- a sequence tap's gradient is stacked per step and added into its rows afterwards;
- per-step values are stacked as states of the backward scan (written in place,
  and with rows of the right length when no step runs), except minibatch factors,
  which are outputs;
- only what can be nonzero is built: a state, output or shared update gets a
  cotangent when the cost reaches it, or its value reaches (through the body) one
  that does; integer inputs the cost depends on get ZERO (connected, zero);
- with truncate_gradient=k the backward scan runs the last min(n, k) steps (as
  Theano): earlier sequence rows get zeros, and so do the initial rows and shared
  values when it does not reach step 0.

The backward scan also outputs the value of each carry at each step. Nothing reads
those unless the backward scan itself is differentiated (a Hessian): dce drops them.

    %h = scan seqs=[%X taps=[0]] states=[%h0 taps=[-1]] non_seqs=[%W] {
    ^(%x, %hp, %w):  %0 = dot %hp, %w;  %1 = add %0, %x;  %2 = tanh %1;  yield %2 }
  d sum(h[-1]) / dW becomes
    %b = scan n_steps=len(h) seqs=[h[::-1]] states=[zeros(1, k) taps=[-1],
             zeros(1, k) taps=[-1]] shared=[ones(k)] non_seqs=[%W] {
    ^(%h_t, %hp_t, %dz_stack, %g, %w):  %dz = mul %g, (1 - sqr %h_t);  %g_new = dot %w, %dz
      yield %hp_t, %dz, %g_new }          (hp_t read from concatenate(h0, h)[:n][::-1])
    %dW = dot %b.states[0].T, %b.states[1]
"""
import numpy as np

from .errors import UnsupportedError
from .frontend.variable import compute_test_values
from .gradient import (ZERO, E, _apply, _cast, _constant, _dot, _fit, _length, _reachable, _transpose,
                       _zeros_like, backprop)
from .ir.graph import Constant, Graph, Variable, ancestors, clone_replace, is_tensor, toposort
from .ir.ops import (Alloc, Concatenate, DimShuffle, Dot, Elemwise, IncSubtensor, MakeVector, RandomOp, Reshape,
                     Subtensor)
from .ir.scan import Scan, initial_name, step_type
from .ir.types import is_discrete

__all__ = ["scan_grad"]

SLICE = ("s", True, True, False)
REVERSE = ("s", False, False, True)


def scan_grad(node, grads, needed=None):
    """GRAD["scan"]: the gradients of the scan node's inputs (None for n_steps, and for
    inputs not in `needed`, the positions of those wanted, when given)."""
    return _Transpose(node, grads, needed).gradients()


# -- small graph helpers -------------------------------------------------------------------

def _int(value):
    return _constant(value, "int64") if not isinstance(value, Variable) else value


def _slice(x, start, stop):
    return _apply(Subtensor((SLICE,)), x, _int(start), _int(stop))


def _reverse(x):
    return _apply(Subtensor((REVERSE,)), x, _constant(-1, "int64"))


def _row(x, i):
    return _apply(Subtensor(("i",)), x, _int(i))


def _stack_rows(rows):
    expanded = [_apply(DimShuffle(("x",) + tuple(range(r.ndim))), r) for r in rows]
    return expanded[0] if len(expanded) == 1 else _apply(Concatenate(0), *expanded)


def _exact(value, like):
    """`value` (a gradient of `like`) with exactly `like`'s type: summed where `like`
    broadcasts, cast, and expanded where `value` broadcasts and `like` does not."""
    value = _fit(value, like, None)
    if value.type == like.type:
        return value
    return _cast(_apply(Alloc(), value, *[_length(like, axis) for axis in range(like.ndim)]), like.dtype)


def _zeros(dtype, shape):
    return _apply(Alloc(), _constant(0, dtype), *shape)


def _plus(n, k):
    return E.add(n, _constant(k, "int64")) if k else n


def _last_row_only(g, result):
    """v when the gradient `g` of the scan result `result` is the one of `result[-1]`,
    inc_subtensor(zeros, v, -1); else None."""
    node = g.owner if isinstance(g, Variable) else None
    if node is None or node.op != IncSubtensor(("i",)):
        return None
    zeros, v, index = node.inputs
    if not (isinstance(index, Constant) and int(index.data) == -1 and _is_zeros(zeros)):
        return None
    return v if v.ndim == result.ndim - 1 else None


def _is_zeros(x):
    node = x.owner
    return (node is not None and isinstance(node.op, Alloc) and isinstance(node.inputs[0], Constant)
            and not np.any(node.inputs[0].data))


def _is_live(grad, var):
    return isinstance(grad, Variable) and is_tensor(var) and not is_discrete(var.dtype)


def _placeholder(type, name, test_value=None):
    var = Variable(type, name=name)
    if test_value is not None:
        var.tag.test_value = test_value
    return var


def _first_row_value(outer):
    value = getattr(outer.tag, "test_value", None)
    if isinstance(outer, Constant):
        value = outer.data
    if value is None or np.ndim(value) == 0 or len(value) == 0:
        return None
    return np.asarray(value)[0]


def _test_value(outer):
    if isinstance(outer, Constant):
        return outer.data
    return getattr(outer.tag, "test_value", None)


# -- outer products, summed over steps as one matrix product ----------------------------------

def _add_leaves(term):
    """The terms of a sum built by `add` nodes, as a list."""
    node = term.owner
    if node is not None and node.op == Elemwise("add") and all(v.ndim == term.ndim for v in node.inputs):
        return _add_leaves(node.inputs[0]) + _add_leaves(node.inputs[1])
    return [term]


def _outer_factors(term):
    """(a, b) when `term` is dot(a.T, b) for per-step matrices a, b, or the outer
    product dot(a[:, None], b[None, :]) of vectors: its sum over the steps is then
    one matrix product of the stacked factors. None otherwise."""
    node = term.owner
    if node is None or not isinstance(node.op, Dot) or term.ndim != 2:
        return None
    p, q = node.inputs
    if _dimshuffled(p, (0, "x")) and _dimshuffled(q, ("x", 0)):
        return p.owner.inputs[0], q.owner.inputs[0]
    if _dimshuffled(p, (1, 0)):
        return p.owner.inputs[0], q
    return None


def _dimshuffled(x, order):
    return x.owner is not None and isinstance(x.owner.op, DimShuffle) and x.owner.op.order == order


def _stacked_product(a, b, like):
    """sum over steps s of dot(a[s].T, b[s]) (or the outer product of vector rows), given the
    stacks a and b of their per-step values: one matrix product, shaped like `like` (the
    non-sequence). Stacks of matrices are outputs, whose rows have length 0 when no step ran."""
    if a.ndim == 3:
        rows = E.mul(_length(a, 0), _length(a, 1))
        a = _with_shape(a, [rows, _length(like, 0)])
        b = _with_shape(b, [rows, _length(like, 1)])
    return _dot(_transpose(a), b)


def _with_shape(x, lengths):
    """`x` reshaped to `lengths` (an output of a scan that ran no step has rows of length 0)."""
    return _apply(Reshape(len(lengths)), x, _apply(MakeVector("int64"), *lengths))


# -- the transpose of one scan node ---------------------------------------------------------------

class _Transpose:
    """Builds the backward scan of one forward scan node and the gradients of its inputs."""

    def __init__(self, node, grads, needed=None):
        op = node.op
        if op.keep is not None:
            raise UnsupportedError("grad: the scan %s keeps only the last rows of its results (save_memory "
                                   "ran before grad); take gradients before compiling", op.label or "")
        self.node, self.op = node, op
        self.outer = op.split_inputs(node.inputs)
        self.results = op.split_outputs(node.outputs)
        self.body_in = op.split_body_inputs(op.body.inputs)
        self.body_out = op.split_outputs(op.body.outputs)
        self.grads = op.split_outputs(list(grads))
        wanted = op.split_inputs([needed is None or i in needed for i in range(len(node.inputs))])
        self.wanted_sequences, self.wanted_states = wanted.sequences, wanted.states
        self.wanted_shared, self.wanted_non_sequences = wanted.shared, wanted.non_sequences
        self.name = op.label or "scan"
        self.sequences = []      # (outer rows, inner variable) of the backward scan
        self.carries = []        # [outer initial value, inner current value, inner new value]
        self.non_sequences = {}  # forward body non-sequence -> (outer, inner)
        self.buffers = {}        # state -> [initial rows; result]
        self.stacks = []         # [forward value, initial row or None, tap, new value]: per-step values kept

    # -- which cotangents can be nonzero -------------------------------------------------------
    def _liveness(self):
        out = self.body_out
        self.live_states = {j for j, v in enumerate(out.states) if _is_live(self.grads.states[j], v)}
        self.live_outputs = {m for m, v in enumerate(out.outputs) if _is_live(self.grads.outputs[m], v)}
        self.live_shared = {s for s, v in enumerate(out.shared) if _is_live(self.grads.shared[s], v)}
        nodes = self.op.body.nodes
        reach = {}
        while True:
            roots = self._live_roots()
            woken = False
            for j, taps in enumerate(self.body_in.states):
                if j not in self.live_states and is_tensor(out.states[j]) and not is_discrete(out.states[j].dtype):
                    if self._reaches(nodes, taps, roots, reach, ("state", j)):
                        self.live_states.add(j)
                        woken = True
            for s, current in enumerate(self.body_in.shared):
                if s not in self.live_shared and is_tensor(current) and not is_discrete(current.dtype):
                    if self._reaches(nodes, [current], roots, reach, ("shared", s)):
                        self.live_shared.add(s)
                        woken = True
            if not woken:
                break
        roots = self._live_roots()
        self.recurrent = {j for j in self.live_states
                          if self._reaches(nodes, self.body_in.states[j], roots, reach, ("state", j))}
        self.carried = {s for s in self.live_shared
                        if self._reaches(nodes, [self.body_in.shared[s]], roots, reach, ("shared", s))}

    def _live_roots(self):
        out = self.body_out
        return ({out.states[j] for j in self.live_states} | {out.outputs[m] for m in self.live_outputs}
                | {out.shared[s] for s in self.live_shared})

    @staticmethod
    def _reaches(nodes, sources, roots, cache, key):
        if key not in cache:
            cache[key] = _reachable(nodes, sources)
        return bool(cache[key] & roots)

    # -- steps ------------------------------------------------------------------------------------
    def _steps(self):
        """n: the steps the forward ran (the rows of its results); m: those the backward runs."""
        results = [r for r in self.results.states + self.results.outputs]
        if results:
            self.n = _length(results[0], 0)
        elif not self.op.has_until:
            self.n = self.outer.n_steps
        else:
            raise UnsupportedError("grad: the scan %s stops on until and has no state or output to tell how "
                                   "many steps it ran", self.name)
        self.n = _cast(self.n, "int64")
        k = self.op.truncate_gradient
        self.truncated = k >= 0
        self.m = E.minimum(self.n, _constant(k, "int64")) if self.truncated else self.n

    def _rows(self, x, offset, exact_rows=False):
        """x[offset + t] for the steps t the backward runs, last step first."""
        if not self.truncated and offset == 0 and exact_rows:
            return _reverse(x)
        stop = _plus(self.n, offset)
        start = E.sub(stop, self.m) if self.truncated else _constant(offset, "int64")
        return _reverse(_slice(x, start, stop))

    # -- the backward scan's inputs ---------------------------------------------------------------
    def _sequence(self, outer_rows, name):
        inner = _placeholder(step_type(outer_rows.type), name, _first_row_value(outer_rows))
        self.sequences.append((outer_rows, inner))
        return inner

    def _carry(self, initial, name):
        """A new carry of the backward scan starting at `initial`; returns its current value."""
        current = _placeholder(initial.type, name, _test_value(initial))
        self.carries.append([initial, current, None])
        return current

    def _carry_new(self, current, new):
        for carry in self.carries:
            if carry[1] is current:
                carry[2] = new

    # -- the forward values the backward body may read ------------------------------------------
    def _available(self):
        """forward body variable -> (rows, offset, exact): the backward scan reads it at step t
        from row offset + t of `rows` (("buffer", j): state j's initial rows and result), which
        has exactly n rows when `exact`."""
        op, body_in, body_out, outer = self.op, self.body_in, self.body_out, self.outer
        avail = {}
        for i, (x, taps) in enumerate(zip(outer.sequences, body_in.sequences)):
            forward_rows = _reverse(x) if op.go_backwards else x
            for k, tap in zip(op.sequence_taps[i], taps):
                avail[tap] = (forward_rows, op.sequence_offset(i, k), False)
        for j, taps in enumerate(body_in.states):
            rows = op.state_rows(j)
            for k, tap in zip(op.state_taps[j], taps):
                avail[tap] = (("buffer", j), rows + k, False)
        for s, current in enumerate(body_in.shared):
            stored = self._stored_output(current)
            if stored is not None:
                avail[current] = (stored, 0, True)
        for var, result in zip(body_out.states + body_out.outputs, self.results.states + self.results.outputs):
            if var not in avail and var.owner is not None:
                avail[var] = (result, 0, True)
        return avail

    def _state_buffer(self, j):
        """[initial rows; result] of state j: row t + L + k is what tap k reads at step t."""
        if j not in self.buffers:
            init, rows = self.outer.states[j], self.op.state_rows(j)
            head = init if rows == 1 and init.broadcastable[0] else _slice(init, 0, rows)
            self.buffers[j] = _apply(Concatenate(0), head, self.results.states[j])
        return self.buffers[j]

    def _stored_output(self, var):
        """The forward result that stacks `var`'s per-step values, if one does."""
        for v, result in zip(self.body_out.outputs, self.results.outputs):
            if v is var:
                return result
        return None

    # -- the body ------------------------------------------------------------------------------
    def _seeds(self):
        """{forward body output: its cotangent at one step} and the state windows."""
        seeds, self.windows = {}, {}
        for j in sorted(self.live_states):
            new = self.body_out.states[j]
            terms = []
            g = self.grads.states[j]
            last = _last_row_only(g, self.results.states[j]) if j in self.recurrent else None
            if isinstance(g, Variable) and last is None:
                g = _exact(g, self.results.states[j])
                terms.append(self._sequence(self._rows(g, 0, True), f"g_{self._state_name(j)}"))
            if j in self.recurrent:
                window = self._window(j, last)
                terms.append(window if self.op.state_rows(j) == 1 else _row(window, self.op.state_rows(j) - 1))
            self._add_seed(seeds, new, terms)
        for m in sorted(self.live_outputs):
            out = self.body_out.outputs[m]
            g = _exact(self.grads.outputs[m], self.results.outputs[m])
            self._add_seed(seeds, out, [self._sequence(self._rows(g, 0, True), f"g_{out.name or f'output{m}'}")])
        self.cotangents = {}
        for s in sorted(self.live_shared):
            new, g, outer = self.body_out.shared[s], self.grads.shared[s], self.outer.shared[s]
            initial = _exact(g, outer) if isinstance(g, Variable) else _zeros_like(outer)
            self.cotangents[s] = self._carry(initial, f"g_{outer.name or 'shared'}")
            self._add_seed(seeds, new, [self.cotangents[s]])
        return seeds

    def _add_seed(self, seeds, var, terms):
        terms = ([seeds[var]] if var in seeds else []) + [t for t in terms if t is not None]
        total = terms[0]
        for t in terms[1:]:
            total = E.add(total, t)
        seeds[var] = _exact(total, var)

    def _window(self, j, last=None):
        """The carry of state j's cotangents for its last L rows (the row itself when L == 1),
        starting at zeros, or with the cotangent `last` of the last step's row: the gradient
        of `h[-1]` costs no sequence of zero rows."""
        init, rows = self.outer.states[j], self.op.state_rows(j)
        row_shape = [_length(init, d) for d in range(1, init.ndim)]
        shape = row_shape if rows == 1 else [_constant(rows, "int64")] + row_shape
        start = _zeros(self.body_out.states[j].dtype, shape)
        if last is not None and rows == 1:
            start = _exact(last, start)
        elif last is not None:
            start = _apply(IncSubtensor(("i",)), start, last, _constant(rows - 1, "int64"))
        self.windows[j] = self._carry(start, f"g_{self._state_name(j)}_window")
        return self.windows[j]

    def _state_name(self, j):
        return initial_name(self.outer.states[j]) or f"state{j}"

    def _new_window(self, j, tap_grads):
        """The window one step earlier: rows shift by one, the taps' gradients land on their rows."""
        window, rows = self.windows[j], self.op.state_rows(j)
        # a tap the body does not read (or reads only through integers) has no gradient
        by_row = {rows + k: g for k, g in zip(self.op.state_taps[j], tap_grads) if g is not None}
        if rows == 1:
            g = by_row.get(0)
            return _exact(g, window) if g is not None else _zeros_like(window)
        new_rows = []
        for q in range(rows):
            terms = ([_row(window, q - 1)] if q >= 1 else []) + ([by_row[q]] if q in by_row else [])
            if not terms:
                terms = [_zeros_like(_row(window, 0))]
            total = terms[0]
            for t in terms[1:]:
                total = E.add(total, t)
            new_rows.append(_exact(total, _row(window, 0)))
        return _exact(_stack_rows(new_rows), window)

    def _wrt(self):
        """The forward body inputs whose gradients the backward body computes."""
        body_in = self.body_in
        wrt = [v for i, taps in enumerate(body_in.sequences) if self.wanted_sequences[i] for v in taps]
        wrt += [v for j in sorted(self.recurrent) for v in body_in.states[j]]
        wrt += [body_in.shared[s] for s in sorted(self.carried)]
        wrt += [v for p, v in enumerate(body_in.non_sequences) if self.wanted_non_sequences[p]]
        return [v for v in wrt if is_tensor(v) and not is_discrete(v.dtype)]

    def _body_values(self, totals):
        """The backward body's per-step values, in forward-body terms: the stacks (sequence
        taps' gradients, outer-product factors) and the carries' new values; returns the
        factors per non-sequence."""
        def total(v):
            g = totals.get(v)
            return None if g is None or g is ZERO else g

        self.tap_stacks = {}
        for i, taps in enumerate(self.body_in.sequences):
            x = self.outer.sequences[i]
            for k, tap in zip(self.op.sequence_taps[i], taps):
                g = total(tap) if self.wanted_sequences[i] else None
                if g is not None:
                    self.tap_stacks[(i, k)] = self._stack(g, [_length(x, d) for d in range(1, x.ndim)])
        for j in sorted(self.recurrent):
            grads = [total(tap) for tap in self.body_in.states[j]]
            self._carry_new(self.windows[j], self._new_window(j, grads))
        for s in sorted(self.live_shared):
            g = total(self.body_in.shared[s])
            current = self.cotangents[s]
            self._carry_new(current, _exact(g, current) if g is not None else _zeros_like(current))
        factors, self.sums = {}, {}
        for p, var in enumerate(self.body_in.non_sequences):
            g = total(var) if self.wanted_non_sequences[p] else None
            if g is None or not is_tensor(var) or is_discrete(var.dtype):
                continue
            pairs, rest = [], []
            for leaf in _add_leaves(g):
                pair = _outer_factors(leaf)
                (pairs if pair is not None else rest).append(pair if pair is not None else leaf)
            like = self.outer.non_sequences[p]
            factors[p] = [(self._factor(a, [_length(like, 0)]), self._factor(b, [_length(like, 1)]))
                          if a.ndim == 1 else (self._factor(a), self._factor(b)) for a, b in pairs]
            if rest:
                acc = self._carry(_zeros_like(like), f"g_{var.name or 'non_sequence'}_sum")
                value = acc
                for leaf in rest:
                    value = E.add(value, leaf)
                self._carry_new(acc, _exact(value, acc))
                self.sums[p] = acc
        return factors

    def _factor(self, value, row=None):
        """The per-step values of an outer-product factor, last step first: the forward's
        own rows when `value` is a sequence or state tap (read where they are, not copied
        step by step into the backward scan), else the index of a stack of the backward scan."""
        taps = {tap for taps in self.body_in.sequences + self.body_in.states for tap in taps}
        if value in taps:
            rows, offset, exact = self._available()[value]
            if isinstance(rows, tuple):
                rows = self._state_buffer(rows[1])
            return self._rows(rows, offset, exact)
        return self._stack(value, row)

    def _stack(self, value, row=None):
        """The index of the stack of `value`'s per-step values in the backward scan. With the
        lengths of its row known (`row`) it is a state, whose result has those rows even
        when no step runs, written in place; else an output (rows of length 0 then)."""
        for i, (v, initial, _, _) in enumerate(self.stacks):
            if v is value and (initial is None) == (row is None):
                return i
        if row is None:
            self.stacks.append([value, None, None, value])
            return len(self.stacks) - 1
        initial = _zeros(value.dtype, [_constant(1, "int64")] + row)
        tap = _placeholder(step_type(initial.type), None, _first_row_value(initial))
        self.stacks.append([value, initial, tap, _exact(value, tap)])
        return len(self.stacks) - 1

    # -- putting it together ---------------------------------------------------------------------
    def _backward_scan(self, factors):
        """Replace forward body values by the backward scan's inputs and build the backward node;
        returns the results of the stacks and the carries' final values."""
        roots = [st[3] for st in self.stacks] + [c[2] for c in self.carries]
        replace = self._replacements(roots)
        replaced = clone_replace(roots, replace)
        for st, new in zip(self.stacks, replaced):
            st[3] = new
        for carry, new in zip(self.carries, replaced[len(self.stacks):]):
            carry[2] = new
        node = self._make_node()
        results = node.op.split_outputs(node.outputs)
        states, outputs = iter(results.states), iter(results.outputs)
        stacked = [next(states) if initial is not None else next(outputs) for _, initial, _, _ in self.stacks]
        def rows(factor):
            return stacked[factor] if isinstance(factor, int) else factor
        self.products = {p: [_stacked_product(rows(a), rows(b), self.outer.non_sequences[p])
                             for a, b in pairs] for p, pairs in factors.items()}
        finals = dict(zip([c[1] for c in self.carries], results.shared))
        return stacked, finals

    def _replacements(self, roots):
        """forward body variable -> backward scan input, for those the roots read."""
        avail = self._available()
        non_seqs = dict(zip(self.body_in.non_sequences, self.outer.non_sequences))
        stop = set(avail) | set(non_seqs)
        for node in toposort(roots, stop=stop):
            self._check_recomputable(node)
        needed = ancestors(roots, stop=stop)
        replace = {}
        for var in self.op.body.inputs + [v for v in avail if v not in set(self.op.body.inputs)]:
            if var not in needed:
                continue
            if var in non_seqs:
                inner = _placeholder(var.type, var.name, _test_value(non_seqs[var]))
                self.non_sequences[var] = (non_seqs[var], inner)
                replace[var] = inner
            elif var in avail:
                replace[var] = self._read(var, avail[var])
            else:
                raise UnsupportedError(
                    "grad through scan %s: the gradient needs the value at each step of the shared variable "
                    "%s, which the scan updates but does not output; differentiate through a state "
                    "(outputs_info) instead", self.name, self._shared_outer(var))
        return replace

    def _shared_outer(self, var):
        for outer, inner in zip(self.outer.shared, self.body_in.shared):
            if inner is var:
                return outer
        return var

    def _read(self, var, source):
        rows, offset, exact = source
        if isinstance(rows, tuple):
            rows = self._state_buffer(rows[1])
        return self._sequence(self._rows(rows, offset, exact), var.name)

    def _check_recomputable(self, node):
        draws = isinstance(node.op, RandomOp) or (
            isinstance(node.op, Scan) and any(not is_tensor(v) for v in node.op.split_inputs(node.inputs).shared))
        if draws:
            raise UnsupportedError(
                "grad through scan %s: the gradient needs to recompute %s, which draws random numbers, and the "
                "scan does not output its draws; the backward pass must reuse the forward's draws, never draw "
                "again", self.name, node.op.name)

    def _make_node(self):
        carries = self.carries
        states = [st for st in self.stacks if st[1] is not None]
        # each carry's value at each step, for a second gradient (dce drops them otherwise)
        plain = [st[3] for st in self.stacks if st[1] is None] + [c[1] for c in carries]
        outputs = [st[3] for st in states] + plain + [c[2] for c in carries]
        used = ancestors(outputs)
        self.sequences = [(outer, inner) for outer, inner in self.sequences if inner in used]
        body = Graph([inner for _, inner in self.sequences] + [st[2] for st in states] + [c[1] for c in carries]
                     + [inner for _, inner in self.non_sequences.values()], outputs)
        op = Scan(body=body, sequence_taps=((0,),) * len(self.sequences), state_taps=((-1,),) * len(states),
                  n_outputs=len(plain), n_shared=len(carries), n_non_sequences=len(self.non_sequences),
                  label=f"grad_of_{self.name}")
        node = op.make_node(self.m, *[outer for outer, _ in self.sequences], *[st[1] for st in states],
                            *[c[0] for c in carries], *[outer for outer, _ in self.non_sequences.values()])
        compute_test_values(node)
        return node

    # -- the gradients of the forward node's inputs ---------------------------------------------
    def gradients(self):
        op = self.op
        none = [None] * len(self.node.inputs)
        self._liveness()
        if not (self.live_states or self.live_outputs or self.live_shared):
            return none
        self._steps()
        seeds = self._seeds()
        totals = backprop(seeds, self._wrt())
        factors = self._body_values(totals)
        stacked, finals = self._backward_scan(factors)
        grads = [None]
        grads += [self._sequence_grad(i, stacked) for i in range(len(op.sequence_taps))]
        grads += [self._initial_grad(j, finals) if self.wanted_states[j] else None
                  for j in range(len(op.state_taps))]
        grads += [self._reached_start(finals[self.cotangents[s]]) if s in self.cotangents and self.wanted_shared[s]
                  else None for s in range(op.n_shared)]
        for p in range(op.n_non_sequences):
            terms = ([finals[self.sums[p]]] if p in self.sums else []) + self.products.get(p, [])
            grads.append(_sum_terms(terms))
        return self._discrete_zeros(grads)

    def _discrete_zeros(self, grads):
        """ZERO for integer inputs the live outputs depend on (connected, as in Theano), so that
        a `wrt` among them gets zeros rather than a disconnected error."""
        body_in, nodes = self.body_in, self.op.body.nodes
        inner = ([None] + [taps for taps in body_in.sequences] + [taps for taps in body_in.states]
                 + [[v] for v in body_in.shared] + [[v] for v in body_in.non_sequences])
        roots = self._live_roots()
        for i, (outer, vars) in enumerate(zip(self.node.inputs, inner)):
            if vars is None or not is_tensor(outer) or not is_discrete(outer.dtype):
                continue
            if _reachable(nodes, vars) & roots:
                grads[i] = ZERO
        return grads

    def _sequence_grad(self, i, stacked):
        x = self.outer.sequences[i]
        taps = [(k, stacked[self.tap_stacks[(i, k)]]) for k in self.op.sequence_taps[i] if (i, k) in self.tap_stacks]
        if not taps:
            return None
        g = _zeros_like(x)
        for k, stacked in taps:
            offset = self.op.sequence_offset(i, k)
            stop = _plus(self.n, offset)
            start = E.sub(stop, self.m) if self.truncated else _constant(offset, "int64")
            g = _apply(IncSubtensor((SLICE,)), g, _reverse(stacked), start, stop)
        return _reverse(g) if self.op.go_backwards else g

    def _initial_grad(self, j, finals):
        if j not in self.windows:
            return None
        init, rows = self.outer.states[j], self.op.state_rows(j)
        window = self._reached_start(finals[self.windows[j]])
        if rows == 1 and init.broadcastable[0]:
            return _apply(DimShuffle(("x",) + tuple(range(window.ndim))), window)
        if rows == 1:
            return _apply(IncSubtensor(("i",)), _zeros_like(init), window, _constant(0, "int64"))
        return _apply(IncSubtensor((("s", False, True, False),)), _zeros_like(init), window,
                      _constant(rows, "int64"))

    def _reached_start(self, final):
        """A carried cotangent that is a gradient of the initial value only when the backward reached step 0."""
        if not self.truncated:
            return final
        return E.switch(E.eq(self.m, self.n), final, 0.0)


def _sum_terms(terms):
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = E.add(total, t)
    return total
