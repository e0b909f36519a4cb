"""Differential tests (issues 8 and 11): random graphs from tests/strategies.py give
the same results in every mode, with and without the optimizer, and random faulty
calls fail alike in every mode.

- Error agreement: for any graph, either every mode returns the same values or
  every mode raises the same loopc error class, with the optimizer on and off. A
  legal case must return in every mode; a faulty one must raise the class its fault
  calls for in every mode. Any other exception (NumPy's, Numba's) is a failure.
- The oracle is the reference evaluator (mode REFERENCE) on the unoptimized graph.
  It is compared with REFERENCE on the optimized graph, PY with and without the
  optimizer and, in the `numba` tests, NUMBA with and without it.
- Tolerance: a value the generator marks exact must be equal bit for bit (NaN
  equal to NaN, -0.0 to 0.0); integers and bools are always exact. An inexact
  float (transcendental math, float sums and dot products: a few ulp apart
  between NumPy's SIMD loops, libm and BLAS) must have its NaNs in the same
  places and the rest within `TOLERANCE` (rtol, atol) of its dtype, or of
  float32 when float32 math went into it. Every value must also have the dtype
  of its variable and the shape the generator expects.
- Every call also runs twice from the same state with the same results, leaves
  its input arrays unchanged and returns no output that shares memory with an
  input or a shared variable.
- A faulty call raises the same loopc error class in every mode (the one the
  fault calls for), and leaves every shared variable (random states too) as it was.

- Gradients (issue 14): `grad_cases()` graphs reduced to a scalar cost; the
  function returning the cost and its gradients must agree across modes as above,
  and the oracle's gradients must match central differences of the oracle's cost
  along random directions (eps 1e-6; a point where the difference quotients over
  eps and 2 eps disagree, a branch or an until condition flipping, is not checked).
  A failure names the input, the index and both values.

When an optimized mode disagrees, the message names the first pass after which
the reference evaluator's results change (`first_bad_stage`), or the backend.

Numba compiles cost 0.3-2 s each, so the NUMBA tests draw fewer examples; the
counts per profile (LOOPC_HYPOTHESIS_PROFILE, see tests/conftest.py) are in
`EXAMPLES`. A failure prints the case as Python source that rebuilds it.
"""
import contextlib
import copy
import os

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import loopc
from loopc.errors import LoopcError
from loopc.reference import evaluate
from strategies import FAULTS, Expr, cases, failing_cases, grad_cases, indexing_cases, scan_cases

PROFILE = os.environ.get("LOOPC_HYPOTHESIS_PROFILE", "ci")
EXAMPLES = {
    "ci": {"agree": 300, "agree_numba": 100, "fail": 360, "fail_numba": 54,
           "grad": 60, "grad_fd": 150, "grad_numba": 3},
    "long": {"agree": 5000, "agree_numba": 1000, "fail": 3600, "fail_numba": 540,
             "grad": 1000, "grad_fd": 2000, "grad_numba": 100},
}[PROFILE if PROFILE in ("ci", "long") else "ci"]

TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-6)}  # (rtol, atol) of inexact floats

ORACLE = ("REFERENCE", False)
MODES = [("REFERENCE", True), ("PY", True), ("PY", False)]
NUMBA_MODES = MODES + [("NUMBA", True), ("NUMBA", False)]


@pytest.fixture(autouse=True, scope="module")
def small_blocks():
    """Blocks of 3 elements, so the generator's small vectors span several blocks."""
    from loopc.loops import block
    saved, block.BLOCK = block.BLOCK, 3
    yield
    block.BLOCK = saved


@contextlib.contextmanager
def optimizer(enabled):
    saved = loopc.config.optimizer
    loopc.config.optimizer = "fast_run" if enabled else "None"
    try:
        yield
    finally:
        loopc.config.optimizer = saved


def compile_case(case, mode, optimize):
    with optimizer(optimize):
        return loopc.function(case.inputs, [e.var for e in case.outputs],
                              updates=[(sh.var, new.var) for sh, new in case.updates],
                              mode=mode, on_unused_input="ignore")


