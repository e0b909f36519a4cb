"""Plain regression tests for the bugs the differential tests (tests/test_differential.py)
found, one test per bug, each run in every mode."""
import warnings

import numpy as np
import pytest

import loopc
import loopc.tensor as T
from loopc.errors import LoopcIndexError, LoopcValueError, ScanError, ShapeError

ALL_MODES = ["REFERENCE", "PY", "NUMBA"]


@pytest.fixture
def no_optimizer():
    saved = loopc.config.optimizer
    loopc.config.optimizer = "None"
    yield
    loopc.config.optimizer = saved


def run(mode, inputs, outputs, *args, updates=None):
    f = loopc.function(inputs, outputs, updates=updates, mode=mode, on_unused_input="ignore")
    return f(*args)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_constants_holding_nan_and_inf_render_as_source(mode):
    # The generated source spelled them `nan` and `inf`, which Python does not know.
    x, y = T.dvector("x"), T.fscalar("y")
    consts = T.constant(np.array([np.nan, np.inf, -np.inf]))
    out = run(mode, [x, y], [x + consts, T.constant(np.float32("nan")) * y], np.zeros(3), np.float32(2))
    np.testing.assert_array_equal(out[0], [np.nan, np.inf, -np.inf])
    assert np.isnan(out[1]) and out[1].dtype == np.float32


@pytest.mark.parametrize("mode", ALL_MODES)
def test_zero_step_scan_state_has_the_row_shape(mode):
    # The reference evaluator stacked no rows into an array of shape (0, 0).
    h0 = T.dvector("h0")
    out, _ = loopc.scan(lambda h: h * 2, outputs_info=[h0], n_steps=0)
    result = run(mode, [h0], out, np.ones(3))
    assert result.shape == (0, 3)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_full_slice_index_renders(mode):
    # `x[:]` keeps no index once trailing full slices are dropped; the source read `x[]`.
    x, y = T.dvector("x"), T.dvector("y")
    out = run(mode, [x, y], [x[:] * 2, T.set_subtensor(x[:], y), T.inc_subtensor(x[:], y)],
              np.arange(3.0), np.ones(3))
    np.testing.assert_array_equal(out[0], [0, 2, 4])
    np.testing.assert_array_equal(out[1], [1, 1, 1])
    np.testing.assert_array_equal(out[2], [1, 2, 3])


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("kind", ["max", "min", "argmax", "argmin"])
def test_reduction_without_identity_of_an_empty_axis_raises_a_loopc_error(mode, kind):
    # The reference evaluator let NumPy's ValueError through.
    x = T.dmatrix("x")
    f = loopc.function([x], getattr(T, kind)(x, axis=0), mode=mode)
    with pytest.raises(LoopcValueError):
        f(np.zeros((0, 2)))


@pytest.mark.parametrize("mode", ALL_MODES)
def test_dot_with_a_0d_operand_is_multiply(mode):
    # np.dot with a 0-d operand goes through BLAS scal, which makes nan * 0 = 0.
    x, s = T.dvector("x"), T.dscalar("s")
    out = run(mode, [x, s], [T.dot(x, s), T.dot(s, x)], np.array([np.nan, np.inf, 1.0]), 0.0)
    for got in out:
        np.testing.assert_array_equal(got, [np.nan, np.nan, 0.0])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_arithmetic_of_literals_and_shapes_follows_numpy(mode, no_optimizer):
    # Unoptimized, `3 // 0` and `1.0 / 0.0` were Python operations in the generated source
    # (ZeroDivisionError in PY) and 2**62 * 4 an int too large for Numba.
    x = T.lvector("x")
    outs = [T.constant(np.int64(3)) // 0, x.shape[0] // 0, T.constant(1.0) / 0.0,
            T.constant(np.int64(2 ** 62)) * 4, T.constant(0.0) ** -1]
    got = run(mode, [x], outs, np.zeros(2, "int64"))
    assert [g.item() for g in got] == [0, 0, np.inf, 0, np.inf]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_until_reads_the_shared_value_of_its_step(mode):
    # The loop stored the new shared value before testing `until`, so the test saw it.
    flag = loopc.shared(np.array(True), name="flag")
    x = T.dvector("x")
    out, updates = loopc.scan(lambda v: (v, {flag: ~flag}, loopc.until(flag)), sequences=[x])
    result = run(mode, [x], out, np.arange(3.0), updates=updates)
    np.testing.assert_array_equal(result, [0.0])
    assert not flag.get_value()


