"""A standalone module of compiled functions (`loopc compile`).

`write_module([(name, Function), ...], path)` writes one Python module that
needs only NumPy (and Numba, optionally) at run time, never loopc:

- a prelude with its own copies of what generated code imports (Numba's
  `objmode`; `print_value` and the error classes of `loopc.runtime`) and,
  when a function uses them, of the vector math kernels of
  `loopc.runtime.vecmath`, and a fallback to plain Python (PY mode) when Numba
  is not installed;
- per function, the generated source of its final graph (the same text as
  `f.source`, its names prefixed with the function's name) and a wrapper
  named as in the model, taking the inputs in order, checking and converting
  them, passing the shared variables' values (captured when compiling, kept in
  `SHARED` and updated by the function's updates) and returning the outputs;
- `warm()`, which compiles every function for C-contiguous arguments, filling
  Numba's disk cache (`loopc compile` calls it).

Functions that draw random numbers carry their random states in SHARED (a
NumPy `RandomState` each, as loopc keeps them) and a copy of loopc's draw code
(`random_source`): the module draws exactly the numbers loopc would, and a
call that fails leaves every state as it was.
Functions with `In` inputs holding a default or a state are refused.
"""
import ast
import base64
import dataclasses
import inspect
import io
import keyword
import tokenize

import numpy as np

from .. import errors, runtime
from ..ir.graph import SharedVariable, is_rng
from ..runtime import vecmath
from .compiler import NJIT_OPTIONS, render_function

# Names a generated kernel imports from loopc.runtime that the prelude provides.
_PROVIDED = {"print_value", "draw_random", "copy_rng", "host_call"}
# ... and from loopc.runtime.vecmath, which the module carries a copy of (`vecmath_source`).
_VECTOR_MATH = {f"vm_{name}" for name in vecmath.PY}

PRELUDE = '''\
import base64
import math
import warnings

import numpy as np

try:
    from numba import njit as _njit, objmode
    from numba.core.errors import NumbaPerformanceWarning as _PerformanceWarning
except ImportError:  # no Numba: the same source runs as plain Python (loopc's PY mode)
    _njit = None
    _PerformanceWarning = Warning

    class objmode:
        """Numba's object-mode block; a no-op in plain Python."""

        def __init__(self, *args, **types):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False


def _jit(fn):
    return fn if _njit is None else _njit(cache=True, @NJIT_OPTIONS@)(fn)


def host_call(fn):
    """A function holding one objmode block (a print), called by a kernel: jitted as kernels are."""
    return _jit(fn)


def print_value(message, attrs, value):
    """What loopc.printing.Print prints: `message attr = value ...`."""
    value = np.asarray(value)
    parts = [message]
    for attr in attrs:
        got = getattr(value, attr)
        parts.append(f"{attr} = {got() if callable(got) else got}")
    print(" ".join(parts))

'''.replace("@NJIT_OPTIONS@", ", ".join(f"{k}={v!r}" for k, v in NJIT_OPTIONS.items()))

RUNTIME = '''\
def _array(data, dtype, shape):
    """An array stored as base64 bytes (exact, compact)."""
    return np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape).copy()


def _input(value, dtype, broadcastable, label):
    """Check and convert one input as loopc.function does."""
    is_array = isinstance(value, (np.ndarray, np.generic))
    array = np.asarray(value)
    if array.ndim != len(broadcastable):
        raise LoopcTypeError("%s expects a %s array of ndim %d, got an array of ndim %d (shape %s)",
                             label, dtype, len(broadcastable), array.ndim, array.shape)
    if array.dtype.name != dtype:
        converted = array.astype(dtype)
        lossless = not is_array and np.array_equal(converted.astype(array.dtype), array)
        if not (np.can_cast(array.dtype, dtype, "safe") or lossless):
            raise LoopcTypeError("%s expects dtype %s, got dtype %s, which would lose precision; cast it",
                                 label, dtype, array.dtype)
        array = converted
    for axis, (flag, length) in enumerate(zip(broadcastable, array.shape)):
        if flag and length != 1:
            raise ShapeError("%s is broadcastable on axis %d and needs length 1 there, got shape %s",
                             label, axis, array.shape)
    return array


def _run(kernel, args):
    """Call a kernel; 0-d arrays travel as scalars (random states as their slot numbers)."""
    args = [a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=_PerformanceWarning)
        if _njit is None:
            with np.errstate(all="ignore"):
                return kernel(*args)
        return kernel(*args)


def _output(value, dtype, args):
    """An array the caller owns: the right dtype, 0-d as an array, never aliasing an argument."""
    array = np.asarray(value)
    if array.dtype.name != dtype:
        return array.astype(dtype)
    if any(np.may_share_memory(array, a) for a in args):
        return array.copy()
    return array


def warm():
    """Compile every function for C-contiguous arguments (fills Numba's disk cache)."""
    if _njit is None:
        return
    from numba import typeof
    for kernel, arg_types in _KERNELS.values():
        examples = [np.empty((0,) * ndim, dtype) if ndim else np.dtype(dtype).type(0) for dtype, ndim in arg_types]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=_PerformanceWarning)
            kernel.compile(tuple(typeof(a) for a in examples))
'''


