"""Tests of the passes canonicalize, cse, push_out, dce and save_memory.

Every case builds a graph straight from the op table, runs one pass, and checks
(1) the IR text after it against the expected text written inline (a failure
prints the actual text, ready to paste), (2) that `verify` holds, (3) that the
pass is idempotent, and (4) that the reference evaluator gives the same numbers
before and after, on random inputs. The scan passes' cases also check the text
before the pass and the numbers before and after in PY mode (`check_scan_pass`).
"""
import copy
import dataclasses
import textwrap

import numpy as np
import pytest

from loopc.ir.graph import Constant, Graph, SharedVariable, Variable, verify
from loopc import runtime
from loopc.backends import Options, compile_graph
from loopc.errors import LoopcError
from loopc.ir.ops import Alloc, DimShuffle, Dot, Elemwise, Print, RandomOp, Reduce, Shape, ShapeI, Subtensor
from loopc.ir.printer import format_graph
from loopc.ir.scan import Scan
from loopc.ir.types import RandomStateType, TensorType
from loopc.passes import PIPELINE, canonicalize, cse, dce, push_out, run_pipeline, save_memory
from loopc.reference import evaluate

RNG = np.random.default_rng(0)


# -- building graphs ------------------------------------------------------------------

def tensor(name, dtype="float64", bcast=(False,)):
    return Variable(TensorType(dtype, bcast), name=name)


def const(value, dtype="float64"):
    data = np.asarray(value, dtype=dtype)
    return Constant(TensorType(dtype, tuple(n == 1 for n in data.shape)), data)


def ew(scalar, *inputs, dtype=None):
    return Elemwise(scalar, dtype).make_node(*inputs).out


def ds(x, *order):
    return DimShuffle(tuple(order)).make_node(x).out


def total(x):
    return Reduce("sum", tuple(range(x.ndim))).make_node(x).out


def step_var(name, dtype="float64", ndim=1):
    return tensor(name, dtype, (False,) * ndim)


def scan(n_steps, body_inputs, body_outputs, sequences=(), states=(), shared=(), non_sequences=(),
         sequence_taps=None, state_taps=None, n_outputs=0, has_until=False, go_backwards=False):
    """The outputs of a scan node (states, outputs, shared final values)."""
    op = Scan(body=Graph(body_inputs, body_outputs),
              sequence_taps=sequence_taps or tuple((0,) for _ in sequences),
              state_taps=state_taps or tuple((-1,) for _ in states),
              n_outputs=n_outputs, n_shared=len(shared), n_non_sequences=len(non_sequences),
              has_until=has_until, go_backwards=go_backwards)
    return list(op.make_node(n_steps, *sequences, *states, *shared, *non_sequences).outputs)


# -- checking ------------------------------------------------------------------------

def check(pass_module, graph, expected, values):
    """Run the pass; check text, verify, idempotence and numbers. Returns the new graph."""
    verify(graph)
    after = pass_module.run(graph)
    verify(after)
    text = format_graph(after)
    want = textwrap.dedent(expected).strip()
    assert text == want, f"{pass_module.__name__} gave, expected\n{want}\n-- actual:\n{text}"
    assert format_graph(pass_module.run(after)) == text, "the pass is not idempotent"
    assert after.inputs == graph.inputs
    assert_same_numbers(graph, after, values)
    return after


def assert_same_numbers(before, after, values, run=evaluate):
    want = run(before, copy.deepcopy(values))
    got = run(after, copy.deepcopy(values))
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, np.random.RandomState):
            assert str(g.get_state()) == str(w.get_state()), f"output {i}: random states differ"
            continue
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, f"output {i}: {g.dtype}{g.shape} vs {w.dtype}{w.shape}"
        np.testing.assert_array_equal(g, w, err_msg=f"output {i}")


def normal(*shape):
    return RNG.normal(size=shape)


def small_ints(*shape):
    """Integer-valued floats: any order of summation gives the same, exact, numbers."""
    return RNG.integers(-3, 4, size=shape).astype("float64")


def check_scan_pass(pass_module, graph, before, after, *value_sets, failing=(), same_message=True):
    """`check` with the text before the pass too, and the numbers before and after in
    the reference evaluator and in PY mode for each set of input values; each set in
    `failing` must raise the same error before and after instead (the same class, and
    with `same_message` the same message)."""
    text = format_graph(graph)
    want = textwrap.dedent(before).strip()
    assert text == want, f"the graph before {pass_module.__name__}, expected\n{want}\n-- actual:\n{text}"
    new = check(pass_module, graph, after, value_sets[0])
    for run in (evaluate, run_py):
        for values in value_sets:
            assert_same_numbers(graph, new, values, run)
        for values in failing:
            assert_same_error(graph, new, values, run, same_message)
    return new


def run_py(graph, values):
    """`evaluate`, in PY mode: random states go in and come out through the runtime's slots."""
    rngs = [v for v in values if isinstance(v, np.random.RandomState)]
    slots = iter(range(len(rngs)))
    args = [next(slots) if isinstance(v, np.random.RandomState) else v for v in values]
    with runtime.rng_slots(rngs) as table:
        results = compile_graph(graph, "PY", Options(verify=True))(*args)
    return [table[r] if isinstance(var.type, RandomStateType) else r for var, r in zip(graph.outputs, results)]


def assert_same_error(before, after, values, run, same_message=True):
    with pytest.raises(LoopcError) as want:
        run(before, copy.deepcopy(values))
    with pytest.raises(type(want.value)) as got:
        run(after, copy.deepcopy(values))
    assert str(got.value) == str(want.value) or not same_message


def sub(x, idx_list, *indices):
    return Subtensor(idx_list).make_node(x, *indices).out


def i64(value):
    return const(value, "int64")


# -- canonicalize: constant folding ----------------------------------------------------

def test_fold_constants_keeps_the_exact_type():
    x = tensor("x")
    five = ew("add", const(2.0), const(3.0))
    wraps = ew("add", const(100, "int8"), const(100, "int8"))  # NumPy wraps int8: -56
    graph = Graph([x], [ew("mul", x, ds(five, "x")), wraps])
    check(canonicalize, graph, """
        func @fn(%x: f64[?]) -> (f64[?], i8[]) {
          %0 = mul %x, dense<[5.]>:f64[1] : f64[?]
          return %0, -56:i8
        }
    """, [normal(4)])


def test_fold_constants_through_a_chain():
    x = tensor("x", bcast=(False, False))
    vec = ew("sub", const([1.0, 2.0, 3.0]), const([1.0, 1.0, 1.0]))  # [0, 1, 2]
    row = ds(ew("exp", vec), "x", 0)
    total = Dot().make_node(row, const(np.ones((3, 2)))).out
    graph = Graph([x], [ew("add", x, total)])
    check(canonicalize, graph, """
        func @fn(%x: f64[?,?]) -> (f64[?,?]) {
          %0 = add %x, dense<[11.10733793,11.10733793]>:f64[1,?] : f64[?,?]
          return %0
        }
    """, [normal(5, 2)])


def test_no_folding_of_print_large_results_or_errors():
    printed = Print("c").make_node(const(1.0)).out
    big = Alloc().make_node(const(0.0), const(100, "int64"), const(100, "int64")).out
    small = Alloc().make_node(const(0.5), const(2, "int64"), const(3, "int64")).out
    x, y = tensor("x", bcast=(False, False)), tensor("y", bcast=(False, False))
    graph = Graph([x, y], [printed, ew("add", x, big), ew("add", y, small)])
    check(canonicalize, graph, """
        func @fn(%x: f64[?,?], %y: f64[?,?]) -> (f64[], f64[?,?], f64[?,?]) {
          %0 = print 1.0:f64 {attrs=[__str__], message=c} : f64[]
          %1 = alloc 0.0:f64, 100:i64, 100:i64 : f64[?,?]
          %2 = add %x, %1 : f64[?,?]
          %3 = add %y, dense<[0.5,0.5,0.5,0.5,0.5,0.5]>:f64[?,?] : f64[?,?]
          return %0, %2, %3
        }
    """, [normal(100, 100), normal(2, 3)])


