"""The `Scan` op: a loop that owns its body graph and knows its values by role.

Roles, in the order they appear in the node's inputs, the body's inputs, the
body's outputs and the node's outputs:

    node inputs   n_steps | sequences | state initials | shared initials | non_sequences
    body inputs           | one per sequence tap | one per state tap | shared currents | non_sequences
    body outputs          | state new values | outputs | shared new values | until?
    node outputs          | states (n_steps rows) | outputs (n_steps rows) | shared final values
    keep                  | one per state | one per output

- a sequence with taps `taps` (lo = min(taps, 0), hi = max(taps, 0)) gives tap k
  at step t the row `X[t + k - lo]` and needs `n_steps + hi - lo` rows. With
  go_backwards, as Theano, tap k's slice `X[k - lo : len(X) - (hi - k)]` is cut in
  X's own order and then reversed: at step t tap k reads `X[len(X) - 1 - t - (hi - k)]`,
  row `t + hi - k` of X[::-1], so tap -1 is still the row before tap 0 in X
  (`sequence_offset` gives the offset, of X or of X[::-1]);
- a state's initial value always has a leading axis (the frontend adds one for a
  plain outputs_info variable); with L = -min(taps) its first L rows seed the
  recurrence; tap k at step t reads row `t + L + k` of [initial[:L]; new values];
- an output (non-recurrent) is stacked over steps;
- a shared update carries a value (a tensor or an rng) from step to step and
  yields its final value;
- `until` is a 0-d condition checked after each step; that step is kept;
- `keep` (None: every result whole) gives, per state and per output, None (all
  rows) or k >= 1: the result then holds only the last min(k, steps run) rows
  of what it would hold without it, in order, so `h[-j]` (j <= k) reads the same
  row either way and `h[-1]` of a result with no row raises the same error. The
  loop needs only a ring of max(L + 1, k) rows for a state (L of them for its
  taps, one to write) and of k rows for an output; `save_memory` sets it.

`split_*` give every role by name, so no pass counts over flat lists.
"""
import copy
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import LoopcTypeError, ScanError
from .graph import Apply, Graph, Op
from .interpret import CONCRETE, SHAPED, evaluate, row_shapes
from .types import TensorType, is_int


class ScanInputs(NamedTuple):
    n_steps: object
    sequences: list
    states: list
    shared: list
    non_sequences: list


class ScanBodyInputs(NamedTuple):
    sequences: list  # one list of tap variables per sequence
    states: list     # one list of tap variables per state
    shared: list
    non_sequences: list


class ScanOutputs(NamedTuple):
    states: list
    outputs: list
    shared: list
    until: object  # a body variable or None (body outputs only)


def step_type(var_type):
    """The type of one row of `var_type`."""
    return TensorType(var_type.dtype, var_type.broadcastable[1:])


def stacked_type(var_type):
    """The type of rows of `var_type` stacked along a new leading axis."""
    return TensorType(var_type.dtype, (False,) + var_type.broadcastable)


