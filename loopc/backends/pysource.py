"""Render an IR graph as the source of one Python function.

The same source runs in PY mode (plain Python) and NUMBA mode (`numba.njit`).
Conventions of the generated code:
- a tensor of ndim >= 1 is a NumPy array; a 0-d tensor is a scalar; an rng is a
  slot number into `runtime.RNG_SLOTS`;
- elementwise ops and reductions are explicit loop nests that store into
  arrays of the result dtype (stores convert, so no temporaries or casts);
  0-d results are wrapped in their dtype's constructor (`np.float32(...)`);
- a scan is a `for t in range(n)` loop with its body inlined; states live in a
  buffer of `n + L` rows whose first L rows are the initial rows;
- errors are raised as loopc exceptions with a %-format and run-time values.

`RENDER[op.name]` (or by op class) holds one rule per op:
`rule(r, node, args, outs)` appends lines through the renderer `r`.
"""
import keyword
import math
import re

import numpy as np

from ..errors import UnsupportedError
from ..ir import ops as O
from ..ir.graph import Constant, is_rng
from ..ir.scan import initial_name
from ..ir.types import is_discrete, is_float, is_int

HEADER = """\
import math
import numpy as np
from loopc.backends.runtime import (objmode, draw_random, copy_rng, print_value, LoopcIndexError,
                                    LoopcValueError, ScanError, ShapeError)
"""


class Renderer:
    """Names values and collects lines of one function."""

    def __init__(self):
        self.lines = []
        self.indent = 1
        self.names = {}
        self.used = set(keyword.kwlist) | {"np", "math", "objmode", "draw_random", "print_value"}
        self.constants = []  # (name, array) of non-scalar constants, emitted as globals
        self.consumed = set()  # values some node or graph output reads (the others are dead)
        self.readers = {}  # value -> how many nodes and graph outputs read it

    # -- names ------------------------------------------------------------------
    def name(self, var):
        if var in self.names:
            return self.names[var]
        if isinstance(var, Constant) and var.ndim == 0 and not is_rng(var):
            return literal(var.data, var.dtype)
        if isinstance(var, Constant):
            name = self.fresh("const")
            self.constants.append((name, var.data))
        else:
            name = self.fresh(var.name or "v")
        self.names[var] = name
        return name

    def fresh(self, hint):
        base = re.sub(r"\W", "_", hint) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def bind(self, var, name):
        self.names[var] = name

    # -- lines ------------------------------------------------------------------
    def emit(self, line):
        self.lines.append("    " * self.indent + line)

    def block(self, header):
        return _Block(self, header)

    def raise_(self, cls, fmt, *args):
        extra = "".join(", " + a for a in args)
        self.emit(f"raise {cls}({fmt!r}{extra})")

    # -- graphs -----------------------------------------------------------------
    def render_nodes(self, nodes, outputs=()):
        self.consumed.update(v for node in nodes for v in node.inputs)
        self.consumed.update(outputs)
        for var in [v for node in nodes for v in set(node.inputs)] + list(outputs):
            self.readers[var] = self.readers.get(var, 0) + 1
        for node in nodes:
            rule = RENDER.get(node.op.name) or RENDER.get(type(node.op).__name__)
            if rule is None:
                raise UnsupportedError("op %s has no rule in the Python-source backend", node.op.name)
            args = [self.name(v) for v in node.inputs]
            outs = [self.name(v) for v in node.outputs]
            rule(self, node, args, outs)


class _Block:
    def __init__(self, r, header):
        self.r, self.header = r, header

    def __enter__(self):
        self.r.emit(self.header)
        self.r.indent += 1

    def __exit__(self, *exc):
        self.r.indent -= 1


def literal(value, dtype):
    value = np.asarray(value).item()
    if dtype == "bool":
        return repr(bool(value))
    if dtype == "int64":
        return _parenthesized(repr(int(value)))
    if dtype.startswith("float") and not np.isfinite(value):  # nan and inf are not Python literals
        return f"np.{dtype}({'np.nan' if value != value else ('np.inf' if value > 0 else '-np.inf')})"
    if dtype == "float64":
        return _parenthesized(repr(float(value)))
    return f"np.{dtype}({value!r})"


def _parenthesized(text):
    """A negative literal in parentheses: in `-1 ** x` the minus would apply last."""
    return f"({text})" if text.startswith("-") else text


def array_literal(data):
    """A Python list literal of `data`'s values; NaN and inf spelled np.nan, np.inf."""
    return re.sub(r"\b(nan|inf)\b", r"np.\1", repr(data.tolist()))


def label(var):
    """How error messages in generated code name a value: its name, or what made it."""
    if var.name:
        text = var.name
    elif var.owner is not None:
        text = f"the result of {var.owner.op.name}"
    else:
        text = f"an unnamed {var.type.describe()}"
    return repr(text)


def np_dtype(dtype):
    return "np.bool_" if dtype == "bool" else f"np.{dtype}"


