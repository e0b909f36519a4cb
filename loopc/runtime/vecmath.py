"""Float64 transcendental kernels that LLVM vectorizes inside a Numba loop.

Numba lowers np.tanh, np.exp, ... to libm calls, one scalar call per element. These
kernels are plain float64 arithmetic, integer operations on the bit patterns and
selects (no branches that survive, no calls), so a loop calling them becomes SIMD code.
Each kernel is a function of one float64 scalar, written in NumPy scalar operations
that run both as plain Python on np.float64 values (`PY`, `py_<name>`) and compiled
(`JIT`, `<name>`); NumPy's semantics: sigmoid(x) = 1/(1 + exp(-x)) and
softplus(x) = log1p(exp(-|x|)) + max(x, 0).

Algorithms (coefficients fitted near-minimax in 60-digit arithmetic for this module):

- exp: n = round(x/ln2) by adding 1.5*2**52, r = x - n*ln2 in two parts (Cody-Waite:
  n*LN2_HI is exact) with the rounding error of r kept; exp(r) = 1 + r + r*r*E(r), E of
  degree 10 on |r| <= 0.35, 1 + r summed exactly so that one rounding is left; times 2**n
  as two powers of 2 built in the exponent field (so overflow to inf and subnormal
  results come out of one final rounding). Inputs clamped to [-746, 710].
- expm1: the same reduction; n = 0 keeps r = x exactly; otherwise 2**n - 1 + 2**n*r
  summed as hi + lo before adding 2**n*r*r*E(r); n >= 1000 goes through exp. |x| < 2**-54
  gives x; x < -40 gives -1.
- log, log1p: x = 2**k * m with sqrt(1/2) <= m < sqrt(2) from the bits (subnormals scaled
  by 2**54 first), f = m - 1, s = f/(2 + f), log(m) = f - (f*f/2 - s*(f*f/2 + z*L(z))),
  z = s*s, L of degree 7, plus k*ln2 in two parts. log1p forms u = 1 + x and its exact
  error c (Fast2Sum) and adds c/u.
- tanh: |x| < 0.625: x + x*s*T(s), s = x*x, T of degree 11; above, 1 - 2/(exp(2|x|) + 1)
  with exp(2|x|) + 1 carried as hi + lo into the division; |x| >= 20 gives +-1; the sign
  is copied from x's bit (so tanh(-0) = -0).
- sigmoid: e = exp(-|x|) as hi + lo, then 1/(1 + e) (x >= 0) or e/(1 + e) (x < 0) with
  a first-order correction for the low parts. Stable: for x < -709.78, where NumPy's
  1/(1 + exp(-x)) overflows inside and gives 0, this gives exp(x) (subnormal down to
  x = -745.13), the exact value rounded.
- softplus: log1p(exp(-|x|)) + max(x, 0), exp's low part fed to log1p's correction.

±0, ±inf and NaN give exactly NumPy's results (sign of zero included: expm1, log1p and
tanh keep -0; log(±0) = -inf, log(x < 0) = NaN, log1p(-1) = -inf); results overflow to
inf and underflow to 0 exactly where NumPy's do (sigmoid: where the exact value does).
The PY functions never raise NumPy's invalid or divide flags; they raise overflow and
underflow where a result does, and also for some inputs where NumPy's do not (exp(inf)
overflows inside, NaN inputs may underflow inside): run them under
np.errstate(all='ignore'), as loopc's PY mode does.

Measured error (compiled, on ~10M points per kernel: every binade of both signs, random
bit patterns, dense draws over each useful range; against long double), max ulp:

    exp 0.77 (0.65 for normal results)   expm1 1.07   log 0.82   log1p 0.83
    tanh 1.02   sigmoid 1.09   softplus 1.15

and at most 1 ulp from NumPy's float64 result (2 for softplus, whose NumPy formula is
itself off by up to 1.6 ulp, and for sigmoid against scipy.special.expit, off by up to
2.3). NumPy's own float64: exp 0.72, expm1 0.53, log 0.61, log1p 0.61, tanh 1.19. The
PY versions are within the same bounds; they differ from the compiled ones (which fuse
multiply-adds) by 1 ulp on about 0.05-0.35% of inputs. tests/test_vecmath.py holds the
bounds.

float32: callers convert to float64, call, and round once on the store
(`out32[i] = tanh(np.float64(x32[i]))`). Measured on 4M float32 inputs per kernel: no
result differs from the correctly rounded float32 value (double rounding can miss it
with a probability near 2**-28); NumPy's float32 ufuncs are themselves up to 3 ulps
(exp 2, expm1 3, log 3, log1p 2, tanh 1) from correctly rounded, so the results are
within that of np.<fn> on float32, not within 1 ulp of it.

Speed, ns/element, a caller loop `out[i] = vecmath.tanh(x[i])` under
@numba.njit(error_model='numpy') without fastmath, n = 1e6, best of 41 runs (medians
up to 0.3 higher; the 2 cores were shared), AMD EPYC (Zen 4, AVX-512), Numba 0.68:

    kernel     this (zmm)   np.<fn> in the loop (libm)   NumPy ufunc   float32 via this
    exp          0.99            4.4                        0.81          0.99
    expm1        1.35           10.3                        1.14          1.27
    log          1.24            3.4                        0.75          1.00
    log1p        1.41            8.9                        0.99          1.27
    tanh         1.81           13.5 (25 earlier)           1.68          1.87
    sigmoid      1.57            4.2                        1.48 (3 ufuncs)  1.46
    softplus     2.68            9.1                        3.29 (5 ufuncs)  2.32

(NumPy's float32 ufuncs: 0.34-0.45 ns.) A PY call costs 3-8 us against 0.2 us for
np.tanh on an np.float64.

How the kernels get into the caller's loop, measured: each kernel is
njit(error_model='numpy', fastmath={'contract'}, forceinline=True, cache=True).
forceinline puts LLVM's alwaysinline on the compiled kernel, so the kernel (compiled
once, from Numba's disk cache) is inlined into any caller at the LLVM level with its own
instruction flags: the caller needs no fastmath (nor does a caller's fastmath=True
reach the kernels: the same bits on 7M inputs, NaN and inf included; never compile the
kernels themselves with fastmath=True: reassoc undoes the rounding tricks and nnan folds
the NaN selects). Without forceinline LLVM's heuristics inline exp, log, log1p and
sigmoid but not expm1, tanh and softplus, whose loops stay scalar calls (8, 13-25 and
19 ns). inline='always' (Numba IR inlining)
also vectorizes but retypes the kernel in every caller: +0.3-0.45 s per caller compile,
never cached. A module attribute (vecmath.tanh) and an imported name are the same (Numba
freezes globals). Without contract the loop still vectorizes, about 30% slower (tanh
2.48, log 1.60, softplus 3.8 ns), and the compiled results equal the PY ones bit for bit.

Compile cost for a caller (cold process, caller not cached): with the kernels in Numba's
cache, a loop calling one kernel compiles in 0.08-0.12 s against 0.06-0.09 s for a loop
without it and 0.06-0.14 s with np.tanh; all seven kernels in one loop 0.14-0.17 s
(libm: 0.13-0.15 s). A kernel not yet in the cache (first use on a machine, or after
this file changes) costs about 0.4 s once (all seven: 1.8 s). Calling py_<name> from
jitted code (below) adds about 0.02-0.03 s.

Calling from generated code: in NUMBA mode call `vecmath.<name>(v)` with v a float64
(convert float32 and integer values with np.float64 first: each other argument type
compiles another specialization of the kernel). In PY mode call `vecmath.py_<name>(v)`.
Generated source that runs in both modes may spell `vecmath.py_<name>(v)`: jitted code
calling py_<name> is overloaded to call the compiled kernel (converting v to float64),
so the same text runs the plain-Python kernel in PY mode and the vectorized one in NUMBA
mode. Compiled callers inline the kernels: a cache key of compiled callers must include
this file's source, as it does runtime.py's.
"""
import numpy as np

