"""The user-facing layer: builds IR graphs from Theano-style code.

Importing it gives IR variables their Theano surface (`x + y`, `x.sum()`): see
`variable`.
"""
from . import variable  # noqa: F401  (fills loopc.ir.graph.SURFACE)
