"""NumPy's advanced indexing, N-d dot, tensordot and batched_dot beyond the op-by-op
parity of tests/test_ops.py (groups `advanced_indexing` and `nd_dot`): the graphs the
frontend builds, the errors bad input gets in every mode, gradients of compiled
functions against finite differences, the tutorial's negative log-likelihood, and
Hypothesis-drawn index lists against NumPy.
"""
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopc
import loopc.tensor as T
from loopc.errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ShapeError
from loopc.ir import ops
from loopc.ir.graph import Graph
from loopc.reference import evaluate

MODES = ("REFERENCE", "PY", "NUMBA")
RNG = np.random.default_rng(7)


def op_names(outputs):
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return [type(node.op).__name__ for node in Graph([], outputs).nodes]


# -- the graphs the frontend builds ------------------------------------------------------

def test_one_vector_on_the_first_axis_stays_a_take():
    x, i = T.matrix("x"), T.ivector("i")
    assert isinstance(x[i].owner.op, ops.AdvancedSubtensor1)
    assert isinstance(x[i, :].owner.op, ops.AdvancedSubtensor1)
    assert isinstance(x[T.vector("m", "bool")].owner.op, ops.AdvancedSubtensor1)


@pytest.mark.parametrize("index,idx_list", [
    (lambda x, i: (i, i), ("a", "a")),
    (lambda x, i: (slice(None), i), (("s", False, False, False), "a")),
    (lambda x, i: (i, slice(1, None)), ("a", ("s", True, False, False))),
    (lambda x, i: (i, 0), ("a", "a")),  # an integer beside an array is a 0-d array
    (lambda x, i: (i.dimshuffle(0, "x"),), ("a",)),
])
def test_advanced_index_lists(index, idx_list):
    x, i = T.matrix("x"), T.ivector("i")
    out = x[index(x, i)]
    assert isinstance(out.owner.op, ops.AdvancedSubtensor) and out.owner.op.idx_list == idx_list


def test_types_follow_numpy_placement_of_the_broadcast_axes():
    t, i = T.tensor3("t"), T.lvector("i")
    assert t[:, i, i].broadcastable == (False, False)
    assert t[i, :, i].broadcastable == (False, False)  # arrays apart: their axis goes first
    assert t[0, :, i].ndim == 2 and t[:, 0, i].ndim == 2
    assert t[T.lcol("c"), T.lrow("r")].broadcastable == (False, False, False)
    assert t[T.lcol("c"), 0].broadcastable == (False, True, False)
    assert T.row("r")[:, i].broadcastable == (True, False)


def test_nd_dot_is_one_matrix_product():
    a, m = T.tensor3("a"), T.matrix("m")
    names = op_names(T.dot(a, m))
    assert names.count("Dot") == 1 and "BatchedDot" not in names and "Scan" not in names
    assert T.dot(a, m).broadcastable == (False, False, False)
    assert T.dot(T.TensorType("float64", (False, True, False))("b"), T.row("r")).broadcastable == \
        (False, True, False)


def test_batched_dot_of_matrices_is_one_op():
    names = op_names(T.batched_dot(T.tensor3("a"), T.tensor3("b")))
    assert names == ["BatchedDot"]


def test_dump_prints_the_index_as_a_subscript():
    x, i = T.matrix("x"), T.ivector("i")
    text = loopc.dump([x[i, 1:], T.inc_subtensor(x[i, i], 1.0)])
    assert "advanced_subtensor %x[%i, 1:] : f64[?,?]" in text
    assert "advanced_inc_subtensor %x[%i, %i], %0 : f64[?,?]" in text or "advanced_inc_subtensor %x[%i, %i]," in text


def test_generated_gather_reads_like_hand_written_code():
    """One loop per axis of the result; an index array's element is read once, in the
    outermost loop that binds its axes (hoisted by hand: LLVM would not, for aliasing)."""
    x, i, j = T.matrix("x"), T.ivector("i"), T.lvector("j")
    E, idx = T.matrix("E"), T.lmatrix("idx")
    source = loopc.function([x, i, j, E, idx], [x[i, j], E[idx]], mode="PY").source
    body = "\n".join(line[4:] for line in source.splitlines()) + "\n"  # the function's body, dedented
    assert textwrap.dedent("""\
        for i0 in range(i.shape[0]):
            i_at = i[i0]
            j_at = j[i0]
            v[i0] = x[i_at, j_at]
    """) in body
    assert textwrap.dedent("""\
        for i0_1 in range(idx.shape[0]):
            for i1 in range(idx.shape[1]):
                idx_at = idx[i0_1, i1]
                for i2 in range(E.shape[1]):
                    v_1[i0_1, i1, i2] = E[idx_at, i2]
    """) in body


