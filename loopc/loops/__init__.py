"""The loop level: lowering from the graph IR and the passes over loop nests.

`PIPELINE` is the ordered list of loop passes; `compile_loops` lowers a graph and
runs them, keeping each stage for `f.dump("loops")` and `loopc dump --stage`.
Every stage is checked by `verify` when `verify` is asked for.
"""
import time

from . import block, fold, fuse, hoist, inplace, profile as profile_pass, reuse
from .ir import format_function, verify
from .lower import lower

PIPELINE = [
    ("hoist", hoist.run),  # first: a state's shape check between its new value and its row blocks `fuse`
    ("fuse", fuse.run),
    ("fold", fold.run),
    ("inplace", inplace.run),
    ("block", block.run),
    ("reuse", reuse.run),
]


def compile_loops(graph, name="fn", math="vector", optimize=True, check=False, profile=False, timings=None):
    """[("lower", fn after lowering), (pass name, fn after it), ...]; `profile` adds the
    timing marks last (the `profile` stage); `timings`, a dict, gets each stage's seconds."""
    timings = {} if timings is None else timings
    start = time.perf_counter()
    fn = lower(graph, name, math)
    timings["lower"] = time.perf_counter() - start
    if check:
        verify(fn)
    stages = [("lower", fn)]
    passes = (PIPELINE if optimize else []) + ([("profile", profile_pass.run)] if profile else [])
    for pass_name, run in passes:
        start = time.perf_counter()
        try:
            fn = run(fn)
        except Exception as exc:
            raise RuntimeError(f"loopc loop pass {pass_name!r} failed: {exc}") from exc
        timings[pass_name] = time.perf_counter() - start
        if check:
            verify(fn)
        stages.append((pass_name, fn))
    return stages


__all__ = ["PIPELINE", "compile_loops", "format_function", "lower", "verify"]
