"""fuse: an elementwise nest whose only reader is one later nest computes inside it.

A producer is a `temp` buffer T and the `parallel` nest right after its `Alloc`
that stores every element once (`T[i0, i1] = e`). When the only statement that
reads T (shapes aside) is one later loop that loads T at one index whose
variables that loop binds over T's own extents, T goes away: the producer's
scalar work moves into the reader's loop as locals, and `T.shape[a]` anywhere
becomes the producer's extent. Chains fuse left to right, so `exp(A * B + C)`
becomes one nest and no temporaries:

    before                                   after
      v = alloc f64[n] temp                    out = alloc f64[n] temp
      for i0 in 0..n parallel:                 for i1 in 0..n parallel:
        v[i0] = mul(A[i0], B[i0])                v = mul(A[i1], B[i1])
      out = alloc f64[n] temp                    out[i1] = exp(v)
      for i1 in 0..n parallel:
        out[i1] = exp(v[i1])

A producer whose only reader stores all of T into one row of another buffer (a
scan state's new value) stores into that row itself, when nothing between the
two can raise or reads that buffer.

Requires: lowering's conventions (a `parallel` nest's extents were checked
equal to its operands' lengths before it runs). Guarantees: the same values and
errors (checks stay where they were; only loads and stores of T disappear), and
no scalar work repeats: a producer never moves under a loop that does not walk
T's own axes.
"""
from dataclasses import replace

from .ir import (Alloc, Cast, Check, Const, Host, If, Let, Load, Loop, Op, ShapeOf, Store, Var, defined_in, names_read,
                 substitute, walk)

# Scalar functions whose result has the dtype of their (equal-dtype) float operands.
_SAME_DTYPE = {"add", "sub", "mul", "true_div", "neg", "abs", "sqr", "sqrt", "maximum", "minimum", "exp", "log",
               "tanh", "sigmoid", "softplus", "log1p", "expm1", "sin", "cos", "pow", "inv"}


def run(fn):
    dtypes = dict(fn.dtypes)
    returned = set().union(*map(names_read, fn.returns)) if fn.returns else set()
    return replace(fn, body=tuple(_fuse_block(list(fn.body), dtypes, returned)))


def _fuse_block(block, dtypes, returned):
    b = _Block([_descend(s, dtypes, returned) for s in block])
    for i in range(len(b.stmts) - 1):
        _try_fuse(b, i, dtypes, returned)
    return [s for s in b.stmts if s is not None]


class _Block:
    """A statement list being fused: removed statements become None, and an index
    of which statements read each name (as a value, or through its shape) keeps
    every step linear in the size of what it touches."""

    def __init__(self, stmts):
        self.stmts = stmts
        self.reads, self.shapes = {}, {}  # name -> indices of the statements reading it
        self.read_by = {}  # index -> (names it reads as values, names whose shapes it reads)
        for k, s in enumerate(stmts):
            self.note(k, s)

    def note(self, k, s):
        values, shapes = set(), set()
        for n in walk(s):
            if isinstance(n, Var):
                values.add(n.name)
            elif isinstance(n, Load):
                values.add(n.buf)
            elif isinstance(n, ShapeOf):
                shapes.add(n.buf)
        self.add(k, values, shapes)

    def add(self, k, values, shapes):
        old_values, old_shapes = self.read_by.setdefault(k, (set(), set()))
        old_values |= values
        old_shapes |= shapes
        for name in values:
            self.reads.setdefault(name, set()).add(k)
        for name in shapes:
            self.shapes.setdefault(name, set()).add(k)

    def move(self, src, dst, s):
        """Statement `dst` becomes `s`, which reads what `dst` and `src` read (`src` is gone)."""
        self.stmts[dst] = s
        self.stmts[src] = None
        self.add(dst, *self.read_by.get(src, (set(), set())))

    def replace_shapes(self, name, extents):
        """`name.shape[a]` becomes extent a wherever it is read."""
        for k in sorted(self.shapes.pop(name, ())):
            if self.stmts[k] is not None:
                self.stmts[k] = substitute(self.stmts[k], lambda e: extents[e.axis]
                                           if isinstance(e, ShapeOf) and e.buf == name else None)
                self.note(k, self.stmts[k])