@pytest.mark.parametrize("mode", ALL_MODES)
def test_scan_shared_updates_apply_at_once(mode):
    # The loop assigned the new shared values one by one, so a swap lost a value.
    a = loopc.shared(np.array([1.0]), name="a")
    b = loopc.shared(np.array([2.0]), name="b")
    out, updates = loopc.scan(lambda: (a + 0, {a: b, b: a}), n_steps=3)
    result = run(mode, [], out, updates=updates)
    np.testing.assert_array_equal(result, [[1.0], [2.0], [1.0]])
    assert (a.get_value()[0], b.get_value()[0]) == (2.0, 1.0)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_zero_step_output_has_the_row_shape(mode):
    # SPEC: n_steps == 0 yields empty outputs of the right shape. Every mode gave (0, 0).
    x = T.dmatrix("x")
    out, _ = loopc.scan(lambda row: row * 2, sequences=[x])
    assert run(mode, [x], out, np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_zero_step_row_shapes_agree_across_modes(mode, optimizer):
    # The reference infers a zero-step output's row shape where no step value decides it;
    # the lowering must find the same from its shape expressions (take had none: (0, 0, 0)).
    # A slice's length is not worked out before the loop: both give rows of length 0.
    x, idx, k = T.dmatrix("x"), T.ivector("idx"), T.iscalar("k")
    outs, _ = loopc.scan(lambda h: [h + 1, h[idx], T.inc_subtensor(h[idx], 1.0), T.outer(h, h), h[1:]],
                         outputs_info=[x[0], None, None, None, None], n_steps=k)
    got = run(mode, [x, idx, k], outs, np.ones((2, 3)), np.array([0, 2, 2], "int32"), 0)
    assert [g.shape for g in got] == [(0, 3), (0, 3), (0, 3), (0, 3, 3), (0, 0)]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_zero_step_rows_of_an_nd_dot(mode, optimizer):
    # An N-d dot in the body is a reshape of a matrix product to lengths partly passed in as
    # non-sequences; the lowering did not count those as lengths, so no step gave rows of
    # shape (0, 0, 0) where the reference gives (2, 0, 3) (found by the gradient cases).
    x, y = T.dtensor3("x"), T.dtensor3("y")
    out, _ = loopc.scan(lambda a: T.dot(a, y), sequences=[x], n_steps=0)
    assert run(mode, [x, y], out, np.ones((6, 2, 1)), np.zeros((0, 1, 3))).shape == (0, 2, 0, 3)
    assert run(mode, [x, y], out, np.ones((6, 2, 1)), np.zeros((2, 1, 3))).shape == (0, 2, 2, 3)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_zero_step_rows_of_a_reshape_to_a_constant_shape(mode, optimizer):
    # cumsum(s, axis=None) flattens s with reshape(s, (-1,)): the lowering gave a constant
    # shape's reshape no shape expressions, so without the optimizer (which moves it out of
    # the loop) no step gave rows of length 0 where the reference gives 2 (found by the
    # gradient cases).
    s, x = loopc.shared(np.ones((1, 2)), name="s"), T.dmatrix("x")
    out, _ = loopc.scan(lambda xt, s_: [T.cumsum(s_, axis=None), T.reshape(s_ * xt.sum(), (2, 1))],
                        sequences=[x], non_sequences=[s])
    assert [o.shape for o in run(mode, [x], out, np.zeros((0, 3)))] == [(0, 2), (0, 2, 1)]
    assert [o.shape for o in run(mode, [x], out, np.ones((2, 3)))] == [(2, 2), (2, 2, 1)]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_boolean_mask_in_a_scan_step(mode, optimizer):
    # x[m] counts m's True entries in a loop from `count = 0`: the scan took that first 0
    # for the step's row length, allocated rows of length 0 before the loop and failed
    # (NumPy's broadcast error) storing the first row (found by the gradient cases).
    X, m = T.dmatrix("X"), T.vector("m", dtype="bool")
    out, _ = loopc.scan(lambda x: x[m] * 2, sequences=[X])
    got = run(mode, [X, m], [out, loopc.grad(out.sum(), X)], np.arange(6.0).reshape(2, 3),
              np.array([True, False, True]))
    np.testing.assert_array_equal(got[0], [[0.0, 4.0], [6.0, 10.0]])
    np.testing.assert_array_equal(got[1], [[2.0, 0.0, 2.0], [2.0, 0.0, 2.0]])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_zero_step_rows_of_a_shared_value_the_scan_updates(mode, optimizer):
    # The first step would read the shared value the call starts with: its rows have that
    # shape (every mode gave rows of length 0; the differential generator expects (0, 2)).
    s = loopc.shared(np.array([False, True]), name="s")
    out, updates = loopc.scan(lambda: (abs(s), {s: T.and_(s, True)}), n_steps=0)
    assert run(mode, [], out).shape == (0, 2)
    assert run(mode, [], out, updates=updates).shape == (0, 2)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_dot_with_a_0d_float64_constant_widens_a_float32_operand(mode):
    # The constant was a Python float in the source, so NumPy kept float32 and 1e-100 became 0.
    x = T.fvector("x")
    got = run(mode, [x], T.dot(x, T.constant(np.float64(1e-100))), np.ones(2, "float32"))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [1e-100, 1e-100])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_random_state_used_twice_gives_both_uses_the_same_numbers(mode):
    # Every draw advanced the one RandomState in place, so the schedule decided the numbers.
    # A state read by two nodes is now copied for each reader.
    from loopc.tensor.shared_randomstreams import RandomStreams
    d = RandomStreams(8756).uniform(size=(3,))
    out, updates = loopc.scan(lambda: d * 2, n_steps=2)  # d is redrawn each step inside the scan
    steps, outside = run(mode, [], [out, d], updates=updates)
    np.testing.assert_array_equal(steps[0], outside * 2)  # both drawn from the state the call starts with


