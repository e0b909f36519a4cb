"""Errors (SPEC section 4): bad input gets a loopc exception that is also the
matching built-in, with a message naming the variable; a failed call leaves
every shared variable unchanged. Every test runs in PY and NUMBA.
"""
from contextlib import contextmanager

import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from loopc.errors import LoopcError
from loopc.tensor.shared_randomstreams import RandomStreams


pytestmark = pytest.mark.usefixtures("float64")


@contextmanager
def loopc_error(builtin, *words):
    """Expect an error that is a LoopcError and a `builtin`, whose message holds every word."""
    with pytest.raises(builtin) as info:
        yield info
    assert isinstance(info.value, LoopcError), type(info.value).__mro__
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# -- function inputs ------------------------------------------------------------------

def test_wrong_number_of_inputs(mode):
    x_in, y_in = T.vector("x_in"), T.vector("y_in")
    f = theano.function([x_in, y_in], x_in + y_in)
    with loopc_error(TypeError, "y_in", "2"):
        f(np.ones(2))
    with loopc_error(TypeError, "2", "3"):
        f(np.ones(2), np.ones(2), np.ones(2))
    with loopc_error(TypeError, "z_in"):
        f(np.ones(2), np.ones(2), z_in=np.ones(2))
    np.testing.assert_array_equal(f(np.ones(2), y_in=np.ones(2)), [2.0, 2.0])


def test_wrong_dtype_lossy(mode):
    ints, floats = T.ivector("ints"), T.fvector("floats")
    f = theano.function([ints, floats], [ints * 2, floats * 2])
    with loopc_error(TypeError, "ints", "int32", "float64"):
        f(np.ones(2), np.ones(2, "float32"))
    with loopc_error(TypeError, "floats", "float32", "float64"):
        f(np.ones(2, "int32"), np.ones(2))
    with loopc_error(TypeError, "ints", "int32", "int64"):
        f(np.ones(2, "int64"), np.ones(2, "float32"))
    # lossless conversions are accepted: a Python list of ints, an int16 array
    got = f([1, 2], np.ones(2, "int16"))
    assert got[0].dtype == np.int32 and got[1].dtype == np.float32


def test_wrong_ndim(mode):
    mat = T.matrix("mat")
    f = theano.function([mat], mat.sum())
    with loopc_error(TypeError, "mat", "ndim 2", "ndim 1"):
        f(np.ones(3))
    with loopc_error(TypeError, "mat", "ndim 3"):
        f(np.ones((2, 2, 2)))


def test_broadcastable_dim_given_other_length(mode):
    r = T.row("r")
    f = theano.function([r], r + 1)
    with loopc_error(ValueError, "r", "axis 0", "(3, 2)"):
        f(np.ones((3, 2)))
    assert f(np.ones((1, 2))).shape == (1, 2)


# -- shapes at call time -----------------------------------------------------------------

def test_elementwise_shape_mismatch(mode):
    left, right = T.vector("left"), T.vector("right")
    f = theano.function([left, right], left * right)
    with loopc_error(ValueError, "left", "right", "2", "3"):
        f(np.ones(2), np.ones(3))


def test_dot_shape_mismatch(mode):
    A, B, v = T.matrix("A"), T.matrix("B"), T.vector("v")
    f = theano.function([A, B, v], [T.dot(A, B), T.dot(A, v)])
    with loopc_error(ValueError, "A", "B", "(2, 3)", "(2, 4)"):
        f(np.ones((2, 3)), np.ones((2, 4)), np.ones(3))
    with loopc_error(ValueError, "A", "v"):
        f(np.ones((2, 3)), np.ones((3, 4)), np.ones(2))


def test_shape_mismatch_inside_scan(mode):
    X, bias = T.matrix("X"), T.vector("bias")
    out, _ = theano.scan(lambda x: x + bias, sequences=X)
    f = theano.function([X, bias], out)
    with loopc_error(ValueError, "bias"):
        f(np.ones((2, 3)), np.ones(2))


def test_shape_mismatch_of_constants_at_build_time():
    with loopc_error(ValueError, "c2", "c3"):
        T.constant(np.ones(2), name="c2") + T.constant(np.ones(3), name="c3")
    x = T.dvector("x")
    with loopc_error(ValueError, "c3", "[2, 3]"):  # x + c2 has c2's length, whatever x's
        (x + T.constant(np.ones(2), name="c2")) * T.constant(np.ones(3), name="c3")
    with loopc_error(ValueError, "c2", "c3"):  # through a dimshuffle
        T.constant(np.ones(2), name="c2").dimshuffle("x", 0) + T.constant(np.ones((1, 3)), name="c3")
    T.constant(np.ones((1, 3))) + T.constant(np.ones((2, 1)))  # broadcasting: no error


