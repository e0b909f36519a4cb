"""Acceptance tests: every example of Theano's loop tutorial (shared/seeds/
theano-loop-tutorial.txt), inlined with only the imports changed and each
`print` replaced by capturing the value, checked against the numbers the
document prints (and against the document's own NumPy comparison, where it
has one). Each runs in PY, NUMBA and CUDA mode through the `mode` fixture.

The last tests run every script in examples/ as a user would, in PY mode only
to keep compile time down (the NUMBA path is covered by the inlined copies).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy
import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from conftest import use_mode

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLES = [
    "accumulate", "binomial_noise", "elementwise_tanh", "jacobian", "norms_cols",
    "norms_rows", "polynomial", "power", "rnn", "trace", "two_taps",
]
# Examples beyond the seed document, tested where their feature is (rnn_train: tests/test_scan_grad.py).
OTHER_EXAMPLES = ["rnn_train"]


@pytest.fixture(params=["PY", "NUMBA", "CUDA"])
def mode(request):
    """The seeds run in every backend, CUDA (on numba's simulator in CI) included."""
    saved = use_mode(request.param)
    yield request.param
    theano.config.mode = saved


# The document's numbers were printed with Theano's default floatX.
pytestmark = pytest.mark.usefixtures("float64")


def check(got, printed, numpy_reference=None):
    np.testing.assert_allclose(got, printed, rtol=1e-6, atol=1e-7)
    if numpy_reference is not None:
        np.testing.assert_allclose(got, numpy_reference, rtol=1e-6, atol=1e-7)


def test_elementwise_tanh(mode):
    # defining the tensor variables
    X = T.matrix("X")
    W = T.matrix("W")
    b_sym = T.vector("b_sym")

    results, updates = theano.scan(lambda v: T.tanh(T.dot(v, W) + b_sym), sequences=X)
    compute_elementwise = theano.function(inputs=[X, W, b_sym], outputs=[results])

    # test values
    x = np.eye(2, dtype=theano.config.floatX)
    w = np.ones((2, 2), dtype=theano.config.floatX)
    b = np.ones((2), dtype=theano.config.floatX)
    b[1] = 2

    got = compute_elementwise(x, w, b)[0]

    # comparison with numpy
    reference = np.tanh(x.dot(w) + b)
    check(got, [[0.96402758, 0.99505475],
                [0.96402758, 0.99505475]], reference)


def test_rnn(mode):
    # define tensor variables
    X = T.vector("X")
    W = T.matrix("W")
    b_sym = T.vector("b_sym")
    U = T.matrix("U")
    Y = T.matrix("Y")
    V = T.matrix("V")
    P = T.matrix("P")

    results, updates = theano.scan(lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y, U) + T.dot(p, V)),
                                   sequences=[Y, P[::-1]], outputs_info=[X])
    compute_seq = theano.function(inputs=[X, W, Y, U, P, V], outputs=[results])

    # test values
    x = np.zeros((2), dtype=theano.config.floatX)
    x[1] = 1
    w = np.ones((2, 2), dtype=theano.config.floatX)
    y = np.ones((5, 2), dtype=theano.config.floatX)
    y[0, :] = -3
    u = np.ones((2, 2), dtype=theano.config.floatX)
    p = np.ones((5, 2), dtype=theano.config.floatX)
    p[0, :] = 3
    v = np.ones((2, 2), dtype=theano.config.floatX)

    got = compute_seq(x, w, y, u, p, v)[0]

    # comparison with numpy
    x_res = np.zeros((5, 2), dtype=theano.config.floatX)
    x_res[0] = np.tanh(x.dot(w) + y[0].dot(u) + p[4].dot(v))
    for i in range(1, 5):
        x_res[i] = np.tanh(x_res[i - 1].dot(w) + y[i].dot(u) + p[4-i].dot(v))
    check(got, [[-0.99505475, -0.99505475],
                [0.96471973, 0.96471973],
                [0.99998585, 0.99998585],
                [0.99998771, 0.99998771],
                [1., 1.]], x_res)


def test_norms_rows(mode):
    # define tensor variable
    X = T.matrix("X")
    results, updates = theano.scan(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X])
    compute_norm_lines = theano.function(inputs=[X], outputs=[results])

    # test value
    x = np.diag(np.arange(1, 6, dtype=theano.config.floatX), 1)
    got = compute_norm_lines(x)[0]

    # comparison with numpy
    check(got, [1., 2., 3., 4., 5., 0.], np.sqrt((x ** 2).sum(1)))


