"""A standalone CUDA module of compiled functions (`loopc compile --target cuda`).

`module_source([(name, Function), ...])` gives one Python module that needs only
NumPy and numba-cuda (`numba.cuda`) at run time, never loopc; the sibling of
`standalone` (the CPU module), built the same way:

- copies of the error classes the code raises and of `loopc.runtime.cuda` (the
  device functions and library kernels the generated code calls), its top-level
  names prefixed `_cu_` and the generated code's `cu.NAME` spelled `_cu_NAME`;
- per function, the source the CUDA printer gives (mode 'CUDA'), its globals
  prefixed with the function's name, and a wrapper named as in the model: NumPy
  inputs are checked, converted and copied to the device, device arrays (numba's,
  or any `__cuda_array_interface__` object) of the right dtype and ndim pass
  through without a copy, the outputs come back as NumPy arrays;
- `SHARED`: the shared variables' values, NumPy arrays when written; a shared
  array moves to the device on first use and its updates stay there (as in
  mode 'CUDA'); `host_value(key)` gives one as a NumPy array.

Functions that draw random numbers or take `In` inputs with defaults or states
are refused, as are graphs the CUDA printer cannot express (UnsupportedError
naming the op): at compile time, never at run time.
"""
import ast
import dataclasses
import inspect
import io
import tokenize

from .. import errors
from ..ir.graph import is_rng
from ..runtime import cuda as runtime_cuda
from . import standalone
from .compiler import loop_stages

PREFIX = "_cu_"

HEADER = '''\
import math

import numpy as np
from numba import cuda'''

RUNTIME = '''\
def _input(value, dtype, broadcastable, label):
    """Check and convert one input as loopc.function does: a device array of the right
    dtype and ndim as it is, a NumPy array (or nested lists) checked and copied in."""
    if _cu_is_device(value):
        value = _cu_to_device(value)
        if np.dtype(value.dtype).name != dtype or len(value.shape) != len(broadcastable):
            raise LoopcTypeError("%s expects a %s array of ndim %d, got a device array of dtype %s and ndim %d",
                                 label, dtype, len(broadcastable), np.dtype(value.dtype).name, len(value.shape))
        if any(flag and value.shape[a] != 1 for a, flag in enumerate(broadcastable)):
            raise ShapeError("%s is broadcastable and needs length 1 there, got a device array of shape %s",
                             label, tuple(value.shape))
        return value
    array = _host_input(value, dtype, broadcastable, label)
    return array[()] if array.ndim == 0 else _cu_to_device(array)


def _shared(key):
    """SHARED[key] as a function takes it: a 0-d value as a scalar, an array on the device
    (copied there once; SHARED then holds the device array)."""
    value = SHARED[key]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    if not _cu_is_device(value):
        value = SHARED[key] = _cu_to_device(value)
    return value


def _run(fn, args):
    with np.errstate(all="ignore"):  # the host's scalar math, as loopc's PY and CUDA modes
        return fn(*args)


def _output(value, dtype, ndim):
    """A NumPy array of a result (a device array, device scalar or host value)."""
    array = np.asarray(_cu_to_host(value, ndim))
    return (array.reshape(()) if ndim == 0 else array).astype(dtype, copy=False)


def _update(value, dtype, ndim):
    """A shared variable's new value: an array stays on the device, in memory of its own."""
    if ndim and _cu_is_device(value):
        return _cu_copy(value)
    return _output(value, dtype, ndim)


def host_value(key):
    """SHARED[key] as a NumPy array (copied from the device when it lives there)."""
    value = SHARED[key]
    return value.copy_to_host() if _cu_is_device(value) else np.asarray(value)


def warm():
    """Nothing to do ahead of time: numba-cuda compiles each kernel at its first launch."""'''


