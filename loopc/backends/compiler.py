"""Turn a graph into a callable: render the source, write it to the disk cache,
import it, and wrap it in `numba.njit` (NUMBA) or call it as is (PY).

The cache file is named by the hash of its source, so the same graph in a new
process finds both the module and Numba's compiled code already on disk.
"""
import hashlib
import importlib.util
import os
import sys
import warnings

import numpy as np

from ..config import config
from .pysource import render_function

_MODULES = {}  # source hash -> imported module


def cache_dir():
    path = os.environ.get("LOOPC_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "loopc")
    os.makedirs(path, exist_ok=True)
    return path


def load_source(source):
    """Import `source` as a module stored in the cache directory (written once)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    if digest in _MODULES:
        return _MODULES[digest]
    name = f"loopc_gen_{digest}"
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
    _MODULES[digest] = module
    return module


class Kernel:
    """The compiled form of one graph in one backend."""

    def __init__(self, graph, backend):
        self.graph = graph
        self.backend = backend
        self.source = render_function(graph, name="fn")
        module = load_source(self.source)
        if backend == "NUMBA":
            import numba
            self.fn = numba.njit(cache=config.cache, error_model="numpy")(module.fn)
        else:
            self.fn = module.fn

    def __call__(self, *values):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=_numba_performance_warning())
            if self.backend == "PY":
                with np.errstate(all="ignore"):
                    return self.fn(*values)
            return self.fn(*values)


def _numba_performance_warning():
    from numba.core.errors import NumbaPerformanceWarning
    return NumbaPerformanceWarning


def compile_graph(graph, backend):
    return Kernel(graph, backend)
