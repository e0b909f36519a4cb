"""Theano's `theano.scalar` (`theano.scalar.basic`): dtype promotion and scalar types.

loopc has no type of its own for scalars: a Theano scalar is a 0-d tensor here, so
`theano.scalar.float64('x')` is a 0-d float64 variable, which takes part in tensor
arithmetic directly (Theano needed `tensor_from_scalar` for that). Theano's scalar
ops (`theano.scalar.add`, ...) are not provided: `loopc.tensor`'s functions apply to
0-d variables.
"""
import numpy as np

from ..errors import LoopcTypeError
from ..frontend import tensor as T
from ..ir.types import DTYPES, TensorType

__all__ = ["upcast", "upcast_out", "Scalar", "get_scalar_type", "constant", "as_scalar", *DTYPES,
           "int_types", "uint_types", "float_types", "complex_types", "discrete_types", "continuous_types",
           "all_types"]


def upcast(dtype, *dtypes):
    """Theano's upcast: the dtype of the sum of 0-d zeros of every dtype given (so
    `upcast('int32', 'float32')` is 'float64'); 'floatX' is `config.floatX`."""
    total = np.zeros((), T.as_dtype(dtype))
    for other in dtypes:
        total = total + np.zeros((), T.as_dtype(other))
    return total.dtype.name


def Scalar(dtype):
    """Theano's scalar type of `dtype`: here the 0-d tensor type (call it to make a variable)."""
    return TensorType(T.as_dtype(dtype), ())


get_scalar_type = Scalar


def upcast_out(*types):
    """The one-element tuple of the scalar type of `upcast` of the types' dtypes."""
    return (Scalar(upcast(*[t.dtype for t in types])),)


def constant(x, name=None, dtype=None):
    """A 0-d constant holding `x` (loopc's dtype rules: Python floats are floatX)."""
    c = T.constant(x, name=name, dtype=dtype)
    if c.ndim != 0:
        raise LoopcTypeError("theano.scalar.constant: %r is not a scalar (shape %s)", x, c.data.shape)
    return c


def as_scalar(x, name=None):
    """`x` as a 0-d variable: a 0-d variable passes through, a number becomes a constant."""
    if isinstance(x, T.Variable):
        if x.ndim != 0:
            raise LoopcTypeError("as_scalar: %s is a %s, not a scalar", x, x.type.describe())
        return x
    return constant(x, name=name)


globals().update({dtype: Scalar(dtype) for dtype in DTYPES})

int_types = tuple(Scalar(d) for d in ("int8", "int16", "int32", "int64"))
uint_types = tuple(Scalar(d) for d in ("uint8", "uint16", "uint32", "uint64"))
float_types = tuple(Scalar(d) for d in ("float32", "float64"))
complex_types = tuple(Scalar(d) for d in ("complex64", "complex128"))
discrete_types = (Scalar("bool"),) + int_types + uint_types
continuous_types = float_types + complex_types
all_types = discrete_types + continuous_types
