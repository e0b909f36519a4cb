"""The call path of a compiled function: draws advance the shared random states in
place, a snapshot taken before the call puts them back when it fails (and puts back
every state that is not its variable's update), and inputs pass a fast check. Every
test compares with plain NumPy: a RandomState drawing the same numbers.
"""
import numpy as np
import pytest

import loopc
import loopc.tensor as T
from loopc.errors import LoopcError, ShapeError
from loopc.runtime import snapshot
from loopc.tensor.shared_randomstreams import RandomStreams

MODES = ["REFERENCE", "PY", "NUMBA"]


def stream(seed):
    """The RandomState that RandomStreams(seed) gives its first random variable."""
    return np.random.RandomState(int(np.random.RandomState(seed).randint(2 ** 30)))


def state_of(shared_rng):
    name, key, pos, has_gauss, gauss = shared_rng.get_value(borrow=True).get_state()
    return key.copy(), pos, has_gauss, gauss


def same_state(a, b):
    return np.array_equal(a[0], b[0]) and a[1:] == b[1:]


@pytest.mark.parametrize("mode", MODES)
def test_failed_calls_put_back_the_cached_gaussian(mode):
    """An odd number of normal draws leaves a second Gaussian cached in the state: a
    failed call must put back the key, the position and that cache."""
    srng = RandomStreams(5)
    noise = srng.normal(size=(3,))
    i = T.iscalar("i")
    f = loopc.function([i], (noise * 2)[i], mode=mode)
    (rng, _), = srng.state_updates
    want = stream(5)
    for call in range(3):
        before = state_of(rng)
        with pytest.raises(IndexError):
            f(7)  # draws, then indexes out of bounds
        assert same_state(state_of(rng), before), call
        np.testing.assert_array_equal(f(call), (want.normal(size=(3,)) * 2)[call])


@pytest.mark.parametrize("mode", MODES)
def test_a_state_without_an_update_does_not_move(mode):
    srng = RandomStreams(3)
    u = srng.uniform(size=(4,))
    f = loopc.function([], u, mode=mode, no_default_updates=True)
    (rng, _), = srng.state_updates
    before = state_of(rng)
    first = stream(3).uniform(size=(4,))
    for _ in range(2):
        np.testing.assert_array_equal(f(), first)
    assert same_state(state_of(rng), before)


@pytest.mark.parametrize("mode", MODES)
def test_one_state_updated_with_the_draw_of_another(mode):
    """`updates={other: advanced state of rng}` while rng itself has no update: rng stays
    where it was, `other` gets the advanced state (a state of its own)."""
    srng = RandomStreams(9)
    x = srng.normal(size=(5,))
    (rng, advanced), = srng.state_updates
    other = loopc.shared(np.random.RandomState(1), name="other")
    f = loopc.function([], x, updates=[(other, advanced)], no_default_updates=True, mode=mode)
    before = state_of(rng)
    want = stream(9)
    np.testing.assert_array_equal(f(), want.normal(size=(5,)))
    assert same_state(state_of(rng), before)
    assert other.get_value(borrow=True) is not rng.get_value(borrow=True)
    np.testing.assert_array_equal(other.get_value(borrow=True).normal(size=2), want.normal(size=2))


@pytest.mark.parametrize("mode", MODES)
def test_two_shared_variables_of_one_state_draw_independently(mode):
    srng = RandomStreams(0)
    x, y = srng.uniform(size=(3,)), srng.uniform(size=(3,))
    f = loopc.function([], [x, y], mode=mode)
    state = np.random.RandomState(4)
    for rng, _ in srng.state_updates:
        rng.set_value(state, borrow=True)
    want = np.random.RandomState(4)
    for _ in range(2):
        first = want.uniform(size=(3,))
        got_x, got_y = f()
        np.testing.assert_array_equal(got_x, first)
        np.testing.assert_array_equal(got_y, first)