def render_function(graph, name="fn"):
    """(source, function name) for `graph`; rng inputs and outputs are slot numbers."""
    r = Renderer()
    params = [r.name(v) for v in graph.inputs]
    r.render_nodes(graph.nodes, graph.outputs)
    results = [r.name(v) for v in graph.outputs]
    body = r.lines
    ret = "(" + ", ".join(results) + ("," if len(results) == 1 else "") + ")"
    lines = [HEADER]
    for cname, data in r.constants:
        if not any(re.search(rf"\b{cname}\b", line) for line in body + [ret]):
            continue  # every use was inlined as a literal
        lines.append(f"{cname} = np.array({array_literal(data)}, dtype=np.{data.dtype.name}).reshape({data.shape!r})")
    lines.append("")
    lines.append(f"def {name}({', '.join(params)}):")
    lines.extend(body or ["    pass"])
    lines.append(f"    return {ret}")
    return "\n".join(lines) + "\n"


RENDER = {}


def rule(*names):
    def register(fn):
        for n in names:
            RENDER[n] = fn
        return fn
    return register


# -- elementwise ------------------------------------------------------------------

SCALAR_EXPR = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "true_div": "({0} / {1})",
    "int_div": "({0} // {1})", "mod": "({0} % {1})", "pow": "({0} ** {1})",
    "maximum": "np.maximum({0}, {1})", "minimum": "np.minimum({0}, {1})", "arctan2": "np.arctan2({0}, {1})",
    "neg": "(-{0})", "abs": "abs({0})", "sgn": "np.sign({0})", "sqr": "({0} * {0})", "sqrt": "np.sqrt({0})",
    "inv": "(1.0 / {0})",
    "exp": "np.exp({0})", "exp2": "np.exp2({0})", "expm1": "np.expm1({0})", "log": "np.log({0})",
    "log2": "np.log2({0})", "log10": "np.log10({0})", "log1p": "np.log1p({0})",
    "sin": "np.sin({0})", "cos": "np.cos({0})", "tan": "np.tan({0})", "arcsin": "np.arcsin({0})",
    "arccos": "np.arccos({0})", "arctan": "np.arctan({0})", "sinh": "np.sinh({0})", "cosh": "np.cosh({0})",
    "tanh": "np.tanh({0})", "arcsinh": "np.arcsinh({0})", "arccosh": "np.arccosh({0})",
    "arctanh": "np.arctanh({0})",
    "sigmoid": "(1.0 / (1.0 + np.exp(-{0})))",
    "softplus": "(np.log1p(np.exp(-abs({0}))) + max({0}, 0.0))",
    "erf": "math.erf({0})",
    "floor": "np.floor({0})", "ceil": "np.ceil({0})", "trunc": "np.trunc({0})", "round": "np.rint({0})",
    "eq": "({0} == {1})", "neq": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})", "and": "({0} & {1})", "or": "({0} | {1})",
    "xor": "({0} ^ {1})", "invert": "(~{0})", "isnan": "np.isnan({0})", "isinf": "np.isinf({0})",
    "switch": "({1} if {0} else {2})", "identity": "{0}", "cast": "{0}",
}


def scalar_expr(node, operands):
    op = node.op.scalar
    if op == "invert" and node.inputs[0].dtype == "bool":
        return f"(not {operands[0]})"
    if op == "sgn" and node.inputs[0].dtype.startswith("uint"):
        return f"({operands[0]} != 0)"  # Numba's np.sign reads unsigned integers as signed
    out_dtype = node.outputs[0].dtype
    if op == "cast":
        # an explicit conversion: storing an out-of-range NumPy integer raises in PY mode
        return f"{np_dtype(out_dtype)}({operands[0]})"
    if is_float(out_dtype) and op != "switch":
        # NumPy computes bool/int8/int16 inputs of exp or true_div in float16 (PY mode would
        # too); compute in the result type, as the op's `perform` does
        operands = [f"{np_dtype(out_dtype)}({x})" if is_discrete(v.dtype) else x
                    for x, v in zip(operands, node.inputs)]
    if op in ("sigmoid", "softplus") and out_dtype == "float32":
        # compute in float64 and round once on the store
        operands = [f"np.float64({x})" for x in operands]
    return SCALAR_EXPR[op].format(*operands)


def _weak(var):
    """Values that are Python numbers in generated code: inlined constants and shapes."""
    if isinstance(var, Constant):
        return all(var.broadcastable)
    return var.owner is not None and var.owner.op.name == "shape_i"


def typed_operands(node, operands):
    """Give Python-number operands their NumPy type where Python's rules differ from
    NumPy's: beside another dtype (a weak `0.5` would not widen a float32 in PY mode),
    and when every operand is one (Python's `1 // 0` raises and its ints never wrap)."""
    weak = [_weak(v) for v in node.inputs]
    if all(weak):
        return [scalar_of(operands[0], node.inputs[0].dtype)] + list(operands[1:])
    if len({v.dtype for v in node.inputs}) > 1:
        return [scalar_of(o, v.dtype) if w else o for o, v, w in zip(operands, node.inputs, weak)]
    return list(operands)


