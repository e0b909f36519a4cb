"""inplace: a map-style scan writes its output over the new array it reads row by row.

When a scan's step reads row t of a fresh array V (the product `X @ W` that
push_out made) only to compute, element by element, row t of its output, the
output can live in V itself: each element is read, then written, in the same
iteration. One array of n rows fewer to allocate (and to fault into memory)
per call:

    before                                   after
      v = call dot(X, W)                       v = call dot(X, W)
      out = alloc f64[n, m] stack              out = v
      for t in n serial:                       for t in n serial:
        v_1 = v[t]                               v_1 = v[t]
        v_3 = out[t]                             v_3 = out[t]
        for i0 in m parallel:                    for i0 in m parallel:
          v_3[i0] = vm_tanh(add(v_1[i0], b[i0]))   v_3[i0] = vm_tanh(add(v_1[i0], b[i0]))

Requires: `fuse` (the output row is stored through a view) and lowering's record
of shapes. Applies when V is a library call's new array of the output's dtype and
row length, read nowhere but that one row view, and the row view is read only at
[i0] by the one nest that writes the output's row at [i0]. Guarantees: the same
values (V has at least n rows: the scan checked its sequence, and the result
takes the first n) and shapes (V's rows have the output's row length).
"""
from dataclasses import replace

from .ir import Alloc, Call, Let, Load, Loop, ShapeOf, Store, Var, names_read, walk

# Library calls whose result is a new array, never a view of an argument.
FRESH = {"dot", "concatenate", "copy", "arange", "eye"}


def run(fn):
    body = list(fn.body)
    for i, s in enumerate(body):
        if isinstance(s, Alloc) and s.kind == "stack" and len(s.shape) == 2:
            new = _try(fn, body, i)
            if new is not None:
                body[i] = new
    return replace(fn, body=tuple(body))


def _try(fn, body, i):
    """The statement replacing output `body[i]`'s allocation, or None."""
    out = body[i]
    n, row = out.shape
    loops = [s for s in body[i + 1:] if isinstance(s, Loop) and s.kind == "serial" and out.name in _refs(s)]
    if len(loops) != 1 or loops[0].extent != n:  # one row a step: a scan's output
        return None
    scan = loops[0]
    t = Var(scan.var)
    dst = _only_row_view(scan, out.name, t)
    if dst is None:
        return None
    nests = [s for s in scan.body if isinstance(s, Loop) and dst in _refs(s)]
    if len(nests) != 1 or nests[0].extent != row:
        return None
    nest = nests[0]
    for src_let in scan.body:
        v = _fresh_source(fn, body, src_let, t, out, row)
        if v is None or not _same_elements(scan, nest, src_let.name, dst):
            continue
        return Let(out.name, Var(v))
    return None


def _only_row_view(scan, name, t):
    """The local bound to `name[t]` when that is the step's only use of `name`."""
    views = [s for s in scan.body if isinstance(s, Let) and s.value == Load(name, (t,))]
    uses = sum(1 for n in walk(scan) if isinstance(n, (Load, Store, ShapeOf)) and n.buf == name
               or isinstance(n, Var) and n.name == name)
    return views[0].name if len(views) == 1 and uses == 1 else None


def _fresh_source(fn, body, let, t, out, row):
    """V when `let` is `src = V[t]` with V a fresh array of the output's dtype and row."""
    if not (isinstance(let, Let) and isinstance(let.value, Load) and let.value.index == (t,)):
        return None
    v = let.value.buf
    defs = [s for s in body if isinstance(s, Let) and s.name == v]
    if len(defs) != 1 or not (isinstance(defs[0].value, Call) and defs[0].value.fn in FRESH):
        return None
    shape = dict(fn.shapes).get(v)
    if dict(fn.dtypes).get(v) != out.dtype or shape is None or len(shape) != 2 or shape[1] != row:
        return None
    if v in set().union(*map(names_read, fn.returns)):
        return None
    readers = sum(1 for s in body for n in walk(s) if isinstance(n, (Load, Var))
                  and (n.buf if isinstance(n, Load) else n.name) == v)
    return v if readers == 1 else None  # the row view, and nothing else


def _same_elements(scan, nest, src, dst):
    """`src` read only in `nest`, at [i0], and `dst` written there at [i0]."""
    i0 = (Var(nest.var),)
    for n in walk(scan):
        if isinstance(n, Var) and n.name in (src, dst):
            return False
    loads = [n for n in walk(nest) if isinstance(n, Load) and n.buf == src]
    outside = [n for s in scan.body if s is not nest for n in walk(s) if isinstance(n, Load) and n.buf == src]
    stores = [n for n in walk(nest) if isinstance(n, Store) and n.buf == dst]
    return bool(loads) and not outside and all(x.index == i0 for x in loads) and len(stores) == 1 and \
        nest.body[-1] is stores[0] and stores[0].index == i0 and all(isinstance(c, Let) for c in nest.body[:-1])


def _refs(s):
    return {n.buf if isinstance(n, (Load, Store, ShapeOf)) else n.name for n in walk(s)
            if isinstance(n, (Load, Store, ShapeOf, Var))}

