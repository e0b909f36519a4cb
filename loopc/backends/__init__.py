"""Backends: render the IR as Python source and run it (PY) or JIT-compile it (NUMBA).

`compile_graph(graph, mode, options)` returns a `Kernel`: a callable over the
graph's input values (rng inputs as slot numbers into the random-state table of
the call, `loopc.runtime.rng_slots`) that returns its output values. `Options`
say how to compile; the frontend fills them from `loopc.config`.
"""
from .compiler import Kernel, Options, compile_graph  # noqa: F401
