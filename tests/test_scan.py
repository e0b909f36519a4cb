"""scan semantics, rule by rule (SPEC section 1, "scan semantics").

Every test runs in PY and NUMBA (the `mode` fixture) and compares loopc's
result with a plain NumPy loop written out in the test. The tests of the scan
passes (save_memory, push_out) run in REFERENCE mode too, and those of the ring
buffers that `Scan.keep` asks for also on the lowering of a graph given directly.
"""
import copy
import dataclasses
import re
import tracemalloc

import numpy as np
import pytest

import loopc as theano
import loopc.tensor as T
from loopc.backends import Options, compile_graph
from loopc.errors import LoopcError
from loopc.ir.graph import Graph
from loopc.ir.printer import format_graph
from loopc.reference import evaluate
from loopc.tensor.shared_randomstreams import RandomStreams

RTOL = 1e-12


pytestmark = pytest.mark.usefixtures("float64")


def close(got, want, rtol=RTOL, atol=1e-13):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def arange(*shape, dtype="float64"):
    return (np.arange(int(np.prod(shape))).reshape(shape) * 0.5 + 1).astype(dtype)


# -- sequences and their taps ----------------------------------------------------------

def test_sequence_taps_negative_and_positive(mode):
    X = T.vector("X")
    out, _ = theano.scan(lambda a, b: a * 10 + b, sequences=dict(input=X, taps=[-3, 2]))
    f = theano.function([X], out)
    x = arange(10)
    want = np.array([x[t] * 10 + x[t + 5] for t in range(len(x) - 5)])
    close(f(x), want)
    # exactly hi - lo rows: one step; fewer: zero steps are allowed by the taps alone
    close(f(x[:6]), want[:1])


def test_sequence_taps_order_and_int_tap(mode):
    X, Y = T.vector("X"), T.matrix("Y")
    # taps in the order given (2 before -1), an int tap, a plain sequence: shortest decides
    out, _ = theano.scan(lambda a, b, c, y: a - 2 * b + c * y.sum(),
                         sequences=[dict(input=X, taps=[2, -1]), dict(input=X, taps=1), Y])
    f = theano.function([X, Y], out)
    x, y = arange(8), arange(7, 2)
    for n_rows in (7, 4):
        yy = y[:n_rows]
        n = min(len(x) - 3, len(x) - 1, len(yy))
        want = np.array([x[t + 3] - 2 * x[t] + x[t + 1] * yy[t].sum() for t in range(n)])
        close(f(x, yy), want)


# -- states ---------------------------------------------------------------------

def test_state_taps(mode):
    x0, y0 = T.vector("x0"), T.vector("y0")
    X = T.vector("X")
    (xs, ys), _ = theano.scan(
        lambda s, x2, x1, y1, y3: [x2 + 2 * x1 + s, y3 - 0.5 * y1 + s],
        sequences=X,
        outputs_info=[dict(initial=x0, taps=[-2, -1]), dict(initial=y0, taps=[-1, -3])])
    f = theano.function([X, x0, y0], [xs, ys])
    seq, a0, b0 = arange(6), np.array([1.0, 2.0]), np.array([3.0, -1.0, 4.0])
    xb, yb = list(a0), list(b0)
    for s in seq:
        xb.append(xb[-2] + 2 * xb[-1] + s)
        yb.append(yb[-3] - 0.5 * yb[-1] + s)
    got_x, got_y = f(seq, a0, b0)
    close(got_x, np.array(xb[2:]))
    close(got_y, np.array(yb[3:]))


def test_initial_with_more_rows_than_needed(mode):
    init = T.vector("init")
    sym, _ = theano.scan(lambda a, b: a + b, outputs_info=dict(initial=init, taps=[-2, -1]), n_steps=4)
    const, _ = theano.scan(lambda a, b: a + b, n_steps=4,
                           outputs_info=dict(initial=T.constant(np.array([1.0, 10.0, 100.0])), taps=[-2, -1]))
    f = theano.function([init], [sym, const])
    want = np.array([11.0, 21.0, 32.0, 53.0])  # from 1 and 10; 100 never used
    got_sym, got_const = f(np.array([1.0, 10.0, 100.0]))
    close(got_sym, want)
    close(got_const, want)


def test_state_matrix_taps_rows(mode):
    """A state of vectors with taps [-2, -1]: initial is a matrix of rows."""
    init = T.matrix("init")
    out, _ = theano.scan(lambda a, b: a * 0.5 + b, outputs_info=dict(initial=init, taps=[-2, -1]), n_steps=3)
    f = theano.function([init], out)
    rows = [np.array([1.0, 2.0]), np.array([3.0, 5.0])]
    for _ in range(3):
        rows.append(rows[-2] * 0.5 + rows[-1])
    close(f(np.array(rows[:2] + [np.array([9.0, 9.0])])), np.array(rows[2:]))


def test_none_outputs_mixed_with_states(mode):
    X, h0 = T.vector("X"), T.scalar("h0")

    def step(x, h):
        return x * 2, h + x, h * x

    (a, h, c), _ = theano.scan(step, sequences=X, outputs_info=[None, h0, dict()])
    f = theano.function([X, h0], [a, h, c])
    x = arange(5)
    hs, cs, cur = [], [], 1.5
    for v in x:
        cs.append(cur * v)
        cur = cur + v
        hs.append(cur)
    got = f(x, 1.5)
    close(got[0], x * 2)
    close(got[1], np.array(hs))
    close(got[2], np.array(cs))


