"""Theano's `RandomStreams`: random variables backed by NumPy `RandomState`s.

Exactly Theano's stream: a seed generator `RandomState(seed)` gives each new
random variable its own `RandomState(seedgen.randint(2**30))`, in the order
the variables are made. Each draw replaces its state with the advanced one
(the state's `default_update`), so successive calls of a function that computes
the draw give fresh numbers. A draw that a scan redraws each step advances its
state only through the updates scan returns: a function compiled without them
draws the same numbers at every call (`loopc.function` applies a default update
only when it computes the draw itself).
Without `size`, a draw has the broadcast shape of its parameters
(`binomial(n=1, p=P)` draws one number per element of P).
"""
import numpy as np

from ..config import config
from ..errors import LoopcTypeError, LoopcValueError
from ..ir.ops import MakeVector, RandomOp
from .shared import shared
from .tensor import and_, as_dtype, as_tensor_variable, cast, concatenate, cumsum, ge, lt, shape, sum, zeros


class RandomStreams:
    def __init__(self, seed=None):
        self.state_updates = []
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)

    def seed(self, seed=None):
        """Re-seed every random variable made so far, as Theano does."""
        seed = self.default_instance_seed if seed is None else seed
        self.gen_seedgen = np.random.RandomState(seed)
        for rng, _ in self.state_updates:
            rng.set_value(np.random.RandomState(int(self.gen_seedgen.randint(2 ** 30))), borrow=True)

    def updates(self):
        return list(self.state_updates)

    def gen(self, dist, size, params, dtype, ndim=None):
        rng = shared(np.random.RandomState(int(self.gen_seedgen.randint(2 ** 30))), name="rng")
        params = [as_tensor_variable(p) for p in params]
        if size is None or (isinstance(size, (list, tuple)) and not size):
            # no size: the draw takes the broadcast shape of its parameters, as NumPy's does
            size, ndim = (), _params_ndim(dist, params, ndim)
        size_var, ndim = _size(size, ndim)
        new_rng, sample = RandomOp(dist, as_dtype(dtype), ndim)(rng, size_var, *params)
        rng.default_update = new_rng
        self.state_updates.append((rng, new_rng))
        return sample

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        p = prob if prob is not None else p
        return self.gen("binomial", size, [n, p], dtype, ndim)

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        return self.gen("uniform", size, [low, high], dtype or config.floatX, ndim)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        return self.gen("normal", size, [avg, std], dtype or config.floatX, ndim)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        return self.gen("random_integers", size, [low, high], dtype, ndim)


def _params_ndim(dist, params, ndim):
    got = max([0] + [p.ndim for p in params])
    if ndim is not None and ndim != got:
        raise LoopcValueError("RandomStreams.%s: without a size the draw has the shape of its parameters "
                              "(ndim %d), not ndim=%d; give size", dist, got, ndim)
    return got


def _size(size, ndim):
    """The size as an int64 vector variable, and the sample's ndim (an empty size with a
    nonzero ndim: the shape of the parameters)."""
    if isinstance(size, (list, tuple)):
        items = [cast(as_tensor_variable(s), "int64") for s in size]
        return MakeVector("int64")(*items), len(items) or ndim or 0
    var = as_tensor_variable(size)
    if var.ndim != 1:
        raise TypeError(f"RandomStreams: size must be a tuple or an integer vector, got {var}")
    if ndim is None:
        owner = var.owner
        if owner is not None and owner.op.name == "shape":
            ndim = owner.inputs[0].ndim
        elif owner is not None and owner.op.name == "make_vector":
            ndim = len(owner.inputs)
        else:
            raise TypeError(f"RandomStreams: give ndim= when size ({var}) has no static length")
    return cast(var, "int64"), ndim


class MRG_RandomStreams(RandomStreams):
    """Theano's `theano.sandbox.rng_mrg.MRG_RandomStreams` API, on loopc's own stream.

    Its numbers are not those of Theano's MRG31k3p generator: each random variable
    draws from its own NumPy `RandomState`, seeded exactly as `RandomStreams` seeds
    them (so the numbers depend only on the seed and the order the variables are
    made, and a given seed always gives the same numbers). As in Theano's MRG:
    `binomial` (n=1) is `uniform() < p`, and `multinomial` (pvals a matrix whose rows
    are distributions) takes one uniform per row and per sample, the first class
    whose cumulative probability exceeds it (none, when rounding leaves the row's
    sum below it). `size` may be left out: the draw takes the shape of the
    parameters. `nstreams` and Theano's other tuning arguments are accepted and
    have no effect.
    """

    def __init__(self, seed=12345, use_cuda=None):
        if isinstance(seed, (list, tuple, np.ndarray)):
            seed = [int(s) for s in seed]  # Theano's six-integer MRG state seeds the generator here
        super().__init__(seed)

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None, **kwargs):
        return super().uniform(size, low, high, ndim, dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None, truncate=False, **kwargs):
        if truncate:
            raise LoopcValueError("MRG_RandomStreams.normal: truncate=True is not supported")
        return super().normal(size, avg, std, ndim, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None, prob=None, **kwargs):
        p = as_tensor_variable(prob if prob is not None else p)
        if not (isinstance(n, (int, np.integer)) and n == 1):
            raise LoopcValueError("MRG_RandomStreams.binomial supports n=1 only (as Theano's), got n=%r", n)
        if size is None:
            size, ndim = shape(p), p.ndim
        return cast(lt(self.uniform(size, ndim=ndim), p), dtype)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None, **kwargs):
        if pvals is None:
            raise LoopcTypeError("MRG_RandomStreams.multinomial: give pvals")
        pvals = as_tensor_variable(pvals)
        if pvals.ndim != 2 or size is not None or ndim is not None:
            raise LoopcValueError("MRG_RandomStreams.multinomial takes pvals as a matrix (one distribution per "
                                  "row) and no size or ndim, got pvals %s, size %r, ndim %r",
                                  pvals.type.describe(), size, ndim)
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise LoopcValueError("MRG_RandomStreams.multinomial: n must be a positive int, got %r", n)
        rows = shape(pvals)[0]
        draws = self.uniform((int(n), rows)).dimshuffle(0, 1, "x")
        upper = cumsum(pvals, axis=1)
        lower = concatenate([zeros((rows, 1), dtype=upper.dtype), upper[:, :-1]], axis=1)
        hits = and_(ge(draws, lower), lt(draws, upper))  # (n, rows, classes): the class each draw falls in
        return sum(hits, axis=0, dtype=dtype) if int(n) > 1 else cast(hits[0], dtype)
