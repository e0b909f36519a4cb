"""loopc: a loop compiler for array code, with Theano's API.

    import loopc as theano
    import loopc.tensor as T

runs Theano tutorial code: symbolic tensors and `scan` loops are built into a
typed graph IR (`loopc.ir`), optimized by passes (`loopc.passes`), rendered as
Python source and JIT-compiled by Numba (`loopc.backends`).
"""
from . import tensor  # noqa: F401  (also makes `loopc.tensor` an attribute)
from . import compile, gradient, printing, scalar, scan_module, sandbox  # noqa: F401
from .config import config  # noqa: F401
from .frontend.function import Mode, MonitorMode, function  # noqa: F401
from .frontend.io import In, Param  # noqa: F401
from .frontend.scan import foldl, foldr, map, reduce, scan, until  # noqa: F401
from .frontend.shared import shared  # noqa: F401
from .gradient import Lop, Rop, grad, hessian, jacobian, subgraph_grad, verify_grad  # noqa: F401
from .ir.printer import dump  # noqa: F401

__version__ = "0.1.0"
