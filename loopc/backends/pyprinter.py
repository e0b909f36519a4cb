"""Print a loop-IR function as the source of one Python module.

The same text runs in PY mode (plain Python) and NUMBA mode (`numba.njit`): the
vector math kernels `vm_*` are vecmath's plain-Python functions, which jitted
code calls as their compiled, inlined kernels. Everything else was decided by
lowering and the loop passes; this module only spells statements (one template
each), scalar functions (`SCALAR`) and library calls (`CALLS`).

Each host call (a random draw, a print) is a small module-level function holding
its `objmode` block, marked `@host_call` (NUMBA mode compiles it with `njit`, as
the kernel), and the kernel calls it: a kernel holding an `objmode` block inside
a loop and another one after the loop fails in LLVM ("Instruction does not
dominate all uses!", numba/numba#9574), while calls of jitted functions do not.
"""
import re

import numpy as np

from ..loops.ir import (Alloc, Assign, Break, Call, Cast, Check, Const, Host, If, Let, Load, Loop, Namer, Op, ShapeOf,
                        Slice, Store, Var, walk, walk_statements)

HEADER = """\
import math
import numpy as np
from numba import objmode
from loopc.runtime import (draw_random, copy_rng, print_value, host_call, LoopcIndexError, LoopcValueError,
                           ScanError, ShapeError)
"""

# The plain-Python kernels; in jitted code a call of one is the compiled kernel.
VECTOR_MATH_IMPORT = "from loopc.runtime.vecmath import {names}\n"
# The clock of the timing marks, imported only by a profiled function's module.
PROFILE_IMPORT = "from loopc.runtime.clock import profile_clock\n"

SCALAR = {
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
    "xlogx": "(0.0 if {0} == 0 else {0} * np.log({0}))", "xlogy0": "(0.0 if {0} == 0 else {0} * np.log({1}))",
    "floor": "np.floor({0})", "ceil": "np.ceil({0})", "trunc": "np.trunc({0})", "round": "np.rint({0})",
    "eq": "({0} == {1})", "neq": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})", "and": "({0} & {1})", "or": "({0} | {1})",
    "xor": "({0} ^ {1})", "invert": "(~{0})", "isnan": "np.isnan({0})", "isinf": "np.isinf({0})",
    "switch": "({1} if {0} else {2})", "identity": "{0}", "not": "(not {0})",
    "min": "min({0}, {1})", "lor": "({0} or {1})", "land": "({0} and {1})",
    "vm_tanh": "vm_tanh({0})", "vm_exp": "vm_exp({0})", "vm_log": "vm_log({0})", "vm_log1p": "vm_log1p({0})",
    "vm_expm1": "vm_expm1({0})", "vm_sigmoid": "vm_sigmoid({0})", "vm_softplus": "vm_softplus({0})",
}


def np_dtype(dtype):
    return "np.bool_" if dtype == "bool" else f"np.{dtype}"


def _items(args):
    return "(" + "".join(a + ", " for a in args) + ")"


def _shape(args):
    return args[0] if len(args) == 1 else "(" + ", ".join(args) + ")"


