"""The `loopc` command line: `run --theano`, `dump` (text and dot) and `compile`
(a standalone module that imports and runs without loopc).

Most tests call `loopc.cli.main([...])` in-process; the console script itself,
the standalone module and its Numba cache are checked in subprocesses.
"""
import os
import re
import runpy
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from loopc.cli import main

THEANO_SCRIPT = """\
import sys
import theano
import theano.tensor as T
from theano import tensor
from theano.tensor.shared_randomstreams import RandomStreams
from theano.sandbox.rng_mrg import MRG_RandomStreams
import theano.tensor.nnet
from theano.compile import MonitorMode
assert tensor is T and theano.__name__ == "loopc"
x = T.dvector('x')
f = theano.function([x], (x * 2).sum())
print(f([1, 2, 3]), sys.argv[1:])
"""

MODEL = """\
import numpy as np
import loopc as theano
import loopc.tensor as T

x = T.dvector('x')
W = theano.shared(np.arange(6.0).reshape(2, 3), name='W')
count = theano.shared(np.int64(0), name='count')
A = T.dmatrix('A')
k = T.iscalar('k')
result, _ = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)

double_sum = theano.function([x], (x * 2).sum(), mode='PY')
affine = theano.function([x], [T.tanh(T.dot(W, x)), x + 1], updates={count: count + 1}, mode='PY')
power = theano.function([A, k], result[-1], mode='PY')
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def model(tmp_path):
    return write(tmp_path, "model.py", MODEL)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- loopc run -------------------------------------------------------------------

def test_run_theano_script(tmp_path, capsys):
    script = write(tmp_path, "tutorial.py", THEANO_SCRIPT)
    code, out, err = run(["run", "--theano", script, "-v", "1"], capsys)
    assert code == 0, err
    assert out.strip() == "12.0 ['-v', '1']"
    assert "theano" not in sys.modules  # the aliases end with the run


def test_run_without_theano_flag_hints_at_it(tmp_path, capsys):
    script = write(tmp_path, "tutorial.py", THEANO_SCRIPT)
    code, _, err = run(["run", script], capsys)
    assert code == 1
    assert "No module named 'theano'" in err and "--theano" in err


@pytest.mark.parametrize("text, expected", [
    ("import theano\nprint 'hi'\n", "Python 2"),
    ("import theano\nraise ValueError('boom\\nsecond line')\n", "raised ValueError: boom"),
    ("import theano.no_such_module\n", "loopc has no counterpart of it"),
])
def test_run_failures_are_one_line(tmp_path, capsys, text, expected):
    script = write(tmp_path, "bad.py", text)
    code, _, err = run(["run", "--theano", script], capsys)
    assert code == 1
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_run_passes_the_scripts_exit_status(tmp_path, capsys):
    script = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    assert run(["run", script], capsys)[0] == 3


@pytest.mark.parametrize("command", ["run", "dump", "compile"])
def test_missing_file(tmp_path, capsys, command):
    code, _, err = run([command, str(tmp_path / "nope.py")], capsys)
    assert code == 1
    assert err.strip() == f"loopc {command}: no such file: {tmp_path / 'nope.py'}"


# -- loopc dump ------------------------------------------------------------------

def test_dump_text_final_ir(model, capsys):
    code, out, err = run(["dump", model, "--function", "power"], capsys)
    assert code == 0, err
    assert out.startswith("func @power(%A: f64[?,?], %k: i32[]) -> (f64[?,?]) {")
    assert "scan n_steps=" in out and "yield" in out and "subtensor" in out


def test_dump_every_function_and_stage(model, capsys):
    code, out, _ = run(["dump", model, "--stage", "all"], capsys)
    assert code == 0
    for name in ("double_sum", "affine", "power"):
        assert f"// ---- {name}: after input" in out
        assert f"func @{name}(" in out
    assert "after canonicalize" in out


def test_dump_unknown_stage_lists_the_stages(model, capsys):
    code, _, err = run(["dump", model, "--stage", "bogus"], capsys)
    assert code == 1
    assert "no stage 'bogus'" in err and "input, canonicalize" in err


def test_dump_dot(model, capsys):
    code, out, _ = run(["dump", model, "--format", "dot", "--function", "power"], capsys)
    assert code == 0
    assert out.startswith('digraph "power" {') and out.rstrip().endswith("}")
    assert out.count("{") == out.count("}")
    assert "subgraph cluster_1" in out and 'label="scan body"' in out
    assert re.search(r'n\d+ \[label="mul", shape=box\];', out)
    edges = [line for line in out.splitlines() if "->" in line]
    assert edges and all(re.fullmatch(r"\s*[nv]\d+ -> [nv]\d+( \[.*\])?;", e) for e in edges)
    # edges carry the text dump's names and types
    assert '[label="%A: f64[?,?]"]' in out


def test_dump_no_functions(tmp_path, capsys):
    script = write(tmp_path, "empty.py", "x = 1\n")
    code, _, err = run(["dump", script], capsys)
    assert code == 1
    assert "defines no loopc.function" in err


def test_dump_unknown_function_name(model, capsys):
    code, _, err = run(["dump", model, "--function", "nope"], capsys)
    assert code == 1
    assert "no loopc function named nope" in err and "double_sum" in err


def test_dump_of_a_script_that_raises(tmp_path, capsys):
    script = write(tmp_path, "raises.py", "import loopc\nraise RuntimeError('model broke')\n")
    code, _, err = run(["dump", script], capsys)
    assert code == 1
    assert "raised RuntimeError: model broke" in err


# -- loopc compile ---------------------------------------------------------------

NOISE = """\
import numpy as np
import loopc as theano
import loopc.tensor as T
from loopc.tensor.shared_randomstreams import RandomStreams

