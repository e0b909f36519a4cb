"""`loopc.scalar`: Theano's `theano.scalar` (see `loopc.scalar.basic`)."""
from .basic import *  # noqa: F401,F403
from .basic import __all__  # noqa: F401