def module_source(functions, origin="model.py"):
    for name, fn in functions:
        _check(name, fn)
    shared_names = standalone._shared_names(functions)
    runtime_code, runtime_names = runtime_source()
    kernels = [_kernel_source(name, fn, runtime_names) for name, fn in functions]
    needed = {n for n in dir(errors) if standalone._is_error_class(n)
              and n in vars(runtime_cuda)} | {"LoopcTypeError", "ShapeError"}
    names = [name for name, _ in functions]
    parts = [
        f'"""Compiled by `loopc compile --target cuda {origin}`: {", ".join(names)}.\n\n'
        "Needs NumPy and numba-cuda (numba.cuda: a GPU, or NUMBA_ENABLE_CUDASIM=1), not loopc.\n"
        "Inputs: NumPy arrays (copied to the device) or device arrays (used as they are); outputs:\n"
        "NumPy arrays. Shared variables live in SHARED (on the device once used; host_value(key)\n"
        'reads one), updated by the functions that update them."""',
        HEADER,
        standalone._error_classes(needed),
        f"# -- CUDA runtime (a copy of loopc.runtime.cuda) {'-' * 29}\n\n" + runtime_code,
        _host_input_source(),
        RUNTIME,
        "SHARED = {\n" + "".join(f"    {key!r}: {standalone._value_literal(sv.container[0])},\n"
                                 for sv, key in shared_names.items()) + "}",
    ]
    if "_array(" in parts[-1]:
        parts.insert(1, "import base64")
        parts.insert(-1, inspect.cleandoc('''
            def _array(data, dtype, shape):
                """An array stored as base64 bytes (exact, compact)."""
                return np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape).copy()'''))
    for (name, fn), kernel in zip(functions, kernels):
        parts.append(f"# -- {name} " + "-" * max(0, 72 - len(name)) + "\n\n" + kernel)
        parts.append(_wrapper(name, fn, shared_names))
    parts.append(f"__all__ = {names!r} + ['SHARED', 'host_value', 'warm']")
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def write_module(functions, path, origin="model.py"):
    """Write the CUDA module for `[(python name, Function)]` to `path`; returns its source."""
    source = module_source(functions, origin)
    with open(path, "w") as f:
        f.write(source)
    return source


def _check(name, fn):
    standalone._check(name, fn)
    if name.startswith(PREFIX) or name in _reserved():
        raise ValueError(f"function name {name!r} is taken by the standalone module's own code; "
                         "bind the function to another name")
    drawn = [v for v in fn.graph.inputs if is_rng(v)]
    if drawn:
        raise ValueError(f"function {name}: --target cuda does not carry random states ({drawn[0]}); "
                         "compile it with --target cpu")


def _reserved():
    names = {"SHARED", "math", "np", "cuda", "base64", "_array", "_host_input"}
    for stmt in ast.parse(RUNTIME).body:
        if isinstance(stmt, ast.FunctionDef):
            names.add(stmt.name)
    return names | {n for n in dir(errors) if standalone._is_error_class(n)}


def runtime_source():
    """loopc.runtime.cuda as module code, its top-level names prefixed `_cu_` (its loopc
    import dropped: the module defines the error classes); and those names."""
    source = inspect.getsource(runtime_cuda)
    tree = ast.parse(source)
    defined, drop = set(), set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            defined.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            defined.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)) or (
                isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            drop.update(range(stmt.lineno, stmt.end_lineno + 1))  # imports (the header's) and the docstring
    lines = [line for i, line in enumerate(source.splitlines(), 1) if i not in drop]
    code = "\n".join(lines).strip("\n")
    return rename_globals(code, {n: PREFIX + n for n in defined}), defined


def rename_globals(source, mapping):
    """Rename NAME tokens per `mapping`, except attributes (`x.name`) and keyword
    arguments (`f(name=...)`), which are not the module's names."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    depth, edits = 0, []
    for k, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type != tokenize.NAME or tok.string not in mapping:
            continue
        before = tokens[k - 1] if k else None
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        if before is not None and before.type == tokenize.OP and before.string == ".":
            continue
        if depth and after is not None and after.type == tokenize.OP and after.string == "=":
            continue
        edits.append(tok)
    return _apply(source, [(tok.start, len(tok.string), mapping[tok.string]) for tok in edits])


def flatten_cu(source, runtime_names):
    """The generated code's `cu.NAME` as the module's copies: `_cu_NAME`, or the error
    class NAME the runtime imported."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits = []
    for k in range(len(tokens) - 2):
        a, dot, b = tokens[k:k + 3]
        if a.type == tokenize.NAME and a.string == "cu" and dot.string == "." and b.type == tokenize.NAME:
            if k and tokens[k - 1].string == ".":
                continue
            if b.string in runtime_names:
                new = PREFIX + b.string
            elif standalone._is_error_class(b.string):
                new = b.string
            else:
                raise ValueError(f"generated CUDA code calls cu.{b.string}, which loopc.runtime.cuda lacks")
            width = b.end[1] - a.start[1]
            edits.append((a.start, width, new))
    return _apply(source, edits)


def _apply(source, edits):
    lines = source.splitlines(keepends=True)
    for (row, col), width, new in sorted(edits, reverse=True):  # right to left: earlier columns stay valid
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + width:]
    return "".join(lines)