def test_outputs_info_forms(mode):
    """dict(initial=v, taps=[-1]) is the same as v (one step); [] means no state at all."""
    v0, X = T.vector("v0"), T.vector("X")
    a, _ = theano.scan(lambda h: h * 2 + 1, outputs_info=dict(initial=v0, taps=[-1]), n_steps=3)
    (b, c), _ = theano.scan(lambda x: [x + 1, x * 2], sequences=X, outputs_info=[])
    f = theano.function([v0, X], [a, b, c])
    h, want = np.array([1.0, -1.0]), []
    for _ in range(3):
        h = h * 2 + 1
        want.append(h)
    got = f(np.array([1.0, -1.0]), arange(4))
    close(got[0], np.array(want))
    close(got[1], arange(4) + 1)
    close(got[2], arange(4) * 2)


def test_computed_sequences_and_chained_scans(mode):
    X = T.vector("X")
    first, _ = theano.scan(lambda a, b: a * b + X.sum(), sequences=[X[1:], X[::-1]])
    second, _ = theano.scan(lambda y, s: s * 0.5 + y, sequences=first, outputs_info=T.constant(0.0))
    f = theano.function([X], [first, second])
    x = arange(5)
    want_first = x[1:] * x[::-1][:4] + x.sum()
    s, want_second = 0.0, []
    for y in want_first:
        s = s * 0.5 + y
        want_second.append(s)
    got = f(x)
    close(got[0], want_first)
    close(got[1], np.array(want_second))


def test_multiple_states(mode):
    a0, b0, m0 = T.scalar("a0"), T.scalar("b0"), T.vector("m0")
    (a, b, m), _ = theano.scan(lambda a, b, m: [b, a + b, m * a + b], outputs_info=[a0, b0, m0], n_steps=6)
    f = theano.function([a0, b0, m0], [a, b, m])
    va, vb, vm = 0.0, 1.0, np.array([1.0, -1.0])
    want_a, want_b, want_m = [], [], []
    for _ in range(6):
        va, vb, vm = vb, va + vb, vm * va + vb
        want_a.append(va), want_b.append(vb), want_m.append(vm)
    got = f(0.0, 1.0, np.array([1.0, -1.0]))
    close(got[0], np.array(want_a))
    close(got[1], np.array(want_b))
    close(got[2], np.array(want_m))


def test_scalar_state(mode):
    X, s0 = T.vector("X"), T.scalar("s0")
    out, _ = theano.scan(lambda x, s: s * 0.5 + x, sequences=X, outputs_info=s0)
    f = theano.function([X, s0], out)
    x, s, want = arange(5), 2.0, []
    for v in x:
        s = s * 0.5 + v
        want.append(s)
    close(f(x, 2.0), np.array(want))


def test_int_state(mode):
    X, s0 = T.ivector("X"), T.iscalar("s0")
    out, _ = theano.scan(lambda x, s: (s * 3 + x) % 1000, sequences=X, outputs_info=s0)
    f = theano.function([X, s0], out)
    x = np.arange(1, 8, dtype="int32")
    s, want = np.int32(7), []
    for v in x:
        s = (s * np.int32(3) + v) % np.int32(1000)
        want.append(s)
    close(f(x, np.int32(7)), np.array(want, dtype="int32"))


def test_float32_state(mode):
    X, h0 = T.fmatrix("X"), T.fvector("h0")
    out, _ = theano.scan(lambda x, h: T.tanh(h * 0.5 + x), sequences=X, outputs_info=h0)
    f = theano.function([X, h0], out)
    x, h = (arange(4, 3, dtype="float32") * 0.1).astype("float32"), np.array([0.1, -0.2, 0.3], "float32")
    want = []
    for row in x:
        h = np.tanh(h * np.float32(0.5) + row)
        want.append(h)
    close(f(x, np.array([0.1, -0.2, 0.3], "float32")), np.array(want, "float32"), rtol=1e-5, atol=1e-6)


def test_last_step_is_the_only_output(mode):
    A, k = T.vector("A"), T.iscalar("k")
    result, _ = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    f = theano.function([A, k], result[-1])
    a = np.array([1.5, -2.0, 0.5])
    for steps in (1, 7):
        close(f(a, steps), a ** steps)


# -- non-sequences and captures -----------------------------------------------------------

def test_explicit_non_sequences(mode):
    X, h0, W, c = T.matrix("X"), T.vector("h0"), T.matrix("W"), T.scalar("c")
    out, _ = theano.scan(lambda x, h, W, c: T.dot(h, W) * c + x, sequences=X, outputs_info=h0,
                         non_sequences=[W, c])
    f = theano.function([X, h0, W, c], out)
    x, h, w = arange(4, 2) * 0.1, np.array([1.0, -1.0]), np.array([[0.5, 0.1], [0.2, 0.3]])
    want = []
    for row in x:
        h = h.dot(w) * 0.9 + row
        want.append(h)
    close(f(x, np.array([1.0, -1.0]), w, 0.9), np.array(want))


def test_implicit_captures(mode):
    X, W, b = T.matrix("X"), T.matrix("W"), T.vector("b")
    Wt = W.T * 2 + b.sum()  # a computed outer expression, used inside fn without being passed
    out, _ = theano.scan(lambda x: T.dot(x, Wt) + b, sequences=X)
    f = theano.function([X, W, b], out)
    x, w, bb = arange(3, 2), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5])
    wt = w.T * 2 + bb.sum()
    close(f(x, w, bb), np.array([row.dot(wt) + bb for row in x]))


def test_strict_rejects_implicit_shared():
    W = theano.shared(np.eye(2), name="W_strict")
    X = T.matrix("X")
    with pytest.raises(LoopcError, match="W_strict"):
        theano.scan(lambda x: T.dot(x, W), sequences=X, strict=True)
    # passed explicitly, strict=True is fine
    theano.scan(lambda x, w: T.dot(x, w), sequences=X, non_sequences=W, strict=True)


