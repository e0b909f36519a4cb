"""Turn a graph into a callable: render the source, write it to the disk cache,
import it, and wrap it in `numba.njit` (NUMBA) or call it as is (PY).

The cache file is named by a hash of everything that decides the compiled code:
the source, the backend and its `njit` options, the versions of Numba, llvmlite
and NumPy, and the sources of the runtime and vecmath modules the generated code
calls. Numba's
own cache is keyed by the file (path and timestamp) and the argument types only,
so a change of any of these must give a new file, never a stale hit. The same
graph in a new process finds both the module and Numba's compiled code on disk;
in the same process it finds the compiled function itself.

What to compile is the caller's choice (`Options`, which the frontend fills from
`loopc.config`): layer 4 reads no configuration and imports nothing above `loopc.loops`.
"""
import functools
import hashlib
import importlib.util
import inspect
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..loops import compile_loops
from ..runtime import clock, vecmath
from .pyprinter import print_function

# Options of `numba.njit` that change the compiled code (`cache` does not).
NJIT_OPTIONS = {"error_model": "numpy"}

_MODULES = {}  # cache key -> imported module
_DISPATCHERS = {}  # (cache key, Options.cache) -> numba dispatcher, shared within the process


@dataclass(frozen=True)
class Options:
    """How to compile: `math` 'vector' (vecmath's kernels) or 'libm'; `optimize` runs
    the loop passes; `verify` checks the loop IR after each stage; `cache` keeps
    Numba's compiled code on disk; `profile` adds timing marks (`loops.profile`)."""

    math: str = "vector"
    optimize: bool = True
    verify: bool = False
    cache: bool = True
    profile: bool = False


def cache_dir():
    path = os.environ.get("LOOPC_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "loopc")
    os.makedirs(path, exist_ok=True)
    return path


@functools.cache
def _toolchain():
    """What else the compiled code depends on: versions and the runtime's source."""
    import llvmlite
    import numba
    sources = hashlib.sha256()
    for module in (runtime, vecmath, clock):  # vecmath's kernels and the clock are inlined into callers
        with open(module.__file__, "rb") as f:
            sources.update(f.read())
    return (f"numba {numba.__version__} llvmlite {llvmlite.__version__} numpy {np.__version__} "
            f"runtime {sources.hexdigest()}")


def cache_key(source, backend):
    """The hash naming the cache file of `source` compiled for `backend`."""
    options = sorted(NJIT_OPTIONS.items()) if backend == "NUMBA" else []
    text = f"{backend}\n{options!r}\n{_toolchain()}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load_source(source, key):
    """Import `source` as a module stored in the cache directory (written once) under
    the name `key`."""
    if key in _MODULES:
        return _MODULES[key]
    name = f"loopc_gen_{key}"
    path = os.path.join(cache_dir(), name + ".py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)  # atomic: concurrent processes never see half a file
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _MODULES[key] = module
    return module


def loop_stages(graph, name="fn", options=Options(), timings=None):
    """The loop-IR stages of `graph`: [(stage name, function), ...]; `timings` (a dict)
    gets the seconds of each."""
    return compile_loops(graph, name, math=options.math, optimize=options.optimize, check=options.verify,
                         profile=options.profile, timings=timings)


def render_function(graph, name="fn", options=Options()):
    """The module source computing `graph` as function `name`."""
    return print_function(loop_stages(graph, name, options)[-1][1])


class Kernel:
    """The compiled form of one graph in one backend."""

    def __init__(self, graph, backend, options=Options()):
        self.graph = graph
        self.backend = backend
        self.timings = {}  # stage -> seconds: lowering, each loop pass, printing, loading
        self.loops = loop_stages(graph, "fn", options, self.timings)
        start = time.perf_counter()
        self.source = _printer(backend)(self.loops[-1][1])
        self.timings["print"] = time.perf_counter() - start
        key = cache_key(self.source, backend)
        start = time.perf_counter()
        module = load_source(self.source, key)
        self.timings["load"] = time.perf_counter() - start
        if backend == "CUDA":
            self.fn = module.fn
            self.run = self._run_cuda
            return
        if backend != "NUMBA":
            self.fn = module.fn
            self.run = self._run_py
            return
        if (key, options.cache) not in _DISPATCHERS:
            import numba
            jit = numba.njit(cache=options.cache, **NJIT_OPTIONS)
            jit_host_calls(module, jit)
            _DISPATCHERS[key, options.cache] = _quiet_compiles(jit(module.fn))
        self.fn = _DISPATCHERS[key, options.cache]
        self.run = self.fn  # what a call runs: the dispatcher itself, nothing around it

    def __call__(self, *values):
        return self.run(*values)

    @property
    def numba_seconds(self):
        """The seconds Numba has spent compiling this code in this process (0 in PY)."""
        return getattr(self.fn, "loopc_compile_seconds", 0.0)

    def _run_cuda(self, *values):
        """The host function on device copies of the array arguments (device arrays and
        `__cuda_array_interface__` objects pass through); its results as it gives them
        (device arrays and device scalars: the caller copies out what it wants on the host)."""
        from ..runtime import cuda as cu
        with np.errstate(all="ignore"):  # the host's scalar math, as PY mode's
            return self.fn(*(cu.to_device(v) if isinstance(v, np.ndarray) or cu.is_device(v) else v
                             for v in values))

    def _run_py(self, *values):
        with np.errstate(all="ignore"):
            return self.fn(*values)


def _printer(backend):
    if backend == "CUDA":
        from .cudaprinter import print_cuda_function  # numba.cuda loads only for CUDA mode
        return print_cuda_function
    return print_function


def _quiet_compiles(dispatcher):
    """`dispatcher`, silent about Numba's performance warnings (np.dot of a
    non-contiguous array), which come while it compiles, so that a call costs no
    warning filter; its compiles' seconds add up in `loopc_compile_seconds`. Numba's
    dispatcher compiles for new argument types through its attribute `_compile_for_args`."""
    compile_for_args = dispatcher._compile_for_args
    dispatcher.loopc_compile_seconds = 0.0

    def quiet(*args, **kwargs):
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=_numba_performance_warning())
                return compile_for_args(*args, **kwargs)
        finally:
            dispatcher.loopc_compile_seconds += time.perf_counter() - start
    dispatcher._compile_for_args = quiet
    return dispatcher


def jit_host_calls(module, jit):
    """Replace each function of `module` marked `@host_call` by its `jit` form, which the
    kernel then calls (a plain Python function is no callee for jitted code)."""
    for name, value in list(vars(module).items()):
        if inspect.isfunction(value) and getattr(value, "host_call", False):
            setattr(module, name, jit(value))


def _numba_performance_warning():
    from numba.core.errors import NumbaPerformanceWarning
    return NumbaPerformanceWarning


def compile_graph(graph, backend, options=Options()):
    return Kernel(graph, backend, options)
