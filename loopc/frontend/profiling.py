"""Theano's profiler: `function(..., profile=True)` gives the function a
`FunctionProfile` (`f.profile`), and `f.profile.summary()` prints what its calls
and its compiling cost.

- Calls: how many, their time in all, the part spent in the compiled code and
  the rest (the call path: input checks, random states, updates).
- Regions: the time and completions of each region of the generated code (one
  top-level loop nest, library call or draw with the cheap statements before
  it; `loopc.loops.profile`), in the PY and NUMBA modes; of each node in the
  REFERENCE mode. The compiled code times itself (a mark costs about 30 ns in
  NUMBA) and keeps the numbers in an array the call passes it.
- Scans: for each region holding a scan, its steps and the time per step.
- Compile time per stage: each graph pass, lowering, each loop pass, printing,
  loading the module, and Numba's compile (at the first call; a function whose
  code an earlier one compiled shares that compile). Numba's compile is left out
  of the call times; other one-time costs of a first call are not (an objmode
  block, such as a random draw's, is compiled when it first runs after Numba
  loaded the code from its cache: tens of ms).

Two threads calling one profiled function at once may lose some counts (the
compiled code adds to the record without a lock).

`scan(..., profile=True)` profiles each function that contains the scan, whose
summary then names the scan. `LOOPC_FLAGS=profile=1` profiles every function
and prints every summary at exit (to stderr, as Theano does).
"""
import atexit
import os
import sys
import time

import numpy as np

from ..ir.graph import ancestors
from ..ir.scan import Scan

_AT_EXIT = []  # the profiles to print when the process ends (LOOPC_FLAGS=profile=1)


