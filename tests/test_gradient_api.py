"""The rest of Theano's gradient API through the frontend, in every mode: `Lop`
and `Rop` against NumPy's Jacobian products (through scan too), the gradient
overrides (`zero_grad`, `disconnected_grad`, `consider_constant`, `grad_clip`,
`grad_scale`) against their hand-derived gradients, and their errors.

Rop is built from two reverse passes (see `loopc.gradient.Rop`); the checks here
are against products with explicit Jacobians, and against central differences
of the forward function where the Jacobian is a scan's.
"""
import warnings

import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from loopc import gradient as G
from loopc.errors import LoopcTypeError, LoopcValueError
from loopc.gradient import DisconnectedInputError, DisconnectedOutputError

MODES = ("REFERENCE", "PY", "NUMBA")
RNG = np.random.RandomState(42)
W_VALUE, X_VALUE = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4)
V_VALUE, U_VALUE, M_VALUE = RNG.uniform(-1, 1, 4), RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, (3, 4))


@pytest.fixture(scope="module", params=MODES)
def mode(request):
    return request.param


# -- Lop and Rop --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def products(mode):
    """One function per mode: Rop of y = tanh(W x) along (M, v) and Lop along u."""
    W, x, v, u, M = T.matrix("W"), T.vector("x"), T.vector("v"), T.vector("u"), T.matrix("M")
    y = T.tanh(T.dot(W, x))
    rop = theano.Rop(y, [W, x], [M, v])
    lop_W, lop_x = theano.Lop(y, [W, x], u)
    return theano.function([W, x, v, u, M], [rop, lop_W, lop_x], mode=mode)


def test_rop_is_the_jacobian_times_the_vector(products):
    rop, _, _ = products(W_VALUE, X_VALUE, V_VALUE, U_VALUE, M_VALUE)
    d = 1 - np.tanh(W_VALUE @ X_VALUE) ** 2
    np.testing.assert_allclose(rop, d * (W_VALUE @ V_VALUE + M_VALUE @ X_VALUE), rtol=1e-12)


def test_lop_is_the_vector_times_the_jacobian(products):
    _, lop_W, lop_x = products(W_VALUE, X_VALUE, V_VALUE, U_VALUE, M_VALUE)
    d = 1 - np.tanh(W_VALUE @ X_VALUE) ** 2
    np.testing.assert_allclose(lop_x, W_VALUE.T @ (d * U_VALUE), rtol=1e-12)
    np.testing.assert_allclose(lop_W, np.outer(d * U_VALUE, X_VALUE), rtol=1e-12)


@pytest.fixture(scope="module")
def scan_rop(mode):
    """Rop of an Elman recurrence's states along the sequence, and its forward function."""
    x, w, v = T.vector("x"), T.scalar("w"), T.vector("v")
    h, _ = theano.scan(lambda xt, h: T.tanh(xt + w * h), sequences=x, outputs_info=T.constant(0.5))
    return (theano.function([x, w, v], theano.Rop(h, x, v), mode=mode),
            theano.function([x, w], h, mode=mode))


@pytest.mark.parametrize("steps", [5, 0])
def test_rop_through_scan_matches_central_differences(scan_rop, steps):
    rop, forward = scan_rop
    x, v, w, eps = np.linspace(-1, 1, steps), np.linspace(0.5, -0.3, steps), 0.7, 1e-6
    want = (forward(x + eps * v, w) - forward(x - eps * v, w)) / (2 * eps)
    got = rop(x, w, v)
    assert got.shape == (steps,)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_rop_of_a_gradient_is_the_hessian_times_the_vector():
    x, v = T.vector("x"), T.vector("v")
    cost = T.sum(T.sin(x) * T.sum(x ** 2))
    hv = theano.Rop(T.grad(cost, x), x, v)
    f = theano.function([x, v], [hv, T.hessian(cost, x)], mode="PY")
    got, hessian = f(X_VALUE, V_VALUE)
    np.testing.assert_allclose(got, hessian @ V_VALUE, rtol=1e-10)


def test_rop_of_wrt_itself_is_the_eval_point():
    x, v = T.vector("x"), T.vector("v")
    f = theano.function([x, v], theano.Rop(x, x, v), mode="PY")
    np.testing.assert_array_equal(f(X_VALUE, V_VALUE), V_VALUE)


def test_rop_and_lop_keep_the_structure():
    x, v = T.vector("x"), T.vector("v")
    assert isinstance(theano.Rop([x * 2, x * 3], x, v), list)
    assert not isinstance(theano.Rop(x * 2, [x], [v]), list)
    assert isinstance(theano.Lop(x * 2, [x], v), list) and not isinstance(theano.Lop(x * 2, x, v), list)


