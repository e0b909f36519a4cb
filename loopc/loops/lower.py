"""Lower a graph to the loop IR: one rule per op class, shared by every backend.

Conventions of the result (what the printers and loop passes rely on):
- a tensor of ndim >= 1 is an array; a 0-d tensor is a scalar local; an rng is a
  slot number into the function's random states;
- an elementwise op is one `parallel` nest that loads its operands (index 0 on
  broadcastable axes) and stores into a new `temp` buffer of the result dtype;
  stores convert, so operands need no casts beyond those NumPy's rule asks for;
- a reduction accumulates into a local (`reduction` loops) stored once per
  result element when the reduced axes are the innermost ones, else into the
  result buffer itself;
- a scan is a `serial` loop over steps with its body inlined; a state lives in a
  `stack` buffer of n + L rows (L initial rows) and each output in one of n rows;
- every value knows its shape as expressions (`shape_of`): the shape of an
  elementwise result is its operands', a tap's is a row of its buffer, so a
  check between two shapes that are the same expression is never emitted and
  the rest name values that outlive the step (which `hoist` moves out of scans).
"""
import keyword
import math
from contextlib import contextmanager

import numpy as np

from ..errors import UnsupportedError
from ..ir import ops as O
from ..ir.graph import Constant, describe, is_rng
from ..ir.scan import initial_name
from ..ir.types import is_discrete, is_float, is_int
from .ir import (Alloc, Assign, Break, Call, Cast, Check, Const, Function, Host, If, Let, Load, Loop, Namer, Op,
                 ShapeOf, Slice, Store, Var, defined_in, names_read, substitute)

RESERVED = set(keyword.kwlist) | {"np", "math", "objmode", "draw_random", "copy_rng", "print_value", "vm"}
RESERVED |= {"profile_clock"}  # the clock of a profiled function's timing marks

# Scalar functions with a vectorizable kernel (`config.math = 'vector'`); computed in float64.
VECTOR_MATH = ("tanh", "exp", "log", "log1p", "expm1", "sigmoid", "softplus")

INT0 = Const(0, "int64")
INT1 = Const(1, "int64")


def lower(graph, name="fn", math="vector"):
    """The loop-IR `Function` computing `graph`."""
    lw = Lowerer(math)
    params = tuple(lw.name(v) for v in graph.inputs)
    for v in graph.inputs:
        lw.shapes[v] = tuple(ShapeOf(lw.name(v), a) for a in range(v.ndim))
    lw.lower_nodes(graph.nodes, graph.outputs)
    returns = tuple(lw.value(v) for v in graph.outputs)
    dtypes = tuple((lw.names[v], v.dtype) for v in lw.names if not is_rng(v))
    shapes = tuple((lw.names[v], shape) for v, shape in lw.shapes.items() if v in lw.names)
    return Function(name, params, tuple(lw.block), returns, tuple(lw.constants), dtypes, shapes, tuple(lw.scans))


class Lowerer:
    """Names values, tracks their shapes and collects statements."""

    def __init__(self, math="vector"):
        self.math = math
        self.block = []
        self.names = {}
        self.namer = Namer(RESERVED)
        self.constants = []  # (name, ndarray) of non-scalar constants
        self.shapes = {}  # value -> tuple of shape expressions
        self.consumed = set()  # values some node or graph output reads
        self.readers = {}  # value -> how many nodes and graph outputs read it
        self.scans = []  # (step loop variable, steps-done local, profile name or label) of each scan
        self.counts = set()  # scan body inputs holding a length: a non-sequence that is one outside

    # -- names and values -------------------------------------------------------
    def name(self, var):
        if var in self.names:
            return self.names[var]
        if isinstance(var, Constant) and (var.ndim or is_rng(var)):
            name = self.fresh("const")
            self.constants.append((name, var.data))
        else:
            name = self.fresh(var.name or "v")
        self.names[var] = name
        return name

    def fresh(self, hint):
        return self.namer.fresh(hint)

    def bind(self, var, name, shape=None):
        self.names[var] = name
        if shape is not None:
            self.shapes[var] = shape

    def value(self, var):
        """The expression of `var`: a literal for a 0-d constant, else its local."""
        if isinstance(var, Constant) and var.ndim == 0 and not is_rng(var):
            return Const(np.asarray(var.data).item(), var.dtype)
        return Var(self.name(var))

    def shape(self, var, axis):
        """Length of `var` on `axis`, as the expression that first defined it."""
        if isinstance(var, Constant):
            return Const(int(var.data.shape[axis]), "int64")
        if var in self.shapes:
            return self.shapes[var][axis]
        return ShapeOf(self.name(var), axis)

    def shape_tuple(self, var):
        """`var.shape` as a tuple of its length expressions."""
        return Call("tuple", tuple(self.shape(var, a) for a in range(var.ndim)))

    def element(self, var, idx):
        """The element of `var` at loop indices `idx` (0 on broadcastable axes)."""
        if isinstance(var, Constant) and all(var.broadcastable) and not is_rng(var):
            return Const(np.asarray(var.data).reshape(-1)[0].item(), var.dtype)
        if var.ndim == 0:
            return self.value(var)
        return Load(self.name(var), tuple(INT0 if b else Var(i) for b, i in zip(var.broadcastable, idx)))

    # -- statements ---------------------------------------------------------------
    def emit(self, stmt):
        self.block.append(stmt)

    @contextmanager
    def into(self, body):
        """Collect the statements emitted inside the block into the list `body`."""
        outer, self.block = self.block, body
        try:
            yield body
        finally:
            self.block = outer

    def check(self, bad, error, message, *args):
        if bad == Const(False, "bool") or _never(bad):
            return
        self.emit(Check(bad, error, message, tuple(args)))

    def nest(self, extents, kind, hint="i"):
        """Index names for a loop nest over `extents` and a function that wraps a body in it."""
        idx = [self.fresh(f"{hint}{k}") for k in range(len(extents))]

        def wrap(body):
            for i, n in reversed(list(zip(idx, extents))):
                body = [Loop(i, n, kind, tuple(body))]
            return body
        return idx, wrap

    # -- graphs -----------------------------------------------------------------
    def lower_nodes(self, nodes, outputs=()):
        self.consumed.update(v for node in nodes for v in node.inputs)
        self.consumed.update(outputs)
        for var in [v for node in nodes for v in set(node.inputs)] + list(outputs):
            self.readers[var] = self.readers.get(var, 0) + 1
        for node in nodes:
            rule = LOWER.get(node.op.name) or LOWER.get(type(node.op).__name__)
            if rule is None:
                raise UnsupportedError("op %s has no rule in the loop lowering", node.op.name)
            rule(self, node)


LOWER = {}


def rule(*names):
    def register(fn):
        for n in names:
            LOWER[n] = fn
        return fn
    return register


def label(var):
    """How error messages name a value (a string constant of `describe`)."""
    return Const(describe(var), "str")