def call(case, f):
    """Outputs then the value of every shared variable after the call.

    The call runs twice from the same state and must give the same results; the
    inputs' arrays must come back unchanged, and no output may share memory with
    an input or a shared variable's value (the caller owns what it gets)."""
    first = _call_once(case, f)
    kept = [np.array(r, copy=True) for r in first]
    second = _call_once(case, f)
    for k, (a, b, c) in enumerate(zip(kept, first, second)):
        assert np.array_equal(a, c, equal_nan=a.dtype.kind == "f"), f"result {k} differs on a second call"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"a second call changed result {k} of the first"
    return first


def _call_once(case, f):
    case.reset_shared()
    args = case.arguments()
    try:
        outs = f(*args)
    finally:
        for arg, value in zip(args, case.values):
            assert np.array_equal(arg, value, equal_nan=arg.dtype.kind == "f"), "a call changed its input"
    owned = args + [sv.container[0] for sv, _ in case.shared]
    for k, out in enumerate(outs):
        assert not any(np.may_share_memory(out, a) for a in owned), \
            f"output {k} shares memory with an input or a shared variable"
    return list(outs) + [sv.get_value() for sv, _ in case.shared]


def expectations(case):
    """(dtype, shape or None, exact, tolerance) of each result of `call`."""
    updated = {sh.var: new for sh, new in case.updates}
    results = [(e.var.dtype, e.shape, e.exact, tolerance(e.var)) for e in case.outputs]
    for sv, value in case.shared:
        new = updated.get(sv)
        results.append((sv.dtype, value.shape, True if new is None else new.exact,
                        tolerance(sv if new is None else new.var)))
    return results


def tolerance(var):
    """(rtol, atol) for an inexact value: float32's when float32 math went into it
    (a float32 tanh cast to float64 is as far off as the float32 was)."""
    seen, stack = set(), [var]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if getattr(v.type, "dtype", None) == "float32":
            return TOLERANCE["float32"]
        if v.owner is not None:
            stack.extend(v.owner.inputs)
            body = getattr(v.owner.op, "body", None)  # a scan: its body computes it too
            stack.extend(body.outputs if body is not None else [])
    return TOLERANCE.get(var.dtype)


def check_same(label, want, got, dtype, exact, tol):
    want, got = np.asarray(want), np.asarray(got)
    assert got.dtype.name == dtype, f"{label}: dtype {got.dtype.name}, expected {dtype}"
    assert got.shape == want.shape, f"{label}: shape {got.shape}, the reference gives {want.shape}"
    if exact or dtype not in TOLERANCE:
        same = np.array_equal(want, got, equal_nan=dtype in TOLERANCE)
        assert same, f"{label} differs (exact):\nreference: {want!r}\ngot:       {got!r}"
        return
    assert np.array_equal(np.isnan(want), np.isnan(got)), \
        f"{label}: NaNs in other places:\nreference: {want!r}\ngot:       {got!r}"
    rtol, atol = tol
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=label)


def outcome(case, mode, optimize):
    """What a call of the case does in one mode: ("values", results of `call`) or
    ("error", the loopc error class it raised). Another exception is a bug: it fails here."""
    f = compile_case(case, mode, optimize)
    try:
        return "values", call(case, f), f
    except LoopcError as exc:
        return "error", type(exc), f
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 -- reported as the failure it is
        raise AssertionError(f"{describe(mode, optimize)}: {exc!r} is not a loopc error") from exc


def describe(mode, optimize):
    return f"{mode} (optimizer {'on' if optimize else 'off'})"


def check_case(case, modes):
    """Error agreement, then the values: every mode returns what the oracle returns, or
    raises the loopc error class the oracle raises (the case's own, for a faulty case).
    Returns {(mode, optimize): (what, values or error class, compiled function)}."""
    results = {(mode, optimize): outcome(case, mode, optimize) for mode, optimize in [ORACLE] + modes}
    summary = ", ".join(f"{describe(*key)}: {got.__name__ if what == 'error' else 'values'}"
                        for key, (what, got, _) in results.items())
    kinds = {what for what, _, _ in results.values()}
    classes = {got for what, got, _ in results.values() if what == "error"}
    assert len(kinds) == 1 and len(classes) <= 1, f"modes disagree: {summary}"
    what, want, _ = results[ORACLE]
    if case.error is not None:
        assert what == "error" and issubclass(want, case.error), \
            f"expected {case.error.__name__} from the fault {case.fault!r}; {summary}"
        return results
    assert what == "values", f"a legal case raised: {summary}"
    for k, (result, (dtype, shape, _, _)) in enumerate(zip(want, expectations(case))):
        result = np.asarray(result)
        assert result.dtype.name == dtype, f"result {k}: dtype {result.dtype.name}, expected {dtype}"
        if shape is not None:
            assert result.shape == shape, f"result {k}: shape {result.shape}, expected {shape}"
    for mode, optimize in modes:
        _, got, f = results[(mode, optimize)]
        assert len(got) == len(want)
        try:
            for k, (w, g, (dtype, _, exact, tol)) in enumerate(zip(want, got, expectations(case))):
                check_same(f"{describe(mode, optimize)}, result {k}", w, g, dtype, exact, tol)
        except AssertionError as exc:
            if not optimize:
                raise
            raise AssertionError(f"{exc}\n(the reference evaluator's outputs first differ {first_bad_stage(case, f, want)})") \
                from None
    return results