def _descend(s, dtypes, returned):
    """Fuse inside the bodies of serial loops (scan steps) and branches."""
    if isinstance(s, Loop) and s.kind == "serial":
        return replace(s, body=tuple(_fuse_block(list(s.body), dtypes, returned)))
    if isinstance(s, If):
        return replace(s, body=tuple(_fuse_block(list(s.body), dtypes, returned)),
                       orelse=tuple(_fuse_block(list(s.orelse), dtypes, returned)))
    return s


def _try_fuse(b, i, dtypes, returned):
    """Fuse the producer at i (if it is one) into its only reader."""
    alloc, nest = b.stmts[i], b.stmts[i + 1]
    producer = _producer(alloc, nest) if alloc is not None and nest is not None else None
    if producer is None or alloc.name in returned:
        return
    loops, lets, store = producer
    readers = {k for k in b.reads.get(alloc.name, ()) if b.stmts[k] is not None} - {i + 1}
    if len(readers) != 1:
        return
    (j,) = readers
    if isinstance(b.stmts[j], Store):
        view_and_nest = _store_into(b, i, j, loops, lets, store)
        if view_and_nest is None:
            return
        b.stmts[i] = view_and_nest[0]
        b.note(i, view_and_nest[0])
        b.move(j, i + 1, view_and_nest[1])
    else:
        consumer = _fuse_into(b.stmts[j], alloc, loops, lets, store, dtypes)
        if consumer is None:
            return
        b.stmts[i] = None
        b.move(i + 1, j, consumer)
    b.replace_shapes(alloc.name, {a: loop.extent for a, loop in enumerate(loops)})


def _store_into(b, i, j, loops, lets, store):
    """The producer nest writing straight into the row `b.stmts[j]` stores it to (a
    scan state's row), or None. Nothing between may raise, have an effect, or
    rebind what the row's index reads; the row's dtype is the producer's."""
    alloc, row = b.stmts[i], b.stmts[j]
    between = [s for s in b.stmts[i + 2:j] if s is not None]
    if row.value != Var(alloc.name) or any(isinstance(n, (Check, Host)) for s in between for n in walk(s)):
        return None
    if (names_read(Op("index", row.index)) | {row.buf}) & defined_in(between):
        return None
    if any(isinstance(n, Load) and n.buf == row.buf for s in between for n in walk(s)):
        return None  # a row of the buffer read between: leave the order alone
    # through a view of the row (T's name, now free): a loop over `row[i0]` vectorizes
    inner = replace(loops[-1], body=tuple(lets) + (Store(alloc.name, store.index, store.value),))
    for loop in reversed(loops[:-1]):
        inner = replace(loop, body=(inner,))
    return [Let(alloc.name, Load(row.buf, row.index)), inner]


def _producer(alloc, nest):
    """(loops, lets, store) of a fusable producer nest, or None."""
    if not (isinstance(alloc, Alloc) and alloc.kind == "temp" and alloc.fill is None):
        return None
    loops, s = [], nest
    while isinstance(s, Loop) and s.kind == "parallel" and len(loops) < len(alloc.shape):
        loops.append(s)
        if len(loops) < len(alloc.shape):
            if len(s.body) != 1:
                return None
            s = s.body[0]
    if len(loops) != len(alloc.shape) or not loops:
        return None
    *lets, store = loops[-1].body
    if not (isinstance(store, Store) and store.buf == alloc.name and all(isinstance(x, Let) for x in lets)):
        return None
    for k, (item, loop) in enumerate(zip(store.index, loops)):
        if item != Var(loop.var) and not (item == Const(0, "int64") and loop.extent == Const(1, "int64")):
            return None
    return loops, lets, store


def _values_read(s):
    """Names `s` reads as values (loads and variables; shapes do not count)."""
    out = set()
    for n in walk(s):
        if isinstance(n, Var):
            out.add(n.name)
        elif isinstance(n, Load):
            out.add(n.buf)
    return out