def test_index_out_of_bounds(mode):
    x, i, idx = T.vector("x"), T.iscalar("i"), T.ivector("idx")
    f = theano.function([x, i, idx], [x[i], x[idx]])
    ok = np.array([0, 2], "int32")
    for bad in (3, -4):
        with loopc_error(IndexError, "x", str(bad), "3"):
            f(np.ones(3), bad, ok)
    with loopc_error(IndexError, "x", "5"):
        f(np.ones(3), 0, np.array([0, 5], "int32"))
    g = theano.function([x], x[4])
    with loopc_error(IndexError, "x", "4"):
        g(np.ones(3))


# -- scan ----------------------------------------------------------------------------

def test_state_taps_need_enough_initial_rows(mode):
    init0 = T.vector("init0")  # symbolic: its length is checked at call time
    out, _ = theano.scan(lambda a, b: a + b, outputs_info=dict(initial=init0, taps=[-2, -1]), n_steps=3)
    f = theano.function([init0], out)
    with loopc_error(ValueError, "init0", "2", "1"):
        f(np.ones(1))
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 3.0, 5.0])
    # a constant initial value is checked when the scan is built
    with loopc_error(ValueError, "outputs_info[0]", "2", "1"):
        theano.scan(lambda a, b: a + b, outputs_info=dict(initial=T.constant(np.ones(1)), taps=[-2, -1]),
                    n_steps=3)


def test_sequence_shorter_than_n_steps(mode):
    seq, n = T.vector("seq"), T.iscalar("n")
    sym, _ = theano.scan(lambda x: x * 2, sequences=seq, n_steps=n)
    fixed, _ = theano.scan(lambda x: x * 2, sequences=seq, n_steps=5)
    taps, _ = theano.scan(lambda a, b: a * b, sequences=dict(input=seq, taps=[-1, 1]), n_steps=n)
    f_sym = theano.function([seq, n], sym)
    f_fixed = theano.function([seq], fixed)
    f_taps = theano.function([seq, n], taps)
    with loopc_error(ValueError, "seq", "3", "5"):
        f_sym(np.ones(3), 5)
    with loopc_error(ValueError, "seq", "3", "5"):
        f_fixed(np.ones(3))
    with loopc_error(ValueError, "seq", "5", "6"):  # 4 steps with taps [-1, 1] need 6 rows
        f_taps(np.ones(5), 4)
    assert f_taps(np.ones(5), 3).shape == (3,)


def test_negative_n_steps(mode):
    x0, n = T.scalar("x0"), T.iscalar("n")
    with loopc_error(ValueError, "n_steps", "-1"):
        theano.scan(lambda x: x * 2, outputs_info=x0, n_steps=-1)
    out, _ = theano.scan(lambda x: x * 2, outputs_info=x0, n_steps=n)
    f = theano.function([x0, n], out)
    with loopc_error(ValueError, "n_steps", "-2"):
        f(1.0, -2)


def test_scan_needs_sequences_or_n_steps(mode):
    x0 = T.scalar("x0")
    with loopc_error(ValueError, "sequences", "n_steps"):
        theano.scan(lambda x: x * 2, outputs_info=x0)


def test_fn_returns_wrong_number_of_outputs(mode):
    X, h0 = T.vector("X"), T.scalar("h0")
    with loopc_error(ValueError, "'acc_scan'", "2", "1"):
        theano.scan(lambda x, h: [h + x, h * x], sequences=X, outputs_info=h0, name="acc_scan")
    with loopc_error(ValueError, "1", "2"):
        theano.scan(lambda x, h: h + x, sequences=X, outputs_info=[h0, None])


def test_fn_returns_state_of_other_type(mode):
    X, h0, v0 = T.vector("X"), T.fscalar("h0"), T.vector("v0")
    with loopc_error(TypeError, "h0", "float32", "float64", "cast"):
        theano.scan(lambda x, h: h + x, sequences=X, outputs_info=h0)
    with loopc_error(TypeError, "v0"):  # one step of v0 is a vector, fn returned a scalar
        theano.scan(lambda x, v: v.sum() + x, sequences=X, outputs_info=v0)
    # int initial value (constant(0) is int64) with a float step
    with loopc_error(TypeError, "int64", "cast"):
        theano.scan(lambda x, s: s + x, sequences=X, outputs_info=T.constant(0))


