"""Debugging as in Theano, and loopc's own inspection tools: `printing.Print`,
`printing.debugprint`, `compile.MonitorMode`, test values, `config` (and
LOOPC_FLAGS), mode names, DEBUG mode, `f.source`, `f.dump`, `loopc.dump`,
LOOPC_PRINT_AFTER and the disk cache.
"""
import os
import subprocess
import sys
import textwrap

import numpy
import numpy as np
import pytest

import loopc
import loopc as theano
import loopc.tensor as T
from loopc.config import config
from loopc.errors import DebugModeError, LoopcError, LoopcTypeError, LoopcValueError
from loopc.frontend.function import resolve_mode
from loopc.passes import PIPELINE


@pytest.fixture
def restore_config():
    """Tests here change global options; put every one back afterwards."""
    saved = dict(config._values)
    yield config
    for name, value in saved.items():
        setattr(config, name, value)


def run_python(code, **env):
    """Run `code` in a fresh interpreter with extra environment variables."""
    full = {k: v for k, v in os.environ.items() if k not in ("LOOPC_FLAGS", "LOOPC_PRINT_AFTER")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=full)


# -- printing.Print ----------------------------------------------------------------

def test_print_seed(mode, capsys):
    """The seed: the value is printed with the message each run; the result is unchanged."""
    x = theano.tensor.dvector('x')
    x_printed = theano.printing.Print('this is a very important value')(x)
    f = theano.function([x], x * 5)
    f_with_print = theano.function([x], x_printed * 5)
    # this runs the graph without any printing
    assert numpy.all(f([1, 2, 3]) == [5, 10, 15])
    assert capsys.readouterr().out == ""
    # this runs the graph with the message, and value printed
    assert numpy.all(f_with_print([1, 2, 3]) == [5, 10, 15])
    assert capsys.readouterr().out == "this is a very important value __str__ = [1. 2. 3.]\n"


def test_print_inside_scan_prints_every_step(capsys):
    x = T.dvector('x')
    out, _ = theano.scan(lambda v: theano.printing.Print('step')(v) * 2, sequences=x)
    f = theano.function([x], out, mode='PY')
    np.testing.assert_array_equal(f([1.0, 2.0]), [2.0, 4.0])
    assert capsys.readouterr().out.splitlines() == ["step __str__ = 1.0", "step __str__ = 2.0"]


# -- printing.debugprint -----------------------------------------------------------

def test_debugprint_variable():
    x = T.dvector('x')
    y = T.tanh(x * 2) + x
    text = theano.printing.debugprint(y, file="str")
    lines = text.splitlines()
    assert lines[0] == "add [id A]"
    assert lines[1:3] == [" |tanh [id B]", " | |mul [id C]"]
    assert " | |x" in text and "tanh" in text and "TensorConstant{2.0}" in text


def test_debugprint_shared_node_printed_once(capsys):
    x = T.dvector('x')
    e = T.exp(x)
    theano.printing.debugprint(e + e)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["add [id A]", " |exp [id B]", " | |x", " |exp [id B]"]


def test_debugprint_function():
    x = T.dvector('x')
    f = theano.function([x], T.exp(x).sum(), mode='PY')
    text = theano.printing.debugprint(f, file="str")
    assert text.splitlines()[0].startswith("sum [id A]")
    assert "exp" in text and "x" in text


# -- compile.MonitorMode -----------------------------------------------------------

def test_monitor_mode_seed():
    calls = []

    def inspect_inputs(i, node, fn):
        calls.append(("pre", i, node.op.name, [input[0] for input in fn.inputs]))

    def inspect_outputs(i, node, fn):
        calls.append(("post", i, node.op.name, [output[0] for output in fn.outputs]))

    x = theano.tensor.dscalar('x')
    f = theano.function([x], [5 * x],
                        mode=theano.compile.MonitorMode(pre_func=inspect_inputs, post_func=inspect_outputs))
    assert f(3) == [15.0]
    assert [c[:3] for c in calls] == [("pre", 0, "mul"), ("post", 0, "mul")]
    assert sorted(float(v) for v in calls[0][3]) == [3.0, 5.0]
    assert calls[1][3] == [15.0]


def test_monitor_mode_visits_every_node_in_order():
    seen = []
    x = T.dvector('x')
    mode = theano.compile.MonitorMode(post_func=lambda i, node, fn: seen.append((i, node.op.name)))
    f = theano.function([x], T.exp(x * 2).sum(), mode=mode)
    assert f([0.0, 0.0]) == 2.0
    assert [i for i, _ in seen] == list(range(len(seen)))
    assert [name for _, name in seen][-2:] == ["exp", "sum"]


# -- test values ---------------------------------------------------------------------

def test_test_values_computed_while_building(restore_config):
    config.compute_test_value = 'raise'
    x = T.dvector('x')
    x.tag.test_value = np.array([1.0, 2.0, 3.0])
    y = (x * 2).sum()
    assert y.tag.test_value == 12.0