def loop_extents(r, node, args):
    """Per axis of an elementwise node: the expression of its length (and emit
    the checks that the inputs agree on it)."""
    out = node.outputs[0]
    extents = []
    for axis in range(out.ndim):
        owners = [(v, a) for v, a in zip(node.inputs, args) if not v.broadcastable[axis]]
        if not owners:
            extents.append("1")
            continue
        first_var, first = owners[0]
        extents.append(f"{first}.shape[{axis}]")
        for var, a in owners[1:]:
            if a == first:
                continue  # the same value twice: nothing to check
            with r.block(f"if {a}.shape[{axis}] != {first}.shape[{axis}]:"):
                r.raise_("ShapeError", f"{node.op.name}: %s has length %d on axis {axis} but %s has %d",
                         label(var), f"{a}.shape[{axis}]", label(first_var), f"{first}.shape[{axis}]")
    return extents


def loop_nest(r, extents, hint="i"):
    """Open one `for` per extent; return (index names, number of levels to close)."""
    idx = [r.fresh(f"{hint}{k}") for k in range(len(extents))]
    for i, n in zip(idx, extents):
        r.emit(f"for {i} in range({n}):")
        r.indent += 1
    return idx


def close(r, levels):
    r.indent -= levels


def element(name, var, idx):
    """`name[i0, 0, i2]`: the element of `var` at loop indices `idx` (0 where broadcastable);
    a one-element constant is its literal."""
    if isinstance(var, Constant) and all(var.broadcastable):
        return literal(var.data, var.dtype)
    if var.ndim == 0:
        return name
    subs = ["0" if b else i for b, i in zip(var.broadcastable, idx)]
    return f"{name}[{', '.join(subs)}]"


def alloc(shape_exprs, dtype):
    if len(shape_exprs) == 1:
        return f"np.empty({shape_exprs[0]}, {np_dtype(dtype)})"
    return f"np.empty(({', '.join(shape_exprs)}), {np_dtype(dtype)})"


def scalar_of(expr, dtype):
    return f"{np_dtype(dtype)}({expr})"


@rule(*O.SCALAR_OPS)
def render_elemwise(r, node, args, outs):
    out = node.outputs[0]
    if out.ndim == 0:
        expr = scalar_expr(node, typed_operands(node, args))
        r.emit(f"{outs[0]} = {expr if node.op.scalar == 'cast' else scalar_of(expr, out.dtype)}")
        return
    extents = loop_extents(r, node, args)
    r.emit(f"{outs[0]} = {alloc(extents, out.dtype)}")
    idx = loop_nest(r, extents)
    operands = typed_operands(node, [element(a, v, idx) for v, a in zip(node.inputs, args)])
    r.emit(f"{element(outs[0], out, idx)} = {scalar_expr(node, operands)}")
    close(r, len(idx))


# -- reductions -------------------------------------------------------------------

def _identity(kind, dtype):
    if kind == "sum" or kind == "any":
        return "False" if kind == "any" else "0"
    if kind in ("prod", "all"):
        return "True" if kind == "all" else "1"
    if is_float(dtype):
        return "-np.inf" if kind == "max" else "np.inf"
    info = np.iinfo(dtype) if is_int(dtype) else None
    if info is None:
        return "False" if kind == "max" else "True"
    return repr(int(info.min if kind == "max" else info.max))


def _combine(kind, acc, v):
    """Statements that fold element `v` into accumulator `acc`."""
    if kind == "sum":
        return [f"{acc} += {v}"]
    if kind == "prod":
        return [f"{acc} *= {v}"]
    if kind == "any":
        return [f"{acc} = {acc} or {v}"]
    if kind == "all":
        return [f"{acc} = {acc} and {v}"]
    cmp = ">" if kind == "max" else "<"
    # NaN wins and then sticks, as in NumPy
    return [f"if {v} {cmp} {acc} or ({v} != {v} and {acc} == {acc}):", f"    {acc} = {v}"]


@rule("sum", "prod", "max", "min", "any", "all")
def render_reduce(r, node, args, outs):
    (x,), (out,), var = args, outs, node.inputs[0]
    kind, axes, dtype = node.op.kind, node.op.axes, node.outputs[0].dtype
    if kind in ("max", "min"):
        empty = " or ".join(f"{x}.shape[{a}] == 0" for a in axes) or "False"
        with r.block(f"if {empty}:"):
            r.raise_("LoopcValueError", f"{kind} of %s: a reduced axis has length 0 (no identity)", label(var))
    extents = [f"{x}.shape[{a}]" for a in range(var.ndim)]
    kept = [a for a in range(var.ndim) if a not in axes]
    if not kept:
        acc = r.fresh("acc")
        r.emit(f"{acc} = {scalar_of(_identity(kind, dtype), dtype)}")
        idx = loop_nest(r, extents)
        for line in _combine(kind, acc, f"{x}[{', '.join(idx)}]" if idx else x):
            r.emit(line)
        close(r, len(idx))
        r.emit(f"{out} = {scalar_of(acc, dtype)}")
        return
    shape = ", ".join(extents[a] for a in kept) + ("," if len(kept) == 1 else "")
    r.emit(f"{out} = np.full(({shape}), {_identity(kind, dtype)}, {np_dtype(dtype)})")
    idx = loop_nest(r, extents)
    target = f"{out}[{', '.join(idx[a] for a in kept)}]"
    acc = r.fresh("acc")
    r.emit(f"{acc} = {target}")
    for line in _combine(kind, acc, f"{x}[{', '.join(idx)}]"):
        r.emit(line)
    r.emit(f"{target} = {acc}")
    close(r, len(idx))