def test_mask_coordinates_are_not_checked_again():
    x = T.matrix("x")
    f = loopc.function([x], [x[x > 0], T.set_subtensor(x[x > 0], 0.0)], mode="PY")
    assert "out of bounds" not in f.source


# -- errors -------------------------------------------------------------------------------

def test_build_time_errors():
    x = T.matrix("X")
    with pytest.raises(LoopcIndexError, match="too many indices for X"):
        x[T.tensor3("m", "bool")]
    with pytest.raises(LoopcIndexError, match="too many indices for X"):
        x[T.ivector("i"), T.ivector("j"), 0]
    with pytest.raises(LoopcIndexError, match="integer array or a boolean mask"):
        x[T.ivector("i"), T.vector("f")]
    with pytest.raises(LoopcIndexError, match="boolean"):
        x[T.scalar("b", "bool")]
    with pytest.raises(LoopcValueError, match="tensordot: axes"):
        T.tensordot(x, x, [[0, 1], [0]])
    with pytest.raises(LoopcValueError, match="axis 2 is out of range"):
        T.tensordot(x, x, [[2], [0]])
    with pytest.raises(LoopcValueError, match="axes=3"):
        T.tensordot(x, x, 3)
    with pytest.raises(LoopcTypeError, match="no batch axis"):
        T.batched_dot(T.scalar("s"), x)
    with pytest.raises(LoopcValueError, match="batch axis"):
        T.batched_tensordot(T.tensor3("a"), T.tensor3("b"), [[0], [0]])
    with pytest.raises(LoopcTypeError, match="more dimensions"):
        T.set_subtensor(x[T.ivector("i"), 0], T.matrix("Y"))


@pytest.fixture(scope="module")
def error_functions():
    """One function per mode whose outputs each fail on one kind of bad input."""
    x, i, j = T.matrix("x"), T.lvector("i"), T.lvector("j")
    m, y = T.matrix("m", "bool"), T.vector("y")
    a, b, c, d, e = T.tensor3("a"), T.tensor3("b"), T.tensor3("c"), T.tensor3("d"), T.matrix("e")
    outs = [x[i, j], x[m], T.inc_subtensor(x[i, j], y), T.tensordot(a, c, [[1, 2], [0, 1]]), T.batched_dot(a, b),
            T.dot(a, d), T.batched_dot(a, e)]
    return {mode: loopc.function([x, i, j, m, y, a, b, c, d, e], outs, mode=mode) for mode in MODES}


def good_inputs():
    return dict(x=np.ones((3, 4)), i=np.array([0, 2]), j=np.array([3, -4]), m=np.ones((3, 4), bool),
                y=np.ones(2), a=np.ones((2, 3, 4)), b=np.ones((2, 4, 3)), c=np.ones((3, 4, 2)), d=np.ones((5, 4, 2)),
                e=np.ones((2, 4)))