def test_strict_passed_shared(mode):
    W = theano.shared(np.array([[1.0, 2.0], [3.0, 4.0]]), name="W")
    X = T.matrix("X")
    out, _ = theano.scan(lambda x, w: T.dot(x, w), sequences=X, non_sequences=W, strict=True)
    f = theano.function([X], out)
    x = arange(3, 2)
    close(f(x), x.dot(W.get_value()))


# -- n_steps ----------------------------------------------------------------------

def test_n_steps_int(mode):
    x0 = T.vector("x0")
    out, _ = theano.scan(lambda x: x * 2 + 1, outputs_info=x0, n_steps=4)
    f = theano.function([x0], out)
    x, want = np.array([1.0, 0.0]), []
    for _ in range(4):
        x = x * 2 + 1
        want.append(x)
    close(f(np.array([1.0, 0.0])), np.array(want))


def test_n_steps_symbolic_and_zero(mode):
    x0, s0, n, X = T.vector("x0"), T.scalar("s0"), T.iscalar("n"), T.vector("X")

    def step(x, state, s):
        return state * 2 + x, s + x, state.sum() + x

    (states, scalars, plain), _ = theano.scan(step, sequences=X, outputs_info=[x0, s0, None], n_steps=n)
    f = theano.function([X, x0, s0, n], [states, scalars, plain])
    xs, v0 = arange(6), np.array([1.0, 0.0, -1.0])
    for steps in (0, 1, 3, 6):
        got = f(xs, v0, 0.5, steps)
        state, s, want_states, want_s, want_plain = v0, 0.5, [], [], []
        for t in range(steps):
            want_plain.append(state.sum() + xs[t])
            state, s = state * 2 + xs[t], s + xs[t]
            want_states.append(state)
            want_s.append(s)
        close(got[0], np.array(want_states).reshape(steps, 3))  # (0, 3) when no steps
        close(got[1], np.array(want_s).reshape(steps))
        assert got[2].ndim == 1 and len(got[2]) == steps
        close(got[2], np.array(want_plain).reshape(steps))


def test_n_steps_zero_int(mode):
    m0 = T.matrix("m0")
    out, _ = theano.scan(lambda m: m + 1, outputs_info=m0, n_steps=0)
    f = theano.function([m0], out)
    got = f(np.ones((2, 3)))
    assert got.shape == (0, 2, 3) and got.dtype == np.float64


def test_n_steps_cuts_sequence(mode):
    X = T.vector("X")
    out, _ = theano.scan(lambda a, b: a + 10 * b, sequences=dict(input=X, taps=[0, 1]), n_steps=3)
    f = theano.function([X], out)
    x = arange(8)
    close(f(x), np.array([x[t] + 10 * x[t + 1] for t in range(3)]))


# -- go_backwards -----------------------------------------------------------------

def test_go_backwards(mode):
    X, h0 = T.vector("X"), T.scalar("h0")
    out, _ = theano.scan(lambda x, h: h * 2 + x, sequences=X, outputs_info=h0, go_backwards=True)
    f = theano.function([X, h0], out)
    x, h, want = arange(5), 1.0, []
    for v in x[::-1]:
        h = h * 2 + v
        want.append(h)
    close(f(x, 1.0), np.array(want))  # out[0] comes from the last element


def test_go_backwards_with_taps(mode):
    X = T.vector("X")
    out, _ = theano.scan(lambda a, b, c: a + 10 * b + 100 * c, sequences=dict(input=X, taps=[-1, 0, 2]),
                         go_backwards=True)
    f = theano.function([X], out)
    x = arange(7)
    # each tap's slice is cut in x's order, then reversed: x[0:4], x[1:5], x[3:7], each [::-1]
    a, b, c = x[0:4][::-1], x[1:5][::-1], x[3:7][::-1]
    close(f(x), np.array([a[t] + 10 * b[t] + 100 * c[t] for t in range(len(x) - 3)]))


def test_go_backwards_n_steps(mode):
    X, h0 = T.vector("X"), T.scalar("h0")
    out, _ = theano.scan(lambda a, b, h: h * a - b, sequences=dict(input=X, taps=[0, 1]), outputs_info=h0,
                         n_steps=3, go_backwards=True)
    f = theano.function([X, h0], out)
    x, h, want = arange(7), 0.5, []
    # the first 3 rows of x[0:6][::-1] (tap 0) and of x[1:7][::-1] (tap 1)
    for t in range(3):
        h = h * x[5 - t] - x[6 - t]
        want.append(h)
    close(f(x, 0.5), np.array(want))


# tap sets negative, positive and mixed, with and without 0, in and out of order
TAP_SETS = [[-1, 0], [0, -1], [-2, -1], [1, 2], [-1, 2], [2], [-2], [0, 3], [3, -2, 0], [-3, 1]]


def theano_slices(x, taps, go_backwards):
    """Theano's sequence rule written out: tap k's slice x[k - lo : len(x) - (hi - k)] in x's
    own order, then reversed with go_backwards; step t reads row t of each."""
    lo, hi = min(min(taps), 0), max(max(taps), 0)
    slices = [x[k - lo:len(x) - (hi - k)] for k in taps]
    return [s[::-1] for s in slices] if go_backwards else slices


def tap_code(*taps):
    """One number from a step's taps: tap j of a sequence weighs 10 ** j."""
    return sum(10.0 ** j * v for j, v in enumerate(taps))