@dataclass(frozen=True, eq=False)
class Scan(Op):
    body: Graph
    sequence_taps: tuple   # per sequence, its taps in the order given
    state_taps: tuple      # per state, its (negative) taps in the order given
    n_outputs: int
    n_shared: int
    n_non_sequences: int
    has_until: bool = False
    go_backwards: bool = False
    truncate_gradient: int = -1
    label: str = None
    keep: tuple = None     # rows kept per state then per output, None for all; None: all, everywhere
    profile: str = None    # scan(profile=...): the name its functions' profiles give it; None: not asked
    name = "scan"

    # Identity equality: `eq=False` alone would inherit Op's field-wise __eq__ and
    # __hash__, which see none of Scan's fields and make every two scans equal.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # -- roles ----------------------------------------------------------------
    def split_inputs(self, inputs):
        counts = [1, len(self.sequence_taps), len(self.state_taps), self.n_shared, self.n_non_sequences]
        n_steps, seqs, states, shared, non_seqs = _split(inputs, counts)
        return ScanInputs(n_steps[0], seqs, states, shared, non_seqs)

    def split_body_inputs(self, inputs):
        counts = [sum(map(len, self.sequence_taps)), sum(map(len, self.state_taps)),
                  self.n_shared, self.n_non_sequences]
        seq_vars, state_vars, shared, non_seqs = _split(inputs, counts)
        return ScanBodyInputs(_group(seq_vars, self.sequence_taps), _group(state_vars, self.state_taps),
                              shared, non_seqs)

    def split_outputs(self, outputs):
        """Roles of the body's outputs or of the node's outputs."""
        counts = [len(self.state_taps), self.n_outputs, self.n_shared]
        states, outs, shared = _split(outputs[:sum(counts)], counts)
        until = outputs[sum(counts)] if len(outputs) > sum(counts) else None
        return ScanOutputs(states, outs, shared, until)

    def state_rows(self, i):
        """How many initial rows state i needs: -min(taps)."""
        return -min(self.state_taps[i])

    def state_keep(self, i):
        """The rows state i's result keeps (None: all)."""
        return None if self.keep is None else self.keep[i]

    def output_keep(self, k):
        """The rows output k's result keeps (None: all)."""
        return None if self.keep is None else self.keep[len(self.state_taps) + k]

    def sequence_window(self, i):
        """(lo, hi) of sequence i's taps, both counting 0."""
        taps = self.sequence_taps[i]
        return min(min(taps), 0), max(max(taps), 0)

    def sequence_offset(self, i, k):
        """The row tap k of sequence i reads at step t is t + this offset: of X, or of X[::-1]
        with go_backwards (where each tap's slice is cut in X's order, then reversed)."""
        lo, hi = self.sequence_window(i)
        return hi - k if self.go_backwards else k - lo

    # -- type rule --------------------------------------------------------------
    def make_node(self, *inputs):
        outer = self.split_inputs(inputs)
        body_in = self.split_body_inputs(self.body.inputs)
        body_out = self.split_outputs(self.body.outputs)
        if outer.n_steps.ndim != 0 or not is_int(outer.n_steps.dtype):
            raise LoopcTypeError("scan: n_steps must be an integer scalar, got %s", outer.n_steps.type.describe())
        for seq, tap_vars in zip(outer.sequences, body_in.sequences):
            if seq.ndim < 1:
                raise LoopcTypeError("scan: sequence %s must have ndim >= 1, got a scalar", seq)
            _expect(tap_vars[0].type, step_type(seq.type), f"sequence {seq} step")
        for init, tap_vars, new in zip(outer.states, body_in.states, body_out.states):
            _expect(tap_vars[0].type, step_type(init.type), f"state {init}")
            _expect(new.type, tap_vars[0].type, f"state {init} new value")
        for sh, cur, new in zip(outer.shared, body_in.shared, body_out.shared):
            _expect(cur.type, sh.type, f"shared {sh}")
            _expect(new.type, sh.type, f"shared {sh} update")
        for outer_v, inner_v in zip(outer.non_sequences, body_in.non_sequences):
            _expect(inner_v.type, outer_v.type, f"non_sequence {outer_v}")
        if body_out.until is not None and body_out.until.ndim != 0:
            raise LoopcTypeError("scan: until's condition must be a scalar, got %s", body_out.until.type.describe())
        self._check_keep()
        types = ([stacked_type(v.type) for v in body_out.states]
                 + [stacked_type(v.type) for v in body_out.outputs]
                 + [v.type for v in outer.shared])
        return Apply(self, inputs, types)

    def _check_keep(self):
        if self.keep is None:
            return
        want = len(self.state_taps) + self.n_outputs
        if not isinstance(self.keep, tuple) or len(self.keep) != want:
            raise LoopcTypeError("scan: keep needs one entry per state and output (%d), got %r", want, self.keep)
        for k in self.keep:
            if k is not None and (type(k) is not int or k < 1):
                raise LoopcTypeError("scan: keep entries must be None or integers >= 1, got %r", self.keep)

    # -- NumPy reference --------------------------------------------------------
    def perform(self, node, inputs):
        outer = self.split_inputs(inputs)
        n = check_n_steps(int(outer.n_steps), self.label)
        outer_vars = self.split_inputs(node.inputs)
        seqs = [self._sequence_rows(i, x, n, v) for i, (x, v) in enumerate(zip(outer.sequences, outer_vars.sequences))]
        # each buffer holds the rows its taps may still read, and the rows its result keeps
        buffers = [self._state_rows(i, x, v) for i, (x, v) in enumerate(zip(outer.states, outer_vars.states))]
        shared = list(outer.shared)
        outputs = [deque(maxlen=self.output_keep(k)) for k in range(self.n_outputs)]
        done = 0
        for t in range(n):
            args = [x[t + self.sequence_offset(i, k)] for i, x in enumerate(seqs) for k in self.sequence_taps[i]]
            # tap k (< 0) is the k-th row from the end: the buffer ends with the row of step t - 1
            args += [buf[k] for i, buf in enumerate(buffers) for k in self.state_taps[i]]
            args += shared + list(outer.non_sequences)
            res = self.split_outputs(evaluate(self.body, args))
            for i, (buf, value) in enumerate(zip(buffers, res.states)):
                if np.shape(value) != np.shape(buf[0]):
                    raise ScanError("scan%s: step %d gives state %d (initial value %s) a new value of shape %s; "
                                    "its initial rows have shape %s", _label(self.label), t, i,
                                    initial_name(outer_vars.states[i]) or "unnamed", np.shape(value),
                                    np.shape(buf[0]))
                buf.append(value)
            for k, (out, value) in enumerate(zip(outputs, res.outputs)):
                if out and np.shape(value) != np.shape(out[0]):
                    raise ScanError("scan%s: step %d gives output %d a value of shape %s; step 0 gave %s",
                                    _label(self.label), t, k, np.shape(value), np.shape(out[0]))
                out.append(value)
            shared = list(res.shared)
            done += 1
            if res.until is not None and bool(res.until):
                break
        node_out = self.split_outputs(node.outputs)
        # stacked with the initial rows, which give the shape of a row when no step ran
        results = [_last_rows(_stack(buf, var), done, self.state_keep(i))
                   for i, (buf, var) in enumerate(zip(buffers, node_out.states))]
        if not done and self.n_outputs:  # no step gave a row: infer the shape the first would give
            rows = self._zero_step_rows(outer, buffers)
            outputs = [np.zeros((0,) + rows[k], var.dtype) if rows[k] is not None else out
                       for k, (out, var) in enumerate(zip(outputs, node_out.outputs))]
        results += [_last_rows(out if isinstance(out, np.ndarray) else _stack(out, var), done, self.output_keep(k))
                    for k, (out, var) in enumerate(zip(outputs, node_out.outputs))]
        return results + shared

    def _zero_step_rows(self, outer, buffers):
        """The row shape of each output as the first step would give it, where it depends on
        no element a step reads (only shapes, non-sequences, constants and the shared values
        the call starts with); None elsewhere."""
        stand_in = [(np.zeros(np.shape(x)[1:], np.asarray(x).dtype), SHAPED)
                    for x, taps in zip(outer.sequences, self.sequence_taps) for _ in taps]
        stand_in += [(np.zeros(np.shape(buf[0]), np.asarray(buf[0]).dtype), SHAPED)
                     for i, buf in enumerate(buffers) for _ in self.state_taps[i]]
        # the first step reads the shared values the call starts with
        stand_in += [(copy.deepcopy(x), SHAPED) for x in outer.shared]
        stand_in += [(x, CONCRETE) for x in outer.non_sequences]
        return self.split_outputs(row_shapes(self.body, stand_in)).outputs

    def _sequence_rows(self, i, x, n, var):
        x = np.asarray(x)
        if self.go_backwards:
            x = x[::-1]
        lo, hi = self.sequence_window(i)
        check_sequence_length(self.label, i, len(x), n, hi - lo, var)
        return x

    def _state_rows(self, i, x, var):
        """The buffer of state i, holding its initial rows."""
        x = np.asarray(x)
        rows, keep = self.state_rows(i), self.state_keep(i)
        check_initial_rows(self.label, i, len(x), rows, var)
        return deque(x[:rows], maxlen=None if keep is None else max(rows, keep))


