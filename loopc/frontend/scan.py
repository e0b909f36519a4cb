"""Theano's `scan` (and map, reduce, foldl, foldr) on top of the `Scan` op.

`scan` calls `fn` once on placeholder variables for the sequences' and states'
taps and on the non-sequences themselves (Theano's convention: `grad(y[i], x)` in
fn then sees what y depends on), then builds the loop body from what `fn`
returned, with the non-sequences read through placeholders:
- a value `fn` used without being passed (an outer variable) becomes an
  implicit non-sequence, unless it is random (it is then redrawn each step: its
  random op moves into the body and its rng becomes a shared update, whose final
  state scan returns in its updates; a function compiled without them leaves
  the state as it was);
- a shared variable that `fn` returns an update for is carried from step to step
  and its final value is returned in scan's updates;
- every random draw in the body (a sample, or the results of a scan in the body
  that draws) is also an output after fn's own, which scan does not return: the
  gradient reads those instead of drawing again, and dce drops them otherwise.
  So is the value each step starts from of every float shared variable the body
  updates: a gradient may need it at every step (Theano makes such variables
  states of the scan).
"""
from collections import OrderedDict

import numpy as np

from ..config import config
from ..errors import LoopcTypeError, ScanError
from ..ir.graph import Constant, Graph, SharedVariable, Variable, clone_replace, is_rng, toposort
from ..ir.ops import DimShuffle, Elemwise, RandomOp, ShapeI
from ..ir.scan import Scan, step_type
from .tensor import as_tensor_variable, cast, constant
from .variable import compute_test_values


class until:
    """`return outputs, until(condition)` stops the scan after the step where condition holds."""

    def __init__(self, condition):
        self.condition = as_tensor_variable(condition)
        if self.condition.ndim != 0:
            raise LoopcTypeError("until: the condition must be a scalar, got %s", self.condition.type.describe())


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, truncate_gradient=-1,
         go_backwards=False, mode=None, name=None, profile=False, strict=False, return_list=False):
    """Theano's scan: returns (outputs, updates). See SPEC section 1."""
    seqs = [_sequence(s) for s in _as_list(sequences)]
    raw_infos = _as_list(outputs_info, keep_none=True)
    infos = [_output_info(o, i) for i, o in enumerate(raw_infos)]
    non_seqs = [as_tensor_variable(v) for v in _as_list(non_sequences)]

    seq_taps = [[_placeholder(step_type(x.type), x, k, _row(x, k - min(min(t), 0))) for k in t] for x, t in seqs]
    states = [(init, taps) for init, taps in infos if init is not None]
    state_taps = [[_placeholder(step_type(init.type), init, k, _row(init, k + -min(taps)))
                   for k in taps] for init, taps in states]
    non_seq_vars = [_placeholder(v.type, v, None, _test_value(v)) for v in non_seqs]
    args = [v for taps in seq_taps for v in taps] + [v for taps in state_taps for v in taps] + non_seq_vars

    # fn gets the non-sequences themselves, as in Theano (so that grad(y[i], x) in fn
    # sees what y depends on); the body then reads them through placeholders
    fn_args = args[:len(args) - len(non_seqs)] + non_seqs
    outs, updates, stop = _inside(_parse_return(fn(*fn_args)), dict(zip(non_seqs, non_seq_vars)))
    if not infos:
        infos = [(None, None)] * len(outs)
    if len(outs) != len(infos):
        raise ScanError("scan%s: fn returned %d outputs but outputs_info describes %d",
                        _label(name), len(outs), len(infos))
    state_outs = [_check_state(o, init, name, i, raw_infos[i])
                  for i, (o, (init, _)) in enumerate(zip(outs, infos)) if init is not None]
    plain_outs = [o for o, (init, _) in zip(outs, infos) if init is None]
    updates = [(sh, _check_update(sh, v, name)) for sh, v in updates]

    body, outer = _build_body(args, state_outs, plain_outs, updates, stop, non_seqs, strict, name)
    n = _n_steps(n_steps, seqs, name)
    op = Scan(body=body, sequence_taps=tuple(tuple(t) for _, t in seqs),
              state_taps=tuple(tuple(t) for _, t in states), n_outputs=len(plain_outs) + outer["kept"],
              n_shared=len(outer["shared"]), n_non_sequences=len(outer["non_sequences"]),
              has_until=stop is not None, go_backwards=bool(go_backwards),
              truncate_gradient=int(truncate_gradient), label=name, profile=_profile_name(profile, name))
    node = op.make_node(n, *[x for x, _ in seqs], *[init for init, _ in states], *outer["shared"],
                        *outer["non_sequences"])
    compute_test_values(node)
    results = op.split_outputs(node.outputs)
    state_iter, plain_iter = iter(results.states), iter(results.outputs)
    outputs = [next(state_iter) if init is not None else next(plain_iter) for init, _ in infos]
    new_updates = OrderedDict(zip(outer["shared"], results.shared))
    if not outputs:  # fn returned only updates: Theano's scan gives None for the outputs
        return None, new_updates
    if len(outputs) == 1 and not return_list:
        return outputs[0], new_updates
    return outputs, new_updates