try:
    import numba
    from numba.extending import overload, register_jitable
except ImportError:  # without Numba the plain functions still run (PY mode)
    numba = None

_OPTS = {"error_model": "numpy", "fastmath": {"contract"}, "forceinline": True}
_jitable = register_jitable(**_OPTS) if numba is not None else (lambda fn: fn)

# -- constants ----------------------------------------------------------------------

_INV_LN2 = 1.4426950408889634            # 1/ln 2 rounded
_LN2_HI = 0.6931471803691238             # ln 2 with its low 21 mantissa bits cleared: n*_LN2_HI is exact
_LN2_LO = 1.9082149292705877e-10         # ln 2 - _LN2_HI rounded
_SHIFT = 6755399441055744.0              # 1.5 * 2**52: t + _SHIFT rounds t to an integer kept in the low bits
_SHIFT_BITS = 0x4338000000000000         # the bits of _SHIFT
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD     # the bits of sqrt(0.5) rounded
_MANT_MASK = 0x000FFFFFFFFFFFFF
_MIN_NORMAL = 2.2250738585072014e-308
_TWO54 = 18014398509481984.0             # 2**54
_TINY = 5.551115123125783e-17            # 2**-54: below it log1p(x) = expm1(x) = x
_INF = np.inf
_NAN = np.nan

