"""The reference evaluator: runs an IR graph node by node with each op's NumPy
`perform` (scan as a plain Python loop over its body). No code generation: it is
the oracle the backends are tested against, and the most literal debugging mode.
"""
import contextvars

from ..errors import LoopcError
from .graph import Constant, SharedVariable


_MONITOR = contextvars.ContextVar("loopc_monitor", default=None)


def evaluate(graph, values, monitor=None):
    """Values of `graph.outputs` given values for `graph.inputs`.

    `monitor`, when given, has `pre(i, node, inputs)` and `post(i, node, inputs,
    outputs)`, called around each node; it also sees the nodes of every scan body
    at every step (the bodies are evaluated inside this call) unless its `descend` is
    false."""
    token = _MONITOR.set(monitor if getattr(monitor, "descend", True) else None) if monitor is not None else None
    monitor = monitor if monitor is not None else _MONITOR.get()
    try:
        env = dict(zip(graph.inputs, values))
        for i, node in enumerate(graph.nodes):
            args = [_value(env, v) for v in node.inputs]
            if monitor is not None:
                monitor.pre(i, node, args)
            results = node.op.perform(node, args)
            if monitor is not None:
                monitor.post(i, node, args, results)
            env.update(zip(node.outputs, results))
        return [_value(env, v) for v in graph.outputs]
    finally:
        if token is not None:
            _MONITOR.reset(token)


def _value(env, var):
    if var in env:
        return env[var]
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.container[0]
    raise KeyError(f"reference evaluator: no value for {var}")


# -- shapes without values ---------------------------------------------------------
# A scan that runs no step still owes its outputs a row shape. `row_shapes`
# evaluates a body on stand-in values to find the shape its first step would
# give, trusting a shape only where it cannot depend on a value the step would
# read. Each value is tracked with a level:
CONCRETE = 2  # the real value (computed from non-sequences and constants only)
SHAPED = 1    # a stand-in of the right shape; its elements are unknown
UNKNOWN = 0   # neither its elements nor its shape are known

# The inputs whose *values* decide an op's output shape, by op name; an op not
# listed is trusted only when all of its inputs are concrete.
_SHAPE_FROM_VALUES = {
    # (not subtensor: the lowering does not work out a slice's length before the loop)
    "reshape": lambda n: range(1, n), "alloc": lambda n: range(1, n),
    "dimshuffle": lambda n: (), "dot": lambda n: (), "concatenate": lambda n: (), "make_vector": lambda n: (),
    "inc_subtensor": lambda n: (), "set_subtensor": lambda n: (), "take": lambda n: (),
    "inc_take": lambda n: (), "set_take": lambda n: (), "print": lambda n: (),
    "shape": lambda n: (), "shape_i": lambda n: (),
    "cumsum": lambda n: (), "cumprod": lambda n: (), "sort": lambda n: (), "argsort": lambda n: (),
    "repeat": lambda n: (1,),  # the counts decide the length
    # the index arrays' shapes decide, not their values (a stand-in out of bounds raises: nothing known)
    "advanced_subtensor": lambda n: (), "advanced_inc_subtensor": lambda n: (), "advanced_set_subtensor": lambda n: (),
    "batched_dot": lambda n: (), "check_lengths": lambda n: (), "grad_override": lambda n: (),
}


def _value_inputs(op, n_inputs):
    from .ops import Elemwise, Reduce, RandomOp
    if isinstance(op, (Elemwise, Reduce)):
        return ()
    if isinstance(op, RandomOp):  # the size decides; the parameters broadcast into it
        return (1,)
    rule = _SHAPE_FROM_VALUES.get(op.name)
    return range(n_inputs) if rule is None else rule(n_inputs)


def row_shapes(graph, inputs):
    """The shapes of `graph.outputs` (None where unknown) given `inputs`, pairs of
    (value or stand-in, level). Nothing is printed and no random state moves."""
    import copy
    import numpy as np
    from .types import RandomStateType
    env = dict(zip(graph.inputs, inputs))

    def get(var):
        if var in env:
            return env[var]
        if isinstance(var, Constant):
            return var.data, CONCRETE
        if isinstance(var, SharedVariable):  # read, never written, by the body
            return copy.deepcopy(var.container[0]), CONCRETE
        raise KeyError(f"shape evaluator: no value for {var}")

    for node in graph.nodes:
        args = [get(v) for v in node.inputs]
        values, levels = [a[0] for a in args], [a[1] for a in args]
        arrays = [lv for v, lv in zip(node.inputs, levels) if not isinstance(v.type, RandomStateType)]
        if node.op.name == "scan":  # a nested scan: not run here (its body may print)
            level = UNKNOWN
        elif min(levels, default=CONCRETE) == CONCRETE and not node.op.name.startswith("random_"):
            level = CONCRETE
        elif node.op.name in ("shape", "shape_i"):
            level = CONCRETE if min(arrays) > UNKNOWN else UNKNOWN
        elif min(arrays, default=CONCRETE) > UNKNOWN and all(
                levels[i] == CONCRETE for i in _value_inputs(node.op, len(node.inputs))):
            level = SHAPED
        else:
            level = UNKNOWN
        results = [None] * len(node.outputs)
        if level > UNKNOWN:
            try:
                with np.errstate(all="ignore"):
                    results = values if node.op.name == "print" else \
                        node.op.perform(node, [copy.deepcopy(v) for v in values])
            except (LoopcError, ArithmeticError, ValueError, IndexError, TypeError):  # a stand-in the real step would not have given: nothing known
                level = UNKNOWN
        for var, value in zip(node.outputs, results):
            env[var] = (value, level)
    shapes = []
    for var in graph.outputs:
        value, level = get(var)
        shapes.append(np.shape(value) if level > UNKNOWN and value is not None else None)
    return shapes
