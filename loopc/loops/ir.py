"""The loop IR: one function as statements over named buffers and scalars.

The level between the graph IR and the printers. Everything a backend needs to
know is decided here: which buffers exist and how many rows they keep, loop
order and kind, where each check goes, what runs in a library call. A printer
only spells it.

Expressions (values; every name is a local of the function):

    Var(name)                      a scalar, an array or an rng slot
    Const(value, dtype)            a 0-d literal
    Load(buf, index)               `buf[i, j]`: an element when every item is an
                                   expression, a view when some item is a Slice
    Slice(lo, hi, step)            an index item; None for an omitted bound
    Op(fn, args)                   a scalar function of the printer's table (`add`,
                                   `tanh`, `switch`, `vm_tanh`, ...)
    Cast(value, dtype)             conversion to a dtype
    ShapeOf(buf, axis)             `buf.shape[axis]`
    Call(fn, args, params)         whole-array work the printer spells as a library
                                   call (`dot`, `reshape`, `concatenate`, ...);
                                   params are Python constants (dtypes, axes)

Statements:

    Let(name, value)               bind a local (scalars, accumulators, views, calls)
    Alloc(name, dtype, shape, kind, fill)
                                   a new buffer; kind is `temp` (one op's result),
                                   `stack` (scan rows) or `ring` (scan rows modulo
                                   its length); fill None leaves it uninitialized
    Store(buf, index, value)       `buf[index] = value` (converts to buf's dtype)
    Loop(var, extent, kind, body, start)
                                   `for var in range(start, extent)` (printed
                                   `for i in n` or `for i in start..n`); kind is
                                   `parallel` (an elementwise nest: iterations are
                                   independent), `reduction` (over an accumulator)
                                   or `serial`
    Check(bad, error, message, args)
                                   raise `error(message % args)` when `bad` holds
    If(cond, body, orelse)
    Break()                        leave the innermost loop (scan's `until`)
    Assign(names, values)          several locals at once (values read first)
    Host(targets, call)            a call that runs in the interpreter (random
                                   draws, printing); targets are (name, numba type)

Text form (one statement per line, bodies indented two spaces):

    func fn(x, W):
      y = alloc f64[x.shape[0]] temp
      for i0 in x.shape[0] parallel:
        y[i0] = tanh(x[i0])
      return (y)

Invariants (checked by `verify`): every name is defined before it is read, and
defined once per scope except accumulators rebound by Let and Assign; a Store's
buffer was allocated or is a view of one; Break only inside a Loop.
"""
import re
from dataclasses import dataclass, field, fields, replace

import numpy as np

from ..errors import LoopcError


# -- expressions ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Var:
    name: str


@dataclass(frozen=True, slots=True)
class Const:
    value: object
    dtype: str


@dataclass(frozen=True, slots=True)
class Slice:
    lo: object = None
    hi: object = None
    step: object = None


@dataclass(frozen=True, slots=True)
class Load:
    buf: str
    index: tuple


@dataclass(frozen=True, slots=True)
class Op:
    fn: str
    args: tuple


@dataclass(frozen=True, slots=True)
class Cast:
    value: object
    dtype: str


@dataclass(frozen=True, slots=True)
class ShapeOf:
    buf: str
    axis: int


@dataclass(frozen=True, slots=True)
class Call:
    fn: str
    args: tuple
    params: tuple = ()


# -- statements -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: object


@dataclass(frozen=True, slots=True)
class Alloc:
    name: str
    dtype: str
    shape: tuple
    kind: str = "temp"
    fill: object = None


@dataclass(frozen=True, slots=True)
class Store:
    buf: str
    index: tuple
    value: object


@dataclass(frozen=True, slots=True)
class Loop:
    var: str
    extent: object
    kind: str
    body: tuple
    start: object = Const(0, "int64")


@dataclass(frozen=True, slots=True)
class Check:
    bad: object
    error: str
    message: str
    args: tuple = ()


@dataclass(frozen=True, slots=True)
class If:
    cond: object
    body: tuple
    orelse: tuple = ()


@dataclass(frozen=True, slots=True)
class Break:
    pass


@dataclass(frozen=True, slots=True)
class Assign:
    names: tuple
    values: tuple


@dataclass(frozen=True, slots=True)
class Host:
    targets: tuple  # (name, numba type) pairs
    call: Call


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple
    body: tuple
    returns: tuple
    constants: tuple = field(default=())  # (name, ndarray) pairs, module-level
    dtypes: tuple = field(default=())  # (name, dtype) of every local holding a tensor value
    shapes: tuple = field(default=())  # (name, shape expressions) of the tensor values lowering knew
    scans: tuple = field(default=())  # (step loop variable, steps-done local, name or None) of each scan


LOOP_KINDS = ("parallel", "reduction", "serial")
BUFFER_KINDS = ("temp", "stack", "ring")
EXPRESSIONS = (Var, Const, Slice, Load, Op, Cast, ShapeOf, Call)