class FunctionProfile:
    """What the calls and the compiling of one function cost."""

    def __init__(self, message, mode, labels, scans=None):
        self.message = message
        self.mode = mode
        self.labels = list(labels)  # per region, what it runs
        self.scans = list(scans or [None] * len(self.labels))  # per region, its scan's name or None
        self.record = np.zeros((len(self.labels), 3))  # per region: seconds, completions, scan steps
        self.scratch = np.zeros_like(self.record)  # what the code of another backend (DEBUG) records into
        self.calls = 0  # calls of the function, failed ones included
        self.call_seconds = 0.0
        self.kernel_seconds = 0.0  # in the compiled code (or the reference evaluator), marks included
        self.compile_stages = []  # (section, [(stage, seconds), ...])
        self.compile_seconds = 0.0  # building the function, Numba's compile aside
        self.numba_seconds = lambda: 0.0
        self.backend = mode  # whose code the regions are ("NUMBA" in DEBUG)

    # -- recording ------------------------------------------------------------------
    def call(self, call, args, kwargs):
        """`call(args, kwargs)`, counted and timed; a compile by Numba during it counts as
        compile time, not call time."""
        compiled, start = self.numba_seconds(), time.perf_counter()
        try:
            return call(args, kwargs)
        finally:
            self.calls += 1
            self.call_seconds += time.perf_counter() - start - (self.numba_seconds() - compiled)

    def timed(self, kernel):
        """`kernel`, timed (Numba's compile aside); its regions time themselves."""
        def run(*args):
            compiled, start = self.numba_seconds(), time.perf_counter()
            try:
                return kernel(*args)
            finally:
                self.kernel_seconds += time.perf_counter() - start - (self.numba_seconds() - compiled)
        return run

    def node_hook(self):
        """A monitor for the reference evaluator: node i's time is the time since the
        previous node ended."""
        return _NodeTimer(self.record)

    # -- the summary ----------------------------------------------------------------
    def summary(self, file=None):
        """Print the profile (to stderr by default)."""
        print(self.text(), file=file or sys.stderr)

    def text(self):
        return "\n".join(["Function profiling", "==================", *self._calls_lines(), "",
                          *self._compile_lines(), "", *self._region_lines(), *self._scan_lines()]).rstrip() + "\n"

    def _calls_lines(self):
        inside = self.kernel_seconds
        rest = max(self.call_seconds - inside, 0.0)
        lines = [f"  Message: {self.message} (mode {self.mode})",
                 f"  Time in {self.calls} calls to Function.__call__: {self.call_seconds:.6e} s",
                 f"  Time in {self._inside()}: {inside:.6e} s ({_percent(inside, self.call_seconds)})"]
        if self.labels:
            outside = max(inside - float(self.record[:, 0].sum()), 0.0)
            lines.append(f"    of which outside its regions (entering and leaving it): {outside:.6e} s")
        lines.append(f"  Time in the call path (inputs, random states, updates): {rest:.6e} s "
                     f"({_percent(rest, self.call_seconds)})")
        return lines

    def _inside(self):
        if self.mode in ("REFERENCE", "MONITOR"):
            return "the reference evaluator"
        return "the compiled NUMBA code (the PY code's time is in the call path)" if self.mode == "DEBUG" \
            else "the compiled code"

    def _compile_lines(self):
        sections = list(self.compile_stages)
        other = self.compile_seconds - sum(seconds for _, stages in sections for _, seconds in stages)
        sections.append(("other", [("other", max(other, 0.0))]))  # the frontend, first imports (Numba)
        if self.mode in ("NUMBA", "DEBUG"):
            sections.append(("Numba compile", [("numba", self.numba_seconds())]))
        total = sum(seconds for _, stages in sections for _, seconds in stages)
        lines = [f"  Compile time: {total:.6e} s"]
        for section, stages in sections:
            seconds = sum(s for _, s in stages)
            detail = f"  ({', '.join(f'{name} {s:.2e} s' for name, s in stages)})" if len(stages) > 1 else ""
            lines.append(f"    {section + ':':<16}{seconds:.6e} s{detail}")
        return lines

    def _region_lines(self):
        if not self.labels:
            return ["Regions", "-------", "  (no regions: nothing is timed inside this function)"]
        seconds_of, calls_of = self.record[:, 0], self.record[:, 1]
        total = float(seconds_of.sum())
        rows = sorted(range(len(self.labels)), key=lambda k: -seconds_of[k])
        lines = ["Regions (of the generated code; in REFERENCE mode, the graph's nodes)",
                 "-------",
                 "  <% time> <sum %> <region time> <time per call> <#call> <#>  <region>"]
        cumulative = 0.0
        for k in rows:
            seconds, calls = float(seconds_of[k]), int(calls_of[k])
            cumulative += seconds
            per_call = seconds / calls if calls else 0.0
            lines.append(f"  {_percent(seconds, total):>7} {_percent(cumulative, total):>7} {seconds:>11.3e}s "
                         f"{per_call:>13.3e}s {calls:>8} {k:>3}  {self.labels[k]}")
        return lines

    def _scan_lines(self):
        lines = []
        for k, name in enumerate(self.scans):
            if name is None:
                continue
            seconds, calls, steps = float(self.record[k, 0]), int(self.record[k, 1]), int(self.record[k, 2])
            per_step = f"{seconds / steps:.3e} s per step" if steps else "no step run"
            per_call = f"{steps / calls:.1f} per call" if calls else "no call"
            lines.append(f"  scan {name!r} (region {k}): {calls} calls, {steps} steps ({per_call}), "
                         f"{seconds:.3e} s, {per_step}")
        return ["", "Scans", "-----", *lines] if lines else []


def _percent(part, whole):
    return f"{100.0 * part / whole:.1f}%" if whole > 0 else "-"


def wants_profile(values):
    """Whether a graph computing `values` holds a scan made with `profile=True`."""
    return any(_scans_profiled(values))


def _scans_profiled(values):
    for var in ancestors(values):
        node = var.owner
        if node is not None and isinstance(node.op, Scan):
            yield node.op.profile is not None
            yield from _scans_profiled(node.op.body.outputs)


def where_made():
    """'file:line' of the first caller outside loopc: Theano's message for an unnamed function."""
    frame = sys._getframe(1)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


def print_at_exit(profile):
    """Print `profile`'s summary when the process ends."""
    if not _AT_EXIT:
        atexit.register(_print_all)
    _AT_EXIT.append(profile)


def _print_all():
    for profile in _AT_EXIT:
        profile.summary(file=sys.stderr)


class _NodeTimer:
    """The reference evaluator's monitor for a profile: the function's own nodes only
    (a scan body's nodes are timed as part of their scan node)."""

    descend = False

    def __init__(self, record):
        self.record, self.last = record, time.perf_counter()

    def pre(self, i, node, inputs):
        pass

    def post(self, i, node, inputs, outputs):
        now = time.perf_counter()
        self.record[i, :2] += (now - self.last, 1)
        self.last = now
