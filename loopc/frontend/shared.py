"""Theano's `shared`: a variable whose value lives between calls."""
import copy

import numpy as np

from ..ir.graph import SharedVariable
from ..ir.types import RandomStateType, TensorType


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None):
    """A shared variable holding `value` (a copy unless borrow=True).

    Python floats become float64 arrays (not floatX), Python ints int64, as NumPy does."""
    if isinstance(value, np.random.RandomState):  # calls advance it in place
        return SharedVariable(RandomStateType(), value if borrow else copy.deepcopy(value), name=name)
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"loopc.shared: cannot share a value of type {type(value).__name__}")
    if not borrow:
        array = array.copy()
    if broadcastable is None:
        broadcastable = (False,) * array.ndim
    return SharedVariable(TensorType(array.dtype.name, broadcastable), array, name=name, strict=True)
