"""`loopc.function`: compile a graph and call it with NumPy values.

A call checks and converts its inputs, runs the compiled kernel on them and on
the current values of the shared variables (random states as per-call copies,
in a random-state table of the call's own: `loopc.runtime.rng_slots`), and only
when everything succeeded writes all the updates at once.

The configuration is read here, when the function is made: the pass pipeline
and the backends get its values as arguments (`verify`, `print_stages`,
`backends.Options`).
"""
import copy
import warnings

import numpy as np

from .. import passes, runtime
from ..config import MODES, config
from ..errors import DebugModeError, LoopcTypeError, LoopcValueError, UnsupportedError, UnusedInputError
from ..ir.graph import Constant, Graph, SharedVariable, Variable, ancestors, clone_replace, graph_inputs, is_rng
from ..ir.interpret import evaluate
from ..ir.ops import RandomOp
from ..ir.printer import format_graph
from ..loops.ir import format_function
from .io import Bindings, In, as_in, check_strict, default_value
from .tensor import as_tensor_variable, cast



class Mode:
    """Theano's Mode object: `Mode(linker='cvm')` runs NUMBA, `Mode(linker='py')` PY."""

    def __init__(self, linker=None, optimizer="default"):
        self.linker = linker
        self.optimizer = optimizer
        self.name = "PY" if linker == "py" else "NUMBA"

    def __repr__(self):
        return f"Mode(linker={self.linker!r}) -> {self.name}"


class MonitorMode(Mode):
    """Runs node by node with the reference evaluator, calling
    `pre_func(i, node, fn)` and `post_func(i, node, fn)` around each node;
    `fn.inputs` and `fn.outputs` are lists of one-element lists, as in Theano."""

    def __init__(self, pre_func=None, post_func=None, optimizer="default", linker=None):
        super().__init__(linker, optimizer)
        self.name = "MONITOR"
        self.pre_func, self.post_func = pre_func, post_func


class _Monitor:
    """MonitorMode's calls around each node, scan bodies' nodes included (at every step)."""

    class Cells:  # Theano's `fn`: inputs and outputs as one-element lists
        def __init__(self, inputs, outputs):
            self.inputs = [[v] for v in inputs]
            self.outputs = [[v] for v in outputs]

    def __init__(self, mode):
        self.mode = mode

    def pre(self, i, node, inputs):
        if self.mode.pre_func:
            self.mode.pre_func(i, node, self.Cells(inputs, [None] * len(node.outputs)))

    def post(self, i, node, inputs, outputs):
        if self.mode.post_func:
            self.mode.post_func(i, node, self.Cells(inputs, outputs))


def resolve_mode(mode):
    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode):
        return mode.name
    if mode not in MODES:
        raise LoopcValueError("unknown mode %r; loopc knows %s", mode, ", ".join(sorted(MODES)))
    return MODES[mode]


def function(inputs, outputs=None, updates=None, givens=None, allow_input_downcast=False, mode=None,
             name=None, profile=False, on_unused_input="raise", no_default_updates=False, rebuild_strict=True):
    """Compile `outputs` (a variable, a list, or None) of `inputs` (variables or `In`s); see SPEC section 1."""
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    specs = [as_in(item, i) for i, item in enumerate(inputs)]
    inputs = [spec.variable for spec in specs]
    for i, var in enumerate(inputs):
        if not isinstance(var, Variable) or isinstance(var, (Constant, SharedVariable)) or var.owner is not None:
            raise LoopcTypeError("loopc.function: input %d (%s) must be a symbolic input variable such as "
                                 "T.matrix('X'); constants, shared variables and computed values cannot be "
                                 "inputs", i, var)
    single = outputs is not None and not isinstance(outputs, (list, tuple))
    out_list = [] if outputs is None else ([outputs] if single else list(outputs))
    out_list = [as_tensor_variable(o) for o in out_list]
    update_pairs = _updates(updates)
    bindings, state_updates = _bindings(specs, allow_input_downcast)
    update_pairs += state_updates
    if not no_default_updates:
        # before givens, which then rewrite a draw and its default update alike
        update_pairs += _default_updates(out_list + [v for _, v in update_pairs], [sh for sh, _ in update_pairs])
    if givens:
        pairs = givens.items() if isinstance(givens, dict) else givens
        replace = {k: _given(k, v) for k, v in pairs}
        new = clone_replace(out_list + [v for _, v in update_pairs], replace)
        out_list, values = new[:len(out_list)], new[len(out_list):]
        update_pairs = [(sh, v) for (sh, _), v in zip(update_pairs, values)]
    _check_inputs_used(inputs, out_list + [v for _, v in update_pairs], on_unused_input, name)
    mode_name = resolve_mode(mode)
    return Function(inputs, out_list, single, update_pairs, mode_name, mode, allow_input_downcast, name,
                    bindings=bindings)


