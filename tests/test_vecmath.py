"""The vectorizable math kernels of `loopc.runtime.vecmath` against NumPy.

Errors are measured two ways: the distance in ulps to NumPy's float64 result (an
integer, from the floats' bit patterns), and the error in ulps (a fraction) against
the same function evaluated in long double, where long double is wider than float64.
Each kernel runs compiled, in a loop of a caller without fastmath (one module-scoped
caller for all seven kernels, as generated code calls them), and as plain Python.
"""
import platform
import re

import numba
import numpy as np
import pytest
import scipy.special

from loopc.runtime import vecmath as vm

NAMES = ["exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus"]
LD = np.longdouble
WIDE_LD = np.finfo(LD).nmant >= 63  # x86's 80-bit or a 128-bit long double

# Bounds on the error in ulps against the exact value (measured maxima in the module's
# docstring, each below its bound) and on the distance to NumPy's float64 result.
ULP_EXACT = {"exp": 0.85, "expm1": 1.1, "log": 0.85, "log1p": 0.9, "tanh": 1.05,
             "sigmoid": 1.15, "softplus": 1.2}
ULP_NUMPY = {"exp": 1, "expm1": 1, "log": 1, "log1p": 1, "tanh": 1, "sigmoid": 2, "softplus": 2}
# NumPy's own float32 exp, expm1, log and log1p are up to 3 ulps from correctly rounded
ULP_NUMPY32 = {"exp": 3, "expm1": 3, "log": 3, "log1p": 3, "tanh": 1, "sigmoid": 0, "softplus": 0}

# the range where each function is not just a constant or x, and a narrow core
USEFUL = {"exp": [(-746, 710), (-2, 2)], "expm1": [(-40, 710), (-1, 1), (-1e-3, 1e-3)],
          "log": [(0, 10), (0.5, 2)], "log1p": [(-1, 10), (-0.5, 0.5), (-1e-3, 1e-3)],
          "tanh": [(-20, 20), (-1.5, 1.5)], "sigmoid": [(-746, 40), (-10, 10)],
          "softplus": [(-746, 40), (-10, 10)]}


def ordered(a):
    """Integers in the order of the floats `a` (float64 or float32): neighbouring floats
    are neighbouring integers, -0.0 and +0.0 are the same."""
    if a.dtype == np.float32:
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, np.int64(-2**31) - i, i)
    i = a.view(np.int64)
    return np.where(i < 0, np.int64(-2**63) - i, i)


def ulps_apart(a, b):
    """The number of floats between `a` and `b` (0 for two NaNs, inf for one NaN)."""
    oa, ob = ordered(a), ordered(b)
    same_sign = (oa < 0) == (ob < 0)
    near = np.abs(np.where(same_sign, oa - ob, 0)).astype(np.float64)        # no overflow
    far = np.abs(oa).astype(np.float64) + np.abs(ob).astype(np.float64)     # opposite signs
    d = np.where(same_sign, near, far)
    return np.where(np.isnan(a) & np.isnan(b), 0.0, np.where(np.isnan(a) | np.isnan(b), np.inf, d))


def numpy_f64(name, x):
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            return scipy.special.expit(x)
        if name == "softplus":
            return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)
        return getattr(np, name)(x)


def exact(name, x):
    """The function in long double."""
    xl = x.astype(LD)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            return LD(1) / (LD(1) + np.exp(-xl))
        if name == "softplus":
            return np.log1p(np.exp(-np.abs(xl))) + np.maximum(xl, LD(0))
        return getattr(np, name)(xl)


def ulp_error(y, ref):
    """|y - ref| in ulps of float64 at ref (a long double); 0 where ref rounds to a
    non-finite float64 and y is that value."""
    with np.errstate(all="ignore"):
        rd = ref.astype(np.float64)
        err = np.abs(y.astype(LD) - ref) / np.spacing(np.abs(rd)).astype(LD)
    special = ~np.isfinite(rd)
    agree = (y == rd) | (np.isnan(y) & np.isnan(rd))
    return np.where(special, np.where(agree, 0.0, np.inf), err.astype(np.float64))


