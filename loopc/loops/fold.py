"""fold: a reduction over all of a scan's scalar output accumulates inside the scan.

When a scan's output of 0-d steps is read only by one full reduction, the steps
can fold their values into the reduction's accumulator as they go: no stacked
buffer, no second pass. The sum runs in the same order, so the result is the
same to the bit:

    before                                   after
      out = alloc f64[n] stack                 acc = cast<f64>(0)
      for t in n serial:                       for t in n serial:
        out[t] = mul(c[t], v)                    acc = add(acc, cast<f64>(mul(c[t], v)))
      res = out[:n_done]                       v_5 = cast<f64>(acc)
      acc = cast<f64>(0)
      for r0 in res.shape[0] reduction:
        acc = add(acc, res[r0])
      v_5 = cast<f64>(acc)

Requires: lowering's scan and reduction shapes. Guarantees: the same values (the
store's conversion kept as a cast) and errors (a step that fails leaves the
accumulator unread, as it left the buffer).
"""
from dataclasses import replace

from .ir import Alloc, Cast, Let, Load, Loop, ShapeOf, Slice, Store, Var, names_read, substitute, walk


def run(fn):
    return replace(fn, body=tuple(_fold_block(list(fn.body), fn)))


def _fold_block(block, fn):
    block = [replace(s, body=tuple(_fold_block(list(s.body), fn))) if isinstance(s, Loop) and s.kind == "serial"
             else s for s in block]
    k = 0
    while k < len(block):
        folded = _try_fold(block, k, fn)
        if folded is None:
            k += 1
        else:
            block = folded
    return block


def _try_fold(block, i, fn):
    alloc = block[i]
    if not (isinstance(alloc, Alloc) and alloc.kind == "stack" and len(alloc.shape) == 1):
        return None
    readers = [j for j, s in enumerate(block) if j != i and alloc.name in _reads(s)]
    if len(readers) != 2:
        return None
    j, k = readers
    scan, res = block[j], block[k]
    if not (isinstance(scan, Loop) and scan.kind == "serial" and isinstance(res, Let)
            and isinstance(res.value, Load) and res.value.buf == alloc.name
            and len(res.value.index) == 1 and isinstance(res.value.index[0], Slice)
            and res.value.index[0].lo is None and res.value.index[0].step is None):
        return None
    stores = [s for s in scan.body if isinstance(s, Store) and s.buf == alloc.name]
    if len(stores) != 1 or stores[0].index != (Var(scan.var),) or _count(scan, alloc.name) != 1:
        return None
    m = k + 1
    if m + 1 >= len(block) or not _is_reduction(block[m], block[m + 1], res.name):
        return None
    if any(res.name in _reads(s) for n, s in enumerate(block) if n not in (k, m + 1)) or \
            {res.name, alloc.name} & set().union(*map(names_read, fn.returns)):
        return None
    init, loop = block[m], block[m + 1]
    (update,) = loop.body
    value = stores[0].value
    if dict(fn.dtypes).get(value.name if isinstance(value, Var) else None) != alloc.dtype:
        value = Cast(value, alloc.dtype)
    element = Load(res.name, (Var(loop.var),))
    folded = replace(update, value=substitute(update.value, lambda e: value if e == element else None))
    if res.name in names_read(folded.value):
        return None
    body = tuple(folded if s is stores[0] else s for s in scan.body)
    rest = [s for n, s in enumerate(block) if n not in (i, j, k, m, m + 1)]
    at = j - 1  # the Alloc before the scan is gone
    return rest[:at] + [init, replace(scan, body=body)] + rest[at:]


def _is_reduction(init, loop, res):
    """`acc = identity` then `for r in res.shape[0] reduction: acc = f(acc, res[r])`."""
    if not (isinstance(init, Let) and isinstance(loop, Loop) and loop.kind == "reduction"
            and loop.extent == ShapeOf(res, 0) and len(loop.body) == 1):
        return False
    (update,) = loop.body
    return isinstance(update, Let) and update.name == init.name and \
        {n for n in walk(update.value) if isinstance(n, Load)} == {Load(res, (Var(loop.var),))}


def _reads(s):
    return {n.buf if isinstance(n, (Load, ShapeOf)) else n.name for n in walk(s)
            if isinstance(n, (Load, ShapeOf)) or isinstance(n, Var)} | \
        {n.buf for n in walk(s) if isinstance(n, Store)}


def _count(s, name):
    return sum(1 for n in walk(s) if isinstance(n, (Load, Store, ShapeOf)) and n.buf == name
               or isinstance(n, Var) and n.name == name)