def _bindings(specs, allow_input_downcast):
    """The Bindings of the inputs `specs`, and the updates of the states among them.

    A state (`In(s, value=..., update=...)`) keeps its value in a shared variable of
    its own, which only the state's update writes: the call reads the input `s`,
    bound to that value unless given, and the update pairs put the new one back."""
    storage, updates = [], []
    for i, spec in enumerate(specs):
        var = spec.variable
        if any(spec.variable is other.variable for other in specs[:i]):
            raise LoopcValueError("loopc.function: %s is given twice in the inputs", var)
        value = None if spec.value is None else default_value(spec, allow_input_downcast)
        if spec.update is None:
            storage.append(None if value is None else [value])
            continue
        state = SharedVariable(var.type, np.zeros((1,) * var.ndim, var.dtype) if value is None else value,
                               name=spec.name or var.name)
        if value is None:
            state.container[0] = None  # no value until a call gives one (its update then stores it)
        updates.append((state, _state_update(spec)))
        storage.append(state.container)
    return Bindings(specs, storage), updates


def _state_update(spec):
    var, update = spec.variable, as_tensor_variable(spec.update)
    if update.ndim != var.ndim or not np.can_cast(update.dtype, var.dtype, "same_kind"):
        raise LoopcTypeError("In(%s, update=...): the update is a %s, the input a %s", spec.name or var,
                             update.type.describe(), var.type.describe())
    return update if update.dtype == var.dtype else cast(update, var.dtype)


def _updates(updates):
    if updates is None:
        return []
    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates)
    result = []
    for shared, value in pairs:
        if not isinstance(shared, SharedVariable):
            raise LoopcTypeError("loopc.function: updates must be keyed by shared variables, got %s", shared)
        if any(s is shared for s, _ in result):
            raise LoopcValueError("loopc.function: shared variable %s is updated twice", shared)
        result.append((shared, _update_value(shared, value)))
    return result


def _update_value(shared, value):
    value = value if isinstance(value, Variable) else as_tensor_variable(value)
    if is_rng(shared):
        return value
    if value.ndim != shared.ndim:
        raise LoopcTypeError("the update of shared variable %s has ndim %d, expected %d (%s)",
                             shared, value.ndim, shared.ndim, shared.type.describe())
    if value.dtype != shared.dtype:
        if not np.can_cast(value.dtype, shared.dtype, "same_kind"):
            raise LoopcTypeError("the update of shared variable %s has dtype %s, expected %s; cast it",
                                 shared, value.dtype, shared.dtype)
        value = cast(value, shared.dtype)
    return value


def _given(var, value):
    value = as_tensor_variable(value)
    if value.type.dtype != var.type.dtype or value.ndim != var.ndim:
        raise LoopcTypeError("givens: %s has type %s but its replacement %s has type %s",
                             var, var.type, value, value.type)
    return value


def _default_updates(values, already):
    """The default updates of the shared variables `values` read and `already` does not update.

    A random state's default update (RandomStreams sets it to the state after its draw) applies
    only when the function computes that draw itself: a draw that a scan redraws each step
    (made in fn, or captured from outside) advances the state only through the updates scan
    returned, so a function compiled without them leaves the state as it was (Theano)."""
    pairs, seen = [], set(already)
    computed = ancestors(values)
    for var in graph_inputs(values):
        if isinstance(var, SharedVariable) and var.default_update is not None and var not in seen:
            if _is_draw_state(var.default_update) and not _computed_draw(var.default_update, computed):
                continue
            pairs.append((var, var.default_update))
            seen.add(var)
    return pairs