def test_no_folding_of_an_out_of_bounds_index():
    item = Subtensor(("i",)).make_node(const([1.0, 2.0]), const(5, "int64")).out
    graph = Graph([], [item])
    after = canonicalize.run(graph)
    verify(after)
    assert format_graph(after) == format_graph(graph)  # the error is left for run time to report


def test_no_folding_of_random_ops():
    rng = Variable(RandomStateType(), name="rng")
    node = RandomOp("uniform", "float64", 1).make_node(rng, const([3], "int64"), const(0.0), const(1.0))
    graph = Graph([rng], list(node.outputs))
    check(canonicalize, graph, """
        func @fn(%rng: rng) -> (rng, f64[?]) {
          %0, %1 = random_uniform %rng, dense<[3]>:i64[1], 0.0:f64, 1.0:f64 {dist=uniform, dtype=float64, ndim=1} : rng, f64[?]
          return %0, %1
        }
    """, [np.random.RandomState(3)])


# -- canonicalize: algebra ---------------------------------------------------------------

def test_neutral_operands_disappear():
    x = tensor("x")
    one, zero = ds(const(1.0), "x"), ds(const(0.0), "x")
    y = ew("true_div", ew("sub", ew("add", zero, ew("mul", one, ew("mul", x, one))), zero), one)
    graph = Graph([x], [y, ew("add", x, zero)])
    check(canonicalize, graph, """
        func @fn(%x: f64[?]) -> (f64[?], f64[?]) {
          return %x, %x
        }
    """, [normal(3)])


def test_neutral_operands_stay_when_the_type_would_change():
    i = tensor("i", "int32")
    x = tensor("x")
    row = tensor("row", bcast=(True,))
    upcast = ew("mul", i, ds(const(1, "int64"), "x"))             # i32 * i64 -> i64
    to_float = ew("add", i, ds(const(0.0), "x"))                  # i32 + f64 -> f64
    length_checked = ew("add", x, const([0.0, 0.0]))              # the constant is not broadcastable
    widened = ew("add", row, ds(const(0.0), "x"))                 # f64[1] + f64[1]: same type, goes
    graph = Graph([i, x, row], [upcast, to_float, length_checked, widened])
    check(canonicalize, graph, """
        func @fn(%i: i32[?], %x: f64[?], %row: f64[1]) -> (i64[?], f64[?], f64[?], f64[1]) {
          %0 = mul %i, dense<[1]>:i64[1] : i64[?]
          %1 = add %i, dense<[0.]>:f64[1] : f64[?]
          %2 = add %x, dense<[0.,0.]>:f64[?] : f64[?]
          return %0, %1, %2, %row
        }
    """, [RNG.integers(-5, 5, 2).astype("int32"), normal(2), normal(1)])


def test_cast_to_the_same_dtype_and_identity_dimshuffles():
    x = tensor("x", bcast=(False, True, False))
    same = ew("cast", x, dtype="float64")
    other = ew("cast", x, dtype="float32")
    roundtrip = ds(ds(same, 2, 0, 1), 1, 2, 0)
    merged = ds(ds(x, 0, 2), "x", 1, 0)
    graph = Graph([x], [roundtrip, other, merged, ds(x, 0, 1, 2)])
    check(canonicalize, graph, """
        func @fn(%x: f64[?,1,?]) -> (f64[?,1,?], f32[?,1,?], f64[1,?,?], f64[?,1,?]) {
          %0 = cast %x {dtype=float32} : f32[?,1,?]
          %1 = dimshuffle %x {order=[x, 2, 0]} : f64[1,?,?]
          return %x, %0, %1, %x
        }
    """, [normal(2, 1, 3)])


def test_shape_rules():
    """shape_i of an alloc becomes its length only where the alloc cannot fail: a symbolic
    length may be negative, and the alloc's error must survive the rewrite."""
    x = tensor("x", bcast=(False, False))
    n, k = tensor("n", "int64", ()), tensor("k", "int32", ())
    last = Subtensor(("i",)).make_node(Shape().make_node(x).out, const(-1, "int64")).out
    alloc = Alloc().make_node(const(1.5), n, const(3, "int64"), k).out
    lengths = [ShapeI(axis).make_node(alloc).out for axis in range(3)]
    fixed = ShapeI(1).make_node(Alloc().make_node(const(1.5), const(2, "int64"), const(3, "int64")).out).out
    whole = Subtensor(()).make_node(x).out
    graph = Graph([x, n, k], [last, *lengths, fixed, whole])
    check(canonicalize, graph, """
        func @fn(%x: f64[?,?], %n: i64[], %k: i32[]) -> (i64[], i64[], i64[], i64[], i64[], f64[?,?]) {
          %0 = shape_i %x {axis=1} : i64[]
          %1 = alloc 1.5:f64, %n, 3:i64, %k : f64[?,?,?]
          %2 = shape_i %1 {axis=0} : i64[]
          %3 = shape_i %1 {axis=1} : i64[]
          %4 = shape_i %1 {axis=2} : i64[]
          return %0, %2, %3, %4, 3:i64, %x
        }
    """, [normal(2, 5), np.int64(4), np.int32(2)])


def test_canonicalize_scan_bodies_and_inline_constant_non_sequences():
    X, h0 = tensor("X", bcast=(False, False)), tensor("h0", bcast=(True, False))
    x_t, h, scale = step_var("x_t"), step_var("h"), tensor("scale", bcast=(True,))
    new_h = ew("tanh", ew("add", ew("mul", h, scale), ew("mul", x_t, ds(const(1.0), "x"))))
    n = ShapeI(0).make_node(X).out
    (hs,) = scan(n, [x_t, h, scale], [new_h], sequences=[X], states=[h0], non_sequences=[ds(const(0.5), "x")])
    graph = Graph([X, h0], [hs])
    check(canonicalize, graph, """
        func @fn(%X: f64[?,?], %h0: f64[1,?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] states=[%h0 taps=[-1]] {
          ^(%x_t: f64[?], %h: f64[?]):
            %2 = mul %h, dense<[0.5]>:f64[1] : f64[?]
            %3 = add %2, %x_t : f64[?]
            %4 = tanh %3 : f64[?]
            yield %4
          } : f64[?,?]
          return %1
        }
    """, [normal(4, 3), normal(1, 3)])


# -- cse ------------------------------------------------------------------------------------

def test_cse_merges_equal_nodes_and_constants():
    x, y = tensor("x"), tensor("y")
    a = ew("add", ew("tanh", x), ds(const(2.0), "x"))
    b = ew("add", ew("tanh", x), ds(const(2.0), "x"))
    c = ew("add", ew("tanh", y), ds(const(2.0), "x"))
    graph = Graph([x, y], [ew("mul", a, b), c, ew("sub", const(2.0), const(2.0))])
    check(cse, graph, """
        func @fn(%x: f64[?], %y: f64[?]) -> (f64[?], f64[?], f64[]) {
          %0 = tanh %x : f64[?]
          %1 = dimshuffle 2.0:f64 {order=[x]} : f64[1]
          %2 = add %0, %1 : f64[?]
          %3 = mul %2, %2 : f64[?]
          %4 = tanh %y : f64[?]
          %5 = add %4, %1 : f64[?]
          %6 = sub 2.0:f64, 2.0:f64 : f64[]
          return %3, %5, %6
        }
    """, [normal(3), normal(3)])
    after = cse.run(graph)
    (sub,) = [node for node in after.nodes if node.op.name == "sub"]
    assert sub.inputs[0] is sub.inputs[1]


