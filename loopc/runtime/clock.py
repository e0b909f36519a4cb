"""`profile_clock(buf)`: the seconds of a monotonic clock, for the timing marks of
profiled functions (`loopc.loops.profile`), in plain Python and in jitted code.

Numba has no `time.perf_counter` in nopython code, so jitted code calls POSIX's
`clock_gettime(CLOCK_MONOTONIC)` itself, as an external C function (about 30 ns,
no object mode, and Numba still caches the code): `buf`, an int64 array of 2,
receives the seconds and nanoseconds. Plain Python (PY mode) reads the same
clock through `time.clock_gettime`. The same generated text calls
`profile_clock` in both modes: jitted code calling it is overloaded, as
vecmath's kernels are. Only a profiled function's module imports this one (it
loads Numba when Numba is there). `AVAILABLE` is False where there is no
clock_gettime (Windows).
"""
import time

AVAILABLE = hasattr(time, "clock_gettime") and hasattr(time, "CLOCK_MONOTONIC")
MONOTONIC = time.CLOCK_MONOTONIC if AVAILABLE else 0


def profile_clock(buf):
    return time.clock_gettime(MONOTONIC)


try:
    from numba import types
    from numba.extending import overload
except ImportError:  # PY mode without Numba
    overload = None

if overload is not None and AVAILABLE:
    _clock_gettime = types.ExternalFunction("clock_gettime", types.intc(types.intc, types.voidptr))

    @overload(profile_clock)
    def _jitted_clock(buf):
        def clock(buf):
            _clock_gettime(MONOTONIC, buf.ctypes)
            return buf[0] + buf[1] * 1e-9
        return clock
