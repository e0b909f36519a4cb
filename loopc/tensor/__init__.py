"""`loopc.tensor`: Theano's `theano.tensor` namespace (`import loopc.tensor as T`).

Everything is defined in `loopc.frontend.tensor`; `grad`, `jacobian`, `hessian`
come from `loopc.gradient`; `shared_randomstreams`, `xlogx` (`T.xlogx.xlogy0`),
`extra_ops` and `basic` are submodules. Both are looked up on first use so that
this package imports on its own.
"""
import importlib

from ..frontend.tensor import *  # noqa: F401,F403
from ..frontend.tensor import (  # noqa: F401  (names `import *` would also bring, listed for readers)
    TensorType, abs_, add, and_, arange, argmax, as_tensor_variable, cast, clip, concatenate, constant,
    dimshuffle, dot, eq, exp, fill, flatten, getitem, inc_subtensor, log, matrix, maximum, mean,
    minimum, mul, neq, ones_like, or_, outer, pow, prod, reshape, scalar, set_subtensor, shape,
    sigmoid, softplus, sqr, sqrt, stack, sub, sum, switch, tanh, tensor, transpose, true_div, vector,
    xor, zeros_like)
from ..frontend.tensor import __all__ as _frontend_names
from . import nnet  # noqa: F401

_FROM_GRADIENT = ("grad", "jacobian", "hessian", "Rop", "Lop", "verify_grad", "consider_constant", "grad_clip",
                  "disconnected_grad", "zero_grad")
_SUBMODULES = ("shared_randomstreams", "nnet", "xlogx", "extra_ops", "basic")

__all__ = [*_frontend_names, "grad", "jacobian", "hessian"]


def __getattr__(name):
    if name in _FROM_GRADIENT:
        gradient = importlib.import_module("..gradient", __name__)
        if hasattr(gradient, name):
            return getattr(gradient, name)
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'loopc.tensor' has no attribute {name!r}")
