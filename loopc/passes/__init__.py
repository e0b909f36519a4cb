"""The pass pipeline: an ordered list of (name, run) where `run(graph) -> graph`.

Each pass is a module with one entry point `run` and a docstring stating its
invariant. `run_pipeline` keeps the graph after every stage for `f.dump(stage)`,
verifies it when asked (the frontend passes `config.verify`), and names the pass
in any error. Layer 2: imports `loopc.errors` and `loopc.ir` only.
"""
import os
import sys
import time

from ..errors import LoopcError
from ..ir.graph import verify as verify_graph
from ..ir.printer import format_graph
from . import canonicalize, cse, dce, push_out, save_memory

PIPELINE = [
    ("canonicalize", canonicalize.run),
    ("cse", cse.run),
    ("push_out", push_out.run),
    ("dce", dce.run),
    ("save_memory", save_memory.run),
]


def run_pipeline(graph, enabled=True, verify=False, print_stages=False, timings=None):
    """[("input", graph), (pass name, graph after it), ...]; `verify` checks the graph
    after every pass; `print_stages` prints every stage to stderr, as does
    LOOPC_PRINT_AFTER=name,... for the stages it names; `timings`, a dict, gets each
    pass's seconds (its verification aside)."""
    stages = [("input", graph)]
    show = _stages_to_print(print_stages)
    _maybe_print("input", graph, show)
    for name, run in (PIPELINE if enabled else []):
        try:
            start = time.perf_counter()
            graph = run(graph)
            if timings is not None:
                timings[name] = time.perf_counter() - start
            if verify:
                verify_graph(graph)
        except LoopcError:
            raise
        except Exception as exc:
            raise RuntimeError(f"loopc pass {name!r} failed: {exc}") from exc
        stages.append((name, graph))
        _maybe_print(name, graph, show)
    return stages


def _stages_to_print(print_all):
    names = os.environ.get("LOOPC_PRINT_AFTER", "")
    if print_all:  # LOOPC_FLAGS=print_stages=1 is LOOPC_PRINT_AFTER=all
        names += ",all"
    return {n.strip() for n in names.split(",") if n.strip()}


def _maybe_print(name, graph, show):
    if name in show or "all" in show:
        print(f"// ---- after {name}\n{format_graph(graph)}", file=sys.stderr)
