"""Theano's `theano.tensor.extra_ops`: the functions of it that loopc has."""
from ..errors import LoopcTypeError
from ..frontend import tensor as T
from ..frontend.tensor import cumprod, cumsum, diff, repeat, squeeze  # noqa: F401  (re-exported)
from ..ir.types import is_int
from .nnet import class_index

__all__ = ["cumsum", "cumprod", "repeat", "diff", "squeeze", "to_one_hot"]


def to_one_hot(y, nb_class, dtype=None):
    """The len(y) x nb_class matrix with a 1 in column y[i] of row i (an index out of
    range is an index error); `dtype` floatX by default."""
    y = T.as_tensor_variable(y)
    if y.ndim != 1 or not is_int(y.dtype):
        raise LoopcTypeError("to_one_hot: y must be an integer vector, got %s", y.type.describe())
    rows = T.shape(y)[0]
    hot = T.zeros((rows, nb_class), dtype=dtype)
    at = T.add(T.mul(T.arange(rows), nb_class), class_index(nb_class, y))
    return T.reshape(T.set_subtensor(T.flatten(hot)[at], 1), (rows, nb_class))
