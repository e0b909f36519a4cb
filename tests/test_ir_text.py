"""Golden tests of the IR's text form (`loopc.dump`, `f.dump`).

The text must be stable: names come from the graph's structure and the user's
names, never from object ids, so the same graph always prints the same way.
"""
import textwrap

import loopc as theano
import loopc.tensor as T


def golden(text):
    return textwrap.dedent(text).strip("\n")


def rnn_graph():
    X, W, U = T.vector("X"), T.matrix("W"), T.matrix("U")
    Y, V, P = T.matrix("Y"), T.matrix("V"), T.matrix("P")
    results, _ = theano.scan(lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y, U) + T.dot(p, V)),
                             sequences=[Y, P[::-1]], outputs_info=[X])
    return results


def test_rnn_dump():
    assert theano.dump(rnn_graph(), name="rnn") == golden("""
        func @rnn(%Y: f64[?,?], %P: f64[?,?], %X: f64[?], %W: f64[?,?], %U: f64[?,?], %V: f64[?,?]) -> (f64[?,?]) {
          %0 = shape_i %Y {axis=0} : i64[]
          %1 = subtensor %P[::-1] : f64[?,?]
          %2 = shape_i %1 {axis=0} : i64[]
          %n_steps = minimum %0, %2 : i64[]
          %3 = dimshuffle %X {order=[x, 0]} : f64[1,?]
          %4 = scan n_steps=%n_steps seqs=[%Y taps=[0], %1 taps=[0]] states=[%3 taps=[-1]] non_seqs=[%W, %U, %V] {
          ^(%Y_1: f64[?], %5: f64[?], %X_tm1: f64[?], %W_1: f64[?,?], %U_1: f64[?,?], %V_1: f64[?,?]):
            %6 = dot %X_tm1, %W_1 : f64[?]
            %7 = dot %Y_1, %U_1 : f64[?]
            %8 = add %6, %7 : f64[?]
            %9 = dot %5, %V_1 : f64[?]
            %10 = add %8, %9 : f64[?]
            %11 = tanh %10 : f64[?]
            yield %11
          } : f64[?,?]
          return %4
        }""")


def test_dump_is_stable_across_builds():
    assert theano.dump(rnn_graph()) == theano.dump(rnn_graph())


def test_elementwise_reduction_and_indexing_dump():
    x, i = T.dmatrix("x"), T.iscalar("i")
    outs = [(x * 2.0).sum(axis=0, keepdims=True), x[1:, ::-1], x[i, :3]]
    assert theano.dump(outs, name="misc") == golden("""
        func @misc(%x: f64[?,?], %i: i32[]) -> (f64[1,?], f64[?,?], f64[?]) {
          %0 = dimshuffle 2.0:f64 {order=[x, x]} : f64[1,1]
          %1 = mul %x, %0 : f64[?,?]
          %2 = sum %1 {axes=[0]} : f64[?]
          %3 = dimshuffle %2 {order=[x, 0]} : f64[1,?]
          %4 = subtensor %x[1:, ::-1] : f64[?,?]
          %5 = subtensor %x[%i, :3] : f64[?]
          return %3, %4, %5
        }""")


def test_two_tap_state_and_last_row_dump():
    X, n = T.matrix("X"), T.iscalar("n")
    r, _ = theano.scan(lambda x_tm2, x_tm1: x_tm2 + x_tm1, n_steps=n,
                       outputs_info=[dict(initial=X, taps=[-2, -1])])
    assert theano.dump(r[-1], name="taps") == golden("""
        func @taps(%n: i32[], %X: f64[?,?]) -> (f64[?]) {
          %n_steps = cast %n {dtype=int64} : i64[]
          %0 = scan n_steps=%n_steps states=[%X taps=[-2, -1]] {
          ^(%X_tm2: f64[?], %X_tm1: f64[?]):
            %1 = add %X_tm2, %X_tm1 : f64[?]
            yield %1
          } : f64[?,?]
          %2 = subtensor %0[-1] : f64[?]
          return %2
        }""")


def test_function_dump_by_stage():
    x = T.dvector("x")
    f = theano.function([x], T.tanh(x) * 1.0, mode="PY")
    assert f.dump("input").startswith("func @fn(%x: f64[?]) -> (f64[?]) {")
    assert "tanh %x" in f.dump()
