"""block: a scan whose every step is one elementwise nest over its state's row runs
block by block of elements, all steps per block.

When element i of a state's new row depends only on element i of its taps and
of loop-invariant vectors (`A ** k`, a leaky integrator), the elements are
independent recurrences. One pass over all elements per step streams the whole
state through the cache k times; a block of `BLOCK` elements stays in L1 for
all k steps. Every block reads views that start at 0, so the inner loop has the
same shape as before (and vectorizes the same way):

    before                                   after
      for t in n serial:                       for blk in nblocks serial:
        h = ring[mod(t, R)]                      lo = mul(blk, 512)   A_b = A[lo:hi]
        h_new = ring[mod(add(t, 1), R)]          for t in n serial:
        for i0 in m parallel:                      h_row = ring[mod(t, R)]
          h_new[i0] = mul(h[i0], A[i0])            h = h_row[lo:hi] ...

Requires: `fuse` (the nest stores into a view of the state's row). Applies only
to a recurrence (a row the step writes is read by a later step: a map gains
nothing), when the step's body is row views of buffers defined before the loop and one
level of `parallel` nests over one invariant extent that load every array at
exactly [i0]; nothing that can raise, draw, break or branch. Guarantees: the
same values (each element's arithmetic is unchanged, only the order of the
independent elements) and errors (there are none in such a body).
"""
from dataclasses import replace

from .ir import Const, Let, Load, Loop, Namer, Op, Slice, Store, Var, defined_in, names_read, substitute, walk

BLOCK = 512


def run(fn):
    namer = Namer.of(fn)
    return replace(fn, body=tuple(_block_stmts(fn.body, namer)))


def _block_stmts(stmts, namer):
    out = []
    for s in stmts:
        if isinstance(s, Loop) and s.kind == "serial":
            s = replace(s, body=tuple(_block_stmts(s.body, namer)))
            out.extend(_blocked(s, namer) or [s])
        else:
            out.append(s)
    return out


def _blocked(loop, namer):
    """The statements running `loop` block by block, or None when it does not qualify."""
    shape = _shape(loop)
    if shape is None:
        return None
    views, nests, extent = shape
    if names_read(Op("tuple", (extent,))) & (defined_in(loop.body) | {loop.var}):
        return None
    vectors = sorted({n.buf for nest in nests for n in walk(nest) if isinstance(n, Load)} - set(_names(views))
                     - _lets_in(nests))
    written = {s.value.buf for s in views if any(isinstance(n, Store) and n.buf == s.name
                                                 for nest in nests for n in walk(nest))}
    read = {s.value.buf for s in views if any(isinstance(n, Load) and n.buf == s.name
                                              for nest in nests for n in walk(nest))}
    if not written & read:
        return None  # no recurrence (a map): the elements stream through once anyway
    blk, lo, hi = namer.fresh("blk"), namer.fresh("lo"), namer.fresh("hi")
    renames = {name: namer.fresh(f"{name}_b") for name in vectors}
    size = Const(BLOCK, "int64")
    block = Slice(Var(lo), Var(hi))
    head = [Let(lo, Op("mul", (Var(blk), size))),
            Let(hi, Op("min", (Op("add", (Var(lo), size)), extent)))]
    head += [Let(renames[x], Load(x, (block,))) for x in vectors]
    width = Op("sub", (Var(hi), Var(lo)))
    body = []
    for s in loop.body:
        if isinstance(s, Let):  # the block of the row: a slice of the row, so Numba knows it is contiguous
            row = namer.fresh(f"{s.name}_row")
            body += [Let(row, s.value), Let(s.name, Load(row, (block,)))]
        else:
            body.append(_rename_loads(replace(s, extent=width), renames))
    count = Op("int_div", (Op("add", (extent, Const(BLOCK - 1, "int64"))), size))
    return [Loop(blk, count, "serial", tuple(head) + (replace(loop, body=tuple(body)),))]


def _shape(loop):
    """(row views, nests, extent) of a qualifying step body, or None."""
    views, nests = [], []
    outer_defined = defined_in(loop.body)
    for s in loop.body:
        if isinstance(s, Let) and isinstance(s.value, Load) and len(s.value.index) == 1 \
                and s.value.buf not in outer_defined:
            views.append(s)
        elif isinstance(s, Loop) and s.kind == "parallel" and all(isinstance(c, (Let, Store)) for c in s.body):
            nests.append(s)
        else:
            return None
    if not nests or len({n.extent for n in nests}) != 1:
        return None
    view_names = _names(views)
    for nest in nests:
        if not _elementwise(nest, view_names, outer_defined):
            return None
    return views, nests, nests[0].extent


def _elementwise(nest, view_names, body_defined):
    """Every array load and store of `nest` at exactly [i0], stores into row views only."""
    i0 = Var(nest.var)
    lets = {c.name for c in nest.body if isinstance(c, Let)}
    for c in nest.body:
        if isinstance(c, Store) and (c.buf not in view_names or c.index != (i0,)):
            return False
        for n in walk(c):
            if isinstance(n, Load) and (n.index != (i0,) or n.buf in lets):
                return False
            if isinstance(n, Load) and n.buf in body_defined and n.buf not in view_names:
                return False
            if isinstance(n, Var) and n.name in body_defined and n.name not in lets and n.name != nest.var:
                return False  # a scalar of the step: not one of ours
            if type(n).__name__ in ("ShapeOf", "Call"):
                return False
    return True


def _names(views):
    return {v.name for v in views}


def _lets_in(nests):
    return {c.name for nest in nests for c in nest.body if isinstance(c, Let)}


def _rename_loads(nest, renames):
    return replace(nest, body=tuple(replace(c, value=_sub(c.value, renames)) for c in nest.body))


def _sub(e, renames):
    return substitute(e, lambda n: Load(renames[n.buf], n.index) if isinstance(n, Load) and n.buf in renames
                      else None)
