"""Hypothesis strategies that build random, well-typed loopc graphs (issue 8).

`cases()` draws a `Case`: symbolic inputs with concrete values, shared
variables with theirs, outputs and updates, all built through the public
`loopc.tensor` / `loopc.scan` API exactly as a user would, and a recipe (Python
source that rebuilds the case) that is what Hypothesis prints on a failure.
Every generated graph is legal: it must run without error in every mode, and
the shape of every value is known to the generator (it is checked too).
`failing_cases()` draws a small legal case plus one injected fault that must
raise a given loopc error class when called.

What a graph is made of: elementwise chains over bool, int32, int64, float32
and float64 with broadcasting and weak Python scalars (operators and `T.*`
spellings), constants and Python scalars on either side of every binary op,
0-d arithmetic between every pair of dtypes (int8 and uint8 too) and with
Python scalars, reductions with axis (negative, tuples) and keepdims, dot, basic
indexing and slicing (negative steps, symbolic bounds, new axes), integer-vector
indexing, set/inc_subtensor, casts, switch, clip, cumsum, cumprod, sort, argsort,
repeat, shape ops, constants, random draws
(RandomStreams), shared variables with updates, and scans (also map, reduce,
foldl, foldr): random tap sets on sequences and states, states of one type
whose updates read each other's taps (so a state nobody outside reads may still
be needed), None outputs, non_sequences and captured values, go_backwards,
constant or symbolic n_steps, until, shared updates inside the loop (pairs of
one type, so updates swap), random draws redrawn each step, and scans nested in
scans. Inputs hold zeros, negatives, NaN and inf (floats only, never as
indices; sometimes one special value everywhere, which shows a reduction's
identity), empty arrays, and come in C, Fortran, strided or reversed memory
layouts. `failing_cases` plants one fault of FAULTS in such a graph: shapes that
do not agree (a run-time length 1 on an axis not flagged broadcastable among
them), indices out of bounds, reductions without identity over empty axes,
sizes a reshape or alloc cannot take, scan states and outputs that change shape,
too few initial rows or sequence rows, repeat counts of the wrong length or negative.
`grad_cases()` draws a float64 graph of differentiable ops (`GradBuilder`, scans
with all of the above but shared updates) reduced to a scalar cost, and the
variables to differentiate it with respect to.

Exactness: each value records whether every mode must produce it bit for bit.
Transcendental functions (libm versus NumPy's SIMD loops), float sums, products
and means (summation order) and float dot products (BLAS) are only accurate to a
few ulp, and whatever is computed from such a value is inexact too. Operations
that are discontinuous or singular (comparisons, rounding, casts to int or bool,
mod, division, argmax, switch and until conditions, sqrt and log near 0) only
take exact operands, so that an ulp never becomes a different branch.

Values stay small (|x| <= 100, at most 3 elements an axis, at most 5 steps a
loop), so integer arithmetic does not overflow in practice.
"""
import copy
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import loopc
import loopc.tensor as T
from loopc.errors import LoopcIndexError, LoopcTypeError, LoopcValueError, ScanError, ShapeError
from loopc.ir.graph import ancestors, toposort
from loopc.ir.ops import RandomOp
from loopc.tensor.shared_randomstreams import RandomStreams

DTYPES = ("float64", "int64", "float32", "int32", "bool")
DISCRETE = ("bool", "int32", "int64", "int8", "uint8")
# Every dtype pair meets in 0-d arithmetic (`scalar_binary`), small integers included.
SCALAR_DTYPES = DTYPES + ("int8", "uint8")
NAMES = ("x", "y", "W", "np", "t", "fn", "n_steps", "const", "math", "1x", "a b", "", None)
MAX_SCANS = 3
# Scans with non-recurrent outputs may run no step (their rows then have the shape
# the first step would give, where no step value decides it).
ZERO_STEP_OUTPUTS = True

# name -> (needs exact operands, result exact when the operands are)
UNARY = {
    "neg": (False, True), "abs": (False, True), "sqr": (False, True),
    "sgn": (True, True), "floor": (True, True), "ceil": (True, True), "trunc": (True, True),
    "round": (True, True), "isnan": (True, True), "isinf": (True, True), "invert": (True, True),
    # smooth on the whole line: an ulp in gives a few ulp out
    "exp": (False, False), "expm1": (False, False), "tanh": (False, False), "sin": (False, False),
    "cos": (False, False), "arctan": (False, False), "sinh": (False, False), "cosh": (False, False),
    "sigmoid": (False, False), "softplus": (False, False), "arcsinh": (False, False), "erf": (False, False),
    # singular or with a domain edge
    "sqrt": (True, False), "log": (True, False), "log1p": (True, False), "log2": (True, False),
    "log10": (True, False), "arcsin": (True, False), "arccos": (True, False), "arctanh": (True, False),
    "arccosh": (True, False), "tan": (True, False), "inv": (True, False), "exp2": (True, False),
}
UNARY_SYNTAX = {"neg": "-{}", "abs": "abs({})", "invert": "~{}"}

# name -> (T function, operator or None, needs exact operands, result exact)
BINARY = {
    "add": ("add", "+", False, True), "sub": ("sub", "-", False, True), "mul": ("mul", "*", False, True),
    "maximum": ("maximum", None, False, True), "minimum": ("minimum", None, False, True),
    "true_div": ("true_div", "/", True, True), "int_div": ("int_div", "//", True, True),
    "mod": ("mod", "%", True, True), "eq": ("eq", None, True, True), "neq": ("neq", None, True, True),
    "lt": ("lt", "<", True, True), "le": ("le", "<=", True, True), "gt": ("gt", ">", True, True),
    "ge": ("ge", ">=", True, True), "and": ("and_", "&", True, True), "or": ("or_", "|", True, True),
    "xor": ("xor", "^", True, True), "pow": ("pow", "**", True, False), "arctan2": ("arctan2", None, True, False),
}
BINARY_SYNTAX = {
    "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y,
    "//": lambda x, y: x // y, "%": lambda x, y: x % y, "<": lambda x, y: x < y, "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y, ">=": lambda x, y: x >= y, "&": lambda x, y: x & y, "|": lambda x, y: x | y,
    "^": lambda x, y: x ^ y, "**": lambda x, y: x ** y,
}
REDUCTIONS = ("sum", "max", "min", "prod", "mean", "argmax", "argmin", "any", "all")
PY_SCALARS = (2, -1, 0, 1, 3, 0.5, -1.5, 0.0, 1.0, 2.0, True, False, float("inf"), float("nan"))


@dataclass
class Expr:
    """A variable of the graph being built, its concrete shape, and its recipe name."""
    var: object
    shape: tuple
    name: str
    exact: bool = True

    @property
    def dtype(self):
        return self.var.dtype

    @property
    def ndim(self):
        return self.var.ndim

    @property
    def bcast(self):
        return self.var.broadcastable


class Case:
    """A generated graph with its inputs' values; its repr is the recipe.

    outputs: Exprs (shape None for a length only the run decides); updates:
    (shared Expr, update Expr); shared: (SharedVariable, initial value); error:
    for a failing case, the loopc error class a call must raise."""

    def __init__(self, inputs, values, outputs, updates, shared, recipe, error=None, fault=None, layouts=None,
                 rngs=()):
        self.inputs, self.values, self.outputs, self.updates = inputs, values, outputs, updates
        self.shared, self.recipe, self.error, self.fault = shared, recipe, error, fault
        self.layouts = layouts or ["C"] * len(values)
        self.rngs = list(rngs)  # (random state shared variable, its initial RandomState)

    def reset_shared(self):
        """Every shared variable back to its initial value, random states included."""
        for sv, value in self.shared:
            sv.set_value(value)
        for rng, state in self.rngs:
            rng.set_value(copy.deepcopy(state))

    def arguments(self):
        """Fresh copies of the input values, each in its drawn memory layout."""
        return [relayout(v, how) for v, how in zip(self.values, self.layouts)]

    def __repr__(self):
        return self.recipe


LAYOUTS = ("C", "C", "F", "strided", "reversed")


def relayout(value, how):
    """A copy of `value` laid out in memory as `how` says: C order, Fortran order, every
    other element of a larger array, or with negative strides."""
    value = np.array(value)
    if value.ndim == 0 or how == "C":
        return value
    if how == "F":
        return np.asfortranarray(value)
    if how == "strided":
        big = np.zeros(tuple(2 * n for n in value.shape), value.dtype)
        view = big[tuple(slice(None, None, 2) for _ in value.shape)]
        view[...] = value
        return view
    return np.ascontiguousarray(value[::-1])[::-1]


def src(value):
    """Python source of a NumPy value."""
    a = np.asarray(value)
    body = repr(a.tolist()).replace("nan", "float('nan')").replace("inf", "float('inf')")
    if a.size == 0 and a.ndim > 1:  # [] or [[], []] lose the lengths after the first 0
        return f"np.zeros({a.shape!r}, dtype='{a.dtype.name}')"
    return f"np.array({body}, dtype='{a.dtype.name}')"


def broadcast(*items):
    """(shape, broadcastable) of an elementwise result over Exprs or Python scalars
    (Theano's rule: dimensions not flagged broadcastable must agree), or None."""
    dims = [(x.shape, x.bcast) if isinstance(x, Expr) else ((), ()) for x in items]
    ndim = max(len(s) for s, _ in dims)
    shape, flags = [], []
    for axis in range(ndim):
        lengths, all_bcast = set(), True
        for s, b in dims:
            k = axis - (ndim - len(s))
            if k >= 0 and not b[k]:
                all_bcast = False
                lengths.add(s[k])
        if len(lengths) > 1:
            return None
        shape.append(lengths.pop() if lengths else 1)
        flags.append(all_bcast)
    return tuple(shape), tuple(flags)


def is_exact(x):
    return x.exact if isinstance(x, Expr) else True


def code(x):
    if isinstance(x, float) and not math.isfinite(x):
        return f"float('{x}')"
    text = x.name if isinstance(x, Expr) else repr(x)
    return f"({text})" if text.startswith("-") else text


def var(x):
    return x.var if isinstance(x, Expr) else x


def _discrete(x):
    """An integer or bool Expr or Python number."""
    return x.dtype in DISCRETE if isinstance(x, Expr) else not isinstance(x, float)


def elements(dtype, specials):
    if dtype == "bool":
        return st.booleans()
    if dtype == "uint8":
        return st.one_of(st.integers(0, 3), st.sampled_from([0, 7, 100, 255]))
    if dtype == "int8":
        return st.one_of(st.integers(-3, 3), st.sampled_from([0, 7, -100, 100, 127, -128]))
    if dtype.startswith("int"):
        return st.one_of(st.integers(-3, 3), st.sampled_from([0, 7, -100, 100]))
    width = 32 if dtype == "float32" else 64
    finite = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5, -0.0]), st.floats(-10, 10, width=width))
    if not specials:
        return finite
    return st.one_of(finite, st.sampled_from([float("nan"), float("inf"), float("-inf")]))


class Root:
    """What the whole case shares: inputs, shared variables, updates, the recipe."""

    def __init__(self, draw):
        self.draw = draw
        self.inputs, self.values, self.input_lines = [], [], []
        self.shared = []          # (SharedVariable, value, Expr)
        self.claimed = set()      # names of shared variables that already have an update
        self.updates = []         # (shared Expr, update Expr)
        self.counter = {}
        self.n_scans = 0
        self.input_names = []
        self.extra_outputs = []   # scan outputs whose length only the run decides (until)
        self.streams = []         # RandomStreams
        self.rng_updates = []     # (rng Expr, new rng Expr) that scans return
        self.dims = draw(st.tuples(*[st.sampled_from([2, 3, 1, 2, 3, 1, 0]) for _ in range(3)]))

    def fresh(self, prefix):
        k = self.counter.get(prefix, 0)
        self.counter[prefix] = k + 1
        return f"{prefix}{k}"