@rule("argmax", "argmin")
def render_argreduce(r, node, args, outs):
    (x,), (out,), var = args, outs, node.inputs[0]
    cmp = ">" if node.op.kind == "argmax" else "<"
    if var.ndim != 1 and len(node.op.axes) == var.ndim:
        flat = r.fresh("flat")
        r.emit(f"{flat} = np.ascontiguousarray({x}).reshape(-1)")
        x, axis, kept = flat, 0, []
    else:
        axis = node.op.axes[0]
        kept = [a for a in range(var.ndim) if a != axis]
    with r.block(f"if {x}.shape[{axis}] == 0:"):
        r.raise_("LoopcValueError", f"{node.op.kind} of %s: the reduced axis has length 0", label(var))
    if kept:
        r.emit(f"{out} = np.empty(({', '.join(f'{x}.shape[{a}]' for a in kept)},), np.int64)")
    idx = loop_nest(r, [f"{x}.shape[{a}]" for a in kept])
    j, best, at = r.fresh("j"), r.fresh("best"), r.fresh("at")

    def elem(k):
        full = list(idx)
        full.insert(axis, k)
        return f"{x}[{', '.join(full)}]"

    r.emit(f"{best} = {elem('0')}")
    r.emit(f"{at} = 0")
    with r.block(f"for {j} in range(1, {x}.shape[{axis}]):"):
        with r.block(f"if {elem(j)} {cmp} {best} or ({elem(j)} != {elem(j)} and {best} == {best}):"):
            r.emit(f"{best} = {elem(j)}")
            r.emit(f"{at} = {j}")
    r.emit(f"{out}[{', '.join(idx)}] = {at}" if kept else f"{out} = np.int64({at})")
    close(r, len(idx))


# -- linear algebra --------------------------------------------------------------

@rule("dot")
def render_dot(r, node, args, outs):
    (a, b), (out,) = args, outs
    va, vb = node.inputs
    dtype = node.outputs[0].dtype
    if va.ndim and vb.ndim:
        inner_b = f"{b}.shape[0]"  # rows of a matrix, length of a vector
        with r.block(f"if {a}.shape[{va.ndim - 1}] != {inner_b}:"):
            r.raise_("ShapeError", "dot: %s has shape %s and %s has shape %s; inner lengths %d and %d differ",
                     label(va), f"{a}.shape", label(vb), f"{b}.shape", f"{a}.shape[{va.ndim - 1}]", inner_b)
    if va.ndim == 0 or vb.ndim == 0:
        # both operands in the result dtype first: a Python-number literal would be weak, and
        # Numba computes float32 array * int64 scalar in float32 where NumPy widens
        ta, tb = (in_dtype(x, v, dtype) for x, v in ((a, va), (b, vb)))
        expr = f"({ta} * {tb})"
        r.emit(f"{out} = {expr}" if node.outputs[0].ndim == 0 else f"{out} = np.asarray({expr})")
        return
    if is_float(dtype):
        ca = a if va.dtype == dtype else f"{a}.astype({np_dtype(dtype)})"
        cb = b if vb.dtype == dtype else f"{b}.astype({np_dtype(dtype)})"
        r.emit(f"{out} = np.dot({ca}, {cb})")
        return
    _render_dot_loops(r, va, vb, a, b, out, dtype)


def in_dtype(name, var, dtype):
    """`name` (a value of `var`) converted to `dtype`."""
    if var.ndim == 0:
        return scalar_of(name, dtype)
    return name if var.dtype == dtype else f"{name}.astype({np_dtype(dtype)})"


def _render_dot_loops(r, va, vb, a, b, out, dtype):
    """Integer (and bool) dot products, which BLAS does not take."""
    rows = [f"{a}.shape[0]"] if va.ndim == 2 else []
    cols = [f"{b}.shape[1]"] if vb.ndim == 2 else []
    k = r.fresh("k")
    if rows or cols:
        r.emit(f"{out} = np.zeros(({', '.join(rows + cols)},), {np_dtype(dtype)})")
    else:
        r.emit(f"{out} = {np_dtype(dtype)}(0)")
    idx = loop_nest(r, rows + cols)
    ri, ci = idx[:len(rows)], idx[len(rows):]
    ea = f"{a}[{', '.join(ri + [k])}]"
    eb = f"{b}[{', '.join([k] + ci)}]"
    target = f"{out}[{', '.join(idx)}]" if idx else out
    with r.block(f"for {k} in range({b}.shape[0]):"):
        r.emit(f"{target} += {ea} * {eb}")
    close(r, len(idx))


# -- shapes -------------------------------------------------------------------------

@rule("shape")
def render_shape(r, node, args, outs):
    n = node.inputs[0].ndim
    items = ", ".join(f"{args[0]}.shape[{k}]" for k in range(n))
    r.emit(f"{outs[0]} = np.array([{items}], np.int64)" if n else f"{outs[0]} = np.zeros(0, np.int64)")