# -- traversal ------------------------------------------------------------------

def children(node):
    """The expressions and statements directly inside `node`, in order."""
    out = []
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            out.extend(v for v in value if _is_node(v))
        elif _is_node(value):
            out.append(value)
    return out


def _is_node(value):
    return type(value).__module__ == __name__


def walk(node):
    """`node` and everything inside it, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)


def names_read(node):
    """Every name an expression or statement reads (loads, shapes, variables)."""
    out = set()
    for n in walk(node):
        if isinstance(n, Var):
            out.add(n.name)
        elif isinstance(n, (Load, ShapeOf)):
            out.add(n.buf)
    return out


def substitute(node, mapping):
    """`node` with every `Var`, `Load` and `ShapeOf` rewritten by `mapping(expr)`,
    which returns a replacement or None (keep, and descend)."""
    if not _is_node(node):
        return node
    new = mapping(node) if isinstance(node, (Var, Load, ShapeOf)) else None
    if new is not None:
        return new
    changes = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            new_value = tuple(substitute(v, mapping) for v in value)
        else:
            new_value = substitute(value, mapping)
        if new_value != value:
            changes[f.name] = new_value
    return type(node)(**{f.name: changes.get(f.name, getattr(node, f.name)) for f in fields(node)}) \
        if changes else node


def rename(node, names):
    """`node` with the variables in `names` (old -> new) renamed."""
    def mapping(e):
        if isinstance(e, Var) and e.name in names:
            return Var(names[e.name])
        if isinstance(e, Load) and e.buf in names:
            return Load(names[e.buf], tuple(rename(i, names) for i in e.index))
        if isinstance(e, ShapeOf) and e.buf in names:
            return ShapeOf(names[e.buf], e.axis)
        return None
    return substitute(node, mapping)


class Namer:
    """Fresh local names: `hint`, else `hint_1`, `hint_2`, ... (made identifiers)."""

    def __init__(self, used=()):
        self.used = set(used)

    @classmethod
    def of(cls, fn):
        """A namer that avoids every name `fn` already uses."""
        used = set(fn.params) | {name for name, _ in fn.constants}
        for s in walk_statements(fn.body):
            used |= _defines(s)
            if isinstance(s, Loop):
                used.add(s.var)
        return cls(used)

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


def hoist_out_of_loops(stmts, split):
    """`stmts` with each serial loop (innermost first, inside branches too) replaced by
    `before + [loop with body]`, where `split(loop) -> (before, body)`."""
    out = []
    for s in stmts:
        if isinstance(s, If):
            s = replace(s, body=tuple(hoist_out_of_loops(s.body, split)),
                        orelse=tuple(hoist_out_of_loops(s.orelse, split)))
        if not (isinstance(s, Loop) and s.kind == "serial"):
            out.append(s)
            continue
        s = replace(s, body=tuple(hoist_out_of_loops(s.body, split)))
        before, body = split(s)
        out.extend(before)
        out.append(replace(s, body=tuple(body)))
    return out


def walk_statements(stmts):
    """Every statement in `stmts`, nested bodies included."""
    for s in stmts:
        yield s
        if isinstance(s, Loop):
            yield from walk_statements(s.body)
        elif isinstance(s, If):
            yield from walk_statements(s.body)
            yield from walk_statements(s.orelse)


# -- text form ------------------------------------------------------------------

DTYPE_SHORT = {"float64": "f64", "float32": "f32", "int64": "i64", "int32": "i32", "int16": "i16",
               "int8": "i8", "uint64": "u64", "uint32": "u32", "uint16": "u16", "uint8": "u8",
               "bool": "bool", "complex128": "c128", "complex64": "c64"}


def format_expr(e):
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Const):
        if e.dtype in ("str", "object", "int64", "float64", "bool"):
            return _const_text(e.value)
        return f"{_const_text(e.value)}:{DTYPE_SHORT.get(e.dtype, e.dtype)}"
    if isinstance(e, Slice):
        parts = ["" if p is None else format_expr(p) for p in (e.lo, e.hi, e.step)]
        if e.step is None:
            parts.pop()
        return ":".join(parts)
    if isinstance(e, Load):
        return f"{e.buf}[{', '.join(format_expr(i) for i in e.index)}]"
    if isinstance(e, Op):
        return f"{e.fn}({', '.join(format_expr(a) for a in e.args)})"
    if isinstance(e, Cast):
        return f"cast<{DTYPE_SHORT.get(e.dtype, e.dtype)}>({format_expr(e.value)})"
    if isinstance(e, ShapeOf):
        return f"{e.buf}.shape[{e.axis}]"
    if isinstance(e, Call):
        params = "".join(f", {p!r}" for p in e.params)
        return f"call {e.fn}({', '.join(format_expr(a) for a in e.args)}{params})"
    raise TypeError(f"not a loop-IR expression: {e!r}")


def _const_text(value):
    value = np.asarray(value).item()
    return repr(value)


def format_function(fn):
    lines = [f"func {fn.name}({', '.join(fn.params)}):"]
    for name, data in fn.constants:
        lines.append(f"  const {name} = {DTYPE_SHORT.get(data.dtype.name, data.dtype.name)}{list(data.shape)}")
    lines.extend(format_block(fn.body, 1))
    lines.append(f"  return ({', '.join(format_expr(r) for r in fn.returns)})")
    return "\n".join(lines) + "\n"


def format_block(stmts, depth):
    out = []
    for s in stmts:
        out.extend(format_stmt(s, depth))
    return out


def format_stmt(s, depth):
    pad = "  " * depth
    if isinstance(s, Let):
        return [f"{pad}{s.name} = {format_expr(s.value)}"]
    if isinstance(s, Alloc):
        shape = ", ".join(format_expr(d) for d in s.shape)
        fill = "" if s.fill is None else f" fill {format_expr(s.fill)}"
        return [f"{pad}{s.name} = alloc {DTYPE_SHORT.get(s.dtype, s.dtype)}[{shape}] {s.kind}{fill}"]
    if isinstance(s, Store):
        return [f"{pad}{format_expr(Load(s.buf, s.index))} = {format_expr(s.value)}"]
    if isinstance(s, Loop):
        start = "" if s.start == Const(0, "int64") else f"{format_expr(s.start)}.."
        head = f"{pad}for {s.var} in {start}{format_expr(s.extent)} {s.kind}:"
        return [head] + format_block(s.body, depth + 1)
    if isinstance(s, Check):
        args = "".join(f", {format_expr(a)}" for a in s.args)
        return [f"{pad}check {format_expr(s.bad)} -> {s.error}({s.message!r}{args})"]
    if isinstance(s, If):
        lines = [f"{pad}if {format_expr(s.cond)}:"] + format_block(s.body, depth + 1)
        if s.orelse:
            lines += [f"{pad}else:"] + format_block(s.orelse, depth + 1)
        return lines
    if isinstance(s, Break):
        return [f"{pad}break"]
    if isinstance(s, Assign):
        return [f"{pad}{', '.join(s.names)} = {', '.join(format_expr(v) for v in s.values)}"]
    if isinstance(s, Host):
        return [f"{pad}{', '.join(n for n, _ in s.targets) or '_'} = host {format_expr(s.call)[5:]}"]
    raise TypeError(f"not a loop-IR statement: {s!r}")


# -- verifier -------------------------------------------------------------------

class LoopVerifyError(LoopcError):
    """The loop IR broke one of its invariants (a bug in lowering or a loop pass)."""


def verify(fn):
    """Raise LoopVerifyError unless `fn` keeps the invariants in the docstring."""
    defined = set(fn.params) | {name for name, _ in fn.constants}
    _verify_block(fn.body, defined, in_loop=False)
    missing = sorted(set().union(*map(names_read, fn.returns)) - defined) if fn.returns else []
    if missing:
        raise LoopVerifyError("loop IR: %s returns %s, which nothing defines", fn.name, missing)


def _verify_block(stmts, defined, in_loop):
    for s in stmts:
        _verify_reads(s, defined)
        if isinstance(s, Loop):
            if s.kind not in LOOP_KINDS:
                raise LoopVerifyError("loop IR: loop %s has kind %r", s.var, s.kind)
            _verify_block(s.body, defined | {s.var}, in_loop=True)
            defined |= defined_in(s.body)  # a loop body's locals live on, as in Python
        elif isinstance(s, If):
            _verify_block(s.body, set(defined), in_loop)
            _verify_block(s.orelse, set(defined), in_loop)
            defined |= defined_in(s.body) | defined_in(s.orelse)
        elif isinstance(s, Break) and not in_loop:
            raise LoopVerifyError("loop IR: break outside a loop")
        elif isinstance(s, Alloc) and s.kind not in BUFFER_KINDS:
            raise LoopVerifyError("loop IR: buffer %s has kind %r", s.name, s.kind)
        defined |= _defines(s)


def _defines(s):
    if isinstance(s, (Let, Alloc)):
        return {s.name}
    if isinstance(s, Assign):
        return set(s.names)
    if isinstance(s, Host):
        return {n for n, _ in s.targets}
    return set()


def defined_in(stmts):
    out = set()
    for s in stmts:
        out |= _defines(s)
        if isinstance(s, Loop):
            out |= defined_in(s.body)
        elif isinstance(s, If):
            out |= defined_in(s.body) | defined_in(s.orelse)
    return out


def _verify_reads(s, defined):
    if isinstance(s, Loop):
        reads = names_read(s.extent) | names_read(s.start)
    elif isinstance(s, If):
        reads = names_read(s.cond)
    else:
        reads = names_read(s)
    missing = sorted(reads - defined)
    if missing:
        raise LoopVerifyError("loop IR: %s reads %s before any statement defines it",
                              format_stmt(s, 0)[0].strip(), ", ".join(missing))