@pytest.mark.parametrize("mode", ALL_MODES)
def test_an_array_passed_to_the_interpreter_after_a_loop_that_draws(mode):
    # Numba set up the function's Python environment in the first objmode block it lowered,
    # a draw inside the scan's loop; the draw after the loop passes an array (its parameter)
    # and failed LLVM's verifier ("Instruction does not dominate all uses"). The lowering now
    # opens an empty objmode block first.
    from loopc.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(3)
    p = T.dvector("p")
    steps, updates = loopc.scan(lambda: srng.uniform(), n_steps=2)
    after = srng.binomial(n=1, p=p)
    got_steps, got_after = run(mode, [p], [steps, after], np.array([0.0, 1.0, 1.0]), updates=updates)
    assert got_steps.shape == (2,) and list(got_after) == [0, 1, 1]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_draw_passed_to_a_scan_that_never_reads_it(mode, optimizer):
    # Without the optimizer the scan keeps the unused non-sequence, so the draw's result was
    # annotated on its objmode block but never read: Numba refused the annotation.
    from loopc.tensor.shared_randomstreams import RandomStreams
    d = RandomStreams(820).binomial(size=(1,), n=1, p=0.5)
    x = T.dvector("x")
    out, _ = loopc.scan(lambda h, unused: h * 2, outputs_info=x, non_sequences=[d], n_steps=2)
    np.testing.assert_array_equal(run(mode, [x], [out], np.array([1.0, 3.0]))[0], [[2.0, 6.0], [4.0, 12.0]])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_negative_literal_base_of_a_power(mode):
    # The source read `-1 ** x`, which Python computes as -(1 ** x).
    x = T.dvector("x")
    got = run(mode, [x], [(-1) ** x, (-2.0) ** x, T.constant(-0.0) ** x], np.array([0.0, 2.0]))
    np.testing.assert_array_equal(got[0], [1.0, 1.0])
    np.testing.assert_array_equal(got[1], [1.0, 4.0])
    np.testing.assert_array_equal(got[2], [1.0, 0.0])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_dot_of_float32_and_an_int64_scalar_is_computed_in_float64(mode):
    # Numba multiplied the float32 array by the int64 scalar in float32, NumPy widens first.
    x, k = T.TensorType("float32", (True,))("x"), T.lscalar("k")
    got = run(mode, [x, k], [T.dot(x, k)], np.array([1.0089954137802124], dtype="float32"), 7)[0]
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.array([1.0089954137802124], dtype="float32").astype("float64") * 7)


