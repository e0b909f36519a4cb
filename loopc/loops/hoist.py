"""hoist: checks that cannot change from step to step move before their scan loop.

A `Check` at the head of a serial loop's body (nothing before it in the body can
raise or have an effect) whose condition reads nothing the body defines gives
the same answer at every step, so it runs once, before the loop, guarded by
"the loop runs at least once"; a message argument naming the step reads the
first step. The RNN's dot and state-shape checks leave its step this way:

    before                                   after
      for t in 0..n serial:                    check and(lt(0, n), neq(W.shape[0], k)) -> ShapeError(...)
        check neq(W.shape[0], k) -> ...        for t in 0..n serial:
        v = call dot(h, W)                       v = call dot(h, W)

Requires: nothing. Guarantees: the same values, the same first error of a call
(a hoisted check is one that would have been the first to fail), and a body
whose checks all depend on the step. Runs before `fuse`, which cannot write a
state's new value straight into its row while the state's shape check still
stands between the two.
"""
from dataclasses import replace

from .ir import Check, Host, Op, Var, defined_in, hoist_out_of_loops, names_read, substitute, walk


def run(fn):
    return replace(fn, body=tuple(hoist_out_of_loops(fn.body, _split)))


def _split(loop):
    """(checks to run before `loop`, the loop's remaining body)."""
    local = defined_in(loop.body) | {loop.var}
    hoisted, body, clean = [], [], True
    for s in loop.body:
        if clean and isinstance(s, Check) and not (names_read(s.bad) & local):
            first = {loop.var: loop.start}
            args = tuple(substitute(a, lambda e: first.get(e.name) if isinstance(e, Var) else None) for a in s.args)
            if names_read(Op("tuple", args)) & local:
                clean = False
                body.append(s)
                continue
            runs = Op("lt", (loop.start, loop.extent))
            hoisted.append(Check(Op("and", (runs, s.bad)), s.error, s.message, args))
            continue
        if _may_raise(s):
            clean = False
        body.append(s)
    return hoisted, body


def _may_raise(s):
    """Whether `s` can raise or have an effect outside the function's locals."""
    return any(isinstance(n, (Check, Host)) for n in walk(s))

