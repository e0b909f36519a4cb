"""Theano's `theano.tensor.xlogx` (reached as `T.xlogx.xlogx`, `T.xlogx.xlogy0`)."""
from ..frontend.tensor import elemwise

__all__ = ["xlogx", "xlogy0"]


def xlogx(x):
    """x * log(x) elementwise, and 0 where x == 0 (its limit)."""
    return elemwise("xlogx", x)


def xlogy0(x, y):
    """x * log(y) elementwise, and 0 where x == 0 whatever y is (so 0 * log(0) is 0)."""
    return elemwise("xlogy0", x, y)
