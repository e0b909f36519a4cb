"""Tests of the loop level: lowering, the loop passes (hoist, fuse), the text form
and the verifier.

Golden cases build a function with the frontend, take one loop-IR stage
(`f.dump(stage)`) and compare it with the expected text written inline (a
failure prints the actual text, ready to paste); every case also checks the
numbers against NumPy in PY mode with the loop passes on and off. Values and
errors of every op and scan feature across all modes are the differential
suite's business (tests/test_differential.py); here the structure is.
"""
import textwrap

import numpy as np
import pytest

import loopc
import loopc.tensor as T
from loopc.config import config
from loopc.errors import ShapeError
from loopc.loops import block, compile_loops, fold, fuse, hoist, inplace, reuse
from loopc.loops.ir import (Alloc, Check, Const, Function, Let, Load, Loop, LoopVerifyError, Op, ShapeOf, Slice, Store,
                            Var, format_expr, format_function, verify)

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def libm_math():
    """Goldens spell the scalar functions by name; the vector kernels have their own tests."""
    old = config.math
    config.math = "libm"
    yield
    config.math = old


def golden(f, stage, expected):
    got = f.dump(stage)
    want = textwrap.dedent(expected).lstrip("\n")
    assert got == want, f"loop IR after {stage}:\n{got}"


def same_numbers(inputs, outputs, values, want):
    """PY mode with the loop passes on and off gives NumPy's numbers."""
    for optimizer in ("fast_run", "None"):
        config.optimizer = optimizer
        try:
            got = loopc.function(inputs, outputs, mode="PY")(*values)
        finally:
            config.optimizer = "fast_run"
        for g, w in zip(got if isinstance(got, list) else [got], want):
            np.testing.assert_allclose(g, w, rtol=1e-12)


def rnn():
    x0, W, U, Y = T.vector("x0"), T.matrix("W"), T.matrix("U"), T.matrix("Y")
    h, _ = loopc.scan(lambda y, h: T.tanh(T.dot(h, W) + T.dot(y, U)), sequences=[Y], outputs_info=[x0])
    return [x0, W, Y, U], h


def rnn_numpy(x0, W, Y, U):
    h, out = x0, []
    for y in Y:
        h = np.tanh(h @ W + y @ U)
        out.append(h)
    return np.array(out)


# -- lowering ---------------------------------------------------------------------

def test_lowering_gives_one_nest_per_elementwise_op_and_checks_only_lengths_that_differ():
    A, B = T.vector("A"), T.vector("B")
    f = loopc.function([A, B], T.exp(A * B + A), mode="PY")
    golden(f, "lower", """
        func fn(A, B):
          check neq(B.shape[0], A.shape[0]) -> ShapeError('mul: %s has length %d on axis 0 but %s has %d', 'B', B.shape[0], 'A', A.shape[0])
          v = alloc f64[A.shape[0]] temp
          for i0 in A.shape[0] parallel:
            v[i0] = mul(A[i0], B[i0])
          v_1 = alloc f64[A.shape[0]] temp
          for i0_1 in A.shape[0] parallel:
            v_1[i0_1] = add(v[i0_1], A[i0_1])
          v_2 = alloc f64[A.shape[0]] temp
          for i0_2 in A.shape[0] parallel:
            v_2[i0_2] = exp(v_1[i0_2])
          return (v_2)
        """)


def test_a_reduction_over_inner_axes_accumulates_in_a_local():
    M = T.matrix("M")
    f = loopc.function([M], M.max(axis=1), mode="PY")
    golden(f, "lower", """
        func fn(M):
          check eq(M.shape[1], 0) -> LoopcValueError('max of %s: a reduced axis has length 0 (no identity)', 'M')
          v = alloc f64[M.shape[0]] temp
          for i0 in M.shape[0] parallel:
            acc = cast<f64>(-inf)
            for r0 in M.shape[1] reduction:
              acc = switch(or(gt(M[i0, r0], acc), and(neq(M[i0, r0], M[i0, r0]), eq(acc, acc))), M[i0, r0], acc)
            v[i0] = acc
          return (v)
        """)
    m = RNG.standard_normal((3, 4))
    m[1, 2] = np.nan
    same_numbers([M], [M.max(axis=1)], [m], [m.max(axis=1)])


def test_a_reduction_over_outer_axes_accumulates_in_its_result():
    M = T.matrix("M")
    f = loopc.function([M], M.sum(axis=0), mode="PY")
    golden(f, "lower", """
        func fn(M):
          v = alloc f64[M.shape[1]] temp fill 0
          for i0 in M.shape[0] reduction:
            for i1 in M.shape[1] reduction:
              acc = v[i1]
              acc = add(acc, M[i0, i1])
              v[i1] = acc
          return (v)
        """)


