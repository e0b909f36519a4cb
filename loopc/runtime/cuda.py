"""What the CUDA backend's generated modules call: device functions for the scalar
table, the library calls (`dot`, `contiguous`, `transpose`, fills, ...) as small
kernels, device scalars, and the error record of checks made inside kernels.

Layer 0: imports NumPy, `numba.cuda` and `loopc.errors`, nothing else of loopc.
Under numba's simulator (`NUMBA_ENABLE_CUDASIM=1`, set before this module is first
imported) every kernel runs as Python threads: the device functions here avoid
what Python's `math` raises on (`math.log(0)`, `math.exp(1000)`, `math.floor(nan)`)
and give the IEEE results a GPU gives.

A *device scalar* is a 1-element device array: a value computed on the device
stays there until the host needs it (`item`).
"""
import math

import numpy as np
from numba import cuda

from ..errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ScanError, ShapeError  # noqa: F401

if not hasattr(np, "row_stack"):  # numba-cuda 0.30.4 reads it on the first compile (NumPy 2.5 removed it)
    np.row_stack = np.vstack

# Threads per block, chosen here only: 64 is small enough for the simulator (a thread
# each) and a multiple of a warp on a GPU. Grids of 2 and 3 dimensions use BLOCK2, BLOCK3.
BLOCK = 64
BLOCK2 = (16, 4)
BLOCK3 = (8, 4, 2)
TILE = 8  # the side of dot's shared-memory tiles (TILE * TILE threads a block)