def _is_draw_state(update):
    """Whether `update` is the state a random draw leaves (the draw's first output)."""
    return update.owner is not None and isinstance(update.owner.op, RandomOp) and update is update.owner.outputs[0]


def _computed_draw(state, computed):
    """Whether the draw that leaves `state` is among the `computed` values (outside scan bodies)."""
    return any(v in computed for v in state.owner.outputs)


def _check_inputs_used(inputs, values, on_unused_input, name):
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise LoopcValueError("on_unused_input expects 'raise', 'warn' or 'ignore', got %r", on_unused_input)
    used = ancestors(values)
    missing = [v for v in graph_inputs(values)
               if not isinstance(v, (Constant, SharedVariable)) and v not in inputs]
    if missing:
        raise LoopcValueError("loopc.function%s: the outputs depend on %s, which is not among the inputs %s",
                              _fname(name), missing[0], [str(v) for v in inputs])
    for i, var in enumerate(inputs):
        if var in used or on_unused_input == "ignore":
            continue
        message = (f"loopc.function{_fname(name)}: input {i} ({var}) is not used by any output or update; "
                   "pass on_unused_input='ignore' to allow it")
        if on_unused_input == "raise":
            raise UnusedInputError(message)
        warnings.warn(message)


def _fname(name):
    return f" {name!r}" if name else ""


def _compile_options():
    """The backends' options from the configuration."""
    from ..backends import Options  # the backends load Numba: not before a function is made
    return Options(math=config.math, optimize=config.optimizer != "None", verify=config.verify, cache=config.cache)


