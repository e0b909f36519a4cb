"""Print a loop-IR function as a CUDA module: a host function plus `@cuda.jit` kernels.

The sibling of `pyprinter` (mode 'CUDA'): the same loop IR, after the same loop
passes, spelled for numba-cuda. The host function has the CPU function's name and
parameters and is the CPU printer's output with these differences:

- arrays live on the device (`cu.empty` for an Alloc, device-array views for a Let
  of a Load with slices); shapes and scalar arithmetic on them stay host Python;
  a scalar computed from device data is a *device scalar* (a 1-element device
  array, written once) until the host needs its value (`cu.item`);
- each top-level loop nest is a kernel (`kernel_for`): a parallel nest maps its
  outer parallel loops (up to 3) to the grid; a reduction into an accumulator is a
  one-block tree reduction in shared memory; a nest accumulating into buffer
  elements runs a thread per element (`owner_form`); anything else one thread;
- a serial loop (a scan) whose body holds only kernel statements is one
  persistent kernel of one block, the time loop inside it, its parallel nests
  block-strided over the threads with `cuda.syncthreads()` between them; else a
  host loop launching a kernel per nest per step;
- a Check at the host level stays host Python; one inside a kernel writes the
  error record (`cu.ErrorRecord`: the first failed check's number and numbers)
  and the host raises the same error with the same message after the kernel;
- Host statements (random draws, prints) run on the host: their device
  arguments are copied out, their samples copied in;
- library calls are device-array operations or small kernels of
  `loopc.runtime.cuda`; a call this printer cannot express raises
  UnsupportedError when the function is compiled, naming the op (`CUDA_CALLS`).

Multi-block persistent kernels (a cooperative grid sync) need a GPU to test and
are not built: a scan's kernel runs in one block.
"""
from dataclasses import replace

import numpy as np

from ..errors import UnsupportedError
from ..loops.ir import (Alloc, Assign, Break, Call, Cast, Check, Const, Host, If, Let, Load, Loop, Namer, Op, ShapeOf,
                        Slice, Store, Var, names_read, substitute, walk, walk_statements)
from . import pyprinter
from .pyprinter import array_literal, literal, np_dtype

HEADER = """\
import math
import numpy as np
from numba import cuda
from loopc.runtime import draw_random, copy_rng, print_value
from loopc.runtime import cuda as cu
"""

# The scalar table inside kernels: the CPU table with NumPy's functions replaced by
# `math`'s and by the device functions of loopc.runtime.cuda (IEEE results where
# Python's math raises). The `vm_*` vector-math kernels of the CPU backend are the
# plain functions on the GPU (a thread computes one element).
SCALAR = dict(pyprinter.SCALAR)
SCALAR.update({
    "maximum": "cu.maximum({0}, {1})", "minimum": "cu.minimum({0}, {1})", "arctan2": "math.atan2({0}, {1})",
    "sgn": "cu.sign({0})", "sqrt": "cu.sqrt({0})", 
    "pow": "cu.power({0}, {1})",
    "exp": "cu.exp({0})", "exp2": "cu.power(2.0, {0})", "expm1": "cu.expm1({0})", "log": "cu.log({0})",
    "log2": "cu.log2({0})", "log10": "cu.log10({0})", "log1p": "cu.log1p({0})",
    "sin": "cu.sin({0})", "cos": "cu.cos({0})", "tan": "cu.tan({0})", "arcsin": "cu.arcsin({0})",
    "arccos": "cu.arccos({0})", "arctan": "math.atan({0})", "sinh": "cu.sinh({0})", "cosh": "cu.cosh({0})",
    "tanh": "math.tanh({0})", "arcsinh": "math.asinh({0})", "arccosh": "cu.arccosh({0})",
    "arctanh": "cu.arctanh({0})",
    "sigmoid": "cu.sigmoid({0})", "softplus": "cu.softplus({0})",
    "xlogx": "cu.xlogx({0})", "xlogy0": "cu.xlogy0({0}, {1})",
    "floor": "cu.floor({0})", "ceil": "cu.ceil({0})", "trunc": "cu.trunc({0})", "round": "cu.rint({0})",
    "isnan": "cu.isnan({0})", "isinf": "cu.isinf({0})",
    "vm_tanh": "math.tanh({0})", "vm_exp": "cu.exp({0})", "vm_log": "cu.log({0})", "vm_log1p": "cu.log1p({0})",
    "vm_expm1": "cu.expm1({0})", "vm_sigmoid": "cu.sigmoid({0})", "vm_softplus": "cu.softplus({0})",
})

# Scalars on the host: the CPU table, with the vector-math kernels as NumPy's functions.
HOST_SCALAR = dict(pyprinter.SCALAR)
HOST_SCALAR.update({f"vm_{name}": pyprinter.SCALAR[name]
                    for name in ("tanh", "exp", "log", "log1p", "expm1", "sigmoid", "softplus")})

# Library calls on the host, by what they give: device arrays (spelled as calls of
# loopc.runtime.cuda), or host values (shapes and tuples, spelled as on the CPU).
DEVICE_CALLS = {
    "dot": lambda a, p: f"cu.dot({a[0]}, {a[1]})",
    "dot_into": lambda a, p: f"cu.dot_into({a[0]}, {a[1]}, {a[2]})",
    "astype": lambda a, p: f"cu.astype({a[0]}, {np_dtype(p[0])})",
    "asarray": lambda a, p: a[0],
    "copy": lambda a, p: f"cu.copy({a[0]})",
    "contiguous": lambda a, p: f"cu.contiguous({a[0]})",
    "reshape": lambda a, p: f"cu.reshape({', '.join(a)})",
    "first": lambda a, p: f"cu.first({a[0]})",
    "transpose": lambda a, p: f"cu.transpose({a[0]}, {tuple(p[0])!r})",
    "expand_dims": lambda a, p: f"cu.expand_dims({a[0]}, {p[0]})",
    "concatenate": lambda a, p: f"cu.concatenate({pyprinter._items(a)}, {p[0]})",
    "full": lambda a, p: f"cu.full({a[0]}, {a[1]}, {np_dtype(p[0])})",
    "zeros": lambda a, p: f"cu.zeros({a[0]}, {np_dtype(p[0])})",
    "empty": lambda a, p: f"cu.empty({pyprinter._shape(a)}, {np_dtype(p[0])})",
    "arange": lambda a, p: f"cu.arange({a[0]}, {a[1]}, {a[2]}, {np_dtype(p[0])})",
    "eye": lambda a, p: f"cu.eye({a[0]}, {a[1]}, {a[2]}, {np_dtype(p[0])})",
    "take": lambda a, p: f"cu.take({a[0]}, {a[1]})",
}
METADATA_CALLS = ("size", "shape", "row_shape")
HOST_CALLS = {name: pyprinter.CALLS[name] for name in ("size", "shape", "row_shape", "tuple", "array")}
# What CUDA mode can compile; any other call raises UnsupportedError naming it.
CUDA_CALLS = sorted(DEVICE_CALLS) + sorted(HOST_CALLS) + ["draw_random", "copy_rng", "print_value"]

