"""Theano's tensor-variable surface on every IR variable, and Theano's test values.

`x + y`, `x[i]`, `x.sum()`, `x.shape`, `x.eval()` and `op(x, 2)` are methods the
IR's `Variable` and `Op` declare and dispatch through `loopc.ir.graph.SURFACE`;
this module fills that table when the frontend is imported, so every variable,
whoever made it, has the surface while the IR imports nothing above itself.

Test values (`config.compute_test_value`): an op applied through the surface, a
scan and a gradient node get `tag.test_value` on their outputs as they are built,
computed from their inputs' test values with the op's NumPy reference.
"""
import warnings

from ..config import config
from ..errors import LoopcTypeError
from ..ir.graph import SURFACE, Constant, SharedVariable
from ..ir.types import DTYPE_ALIASES
from . import tensor

# Variable's method -> the frontend function it calls (`x + y` is `add(x, y)`).
_TENSOR_FUNCTIONS = ("add", "sub", "mul", "true_div", "int_div", "mod", "pow", "dot", "neg", "abs_", "invert",
                     "and_", "or_", "xor", "lt", "le", "gt", "ge", "getitem", "shape", "prod", "transpose",
                     "dimshuffle", "reshape", "flatten", "cast", "sum", "mean", "max", "min", "argmax", "norm",
                     "round")


def apply(op, *inputs):
    """`op` applied to `inputs` (variables or anything `as_tensor_variable` takes), with
    test values: its output, or the list of its outputs."""
    node = op.make_node(*[tensor.as_tensor_variable(x) for x in inputs])
    compute_test_values(node)
    return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)


def eval_variable(var, inputs_to_values=None):
    """Compile and run the graph of `var` with the given input values (Theano's `var.eval`)."""
    from .function import function  # function.py builds on tensor.py, as this module does
    inputs_to_values = inputs_to_values or {}
    inputs = list(inputs_to_values)
    return function(inputs, var, on_unused_input="ignore")(*[inputs_to_values[i] for i in inputs])


def compute_test_values(node):
    """Theano's test values: set `tag.test_value` on the outputs of `node` as the graph is built."""
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
                warnings.warn(f"{var} has no test value; skipping test values for {node.op.name}")
            return
        values.append(value)
    for var, value in zip(node.outputs, node.op.perform(node, values)):
        var.tag.test_value = value


def _test_value_of(var):
    """The test value of `var` converted to its type, or None: a constant's data, a
    shared variable's value, or the value the user set in `tag.test_value`."""
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.container[0]
    value = getattr(var.tag, "test_value", None)
    if value is None:
        return None
    return var.type.filter(value, f"test value of {var}", allow_downcast=True)


SURFACE.update({name: getattr(tensor, name) for name in _TENSOR_FUNCTIONS}, apply=apply, eval=eval_variable)
DTYPE_ALIASES["floatX"] = lambda: config.floatX