class Function:
    """A compiled function. `f.source` is the generated Python; `f.dump(stage)` the IR."""

    def __init__(self, inputs, outputs, single, updates, mode_name, mode, allow_input_downcast, name,
                 bindings=None):
        self.inputs, self.outputs, self.single = inputs, outputs, single
        self.bindings = bindings or Bindings([In(v) for v in inputs], [None] * len(inputs))
        self.updates = updates
        self.name = name
        self.mode = mode_name
        self.allow_input_downcast = allow_input_downcast
        values = outputs + [v for _, v in updates]
        self.shared = [v for v in graph_inputs(values) if isinstance(v, SharedVariable)]
        graph = Graph(inputs + self.shared, values)
        self.options = _compile_options()
        self.stages = passes.run_pipeline(graph, enabled=self.options.optimize, verify=config.verify,
                                          print_stages=config.print_stages)
        self.graph = self.stages[-1][1]
        self._monitor = mode if mode_name == "MONITOR" else None
        self.kernels = self._compile(mode_name)

    def _compile(self, mode_name):
        from ..backends import compile_graph
        if mode_name == "CUDA":
            raise UnsupportedError("mode 'CUDA': the CUDA backend is not built yet; use 'NUMBA' or 'PY'")
        if mode_name in ("MONITOR", "REFERENCE"):
            return {}
        if mode_name == "DEBUG":
            return {backend: compile_graph(self.graph, backend, self.options) for backend in ("PY", "NUMBA")}
        return {mode_name: compile_graph(self.graph, mode_name, self.options)}

    @property
    def source(self):
        kernel = next(iter(self.kernels.values()), None)
        if kernel is None:
            from ..backends.compiler import render_function
            return render_function(self.graph, options=self.options)
        return kernel.source

    def dump(self, stage=None):
        """The IR text after stage `stage`: 'input', a graph pass's name, or None for the
        final graph; 'lower' or a loop pass's name for the loop IR, 'loops' for the final
        loop IR."""
        if stage is None:
            return format_graph(self.graph, name=self.name or "fn")
        for name, graph in self.stages:
            if name == stage:
                return format_graph(graph, name=self.name or "fn")
        loop_stages = self.loop_stages()
        if stage == "loops":
            return format_function(loop_stages[-1][1])
        for name, fn in loop_stages:
            if name == stage:
                return format_function(fn)
        raise LoopcValueError("no stage %r; stages are %s", stage, self.stage_names())

    def loop_stages(self):
        """[(stage name, loop-IR function), ...] from lowering through the loop passes."""
        from ..backends.compiler import loop_stages
        kernel = next(iter(self.kernels.values()), None)
        return kernel.loops if kernel is not None else loop_stages(self.graph, self.name or "fn", self.options)

    def stage_names(self):
        return [n for n, _ in self.stages] + [n for n, _ in self.loop_stages()] + ["loops"]

    # -- calling ------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        values = self._input_values(args, kwargs)
        if self.mode == "DEBUG":
            results = self._run("PY", values)
            self._compare(results, self._run("NUMBA", values))
        else:
            results = self._run(self.mode, values)
        outs, new_values = results[:len(self.outputs)], results[len(self.outputs):]
        arrays = [a for a in values + [sv.container[0] for sv in self.shared] if isinstance(a, np.ndarray)]
        outs = [_fresh(o, var.dtype, arrays) for o, var in zip(outs, self.outputs)]
        for (shared, _), value in zip(self.updates, new_values):
            shared.container[0] = value if is_rng(shared) else _fresh(value, shared.dtype, arrays)
        if self.single:
            return outs[0]
        return outs

    def _input_values(self, args, kwargs):
        args = self._bind(args, kwargs)
        values = []
        for i, (spec, arg) in enumerate(zip(self.bindings.specs, args)):
            var = spec.variable
            label = f"input {i} ({var.name})" if var.name else f"input {i}"
            if spec.strict:
                check_strict(spec, arg, label)
            downcast = self.allow_input_downcast if spec.allow_downcast is None else spec.allow_downcast
            values.append(var.type.filter(arg, label, downcast))
        return values

    def _bind(self, args, kwargs):
        """The positional and keyword inputs, and the stored values of those not given, as one list."""
        return self.bindings.bind(args, kwargs, _fname(self.name))

    def __getitem__(self, key):
        """The stored value of input `key` (a name, a variable or a position): its default,
        or a state's current value."""
        i = self.bindings.index(key)
        stored = self.bindings.storage[i]
        if stored is None or stored[0] is None:
            raise LoopcValueError("input %s of function%s has no stored value", key, _fname(self.name))
        return stored[0]

    def __setitem__(self, key, value):
        """Set the stored value of input `key`: the default of later calls, or a state's value."""
        i = self.bindings.index(key)
        spec = self.bindings.specs[i]
        if self.bindings.storage[i] is None:
            raise LoopcValueError("input %s of function%s has no stored value to set; give it one with "
                                  "In(%s, value=...)", key, _fname(self.name), spec.variable)
        label = f"the value of input {i} ({spec.name or spec.variable})"
        self.bindings.storage[i][0] = spec.variable.type.filter(value, label, True)

    def _run(self, mode, values):
        """Outputs then update values, random states included; shared variables untouched."""
        shared_values = [copy.deepcopy(sv.container[0]) if is_rng(sv) else sv.container[0] for sv in self.shared]
        if mode in ("MONITOR", "REFERENCE"):
            graph_values = values + shared_values
            return evaluate(self.graph, graph_values, monitor=self._monitor_hook())
        rngs = [v for v in shared_values if isinstance(v, np.random.RandomState)]
        slots = iter(range(len(rngs)))
        args = values + [next(slots) if isinstance(v, np.random.RandomState) else v for v in shared_values]
        args = [a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a for a in args]  # 0-d: a scalar
        with runtime.rng_slots(rngs) as table:  # copies made during the call are appended
            results = self.kernels[mode](*args)
        return [table[r] if is_rng(var) else r for var, r in zip(self.graph.outputs, results)]

    def _monitor_hook(self):
        return None if self._monitor is None else _Monitor(self._monitor)

    def _compare(self, py, nb):
        for var, a, b in zip(self.graph.outputs, py, nb):
            if is_rng(var):
                continue
            a, b = np.asarray(a), np.asarray(b)
            tol = 1e-4 if var.dtype == "float32" else 1e-10
            same = a.shape == b.shape and (np.array_equal(a, b, equal_nan=True) if a.dtype.kind not in "fc"
                                           else np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
            if not same:
                raise DebugModeError("DEBUG mode: PY and NUMBA disagree on %s:\nPY:    %r\nNUMBA: %r", var, a, b)


def _fresh(value, dtype, inputs):
    """An output array the caller owns: right dtype, 0-d as an array, never aliasing an input."""
    array = np.asarray(value)
    if array.dtype.name != dtype:
        return array.astype(dtype)
    if any(np.may_share_memory(array, a) for a in inputs):
        return array.copy()
    return array