def test_cse_keeps_random_ops_and_prints_apart():
    rng = Variable(RandomStateType(), name="rng")
    x = tensor("x")
    draws = [RandomOp("normal", "float64", 1).make_node(rng, const([2], "int64"), const(0.0), const(1.0))
             for _ in range(2)]
    prints = [Print("x").make_node(x).out for _ in range(2)]
    graph = Graph([rng, x], [draws[0].outputs[1], draws[1].outputs[1], ew("add", prints[0], prints[1])])
    check(cse, graph, """
        func @fn(%rng: rng, %x: f64[?]) -> (f64[?], f64[?], f64[?]) {
          %0, %1 = random_normal %rng, dense<[2]>:i64[1], 0.0:f64, 1.0:f64 {dist=normal, dtype=float64, ndim=1} : rng, f64[?]
          %2, %3 = random_normal %rng, dense<[2]>:i64[1], 0.0:f64, 1.0:f64 {dist=normal, dtype=float64, ndim=1} : rng, f64[?]
          %4 = print %x {attrs=[__str__], message=x} : f64[?]
          %5 = print %x {attrs=[__str__], message=x} : f64[?]
          %6 = add %4, %5 : f64[?]
          return %1, %3, %6
        }
    """, [np.random.RandomState(1), normal(2)])


def _doubling_scan(X, n):
    x_t = step_var("x_t")
    body_out = ew("add", ew("exp", x_t), ew("exp", x_t))
    return scan(n, [x_t], [body_out], sequences=[X], n_outputs=1)


def test_cse_inside_scan_bodies_and_of_scans_sharing_their_op():
    X = tensor("X", bcast=(False, False))
    n = ShapeI(0).make_node(X).out
    (first,) = _doubling_scan(X, n)
    twin = first.owner.op.make_node(n, X).out          # the same op object: merged
    (lookalike,) = _doubling_scan(X, n)                  # an equal but distinct op: kept
    graph = Graph([X], [ew("add", first, twin), lookalike])
    check(cse, graph, """
        func @fn(%X: f64[?,?]) -> (f64[?,?], f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] {outputs=1} {
          ^(%x_t: f64[?]):
            %2 = exp %x_t : f64[?]
            %3 = add %2, %2 : f64[?]
            yield %3
          } : f64[?,?]
          %4 = add %1, %1 : f64[?,?]
          %5 = scan n_steps=%0 seqs=[%X taps=[0]] {outputs=1} {
          ^(%x_t_1: f64[?]):
            %6 = exp %x_t_1 : f64[?]
            %7 = add %6, %6 : f64[?]
            yield %7
          } : f64[?,?]
          return %4, %5
        }
    """, [normal(3, 2)])


# -- dce ------------------------------------------------------------------------------------

def _rnn(X, h0, W, n):
    """A scan with state h, an output o = 2 x_t (dead below) and an output p = h_tm1 . W."""
    x_t, h, w, two = step_var("x_t"), step_var("h"), tensor("w", bcast=(False, False)), tensor("two", bcast=(True,))
    new_h = ew("tanh", ew("add", Dot().make_node(h, w).out, x_t))
    o = ew("mul", x_t, two)
    p = Dot().make_node(h, w).out
    return scan(n, [x_t, h, w, two], [new_h, o, p], sequences=[X], states=[h0],
                non_sequences=[W, ds(tensor("c", bcast=()), "x")], n_outputs=2)


def test_dce_drops_dead_outputs_and_their_non_sequences():
    X, h0, W = tensor("X", bcast=(False, False)), tensor("h0", bcast=(True, False)), tensor("W", bcast=(False, False))
    hs, o, p = _rnn(X, h0, W, ShapeI(0).make_node(X).out)
    c = o.owner.inputs[-1].owner.inputs[0]
    graph = Graph([X, h0, W, c], [hs])
    check(dce, graph, """
        func @fn(%X: f64[?,?], %h0: f64[1,?], %W: f64[?,?], %c: f64[]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] states=[%h0 taps=[-1]] non_seqs=[%W] {
          ^(%x_t: f64[?], %h: f64[?], %w: f64[?,?]):
            %2 = dot %h, %w : f64[?]
            %3 = add %2, %x_t : f64[?]
            %4 = tanh %3 : f64[?]
            yield %4
          } : f64[?,?]
          return %1
        }
    """, [normal(4, 3), normal(1, 3), normal(3, 3), np.float64(2.0)])


def test_dce_keeps_a_state_a_kept_output_reads_through_its_taps():
    X, h0, W = tensor("X", bcast=(False, False)), tensor("h0", bcast=(True, False)), tensor("W", bcast=(False, False))
    hs, o, p = _rnn(X, h0, W, ShapeI(0).make_node(X).out)
    c = o.owner.inputs[-1].owner.inputs[0]
    graph = Graph([X, h0, W, c], [p])
    check(dce, graph, """
        func @fn(%X: f64[?,?], %h0: f64[1,?], %W: f64[?,?], %c: f64[]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1, %2 = scan n_steps=%0 seqs=[%X taps=[0]] states=[%h0 taps=[-1]] non_seqs=[%W] {outputs=1} {
          ^(%x_t: f64[?], %h: f64[?], %w: f64[?,?]):
            %3 = dot %h, %w : f64[?]
            %4 = add %3, %x_t : f64[?]
            %5 = tanh %4 : f64[?]
            %6 = dot %h, %w : f64[?]
            yield %5, %6
          } : f64[?,?], f64[?,?]
          return %2
        }
    """, [normal(4, 3), normal(1, 3), normal(3, 3), np.float64(2.0)])


def test_dce_drops_a_dead_state_and_an_unread_sequence():
    X, a0, b0 = tensor("X", bcast=(False, False)), tensor("a0", bcast=(True, False)), tensor("b0", bcast=(True, False))
    x_t, a, b = step_var("x_t"), step_var("a"), step_var("b")
    n = ShapeI(0).make_node(X).out
    a_s, b_s = scan(n, [x_t, a, b], [ew("mul", a, a), ew("add", b, x_t)], sequences=[X], states=[a0, b0])
    graph = Graph([X, a0, b0], [a_s])
    check(dce, graph, """
        func @fn(%X: f64[?,?], %a0: f64[1,?], %b0: f64[1,?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 states=[%a0 taps=[-1]] {
          ^(%a: f64[?]):
            %2 = mul %a, %a : f64[?]
            yield %2
          } : f64[?,?]
          return %1
        }
    """, [normal(3, 2), normal(1, 2), normal(1, 2)])


def test_dce_keeps_an_unread_sequence_when_n_steps_does_not_bound_it():
    X, a0, n = tensor("X", bcast=(False, False)), tensor("a0", bcast=(True, False)), tensor("n", "int64", ())
    x_t, a = step_var("x_t"), step_var("a")
    x_tm1, x_tp2 = step_var("x_tm1"), step_var("x_tp2")
    # n_steps <= len(X) - 2, but taps [-1, 2] need len(X) - 3 rows: the check still matters
    window = scan(ew("minimum", ew("sub", ShapeI(0).make_node(X).out, const(2, "int64")), n), [x_tm1, x_tp2, a],
                  [ew("mul", a, a)], sequences=[X], states=[a0], sequence_taps=((-1, 2),))
    given = scan(n, [x_t, a], [ew("mul", a, a)], sequences=[X], states=[a0])
    graph = Graph([X, a0, n], [window[0], given[0]])
    check(dce, graph, """
        func @fn(%X: f64[?,?], %a0: f64[1,?], %n: i64[]) -> (f64[?,?], f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = sub %0, 2:i64 : i64[]
          %2 = minimum %1, %n : i64[]
          %3 = scan n_steps=%2 seqs=[%X taps=[-1, 2]] states=[%a0 taps=[-1]] {
          ^(%x_tm1: f64[?], %x_tp2: f64[?], %a: f64[?]):
            %4 = mul %a, %a : f64[?]
            yield %4
          } : f64[?,?]
          %5 = scan n_steps=%n seqs=[%X taps=[0]] states=[%a0 taps=[-1]] {
          ^(%x_t: f64[?], %a: f64[?]):
            %6 = mul %a, %a : f64[?]
            yield %6
          } : f64[?,?]
          return %3, %5
        }
    """, [normal(5, 2), normal(1, 2), np.int64(2)])