@pytest.mark.parametrize("mode", MODES)
def test_get_value_is_a_copy_and_set_value_replays(mode):
    """Theano's idiom: keep `get_value()`, call, `set_value(kept)`, and the numbers repeat."""
    srng = RandomStreams(2)
    f = loopc.function([], srng.normal(size=(3,)), mode=mode)
    (rng, _), = srng.state_updates
    kept = rng.get_value()
    kept_key = kept.get_state()[1].copy()
    first, second = f(), f()
    np.testing.assert_array_equal(kept.get_state()[1], kept_key)
    np.testing.assert_array_equal(np.concatenate([first, second]), stream(2).normal(size=(6,)))
    rng.set_value(kept)
    np.testing.assert_array_equal(f(), first)
    np.testing.assert_array_equal(f(), second)


def test_shared_copies_a_random_state_unless_borrowed():
    state = np.random.RandomState(1)
    assert loopc.shared(state).get_value(borrow=True) is not state
    assert loopc.shared(state, borrow=True).get_value(borrow=True) is state


# -- the inputs' fast check ------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_inputs_that_take_the_fast_check_and_those_that_do_not(mode):
    x, r = T.dvector("x"), T.row("r", dtype="float64")
    f = loopc.function([x, r], (x + r).sum(), mode=mode)
    a, row = np.arange(3.0), np.ones((1, 3))
    want = (a + row).sum()
    made_by_loopc = loopc.function([x], x * 1.0, mode=mode)(a)  # Numba's own dtype object
    cases = [a, made_by_loopc, np.repeat(a, 2)[::2], a.astype(">f8"), [0.0, 1.0, 2.0], a.astype("int32")]
    for value in cases:
        np.testing.assert_allclose(f(value, row), want, err_msg=repr(value))
    with pytest.raises(ShapeError) as info:
        f(a, np.ones((2, 3)))  # a row needs length 1 on axis 0
    assert "input 1 (r)" in str(info.value)
    with pytest.raises(TypeError) as info:
        f(a.astype("complex128"), row)
    assert isinstance(info.value, LoopcError) and "input 0 (x)" in str(info.value)
    with pytest.raises(TypeError) as info:
        f(np.ones((3, 1)), row)
    assert "ndim 2" in str(info.value)


# -- snapshots -----------------------------------------------------------------------------

def drawn_after(state, saved):
    snapshot.restore(state, saved)
    return state.normal(size=4), state.uniform(size=3)


@pytest.mark.parametrize("cached", [False, True])
def test_snapshot_restores_the_stream(cached):
    state = np.random.RandomState(11)
    if cached:
        state.normal(size=1)  # a second Gaussian waits in the cache
    saved = snapshot.save(state)
    want = state.normal(size=4), state.uniform(size=3)
    state.normal(size=7)
    for a, b in zip(drawn_after(state, saved), want):
        np.testing.assert_array_equal(a, b)


def test_snapshot_takes_the_fast_path_here_and_falls_back_elsewhere(monkeypatch):
    assert snapshot._layout() is not None, "the fast snapshot is not in use with this NumPy"
    assert isinstance(snapshot.save(np.random.RandomState(0)), snapshot.Raw)
    other_bits = np.random.RandomState(np.random.PCG64(3))
    saved = snapshot.save(other_bits)
    assert not isinstance(saved, snapshot.Raw)
    want = other_bits.normal(size=4), other_bits.uniform(size=3)
    for a, b in zip(drawn_after(other_bits, saved), want):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(snapshot, "_layout", lambda: None)
    state = np.random.RandomState(5)
    saved = snapshot.save(state)
    assert not isinstance(saved, snapshot.Raw)
    want = state.normal(size=4), state.uniform(size=3)
    for a, b in zip(drawn_after(state, saved), want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_a_result_that_is_an_input_is_a_copy(mode):
    s, v = T.dscalar("s"), T.dvector("v")
    f = loopc.function([s, v], [s, v, v[1:]], mode=mode)
    a, b = np.array(2.0), np.arange(3.0)
    for out in f(a, b):
        assert not np.may_share_memory(out, a) and not np.may_share_memory(out, b)
    np.testing.assert_array_equal(f(a, b)[2], b[1:])