def _fuse_into(consumer, alloc, loops, lets, store, dtypes):
    """The consumer with T's loads replaced by a local computed in place, or None."""
    if not isinstance(consumer, Loop) or consumer.kind == "serial":
        return None
    loads = {n for n in walk(consumer) if isinstance(n, Load) and n.buf == alloc.name}
    if len(loads) != 1 or any(isinstance(n, Var) and n.name == alloc.name for n in walk(consumer)):
        return None
    (load,) = loads
    target = _placement(consumer, load, loops)
    if target is None:
        return None
    mapping = {loop.var: item for loop, item in zip(loops, load.index)}
    renames = {item.name: var for var, item in mapping.items() if isinstance(item, Var)}
    if len(renames) == len(mapping) and len(set(renames)) == len(renames):
        # the reader walks T's axes with its own loops: rename them to the producer's
        # (the reader is one op, the producer may be a long chain)
        consumer, target = _rename_loops(consumer, renames), renames.get(target, target)
        moved, value = list(lets), store.value
    else:
        moved = [_subst_vars(x, mapping) for x in lets]
        value = _subst_vars(store.value, mapping)
    if _dtype(value, dtypes) != alloc.dtype:
        value = Cast(value, alloc.dtype)
    moved.append(Let(alloc.name, value))
    return _rewrite(consumer, target, moved, alloc.name)


def _rename_loops(s, names):
    """`s` with the loop variables in `names` (old -> new) renamed, loops included."""
    s = substitute(s, lambda e: Var(names[e.name]) if isinstance(e, Var) and e.name in names else None)
    return _rename_loop_vars(s, names)


def _rename_loop_vars(s, names):
    if isinstance(s, Loop):
        return replace(s, var=names.get(s.var, s.var), body=tuple(_rename_loop_vars(c, names) for c in s.body))
    if isinstance(s, If):
        return replace(s, body=tuple(_rename_loop_vars(c, names) for c in s.body),
                       orelse=tuple(_rename_loop_vars(c, names) for c in s.orelse))
    return s


def _placement(consumer, load, loops):
    """The var of the loop whose body gets T's locals: the deepest loop binding an
    index variable of the load; None when a loop above it walks no axis of T or
    binds an axis over another extent than T's."""
    index_vars = {item.name: k for k, item in enumerate(load.index) if isinstance(item, Var)}
    path = _path_to(consumer, load)
    if path is None or not index_vars:
        return None
    deepest = max(k for k, loop in enumerate(path) if loop.var in index_vars) \
        if any(loop.var in index_vars for loop in path) else None
    if deepest is None:
        return None
    for loop in path[:deepest + 1]:
        if loop.var not in index_vars:
            return None  # T's work would repeat over this loop's iterations
        axis = index_vars[loop.var]
        if loop.extent != loops[axis].extent and loop.kind != "parallel":
            return None
    bound = {loop.var for loop in path}
    if any(v not in bound for v in index_vars):
        return None
    for k, item in enumerate(load.index):
        if not isinstance(item, Var) and not (item == Const(0, "int64") and loops[k].extent == Const(1, "int64")):
            return None
    return path[deepest].var


def _path_to(s, target):
    """The loops enclosing `target` inside `s` (outermost first), or None."""
    if s == target:
        return []
    if isinstance(s, Loop):
        for child in s.body:
            sub = _path_to(child, target)
            if sub is not None:
                return [s] + sub
        return None
    if isinstance(s, If):
        for child in s.body + s.orelse:
            sub = _path_to(child, target)
            if sub is not None:
                return sub
        return None
    return [] if target in walk(s) else None


def _rewrite(s, var, moved, name):
    """`s` with `moved` at the start of loop `var`'s body and T's loads made local."""
    if isinstance(s, Loop):
        body = tuple(_rewrite(c, var, moved, name) for c in s.body)
        if s.var == var:
            body = tuple(moved) + body
        return replace(s, body=body)
    if isinstance(s, If):
        return replace(s, body=tuple(_rewrite(c, var, moved, name) for c in s.body),
                       orelse=tuple(_rewrite(c, var, moved, name) for c in s.orelse))
    return substitute(s, lambda e: Var(name) if isinstance(e, Load) and e.buf == name else None)


def _subst_vars(node, mapping):
    return substitute(node, lambda e: mapping.get(e.name) if isinstance(e, Var) and e.name in mapping else None)


def _dtype(e, dtypes):
    """The dtype `e` computes in, when it is sure; else None."""
    if isinstance(e, (Cast, Const)):
        return e.dtype
    if isinstance(e, Load) or isinstance(e, Var):
        return dtypes.get(e.buf if isinstance(e, Load) else e.name)
    if isinstance(e, Op):
        kinds = {_dtype(a, dtypes) for a in e.args}
        if e.fn.startswith("vm_"):
            return "float64" if kinds == {"float64"} else None
        if e.fn in _SAME_DTYPE and len(kinds) == 1 and next(iter(kinds)) in ("float64", "float32"):
            return next(iter(kinds))
    return None