def first_bad_stage(case, f, want):
    """Where the passes went wrong: the first stage of `f` whose graph, run by the reference
    evaluator, gives outputs other than `want`."""
    n = len(case.outputs)
    position = {sv: n + k for k, (sv, _) in enumerate(case.shared)}
    # graph outputs: the function's outputs, then the new values of its updates
    slots = list(range(n)) + [position.get(sv) for sv, _ in f.updates]
    for name, graph in f.stages:
        case.reset_shared()
        values = case.arguments() + [copy.deepcopy(sv.container[0]) for sv in f.shared]
        try:
            got = evaluate(graph, values)
        except Exception as exc:  # noqa: BLE001 -- reported, not handled
            return f"after pass {name!r} (it raises {exc!r})"
        pairs = [(np.asarray(want[k]), np.asarray(g)) for k, g in zip(slots, got) if k is not None]
        if not all(np.array_equal(a, b, equal_nan=a.dtype.kind == "f") for a, b in pairs):
            return f"after pass {name!r}"
    return "in no stage: the backend itself"


def same_state(a, b):
    sa, sb = a.get_state(), b.get_state()
    return all(np.array_equal(x, y) for x, y in zip(sa, sb))


def check_failing(case, modes):
    """A faulty call raises the fault's loopc error class in every mode (`check_case`), and
    leaves every shared variable and random state as it was."""
    for (mode, optimize), (_, _, f) in check_case(case, modes).items():
        case.reset_shared()
        with pytest.raises(LoopcError):
            f(*case.arguments())
        for sv, value in case.shared:
            assert np.array_equal(sv.get_value(), value), f"{describe(mode, optimize)}: a failed call changed {sv.name}"
        for rng, state in case.rngs:
            assert same_state(rng.get_value(), state), \
                f"{describe(mode, optimize)}: a failed call advanced a random state"


any_case = st.one_of(cases(), scan_cases(), indexing_cases())


# The PY tests first: they are quick, so `pytest -x` (and tools/mutants.py) stops early.
@settings(max_examples=EXAMPLES["agree"])
@given(any_case)
def test_modes_agree(case):
    check_case(case, MODES)