BAD_INPUTS = [
    (dict(j=np.array([3, 4])), LoopcIndexError, "index 4 is out of bounds for axis 1 of x with length 4"),
    (dict(i=np.array([-4, 0])), LoopcIndexError, "index -4 is out of bounds for axis 0 of x with length 3"),
    (dict(j=np.array([0, 1, 2])), LoopcIndexError, "index array"),
    (dict(m=np.ones((3, 5), bool)), LoopcIndexError, "axis 1 of m has length 5 but axis 1 of x has length 4"),
    (dict(m=np.ones((2, 4), bool)), LoopcIndexError, "boolean index"),
    (dict(y=np.ones(3)), ShapeError, "the value y has length 3 on axis 0"),
    (dict(c=np.ones((4, 3, 2))), ShapeError, r"tensordot \(summed axes\): axis 1 of a has length 3 but axis 0 of c "
     "has length 4"),
    (dict(c=np.ones((3, 2, 2))), ShapeError, "summed axes"),  # the products of the lengths differ too
    (dict(b=np.ones((3, 4, 3))), ShapeError, "batch lengths"),
    (dict(b=np.ones((2, 3, 3))), ShapeError, "inner lengths"),
    (dict(d=np.ones((5, 3, 2))), ShapeError, r"dot \(summed axes\): axis 2 of a has length 4 but axis 1 of d has "
     "length 3"),
    (dict(e=np.ones((2, 3))), ShapeError, "axis 2 of a has length 4 but axis 1 of e has length 3"),
    (dict(e=np.ones((1, 4))), ShapeError, "axis 0 of a has length 2 but axis 0 of e has length 1"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad,error,message", BAD_INPUTS)
def test_bad_input_raises_a_loopc_error(error_functions, mode, bad, error, message):
    values = {**good_inputs(), **bad}
    with pytest.raises(error, match=message):
        error_functions[mode](*values.values())


@pytest.mark.parametrize("mode", MODES)
def test_good_input_runs(error_functions, mode):
    error_functions[mode](*good_inputs().values())


# -- gradients of compiled functions ----------------------------------------------------------

def numeric_grad(fn, values, k, eps=1e-6):
    """Central differences of the scalar fn(*values) in values[k]."""
    values = [np.array(v, dtype=float) if np.asarray(v).dtype.kind == "f" else v for v in values]
    g = np.zeros_like(values[k])
    for p in range(values[k].size):
        saved = values[k].flat[p]
        values[k].flat[p] = saved + eps
        up = fn(*values)
        values[k].flat[p] = saved - eps
        down = fn(*values)
        values[k].flat[p] = saved
        g.flat[p] = (up - down) / (2 * eps)
    return g


@pytest.fixture(scope="module")
def gradient_functions():
    """cost and gradients of sum(dot(3-d, M)) (with a weight, so that every element counts
    differently), of a batched product, and of indexing with repeats, per mode."""
    a, m, b = T.tensor3("a"), T.matrix("m"), T.tensor3("b")
    x, i, j = T.matrix("x"), T.lvector("i"), T.lvector("j")
    r = T.tensor3("r")
    costs = [T.sum(T.dot(a, m) * r), T.sum(T.sin(T.batched_dot(a, b))),
             T.sum(T.exp(x[i, j])) + T.sum(T.inc_subtensor(x[:, j], 1.0) ** 2) + T.sum(T.tanh(x[x > 0.5]))]
    wrt = [[a, m], [a, b], [x]]
    outs = [c for c in costs] + [g for c, w in zip(costs, wrt) for g in T.grad(c, w)]
    inputs = [a, m, b, x, i, j, r]
    return inputs, {mode: loopc.function(inputs, outs, mode=mode) for mode in MODES}


@pytest.mark.parametrize("mode", MODES)
def test_gradients_against_finite_differences(gradient_functions, mode):
    inputs, functions = gradient_functions
    f = functions[mode]
    values = [RNG.uniform(-1, 1, (2, 3, 4)), RNG.uniform(-1, 1, (4, 5)), RNG.uniform(-1, 1, (2, 4, 3)),
              RNG.uniform(-1, 1, (3, 4)), np.array([0, 2, 2, -1]), np.array([1, 1, 3, 0]),
              RNG.uniform(0.5, 1.5, (2, 3, 5))]
    grads = f(*values)[3:]
    wanted = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 3)]  # (cost, input) of each gradient, in order
    for (c, k), g in zip(wanted, grads):
        numeric = numeric_grad(lambda *v: float(f(*v)[c]), values, k)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{mode}: gradient of cost {c} with respect to {inputs[k]}")


# -- the tutorial's negative log-likelihood ----------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_logistic_regression_nll_and_its_gradient(mode):
    """DeepLearningTutorials' logistic_sgd: -mean(log(p_y_given_x)[arange(n), y])."""
    x, y = T.matrix("x"), T.ivector("y")
    W, b = loopc.shared(np.zeros((5, 3)), name="W"), loopc.shared(np.zeros(3), name="b")
    p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    errors = T.mean(T.neq(T.argmax(p_y_given_x, axis=1), y))
    g_W, g_b = T.grad(nll, [W, b])
    train = loopc.function([x, y], [nll, errors], updates=[(W, W - 0.1 * g_W), (b, b - 0.1 * g_b)], mode=mode)
    xv, yv = RNG.normal(size=(8, 5)), RNG.integers(0, 3, 8).astype("int32")

    def numpy_nll(Wv, bv):
        z = xv @ Wv + bv
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return -np.mean(np.log(p)[np.arange(8), yv])
    W0 = RNG.normal(size=(5, 3))
    W.set_value(W0)
    cost, err = train(xv, yv)
    np.testing.assert_allclose(cost, numpy_nll(W0, np.zeros(3)), rtol=1e-12)
    gW = numeric_grad(lambda Wv: numpy_nll(Wv, np.zeros(3)), [W0], 0)
    np.testing.assert_allclose(W.get_value(), W0 - 0.1 * gW, rtol=1e-6, atol=1e-8)
    assert 0.0 <= err <= 1.0


# -- Hypothesis: index lists against NumPy --------------------------------------------------------