# -- fuse -------------------------------------------------------------------------

def test_fuse_turns_a_chain_into_one_nest_without_temporaries():
    A, B, C = T.matrix("A"), T.matrix("B"), T.matrix("C")
    out = T.exp(A * B + C)
    f = loopc.function([A, B, C], out, mode="PY")
    golden(f, "fuse", """
        func fn(A, B, C):
          check neq(B.shape[0], A.shape[0]) -> ShapeError('mul: %s has length %d on axis 0 but %s has %d', 'B', B.shape[0], 'A', A.shape[0])
          check neq(B.shape[1], A.shape[1]) -> ShapeError('mul: %s has length %d on axis 1 but %s has %d', 'B', B.shape[1], 'A', A.shape[1])
          check neq(C.shape[0], A.shape[0]) -> ShapeError('add: %s has length %d on axis 0 but %s has %d', 'C', C.shape[0], 'the result of mul', A.shape[0])
          check neq(C.shape[1], A.shape[1]) -> ShapeError('add: %s has length %d on axis 1 but %s has %d', 'C', C.shape[1], 'the result of mul', A.shape[1])
          v_2 = alloc f64[A.shape[0], A.shape[1]] temp
          for i0 in A.shape[0] parallel:
            for i1 in A.shape[1] parallel:
              v = mul(A[i0, i1], B[i0, i1])
              v_1 = add(v, C[i0, i1])
              v_2[i0, i1] = exp(v_1)
          return (v_2)
        """)
    a, b, c = (RNG.standard_normal((3, 4)) for _ in range(3))
    same_numbers([A, B, C], [out], [a, b, c], [np.exp(a * b + c)])


def test_fuse_into_a_reduction():
    x = T.vector("x")
    f = loopc.function([x], T.exp(x).sum(), mode="PY")
    golden(f, "fuse", """
        func fn(x):
          acc = cast<f64>(0)
          for i0 in x.shape[0] reduction:
            v = exp(x[i0])
            acc = add(acc, v)
          v_1 = cast<f64>(acc)
          return (v_1)
        """)


def test_fuse_leaves_a_value_two_nests_read():
    x = T.vector("x")
    y = T.tanh(x)
    f = loopc.function([x], [y + 1, y - 1], mode="PY")
    text = f.dump("fuse")
    assert text.count("temp") == 3, text  # tanh's result is computed once and kept
    v = RNG.standard_normal(5)
    same_numbers([x], [y + 1, y - 1], [v], [np.tanh(v) + 1, np.tanh(v) - 1])


def test_fuse_never_moves_work_under_a_loop_that_does_not_walk_its_axes():
    x, M = T.vector("x"), T.matrix("M")
    out = M * T.tanh(x).sum()  # a reduction read by every element of M
    f = loopc.function([x, M], out, mode="PY")
    assert f.dump("fuse").count("tanh(") == 1
    x2 = T.vector("x2")
    y = T.tanh(x2)
    f = loopc.function([x2, M], M + y.dimshuffle("x", 0), mode="PY")
    text = f.dump("fuse")
    assert "v[i0] = tanh(x2[i0])" in text, text  # computed once, not once per row of M


def test_fuse_casts_the_local_to_the_buffers_dtype():
    i = T.bvector("i")
    out = (i + i) * i
    f = loopc.function([i], out, mode="PY")
    assert "v = cast<i8>(add(i[i0], i[i0]))" in f.dump("fuse")
    v = np.array([100, 3, -7], dtype=np.int8)
    with np.errstate(over="ignore"):
        want = (v + v) * v
    same_numbers([i], [out], [v], [want])