CALLS = {
    "dot": lambda a, p: f"np.dot({a[0]}, {a[1]})",
    "dot_into": lambda a, p: f"np.dot({a[0]}, {a[1]}, {a[2]})",
    "astype": lambda a, p: f"{a[0]}.astype({np_dtype(p[0])})",
    "asarray": lambda a, p: f"np.asarray({a[0]})",
    "copy": lambda a, p: f"{a[0]}.copy()",
    "contiguous": lambda a, p: f"np.ascontiguousarray({a[0]})",
    "reshape": lambda a, p: f"{a[0]}.reshape({_items(a[1:])})",
    "first": lambda a, p: f"{a[0]}[0]",
    "size": lambda a, p: f"{a[0]}.size",
    "shape": lambda a, p: f"{a[0]}.shape",
    "row_shape": lambda a, p: f"{a[0]}.shape[1:]",
    "tuple": lambda a, p: _items(a),
    "transpose": lambda a, p: f"{a[0]}.transpose({_items(map(str, p[0]))})",
    "expand_dims": lambda a, p: f"np.expand_dims({a[0]}, {p[0]})",
    "concatenate": lambda a, p: f"np.concatenate({_items(a)}, axis={p[0]})",
    "full": lambda a, p: f"np.full({a[0]}, {a[1]}, {np_dtype(p[0])})",
    "array": lambda a, p: f"np.array([{', '.join(a)}], {np_dtype(p[0])})",
    "zeros": lambda a, p: f"np.zeros({a[0]}, {np_dtype(p[0])})",
    "empty": lambda a, p: f"np.empty({_shape(a)}, {np_dtype(p[0])})",
    "arange": lambda a, p: f"np.arange({a[0]}, {a[1]}, {a[2]}).astype({np_dtype(p[0])})",
    "eye": lambda a, p: f"np.eye({a[0]}, {a[1]}, {a[2]}, {np_dtype(p[0])})",
    "take": lambda a, p: f"{a[0]}[{a[1]}]",
    # the values in the order of a stable argsort: the same result in every mode, -0.0 and 0.0 included
    "sort": lambda a, p: f"{a[0]}[np.argsort({a[0]}, kind='mergesort')]",
    "argsort": lambda a, p: f"np.argsort({a[0]}, kind='mergesort')",
    "draw_random": lambda a, p: f"draw_random({', '.join(a)})",
    "copy_rng": lambda a, p: f"copy_rng({a[0]})",
    "print_value": lambda a, p: f"print_value({', '.join(a)})",
    "profile_clock": lambda a, p: f"profile_clock({a[0]})",
}


# -- expressions ------------------------------------------------------------------

def expr(e):
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Const):
        return repr(e.value) if e.dtype in ("str", "object") else literal(e.value, e.dtype)
    if isinstance(e, Load):
        return f"{e.buf}[{', '.join(index_item(i) for i in e.index)}]"
    if isinstance(e, Op):
        return SCALAR[e.fn].format(*(expr(a) for a in e.args))
    if isinstance(e, Cast):
        return f"{np_dtype(e.dtype)}({expr(e.value)})"
    if isinstance(e, ShapeOf):
        return f"{e.buf}.shape[{e.axis}]"
    if isinstance(e, Call):
        return CALLS[e.fn]([expr(a) for a in e.args], e.params)
    raise TypeError(f"not a loop-IR expression: {e!r}")


def index_item(i, spell=None):
    """An index item as Python writes it (`lo:hi:step`, empty parts left out), its
    expressions spelled by `spell` (this module's `expr` by default)."""
    spell = spell or expr
    if not isinstance(i, Slice):
        return spell(i)
    parts = ["" if p is None else spell(p) for p in (i.lo, i.hi, i.step)]
    if i.step is None:
        parts.pop()
    return ":".join(parts)


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


# -- statements -------------------------------------------------------------------

def block(stmts, depth, hosts=None):
    lines = []
    for s in stmts:
        lines.extend(statement(s, depth, hosts))
    return lines or ["    " * depth + "pass"]