@rule("shape_i")
def render_shape_i(r, node, args, outs):
    r.emit(f"{outs[0]} = {args[0]}.shape[{node.op.axis}]")


@rule("dimshuffle")
def render_dimshuffle(r, node, args, outs):
    x, var, order = args[0], node.inputs[0], node.op.order
    kept = [a for a in order if a != "x"]
    out_ndim = len(order)
    if out_ndim == 0:
        r.emit(f"{outs[0]} = {x}[{', '.join('0' for _ in range(var.ndim))}]" if var.ndim else f"{outs[0]} = {x}")
        return
    if var.ndim == 0:
        r.emit(f"{outs[0]} = np.full(({', '.join('1' for _ in order)},), {x}, {np_dtype(var.dtype)})")
        return
    expr = x
    if len(kept) < var.ndim:  # drop broadcastable axes by indexing them at 0
        expr = f"{expr}[{', '.join(':' if a in kept else '0' for a in range(var.ndim))}]"
    ranks = sorted(kept)
    perm = [ranks.index(a) for a in kept]
    if perm != sorted(perm):
        expr = f"{expr}.transpose(({', '.join(map(str, perm))},))"
    for pos, a in enumerate(order):
        if a == "x":
            expr = f"np.expand_dims({expr}, {pos})"
    r.emit(f"{outs[0]} = {expr}")


@rule("reshape")
def render_reshape(r, node, args, outs):
    (x, shape), (out,), var = args, outs, node.inputs[0]
    ndim = node.op.ndim
    size = f"{x}.size" if var.ndim else "1"
    if isinstance(node.inputs[1], Constant):
        dims = [str(int(n)) for n in node.inputs[1].data]
        bad = reshape_mismatch(size, [int(n) for n in node.inputs[1].data])
    else:
        dims = [f"{shape}[{k}]" for k in range(ndim)]
        bad = reshape_mismatch_symbolic(r, size, shape)
    with r.block(f"if {bad}:"):
        r.raise_("ShapeError", "reshape: cannot reshape %s of size %d to %s", label(var), size,
                 f"({''.join(d + ', ' for d in dims)})")
    if ndim == 0:
        r.emit(f"{out} = np.ascontiguousarray({x}).reshape(-1)[0]" if var.ndim else f"{out} = {x}")
        return
    src = f"np.ascontiguousarray({x})" if var.ndim else f"np.full(1, {x})"
    r.emit(f"{out} = {src}.reshape(({', '.join(dims)},))")


def reshape_mismatch(size, lengths):
    """The condition under which `size` elements cannot take the constant shape `lengths`
    (NumPy's rule: at most one -1, which stands for what the others leave; no other
    negative length)."""
    known = math.prod(n for n in lengths if n != -1)
    if lengths.count(-1) > 1 or any(n < -1 for n in lengths) or (-1 in lengths and known == 0):
        return "True"
    return f"{size} % {known} != 0" if -1 in lengths else f"{size} != {known}"


def reshape_mismatch_symbolic(r, size, shape):
    """`reshape_mismatch` for a shape known at run time: emits a loop over it."""
    known, wild, bad, d = r.fresh("known"), r.fresh("wild"), r.fresh("bad"), r.fresh("d")
    r.emit(f"{known}, {wild}, {bad} = 1, 0, False")
    with r.block(f"for {d} in {shape}:"):
        with r.block(f"if {d} == -1:"):
            r.emit(f"{wild} += 1")
        with r.block(f"elif {d} < 0:"):
            r.emit(f"{bad} = True")
        with r.block("else:"):
            r.emit(f"{known} *= {d}")
    return (f"{bad} or {wild} > 1 or ({known} != {size} if {wild} == 0 "
            f"else ({known} == 0 or {size} % {known} != 0))")


@rule("concatenate")
def render_concatenate(r, node, args, outs):
    dtype = node.outputs[0].dtype
    parts = [a if v.dtype == dtype else f"{a}.astype({np_dtype(dtype)})" for v, a in zip(node.inputs, args)]
    axis = node.op.axis
    for v, a in zip(node.inputs[1:], args[1:]):
        for d in range(v.ndim):
            if d == axis:
                continue
            with r.block(f"if {a}.shape[{d}] != {args[0]}.shape[{d}]:"):
                r.raise_("ShapeError", f"concatenate: %s has length %d on axis {d}, %s has %d",
                         label(v), f"{a}.shape[{d}]", label(node.inputs[0]), f"{args[0]}.shape[{d}]")
    r.emit(f"{outs[0]} = np.concatenate(({', '.join(parts)},), axis={axis})")


# -- indexing -------------------------------------------------------------------

def index_expr(r, node, x, var, idx_list, values, value_vars):
    """The subscript text for an index list, after emitting bounds checks of its integers."""
    values, value_vars, parts = iter(values), iter(value_vars), []
    for axis, item in enumerate(idx_list):
        if item == "i":
            i = next(values)
            next(value_vars)
            n = f"{x}.shape[{axis}]"
            with r.block(f"if {out_of_bounds(i, n)}:"):
                r.raise_("LoopcIndexError", f"index %d is out of bounds for axis {axis} of %s with length %d",
                         str(i), label(var), n)
            parts.append(str(i))
        else:
            pieces = []
            for present in item[1:]:
                pieces.append(str(next(values)) if present else "")
                if present:
                    next(value_vars)
            text = ":".join(pieces)
            parts.append(text[:-1] if text.endswith(":") and text.count(":") == 2 else text)
    return ", ".join(parts) or ":"  # no index (`x[:]` once trailing full slices are dropped): all rows


