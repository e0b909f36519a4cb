"""What generated code calls at run time, in both the PY and NUMBA modes.

Layer 0: imports NumPy and `loopc.errors`, nothing else of loopc, and not Numba
either (generated code takes `objmode` from Numba itself), so that the IR can
use `draw` and `format_print` and `import loopc` stays free of Numba.

Random draws and printing run in Numba's object mode (`objmode` blocks): they
reach Python objects here. Generated code refers to random states by slot
number: an index into the random-state table of the call that is running (the
caller puts the states back when a call fails: `loopc.runtime.snapshot`). A
draw advances its slot in place; a state that two nodes read is copied to a new
slot first (`copy_rng`), so every reader sees the state it was given.

The table belongs to the call, never to the module: `rng_slots(states)` makes a
new table for the duration of one call and keeps it in thread-local storage.
Thread-local rather than an argument of the kernel because a kernel compiled
with `numba.njit` cannot take or pass on a list of `RandomState` objects (its
slots are plain integers), while its `objmode` blocks run in the calling thread
and find that thread's table; slot numbers and generated code stay as they are.
Two threads calling functions that draw thus never see each other's states, and
a call made while another one is running in the same thread (the previous table
is restored when it ends) neither.
"""
import contextlib
import copy
import threading

import numpy as np

from ..errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ScanError, ShapeError  # noqa: F401

RANDOM_DISTS = {
    # name -> (number of parameter inputs, NumPy RandomState method)
    "binomial": (2, "binomial"),     # n, p
    "uniform": (2, "uniform"),       # low, high
    "normal": (2, "normal"),         # avg, std
    "random_integers": (2, "randint"),  # low, high (inclusive): randint(low, high + 1), the same stream
    "choice": (1, "choice"),
    "permutation": (1, "permutation"),
}

_call = threading.local()  # .slots: the random states of the call running in this thread


@contextlib.contextmanager
def rng_slots(states):
    """Run one call with `states` in slots 0, 1, ...; yields the table, which ends
    with the copies the call made."""
    table = list(states)
    previous = getattr(_call, "slots", None)
    _call.slots = table
    try:
        yield table
    finally:
        _call.slots = previous


def host_call(fn):
    """Marks a generated function holding one host call (its `objmode` block): NUMBA
    mode compiles it with `numba.njit` as it does the kernel calling it, PY mode
    calls it as it is."""
    fn.host_call = True
    return fn


def draw_random(slot, dist, dtype, size, params):
    return draw(_call.slots[slot], dist, dtype, size, params)


def copy_rng(slot):
    """A new slot holding a copy of the state in `slot`."""
    slots = _call.slots
    slots.append(copy.deepcopy(slots[slot]))
    return len(slots) - 1


def draw(rng, dist, dtype, size, params):
    """One draw, exactly as Theano's RandomStreams makes it from a RandomState. An empty
    size with parameters that are arrays draws their broadcast shape (NumPy's size=None)."""
    params = [np.asarray(p) for p in params]
    size = tuple(int(s) for s in size)
    if not size and any(p.ndim for p in params):
        size = None
    _check_random_shapes(dist, size, [p.shape for p in params])
    method = getattr(rng, RANDOM_DISTS[dist][1])
    if dist == "binomial":
        params = [params[0].astype("int64"), params[1]]
    if dist == "random_integers":
        params = [params[0], params[1] + 1]
    try:
        sample = method(*params, size=size)
    except ValueError as exc:  # a parameter out of its domain (p > 1, std < 0, ...)
        raise LoopcValueError("random_%s: %s (parameters %s)", dist, exc,
                              ", ".join(np.array2string(p, threshold=6) for p in params)) from None
    return np.asarray(sample).astype(dtype)


def _check_random_shapes(dist, size, shapes):
    """The parameters broadcast together, and to `size` when one is given."""
    try:
        shape = np.broadcast_shapes(*shapes)
        if size is not None and np.broadcast_shapes(shape, size) != size:
            raise ValueError
    except ValueError:
        raise ShapeError("random_%s: parameters of shapes %s cannot be drawn %s", dist,
                         ", ".join(map(str, shapes)),
                         "together" if size is None else f"with size {size}") from None


def format_print(message, attrs, value):
    """What `Print` prints: `message attr = value ...`."""
    value = np.asarray(value)
    parts = [message]
    for attr in attrs:
        got = getattr(value, attr)
        parts.append(f"{attr} = {got() if callable(got) else got}")
    return " ".join(parts)


def print_value(message, attrs, value):
    print(format_print(message, attrs, value))