def statement(s, depth, hosts=None):
    """The lines of `s`; `hosts` maps each Host statement to the name of its function
    (`host_functions`), else a Host is printed as its `objmode` block in place."""
    pad = "    " * depth
    if isinstance(s, Let):
        return [f"{pad}{s.name} = {expr(s.value)}"]
    if isinstance(s, Alloc):
        shape = _shape([expr(d) for d in s.shape])
        if s.fill is None:
            return [f"{pad}{s.name} = np.empty({shape}, {np_dtype(s.dtype)})"]
        return [f"{pad}{s.name} = np.full({shape}, {expr(s.fill)}, {np_dtype(s.dtype)})"]
    if isinstance(s, Store):
        return [f"{pad}{expr(Load(s.buf, s.index))} = {expr(s.value)}"]
    if isinstance(s, Loop):
        bounds = expr(s.extent) if s.start == Const(0, "int64") else f"{expr(s.start)}, {expr(s.extent)}"
        return [f"{pad}for {s.var} in range({bounds}):"] + block(s.body, depth + 1, hosts)
    if isinstance(s, Check):
        args = "".join(", " + expr(a) for a in s.args)
        return [f"{pad}if {expr(s.bad)}:", f"{pad}    raise {s.error}({s.message!r}{args})"]
    if isinstance(s, If):
        lines = [f"{pad}if {expr(s.cond)}:"] + block(s.body, depth + 1, hosts)
        if s.orelse:
            lines += [f"{pad}else:"] + block(s.orelse, depth + 1, hosts)
        return lines
    if isinstance(s, Break):
        return [f"{pad}break"]
    if isinstance(s, Assign):
        return [f"{pad}{', '.join(s.names)} = {', '.join(expr(v) for v in s.values)}"]
    if isinstance(s, Host) and hosts is not None:
        target = ", ".join(n for n, _ in s.targets)
        return [f"{pad}{target + ' = ' if target else ''}{hosts[s]}({', '.join(host_params(s))})"]
    if isinstance(s, Host):
        annotations = ", ".join(f"{n}={t!r}" for n, t in s.targets)
        call = expr(s.call)
        target = ", ".join(n for n, _ in s.targets)
        return [f"{pad}with objmode({annotations}):", f"{pad}    {target + ' = ' if target else ''}{call}"]
    raise TypeError(f"not a loop-IR statement: {s!r}")


# -- host calls -------------------------------------------------------------------

def host_functions(fn):
    """Each distinct Host statement of `fn` -> the name of the function making it:
    `draw_random_1`, `print_value_1`, ..., clashing with no name `fn` uses."""
    namer = Namer.of(fn)
    namer.used |= {fn.name, "math", "np", "objmode", "draw_random", "copy_rng", "print_value", "host_call"}
    hosts = {}
    for s in walk_statements(fn.body):
        if isinstance(s, Host) and s not in hosts:
            hosts[s] = namer.fresh(s.call.fn)
    return hosts


def host_params(s):
    """The kernel's names that Host statement `s` reads, in the order they first appear."""
    names = []
    for n in walk(s.call):
        name = n.name if isinstance(n, Var) else n.buf if isinstance(n, (Load, ShapeOf)) else None
        if name is not None and name not in names:
            names.append(name)
    return names


def host_function(s, name):
    """The module-level function `name` making host call `s` in its own objmode block."""
    lines = ["@host_call", f"def {name}({', '.join(host_params(s))}):"] + statement(s, 1)
    if s.targets:
        lines.append(f"    return {', '.join(n for n, _ in s.targets)}")
    return "\n".join(lines) + "\n"


def print_function(fn):
    """The module source defining `fn` (for PY and NUMBA alike)."""
    hosts = host_functions(fn)
    body = block(fn.body, 1, hosts) if fn.body else []
    results = [expr(r) for r in fn.returns]
    ret = "(" + ", ".join(results) + ("," if len(results) == 1 else "") + ")"
    text = "\n".join(body + [ret])
    lines = [HEADER]
    kernels = sorted(set(re.findall(r"\bvm_\w+(?=\()", text)))
    if kernels:
        lines.append(VECTOR_MATH_IMPORT.format(names=", ".join(f"py_{k[3:]} as {k}" for k in kernels)))
    if re.search(r"\bprofile_clock\(", text):
        lines.append(PROFILE_IMPORT)
    for cname, data in fn.constants:
        if not re.search(rf"\b{cname}\b", text):
            continue  # every use was inlined as a literal
        lines.append(f"{cname} = np.array({array_literal(data)}, dtype=np.{data.dtype.name}).reshape({data.shape!r})")
    lines.append("")
    for s, name in hosts.items():
        lines.append(host_function(s, name) + "\n")
    lines.append(f"def {fn.name}({', '.join(fn.params)}):")
    lines.extend(body or ["    pass"])
    lines.append(f"    return {ret}")
    return "\n".join(lines) + "\n"
