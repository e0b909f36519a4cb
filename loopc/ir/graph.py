"""Values, nodes, ops and graphs: the IR's core.

A `Variable` is an SSA value: it has a type, and either no owner (a graph input,
a `Constant` or a `SharedVariable`) or an `Apply` node that computes it. An
`Apply` node applies an `Op` to input variables and owns its output variables.
A `Graph` is a list of inputs and outputs; its nodes are everything between them,
in topological order. Ops are frozen dataclasses: equal params, equal op.

Rewrites never mutate a node: they build new ones (`clone_replace`).

Theano's tensor-variable surface (`x + y`, `x[i]`, `x.sum()`, `x.shape`,
`x.eval()`, and `op(x, 2)` on Python values, with test values) is frontend
business: `Variable` and `Op` declare it and dispatch through `SURFACE`, a table
of name -> function that `loopc.frontend.variable` fills once, when loopc is
imported. So every variable has the surface, whoever made it (the user, an op,
a rewrite, grad), and the IR imports nothing above itself.
"""
import copy
import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import LoopcTypeError
from .types import RandomStateType, TensorType

_ids = itertools.count()


class Tag:
    """Free-form annotations (Theano's `var.tag.test_value`)."""

    def __repr__(self):
        return f"Tag({vars(self)})"


SURFACE = {}  # name -> the frontend's function; filled at import, read only after

COMPARISONS = ("eq", "neq", "lt", "le", "gt", "ge")  # the elementwise ops whose results have no truth value


def _surface(name):
    try:
        return SURFACE[name]
    except KeyError:
        raise LoopcTypeError("%r on a variable is the frontend's; import loopc first", name) from None