def out_of_bounds(i, n):
    """The condition that index `i` (a name or an integer literal) is outside a length `n`."""
    try:
        k = int(i.strip("()"))
    except ValueError:
        return f"{i} < -{n} or {i} >= {n}"
    return f"{n} <= {k}" if k >= 0 else f"{n} < {-k}"


@rule("subtensor")
def render_subtensor(r, node, args, outs):
    x, *values = args
    if node.inputs[0].ndim == 0:  # `x[()]` of a 0-d value (a scalar in generated code)
        r.emit(f"{outs[0]} = {x}")
        return
    sub = index_expr(r, node, x, node.inputs[0], node.op.idx_list, values, node.inputs[1:])
    r.emit(f"{outs[0]} = {x}[{sub}]")


@rule("inc_subtensor", "set_subtensor")
def render_inc_subtensor(r, node, args, outs):
    x, y, *values = args
    (xvar, yvar), (out,) = node.inputs[:2], outs
    if xvar.ndim == 0:  # `s[()]` of a 0-d value (a scalar in generated code)
        new = y if node.op.set_instead_of_inc else f"{x} + {y}"
        r.emit(f"{out} = {scalar_of(new, xvar.dtype)}")
        return
    sub = index_expr(r, node, x, xvar, node.op.idx_list, values, node.inputs[2:])
    if yvar.ndim:
        region = r.fresh("region")
        r.emit(f"{region} = {x}[{sub}]")
        for axis in range(yvar.ndim):
            with r.block(f"if {y}.shape[{axis}] != 1 and {y}.shape[{axis}] != {region}.shape[{axis}]:"):
                r.raise_("ShapeError", f"{node.op.name}: the value %s has length %d on axis {axis}, "
                         "the region of %s it goes to has %d", label(yvar), f"{y}.shape[{axis}]", label(xvar),
                         f"{region}.shape[{axis}]")
    r.emit(f"{out} = {x}.copy()")
    if node.op.set_instead_of_inc:
        r.emit(f"{out}[{sub}] = {y}")
    else:
        r.emit(f"{out}[{sub}] = {out}[{sub}] + {y}")


def _check_take(r, x, idx, var):
    k = r.fresh("k")
    with r.block(f"for {k} in range({idx}.shape[0]):"):
        with r.block(f"if {idx}[{k}] < -{x}.shape[0] or {idx}[{k}] >= {x}.shape[0]:"):
            r.raise_("LoopcIndexError", "index %d is out of bounds for axis 0 of %s with length %d",
                     f"{idx}[{k}]", label(var), f"{x}.shape[0]")


@rule("take")
def render_take(r, node, args, outs):
    x, idx = args
    _check_take(r, x, idx, node.inputs[0])
    r.emit(f"{outs[0]} = {x}[{idx}]")


@rule("inc_take", "set_take")
def render_inc_take(r, node, args, outs):
    x, y, idx = args
    _check_take(r, x, idx, node.inputs[0])
    out, k = outs[0], r.fresh("k")
    r.emit(f"{out} = {x}.copy()")
    yk = f"{y}[0]" if node.inputs[1].broadcastable[0] else f"{y}[{k}]"
    with r.block(f"for {k} in range({idx}.shape[0]):"):
        if node.op.set_instead_of_inc:
            r.emit(f"{out}[{idx}[{k}]] = {yk}")
        else:
            r.emit(f"{out}[{idx}[{k}]] = {out}[{idx}[{k}]] + {yk}")


# -- creation ---------------------------------------------------------------------

@rule("alloc")
def render_alloc(r, node, args, outs):
    value, *shape = args
    var, lengths = node.inputs[0], node.inputs[1:]
    dtype = node.outputs[0].dtype
    for s, length in zip(shape, lengths):
        if isinstance(length, Constant) and int(length.data) >= 0:
            continue
        with r.block(f"if {s} < 0:"):
            r.raise_("LoopcValueError", "alloc: negative dimension %d in the shape", s)
    # NumPy's broadcast: each axis of the value is 1 or the length it is aligned with
    for axis in range(var.ndim):
        target = shape[len(shape) - var.ndim + axis]
        with r.block(f"if {value}.shape[{axis}] != 1 and {value}.shape[{axis}] != {target}:"):
            r.raise_("ShapeError", f"alloc: cannot broadcast %s, of length %d on axis {axis}, to length %d",
                     label(var), f"{value}.shape[{axis}]", target)
    dims = ", ".join(shape) + ("," if len(shape) == 1 else "")
    if not shape:
        r.emit(f"{outs[0]} = {scalar_of(value, dtype)}")
    elif var.ndim == 0:
        r.emit(f"{outs[0]} = np.full(({dims}), {value}, {np_dtype(dtype)})")
    else:
        r.emit(f"{outs[0]} = np.empty(({dims}), {np_dtype(dtype)})")
        r.emit(f"{outs[0]}[...] = {value}")