def _profile_name(profile, name):
    """Theano's scan(profile=...): True profiles the scan under its name, a string under that string."""
    if not profile:
        return None
    return profile if isinstance(profile, str) else (name or "scan")


def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False, mode=None, name=None):
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, mode=mode, name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None, name=None):
    """scan keeping only the last step of every output."""
    outs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences,
                         go_backwards=go_backwards, mode=mode, name=name, return_list=True)
    if outs is None:  # fn returned only updates
        return None, updates
    last = [o[-1] for o in outs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False, mode=mode, name=name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True, mode=mode, name=name)


# -- arguments --------------------------------------------------------------------

def _as_list(x, keep_none=False):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _sequence(s):
    taps = [0]
    if isinstance(s, dict):
        if "input" not in s:
            raise ScanError("scan: a sequence given as a dict needs an 'input' entry, got keys %s", sorted(s))
        taps = s.get("taps", [0])
        taps = [0] if taps is None else ([taps] if isinstance(taps, (int, np.integer)) else list(taps))
        s = s["input"]
    x = as_tensor_variable(s)
    if x.ndim < 1:
        raise ScanError("scan: sequence %s must have at least one dimension to iterate over, got a scalar", x)
    if not taps or len(set(taps)) != len(taps):
        raise ScanError("scan: sequence %s needs distinct taps, got %s", x, taps)
    return x, [int(k) for k in taps]


def _output_info(o, i):
    """(initial value with a leading axis of rows, taps), or (None, None) if not recurrent."""
    if o is None:
        return None, None
    if isinstance(o, dict):
        if o.get("initial") is None or ("taps" in o and o["taps"] is None):
            return None, None
        taps = o.get("taps", [-1])
        taps = [taps] if isinstance(taps, (int, np.integer)) else list(taps)
        init = as_tensor_variable(o["initial"])
    else:
        taps, init = [-1], as_tensor_variable(o)
    if not taps or any(k >= 0 for k in taps) or len(set(taps)) != len(taps):
        raise ScanError("scan: outputs_info[%d] needs distinct negative taps, got %s", i, taps)
    if taps == [-1]:
        # one step given: give it the leading axis of rows that every state has in the IR
        init = DimShuffle(("x",) + tuple(range(init.ndim)))(init)
    elif init.ndim < 1:
        raise ScanError("scan: outputs_info[%d] with taps %s needs an initial value with a leading axis "
                        "of at least %d rows, got a scalar", i, taps, -min(taps))
    elif isinstance(init, Constant) and init.data.shape[0] < -min(taps):
        raise ScanError("scan: outputs_info[%d] with taps %s needs at least %d initial rows, got %d",
                        i, taps, -min(taps), init.data.shape[0])
    return init, [int(k) for k in taps]


