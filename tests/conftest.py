"""Fixtures shared by loopc's tests."""
import atexit
import os
import shutil
import tempfile

# Compiled code goes to a cache directory of the test session's own, made fresh here
# (before loopc compiles anything): a warm user cache would hide code that only a cold
# compile gets wrong. LOOPC_TEST_CACHE_DIR names a directory to keep and reuse instead.
if os.environ.get("LOOPC_TEST_CACHE_DIR"):
    os.environ["LOOPC_CACHE_DIR"] = os.environ["LOOPC_TEST_CACHE_DIR"]
else:
    os.environ["LOOPC_CACHE_DIR"] = tempfile.mkdtemp(prefix="loopc-tests-")
    atexit.register(shutil.rmtree, os.environ["LOOPC_CACHE_DIR"], ignore_errors=True)

# CUDA mode's tests run on numba's simulator unless LOOPC_CUDA_HARDWARE=1 (set before
# anything imports numba.cuda, which reads it once).
if os.environ.get("LOOPC_CUDA_HARDWARE") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import pytest  # noqa: E402
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

import loopc  # noqa: E402


def cuda_available():
    """Whether numba.cuda works here (the simulator, or a GPU): why not, else None."""
    try:
        from numba import cuda
        return None if cuda.is_available() else "numba.cuda finds no GPU (and the simulator is off)"
    except Exception as exc:  # numba without its cuda package, a broken driver
        return f"numba.cuda is unavailable: {exc}"


def use_mode(name):
    """Set `loopc.config.mode` to `name` for one test (a CUDA test skips without numba.cuda)."""
    if name == "CUDA" and cuda_available():
        pytest.skip(cuda_available())
    saved = loopc.config.mode
    loopc.config.mode = name
    return saved


@pytest.fixture(params=os.environ.get("LOOPC_TEST_MODES", "PY,NUMBA").split(","))
def mode(request):
    """Run a test once per backend: sets `loopc.config.mode`, restores it after.
    LOOPC_TEST_MODES (comma-separated, default PY,NUMBA) names others, e.g. CUDA."""
    if request.param == "CUDA" and cuda_available():
        pytest.skip(cuda_available())
    saved = loopc.config.mode
    loopc.config.mode = request.param
    yield request.param
    loopc.config.mode = saved


@pytest.fixture(params=["fast_run", "None"])
def optimizer(request):
    """Run a test with the optimizer on and off: sets `loopc.config.optimizer`, restores it after."""
    saved = loopc.config.optimizer
    loopc.config.optimizer = request.param
    yield request.param
    loopc.config.optimizer = saved


@pytest.fixture
def float64():
    """Pin `config.floatX` to float64 (Theano's default), restoring it after."""
    saved = loopc.config.floatX
    loopc.config.floatX = "float64"
    yield
    loopc.config.floatX = saved


# Every test verifies the IR after each pass (the `verify` option).
loopc.config.verify = True


# Hypothesis profiles, chosen by LOOPC_HYPOTHESIS_PROFILE: `ci` (the default) is
# bounded and derandomized, so CI runs the same examples every time in well under
# 3 minutes; `long` draws fresh examples, thousands of them (tests/test_differential.py
# scales its example counts by profile too).
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# `mutants` (tools/mutants.py): the ci examples, without shrinking a failure (each shrink step
# compiles again; a mutant only needs to know that something failed).
settings.register_profile("mutants", parent=settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("LOOPC_HYPOTHESIS_PROFILE", "ci"))