class Builder:
    """Grows a pool of Exprs in one scope (the function, or one scan body)."""

    dtypes = DTYPES  # of new scan states' initial rows
    update_ops = ("add", "sub", "mul", "maximum", "minimum")  # how a numeric state's new value is made

    def __init__(self, root, pool=(), depth=0):
        self.root, self.draw, self.depth = root, root.draw, depth
        self.pool = list(pool)
        self.lines = []

    # -- bookkeeping --------------------------------------------------------------
    def add(self, variable, shape, exact, text):
        name = self.root.fresh("v")
        self.lines.append(f"{name} = {text}")
        shape = tuple(int(n) for n in shape)
        assert variable.ndim == len(shape), (text, variable.type, shape)
        assert all(n == 1 for n, b in zip(shape, variable.broadcastable) if b), (text, variable.type, shape)
        e = Expr(variable, shape, name, exact)
        self.pool.append(e)
        return e

    def pick(self, candidates):
        candidates = list(candidates)
        if not candidates:
            return None
        return self.draw(st.sampled_from(candidates[::-1]))

    def coin(self, p=0.5):
        return self.draw(st.floats(0, 1)) < p

    def apply(self, fn, *args):
        """`fn(*args)`, or None when the frontend rejects it with a loopc type error
        (an op not defined for these dtypes); any other exception is a bug."""
        try:
            return fn(*args)
        except LoopcTypeError:
            return None

    # -- inputs -----------------------------------------------------------------------
    def draw_shape(self, ndim):
        shape, flags = [], []
        dims = self.root.dims
        for axis in range(ndim):
            how = self.draw(st.sampled_from(["aligned", "aligned", "aligned", "one", "any"]))
            if how == "aligned":
                n = dims[axis - ndim]
            elif how == "one":
                n = 1
            else:
                n = self.draw(st.sampled_from([2, 3, 1, 0]))
            shape.append(n)
            flags.append(n == 1 and self.coin(0.6))
        return tuple(shape), tuple(flags)

    def new_input(self, dtype=None, shape=None, flags=None, value=None):
        d = self.draw
        dtype = dtype or d(st.sampled_from(DTYPES))
        if shape is None:
            shape, flags = self.draw_shape(d(st.sampled_from([1, 2, 0, 3])))
        flags = flags if flags is not None else (False,) * len(shape)
        label = d(st.sampled_from(NAMES))
        variable = T.TensorType(dtype, flags)(label)
        if value is None and dtype.startswith("float") and self.coin(0.1):
            # one special everywhere: a reduction of all -inf, all NaN, ... shows its identity
            value = np.full(shape, d(st.sampled_from([float("-inf"), float("inf"), float("nan"), -0.0])), dtype)
        if value is None:
            specials = dtype.startswith("float") and self.coin(0.3)
            value = d(hnp.arrays(dtype, shape, elements=elements(dtype, specials)))
        value = np.asarray(value, dtype=dtype)
        root = self.root
        name = root.fresh("x")
        root.inputs.append(variable)
        root.values.append(value)
        root.input_names.append(name)
        root.input_lines.append(f"{name} = T.TensorType('{dtype}', {tuple(flags)!r})({label!r})")
        root.input_lines.append(f"{name}_value = {src(value)}")
        e = Expr(variable, tuple(shape), name, True)
        self.pool.append(e)
        return e

    def special_input(self):
        """A new float input of nothing but -inf, inf and NaN (all one of them, or mixed)."""
        d = self.draw
        dtype = d(st.sampled_from(["float64", "float32"]))
        shape, flags = self.draw_shape(d(st.sampled_from([1, 2, 3])))
        specials = st.sampled_from([float("-inf"), float("inf"), float("nan")])
        if self.coin():
            value = np.full(shape, d(specials), dtype)
        else:
            value = d(hnp.arrays(dtype, shape, elements=specials))
        return self.new_input(dtype, shape, flags, value)

    def int_input(self, value):
        """A new symbolic integer scalar input holding `value`."""
        dtype = self.draw(st.sampled_from(["int64", "int32"]))
        return self.new_input(dtype, (), (), np.array(value, dtype=dtype))

    def new_shared(self, like=None):
        """A new shared variable; of the type and shape of the Expr `like` when given."""
        d = self.draw
        if like is None:
            dtype = d(st.sampled_from(DTYPES))
            shape, _ = self.draw_shape(d(st.sampled_from([1, 0, 2])))
        else:
            dtype, shape = like.dtype, like.shape
        value = np.asarray(d(hnp.arrays(dtype, shape, elements=elements(dtype, False))), dtype=dtype)
        name = self.root.fresh("s")
        sv = loopc.shared(value, name=name)
        self.root.input_lines.append(f"{name} = loopc.shared({src(value)}, name={name!r})")
        e = Expr(sv, tuple(shape), name, True)
        self.root.shared.append((sv, value, e))
        self.pool.append(e)
        return e

    # -- growing ------------------------------------------------------------------------
    def grow(self, steps):
        actions = [self.unary, self.binary, self.binary, self.scalar_binary, self.switch, self.cast, self.reduce,
                   self.dot, self.index, self.shape_op, self.concatenate, self.new_input, self.constant, self.take,
                   self.set_subtensor, self.random, self.advanced_index, self.advanced_index, self.tensor_product,
                   self.along_axis]
        for _ in range(steps):
            action = self.draw(st.sampled_from(actions + [self.scan] * (2 if self.depth < 2 else 0)))
            if action() is None:
                self.unary() or self.binary()

    def operand(self, need_exact=False, where=lambda e: True):
        return self.pick(e for e in self.pool if (e.exact or not need_exact) and where(e))

    def constant(self):
        d = self.draw
        dtype = d(st.sampled_from(DTYPES))
        shape, _ = self.draw_shape(d(st.sampled_from([0, 1, 0, 2])))
        value = np.asarray(d(hnp.arrays(dtype, shape, elements=elements(dtype, self.coin(0.2)))), dtype=dtype)
        return self.add(T.constant(value), shape, True, f"T.constant({src(value)})")

    def random(self):
        """A draw from a new RandomStreams; inside a scan body it is redrawn each step."""
        d = self.draw
        if self.depth > 1:
            return None  # a nested scan's random updates would have to be returned by the outer fn
        seed = d(st.integers(0, 2 ** 16))
        rs = RandomStreams(seed)
        self.root.streams.append(rs)
        name = self.root.fresh("rs")
        self.lines.append(f"{name} = RandomStreams({seed})")
        shape, _ = self.draw_shape(d(st.sampled_from([1, 0, 2])))
        dist, kwargs = d(st.sampled_from([("uniform", dict(low=-1.0, high=1.0)), ("normal", {}),
                                          ("binomial", dict(n=1, p=0.5)),
                                          ("random_integers", dict(low=-3, high=3))]))
        out = getattr(rs, dist)(size=shape, **kwargs)
        args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        return self.add(out, shape, True, f"{name}.{dist}(size={shape!r}{args})")

    def unary(self):
        d = self.draw
        name = d(st.sampled_from(sorted(UNARY)))
        need_exact, keeps_exact = UNARY[name]
        x = self.operand(need_exact)
        if x is None:
            return None
        if name in UNARY_SYNTAX and self.coin():
            fn, text = {"neg": lambda v: -v, "abs": abs, "invert": lambda v: ~v}[name], UNARY_SYNTAX[name]
        else:
            fn = getattr(T, {"abs": "abs_"}.get(name, name))
            text = f"T.{fn.__name__}({{}})"
        out = self.apply(fn, x.var)
        if out is None:
            return None
        return self.add(out, x.shape, x.exact and keeps_exact, text.format(x.name))

    def scalar_or_operand(self, a, need_exact):
        """A second operand broadcastable with `a`: a Python scalar, a constant or a pool Expr."""
        if self.coin(0.3):
            return self.draw(st.sampled_from(PY_SCALARS))
        if self.coin(0.2):
            return self.constant_like(a)
        return self.operand(need_exact, lambda e: broadcast(a, e) is not None)

    def constant_like(self, a):
        """A constant that broadcasts with `a`: 0-d, one element per axis, or `a`'s shape."""
        d = self.draw
        dtype = d(st.sampled_from(DTYPES))
        shape = d(st.sampled_from([(), (1,) * a.ndim, a.shape]))
        value = np.asarray(d(hnp.arrays(dtype, shape, elements=elements(dtype, self.coin(0.2)))), dtype=dtype)
        variable = T.constant(value)
        if broadcast(a, Expr(variable, shape, "")) is None:
            return None
        return self.add(variable, shape, True, f"T.constant({src(value)})")

    def binary(self):
        d = self.draw
        op = d(st.sampled_from(sorted(BINARY)))
        a = self.operand(BINARY[op][2])
        if a is None:
            return None
        b = self.scalar_or_operand(a, BINARY[op][2])
        if b is None:
            return None
        if self.coin(0.4):
            a, b = b, a  # constants and Python scalars on either side
        return self.combine(op, a, b)

    def scalar_binary(self):
        """Two 0-d operands of any two dtypes (small integers too), or one and a Python scalar."""
        d = self.draw

        def scalar():
            dtype = d(st.sampled_from(SCALAR_DTYPES))
            value = np.asarray(d(elements(dtype, dtype.startswith("float") and self.coin(0.2))), dtype=dtype)
            how = d(st.sampled_from(["input", "constant", "python"]))
            if how == "input":
                return self.new_input(dtype, (), (), value)
            if how == "constant":
                return self.add(T.constant(value), (), True, f"T.constant({src(value)})")
            return d(st.sampled_from(PY_SCALARS))
        a, b = scalar(), scalar()
        if not isinstance(a, Expr) and not isinstance(b, Expr):
            a = self.new_input("float64", (), (), np.float64(d(elements("float64", False))))
        return self.combine(d(st.sampled_from(sorted(BINARY))), a, b)

    def combine(self, op, a, b):
        """`op` of the Exprs or Python scalars `a` and `b` (None when it is not defined for them)."""
        d = self.draw
        fname, symbol, need_exact, keeps_exact = BINARY[op]
        if need_exact and not (is_exact(a) and is_exact(b)):
            return None
        if op == "pow" and _discrete(a) and _discrete(b):
            b = d(st.integers(0, 3))  # integers to negative integer powers are not defined
            if not isinstance(a, Expr):
                return None
        shape, _ = broadcast(a, b)
        if symbol and self.coin():
            fn = BINARY_SYNTAX[symbol]
            text = f"({code(a)} {symbol} {code(b)})"
        else:
            fn = getattr(T, fname)
            text = f"T.{fname}({code(a)}, {code(b)})"
        out = self.apply(fn, var(a), var(b))
        if out is None:
            return None
        return self.add(out, shape, is_exact(a) and is_exact(b) and keeps_exact, text)

    def switch(self):
        cond = self.operand(True)
        if cond is None:
            return None
        a = self.scalar_or_operand(cond, False)
        b = self.scalar_or_operand(cond, False) if a is not None else None
        if b is None or broadcast(cond, a, b) is None:
            return None
        out = self.apply(T.switch, cond.var, var(a), var(b))
        if out is None:
            return None
        shape, _ = broadcast(cond, a, b)
        return self.add(out, shape, is_exact(a) and is_exact(b), f"T.switch({cond.name}, {code(a)}, {code(b)})")

    def cast(self):
        d = self.draw
        dtype = d(st.sampled_from(DTYPES))
        x = self.operand(dtype in DISCRETE)
        if x is None:
            return None
        if x.dtype.startswith("float") and dtype.startswith("int"):
            # a float that is NaN, inf or huge has no int value (NumPy and LLVM differ): clip first
            safe = T.switch(T.isnan(x.var), 0, T.clip(x.var, -50, 50))
            text = f"T.cast(T.switch(T.isnan({x.name}), 0, T.clip({x.name}, -50, 50)), '{dtype}')"
            return self.add(T.cast(safe, dtype), x.shape, True, text)
        return self.add(T.cast(x.var, dtype), x.shape, x.exact, f"T.cast({x.name}, '{dtype}')")

    def reduce(self):
        d = self.draw
        kind = d(st.sampled_from(REDUCTIONS))
        if self.coin(0.25):
            x = self.special_input()  # where an identity or NaN rule shows
        else:
            x = self.operand(kind in ("argmax", "argmin", "any", "all"))
        if x is None:
            return None
        axis = self.draw_axis(x, single=kind in ("argmax", "argmin"))
        axes = range(x.ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
        axes = sorted(a % x.ndim for a in axes) if x.ndim else []
        if kind in ("max", "min", "argmax", "argmin") and any(x.shape[a] == 0 for a in axes):
            return None  # no identity: an error, drawn by failing_cases
        keepdims = self.coin(0.3)
        shape = [1 if a in axes else n for a, n in enumerate(x.shape)] if keepdims else \
            [n for a, n in enumerate(x.shape) if a not in axes]
        if kind in ("argmax", "argmin") and axis is None and keepdims:
            shape = [1] * x.ndim
        inexact = kind in ("sum", "prod", "mean") and x.dtype.startswith("float")
        if kind in ("sum", "prod", "mean", "max", "min", "argmax") and self.coin(0.3):
            out, text = getattr(x.var, kind)(axis=axis, keepdims=keepdims), f"{x.name}.{kind}"
        else:
            out, text = getattr(T, kind)(x.var, axis=axis, keepdims=keepdims), f"T.{kind}"
        arg = "" if text.startswith(x.name) else f"{x.name}, "
        return self.add(out, shape, x.exact and not inexact, f"{text}({arg}axis={axis!r}, keepdims={keepdims})")

    def along_axis(self):
        """cumsum, cumprod, sort, argsort, repeat (one count) along an axis or flattened, or clip."""
        d = self.draw
        how = d(st.sampled_from(["cumsum", "cumprod", "sort", "argsort", "repeat", "clip"]))
        if how == "clip":
            x = self.operand()
            lo, hi = d(st.sampled_from([-1, 0, 0.5, -2.5])), d(st.sampled_from([1, 2, 0.5, 3.0]))
            out = None if x is None else self.apply(T.clip, x.var, lo, hi)
            return None if out is None else self.add(out, x.shape, x.exact, f"T.clip({x.name}, {lo!r}, {hi!r})")
        # cumprod of ints could overflow, which NumPy and Numba need not agree on
        x = self.operand(how == "argsort", where=lambda e: how != "cumprod" or e.dtype in ("bool", "float32",
                                                                                          "float64"))
        if x is None:
            return None
        axis = None if x.ndim == 0 or self.coin(0.3) else d(st.integers(-x.ndim, x.ndim - 1))
        shape = (math.prod(x.shape),) if axis is None else tuple(x.shape)
        if how == "repeat":
            count = d(st.integers(0, 2))
            out = T.repeat(x.var, count, axis=axis)
            shape = list(shape)
            shape[0 if axis is None else axis % x.ndim] *= count
            return self.add(out, shape, x.exact, f"T.repeat({x.name}, {count}, axis={axis!r})")
        out = getattr(T, how)(x.var, axis=axis)
        # sorting permutes the values (stable, so argsort is exact too); float sums and products round
        exact = x.exact and (how in ("sort", "argsort") or not x.dtype.startswith("float"))
        return self.add(out, shape, exact, f"T.{how}({x.name}, axis={axis!r})")

    def draw_axis(self, x, single=False):
        d = self.draw
        if x.ndim == 0:
            return None
        how = d(st.sampled_from(["one", "none", "tuple"] if not single else ["one", "none"]))
        if how == "none":
            return None
        if how == "one" or x.ndim == 1:
            return d(st.integers(-x.ndim, x.ndim - 1))
        axes = d(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
        return tuple(a - x.ndim if self.coin(0.3) else a for a in axes)

    def dot(self):
        a = self.operand(where=lambda e: e.ndim <= 2)
        if a is None:
            return None

        def fits(b):
            return b.ndim <= 2 and (a.ndim == 0 or b.ndim == 0 or a.shape[-1] == b.shape[0])
        b = self.operand(where=fits)
        if b is None:
            return None
        if a.ndim == 0 or b.ndim == 0:
            shape = a.shape + b.shape
        else:
            shape = a.shape[:-1] + b.shape[1:]
        out = self.apply(T.dot, a.var, b.var)
        if out is None:
            return None
        exact = a.exact and b.exact and (out.dtype in DISCRETE or a.ndim == 0 or b.ndim == 0)
        text = f"({a.name} @ {b.name})" if self.coin(0.3) else f"T.dot({a.name}, {b.name})"
        return self.add(out, shape, exact, text)

    def index(self):
        d = self.draw
        x = self.operand(where=lambda e: e.ndim >= 1)
        if x is None:
            return None
        items, texts, shape = [], [], []
        k = d(st.integers(1, x.ndim))
        for axis in range(x.ndim):
            n = x.shape[axis]
            if axis >= k:
                shape.append(n)
                continue
            how = d(st.sampled_from(["int", "slice", "slice", "sym_int", "computed", "newaxis"]))
            if how in ("int", "sym_int", "computed") and n == 0:
                how = "slice"
            if how == "newaxis":
                items.append(None)
                texts.append("None")
                shape.append(1)
                how = "slice"
            if how == "int":
                i = d(st.integers(-n, n - 1))
                items.append(i)
                texts.append(repr(i))
            elif how == "sym_int":
                e = self.int_input(d(st.integers(-n, n - 1)))
                items.append(e.var)
                texts.append(e.name)
            elif how == "computed":
                e = self.operand(True, lambda e: e.ndim == 0 and e.dtype in ("int32", "int64"))
                if e is None:
                    items.append(0 % n)
                    texts.append("0")
                else:
                    items.append(e.var % n)
                    texts.append(f"({e.name} % {n})")
            else:
                parts, part_texts = [], []
                for what in ("start", "stop", "step"):
                    if self.coin(0.4):
                        parts.append(None)
                        part_texts.append("")
                        continue
                    if what == "step":
                        value = d(st.sampled_from([-1, 2, -2, 1, 3, -3]))
                    else:
                        value = d(st.integers(-n - 2, n + 2))
                    if what != "step" and self.coin(0.25):
                        e = self.int_input(value)
                        parts.append(e.var)
                        part_texts.append(e.name)
                    else:
                        parts.append(value)
                        part_texts.append(repr(value))
                concrete = slice(*[p if isinstance(p, int) or p is None else int(v) for p, v in
                                   zip(parts, [_value_of(self.root, p) for p in parts])])
                items.append(slice(*parts))
                texts.append(":".join(part_texts) if part_texts[2] else ":".join(part_texts[:2]))
                shape.append(len(range(*concrete.indices(n))))
        out = x.var[tuple(items)]
        return self.add(out, shape, x.exact, f"{x.name}[{', '.join(texts)},]")

    def take(self):
        """`x[v]` with an integer vector `v` (a constant or an input) on the first axis."""
        d = self.draw
        x = self.operand(where=lambda e: e.ndim >= 1 and e.shape[0] > 0)
        if x is None:
            return None
        n = x.shape[0]
        picks = np.array(d(st.lists(st.integers(-n, n - 1), max_size=4)), dtype=d(st.sampled_from(["int64", "int32"])))
        if self.coin():
            v = self.new_input(picks.dtype.name, picks.shape, (False,), picks)
            index, text = v.var, v.name
        else:
            index, text = T.constant(picks), f"T.constant({src(picks)})"
        return self.add(x.var[index], (len(picks),) + x.shape[1:], x.exact, f"{x.name}[{text}]")

    def index_array(self, n, shape):
        """An integer array of `shape` with values in [-n, n) (a constant or an input; its
        length-1 axes flagged broadcastable, so that it broadcasts as in NumPy)."""
        d = self.draw
        values = np.array(d(st.lists(st.integers(-n, n - 1), min_size=math.prod(shape), max_size=math.prod(shape))),
                          dtype=d(st.sampled_from(["int64", "int32"]))).reshape(shape)
        if self.coin():
            return T.constant(values), f"T.constant({src(values)})", values
        v = self.new_input(values.dtype.name, shape, tuple(k == 1 for k in shape), values)
        return v.var, v.name, values

    def advanced_index(self):
        """`x[...]` with NumPy's advanced indexing: integer arrays (several, broadcasting
        together, of any ndim, on any axes, negative or empty) among slices, ints and new
        axes, or a boolean mask."""
        d = self.draw
        x = self.operand(where=lambda e: e.ndim >= 1)
        if x is None:
            return None
        if self.coin(0.2):
            return self.mask_index(x)
        block = tuple(d(st.lists(st.sampled_from([2, 1, 3, 0]), min_size=1, max_size=2)))
        items, texts, concrete = [], [], []
        for axis in range(d(st.integers(1, x.ndim))):
            n = x.shape[axis]
            how = d(st.sampled_from(["array", "array", "slice", "int", "newaxis"]))
            if how == "newaxis":
                items.append(None)
                texts.append("None")
                concrete.append(None)
                how = "slice"
            if n == 0 and how in ("array", "int"):
                how = "slice"
            if how == "array":
                shape = tuple(1 if self.coin(0.3) else k for k in block[d(st.integers(0, len(block) - 1)):])
                var, text, values = self.index_array(n, shape)
            elif how == "int":
                values = d(st.integers(-n, n - 1))
                var, text = values, repr(values)
            else:
                bounds = [d(st.sampled_from([None, -1, 0, 1, n + 1])), d(st.sampled_from([None, -1, 1, 2])),
                          d(st.sampled_from([None, 1, -1, 2]))]
                values = var = slice(*bounds)
                text = ":".join("" if b is None else repr(b) for b in bounds)
            items.append(var)
            texts.append(text)
            concrete.append(values)
        if not any(isinstance(c, np.ndarray) for c in concrete):
            if x.shape[0] == 0 or concrete[0] is None:
                return None
            var, text, values = self.index_array(x.shape[0], block)
            items[0], texts[0], concrete[0] = var, text, values
        shape = np.empty(x.shape)[tuple(concrete)].shape
        return self.add(x.var[tuple(items)], shape, x.exact, f"{x.name}[{', '.join(texts)},]")

    def mask_index(self, x):
        """`x[mask]` or `x[:, mask]` with a boolean mask (a constant or an input) of the
        shape of the axes it covers; it may have no True."""
        d = self.draw
        start = d(st.integers(0, x.ndim - 1))
        shape = x.shape[start:start + d(st.integers(1, x.ndim - start))]
        mask = np.asarray(d(hnp.arrays("bool", shape)))
        if self.coin():
            var, text = T.constant(mask), f"T.constant({src(mask)})"
        else:
            v = self.new_input("bool", shape, tuple(k == 1 and self.coin() for k in shape), mask)
            var, text = v.var, v.name
        index = (slice(None),) * start + (mask,)
        out = x.var[(slice(None),) * start + (var,)]
        return self.add(out, np.empty(x.shape)[index].shape, x.exact, f"{x.name}[{':, ' * start}{text}]")

    def tensor_product(self):
        """N-d `T.dot`, `T.tensordot` or `T.batched_dot` of an operand and another whose
        lengths fit (from the pool, or a new input of that shape)."""
        d = self.draw
        how = d(st.sampled_from(["dot", "tensordot", "batched_dot"]))
        a = self.operand(where=lambda e: 1 <= e.ndim <= 3 and (how != "batched_dot" or e.ndim >= 2))
        if a is None:
            return None
        extra = tuple(d(st.lists(st.sampled_from([2, 1, 3, 0]), max_size=2)))
        if how == "dot":  # b's second-to-last axis (its only one for a vector) is a's last
            lead, last = (extra + (2, 3))[:2]
            shape = (lead, a.shape[-1], last) if a.ndim <= 2 else (a.shape[-1],) + extra[:1]
            args, text = (), ""
        elif how == "tensordot":
            n = d(st.integers(0, min(a.ndim, 2)))
            shape = a.shape[a.ndim - n:] + extra[:max(0, 4 - a.ndim + n) - n]
            args, text = (n,), f", {n}"
        else:
            shape = (a.shape[0], a.shape[-1]) + extra[:1]
            args, text = (), ""
        b = self.operand(where=lambda e: e.shape == tuple(shape)) if self.coin() else None
        b = b or self.new_input(d(st.sampled_from(DTYPES)), tuple(shape))
        fn = {"dot": T.dot, "tensordot": T.tensordot, "batched_dot": T.batched_dot}[how]
        out = self.apply(fn, a.var, b.var, *args)
        if out is None:
            return None
        ea, eb = np.zeros(a.shape), np.zeros(b.shape)
        if how == "dot":
            out_shape = np.dot(ea, eb).shape
        elif how == "tensordot":
            out_shape = np.tensordot(ea, eb, args[0]).shape
        else:
            out_shape = a.shape[:-1] + b.shape[2:]
        exact = a.exact and b.exact and out.dtype in DISCRETE
        return self.add(out, out_shape, exact, f"T.{how}({a.name}, {b.name}{text})")

    def set_subtensor(self, region=None):
        """`set_subtensor(x[idx], y)` or `inc_subtensor(...)` over a basic index, an int vector,
        an advanced index (`region`, when given, makes it), or the whole of a 0-d value (`s[()]`)."""
        if region is None and self.coin(0.15):
            return self.set_scalar()
        how = self.draw(st.floats(0, 1))
        if region is None:
            region = self.take if how < 0.25 else self.advanced_index if how < 0.5 else self.index
        region = region()
        if region is None or region.var.owner is None:
            return None
        owner = region.var.owner
        if type(owner.op).__name__ == "DimShuffle":
            return None  # x[None, ...]: not an indexing result to write through
        base = next((e for e in self.pool if e.var is owner.inputs[0]), None)
        if base is None:
            return None

        def fits(e):
            if e.ndim > region.ndim or (base.dtype in DISCRETE and e.dtype not in DISCRETE):
                return False
            got = broadcast(region, e)
            return got is not None and got[0] == region.shape
        y = self.operand(where=fits)
        if y is None and self.coin():  # a value of the region's shape
            y = self.new_input(self.draw(st.sampled_from(DISCRETE[:3] if base.dtype in DISCRETE else DTYPES)),
                               region.shape[self.draw(st.integers(0, region.ndim)):])
        if y is None:
            return None
        how = self.draw(st.sampled_from(["set_subtensor", "inc_subtensor"]))
        out = self.apply(getattr(T, how), region.var, y.var)
        if out is None:
            return None
        return self.add(out, base.shape, base.exact and y.exact, f"T.{how}({region.name}, {y.name})")

    def set_scalar(self):
        """`set_subtensor(s[()], y)` or `inc_subtensor(s[()], y)` of a 0-d `s`."""
        x = self.operand(where=lambda e: e.ndim == 0)
        if x is None:
            return None
        y = self.operand(where=lambda e: e.ndim == 0 and (x.dtype not in DISCRETE or e.dtype in DISCRETE))
        if y is None:
            return None
        how = self.draw(st.sampled_from(["set_subtensor", "inc_subtensor"]))
        out = self.apply(getattr(T, how), x.var[()], y.var)
        if out is None:
            return None
        exact = y.exact if how == "set_subtensor" else x.exact and y.exact
        return self.add(out, (), exact, f"T.{how}({x.name}[()], {y.name})")

    def shape_op(self):
        d = self.draw
        x = self.operand()
        if x is None:
            return None
        how = d(st.sampled_from(["T", "pad", "flatten", "shape_i", "shape_i"]))
        if how == "T":
            return self.add(x.var.T, x.shape[::-1], x.exact, f"{x.name}.T")
        if how == "pad":
            pos = d(st.integers(0, x.ndim))
            order = list(range(x.ndim))
            order.insert(pos, "x")
            shape = list(x.shape)
            shape.insert(pos, 1)
            return self.add(x.var.dimshuffle(*order), shape, x.exact, f"{x.name}.dimshuffle{tuple(order)!r}")
        if how == "flatten":
            return self.add(T.flatten(x.var), (math.prod(x.shape),), x.exact, f"T.flatten({x.name})")
        if x.ndim == 0:
            return None
        axis = d(st.integers(0, x.ndim - 1))
        return self.add(x.var.shape[axis], (), True, f"{x.name}.shape[{axis}]")

    def concatenate(self):
        a = self.operand(where=lambda e: e.ndim >= 1)
        if a is None:
            return None
        axis = self.draw(st.integers(0, a.ndim - 1))
        b = self.operand(where=lambda e: e.ndim == a.ndim and all(
            m == n for k, (m, n) in enumerate(zip(e.shape, a.shape)) if k != axis))
        if b is None:
            return None
        shape = list(a.shape)
        shape[axis] += b.shape[axis]
        out = T.concatenate([a.var, b.var], axis=axis)
        return self.add(out, shape, a.exact and b.exact, f"T.concatenate([{a.name}, {b.name}], axis={axis})")

    # -- values of a fixed type (scan states, updates, conditions) -----------------------
    def update_of(self, current, want_exact, partners=()):
        """A new value of exactly `current`'s type and shape, computed from it and the pool
        (from one of `partners` first, when one fits: another state's taps)."""
        d = self.draw
        if current.dtype == "bool":
            ops = ["and_", "or_", "xor"]
        else:
            ops = list(self.update_ops)
        op = d(st.sampled_from(ops))

        def fits(e):
            if e.ndim > current.ndim or (want_exact and not e.exact):
                return False
            if current.dtype in DISCRETE and e.dtype not in DISCRETE:
                return False  # an int state stays exact: never round a float into it
            if current.dtype == "bool" and e.dtype != "bool":
                return False
            got = broadcast(current, e)
            return got is not None and got == (current.shape, current.bcast)
        fitting = [e for e in partners if fits(e)]
        other = self.draw(st.sampled_from(fitting)) if fitting and self.coin(0.6) else self.operand(where=fits)
        if other is None or self.coin(0.1):
            other = d(st.sampled_from([1, 2, True] if current.dtype in DISCRETE else [0.5, -1.0, 2]))
            if current.dtype == "bool":
                other = True
        out = self.apply(getattr(T, op), current.var, var(other))
        if out is None:
            return current
        exact = current.exact and is_exact(other)
        text = f"T.{op}({current.name}, {code(other)})"
        if current.dtype.startswith("float") and not want_exact and self.coin(0.5):
            out, text, exact = T.tanh(out), f"T.tanh({text})", False
        out = T.cast(out, current.dtype)
        if out.type != current.var.type:
            return current
        return self.add(out, current.shape, exact, f"T.cast({text}, '{current.dtype}')")

    def new_shared_value(self, target):
        """An update for the shared variable `target`: computed from it, or the current
        value of another shared variable of its type (updates swap values)."""
        same = [e for e in self.pool if isinstance(e.var, T.TensorSharedVariable) and e.var is not target.var
                and e.var.type == target.var.type and e.shape == target.shape]
        if same and self.coin(0.5):
            return self.draw(st.sampled_from(same))
        return self.update_of(target, False)

    def condition(self):
        """A 0-d value every mode computes exactly: `any(x > c)`, `all(...)` or a bool scalar."""
        x = self.operand(True, lambda e: e.dtype != "bool" or e.ndim == 0)
        if x is None:
            return self.add(T.constant(np.array(False)), (), True, "T.constant(np.array(False))")
        if x.dtype == "bool":
            return x
        c = self.draw(st.sampled_from([0, 1, 2, -1]))
        kind = self.draw(st.sampled_from(["any", "all"]))
        out = getattr(T, kind)(T.gt(x.var, c))
        return self.add(out, (), True, f"T.{kind}(T.gt({x.name}, {c}))")

    # -- scan ---------------------------------------------------------------------------
    def scan(self):
        if self.depth >= 2 or self.root.n_scans >= MAX_SCANS:
            return None
        self.root.n_scans += 1
        return ScanBuilder(self).build()


def _value_of(root, variable):
    """The value of a root input variable (symbolic slice bounds), or None."""
    if variable is None or isinstance(variable, int):
        return variable
    for v, value in zip(root.inputs, root.values):
        if v is variable:
            return int(value)
    raise AssertionError("not an input")


class ScanBuilder:
    """Draws one scan call: its sequences, states, outputs, non_sequences, n_steps,
    until and shared updates, and a body built by a child Builder inside `fn`."""

    def __init__(self, parent):
        self.parent, self.root, self.draw = parent, parent.root, parent.draw

    def coin(self, p=0.5):
        return self.parent.coin(p)

    def build(self):
        d, p = self.draw, self.parent
        self.fn_name = self.root.fresh("fn")
        n_states = d(st.integers(0, 2))
        n_plain = d(st.integers(0 if n_states else 1, 2))
        self.min_steps = 1 if n_plain and not ZERO_STEP_OUTPUTS else 0
        self.sequences = [self.sequence() for _ in range(d(st.integers(0, 2)))]
        usable = min((len_ - span for _, _, len_, span, _ in self.sequences), default=None)
        how = d(st.sampled_from(["none", "const", "sym"])) if self.sequences else d(st.sampled_from(["const", "sym"]))
        if how == "none":
            self.n, self.n_steps, self.n_text = usable, None, "None"
        else:
            self.n = d(st.integers(self.min_steps, 4 if usable is None else usable))
            if how == "const":
                self.n_steps, self.n_text = self.n, repr(self.n)
            else:
                e = p.int_input(self.n)
                self.n_steps, self.n_text = e.var, e.name
        self.go_backwards = self.coin(0.3)
        self.states = []
        for _ in range(n_states):
            self.states.append(self.state(self.states[-1] if self.states and self.coin(0.5) else None))
        roles = [("state", i) for i in range(len(self.states))] + [("plain", i) for i in range(n_plain)]
        self.roles = d(st.permutations(roles))
        self.has_until = self.coin(0.25)
        self.update_targets = []
        free = [e for _, _, e in self.root.shared if e.name not in self.root.claimed]
        if free and p.depth == 0 and self.coin(0.4):
            # (an update made in a nested scan would have to be returned by the outer fn)
            self.update_targets = d(st.lists(st.sampled_from(free), min_size=1, unique_by=id))
            self.root.claimed.update(e.name for e in self.update_targets)
        passable = [e for e in p.pool if all(e is not u for u in self.update_targets)]
        self.non_sequences = d(st.lists(st.sampled_from(passable), max_size=2, unique_by=id)) if passable else []
        self.kind = self.choose_kind(how)
        return self.call()

    def choose_kind(self, how):
        d = self.draw
        kinds = ["scan"]
        if how == "none" and not self.states and not self.has_until:
            kinds += ["map"] * 3
        if how == "none" and self.sequences and self.n >= 1:
            kinds += ["reduce", "foldl", "foldr"]
        kind = d(st.sampled_from(kinds))
        if kind == "foldr":
            self.go_backwards = True
        if kind == "foldl":
            self.go_backwards = False
        return kind

    def sequence(self):
        """(Expr, taps, length, span, how written)."""
        d, p = self.draw, self.parent
        taps = d(st.lists(st.integers(-3, 3), min_size=1, max_size=3, unique=True))
        span = max(max(taps), 0) - min(min(taps), 0)
        need = span + self.min_steps
        x = p.operand(where=lambda e: e.ndim >= 1 and e.shape[0] >= need) if self.coin(0.4) else None
        if x is None:
            shape, flags = p.draw_shape(d(st.sampled_from([1, 2, 0])))
            length = need + d(st.integers(0, 3))
            x = p.new_input(shape=(length,) + shape, flags=(length == 1 and self.coin(0.3),) + flags)
        if taps == [0] and self.coin():
            how = "plain"
        elif len(taps) == 1 and self.coin():
            how = "int"
        else:
            how = "dict"
        return x, taps, x.shape[0], span, how

    def state(self, like=None):
        """(initial Expr or Python scalar, taps, row shape, row broadcastable, dtype, how, exact);
        with the row type and shape of the state `like` when given (several taps then)."""
        d, p = self.draw, self.parent
        taps = d(st.lists(st.integers(-3, -1), min_size=1, max_size=2, unique=True))
        rows = -min(taps)
        if like is not None:
            taps = taps if len(taps) > 1 else sorted({taps[0], -1, d(st.integers(-3, -2))})  # a block of rows
            rows = -min(taps)
            _, _, row, flags, dtype, _, _ = like
            init = self.initial_block(dtype, (rows + d(st.integers(0, 1)),) + row, (False,) + flags)
            return init, taps, row, flags, dtype, "dict", init.exact and self.coin(0.6)
        if taps == [-1]:  # the initial value is one step (with any other taps, a block of rows)
            if self.coin(0.15):
                init = d(st.sampled_from([0.0, 1, 0.5]))
                dtype = "float64" if isinstance(init, float) else "int64"
                row, flags, exact = (), (), True
            else:
                init = p.operand() if self.coin(0.5) else None
                init = init or p.new_input()
                dtype, row, flags, exact = init.dtype, init.shape, init.bcast, init.exact
            how = "plain" if self.coin(0.7) else "dict"
        else:
            init = p.operand(where=lambda e: e.ndim >= 1 and e.shape[0] >= rows) if self.coin(0.4) else None
            if init is None:
                shape, flags = p.draw_shape(d(st.sampled_from([1, 0, 2])))
                length = rows + d(st.integers(0, 1))
                init = self.initial_block(d(st.sampled_from(p.dtypes)), (length,) + shape,
                                          (length == 1 and self.coin(0.3),) + flags)
            dtype, row, flags, exact = init.dtype, init.shape[1:], init.bcast[1:], init.exact
            how = "dict"
        exact = exact and self.coin(0.6)
        return init, taps, tuple(row), tuple(flags), dtype, how, exact

    def initial_block(self, dtype, shape, flags):
        """The initial rows of a state with several taps: an input, or a constant (whose rows
        are known, so dce may drop the state when nothing needs it)."""
        p = self.parent
        if self.coin(0.6):
            return p.new_input(dtype, shape, flags)
        value = np.asarray(self.draw(hnp.arrays(dtype, shape, elements=elements(dtype, False))), dtype=dtype)
        return p.add(T.constant(value), shape, True, f"T.constant({src(value)})")

    # -- the call ------------------------------------------------------------------------
    def sequence_arg(self, x, taps, how):
        if how == "plain":
            return x.var, x.name
        if how == "int":
            return dict(input=x.var, taps=taps[0]), f"dict(input={x.name}, taps={taps[0]})"
        return dict(input=x.var, taps=taps), f"dict(input={x.name}, taps={taps})"

    def state_arg(self, init, taps, how):
        v, text = (init.var, init.name) if isinstance(init, Expr) else (init, repr(init))
        if how == "plain":
            return v, text
        return dict(initial=v, taps=taps), f"dict(initial={text}, taps={taps})"

    def call(self):
        p, d = self.parent, self.draw
        seq_args = [self.sequence_arg(x, taps, how) for x, taps, _, _, how in self.sequences]
        info_args = []
        for role, i in self.roles:
            if role == "state":
                init, taps, _, _, _, how, _ = self.states[i]
                info_args.append(self.state_arg(init, taps, how))
            else:
                info_args.append(d(st.sampled_from([(None, "None"), ({}, "{}")])))
        self.body_result = None
        kwargs = {}
        texts = []
        if self.kind in ("scan", "map", "reduce"):
            texts.append(f"go_backwards={self.go_backwards}")
            kwargs["go_backwards"] = self.go_backwards
        non_seqs = [e.var for e in self.non_sequences]
        ns_text = f"[{', '.join(e.name for e in self.non_sequences)}]"
        seqs = [a for a, _ in seq_args]
        seqs_text = f"[{', '.join(t for _, t in seq_args)}]"
        infos = [a for a, _ in info_args]
        infos_text = f"[{', '.join(t for _, t in info_args)}]"
        if self.kind == "scan":
            return_list = self.coin(0.3)
            result, updates = loopc.scan(self.fn, sequences=seqs, outputs_info=infos, non_sequences=non_seqs,
                                         n_steps=self.n_steps, return_list=return_list, **kwargs)
            call = (f"loopc.scan({self.fn_name}, sequences={seqs_text}, outputs_info={infos_text}, "
                    f"non_sequences={ns_text}, n_steps={self.n_text}, return_list={return_list}, {texts[0]})")
        elif self.kind == "map":
            result, updates = loopc.map(self.fn, seqs, non_sequences=non_seqs, **kwargs)
            call = f"loopc.map({self.fn_name}, {seqs_text}, non_sequences={ns_text}, {texts[0]})"
        else:
            fn = getattr(loopc, self.kind)
            result, updates = fn(self.fn, seqs, infos, non_seqs, **kwargs)
            extra = f", {texts[0]}" if texts else ""
            call = f"loopc.{self.kind}({self.fn_name}, {seqs_text}, {infos_text}, {ns_text}{extra})"
        outs = result if isinstance(result, (list, tuple)) else [result]
        assert len(outs) == len(self.roles), (len(outs), self.roles)
        res_name = self.root.fresh("r")
        p.lines.extend(self.fn_lines)
        p.lines.append(f"{res_name}, {res_name}_updates = {call}")
        if isinstance(result, (list, tuple)):
            p.lines.append(f"{res_name} = list({res_name})")
        else:
            p.lines.append(f"{res_name} = [{res_name}]")
        targets = {t.var for t in self.update_targets}
        for target, exact in zip(self.update_targets, self.update_exact):
            if self.coin(0.25):
                # left out of the function: the value still evolves inside the loop, where
                # the body reads it, but the shared variable keeps its own
                p.lines.append(f"# {res_name}_updates[{target.name}] is not passed to the function")
                continue
            new = updates[target.var]
            self.root.updates.append((target, Expr(new, target.shape, f"{res_name}_updates[{target.name}]", exact)))
        rngs = [rng for rng in updates if rng not in targets]
        assert not rngs or p.depth == 0, "random updates of a nested scan"
        taken = {r.var for r, _ in self.root.rng_updates}
        for rng in rngs:
            if rng in taken:
                continue  # two scans redraw one captured value: a function takes one update per state
            k = list(updates).index(rng)  # the reproducer's index into the whole updates dict
            self.root.rng_updates.append((Expr(rng, (), f"list({res_name}_updates)[{k}]"),
                                          Expr(updates[rng], (), f"list({res_name}_updates.values())[{k}]")))
        return self.results(outs, res_name)

    def results(self, outs, res_name):
        """Add the scan's outputs to the parent's pool (and to the case's outputs)."""
        p = self.parent
        last = None
        length = None if self.has_until else self.n
        reduced = self.kind in ("reduce", "foldl", "foldr")
        for k, ((role, i), out) in enumerate(zip(self.roles, outs)):
            row, exact = self.out_rows[(role, i)]
            shape = row if reduced else (None if length is None else (length,) + row)
            name = f"{res_name}[{k}]"
            if shape is None:
                if p.depth == 0:
                    self.root.extra_outputs.append(Expr(out, None, name, exact))
                last = p.add(out.shape[0], (), True, f"{name}.shape[0]")
                if out.dtype in DISCRETE:
                    last = p.add(T.sum(out, axis=0), row, exact, f"T.sum({name}, axis=0)")
                continue
            last = p.add(out, shape, exact, name)
        return last

    # -- the body -----------------------------------------------------------------------
    def fn(self, *args):
        p, d = self.parent, self.draw
        child = type(p)(self.root, [e for e in p.pool if e.shape is not None and self.capturable(e)], p.depth + 1)
        for k, e in enumerate(child.pool):
            if any(e.var is t.var for t in self.update_targets) and e.dtype not in DISCRETE:
                # its value changes from step to step: as exact as its update, which is not known yet
                child.pool[k] = Expr(e.var, e.shape, e.name, False)
        args, arg_names = list(args), []
        for x, taps, _, _, _ in self.sequences:
            for k in taps:
                arg_names.append(self.arg(child, args, x.shape[1:], x.exact, f"{x.name}_t{k}".replace("-", "m")))
        state_taps = {}
        for i in [i for role, i in self.roles if role == "state"]:  # in the order of outputs_info
            _, taps, row, _, _, _, exact = self.states[i]
            state_taps[i] = [self.arg(child, args, row, exact, f"st{i}_tm{-k}") for k in taps]
            arg_names.extend(state_taps[i])
        for e in self.non_sequences:
            arg_names.append(self.arg(child, args, e.shape, e.exact, f"{e.name}_ns"))
        assert not args
        if self.coin(0.3):
            child.random()  # redrawn each step: a random state carried through the loop
        child.grow(d(st.integers(1, 4)))
        self.out_rows, returned = {}, []
        for role, i in self.roles:
            if role == "state":
                current = d(st.sampled_from(state_taps[i][::-1]))
                want_exact = self.states[i][6]
                same = [e for e in child.pool if e.var.type == current.var.type and e.shape == current.shape
                        and (e.exact or not want_exact)]
                if self.coin(0.15):
                    new = d(st.sampled_from(same))  # a tap (or any value of the state's type) as is
                else:
                    partners = [e for j, taps in state_taps.items() if j != i for e in taps]
                    new = child.update_of(current, want_exact, partners)
                self.out_rows[(role, i)] = (self.states[i][2], want_exact)
                assert new.exact or not want_exact
            else:
                new = child.operand()
                self.out_rows[(role, i)] = (new.shape, new.exact)
            returned.append(new)
        ret_text = [f"[{', '.join(e.name for e in returned)}]"]
        ret = [[e.var for e in returned]]
        if len(returned) == 1 and self.coin(0.3):
            ret, ret_text = [returned[0].var], [returned[0].name]
        self.update_exact = []
        if self.update_targets:
            targets = [next(e for e in child.pool if e.var is t.var) for t in self.update_targets]
            news = [child.new_shared_value(target) for target in targets]
            self.update_exact = [new.exact for new in news]
            ret.append({t.var: new.var for t, new in zip(self.update_targets, news)})
            ret_text.append("{" + ", ".join(f"{t.name}: {new.name}" for t, new in zip(self.update_targets, news)) + "}")
        if self.has_until:
            cond = child.condition()
            ret.append(loopc.until(cond.var))
            ret_text.append(f"loopc.until({cond.name})")
        params = ", ".join(e.name for e in arg_names)
        self.fn_lines = [f"def {self.fn_name}({params}):"] + ["    " + line for line in child.lines]
        self.fn_lines.append(f"    return {', '.join(ret_text)}")
        return tuple(ret) if len(ret) > 1 else ret[0]

    def capturable(self, e):
        """Whether fn may use `e` without passing it. A value drawn outside the body is
        redrawn inside it each step (its draw outside stays); only a nested scan does not
        capture one, because this generator threads random updates out of top-level scans only."""
        return self.parent.depth == 0 or not any(isinstance(node.op, RandomOp) for node in toposort([e.var]))

    def arg(self, child, args, shape, exact, name):
        v = args.pop(0)
        e = Expr(v, tuple(shape), name.replace(" ", "_"), exact)
        child.pool.append(e)
        return e


# -- whole cases -----------------------------------------------------------------------

def _finish(root, builder, extra_outputs=(), error=None, fault=None):
    d = root.draw
    candidates = [e for e in builder.pool if e.shape is not None]
    n_out = d(st.integers(1, 3))
    outputs = [candidates[-1]] + [d(st.sampled_from(candidates)) for _ in range(n_out - 1)]
    outputs += root.extra_outputs + list(extra_outputs)
    for _, _, e in root.shared:
        if e.name not in root.claimed and d(st.booleans()):
            root.claimed.add(e.name)
            root.updates.append((e, builder.new_shared_value(e)))
    lines = ["import numpy as np", "import loopc", "import loopc.tensor as T",
             "from loopc.tensor.shared_randomstreams import RandomStreams", ""]
    lines += root.input_lines + [""] + builder.lines
    names = [e.name for e in outputs]
    updates = ", ".join(f"({sh.name}, {new.name})" for sh, new in root.updates + root.rng_updates)
    inputs = ", ".join(root.input_names)
    lines.append(f"f = loopc.function([{inputs}], [{', '.join(names)}], updates=[{updates}], "
                 "on_unused_input='ignore')")
    lines.append(f"print(f({', '.join(name + '_value' for name in root.input_names)}))")
    layouts = [d(st.sampled_from(LAYOUTS)) for _ in root.values]
    if any(how != "C" for how in layouts):
        lines.append(f"# input layouts (see relayout): {layouts}")
    if fault:
        lines.insert(0, f"# fault: {fault}, expected {error.__name__}")
    rngs = [(rng, copy.deepcopy(rng.get_value())) for rs in root.streams for rng, _ in rs.state_updates]
    return Case(list(root.inputs), list(root.values), outputs, root.updates + root.rng_updates,
                [(sv, value) for sv, value, _ in root.shared], "\n" + "\n".join(lines), error, fault, layouts,
                rngs)


def _start(draw, steps):
    root = Root(draw)
    b = Builder(root)
    for _ in range(draw(st.integers(1, 3))):
        b.new_input()
    for _ in range(draw(st.integers(0, 3))):
        e = b.new_shared()
        if draw(st.integers(0, 2)) == 0:
            b.new_shared(like=e)  # two of one type: updates may swap them
    b.grow(steps)
    return root, b


@st.composite
def cases(draw, max_steps=6):
    """A legal case: runs in every mode and gives the same numbers."""
    root, b = _start(draw, draw(st.integers(1, max_steps)))
    return _finish(root, b)


@st.composite
def indexing_cases(draw):
    """A legal case built around advanced indexing (several arrays, int matrices, masks),
    set/inc_subtensor of it, and N-d products, over the inputs and elementwise results."""
    root, b = _start(draw, 0)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from([b.advanced_index, b.advanced_index, b.tensor_product, b.unary, b.binary,
                                       lambda: b.set_subtensor(b.advanced_index)]))
        if action() is None:
            b.unary() or b.binary()
    return _finish(root, b)


@st.composite
def scan_cases(draw):
    """A legal case built around at least one scan."""
    root = Root(draw)
    b = Builder(root)
    for _ in range(draw(st.integers(1, 2))):
        b.new_input()
    for _ in range(draw(st.integers(0, 2))):
        e = b.new_shared()
        if draw(st.booleans()):
            b.new_shared(like=e)
    b.grow(draw(st.integers(0, 2)))
    b.scan()
    b.grow(draw(st.integers(0, 2)))
    return _finish(root, b)


# -- gradient cases -----------------------------------------------------------------------

# Smooth on the whole line (the ones that grow fast are left to the cost bound of the checks).
SMOOTH_UNARY = ("neg", "sqr", "exp", "expm1", "tanh", "sin", "cos", "arctan", "sinh", "cosh", "sigmoid",
                "softplus", "arcsinh", "erf")
# Ops with a domain edge or a singularity, applied where they are smooth:
# name -> (recipe template, build from x and y); the operands are any reals.
SAFE_DOMAIN = {
    "log": ("T.log(1 + T.sqr({x}))", lambda x, y: T.log(1 + T.sqr(x))),
    "log1p": ("T.log1p(T.sqr({x}))", lambda x, y: T.log1p(T.sqr(x))),
    "log2": ("T.log2(2 + T.sin({x}))", lambda x, y: T.log2(2 + T.sin(x))),
    "log10": ("T.log10(1.5 + T.tanh({x}))", lambda x, y: T.log10(1.5 + T.tanh(x))),
    "sqrt": ("T.sqrt(1 + T.sqr({x}))", lambda x, y: T.sqrt(1 + T.sqr(x))),
    "inv": ("T.inv(2 + T.cos({x}))", lambda x, y: T.inv(2 + T.cos(x))),
    "true_div": ("({x} / (1.5 + T.sin({y})))", lambda x, y: x / (1.5 + T.sin(y))),
    "pow": ("((1.5 + T.tanh({x})) ** {y})", lambda x, y: (1.5 + T.tanh(x)) ** y),
    "pow_int": ("({x} ** 3)", lambda x, y: x ** 3),
    "arcsin": ("T.arcsin(0.9 * T.tanh({x}))", lambda x, y: T.arcsin(0.9 * T.tanh(x))),
    "arccos": ("T.arccos(0.9 * T.tanh({x}))", lambda x, y: T.arccos(0.9 * T.tanh(x))),
    "arctanh": ("T.arctanh(0.9 * T.tanh({x}))", lambda x, y: T.arctanh(0.9 * T.tanh(x))),
    "arccosh": ("T.arccosh(1.5 + T.sqr({x}))", lambda x, y: T.arccosh(1.5 + T.sqr(x))),
    "tan": ("T.tan(T.tanh({x}))", lambda x, y: T.tan(T.tanh(x))),
    "exp2": ("T.exp2(T.tanh({x}))", lambda x, y: T.exp2(T.tanh(x))),
    "arctan2": ("T.arctan2({x}, 1 + T.sqr({y}))", lambda x, y: T.arctan2(x, 1 + T.sqr(y))),
    "cumprod": ("T.cumprod(1.5 + T.tanh({x}), axis={axis})", None),
}
GRAD_SCALARS = (2, -1, 0.5, -1.5, 3, 1.0)


def grad_elements():
    return st.one_of(st.sampled_from([0.7, -1.2, 0.3, 1.5, 0.0, -0.5, 1.0]), st.floats(-2, 2))


class GradBuilder(Builder):
    """Grows a float64 graph of differentiable ops, for gradient checks (`grad_cases`).

    Left out, because their gradient is not the derivative where Hypothesis likes to
    put values: maximum, minimum and max/min reductions (Theano gives every tied
    element the whole gradient: max(x, x) has gradient 2), sort (ties), clip, mod and
    rounding (kinks and jumps), switch on a computed condition (relu at 0: Theano takes
    one side, central differences the mean). A switch takes a bool input or constant
    as condition; until takes the generator's float conditions, whose flips the
    checks notice (central differences that change with the step).
    Domain edges are kept away: log(1 + x**2), x / (1.5 + sin(y)), ... (`SAFE_DOMAIN`);
    cumprod's rule divides by x, so it gets 1.5 + tanh(x).
    Integer values still appear (indices, shapes, int states, draws): they carry no gradient."""

    dtypes = ("float64",)
    update_ops = ("add", "sub", "mul")

    def grow(self, steps):
        actions = [self.smooth_unary, self.smooth_binary, self.smooth_binary, self.safe_domain, self.switch_on_mask,
                   self.smooth_reduce, self.dot, self.tensor_product, self.index, self.take, self.advanced_index,
                   self.reshape_op, self.concatenate, self.new_input, self.region_update, self.along_axis_smooth,
                   self.random]
        for _ in range(steps):
            action = self.draw(st.sampled_from(actions + [self.scan] * (2 if self.depth < 2 else 0)))
            if action() is None:
                self.smooth_unary() or self.smooth_binary()

    def new_input(self, dtype=None, shape=None, flags=None, value=None):
        """An input; float64 with values in [-2, 2] unless its value is given (indices, masks)."""
        if value is not None:
            return super().new_input(dtype, shape, flags, value)
        if shape is None:
            shape, flags = self.draw_shape(self.draw(st.sampled_from([1, 2, 0, 3])))
        value = self.draw(hnp.arrays("float64", shape, elements=grad_elements()))
        return super().new_input("float64", tuple(shape), flags, value)

    def new_shared(self, like=None):
        """A float64 shared variable the cost may be differentiated with respect to (no update)."""
        shape, _ = self.draw_shape(self.draw(st.sampled_from([1, 0, 2])))
        value = np.asarray(self.draw(hnp.arrays("float64", shape, elements=grad_elements())))
        name = self.root.fresh("s")
        sv = loopc.shared(value, name=name)
        self.root.input_lines.append(f"{name} = loopc.shared({src(value)}, name={name!r})")
        e = Expr(sv, tuple(shape), name, True)
        self.root.shared.append((sv, value, e))
        self.root.claimed.add(name)  # a scan updating it at each step would have no gradient
        self.pool.append(e)
        return e

    def scan(self):
        """A scan; when it runs no step, its outputs that are not states leave the pool: their
        rows have the first step's shape only where that is worked out before the loop (not
        for a slice, see test_regressions), so the cost reads them whole (sum of sin)."""
        if self.depth >= 2 or self.root.n_scans >= MAX_SCANS:
            return None
        self.root.n_scans += 1
        scan = ScanBuilder(self)
        last = scan.build()
        if scan.n != 0 or scan.has_until:
            return last
        results = self.pool[len(self.pool) - len(scan.roles):]
        plain = [e for (role, _), e in zip(scan.roles, results) if role == "plain"]
        self.pool = [e for e in self.pool if all(e is not p for p in plain)]
        if self.depth == 0:
            self.root.extra_outputs.extend(Expr(e.var, None, e.name, e.exact) for e in plain)
        return None if any(last is p for p in plain) else last

    def real(self, where=lambda e: True):
        """A float64 operand of the pool."""
        return self.operand(where=lambda e: e.dtype == "float64" and where(e))

    def smooth_unary(self):
        x = self.real()
        if x is None:
            return None
        name = self.draw(st.sampled_from(SMOOTH_UNARY))
        if name == "neg" and self.coin():
            return self.add(-x.var, x.shape, False, f"-{x.name}")
        return self.add(getattr(T, name)(x.var), x.shape, False, f"T.{name}({x.name})")

    def smooth_binary(self):
        d = self.draw
        a = self.real()
        if a is None:
            return None
        how = d(st.floats(0, 1))
        if how < 0.25:
            b = d(st.sampled_from(GRAD_SCALARS))
        elif how < 0.4:
            shape = d(st.sampled_from([(), (1,) * a.ndim, a.shape]))
            value = np.asarray(d(hnp.arrays("float64", shape, elements=grad_elements())))
            b = self.add(T.constant(value), shape, True, f"T.constant({src(value)})")
        else:
            b = self.real(lambda e: broadcast(a, e) is not None)
        if b is None:
            return None
        if self.coin(0.4):
            a, b = b, a
        op = d(st.sampled_from(["add", "sub", "mul"]))
        fname, symbol, _, _ = BINARY[op]
        shape, _ = broadcast(a, b)
        if self.coin():
            return self.add(BINARY_SYNTAX[symbol](var(a), var(b)), shape, False, f"({code(a)} {symbol} {code(b)})")
        return self.add(getattr(T, fname)(var(a), var(b)), shape, False, f"T.{fname}({code(a)}, {code(b)})")

    def safe_domain(self):
        d = self.draw
        name = d(st.sampled_from(sorted(SAFE_DOMAIN)))
        x = self.real()
        if x is None:
            return None
        text, build = SAFE_DOMAIN[name]
        if name == "cumprod":
            axis = None if x.ndim == 0 or self.coin(0.3) else d(st.integers(-x.ndim, x.ndim - 1))
            shape = (math.prod(x.shape),) if axis is None else x.shape
            return self.add(T.cumprod(1.5 + T.tanh(x.var), axis=axis), shape, False,
                            text.format(x=x.name, axis=axis))
        y = self.real(lambda e: broadcast(x, e) is not None) or x
        shape = broadcast(x, y)[0] if "{y}" in text else x.shape
        return self.add(build(x.var, y.var), shape, False, text.format(x=x.name, y=y.name))

    def switch_on_mask(self):
        """switch(c, a, b) with c a bool input or constant: smooth in a and b."""
        d = self.draw
        a = self.real()
        if a is None:
            return None
        b = self.real(lambda e: broadcast(a, e) is not None)
        b = b if b is not None and self.coin(0.7) else d(st.sampled_from(GRAD_SCALARS))
        shape = d(st.sampled_from([(), (1,) * a.ndim, a.shape]))
        mask = np.asarray(d(hnp.arrays("bool", shape)))
        if self.coin():
            c, text = T.constant(mask), f"T.constant({src(mask)})"
        else:
            e = self.new_input("bool", shape, tuple(n == 1 for n in shape), mask)
            c, text = e.var, e.name
        if broadcast(Expr(c, shape, ""), a, b) is None:
            return None
        out_shape, _ = broadcast(Expr(c, shape, ""), a, b)
        a, b = (a, b) if self.coin() else (b, a)
        return self.add(T.switch(c, var(a), var(b)), out_shape, False, f"T.switch({text}, {code(a)}, {code(b)})")

    def smooth_reduce(self):
        d = self.draw
        x = self.real()
        if x is None:
            return None
        kind = d(st.sampled_from(["sum", "sum", "mean", "prod"]))
        axis = self.draw_axis(x)
        axes = range(x.ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
        axes = sorted({a % x.ndim for a in axes}) if x.ndim else []
        if kind == "mean" and any(x.shape[a] == 0 for a in axes):
            kind = "sum"  # the mean of nothing is NaN
        keepdims = self.coin(0.3)
        shape = [1 if a in axes else n for a, n in enumerate(x.shape)] if keepdims else \
            [n for a, n in enumerate(x.shape) if a not in axes]
        return self.add(getattr(T, kind)(x.var, axis=axis, keepdims=keepdims), shape, False,
                        f"T.{kind}({x.name}, axis={axis!r}, keepdims={keepdims})")

    def reshape_op(self):
        """.T, a dimshuffle adding an axis, flatten, or a reshape to (k, -1) / (-1, k)."""
        d = self.draw
        x = self.real()
        if x is None:
            return None
        how = d(st.sampled_from(["T", "pad", "flatten", "reshape"]))
        if how in ("T", "pad", "flatten"):
            order = list(range(x.ndim))
            if how == "T":
                return self.add(x.var.T, x.shape[::-1], False, f"{x.name}.T")
            if how == "flatten":
                return self.add(T.flatten(x.var), (math.prod(x.shape),), False, f"T.flatten({x.name})")
            pos = d(st.integers(0, x.ndim))
            order.insert(pos, "x")
            shape = list(x.shape)
            shape.insert(pos, 1)
            return self.add(x.var.dimshuffle(*order), shape, False, f"{x.name}.dimshuffle{tuple(order)!r}")
        size = math.prod(x.shape)
        k = d(st.sampled_from([k for k in (1, 2, 3) if size % k == 0] if size else [1, 2]))
        shape = d(st.sampled_from([(k, -1), (-1, k)]))
        concrete = tuple(size // k if n == -1 else n for n in shape)
        return self.add(T.reshape(x.var, shape), concrete, False, f"T.reshape({x.name}, {shape!r})")

    def region_update(self):
        """set_subtensor over a basic index, inc_subtensor over any (a set over an integer
        array with repeated entries keeps one write, whose gradient Theano gives to all)."""
        d = self.draw
        region = d(st.sampled_from([self.index, self.index, self.take, self.advanced_index]))()
        if region is None or region.var.owner is None or region.dtype != "float64":
            return None
        owner = region.var.owner
        if type(owner.op).__name__ == "DimShuffle":
            return None
        base = next((e for e in self.pool if e.var is owner.inputs[0]), None)
        if base is None:
            return None
        basic = type(owner.op).__name__ == "Subtensor"

        def fits(e):
            got = broadcast(region, e)
            return e.dtype == "float64" and e.ndim <= region.ndim and got is not None and got[0] == region.shape
        y = self.real(fits)
        if y is None:
            y = self.new_input("float64", region.shape[d(st.integers(0, region.ndim)):])
        how = d(st.sampled_from(["set_subtensor", "inc_subtensor"])) if basic else "inc_subtensor"
        out = getattr(T, how)(region.var, y.var)
        return self.add(out, base.shape, False, f"T.{how}({region.name}, {y.name})")

    def along_axis_smooth(self):
        """cumsum or repeat (one count), along an axis or flattened."""
        d = self.draw
        x = self.real()
        if x is None:
            return None
        axis = None if x.ndim == 0 or self.coin(0.3) else d(st.integers(-x.ndim, x.ndim - 1))
        shape = [math.prod(x.shape)] if axis is None else list(x.shape)
        if self.coin():
            return self.add(T.cumsum(x.var, axis=axis), shape, False, f"T.cumsum({x.name}, axis={axis!r})")
        count = d(st.integers(0, 2))
        shape[0 if axis is None else axis % x.ndim] *= count
        return self.add(T.repeat(x.var, count, axis=axis), shape, False, f"T.repeat({x.name}, {count}, axis={axis!r})")


class GradCase(Case):
    """A generated graph reduced to a scalar `cost`, and the variables `wrt` (float inputs
    and shared variables) its gradient is taken with respect to; `wrt_names` name them."""

    def __init__(self, *args, cost=None, wrt=(), wrt_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.cost, self.wrt, self.wrt_names = cost, list(wrt), list(wrt_names)

    def point(self):
        """The values of wrt (the inputs' values, the shared variables' initial ones)."""
        given = {id(v): value for v, value in zip(self.inputs, self.values)}
        given.update({id(sv): value for sv, value in self.shared})
        return [np.array(given[id(w)], dtype="float64") for w in self.wrt]


@st.composite
def grad_cases(draw, max_steps=5, scan=None):
    """A float64 graph of differentiable ops (`GradBuilder`), often with a scan, reduced
    to the scalar cost sum_k sum(w_k * output_k) (w_k constants, a weight of 0.5 to 1.5 an element;
    sum(sin(1.3 * o + 0.7)) for an output whose length only the run decides), and a
    non-empty wrt drawn among its float inputs and shared variables. scan=True: always
    around a scan (otherwise four cases in five)."""
    root = Root(draw)
    # lengths of 0 only where an axis draws its own (zero steps, empty slices): a gradient
    # of nothing checks little
    root.dims = draw(st.tuples(*[st.sampled_from([2, 3, 1]) for _ in range(3)]))
    b = GradBuilder(root)
    for _ in range(draw(st.integers(1, 3))):
        b.new_input()
    for _ in range(draw(st.integers(0, 2))):
        b.new_shared()
    b.grow(draw(st.integers(0, 2)))
    scanned = b.scan() if scan or draw(st.integers(0, 4)) else None
    b.grow(draw(st.integers(1, max_steps)))
    candidates = [e for e in b.pool if e.shape is not None and e.dtype == "float64"]
    outputs = [candidates[-1]] + [draw(st.sampled_from(candidates)) for _ in range(draw(st.integers(0, 2)))]
    if any(e is scanned for e in b.pool) and scanned.dtype == "float64" and draw(st.booleans()):
        outputs.append(scanned)  # a scan's result read directly, not only through what follows
    terms, lines = [], []
    for k, e in enumerate(outputs):
        # weights in [0.5, 1.5], a different one for each element, signs alternating by output
        w = (-1) ** k * (1 + 0.5 * np.sin(1.7 * np.arange(math.prod(e.shape)) + k)).reshape(e.shape)
        terms.append(T.sum(T.constant(w) * e.var))
        lines.append(f"T.sum(T.constant({src(w)}) * {e.name})")
    for e in root.extra_outputs:
        if e.dtype == "float64":
            terms.append(T.sum(T.sin(1.3 * e.var + 0.7)))
            lines.append(f"T.sum(T.sin(1.3 * {e.name} + 0.7))")
    cost = terms[0]
    for t in terms[1:]:
        cost = cost + t
    free = [(v, name) for v, name in zip(root.inputs, root.input_names) if v.dtype == "float64"]
    free += [(sv, e.name) for sv, _, e in root.shared]
    # all of them, or some with the first one the cost reads (a gradient the cost does not
    # reach is zeros); a scan's backward loop computes only the gradients asked for
    read = ancestors([cost])
    free.sort(key=lambda pair: pair[0] not in read)
    chosen = list(range(len(free)))
    if len(free) > 1 and draw(st.booleans()):
        chosen = [0] + draw(st.lists(st.sampled_from(chosen[1:]), max_size=len(free) - 1, unique=True))
    wrt = [free[k][0] for k in chosen]
    names = [free[k][1] for k in chosen]
    text = ["import numpy as np", "import loopc", "import loopc.tensor as T",
            "from loopc.tensor.shared_randomstreams import RandomStreams", ""]
    text += root.input_lines + [""] + b.lines
    text.append("cost = " + " + ".join(lines))
    text.append(f"g = loopc.grad(cost, [{', '.join(names)}], disconnected_inputs='ignore')")
    text.append(f"f = loopc.function([{', '.join(root.input_names)}], [cost] + g, on_unused_input='ignore')")
    text.append(f"print(f({', '.join(name + '_value' for name in root.input_names)}))")
    layouts = [draw(st.sampled_from(LAYOUTS)) for _ in root.values]
    if any(how != "C" for how in layouts):
        text.append(f"# input layouts (see relayout): {layouts}")
    rngs = [(rng, copy.deepcopy(rng.get_value())) for rs in root.streams for rng, _ in rs.state_updates]
    return GradCase(list(root.inputs), list(root.values), [Expr(cost, (), "cost", False)], [],
                    [(sv, value) for sv, value, _ in root.shared], "\n" + "\n".join(text), layouts=layouts,
                    rngs=rngs, cost=cost, wrt=wrt, wrt_names=names)


# -- failing cases ------------------------------------------------------------------------

FAULTS = ("elemwise_shape", "elemwise_length_1", "dot_shape", "initial_rows", "sequence_short",
          "negative_n_steps", "index_bounds", "empty_max", "body_shape", "reshape_size", "update_shape",
          "take_bounds", "nested_index", "alloc_shape", "alloc_negative", "state_shape", "output_shape",
          "region_shape", "repeats", "advanced_bounds", "mask_shape", "index_broadcast", "summed_shape")


@st.composite
def failing_cases(draw, fault=None):
    """A small legal case plus one fault (`fault`, or one drawn from FAULTS); `case.error`
    is the class a call must raise."""
    root, b = _start(draw, draw(st.integers(0, 3)))
    fault = fault or draw(st.sampled_from(FAULTS))
    out, error = FAULT_BUILDERS[fault](b)
    if fault == "update_shape":
        return _finish(root, b, [], error, fault)
    return _finish(root, b, [out], error, fault)


def _two_lengths(draw):
    m = draw(st.integers(2, 4))
    n = draw(st.integers(0, 4).filter(lambda k: k not in (1, m)))
    return m, n


def _fault_elemwise(b):
    m, n = _two_lengths(b.draw)
    x = b.new_input("float64", (m,))
    y = b.new_input(b.draw(st.sampled_from(DTYPES)), (n,))
    return b.add(x.var + y.var, (m,), True, f"({x.name} + {y.name})"), ShapeError


def _fault_update(b):
    m, n = _two_lengths(b.draw)
    value = np.zeros(m)
    name = b.root.fresh("s")
    sv = loopc.shared(value, name=name)
    b.root.input_lines.append(f"{name} = loopc.shared({src(value)}, name={name!r})")
    e = Expr(sv, (m,), name, True)
    b.root.shared.append((sv, value, e))
    b.root.claimed.add(name)
    y = b.new_input("float64", (n,))
    new = b.add(sv + y.var, (m,), True, f"({name} + {y.name})")
    b.root.updates.append((e, new))
    return None, ShapeError


def _fault_dot(b):
    m, n = _two_lengths(b.draw)
    x = b.new_input("float64", (2, m))
    y = b.new_input(b.draw(st.sampled_from(["float64", "int64"])), (n,) + ((3,) if b.coin() else ()))
    return b.add(T.dot(x.var, y.var), (2,) + y.shape[1:], True, f"T.dot({x.name}, {y.name})"), ShapeError


def _fault_initial_rows(b):
    taps = b.draw(st.sampled_from([[-2, -1], [-3], [-1, -3], [-2]]))
    rows = -min(taps)
    init = b.new_input("float64", (b.draw(st.integers(0, rows - 1)), 2))
    out, _ = loopc.scan(lambda *a: a[0] + a[-1], outputs_info=[dict(initial=init.var, taps=taps)], n_steps=2)
    return b.add(out, (2, 2), True,
                 f"loopc.scan(lambda *a: a[0] + a[-1], outputs_info=[dict(initial={init.name}, taps={taps})], "
                 f"n_steps=2)[0]"), ScanError


def _fault_sequence_short(b):
    d = b.draw
    taps = d(st.sampled_from([[0], [-1, 1], [2], [-2, 0]]))
    span = max(max(taps), 0) - min(min(taps), 0)
    usable = d(st.integers(0, 3))
    x = b.new_input("float64", (usable + span, 2))
    n = usable + d(st.integers(1, 2))
    n_steps = b.int_input(n) if b.coin() else None
    out, _ = loopc.scan(lambda *a: a[0] * 2, sequences=[dict(input=x.var, taps=taps)],
                        n_steps=n if n_steps is None else n_steps.var, go_backwards=b.coin())
    text = f"loopc.scan(lambda *a: a[0] * 2, sequences=[dict(input={x.name}, taps={taps})], n_steps=...)[0]"
    return b.add(out, (n, 2), True, text), ScanError


def _fault_negative_n_steps(b):
    n = b.int_input(b.draw(st.integers(-3, -1)))
    out, _ = loopc.scan(lambda h: h + 1, outputs_info=[np.float64(0)], n_steps=n.var)
    return b.add(out, (0,), True, f"loopc.scan(lambda h: h + 1, outputs_info=[np.float64(0)], "
                                   f"n_steps={n.name})[0]"), ScanError


def _fault_index(b):
    d = b.draw
    n = d(st.integers(0, 3))
    x = b.new_input(d(st.sampled_from(DTYPES)), (n, 2))
    k = d(st.sampled_from([n, n + 1, -n - 1, -n - 5]))
    if b.coin():  # a constant index: the bound is checked against the run-time length all the same
        axis = d(st.integers(0, 1))
        k = k if axis == 0 else d(st.sampled_from([2, 3, -3]))
        index = (k,) if axis == 0 else (slice(None), k)
        return b.add(x.var[index], (2,) if axis == 0 else (n,), True, f"{x.name}[{index!r}]"), LoopcIndexError
    i = b.int_input(k)
    return b.add(x.var[i.var], (2,), True, f"{x.name}[{i.name}]"), LoopcIndexError


def _fault_empty_max(b):
    """max, min, argmax or argmin over axes one of which has length 0 (any of them, among others)."""
    d = b.draw
    ndim = d(st.integers(1, 3))
    empty = d(st.integers(0, ndim - 1))
    shape = tuple(0 if a == empty else d(st.integers(1, 3)) for a in range(ndim))
    x = b.new_input(d(st.sampled_from(DTYPES)), shape)
    kind = d(st.sampled_from(["max", "min", "argmax", "argmin"]))
    if kind in ("argmax", "argmin"):
        axis = d(st.sampled_from([empty, empty - ndim, None]))
    else:
        others = d(st.lists(st.sampled_from(range(ndim)), unique=True))
        axes = d(st.permutations(sorted({empty, *others})))
        axis = d(st.sampled_from([tuple(axes), None] + ([empty - ndim] if len(axes) == 1 else [])))
    reduced = range(ndim) if axis is None else [a % ndim for a in ([axis] if isinstance(axis, int) else axis)]
    out_shape = tuple(n for a, n in enumerate(shape) if a not in reduced)
    return b.add(getattr(T, kind)(x.var, axis=axis), out_shape, True,
                 f"T.{kind}({x.name}, axis={axis!r})"), LoopcValueError


def _fault_body_shape(b):
    m, n = _two_lengths(b.draw)
    x = b.new_input("float64", (b.draw(st.integers(1, 3)), m))
    w = b.new_input("float64", (n,))
    out, _ = loopc.scan(lambda row: T.tanh(row * w.var), sequences=[x.var])
    return b.add(out, (x.shape[0], m), True,
                 f"loopc.scan(lambda row: T.tanh(row * {w.name}), sequences=[{x.name}])[0]"), ShapeError


def _fault_reshape(b):
    """A reshape to a shape of another size: (k,), (), (-1, k) where k does not divide the
    size, two -1s, or the same given at run time."""
    d = b.draw
    n = d(st.integers(0, 6))
    x = b.new_input(d(st.sampled_from(DTYPES)), (n,))
    how = d(st.sampled_from(["length", "scalar", "wildcard", "two_wildcards"]))
    if how == "length":
        shape = (d(st.integers(0, 7).filter(lambda k: k != n)),)
    elif how == "scalar":
        if n == 1:
            x = b.new_input(x.dtype, (d(st.sampled_from([0, 2, 3])),))
        shape = ()
    elif how == "wildcard":
        k = d(st.integers(2, 4).filter(lambda k: n % k != 0)) if n not in (0, 1) else 0
        if n == 1:
            k = 2
        shape = d(st.sampled_from([(-1, k), (k, -1)]))
    else:
        shape = (-1, -1)
    if shape and b.coin():
        entries = [b.int_input(k) for k in shape]
        target, text = T.stack([e.var for e in entries]), f"T.stack([{', '.join(e.name for e in entries)}])"
        out = T.reshape(x.var, target, ndim=len(shape))
    else:
        target, text = shape, repr(shape)
        out = T.reshape(x.var, shape)
    return b.add(out, tuple(max(k, 0) for k in shape), True, f"T.reshape({x.name}, {text})"), ShapeError


def _fault_take(b):
    d = b.draw
    n = d(st.integers(0, 3))
    x = b.new_input(d(st.sampled_from(DTYPES)), (n, 2))
    picks = np.array([0 if n else 1, d(st.sampled_from([n, n + 2, -n - 1]))], dtype="int64")
    v = b.new_input("int64", (2,), (False,), picks)
    if b.coin():
        return b.add(x.var[v.var], (2, 2), True, f"{x.name}[{v.name}]"), LoopcIndexError
    return b.add(T.set_subtensor(x.var[v.var], 1), (n, 2), True, f"T.set_subtensor({x.name}[{v.name}], 1)"), \
        LoopcIndexError


def _fault_nested_index(b):
    """An index out of bounds two scans deep, on the first step."""
    d = b.draw
    x = b.new_input("float64", (d(st.integers(1, 3)), 2, 3))
    i = b.int_input(d(st.sampled_from([3, -4, 7])))

    def inner(v):
        return v[i.var] * 2

    def outer(m):
        out, _ = loopc.scan(inner, sequences=[m])
        return out
    out, _ = loopc.scan(outer, sequences=[x.var])
    text = (f"loopc.scan(lambda m: loopc.scan(lambda v: v[{i.name}] * 2, sequences=[m])[0], "
            f"sequences=[{x.name}])[0]")
    return b.add(out, (x.shape[0], 2), True, text), LoopcIndexError


def _fault_elemwise_length_1(b):
    """A run-time length-1 operand on an axis not flagged broadcastable: Theano's rule makes
    that an error, where NumPy would broadcast."""
    d = b.draw
    m = d(st.integers(2, 3))
    lead = d(st.sampled_from([(), (2,)]))
    x = b.new_input(d(st.sampled_from(DTYPES)), lead + (m,))
    y = b.new_input(d(st.sampled_from(DTYPES)), lead + (1,), (False,) * (len(lead) + 1))
    op = d(st.sampled_from(["add", "sub", "mul", "maximum", "lt"]))
    a, c = (x, y) if b.coin() else (y, x)
    out = b.apply(getattr(T, op), a.var, c.var)
    if out is None:
        out, op = a.var + c.var, "add"
    return b.add(out, lead + (m,), True, f"T.{op}({a.name}, {c.name})"), ShapeError


def _fault_alloc_shape(b):
    """alloc of a value that does not broadcast to the shape; maybe only its shape is read."""
    d = b.draw
    m, n = _two_lengths(d)
    x = b.new_input(d(st.sampled_from(DTYPES)), (n,))
    out = T.alloc(x.var, 2, m)
    if b.coin():
        axis = d(st.integers(0, 1))
        return b.add(out.shape[axis], (), True, f"T.alloc({x.name}, 2, {m}).shape[{axis}]"), ShapeError
    return b.add(out, (2, m), True, f"T.alloc({x.name}, 2, {m})"), ShapeError


def _fault_alloc_negative(b):
    d = b.draw
    n = b.int_input(d(st.integers(-3, -1)))
    out = T.alloc(d(st.sampled_from([0.0, 1])), n.var, 2)
    if b.coin():
        return b.add(out.shape[d(st.integers(0, 1))], (), True, f"T.alloc(0.0, {n.name}, 2).shape[...]"), \
            LoopcValueError
    return b.add(out, (0, 2), True, f"T.alloc(0.0, {n.name}, 2)"), LoopcValueError


def _fault_state_shape(b):
    """A scan state whose new value has another length than its initial rows."""
    d = b.draw
    m = d(st.integers(2, 3))
    taps = d(st.sampled_from([[-1], [-2, -1]]))
    rows = -min(taps)
    init = b.new_input("float64", (m,) if rows == 1 else (rows, m))
    info = init.var if rows == 1 else dict(initial=init.var, taps=taps)
    cut = d(st.sampled_from(["h[0:1]", "h[1:]", "T.concatenate([h, h])"]))
    step = {"h[0:1]": lambda h: h[0:1], "h[1:]": lambda h: h[1:], "T.concatenate([h, h])":
            lambda h: T.concatenate([h, h])}[cut]
    out, _ = loopc.scan(lambda *h: step(h[-1]) * 2, outputs_info=[info], n_steps=d(st.integers(1, 3)))
    return b.add(out, (1, m), True, f"loopc.scan(lambda *h: ({cut} with h = h[-1]) * 2, "
                                   f"outputs_info=[{init.name} taps={taps}], n_steps=...)[0]"), ScanError


def _fault_output_shape(b):
    """A scan output whose shape changes from one step to the next."""
    x = b.new_input("float64", (4,))
    k = b.new_input("int64", (2,), (False,), np.array(b.draw(st.sampled_from([[1, 2], [3, 0], [2, 4]]))))
    out, _ = loopc.scan(lambda k_t: x.var[:k_t] * 2, sequences=[k.var])
    return b.add(out, (2, 1), True, f"loopc.scan(lambda k_t: {x.name}[:k_t] * 2, sequences=[{k.name}])[0]"), \
        ScanError


def _fault_region_shape(b):
    """set_subtensor or inc_subtensor of a value that does not fit the region."""
    d = b.draw
    x = b.new_input("float64", (4,))
    y = b.new_input(d(st.sampled_from(["float64", "int64"])), (d(st.sampled_from([0, 3, 4])),))
    how = d(st.sampled_from(["set_subtensor", "inc_subtensor"]))
    return b.add(getattr(T, how)(x.var[0:2], y.var), (4,), True, f"T.{how}({x.name}[0:2], {y.name})"), ShapeError


def _fault_repeats(b):
    """repeat with a vector of counts: one count too few or too many, or a negative one."""
    d = b.draw
    n = d(st.integers(1, 3))
    x = b.new_input(d(st.sampled_from(DTYPES)), (2, n))
    if b.coin():
        counts, error = np.array([1] * d(st.sampled_from([n - 1, n + 1])), "int64"), ShapeError
    else:
        counts, error = np.array([2] * (n - 1) + [-1], "int64"), LoopcValueError
    reps = b.new_input(d(st.sampled_from(["int64", "int32"])), counts.shape, (False,), counts)
    return b.add(T.repeat(x.var, reps.var, axis=1), (2, n), True, f"T.repeat({x.name}, {reps.name}, axis=1)"), error
def _fault_advanced_bounds(b):
    """An int matrix index (beside a broadcasting column) with an element out of bounds."""
    d = b.draw
    n = d(st.integers(0, 3))
    x = b.new_input(d(st.sampled_from(DTYPES)), (2, n))
    bad = d(st.sampled_from([n, n + 2, -n - 1]))
    cols = b.new_input("int64", (2, 2), (False, False), np.array([[0, 0], [bad, 0]]))
    region = x.var[T.constant(np.array([[1], [0]])), cols.var]
    if b.coin():
        return b.add(region, (2, 2), True, f"{x.name}[T.constant([[1], [0]]), {cols.name}]"), LoopcIndexError
    how = d(st.sampled_from(["set_subtensor", "inc_subtensor"]))
    return b.add(getattr(T, how)(region, 1), (2, n), True,
                 f"T.{how}({x.name}[T.constant([[1], [0]]), {cols.name}], 1)"), LoopcIndexError


def _fault_mask_shape(b):
    """A boolean mask whose shape is not that of the axes it indexes."""
    d = b.draw
    m, n = _two_lengths(d)
    x = b.new_input(d(st.sampled_from(DTYPES)), (m, 2))
    mask = b.new_input("bool", (n,))
    if b.coin():
        return b.add(x.var[mask.var], (0, 2), True, f"{x.name}[{mask.name}]"), LoopcIndexError
    return b.add(T.set_subtensor(x.var[mask.var], 0), (m, 2), True, f"T.set_subtensor({x.name}[{mask.name}], 0)"), \
        LoopcIndexError


def _fault_index_broadcast(b):
    """Two integer arrays that do not broadcast together (lengths m and n, neither flagged
    broadcastable)."""
    m, n = _two_lengths(b.draw)
    x = b.new_input("float64", (4, 4))
    i = b.new_input("int64", (m,), (False,), np.zeros(m, "int64"))
    j = b.new_input("int32", (n,), (False,), np.zeros(n, "int32"))
    return b.add(x.var[i.var, j.var], (m,), True, f"{x.name}[{i.name}, {j.name}]"), LoopcIndexError


def _fault_summed_shape(b):
    """tensordot, batched_dot or N-d dot of operands whose summed (or batch) lengths differ;
    for tensordot the products of the summed lengths are equal, (n, m) against (m, n)."""
    d = b.draw
    m, n = _two_lengths(d)
    how = d(st.sampled_from(["tensordot", "batched_dot", "dot"]))
    if how == "tensordot":
        x, y = b.new_input("float64", (2, n, m)), b.new_input("float64", (m, n, 2))
        out, shape = T.tensordot(x.var, y.var, [[1, 2], [0, 1]]), (2, 2)
    elif how == "batched_dot":
        x = b.new_input("float64", (2, 3, m))
        y = b.new_input("float64", d(st.sampled_from([(2, n, 2), (3, m, 2)])))
        out, shape = T.batched_dot(x.var, y.var), (2, 3, 2)
    else:
        x, y = b.new_input("float64", (2, 3, m)), b.new_input("float64", (n, 2))
        out, shape = T.dot(x.var, y.var), (2, 3, 2)
    return b.add(out, shape, True, f"T.{how}({x.name}, {y.name})"), ShapeError


FAULT_BUILDERS = {
    "elemwise_shape": _fault_elemwise, "dot_shape": _fault_dot, "initial_rows": _fault_initial_rows,
    "sequence_short": _fault_sequence_short, "negative_n_steps": _fault_negative_n_steps,
    "index_bounds": _fault_index, "empty_max": _fault_empty_max, "body_shape": _fault_body_shape,
    "reshape_size": _fault_reshape, "update_shape": _fault_update, "take_bounds": _fault_take,
    "nested_index": _fault_nested_index, "elemwise_length_1": _fault_elemwise_length_1,
    "alloc_shape": _fault_alloc_shape, "alloc_negative": _fault_alloc_negative, "state_shape": _fault_state_shape,
    "output_shape": _fault_output_shape, "region_shape": _fault_region_shape, "repeats": _fault_repeats,
    "advanced_bounds": _fault_advanced_bounds, "mask_shape": _fault_mask_shape,
    "index_broadcast": _fault_index_broadcast, "summed_shape": _fault_summed_shape,
}