def test_dce_drops_an_unread_sequence_whose_length_n_steps_bounds():
    X, a0 = tensor("X", bcast=(False, False)), tensor("a0", bcast=(True, False))
    x_t, x_tp2, a = step_var("x_t"), step_var("x_tp2"), step_var("a")
    n = ew("sub", ShapeI(0).make_node(X).out, const(2, "int64"))
    (a_s,) = scan(n, [x_t, x_tp2, a], [ew("mul", a, a)], sequences=[X], states=[a0], sequence_taps=((0, 2),))
    graph = Graph([X, a0], [a_s])
    check(dce, graph, """
        func @fn(%X: f64[?,?], %a0: f64[1,?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = sub %0, 2:i64 : i64[]
          %2 = scan n_steps=%1 states=[%a0 taps=[-1]] {
          ^(%a: f64[?]):
            %3 = mul %a, %a : f64[?]
            yield %3
          } : f64[?,?]
          return %2
        }
    """, [normal(5, 2), normal(1, 2)])


def test_dce_shared_updates():
    """A shared update that is a graph output is kept; an unread one goes, unless a kept
    output reads its current value (here the random state the samples come from)."""
    # shared variables are graph inputs, as in loopc.function (so each evaluation gets a copy)
    rng = SharedVariable(RandomStateType(), np.random.RandomState(7), name="rng")
    acc = SharedVariable(TensorType("float64", (False,)), np.zeros(2), name="acc")
    shared_values = [np.random.RandomState(7), np.zeros(2)]
    n, x0 = tensor("n", "int64", ()), tensor("x0", bcast=(True, False))
    x, r, s = step_var("x"), Variable(RandomStateType(), name="r"), step_var("s")
    new_r, noise = RandomOp("normal", "float64", 1).make_node(r, const([2], "int64"), const(0.0), const(1.0)).outputs
    xs, r_final, acc_final = scan(n, [x, r, s], [ew("add", x, noise), new_r, ew("add", s, x)],
                                  states=[x0], shared=[rng, acc])
    dropped = Graph([n, x0, rng, acc], [xs])
    check(dce, dropped, """
        func @fn(%n: i64[], %x0: f64[1,?], %rng: rng, %acc: f64[?]) -> (f64[?,?]) {
          %0, %1 = scan n_steps=%n states=[%x0 taps=[-1]] shared=[%rng] {
          ^(%x: f64[?], %r: rng):
            %2, %3 = random_normal %r, dense<[2]>:i64[1], 0.0:f64, 1.0:f64 {dist=normal, dtype=float64, ndim=1} : rng, f64[?]
            %4 = add %x, %3 : f64[?]
            yield %4, %2
          } : f64[?,?], rng
          return %0
        }
    """, [np.int64(3), normal(1, 2), *shared_values])
    kept = Graph([n, x0, rng, acc], [xs, acc_final])
    check(dce, kept, """
        func @fn(%n: i64[], %x0: f64[1,?], %rng: rng, %acc: f64[?]) -> (f64[?,?], f64[?]) {
          %0, %1, %2 = scan n_steps=%n states=[%x0 taps=[-1]] shared=[%rng, %acc] {
          ^(%x: f64[?], %r: rng, %s: f64[?]):
            %3, %4 = random_normal %r, dense<[2]>:i64[1], 0.0:f64, 1.0:f64 {dist=normal, dtype=float64, ndim=1} : rng, f64[?]
            %5 = add %x, %4 : f64[?]
            %6 = add %s, %x : f64[?]
            yield %5, %3, %6
          } : f64[?,?], rng, f64[?]
          return %0, %2
        }
    """, [np.int64(3), normal(1, 2), *shared_values])


def test_dce_keeps_what_until_reads():
    n, a0, b0 = tensor("n", "int64", ()), tensor("a0", bcast=(True, False)), tensor("b0", bcast=(True, False))
    a, b = step_var("a"), step_var("b")
    new_a = ew("mul", a, ds(const(2.0), "x"))
    new_b = ew("add", b, ds(const(1.0), "x"))
    stop = ew("gt", Subtensor(("i",)).make_node(new_b, const(0, "int64")).out, const(3.0))
    a_s, b_s, o = scan(n, [a, b], [new_a, new_b, ew("exp", a), stop], states=[a0, b0], n_outputs=1,
                       has_until=True)
    graph = Graph([n, a0, b0], [a_s])
    check(dce, graph, """
        func @fn(%n: i64[], %a0: f64[1,?], %b0: f64[1,?]) -> (f64[?,?]) {
          %0, %1 = scan n_steps=%n states=[%a0 taps=[-1], %b0 taps=[-1]] {until=true} {
          ^(%a: f64[?], %b: f64[?]):
            %2 = dimshuffle 2.0:f64 {order=[x]} : f64[1]
            %3 = mul %a, %2 : f64[?]
            %4 = dimshuffle 1.0:f64 {order=[x]} : f64[1]
            %5 = add %b, %4 : f64[?]
            %6 = subtensor %5[0] : f64[]
            %7 = gt %6, 3.0:f64 : i1[]
            yield %3, %5, %7
          } : f64[?,?], f64[?,?]
          return %0
        }
    """, [np.int64(10), normal(1, 2), np.zeros((1, 2))])


def test_dce_keeps_the_rows_kept_of_what_stays():
    n, a0, b0 = tensor("n", "int64", ()), tensor("a0", bcast=(True, False)), tensor("b0", bcast=(True, False))
    a, b = step_var("a"), step_var("b")
    node = scan(n, [a, b], [ew("mul", a, a), ew("add", b, b), ew("exp", a)], states=[a0, b0], n_outputs=1)[0].owner
    kept = dataclasses.replace(node.op, keep=(2, 1, 3)).make_node(*node.inputs)
    graph = Graph([n, a0, b0], [sub(kept.outputs[0], ("i",), i64(-2))])
    check(dce, graph, """
        func @fn(%n: i64[], %a0: f64[1,?], %b0: f64[1,?]) -> (f64[?]) {
          %0 = scan n_steps=%n states=[%a0 taps=[-1]] {keep=[2]} {
          ^(%a: f64[?]):
            %1 = mul %a, %a : f64[?]
            yield %1
          } : f64[?,?]
          %2 = subtensor %0[-2] : f64[?]
          return %2
        }
    """, [np.int64(3), normal(1, 2), normal(1, 2)])


def test_dce_prunes_nested_scans_and_repeats_until_nothing_changes():
    """The inner scan's log output feeds only the first scan's second output, which the
    second scan reads only as a non-sequence of its own dead output: pruning the
    second scan makes that output dead, which makes the log dead in the next round."""
    X = tensor("X", bcast=(False, False))
    row, v = step_var("row"), step_var("v", ndim=0)
    inner = scan(ShapeI(0).make_node(row).out, [v], [ew("exp", v), ew("log", v)],
                 sequences=[row], n_outputs=2)
    first = scan(ShapeI(0).make_node(X).out, [row], [total(inner[0]), total(inner[1])], sequences=[X], n_outputs=2)
    y, logs = step_var("y", ndim=0), step_var("logs")
    second = scan(ShapeI(0).make_node(first[0]).out, [y, logs], [ew("sqr", y), ew("neg", logs)],
                  sequences=[first[0]], non_sequences=[first[1]], n_outputs=2)
    graph = Graph([X], [second[0]])
    check(dce, graph, """
        func @fn(%X: f64[?,?]) -> (f64[?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] {outputs=1} {
          ^(%row: f64[?]):
            %2 = shape_i %row {axis=0} : i64[]
            %3 = scan n_steps=%2 seqs=[%row taps=[0]] {outputs=1} {
            ^(%v: f64[]):
              %4 = exp %v : f64[]
              yield %4
            } : f64[?]
            %5 = sum %3 {axes=[0]} : f64[]
            yield %5
          } : f64[?]
          %6 = shape_i %1 {axis=0} : i64[]
          %7 = scan n_steps=%6 seqs=[%1 taps=[0]] {outputs=1} {
          ^(%y: f64[]):
            %8 = sqr %y : f64[]
            yield %8
          } : f64[?]
          return %7
        }
    """, [np.abs(normal(3, 4))])