_COMPARE = {"eq": lambda a, b: a == b, "neq": lambda a, b: a != b, "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


def _never(cond):
    """Whether `cond` compares two literals and is false (`eq(1, 0)`): a check never raised."""
    return isinstance(cond, Op) and cond.fn in _COMPARE and all(isinstance(a, Const) for a in cond.args) \
        and not _COMPARE[cond.fn](*(a.value for a in cond.args))


def op(fn, *args):
    return Op(fn, tuple(args))


def either(*conds):
    conds = [c for c in conds if c != Const(False, "bool")]
    if not conds:
        return Const(False, "bool")
    out = conds[0]
    for c in conds[1:]:
        out = op("or", out, c)
    return out


def plus(a, k):
    """`a + k` for an integer k, folded when both are constants."""
    if k == 0:
        return a
    if isinstance(a, Const):
        return Const(a.value + k, "int64")
    return op("add", a, Const(k, "int64")) if k > 0 else op("sub", a, Const(-k, "int64"))


# -- elementwise ------------------------------------------------------------------

def scalar_value(lw, node, operands):
    """The scalar expression of elementwise `node` applied to `operands`."""
    fn, (x, *_) = node.op.scalar, node.inputs
    out_dtype = node.outputs[0].dtype
    if fn == "invert" and x.dtype == "bool":
        return op("not", operands[0])
    if fn == "sgn" and x.dtype.startswith("uint"):
        return op("neq", operands[0], INT0)  # Numba's np.sign reads unsigned integers as signed
    if fn == "cast":
        return Cast(operands[0], out_dtype)  # explicit: an out-of-range NumPy integer raises in PY mode
    if is_float(out_dtype) and fn != "switch":
        # NumPy computes bool/int8/int16 inputs of exp or true_div in float16; compute in the
        # result type, as the op's `perform` does
        operands = [Cast(e, out_dtype) if is_discrete(v.dtype) else e for e, v in zip(operands, node.inputs)]
    if fn in VECTOR_MATH and is_float(out_dtype) and lw.math == "vector":
        operands = [e if out_dtype == "float64" else Cast(e, "float64") for e in operands]
        return Op("vm_" + fn, tuple(operands))
    if fn in ("sigmoid", "softplus") and out_dtype == "float32":
        operands = [Cast(e, "float64") for e in operands]  # compute in float64, round once on the store
    return Op(fn, tuple(operands))


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
        return [Cast(operands[0], node.inputs[0].dtype)] + list(operands[1:])
    if len({v.dtype for v in node.inputs}) > 1:
        return [Cast(e, v.dtype) if w else e for e, v, w in zip(operands, node.inputs, weak)]
    return list(operands)


def extents(lw, node):
    """Per axis of an elementwise node, the expression of its length; checks that the
    operands agree on it (unless their lengths are the same expression)."""
    out = node.outputs[0]
    result = []
    for axis in range(out.ndim):
        owners = [v for v in node.inputs if not v.broadcastable[axis]]
        if not owners:
            result.append(INT1)
            continue
        first = lw.shape(owners[0], axis)
        result.append(first)
        for var in owners[1:]:
            length = lw.shape(var, axis)
            if length == first:
                continue
            lw.check(op("neq", length, first), "ShapeError",
                     f"{node.op.name}: %s has length %d on axis {axis} but %s has %d",
                     label(var), length, label(owners[0]), first)
    return tuple(result)


@rule(*O.SCALAR_OPS)
def lower_elemwise(lw, node):
    out = node.outputs[0]
    if out.ndim == 0:
        expr = scalar_value(lw, node, typed_operands(node, [lw.value(v) for v in node.inputs]))
        lw.emit(Let(lw.name(out), expr if isinstance(expr, Cast) else Cast(expr, out.dtype)))
        return
    shape = extents(lw, node)
    name = lw.name(out)
    lw.emit(Alloc(name, out.dtype, shape))
    lw.shapes[out] = shape
    idx, wrap = lw.nest(shape, "parallel")
    value = scalar_value(lw, node, typed_operands(node, [lw.element(v, idx) for v in node.inputs]))
    for stmt in wrap([Store(name, lw.element(out, idx).index, value)]):
        lw.emit(stmt)


# -- reductions -------------------------------------------------------------------

def identity(kind, dtype):
    if kind in ("sum", "any"):
        return Const(False, "bool") if kind == "any" else INT0
    if kind in ("prod", "all"):
        return Const(True, "bool") if kind == "all" else INT1
    if is_float(dtype):
        return Const(-math.inf if kind == "max" else math.inf, "float64")
    if not is_int(dtype):
        return Const(kind != "max", "bool")
    info = np.iinfo(dtype)
    return Const(int(info.min if kind == "max" else info.max), "int64")


def combine(kind, acc, v):
    """The new value of accumulator `acc` after element `v`."""
    if kind in ("sum", "prod"):
        return op("add" if kind == "sum" else "mul", acc, v)
    if kind in ("any", "all"):
        return op("lor" if kind == "any" else "land", acc, v)
    # NaN wins and then sticks, as in NumPy
    better = op("gt" if kind == "max" else "lt", v, acc)
    return op("switch", op("or", better, op("and", op("neq", v, v), op("eq", acc, acc))), v, acc)


@rule("sum", "prod", "max", "min", "any", "all")
def lower_reduce(lw, node):
    (var,), out = node.inputs, node.outputs[0]
    kind, axes, dtype = node.op.kind, node.op.axes, out.dtype
    if kind in ("max", "min"):
        lw.check(either(*(op("eq", lw.shape(var, a), INT0) for a in axes)), "LoopcValueError",
                 f"{kind} of %s: a reduced axis has length 0 (no identity)", label(var))
    shape = [lw.shape(var, a) for a in range(var.ndim)]
    kept = [a for a in range(var.ndim) if a not in axes]
    name, acc = lw.name(out), Var(lw.fresh("acc"))
    lw.shapes[out] = tuple(shape[a] for a in kept)
    x = Var(lw.name(var))
    if kept == list(range(len(kept))):  # reduced axes innermost: one local accumulator per element
        outer, wrap_outer = lw.nest([shape[a] for a in kept], "parallel")
        inner, wrap_inner = lw.nest([shape[a] for a in axes], "reduction", hint="r")
        elem = Load(x.name, tuple(Var(i) for i in outer + inner)) if var.ndim else x
        body = [Let(acc.name, Cast(identity(kind, dtype), dtype))]
        body += wrap_inner([Let(acc.name, combine(kind, acc, elem))])
        if not kept:
            lw.emit_all(body + [Let(name, Cast(acc, dtype))])
            return
        lw.emit(Alloc(name, dtype, lw.shapes[out]))
        lw.emit_all(wrap_outer(body + [Store(name, tuple(Var(i) for i in outer), acc)]))
        return
    lw.emit(Alloc(name, dtype, lw.shapes[out], fill=identity(kind, dtype)))
    idx, wrap = lw.nest(shape, "reduction")
    target = tuple(Var(idx[a]) for a in kept)
    elem = Load(x.name, tuple(Var(i) for i in idx))
    lw.emit_all(wrap([Let(acc.name, Load(name, target)), Let(acc.name, combine(kind, acc, elem)),
                      Store(name, target, acc)]))


def _emit_all(self, stmts):
    for s in stmts:
        self.emit(s)


Lowerer.emit_all = _emit_all


@rule("argmax", "argmin")
def lower_argreduce(lw, node):
    (var,), out = node.inputs, node.outputs[0]
    x = lw.name(var)
    if var.ndim != 1 and len(node.op.axes) == var.ndim:
        flat = lw.fresh("flat")
        lw.emit(Let(flat, Call("reshape", (Call("contiguous", (Var(x),)), Const(-1, "int64")))))
        x, axis, kept, length = flat, 0, [], ShapeOf(flat, 0)
    else:
        axis = node.op.axes[0]
        kept = [a for a in range(var.ndim) if a != axis]
        length = lw.shape(var, axis)
    lw.check(op("eq", length, INT0), "LoopcValueError",
             f"{node.op.kind} of %s: the reduced axis has length 0", label(var))
    name = lw.name(out)
    kept_shape = tuple(ShapeOf(x, a) if x != lw.name(var) else lw.shape(var, a) for a in kept)
    lw.shapes[out] = kept_shape
    if kept:
        lw.emit(Alloc(name, "int64", kept_shape))
    idx, wrap = lw.nest(kept_shape, "parallel")
    j, best, at = lw.fresh("j"), lw.fresh("best"), lw.fresh("at")

    def elem(k):
        full = [Var(i) for i in idx]
        full.insert(axis, k)
        return Load(x, tuple(full))

    cmp = "gt" if node.op.kind == "argmax" else "lt"
    v = elem(Var(j))
    better = op("or", op(cmp, v, Var(best)), op("and", op("neq", v, v), op("eq", Var(best), Var(best))))
    body = [Let(best, elem(INT0)), Let(at, INT0),
            Loop(j, length, "serial", (If(better, (Let(best, v), Let(at, Var(j)))),), start=INT1)]
    body.append(Store(name, tuple(Var(i) for i in idx), Var(at)) if kept else Let(name, Cast(Var(at), "int64")))
    lw.emit_all(wrap(body))


# -- linear algebra --------------------------------------------------------------

def as_dtype(lw, var, dtype):
    """`var`'s value converted to `dtype`."""
    if var.ndim == 0:
        return Cast(lw.value(var), dtype)
    v = lw.value(var)
    return v if var.dtype == dtype else Call("astype", (v,), (dtype,))


@rule("dot")
def lower_dot(lw, node):
    va, vb = node.inputs
    out = node.outputs[0]
    dtype, name = out.dtype, lw.name(out)
    if va.ndim and vb.ndim:
        inner_a, inner_b = lw.shape(va, va.ndim - 1), lw.shape(vb, 0)
        if inner_a != inner_b:
            lw.check(op("neq", inner_a, inner_b), "ShapeError",
                     "dot: %s has shape %s and %s has shape %s; inner lengths %d and %d differ",
                     label(va), lw.shape_tuple(va), label(vb), lw.shape_tuple(vb),
                     inner_a, inner_b)
    lw.shapes[out] = tuple([lw.shape(va, 0)] if va.ndim == 2 else []) + \
        tuple([lw.shape(vb, 1)] if vb.ndim == 2 else [])
    if va.ndim == 0 or vb.ndim == 0:
        # both operands in the result dtype first: a Python-number literal would be weak, and
        # Numba computes float32 array * int64 scalar in float32 where NumPy widens
        lw.shapes[out] = tuple(lw.shape(v, a) for v in (va, vb) for a in range(v.ndim))
        product = op("mul", as_dtype(lw, va, dtype), as_dtype(lw, vb, dtype))
        lw.emit(Let(name, product if out.ndim == 0 else Call("asarray", (product,))))
        return
    if is_float(dtype) and (va.ndim, vb.ndim) == (1, 2):
        _lower_vector_matrix(lw, va, vb, name, dtype)
        return
    if is_float(dtype):
        lw.emit(Let(name, Call("dot", (as_dtype(lw, va, dtype), as_dtype(lw, vb, dtype)))))
        return
    _lower_dot_loops(lw, va, vb, name, dtype, lw.shapes[out])


def _lower_vector_matrix(lw, va, vb, name, dtype):
    """`x @ W` as rows of W scaled and summed: the inner loop runs along a row of W and
    has no dependence between iterations, so it vectorizes (a BLAS call costs more than
    the work at the sizes of a scan step, and allocates). A zero of x adds nothing, as
    in BLAS's gemv, which NumPy's product calls: 0 * inf in W gives no NaN."""
    k, j, xk = lw.fresh("k"), lw.fresh("j"), lw.fresh("xk")
    x, w = lw.name(va), lw.name(vb)
    row = Load(w, (Var(k), Var(j)))
    term = op("mul", Var(xk), row if vb.dtype == dtype else Cast(row, dtype))
    zero = Const(0, dtype)
    lw.emit(Alloc(name, dtype, (lw.shape(vb, 1),), fill=Const(0, "int64")))
    lw.emit(Loop(k, lw.shape(vb, 0), "reduction", (
        Let(xk, Cast(Load(x, (Var(k),)), dtype) if va.dtype != dtype else Load(x, (Var(k),))),
        If(op("neq", Var(xk), zero), (
            Loop(j, lw.shape(vb, 1), "parallel", (
                Store(name, (Var(j),), op("add", Load(name, (Var(j),)), term)),)),)))))


def _lower_dot_loops(lw, va, vb, name, dtype, shape):
    """Integer (and bool) dot products, which BLAS does not take."""
    a, b = lw.name(va), lw.name(vb)
    idx, wrap = lw.nest(shape, "parallel")
    rows, cols = idx[:1] if va.ndim == 2 else [], idx[len(idx) - 1:] if vb.ndim == 2 else []
    k, acc = lw.fresh("k"), lw.fresh("acc")
    ea = Load(a, tuple(Var(i) for i in rows) + (Var(k),))
    eb = Load(b, (Var(k),) + tuple(Var(i) for i in cols))
    body = [Let(acc, Cast(INT0, dtype)),
            Loop(k, lw.shape(vb, 0), "reduction", (Let(acc, op("add", Var(acc), op("mul", ea, eb))),))]
    if shape:
        lw.emit(Alloc(name, dtype, shape))
        lw.emit_all(wrap(body + [Store(name, tuple(Var(i) for i in idx), Var(acc))]))
    else:
        lw.emit_all(body + [Let(name, Cast(Var(acc), dtype))])


@rule("batched_dot")
def lower_batched_dot(lw, node):
    """One matrix product per batch element: a BLAS call writing into the result's row
    for floats (on contiguous operands, as BLAS wants them), a loop nest for integers."""
    va, vb = node.inputs
    out = node.outputs[0]
    dtype, name = out.dtype, lw.name(out)
    for (x, i), (y, j), what in (((va, 0), (vb, 0), "batch lengths"), ((va, 2), (vb, 1), "inner lengths")):
        if lw.shape(x, i) != lw.shape(y, j):
            lw.check(op("neq", lw.shape(x, i), lw.shape(y, j)), "ShapeError",
                     f"batched_dot: %s has shape %s and %s has shape %s; their {what} %d and %d differ",
                     label(va), lw.shape_tuple(va), label(vb), lw.shape_tuple(vb), lw.shape(x, i), lw.shape(y, j))
    shape = (lw.shape(va, 0), lw.shape(va, 1), lw.shape(vb, 2))
    lw.shapes[out] = shape
    lw.emit(Alloc(name, dtype, shape))
    if not is_float(dtype):
        _lower_batched_dot_loops(lw, va, vb, name, dtype, shape)
        return
    a, b, i = lw.fresh(f"{lw.name(va)}_c"), lw.fresh(f"{lw.name(vb)}_c"), lw.fresh("i")
    lw.emit(Let(a, Call("contiguous", (as_dtype(lw, va, dtype),))))
    lw.emit(Let(b, Call("contiguous", (as_dtype(lw, vb, dtype),))))
    row = Call("dot_into", (Load(a, (Var(i),)), Load(b, (Var(i),)), Load(name, (Var(i),))))
    lw.emit(Loop(i, shape[0], "serial", (Let(lw.fresh(f"{name}_row"), row),)))


def _lower_batched_dot_loops(lw, va, vb, name, dtype, shape):
    idx, wrap = lw.nest(shape, "parallel")
    k, acc = lw.fresh("k"), lw.fresh("acc")
    ea = Load(lw.name(va), (Var(idx[0]), Var(idx[1]), Var(k)))
    eb = Load(lw.name(vb), (Var(idx[0]), Var(k), Var(idx[2])))
    lw.emit_all(wrap([Let(acc, Cast(INT0, dtype)),
                      Loop(k, lw.shape(vb, 1), "reduction", (Let(acc, op("add", Var(acc), op("mul", ea, eb))),)),
                      Store(name, tuple(Var(i) for i in idx), Var(acc))]))


# -- shapes -------------------------------------------------------------------------

@rule("shape")
def lower_shape(lw, node):
    var, name = node.inputs[0], lw.name(node.outputs[0])
    lengths = tuple(lw.shape(var, k) for k in range(var.ndim))
    lw.emit(Let(name, Call("array", lengths, ("int64",)) if lengths else Call("zeros", (INT0,), ("int64",))))
    lw.shapes[node.outputs[0]] = (Const(var.ndim, "int64"),)


@rule("shape_i")
def lower_shape_i(lw, node):
    lw.emit(Let(lw.name(node.outputs[0]), lw.shape(node.inputs[0], node.op.axis)))


@rule("dimshuffle")
def lower_dimshuffle(lw, node):
    var, out, order = node.inputs[0], node.outputs[0], node.op.order
    name = lw.name(out)
    lw.shapes[out] = tuple(INT1 if a == "x" else lw.shape(var, a) for a in order)
    kept = [a for a in order if a != "x"]
    if not order:
        lw.emit(Let(name, Load(lw.name(var), (INT0,) * var.ndim) if var.ndim else lw.value(var)))
        return
    if var.ndim == 0:
        lw.emit(Alloc(name, var.dtype, (INT1,) * len(order), fill=lw.value(var)))
        return
    expr = lw.value(var)
    if len(kept) < var.ndim:  # drop broadcastable axes by indexing them at 0
        expr = Load(lw.name(var), tuple(Slice() if a in kept else INT0 for a in range(var.ndim)))
    ranks = sorted(kept)
    perm = [ranks.index(a) for a in kept]
    if perm != sorted(perm):
        expr = Call("transpose", (expr,), (tuple(perm),))
    for pos, a in enumerate(order):
        if a == "x":
            expr = Call("expand_dims", (expr,), (pos,))
    lw.emit(Let(name, expr))


@rule("reshape")
def lower_reshape(lw, node):
    var, shape_var = node.inputs
    out, ndim = node.outputs[0], node.op.ndim
    name = lw.name(out)
    size = Call("size", (lw.value(var),)) if var.ndim else INT1
    if isinstance(shape_var, Constant):
        lengths = [int(n) for n in shape_var.data]
        dims = tuple(Const(n, "int64") for n in lengths)
        bad = reshape_mismatch(size, lengths)
        known = constant_reshape_lengths(lw, var, lengths)
        if known is not None:  # a step's row shape known before its loop (flatten in a scan)
            lw.shapes[out] = known
    elif counts_vector(shape_var, lw.counts):
        dims = tuple(lw.value(v) for v in shape_var.owner.inputs)
        bad = op("neq", size, product(dims))
        lw.shapes[out] = dims
    else:
        dims = tuple(Load(lw.name(shape_var), (Const(k, "int64"),)) for k in range(ndim))
        bad = reshape_mismatch_symbolic(lw, size, lw.name(shape_var))
    lw.check(bad, "ShapeError", "reshape: cannot reshape %s of size %d to %s", label(var), size,
             Call("tuple", dims))
    if ndim == 0:
        flat = Call("reshape", (Call("contiguous", (lw.value(var),)), Const(-1, "int64")))
        lw.emit(Let(name, Call("first", (flat,)) if var.ndim else lw.value(var)))
        return
    src = Call("contiguous", (lw.value(var),)) if var.ndim else Call("full", (INT1, lw.value(var)), (var.dtype,))
    lw.emit(Let(name, Call("reshape", (src,) + dims)))


def counts_vector(shape_var, counts=()):
    """Whether the shape is a make_vector of lengths that cannot be negative (shapes and
    their products, as the frontend's merged axes are, or `counts`): no -1 to work out at
    run time."""
    owner = shape_var.owner
    return owner is not None and owner.op.name == "make_vector" and all(is_count(v, counts) for v in owner.inputs)


def is_count(var, counts=()):
    if var in counts:
        return True
    if isinstance(var, Constant):
        return var.ndim == 0 and is_int(var.dtype) and int(var.data) >= 0
    if var.owner is None:
        return False
    if var.owner.op.name == "shape_i":
        return True
    return var.owner.op.name in ("mul", "cast") and is_int(var.dtype) and all(is_count(v, counts)
                                                                               for v in var.owner.inputs)


def product(values):
    out = values[0] if values else INT1
    for v in values[1:]:
        out = op("mul", out, v)
    return out


def constant_reshape_lengths(lw, var, lengths):
    """The lengths of `var` reshaped to the constant `lengths`, as expressions: a -1 is what
    the others leave of var's size. None where the reshape cannot succeed (its check raises)."""
    known = math.prod(n for n in lengths if n != -1)
    if lengths.count(-1) > 1 or any(n < -1 for n in lengths) or known == 0 and -1 in lengths:
        return None
    size = product([lw.shape(var, a) for a in range(var.ndim)])
    rest = size if known == 1 else op("int_div", size, Const(known, "int64"))
    return tuple(rest if n == -1 else Const(n, "int64") for n in lengths)


def reshape_mismatch(size, lengths):
    """The condition under which `size` elements cannot take the constant shape `lengths`
    (NumPy's rule: at most one -1, which stands for what the others leave; no other
    negative length)."""
    known = math.prod(n for n in lengths if n != -1)
    if lengths.count(-1) > 1 or any(n < -1 for n in lengths) or (-1 in lengths and known == 0):
        return Const(True, "bool")
    if -1 in lengths:
        return op("neq", op("mod", size, Const(known, "int64")), INT0)
    return op("neq", size, Const(known, "int64"))


def reshape_mismatch_symbolic(lw, size, shape):
    """`reshape_mismatch` for a shape known at run time: emits a loop over it."""
    known, wild, bad, k = lw.fresh("known"), lw.fresh("wild"), lw.fresh("bad"), lw.fresh("k")
    d = Load(shape, (Var(k),))
    lw.emit_all([Let(known, INT1), Let(wild, INT0), Let(bad, Const(False, "bool")),
                 Loop(k, ShapeOf(shape, 0), "serial", (
                     If(op("eq", d, Const(-1, "int64")), (Let(wild, op("add", Var(wild), INT1)),),
                        (If(op("lt", d, INT0), (Let(bad, Const(True, "bool")),),
                            (Let(known, op("mul", Var(known), d)),)),)),))])
    mismatch = op("switch", op("eq", Var(wild), INT0), op("neq", Var(known), size),
                  op("or", op("eq", Var(known), INT0), op("neq", op("mod", size, Var(known)), INT0)))
    return either(Var(bad), op("gt", Var(wild), INT1), mismatch)


@rule("concatenate")
def lower_concatenate(lw, node):
    out, axis = node.outputs[0], node.op.axis
    first = node.inputs[0]
    for v in node.inputs[1:]:
        for d in range(v.ndim):
            if d == axis or lw.shape(v, d) == lw.shape(first, d):
                continue
            lw.check(op("neq", lw.shape(v, d), lw.shape(first, d)), "ShapeError",
                     f"concatenate: %s has length %d on axis {d}, %s has %d",
                     label(v), lw.shape(v, d), label(first), lw.shape(first, d))
    parts = tuple(as_dtype(lw, v, out.dtype) for v in node.inputs)
    lw.emit(Let(lw.name(out), Call("concatenate", parts, (axis,))))
    length = lw.shape(first, axis)
    for v in node.inputs[1:]:
        length = op("add", length, lw.shape(v, axis))
    lw.shapes[out] = tuple(length if d == axis else lw.shape(first, d) for d in range(out.ndim))


# -- along one axis -----------------------------------------------------------------

def axis_index(outer, k, inner):
    """The index (outer..., k, inner...) of an element, from loop index names and `k`."""
    return tuple(Var(i) for i in outer) + (k,) + tuple(Var(j) for j in inner)


@rule("cumsum", "cumprod")
def lower_cumulative(lw, node):
    """A serial loop along the axis: with the axis innermost, a local accumulator per
    line; otherwise each row of the result is the previous row combined with the
    input's row, so the inner loops run along contiguous memory."""
    (var,), out = node.inputs, node.outputs[0]
    axis, kind, dtype = node.op.axis, node.op.kind[3:], out.dtype  # "sum" or "prod"
    shape = tuple(lw.shape(var, a) for a in range(var.ndim))
    name, x, n = lw.name(out), lw.name(var), shape[axis]
    lw.shapes[out] = shape
    lw.emit(Alloc(name, dtype, shape))
    outer, wrap_outer = lw.nest(shape[:axis], "parallel")
    inner, wrap_inner = lw.nest(shape[axis + 1:], "parallel", hint="j")
    k = Var(lw.fresh("k"))
    if not inner:
        acc = Var(lw.fresh("acc"))
        body = [Let(acc.name, Cast(identity(kind, dtype), dtype)),
                Loop(k.name, n, "serial", (Let(acc.name, combine(kind, acc, Load(x, axis_index(outer, k, ())))),
                                           Store(name, axis_index(outer, k, ()), acc)))]
    else:
        first = wrap_inner([Store(name, axis_index(outer, INT0, inner), Load(x, axis_index(outer, INT0, inner)))])
        step = wrap_inner([Store(name, axis_index(outer, k, inner),
                                 combine(kind, Load(name, axis_index(outer, plus(k, -1), inner)),
                                         Load(x, axis_index(outer, k, inner))))])
        body = [If(op("gt", n, INT0), tuple(first)), Loop(k.name, n, "serial", tuple(step), start=INT1)]
    lw.emit_all(wrap_outer(body))


@rule("sort", "argsort")
def lower_sort(lw, node):
    """NumPy's stable argsort of each line along the axis (a vector in one call; sort
    takes the values in that order), copied into the result element by element."""
    (var,), out = node.inputs, node.outputs[0]
    axis, fn = node.op.axis, node.op.kind
    shape = tuple(lw.shape(var, a) for a in range(var.ndim))
    name, x = lw.name(out), lw.name(var)
    lw.shapes[out] = shape
    if var.ndim == 1:
        lw.emit(Let(name, Call(fn, (Var(x),))))
        return
    lw.emit(Alloc(name, out.dtype, shape))
    rest = shape[:axis] + shape[axis + 1:]
    idx, wrap = lw.nest(rest, "parallel")
    outer, inner = idx[:axis], idx[axis:]
    view, line, k = lw.fresh("view"), lw.fresh("line"), lw.fresh("k")
    copy = Loop(k, shape[axis], "parallel", (Store(name, axis_index(outer, Var(k), inner), Load(line, (Var(k),))),))
    lw.emit_all(wrap([Let(view, Load(x, axis_index(outer, Slice(), inner))), Let(line, Call(fn, (Var(view),))),
                      copy]))


@rule("repeat")
def lower_repeat(lw, node):
    """Two serial passes over the repeats: their total (the result's length, checked
    non-negative), then each element along the axis copied as many times."""
    (var, reps), out = node.inputs, node.outputs[0]
    axis = node.op.axis
    x, r = lw.name(var), lw.name(reps)
    n = lw.shape(var, axis)
    lw.check(op("neq", lw.shape(reps, 0), n), "ShapeError",
             f"repeat: %s gives %d repeats for the %d elements of %s on axis {axis}",
             label(reps), lw.shape(reps, 0), n, label(var))
    total, k = lw.fresh("total"), lw.fresh("k")
    count = Cast(Load(r, (Var(k),)), "int64")
    lw.emit(Let(total, INT0))
    lw.emit(Loop(k, n, "serial", (
        Check(op("lt", count, INT0), "LoopcValueError", "repeat: repeats must be >= 0, got %d", (count,)),
        Let(total, op("add", Var(total), count)))))
    shape = tuple(Var(total) if a == axis else lw.shape(var, a) for a in range(var.ndim))
    name = lw.name(out)
    lw.shapes[out] = shape
    lw.emit(Alloc(name, out.dtype, shape))
    outer, wrap_outer = lw.nest(shape[:axis], "parallel")
    inner, wrap_inner = lw.nest(shape[axis + 1:], "parallel", hint="j")
    pos, k2, c = lw.fresh("pos"), lw.fresh("k"), lw.fresh("c")
    element = wrap_inner([Store(name, axis_index(outer, Var(pos), inner), Load(x, axis_index(outer, Var(k2), inner)))])
    copies = Loop(c, Cast(Load(r, (Var(k2),)), "int64"), "serial", tuple(element) + (Let(pos, plus(Var(pos), 1)),))
    lw.emit_all(wrap_outer([Let(pos, INT0), Loop(k2, n, "serial", (copies,))]))


# -- indexing -------------------------------------------------------------------

def index_items(lw, node, var, idx_list, values):
    """The index items of an index list, after emitting bounds checks of its integers."""
    values, items = iter(values), []
    for axis, item in enumerate(idx_list):
        if item == "i":
            i = lw.value(next(values))
            n = lw.shape(var, axis)
            lw.check(out_of_bounds(i, n), "LoopcIndexError",
                     f"index %d is out of bounds for axis {axis} of %s with length %d", i, label(var), n)
            items.append(i)
        else:
            items.append(Slice(*(lw.value(next(values)) if present else None for present in item[1:])))
    return tuple(items) or (Slice(),)  # no index (`x[:]` once trailing full slices are dropped)


def out_of_bounds(i, n):
    """The condition that index `i` is outside a length `n`."""
    if isinstance(i, Const):
        k = int(i.value)
        return op("le", n, Const(k, "int64")) if k >= 0 else op("lt", n, Const(-k, "int64"))
    return op("or", op("lt", i, op("neg", n)), op("ge", i, n))


@rule("subtensor")
def lower_subtensor(lw, node):
    var, name = node.inputs[0], lw.name(node.outputs[0])
    if var.ndim == 0:  # `x[()]` of a 0-d value (a scalar)
        lw.emit(Let(name, lw.value(var)))
        return
    items = index_items(lw, node, var, node.op.idx_list, node.inputs[1:])
    lw.emit(Let(name, Load(lw.name(var), items)))


@rule("inc_subtensor", "set_subtensor")
def lower_inc_subtensor(lw, node):
    xvar, yvar = node.inputs[:2]
    name, y = lw.name(node.outputs[0]), lw.value(yvar)
    if xvar.ndim == 0:  # `s[()]` of a 0-d value (a scalar)
        new = y if node.op.set_instead_of_inc else op("add", lw.value(xvar), y)
        lw.emit(Let(name, Cast(new, xvar.dtype)))
        return
    items = index_items(lw, node, xvar, node.op.idx_list, node.inputs[2:])
    if yvar.ndim:
        region = lw.fresh("region")
        lw.emit(Let(region, Load(lw.name(xvar), items)))
        for axis in range(yvar.ndim):
            length = lw.shape(yvar, axis)
            lw.check(op("and", op("neq", length, INT1), op("neq", length, ShapeOf(region, axis))), "ShapeError",
                     f"{node.op.name}: the value %s has length %d on axis {axis}, the region of %s it goes to "
                     "has %d", label(yvar), length, label(xvar), ShapeOf(region, axis))
    lw.shapes[node.outputs[0]] = tuple(lw.shape(xvar, a) for a in range(xvar.ndim))
    lw.emit(Let(name, Call("copy", (lw.value(xvar),))))
    new = y if node.op.set_instead_of_inc else op("add", Load(name, items), y)
    lw.emit(Store(name, items, new))


def check_take(lw, var, idx):
    k = lw.fresh("k")
    n, i = lw.shape(var, 0), Load(idx, (Var(k),))
    lw.emit(Loop(k, ShapeOf(idx, 0), "serial", (
        Check(op("or", op("lt", i, op("neg", n)), op("ge", i, n)), "LoopcIndexError",
              "index %d is out of bounds for axis 0 of %s with length %d", (i, label(var), n)),)))


@rule("take")
def lower_take(lw, node):
    var, idx = node.inputs
    check_take(lw, var, lw.name(idx))
    lw.emit(Let(lw.name(node.outputs[0]), Call("take", (lw.value(var), lw.value(idx)))))
    lw.shapes[node.outputs[0]] = (lw.shape(idx, 0),) + tuple(lw.shape(var, a) for a in range(1, var.ndim))


def check_region(lw, node, xvar, yvar, region):
    """Emit the checks that the value `yvar` of a set/inc fits the `region` of `xvar` it goes
    to: each of its axes not flagged broadcastable has the region's length."""
    for axis in range(yvar.ndim):
        if yvar.broadcastable[axis] or lw.shape(yvar, axis) == region[axis]:
            continue
        lw.check(op("neq", lw.shape(yvar, axis), region[axis]), "ShapeError",
                 f"{node.op.name}: the value %s has length %d on axis {axis}, the region of %s it goes to has %d",
                 label(yvar), lw.shape(yvar, axis), label(xvar), region[axis])


@rule("inc_take", "set_take")
def lower_inc_take(lw, node):
    xvar, yvar, ivar = node.inputs
    idx = lw.name(ivar)
    check_take(lw, xvar, idx)
    check_region(lw, node, xvar, yvar, (ShapeOf(idx, 0),) + tuple(lw.shape(xvar, a) for a in range(1, xvar.ndim)))
    name, k = lw.name(node.outputs[0]), lw.fresh("k")
    lw.emit(Let(name, Call("copy", (lw.value(xvar),))))
    yk = Load(lw.name(yvar), (INT0 if yvar.broadcastable[0] else Var(k),))
    target = (Load(idx, (Var(k),)),)
    new = yk if node.op.set_instead_of_inc else op("add", Load(name, target), yk)
    lw.emit(Loop(k, ShapeOf(idx, 0), "serial", (Store(name, target, new),)))
    lw.shapes[node.outputs[0]] = tuple(lw.shape(xvar, a) for a in range(xvar.ndim))


# -- advanced indexing ------------------------------------------------------------

class AdvancedIndex:
    """An advanced index list lowered: the array it indexes (the tensor, or its view by
    the slice items), the index arrays' broadcast shape, and per output axis the loop
    that walks it; `source(idx)` is the element of the source at output position idx."""

    def __init__(self, lw, var, name, idx_list, indices):
        self.lw, self.var, self.idx_list = lw, var, idx_list
        values = iter(indices)
        self.arrays, self.parts = [], []  # (axis, index variable); per slice item its bounds
        for axis, item in enumerate(idx_list):
            if item == "a":
                self.arrays.append((axis, next(values)))
            else:
                self.parts.append(Slice(*(lw.value(next(values)) if present else None for present in item[1:])))
        self.src = self.view(name)
        self.block = self.broadcast_shape()
        self.layout = O.advanced_layout(idx_list, var.ndim, len(self.block))

    def view(self, name):
        """`name`, or a view of it by the slice items when one of them is not `:`."""
        parts = iter(self.parts)
        items = tuple(Slice() if item == "a" else next(parts) for item in self.idx_list)
        if all(item == Slice() for item in items):
            self.lengths = [self.lw.shape(self.var, a) for a in range(self.var.ndim)]
            return name
        view = self.lw.fresh(f"{name}_view")
        self.lw.emit(Let(view, Load(name, items)))
        self.lengths = [ShapeOf(view, a) if a < len(items) and items[a] != Slice() else self.lw.shape(self.var, a)
                        for a in range(self.var.ndim)]
        return view

    def broadcast_shape(self):
        """The lengths of the arrays' broadcast shape, after checking that they agree."""
        lw, arrays = self.lw, [v for _, v in self.arrays]
        ndim = max(v.ndim for v in arrays)
        block = []
        for d in range(ndim):
            owners = [(v, d - ndim + v.ndim) for v in arrays if d >= ndim - v.ndim and
                      not v.broadcastable[d - ndim + v.ndim]]
            if not owners:
                block.append(INT1)
                continue
            first = lw.shape(*owners[0])
            block.append(first)
            for v, axis in owners[1:]:
                if lw.shape(v, axis) != first:
                    lw.check(op("neq", lw.shape(v, axis), first), "LoopcIndexError",
                             f"indexing %s: the index array %s has length %d on axis {d} of the arrays' broadcast "
                             "shape but %s has %d", label(self.var), label(v), lw.shape(v, axis),
                             label(owners[0][0]), first)
        return block

    def check_bounds(self):
        """Every element of every index array within its axis (negative ones count from the end)."""
        lw = self.lw
        for axis, v in self.arrays:
            n = lw.shape(self.var, axis)
            if v.owner is not None and v.owner.op.name == "nonzero" and lw.shape(v.owner.inputs[0], v.index) == n:
                continue  # the coordinates of a mask's elements, and the mask has this axis' length
            message = f"index %d is out of bounds for axis {axis} of %s with length %d"
            if v.ndim == 0:
                lw.check(out_of_bounds(lw.value(v), n), "LoopcIndexError", message, lw.value(v), label(self.var), n)
                continue
            idx, wrap = lw.nest([lw.shape(v, a) for a in range(v.ndim)], "serial", hint="k")
            i = Load(lw.name(v), tuple(Var(k) for k in idx))
            lw.emit_all(wrap([Check(out_of_bounds(i, n), "LoopcIndexError", message, (i, label(self.var), n))]))

    def shape(self):
        return tuple(self.block[k] if kind == "b" else self.lengths[k] for kind, k in self.layout)

    def nest(self, kind, body):
        """Statements running `body(index into the source)` at every position of the
        result, in C order: a loop per axis, and each array's element read into a local
        in the outermost loop that binds its axes (LLVM cannot hoist that load past the
        stores, which may alias it as far as it knows)."""
        lw, ndim = self.lw, len(self.block)
        shape = self.shape()
        idx = [lw.fresh(f"i{k}") for k in range(len(shape))]
        at = {("b" if kind_ == "b" else "x", k): Var(i) for (kind_, k), i in zip(self.layout, idx)}
        depth = {key: d for d, key in enumerate(("b" if kind_ == "b" else "x", k) for kind_, k in self.layout)}
        arrays, lets, index = dict(self.arrays), [[] for _ in range(len(shape) + 1)], []
        for axis in range(self.var.ndim):
            v = arrays.get(axis)
            if v is None:
                index.append(at["x", axis])
                continue
            keys = [("b", ndim - v.ndim + a) for a in range(v.ndim) if not v.broadcastable[a]]
            element = lw.value(v) if v.ndim == 0 else Load(lw.name(v), tuple(
                INT0 if v.broadcastable[a] else at["b", ndim - v.ndim + a] for a in range(v.ndim)))
            if v.ndim == 0:
                index.append(element)
                continue
            local = lw.fresh(f"{lw.name(v)}_at")
            lets[max((depth[key] + 1 for key in keys), default=0)].append(Let(local, element))
            index.append(Var(local))
        stmts = lets[len(shape)] + body(tuple(index), tuple(Var(i) for i in idx))
        for d in reversed(range(len(shape))):
            stmts = lets[d] + [Loop(idx[d], shape[d], kind, tuple(stmts))]
        return stmts


@rule("advanced_subtensor")
def lower_advanced_subtensor(lw, node):
    """A gather: one parallel nest over the result, each element loaded from the
    position its index arrays give (Python's negative indices wrap, as in NumPy)."""
    var, out = node.inputs[0], node.outputs[0]
    ix = AdvancedIndex(lw, var, lw.name(var), node.op.idx_list, node.inputs[1:])
    ix.check_bounds()
    name, shape = lw.name(out), ix.shape()
    lw.shapes[out] = shape
    lw.emit(Alloc(name, out.dtype, shape))
    lw.emit_all(ix.nest("parallel", lambda source, idx: [Store(name, idx, Load(ix.src, source))]))


@rule("advanced_inc_subtensor", "advanced_set_subtensor")
def lower_advanced_inc_subtensor(lw, node):
    """A scatter into a copy of the tensor: one serial nest over the region, in NumPy's
    order, so repeated positions accumulate (inc) or the last one wins (set)."""
    xvar, yvar = node.inputs[:2]
    out = node.outputs[0]
    name = lw.name(out)
    lw.shapes[out] = tuple(lw.shape(xvar, a) for a in range(xvar.ndim))
    lw.emit(Let(name, Call("copy", (lw.value(xvar),))))
    ix = AdvancedIndex(lw, xvar, name, node.op.idx_list, node.inputs[2:])
    ix.check_bounds()
    shape = ix.shape()
    check_region(lw, node, xvar, yvar, shape)

    def update(target, idx):
        y = lw.element(yvar, [i.name for i in idx])
        return [Store(ix.src, target, y if node.op.set_instead_of_inc else op("add", Load(ix.src, target), y))]
    lw.emit_all(ix.nest("serial", update))


@rule("nonzero")
def lower_nonzero(lw, node):
    """Count the nonzero elements, then write their coordinates in C order."""
    var = node.inputs[0]
    x, count, k = lw.name(var), lw.fresh("count"), lw.fresh("k")
    lengths = [lw.shape(var, a) for a in range(var.ndim)]
    idx, wrap = lw.nest(lengths, "reduction")
    nonzero = op("neq", Load(x, tuple(Var(i) for i in idx)), INT0)
    lw.emit(Let(count, INT0))
    lw.emit_all(wrap([If(nonzero, (Let(count, plus(Var(count), 1)),))]))
    names = [lw.name(v) for v in node.outputs]
    for v, name in zip(node.outputs, names):
        lw.emit(Alloc(name, "int64", (Var(count),)))
        lw.shapes[v] = (Var(count),)
    idx, wrap = lw.nest(lengths, "serial")
    found = [Store(name, (Var(k),), Var(i)) for name, i in zip(names, idx)] + [Let(k, plus(Var(k), 1))]
    lw.emit(Let(k, INT0))
    lw.emit_all(wrap([If(op("neq", Load(x, tuple(Var(i) for i in idx)), INT0), tuple(found))]))


@rule("check_lengths")
def lower_check_lengths(lw, node):
    """The checks, then `x` itself, known to have y's lengths on the checked axes."""
    (x, y), out = node.inputs, node.outputs[0]
    shape = [lw.shape(x, a) for a in range(x.ndim)]
    for i, j in node.op.pairs:
        if lw.shape(x, i) != lw.shape(y, j):
            lw.check(op("neq", lw.shape(x, i), lw.shape(y, j)), node.op.error, node.op.message(i, j), label(x),
                     lw.shape(x, i), label(y), lw.shape(y, j))
        shape[i] = lw.shape(y, j)
    if x.ndim == 0:  # no axis to check
        lw.emit(Let(lw.name(out), lw.value(x)))
        return
    lw.bind(out, lw.name(x), tuple(shape))


# -- creation ---------------------------------------------------------------------

@rule("alloc")
def lower_alloc(lw, node):
    var, lengths = node.inputs[0], node.inputs[1:]
    out = node.outputs[0]
    shape = tuple(lw.value(v) for v in lengths)
    for s, length in zip(shape, lengths):
        if isinstance(length, Constant) and int(length.data) >= 0:
            continue
        lw.check(op("lt", s, INT0), "LoopcValueError", "alloc: negative dimension %d in the shape", s)
    # NumPy's broadcast: each axis of the value is 1 or the length it is aligned with
    for axis in range(var.ndim):
        target, length = shape[len(shape) - var.ndim + axis], lw.shape(var, axis)
        lw.check(op("and", op("neq", length, INT1), op("neq", length, target)), "ShapeError",
                 f"alloc: cannot broadcast %s, of length %d on axis {axis}, to length %d", label(var), length, target)
    name = lw.name(out)
    lw.shapes[out] = shape
    if not shape:
        lw.emit(Let(name, Cast(lw.value(var), out.dtype)))
    elif var.ndim == 0:
        lw.emit(Alloc(name, out.dtype, shape, fill=lw.value(var)))
    else:
        lw.emit(Alloc(name, out.dtype, shape))
        lw.emit(Store(name, (Slice(),) * len(shape), lw.value(var)))


@rule("arange")
def lower_arange(lw, node):
    start, stop, step = (lw.value(v) for v in node.inputs)
    lw.check(op("eq", step, INT0), "LoopcValueError", "arange: step must not be 0")
    lw.emit(Let(lw.name(node.outputs[0]), Call("arange", (start, stop, step), (node.op.dtype,))))


@rule("eye")
def lower_eye(lw, node):
    lw.emit(Let(lw.name(node.outputs[0]), Call("eye", tuple(lw.value(v) for v in node.inputs), (node.op.dtype,))))


@rule("make_vector")
def lower_make_vector(lw, node):
    args, out = tuple(lw.value(v) for v in node.inputs), node.outputs[0]
    lw.shapes[out] = (Const(len(args), "int64"),)
    value = Call("array", args, (node.op.dtype,)) if args else Call("zeros", (INT0,), (node.op.dtype,))
    lw.emit(Let(lw.name(out), value))


@rule("grad_override")
def lower_grad_override(lw, node):
    """`x` itself (canonicalize removes the node; this is the path without the passes)."""
    (x,), out = node.inputs, node.outputs[0]
    if x.ndim == 0:
        lw.emit(Let(lw.name(out), lw.value(x)))
        return
    lw.bind(out, lw.name(x), tuple(lw.shape(x, a) for a in range(x.ndim)))


# -- side effects ---------------------------------------------------------------

@rule("print")
def lower_print(lw, node):
    var = node.inputs[0]
    lw.emit(Host((), Call("print_value", (Const(node.op.message, "str"), Const(node.op.attrs, "object"),
                                          lw.value(var)))))
    lw.emit(Let(lw.name(node.outputs[0]), lw.value(var)))
    lw.shapes[node.outputs[0]] = tuple(lw.shape(var, a) for a in range(var.ndim))


def numba_type(var):
    base = "boolean" if var.dtype == "bool" else var.dtype
    return base if var.ndim == 0 else f"{base}[{', '.join(':' for _ in range(var.ndim))}]"


def own_rng(lw, var):
    """The slot of random state `var` to advance in place: its own, or a copy when
    other nodes read the same state too."""
    name = lw.name(var)
    if lw.readers.get(var, 0) <= 1:
        return name
    copy_name = lw.fresh(f"{name}_copy")
    lw.emit(Host(((copy_name, "intp"),), Call("copy_rng", (Var(name),))))
    return copy_name


@rule("RandomOp")
def lower_random(lw, node):
    rng_var, size, *params = node.inputs
    new_rng, sample = node.outputs
    rng = own_rng(lw, rng_var)
    args = (Var(rng), Const(node.op.dist, "str"), Const(node.op.dtype, "str"), lw.value(size),
            Call("tuple", tuple(lw.value(p) for p in params)))
    # only the advanced state used (a draw kept for its effect on the stream): Numba rejects
    # an objmode annotation on a value that is dead after the block
    targets = ((lw.name(sample), numba_type(sample)),) if sample in lw.consumed else ()
    lw.emit(Host(targets, Call("draw_random", args)))
    if targets:  # the sample's shape is the size: known before the draw, the same every step
        lw.shapes[sample] = tuple(Const(int(n), "int64") for n in size.data) if isinstance(size, Constant) else \
            tuple(Load(lw.name(size), (Const(k, "int64"),)) for k in range(sample.ndim))
    lw.bind(new_rng, rng)


# -- scan -----------------------------------------------------------------------

@rule("scan")
def lower_scan(lw, node):
    ScanLowering(lw, node).lower()


def copy_row(lw, dst, dst_at, src, src_at, lengths):
    """Statements copying row `src[src_at]` to `dst[dst_at]` element by element: an
    array assignment would cost Numba a second of compiling its broadcasting."""
    idx, wrap = lw.nest(lengths, "parallel", hint="c")
    tail = tuple(Var(i) for i in idx)
    return wrap([Store(dst, dst_at + tail, Load(src, src_at + tail))])


class ScanLowering:
    """One scan as a serial loop over steps with its body inlined."""

    def __init__(self, lw, node):
        self.lw, self.node, self.op = lw, node, node.op
        self.outer = self.op.split_inputs(node.inputs)
        self.results = self.op.split_outputs(node.outputs)
        self.body_in = self.op.split_body_inputs(self.op.body.inputs)
        self.body_out = self.op.split_outputs(self.op.body.outputs)
        self.label = f" {self.op.label!r}" if self.op.label else ""
        self.ring_rows = {}  # ("state" | "output", index) -> the local holding its ring's row count
        self.placeholders = {}  # output index -> its Alloc before the loop (no rows)
        self.preallocated = {}  # output index -> the Alloc replacing it, when its row shape is known
        self.no_step_rows = {}  # output index -> its placeholder with the first step's row shape

    def lower(self):
        lw = self.lw
        n = lw.value(self.outer.n_steps)
        if not isinstance(n, Var):
            n = Var(lw.fresh("n_steps"))
            lw.emit(Let(n.name, lw.value(self.outer.n_steps)))
        lw.check(op("lt", n, INT0), "ScanError", f"scan{self.label}: n_steps must be >= 0, got %d", n)
        seqs = [self.sequence(i, x, n) for i, x in enumerate(self.outer.sequences)]
        bufs = [self.state_buffer(i, x, n) for i, x in enumerate(self.outer.states)]
        outputs = [self.output_placeholder(k, v, n) for k, v in enumerate(self.body_out.outputs)]
        shared = [self.shared_carry(v) for v in self.outer.shared]
        for var, outer_var in zip(self.body_in.non_sequences, self.outer.non_sequences):
            if isinstance(lw.value(outer_var), Const) and outer_var not in lw.names:
                # a 0-d constant is a literal: it has no local until one is defined
                lw.emit(Let(lw.name(outer_var), lw.value(outer_var)))
            lw.bind(var, lw.name(outer_var), tuple(lw.shape(outer_var, a) for a in range(outer_var.ndim)))
            if is_count(outer_var, lw.counts):  # a length pushed out of the body (an N-d dot's reshape)
                lw.counts.add(var)
        done, t = lw.fresh("n_done"), lw.fresh("t")
        lw.emit(Let(done, n))
        lw.scans.append((t, done, self.op.profile or self.op.label))
        body = []
        with lw.into(body):
            self.bind_taps(Var(t), seqs, bufs)
            for var, name, outer_var in zip(self.body_in.shared, shared, self.outer.shared):
                lw.bind(var, name)
            lw.lower_nodes(self.op.body.nodes, self.op.body.outputs)
            stop = None
            if self.body_out.until is not None:
                # read before the store: the condition may be a carried value the store moves on
                stop = lw.fresh("stop")
                lw.emit(Let(stop, lw.value(self.body_out.until)))
            self.store(Var(t), n, bufs, outputs, shared)
            if stop is not None:
                lw.emit(If(Var(stop), (Let(done, plus(Var(t), 1)), Break())))
        for k, alloc in {**self.no_step_rows, **self.preallocated}.items():
            lw.block.remove(self.placeholders[k])
            lw.emit(alloc)
        lw.emit(Loop(t, n, "serial", tuple(body)))
        for i, ((buf, _), res) in enumerate(zip(bufs, self.results.states)):
            rows = self.op.state_rows(i)
            if ("state", i) in self.ring_rows:
                self.last_rows(res, buf, ("state", i), plus(Var(done), rows), self.op.state_keep(i), done)
                continue
            lw.emit(Let(lw.name(res), Load(buf, (Slice(Const(rows, "int64"), plus(Var(done), rows)),))))
        for k, (out, res) in enumerate(zip(outputs, self.results.outputs)):
            if ("output", k) in self.ring_rows:
                self.last_rows(res, out, ("output", k), Var(done), self.op.output_keep(k), done)
                continue
            lw.emit(Let(lw.name(res), Load(out, (Slice(None, Var(done)),))))
        for name, res in zip(shared, self.results.shared):
            lw.emit(Let(lw.name(res), Var(name)))

    def sequence(self, i, var, n):
        lw = self.lw
        lo, hi = self.op.sequence_window(i)
        x = lw.name(var)
        if self.op.go_backwards:
            rev = lw.fresh(f"{x}_rev")
            lw.emit(Let(rev, Load(x, (Slice(None, None, Const(-1, "int64")),))))
            x = rev
        need = plus(n, hi - lo)
        lw.check(op("lt", lw.shape(var, 0), need), "ScanError",
                 f"scan{self.label}: sequence {i} (%s) has %d rows; %d steps with its taps need %d",
                 label(var), lw.shape(var, 0), n, need)
        return x, var

    def state_buffer(self, i, var, n):
        lw = self.lw
        rows = self.op.state_rows(i)
        if not (rows == 1 and var.broadcastable[0]):  # one row by its type: nothing to check
            lw.check(op("lt", lw.shape(var, 0), Const(rows, "int64")), "ScanError",
                     f"scan{self.label}: state {i} has taps reaching back {rows} steps, so its initial value %s "
                     f"needs at least {rows} rows, got %d", label(var), lw.shape(var, 0))
        base, keep = initial_name(var) or "state", self.op.state_keep(i)
        if keep is None:
            buf, length, kind = lw.fresh(f"{base}_buf"), plus(n, rows), "stack"
        else:  # L rows for the taps and one to write, or the k rows kept
            buf, kind = lw.fresh(f"{base}_ring"), "ring"
            length = self.ring(("state", i), buf, max(rows + 1, keep), plus(n, rows))
        shape = (length,) + tuple(lw.shape(var, d) for d in range(1, var.ndim))
        lw.emit(Alloc(buf, var.dtype, shape, kind=kind))
        r = lw.fresh("r")
        lw.emit(Loop(r, Const(rows, "int64"), "serial", tuple(
            copy_row(lw, buf, (Var(r),), lw.name(var), (Var(r),), shape[1:]))))
        return buf, var

    def output_placeholder(self, k, var, n):
        keep = self.op.output_keep(k)
        name = self.lw.fresh("out" if keep is None else "out_ring")
        if keep is not None:
            self.ring(("output", k), name, keep, n)
        kind = "stack" if keep is None else "ring"
        self.placeholders[k] = Alloc(name, var.dtype, (INT0,) * (var.ndim + 1), kind=kind)
        self.lw.emit(self.placeholders[k])
        return name

    def invariant(self, exprs, t, shared):
        """`exprs` rewritten to read only values defined before the loop, seeing through the
        step's `let`s; None when they depend on the step (its index, a state, a tap, a shared
        value, anything stored or defined under a condition)."""
        block = self.lw.block
        # a name a nested loop or branch assigns again (a count) has no one value either
        nested = defined_in([s for s in block if isinstance(s, (Loop, If))])
        lets = {}
        for s in block:
            if isinstance(s, Let):
                lets[s.name] = None if s.name in lets or s.name in nested else s.value  # defined twice
        step = (defined_in(block) - {k for k, v in lets.items() if v is not None}) | set(shared) | {t.name}

        def see_through(e):
            if isinstance(e, Var) and lets.get(e.name) is not None:
                return substitute(lets[e.name], see_through)
            return None

        out = tuple(substitute(e, see_through) for e in exprs)
        if names_read(Call("tuple", out)) & (step | set(lets)):
            return None
        return out

    def ring(self, key, buf, rows, at_most):
        """Emit the row count of a ring buffer: `rows`, but never more than `at_most`."""
        name = self.lw.fresh(f"{buf}_rows")
        self.lw.emit(Let(name, op("min", Const(rows, "int64"), at_most)))
        self.ring_rows[key] = Var(name)
        return Var(name)

    def row(self, key, t, k):
        """The index of row t + k of a buffer: modulo its length when it is a ring."""
        size = self.ring_rows.get(key)
        return plus(t, k) if size is None else op("mod", plus(t, k), size)

    def last_rows(self, res, ring, key, end, keep, done):
        """`res` = the last min(keep, done) rows before row `end`, copied out of `ring`."""
        lw, var = self.lw, res
        count, j = lw.fresh(f"{lw.name(res)}_rows"), lw.fresh("j")
        lw.emit(Let(count, op("min", Const(keep, "int64"), Var(done))))
        shape = (Var(count),) + tuple(ShapeOf(ring, d) for d in range(1, var.ndim))
        lw.emit(Alloc(lw.name(res), var.dtype, shape))
        at = op("mod", op("add", op("sub", end, Var(count)), Var(j)), self.ring_rows[key])
        lw.emit(Loop(j, Var(count), "serial", tuple(
            copy_row(lw, lw.name(res), (Var(j),), ring, (at,), shape[1:]))))

    def shared_carry(self, var):
        lw = self.lw
        name = lw.fresh(f"{var.name or 'shared'}_cur")
        # a constant initial value (a gradient's zero) has no name: its value
        init = Var(own_rng(lw, var)) if is_rng(var) else lw.value(var)
        # one array layout across steps
        contiguous = var.ndim and not is_rng(var)
        lw.emit(Let(name, Call("contiguous", (init,)) if contiguous else init))
        return name

    def bind_taps(self, t, seqs, bufs):
        lw = self.lw
        for i, ((x, var), tap_vars) in enumerate(zip(seqs, self.body_in.sequences)):
            for k, tap in zip(self.op.sequence_taps[i], tap_vars):
                lw.emit(Let(lw.name(tap), Load(x, (plus(t, self.op.sequence_offset(i, k)),))))
                lw.shapes[tap] = tuple(lw.shape(var, a + 1) for a in range(tap.ndim))
        for i, ((buf, var), tap_vars) in enumerate(zip(bufs, self.body_in.states)):
            rows = self.op.state_rows(i)
            for k, tap in zip(self.op.state_taps[i], tap_vars):
                lw.emit(Let(lw.name(tap), Load(buf, (self.row(("state", i), t, rows + k),))))
                lw.shapes[tap] = tuple(lw.shape(var, a + 1) for a in range(tap.ndim))

    def store(self, t, n, bufs, outputs, shared):
        lw = self.lw
        for i, ((buf, init), var) in enumerate(zip(bufs, self.body_out.states)):
            row = tuple(lw.shape(init, d + 1) for d in range(var.ndim))
            mismatch = [op("neq", lw.shape(var, d), row[d]) for d in range(var.ndim)
                        if lw.shape(var, d) != row[d]]
            # a store would broadcast a row of another shape silently
            lw.check(either(*mismatch), "ScanError",
                     f"scan{self.label}: step %d gives state {i} (initial value %s) a new value of shape %s; "
                     "its initial rows have shape %s", t, Const(initial_name(init) or "unnamed", "str"),
                     lw.shape_tuple(var), Call("tuple", row))
            lw.emit(Store(buf, (self.row(("state", i), t, self.op.state_rows(i)),), lw.value(var)))
        for k, (out, var) in enumerate(zip(outputs, self.body_out.outputs)):
            shape = (self.ring_rows.get(("output", k), n),) + tuple(lw.shape(var, d) for d in range(var.ndim))
            kind = "stack" if ("output", k) not in self.ring_rows else "ring"
            row = self.invariant(shape[1:], t, shared)
            if row is not None:
                # the row shape cannot change from step to step: allocate before the loop, with
                # that row shape even when no step runs
                self.preallocated[k] = Alloc(out, var.dtype, shape[:1] + row, kind=kind)
            else:
                first = self.invariant(shape[1:], t, ())
                if first is not None:  # the first step's row shape, from the shared values it starts with
                    self.no_step_rows[k] = Alloc(out, var.dtype, (INT0,) + first, kind=kind)
                mismatch = either(*(op("neq", lw.shape(var, d), ShapeOf(out, d + 1)) for d in range(var.ndim)))
                other = () if mismatch == Const(False, "bool") else (Check(
                    mismatch, "ScanError", f"scan{self.label}: step %d gives output {k} a value of shape %s; "
                    "step 0 gave %s", (t, Call("shape", (lw.value(var),)), Call("row_shape", (Var(out),)))),)
                lw.emit(If(op("eq", t, INT0), (Alloc(out, var.dtype, shape, kind=kind),), other))
            lw.emit(Store(out, (self.row(("output", k), t, 0),), lw.value(var)))
        values = []
        # a ring overwrites its rows, and a new shared value may be a view of one: copy it
        carry = "copy" if any(key[0] == "state" for key in self.ring_rows) else "contiguous"
        for var in self.body_out.shared:
            value = lw.value(var)
            values.append(Call(carry, (value,)) if var.ndim and not is_rng(var) else value)
        # a state a draw advanced in place is its own new value: nothing to assign
        moved = [(name, v) for name, v in zip(shared, values) if v != Var(name)]
        if moved:  # all at once: a new value may be another shared variable's current one
            lw.emit(Assign(tuple(n for n, _ in moved), tuple(v for _, v in moved)))
