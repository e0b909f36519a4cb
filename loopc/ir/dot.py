"""A Graphviz picture of a graph (`loopc dump --format dot`).

Nodes are ops (boxes), graph inputs (ellipses), constants (plain text) and
outputs (double octagons); edges are values, labelled with the names and types
of the text IR (`%h: f64[?]`), so the picture and the dump read alike. A scan's
body is a cluster beside its scan node, holding its own inputs, ops and a
`yield` node; a dashed edge joins the scan node to its body.

    digraph "rnn" {
      v0 [label="%x\\nf64[?]", shape=ellipse];
      n1 [label="tanh", shape=box];
      v0 -> n1 [label="%x: f64[?]"];
      ...
    }
"""
from .graph import Constant
from .printer import Namer, _operands, _params


def to_dot(graph, name="fn"):
    """The Graphviz (dot) source of `graph`."""
    w = _DotWriter()
    w.lines.append(f"digraph {_quote(name)} {{")
    w.lines.append("  rankdir=TB;")
    w.lines.append('  node [fontname="monospace"]; edge [fontname="monospace", fontsize=10];')
    w.graph(graph, "  ")
    for i, var in enumerate(graph.outputs):
        out = w.fresh()
        w.lines.append(f'  {out} [label="output {i}", shape=doubleoctagon];')
        w.edge(var, out, "  ")
    w.lines.append("}")
    return "\n".join(w.lines) + "\n"


class _DotWriter:
    def __init__(self):
        self.lines = []
        self.namer = Namer()
        self.where = {}  # variable -> dot id of the node that defines it
        self.count = 0
        self.clusters = 0

    def fresh(self, prefix="n"):
        self.count += 1
        return f"{prefix}{self.count}"

    def graph(self, graph, indent):
        for var in graph.inputs:
            self.source(var, "ellipse", indent)
        for node in graph.nodes:
            self.node(node, indent)

    def source(self, var, shape, indent):
        ident = self.fresh("v")
        self.where[var] = ident
        label = f"{self.namer(var)}\\n{var.type}" if not isinstance(var, Constant) else self.namer(var)
        self.lines.append(f"{indent}{ident} [label={_quote(label)}, shape={shape}];")
        return ident

    def node(self, node, indent):
        ident = self.fresh()
        for var in node.outputs:  # named here, in definition order, as in the text dump
            self.namer(var)
        self.lines.append(f"{indent}{ident} [label={_quote(self.label(node))}, shape=box];")
        for var in node.inputs:
            self.edge(var, ident, indent)
        for var in node.outputs:
            self.where[var] = ident
        body = getattr(node.op, "body", None)
        if body is not None:
            self.body(body, ident, indent)

    def label(self, node):
        op = node.op
        if op.name == "scan":
            return _scan_label(op)
        if getattr(op, "idx_list", None) is not None:  # the subscript, as the text dump prints it
            return f"{op.name} {_operands(node, self.namer)}{_params(op)}"
        return op.name + _params(op)

    def edge(self, var, target, indent):
        if var not in self.where:  # a constant or a captured outer value met first here
            self.source(var, "plaintext" if isinstance(var, Constant) else "ellipse", indent)
        if isinstance(var, Constant):  # its node already says everything
            self.lines.append(f"{indent}{self.where[var]} -> {target};")
            return
        label = f"{self.namer(var)}: {var.type}"
        self.lines.append(f"{indent}{self.where[var]} -> {target} [label={_quote(label)}];")

    def body(self, body, scan_id, indent):
        self.clusters += 1
        self.lines.append(f"{indent}subgraph cluster_{self.clusters} {{")
        inner = indent + "  "
        self.lines.append(f'{inner}label="scan body"; style=rounded; color=gray50;')
        self.graph(body, inner)
        ret = self.fresh()
        self.lines.append(f'{inner}{ret} [label="yield", shape=box, style=dashed];')
        for var in body.outputs:
            self.edge(var, ret, inner)
        self.lines.append(f"{indent}}}")
        self.lines.append(f'{indent}{scan_id} -> {ret} [style=dashed, arrowhead=none, label="body"];')


def _scan_label(op):
    """`scan` and its roles, one per line (edges come in the node's input order:
    n_steps, sequences, states, shared, non_sequences)."""
    lines = ["scan" + (f" {op.label}" if op.label else "")]
    if op.sequence_taps:
        lines.append("seqs taps=" + ", ".join(str(list(t)) for t in op.sequence_taps))
    if op.state_taps:
        lines.append("states taps=" + ", ".join(str(list(t)) for t in op.state_taps))
    for role, count in (("outputs", op.n_outputs), ("shared", op.n_shared), ("non_seqs", op.n_non_sequences)):
        if count:
            lines.append(f"{role}={count}")
    if op.keep is not None:
        lines.append("keep=" + str(["all" if k is None else k for k in op.keep]).replace("'", ""))
    flags = [f for f, on in (("go_backwards", op.go_backwards), ("until", op.has_until)) if on]
    if op.truncate_gradient != -1:
        flags.append(f"truncate_gradient={op.truncate_gradient}")
    if flags:
        lines.append(", ".join(flags))
    return "\\n".join(lines)


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n") + '"'