# exp(r) - 1 - r = r**2 * E(r) on |r| <= 0.35 (near-minimax, degree 10; error < 2**-61 of exp(r))
_E0 = 0.5
_E1 = 0.1666666666666667
_E2 = 0.04166666666666667
_E3 = 0.008333333333325551
_E4 = 0.0013888888888883332
_E5 = 0.00019841269876840357
_E6 = 2.480158732699005e-05
_E7 = 2.755725286336732e-06
_E8 = 2.755727183153613e-07
_E9 = 2.5106262550879078e-08
_E10 = 2.0915433598076003e-09

# 2*atanh(s)/s - 2 = z * L(z), z = s*s <= 0.0295 (near-minimax, degree 7; error < 2**-60 of log(1+f))
_L0 = 0.6666666666666666
_L1 = 0.4000000000000088
_L2 = 0.2857142857080323
_L3 = 0.2222222239180047
_L4 = 0.18181795630884753
_L5 = 0.15386240205813478
_L6 = 0.13268759668560612
_L7 = 0.13086767009948175

# tanh(x)/x - 1 = s * T(s), s = x*x <= 0.625**2 (near-minimax, degree 11; error < 2**-56 of tanh(x))
_T0 = -0.3333333333333333
_T1 = 0.13333333333333042
_T2 = -0.05396825396789699
_T3 = 0.021869488519008305
_T4 = -0.008863235103240878
_T5 = 0.0035921217511549622
_T6 = -0.0014557754120478055
_T7 = 0.0005896606577757043
_T8 = -0.0002375906496055562
_T9 = 9.257116129556769e-05
_T10 = -3.12011014257974e-05
_T11 = 6.485163482793113e-06
_TANH_SPLIT = 0.625


# -- shared pieces (plain Python functions that jitted code can call too) --------------

@_jitable
def _pow2(n):
    """2.0**n for an integer -1022 <= n <= 1023, from the exponent field."""
    return np.int64((n + 1023) << 52).view(np.float64)


@_jitable
def _exp_reduce(x):
    """x = n*ln2 + r + w to about 2**-60 relative, for a float64 |x| < 2**40:
    n = round(x/ln2) (an integer), |r| <= 0.35 a double and w = exp(r) - 1 - r, corrected for
    the rounding of r. Returns (n, r, w)."""
    t = x * _INV_LN2 + _SHIFT
    nf = t - _SHIFT                                  # round(x / ln 2) as a float
    n = np.float64(t).view(np.int64) - _SHIFT_BITS   # ... and as an integer
    rh = x - nf * _LN2_HI                            # exact
    rl = nf * _LN2_LO
    r = rh - rl
    c = (rh - r) - rl                                # what rounding r lost
    p = _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + _E1
    p = p * r + _E0
    return n, r, (r * r) * p + c