@rule("arange")
def render_arange(r, node, args, outs):
    start, stop, step = args
    with r.block(f"if {step} == 0:"):
        r.raise_("LoopcValueError", "arange: step must not be 0")
    r.emit(f"{outs[0]} = np.arange({start}, {stop}, {step}).astype({np_dtype(node.op.dtype)})")


@rule("eye")
def render_eye(r, node, args, outs):
    n, m, k = args
    r.emit(f"{outs[0]} = np.eye({n}, {m}, {k}, {np_dtype(node.op.dtype)})")


@rule("make_vector")
def render_make_vector(r, node, args, outs):
    dtype = np_dtype(node.op.dtype)
    r.emit(f"{outs[0]} = np.array([{', '.join(args)}], {dtype})" if args else f"{outs[0]} = np.zeros(0, {dtype})")


# -- side effects ---------------------------------------------------------------

@rule("print")
def render_print(r, node, args, outs):
    with r.block("with objmode():"):
        r.emit(f"print_value({node.op.message!r}, {node.op.attrs!r}, {args[0]})")
    r.emit(f"{outs[0]} = {args[0]}")


def numba_type(var):
    base = "boolean" if var.dtype == "bool" else var.dtype
    return base if var.ndim == 0 else f"{base}[{', '.join(':' for _ in range(var.ndim))}]"


def own_rng(r, var, name):
    """The slot of random state `var` to advance in place: its own, or a copy when
    other nodes read the same state too."""
    if r.readers.get(var, 0) <= 1:
        return name
    copy_name = r.fresh(f"{name}_copy")
    with r.block(f"with objmode({copy_name}='intp'):"):
        r.emit(f"{copy_name} = copy_rng({name})")
    return copy_name


@rule("RandomOp")
def render_random(r, node, args, outs):
    rng, size, *params = args
    new_rng, sample = outs
    op = node.op
    rng = own_rng(r, node.inputs[0], rng)
    if node.outputs[1] not in r.consumed:
        # only the advanced state is used (a draw kept for its effect on the stream): Numba
        # rejects an objmode annotation on a value that is dead after the block
        with r.block("with objmode():"):
            r.emit(f"draw_random({rng}, {op.dist!r}, {op.dtype!r}, {size}, ({''.join(p + ', ' for p in params)}))")
        r.emit(f"{new_rng} = {rng}")
        return
    with r.block(f"with objmode({sample}={numba_type(node.outputs[1])!r}):"):
        r.emit(f"{sample} = draw_random({rng}, {op.dist!r}, {op.dtype!r}, {size}, ({''.join(p + ', ' for p in params)}))")
    r.emit(f"{new_rng} = {rng}")


# -- scan -----------------------------------------------------------------------

@rule("scan")
def render_scan(r, node, args, outs):
    ScanRenderer(r, node, args, outs).render()


