"""What generated code calls at run time, in both the PY and NUMBA modes.

Random draws and printing run in Numba's object mode (`objmode` blocks): they
reach Python objects here. The random states a call uses are per-call copies
placed in `RNG_SLOTS` by the function wrapper; generated code refers to them
by slot number, so a call that fails leaves the users' states untouched.
A draw advances its slot in place; a state that two nodes read is copied to a
new slot first (`copy_rng`), so every reader sees the state it was given.
"""
import copy

from numba import objmode  # noqa: F401  (re-exported for generated modules)

from ..errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ScanError, ShapeError  # noqa: F401
from ..ir.ops import draw, format_print

RNG_SLOTS = []


def draw_random(slot, dist, dtype, size, params):
    return draw(RNG_SLOTS[slot], dist, dtype, size, params)


def copy_rng(slot):
    """A new slot holding a copy of the state in `slot`."""
    RNG_SLOTS.append(copy.deepcopy(RNG_SLOTS[slot]))
    return len(RNG_SLOTS) - 1


def print_value(message, attrs, value):
    print(format_print(message, attrs, value))