# Each fault gets its share of the examples: a fault drawn from one list would be
# drawn unevenly (Hypothesis favours the first entries).
@pytest.mark.parametrize("fault", FAULTS)
def test_failing_calls_fail_alike(fault):
    run_failing(fault, EXAMPLES["fail"] // len(FAULTS), MODES)


@settings(max_examples=EXAMPLES["agree_numba"])
@given(any_case)
def test_modes_agree_numba(case):
    check_case(case, NUMBA_MODES)


@pytest.mark.parametrize("fault", FAULTS)
def test_failing_calls_fail_alike_numba(fault):
    run_failing(fault, max(EXAMPLES["fail_numba"] // len(FAULTS), 2), NUMBA_MODES)


def run_failing(fault, examples, modes):
    @settings(max_examples=examples)
    @given(failing_cases(fault))
    def check(case):
        check_failing(case, modes)
    check()


# -- gradients (issue 14) ----------------------------------------------------------------------
# grad_cases() draws a float64 graph of differentiable ops (scans too) reduced to a scalar
# cost, and wrt among its float inputs and shared variables. The function under test returns
# the cost and its gradients: it must agree across modes as any case does (`check_case`), and
# its gradients must be the derivatives of the oracle's cost (central differences).

FD_EPS = 1e-6
FD_RTOL, FD_ATOL = 1e-5, 1e-7  # atol is relative to 1 + |cost| (rounding in the cost, over 2 * eps)


def with_grads(case):
    """The case with the gradients of its cost as outputs after the cost."""
    grads = loopc.grad(case.cost, case.wrt, disconnected_inputs="ignore")
    shapes = [p.shape for p in case.point()]
    case.outputs = [case.outputs[0]] + [Expr(g, shape, f"d cost / d {name}", False)
                                        for g, shape, name in zip(grads, shapes, case.wrt_names)]
    return case


def _input_index(case, w):
    return next(k for k, v in enumerate(case.inputs) if v is w)


def cost_at(case, f_cost, point):
    """The cost with wrt moved to `point` (shared variables set, inputs replaced)."""
    case.reset_shared()
    args = case.arguments()
    shared = {id(sv) for sv, _ in case.shared}
    for w, value in zip(case.wrt, point):
        if id(w) in shared:
            w.set_value(value)
        else:
            args[_input_index(case, w)] = value
    try:
        return float(f_cost(*args)[0])
    finally:
        case.reset_shared()


def check_central_differences(case, analytic):
    """The gradients against central differences of the oracle's cost, along two random
    directions (the cost's change over +-eps and +-2 eps must agree first: where a branch,
    an until condition or rounding makes them differ, the point is not one to check)."""
    with optimizer(False):
        f_cost = loopc.function(case.inputs, [case.cost], mode=ORACLE[0], on_unused_input="ignore")
    point = case.point()
    cost = cost_at(case, f_cost, point)
    assume(np.isfinite(cost) and abs(cost) < 1e6)
    rng = np.random.default_rng(0)
    for _ in range(2):
        v = [rng.standard_normal(p.shape) for p in point]

        def slope(h):
            up = cost_at(case, f_cost, [p + h * d for p, d in zip(point, v)])
            down = cost_at(case, f_cost, [p - h * d for p, d in zip(point, v)])
            return (up - down) / (2 * h)
        want = sum(float(np.sum(g * d)) for g, d in zip(analytic, v))
        scale = sum(float(np.sum(np.abs(g * d))) for g, d in zip(analytic, v))
        d1, d2 = slope(FD_EPS), slope(2 * FD_EPS)
        tol = FD_RTOL * max(scale, abs(d1)) + FD_ATOL * (1 + abs(cost))
        assume(abs(d1 - d2) <= tol)
        if not abs(d1 - want) <= tol:
            raise AssertionError(_worst_element(case, f_cost, point, analytic, cost) +
                                 f"\n(along a random direction: {want!r} analytically, {d1!r} numerically)")


def _worst_element(case, f_cost, point, analytic, cost):
    """Names the input and the index where the gradient is farthest from its central difference."""
    worst = (-1.0, "no single element differs beyond the tolerance")
    for k, (p, g) in enumerate(zip(point, analytic)):
        for j in range(p.size):
            moved = [q.copy() for q in point]
            moved[k].flat[j] += FD_EPS
            up = cost_at(case, f_cost, moved)
            moved[k].flat[j] -= 2 * FD_EPS
            numeric = (up - cost_at(case, f_cost, moved)) / (2 * FD_EPS)
            a = float(np.asarray(g).flat[j])
            err = abs(a - numeric) / (FD_RTOL * max(abs(a), abs(numeric)) + FD_ATOL * (1 + abs(cost)))
            if not err <= worst[0]:
                at = [int(i) for i in np.unravel_index(j, p.shape)]
                worst = (err, f"d cost / d {case.wrt_names[k]}{at} is {a!r} analytically but {numeric!r} numerically")
    return worst[1]


@settings(max_examples=EXAMPLES["grad"])
@given(grad_cases())
def test_grad_modes_agree(case):
    check_case(with_grads(case), MODES)


@settings(max_examples=EXAMPLES["grad_fd"])
@given(st.one_of(grad_cases(scan=True), grad_cases()))
def test_grad_matches_central_differences(case):
    case = with_grads(case)
    f = compile_case(case, *ORACLE)
    values = call(case, f)
    check_central_differences(case, values[1:len(case.outputs)])


# Numba compiles a gradient through a scan in 2-10 s: a few cases, each around a scan.
@settings(max_examples=EXAMPLES["grad_numba"])
@given(grad_cases(scan=True))
def test_grad_modes_agree_numba(case):
    check_case(with_grads(case), [("NUMBA", True)])