@st.composite
def index_lists(draw):
    """A shape, and an index of integer arrays (broadcasting, negative, empty), ints,
    slices and new axes that NumPy accepts for it."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    index_shape = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    items, arrays = [], 0
    for n in shape[:draw(st.integers(1, ndim))]:
        how = draw(st.sampled_from(["array", "array", "slice", "int", "newaxis"]))
        if how == "newaxis":
            items.append(None)
            how = "slice"
        if how == "array":
            sub = index_shape[len(index_shape) - draw(st.integers(0, len(index_shape))):]
            sub = tuple(1 if draw(st.booleans()) and k else k for k in sub)  # some axes broadcast
            items.append(np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(sub)),
                                                  max_size=int(np.prod(sub))))).reshape(sub).astype("int64"))
            arrays += 1
        elif how == "int":
            items.append(draw(st.integers(-n, n - 1)))
        else:
            items.append(slice(draw(st.sampled_from([None, 0, 1, -1])), draw(st.sampled_from([None, 2, -1])),
                               draw(st.sampled_from([None, 1, 2, -1]))))
    if not arrays:
        items[0] = np.array([0, -1, 0])
    return shape, tuple(items)


def _symbolic(items):
    """Each array as a constant with its length-1 axes flagged broadcastable (loopc's rule)."""
    return tuple(T.constant(i) if isinstance(i, np.ndarray) else i for i in items)


@settings(max_examples=60, deadline=None)
@given(case=index_lists(), set_=st.booleans())
def test_index_lists_match_numpy(case, set_):
    shape, items = case
    x = T.tensor("float64", (False,) * len(shape), "x")
    value = RNG.uniform(-3, 3, shape)
    try:
        want = value[items]
    except IndexError:
        return  # arrays NumPy cannot broadcast together
    region = x[_symbolic(items)]
    (got,) = evaluate(Graph([x], [region]), [value])
    assert got.shape == want.shape and region.ndim == want.ndim
    np.testing.assert_array_equal(got, want)
    if any(i is None for i in items):
        return  # a new axis makes the region a view of a dimshuffle, not of x
    y = RNG.uniform(-3, 3, want.shape)
    expected = value.copy()
    if set_:
        expected[items] = y
    else:
        np.add.at(expected, items, y)
    out = (T.set_subtensor if set_ else T.inc_subtensor)(region, T.constant(y))
    (got,) = evaluate(Graph([x], [out]), [value])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.fixture(scope="module")
def py_gather():
    """PY-mode functions of the index kinds Hypothesis draws, compiled once."""
    x, i, j = T.tensor3("x"), T.lmatrix("i"), T.lvector("j")
    outs = [x[i, :, j], x[:, i, j], x[j, 1:, i], T.inc_subtensor(x[i, :, j], 1.0), T.set_subtensor(x[:, i, j], 2.0)]
    return loopc.function([x, i, j], outs, mode="PY")


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_compiled_gathers_match_numpy(py_gather, data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=3, max_size=3)))
    rows, cols = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    n = min(shape)
    iv = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=rows * cols, max_size=rows * cols)),
                  "int64").reshape(rows, cols)
    jv = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=cols, max_size=cols)), "int64")
    xv = RNG.uniform(-3, 3, shape)
    inc, st_ = xv.copy(), xv.copy()
    np.add.at(inc, (iv, slice(None), jv), 1.0)
    st_[:, iv, jv] = 2.0
    want = [xv[iv, :, jv], xv[:, iv, jv], xv[jv, 1:, iv], inc, st_]
    for got, w in zip(py_gather(xv, iv, jv), want):
        assert got.shape == w.shape
        np.testing.assert_array_equal(got, w)


@pytest.mark.parametrize("mode", MODES)
def test_zero_step_scan_outputs_have_the_row_shape(mode):
    """A scan that runs no step gives its outputs the row shape a step would: the reference
    finds it on stand-in values (an advanced index's shape is its arrays' shapes)."""
    X, i, j, n = T.tensor3("X"), T.lvector("i"), T.lvector("j"), T.lscalar("n")
    out, _ = loopc.scan(lambda x: x[i, j] * 2 + T.batched_dot(x[None], x[None].dimshuffle(0, 2, 1))[0, i, j],
                        sequences=[X], n_steps=n)
    f = loopc.function([X, i, j, n], out, mode=mode)
    xv = RNG.uniform(-1, 1, (3, 4, 5))
    assert f(xv, np.array([0, 1]), np.array([2, 3]), 0).shape == (0, 2)
    want = np.stack([x[[0, 1], [2, 3]] * 2 + (x @ x.T)[[0, 1], [2, 3]] for x in xv[:2]])
    np.testing.assert_allclose(f(xv, np.array([0, 1]), np.array([2, 3]), 2), want, rtol=1e-12)