def inputs(name, n_bits=100_000, n_dense=150_000):
    """Every binade of both signs (subnormals to the largest float), random bit patterns,
    and dense draws over the function's useful ranges."""
    rng = np.random.default_rng(NAMES.index(name))
    with np.errstate(over="ignore"):
        pos = np.geomspace(5e-324, np.finfo(np.float64).max, 200_001)
    bits = rng.integers(-2**63, 2**63 - 1, n_bits, dtype=np.int64).view(np.float64)
    dense = [rng.uniform(lo, hi, n_dense) for lo, hi in USEFUL[name]]
    x = np.concatenate([pos, -pos, bits] + dense)
    return x[np.isfinite(x)]


def boundaries(name):
    """Floats around the points where a result overflows, becomes subnormal or
    underflows to zero, or where a kernel switches method."""
    points = {"exp": [709.782712893384, -708.3964185322641, -745.1332191019412, -745.1332191019411],
              "expm1": [709.782712893384, -37.42994775023705, 0.34657359027997264, 5.551115123125783e-17],
              "log": [2.2250738585072014e-308, 1.0, 0.7071067811865476, 1.4142135623730951],
              "log1p": [-1.0, 5.551115123125783e-17, -0.2928932188134524, 0.41421356237309515],
              "tanh": [0.625, 19.0, 20.0, 2.0**-27],
              "sigmoid": [-745.1332191019412, -708.3964185322641, 36.7368005696771, 0.0],
              "softplus": [-745.1332191019412, -708.3964185322641, 36.7368005696771, 0.0]}[name]
    steps = np.arange(-300, 301)
    out = []
    for p in points:
        for s in (p, -p):
            ip = np.float64(s).view(np.int64)
            out.append((ip + steps).view(np.float64) if s != 0 else steps * 5e-324)
    x = np.concatenate(out)
    return x[np.isfinite(x)]


SPECIALS = {
    "exp": [(0.0, 1.0), (-0.0, 1.0), (np.inf, np.inf), (-np.inf, 0.0), (np.nan, np.nan),
            (710.0, np.inf), (1e300, np.inf), (-746.0, 0.0), (-1e300, 0.0), (5e-324, 1.0), (1.0, np.e)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.inf), (-np.inf, -1.0), (np.nan, np.nan),
              (710.0, np.inf), (-40.0, -1.0), (-1e300, -1.0), (5e-324, 5e-324), (-5e-324, -5e-324),
              (1e-300, 1e-300), (-1e-20, -1e-20)],
    "log": [(1.0, 0.0), (0.0, -np.inf), (-0.0, -np.inf), (-1.0, np.nan), (-5e-324, np.nan),
            (-np.inf, np.nan), (np.inf, np.inf), (np.nan, np.nan), (2.0, np.log(2.0))],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -np.inf), (-1.0000000000000002, np.nan), (-np.inf, np.nan),
              (np.inf, np.inf), (np.nan, np.nan), (5e-324, 5e-324), (-5e-324, -5e-324),
              (1e-300, 1e-300), (-1e-20, -1e-20)],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (np.inf, 1.0), (-np.inf, -1.0), (np.nan, np.nan),
             (5e-324, 5e-324), (-5e-324, -5e-324), (1e-300, 1e-300), (-1e-300, -1e-300),
             (20.0, 1.0), (-20.0, -1.0), (1e300, 1.0), (-1e300, -1.0)],
    "sigmoid": [(0.0, 0.5), (-0.0, 0.5), (np.inf, 1.0), (-np.inf, 0.0), (np.nan, np.nan),
                (40.0, 1.0), (1e300, 1.0), (-746.0, 0.0), (-1e300, 0.0)],
    "softplus": [(0.0, np.log(2.0)), (-0.0, np.log(2.0)), (np.inf, np.inf), (-np.inf, 0.0),
                 (np.nan, np.nan), (1e300, 1e300), (40.0, 40.0), (-746.0, 0.0), (-1e300, 0.0)],
}