def write_module(functions, path, origin="model.py"):
    """Write the module for `[(python name, Function)]` to `path`; returns its source."""
    source = module_source(functions, origin)
    with open(path, "w") as f:
        f.write(source)
    return source


def module_source(functions, origin="model.py"):
    for name, fn in functions:
        _check(name, fn)
    shared_names = _shared_names(functions)
    kernels = [_kernel_source(name, fn) for name, fn in functions]
    needed = set().union(*(used for _, used in kernels)) | {"LoopcTypeError", "ShapeError"}
    if any(_draws(fn) for _, fn in functions):
        needed.add("LoopcValueError")  # a draw's parameters out of their domain
    math = sorted(needed & _VECTOR_MATH)
    needed -= _VECTOR_MATH
    names = [name for name, _ in functions]
    parts = [
        f'"""Compiled by `loopc compile {origin}`: {", ".join(names)}.\n\n'
        "Needs NumPy and, for speed, Numba (without it the same code runs as plain Python);\n"
        'not loopc. Shared variables live in SHARED, updated by the functions that update them."""',
        PRELUDE,
        _error_classes(needed),
        RUNTIME,
        vecmath_source(math),
        random_source() if any(map(_draws, (fn for _, fn in functions))) else "",
        "SHARED = {\n" + "".join(f"    {key!r}: {_value_literal(sv.container[0])},\n"
                                 for sv, key in shared_names.items()) + "}",
    ]
    for (name, fn), (kernel, _) in zip(functions, kernels):
        parts.append(f"# -- {name} " + "-" * max(0, 72 - len(name)) + "\n\n" + kernel)
        parts.append(_wrapper(name, fn, shared_names))
    parts.append("_KERNELS = {\n" + "".join(
        f"    {name!r}: (_{name}_kernel, {_arg_types(fn)!r}),\n" for name, fn in functions) + "}")
    parts.append(f"__all__ = {names!r} + ['SHARED', 'warm']")
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def _check(name, fn):
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"function name {name!r} is not a Python identifier")
    if name in _reserved():
        raise ValueError(f"function name {name!r} is taken by the standalone module's own code; "
                         "bind the function to another name")
    for spec in fn.bindings.specs:
        if not _plain_input(spec):
            raise ValueError(f"function {name}: its input {spec.name or spec.variable} is an In with a default, a "
                             "state or options, which a standalone module does not keep; give plain variables")
    for v in fn.graph.inputs:  # (the states it returns are its updates)
        if is_rng(v) and not isinstance(v, SharedVariable):
            raise ValueError(f"function {name}: a random state that is not a shared variable ({v}) cannot be "
                             "carried by a standalone module")


def _draws(fn):
    return any(is_rng(v) for v in fn.graph.inputs)


def _reserved():
    """Module-level names of the prelude and runtime (and what they import)."""
    names = {"SHARED", "_KERNELS"} | {n for n in dir(errors) if _is_error_class(n)} | _VECTOR_MATH
    for stmt in ast.parse(PRELUDE + RUNTIME + random_source()).body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, ast.Try):
            names.update({"objmode", "_njit", "_PerformanceWarning"})
    return names


def _plain_input(spec):
    """Whether input `spec` (an In) is a plain variable: the wrapper's parameter, nothing stored."""
    options = (spec.value, spec.update, spec.implicit, spec.strict, spec.allow_downcast)
    return options == (None, None, False, False, None) and spec.name == spec.variable.name


def _shared_names(functions):
    """SharedVariable -> its key in SHARED: its name when unique and plain, else `shared<i>`."""
    keys, taken = {}, set()
    for _, fn in functions:
        for sv in fn.shared + [sv for sv, _ in fn.updates]:  # an update target may be unread
            if sv in keys:
                continue
            key = sv.name if sv.name and sv.name.isidentifier() and sv.name not in taken else f"shared{len(keys)}"
            while key in taken:
                key += "_"
            keys[sv] = key
            taken.add(key)
    return keys