def test_test_values_through_scan(restore_config):
    config.compute_test_value = 'raise'
    X = T.dmatrix('X')
    X.tag.test_value = np.arange(6.0).reshape(3, 2)
    total, _ = theano.scan(lambda row, acc: acc + row, sequences=X, outputs_info=T.zeros_like(X[0]))
    np.testing.assert_array_equal(total.tag.test_value, np.cumsum(np.arange(6.0).reshape(3, 2), axis=0))


def test_test_value_missing_raises(restore_config):
    config.compute_test_value = 'raise'
    x = T.dvector('x')
    with pytest.raises(LoopcTypeError, match="x has no test value"):
        x * 2


def test_test_values_off_by_default(restore_config):
    x = T.dvector('x')
    assert config.compute_test_value == 'off'
    assert not hasattr((x * 2).tag, "test_value")


# -- config and LOOPC_FLAGS ------------------------------------------------------------

def test_floatX_float32(restore_config):
    config.floatX = 'float32'
    v = T.vector('v')
    assert v.dtype == 'float32' and T.matrix().dtype == 'float32'
    assert T.constant(1.5).dtype == 'float32'
    assert (v * 2.0).dtype == 'float32'
    f = theano.function([v], v * 2.0, mode='PY')
    assert f(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_load_flags(restore_config):
    config.load_flags('mode=PY,floatX=float32, compute_test_value=warn,warn.subtensor_merge_bug=False')
    assert (config.mode, config.floatX, config.compute_test_value) == ('PY', 'float32', 'warn')


def test_unknown_option_and_bad_values(restore_config):
    with pytest.raises(LoopcValueError, match="no option 'nonsense'"):
        config.load_flags('nonsense=1')
    with pytest.raises(ValueError, match="floatX"):
        config.floatX = 'float16'
    with pytest.raises(LoopcValueError, match="not name=value"):
        config.load_flags('mode')
    with pytest.raises(AttributeError):
        config.nonsense


def test_warn_namespace_is_permissive():
    theano.config.warn.subtensor_merge_bug = False
    assert theano.config.warn.subtensor_merge_bug is False
    assert theano.config.warn.anything_else is False


def test_loopc_flags_environment_variable():
    done = run_python("""
        import loopc, loopc.tensor as T
        print(loopc.config.mode, loopc.config.floatX, T.vector().dtype, loopc.config.print_stages)
        """, LOOPC_FLAGS="mode=PY,floatX=float32,print_stages=0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["PY", "float32", "float32", "False"]
    done = run_python("import loopc", LOOPC_FLAGS="nonsense=1")
    assert done.returncode != 0 and "no option 'nonsense'" in done.stderr


# -- modes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, resolved", [
    ("FAST_RUN", "NUMBA"), ("NUMBA", "NUMBA"), ("FAST_COMPILE", "PY"), ("PY", "PY"),
    ("DebugMode", "DEBUG"), ("DEBUG_MODE", "DEBUG"), ("DEBUG", "DEBUG"),
    (theano.Mode(linker='cvm'), "NUMBA"), (theano.Mode(linker='py'), "PY"),
])
def test_mode_names(name, resolved):
    assert resolve_mode(name) == resolved


def test_default_mode_follows_config(restore_config):
    config.mode = 'FAST_COMPILE'
    x = T.dvector('x')
    assert theano.function([x], x + 1).mode == 'PY'


def test_unknown_mode_is_a_loopc_error():
    x = T.dvector('x')
    with pytest.raises(LoopcValueError, match="unknown mode 'FAST_AND_LOOSE'.*FAST_RUN"):
        theano.function([x], x, mode='FAST_AND_LOOSE')


def test_debug_mode_runs_both_and_agrees():
    x = T.dvector('x')
    W = T.dmatrix('W')
    out, _ = theano.scan(lambda h, W: T.tanh(T.dot(W, h)), outputs_info=x, non_sequences=W, n_steps=3)
    f = theano.function([x, W], out[-1], mode='DebugMode')
    assert set(f.kernels) == {"PY", "NUMBA"}
    h = np.array([0.5, -0.5])
    w = np.array([[1.0, 0.5], [0.25, 1.0]])
    want = h
    for _ in range(3):
        want = np.tanh(w @ want)
    np.testing.assert_allclose(f(h, w), want, rtol=1e-12)
    # a disagreement fails loudly, naming both results
    f.kernels["NUMBA"] = lambda *args: (np.zeros(2),)
    with pytest.raises(DebugModeError, match="PY and NUMBA disagree"):
        f(h, w)


# -- f.source, f.dump, loopc.dump ------------------------------------------------------------

def test_source_is_valid_python():
    x = T.dvector('x')
    f = theano.function([x], T.exp(x).sum(), mode='PY')
    assert "def fn(" in f.source
    compile(f.source, "<generated>", "exec")
    monitored = theano.function([x], x * 2, mode=theano.compile.MonitorMode())
    assert "def fn(" in monitored.source