def tap_sets_scan(sequences, go_backwards, n_steps=None):
    """A scan with one sequence per tap set, one output per sequence (its taps' `tap_code`)."""
    def step(*args):
        outs, args = [], list(args)
        for taps in TAP_SETS:
            outs.append(tap_code(*args[:len(taps)]))
            del args[:len(taps)]
        return outs
    return theano.scan(step, sequences=[dict(input=X, taps=taps) for X, taps in zip(sequences, TAP_SETS)],
                       n_steps=n_steps, go_backwards=go_backwards)[0]


@pytest.mark.parametrize("go_backwards", [False, True])
def test_sequence_taps_by_theanos_rule_shortest_decides(any_mode, go_backwards):
    """Each sequence is as long as n steps need with its taps, so all of them decide n."""
    seqs = [T.vector(f"X{i}") for i in range(len(TAP_SETS))]
    f = theano.function(seqs, tap_sets_scan(seqs, go_backwards))
    for n in (4, 1, 0):
        xs = [arange(n + max(max(taps), 0) - min(min(taps), 0)) * (i + 1) for i, taps in enumerate(TAP_SETS)]
        for got, x, taps in zip(f(*xs), xs, TAP_SETS):
            slices = theano_slices(x, taps, go_backwards)
            close(got, np.array([tap_code(*(s[t] for s in slices)) for t in range(n)]).reshape(n))


@pytest.mark.parametrize("go_backwards", [False, True])
def test_sequence_taps_by_theanos_rule_n_steps_first_rows(any_mode, go_backwards):
    """n_steps takes the first n rows of each (reversed) slice, whatever the sequence's length."""
    X, k = T.vector("X"), T.iscalar("k")
    f = theano.function([X, k], tap_sets_scan([X] * len(TAP_SETS), go_backwards, n_steps=k))
    x = arange(10)
    for n in (0, 2, 4):  # the widest tap set, [3, -2, 0], allows 5 steps of 10 rows
        for got, taps in zip(f(x, n), TAP_SETS):
            slices = theano_slices(x, taps, go_backwards)
            close(got, np.array([tap_code(*(s[t] for s in slices)) for t in range(n)]).reshape(n))
    with pytest.raises(LoopcError, match="sequence 8 .* has 10 rows; 6 steps with its taps need 11"):
        f(x, 6)


def test_sequence_taps_by_theanos_rule_with_a_state_and_rows(any_mode, optimizer):
    """Matrix rows through a two-tap state, going backwards (foldr-style), products pushed out."""
    X, W, h0 = T.matrix("X"), T.matrix("W"), T.matrix("h0")
    out, _ = theano.scan(lambda a, b, h2, h1: h1 * 0.5 + T.dot(a, W) - h2 * T.dot(b, W),
                         sequences=dict(input=X, taps=[-2, 1]), outputs_info=dict(initial=h0, taps=[-2, -1]),
                         go_backwards=True)
    f = theano.function([X, W, h0], out)
    x, w, init = arange(7, 3) * 0.1, arange(3, 2) * -0.2, arange(2, 2) * 0.3
    a, b = theano_slices(x, [-2, 1], True)
    rows = list(init)
    for t in range(len(x) - 3):
        rows.append(rows[-1] * 0.5 + a[t].dot(w) - rows[-2] * b[t].dot(w))
    close(f(x, w, init), np.array(rows[2:]))


# -- until --------------------------------------------------------------------------

def test_until(mode):
    x0, limit = T.scalar("x0"), T.scalar("limit")

    def step(x):
        new = x * 2
        return [new, new + 0.5], theano.until(new > limit)

    (xs, ys), _ = theano.scan(step, outputs_info=[x0, None], n_steps=50)
    f = theano.function([x0, limit], [xs, ys])
    for limit_value in (100.0, 1e30):
        x, want = 1.0, []
        for _ in range(50):
            x = x * 2
            want.append(x)
            if x > limit_value:
                break  # the step where the condition holds is kept
        got = f(1.0, limit_value)
        close(got[0], np.array(want))
        close(got[1], np.array(want) + 0.5)


def test_until_with_sequence(mode):
    X = T.vector("X")
    out, _ = theano.scan(lambda x, s: (s + x, theano.until(T.eq(x, 0))), sequences=X, outputs_info=T.constant(0.0))
    f = theano.function([X], out)
    x = np.array([1.0, 2.0, 0.0, 4.0, 5.0])
    close(f(x), np.array([1.0, 3.0, 3.0]))
    close(f(x[3:]), np.array([4.0, 9.0]))


# -- shared-variable updates returned by fn ---------------------------------------------------

def _accumulate(shape_kind, x, start):
    """A NumPy loop: acc += x[t] at each step; returns (values after each step, final)."""
    acc, seen = np.array(start, dtype="float64"), []
    for v in x:
        acc = acc + v
        seen.append(acc)
    return np.array(seen), acc


@pytest.mark.parametrize("form", ["dict", "pairs"])
def test_updates_only(mode, form):
    acc = theano.shared(np.float64(1.0), name="acc")
    X = T.vector("X")

    def step(x):
        return {acc: acc + x} if form == "dict" else [(acc, acc + x)]

    outs, upd = theano.scan(step, sequences=X)
    assert list(upd) == [acc]
    f = theano.function([X], [], updates=upd)
    x = arange(4)
    assert f(x) == []
    _, final = _accumulate("scalar", x, 1.0)
    close(acc.get_value(), final)
    f(x)
    _, final = _accumulate("scalar", x, final)
    close(acc.get_value(), final)