# -- save_memory -------------------------------------------------------------------------------

def _two_tap_scan(n, h0, X, has_until=False):
    """A state h with taps [-2, -1] over a sequence X, an output o = x_t * h_tm1, and
    (with has_until) a stop once h's first entry exceeds 20."""
    x_t, h2, h1 = step_var("x_t"), step_var("h_tm2"), step_var("h_tm1")
    new_h = ew("add", h2, h1)
    stop = [ew("gt", sub(new_h, ("i",), i64(0)), const(20.0))] if has_until else []
    return scan(n, [x_t, h2, h1], [new_h, ew("mul", x_t, h1)] + stop, sequences=[X], states=[h0],
                state_taps=((-2, -1),), n_outputs=1, has_until=has_until)


def _two_tap_values(n):
    return [np.int64(n), np.ones((2, 3)), small_ints(6, 3)]


def test_scan_keep_is_checked_and_printed_only_when_set():
    n, h0 = tensor("n", "int64", ()), tensor("h0", bcast=(True, False))
    h = step_var("h")
    (hs,) = scan(n, [h], [ew("neg", h)], states=[h0])
    op = hs.owner.op
    for bad in [(1, 2), (0,), (1.0,), [1]]:
        with pytest.raises(LoopcError, match="keep"):
            dataclasses.replace(op, keep=bad).make_node(n, h0)
    assert "keep" not in format_graph(Graph([n, h0], [hs]))
    kept = dataclasses.replace(op, keep=(3,)).make_node(n, h0).out
    assert "{keep=[3]}" in format_graph(Graph([n, h0], [kept]))


def test_save_memory_keeps_the_last_rows_constant_indices_read():
    """h[-1], h[-3] and h's row length: h keeps 3 rows; o[-2, 1:]: o keeps 2. Zero steps
    (h[-1] raises), fewer steps than rows kept, and more."""
    n, h0, X = tensor("n", "int64", ()), tensor("h0", bcast=(False, False)), tensor("X", bcast=(False, False))
    hs, o = _two_tap_scan(n, h0, X)
    graph = Graph([n, h0, X], [sub(hs, ("i",), i64(-1)), sub(hs, ("i",), i64(-3)), ShapeI(1).make_node(hs).out,
                               sub(o, ("i", ("s", True, False, False)), i64(-2), i64(1))])
    check_scan_pass(save_memory, graph, """
        func @fn(%n: i64[], %h0: f64[?,?], %X: f64[?,?]) -> (f64[?], f64[?], i64[], f64[?]) {
          %0, %1 = scan n_steps=%n seqs=[%X taps=[0]] states=[%h0 taps=[-2, -1]] {outputs=1} {
          ^(%x_t: f64[?], %h_tm2: f64[?], %h_tm1: f64[?]):
            %2 = add %h_tm2, %h_tm1 : f64[?]
            %3 = mul %x_t, %h_tm1 : f64[?]
            yield %2, %3
          } : f64[?,?], f64[?,?]
          %4 = subtensor %0[-1] : f64[?]
          %5 = subtensor %0[-3] : f64[?]
          %6 = shape_i %0 {axis=1} : i64[]
          %7 = subtensor %1[-2, 1:] : f64[?]
          return %4, %5, %6, %7
        }
    """, """
        func @fn(%n: i64[], %h0: f64[?,?], %X: f64[?,?]) -> (f64[?], f64[?], i64[], f64[?]) {
          %0, %1 = scan n_steps=%n seqs=[%X taps=[0]] states=[%h0 taps=[-2, -1]] {outputs=1, keep=[3, 2]} {
          ^(%x_t: f64[?], %h_tm2: f64[?], %h_tm1: f64[?]):
            %2 = add %h_tm2, %h_tm1 : f64[?]
            %3 = mul %x_t, %h_tm1 : f64[?]
            yield %2, %3
          } : f64[?,?], f64[?,?]
          %4 = subtensor %0[-1] : f64[?]
          %5 = subtensor %0[-3] : f64[?]
          %6 = shape_i %0 {axis=1} : i64[]
          %7 = subtensor %1[-2, 1:] : f64[?]
          return %4, %5, %6, %7
        }
    """, _two_tap_values(5), _two_tap_values(3), failing=[_two_tap_values(0), _two_tap_values(2)])


def test_save_memory_counts_the_steps_until_ran():
    """h runs 7, 11, 18, 29 and `until` stops there, at step 3 of 6: the ring's last two
    rows are those of steps 3 and 2, not of 5 and 4."""
    n, h0, X = tensor("n", "int64", ()), tensor("h0", bcast=(False, False)), tensor("X", bcast=(False, False))
    hs, o = _two_tap_scan(n, h0, X, has_until=True)
    graph = Graph([n, h0, X], [sub(hs, ("i",), i64(-1)), sub(hs, ("i",), i64(-2)), sub(o, ("i",), i64(-1))])
    after = check_scan_pass(save_memory, graph, """
        func @fn(%n: i64[], %h0: f64[?,?], %X: f64[?,?]) -> (f64[?], f64[?], f64[?]) {
          %0, %1 = scan n_steps=%n seqs=[%X taps=[0]] states=[%h0 taps=[-2, -1]] {outputs=1, until=true} {
          ^(%x_t: f64[?], %h_tm2: f64[?], %h_tm1: f64[?]):
            %2 = add %h_tm2, %h_tm1 : f64[?]
            %3 = mul %x_t, %h_tm1 : f64[?]
            %4 = subtensor %2[0] : f64[]
            %5 = gt %4, 20.0:f64 : i1[]
            yield %2, %3, %5
          } : f64[?,?], f64[?,?]
          %6 = subtensor %0[-1] : f64[?]
          %7 = subtensor %0[-2] : f64[?]
          %8 = subtensor %1[-1] : f64[?]
          return %6, %7, %8
        }
    """, """
        func @fn(%n: i64[], %h0: f64[?,?], %X: f64[?,?]) -> (f64[?], f64[?], f64[?]) {
          %0, %1 = scan n_steps=%n seqs=[%X taps=[0]] states=[%h0 taps=[-2, -1]] {outputs=1, keep=[2, 1], until=true} {
          ^(%x_t: f64[?], %h_tm2: f64[?], %h_tm1: f64[?]):
            %2 = add %h_tm2, %h_tm1 : f64[?]
            %3 = mul %x_t, %h_tm1 : f64[?]
            %4 = subtensor %2[0] : f64[]
            %5 = gt %4, 20.0:f64 : i1[]
            yield %2, %3, %5
          } : f64[?,?], f64[?,?]
          %6 = subtensor %0[-1] : f64[?]
          %7 = subtensor %0[-2] : f64[?]
          %8 = subtensor %1[-1] : f64[?]
          return %6, %7, %8
        }
    """, [np.int64(6), np.array([[3.0, 0.0], [4.0, 0.0]]), small_ints(6, 2)])
    values = [np.int64(6), np.array([[3.0, 0.0], [4.0, 0.0]]), np.zeros((6, 2))]
    h_last, h_before, _ = evaluate(after, values)
    np.testing.assert_array_equal(h_last, [29.0, 0.0])
    np.testing.assert_array_equal(h_before, [18.0, 0.0])