def _kernel_source(name, fn):
    """The kernel's source without its loopc imports, its globals prefixed; and the names it imported."""
    options = dataclasses.replace(fn.options, profile=False)  # a standalone module has no profiler
    source = render_function(fn.graph, f"_{name}_fn", options)
    tree = ast.parse(source)
    drop, imported, globals_ = set(), set(), set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            drop.update(range(stmt.lineno, stmt.end_lineno + 1))
            if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("loopc"):
                imported.update(alias.asname or alias.name for alias in stmt.names)
        elif isinstance(stmt, ast.Assign):
            globals_.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.FunctionDef) and stmt.name != f"_{name}_fn":  # a host call's function
            globals_.add(stmt.name)
    unknown = sorted(n for n in imported if n not in _PROVIDED | _VECTOR_MATH and not _is_error_class(n))
    if unknown:
        raise ValueError(f"function {name}: its generated code needs {', '.join(unknown)} from loopc's "
                         "runtime, which a standalone module does not provide")
    source = _rename(source, {g: f"_{name}_{g}" for g in globals_})
    lines = [line for i, line in enumerate(source.splitlines(), 1) if i not in drop]
    text = "\n".join(lines).strip("\n")
    text += f"\n\n\n_{name}_kernel = _jit(_{name}_fn)"
    return text, {n for n in imported if _is_error_class(n) or n in _VECTOR_MATH}


def random_source():
    """loopc's random-state table and draws (`draw_random`, `copy_rng`) as module code:
    copies of `loopc.runtime`'s functions, so the module draws the same numbers."""
    parts = ["import contextlib\nimport copy\nimport threading",
             f"RANDOM_DISTS = {runtime.RANDOM_DISTS!r}",
             "_call = threading.local()  # .slots: the random states of the call running in this thread"]
    parts += [inspect.getsource(f).strip("\n") for f in (runtime.rng_slots, runtime.draw_random, runtime.copy_rng,
                                                         runtime.draw, runtime._check_random_shapes)]
    parts.append('''def _random_state(keys, pos, has_gauss, cached_gaussian):
    """A RandomState in the state it had when the module was written."""
    state = np.random.RandomState()
    state.set_state(("MT19937", keys, pos, has_gauss, cached_gaussian))
    return state''')
    parts.append('''def _run_drawing(kernel, args, states, rng_results):
    """Call a kernel that draws: `states` (copies) in the call's slots, the states it
    returns (slot numbers) looked up in the table."""
    with rng_slots(states) as table:
        results = list(_run(kernel, args))
    for i in rng_results:
        results[i] = table[results[i]]
    return results''')
    return f"# -- random draws (a copy of loopc.runtime's) {'-' * 33}\n\n" + "\n\n\n".join(parts)


def vecmath_source(kernels):
    """loopc's vector math kernels (`vm_tanh`, ...) as module code: vecmath's source with
    its top-level names prefixed `_vm_`; empty when `kernels` is."""
    if not kernels:
        return ""
    with open(vecmath.__file__) as f:
        source = f.read()
    tree = ast.parse(source)
    body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body  # without the docstring
    start = body[0].lineno
    defined = set()
    for stmt in ast.walk(tree):
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and stmt in tree.body:
            defined.add(stmt.name)
        elif isinstance(stmt, ast.Assign) and stmt in tree.body:
            defined.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    code = "\n".join(source.splitlines()[start - 1:])
    code = _rename(code, {n: f"_vm_{n}" for n in defined})
    # the plain kernels; jitted code calling one calls its compiled form (vecmath's overloads)
    binds = "".join(f"{k} = _vm_py_{k[3:]}\n" for k in kernels)
    return f"# -- vector math (a copy of loopc.runtime.vecmath) {'-' * 27}\n\n{code}\n\n\n{binds}"


def _rename(source, mapping):
    """Rename NAME tokens (never text inside strings) per `mapping`."""
    if not mapping:
        return source
    lines = source.splitlines(keepends=True)
    edits = [tok for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.NAME and tok.string in mapping]
    for tok in reversed(edits):  # right to left, so earlier columns stay valid
        row, col = tok.start
        line = lines[row - 1]
        lines[row - 1] = line[:col] + mapping[tok.string] + line[col + len(tok.string):]
    return "".join(lines)


def _is_error_class(name):
    cls = getattr(errors, name, None)
    return isinstance(cls, type) and issubclass(cls, errors.LoopcError)