def blocks(n, per):
    """How many blocks of `per` threads cover `n` iterations (at least one)."""
    return max(1, (int(n) + per - 1) // per)


def grid(*extents):
    """The (grid, block) of a kernel over `extents` (innermost loop first, as cuda.grid)."""
    if len(extents) == 1:
        return blocks(extents[0], BLOCK), BLOCK
    per = BLOCK2 if len(extents) == 2 else BLOCK3
    return tuple(blocks(n, b) for n, b in zip(extents, per)), per


class Launcher:
    """`kernel[config]` bound once per launch configuration (binding one costs more host
    time than the launch itself): `Launcher(kernel)[grid(n)](args)`."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.configs = {}

    def __getitem__(self, config):
        bound = self.configs.get(config)
        if bound is None:
            bound = self.configs[config] = self.kernel[config]
        return bound


# -- data in and out ------------------------------------------------------------

def is_device(value):
    """Whether `value` is a device array: numba's own, or any object of the CUDA array
    interface (CuPy, torch)."""
    if isinstance(value, np.ndarray):
        return False
    return getattr(value, "__cuda_ndarray__", False) or hasattr(value, "__cuda_array_interface__")


def to_device(value):
    """A device array of `value`: a device array (or any `__cuda_array_interface__`
    object: CuPy, torch) as it is, without a copy; a NumPy array copied in."""
    if isinstance(value, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(value) if value.ndim else value.reshape(1))
    if is_device(value):
        return value if hasattr(value, "copy_to_host") else cuda.as_cuda_array(value)
    return cuda.to_device(np.asarray(value))


def to_host(value, ndim=None):
    """A NumPy array (0-d when `ndim` is 0) of a device array, device scalar or host value."""
    if is_device(value):
        value = value.copy_to_host()
        return value.reshape(()) if ndim == 0 else value
    return np.asarray(value)


def cell(value, dtype):
    """A device scalar holding `value`."""
    return cuda.to_device(np.full(1, value, dtype))


def item(value):
    """The host value of a device scalar (a host value as it is)."""
    if is_device(value):
        return value.copy_to_host()[0]
    return value


def empty(shape, dtype):
    shape = tuple(int(s) for s in shape) if isinstance(shape, tuple) else (int(shape),)
    return cuda.device_array(shape, dtype)


# -- scalar functions (the CUDA printer's table) ----------------------------------

@cuda.jit(device=True)
def maximum(a, b):  # NaN wins, as np.maximum
    return a if (a > b or a != a) else b


@cuda.jit(device=True)
def minimum(a, b):
    return a if (a < b or a != a) else b


@cuda.jit(device=True)
def sign(a):
    if a > 0:
        return 1
    if a < 0:
        return -1
    return a * 0  # 0, -0.0 or nan, of a's type


@cuda.jit(device=True)
def exp(a):
    if a > 709.0:
        return math.inf
    if a < -745.0:
        return 0.0
    return math.exp(a)


@cuda.jit(device=True)
def expm1(a):
    if a > 709.0:
        return math.inf
    return math.expm1(a)


@cuda.jit(device=True)
def log(a):
    if a > 0:
        return math.log(a)
    return -math.inf if a == 0 else math.nan


@cuda.jit(device=True)
def log1p(a):
    if a > -1.0:
        return math.log1p(a)
    return -math.inf if a == -1.0 else math.nan


@cuda.jit(device=True)
def log2(a):
    return log(a) / math.log(2.0)


@cuda.jit(device=True)
def log10(a):
    return log(a) / math.log(10.0)


@cuda.jit(device=True)
def sqrt(a):
    return math.sqrt(a) if a >= 0 else math.nan


@cuda.jit(device=True)
def sin(a):  # nan for an infinity (Python's math raises)
    return math.sin(a) if a - a == 0 else math.nan


@cuda.jit(device=True)
def cos(a):
    return math.cos(a) if a - a == 0 else math.nan


@cuda.jit(device=True)
def tan(a):
    return math.tan(a) if a - a == 0 else math.nan


@cuda.jit(device=True)
def sinh(a):
    if a > 710.0 or a < -710.0:
        return math.inf if a > 0 else -math.inf
    return math.sinh(a)


@cuda.jit(device=True)
def cosh(a):
    if a > 710.0 or a < -710.0:
        return math.inf
    return math.cosh(a)


@cuda.jit(device=True)
def arcsin(a):
    return math.asin(a) if -1.0 <= a <= 1.0 else math.nan


@cuda.jit(device=True)
def arccos(a):
    return math.acos(a) if -1.0 <= a <= 1.0 else math.nan


@cuda.jit(device=True)
def arccosh(a):
    return math.acosh(a) if a >= 1.0 else math.nan


@cuda.jit(device=True)
def arctanh(a):
    if -1.0 < a < 1.0:
        return math.atanh(a)
    if a == 1.0 or a == -1.0:
        return a * math.inf
    return math.nan


@cuda.jit(device=True)
def sigmoid(a):
    return 1.0 / (1.0 + exp(-a))


@cuda.jit(device=True)
def softplus(a):
    return log1p(exp(-abs(a))) + (a if a > 0 else 0.0)


@cuda.jit(device=True)
def xlogx(a):
    return 0.0 if a == 0 else a * log(a)


@cuda.jit(device=True)
def xlogy0(a, b):
    return 0.0 if a == 0 else a * log(b)


@cuda.jit(device=True)
def _integral(x):
    """Whether float x needs no rounding (nan, an infinity, 0 or beyond 2**52)."""
    return not (x - x == 0) or x == 0 or x >= 4503599627370496.0 or x <= -4503599627370496.0


@cuda.jit(device=True)
def floor(a):  # a float, as np.floor (Python's math.floor gives an int and raises on nan)
    x = float(a)
    if _integral(x):
        return x
    return math.copysign(float(math.floor(x)), x)


@cuda.jit(device=True)
def ceil(a):
    x = float(a)
    if _integral(x):
        return x
    return math.copysign(float(math.ceil(x)), x)  # ceil(-0.5) is -0.0


@cuda.jit(device=True)
def trunc(a):
    x = float(a)
    if _integral(x):
        return x
    return math.copysign(float(math.trunc(x)), x)


@cuda.jit(device=True)
def rint(a):  # round half to even, as np.rint
    x = float(a)
    if _integral(x):
        return x
    f = float(math.floor(x))
    d = x - f
    if d > 0.5 or (d == 0.5 and f % 2.0 != 0.0):
        f += 1.0
    return math.copysign(f, x)


@cuda.jit(device=True)
def isnan(a):
    return a != a


@cuda.jit(device=True)
def isinf(a):
    return a == math.inf or a == -math.inf


@cuda.jit(device=True)
def power(a, b):
    return a ** b


# -- checks inside kernels ------------------------------------------------------

ERROR_ARGS = 8  # numbers an error record keeps (a check's numeric arguments, tuples flattened)


class ErrorRecord:
    """The record that kernels' checks write: `flag[0]` the number of the first check
    that failed (0 while none did), `args` its numeric arguments. `raise_first(checks)`
    raises that check's loopc error with the CPU message."""

    def __init__(self):
        self.flag = cuda.to_device(np.zeros(1, np.int64))
        self.args = cuda.to_device(np.zeros(ERROR_ARGS, np.float64))

    def raise_first(self, checks):
        which = int(self.flag.copy_to_host()[0])
        if which == 0:
            return
        error, message, layout = checks[which - 1]
        values = self.args.copy_to_host()
        raise globals()[error](message, *_rebuild(layout, values))


def _rebuild(layout, values):
    """The arguments of a check's message from the record's numbers: `layout` gives for
    each argument ('const', value), ('int', slot), ('float', slot) or ('tuple', slots)."""
    out = []
    for kind, where in layout:
        if kind == "const":
            out.append(where)
        elif kind == "int":
            out.append(int(values[where]))
        elif kind == "float":
            out.append(float(values[where]))
        else:
            out.append(tuple(int(values[k]) for k in where))
    return out


@cuda.jit(device=True)
def claim(flag, which):
    """Whether this thread's failed check `which` is the first (it then writes the args)."""
    return cuda.atomic.compare_and_swap(flag, 0, which) == 0


# -- library calls ----------------------------------------------------------------

@cuda.jit
def _fill1(out, value):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = value


@cuda.jit
def _fill2(out, value):
    j, i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = value


@cuda.jit
def _fill3(out, value):
    k, j, i = cuda.grid(3)
    if i < out.shape[0] and j < out.shape[1] and k < out.shape[2]:
        out[i, j, k] = value


_FILLS = {1: _fill1, 2: _fill2, 3: _fill3}


def fill(out, value):
    """Set every element of device array `out` (any strides) to a host value or a device
    scalar's value."""
    if out.size == 0:
        return out
    if is_device(value):
        value = item(value)  # a kernel argument is a host value
    if out.ndim == 0:
        out = out.reshape(1)
    if out.ndim > 3:
        for k in range(out.shape[0]):
            fill(out[k], value)
        return out
    g, b = grid(*reversed(out.shape))
    _FILLS[out.ndim][g, b](out, value)
    return out


def full(shape, value, dtype):
    return fill(empty(shape, dtype), value)


def zeros(shape, dtype):
    return full(shape, 0, dtype)


@cuda.jit
def _copy1(src, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = src[i]


@cuda.jit
def _copy2(src, out):
    j, i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = src[i, j]


@cuda.jit
def _copy3(src, out):
    k, j, i = cuda.grid(3)
    if i < out.shape[0] and j < out.shape[1] and k < out.shape[2]:
        out[i, j, k] = src[i, j, k]


_COPIES = {1: _copy1, 2: _copy2, 3: _copy3}


def copy_into(src, out):
    """out[...] = src, element by element (any strides, same shape; a dtype conversion too)."""
    if src.ndim == 0 or out.size == 0:
        return out
    if src.ndim > 3:
        for k in range(src.shape[0]):
            copy_into(src[k], out[k])
        return out
    g, b = grid(*reversed(out.shape))
    _COPIES[src.ndim][g, b](src, out)
    return out


def on_device(a):
    """`a` on the device: a host scalar (a 0-d input) as a device scalar."""
    return a if is_device(a) else to_device(np.asarray(a))


def copy(a):
    a = on_device(a)
    return copy_into(a, empty(a.shape, a.dtype))


def contiguous(a):
    a = on_device(a)
    return a if a.is_c_contiguous() else copy(a)


def astype(a, dtype):
    if not is_device(a):
        return to_device(np.asarray(a).astype(dtype))
    if a.dtype == np.dtype(dtype):
        return a
    return copy_into(a, empty(a.shape, dtype))


def reshape(a, *shape):
    shape = tuple(int(s) for s in shape)
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        shape = tuple(a.size // known if s == -1 and known else (0 if s == -1 else s) for s in shape)
    if not shape:
        shape = (1,)  # a 0-d result is a device scalar
    return contiguous(a).reshape(shape)


def expand_dims(a, axis):
    if not is_device(a):
        return to_device(np.expand_dims(np.asarray(a), axis))
    shape = list(a.shape)
    shape.insert(axis, 1)
    return contiguous(a).reshape(tuple(shape))


@cuda.jit
def _transpose2(src, out):
    j, i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = src[j, i]


def transpose(a, perm):
    """`a` with its axes permuted: a view for 2-d arrays (the device array's `.T`), else a
    copy, one launch per index of the new first axis."""
    perm = tuple(perm)
    if perm == tuple(range(a.ndim)):
        return a
    if a.ndim == 2:
        return a.T
    out = empty(tuple(a.shape[p] for p in perm), a.dtype)
    rest = [p for p in range(a.ndim) if p != perm[0]]
    inner = tuple(rest.index(p) for p in perm[1:])
    for k in range(out.shape[0]):  # out[k] is a at index k on axis perm[0], permuted
        index = [slice(None)] * a.ndim
        index[perm[0]] = k
        copy_into(transpose(a[tuple(index)], inner), out[k])
    return out


def concatenate(parts, axis):
    parts = [on_device(p) for p in parts]
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    out = empty(tuple(shape), parts[0].dtype)
    at = 0
    for p in parts:
        index = [slice(None)] * len(shape)
        index[axis] = slice(at, at + p.shape[axis])
        copy_into(p, out[tuple(index)])
        at += p.shape[axis]
    return out


def arange(start, stop, step, dtype):
    return cuda.to_device(np.arange(item(start), item(stop), item(step)).astype(dtype))


def eye(n, m, k, dtype):
    return cuda.to_device(np.eye(item(n), item(m), item(k), dtype))


def first(a):
    """The first element of a device array, as a device scalar (a view: device scalars
    are never written in place)."""
    return a.reshape(a.size)[0:1]


@cuda.jit
def _gather(a, idx, out):
    """out[i, j] = a[idx[i], j], a negative index counted from the end (checked before)."""
    j, i = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        k = idx[i]
        out[i, j] = a[k + a.shape[0] if k < 0 else k, j]


def take(a, idx):
    """a[idx] for an integer index array (or scalar) on axis 0: a row per index."""
    a = on_device(a)
    if not is_device(idx):
        k = int(idx)
        return a[k + a.shape[0] if k < 0 else k:][0:1].reshape(a.shape[1:] or (1,)) if a.ndim > 1 else \
            a[k + a.shape[0] if k < 0 else k:][0:1]
    shape = tuple(idx.shape) + tuple(a.shape[1:])
    rest = int(np.prod(a.shape[1:], dtype=np.int64))
    if idx.size == 0 or rest == 0:
        return empty(shape or (1,), a.dtype)
    flat_idx = contiguous(idx).reshape(idx.size)
    out = empty((idx.size, rest), a.dtype)
    if out.size:
        g, b = grid(rest, idx.size)
        _gather[g, b](contiguous(a).reshape((a.shape[0], rest)), flat_idx, out)
    return out.reshape(shape or (1,))


# -- dot: tiled shared-memory products ----------------------------------------------

@cuda.jit
def _matmul(a, b, out):
    """out = a @ b, one TILE x TILE block of `out` a block, through shared-memory tiles."""
    ta = cuda.shared.array((TILE, TILE), np.float64)
    tb = cuda.shared.array((TILE, TILE), np.float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    j = cuda.blockIdx.x * TILE + tx
    i = cuda.blockIdx.y * TILE + ty
    acc = 0.0
    for t in range((a.shape[1] + TILE - 1) // TILE):
        k = t * TILE
        ta[ty, tx] = a[i, k + tx] if i < a.shape[0] and k + tx < a.shape[1] else 0.0
        tb[ty, tx] = b[k + ty, j] if k + ty < b.shape[0] and j < b.shape[1] else 0.0
        cuda.syncthreads()
        for q in range(TILE):
            acc += ta[ty, q] * tb[q, tx]
        cuda.syncthreads()
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = acc


@cuda.jit
def _matvec(a, x, out):
    """out = a @ x, a thread a row."""
    i = cuda.grid(1)
    if i < out.shape[0]:
        acc = 0.0
        for k in range(a.shape[1]):
            acc += a[i, k] * x[k]
        out[i] = acc


@cuda.jit
def _vecmat(x, b, out):
    """out = x @ b, a thread a column (consecutive threads read consecutive elements)."""
    j = cuda.grid(1)
    if j < out.shape[0]:
        acc = 0.0
        for k in range(b.shape[0]):
            acc += x[k] * b[k, j]
        out[j] = acc


@cuda.jit
def _inner(x, y, out):
    """out[0] = x . y: per-thread partials, then a tree in shared memory (one block)."""
    part = cuda.shared.array(BLOCK, np.float64)
    t = cuda.threadIdx.x
    acc = 0.0
    for k in range(t, x.shape[0], BLOCK):
        acc += x[k] * y[k]
    part[t] = acc
    cuda.syncthreads()
    s = BLOCK // 2
    while s > 0:
        if t < s:
            part[t] += part[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        out[0] = part[0]


def dot_into(a, b, out):
    """out = a @ b for vectors and matrices (1-d and 2-d operands); a 0-d result in the
    1-element `out`. The products accumulate in float64 and are stored in out's dtype."""
    if a.ndim == 2 and b.ndim == 2:
        if out.size:
            g = (blocks(b.shape[1], TILE), blocks(a.shape[0], TILE))
            _matmul[g, (TILE, TILE)](a, b, out)
    elif a.ndim == 2:
        _matvec[blocks(a.shape[0], BLOCK), BLOCK](a, b, out)
    elif b.ndim == 2:
        _vecmat[blocks(b.shape[1], BLOCK), BLOCK](a, b, out)
    else:
        _inner[1, BLOCK](a, b, out)
    return out


def dot(a, b):
    a, b = on_device(a), on_device(b)
    shape = tuple(a.shape[:-1]) + tuple(b.shape[1:] if b.ndim == 2 else ())
    return dot_into(a, b, empty(shape or (1,), np.result_type(a.dtype, b.dtype)))