def test_save_memory_leaves_results_read_otherwise_alone():
    """Read as a graph output, at a non-negative or symbolic index, as a slice of rows,
    by length (beside h[-1]), or by another scan: every row may be seen, so nothing changes."""
    n, i = tensor("n", "int64", ()), tensor("i", "int64", ())
    initials = [tensor(f"{name}0", bcast=(True, False)) for name in "abcdef"]
    steps = [step_var(name) for name in "abcdef"]
    results = scan(n, steps, [ew("neg", v) for v in steps], states=initials)
    y = step_var("y")
    (again,) = scan(n, [y], [ew("exp", y)], sequences=[results[5]], n_outputs=1)
    readers = [results[0], sub(results[1], ("i",), i64(0)), sub(results[2], ("i",), i),
               sub(results[3], (("s", True, False, False),), i64(-2)),
               sub(results[4], ("i",), i64(-1)), ShapeI(0).make_node(results[4]).out, again]
    graph = Graph([n, i, *initials], readers)
    after = save_memory.run(graph)
    verify(after)
    assert format_graph(after) == format_graph(graph)


def test_save_memory_keeps_one_row_of_a_state_read_only_through_taps():
    """a is read only by b's step (dce keeps it for that): one row is enough; b[-2]: two."""
    n, a0, b0 = tensor("n", "int64", ()), tensor("a0", bcast=(True, False)), tensor("b0", bcast=(True, False))
    a, b = step_var("a"), step_var("b")
    a_s, b_s = scan(n, [a, b], [ew("sqr", a), ew("add", a, b)], states=[a0, b0])
    graph = Graph([n, a0, b0], [sub(b_s, ("i",), i64(-2))])
    check_scan_pass(save_memory, graph, """
        func @fn(%n: i64[], %a0: f64[1,?], %b0: f64[1,?]) -> (f64[?]) {
          %0, %1 = scan n_steps=%n states=[%a0 taps=[-1], %b0 taps=[-1]] {
          ^(%a: f64[?], %b: f64[?]):
            %2 = sqr %a : f64[?]
            %3 = add %a, %b : f64[?]
            yield %2, %3
          } : f64[?,?], f64[?,?]
          %4 = subtensor %1[-2] : f64[?]
          return %4
        }
    """, """
        func @fn(%n: i64[], %a0: f64[1,?], %b0: f64[1,?]) -> (f64[?]) {
          %0, %1 = scan n_steps=%n states=[%a0 taps=[-1], %b0 taps=[-1]] {keep=[1, 2]} {
          ^(%a: f64[?], %b: f64[?]):
            %2 = sqr %a : f64[?]
            %3 = add %a, %b : f64[?]
            yield %2, %3
          } : f64[?,?], f64[?,?]
          %4 = subtensor %1[-2] : f64[?]
          return %4
        }
    """, [np.int64(4), small_ints(1, 2), small_ints(1, 2)], failing=[[np.int64(1), small_ints(1, 2), small_ints(1, 2)]])


def test_save_memory_in_scan_bodies_and_of_a_kept_result():
    """The inner scan's result is read at [-1] in the outer body; the outer result is
    a graph output. A result keeping 2 rows and read at [-1] goes down to 1, never up."""
    X = tensor("X", bcast=(False, False))
    row, v, acc0 = step_var("row"), step_var("v", ndim=0), tensor("acc0", bcast=(True,))
    acc = step_var("acc", ndim=0)
    (inner,) = scan(ShapeI(0).make_node(row).out, [v, acc], [ew("add", acc, v)], sequences=[row],
                    states=[ds(const(0.0), "x")])
    (outer,) = scan(ShapeI(0).make_node(X).out, [row], [sub(inner, ("i",), i64(-1))], sequences=[X], n_outputs=1)
    graph = Graph([X], [outer])
    check_scan_pass(save_memory, graph, """
        func @fn(%X: f64[?,?]) -> (f64[?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] {outputs=1} {
          ^(%row: f64[?]):
            %2 = shape_i %row {axis=0} : i64[]
            %3 = dimshuffle 0.0:f64 {order=[x]} : f64[1]
            %4 = scan n_steps=%2 seqs=[%row taps=[0]] states=[%3 taps=[-1]] {
            ^(%v: f64[], %acc: f64[]):
              %5 = add %acc, %v : f64[]
              yield %5
            } : f64[?]
            %6 = subtensor %4[-1] : f64[]
            yield %6
          } : f64[?]
          return %1
        }
    """, """
        func @fn(%X: f64[?,?]) -> (f64[?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] {outputs=1} {
          ^(%row: f64[?]):
            %2 = shape_i %row {axis=0} : i64[]
            %3 = dimshuffle 0.0:f64 {order=[x]} : f64[1]
            %4 = scan n_steps=%2 seqs=[%row taps=[0]] states=[%3 taps=[-1]] {keep=[1]} {
            ^(%v: f64[], %acc: f64[]):
              %5 = add %acc, %v : f64[]
              yield %5
            } : f64[?]
            %6 = subtensor %4[-1] : f64[]
            yield %6
          } : f64[?]
          return %1
        }
    """, [small_ints(3, 4)], [small_ints(0, 4)], failing=[[small_ints(3, 0)]])
    n, h0 = tensor("n", "int64", ()), tensor("h0", bcast=(True, False))
    h = step_var("h")
    (hs,) = scan(n, [h], [ew("neg", h)], states=[h0])
    kept = dataclasses.replace(hs.owner.op, keep=(2,)).make_node(n, h0).out
    lowered = save_memory.run(Graph([n, h0], [sub(kept, ("i",), i64(-1))]))
    assert lowered.outputs[0].owner.inputs[0].owner.op.keep == (1,)
    raised = save_memory.run(Graph([n, h0], [sub(kept, ("i",), i64(-2)), sub(kept, ("i",), i64(-3))]))
    assert raised.outputs[0].owner.inputs[0].owner.op.keep == (2,)


# -- push_out --------------------------------------------------------------------------------

