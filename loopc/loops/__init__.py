"""The loop level: lowering from the graph IR and the passes over loop nests.

`PIPELINE` is the ordered list of loop passes; `compile_loops` lowers a graph and
runs them, keeping each stage for `f.dump("loops")` and `loopc dump --stage`.
Every stage is checked by `verify` when `verify` is asked for.
"""
from . import block, fold, fuse, hoist, inplace, reuse
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


def compile_loops(graph, name="fn", math="vector", optimize=True, check=False):
    """[("loops", fn after lowering), (pass name, fn after it), ...]."""
    fn = lower(graph, name, math)
    if check:
        verify(fn)
    stages = [("lower", fn)]
    for pass_name, run in (PIPELINE if optimize else []):
        try:
            fn = run(fn)
        except Exception as exc:
            raise RuntimeError(f"loopc loop pass {pass_name!r} failed: {exc}") from exc
        if check:
            verify(fn)
        stages.append((pass_name, fn))
    return stages


__all__ = ["PIPELINE", "compile_loops", "format_function", "lower", "verify"]
