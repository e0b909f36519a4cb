"""Global options, settable in code (`loopc.config.floatX = 'float32'`) or, like
THEANO_FLAGS, through the environment: `LOOPC_FLAGS="mode=PY,floatX=float32"`.

Unknown names under `config.warn` are accepted and ignored (Theano scripts set
`config.warn.subtensor_merge_bug = False`).
"""
import os

from .errors import LoopcValueError

# Mode names, Theano's included, and the backend each one runs.
MODES = {
    "NUMBA": "NUMBA", "FAST_RUN": "NUMBA", "PY": "PY", "FAST_COMPILE": "PY",
    "DEBUG": "DEBUG", "DebugMode": "DEBUG", "DEBUG_MODE": "DEBUG", "CUDA": "CUDA",
    "REFERENCE": "REFERENCE",
}

_CHOICES = {
    "mode": tuple(MODES),
    "floatX": ("float64", "float32"),
    "compute_test_value": ("off", "ignore", "warn", "raise"),
    "optimizer": ("fast_run", "None", "fast_compile"),
    "math": ("vector", "libm"),
    "verify": (False, True),
    "cache": (True, False),
    "print_stages": (False, True),
    "profile": (False, True),  # profile every function, print the summaries at exit
}


class _Warn:
    """Theano's `config.warn.*`: a permissive namespace of booleans."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return False


class Config:
    def __init__(self):
        object.__setattr__(self, "_values", {
            "mode": "NUMBA",
            "floatX": "float64",
            "compute_test_value": "off",
            "optimizer": "fast_run",
            "math": "vector",
            "verify": False,
            "cache": True,
            "print_stages": False,
            "profile": False,
        })
        object.__setattr__(self, "warn", _Warn())

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"loopc.config has no option {name!r}; known: {sorted(values)}")

    def __setattr__(self, name, value):
        if name == "warn":
            raise AttributeError("set options under config.warn one by one")
        if name not in self._values:
            raise LoopcValueError("loopc.config has no option %r; known: %s", name, sorted(self._values))
        choices = _CHOICES[name]
        if isinstance(choices, tuple) and isinstance(choices[0], bool):
            value = _as_bool(name, value)
        elif choices is not None and value not in choices:
            raise LoopcValueError("config.%s expects one of %s, got %r", name, choices, value)
        self._values[name] = value

    def load_flags(self, flags):
        """Apply a `name=value,name=value` string (the LOOPC_FLAGS syntax)."""
        for item in filter(None, (s.strip() for s in flags.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise LoopcValueError("LOOPC_FLAGS item %r is not name=value", item)
            name = name.strip()
            if name.startswith("warn."):
                continue
            setattr(self, name, value.strip())


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise LoopcValueError("config.%s expects a boolean, got %r", name, value)


config = Config()
config.load_flags(os.environ.get("LOOPC_FLAGS", ""))
