"""reuse: a scan step's temporary whose shape cannot change is allocated once, before
the loop, and reused by every step.

A `temp` buffer of the step that is only ever read and written element by element
(never viewed, passed to a call, returned or carried to the next step) holds
nothing from one step to the next, so one allocation serves them all; a fill
becomes a store of the fill at the head of the step:

    before                                   after
      for t in n serial:                       v = alloc f64[W.shape[1]] temp
        v = alloc f64[W.shape[1]] temp fill 0  for t in n serial:
        for k in W.shape[0] reduction: ...       v[:] = 0
                                                 for k in W.shape[0] reduction: ...

Requires: nothing. Guarantees: the same values and errors; lengths are array
lengths or non-negative constants, so allocating before a loop that runs no
step cannot fail.
"""
from dataclasses import replace

from .ir import Alloc, Const, Load, ShapeOf, Slice, Store, Var, defined_in, hoist_out_of_loops, walk


def run(fn):
    return replace(fn, body=tuple(hoist_out_of_loops(fn.body, _split)))


def _split(loop):
    local = defined_in(loop.body) | {loop.var}
    hoisted, body = [], []
    for s in loop.body:
        if not (isinstance(s, Alloc) and s.kind == "temp" and all(_fixed(d, local) for d in s.shape)
                and _elementwise_only(loop, s.name, len(s.shape))):
            body.append(s)
            continue
        hoisted.append(replace(s, fill=None))
        if s.fill is not None:
            body.append(Store(s.name, (Slice(),) * len(s.shape), s.fill))
    return hoisted, body


def _fixed(length, local):
    """A length that is the same at every step and never negative."""
    if isinstance(length, Const):
        return length.value >= 0
    return isinstance(length, ShapeOf) and length.buf not in local


def _elementwise_only(loop, name, rank):
    """Whether `name` is only loaded and stored element by element (or its shape read)."""
    for n in walk(loop):
        if isinstance(n, Var) and n.name == name:
            return False
        if isinstance(n, (Load, Store)) and n.buf == name:
            if len(n.index) != rank or any(isinstance(i, Slice) for i in n.index):
                return False
    return True
