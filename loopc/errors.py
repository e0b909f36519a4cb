"""loopc's exception types.

Every error loopc raises on bad input is a `LoopcError` and also a subclass of
the matching built-in (`TypeError`, `ValueError`, `IndexError`), so code that
catches the built-in keeps working. Messages name the variable, what was
expected and what came.
"""


class LoopcError(Exception):
    """Base class of every loopc error."""

    def __init__(self, message, *args):
        # Generated code raises with a %-format and the run-time values, so that
        # Numba can carry them; the message is formatted here, in Python.
        super().__init__(message % args if args else message)


class LoopcTypeError(LoopcError, TypeError):
    """A value or variable has the wrong dtype, ndim or broadcast pattern."""


class LoopcValueError(LoopcError, ValueError):
    """A value is out of the allowed range (negative n_steps, bad option, ...)."""


class ShapeError(LoopcValueError):
    """Shapes do not agree (elementwise, dot, reshape, ...)."""


class ScanError(LoopcValueError):
    """A scan was given inconsistent arguments (taps, initial rows, lengths)."""


class LoopcIndexError(LoopcError, IndexError):
    """An index is out of bounds."""


class UnusedInputError(LoopcValueError):
    """A function input is not used by any output or update."""


class UnsupportedError(LoopcError, NotImplementedError):
    """An op or option that the chosen backend does not support."""


class DebugModeError(LoopcError, AssertionError):
    """DEBUG mode found a difference between the PY and NUMBA results."""