def test_norms_cols(mode):
    # define tensor variable
    X = T.matrix("X")
    results, updates = theano.scan(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X.T])
    compute_norm_cols = theano.function(inputs=[X], outputs=[results])

    # test value
    x = np.diag(np.arange(1, 6, dtype=theano.config.floatX), 1)
    got = compute_norm_cols(x)[0]

    # comparison with numpy
    check(got, [0., 1., 2., 3., 4., 5.], np.sqrt((x ** 2).sum(0)))


def test_trace(mode):
    floatX = "float32"

    # define tensor variable
    X = T.matrix("X")
    results, updates = theano.scan(lambda i, j, t_f: T.cast(X[i, j] + t_f, floatX),
                                   sequences=[T.arange(X.shape[0]), T.arange(X.shape[1])],
                                   outputs_info=np.asarray(0., dtype=floatX))
    result = results[-1]
    compute_trace = theano.function(inputs=[X], outputs=[result])

    # test value
    x = np.eye(5, dtype=theano.config.floatX)
    x[0] = np.arange(5, dtype=theano.config.floatX)
    got = compute_trace(x)[0]

    # comparison with numpy
    check(got, 4.0, np.diagonal(x).sum())
    # The state is the local floatX (float32), whatever config.floatX is.
    assert got.dtype == np.float32


def test_two_taps(mode):
    # define tensor variables
    X = T.matrix("X")
    W = T.matrix("W")
    b_sym = T.vector("b_sym")
    U = T.matrix("U")
    V = T.matrix("V")
    n_sym = T.iscalar("n_sym")

    results, updates = theano.scan(lambda x_tm2, x_tm1: T.dot(x_tm2, U) + T.dot(x_tm1, V) + T.tanh(T.dot(x_tm1, W) + b_sym),
                                   n_steps=n_sym, outputs_info=[dict(initial=X, taps=[-2, -1])])
    compute_seq2 = theano.function(inputs=[X, U, V, W, b_sym, n_sym], outputs=[results])

    # test values
    x = np.zeros((2, 2), dtype=theano.config.floatX)  # the initial value must be able to return x[-2]
    x[1, 1] = 1
    w = 0.5 * np.ones((2, 2), dtype=theano.config.floatX)
    u = 0.5 * (np.ones((2, 2), dtype=theano.config.floatX) - np.eye(2, dtype=theano.config.floatX))
    v = 0.5 * np.ones((2, 2), dtype=theano.config.floatX)
    n = 10
    b = np.ones((2), dtype=theano.config.floatX)

    got = compute_seq2(x, u, v, w, b, n)

    # comparison with numpy
    x_res = np.zeros((10, 2))
    x_res[0] = x[0].dot(u) + x[1].dot(v) + np.tanh(x[1].dot(w) + b)
    x_res[1] = x[1].dot(u) + x_res[0].dot(v) + np.tanh(x_res[0].dot(w) + b)
    x_res[2] = x_res[0].dot(u) + x_res[1].dot(v) + np.tanh(x_res[1].dot(w) + b)
    for i in range(2, 10):
        x_res[i] = (x_res[i - 2].dot(u) + x_res[i - 1].dot(v) +
                    np.tanh(x_res[i - 1].dot(w) + b))

    # The document prints the list the function returns: [array(...)].
    assert isinstance(got, list) and len(got) == 1
    check(got[0], [[1.40514825, 1.40514825],
                   [2.88898899, 2.38898899],
                   [4.34018291, 4.34018291],
                   [6.53463142, 6.78463142],
                   [9.82972243, 9.82972243],
                   [14.22203814, 14.09703814],
                   [20.07439936, 20.07439936],
                   [28.12291843, 28.18541843],
                   [39.1913681, 39.1913681],
                   [54.28407732, 54.25282732]], x_res)


