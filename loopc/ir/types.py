"""Types of IR values.

`TensorType(dtype, broadcastable)`: an n-d array whose ndim is
`len(broadcastable)`; a dimension flagged broadcastable has length 1 at run
time. Its text form is `f64[?,1]` (`?` a dimension of any length, `1` a
broadcastable one) and `f64[]` for a 0-d tensor.

`RandomStateType`: the state of a NumPy `RandomState`, threaded through random
ops as a value (`rng`).
"""
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import LoopcTypeError, ShapeError

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float32", "float64", "complex64", "complex128")

SHORT = {"bool": "i1", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
         "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
         "float32": "f32", "float64": "f64", "complex64": "c64", "complex128": "c128"}
LONG = {short: long for long, short in SHORT.items()}
NUMPY_DTYPES = {name: np.dtype(name) for name in DTYPES}  # the dtype objects NumPy gives its arrays


# Dtype spellings that name a setting of the frontend ('floatX', as in Theano's
# `TensorType('floatX', ...)`): name -> a function giving its current dtype. The
# frontend fills it at import; the IR names no setting itself.
DTYPE_ALIASES = {}


def as_dtype(dtype):
    """Normalize a dtype spelling ('floatX' included, through `DTYPE_ALIASES`) to its NumPy name."""
    if isinstance(dtype, str) and dtype in DTYPE_ALIASES:
        dtype = DTYPE_ALIASES[dtype]()
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise LoopcTypeError("unsupported dtype %r; loopc supports %s", name, ", ".join(DTYPES))
    return name


def is_int(dtype):
    return dtype.startswith(("int", "uint"))


def is_float(dtype):
    return dtype.startswith("float")


def is_discrete(dtype):
    return dtype == "bool" or is_int(dtype)


@dataclass(frozen=True, slots=True)
class TensorType:
    dtype: str
    broadcastable: tuple

    def __post_init__(self):
        object.__setattr__(self, "dtype", as_dtype(self.dtype))
        object.__setattr__(self, "broadcastable", tuple(bool(b) for b in self.broadcastable))

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __call__(self, name=None):
        """Theano's `TensorType(dtype, bcast)(name)`: a new input variable."""
        from .graph import Variable
        return Variable(self, name=name)

    def with_dtype(self, dtype):
        return TensorType(dtype, self.broadcastable)

    def __str__(self):
        dims = ",".join("1" if b else "?" for b in self.broadcastable)
        return f"{SHORT[self.dtype]}[{dims}]"

    def describe(self):
        """Words for error messages: 'float64 matrix (ndim 2)'."""
        kind = {0: "scalar", 1: "vector", 2: "matrix", 3: "tensor3", 4: "tensor4"}.get(self.ndim, "tensor")
        pattern = "" if not any(self.broadcastable) else f", broadcastable {self.broadcastable}"
        return f"{self.dtype} {kind} (ndim {self.ndim}{pattern})"

    def filter(self, value, name, allow_downcast=False):
        """Check and convert a run-time value to this type, or raise naming `name`."""
        is_array = isinstance(value, (np.ndarray, np.generic))
        arr = np.asarray(value)
        if arr.ndim != self.ndim:
            raise LoopcTypeError("%s expects a %s, got an array of ndim %d (shape %s)",
                                 name, self.describe(), arr.ndim, arr.shape)
        if arr.dtype != NUMPY_DTYPES[self.dtype]:  # a byte-swapped array too: Numba takes native ones only
            arr = self._convert(arr, is_array, name, allow_downcast)
        for axis, (flag, length) in enumerate(zip(self.broadcastable, arr.shape)):
            if flag and length != 1:
                raise ShapeError("%s is broadcastable on axis %d and needs length 1 there, got shape %s",
                                 name, axis, arr.shape)
        return arr

    def checker(self, name, allow_downcast=False):
        """`filter` as a function of the value alone, for the inputs of every call: an
        ndarray of this dtype and ndim passes as it is, anything else goes to `filter`."""
        dtype, ndim, slow = NUMPY_DTYPES[self.dtype], self.ndim, self.filter
        axes = tuple(axis for axis, flag in enumerate(self.broadcastable) if flag)

        def check(value):
            if type(value) is np.ndarray and value.dtype == dtype and value.ndim == ndim and (
                    not axes or all(value.shape[axis] == 1 for axis in axes)):
                return value
            return slow(value, name, allow_downcast)
        return check

    def _convert(self, arr, is_array, name, allow_downcast):
        if arr.dtype.kind not in "biufc":
            raise LoopcTypeError("%s expects %s, got an array of dtype %s", name, self.describe(), arr.dtype)
        if allow_downcast or np.can_cast(arr.dtype, self.dtype, "safe"):
            return arr.astype(self.dtype)
        with warnings.catch_warnings():  # complex -> real, NaN -> int: a trial cast, rejected below
            warnings.simplefilter("ignore")
            converted = arr.astype(self.dtype)
        # Python numbers and lists are accepted when the conversion loses nothing
        # (Theano accepts `f(2)` for an int32 input).
        if not is_array and np.array_equal(converted.astype(arr.dtype), arr):
            return converted
        raise LoopcTypeError(
            "%s expects %s, got dtype %s, which would lose precision; cast it, or pass "
            "allow_input_downcast=True to loopc.function", name, self.describe(), arr.dtype)


@dataclass(frozen=True, slots=True)
class RandomStateType:
    """The state of a `numpy.random.RandomState`."""

    ndim = 0
    broadcastable = ()
    dtype = "rng"

    def __call__(self, name=None):
        from .graph import Variable
        return Variable(self, name=name)

    def __str__(self):
        return "rng"

    def describe(self):
        return "random state"

    def checker(self, name, allow_downcast=False):
        return lambda value: self.filter(value, name, allow_downcast)

    def filter(self, value, name, allow_downcast=False):
        if not isinstance(value, np.random.RandomState):
            raise LoopcTypeError("%s expects a numpy.random.RandomState, got %s", name, type(value).__name__)
        return value


def upcast(*dtypes):
    """NumPy's promotion of array dtypes."""
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


def float_of(dtype):
    """Theano's upgrade_to_float: the float type a transcendental op returns."""
    if is_float(dtype) or dtype.startswith("complex"):
        return dtype
    return "float32" if dtype in ("bool", "int8", "int16", "uint8", "uint16") else "float64"
