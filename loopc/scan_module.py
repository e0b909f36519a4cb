"""Theano's `theano.scan_module` namespace."""
from .frontend.scan import scan, until  # noqa: F401