@_jitable
def _exp_mant(r, w):
    """exp(r) = 1 + r + w, with 1 + r split exactly so that one rounding is left."""
    hi = 1.0 + r
    lo = (1.0 - hi) + r
    return hi + (lo + w)


@_jitable
def _exp_finite(x):
    """exp(x) for a float64 -746 <= x <= 710 (not NaN): overflow to inf and
    subnormal results come out of the final scaling."""
    n, r, w = _exp_reduce(x)
    n1 = n >> 1                                      # 2**n = 2**n1 * 2**n2, each in range
    return (_exp_mant(r, w) * _pow2(n1)) * _pow2(n - n1)


@_jitable
def _exp_split(x):
    """exp(x) = eh + el (el about 2**-53 of eh, lost where eh is subnormal), for a
    float64 -746 <= x <= 0."""
    n, r, w = _exp_reduce(x)
    hi = 1.0 + r
    lo = (1.0 - hi) + r + w
    p = hi + lo
    pl = (hi - p) + lo
    n1 = n >> 1
    s1 = _pow2(n1)
    s2 = _pow2(n - n1)
    return (p * s1) * s2, (pl * s1) * s2


@_jitable
def _log1p_parts(u, c, kadj):
    """log(u + c) + kadj*log(2) for a normal u > 0 and a correction |c| <= ulp(u): u = 2**k * m
    with sqrt(0.5) <= m < sqrt(2), log(m) = f - (hfsq - s*(hfsq + z*L(z)))."""
    i = np.float64(u).view(np.int64)
    d = i - _SQRT_HALF_BITS
    k = (d >> 52) + kadj
    m = np.int64((d & _MANT_MASK) + _SQRT_HALF_BITS).view(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    q = _L7
    q = q * z + _L6
    q = q * z + _L5
    q = q * z + _L4
    q = q * z + _L3
    q = q * z + _L2
    q = q * z + _L1
    q = q * z + _L0
    hfsq = 0.5 * f * f
    kf = np.float64(k)
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + z * q) + (kf * _LN2_LO + c / u))) - f)


@_jitable
def _log1p_unit(eh, el):
    """log1p(eh + el) for 0 <= eh <= 1, |el| <= ulp(eh)."""
    u = 1.0 + eh
    y = _log1p_parts(u, (eh - (u - 1.0)) + el, 0)
    return eh if eh < _TINY else y


# -- the kernels ------------------------------------------------------------------------

def py_exp(x):
    x = np.float64(x)
    xc = x if x > -746.0 else -746.0                 # NaN -> -746, replaced below
    xc = xc if xc < 710.0 else 710.0
    y = _exp_finite(xc)
    return x if x != x else y


def py_expm1(x):
    x = np.float64(x)
    xc = x if x > -40.0 else -40.0                   # expm1(-40) rounds to -1; NaN -> -40
    xc = xc if xc < 710.0 else 710.0
    n, r, w = _exp_reduce(xc)                        # n = 0: r = x, w = expm1(x) - x
    s = _pow2(n if n < 1023 else 1023)
    a = s - 1.0                                      # exact for |n| <= 53
    b = s * r
    hi = a + b                                       # |a| >= |b| unless a = 0
    lo = (a - hi) + b
    small = hi + (lo + s * w)                        # 2**n * (1 + r + w) - 1
    n1 = n >> 1
    big = (_exp_mant(r, w) * _pow2(n1)) * _pow2(n - n1)  # n near 1024: the -1 is lost anyway
    y = small if n < 1000 else big
    y = xc if abs(xc) < _TINY else y                 # also +-0
    return x if x != x else y


def py_log(x):
    x = np.float64(x)
    xc = x if x > 0.0 else 1.0                       # NaN, 0 and negatives: replaced below
    sub = xc < _MIN_NORMAL
    xs = xc * _TWO54 if sub else xc
    y = _log1p_parts(xs, 0.0, -54 if sub else 0)
    y = _INF if x == _INF else y
    y = -_INF if x == 0.0 else y
    y = _NAN if x < 0.0 else y
    return x if x != x else y