def test_push_out_hoists_loop_invariants():
    """exp(W) * 2 and sum(b) * len(W) move out; a print of W and a random draw from a
    non_sequence state stay, and so does len(W) where the body slices h with it."""
    n, h0, W, b = tensor("n", "int64", ()), tensor("h0", bcast=(True, False)), tensor("W"), tensor("b")
    rng = Variable(RandomStateType(), name="rng")
    h, w, bb, r = step_var("h"), step_var("w"), step_var("bb"), Variable(RandomStateType(), name="r")
    scaled = ew("mul", ew("exp", w), ds(const(2.0), "x"))
    noise = RandomOp("normal", "float64", 1).make_node(r, const([2], "int64"), const(0.0), const(1.0)).outputs[1]
    length = ShapeI(0).make_node(w).out
    new_h = ew("add", ew("mul", h, scaled), ds(ew("mul", total(bb), ew("cast", length, dtype="float64")), "x"))
    out = ew("add", Print("w").make_node(w).out, noise)
    head = sub(h, (("s", False, True, False),), length)
    hs, o, p = scan(n, [h, w, bb, r], [new_h, out, head], states=[h0], non_sequences=[W, b, rng], n_outputs=2)
    graph = Graph([n, h0, W, b, rng], [hs, o, p])
    check_scan_pass(push_out, graph, """
        func @fn(%n: i64[], %h0: f64[1,?], %W: f64[?], %b: f64[?], %rng: rng) -> (f64[?,?], f64[?,?], f64[?,?]) {
          %0, %1, %2 = scan n_steps=%n states=[%h0 taps=[-1]] non_seqs=[%W, %b, %rng] {outputs=2} {
          ^(%h: f64[?], %w: f64[?], %bb: f64[?], %r: rng):
            %3 = exp %w : f64[?]
            %4 = dimshuffle 2.0:f64 {order=[x]} : f64[1]
            %5 = mul %3, %4 : f64[?]
            %6 = mul %h, %5 : f64[?]
            %7 = sum %bb {axes=[0]} : f64[]
            %8 = shape_i %w {axis=0} : i64[]
            %9 = cast %8 {dtype=float64} : f64[]
            %10 = mul %7, %9 : f64[]
            %11 = dimshuffle %10 {order=[x]} : f64[1]
            %12 = add %6, %11 : f64[?]
            %13 = print %w {attrs=[__str__], message=w} : f64[?]
            %14, %15 = random_normal %r, dense<[2]>:i64[1], 0.0:f64, 1.0:f64 {dist=normal, dtype=float64, ndim=1} : rng, f64[?]
            %16 = add %13, %15 : f64[?]
            %17 = subtensor %h[:%8] : f64[?]
            yield %12, %16, %17
          } : f64[?,?], f64[?,?], f64[?,?]
          return %0, %1, %2
        }
    """, """
        func @fn(%n: i64[], %h0: f64[1,?], %W: f64[?], %b: f64[?], %rng: rng) -> (f64[?,?], f64[?,?], f64[?,?]) {
          %0 = exp %W : f64[?]
          %1 = dimshuffle 2.0:f64 {order=[x]} : f64[1]
          %2 = mul %0, %1 : f64[?]
          %3 = sum %b {axes=[0]} : f64[]
          %4 = shape_i %W {axis=0} : i64[]
          %5 = cast %4 {dtype=float64} : f64[]
          %6 = mul %3, %5 : f64[]
          %7 = dimshuffle %6 {order=[x]} : f64[1]
          %8, %9, %10 = scan n_steps=%n states=[%h0 taps=[-1]] non_seqs=[%W, %b, %rng, %2, %7] {outputs=2} {
          ^(%h: f64[?], %w: f64[?], %bb: f64[?], %r: rng, %11: f64[?], %12: f64[1]):
            %13 = mul %h, %11 : f64[?]
            %14 = add %13, %12 : f64[?]
            %15 = print %w {attrs=[__str__], message=w} : f64[?]
            %16, %17 = random_normal %r, dense<[2]>:i64[1], 0.0:f64, 1.0:f64 {dist=normal, dtype=float64, ndim=1} : rng, f64[?]
            %18 = add %15, %17 : f64[?]
            %19 = shape_i %w {axis=0} : i64[]
            %20 = subtensor %h[:%19] : f64[?]
            yield %14, %18, %20
          } : f64[?,?], f64[?,?], f64[?,?]
          return %8, %9, %10
        }
    """, [np.int64(3), normal(1, 2), normal(2), normal(4), np.random.RandomState(5)],
        [np.int64(0), normal(1, 2), normal(2), normal(4), np.random.RandomState(5)])


def test_push_out_batches_a_sequence_product():
    """W1: tanh(x @ W + b) over the rows x of X: X @ W is one product before the scan."""
    X, W, b = tensor("X", bcast=(False, False)), tensor("W", bcast=(False, False)), tensor("b")
    x, w, bb = step_var("x"), tensor("w", bcast=(False, False)), step_var("bb")
    n = ShapeI(0).make_node(X).out
    (o,) = scan(n, [x, w, bb], [ew("tanh", ew("add", Dot().make_node(x, w).out, bb))], sequences=[X],
                non_sequences=[W, b], n_outputs=1)
    graph = Graph([X, W, b], [o])
    check_scan_pass(push_out, graph, """
        func @fn(%X: f64[?,?], %W: f64[?,?], %b: f64[?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] non_seqs=[%W, %b] {outputs=1} {
          ^(%x: f64[?], %w: f64[?,?], %bb: f64[?]):
            %2 = dot %x, %w : f64[?]
            %3 = add %2, %bb : f64[?]
            %4 = tanh %3 : f64[?]
            yield %4
          } : f64[?,?]
          return %1
        }
    """, """
        func @fn(%X: f64[?,?], %W: f64[?,?], %b: f64[?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = dot %X, %W : f64[?,?]
          %2 = scan n_steps=%0 seqs=[%X taps=[0], %1 taps=[0]] non_seqs=[%W, %b] {outputs=1} {
          ^(%x: f64[?], %3: f64[?], %w: f64[?,?], %bb: f64[?]):
            %4 = add %3, %bb : f64[?]
            %5 = tanh %4 : f64[?]
            yield %5
          } : f64[?,?]
          return %2
        }
    """, [small_ints(5, 3), small_ints(3, 2), small_ints(2)], [small_ints(0, 3), small_ints(3, 2), small_ints(2)],
        failing=[[small_ints(2, 3), small_ints(4, 2), small_ints(2)]], same_message=False)


def test_push_out_batches_all_rows_going_backwards_as_they_are():
    """One tap over all of X: the scan reverses X @ W as it reverses X, row for row."""
    X, W, h0 = tensor("X", bcast=(False, False)), tensor("W", bcast=(False, False)), tensor("h0", bcast=(True, False))
    x, h, w = step_var("x"), step_var("h"), tensor("w", bcast=(False, False))
    (hs,) = scan(ShapeI(0).make_node(X).out, [x, h, w], [ew("add", ew("mul", h, h), Dot().make_node(x, w).out)],
                 sequences=[X], states=[h0], non_sequences=[W], go_backwards=True)
    check_scan_pass(push_out, Graph([X, W, h0], [hs]), """
        func @fn(%X: f64[?,?], %W: f64[?,?], %h0: f64[1,?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] states=[%h0 taps=[-1]] non_seqs=[%W] {go_backwards=true} {
          ^(%x: f64[?], %h: f64[?], %w: f64[?,?]):
            %2 = mul %h, %h : f64[?]
            %3 = dot %x, %w : f64[?]
            %4 = add %2, %3 : f64[?]
            yield %4
          } : f64[?,?]
          return %1
        }
    """, """
        func @fn(%X: f64[?,?], %W: f64[?,?], %h0: f64[1,?]) -> (f64[?,?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = dot %X, %W : f64[?,?]
          %2 = scan n_steps=%0 seqs=[%X taps=[0], %1 taps=[0]] states=[%h0 taps=[-1]] non_seqs=[%W] {go_backwards=true} {
          ^(%x: f64[?], %3: f64[?], %h: f64[?], %w: f64[?,?]):
            %4 = mul %h, %h : f64[?]
            %5 = add %4, %3 : f64[?]
            yield %5
          } : f64[?,?]
          return %2
        }
    """, [small_ints(4, 3), small_ints(3, 2), small_ints(1, 2)])