def test_fuse_writes_a_states_new_value_straight_into_its_row():
    inputs, h = rnn()
    f = loopc.function(inputs, h, mode="PY")
    golden(f, "fuse", """
        func fn(x0, W, Y, U):
          n_steps = Y.shape[0]
          check neq(Y.shape[1], U.shape[0]) -> ShapeError('dot: %s has shape %s and %s has shape %s; inner lengths %d and %d differ', 'Y', call tuple(Y.shape[0], Y.shape[1]), 'U', call tuple(U.shape[0], U.shape[1]), Y.shape[1], U.shape[0])
          v = call dot(Y, U)
          v_1 = call expand_dims(x0, 0)
          check lt(n_steps, 0) -> ScanError('scan: n_steps must be >= 0, got %d', n_steps)
          check lt(Y.shape[0], n_steps) -> ScanError('scan: sequence 0 (%s) has %d rows; %d steps with its taps need %d', 'the result of dot', Y.shape[0], n_steps, n_steps)
          x0_buf = alloc f64[add(n_steps, 1), x0.shape[0]] stack
          for r in 1 serial:
            for c0 in x0.shape[0] parallel:
              x0_buf[r, c0] = v_1[r, c0]
          n_done = n_steps
          check and(lt(0, n_steps), neq(x0.shape[0], W.shape[0])) -> ShapeError('dot: %s has shape %s and %s has shape %s; inner lengths %d and %d differ', 'x0_tm1', call tuple(x0.shape[0]), 'W', call tuple(W.shape[0], W.shape[1]), x0.shape[0], W.shape[0])
          check and(lt(0, n_steps), neq(U.shape[1], W.shape[1])) -> ShapeError('add: %s has length %d on axis 0 but %s has %d', 'an unnamed float64 vector (ndim 1)', U.shape[1], 'the result of dot', W.shape[1])
          check and(lt(0, n_steps), neq(W.shape[1], x0.shape[0])) -> ScanError('scan: step %d gives state 0 (initial value %s) a new value of shape %s; its initial rows have shape %s', 0, 'x0', call tuple(W.shape[1]), call tuple(x0.shape[0]))
          for t in n_steps serial:
            v_2 = v[t]
            x0_tm1 = x0_buf[t]
            v_3 = alloc f64[W.shape[1]] temp fill 0
            for k in W.shape[0] reduction:
              xk = x0_tm1[k]
              if neq(xk, 0):
                for j in W.shape[1] parallel:
                  v_3[j] = add(v_3[j], mul(xk, W[k, j]))
            v_5 = x0_buf[add(t, 1)]
            for i0 in W.shape[1] parallel:
              v_4 = add(v_3[i0], v_2[i0])
              v_5[i0] = tanh(v_4)
          v_6 = x0_buf[1:add(n_done, 1)]
          return (v_6)
        """)
    values = [RNG.standard_normal(4), RNG.standard_normal((4, 4)) / 2, RNG.standard_normal((6, 3)),
              RNG.standard_normal((3, 4))]
    same_numbers(inputs, [h], values, [rnn_numpy(*values)])


# -- hoist ------------------------------------------------------------------------

def test_hoist_moves_checks_that_cannot_change_before_the_scan():
    inputs, h = rnn()
    f = loopc.function(inputs, h, mode="PY")
    lowered, hoisted = f.dump("lower"), f.dump("hoist")
    loop_at = hoisted.index("for t in")
    assert "check" not in hoisted[loop_at:], hoisted
    assert lowered[lowered.index("for t in"):].count("check") == 3
    # a failing shape still raises, naming the first step
    x0, W, Y, U = (RNG.standard_normal(4), RNG.standard_normal((4, 4)), RNG.standard_normal((6, 3)),
                   RNG.standard_normal((3, 5)))
    with pytest.raises(ShapeError, match="add: .* has length 5 on axis 0"):
        f(x0, W, Y, U)
    assert f(x0, W, Y[:0], U[:, :4]).shape == (0, 4)  # zero steps: the hoisted checks never fire
    f(x0, W, Y[:0], U)  # nor when they would have failed, had a step run


def test_hoist_stops_at_a_check_that_depends_on_the_step():
    idx, x, W = T.ivector("idx"), T.vector("x"), T.matrix("W")
    out, _ = loopc.scan(lambda i, s: T.dot(x[i:i + 2], W) + s, sequences=[idx], outputs_info=[T.zeros(3)])
    f = loopc.function([idx, x, W], out, mode="PY")
    body = f.dump("hoist")
    body = body[body.index("for t in"):]
    assert "check" in body and "dot:" in body, body  # the dot check follows the slice's, which reads the step


# -- fold -----------------------------------------------------------------------------

def polynomial():
    c, x = T.vector("c"), T.scalar("x")
    terms, _ = loopc.scan(lambda ci, p, xv: ci * xv ** p, sequences=[c, T.arange(1000)], non_sequences=x)
    return [c, x], terms


def test_fold_sums_a_scans_scalar_output_inside_the_scan():
    inputs, terms = polynomial()
    f = loopc.function(inputs, terms.sum(), mode="PY")
    text = f.dump("fold")
    assert "stack" not in text and "reduction" not in text, text
    assert "acc = add(acc, v_3)" in text
    c = RNG.standard_normal(7)
    same_numbers(inputs, [terms.sum()], [c, 0.9], [sum(ci * 0.9 ** p for p, ci in enumerate(c))])
    same_numbers(inputs, [terms.sum()], [c[:0], 0.9], [0.0])