# -- issue 11: modes that disagreed on bad input, and a rewrite that dropped an error ---------

@pytest.mark.parametrize("mode", ALL_MODES)
def test_reshape_checks_the_size_in_every_mode(mode, optimizer):
    # PY and NUMBA returned array(1.) for a 2-element vector reshaped to (), and let NumPy's
    # or Numba's ValueError through for a size that the -1 cannot absorb.
    x = T.dvector("x")
    with pytest.raises(ShapeError, match="reshape"):
        run(mode, [x], T.reshape(x, ()), np.array([1.0, 2.0]))
    with pytest.raises(ShapeError, match="reshape"):
        run(mode, [x], T.reshape(x, (-1, 2)), np.arange(5.0))
    assert run(mode, [x], T.reshape(x, ()), np.array([7.0])) == 7.0
    assert run(mode, [x], T.reshape(x, (-1, 2)), np.arange(6.0)).shape == (3, 2)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_reshape_with_a_symbolic_shape_checks_it(mode, optimizer):
    x, a, b = T.dvector("x"), T.lscalar("a"), T.lscalar("b")
    f = loopc.function([x, a, b], T.reshape(x, T.stack([a, b]), ndim=2), mode=mode)
    assert f(np.arange(6.0), -1, 3).shape == (2, 3)
    for bad in [(-1, 4), (-1, -1), (-2, -3), (4, 2), (-1, 0)]:
        with pytest.raises(ShapeError, match="reshape"):
            f(np.arange(6.0), *bad)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_alloc_of_a_value_that_does_not_broadcast_raises_a_shape_error(mode, optimizer):
    x = T.dvector("x")
    with pytest.raises(ShapeError, match="alloc"):
        run(mode, [x], T.alloc(x, 2, 2), np.arange(3.0))
    np.testing.assert_array_equal(run(mode, [x], T.alloc(x, 2, 3), np.arange(3.0)), [[0, 1, 2]] * 2)
    np.testing.assert_array_equal(run(mode, [x], T.alloc(x, 2, 3), np.ones(1)), np.ones((2, 3)))


@pytest.mark.parametrize("mode", ALL_MODES)
def test_shape_of_an_alloc_keeps_the_allocs_errors(mode, optimizer):
    # canonicalize's shape_of_alloc turned these into 2 and -1.
    x, n = T.dvector("x"), T.lscalar("n")
    with pytest.raises(ShapeError, match="alloc"):
        run(mode, [x], T.alloc(x, 2, 2).shape[0], np.arange(3.0))
    with pytest.raises(LoopcValueError, match="negative dimension"):
        run(mode, [n], T.alloc(0.0, n).shape[0], -1)
    assert run(mode, [n], T.alloc(0.0, n).shape[0], 4) == 4