def test_outputs_and_updates(mode):
    acc = theano.shared(np.array([0.0, 1.0]), name="acc")
    X = T.vector("X")

    def step(x):
        new = acc + x
        return new * 2, {acc: new}

    out, upd = theano.scan(step, sequences=X)
    f = theano.function([X], out, updates=upd)
    x = arange(3)
    seen, final = _accumulate("vector", x, [0.0, 1.0])
    close(f(x), seen * 2)
    close(acc.get_value(), final)


def test_outputs_and_until(mode):
    X = T.vector("X")
    out, _ = theano.scan(lambda x: (x * 3, theano.until(x > 2)), sequences=X)
    f = theano.function([X], out)
    close(f(np.array([1.0, 2.0, 3.0, 4.0])), np.array([3.0, 6.0, 9.0]))


def test_updates_and_until(mode):
    acc = theano.shared(np.float64(0.0), name="acc")
    X = T.vector("X")

    def step(x):
        new = acc + x
        return {acc: new}, theano.until(new > 5)

    _, upd = theano.scan(step, sequences=X)
    f = theano.function([X], [], updates=upd)
    f(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))  # 1, 3, 6: stops after the third step
    close(acc.get_value(), np.float64(6.0))


def test_outputs_updates_and_until(mode):
    acc = theano.shared(np.float64(0.0), name="acc")
    count = theano.shared(np.int64(0), name="count")
    X, h0 = T.vector("X"), T.scalar("h0")

    def step(x, h):
        new = acc + x
        return [h + new, new * 10], [(acc, new), (count, count + 1)], theano.until(new > 5)

    (hs, tens), upd = theano.scan(step, sequences=X, outputs_info=[h0, None])
    f = theano.function([X, h0], [hs, tens], updates=upd)
    got = f(np.array([1.0, 2.0, 3.0, 4.0]), 0.0)
    close(got[0], np.array([1.0, 4.0, 10.0]))
    close(got[1], np.array([10.0, 30.0, 60.0]))
    close(acc.get_value(), np.float64(6.0))
    assert count.get_value() == 3


# -- return_list, map / reduce / foldl / foldr --------------------------------------------------

def test_return_list(mode):
    X = T.vector("X")
    outs, _ = theano.scan(lambda x: x + 1, sequences=X, return_list=True)
    assert isinstance(outs, list) and len(outs) == 1
    f = theano.function([X], outs)
    got = f(arange(3))
    assert isinstance(got, list) and len(got) == 1
    close(got[0], arange(3) + 1)


def test_map_reduce_foldl_foldr(mode):
    X, Y, s0 = T.vector("X"), T.vector("Y"), T.scalar("s0")
    mapped, _ = theano.map(lambda x, y: x * y + 1, [X, Y])
    reduced, _ = theano.reduce(lambda x, acc: acc * 2 + x, X, s0)
    left, _ = theano.foldl(lambda x, acc: acc * 2 + x, X, s0)
    right, _ = theano.foldr(lambda x, acc: acc * 2 + x, X, s0)
    f = theano.function([X, Y, s0], [mapped, reduced, left, right])
    x, y = arange(5), arange(5) - 2

    def fold(seq, acc):
        for v in seq:
            acc = acc * 2 + v
        return np.float64(acc)

    got = f(x, y, 0.25)
    close(got[0], x * y + 1)
    close(got[1], fold(x, 0.25))
    close(got[2], fold(x, 0.25))
    close(got[3], fold(x[::-1], 0.25))


# -- nesting ------------------------------------------------------------------------------

def test_nested_scan(mode):
    M, h0 = T.matrix("M"), T.scalar("h0")

    def outer_step(row, h):
        inner, _ = theano.scan(lambda v, s: s * 0.5 + v + h, sequences=row, outputs_info=T.zeros_like(h))
        return inner[-1]

    out, _ = theano.scan(outer_step, sequences=M, outputs_info=h0)
    f = theano.function([M, h0], out)
    m, h, want = arange(4, 3) * 0.1, 1.0, []
    for row in m:
        s = 0.0
        for v in row:
            s = s * 0.5 + v + h
        h = s
        want.append(h)
    close(f(m, 1.0), np.array(want))


# -- random variables -----------------------------------------------------------------------

def _theano_streams(seed, n):
    """Theano's RandomStreams: each random variable gets RandomState(seedgen.randint(2**30))."""
    seedgen = np.random.RandomState(seed)
    return [np.random.RandomState(seedgen.randint(2 ** 30)) for _ in range(n)]


def test_random_inside_fn_redrawn_each_step(mode):
    srng = RandomStreams(42)
    u = srng.uniform(size=(3,))  # made outside fn, used inside: redrawn each step
    X = T.matrix("X")
    out, upd = theano.scan(lambda x: x + u + srng.normal(size=(3,)), sequences=X)  # normal: made inside
    assert len(upd) == 2 and all(isinstance(sv.get_value(), np.random.RandomState) for sv in upd)
    f = theano.function([X], out, updates=upd)
    rng_u, rng_n = _theano_streams(42, 2)
    x = arange(4, 3)
    for _ in range(2):  # the stream continues from call to call
        want = np.array([row + rng_u.uniform(0.0, 1.0, size=(3,)) + rng_n.normal(0.0, 1.0, size=(3,))
                         for row in x])
        close(f(x), want)


def test_random_in_nested_scan(mode):
    srng = RandomStreams(5)
    M = T.matrix("M")

    def outer_step(row):
        inner, upd = theano.scan(lambda v: v + srng.uniform(), sequences=row)
        return inner, upd  # the inner rng update carries the stream from row to row

    out, upd = theano.scan(outer_step, sequences=M)
    f = theano.function([M], out, updates=upd)
    (rng,) = _theano_streams(5, 1)
    m = arange(2, 3)
    for _ in range(2):
        close(f(m), np.array([[v + rng.uniform(0.0, 1.0, size=()) for v in row] for row in m]))