def test_fold_leaves_an_output_read_twice():
    inputs, terms = polynomial()
    f = loopc.function(inputs, [terms.sum(), terms.max()], mode="PY")
    assert "stack" in f.dump("fold")
    c = RNG.standard_normal(5)
    want = c * 0.5 ** np.arange(5)
    same_numbers(inputs, [terms.sum(), terms.max()], [c, 0.5], [want.sum(), want.max()])


# -- inplace --------------------------------------------------------------------------

def mapped():
    X, W, b = T.matrix("X"), T.matrix("W"), T.vector("b")
    out, _ = loopc.scan(lambda x: T.tanh(T.dot(x, W) + b), sequences=X)
    return [X, W, b], out


@pytest.mark.parametrize("mode", ["PY", "NUMBA"])
def test_inplace_writes_a_maps_output_over_its_pushed_out_product(mode):
    inputs, out = mapped()
    f = loopc.function(inputs, out, mode=mode)
    text = f.dump("inplace")
    assert "out = v\n" in text, text
    assert "for blk" not in f.dump("block")  # a map: nothing to gain from blocks
    x, w, b = RNG.standard_normal((6, 3)), RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    np.testing.assert_allclose(f(x, w, b), np.tanh(x @ w + b), rtol=1e-12)
    assert f(x[:0], w, b).shape == (0, 4)  # no step: no rows, of the row shape a step would give


def test_inplace_leaves_a_product_read_twice_or_at_other_rows():
    X, W = T.matrix("X"), T.matrix("W")
    out, _ = loopc.scan(lambda x: T.exp(T.dot(x, W)) + T.dot(x, W)[::-1], sequences=X)
    f = loopc.function([X, W], out, mode="PY")
    assert "stack" in f.dump("inplace")  # the row is read reversed: element i needs m-1-i
    x, w = RNG.standard_normal((5, 3)), RNG.standard_normal((3, 4))
    p = x @ w
    np.testing.assert_allclose(f(x, w), np.exp(p) + p[:, ::-1], rtol=1e-12)


# -- reuse ----------------------------------------------------------------------------

def test_reuse_allocates_a_steps_temporary_once():
    inputs, h = rnn()
    f = loopc.function(inputs, h, mode="PY")
    text = f.dump("reuse")
    assert text.index("v_3 = alloc f64[W.shape[1]] temp") < text.index("for t in")
    assert "    v_3[:] = 0" in text


def test_reuse_keeps_a_temporary_that_is_carried_or_viewed():
    x, s = T.vector("x"), loopc.shared(np.zeros(3), name="s")
    out, updates = loopc.scan(lambda h: (T.exp(h) * 2, {s: T.exp(h) * 2}), outputs_info=x, n_steps=3)
    f = loopc.function([x], out, updates=updates, mode="PY")
    body = f.dump("reuse")
    body = body[body.index("for t in"):]
    assert "alloc" in body, body  # the shared variable's new value lives on after the step
    v = RNG.standard_normal(3)
    rows = [np.exp(v) * 2]
    for _ in range(2):
        rows.append(np.exp(rows[-1]) * 2)
    np.testing.assert_allclose(f(v), np.array(rows))
    np.testing.assert_allclose(s.get_value(), rows[-1])


# -- block ----------------------------------------------------------------------------

def power():
    A, k = T.vector("A"), T.iscalar("k")
    result, _ = loopc.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    return [A, k], result[-1]


def test_block_runs_an_elementwise_recurrence_block_by_block():
    inputs, out = power()
    f = loopc.function(inputs, out, mode="PY")
    text = f.dump("block")
    assert "for blk in int_div(add(v, 511), 512) serial:" in text, text
    assert "A_b = A[lo:hi]" in text and "v_3 = v_3_row[lo:hi]" in text
    blocked = text[text.index("for blk in"):]
    assert blocked.index("for t in") < blocked.index("for i0 in sub(hi, lo) parallel:")
    for size in (0, 1, 511, 512, 513, 1500):
        a = RNG.uniform(0.5, 1.5, size)
        for steps in (0, 1, 3):
            if steps == 0:
                with pytest.raises(loopc.errors.LoopcIndexError):
                    f(a, steps)
                continue
            same_numbers(inputs, [out], [a, np.int32(steps)], [a ** steps])


