"""`loopc.tensor.nnet`: Theano's neural-network helpers, built from `loopc.tensor` ops.

Theano spread these over `theano.tensor.nnet.nnet` (softmax, crossentropies, relu)
and `theano.tensor.nnet.sigm` (the sigmoids); both names lead here too.
"""
import sys

import numpy as np

from ..errors import LoopcTypeError
from ..frontend import tensor as T
from ..frontend.tensor import sigmoid, softplus  # noqa: F401  (re-exported)
from ..ir.types import is_int

__all__ = ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid", "relu", "softmax", "log_softmax",
           "logsoftmax", "binary_crossentropy", "categorical_crossentropy", "softsign"]

nnet = sigm = sys.modules[__name__]  # Theano's submodules `nnet.nnet` and `nnet.sigm`


def ultra_fast_sigmoid(x):
    """Theano's fast piecewise approximation of the sigmoid; loopc computes the exact
    sigmoid (loopc's sigmoid is already a vectorized kernel)."""
    return sigmoid(x)


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: clip(0.2 x + 0.5, 0, 1)."""
    return T.clip(T.add(T.mul(x, 0.2), 0.5), 0.0, 1.0)


def softsign(x):
    """x / (1 + |x|)."""
    return T.true_div(x, T.add(1.0, T.abs_(x)))


def relu(x, alpha=0):
    """max(x, 0); with `alpha`, x where x > 0 and alpha * x elsewhere (leaky)."""
    if not isinstance(alpha, T.Variable) and alpha == 0:
        return T.maximum(x, 0)
    return T.switch(T.gt(x, 0), x, T.mul(alpha, x))


def _rows(x):
    """A vector as a 1 x n matrix, as Theano's Softmax made it; other inputs unchanged."""
    x = T.as_tensor_variable(x)
    return T.shape_padleft(x) if x.ndim == 1 else x


def softmax(x, axis=-1):
    """exp(x) normalized along `axis` (the last by default), computed from x - max(x)
    so that large inputs do not overflow. A vector gives a 1 x n row, as in Theano."""
    x = _rows(x)
    e = T.exp(T.sub(x, T.max(x, axis=axis, keepdims=True)))
    return T.true_div(e, T.sum(e, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """log(softmax(x)), computed without forming the softmax; a vector gives a row."""
    x = _rows(x)
    shifted = T.sub(x, T.max(x, axis=axis, keepdims=True))
    return T.sub(shifted, T.log(T.sum(T.exp(shifted), axis=axis, keepdims=True)))


logsoftmax = log_softmax


def binary_crossentropy(output, target):
    """-(target log(output) + (1 - target) log(1 - output)), elementwise."""
    return T.neg(T.add(T.mul(target, T.log(output)), T.mul(T.sub(1.0, target), T.log(T.sub(1.0, output)))))


def categorical_crossentropy(coding_dist, true_dist):
    """Theano's: -sum(true_dist * log(coding_dist)) per row when `true_dist` is a matrix
    (one-hot or any distribution); -log(coding_dist[i, true_dist[i]]) when it is an
    integer vector of class indices (checked against the number of classes)."""
    coding_dist = T.as_tensor_variable(coding_dist)
    true_dist = T.as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return T.neg(T.sum(T.mul(true_dist, T.log(coding_dist)), axis=coding_dist.ndim - 1))
    if coding_dist.ndim == 2 and true_dist.ndim == 1 and is_int(true_dist.dtype):
        return T.neg(T.log(pick_columns(coding_dist, true_dist)))
    raise LoopcTypeError("categorical_crossentropy: true_dist must be a matrix like coding_dist or an integer "
                         "vector of class indices for the coding_dist matrix; got %s for %s",
                         true_dist.type.describe(), coding_dist.type.describe())


def pick_columns(matrix, columns):
    """`matrix[i, columns[i]]` for every row i, as a vector; a column index out of
    range is an index error (negative ones count from the end)."""
    rows, n_classes = T.shape(matrix)[0], T.shape(matrix)[1]
    at = T.add(T.mul(T.arange(rows), n_classes), class_index(n_classes, columns))
    return T.flatten(matrix)[at]


def class_index(n_classes, y):
    """The class indices `y` checked against `n_classes` (an index error names them
    "classes"), negative ones counted from the end: `arange(n_classes)[y]`."""
    n = T._static_int(n_classes)
    classes = T.constant(np.arange(n), name="classes") if n is not None else T.arange(n_classes)
    classes.name = "classes"
    return classes[y]