class ScanRenderer:
    """Renders one scan as a loop with its body inlined."""

    def __init__(self, r, node, args, outs):
        self.r, self.node, self.op = r, node, node.op
        self.outer = self.op.split_inputs(args)
        self.outer_vars = self.op.split_inputs(node.inputs)
        self.results = self.op.split_outputs(outs)
        self.body_in = self.op.split_body_inputs(self.op.body.inputs)
        self.body_out = self.op.split_outputs(self.op.body.outputs)
        self.label = f" {self.op.label!r}" if self.op.label else ""

    def render(self):
        r = self.r
        n = self.outer.n_steps
        if not n.isidentifier():
            n = r.fresh("n_steps")
            r.emit(f"{n} = {self.outer.n_steps}")
        with r.block(f"if {n} < 0:"):
            r.raise_("ScanError", f"scan{self.label}: n_steps must be >= 0, got %d", n)
        seqs = [self.sequence(i, x, n) for i, x in enumerate(self.outer.sequences)]
        bufs = [self.state_buffer(i, x, n) for i, x in enumerate(self.outer.states)]
        outputs = [self.output_placeholder(v) for v in self.body_out.outputs]
        shared = [self.shared_carry(v, a) for v, a in zip(self.outer_vars.shared, self.outer.shared)]
        for var, outer_name in zip(self.body_in.non_sequences, self.outer.non_sequences):
            r.bind(var, outer_name)
        done = r.fresh("n_done")
        r.emit(f"{done} = {n}")
        t = r.fresh("t")
        with r.block(f"for {t} in range({n}):"):
            self.bind_taps(t, seqs, bufs)
            for var, name in zip(self.body_in.shared, shared):
                r.bind(var, name)
            r.render_nodes(self.op.body.nodes, self.op.body.outputs)
            stop = None
            if self.body_out.until is not None:
                # read before the store: the condition may be a carried value the store moves on
                stop = r.fresh("stop")
                r.emit(f"{stop} = {r.name(self.body_out.until)}")
            self.store(t, n, bufs, outputs, shared)
            if stop is not None:
                with r.block(f"if {stop}:"):
                    r.emit(f"{done} = {t} + 1")
                    r.emit("break")
        for i, (buf, res) in enumerate(zip(bufs, self.results.states)):
            rows = self.op.state_rows(i)
            r.emit(f"{res} = {buf}[{rows}:{rows} + {done}]")
        for out, res in zip(outputs, self.results.outputs):
            r.emit(f"{res} = {out}[:{done}]")
        for name, res in zip(shared, self.results.shared):
            r.emit(f"{res} = {name}")

    def sequence(self, i, x, n):
        r = self.r
        lo, hi = self.op.sequence_window(i)
        if self.op.go_backwards:
            rev = r.fresh(f"{x}_rev" if x.isidentifier() else "seq_rev")
            r.emit(f"{rev} = {x}[::-1]")
            x = rev
        need = f"{n} + {hi - lo}" if hi - lo else n
        with r.block(f"if {x}.shape[0] < {need}:"):
            r.raise_("ScanError", f"scan{self.label}: sequence {i} (%s) has %d rows; %d steps with its taps need %d",
                     label(self.outer_vars.sequences[i]), f"{x}.shape[0]", n, need)
        return x

    def state_buffer(self, i, init, n):
        r = self.r
        rows = self.op.state_rows(i)
        var = self.outer_vars.states[i]
        if not (rows == 1 and var.broadcastable[0]):  # one row by its type: nothing to check
            with r.block(f"if {init}.shape[0] < {rows}:"):
                r.raise_("ScanError", f"scan{self.label}: state {i} has taps reaching back {rows} steps, so "
                         f"its initial value %s needs at least {rows} rows, got %d", label(var), f"{init}.shape[0]")
        buf = r.fresh(f"{initial_name(var) or 'state'}_buf")
        dims = [f"{n} + {rows}"] + [f"{init}.shape[{d}]" for d in range(1, var.ndim)]
        r.emit(f"{buf} = {alloc(dims, var.dtype)}")
        r.emit(f"{buf}[:{rows}] = {init}[:{rows}]")
        return buf

    def output_placeholder(self, var):
        name = self.r.fresh("out")
        self.r.emit(f"{name} = {alloc(['0'] * (var.ndim + 1), var.dtype)}")
        return name

    def shared_carry(self, var, init):
        name = self.r.fresh(f"{var.name or 'shared'}_cur")
        if is_rng(var):
            init = own_rng(self.r, var, init)
        if var.ndim and not is_rng(var):
            self.r.emit(f"{name} = np.ascontiguousarray({init})")  # one array layout across steps
        else:
            self.r.emit(f"{name} = {init}")
        return name

    def bind_taps(self, t, seqs, bufs):
        r = self.r
        for i, (x, tap_vars) in enumerate(zip(seqs, self.body_in.sequences)):
            lo, _ = self.op.sequence_window(i)
            for k, var in zip(self.op.sequence_taps[i], tap_vars):
                r.emit(f"{r.name(var)} = {x}[{offset(t, k - lo)}]")
        for i, (buf, tap_vars) in enumerate(zip(bufs, self.body_in.states)):
            rows = self.op.state_rows(i)
            for k, var in zip(self.op.state_taps[i], tap_vars):
                r.emit(f"{r.name(var)} = {buf}[{offset(t, rows + k)}]")

    def store(self, t, n, bufs, outputs, shared):
        r = self.r
        for i, (buf, var) in enumerate(zip(bufs, self.body_out.states)):
            value = r.name(var)
            if var.ndim:  # a store would broadcast a row of another shape silently
                with r.block(f"if {not_a_row(value, buf, var.ndim)}:"):
                    r.raise_("ScanError", f"scan{self.label}: step %d gives state {i} (initial value %s) a new "
                             "value of shape %s; its initial rows have shape %s", t,
                             repr(initial_name(self.outer_vars.states[i]) or "unnamed"), f"{value}.shape",
                             f"{buf}.shape[1:]")
            r.emit(f"{buf}[{offset(t, self.op.state_rows(i))}] = {value}")
        for k, (out, var) in enumerate(zip(outputs, self.body_out.outputs)):
            value = r.name(var)
            with r.block(f"if {t} == 0:"):
                dims = [n] + [f"{value}.shape[{d}]" for d in range(var.ndim)]
                r.emit(f"{out} = {alloc(dims, var.dtype)}")
            if var.ndim:
                with r.block(f"elif {not_a_row(value, out, var.ndim)}:"):
                    r.raise_("ScanError", f"scan{self.label}: step %d gives output {k} a value of shape %s; "
                             "step 0 gave %s", t, f"{value}.shape", f"{out}.shape[1:]")
            r.emit(f"{out}[{t}] = {value}")
        values = []
        for var in self.body_out.shared:
            value = r.name(var)
            values.append(f"np.ascontiguousarray({value})" if var.ndim and not is_rng(var) else value)
        if shared:  # all at once: a new value may be another shared variable's current one
            r.emit(f"{', '.join(shared)} = {', '.join(values)}")


def not_a_row(value, stacked, ndim):
    """The condition that `value` does not have the shape of one row of `stacked`."""
    return " or ".join(f"{value}.shape[{d}] != {stacked}.shape[{d + 1}]" for d in range(ndim))


def offset(t, k):
    return t if k == 0 else (f"{t} + {k}" if k > 0 else f"{t} - {-k}")
