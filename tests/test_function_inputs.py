"""Theano's `In` (and `Param`, and the input tuples): defaults, keywords by name, states
updated after each call, and the errors of a call that binds wrongly; in every mode,
against the same arithmetic in NumPy. Errors are binding only, so PY checks them."""
import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from loopc import In
from loopc.errors import LoopcTypeError, LoopcValueError, UnsupportedError

ALL_MODES = ["REFERENCE", "PY", "NUMBA"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_default_value_and_keywords_by_name(mode):
    x, lr = T.dscalar("x"), T.dscalar("lr")
    f = theano.function([x, theano.In(lr, value=0.1)], x * lr, mode=mode)
    assert f(2.0) == 2.0 * 0.1
    assert f(x=2.0, lr=1.0) == 2.0
    assert f(2.0, 3.0) == 6.0
    assert f(lr=2.0, x=1.5) == 3.0
    assert f(2.0) == 2.0 * 0.1  # a given value is for its call only
    assert f[lr] == 0.1 and f["lr"] == 0.1 and f[1] == 0.1


@pytest.mark.parametrize("mode", ALL_MODES)
def test_an_in_named_otherwise_is_given_by_that_name(mode):
    # Theano's documentation example: (x + y) * w, y defaulting to 1, w to 2 under the name w_by_name
    x, y, w = T.dscalars("x", "y", "w")
    f = theano.function([x, In(y, value=1), In(w, value=2, name="w_by_name")], (x + y) * w, mode=mode)
    calls = [((33,), {}, (33 + 1) * 2), ((33, 2), {}, (33 + 2) * 2), ((33, 0, 1), {}, 33 * 1),
             ((33,), {"w_by_name": 1}, 34), ((33,), {"w_by_name": 1, "y": 0}, 33)]
    for args, kwargs, expected in calls:
        assert f(*args, **kwargs) == expected, (args, kwargs)
    with pytest.raises(LoopcTypeError, match="unknown keyword input w; its named inputs are w_by_name, x, y"):
        f(33, w=1)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_state_is_updated_after_each_call(mode):
    # Theano's example: s <- s + x * u after each call, x defaulting to 3
    u, x, s = T.dscalars("u", "x", "s")
    inc = theano.function([u, In(x, value=3), In(s, update=s + x * u, value=10.0)], s * 1.0, mode=mode)
    assert inc(5) == 10.0 and inc[s] == 10 + 3 * 5
    assert inc(3, 4) == 25.0 and inc[s] == 25 + 4 * 3
    assert inc[x] == 3.0  # the 4 was for that call only
    assert inc(3, 4, 7) == 7.0 and inc[s] == 7 + 4 * 3  # a given value replaces the stored one
    inc["s"] = 10
    assert inc(1) == 10.0 and inc[s] == 13.0


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_vector_state_accumulates(mode):
    v, acc = T.dvector("v"), T.dvector("acc")
    f = theano.function([v, In(acc, value=np.zeros(3), update=acc + v)], acc.sum(), mode=mode)
    rows = np.arange(12.0).reshape(4, 3) ** 1.5
    total = np.zeros(3)
    for row in rows:
        assert f(row) == total.sum()  # the output reads the value before the update
        total = total + row
        np.testing.assert_array_equal(f[acc], total)
    assert f[acc].dtype == np.float64 and f[acc].shape == (3,)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_param_and_input_tuples(mode):
    x, y, z, w = T.dscalar(), T.dscalar("y"), T.dscalar("z"), T.dscalar("w")
    # Theano: x, y required; z defaults to 42; w is a state starting at 0, w <- w + x
    fn = theano.function([x, y, theano.Param(z, default=42), ((w, w + x), 0)], x + y + z, mode=mode)
    assert fn(1, 2) == 45.0 and fn[w] == 1.0
    assert fn(1, y=2) == 45.0 and fn[w] == 2.0
    assert fn(1, 2, 3) == 6.0 and fn[w] == 3.0
    assert fn(1, z=3, y=2) == 6.0 and fn[w] == 4.0
    assert fn(1, 2, w=400) == 45.0 and fn[w] == 401.0
    g = theano.function([("renamed", x), (y, 5.0)], x - y, mode=mode)
    assert g(renamed=1.0) == -4.0 and g(1.0, 1.0) == 0.0
    assert theano.compile.In is In and theano.compile.Param is theano.Param


def test_a_state_without_value_is_stored_by_its_first_call():
    x = T.dscalar("x")
    f = theano.function([In(x, update=x + 1)], x * 2, mode="PY")
    with pytest.raises(LoopcTypeError, match=r"input 0 \(x\) is missing and has no stored value"):
        f()
    assert f(1.0) == 2.0 and f() == 4.0 and f[x] == 3.0


def test_a_floatx_default_from_a_python_float():
    # SdA.py: theano.In(T.scalar('lr'), value=0.1) with floatX=float32
    saved = theano.config.floatX
    theano.config.floatX = "float32"
    try:
        x, lr = T.vector("x"), T.scalar("lr")
        f = theano.function([x, In(lr, value=0.1)], x * lr, mode="PY")
    finally:
        theano.config.floatX = saved
    np.testing.assert_array_equal(f(np.ones(2, "float32")), np.float32(0.1) * np.ones(2, "float32"))
    assert f[lr].dtype == np.float32


def test_calls_that_bind_wrongly_name_the_input():
    x, lr, k = T.dscalar("x"), T.dscalar("lr"), T.dscalar("k")
    f = theano.function([x, In(lr, value=0.1), In(k, value=2.0, implicit=True)], x * lr * k, mode="PY")
    with pytest.raises(LoopcTypeError, match=r"takes 2 inputs \(x, lr=0.1\), got 0: input 0 \(x\) is missing"):
        f()
    with pytest.raises(LoopcTypeError, match=r"lr=0.1.*got 1: input 0 \(x\) is missing"):
        f(lr=1.0)
    with pytest.raises(LoopcTypeError, match=r"two values for input 1 \(lr\)"):
        f(1.0, 2.0, lr=3.0)
    with pytest.raises(LoopcTypeError, match="at most 2 inputs"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(LoopcTypeError, match="input k is implicit"):
        f(1.0, k=3.0)
    assert f(1.0) == 0.2
    with pytest.raises(LoopcTypeError, match=r"input 1 \(lr\) expects a float64 scalar .* got an array of ndim 1"):
        f(1.0, [1.0, 2.0])
    with pytest.raises(LoopcValueError, match="no input 'q'"):
        f["q"]
    with pytest.raises(LoopcValueError, match="has no stored value to set"):
        f[x] = 1.0


def test_in_arguments_that_are_wrong_name_the_input():
    x, s, v = T.dscalar("x"), T.dscalar("s"), T.dvector("v")
    with pytest.raises(LoopcTypeError, match=r"In\(s, update=...\): the update is a float64 vector"):
        theano.function([x, In(s, value=0.0, update=s + v)], x, mode="PY", on_unused_input="ignore")
    with pytest.raises(LoopcTypeError, match=r"the value of In\(s\) expects a float64 scalar"):
        theano.function([x, In(s, value=[1.0, 2.0])], x + s, mode="PY")
    with pytest.raises(LoopcValueError, match="implicit input takes its stored value"):
        In(s, implicit=True)
    with pytest.raises(UnsupportedError, match="loopc.shared"):
        In(s, shared=True)
    with pytest.raises(LoopcValueError, match="given twice"):
        theano.function([x, In(x, value=1.0)], x * 2, mode="PY")
    with pytest.raises(LoopcTypeError, match="input 1 must be a symbolic variable, an In"):
        theano.function([x, 3.0], x, mode="PY")
    with pytest.raises(LoopcTypeError, match="constants, shared variables"):
        theano.function([In(theano.shared(1.0), value=2.0)], x, mode="PY", on_unused_input="ignore")


def test_strict_and_allow_downcast_per_input():
    x, y = T.fscalar("x"), T.fscalar("y")
    f = theano.function([In(x, strict=True), In(y, allow_downcast=True)], x + y, mode="PY")
    assert f(np.float32(1.5), 0.1) == np.float32(1.5) + np.float32(0.1)
    with pytest.raises(LoopcTypeError, match=r"input 0 \(x\) is strict .* float32 only, got dtype float16"):
        f(np.float16(1.0), 0.1)
    with pytest.raises(LoopcTypeError, match="lose precision"):
        theano.function([x], x * 2, mode="PY")(0.1)  # the function's own rule still applies elsewhere


def test_positional_values_skip_implicit_inputs():
    x, k, y = T.dscalars("x", "k", "y")
    f = theano.function([x, In(k, value=2.0, implicit=True), y], (x - y) * k, mode="PY")
    assert f(5.0, 3.0) == (5.0 - 3.0) * 2.0
    f[k] = 10.0
    assert f(5.0, y=4.0) == 10.0