def _placeholder(type, outer, tap, test_value):
    base = outer.name
    if base is None and outer.owner is not None and isinstance(outer.owner.op, DimShuffle):
        base = outer.owner.inputs[0].name  # a one-step initial value given its leading axis
    if base and tap:
        base = f"{base}_tm{-tap}" if tap < 0 else f"{base}_tp{tap}"
    var = Variable(type, name=base)
    if test_value is not None:
        var.tag.test_value = test_value
    return var


def _test_value(var):
    if config.compute_test_value == "off":
        return None
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.container[0]
    return getattr(var.tag, "test_value", None)


def _row(var, k):
    value = _test_value(var)
    if value is None or len(value) <= k:
        return None
    return np.asarray(value)[k]


def _parse_return(ret):
    """Split fn's return value into (outputs, update pairs, until condition or None)."""
    outs, updates, stop = [], [], None
    parts = list(ret) if isinstance(ret, tuple) and _is_compound(ret) else [ret]
    for part in parts:
        if isinstance(part, until):
            stop = part.condition
        elif isinstance(part, dict):
            updates.extend(part.items())
        elif _is_update_list(part):
            updates.extend(part)
        elif isinstance(part, (list, tuple)):
            outs.extend(part)
        elif part is not None:
            outs.append(part)
    return [as_tensor_variable(o) for o in outs], updates, stop


def _inside(parsed, replace):
    """fn's (outputs, update pairs, until condition) with the outer non-sequences
    replaced by their placeholders: what fn computed from them is computed in the body."""
    outs, updates, stop = parsed
    values = [as_tensor_variable(v) for _, v in updates] + ([stop] if stop is not None else [])
    replaced = iter(clone_replace(outs + values, replace))
    outs = [next(replaced) for _ in outs]
    updates = [(sh, next(replaced)) for sh, _ in updates]
    return outs, updates, next(replaced) if stop is not None else None


def _is_compound(ret):
    """A tuple like (outputs, updates, until) rather than a tuple of outputs."""
    return any(isinstance(p, (dict, until)) or _is_update_list(p) or isinstance(p, (list, tuple)) for p in ret)


def _is_update_list(part):
    return (isinstance(part, (list, tuple)) and len(part) > 0
            and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], SharedVariable) for p in part))


def _check_state(out, init, name, i, entry):
    """`out` if it has the per-step type of `init`; else an error naming the user's initial value `entry`."""
    want = step_type(init.type)
    if out.type == want:
        return out
    if out.dtype != want.dtype:
        fix = (f"cast fn's result with T.cast(..., '{want.dtype}') or give an initial value of dtype "
               f"{out.dtype}")
    elif out.ndim != want.ndim:
        fix = "make fn return a value shaped like one step of the initial value"
    else:
        fix = "make the broadcast patterns agree (T.addbroadcast / T.unbroadcast, or a differently shaped initial value)"
    shown = as_tensor_variable(entry["initial"] if isinstance(entry, dict) else entry)
    raise LoopcTypeError("scan%s: fn returned %s for the state of outputs_info[%d], whose initial value %s has "
                         "type %s per step; they must match: %s", _label(name), out.type, i, shown, want, fix)


def _check_update(shared, value, name):
    if not isinstance(shared, SharedVariable):
        raise ScanError("scan%s: updates must be keyed by shared variables, got %s", _label(name), shared)
    value = as_tensor_variable(value)
    if value.type != shared.type and value.dtype != shared.dtype and value.ndim == shared.ndim:
        value = cast(value, shared.dtype) if _safe(value.dtype, shared.dtype) else value
    if value.type.dtype != shared.type.dtype or value.ndim != shared.ndim:
        raise LoopcTypeError("scan%s: the update of shared variable %s has type %s, expected %s; cast it",
                             _label(name), shared, value.type, shared.type)
    return value


def _safe(src, dst):
    return np.can_cast(src, dst, "safe")