def test_push_out_batches_products_of_taps_going_backwards():
    """Taps [-1, 2] of X going backwards: each tap's slice is cut in X's order and then
    reversed (Theano), so at step t x_tp2 is X[::-1][t] and x_tm1 is X[::-1][t + 3] (still
    three rows before x_tp2 in X); the products are of X[::-1][:n] and X[::-1][3:3 + n],
    reversed again for the scan to reverse; U = W.T is hoisted first, the constant matrix is U as is."""
    X, W, h0 = tensor("X", bcast=(False, False)), tensor("W", bcast=(False, False)), tensor("h0", bcast=(True, False))
    n = tensor("n", "int64", ())
    xm, xp, h, w = step_var("x_tm1"), step_var("x_tp2"), step_var("h"), tensor("w", bcast=(False, False))
    U = const(np.arange(6.0).reshape(3, 2))
    new_h = ew("add", ew("add", h, Dot().make_node(xp, ds(w, 1, 0)).out), Dot().make_node(xm, U).out)
    (hs,) = scan(n, [xm, xp, h, w], [new_h], sequences=[X], states=[h0], non_sequences=[W],
                 sequence_taps=((-1, 2),), go_backwards=True)
    graph = Graph([X, W, h0, n], [hs])
    check_scan_pass(push_out, graph, """
        func @fn(%X: f64[?,?], %W: f64[?,?], %h0: f64[1,?], %n: i64[]) -> (f64[?,?]) {
          %0 = scan n_steps=%n seqs=[%X taps=[-1, 2]] states=[%h0 taps=[-1]] non_seqs=[%W] {go_backwards=true} {
          ^(%x_tm1: f64[?], %x_tp2: f64[?], %h: f64[?], %w: f64[?,?]):
            %1 = dimshuffle %w {order=[1, 0]} : f64[?,?]
            %2 = dot %x_tp2, %1 : f64[?]
            %3 = add %h, %2 : f64[?]
            %4 = dot %x_tm1, dense<[0.,1.,2.,3.,4.,5.]>:f64[?,?] : f64[?]
            %5 = add %3, %4 : f64[?]
            yield %5
          } : f64[?,?]
          return %0
        }
    """, """
        func @fn(%X: f64[?,?], %W: f64[?,?], %h0: f64[1,?], %n: i64[]) -> (f64[?,?]) {
          %0 = subtensor %X[::-1] : f64[?,?]
          %1 = subtensor %0[:%n] : f64[?,?]
          %2 = dimshuffle %W {order=[1, 0]} : f64[?,?]
          %3 = dot %1, %2 : f64[?,?]
          %4 = subtensor %3[::-1] : f64[?,?]
          %5 = add 3:i64, %n : i64[]
          %6 = subtensor %0[3:%5] : f64[?,?]
          %7 = dot %6, dense<[0.,1.,2.,3.,4.,5.]>:f64[?,?] : f64[?,?]
          %8 = subtensor %7[::-1] : f64[?,?]
          %9 = scan n_steps=%n seqs=[%X taps=[-1, 2], %4 taps=[0], %8 taps=[0]] states=[%h0 taps=[-1]] non_seqs=[%W, %2] {go_backwards=true} {
          ^(%x_tm1: f64[?], %x_tp2: f64[?], %10: f64[?], %11: f64[?], %h: f64[?], %w: f64[?,?], %12: f64[?,?]):
            %13 = add %h, %10 : f64[?]
            %14 = add %13, %11 : f64[?]
            yield %14
          } : f64[?,?]
          return %9
        }
    """, *[[small_ints(rows, 3), small_ints(2, 3), small_ints(1, 2), np.int64(n)]
           for rows, n in ((7, 4), (9, 4), (7, 0), (3, 0))],
        failing=[[small_ints(6, 3), small_ints(2, 3), small_ints(1, 2), np.int64(4)],
                 [small_ints(7, 3), small_ints(2, 3), small_ints(1, 2), np.int64(-1)]], same_message=False)


def test_push_out_moves_work_out_level_by_level():
    """sum(W @ W) is invariant in the inner scan, moves into the outer body, where it is
    invariant too, and moves out again."""
    X, W = tensor("X", bcast=(False, False)), tensor("W", bcast=(False, False))
    x, w = step_var("x"), tensor("w", bcast=(False, False))
    v, ww = step_var("v", ndim=0), tensor("ww", bcast=(False, False))
    (inner,) = scan(ShapeI(0).make_node(x).out, [v, ww], [ew("add", v, total(Dot().make_node(ww, ww).out))],
                    sequences=[x], non_sequences=[w], n_outputs=1)
    (outer,) = scan(ShapeI(0).make_node(X).out, [x, w], [total(inner)], sequences=[X], non_sequences=[W], n_outputs=1)
    graph = Graph([X, W], [outer])
    check_scan_pass(push_out, graph, """
        func @fn(%X: f64[?,?], %W: f64[?,?]) -> (f64[?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = scan n_steps=%0 seqs=[%X taps=[0]] non_seqs=[%W] {outputs=1} {
          ^(%x: f64[?], %w: f64[?,?]):
            %2 = shape_i %x {axis=0} : i64[]
            %3 = scan n_steps=%2 seqs=[%x taps=[0]] non_seqs=[%w] {outputs=1} {
            ^(%v: f64[], %ww: f64[?,?]):
              %4 = dot %ww, %ww : f64[?,?]
              %5 = sum %4 {axes=[0, 1]} : f64[]
              %6 = add %v, %5 : f64[]
              yield %6
            } : f64[?]
            %7 = sum %3 {axes=[0]} : f64[]
            yield %7
          } : f64[?]
          return %1
        }
    """, """
        func @fn(%X: f64[?,?], %W: f64[?,?]) -> (f64[?]) {
          %0 = shape_i %X {axis=0} : i64[]
          %1 = dot %W, %W : f64[?,?]
          %2 = sum %1 {axes=[0, 1]} : f64[]
          %3 = scan n_steps=%0 seqs=[%X taps=[0]] non_seqs=[%W, %2] {outputs=1} {
          ^(%x: f64[?], %w: f64[?,?], %4: f64[]):
            %5 = shape_i %x {axis=0} : i64[]
            %6 = scan n_steps=%5 seqs=[%x taps=[0]] non_seqs=[%w, %4] {outputs=1} {
            ^(%v: f64[], %ww: f64[?,?], %7: f64[]):
              %8 = add %v, %7 : f64[]
              yield %8
            } : f64[?]
            %9 = sum %6 {axes=[0]} : f64[]
            yield %9
          } : f64[?]
          return %3
        }
    """, [small_ints(3, 2), small_ints(2, 2)], [small_ints(0, 2), small_ints(2, 2)], [small_ints(3, 0), small_ints(2, 2)])


# -- the pipeline -----------------------------------------------------------------------------

def test_pipeline_order():
    assert [name for name, _ in PIPELINE] == ["canonicalize", "cse", "push_out", "dce", "save_memory"]


def test_pipeline_on_a_frontend_scan():
    T = pytest.importorskip("loopc.frontend.tensor", reason="the tensor frontend is not importable yet")
    frontend_scan = pytest.importorskip("loopc.frontend.scan", reason="the scan frontend is not importable yet")
    X, W, h0 = T.matrix("X"), T.matrix("W"), T.vector("h0")

    def step(x_t, h, W):
        return T.tanh(T.dot(h, W) + x_t * 1.0), T.exp(x_t) + T.exp(x_t), (x_t * 2.0).sum()

    (hs, dead, total), _ = frontend_scan.scan(step, sequences=[X], outputs_info=[h0, None, None],
                                              non_sequences=[W])
    graph = Graph([X, W, h0], [hs[-1], total])
    stages = run_pipeline(graph, verify=True)
    assert [name for name, _ in stages] == ["input", "canonicalize", "cse", "push_out", "dce", "save_memory"]
    final = stages[-1][1]
    verify(final)
    (node,) = [node for node in final.nodes if node.op.name == "scan"]
    assert node.op.n_outputs == 1 and len(node.outputs) == 2      # `dead` is gone
    assert "exp" not in format_graph(final)
    assert_same_numbers(graph, final, [normal(5, 3), normal(3, 3), normal(3)])


# -- random graphs through the whole pipeline ---------------------------------------------------

def _random_graph(seed):
    """An elementwise DAG over x, y with repeated subexpressions, constants and neutral operands."""
    r = np.random.default_rng(seed)
    x, y = tensor("x"), tensor("y")
    pool = [x, y, ds(const(1.0), "x"), ds(const(0.0), "x"), ds(ew("add", const(1.5), const(2.0)), "x")]
    for _ in range(12):
        kind = r.integers(4)
        a, b = (pool[i] for i in r.integers(len(pool), size=2))
        if kind == 0:
            pool.append(ew(["add", "mul", "sub", "maximum"][r.integers(4)], a, b))
        elif kind == 1:
            pool.append(ew(["tanh", "sin", "neg", "sqr"][r.integers(4)], a))
        elif kind == 2:
            pool.append(ds(ds(a, "x", 0), 1))
        else:
            pool.append(ew("cast", a, dtype="float64"))
    outputs = [pool[i] for i in r.integers(2, len(pool), size=3)]
    return Graph([x, y], outputs)


@pytest.mark.parametrize("seed", range(40))
def test_pipeline_keeps_the_numbers_of_random_graphs(seed):
    graph = _random_graph(seed)
    after = graph
    for _, run in PIPELINE:
        after = run(after)
        verify(after)
    assert len(after.nodes) <= len(graph.nodes)
    assert [v.type for v in after.outputs] == [v.type for v in graph.outputs]
    assert_same_numbers(graph, after, [normal(4), normal(4)])
