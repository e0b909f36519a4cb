"""Theano's `theano.tensor.basic`: the same functions as `loopc.tensor`."""
from ..frontend.tensor import *  # noqa: F401,F403
from ..frontend.tensor import __all__  # noqa: F401
