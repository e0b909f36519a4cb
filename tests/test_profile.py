"""The profiler: `function(..., profile=True)`, `scan(..., profile=True)` and
LOOPC_FLAGS=profile=1. The summary names every region of the generated code (in
REFERENCE mode every node), counts the calls made, times every compile stage, and
gives each profiled scan its steps; an unprofiled function's code has no marks.
"""
import io
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import loopc
import loopc.tensor as T
from loopc import loops, passes

MODES = ["REFERENCE", "PY", "NUMBA"]
ROW = re.compile(r"^\s+\S+%\s+\S+%\s+(\S+)s\s+(\S+)s\s+(\d+)\s+(\d+)\s+(.*)$")


def summary(f):
    out = io.StringIO()
    f.profile.summary(file=out)
    return out.getvalue()


def regions(text):
    """{region label: (seconds, completions)} from a summary's table."""
    rows = [ROW.match(line) for line in text.split("Regions", 1)[1].splitlines()]
    return {m.group(5): (float(m.group(1)), int(m.group(3))) for m in rows if m}


def tanh_layer(mode, **kwargs):
    X, W = T.dmatrix("X"), T.dmatrix("W")
    return loopc.function([X, W], [T.tanh(T.dot(X, W)).sum(), T.exp(X)], mode=mode, **kwargs)


@pytest.fixture(scope="module", params=MODES + ["DEBUG"])
def profiled(request):
    return request.param, tanh_layer(request.param, profile=True)


def test_summary_counts_the_calls_and_names_every_region(profiled):
    mode, f = profiled
    x, W = np.linspace(-1, 1, 6).reshape(2, 3), np.arange(6.0).reshape(3, 2) / 10
    calls = 3 + f.profile.calls  # the module's fixture may have been called already
    for _ in range(3):
        total, ex = f(x, W)
        np.testing.assert_allclose(total, np.tanh(x @ W).sum(), rtol=1e-12)
        np.testing.assert_allclose(ex, np.exp(x), rtol=1e-12)
    text = summary(f)
    assert f"Time in {calls} calls to Function.__call__" in text
    found = regions(text)
    assert found and all(count == calls for _, count in found.values()), found
    names = " ".join(found)
    assert "dot" in names and "tanh" in names and "exp" in names, names
    assert abs(sum(s for s, _ in found.values()) - float(f.profile.record[:, 0].sum())) < 1e-3
    assert float(f.profile.record[:, 0].sum()) <= f.profile.kernel_seconds <= f.profile.call_seconds


def test_summary_times_every_compile_stage(profiled):
    mode, f = profiled
    text = summary(f).split("Compile time:", 1)[1].split("Regions", 1)[0]
    stages = [name for name, _ in passes.PIPELINE]
    if mode != "REFERENCE":
        stages += ["lowering", "printing", "loading", "profile"] + [name for name, _ in loops.PIPELINE]
    if mode in ("NUMBA", "DEBUG"):
        stages.append("Numba compile")
    for stage in stages:
        assert re.search(rf"\b{stage}\b", text), (stage, text)
    assert ("Numba compile" in text) == (mode in ("NUMBA", "DEBUG"))


@pytest.mark.parametrize("mode", ["PY", "NUMBA"])
def test_unprofiled_code_has_no_marks_and_profiled_code_only_adds_them(mode):
    plain, timed = tanh_layer(mode), tanh_layer(mode, profile=True)
    assert plain.profile is None and "profile" not in plain.source
    marks = [line for line in timed.source.splitlines() if "profile_" in line]
    assert marks, timed.source
    stripped = [line.replace(", profile_record)", ")") for line in timed.source.splitlines()
                if line.strip() and ("profile_" not in line or line.startswith("def "))]
    assert stripped == [line for line in plain.source.splitlines() if line.strip()]


@pytest.mark.parametrize("mode", ["PY", "NUMBA"])
def test_scan_profile_lists_its_steps(mode):
    """A scan made with profile=True profiles the function that holds it; `until`
    stops it early, and the steps counted are the steps run."""
    x, k = T.dscalar("x"), T.iscalar("k")
    def step(h):
        new = h * 2
        return new, loopc.scan_module.until(new > 20)
    out, _ = loopc.scan(step, outputs_info=x, n_steps=k, name="doubling", profile=True)
    f = loopc.function([x, k], out[-1], mode=mode)
    assert f.profile is not None
    np.testing.assert_allclose(f(1.0, 3), 8.0)   # 3 steps
    np.testing.assert_allclose(f(1.0, 10), 32.0)  # stops after the step giving 32: 5 steps
    text = summary(f)
    line = next(line for line in text.splitlines() if line.strip().startswith("scan 'doubling'"))
    assert "2 calls, 8 steps (4.0 per call)" in line, line
    assert "per step" in line
    assert any(label.startswith("scan 'doubling'") for label in regions(text))


def test_failed_calls_count_and_stop_the_regions_they_did_not_reach():
    x, y = T.dvector("x"), T.dvector("y")
    f = loopc.function([x, y], [T.exp(x), x + y], mode="PY", profile=True)
    f(np.ones(2), np.ones(2))
    with pytest.raises(ValueError):
        f(np.ones(2), np.ones(3))  # exp runs, then the shapes of the add disagree
    text = summary(f)
    assert "Time in 2 calls" in text
    counts = {label: count for label, (_, count) in regions(text).items()}
    assert sorted(counts.values()) == [1, 2], counts


def test_reference_mode_times_each_node():
    f = tanh_layer("REFERENCE", profile=True)
    f(np.ones((2, 3)), np.ones((3, 2)))
    labels = list(regions(summary(f)))
    assert len(labels) == len(f.graph.nodes)
    assert {label.split()[0] for label in labels} >= {"dot", "tanh", "exp", "sum"}


def test_the_flag_profiles_every_function_and_prints_at_exit(tmp_path):
    script = tmp_path / "model.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import loopc, loopc.tensor as T
        x = T.dvector("x")
        f = loopc.function([x], T.exp(x), name="expo")
        g = loopc.function([x], x * 2)
        assert f.profile is not None and g.profile is not None
        for _ in range(2):
            f(np.ones(2))
        g(np.ones(2))
    """))
    env = dict(os.environ, LOOPC_FLAGS="profile=1,mode=PY")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Function profiling") == 2, done.stderr
    assert "Message: expo" in done.stderr and "Time in 2 calls" in done.stderr
    assert f"Message: {script}:6" in done.stderr and "Time in 1 calls" in done.stderr
    plain = subprocess.run([sys.executable, "-c", "import loopc; assert not loopc.config.profile"],
                           env=dict(os.environ, LOOPC_FLAGS=""), capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0 and "Function profiling" not in plain.stderr