def test_random_as_non_sequence_drawn_once(mode):
    srng = RandomStreams(7)
    u = srng.uniform(size=(3,))
    X = T.matrix("X")
    out, upd = theano.scan(lambda x, u: x * u, sequences=X, non_sequences=u)
    f = theano.function([X], out, updates=upd)
    (rng_u,) = _theano_streams(7, 1)
    x = arange(4, 3)
    for _ in range(2):
        draw = rng_u.uniform(0.0, 1.0, size=(3,))
        close(f(x), x * draw)


def rng_states(svs):
    return [sv.get_value().get_state() for sv in svs]


def same_states(a, b):
    return all(x[0] == y[0] and np.array_equal(x[1], y[1]) and x[2:] == y[2:] for x, y in zip(a, b))


def test_random_draws_in_a_scan_advance_the_stream_only_through_its_updates(any_mode):
    """Without the updates scan returned, every call draws the same numbers and the states stay;
    with them, each call continues the stream."""
    srng = RandomStreams(21)
    u = srng.uniform(size=(3,))  # made outside fn, redrawn each step
    X = T.matrix("X")
    out, upd = theano.scan(lambda x: x * u + srng.normal(size=(3,)), sequences=X)
    rngs = list(upd)
    fixed = theano.function([X], out)
    advancing = theano.function([X], out, updates=upd)
    rng_u, rng_n = _theano_streams(21, 2)
    x = arange(2, 3)

    def next_draws():
        return np.array([row * rng_u.uniform(0.0, 1.0, size=(3,)) + rng_n.normal(0.0, 1.0, size=(3,))
                         for row in x])

    start = rng_states(rngs)
    first = next_draws()
    close(fixed(x), first)
    close(fixed(x), first)
    assert same_states(rng_states(rngs), start)
    close(advancing(x), first)
    assert not same_states(rng_states(rngs), start)
    second = next_draws()
    close(advancing(x), second)
    third = next_draws()
    close(fixed(x), third)  # from where the stream now is, and again
    close(fixed(x), third)


def test_random_draws_outside_a_scan_advance_by_default(any_mode):
    """A draw the function computes itself advances its state (its default update) unless
    no_default_updates; a scan redrawing it starts from the state the call starts with."""
    srng = RandomStreams(33)
    e = srng.normal(size=(2,))
    d = srng.uniform(size=(2,))
    out, _ = theano.scan(lambda: d * 2, n_steps=3)  # d redrawn each step; scan's updates left out
    f = theano.function([], [e, out, d])
    frozen = theano.function([], e, no_default_updates=True)
    rng_e, rng_d = _theano_streams(33, 2)
    for _ in range(2):
        got_e, got_out, got_d = f()
        close(got_e, rng_e.normal(0.0, 1.0, size=(2,)))
        steps = copy.deepcopy(rng_d)
        close(got_out, np.array([steps.uniform(0.0, 1.0, size=(2,)) * 2 for _ in range(3)]))
        close(got_d, rng_d.uniform(0.0, 1.0, size=(2,)))  # one draw on: d's default update only
    want = copy.deepcopy(rng_e).normal(0.0, 1.0, size=(2,))
    close(frozen(), want)
    close(frozen(), want)


def test_givens_rewrite_a_draw_and_its_default_update_alike(any_mode):
    """The size of a draw given through givens: its default update is rewritten too (it was
    left reading the replaced variable, which is no input: the function could not be made)."""
    srng = RandomStreams(4)
    n, m = T.lscalar("n"), T.lscalar("m")
    f = theano.function([m], srng.uniform(size=(n,)), givens={n: m})
    (rng,) = _theano_streams(4, 1)
    close(f(3), rng.uniform(0.0, 1.0, size=(3,)))
    close(f(2), rng.uniform(0.0, 1.0, size=(2,)))


def test_a_failed_call_leaves_the_random_states(any_mode):
    """A call that fails part-way through a scan that draws changes no state, with or without
    the scan's updates passed."""
    srng = RandomStreams(9)
    e = srng.normal(size=(2,))
    X = T.matrix("X")
    out, upd = theano.scan(lambda x: x[T.cast(x[0], "int64")] + srng.uniform(), sequences=X)
    f = theano.function([X], [out, e], updates=upd)
    rngs = [sv for sv in f.shared if isinstance(sv.get_value(), np.random.RandomState)]
    assert len(rngs) == 2
    start = rng_states(rngs)
    bad = np.zeros((3, 2))
    bad[2, 0] = 5  # the third step indexes out of bounds, after two draws
    with pytest.raises(LoopcError, match="out of bounds"):
        f(bad)
    assert same_states(rng_states(rngs), start)
    rng_e, rng_u = _theano_streams(9, 2)  # in the order the draws were made
    got_out, got_e = f(np.zeros((3, 2)))
    close(got_out, np.array([rng_u.uniform(0.0, 1.0, size=()) for _ in range(3)]))
    close(got_e, rng_e.normal(0.0, 1.0, size=(2,)))


# -- the scan passes: save_memory and push_out ----------------------------------------------
# Through loopc.function, in REFERENCE mode too: the numbers against NumPy, and the IR
# after the pipeline (rows kept, work moved out). How the lowering stores what a result
# keeps is checked after, on the same graphs.

@pytest.fixture(params=["REFERENCE", "PY", "NUMBA"])
def any_mode(request):
    saved = theano.config.mode
    theano.config.mode = request.param
    yield request.param
    theano.config.mode = saved