def py_log1p(x):
    x = np.float64(x)
    xc = x if x > -1.0 else 0.0
    xc = xc if xc < _INF else 0.0
    u = 1.0 + xc
    c = xc - (u - 1.0) if xc < 1.0 else 1.0 - (u - xc)   # u + c = 1 + x exactly
    y = _log1p_parts(u, c, 0)
    y = xc if abs(xc) < _TINY else y
    y = _INF if x == _INF else y
    y = -_INF if x == -1.0 else y
    y = _NAN if x < -1.0 else y
    return x if x != x else y


def py_tanh(x):
    x = np.float64(x)
    a = abs(x)
    sm = a if a < _TANH_SPLIT else _TANH_SPLIT       # NaN -> the split, replaced below
    s = sm * sm
    t = _T11
    t = t * s + _T10
    t = t * s + _T9
    t = t * s + _T8
    t = t * s + _T7
    t = t * s + _T6
    t = t * s + _T5
    t = t * s + _T4
    t = t * s + _T3
    t = t * s + _T2
    t = t * s + _T1
    t = t * s + _T0
    ys = sm + sm * (s * t)
    lg = a if a < 20.0 else 20.0                      # tanh(20) rounds to 1
    lg = lg if lg > _TANH_SPLIT else _TANH_SPLIT
    n, r, w = _exp_reduce(lg + lg)                    # 2 <= n <= 58
    e = _pow2(n)
    e1 = e + 1.0                                      # exp(2a) + 1 = e1 + e*r + e*w,
    er = e * r                                        # summed as hi + lo:
    h1 = e1 + er
    l1 = (e1 - h1) + er
    ew = e * w
    hi = h1 + ew
    lo = l1 + ((h1 - hi) + ew)
    d = 2.0 / hi
    d = d - d * (lo * (0.5 * d))                      # 2/(hi + lo)
    yl = 1.0 - d
    y = ys if a < _TANH_SPLIT else yl
    y = -y if np.float64(x).view(np.int64) < 0 else y
    return x if x != x else y


def py_sigmoid(x):
    x = np.float64(x)
    a = abs(x)
    a = a if a < 746.0 else 746.0
    eh, el = _exp_split(-a)                          # e = exp(-|x|) = eh + el
    dh = 1.0 + eh                                    # 1 + e = dh + dl
    dl = ((1.0 - dh) + eh) + el
    pos = x >= 0.0
    y = (1.0 if pos else eh) / dh                    # 1/(1 + e) or e/(1 + e), then
    inv = y if pos else 1.0 - y                      # ~ 1/dh, to correct for dl and el
    y = y + ((0.0 if pos else el) - y * dl) * inv
    return x if x != x else y


def py_softplus(x):
    x = np.float64(x)
    a = abs(x)
    a = a if a < 746.0 else 746.0
    eh, el = _exp_split(-a)
    y = _log1p_unit(eh, el) + (x if x > 0.0 else 0.0)
    return x if x != x else y


PY = {"exp": py_exp, "expm1": py_expm1, "log": py_log, "log1p": py_log1p,
      "tanh": py_tanh, "sigmoid": py_sigmoid, "softplus": py_softplus}


def _jit(py):
    """The compiled kernel of `py`, and an overload that makes jitted code calling `py`
    call it."""
    kernel = numba.njit(py, cache=True, **_OPTS)

    @overload(py, jit_options=_OPTS)
    def _call_kernel(x):
        return lambda x: kernel(np.float64(x))  # one compiled signature, float64
    return kernel


JIT = {}
if numba is not None:
    exp = _jit(py_exp)
    expm1 = _jit(py_expm1)
    log = _jit(py_log)
    log1p = _jit(py_log1p)
    tanh = _jit(py_tanh)
    sigmoid = _jit(py_sigmoid)
    softplus = _jit(py_softplus)
    JIT = {"exp": exp, "expm1": expm1, "log": log, "log1p": log1p,
           "tanh": tanh, "sigmoid": sigmoid, "softplus": softplus}
