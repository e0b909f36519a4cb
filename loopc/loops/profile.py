"""profile: timing marks around each region of a function's top-level code.

Runs after every other loop pass, and only for a function compiled with
`profile=True` (it is not in PIPELINE): what it times is the code an unprofiled
function runs, plus the marks. A region is one top-level statement that does
work (a loop nest, a library call such as `dot`, a random draw, a branch holding
any of these) together with the cheap statements before it (checks,
allocations, scalar and view lets); cheap statements after the last one join
the last region. A region that holds a top-level scan (lowering lists the scans
in `Function.scans`) also counts the scan's steps.

The function gets one more parameter, `profile_record`, a float64 array with a
row per region: seconds, completions, scan steps. A mark reads a monotonic clock
(`profile_clock`, `loopc.runtime.clock`: a direct call in jitted code, about
30 ns) and adds to its region's row; nothing leaves compiled code.

    func fn(x):                          func fn(x, profile_record):
      v = alloc f64[x.shape[0]] temp       profile_clock_buf = alloc i64[2] temp
      for i0 in x.shape[0] parallel:       profile_last = call profile_clock(profile_clock_buf)
        v[i0] = exp(x[i0])                 v = alloc f64[x.shape[0]] temp
      return (v)                           for i0 in x.shape[0] parallel:
                                             v[i0] = exp(x[i0])
                                           profile_now = call profile_clock(profile_clock_buf)
                                           profile_record[0, 0] = add(profile_record[0, 0], sub(...))
                                           profile_record[0, 1] = add(profile_record[0, 1], 1.0)
                                           profile_last = profile_now
                                           return (v)
"""
from dataclasses import dataclass, replace

from .ir import (Alloc, Assign, Call, Cast, Const, Host, If, Let, Load, Loop, Namer, Op, Store, Var, format_expr,
                 walk, walk_statements)

# Calls that only look at or re-view an array: a statement made of them is cheap.
VIEWS = {"shape", "size", "row_shape", "tuple", "first", "reshape", "transpose", "expand_dims", "asarray", "empty"}
SECONDS, CALLS, STEPS = 0, 1, 2  # the columns of profile_record


@dataclass(frozen=True)
class Region:
    """Statements `fn.body[start:stop]`; `label` says what they run; `scan` names the
    top-level scan they hold (None: none) and `steps` is its step count's expression."""
    start: int
    stop: int
    label: str
    scan: str = None
    steps: object = None


def run(fn):
    """`fn` taking `profile_record` last, with a mark after every region."""
    namer = Namer.of(fn)
    record, buf, last, now = (namer.fresh(n) for n in ("profile_record", "profile_clock_buf", "profile_last",
                                                        "profile_now"))
    clock = Call("profile_clock", (Var(buf),))
    body = [Alloc(buf, "int64", (Const(2, "int64"),)), Let(last, clock)]
    for k, region in enumerate(regions(fn)):
        body.extend(fn.body[region.start:region.stop])
        body.append(Let(now, clock))
        body.append(_add(record, k, SECONDS, Op("sub", (Var(now), Var(last)))))
        body.append(_add(record, k, CALLS, Const(1.0, "float64")))
        if region.steps is not None:
            body.append(_add(record, k, STEPS, Cast(region.steps, "float64")))
        body.append(Let(last, Var(now)))
    return replace(fn, params=fn.params + (record,), body=tuple(body))


def _add(record, row, column, value):
    at = (Const(row, "int64"), Const(column, "int64"))
    return Store(record, at, Op("add", (Load(record, at), value)))


def regions(fn):
    """The regions of `fn`'s top-level code, in order."""
    work = [i for i, s in enumerate(fn.body) if _does_work(s)]
    if not work:
        return [Region(0, len(fn.body), "scalar code")] if fn.body else []
    stops = work[:-1] + [len(fn.body) - 1]
    top_level = _top_level_names(fn.body)
    found, start = [], 0
    for at, stop in zip(work, stops):
        scan, steps = _scan_in(fn.body[at], fn.scans, top_level)
        found.append(Region(start, stop + 1, _label(fn.body[at], scan), scan, steps))
        start = stop + 1
    return found


def _does_work(s):
    if isinstance(s, (Loop, Host)):
        return True
    if isinstance(s, If):
        return any(_does_work(b) for b in s.body + s.orelse)
    if isinstance(s, (Let, Assign, Store)):
        return any(isinstance(e, Call) and e.fn not in VIEWS for e in walk(s))
    return False


def _top_level_names(body):
    return {s.name for s in body if isinstance(s, Let)}


def _scan_in(s, scans, top_level):
    """(name, step count expression) of the scan whose step loop is `s` or inside it,
    when its count is a top-level local; else (None, None)."""
    loops = {t.var for t in walk_statements([s]) if isinstance(t, Loop)}
    for var, done, name in scans:
        if var in loops and done in top_level:
            return name or "scan", Var(done)
    return None, None


def _label(s, scan):
    """What statement `s` runs, in a line: its loop, call or draw, its scalar functions,
    and the buffers it writes."""
    ops = _names_in(s)
    writes = list(dict.fromkeys(t.buf for t in walk_statements([s]) if isinstance(t, Store)))
    target = f" -> {', '.join(writes[:3])}{', ...' if len(writes) > 3 else ''}" if writes else ""
    if isinstance(s, Loop):
        head = f"for {s.var} in {format_expr(s.extent)} {s.kind}"
        text = f"{head}: {', '.join(ops)}" if ops else head
        return (f"scan {scan!r}: " if scan else "") + _short(text) + target
    if isinstance(s, Host):
        return _short(f"{', '.join(n for n, _ in s.targets) or '_'} = {_host_label(s.call)}")
    if isinstance(s, Let):
        return _short(f"{s.name} = {', '.join(ops)}")
    return _short(f"{type(s).__name__.lower()}: {', '.join(ops)}") + target


def _names_in(s):
    """The scalar functions and calls that compute the values `s` binds and stores (not
    its checks or index arithmetic), each once, in order of appearance."""
    names = []
    for t in walk_statements([s]):
        if isinstance(t, Host):
            names.append(_host_label(t.call))
            continue
        values = (t.value,) if isinstance(t, (Let, Store)) else t.values if isinstance(t, Assign) else ()
        for value in values:
            names.extend(_functions(value))
    return list(dict.fromkeys(names))


def _functions(e):
    """The functions of expression `e`, outermost first; an element's index is not looked into."""
    if isinstance(e, (Op, Call)):
        if not (isinstance(e, Call) and e.fn in VIEWS or e.fn == "identity"):
            yield e.fn
        for a in e.args:
            yield from _functions(a)
    elif isinstance(e, Cast):
        yield from _functions(e.value)


def _host_label(call):
    if call.fn == "draw_random":
        return f"random {call.args[1].value}"
    return call.fn


def _short(text, width=90):
    return text if len(text) <= width else text[:width - 3] + "..."