def power_function(mode=None):
    """W4: A ** k, keeping only result[-1] (Theano's loop tutorial)."""
    A, k = T.vector("A"), T.iscalar("k")
    result, _ = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    return theano.function([A, k], result[-1], mode=mode)


def test_power_keeps_one_row_and_zero_steps_still_raise(any_mode, optimizer):
    f = power_function()
    assert ("keep=[1]" in f.dump()) == (optimizer == "fast_run")
    a = np.array([1.5, -2.0, 0.5])
    for steps in (1, 2, 7):
        close(f(a, steps), a ** steps)
    with pytest.raises(LoopcError, match="index -1 is out of bounds for axis 0 of .* with length 0"):
        f(a, 0)


def two_tap_function():
    """A state with taps [-2, -1] and an output, stopped by `until`; readers h[-1],
    h[-3], o[-2] and h's row length."""
    h0, X, n = T.matrix("h0"), T.matrix("X"), T.iscalar("n")

    def step(x, h2, h1):
        new = h2 + h1 + x
        return [new, x * h1], theano.scan_module.until(new[0] > 40)

    (h, o), _ = theano.scan(step, sequences=X, outputs_info=[dict(initial=h0, taps=[-2, -1]), None], n_steps=n)
    return theano.function([h0, X, n], [h[-1], h[-3], o[-2], h.shape[1]])


def two_tap_numpy(h0, x, n):
    rows, outs = list(h0), []
    for t in range(n):
        rows.append(rows[-2] + rows[-1] + x[t])
        outs.append(x[t] * rows[-2])
        if rows[-1][0] > 40:
            break
    h = rows[2:]
    return h[-1], h[-3], outs[-2], h0.shape[1]


def test_rows_kept_of_a_two_tap_state_and_an_output_under_until(any_mode, optimizer):
    f = two_tap_function()
    assert ("keep=[3, 2]" in f.dump()) == (optimizer == "fast_run")
    h0, x = np.array([[1.0, 2.0], [3.0, -1.0]]), arange(8, 2)
    for n in (3, 4, 6, 8):  # until stops the loop after step 4 (h[0] = 49.5)
        for got, want in zip(f(h0, x, n), two_tap_numpy(h0, x, n)):
            close(got, np.asarray(want))
    for n in (0, 1, 2):  # fewer rows than h[-3] or o[-2] reads: the same error as without the pass
        with pytest.raises(LoopcError, match="out of bounds for axis 0"):
            f(h0, x, n)


def test_sequence_products_of_taps_going_backwards(any_mode, optimizer):
    """Both products leave the body; the state's own product stays."""
    X, W, U, V, h0 = T.matrix("X"), T.matrix("W"), T.matrix("U"), T.matrix("V"), T.vector("h0")

    def step(x_tm1, x_tp2, h):
        return T.tanh(T.dot(h, V) + T.dot(x_tp2, W) + T.dot(x_tm1, U * 2))

    out, _ = theano.scan(step, sequences=dict(input=X, taps=[-1, 2]), outputs_info=h0, go_backwards=True)
    f = theano.function([X, W, U, V, h0], [out, out[-1]])
    if optimizer == "fast_run":
        body = f.dump().split("^(")[1]
        assert body.count("dot") == 1 and "mul" not in body
    x, w, u, v = arange(7, 3) * 0.1, arange(3, 2) * 0.2, arange(3, 2) * -0.1, arange(2, 2) * 0.3
    # Theano's rule: x_tm1 runs over x[0:4][::-1] and x_tp2 over x[3:7][::-1]
    x_tm1, x_tp2, h, want = x[0:4][::-1], x[3:7][::-1], np.array([0.5, -0.5]), []
    for t in range(len(x) - 3):
        h = np.tanh(h.dot(v) + x_tp2[t].dot(w) + x_tm1[t].dot(u * 2))
        want.append(h)
    got_all, got_last = f(x, w, u, v, np.array([0.5, -0.5]))
    close(got_all, np.array(want))
    close(got_last, want[-1])
    with pytest.raises(LoopcError, match="index -1 is out of bounds"):  # zero steps: out[-1]
        f(x[:3], w, u, v, np.array([0.5, -0.5]))


def test_loop_invariants_and_the_rnn_products_move_out(any_mode, optimizer):
    """The seed RNN with an invariant exp(W) * b.sum(): one product (the state's) is left."""
    x0, W, U, V, Y, P, b = T.vector("x0"), T.matrix("W"), T.matrix("U"), T.matrix("V"), T.matrix("Y"), \
        T.matrix("P"), T.vector("b")
    out, _ = theano.scan(lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, T.exp(W) * b.sum()) + T.dot(y, U) + T.dot(p, V)),
                         sequences=[Y, P[::-1]], outputs_info=[x0])
    f = theano.function([x0, W, U, V, Y, P, b], out)
    if optimizer == "fast_run":
        body = f.dump().split("^(")[1]
        assert body.count("dot") == 1 and "exp" not in body
    x, w, u, v = np.array([0.0, 1.0]), arange(2, 2) * 0.1, arange(2, 2) * -0.2, arange(2, 2) * 0.3
    y, p, bb = arange(5, 2) * 0.1, arange(4, 2) * 0.2, np.array([0.5, 0.25])
    pr, h, want = p[::-1], x, []
    for t in range(4):
        h = np.tanh(h.dot(np.exp(w) * bb.sum()) + y[t].dot(u) + pr[t].dot(v))
        want.append(h)
    close(f(x, w, u, v, y, p, bb), np.array(want))


# -- ring buffers in the lowering (loops/lower.py's ScanLowering) --------------------------

