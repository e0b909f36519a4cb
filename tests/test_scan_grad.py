"""Gradients through scan (back-propagation through time), feature by feature.

Each case is a small graph of scans; its gradient is checked against central
finite differences of the same compiled function (one compile per case and mode:
the function returns the cost and its gradients), in REFERENCE and PY, and in
NUMBA for the cases whose generated code differs most (Numba compile time
dominates). A failure names the case, the input, the index and both values.
Features whose gradient is not the derivative (truncate_gradient) are compared
with PyTensor, or with the rows a NumPy loop gives.
"""
import dataclasses

import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from loopc.errors import UnsupportedError
from loopc.gradient import hessian, jacobian
from loopc.ir.scan import Scan
from loopc.tensor.shared_randomstreams import RandomStreams

pytestmark = pytest.mark.usefixtures("float64")

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-7


# -- the check -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """inputs: (name, value) of the float inputs checked; build(*variables) -> the output;
    extra: (variable, value) of inputs that are given but not differentiated."""
    name: str
    inputs: list
    build: object
    extra: list = dataclasses.field(default_factory=list)


def _symbol(name, value):
    value = np.asarray(value)
    return T.TensorType(value.dtype.name, (False,) * value.ndim)(name)


def _cost(out):
    """A smooth scalar that weighs every element of `out` differently."""
    return T.sum(out * T.sin(out * 1.3 + 0.7))


def compile_case(case, mode):
    symbols = [_symbol(f"{case.name}.{n}", v) for n, v in case.inputs]
    cost = _cost(case.build(*symbols))
    grads = theano.grad(cost, symbols)
    extra = [v for v, _ in case.extra]
    f = theano.function(symbols + extra, [cost] + list(grads), mode=mode, on_unused_input="ignore")
    return lambda *values: f(*values, *[x for _, x in case.extra])


def central(f, point):
    numeric = []
    for i, p in enumerate(point):
        g = np.zeros(p.shape)
        for j in range(p.size):
            up = [q.copy() for q in point]
            down = [q.copy() for q in point]
            up[i].flat[j] += EPS
            down[i].flat[j] -= EPS
            g.flat[j] = (f(*up)[0] - f(*down)[0]) / (2 * EPS)
        numeric.append(g)
    return numeric


def assert_grads(case, f):
    point = [np.array(v, dtype="float64") for _, v in case.inputs]
    analytic = f(*point)[1:]
    numeric = central(f, point)
    for (name, _), a, n in zip(case.inputs, analytic, numeric):
        a = np.asarray(a)
        assert a.shape == n.shape, f"{case.name}: the gradient of {name} has shape {a.shape}, expected {n.shape}"
        bad = ~np.isclose(a, n, rtol=RTOL, atol=ATOL)
        if bad.any():
            at = np.unravel_index(int(np.argmax(np.abs(a - n) * bad)), n.shape)
            raise AssertionError(f"{case.name}: d cost / d {name}{list(at)} is {a[at]!r} analytically "
                                 f"but {n[at]!r} numerically")


# -- the cases -----------------------------------------------------------------------------------

R = np.random.RandomState(7)


def rand(*shape):
    return R.uniform(-1, 1, size=shape)


def rnn(X, W, h0):
    h, _ = theano.scan(lambda x, h, W: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[h0],
                       non_sequences=[W])
    return h


def rnn_last(X, W, h0):
    return rnn(X, W, h0)[-1]


def sequence_taps(X, w):
    # taps before and after the step, and an output that is not recurrent
    out, _ = theano.scan(lambda a, b, c: T.tanh(a * w + b * c), sequences=dict(input=X, taps=[-2, 0, 1]))
    return out


def state_taps(h0, w, X):
    # a state with taps -3 and -1: three initial rows, of four given (the last one unused)
    h, _ = theano.scan(lambda x, a, b: T.tanh(a * w + b * x), sequences=[X],
                       outputs_info=dict(initial=h0, taps=[-3, -1]))
    return h


def mixed_outputs(X, h0, v):
    # a state, a non-recurrent output and a state again: outputs_info with None
    def step(x, h, c):
        o = T.sin(h * x)
        return T.tanh(h * v + x), o, c * x + o

    (h, o, c), _ = theano.scan(step, sequences=[X], outputs_info=[h0, None, T.zeros_like(h0)])
    return T.concatenate([h, o * 2.0, c])


def captured(X, W, b):
    # W and b used without being passed (implicit non-sequences)
    out, _ = theano.scan(lambda x: T.tanh(T.dot(x, W) + b), sequences=[X])
    return out


def backwards(X, h0, w):
    h, _ = theano.scan(lambda a, b, h: T.tanh(h * w + a - b), sequences=dict(input=X, taps=[-1, 1]),
                       outputs_info=[h0], go_backwards=True)
    return h


def until_stops(X, h0, w):
    # stops after the step where the integer counter reaches 2: three of five steps
    def step(x, h, k):
        return [T.tanh(h * w + x), k + 1], theano.scan_module.until(T.ge(k, 2))

    (h, _k), _ = theano.scan(step, sequences=[X], outputs_info=[h0, np.int64(0)])
    return h


def two_outputs_one_used(X, h0, g0):
    # g does not reach the cost: no cotangent is built for it
    (h, g), _ = theano.scan(lambda x, h, g: [T.tanh(h + x), g * x], sequences=[X], outputs_info=[h0, g0])
    return T.concatenate([h.flatten(), g0])


def nested(X, W, h0):
    # the body of the outer scan runs a scan over the rows of its matrix
    def outer_step(M, h):
        inner, _ = theano.scan(lambda row, a: T.tanh(T.dot(a, W) + row), sequences=[M], outputs_info=[h])
        return inner[-1]

    h, _ = theano.scan(outer_step, sequences=[X], outputs_info=[h0])
    return h


def same_value_twice(X, h0):
    h, _ = theano.scan(lambda x, h: [T.tanh(h * x), T.tanh(h * x)], sequences=[X], outputs_info=[h0, None])
    return h[0] * 3.0 + h[1]


CASES = {
    "rnn": Case("rnn", [("X", rand(4, 3)), ("W", rand(3, 3)), ("h0", rand(3))], rnn),
    "rnn_last": Case("rnn_last", [("X", rand(4, 3)), ("W", rand(3, 3)), ("h0", rand(3))], rnn_last),
    "sequence_taps": Case("sequence_taps", [("X", rand(6, 2)), ("w", rand(2))], sequence_taps),
    "state_taps": Case("state_taps", [("h0", rand(4, 2)), ("w", rand(2)), ("X", rand(3, 2))], state_taps),
    "mixed_outputs": Case("mixed_outputs", [("X", rand(4, 2)), ("h0", rand(2)), ("v", rand(2))], mixed_outputs),
    "captured": Case("captured", [("X", rand(3, 2)), ("W", rand(2, 3)), ("b", rand(3))], captured),
    "go_backwards": Case("go_backwards", [("X", rand(5, 2)), ("h0", rand(2)), ("w", rand(2))], backwards),
    "until": Case("until", [("X", rand(5, 2)), ("h0", rand(2)), ("w", rand(2))], until_stops),
    "one_output_used": Case("one_output_used", [("X", rand(3, 2)), ("h0", rand(2)), ("g0", rand(2))],
                            two_outputs_one_used),
    "nested": Case("nested", [("X", rand(2, 3, 2)), ("W", rand(2, 2)), ("h0", rand(2))], nested),
    "same_value_twice": Case("same_value_twice", [("X", rand(3, 2)), ("h0", rand(2))], same_value_twice),
}


def _n_steps_case():
    n = T.lscalar("n")

    def build(X, W, h0):
        h, _ = theano.scan(lambda x, h: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[h0], n_steps=n)
        return T.concatenate([h.flatten(), h0])
    return Case("n_steps", [("X", rand(5, 2)), ("W", rand(2, 2)), ("h0", rand(2))], build, [(n, 3)])


def _zero_steps_case():
    n = T.lscalar("n0")

    def build(X, W, h0):
        h, _ = theano.scan(lambda x, h: T.tanh(T.dot(h, W) + x), sequences=[X], outputs_info=[h0], n_steps=n)
        return T.concatenate([h.flatten(), h0 * 2.0])
    return Case("zero_steps", [("X", rand(3, 2)), ("W", rand(2, 2)), ("h0", rand(2))], build, [(n, 0)])


CASES["n_steps"] = _n_steps_case()
CASES["zero_steps"] = _zero_steps_case()


# Numba compiles each gradient in 10-30 s: NUMBA runs the cases whose generated code
# differs most (windows of several rows, sequence taps, no step, a nested loop, ...).
NUMBA_CASES = ["rnn_last", "sequence_taps", "state_taps", "mixed_outputs", "go_backwards", "until",
               "zero_steps", "nested"]


@pytest.mark.parametrize("name,mode", [(name, mode) for name in sorted(CASES) for mode in ("REFERENCE", "PY")]
                         + [(name, "NUMBA") for name in NUMBA_CASES])
def test_gradient_matches_finite_differences(name, mode):
    assert_grads(CASES[name], compile_case(CASES[name], mode))
