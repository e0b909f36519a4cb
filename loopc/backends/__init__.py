"""Backends: render the IR as Python source and run it (PY) or JIT-compile it (NUMBA).

`compile_graph(graph, mode)` returns a `Kernel`: a callable over the graph's
input values (rng inputs as slot numbers) that returns its output values.
"""
from .compiler import Kernel, compile_graph  # noqa: F401