def test_unknown_mode(mode):
    x = T.vector("x")
    with loopc_error(ValueError, "FASTEST"):
        theano.function([x], x * 2, mode="FASTEST")
    with loopc_error(ValueError, "BOGUS"):
        theano.config.mode = "BOGUS"  # rejected here or when a function is made
        theano.function([x], x * 2)


# -- a failed call leaves every shared variable unchanged -------------------------------------

def _snapshot(shared_vars):
    snap = []
    for sv in shared_vars:
        value = sv.get_value()
        if isinstance(value, np.random.RandomState):
            name, keys, pos, has_gauss, gauss = value.get_state()
            snap.append((name, keys.copy(), pos, has_gauss, gauss))
        else:
            snap.append(np.array(value, copy=True))
    return snap


def _same(a, b):
    for x, y in zip(a, b):
        if isinstance(x, tuple):
            if not (x[0] == y[0] and np.array_equal(x[1], y[1]) and x[2:] == y[2:]):
                return False
        elif not (x.dtype == y.dtype and np.array_equal(x, y)):
            return False
    return len(a) == len(b)


def test_failed_call_leaves_shared_variables_unchanged(mode):
    srng = RandomStreams(11)
    noise = srng.uniform(size=(2,))  # drawn each step inside the scan
    once = srng.normal(size=(2,))  # drawn once per call, outside the scan
    acc = theano.shared(np.array([1.0, 2.0]), name="acc")
    calls = theano.shared(np.int64(0), name="calls")
    X, i, W = T.matrix("X"), T.iscalar("i"), T.matrix("W")

    def step(x):
        new = acc + x * noise
        picked = x[T.cast(x[0], "int64")]  # an index error part-way when x[0] is out of range
        return new + picked, {acc: new}

    out, upd = theano.scan(step, sequences=X)
    upd[calls] = calls + 1
    f = theano.function([X, i, W], [out, T.dot(out + once, W)[i]], updates=upd)
    rngs = [sv for sv in f.shared if isinstance(sv.get_value(), np.random.RandomState)]
    assert len(rngs) == 2
    watched = [acc, calls] + rngs

    x_ok, w_ok = np.zeros((3, 2)), np.ones((2, 2))
    x_bad_row = np.zeros((3, 2))
    x_bad_row[2, 0] = 7  # the third step indexes out of bounds, after two steps updated acc and drew noise
    failing_calls = [
        ((x_ok, 5, w_ok), IndexError),                     # the very last op fails
        ((x_ok, 0, np.ones((3, 2))), ValueError),          # dot after the scan
        ((x_bad_row, 0, w_ok), IndexError),                # part-way through the scan
        ((np.zeros((3, 3)), 0, w_ok), ValueError),         # shape error in the scan's first step
        ((x_ok.astype("complex128"), 0, w_ok), TypeError),  # rejected before running
    ]
    for _ in range(2):  # before and after a successful call
        before = _snapshot(watched)
        for args, builtin in failing_calls:
            with loopc_error(builtin):
                f(*args)
            assert _same(_snapshot(watched), before), args
        f(x_ok, 0, w_ok)
        assert not _same(_snapshot(watched), before)
    assert calls.get_value() == 2


def test_failed_call_with_only_function_updates(mode):
    srng = RandomStreams(3)
    u = srng.uniform(size=(2,))
    total = theano.shared(np.zeros(2), name="total")
    x, i = T.vector("x"), T.iscalar("i")
    f = theano.function([x, i], (x + u)[i], updates=[(total, T.set_subtensor(total[0], total[0] + 1) + x)])
    watched = [total] + [sv for sv in f.shared if isinstance(sv.get_value(), np.random.RandomState)]
    before = _snapshot(watched)
    with loopc_error(IndexError, "2"):
        f(np.ones(2), 2)
    with loopc_error(ValueError, "3"):
        f(np.ones(3), 0)
    assert _same(_snapshot(watched), before)
    f(np.ones(2), 1)
    np.testing.assert_array_equal(total.get_value(), [2.0, 1.0])
