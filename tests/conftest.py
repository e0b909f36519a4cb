"""Fixtures shared by loopc's tests."""
import pytest

import loopc


@pytest.fixture(params=["PY", "NUMBA"])
def mode(request):
    """Run a test once per backend: sets `loopc.config.mode`, restores it after."""
    saved = loopc.config.mode
    loopc.config.mode = request.param
    yield request.param
    loopc.config.mode = saved


# Every test verifies the IR after each pass (the `verify` option), and compiled
# code goes to a cache directory of the test session's own.
loopc.config.verify = True