class Variable:
    """An SSA value. Tensor variables support Python's operators, as in Theano (the
    frontend's functions, through `SURFACE`)."""

    __array_priority__ = 1000  # numpy_array + var -> var.__radd__

    def __init__(self, type, owner=None, index=0, name=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = Tag()
        self.uid = next(_ids)  # creation order: stable printing and sorting

    # -- type shortcuts -------------------------------------------------------
    dtype = property(lambda self: self.type.dtype)
    ndim = property(lambda self: self.type.ndim)
    broadcastable = property(lambda self: self.type.broadcastable)

    def __repr__(self):
        label = self.name or (self.owner.op.name if self.owner else "input")
        return f"<{type(self).__name__} {label}: {self.type}>"

    __str__ = lambda self: self.name or repr(self)

    def clone(self):
        return type(self)(self.type, name=self.name)

    # -- Theano's tensor-variable surface, the frontend's (`SURFACE`) ------------
    def __add__(self, other): return _surface("add")(self, other)
    def __radd__(self, other): return _surface("add")(other, self)
    def __sub__(self, other): return _surface("sub")(self, other)
    def __rsub__(self, other): return _surface("sub")(other, self)
    def __mul__(self, other): return _surface("mul")(self, other)
    def __rmul__(self, other): return _surface("mul")(other, self)
    def __truediv__(self, other): return _surface("true_div")(self, other)
    def __rtruediv__(self, other): return _surface("true_div")(other, self)
    def __floordiv__(self, other): return _surface("int_div")(self, other)
    def __rfloordiv__(self, other): return _surface("int_div")(other, self)
    def __mod__(self, other): return _surface("mod")(self, other)
    def __rmod__(self, other): return _surface("mod")(other, self)
    def __pow__(self, other): return _surface("pow")(self, other)
    def __rpow__(self, other): return _surface("pow")(other, self)
    def __matmul__(self, other): return _surface("dot")(self, other)
    def __rmatmul__(self, other): return _surface("dot")(other, self)
    def __neg__(self): return _surface("neg")(self)
    def __pos__(self): return self
    def __abs__(self): return _surface("abs_")(self)
    def __invert__(self): return _surface("invert")(self)
    def __and__(self, other): return _surface("and_")(self, other)
    def __rand__(self, other): return _surface("and_")(other, self)
    def __or__(self, other): return _surface("or_")(self, other)
    def __ror__(self, other): return _surface("or_")(other, self)
    def __xor__(self, other): return _surface("xor")(self, other)
    def __rxor__(self, other): return _surface("xor")(other, self)
    def __lt__(self, other): return _surface("lt")(self, other)
    def __le__(self, other): return _surface("le")(self, other)
    def __gt__(self, other): return _surface("gt")(self, other)
    def __ge__(self, other): return _surface("ge")(self, other)
    # == and != stay identity comparisons, as in Theano (use T.eq / T.neq).
    __hash__ = object.__hash__

    def __getitem__(self, index): return _surface("getitem")(self, index)
    def __iter__(self):
        raise TypeError(f"{self} is symbolic and cannot be iterated; index it or use scan")
    def __bool__(self):
        """Theano 1.0's rule: a variable is true (`if not input:` tests for None), except a
        comparison's result, whose truth is unknown until the graph runs."""
        op = self.owner.op if self.owner is not None else None
        if getattr(op, "name", None) in COMPARISONS:
            raise LoopcTypeError("%s is the symbolic result of a comparison (%s) and has no truth value until "
                                 "the graph runs: `if a < b:` and chains like `a < b < c` cannot be computed "
                                 "in Python; use T.switch, T.and_ or scan's until", self, op.name)
        return True
    def __len__(self):
        raise TypeError(f"{self} is symbolic and has no len(); use {self}.shape[0]")

    shape = property(lambda self: _surface("shape")(self))
    size = property(lambda self: _surface("prod")(_surface("shape")(self)))
    T = property(lambda self: _surface("transpose")(self))

    def transpose(self, *axes): return _surface("transpose")(self, axes or None)
    def dimshuffle(self, *pattern): return _surface("dimshuffle")(self, *pattern)
    def reshape(self, shape, ndim=None): return _surface("reshape")(self, shape, ndim)
    def flatten(self, ndim=1): return _surface("flatten")(self, ndim)
    def ravel(self): return _surface("flatten")(self, 1)
    def astype(self, dtype): return _surface("cast")(self, dtype)
    def dot(self, other): return _surface("dot")(self, other)
    def sum(self, axis=None, dtype=None, keepdims=False): return _surface("sum")(self, axis, dtype, keepdims)
    def prod(self, axis=None, dtype=None, keepdims=False): return _surface("prod")(self, axis, dtype, keepdims)
    def mean(self, axis=None, dtype=None, keepdims=False): return _surface("mean")(self, axis, dtype, keepdims)
    def max(self, axis=None, keepdims=False): return _surface("max")(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _surface("min")(self, axis, keepdims)
    def argmax(self, axis=None, keepdims=False): return _surface("argmax")(self, axis, keepdims)
    def norm(self, L=2, axis=None): return _surface("norm")(self, L, axis)
    def __round__(self): return _surface("round")(self)

    def eval(self, inputs_to_values=None):
        """Compile and run this variable's graph with the given input values."""
        return _surface("eval")(self, inputs_to_values)


class Constant(Variable):
    """A value fixed when the graph is built."""

    def __init__(self, type, data, name=None):
        super().__init__(type, name=name)
        self.data = data

    def clone(self):
        return Constant(self.type, self.data, self.name)

    def signature(self):
        """Equal signatures, equal constants (used by CSE)."""
        return (self.type, self.data.tobytes(), self.data.shape)

    def __repr__(self):
        return f"<Constant {self.data!r}: {self.type}>"


class Container(list):
    """A shared variable's storage: `container[0]` is its value. A backend that keeps the
    value elsewhere between calls (CUDA mode: on the device) puts it there with
    `hold(device, fetch)`; the first read of `container[0]` after that fetches the value
    back (`fetch()`), and a write drops the device copy (`set_value` refreshes it)."""

    def __init__(self, value):
        super().__init__([value])
        self.device = None  # the value on the device, while it is current
        self._fetch = None

    def __getitem__(self, k):
        if self._fetch is not None and k == 0:
            list.__setitem__(self, 0, self._fetch())
            self._fetch = None
        return list.__getitem__(self, k)

    def __setitem__(self, k, value):
        list.__setitem__(self, k, value)
        self.device, self._fetch = None, None

    def hold(self, device, fetch):
        """The current value is `device`; `fetch()` gives it on the host when asked for."""
        self.device, self._fetch = device, fetch

    def mirror(self, device):
        """`device` holds the same value as `container[0]` (a copy made for a call)."""
        self.device = device


class SharedVariable(Variable):
    """A variable whose value persists between calls (Theano's `shared`)."""

    def __init__(self, type, value, name=None, strict=False):
        super().__init__(type, name=name)
        self.container = Container(type.filter(value, f"shared variable {name or ''}".rstrip(),
                                               allow_downcast=not strict))
        self.default_update = None

    def get_value(self, borrow=False, return_internal_type=False):
        """The value; a copy unless `borrow` (calls advance a random state in place)."""
        value = self.container[0]
        if borrow:
            return value
        if isinstance(value, np.random.RandomState):
            return copy.deepcopy(value)
        return np.array(value, copy=True)

    def set_value(self, value, borrow=False):
        value = self.type.filter(value, f"shared variable {self.name or ''}".rstrip(), allow_downcast=True)
        if not borrow and isinstance(value, np.ndarray):
            value = value.copy()
        elif not borrow and isinstance(value, np.random.RandomState):
            value = copy.deepcopy(value)
        self.container[0] = value

    @property
    def value(self):
        return self.get_value()

    def clone(self):
        return self  # a shared variable is its own identity across graphs


class Apply:
    """One application of an op to input variables."""

    __slots__ = ("op", "inputs", "outputs")

    def __init__(self, op, inputs, output_types):
        self.op = op
        self.inputs = tuple(inputs)
        self.outputs = tuple(Variable(t, owner=self, index=i) for i, t in enumerate(output_types))

    def __repr__(self):
        return f"<Apply {self.op.name}({', '.join(map(str, self.inputs))})>"

    @property
    def out(self):
        (output,) = self.outputs
        return output

    def replace(self, inputs):
        """A new node applying the same op to other inputs."""
        return self.op.make_node(*inputs)


@dataclass(frozen=True)
class Op:
    """Base of all ops. Subclasses are frozen dataclasses whose fields are the params.

    An op provides `make_node(*inputs)` (checks input types, infers output types)
    and `perform(node, inputs)` (the NumPy reference, used by the reference
    evaluator and by test values). Grad and render rules live in their passes'
    tables, keyed by `op.name`.
    """

    name = "op"

    def params(self):
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def make_node(self, *inputs):
        raise NotImplementedError

    def perform(self, node, inputs):
        raise NotImplementedError(f"op {self.name} has no NumPy reference")

    def __call__(self, *inputs):
        """The op applied to variables or Python values (the frontend converts them):
        its output, or the list of its outputs."""
        return _surface("apply")(self, *inputs)


# -- graphs -------------------------------------------------------------------

class Graph:
    """Inputs and outputs; the nodes are everything between them."""

    def __init__(self, inputs, outputs):
        self.inputs = list(inputs)
        self.outputs = list(outputs)

    @property
    def nodes(self):
        return toposort(self.outputs, self.inputs)

    def __repr__(self):
        from .printer import format_graph
        return format_graph(self)

    def clone(self):
        """A copy with fresh input variables and nodes (shared variables and constants kept)."""
        fresh = {v: v.clone() for v in self.inputs}
        outputs = clone_replace(self.outputs, fresh)
        return Graph([fresh[v] for v in self.inputs], outputs)


def toposort(outputs, stop=()):
    """Apply nodes needed for `outputs`, each after the nodes that compute its inputs.

    The walk stops at variables in `stop` (and at variables without owner)."""
    stop = set(stop)
    order, done = [], set()
    stack = [(v, False) for v in reversed(outputs)]
    while stack:
        var, expanded = stack.pop()
        node = var.owner
        if node is None or var in stop or node in done:
            continue
        if expanded:
            done.add(node)
            order.append(node)
            continue
        stack.append((var, True))
        stack.extend((v, False) for v in reversed(node.inputs))
    return order


def ancestors(outputs, stop=()):
    """Every variable the outputs depend on, including themselves."""
    seen, stack, stop = set(), list(outputs), set(stop)
    while stack:
        var = stack.pop()
        if var in seen:
            continue
        seen.add(var)
        if var.owner is not None and var not in stop:
            stack.extend(var.owner.inputs)
    return seen


def graph_inputs(outputs, stop=()):
    """The variables without owner (or in `stop`) that the outputs depend on, in first-use order."""
    seen = []
    for node in toposort(outputs, stop):
        seen.extend(v for v in node.inputs if (v.owner is None or v in stop) and v not in seen)
    seen.extend(v for v in outputs if (v.owner is None or v in stop) and v not in seen)
    return seen


def clone_replace(outputs, replace):
    """Rebuild the graph of `outputs` with variables substituted per `replace`.

    Nodes whose inputs are unchanged are kept as they are."""
    memo = dict(replace)
    for node in toposort(outputs, stop=replace):
        inputs = [memo.get(v, v) for v in node.inputs]
        if all(a is b for a, b in zip(inputs, node.inputs)):
            continue
        new = node.op.make_node(*inputs)
        for old, var in zip(node.outputs, new.outputs):
            var.name = old.name
            memo[old] = var
    return [memo.get(v, v) for v in outputs]


def describe(var):
    """How error messages name a value: its name (seen through a dimshuffle the frontend
    added), or what made it."""
    if var.name:
        return var.name
    if var.owner is not None and var.owner.op.name == "dimshuffle" and var.owner.inputs[0].name:
        return var.owner.inputs[0].name
    if var.owner is not None:
        return f"the result of {var.owner.op.name}"
    return f"an unnamed {var.type.describe()}"


def is_rng(var):
    return isinstance(var.type, RandomStateType)


def is_tensor(var):
    return isinstance(var.type, TensorType)


def verify(graph):
    """Check the IR invariants: every value defined before use, every node's
    output types equal to what its op infers, scan bodies recursively."""
    defined = set(graph.inputs)
    for node in graph.nodes:
        for var in node.inputs:
            if var.owner is None and var not in defined and not isinstance(var, (Constant, SharedVariable)):
                raise AssertionError(f"{var} used by {node.op.name} is not a graph input")
        expected = node.op.make_node(*node.inputs)
        for got, want in zip(node.outputs, expected.outputs):
            if got.type != want.type:
                raise AssertionError(f"{node.op.name} output has type {got.type}, op infers {want.type}")
        body = getattr(node.op, "body", None)
        if body is not None:
            verify(body)
    return graph
