"""Theano's `theano.tensor.shared_randomstreams`."""
from ..frontend.random import RandomStreams  # noqa: F401
