"""Theano's `theano.compile` namespace."""
from .frontend.function import Mode, MonitorMode, function  # noqa: F401
from .frontend.io import In, Param  # noqa: F401
from .frontend.shared import shared  # noqa: F401
