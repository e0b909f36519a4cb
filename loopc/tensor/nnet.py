"""`loopc.tensor.nnet`: Theano's neural-network helpers, built from `loopc.tensor` ops."""
from ..frontend import tensor as T
from ..frontend.tensor import sigmoid, softplus  # noqa: F401  (re-exported)

__all__ = ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid", "relu", "softmax", "log_softmax",
           "binary_crossentropy", "categorical_crossentropy"]

ultra_fast_sigmoid = sigmoid  # Theano's approximation; loopc computes the exact sigmoid


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: clip(0.2 x + 0.5, 0, 1)."""
    return T.clip(T.add(T.mul(x, 0.2), 0.5), 0.0, 1.0)


def relu(x, alpha=0):
    """max(x, 0); with `alpha`, x where x > 0 and alpha * x elsewhere (leaky)."""
    if alpha == 0:
        return T.maximum(x, 0)
    return T.switch(T.gt(x, 0), x, T.mul(alpha, x))


def softmax(x, axis=-1):
    """exp(x) normalized along `axis` (the last by default), computed from x - max(x)
    so that large inputs do not overflow."""
    e = T.exp(T.sub(x, T.max(x, axis=axis, keepdims=True)))
    return T.true_div(e, T.sum(e, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """log(softmax(x)), computed without forming the softmax."""
    shifted = T.sub(x, T.max(x, axis=axis, keepdims=True))
    return T.sub(shifted, T.log(T.sum(T.exp(shifted), axis=axis, keepdims=True)))


def binary_crossentropy(output, target):
    """-(target log(output) + (1 - target) log(1 - output)), elementwise."""
    return T.neg(T.add(T.mul(target, T.log(output)), T.mul(T.sub(1.0, target), T.log(T.sub(1.0, output)))))


def categorical_crossentropy(coding_dist, true_dist):
    """-sum(true_dist * log(coding_dist)) per row; `true_dist` may be class indices (an int vector)."""
    coding_dist = T.as_tensor_variable(coding_dist)
    true_dist = T.as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim - 1:
        classes = T.arange(coding_dist.shape[-1])
        true_dist = T.cast(T.eq(true_dist.dimshuffle(0, "x"), classes.dimshuffle("x", 0)), coding_dist.dtype)
    return T.neg(T.sum(T.mul(true_dist, T.log(coding_dist)), axis=-1))