def test_rop_of_a_disconnected_output():
    x, v, W = T.vector("x"), T.vector("v"), T.matrix("W")
    with pytest.raises(DisconnectedOutputError, match=r"f\[1\] .* does not depend on x"):
        theano.Rop([x * 2, T.sum(W)], x, v)
    with pytest.warns(UserWarning, match="does not depend"):
        rop = theano.Rop(T.sum(W), x, v, disconnected_outputs="warn")
    assert float(theano.function([], rop, mode="PY")()) == 0.0
    assert theano.Rop(T.sum(W), x, v, disconnected_outputs="ignore", return_disconnected="None") is None


def test_rop_and_lop_check_their_eval_points():
    x, m = T.vector("x"), T.matrix("m")
    with pytest.raises(LoopcTypeError, match=r"eval_points\[0\] must have the ndim of wrt\[0\] \(x"):
        theano.Rop(x * 2, x, m)
    with pytest.raises(LoopcValueError, match="2 eval_points for 1 wrt"):
        theano.Rop(x * 2, x, [x, x])
    with pytest.raises(LoopcTypeError, match=r"eval_points\[0\] must have the ndim of f\[0\]"):
        theano.Lop(T.sum(x), x, x)


def test_lop_takes_numbers_as_eval_points():
    x = T.vector("x")
    f = theano.function([x], theano.Lop(x * 3, x, np.array([1.0, 2.0])), mode="PY", on_unused_input="ignore")
    np.testing.assert_array_equal(f(np.zeros(2)), [3.0, 6.0])


# -- gradient overrides -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def overrides(mode):
    """Values and gradients of one cost using every override."""
    x = T.vector("x")
    cost = (T.sum(G.zero_grad(x) * x) + T.sum(G.grad_clip(x, -0.5, 0.25) ** 2)
            + T.sum(G.grad_scale(T.sin(x), -3.0)) + T.sum(G.consider_constant(x) ** 2)
            + T.sum(G.disconnected_grad(x) * T.exp(x)))
    return theano.function([x], [cost, T.grad(cost, x)], mode=mode)


