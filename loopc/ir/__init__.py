"""loopc's IR: read this package first. Layer 1: it imports `loopc.errors` and
`loopc.runtime` and nothing else of loopc (the frontend gives variables their
operators through `graph.SURFACE`).

- `types`: `TensorType(dtype, broadcastable)` (text `f64[?,1]`) and `RandomStateType`.
- `graph`: `Variable` (an SSA value), `Constant`, `SharedVariable`, `Apply` (an op on
  inputs, owning its outputs), `Op` (frozen dataclass: equal params, equal op),
  `Graph`, `toposort`, `clone_replace`, `verify`.
- `ops`: the op table (type rule + NumPy reference per op).
- `scan`: the `Scan` op, which owns a body graph and splits values by role.
- `interpret`: the reference evaluator (`evaluate(graph, values)`): each op's `perform`,
  node by node.
- `dot`: a Graphviz picture of a graph.
- `printer`: the text form, e.g.

    func @rnn(%h0: f64[?], %W: f64[?,?], %Y: f64[?,?]) -> (f64[?,?]) {
      %0 = shape_i %Y {axis=0} : i64[]
      %1 = dimshuffle %h0 {order=[x, 0]} : f64[1,?]
      %h = scan n_steps=%0 seqs=[%Y taps=[0]] states=[%1 taps=[-1]] non_seqs=[%W] {
      ^(%Y_1: f64[?], %h0_tm1: f64[?], %W_1: f64[?,?]):
        %2 = dot %h0_tm1, %W_1 : f64[?]
        %3 = add %2, %Y_1 : f64[?]
        %4 = tanh %3 : f64[?]
        yield %4
      } : f64[?,?]
      return %h
    }

  Grammar: `func @NAME(ARGS) -> (TYPES) { LINE* return VALUES }`; a line is
  `VALUES = OPNAME OPERANDS [{PARAMS}] : TYPES`, or a scan with a nested region
  `{ ^(ARGS): LINE* yield VALUES } : TYPES`. TYPE is `DTYPE[DIMS]` with DIMS
  `?` (any length) or `1` (broadcastable); operands are `%NAME` or inline
  constants `VALUE:DTYPE`.
"""
from .graph import Apply, Constant, Graph, Op, SharedVariable, Variable, clone_replace, toposort, verify  # noqa: F401
from .printer import dump, format_graph  # noqa: F401
from .types import RandomStateType, TensorType  # noqa: F401
