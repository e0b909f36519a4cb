"""The `loopc` command line.

    loopc run --theano script.py [args...]     run a Theano script on loopc
    loopc dump model.py [--stage NAME|all] [--format text|dot] [--function NAME]
    loopc compile model.py [-o OUT] [--target cpu|cuda] [--function NAME]

`dump` and `compile` import `model.py` and work on every `loopc.function` it
binds at module level (or the ones named with `--function`). Every failure
(a missing file, a script that raises, nothing to work on) is one line on
stderr and a non-zero exit status; `--traceback` shows the Python traceback.
"""
import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import subprocess
import sys
import traceback
import types

PROG = "loopc"


class CliError(Exception):
    """A failure reported as one line on stderr."""


def main(argv=None):
    """Entry point of the `loopc` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except CliError as exc:
        _fail(args, f"{PROG} {args.command}: {exc}", exc)
        return 1
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001  (a one-line report, whatever it was)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        _fail(args, f"{PROG} {args.command}: {type(exc).__name__}: {_first_line(exc)}", exc)
        return 1


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true", help="show the Python traceback of a failure")
    common.add_argument("--theano", action="store_true",
                        help="resolve `import theano` (and its submodules) to loopc")
    parser = argparse.ArgumentParser(prog=PROG, description="loopc: a loop compiler for array code.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run a (Theano) script on loopc")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    run.set_defaults(handler=cmd_run)

    dump = sub.add_parser("dump", parents=[common], help="print the IR of a model's functions")
    dump.add_argument("model")
    dump.add_argument("--stage", default=None, help="a pass name, 'input', 'lower', 'loops' (the final loop "
                      "IR) or 'all' (default: the final graph IR)")
    dump.add_argument("--format", choices=("text", "dot"), default="text")
    dump.add_argument("--function", action="append", default=None, metavar="NAME",
                      help="only this function (repeatable)")
    dump.set_defaults(handler=cmd_dump)

    comp = sub.add_parser("compile", parents=[common],
                          help="write a standalone module of a model's functions (numpy + numba; "
                          "numba-cuda with --target cuda)")
    comp.add_argument("model")
    comp.add_argument("-o", "--output", default=None, metavar="OUT",
                      help="the module to write (default: MODEL_compiled.py in the current directory)")
    comp.add_argument("--target", choices=("cpu", "cuda"), default="cpu")
    comp.add_argument("--function", action="append", default=None, metavar="NAME",
                      help="only this function (repeatable)")
    comp.add_argument("--no-warm", dest="warm", action="store_false",
                      help="do not fill Numba's disk cache after writing the module")
    comp.set_defaults(handler=cmd_compile)
    return parser


def _fail(args, message, exc):
    sys.stdout.flush()  # what the script printed comes before the error
    if getattr(args, "traceback", False):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(message, file=sys.stderr)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


# -- loopc run -----------------------------------------------------------------

def cmd_run(args):
    """Run `script` as __main__, with sys.argv = [script, *args]."""
    path = _existing(args.script)
    with _theano_alias(args.theano), _script_context(path, [args.script, *args.args]):
        try:
            runpy.run_path(path, run_name="__main__")
        except SyntaxError as exc:
            raise CliError(_syntax_message(path, exc)) from exc
        except SystemExit as exc:
            return _exit_status(exc)
        except Exception as exc:
            raise CliError(f"{path} raised {type(exc).__name__}: {_first_line(exc)}{_import_hint(exc)}") from exc
    return 0


def _exit_status(exc):
    code = exc.code
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def _syntax_message(path, exc):
    where = f"{exc.filename or path}:{exc.lineno}"
    if "print" in (exc.msg or "") or "Missing parentheses" in (exc.msg or ""):
        return (f"{where}: {exc.msg}; this looks like a Python 2 script (`print x`), which is out of scope: "
                "loopc runs Python 3 syntax only (write print(x))")
    return f"{where}: SyntaxError: {exc.msg} (loopc runs Python 3 scripts only)"


def _existing(path):
    if not os.path.isfile(path):
        raise CliError(f"no such file: {path}")
    return os.path.abspath(path)


@contextlib.contextmanager
def _script_context(path, argv):
    """sys.argv and sys.path[0] as `python script.py` sets them; restored after."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv[:] = argv
    sys.path.insert(0, os.path.dirname(path))
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path


# -- `import theano` -> loopc ------------------------------------------------------

class TheanoFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `theano` and `theano.X.Y` to `loopc` and `loopc.X.Y` (the same module objects).

    Every alias is a package, so that `theano.sandbox.rng_mrg` imports even though
    `loopc.sandbox` is a plain module; `patched` lists the modules given a `__path__`
    for that, to take it back afterwards."""

    def __init__(self):
        self.patched = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "theano" and not fullname.startswith("theano."):
            return None
        module = _loopc_counterpart(fullname)
        if module is None:
            raise ModuleNotFoundError(f"No module named {fullname!r}: loopc has no counterpart of it",
                                      name=fullname)
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        module = _loopc_counterpart(spec.name)
        if not hasattr(module, "__path__"):
            self.patched.append(module)
        return module

    def exec_module(self, module):
        pass  # the loopc module is already executed

    def restore(self):
        for module in self.patched:
            with contextlib.suppress(AttributeError):
                del module.__path__


def _loopc_counterpart(theano_name):
    """The loopc module (or module-like namespace) that stands for `theano_name`, or None."""
    name = "loopc" + theano_name[len("theano"):]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name and not name.startswith(f"{exc.name}."):
            raise
    parent_name, _, attr = name.rpartition(".")
    parent = _loopc_counterpart("theano" + parent_name[len("loopc"):]) if "." in parent_name else \
        importlib.import_module(parent_name)
    value = getattr(parent, attr, None)
    return value if isinstance(value, (types.ModuleType, types.SimpleNamespace)) else None


@contextlib.contextmanager
def _theano_alias(enabled):
    """While active, `import theano...` gives loopc modules; afterwards sys.modules is as before."""
    if not enabled:
        yield
        return
    finder = TheanoFinder()
    before = {k: v for k, v in sys.modules.items() if k == "theano" or k.startswith("theano.")}
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        finder.restore()
        for key in [k for k in sys.modules if k == "theano" or k.startswith("theano.")]:
            del sys.modules[key]
        sys.modules.update(before)


def _import_hint(exc):
    aliased = any(isinstance(finder, TheanoFinder) for finder in sys.meta_path)
    if not aliased and isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "theano":
        return " (pass --theano to resolve `import theano` to loopc)"
    return ""


# -- loading a model -------------------------------------------------------------

def load_functions(path, names=None, theano=False):
    """[(python name, Function)] bound at module level in the script at `path`."""
    from .frontend.function import Function
    path = _existing(path)
    with _theano_alias(theano), _script_context(path, [path]):
        try:
            namespace = runpy.run_path(path, run_name="__loopc_model__")
        except SyntaxError as exc:
            raise CliError(_syntax_message(path, exc)) from exc
        except SystemExit as exc:
            raise CliError(f"{path} called sys.exit({exc.code!r}) while being imported") from exc
        except Exception as exc:
            raise CliError(f"importing {path} raised {type(exc).__name__}: {_first_line(exc)}"
                           f"{_import_hint(exc)}") from exc
    found, seen = [], set()
    for key, value in namespace.items():
        if isinstance(value, Function) and not key.startswith("__") and id(value) not in seen:
            seen.add(id(value))
            found.append((key, value))
    if names:
        missing = [n for n in names if n not in dict(found)]
        if missing:
            raise CliError(f"{path} defines no loopc function named {', '.join(missing)}; "
                           f"it defines {', '.join(k for k, _ in found) or 'none'}")
        found = [(k, f) for k, f in found if k in names]
    if not found:
        raise CliError(f"{path} defines no loopc.function at module level")
    return found


# -- loopc dump ------------------------------------------------------------------

def cmd_dump(args):
    from .ir.dot import to_dot
    chunks = []
    for name, fn in load_functions(args.model, args.function, args.theano):
        for stage in _stages(fn, args.stage, name):
            header = f"// ---- {name}: after {stage}" if args.stage == "all" else None
            text = _render(fn, stage, name, args.format, to_dot).rstrip("\n")
            chunks.append(f"{header}\n{text}" if header else text)
    print("\n\n".join(chunks))
    return 0


def _render(fn, stage, name, fmt, to_dot):
    graphs = dict(fn.stages)
    if stage is None or stage in graphs:
        graph = fn.graph if stage is None else graphs[stage]
        if fmt == "dot":
            return to_dot(graph, name=name)
        from .ir.printer import format_graph
        return format_graph(graph, name=name)
    if fmt == "dot":
        raise CliError(f"--format dot: stage {stage!r} is loop IR, which has only the text form")
    return fn.dump(stage)


def _stages(fn, stage, name):
    names = fn.stage_names()
    if stage is None:
        return [None]
    if stage == "all":
        return names[:-1]  # "loops" is the last loop stage again
    if stage in names:
        return [stage]
    raise CliError(f"function {name} has no stage {stage!r}; its stages are "
                   f"{', '.join(names)} (or 'all')")


# -- loopc compile ---------------------------------------------------------------

def cmd_compile(args):
    if args.target == "cuda":
        from .backends.standalone_cuda import write_module
    else:
        from .backends.standalone import write_module
    functions = load_functions(args.model, args.function, args.theano)
    stem = os.path.splitext(os.path.basename(args.model))[0]
    out = args.output or f"{stem}_compiled.py"
    if os.path.isdir(out):
        out = os.path.join(out, f"{stem}_compiled.py")
    try:
        source = write_module(functions, out, origin=os.path.basename(args.model))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.warm and args.target == "cpu":  # numba-cuda compiles a kernel at its first launch
        _warm(out)
    names = ", ".join(name for name, _ in functions)
    print(f"wrote {out} ({len(source.splitlines())} lines; functions: {names})")
    return 0


def _warm(path):
    """Import the new module in a fresh process under its own name and compile its functions,
    so that Numba's disk cache is filled (the cache records the module's name)."""
    folder, module = os.path.split(os.path.abspath(path))
    module = os.path.splitext(module)[0]
    code = f"import sys; sys.path.insert(0, {folder!r}); import {module}; {module}.warm()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        raise CliError(f"wrote {path}, but importing it failed: {lines[-1]}")


if __name__ == "__main__":
    sys.exit(main())
