"""Values, nodes, ops and graphs: the IR's core.

A `Variable` is an SSA value: it has a type, and either no owner (a graph input,
a `Constant` or a `SharedVariable`) or an `Apply` node that computes it. An
`Apply` node applies an `Op` to input variables and owns its output variables.
A `Graph` is a list of inputs and outputs; its nodes are everything between them,
in topological order. Ops are frozen dataclasses: equal params, equal op.

Rewrites never mutate a node: they build new ones (`clone_replace`).
"""
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


def _tensor_api():
    from ..frontend import tensor
    return tensor


class Variable:
    """An SSA value. Tensor variables support Python's operators, as in Theano."""

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

    # -- Theano's tensor-variable surface, forwarded to loopc.tensor -----------
    def __add__(self, other): return _tensor_api().add(self, other)
    def __radd__(self, other): return _tensor_api().add(other, self)
    def __sub__(self, other): return _tensor_api().sub(self, other)
    def __rsub__(self, other): return _tensor_api().sub(other, self)
    def __mul__(self, other): return _tensor_api().mul(self, other)
    def __rmul__(self, other): return _tensor_api().mul(other, self)
    def __truediv__(self, other): return _tensor_api().true_div(self, other)
    def __rtruediv__(self, other): return _tensor_api().true_div(other, self)
    def __floordiv__(self, other): return _tensor_api().int_div(self, other)
    def __rfloordiv__(self, other): return _tensor_api().int_div(other, self)
    def __mod__(self, other): return _tensor_api().mod(self, other)
    def __rmod__(self, other): return _tensor_api().mod(other, self)
    def __pow__(self, other): return _tensor_api().pow(self, other)
    def __rpow__(self, other): return _tensor_api().pow(other, self)
    def __matmul__(self, other): return _tensor_api().dot(self, other)
    def __rmatmul__(self, other): return _tensor_api().dot(other, self)
    def __neg__(self): return _tensor_api().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _tensor_api().abs_(self)
    def __invert__(self): return _tensor_api().invert(self)
    def __and__(self, other): return _tensor_api().and_(self, other)
    def __rand__(self, other): return _tensor_api().and_(other, self)
    def __or__(self, other): return _tensor_api().or_(self, other)
    def __ror__(self, other): return _tensor_api().or_(other, self)
    def __xor__(self, other): return _tensor_api().xor(self, other)
    def __rxor__(self, other): return _tensor_api().xor(other, self)
    def __lt__(self, other): return _tensor_api().lt(self, other)
    def __le__(self, other): return _tensor_api().le(self, other)
    def __gt__(self, other): return _tensor_api().gt(self, other)
    def __ge__(self, other): return _tensor_api().ge(self, other)
    # == and != stay identity comparisons, as in Theano (use T.eq / T.neq).
    __hash__ = object.__hash__

    def __getitem__(self, index): return _tensor_api().getitem(self, index)
    def __iter__(self):
        raise TypeError(f"{self} is symbolic and cannot be iterated; index it or use scan")
    def __bool__(self):
        raise TypeError(f"{self} is symbolic and has no truth value; use T.switch or scan's until")
    def __len__(self):
        raise TypeError(f"{self} is symbolic and has no len(); use {self}.shape[0]")

    shape = property(lambda self: _tensor_api().shape(self))
    size = property(lambda self: _tensor_api().prod(_tensor_api().shape(self)))
    T = property(lambda self: _tensor_api().transpose(self))

    def transpose(self, *axes): return _tensor_api().transpose(self, axes or None)
    def dimshuffle(self, *pattern): return _tensor_api().dimshuffle(self, *pattern)
    def reshape(self, shape, ndim=None): return _tensor_api().reshape(self, shape, ndim)
    def flatten(self, ndim=1): return _tensor_api().flatten(self, ndim)
    def astype(self, dtype): return _tensor_api().cast(self, dtype)
    def dot(self, other): return _tensor_api().dot(self, other)
    def sum(self, axis=None, dtype=None, keepdims=False): return _tensor_api().sum(self, axis, dtype, keepdims)
    def prod(self, axis=None, dtype=None, keepdims=False): return _tensor_api().prod(self, axis, dtype, keepdims)
    def mean(self, axis=None, dtype=None, keepdims=False): return _tensor_api().mean(self, axis, dtype, keepdims)
    def max(self, axis=None, keepdims=False): return _tensor_api().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _tensor_api().min(self, axis, keepdims)
    def argmax(self, axis=None, keepdims=False): return _tensor_api().argmax(self, axis, keepdims)
    def norm(self, L=2, axis=None): return _tensor_api().norm(self, L, axis)
    def __round__(self): return _tensor_api().round(self)

    def eval(self, inputs_to_values=None):
        """Compile and run this variable's graph with the given input values."""
        from ..frontend.function import function
        inputs_to_values = inputs_to_values or {}
        inputs = list(inputs_to_values)
        return function(inputs, self, on_unused_input="ignore")(*[inputs_to_values[i] for i in inputs])


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


class SharedVariable(Variable):
    """A variable whose value persists between calls (Theano's `shared`)."""

    def __init__(self, type, value, name=None, strict=False):
        super().__init__(type, name=name)
        self.container = [type.filter(value, f"shared variable {name or ''}".rstrip(), allow_downcast=not strict)]
        self.default_update = None

    def get_value(self, borrow=False, return_internal_type=False):
        value = self.container[0]
        if borrow or isinstance(value, np.random.RandomState):
            return value
        return np.array(value, copy=True)

    def set_value(self, value, borrow=False):
        value = self.type.filter(value, f"shared variable {self.name or ''}".rstrip(), allow_downcast=True)
        if not borrow and isinstance(value, np.ndarray):
            value = value.copy()
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
        from ..frontend.tensor import as_tensor_variable
        node = self.make_node(*[as_tensor_variable(x) for x in inputs])
        _test_values(node)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)


def _test_values(node):
    """Theano's test values: compute `tag.test_value` as the graph is built."""
    from ..config import config
    if config.compute_test_value == "off":
        return
    values = []
    for var in node.inputs:
        value = _test_value_of(var)
        if value is None:
            if config.compute_test_value == "raise":
                raise LoopcTypeError("%s has no test value (config.compute_test_value='raise'); "
                                     "set %s.tag.test_value", var, var)
            if config.compute_test_value == "warn":
                import warnings
                warnings.warn(f"{var} has no test value; skipping test values for {node.op.name}")
            return
        values.append(value)
    for var, value in zip(node.outputs, node.op.perform(node, values)):
        var.tag.test_value = value


def _test_value_of(var):
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.container[0]
    value = getattr(var.tag, "test_value", None)
    if value is None:
        return None
    return var.type.filter(value, f"test value of {var}", allow_downcast=True)


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