def test_jacobian(mode):
    # define tensor variables
    v = T.vector()
    A = T.matrix()
    y = T.tanh(T.dot(v, A))
    results, updates = theano.scan(lambda i: T.grad(y[i], v), sequences=[T.arange(y.shape[0])])
    compute_jac_t = theano.function([A, v], [results], allow_input_downcast=True)  # shape (d_out, d_in)

    # test values
    x = np.eye(5, dtype=theano.config.floatX)[0]
    w = np.eye(5, 3, dtype=theano.config.floatX)
    w[2] = np.ones((3), dtype=theano.config.floatX)
    got = compute_jac_t(w, x)[0]

    # compare with numpy
    reference = ((1 - np.tanh(x.dot(w)) ** 2) * w).T
    check(got, [[0.41997434, 0., 0.41997434, 0., 0.],
                [0., 1., 1., 0., 0.],
                [0., 0., 1., 0., 0.]], reference)


def test_accumulate(mode):
    # define shared variables
    k = theano.shared(0)
    n_sym = T.iscalar("n_sym")

    results, updates = theano.scan(lambda:{k:(k + 1)}, n_steps=n_sym)
    accumulator = theano.function([n_sym], [], updates=updates, allow_input_downcast=True)

    before = k.get_value()
    outputs = accumulator(5)
    after = k.get_value()

    assert before == 0
    assert outputs == []
    assert after == 5


def test_binomial_noise(mode):
    # define tensor variables
    X = T.matrix("X")
    W = T.matrix("W")
    b_sym = T.vector("b_sym")

    # define shared random stream
    trng = T.shared_randomstreams.RandomStreams(1234)
    d=trng.binomial(size=W[1].shape)

    results, updates = theano.scan(lambda v: T.tanh(T.dot(v, W) + b_sym) * d, sequences=X)
    compute_with_bnoise = theano.function(inputs=[X, W, b_sym], outputs=[results],
                                          updates=updates, allow_input_downcast=True)
    x = np.eye(10, 2, dtype=theano.config.floatX)
    w = np.ones((2, 2), dtype=theano.config.floatX)
    b = np.ones((2), dtype=theano.config.floatX)

    got = compute_with_bnoise(x, w, b)

    # d is redrawn at every step: this is Theano's exact stream for seed 1234.
    assert isinstance(got, list) and len(got) == 1
    check(got[0], [[0.96402758, 0.],
                   [0., 0.96402758],
                   [0., 0.],
                   [0.76159416, 0.76159416],
                   [0.76159416, 0.],
                   [0., 0.76159416],
                   [0., 0.76159416],
                   [0., 0.76159416],
                   [0., 0.],
                   [0.76159416, 0.76159416]])


def test_power(mode):
    theano.config.warn.subtensor_merge_bug = False

    k = T.iscalar("k")
    A = T.vector("A")

    def inner_fct(prior_result, B):
        return prior_result * B

    # Symbolic description of the result
    result, updates = theano.scan(fn=inner_fct,
                                  outputs_info=T.ones_like(A),
                                  non_sequences=A, n_steps=k)

    # Scan has provided us with A ** 1 through A ** k.  Keep only the last
    # value. Scan notices this and does not waste memory saving them.
    final_result = result[-1]

    power = theano.function(inputs=[A, k], outputs=final_result,
                            updates=updates)

    got = power(range(10), 2)
    check(got, [0., 1., 4., 9., 16., 25., 36., 49., 64., 81.])


def test_polynomial(mode):
    theano.config.warn.subtensor_merge_bug = False

    coefficients = theano.tensor.vector("coefficients")
    x = T.scalar("x")
    max_coefficients_supported = 10000

    # Generate the components of the polynomial
    full_range=theano.tensor.arange(max_coefficients_supported)
    components, updates = theano.scan(fn=lambda coeff, power, free_var:
                                      coeff * (free_var ** power),
                                      outputs_info=None,
                                      sequences=[coefficients, full_range],
                                      non_sequences=x)

    polynomial = components.sum()
    calculate_polynomial = theano.function(inputs=[coefficients, x],
                                           outputs=polynomial)

    test_coeff = numpy.asarray([1, 0, 2], dtype=numpy.float32)
    got = calculate_polynomial(test_coeff, 3)
    check(got, 19.0)


def test_every_seed_has_an_example():
    assert sorted(p.stem for p in (ROOT / "examples").glob("*.py")) == sorted(SEED_EXAMPLES + OTHER_EXAMPLES)


@pytest.mark.parametrize("name", SEED_EXAMPLES)
def test_example_script_runs(name):
    env = dict(os.environ, LOOPC_FLAGS="mode=PY")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    script = ROOT / "examples" / f"{name}.py"
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"