@pytest.mark.parametrize("mode", ALL_MODES)
def test_set_and_inc_subtensor_of_a_0d_value(mode, optimizer):
    # PY raised TypeError (a scalar has no item assignment), NUMBA failed to type `.copy()`.
    s, i = T.dscalar("s"), T.iscalar("i")
    out = run(mode, [s, i], [T.set_subtensor(s[()], 5.0), T.inc_subtensor(s[()], 5.0),
                             T.set_subtensor(i[()], 3), T.inc_subtensor(i[()], 3)], 1.5, 2)
    assert [float(v) for v in out] == [5.0, 6.5, 3, 5]
    assert [np.asarray(v).dtype.name for v in out] == ["float64", "float64", "int32", "int32"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_set_subtensor_of_a_value_that_does_not_fit_raises_a_shape_error(mode, optimizer):
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(ShapeError, match="set_subtensor"):
        run(mode, [x, y], T.set_subtensor(x[0:2], y), np.zeros(4), np.ones(3))
    np.testing.assert_array_equal(run(mode, [x, y], T.inc_subtensor(x[0:2], y), np.zeros(4), np.ones(1)),
                                  [1, 1, 0, 0])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_scan_state_of_another_shape_is_a_scan_error_naming_it(mode, optimizer):
    # PY and NUMBA broadcast the length-1 value into the row; REFERENCE let NumPy's ValueError out.
    h0 = T.dvector("h0")
    out, _ = loopc.scan(lambda h: h[0:1] * 2, outputs_info=h0, n_steps=2)
    with pytest.raises(ScanError, match=r"state 0 \(initial value h0\)"):
        run(mode, [h0], out, np.arange(3.0))
    assert run(mode, [h0], out, np.ones(1)).tolist() == [[2.0], [4.0]]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_scan_output_whose_shape_changes_between_steps_is_a_scan_error(mode, optimizer):
    x, n = T.dvector("x"), T.lvector("n")
    out, _ = loopc.scan(lambda k: x[:k] * 2, sequences=[n])
    with pytest.raises(ScanError, match="output 0"):
        run(mode, [x, n], out, np.arange(4.0), np.array([2, 3]))
    assert run(mode, [x, n], out, np.arange(4.0), np.array([2, 2])).shape == (2, 2)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_dead_state_still_checks_its_initial_rows(mode, optimizer):
    # dce dropped a state nobody reads, and its too-few-initial-rows error with it.
    x0, y0 = T.dmatrix("x0"), T.dvector("y0")
    (xs, ys), _ = loopc.scan(lambda x2, x1, y: [x1 + x2, y * 2],
                             outputs_info=[dict(initial=x0, taps=[-2, -1]), y0], n_steps=3)
    with pytest.raises(ScanError, match="initial value x0 needs at least 2 rows"):
        run(mode, [x0, y0], ys, np.ones((1, 2)), np.ones(2))
    np.testing.assert_array_equal(run(mode, [x0, y0], ys, np.ones((2, 2)), np.ones(2)), [[2, 2], [4, 4], [8, 8]])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_state_read_only_through_its_later_tap_is_kept(mode, optimizer):
    # A state nobody outside reads, whose later tap (-1) alone feeds a kept state: dce
    # must look at every tap, not the first one.
    a0 = T.constant(np.array([[1.0, 2.0], [3.0, 4.0]]))
    b0 = T.dvector("b0")
    (_, bs), _ = loopc.scan(lambda a2, a1, b: [a1 + a2, b + a1],
                            outputs_info=[dict(initial=a0, taps=[-2, -1]), b0], n_steps=3)
    a, b, want = [[1.0, 2.0], [3.0, 4.0]], np.zeros(2), []
    for _ in range(3):
        b = b + np.array(a[-1])
        a.append(list(np.add(a[-1], a[-2])))
        want.append(b)
    np.testing.assert_array_equal(run(mode, [b0], bs, np.zeros(2)), want)


REDUCTION_AXES = [None, 0, 1, 2, -1, (0, 1), (0, 2), (1, 2), (2, 0), (0, 1, 2)]


@pytest.fixture(scope="module", params=["PY", "NUMBA"])
def every_reduction(request):
    """One compiled function per mode with every reduction over every axis combination of
    a 3-d input (argmax and argmin over one axis or all), keepdims on and off."""
    x = T.dtensor3("x")
    exprs, names = [], []
    for kind in ["sum", "prod", "mean", "max", "min", "any", "all", "argmax", "argmin"]:
        for axis in REDUCTION_AXES:
            if kind.startswith("arg") and isinstance(axis, tuple) and len(axis) != 3:
                continue
            for keepdims in (False, True):
                exprs.append(getattr(T, kind)(x, axis=axis, keepdims=keepdims))
                names.append((kind, axis, keepdims))
    return loopc.function([x], exprs, mode=request.param), names


def numpy_reduction(kind, value, axis, keepdims):
    if kind.startswith("arg"):
        fn = np.argmax if kind == "argmax" else np.argmin
        if isinstance(axis, tuple):
            out = fn(value)
            return np.reshape(out, (1,) * value.ndim) if keepdims else out
        return fn(value, axis=axis, keepdims=keepdims)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty group is NaN
        return getattr(np, kind)(value, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("fill", ["-inf", "inf", "nan", "mixed", "empty_last", "empty_middle"])
def test_every_reduction_over_every_axis_combination_with_specials(every_reduction, fill):
    # A float max starting from the largest finite value (not -inf) passed every other test.
    f, names = every_reduction
    value = {"-inf": np.full((2, 3, 2), -np.inf), "inf": np.full((2, 3, 2), np.inf),
             "nan": np.full((2, 3, 2), np.nan), "mixed": np.array([np.inf, -np.inf, np.nan, 1.0, -0.0, 2.0] * 2
                                                                  ).reshape(2, 3, 2),
             "empty_last": np.zeros((2, 3, 0)), "empty_middle": np.zeros((2, 0, 3))}[fill]
    if value.size == 0:  # max, min and the argreductions of an empty axis have no identity
        with pytest.raises(LoopcValueError, match="length 0"):
            f(value)
        keep = [k for k, (kind, _, _) in enumerate(names) if kind in ("sum", "prod", "mean", "any", "all")]
        g = loopc.function(f.inputs, [f.outputs[k] for k in keep], mode=f.mode)
        names, got = [names[k] for k in keep], g(value)
    else:
        got = f(value)
    for (kind, axis, keepdims), result in zip(names, got):
        want = numpy_reduction(kind, value, axis, keepdims)
        np.testing.assert_array_equal(result, want, err_msg=f"{kind} axis={axis} keepdims={keepdims}")
        assert np.shape(result) == np.shape(want)


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("kind", ["max", "min"])
def test_max_over_several_axes_checks_each_for_length_0(mode, kind):
    # The check looked at the first reduced axis only, so max over (0, 2) of a (2, 3, 0)
    # input gave -inf. The generator's empty_max fault reaches this (an empty axis after
    # another reduced one), but none of its ci examples did.
    x = T.dtensor3("x")
    f = loopc.function([x], getattr(T, kind)(x, axis=(0, 2)), mode=mode)
    with pytest.raises(LoopcValueError, match="length 0"):
        f(np.zeros((2, 3, 0)))
    np.testing.assert_array_equal(f(np.ones((2, 3, 1))), np.ones(3))


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_step_check_that_fails_first_keeps_its_error(mode, optimizer):
    # hoist moved the dot's shape check (the same at every step) before the scan, past the
    # index check of the step that comes first and fails first: ShapeError, not
    # LoopcIndexError. One fault a case, the generator never plants two.
    i, v, W, U = T.lvector("i"), T.dvector("v"), T.dmatrix("W"), T.dmatrix("U")
    out, _ = loopc.scan(lambda k: T.dot(W * v[k], U).sum(), sequences=[i])
    with pytest.raises(LoopcIndexError):
        run(mode, [i, v, W, U], out, np.array([5]), np.ones(3), np.ones((2, 3)), np.ones((2, 2)))
    np.testing.assert_array_equal(run(mode, [i, v, W, U], out, np.array([1]), np.ones(3), np.ones((2, 3)),
                                      np.ones((3, 2))), [12.0])


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_check_whose_message_names_a_step_value_stays_in_the_step(mode, optimizer):
    # The dot's check reads only the inner lengths (w's and U's, the same every step), but
    # its message names the left operand's shape, whose rows are the step's n: hoisted, the
    # message read a value before the loop defined it. The generator's scan bodies give
    # every value a shape fixed by the outer inputs, so no message names a step's value.
    k, v, w, U = T.lvector("k"), T.dvector("v"), T.dvector("w"), T.dmatrix("U")
    out, _ = loopc.scan(lambda n: T.dot(v[:n].dimshuffle(0, "x") * w.dimshuffle("x", 0), U).sum(), sequences=[k])
    f = loopc.function([k, v, w, U], out, mode=mode)
    with pytest.raises(ShapeError, match="inner lengths 3 and 2 differ"):
        f(np.array([2, 1]), np.ones(3), np.ones(3), np.ones((2, 2)))
    np.testing.assert_array_equal(f(np.array([2, 1]), np.ones(3), np.ones(3), np.ones((3, 2))), [12.0, 6.0])


# -- host calls (draws, prints) inside and after a scan's loop ------------------------

@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_draw_in_a_scan_step_and_another_after_the_loop(mode):
    # NUMBA mode failed in LLVM ("Instruction does not dominate all uses!", numba/numba#9574):
    # the kernel held one objmode block in the step loop and another after it.
    from loopc.tensor.shared_randomstreams import RandomStreams
    rng, v = RandomStreams(1), T.dvector("v")
    chain, updates = loopc.scan(lambda x: rng.uniform(size=x.shape) + x, outputs_info=[v], n_steps=2)
    f = loopc.function([v], rng.uniform(size=chain[-1].shape) + chain[-1], updates=updates, mode=mode)
    seedgen = np.random.RandomState(1)  # Theano's streams: one RandomState per random variable
    in_step, after = (np.random.RandomState(seedgen.randint(2 ** 30)) for _ in range(2))
    v0 = np.arange(3.0)
    expected = v0 + in_step.uniform(size=3) + in_step.uniform(size=3)
    np.testing.assert_array_equal(f(v0), after.uniform(size=3) + expected)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_print_in_a_scan_step_and_another_after_the_loop(mode, capsys):
    from loopc.printing import Print
    x = T.dvector("x")
    ys, _ = loopc.scan(lambda y: Print("step")(y * 2), outputs_info=[x], n_steps=2)
    f = loopc.function([x], Print("last", attrs=("shape",))(ys[-1] + 1), mode=mode)
    np.testing.assert_array_equal(f(np.ones(2)), [5.0, 5.0])
    assert capsys.readouterr().out.splitlines() == ["step __str__ = [2. 2.]", "step __str__ = [4. 4.]",
                                                    "last shape = (2,)"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_a_0d_constant_non_sequence_without_the_optimizer(mode, optimizer):
    # Without canonicalize (which moves constant non-sequences into the body), the body read
    # the constant through a local that nothing defined: 0-d constants are literals.
    x = T.dvector("x")
    out, _ = loopc.scan(lambda h, c: h + T.cast(c, "float64"), outputs_info=[x],
                        non_sequences=[T.constant(np.array(True))], n_steps=2)
    np.testing.assert_array_equal(run(mode, [x], out, np.zeros(2)), [[1.0, 1.0], [2.0, 2.0]])
