"""The IR's text form (MLIR-like), for dumps and golden tests.

    func @name(%X: f64[?,?], %W: f64[?,?]) -> (f64[?,?]) {
      %0 = dot %X, %W : f64[?,?]
      %1 = tanh %0 : f64[?,?]
      return %1
    }

One op per line with its result type; names are given at print time in
definition order (the user's name when unique, `%W_1` on a collision, numbers
otherwise), so a dump never depends on object ids. Params print sorted in
braces. A 0-d constant prints inline as `2.0:f64`; others as `dense<...>`.
A scan prints its body as a nested region whose block arguments are the body's
inputs, ending in `yield`; its flags print only when set (`keep=[all, 1]`: rows
kept per state then per output).
"""
import numpy as np

from .graph import Constant
from .types import SHORT


class Namer:
    def __init__(self):
        self.names, self.taken, self.counter = {}, set(), 0

    def __call__(self, var):
        if isinstance(var, Constant):
            return constant_text(var)
        if var not in self.names:
            self.names[var] = self._new(var.name)
        return "%" + self.names[var]

    def _new(self, hint):
        if hint is None:
            while str(self.counter) in self.taken:
                self.counter += 1
            name = str(self.counter)
            self.counter += 1
        else:
            name, k = hint, 0
            while name in self.taken:
                k += 1
                name = f"{hint}_{k}"
        self.taken.add(name)
        return name


def constant_text(var):
    data = np.asarray(var.data)
    if data.ndim == 0 and var.dtype != "rng":
        return f"{data.item()!r}:{SHORT[var.dtype]}"
    flat = np.array2string(data.ravel(), threshold=8, separator=",").replace("\n", "")
    return f"dense<{flat}>:{var.type}"


def _params(op):
    params = {k: v for k, v in op.params().items() if k not in ("body",) and v is not None}
    for implied in ("scalar", "kind", "idx_list", "set_instead_of_inc"):
        params.pop(implied, None)  # already said by the op's name or its subscript
    if not params:
        return ""
    return " {" + ", ".join(f"{k}={_param(v)}" for k, v in sorted(params.items())) + "}"


def _param(v):
    if isinstance(v, tuple):
        return "[" + ", ".join(_param(x) for x in v) + "]"
    if isinstance(v, str):
        return v
    return repr(v).lower() if isinstance(v, bool) else repr(v)


def format_graph(graph, name="fn"):
    namer = Namer()
    args = ", ".join(f"{namer(v)}: {v.type}" for v in graph.inputs)
    results = ", ".join(str(v.type) for v in graph.outputs)
    lines = [f"func @{name}({args}) -> ({results}) {{"]
    _format_nodes(graph, namer, lines, "  ")
    lines.append(f"  return {', '.join(namer(v) for v in graph.outputs)}")
    lines.append("}")
    return "\n".join(lines)


def _format_nodes(graph, namer, lines, indent):
    for node in graph.nodes:
        outs = ", ".join(namer(v) for v in node.outputs)
        types = ", ".join(str(v.type) for v in node.outputs)
        if node.op.name == "scan":
            _format_scan(node, namer, lines, indent, outs, types)
            continue
        args = _operands(node, namer)
        lines.append(f"{indent}{outs} = {node.op.name} {args}{_params(node.op)} : {types}")


INC_OPS = ("inc_subtensor", "set_subtensor", "advanced_inc_subtensor", "advanced_set_subtensor")


def _operands(node, namer):
    """Operands; indexing ops print their index list as a subscript: `%x[1:, ::-1]`."""
    idx_list = getattr(node.op, "idx_list", None)
    if idx_list is None:
        return ", ".join(namer(v) for v in node.inputs)
    n_lead = 2 if node.op.name in INC_OPS else 1
    lead = [namer(v) for v in node.inputs[:n_lead]]
    values = iter(_bare(namer(v)) for v in node.inputs[n_lead:])
    parts = []
    for item in idx_list:
        if item in ("i", "a"):  # an integer, or an integer array (advanced indexing)
            parts.append(next(values))
            continue
        pieces = [next(values) if present else "" for present in item[1:]]
        parts.append(":".join(pieces[:2]) if not item[3] else ":".join(pieces))
    lead[0] += "[" + ", ".join(parts) + "]"
    return ", ".join(lead)


def _bare(text):
    """An i64 constant prints as a plain number inside a subscript."""
    return text[:-4] if text.endswith(":i64") else text


def _format_scan(node, namer, lines, indent, outs, types):
    op = node.op
    roles = op.split_inputs(node.inputs)
    parts = [f"n_steps={namer(roles.n_steps)}"]
    if roles.sequences:
        parts.append("seqs=[" + ", ".join(f"{namer(x)} taps={list(t)}" for x, t in
                                          zip(roles.sequences, op.sequence_taps)) + "]")
    if roles.states:
        parts.append("states=[" + ", ".join(f"{namer(x)} taps={list(t)}" for x, t in
                                            zip(roles.states, op.state_taps)) + "]")
    if roles.shared:
        parts.append("shared=[" + ", ".join(namer(x) for x in roles.shared) + "]")
    if roles.non_sequences:
        parts.append("non_seqs=[" + ", ".join(namer(x) for x in roles.non_sequences) + "]")
    flags = []
    if op.n_outputs:
        flags.append(f"outputs={op.n_outputs}")
    if op.keep is not None:
        flags.append("keep=[" + ", ".join("all" if k is None else str(k) for k in op.keep) + "]")
    if op.go_backwards:
        flags.append("go_backwards=true")
    if op.has_until:
        flags.append("until=true")
    if op.truncate_gradient != -1:
        flags.append(f"truncate_gradient={op.truncate_gradient}")
    if op.label:
        flags.append(f"name={op.label}")
    flag_text = " {" + ", ".join(flags) + "}" if flags else ""
    lines.append(f"{indent}{outs} = scan {' '.join(parts)}{flag_text} {{")
    body = op.body
    args = ", ".join(f"{namer(v)}: {v.type}" for v in body.inputs)
    lines.append(f"{indent}^({args}):")
    _format_nodes(body, namer, lines, indent + "  ")
    lines.append(f"{indent}  yield {', '.join(namer(v) for v in body.outputs)}")
    lines.append(f"{indent}}} : {types}")


def dump(variables, name="graph"):
    """The text form of the graph computing `variables` from its free inputs."""
    from .graph import Graph, graph_inputs
    outs = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    inputs = [v for v in graph_inputs(outs) if not isinstance(v, Constant)]
    return format_graph(Graph(inputs, outs), name=name)