# The accumulators a reduction kernel recognizes: fn -> identity by dtype kind.
COMBINES = {"add": 0, "mul": 1, "maximum": "min", "minimum": "max", "and": True, "or": False,
            "land": True, "lor": False}
COMPARISONS = ("eq", "neq", "lt", "le", "gt", "ge", "and", "or", "land", "lor", "not", "isnan", "isinf", "xor")


def print_cuda_function(fn):
    """The module source computing `fn` on the device (see the module docstring)."""
    try:
        printer = CudaPrinter(fn)
        printer.run()  # a first pass finds which names are device scalars anywhere
        printer = CudaPrinter(fn, printer.kind)
        return printer.run()
    except _NotKernel as exc:
        raise UnsupportedError("mode 'CUDA' cannot compile %s: %s", fn.name, exc) from None


class CudaPrinter:
    def __init__(self, fn, kinds=None):
        self.fn = fn
        self.namer = Namer.of(fn)
        self.namer.used |= {fn.name, "math", "np", "cuda", "cu", "CHECKS", "draw_random", "copy_rng", "print_value"}
        self.kernels = []  # module-level kernel sources
        self.checks = []  # (error, message, layout) of each check inside a kernel
        self.final_kinds = kinds or {}
        self.kind = {}  # name -> 'dev' (device array), 'cell' (device scalar), 'host'
        self.ndim = {name: len(shape) for name, shape in fn.shapes}
        self.dtypes = dict(fn.dtypes)
        self.uses_errors = False
        for p in fn.params:
            self.kind[p] = "dev" if self.ndim.get(p, 0) > 0 else "host"
        for name, data in fn.constants:
            self.kind[name] = "dev"
            self.ndim[name] = data.ndim
            self.dtypes[name] = data.dtype.name
        self._reads = _read_counts(fn)

    # -- module ----------------------------------------------------------------------
    def run(self):
        body = self.block(self.fn.body, 1)
        results = [self.hexpr(r, raw=True) for r in self.fn.returns]
        ret = "(" + ", ".join(results) + ("," if len(results) == 1 else "") + ")"
        lines = [HEADER]
        for cname, data in self.fn.constants:
            lines.append(f"{cname} = cu.to_device(np.array({array_literal(data)}, "
                         f"dtype=np.{data.dtype.name}).reshape({data.shape!r}))")
        if self.checks:  # the messages of the checks inside kernels (`check`)
            lines.append(f"CHECKS = {self.checks!r}\n")
        lines.extend(self.kernels)
        lines.append(f"def {self.fn.name}({', '.join(self.fn.params)}):")
        if self.uses_errors:
            lines.append("    _err = cu.ErrorRecord()")
        lines.extend(body)
        lines.append(f"    return {ret}")
        return "\n".join(lines) + "\n"

    def set_kind(self, name, kind):
        if self.kind.get(name) == "cell" and kind == "host":
            return
        self.kind[name] = kind

    def final(self, name):
        return self.final_kinds.get(name, self.kind.get(name))

    # -- host statements -----------------------------------------------------------------
    def block(self, stmts, depth):
        lines = []
        for s in stmts:
            lines.extend(self.statement(s, depth))
        return lines or ["    " * depth + "pass"]

    def statement(self, s, depth):
        pad = "    " * depth
        if isinstance(s, Let):
            return self.let(s, pad)
        if isinstance(s, Alloc):
            return self.alloc(s, pad)
        if isinstance(s, Store):
            if any(isinstance(i, Slice) for i in s.index) and not self.reads_device(s.value):
                view = f"{s.buf}[{', '.join(self.hindex(i) for i in s.index)}]"
                return [f"{pad}cu.fill({view}, {self.hexpr(s.value)})"]
            if is_region_store(s, self):
                return self.block(slice_loops(s, self), depth)
            return self.launch(self.single_thread([s]), [s], pad)
        if isinstance(s, Loop):
            return self.loop(s, pad, depth)
        if isinstance(s, Check):
            args = "".join(", " + self.hexpr(a) for a in s.args)
            return [f"{pad}if {self.hexpr(s.bad)}:", f"{pad}    raise cu.{s.error}({s.message!r}{args})"]
        if isinstance(s, If):
            lines = [f"{pad}if {self.hexpr(s.cond)}:"] + self.block(s.body, depth + 1)
            if s.orelse:
                lines += [f"{pad}else:"] + self.block(s.orelse, depth + 1)
            return lines
        if isinstance(s, Break):
            return [f"{pad}break"]
        if isinstance(s, Assign):
            return self.assign(s, pad)
        if isinstance(s, Host):
            return self.host(s, pad)
        raise TypeError(f"not a loop-IR statement: {s!r}")

    def let(self, s, pad):
        name, value = s.name, s.value
        if isinstance(value, Call) and value.fn in HOST_CALLS:
            self.set_kind(name, "host")
            return [f"{pad}{name} = {self.hexpr(value)}"]
        if isinstance(value, Call) and value.fn == "asarray" and self.ndim.get(name, 0) > 0 and \
                self.array_valued(value.args[0]):
            return self.elementwise_let(name, value.args[0], pad)
        if isinstance(value, Call):
            self.set_kind(name, "cell" if self.ndim.get(name) == 0 else "dev")
            if value.fn == "asarray" and self.kind.get(name) == "dev":
                self.ndim.setdefault(name, 0)
            return [f"{pad}{name} = {self.hcall(value)}"]
        if isinstance(value, Load) and self.is_view(value):
            self.set_kind(name, "dev")
            self.ndim[name] = self.view_ndim(value)
            self.dtypes.setdefault(name, self.dtypes.get(value.buf, "float64"))
            return [f"{pad}{name} = {value.buf}[{', '.join(self.hindex(i) for i in value.index)}]"]
        if isinstance(value, Cast) and isinstance(value.value, Var) and self.kind.get(value.value.name) == "cell" \
                and self.dtypes.get(value.value.name) == value.dtype:
            value = value.value  # a device scalar of that dtype already
        if isinstance(value, Var) and self.kind.get(value.name) in ("dev", "cell"):
            self.set_kind(name, self.kind[value.name])
            self.dtypes.setdefault(name, self.dtypes.get(value.name, "float64"))
            self.ndim[name] = self.ndim.get(value.name, 0)
            return [f"{pad}{name} = {value.name}"]
        dtype = self.scalar_dtype(value)
        self.dtypes.setdefault(name, dtype)
        if not self.reads_device(value):
            text = self.hexpr(value)
            self.set_kind(name, "host")
            if self.final(name) == "cell":
                self.kind[name] = "cell"
                return [f"{pad}{name} = cu.cell({text}, {np_dtype(dtype)})"]
            return [f"{pad}{name} = {text}"]
        # a scalar of device data: a one-thread kernel writes a new device scalar
        stmts = [Let(name, value)]
        return self.launch(self.single_thread(stmts, outputs=[name]), stmts, pad)

    def array_valued(self, e):
        return any(isinstance(n, Var) and self.ndim.get(n.name, 0) > 0 for n in walk(e))

    def elementwise_let(self, name, e, pad):
        """`name = asarray(e)` of an array expression (NumPy's whole-array arithmetic): a
        new buffer, stored element by element (the calls inside it first, on the host)."""
        lines = []

        def hoist(x):
            if isinstance(x, Call):
                tmp = self.namer.fresh(f"{name}_{x.fn}")
                lines.extend(self.let(Let(tmp, x), pad))
                return Var(tmp)
            if isinstance(x, Op):
                return Op(x.fn, tuple(hoist(a) for a in x.args))
            if isinstance(x, Cast):
                return Cast(hoist(x.value), x.dtype)
            return x
        e = hoist(e)
        shape = dict(self.fn.shapes).get(name)
        depth = len(pad) // 4
        lines += self.statement(Alloc(name, self.dtypes.get(name, "float64"), tuple(shape)), depth)
        return lines + self.statement(Store(name, (), e), depth)

    def alloc(self, s, pad):
        self.set_kind(s.name, "dev")
        self.ndim[s.name] = len(s.shape)
        self.dtypes[s.name] = s.dtype
        shape = "(" + "".join(self.hexpr(d) + ", " for d in s.shape) + ")"
        line = f"{pad}{s.name} = cu.empty({shape}, {np_dtype(s.dtype)})"
        if s.fill is None:
            return [line]
        if self.reads_device(s.fill) and not (isinstance(s.fill, Var) and self.kind.get(s.fill.name) == "cell"):
            return [line] + self.statement(Store(s.name, (Slice(),) * len(s.shape), s.fill), len(pad) // 4)
        fill = s.fill.name if isinstance(s.fill, Var) and self.kind.get(s.fill.name) == "cell" else self.hexpr(s.fill)
        return [line, f"{pad}cu.fill({s.name}, {fill})"]

    def assign(self, s, pad):
        lines, values = [], []
        for name, value in zip(s.names, s.values):
            if isinstance(value, Var) and self.kind.get(value.name) in ("dev", "cell"):
                values.append(value.name)
                kind = self.kind[value.name]
            elif not self.reads_device(value):
                text = self.hexpr(value)
                kind = "cell" if self.final(name) == "cell" else "host"
                values.append(f"cu.cell({text}, {np_dtype(self.scalar_dtype(value))})" if kind == "cell" else text)
            else:
                tmp = self.namer.fresh(f"{name}_new")
                lines.extend(self.let(Let(tmp, value), pad))
                values.append(tmp)
                kind = "cell"
            self.kind[name] = kind
            self.dtypes.setdefault(name, self.scalar_dtype(value))
        return lines + [f"{pad}{', '.join(s.names)} = {', '.join(values)}"]

    def host(self, s, pad):
        """A host call: device arrays among its arguments copied out, array samples copied in."""
        args = []
        for a in s.call.args:
            args.append(self.hexpr(a, to_host=True))
        call = pyprinter.CALLS[s.call.fn](args, s.call.params)
        targets = [n for n, _ in s.targets]
        lines = [f"{pad}{', '.join(targets) + ' = ' if targets else ''}{call}"]
        for name, ntype in s.targets:
            if "[" in ntype:
                self.set_kind(name, "dev")
                self.ndim[name] = ntype.count(":")
                lines.append(f"{pad}{name} = cu.to_device({name})")
            elif ntype != "intp":
                self.set_kind(name, "host")
                if self.final(name) == "cell":
                    self.kind[name] = "cell"
                    lines.append(f"{pad}{name} = cu.cell({name}, {np_dtype(self.dtypes.get(name, 'float64'))})")
            else:
                self.set_kind(name, "host")
        return lines

    def loop(self, s, pad, depth):
        if s.kind != "serial" and not self.kernelable(s.body):
            s = replace(s, kind="serial")  # a library call per iteration: a host loop
        if s.kind == "serial":
            if self.kernelable(s.body):
                kernel = self.persistent(s)
                if kernel is not None:
                    return self.launch(kernel, [s], pad)
            lines = [f"{pad}for {s.var} in range({self.hbounds(s)}):"]
            self.set_kind(s.var, "host")
            return lines + self.block(s.body, depth + 1)
        if s.kind == "reduction":
            found = self.reduction(s, pad)
            if found is not None:
                return found
        owned = owner_form(s)
        if owned is not None:
            grid_loops, inner = owned
            return self.launch(self.grid_kernel(grid_loops, inner, s), [s], pad)
        return self.launch(self.single_thread([s]), [s], pad)

    def hbounds(self, s):
        if s.start == Const(0, "int64"):
            return self.hexpr(s.extent)
        return f"{self.hexpr(s.start)}, {self.hexpr(s.extent)}"

    # -- host expressions ----------------------------------------------------------------
    def hexpr(self, e, raw=False, to_host=False):
        """`e` as host Python: device scalars as their value (`cu.item`), or as they are
        with `raw` (a function's results); device arrays copied out with `to_host`."""
        if isinstance(e, Var):
            kind = self.kind.get(e.name)
            if kind == "cell" and not raw:
                return f"cu.item({e.name})"
            if kind == "dev" and to_host:
                return f"cu.to_host({e.name})"
            return e.name
        if isinstance(e, Const):
            return repr(e.value) if e.dtype in ("str", "object") else literal(e.value, e.dtype)
        if isinstance(e, Load):
            if raw and self.is_view(e):
                return f"{e.buf}[{', '.join(self.hindex(i) for i in e.index)}]"
            index = e.index if e.index or self.kind.get(e.buf) != "dev" else (Const(0, "int64"),)
            return f"{e.buf}[{', '.join(self.hindex(i) for i in index)}]"
        if isinstance(e, Op):
            return HOST_SCALAR[e.fn].format(*(self.hexpr(a) for a in e.args))
        if isinstance(e, Cast):
            return f"{np_dtype(e.dtype)}({self.hexpr(e.value)})"
        if isinstance(e, ShapeOf):
            return f"{e.buf}.shape[{e.axis}]"
        if isinstance(e, Call):
            if e.fn in HOST_CALLS:
                return HOST_CALLS[e.fn]([self.hexpr(a, to_host=to_host) for a in e.args], e.params)
            if e.fn in pyprinter.CALLS and to_host:
                return pyprinter.CALLS[e.fn]([self.hexpr(a, to_host=True) for a in e.args], e.params)
            return self.hcall(e)
        raise TypeError(f"not a loop-IR expression: {e!r}")

    def hindex(self, i):
        return pyprinter.index_item(i, self.hexpr)

    def hcall(self, e):
        if e.fn not in DEVICE_CALLS:
            raise UnsupportedError("mode 'CUDA' cannot compile the op %r: the CUDA backend has no kernel for it "
                                   "(its library calls are %s); use mode 'NUMBA' or 'PY'",
                                   e.fn, ", ".join(CUDA_CALLS))
        args = []
        for a in e.args:
            if isinstance(a, Var) and self.kind.get(a.name) in ("dev", "cell"):
                args.append(a.name)
            elif isinstance(a, Load) and self.is_view(a):
                args.append(self.hexpr(a, raw=True))
            else:
                args.append(self.hexpr(a))
        return DEVICE_CALLS[e.fn](args, e.params)

    def reads_device(self, e):
        """Whether `e` reads data on the device (shapes and sizes are on the host)."""
        if isinstance(e, Var):
            return self.kind.get(e.name) in ("dev", "cell")
        if isinstance(e, Load):
            return self.kind.get(e.buf) in ("dev", "cell") or any(self.reads_device(i) for i in e.index)
        if isinstance(e, Call) and e.fn in METADATA_CALLS:
            return False
        if isinstance(e, Call) and e.fn not in HOST_CALLS:
            return True
        if isinstance(e, ShapeOf):
            return False
        if isinstance(e, Slice):
            return any(self.reads_device(q) for q in (e.lo, e.hi, e.step) if q is not None)
        return any(self.reads_device(a) for a in getattr(e, "args", ()) or ()) or \
            (isinstance(e, Cast) and self.reads_device(e.value))

    def is_view(self, load):
        if self.kind.get(load.buf) != "dev":
            return False
        return any(isinstance(i, Slice) for i in load.index) or len(load.index) < self.ndim.get(load.buf, 0)

    def view_ndim(self, load):
        ints = sum(not isinstance(i, Slice) for i in load.index)
        return self.ndim.get(load.buf, len(load.index)) - ints

    def scalar_dtype(self, e):
        """The dtype of scalar expression `e` (NumPy's promotion, roughly)."""
        if isinstance(e, (Const, Cast)):
            return "int64" if e.dtype in ("str", "object") else e.dtype
        if isinstance(e, ShapeOf):
            return "int64"
        if isinstance(e, Var):
            return self.dtypes.get(e.name, "int64")
        if isinstance(e, Load):
            return self.dtypes.get(e.buf, "float64")
        if isinstance(e, Op):
            if e.fn in COMPARISONS and e.fn not in ("and", "or", "xor"):
                return "bool"
            kinds = [self.scalar_dtype(a) for a in (e.args[1:] if e.fn == "switch" else e.args)]
            result = np.result_type(*kinds).name
            if e.fn in ("true_div", "exp", "log", "tanh", "sqrt", "sigmoid") and result[0] in "iub":
                return "float64"
            return result
        return "float64"

    # -- kernels -------------------------------------------------------------------------
    def kernelable(self, stmts):
        for s in stmts:
            if isinstance(s, (Alloc, Host)):
                return False
            for n in walk(s):
                if isinstance(n, Call) and not (n.fn == "tuple" and isinstance(s, Check)):
                    return False
            if isinstance(s, Let) and isinstance(s.value, Load) and not self.is_kernel_load(s.value):
                return False
            if isinstance(s, Loop) and not self.kernelable(s.body):
                return False
            if isinstance(s, If) and not (self.kernelable(s.body) and self.kernelable(s.orelse)):
                return False
        return True

    def is_kernel_load(self, load):
        return all(not isinstance(i, Slice) or (i.step is None) for i in load.index)

    def kernel_params(self, stmts, outputs=()):
        """The names the kernel of `stmts` reads from outside it, in order of first use."""
        defined, params = set(), []

        def visit(block):
            for s in block:
                if isinstance(s, Loop):
                    for n in names_read(s.extent) | names_read(s.start):
                        note(n)
                    defined.add(s.var)
                    visit(s.body)
                    continue
                if isinstance(s, If):
                    for n in sorted(names_read(s.cond)):
                        note(n)
                    visit(s.body)
                    visit(s.orelse)
                    continue
                for n in _ordered_reads(s):
                    note(n)
                if isinstance(s, Store):
                    note(s.buf)
                if isinstance(s, Let):
                    defined.add(s.name)
                if isinstance(s, Assign):
                    defined.update(s.names)

        def note(n):
            if n not in defined and n not in params:
                params.append(n)
        visit(stmts)
        return params

    def escaping(self, stmts):
        """The scalars `stmts` bind that are read after them (outside them)."""
        inside = _read_counts_of(stmts)
        bound = []
        for s in walk_statements(stmts):
            names = [s.name] if isinstance(s, Let) else list(s.names) if isinstance(s, Assign) else []
            for n in names:
                if n not in bound and self._reads.get(n, 0) > inside.get(n, 0):
                    bound.append(n)
        return bound

    def launch(self, kernel, stmts, pad):
        """The lines launching `kernel` (name, params, launch config, checks)."""
        name, params, config, outs, checks = kernel
        lines = []
        args = []
        for p in params:
            if self.kind.get(p) == "host" and self.ndim.get(p, 0) > 0 and p not in self.fn.params:
                args.append(f"cu.to_device({p})")
            else:
                args.append(p)
        for var, cell in outs:
            lines.append(f"{pad}{cell} = cu.empty(1, {np_dtype(self.dtypes.get(var, 'int64'))})")
            args.append(cell)
        if checks:
            self.uses_errors = True
            args += ["_err.flag", "_err.args"]
        launch = f"{name}_launch[{config}]" if "cu.grid(" in config else f"{name}_launch"
        lines.append(f"{pad}{launch}({', '.join(args)})")
        if checks:
            lines.append(f"{pad}_err.raise_first(CHECKS)")
        for var, cell in outs:
            self.set_kind(var, "cell")
            lines.append(f"{pad}{var} = {cell}")
        return lines

    def _prologue(self, params):
        """Kernel parameter names (device scalars arrive as `_d_name`) and the lines that
        read device scalars into locals."""
        names, lines = [], []
        for p in params:
            if self.kind.get(p) == "cell":
                names.append(f"_d_{p}")
                lines.append(f"    {p} = _d_{p}[0]")
            else:
                names.append(p)
        return names, lines

    def _kernel(self, hint, stmts, make_body, config, outputs=None):
        """Register a kernel: `make_body(emitter)` gives its body lines (after the prologue);
        `outputs` the escaping scalars, written by the first thread at the end."""
        outputs = self.escaping(stmts) if outputs is None else outputs
        params = self.kernel_params(stmts)
        # an escaping name bound before the kernel starts from its value there
        params += [v for v in outputs if v in self.kind and v not in params]
        kname = self.namer.fresh(hint)
        emitter = KernelEmitter(self)
        body = make_body(emitter)
        names, prologue = self._prologue(params)
        outs = [(v, self.namer.fresh(f"{v}_out")) for v in outputs]
        for v in outputs:
            self.dtypes.setdefault(v, emitter.dtype_of(v))
        sig = names + [c for _, c in outs] + (["_ef", "_ea"] if emitter.checks else [])
        lines = ["@cuda.jit", f"def {kname}({', '.join(sig)}):"] + prologue + emitter.shared
        if emitter.checks and emitter.persistent:
            lines.append("    _failed = 0")
        lines += body
        if outs and emitter.first_thread == "True":
            lines += [f"    {c}[0] = {v}" for v, c in outs]
        elif outs:
            lines.append("    if " + emitter.first_thread + ":")
            lines += [f"        {c}[0] = {v}" for v, c in outs]
        if "cu.grid(" not in config:  # a launch configuration bound once, when the module loads
            lines.append(f"{kname}_launch = {kname}[{config}]")
        else:  # bound once per grid
            lines.append(f"{kname}_launch = cu.Launcher({kname})")
        self.kernels.append("\n".join(lines) + "\n")
        return kname, params, config, outs, emitter.checks

    def single_thread(self, stmts, outputs=None):
        """One thread runs `stmts` (correct for anything a kernel can hold, not fast)."""
        def body(em):
            em.first_thread = "True"
            return ["    # one thread: no parallel form of this nest is recognized (correct, slow)"] + \
                em.block(stmts, 1)
        return self._kernel("k_serial", stmts, body, "1, 1", outputs)

    def grid_kernel(self, grid_loops, inner, s):
        """A kernel over the grid of `grid_loops` (outermost first); `inner` runs per thread."""
        k = len(grid_loops)
        coords = ", ".join(f"_g{j}" for j in reversed(range(k)))

        def body(em):
            lines = [f"    {coords} = cuda.grid({k})"]
            guards = []
            for j, lp in enumerate(grid_loops):
                start = em.expr(lp.start)
                lines.append(f"    {lp.var} = _g{j}" + ("" if start == "0" else f" + {start}"))
                guards.append(f"{lp.var} < {em.expr(lp.extent)}")
            lines.append(f"    if {' and '.join(guards)}:")
            em.first_thread = " and ".join(f"_g{j} == 0" for j in range(k))
            return lines + em.block(inner, 2)
        extents = ", ".join(self.hcount(lp) for lp in reversed(grid_loops))
        return self._kernel("k_grid", [s], body, f"cu.grid({extents})", outputs=[])

    def hcount(self, lp):
        if lp.start == Const(0, "int64"):
            return self.hexpr(lp.extent)
        return f"{self.hexpr(lp.extent)} - {self.hexpr(lp.start)}"

    def reduction(self, s, pad):
        """A one-block tree reduction of a nest `acc = op(acc, x)`, or None."""
        found = reduction_form(s)
        if found is None:
            return None
        loops, lets, acc, combine, x = found
        dtype = self.dtypes.get(acc) or self.scalar_dtype(Var(acc))
        if combine in ("and", "or", "land", "lor") and dtype != "bool":
            return None
        if any(names_read(lp.extent) & {q.var for q in loops} for lp in loops):
            return None
        stmts = [s]

        def body(em):
            em.first_thread = "cuda.threadIdx.x == 0"
            return em.block_reduce(loops, lets, acc, combine, x, dtype, depth=1, persistent=False)
        kernel = self._kernel("k_reduce", stmts, body, "1, cu.BLOCK", outputs=[acc])
        return self.launch(kernel, stmts, pad)

    def persistent(self, s):
        """The whole serial loop `s` as one kernel of one block, or None."""
        def body(em):
            em.persistent = True
            em.first_thread = "cuda.threadIdx.x == 0"
            lines = ["    _tid = cuda.threadIdx.x"]
            return lines + em.uniform([s], 1, top=True)
        try:
            return self._kernel("k_scan", [s], body, "1, cu.BLOCK")
        except _NotKernel:
            return None


class _NotKernel(Exception):
    """A serial loop's body has a nest that a block cannot run (it then runs on the host)."""


class KernelEmitter:
    """Prints statements inside one kernel."""

    def __init__(self, printer):
        self.p = printer
        self.checks = []
        self.persistent = False
        self.first_thread = "True"
        self.local_dtypes = {}
        self.shared = []  # shared-memory declarations, printed at the kernel's top

    def dtype_of(self, name):
        return self.local_dtypes.get(name) or self.p.dtypes.get(name) or "int64"

    # expressions
    def expr(self, e):
        if isinstance(e, Var):
            return e.name
        if isinstance(e, Const):
            return repr(e.value) if e.dtype in ("str", "object") else literal(e.value, e.dtype)
        if isinstance(e, Load):
            index = e.index or (Const(0, "int64"),)  # a 0-d buffer is a 1-element array
            return f"{e.buf}[{', '.join(self.index_item(i) for i in index)}]"
        if isinstance(e, Op):
            return SCALAR[e.fn].format(*(self.expr(a) for a in e.args))
        if isinstance(e, Cast):
            return f"{np_dtype(e.dtype)}({self.expr(e.value)})"
        if isinstance(e, ShapeOf):
            return f"{e.buf}.shape[{e.axis}]"
        raise _NotKernel(f"{e!r} in a kernel")

    def index_item(self, i):
        return pyprinter.index_item(i, self.expr)

    # statements, every thread for itself
    def block(self, stmts, depth):
        lines = []
        for k, s in enumerate(stmts):
            if isinstance(s, Check):
                lines += self.check(s, depth)
                rest = self.block(stmts[k + 1:], depth + 1)
                if stmts[k + 1:]:
                    lines += ["    " * depth + "else:"] + rest
                return lines
            lines += self.statement(s, depth)
        return lines or ["    " * depth + "pass"]

    def statement(self, s, depth):
        pad = "    " * depth
        if isinstance(s, Let):
            self.local_dtypes.setdefault(s.name, self.p.scalar_dtype(s.value))
            if isinstance(s.value, Load) and s.value.buf in self.p.ndim:
                ints = sum(not isinstance(i, Slice) for i in s.value.index)
                if ints < self.p.ndim[s.value.buf]:
                    self.p.ndim[s.name] = self.p.ndim[s.value.buf] - ints
                    self.p.dtypes.setdefault(s.name, self.p.dtypes.get(s.value.buf, "float64"))
            return [f"{pad}{s.name} = {self.expr(s.value)}"]
        if isinstance(s, Store):
            if is_region_store(s, self.p):
                return self.block(slice_loops(s, self.p), depth)
            index = s.index or (Const(0, "int64"),)
            return [f"{pad}{s.buf}[{', '.join(self.index_item(i) for i in index)}] = {self.expr(s.value)}"]
        if isinstance(s, Loop):
            bounds = self.expr(s.extent) if s.start == Const(0, "int64") else \
                f"{self.expr(s.start)}, {self.expr(s.extent)}"
            return [f"{pad}for {s.var} in range({bounds}):"] + self.block(s.body, depth + 1)
        if isinstance(s, If):
            lines = [f"{pad}if {self.expr(s.cond)}:"] + self.block(s.body, depth + 1)
            if s.orelse:
                lines += [f"{pad}else:"] + self.block(s.orelse, depth + 1)
            return lines
        if isinstance(s, Break):
            return [f"{pad}break"]
        if isinstance(s, Assign):
            return [f"{pad}{', '.join(s.names)} = {', '.join(self.expr(v) for v in s.values)}"]
        raise _NotKernel(f"{type(s).__name__} in a kernel")

    def check(self, s, depth):
        """A failed check claims the error record (first wins) and writes its numbers."""
        pad = "    " * depth
        which = len(self.p.checks) + 1
        layout, writes, slot = [], [], 0
        for a in s.args:
            if isinstance(a, Const) and a.dtype in ("str", "object"):
                layout.append(("const", a.value))
                continue
            items = a.args if isinstance(a, Call) and a.fn == "tuple" else None
            if isinstance(a, Call) and items is None:
                raise _NotKernel("a call in a check's arguments")
            parts = items if items is not None else (a,)
            slots = list(range(slot, slot + len(parts)))
            for k, part in zip(slots, parts):
                writes.append(f"{pad}        _ea[{k}] = {self.expr(part)}")
            slot += len(parts)
            kind = "float" if self.p.scalar_dtype(a if items is None else Const(0, "int64"))[0] in "fc" else "int"
            layout.append(("tuple", slots) if items is not None else (kind, slots[0]))
        if slot > 8:
            raise _NotKernel("a check with too many numbers")
        self.p.checks.append((s.error, s.message, layout))
        self.checks.append(which)
        lines = [f"{pad}if {self.expr(s.bad)}:", f"{pad}    if cu.claim(_ef, {which}):"] + writes
        if not writes:
            lines.append(f"{pad}        pass")
        if self.persistent:
            lines.append(f"{pad}    _failed = 1")
        return lines

    # statements, the block together (persistent kernels)
    def uniform(self, stmts, depth, top=False):
        """`stmts` run by every thread of the block alike; parallel nests block-strided."""
        pad = "    " * depth
        lines = []
        for k, s in enumerate(stmts):
            if isinstance(s, Loop) and s.kind == "serial":
                lines += [f"{pad}for {s.var} in range({self.bounds(s)}):"]
                body = self.uniform(s.body, depth + 1)
                if top and self.checks:
                    body += [f"{pad}    if cuda.syncthreads_or(_failed):", f"{pad}        break"]
                lines += body
            elif isinstance(s, Loop):
                lines += self.distributed(s, depth)
            elif isinstance(s, If):
                lines += [f"{pad}if {self.expr(s.cond)}:"] + self.uniform(s.body, depth + 1)
                if s.orelse:
                    lines += [f"{pad}else:"] + self.uniform(s.orelse, depth + 1)
            elif isinstance(s, Store) and is_region_store(s, self.p):
                *views, nest = slice_loops(s, self.p)
                lines += self.block(views, depth) if views else []
                lines += self.distributed(nest, depth)
            elif isinstance(s, Store):
                lines += [f"{pad}cuda.syncthreads()", f"{pad}if _tid == 0:"] + self.block([s], depth + 1) + \
                    [f"{pad}cuda.syncthreads()"]
            elif isinstance(s, Check):
                lines += self.check(s, depth)
                rest = stmts[k + 1:]
                if rest:
                    lines += [f"{pad}else:"] + self.uniform(rest, depth + 1)
                return lines
            else:
                lines += self.statement(s, depth)
        return _one_barrier(lines) or [f"{pad}pass"]

    def bounds(self, s):
        return self.expr(s.extent) if s.start == Const(0, "int64") else f"{self.expr(s.start)}, {self.expr(s.extent)}"

    def distributed(self, s, depth):
        """A nest inside a persistent kernel: a tree reduction, or the element loops
        strided over the block's threads; a barrier before and after."""
        pad = "    " * depth
        sync = f"{pad}cuda.syncthreads()"
        if s.kind == "reduction":
            found = reduction_form(s)
            if found is not None:
                loops, lets, acc, combine, x = found
                dtype = self.p.dtypes.get(acc) or self.local_dtypes.get(acc) or "float64"
                if combine not in ("and", "or", "land", "lor") or dtype == "bool":
                    return [sync] + self.block_reduce(loops, lets, acc, combine, x, dtype, depth, persistent=True)
        owned = owner_form(s, limit=None)
        if owned is None:
            raise _NotKernel("a nest a block cannot share out")
        grid_loops, inner = owned
        if any(names_read(lp.extent) & {q.var for q in grid_loops} for lp in grid_loops):
            raise _NotKernel("a nest whose extents depend on its own indices")
        if len(grid_loops) == 1:  # the loop itself, strided over the threads
            lp = grid_loops[0]
            start = "_tid" if lp.start == Const(0, "int64") else f"{self.expr(lp.start)} + _tid"
            head = f"{pad}for {lp.var} in range({start}, {self.expr(lp.extent)}, cu.BLOCK):"
            return [sync, head] + self.block(inner, depth + 1) + [sync]
        counts = [self.count(lp) for lp in grid_loops]
        flat = self.p.namer.fresh("_f")
        lines = [sync, f"{pad}for {flat} in range(_tid, {' * '.join(counts)}, cu.BLOCK):"]
        lines += self.unflatten(flat, grid_loops, counts, depth + 1)
        return lines + self.block(inner, depth + 1) + [sync]

    def unflatten(self, flat, loops, counts, depth):
        """The lines giving each of `loops`' variables from the flat index `flat`."""
        pad = "    " * depth
        lines = []
        for j, lp in enumerate(loops):
            stride = " * ".join(counts[j + 1:])
            start = self.expr(lp.start)
            offset = "" if start == "0" else f" + {start}"
            whole = f"({flat} // ({stride}))" if stride else flat
            inner = f" % {counts[j]}" if j else ""
            lines.append(f"{pad}{lp.var} = {whole}{inner}{offset}")
        return lines

    def count(self, lp):
        if lp.start == Const(0, "int64"):
            return f"({self.expr(lp.extent)})"
        return f"({self.expr(lp.extent)} - {self.expr(lp.start)})"

    def block_reduce(self, loops, lets, acc, combine, x, dtype, depth, persistent):
        """acc = op(acc, x) over the nest `loops`: per-thread partials over a strided range
        of the flattened nest, then a tree in shared memory; every thread gets the result
        (`persistent`) or the first one writes it."""
        pad = "    " * depth
        part = self.p.namer.fresh("_part")
        mine = self.p.namer.fresh("_mine")
        flat = self.p.namer.fresh("_f")
        counts = [self.count(lp) for lp in loops]
        ident = _identity(combine, dtype)
        self.shared.append(f"    {part} = cuda.shared.array(cu.BLOCK, {np_dtype(dtype)})")
        lines = [f"{pad}{mine} = {ident}",
                 f"{pad}for {flat} in range(cuda.threadIdx.x, {' * '.join(counts)}, cu.BLOCK):"]
        lines += self.unflatten(flat, loops, counts, depth + 1)
        for let in lets:
            lines += self.statement(let, depth + 1)
        step = self.expr(_combine_expr(combine, Var(mine), x))
        lines.append(f"{pad}    {mine} = {step}")
        tree = self.expr(_combine_expr(combine, Load(part, (Var("_t"),)), Load(part, (Op("add", (Var("_t"),
                                                                                       Var("_s"))),))))
        lines += [f"{pad}_t = cuda.threadIdx.x",
                  f"{pad}{part}[_t] = {mine}",
                  f"{pad}cuda.syncthreads()",
                  f"{pad}_s = cu.BLOCK // 2",
                  f"{pad}while _s > 0:",
                  f"{pad}    if _t < _s:",
                  f"{pad}        {part}[_t] = {tree}",
                  f"{pad}    cuda.syncthreads()",
                  f"{pad}    _s //= 2"]
        total = self.expr(_combine_expr(combine, Var(acc), Load(part, (Const(0, "int64"),))))
        lines.append(f"{pad}{acc} = {total}")
        if persistent:
            lines.append(f"{pad}cuda.syncthreads()  # every thread has read the total before the next write")
        return lines


# -- nest forms --------------------------------------------------------------------

def reduction_form(s):
    """(loops, lets, acc, combine, x) when `s` is a perfect nest of reduction loops whose
    innermost body is scalar Lets then `acc = combine(acc, x)` with x free of acc."""
    loops = [s]
    while len(loops[-1].body) == 1 and isinstance(loops[-1].body[0], Loop) and loops[-1].body[0].kind == "reduction":
        loops.append(loops[-1].body[0])
    body = loops[-1].body
    if not body or not all(isinstance(b, Let) for b in body) or any(lp.kind != "reduction" for lp in loops):
        return None
    *lets, last = body
    acc = last.name
    if any(b.name == acc or acc in names_read(b.value) for b in lets):
        return None
    found = _match_combine(last.value, acc)
    if found is None:
        return None
    combine, x = found
    return loops, lets, acc, combine, x


def _match_combine(e, acc):
    a = Var(acc)
    if isinstance(e, Op) and e.fn in COMBINES and len(e.args) == 2:
        if e.args[0] == a and acc not in names_read(e.args[1]):
            return e.fn, e.args[1]
        if e.args[1] == a and acc not in names_read(e.args[0]):
            return e.fn, e.args[0]
        return None
    if isinstance(e, Op) and e.fn == "switch" and len(e.args) == 3 and e.args[2] == a:
        x = e.args[1]
        for fn, cmp in (("maximum", "gt"), ("minimum", "lt")):
            nan_first = Op("or", (Op(cmp, (x, a)), Op("and", (Op("neq", (x, x)), Op("eq", (a, a))))))
            if e.args[0] == nan_first and acc not in names_read(x):
                return fn, x
    return None


def _combine_expr(combine, a, b):
    return Op(combine, (a, b))


def _identity(combine, dtype):
    ident = COMBINES[combine]
    if isinstance(ident, str):  # the max's identity is the dtype's least value, the min's its greatest
        if dtype.startswith("float"):
            return f"np.{dtype}({'-' if ident == 'min' else ''}np.inf)"
        if dtype == "bool":
            return repr(ident == "max")
        info = np.iinfo(dtype)
        return f"np.{dtype}({info.min if ident == 'min' else info.max})"
    return literal(ident, dtype)


def owner_form(s, limit=3):
    """(grid loops, per-thread body) when the nest `s` can run a thread per element: its
    outer parallel loops (up to `limit`) for a parallel nest; for a nest with reduction
    loops, the loops of the one index every Store writes (and every load of a stored buffer
    reads), the others kept in order inside the thread. None when no such form exists."""
    if s.kind == "parallel":
        loops = [s]
        while (limit is None or len(loops) < limit) and len(loops[-1].body) == 1 and \
                isinstance(loops[-1].body[0], Loop) and loops[-1].body[0].kind == "parallel":
            loops.append(loops[-1].body[0])
        return loops, list(loops[-1].body)
    flat = _perfect(s)
    if flat is None:
        return None
    loops, body = flat
    stores = [b for b in walk_statements(body) if isinstance(b, Store)]
    if not stores:
        return None
    index = stores[0].index
    vars_ = [i.name for i in index if isinstance(i, Var)]
    nest_vars = [lp.var for lp in loops]
    if len(vars_) != len(index) or len(set(vars_)) != len(vars_) or not set(vars_) <= set(nest_vars):
        return None
    written = {st.buf for st in stores}
    for b in walk_statements(body):
        if isinstance(b, Store) and b.index != index:
            return None
        for n in walk(b):
            if isinstance(n, Load) and n.buf in written and n.index != index:
                return None
        if isinstance(b, Break):
            return None
    grid_loops = [lp for lp in loops if lp.var in vars_]
    if limit is not None and len(grid_loops) > limit:
        return None
    if any(names_read(lp.extent) & set(nest_vars) for lp in loops):
        return None
    inner = list(body)
    for lp in reversed([lp for lp in loops if lp.var not in vars_]):
        inner = [replace(lp, body=tuple(inner))]
    return grid_loops, inner


def _perfect(s):
    """(loops, body) of nest `s` with scalar Lets between its loops sunk into the body
    (when nothing in the nest rebinds or stores what they read), else None. A guard
    around an inner loop (`if xk != 0: for j ...`, the vector-matrix product's skip of
    zeros) is sunk too: it reads only what is bound outside that loop."""
    loops, lets, guards, cur = [s], [], [], s
    while True:
        body = list(cur.body)
        last = body[-1] if body else None
        if isinstance(last, If) and not last.orelse and len(last.body) == 1 and isinstance(last.body[0], Loop) \
                and all(isinstance(b, Let) for b in body[:-1]):
            lets += body[:-1]
            guards.append(last.cond)
            cur = last.body[0]
            loops.append(cur)
            continue
        inner = [b for b in body if isinstance(b, Loop)]
        if len(inner) == 1 and body[-1] is inner[0] and all(isinstance(b, Let) for b in body[:-1]):
            lets += body[:-1]
            cur = inner[0]
            loops.append(cur)
            continue
        break
    body = list(cur.body)
    if any(isinstance(b, Loop) and b.kind == "serial" for b in walk_statements(body)):
        return None
    bound = {b.name for b in walk_statements(body) if isinstance(b, Let)}
    written = {b.buf for b in walk_statements(body) if isinstance(b, Store)}
    for e in [let.value for let in lets] + guards:
        if any(isinstance(n, Load) and n.buf in written for n in walk(e)):
            return None
    if any(let.name in bound for let in lets):
        return None
    for cond in guards:
        body = [If(cond, tuple(body))]
    return loops, lets + body


def slice_loops(s, printer):
    """A Store of a whole region (`buf[:, j] = v`, `buf[i] = row`: slices, or fewer items
    than axes) as loops over the region's axes, NumPy's broadcasting spelled out: each load
    of a region in the value takes the loop indices of its trailing axes (0 on an axis of
    length 1)."""
    views = []  # a region with bounds or steps is a view first (basic slicing in the kernel)

    def as_view(load):
        n = printer.ndim.get(load.buf, len(load.index))
        if all(not isinstance(q, Slice) or q == Slice() for q in load.index):
            return load
        name = printer.namer.fresh(f"{load.buf}_region")
        views.append(Let(name, load))
        ints = sum(not isinstance(q, Slice) for q in load.index)
        printer.ndim[name] = n - ints
        printer.dtypes.setdefault(name, printer.dtypes.get(load.buf, "float64"))
        return Load(name, ())

    target = as_view(Load(s.buf, s.index))
    ndim = printer.ndim.get(target.buf, len(target.index))
    items = list(target.index) + [Slice()] * (ndim - len(target.index))
    index, loops = [], []
    for axis, item in enumerate(items):
        if not isinstance(item, Slice):
            index.append(item)
            continue
        var = printer.namer.fresh("_i")
        loops.append((var, ShapeOf(target.buf, axis)))
        index.append(Var(var))
    free = [Var(v) for v, _ in loops]

    def region(e):
        if isinstance(e, Var) and printer.ndim.get(e.name, 0) > 0:
            e = Load(e.name, ())  # a whole array
        if not isinstance(e, Load):
            return None
        e = as_view(e)
        n = printer.ndim.get(e.buf, len(e.index))
        parts = list(e.index) + [Slice()] * (n - len(e.index))
        axes = [k for k, q in enumerate(parts) if isinstance(q, Slice)]
        if not axes:
            return None
        if len(axes) > len(free):
            raise _NotKernel("a region load of more axes than the region stored")
        for k, j in zip(axes, free[len(free) - len(axes):]):
            parts[k] = Op("switch", (Op("eq", (ShapeOf(e.buf, k), Const(1, "int64"))), Const(0, "int64"), j))
        return Load(e.buf, tuple(parts))
    value = substitute(s.value, region)
    body = [Store(target.buf, tuple(index), value)]
    for var, extent in reversed(loops):
        body = [Loop(var, extent, "parallel", tuple(body))]
    return views + body


def is_region_store(s, printer):
    return any(isinstance(i, Slice) for i in s.index) or len(s.index) < printer.ndim.get(s.buf, len(s.index))


def _one_barrier(lines):
    """`lines` without a barrier right after another one."""
    out = []
    for line in lines:
        if line.strip() == "cuda.syncthreads()" and out and out[-1] == line:
            continue
        out.append(line)
    return out


def _ordered_reads(node):
    names = []
    for n in walk(node):
        name = n.name if isinstance(n, Var) else n.buf if isinstance(n, (Load, ShapeOf)) else None
        if name is not None and name not in names:
            names.append(name)
    return names


def _read_counts_of(stmts):
    counts = {}
    for s in walk_statements(stmts):
        parts = [s.extent, s.start] if isinstance(s, Loop) else [s.cond] if isinstance(s, If) else [s]
        for part in parts:
            if isinstance(s, (Loop, If)):
                reads = names_read(part)
            else:
                reads = set(_ordered_reads(part))
                if isinstance(s, Store):
                    reads.add(s.buf)
            for n in reads:
                counts[n] = counts.get(n, 0) + 1
    return counts


def _read_counts(fn):
    counts = _read_counts_of(fn.body)
    for r in fn.returns:
        for n in names_read(r):
            counts[n] = counts.get(n, 0) + 1
    return counts