def _n_steps(n_steps, seqs, name):
    if n_steps is not None:
        if isinstance(n_steps, (int, np.integer)) and n_steps < 0:
            raise ScanError("scan%s: n_steps must be >= 0, got %d", _label(name), n_steps)
        n = as_tensor_variable(n_steps)
        if n.ndim != 0 or not n.dtype.startswith(("int", "uint")):
            raise LoopcTypeError("scan%s: n_steps must be an integer scalar, got %s", _label(name), n.type.describe())
        return _named(cast(n, "int64"), "n_steps")
    if not seqs:
        raise ScanError("scan%s: give sequences or n_steps: with neither, the number of steps is unknown",
                        _label(name))
    lengths = []
    for x, taps in seqs:
        span = max(max(taps), 0) - min(min(taps), 0)
        length = ShapeI(0)(x)
        lengths.append(length if span == 0 else Elemwise("sub")(length, constant(np.int64(span))))
    n = lengths[0]
    for other in lengths[1:]:
        n = Elemwise("minimum")(n, other)
    return _named(n, "n_steps")


def _named(var, name):
    if var.name is None and not isinstance(var, Constant):
        var.name = name
    return var


# -- the body -----------------------------------------------------------------------

def _build_body(args, state_outs, plain_outs, updates, stop, non_seqs, strict, name):
    """The body graph, and the outer values it reads by role (shared, non_sequences)."""
    updated = [sh for sh, _ in updates]
    outputs = state_outs + plain_outs + [v for _, v in updates] + ([stop] if stop is not None else [])
    inner = set(args) | set(updated)
    rngs, kept = [], []
    for node in toposort(outputs, stop=args):
        if isinstance(node.op, RandomOp) or any(v in inner for v in node.inputs):
            inner.update(node.outputs)
            kept.extend(_draws(node))
            rng = node.inputs[0]
            if isinstance(node.op, RandomOp) and isinstance(rng, SharedVariable) and rng not in updated:
                if rng in [r for r, _ in rngs]:
                    raise ScanError("scan%s: two random ops inside fn draw from the same random state %s",
                                    _label(name), rng)
                rngs.append((rng, node.outputs[0]))
                inner.add(rng)
    captured = []
    for node in toposort(outputs, stop=args):
        if node.outputs[0] in inner:
            captured.extend(v for v in node.inputs if v not in inner and v not in captured)
    captured.extend(v for v in outputs if v not in inner and v not in captured)
    captured = [v for v in captured if not isinstance(v, Constant)]
    if strict:
        loose = [v for v in captured if isinstance(v, SharedVariable)]
        if loose:
            raise ScanError("scan%s (strict=True): fn uses shared variable %s without it being passed in "
                            "non_sequences", _label(name), loose[0])
    shared = updated + [r for r, _ in rngs]
    shared_vars = [_placeholder(sh.type, sh, None, _test_value(sh)) for sh in shared]
    captured_vars = [_placeholder(v.type, v, None, _test_value(v)) for v in captured]
    replace = dict(zip(shared, shared_vars))
    replace.update(zip(captured, captured_vars))
    n_states, n_plain = len(state_outs), len(plain_outs)
    # kept for a gradient, as outputs after fn's own (see the module docstring): the draws,
    # and the values the updated float shared variables start each step from
    kept += [sh for sh in updated if not is_rng(sh) and sh.dtype.startswith("float")]
    new_outputs = clone_replace(outputs[:n_states + n_plain] + kept + [v for _, v in updates]
                                + [r for _, r in rngs] + outputs[n_states + n_plain + len(updates):], replace)
    n_seq_state = len(args) - len(non_seqs)
    body_inputs = args[:n_seq_state] + shared_vars + args[n_seq_state:] + captured_vars
    outer = {"shared": shared, "non_sequences": non_seqs + captured, "kept": len(kept)}
    return Graph(body_inputs, new_outputs), outer


def _draws(node):
    """The values of a body node that depend on random draws and that a gradient must read
    rather than compute again: a random op's sample, every result of a scan that draws."""
    if isinstance(node.op, RandomOp):
        return [node.outputs[1]]
    if isinstance(node.op, Scan) and any(is_rng(v) for v in node.op.split_inputs(node.inputs).shared):
        results = node.op.split_outputs(node.outputs)
        return list(results.states) + list(results.outputs)
    return []


def _label(name):
    return f" {name!r}" if name else ""
