"""Theano's `RandomStreams`: random variables backed by NumPy `RandomState`s.

Exactly Theano's stream: a seed generator `RandomState(seed)` gives each new
random variable its own `RandomState(seedgen.randint(2**30))`, in the order
the variables are made. Each draw replaces its state with the advanced one
(the state's `default_update`), so successive calls of a function that computes
the draw give fresh numbers. A draw that a scan redraws each step advances its
state only through the updates scan returns: a function compiled without them
draws the same numbers at every call (`loopc.function` applies a default update
only when it computes the draw itself).
"""
import numpy as np

from ..config import config
from ..ir.ops import MakeVector, RandomOp
from .shared import shared
from .tensor import as_dtype, as_tensor_variable, cast


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
        size_var, ndim = _size(size, ndim)
        params = [as_tensor_variable(p) for p in params]
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


def _size(size, ndim):
    """The size as an int64 vector variable, and the sample's ndim."""
    if size is None:
        size = ()
    if isinstance(size, (list, tuple)):
        items = [cast(as_tensor_variable(s), "int64") for s in size]
        return MakeVector("int64")(*items), len(items)
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