def _kernel_source(name, fn, runtime_names):
    """The CUDA printer's source of `fn` as module code: no imports, its globals prefixed."""
    from .cudaprinter import print_cuda_function
    options = dataclasses.replace(fn.options, profile=False)
    try:
        source = print_cuda_function(loop_stages(fn.graph, f"_{name}_fn", options)[-1][1])
    except errors.UnsupportedError as exc:
        raise ValueError(f"function {name}: {exc}") from exc
    tree = ast.parse(source)
    drop, globals_ = set(), set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            drop.update(range(stmt.lineno, stmt.end_lineno + 1))
        elif isinstance(stmt, ast.Assign):
            globals_.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.FunctionDef) and stmt.name != f"_{name}_fn":
            globals_.add(stmt.name)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    unsupported = sorted(used & {"draw_random", "copy_rng", "print_value"})
    if unsupported:
        raise ValueError(f"function {name}: --target cuda does not carry {', '.join(unsupported)} "
                         "(random draws, prints); compile it with --target cpu")
    source = standalone._rename(source, {g: f"_{name}_{g}" for g in globals_})
    source = flatten_cu(source, runtime_names)
    lines = [line for i, line in enumerate(source.splitlines(), 1) if i not in drop]
    return "\n".join(lines).strip("\n")


def _host_input_source():
    """The CPU module's input check (`_input`), as `_host_input`."""
    tree = ast.parse(standalone.RUNTIME)
    node = next(s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "_input")
    code = ast.get_source_segment(standalone.RUNTIME, node)
    return code.replace("def _input(", "def _host_input(", 1)


def _wrapper(name, fn, shared_names):
    params = standalone._param_names(fn)
    n_out = len(fn.outputs)
    lines = [f"def {name}({', '.join(params)}):",
             f'    """{standalone._signature(name, fn, params, shared_names)}"""']
    converted = [f"_input({p}, {v.dtype!r}, {v.broadcastable!r}, {standalone._label(name, i, v)!r})"
                 for i, (p, v) in enumerate(zip(params, fn.inputs))]
    converted += [f"_shared({shared_names[sv]!r})" for sv in fn.shared]
    lines.append("    args = [" + ",\n            ".join(converted) + "]" if converted else "    args = []")
    lines.append(f"    results = _run(_{name}_fn, args)")
    outs = [f"_output(results[{i}], {v.dtype!r}, {v.ndim})" for i, v in enumerate(fn.outputs)]
    lines.append("    outputs = [" + ", ".join(outs) + "]")
    for k, (sv, _) in enumerate(fn.updates):
        lines.append(f"    SHARED[{shared_names[sv]!r}] = _update(results[{n_out + k}], {sv.dtype!r}, {sv.ndim})")
    lines.append("    return outputs[0]" if fn.single else "    return outputs")
    return "\n".join(lines)