def test_overrides_change_only_the_gradient(overrides):
    x = np.array([-1.0, -0.1, 0.05, 0.3, 2.0])
    cost, g = overrides(x)
    np.testing.assert_allclose(cost, np.sum(x * x + x ** 2 + np.sin(x) + x ** 2 + x * np.exp(x)), rtol=1e-12)
    # zero_grad(x) * x: x; clip(2x, -0.5, 0.25); -3 cos(x); consider_constant: 0; disconnected(x) * e^x
    want = x + np.clip(2 * x, -0.5, 0.25) - 3 * np.cos(x) + x * np.exp(x)
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_disconnected_grad_disconnects():
    x = T.vector("x")
    with pytest.raises(DisconnectedInputError, match="does not depend on x"):
        T.grad(T.sum(G.disconnected_grad(x) ** 2), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zero = T.grad(T.sum(G.zero_grad(x) ** 2), x)  # connected, but zero: no error, no warning
    np.testing.assert_array_equal(theano.function([x], zero, mode="PY")(X_VALUE), np.zeros(4))


@pytest.mark.parametrize("optimizer", ["fast_run", "None"])
def test_overrides_compile_away(optimizer):
    saved, theano.config.optimizer = theano.config.optimizer, optimizer
    try:
        x = T.vector("x")
        f = theano.function([x], G.grad_clip(G.zero_grad(x) * 2, -1, 1), mode="NUMBA")
    finally:
        theano.config.optimizer = saved
    np.testing.assert_array_equal(f(X_VALUE), 2 * X_VALUE)
    if optimizer == "fast_run":
        assert "grad_override" not in f.dump("canonicalize")


def test_override_errors():
    x = T.vector("x")
    with pytest.raises(LoopcValueError, match=r"lower_bound \(1.0\) must not exceed upper_bound \(-1.0\)"):
        G.grad_clip(x, 1, -1)
    with pytest.raises(LoopcTypeError, match="grad_clip: upper_bound must be a real number"):
        G.grad_clip(x, 0, T.scalar("b"))
    with pytest.raises(LoopcTypeError, match="grad_scale: multiplier must be a real number"):
        G.grad_scale(x, [1.0, 2.0])


def test_theano_names():
    assert T.grad_clip is G.grad_clip and T.zero_grad is G.zero_grad and T.Rop is theano.Rop
    assert T.consider_constant is G.consider_constant and T.disconnected_grad is G.disconnected_grad


# -- subgraph_grad --------------------------------------------------------------------------------------

def test_subgraph_grad_back_propagates_layer_by_layer():
    """Theano's documented two-layer example: the layer-by-layer gradients equal grad's."""
    x, t = T.vector("x"), T.vector("t")
    w1 = theano.shared(RNG.standard_normal((3, 4)), name="w1")
    w2 = theano.shared(RNG.standard_normal((4, 2)), name="w2")
    a1 = T.tanh(T.dot(x, w1))
    a2 = T.tanh(T.dot(a1, w2))
    cost2 = T.sqr(a2 - t).sum() + T.sqr(w2.sum())
    cost1 = T.sqr(w1.sum())
    next_grad, param_grads = None, []
    for params, cost, ends in (([w2], cost2, [a1]), ([w1], cost1, [x])):
        param_grad, next_grad = theano.subgraph_grad(wrt=params, end=ends, start=next_grad, cost=cost)
        next_grad = dict(zip(ends, next_grad))
        param_grads.extend(param_grad)
    whole = T.grad(cost1 + cost2, [w2, w1])
    f = theano.function([x, t], param_grads + whole, mode="PY")
    got_w2, got_w1, want_w2, want_w1 = f(np.array([0.1, -0.4, 0.7]), np.array([0.5, -0.5]))
    np.testing.assert_allclose(got_w2, want_w2, rtol=1e-12)
    np.testing.assert_allclose(got_w1, want_w1, rtol=1e-12)


def test_subgraph_grad_details_and_errors():
    x = T.vector("x")
    y = T.exp(x)
    wrt_grads, end_grads, start_grads, cost_grads = theano.subgraph_grad([x], [y], cost=T.sum(y * 2), details=True)
    assert start_grads is None and len(cost_grads) == 2
    f = theano.function([x], [wrt_grads[0], end_grads[0]], mode="PY")
    g_x, g_y = f(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(g_x, [0.0, 0.0])  # y is where back-propagation ends
    np.testing.assert_array_equal(g_y, [2.0, 2.0])
    with pytest.raises(LoopcValueError, match="give a cost or start"):
        theano.subgraph_grad([x], [y])
    with pytest.raises(LoopcTypeError, match="end must be a list"):
        theano.subgraph_grad([x], y, cost=T.sum(y))


def test_grad_names_its_results_and_takes_theanos_keywords():
    x, y = T.vector("x"), T.vector("y")
    cost = T.sum(x * y)
    cost.name = "cost"
    gx, gy = T.grad(cost, [x, y])
    assert (gx.name, gy.name) == ("(dcost/dx)", "(dcost/dy)")
    assert T.grad(cost, x, add_names=False).name is None
    with pytest.raises(theano.errors.UnsupportedError, match="null_gradients='return'"):
        T.grad(cost, x, null_gradients="return")


# -- the examples of Theano's "Derivatives in Theano" tutorial ------------------------------------------

def test_tutorial_rop_lop_and_hessian_times_vector():
    W, V, x = T.dmatrix("W"), T.dmatrix("V"), T.dvector("x")
    f = theano.function([W, V, x], T.Rop(T.dot(x, W), W, V))
    np.testing.assert_array_equal(f([[1, 1], [1, 1]], [[2, 2], [2, 2]], [0, 1]), [2.0, 2.0])
    v = T.dvector("v")
    f = theano.function([v, x], T.Lop(T.dot(x, W), W, v))
    np.testing.assert_array_equal(f([2, 2], [0, 1]), [[0.0, 0.0], [2.0, 2.0]])
    gy = T.grad(T.sum(x ** 2), x)
    f = theano.function([x, v], [T.grad(T.sum(gy * v), x), T.Rop(gy, x, v)])
    for got in f([4, 4], [2, 2]):
        np.testing.assert_array_equal(got, [4.0, 4.0])


# -- Theano's test_gradient scenarios: integers, seeds that refer to the cost -------------------------

@pytest.fixture(scope="module")
def integer_grads(mode):
    """Theano's test_grad_int: the gradient for an integer matrix X is the one of its float
    values; d i / d i = 1 for an integer i; the gradient of 2x (a constant) and of a cost
    that does not depend on s (zeros) in one function that takes exactly their inputs."""
    X, W, b, i, x, s = T.imatrix("X"), T.matrix("W"), T.vector("b"), T.iscalar("i"), T.scalar("x"), T.scalar("s")
    g_X = T.grad(T.sum(T.nnet.sigmoid(T.dot(X, W) + b)), X)
    outputs = [g_X, T.grad(i, i), T.jacobian(x * 2, x), T.jacobian(1 + x, s, disconnected_inputs="ignore")]
    return theano.function([X, W, b, i, x, s], outputs, mode=mode)


def test_integer_inputs_get_the_gradient_of_their_values(integer_grads):
    X = np.array([[1, -2, 0], [3, 1, -1]], dtype="int32")
    W, b = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4)
    g_X, g_i, j_x, j_s = integer_grads(X, W, b, 7, 0.3, 0.4)
    z = 1 / (1 + np.exp(-(X @ W + b)))
    assert g_X.dtype == np.float64
    np.testing.assert_allclose(g_X, (z * (1 - z)) @ W.T, rtol=1e-12)
    assert (float(g_i), float(j_x), float(j_s)) == (1.0, 2.0, 0.0)


def test_a_gradient_takes_the_inputs_of_its_cost():
    # Theano seeds with ones_like(cost) and gives zeros_like(wrt): the function of a
    # gradient that is a constant still takes (and needs no on_unused_input for) them.
    x, y, s1, s2, i = T.scalar("x"), T.scalar("y"), T.scalar("s1"), T.scalar("s2"), T.iscalar("i")
    assert float(theano.function([x], T.jacobian(x * 2, x), mode="PY")(0.5)) == 2.0
    assert float(theano.function([s2], T.jacobian(1 + s1, s2, disconnected_inputs="ignore"), mode="PY")(1.0)) == 0.0
    assert float(theano.function([i], T.grad(i, i), mode="PY")(12)) == 1.0
    one = T.as_tensor_variable(1.0)
    g_x, g_one = T.grad(x + y, x, consider_constant=[x]), T.grad(one + y, one)
    assert theano.function([x, y], [g_x, g_one], mode="PY")(1.0, 0.5) == [1.0, 1.0]
    g = T.grad(None, i, known_grads={i: y})
    assert float(theano.function([y], g, mode="PY")(0.6)) == 0.6
    f = theano.function([x, y], T.grad(x * y, x), mode="PY")
    assert "check_lengths" not in f.dump("canonicalize")


def test_rop_through_zero_grad_is_zero():
    # Theano's TestZeroGrad.test_rop: connected, so zeros and no DisconnectedOutputError
    x, v = T.vector("x"), T.vector("v")
    rop = theano.Rop(G.zero_grad(x), x, v)
    f = theano.function([x, v], rop, mode="PY", on_unused_input="ignore")
    np.testing.assert_array_equal(f(X_VALUE, V_VALUE), np.zeros(4))
    with pytest.raises(DisconnectedOutputError):
        theano.Rop(G.disconnected_grad(x), x, v)
    # Theano's test_Rop_dot_bug_18Oct2013_Jeremiah: the gradient of a linear cost depends
    # on v only through its seed (ones like the cost): zeros, no error
    w = theano.shared(np.ones(20), name="w")
    d = T.sum(T.dot(T.arange(20.0).reshape((1, 20)), w))
    np.testing.assert_array_equal(theano.function([], theano.Rop(T.grad(d, w), w, w), mode="PY")(), np.zeros(20))
    # Theano's check_nondiff_rop: an integer output has no R-operator, a ValueError
    for y in (T.argmax(x), x.shape[0], T.cast(x, "int32")):
        with pytest.raises(ValueError, match="does not depend on"):
            theano.Rop(y, x, v)


def test_mismatched_ndims_are_value_errors_as_in_theano():
    x, m = T.vector("x"), T.matrix("m")
    for make in (lambda: theano.Rop(x * 2, [x], [m]), lambda: theano.Lop(x * 2, [x], [m]),
                 lambda: theano.Rop(T.sum(m), [m], [x]), lambda: T.grad(None, x, known_grads={x * 2: m})):
        with pytest.raises(ValueError, match="ndim"):
            make()
        with pytest.raises(LoopcTypeError):
            make()


def test_hessian_vector_product(mode):
    # PyTensor's TestHessianVectorProduct: Rosenbrock's H p (scipy's rosen_hess_prod by
    # hand), and two wrt whose values do not matter
    x, p = T.vector("x"), T.vector("p")
    rosen = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    hp = G.hessian_vector_product(rosen, x, p)
    xv, pv = 0.1 * np.arange(6.0), 0.5 * np.arange(6.0)
    H = np.diag(np.r_[1200 * xv[:-1] ** 2 - 400 * xv[1:] + 2, 0.0]) + np.diag(np.r_[0.0, np.full(5, 200.0)])
    H -= np.diag(400 * xv[:-1], 1) + np.diag(400 * xv[:-1], -1)
    np.testing.assert_allclose(theano.function([x, p], hp, mode=mode)(xv, pv), H @ pv, rtol=1e-12)
    y, px, py = T.vector("y"), T.vector("px"), T.vector("py")
    hx, hy = G.hessian_vector_product(T.sum(x ** 2 - y ** 2), [x, y], [px, py])
    f = theano.function([x, y, px, py], [hx, hy], mode=mode)
    got = f(np.full(3, np.nan), np.full(3, np.nan), [1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(got[0], [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(got[1], [-6.0, -4.0, -2.0])
