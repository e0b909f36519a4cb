"""The run-time support generated code calls (`loopc.runtime`): every call has its
own random-state table, so functions that draw can be called from several threads."""
import sys
import threading

import numpy as np
import pytest

import loopc
import loopc.tensor as T
from loopc.tensor.shared_randomstreams import RandomStreams

CALLS = 200


def drawing_functions(mode):
    """Two functions that draw: one from a state that a scan and its outer graph both
    read (so a call copies it to a new slot), one from two states of another stream."""
    first = RandomStreams(11)
    d = first.uniform(size=(3,))
    steps, updates = loopc.scan(lambda: d * 2, n_steps=3)
    f = loopc.function([], [steps, d], updates=updates, mode=mode)
    second = RandomStreams(29)
    x = T.dvector("x")
    g = loopc.function([x], second.normal(size=(4,)) + x * second.uniform(size=(4,)), mode=mode)
    return (first, f, ()), (second, g, (np.arange(4.0),))


def record(stream, fn, args, seed):
    stream.seed(seed)
    return [np.concatenate([np.ravel(o) for o in (out if isinstance(out, list) else [out])])
            for out in (fn(*args) for _ in range(CALLS))]


@pytest.mark.parametrize("mode", ["PY", "NUMBA"])
def test_two_threads_drawing_get_the_numbers_of_a_sequential_run(mode):
    functions = drawing_functions(mode)
    want = [record(*fn, seed=5) for fn in functions]
    got = [None, None]
    start = threading.Barrier(2)

    def worker(i):
        start.wait()
        got[i] = record(*functions[i], seed=5)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    for i in range(2):
        assert got[i] is not None, f"thread {i} failed"
        for call, (a, b) in enumerate(zip(got[i], want[i])):
            np.testing.assert_array_equal(a, b, err_msg=f"function {i}, call {call}")