def test_function_dump_stages():
    x = T.dvector('x')
    f = theano.function([x], (x * 2).sum(), mode='PY', name='double_sum')
    final = f.dump()
    assert final.startswith("func @double_sum(%x: f64[?]) -> (f64[]) {")
    assert "sum" in final and final.rstrip().endswith("}")
    assert "dimshuffle" in f.dump('input')
    assert [name for name, _ in f.stages] == ["input"] + [name for name, _ in PIPELINE]
    assert f.dump(PIPELINE[-1][0]) == final
    with pytest.raises(LoopcValueError, match="no stage 'nope'"):
        f.dump('nope')


def test_loopc_dump_of_variables():
    x = T.dvector('x')
    text = loopc.dump(T.tanh(x))
    assert text == "func @graph(%x: f64[?]) -> (f64[?]) {\n  %0 = tanh %x : f64[?]\n  return %0\n}"
    assert loopc.printing.dump is loopc.dump


def test_print_after_all(monkeypatch, capsys):
    monkeypatch.setenv("LOOPC_PRINT_AFTER", "all")
    x = T.dvector('x')
    theano.function([x], x * 2, mode='PY')
    err = capsys.readouterr().err
    for name in ["input"] + [name for name, _ in PIPELINE]:
        assert f"// ---- after {name}\nfunc @fn(%x: f64[?])" in err


def test_print_after_named_pass(monkeypatch, capsys):
    monkeypatch.setenv("LOOPC_PRINT_AFTER", "cse")
    x = T.dvector('x')
    theano.function([x], x * 2, mode='PY')
    err = capsys.readouterr().err
    assert "// ---- after cse" in err and "after input" not in err


# -- the disk cache -------------------------------------------------------------------------

def test_second_process_finds_the_disk_cache(tmp_path):
    code = """
        import glob, os, sys
        import numpy as np
        import loopc as theano, loopc.tensor as T
        x = T.dvector('x')
        f = theano.function([x], T.tanh(x).sum() * 3)
        assert f(np.zeros(3)) == 0.0
        kernel = f.kernels['NUMBA']
        print(sys.modules[kernel.fn.py_func.__module__].__file__)
        print(sum(kernel.fn.stats.cache_hits.values()), sum(kernel.fn.stats.cache_misses.values()))
        """
    env = {"LOOPC_CACHE_DIR": str(tmp_path), "LOOPC_FLAGS": "mode=NUMBA"}
    first = run_python(code, **env)
    assert first.returncode == 0, first.stderr
    path, counts = first.stdout.split("\n")[:2]
    assert os.path.dirname(path) == str(tmp_path) and counts == "0 1"
    mtime = os.path.getmtime(path)
    second = run_python(code, **env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split("\n")[:2] == [path, "1 0"]  # same file, compiled code from the cache
    assert os.path.getmtime(path) == mtime


def test_the_cache_key_covers_what_decides_the_compiled_code(monkeypatch):
    # Numba keys its own cache by file and argument types only: a change of njit options,
    # of the toolchain or of the runtime the generated code calls must name another file.
    from loopc.backends import compiler
    source = "def fn(x):\n    return (x,)\n"
    key = compiler.cache_key(source, "NUMBA")
    assert key == compiler.cache_key(source, "NUMBA")
    assert key != compiler.cache_key(source + "\n", "NUMBA")
    assert key != compiler.cache_key(source, "PY")
    monkeypatch.setattr(compiler, "NJIT_OPTIONS", {**compiler.NJIT_OPTIONS, "_another_option": 1})
    assert key != compiler.cache_key(source, "NUMBA")
    monkeypatch.undo()
    monkeypatch.setattr(compiler, "_toolchain", lambda: "numba 0.0 llvmlite 0.0 numpy 0.0 runtime 0")
    assert key != compiler.cache_key(source, "NUMBA")


def test_the_tests_compile_into_a_cache_of_their_own():
    # conftest.py gives the session a fresh directory: a warm user cache would hide code
    # that only a cold compile gets wrong.
    from loopc.backends.compiler import cache_dir
    home = os.path.join(os.path.expanduser("~"), ".cache", "loopc")
    assert os.environ["LOOPC_CACHE_DIR"] == cache_dir() and cache_dir() != home


def test_errors_are_loopc_errors():
    assert issubclass(DebugModeError, LoopcError) and issubclass(DebugModeError, AssertionError)


def test_monitor_mode_descends_into_scan_bodies():
    # Theano compiles a scan's body with the function's mode: MonitorMode sees the body's
    # nodes at every step (between the scan node's pre_func and post_func), so a NaN made
    # inside is found where it is made.
    seen = []

    def post(i, node, fn):
        if any(np.isnan(np.asarray(out[0])).any() for out in fn.outputs if hasattr(out[0], "dtype")):
            seen.append(node.op.name)

    x = T.dvector("x")
    out, _ = theano.scan(lambda v: T.log(v) * 2, sequences=[x])
    names = []
    mode = theano.compile.MonitorMode(pre_func=lambda i, node, fn: names.append(node.op.name), post_func=post)
    f = theano.function([x], out.sum(), mode=mode)
    assert np.isnan(f([1.0, -1.0, 2.0]))
    assert names.count("log") == 3 and names.index("scan") < names.index("log")
    assert seen[:2] == ["log", "mul"]  # the step with -1 first, then the scan and the sum
    assert "scan" in seen