def _error_classes(needed):
    """Copies of loopc's error classes in `needed` and their bases, bases first."""
    classes = []
    for name in sorted(needed):
        for cls in reversed(getattr(errors, name).__mro__):
            if issubclass(cls, errors.LoopcError) and cls not in classes:
                classes.append(cls)
    blocks = []
    for cls in classes:
        bases = ", ".join(b.__name__ for b in cls.__bases__)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        body = f'    """{doc}"""\n'
        if cls is errors.LoopcError:
            body += ("\n    def __init__(self, message, *args):\n"
                     "        super().__init__(message % args if args else message)\n")
        blocks.append(f"class {cls.__name__}({bases}):\n{body}")
    return "\n\n".join(blocks)


def _wrapper(name, fn, shared_names):
    params = _param_names(fn)
    n_out = len(fn.outputs)
    lines = [f"def {name}({', '.join(params)}):", f'    """{_signature(name, fn, params, shared_names)}"""']
    converted = [f"_input({p}, {v.dtype!r}, {v.broadcastable!r}, {_label(name, i, v)!r})"
                 for i, (p, v) in enumerate(zip(params, fn.inputs))]
    states = [sv for sv in fn.shared if is_rng(sv)]
    converted += [str(states.index(sv)) if is_rng(sv) else f"SHARED[{shared_names[sv]!r}]" for sv in fn.shared]
    lines.append("    args = [" + ",\n            ".join(converted) + "]" if converted else "    args = []")
    if states:  # slot numbers in args; the draws advance copies, kept only when the call succeeds
        copies = ", ".join(f"copy.deepcopy(SHARED[{shared_names[sv]!r}])" for sv in states)
        rng_results = [i for i, v in enumerate(fn.graph.outputs) if is_rng(v)]
        lines.append(f"    results = _run_drawing(_{name}_kernel, args, [{copies}], {rng_results!r})")
    else:
        lines.append(f"    results = _run(_{name}_kernel, args)")
    outs = [f"_output(results[{i}], {v.dtype!r}, args)" for i, v in enumerate(fn.outputs)]
    lines.append("    outputs = [" + ", ".join(outs) + "]")
    for k, (sv, _) in enumerate(fn.updates):
        value = f"results[{n_out + k}]" if is_rng(sv) else f"_output(results[{n_out + k}], {sv.dtype!r}, args)"
        lines.append(f"    SHARED[{shared_names[sv]!r}] = {value}")
    lines.append("    return outputs[0]" if fn.single else "    return outputs")
    return "\n".join(lines)


def _param_names(fn):
    names = []
    for i, var in enumerate(fn.inputs):
        base = var.name if var.name and var.name.isidentifier() and not keyword.iskeyword(var.name) else f"x{i}"
        if base.startswith("_") or base in ("np", "math", "warnings", "base64", "SHARED", "args", "results",
                                            "outputs"):
            base = f"x{i}"
        while base in names:
            base += "_"
        names.append(base)
    return names


def _label(name, i, var):
    return f"{name}: input {i} ({var.name})" if var.name else f"{name}: input {i}"


def _signature(name, fn, params, shared_names):
    args = ", ".join(f"{p}: {v.type.describe()}" for p, v in zip(params, fn.inputs))
    outs = [v.type.describe() for v in fn.outputs]
    result = outs[0] if fn.single else "[" + ", ".join(outs) + "]"
    updated = [f"SHARED[{shared_names[sv]!r}]" for sv, _ in fn.updates]
    note = f"; updates {', '.join(updated)}" if updated else ""
    return f"{name}({args}) -> {result}{note}"


def _arg_types(fn):
    return [("int64", 0) if is_rng(v) else (v.dtype, v.ndim) for v in fn.graph.inputs]  # a state: its slot


def _value_literal(value):
    if isinstance(value, np.random.RandomState):
        _, keys, pos, has_gauss, cached = value.get_state()
        return f"_random_state({_array_literal(keys)}, {pos}, {has_gauss}, {cached!r})"
    return _array_literal(value)


def _array_literal(value):
    array = np.array(value, order="C")  # not ascontiguousarray, which makes 0-d arrays 1-d
    if array.size <= 16:
        dtype = "np.bool_" if array.dtype == bool else f"np.{array.dtype.name}"
        return f"np.array({array.tolist()!r}, dtype={dtype}).reshape({array.shape!r})"
    data = base64.b64encode(array.tobytes()).decode()
    chunks = [data[i:i + 96] for i in range(0, len(data), 96)]
    text = "\n        ".join(repr(c) for c in chunks)
    return f"_array(\n        {text},\n        {array.dtype.name!r}, {array.shape!r})"