def same_bits(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))


# -- the compiled kernels, called the way generated code calls them ---------------------

@numba.njit(error_model="numpy")
def _run_all(x, out):
    for i in range(x.shape[0]):
        v = x[i]
        out[0, i] = vm.exp(v)
        out[1, i] = vm.expm1(v)
        out[2, i] = vm.log(v)
        out[3, i] = vm.log1p(v)
        out[4, i] = vm.tanh(v)
        out[5, i] = vm.sigmoid(v)
        out[6, i] = vm.softplus(v)


@numba.njit(error_model="numpy")
def _run_all_f32(x, out):
    for i in range(x.shape[0]):
        v = np.float64(x[i])  # float32 -> float64, call, round once on the store
        out[0, i] = vm.exp(v)
        out[1, i] = vm.expm1(v)
        out[2, i] = vm.log(v)
        out[3, i] = vm.log1p(v)
        out[4, i] = vm.tanh(v)
        out[5, i] = vm.sigmoid(v)
        out[6, i] = vm.softplus(v)


@pytest.fixture(scope="module")
def jit():
    """`jit(name, x)`: the compiled kernel over the array x, through one shared caller."""
    def call(name, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty((len(NAMES), x.size))
        _run_all(x, out)
        return out[NAMES.index(name)]
    return call


@pytest.fixture(scope="module")
def jit32():
    def call(name, x):
        out = np.empty((len(NAMES), x.size), np.float32)
        _run_all_f32(np.ascontiguousarray(x, dtype=np.float32), out)
        return out[NAMES.index(name)]
    return call


def py(name, x):
    with np.errstate(over="ignore", under="ignore"):  # as NumPy, overflow warns
        return np.array([vm.PY[name](v) for v in x], dtype=np.float64)


# -- tests ------------------------------------------------------------------------------

def test_the_dicts_name_the_same_kernels():
    assert list(vm.PY) == NAMES and list(vm.JIT) == NAMES
    for name in NAMES:
        assert vm.JIT[name] is getattr(vm, name) and vm.PY[name] is getattr(vm, "py_" + name)


@pytest.mark.parametrize("name", NAMES)
def test_jit_matches_numpy(jit, name):
    x = np.concatenate([inputs(name), boundaries(name)])
    got, want = jit(name, x), numpy_f64(name, x)
    if name == "sigmoid":  # NumPy's 1/(1+exp(-x)) underflows to 0 early: see test_sigmoid_subnormal
        keep = x > -709.0
        got, want, x = got[keep], want[keep], x[keep]
    d = ulps_apart(got, want)
    i = np.argmax(d)
    assert d.max() <= ULP_NUMPY[name], f"{name}({x[i]!r}) = {got[i]!r}, NumPy {want[i]!r}"


@pytest.mark.skipif(not WIDE_LD, reason="long double is float64 here")
@pytest.mark.parametrize("name", NAMES)
def test_jit_ulp_error(jit, name):
    x = np.concatenate([inputs(name), boundaries(name)])
    got = jit(name, x)
    e = ulp_error(got, exact(name, x))
    i = np.argmax(e)
    assert e.max() <= ULP_EXACT[name], f"{name}({x[i]!r}) = {got[i]!r}: {e[i]:.3f} ulp"


@pytest.mark.parametrize("name", NAMES)
def test_py_matches(jit, name):
    """The plain-Python kernel on a sample: the same bounds, and within an ulp of the
    compiled one (which may fuse a multiply and an add)."""
    rng = np.random.default_rng(100 + NAMES.index(name))
    x = np.concatenate([rng.choice(inputs(name, 20_000, 20_000), 2500, replace=False),
                        rng.choice(boundaries(name), 300, replace=False)])
    got = py(name, x)
    keep = x > -709.0 if name == "sigmoid" else slice(None)
    assert ulps_apart(got[keep], numpy_f64(name, x)[keep]).max() <= ULP_NUMPY[name]
    if WIDE_LD:
        assert ulp_error(got, exact(name, x)).max() <= ULP_EXACT[name]
    assert ulps_apart(got, jit(name, x)).max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_specials(jit, name):
    x, want = map(np.array, zip(*SPECIALS[name]))
    # e and log(2) (in exp(1), log(2), softplus(+-0)) are correctly rounded here, but
    # need only be within the bounds
    rounded = np.isin(want, [np.e, np.log(2.0)])
    for label, got in (("jit", jit(name, x)), ("py", py(name, x))):
        ok = same_bits(got, want) | (rounded & (ulps_apart(got, want) <= 1))
        assert ok.all(), f"{label} {name}{list(x[~ok])} = {list(got[~ok])}, want {list(want[~ok])}"


@pytest.mark.parametrize("name", ["exp", "expm1", "sigmoid", "softplus"])
def test_overflow_and_underflow_where_numpy_does(jit, name):
    """Around the overflow threshold the result is inf exactly where NumPy's is, and
    around the underflow threshold 0 exactly where the exact value rounds to 0."""
    x = boundaries(name)
    got = jit(name, x)
    want = numpy_f64(name, x) if name != "sigmoid" else exact(name, x).astype(np.float64)
    assert np.array_equal(np.isinf(got), np.isinf(want))
    assert np.array_equal(got == 0.0, want == 0.0)
    assert np.array_equal(py(name, x) == 0.0, want == 0.0)


@pytest.mark.skipif(not WIDE_LD, reason="long double is float64 here")
def test_sigmoid_subnormal(jit):
    """Below x = -709.78 NumPy's exp(-x) overflows and 1/(1+exp(-x)) gives 0; the stable
    kernel gives exp(x) (subnormal) down to -745.13, as the exact value."""
    x = np.linspace(-746.0, -700.0, 50_001)
    want = exact("sigmoid", x).astype(np.float64)
    assert ulps_apart(jit("sigmoid", x), want).max() <= 1
    assert (jit("sigmoid", np.array([-720.0])) > 0).all()


@pytest.mark.skipif(not WIDE_LD, reason="long double is float64 here")
@pytest.mark.parametrize("name", NAMES)
def test_float32_rule(jit32, name):
    """float32 values converted to float64, the kernel, one rounding on the store: within
    an ulp of the correctly rounded float32 result, and of NumPy's float32 ufunc (give or
    take that ufunc's own error)."""
    rng = np.random.default_rng(200 + NAMES.index(name))
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    pos = np.geomspace(1e-45, 3.4e38, 100_000).astype(np.float32)
    lo, hi = USEFUL[name][-1]
    x = np.concatenate([bits, pos, -pos, rng.uniform(lo, hi, 200_000).astype(np.float32)])
    x = x[np.isfinite(x)]
    got = jit32(name, x)
    with np.errstate(all="ignore"):
        rounded_once = exact(name, x).astype(np.float32)
        if name in ("sigmoid", "softplus"):  # loopc's float32 formula: float64 math, one rounding
            numpy32 = numpy_f64(name, x.astype(np.float64)).astype(np.float32)
        else:
            numpy32 = numpy_f64(name, x)
    assert ulps_apart(got, rounded_once).max() <= 1
    assert ulps_apart(got, numpy32).max() <= ULP_NUMPY32[name]


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"),
                    reason="no SIMD double vectors known here")
def test_caller_loop_vectorizes(jit):
    """The kernels are inlined into the caller's loop (no calls left) and the loop works
    on vectors of doubles, though the caller has no fastmath."""
    jit("exp", np.ones(4))
    ir = _run_all.inspect_llvm(_run_all.signatures[0])
    calls = [line for line in ir.splitlines() if re.search(r"\bcall\b.*runtime\d+vecmath", line)]
    assert not calls, calls[:3]
    assert re.search(r"<\d+ x double>", ir)
