"""The reference evaluator: runs an IR graph node by node with each op's NumPy
`perform` (scan as a plain Python loop over its body). No code generation: it is
the oracle the backends are tested against, and the most literal debugging mode.
"""
from .graph import Constant, SharedVariable


def evaluate(graph, values, monitor=None):
    """Values of `graph.outputs` given values for `graph.inputs`.

    `monitor(i, node, inputs, outputs)`, when given, is called after each node."""
    env = dict(zip(graph.inputs, values))
    for i, node in enumerate(graph.nodes):
        args = [_value(env, v) for v in node.inputs]
        results = node.op.perform(node, args)
        if monitor is not None:
            monitor(i, node, args, results)
        env.update(zip(node.outputs, results))
    return [_value(env, v) for v in graph.outputs]


def _value(env, var):
    if var in env:
        return env[var]
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.container[0]
    raise KeyError(f"reference evaluator: no value for {var}")