srng = RandomStreams(1234)
x = T.dvector('x')
walk, walk_updates = theano.scan(lambda h: h + srng.normal(h.shape), outputs_info=[x], n_steps=3)
noisy = theano.function([x], x + srng.uniform((3,)), mode='PY')
steps = theano.function([x], walk[-1], updates=walk_updates, mode='PY')
"""

DRAWS = """\
import sys
sys.path.insert(0, {folder!r})
import numpy as np
import model_noise as m
x = np.array([1.0, 2.0, 3.0])
draws = [m.noisy(x), m.noisy(x), m.steps(x), m.steps(x)]
try:
    m.noisy(np.ones(2))
except ValueError:
    pass
draws.append(m.noisy(x))  # the failed call moved no state
assert not [k for k in sys.modules if k.split('.')[0] == 'loopc']
np.save('draws.npy', np.array(draws))
"""


def test_compile_carries_random_states_and_draws_what_loopc_draws(tmp_path, capsys):
    script = write(tmp_path, "noise.py", NOISE)
    out = tmp_path / "model_noise.py"
    code, _, err = run(["compile", script, "-o", str(out), "--no-warm"], capsys)
    assert code == 0, err
    done = subprocess.run([sys.executable, "-c", DRAWS.format(folder=str(tmp_path))], capture_output=True,
                          text=True, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    functions = runpy.run_path(script)  # loopc's functions, from the same seeds
    x = np.array([1.0, 2.0, 3.0])
    want = [functions["noisy"](x), functions["noisy"](x), functions["steps"](x), functions["steps"](x),
            functions["noisy"](x)]
    np.testing.assert_array_equal(np.load(tmp_path / "draws.npy"), np.array(want))
    assert not np.array_equal(want[0], want[1]) and not np.array_equal(want[2], want[3])


def _generated(tmp_path, model, capsys, *extra):
    out = tmp_path / "out" / "model_compiled.py"
    out.parent.mkdir()
    code, stdout, err = run(["compile", model, "-o", str(out), *extra], capsys)
    assert code == 0, err
    assert "functions: double_sum, affine, power" in stdout
    return out


def _imports(source):
    return [line for line in source.splitlines() if re.match(r"\s*(import|from)\s", line)]


def test_compile_writes_a_module_without_loopc(tmp_path, model, capsys):
    out = _generated(tmp_path, model, capsys, "--no-warm")
    source = out.read_text()
    assert not [line for line in _imports(source) if "loopc" in line]
    compile(source, str(out), "exec")
    for name in ("double_sum", "affine", "power"):
        assert f"def {name}(" in source


BLOCKER = """\
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError(name + ' is blocked')
sys.meta_path.insert(0, Blocker())
sys.path.insert(0, {folder!r})
import numpy as np
import model_compiled as m
assert m.double_sum([1, 2, 3]) == 12.0
y, z = m.affine(np.array([1.0, 0.0, 0.0]))
np.testing.assert_allclose(y, np.tanh([0.0, 3.0]))
m.affine([0.0, 0.0, 1.0])
assert int(m.SHARED['count']) == 2
np.testing.assert_allclose(m.power(np.eye(2) * 2, 3), np.eye(2) * 8)
try:
    m.double_sum([[1.0]])