def initial_name(var):
    """The user's name for a state's initial value (seen through the row axis the frontend adds)."""
    if var.name is None and var.owner is not None and var.owner.op.name == "dimshuffle":
        return var.owner.inputs[0].name
    return var.name


def check_n_steps(n, label):
    if n < 0:
        raise ScanError("scan%s: n_steps must be >= 0, got %d", _label(label), n)
    return n


def check_sequence_length(label, i, length, n, extra, var):
    if length < n + extra:
        raise ScanError("scan%s: sequence %d (%s) has %d rows; %d steps with its taps need %d",
                        _label(label), i, var, length, n, n + extra)


def check_initial_rows(label, i, rows, need, var):
    if rows < need:
        raise ScanError("scan%s: state %d has taps reaching back %d steps, so its initial value %s needs "
                        "at least %d rows, got %d", _label(label), i, need, var, need, rows)


def _label(label):
    return f" {label!r}" if label else ""


def _last_rows(stacked, done, keep):
    """The result: the last `done` rows of `stacked` (the steps run), or only the last `keep` of them."""
    count = done if keep is None else min(keep, done)
    return stacked[len(stacked) - count:]


def _stack(rows, var):
    if rows:
        return np.stack([np.asarray(r) for r in rows]).astype(var.dtype)
    return np.zeros((0,) * var.ndim, dtype=var.dtype)


def _split(items, counts):
    items, out, start = list(items), [], 0
    for n in counts:
        out.append(items[start:start + n])
        start += n
    return out


def _group(flat, taps):
    groups, start = [], 0
    for t in taps:
        groups.append(flat[start:start + len(t)])
        start += len(t)
    return groups


def _expect(got, want, what):
    if got != want:
        raise LoopcTypeError("scan: %s has type %s, expected %s", what, got, want)