@pytest.mark.parametrize("mode", ["PY", "NUMBA"])
def test_block_with_two_taps_a_sequence_and_an_output(mode):
    """x[t] = x[t-2] * a + x[t-1] * y[t] and o[t] = x[t-1] - y[t], elementwise over 700
    elements: two blocks, and every kind of row the step reads."""
    x0, a, Y, n = T.matrix("x0"), T.vector("a"), T.matrix("Y"), T.iscalar("n")
    (x, o), _ = loopc.scan(lambda y, x2, x1, a: [x2 * a + x1 * y, x1 - y], sequences=[Y],
                           outputs_info=[dict(initial=x0, taps=[-2, -1]), None], non_sequences=a, n_steps=n)
    f = loopc.function([x0, a, Y, n], [x[-1], o], mode=mode)
    assert "for blk" in f.dump("block")
    m = 700
    v0, va, vy = RNG.uniform(-1, 1, (2, m)), RNG.uniform(-1, 1, m), RNG.uniform(-1, 1, (5, m))
    rows, outs = list(v0), []
    for t in range(4):
        outs.append(rows[-1] - vy[t])
        rows.append(rows[-2] * va + rows[-1] * vy[t])
    last, got_o = f(v0, va, vy, 4)
    np.testing.assert_allclose(last, rows[-1], rtol=1e-12)
    np.testing.assert_allclose(got_o, np.array(outs), rtol=1e-12)


def test_block_leaves_a_recurrence_whose_elements_mix():
    inputs, h = rnn()  # h[t] = tanh(h[t-1] @ W + ...): every element reads all of the last row
    f = loopc.function(inputs, h, mode="PY")
    assert "for blk" not in f.dump("block")
    x = T.vector("x")
    shifted, _ = loopc.scan(lambda h: h[::-1] * 2, outputs_info=x, n_steps=3)  # element i reads m-1-i
    g = loopc.function([x], shifted, mode="PY")
    assert "for blk" not in g.dump("block")
    v = RNG.standard_normal(600)
    same_numbers([x], [shifted], [v], [np.array([v[::-1] * 2, v * 4, v[::-1] * 8])])


# -- the text form and the verifier -------------------------------------------------

def test_verify_catches_a_read_before_its_definition():
    fn = Function("fn", ("x",), (Let("y", Op("add", (Var("x"), Var("z")))),), (Var("y"),))
    with pytest.raises(LoopVerifyError, match="reads z before any statement defines it"):
        verify(fn)
    bad_loop = Function("fn", ("x",), (Loop("i", ShapeOf("x", 0), "sideways", ()),), ())
    with pytest.raises(LoopVerifyError, match="kind 'sideways'"):
        verify(bad_loop)


def test_every_stage_verifies_and_prints():
    inputs, h = rnn()
    graph = loopc.function(inputs, h.sum(axis=0), mode="PY").graph
    stages = compile_loops(graph, check=True)
    assert [name for name, _ in stages] == ["lower", "hoist", "fuse", "fold", "inplace", "block", "reuse"]
    for _, fn in stages:
        assert format_function(fn).startswith("func fn(x0, W, Y, U):")


def test_loop_passes_are_idempotent():
    inputs, h = rnn()
    graph = loopc.function(inputs, (h * 2).sum(), mode="PY").graph
    fn = compile_loops(graph)[-1][1]
    assert reuse.run(block.run(inplace.run(fold.run(fuse.run(hoist.run(fn)))))) == fn


def test_dump_names_the_loop_stages():
    x = T.vector("x")
    f = loopc.function([x], T.exp(x) + 1, mode="PY")
    assert f.dump("loops") == f.dump("reuse")
    with pytest.raises(loopc.errors.LoopcValueError, match="lower.*hoist.*fuse.*fold.*inplace.*block.*reuse.*loops"):
        f.dump("nope")


def test_the_node_types_print():
    fn = Function("fn", ("x",), (Alloc("y", "float32", (ShapeOf("x", 0),)),
                                 Loop("i", ShapeOf("x", 0), "parallel", (Store("y", (Var("i"),), Load("x", (Var("i"),))),)),
                                 Check(Op("lt", (Var("i"), Const(0, "int64"))), "ShapeError", "bad %d", (Var("i"),))),
                  (Var("y"),))
    assert format_function(fn) == textwrap.dedent("""\
        func fn(x):
          y = alloc f32[x.shape[0]] temp
          for i in x.shape[0] parallel:
            y[i] = x[i]
          check lt(i, 0) -> ShapeError('bad %d', i)
          return (y)
        """)


@pytest.mark.parametrize("item,text", [(Slice(), ":"), (Slice(Const(1, "int64")), "1:"),
                                       (Slice(None, Var("n")), ":n"), (Slice(None, None, Const(-1, "int64")), "::-1"),
                                       (Slice(Var("a"), Var("b"), Const(2, "int64")), "a:b:2")])
def test_the_text_form_spells_slices_as_python_does(item, text):
    assert format_expr(Load("x", (item,))) == f"x[{text}]"