def lowered_kernel(graph, backend):
    """(source, function) of `graph` lowered and compiled as is (no graph passes)."""
    kernel = compile_graph(graph, backend, Options(verify=True))
    return kernel.source, kernel


def same_as_reference(graph, kernel, values):
    """The kernel's results equal the reference evaluator's, or it raises the same error."""
    try:
        want = evaluate(graph, values)
    except LoopcError as exc:
        with pytest.raises(type(exc), match=re.escape(str(exc).split(" of ")[0])):
            kernel(*values)
        return
    for got, w in zip(kernel(*values), want):
        close(got, w)


@pytest.mark.parametrize("backend", ["PY", "NUMBA"])
def test_lowered_power_stores_two_rows_whatever_the_steps(backend):
    graph = power_function(mode="REFERENCE").graph
    source, fn = lowered_kernel(graph, backend)
    assert "state_ring_rows = min(2, (n_steps + 1))" in source
    assert "state_ring = np.empty((state_ring_rows, " in source and "_buf" not in source
    a = np.array([1.5, -2.0, 0.5])
    for steps in (0, 1, 2, 7):
        same_as_reference(graph, fn, [a, np.int32(steps)])
    if backend == "PY":  # the peak does not grow with the steps: 2 rows, not k + 1
        a = np.linspace(0.5, 1.0, 50)
        tracemalloc.start()
        try:
            fn(a, np.int32(2000))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 50 * 8 * 40, f"peak {peak} bytes: about 2000 rows of 50 floats were stored"


@pytest.mark.parametrize("backend", ["PY", "NUMBA"])
def test_lowered_rings_of_a_two_tap_state_and_an_output_under_until(backend):
    graph = two_tap_function_graph()
    source, fn = lowered_kernel(graph, backend)
    assert "h0_ring_rows = min(3, (n_steps + 2))" in source  # taps reach 2 back: 3 rows, and 3 are kept
    assert "out_ring_rows = min(2, n_steps)" in source
    h0, x = np.array([[1.0, 2.0], [3.0, -1.0]]), arange(8, 2)
    for n in range(9):
        same_as_reference(graph, fn, [h0, x, np.int32(n)])


def two_tap_function_graph():
    saved = theano.config.mode
    theano.config.mode = "REFERENCE"
    try:
        return two_tap_function().graph
    finally:
        theano.config.mode = saved


def shared_views_function(mode):
    """s1 takes h's previous row, a view of the state's storage, and s2 takes s1's: a
    ring that overwrote the row s1 had would change s2."""
    s1, s2 = theano.shared(np.zeros(2), name="s1"), theano.shared(np.zeros(2), name="s2")
    h0, n = T.vector("h0"), T.iscalar("n")
    out, updates = theano.scan(lambda h: (h * 2 + 1, {s1: h, s2: s1}), outputs_info=h0, n_steps=n)
    return theano.function([h0, n], [out[-1], s1 + 0, s2 + 0], updates=updates, mode=mode), s1, s2


def test_shared_values_that_were_rows_of_a_kept_state(any_mode):
    f, s1, s2 = shared_views_function(any_mode)
    assert "keep=[1]" in f.dump()
    h, rows = np.array([1.0, -1.0]), []
    for _ in range(4):
        rows.append(h)
        h = h * 2 + 1
    last, _, _ = f(np.array([1.0, -1.0]), 4)
    close(last, h)
    close(s1.get_value(), rows[-1])
    close(s2.get_value(), rows[-2])


@pytest.mark.parametrize("backend", ["PY", "NUMBA"])
def test_lowered_shared_values_that_were_rows_of_a_ring(backend):
    f, s1, s2 = shared_views_function("REFERENCE")
    source, fn = lowered_kernel(f.graph, backend)
    assert "ring" in source
    for n in (0, 1, 2, 5):
        same_as_reference(f.graph, fn, [np.array([1.0, -1.0]), np.int32(n), np.zeros(2), np.full(2, 7.0)])


def kept_results_graph(keep):
    """A state with taps [-3, -1] and an output, stopped by `until` after h passes 30,
    with `keep` set by hand and both results as graph outputs."""
    h0, n = T.matrix("h0"), T.iscalar("n")
    (h, o), _ = theano.scan(lambda h3, h1: ([h3 + h1, h1 * 2], theano.scan_module.until(h1[0] > 30)),
                            outputs_info=[dict(initial=h0, taps=[-3, -1]), None], n_steps=n)
    node = h.owner
    kept = dataclasses.replace(node.op, keep=keep).make_node(*node.inputs)
    return Graph([h0, n], list(kept.outputs))


@pytest.mark.parametrize("backend", ["REFERENCE", "PY", "NUMBA"])
@pytest.mark.parametrize("keep", [(1, 2), (2, None), (5, 1)])
def test_a_kept_result_is_the_last_rows_of_the_whole_one(backend, keep):
    """Whatever the steps run (until stops after step 6, h[0] = 31), a result with keep k
    holds the last min(k, steps run) rows of the result without it."""
    graph, whole = kept_results_graph(keep), kept_results_graph(None)
    assert "keep=[" + ", ".join("all" if k is None else str(k) for k in keep) + "]" in format_graph(graph)
    run = (lambda *v: evaluate(graph, list(v))) if backend == "REFERENCE" else lowered_kernel(graph, backend)[1]
    h0 = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]])
    for n in range(10):
        full = evaluate(whole, [h0, np.int32(n)])
        for got, want, k in zip(run(h0, np.int32(n)), full, keep):
            close(got, want if k is None else want[len(want) - min(k, len(want)):])