except TypeError as exc:
    assert 'ndim' in str(exc), exc
else:
    raise AssertionError('no error for a matrix')
assert not [k for k in sys.modules if k.split('.')[0] == 'loopc']
A, x = np.array([[1.0, 2.0], [3.0, 0.5]]), np.array([0.1, -0.2, 0.3])
np.savez('results.npz', power=m.power(A, 4), affine_0=m.affine(x)[0], affine_1=m.affine(x)[1])
print('numba' in sys.modules, getattr(m._power_kernel, 'stats', None))
"""


def _run_blocked(out, blocked, model):
    """Run the generated module with `blocked` packages unimportable; check it against loopc."""
    code = BLOCKER.format(blocked=blocked, folder=str(out.parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(out.parent))
    assert done.returncode == 0, done.stderr
    results = np.load(out.parent / "results.npz")
    functions = runpy.run_path(model)  # the same functions, compiled by loopc (PY mode)
    A, x = np.array([[1.0, 2.0], [3.0, 0.5]]), np.array([0.1, -0.2, 0.3])
    np.testing.assert_array_equal(results["power"], functions["power"](A, 4))
    y, z = functions["affine"](x)
    np.testing.assert_allclose(results["affine_0"], y, rtol=1e-14)  # NUMBA's tanh against PY's
    np.testing.assert_array_equal(results["affine_1"], z)
    return done.stdout


def test_compiled_module_runs_without_loopc_with_numba_cache(tmp_path, model, capsys):
    out = _generated(tmp_path, model, capsys)  # warms: fills Numba's cache
    assert any(name.endswith(".nbi") for name in os.listdir(out.parent / "__pycache__"))
    stdout = _run_blocked(out, ["loopc"], model)
    assert stdout.startswith("True")
    assert "cache_hits=Counter({(Array(float64, 2, 'C'" in stdout  # power() loaded from the cache
    assert "cache_misses=Counter()" in stdout


def test_compiled_module_runs_without_numba(tmp_path, model, capsys):
    out = _generated(tmp_path, model, capsys, "--no-warm")
    assert _run_blocked(out, ["loopc", "numba"], model).startswith("False")


# -- the console script ----------------------------------------------------------

def test_console_script_smoke(tmp_path):
    exe = shutil.which("loopc") or os.path.join(os.path.dirname(sys.executable), "loopc")
    if not os.path.exists(exe):
        pytest.skip("the loopc console script is not installed")
    script = write(tmp_path, "tutorial.py", THEANO_SCRIPT)
    done = subprocess.run([exe, "run", "--theano", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12.0 []"
    done = subprocess.run([exe, "dump", str(tmp_path / "missing.py")], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"loopc dump: no such file: {tmp_path / 'missing.py'}"


PRINTING_MODEL = """\
import loopc as theano
import loopc.tensor as T
from loopc.printing import Print

x = T.dvector('x')
ys, _ = theano.scan(lambda y: Print('step')(y * 2), outputs_info=[x], n_steps=2)
loud = theano.function([x], Print('last', attrs=('shape',))(ys[-1] + 1), mode='PY')
"""


def test_compiled_module_prints_in_and_after_a_loop(tmp_path, capsys):
    # each print is a function of its own holding the objmode block (numba/numba#9574)
    model = write(tmp_path, "printing.py", PRINTING_MODEL)
    out = tmp_path / "printing_compiled.py"
    code, _, err = run(["compile", model, "-o", str(out), "--no-warm"], capsys)
    assert code == 0, err
    script = "import numpy as np, printing_compiled as m, numba; print(m.loud(np.ones(2)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["step __str__ = [2. 2.]", "step __str__ = [4. 4.]", "last shape = (2,)",
                                        "[5. 5.]"]


def test_compile_refuses_inputs_with_defaults(tmp_path, capsys):
    script = write(tmp_path, "defaults.py", """\
        import loopc as theano
        import loopc.tensor as T
        x, lr = T.dscalar('x'), T.dscalar('lr')
        f = theano.function([x, theano.In(lr, value=0.1)], x * lr, mode='PY')
        """)
    code, _, err = run(["compile", script, "-o", str(tmp_path / "out.py"), "--no-warm"], capsys)
    assert code == 1
    assert "input lr is an In with a default" in err
