"""`loopc.function`: compile a graph and call it with NumPy values.

A call checks and converts its inputs, runs the compiled kernel on them and on
the current values of the shared variables, and only when everything succeeded
writes all the updates at once. Random draws advance the shared variables' own
states, in a random-state table of the call's own (`loopc.runtime.rng_slots`),
after a snapshot of each (`loopc.runtime.snapshot`): a call that fails puts
every state back, one that succeeds puts back each state that is not its
variable's update. What does not change from call to call (the input checks,
where the 0-d values and the states are among the arguments) is worked out
once, when the function is made, so that a call costs a few microseconds more
than the kernel itself.

The configuration is read here, when the function is made: the pass pipeline
and the backends get its values as arguments (`verify`, `print_stages`,
`backends.Options`).
"""
import copy
import dataclasses
import time
import warnings

import numpy as np

from .. import passes, runtime
from ..config import MODES, config
from ..errors import DebugModeError, LoopcTypeError, LoopcValueError, UnusedInputError
from ..ir.graph import Constant, Graph, SharedVariable, Variable, ancestors, clone_replace, graph_inputs, is_rng
from ..ir.interpret import evaluate
from ..ir.ops import RandomOp
from ..ir.printer import format_graph
from ..ir.types import NUMPY_DTYPES
from ..loops.ir import format_function
from ..loops.profile import regions as loop_regions
from ..runtime import snapshot
from .profiling import FunctionProfile, print_at_exit, wants_profile, where_made
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
             name=None, profile=False, on_unused_input="raise", no_default_updates=False, rebuild_strict=True,
             device_outputs=False):
    """Compile `outputs` (a variable, a list, or None) of `inputs` (variables or `In`s); see SPEC section 1.
    In mode 'CUDA', `device_outputs=True` returns the outputs as numba device arrays (a 0-d
    output as a 1-element array) instead of NumPy arrays."""
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
    return Function(inputs, out_list, single, update_pairs, mode_name, mode, allow_input_downcast, name, profile,
                    bindings=bindings, device_outputs=device_outputs)


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
                 profile=False, bindings=None, device_outputs=False):
        started = time.perf_counter()
        self.device_outputs = device_outputs and mode_name == "CUDA"
        self.inputs, self.outputs, self.single = inputs, outputs, single
        self.bindings = bindings or Bindings([In(v) for v in inputs], [None] * len(inputs))
        self.updates = updates
        self.name = name
        self.mode = mode_name
        self.allow_input_downcast = allow_input_downcast
        values = outputs + [v for _, v in updates]
        self.shared = [v for v in graph_inputs(values) if isinstance(v, SharedVariable)]
        graph = Graph(inputs + self.shared, values)
        profiled = bool(profile) or config.profile or wants_profile(values)
        self.options = dataclasses.replace(_compile_options(), profile=profiled)
        pass_times = {}
        self.stages = passes.run_pipeline(graph, enabled=self.options.optimize, verify=config.verify,
                                          print_stages=config.print_stages, timings=pass_times)
        self.graph = self.stages[-1][1]
        self._monitor = mode if mode_name == "MONITOR" else None
        self.kernels = self._compile(mode_name)
        self.profile = None  # a FunctionProfile when profiled (profile=True, LOOPC_FLAGS=profile=1)
        if profiled:
            self.profile = self._make_profile(profile, pass_times, time.perf_counter() - started)
        self._prepare_calls()

    def _make_profile(self, profile, pass_times, seconds):
        """The FunctionProfile: its regions (of the profiled backend's code, or the
        reference's nodes) and the compile time of every stage so far."""
        message = profile if isinstance(profile, str) else (self.name or where_made())
        backend = "NUMBA" if self.mode == "DEBUG" else self.mode
        kernel = self.kernels.get(backend)
        if kernel is not None:
            names = [name for name, _ in kernel.loops]
            found = loop_regions(kernel.loops[names.index("profile") - 1][1]) if "profile" in names else []
            labels, scans = [r.label for r in found], [r.scan for r in found]
        elif self.mode == "REFERENCE":
            labels = [_node_label(node) for node in self.graph.nodes]
            scans = [None] * len(labels)
        else:
            labels, scans = [], []
        result = FunctionProfile(message, self.mode, labels, scans)
        result.backend = backend
        result.compile_stages = [("graph passes", list(pass_times.items()))]
        if kernel is not None:
            times = kernel.timings
            loop_passes = [name for name, _ in kernel.loops[1:]]
            result.compile_stages += [("lowering", [("lower", times["lower"])]),
                                      ("loop passes", [(name, times[name]) for name in loop_passes]),
                                      ("printing", [("print", times["print"])]),
                                      ("loading", [("load", times["load"])])]
            result.numba_seconds = lambda: kernel.numba_seconds
        result.compile_seconds = seconds
        if config.profile:
            print_at_exit(result)
        return result

    def _compile(self, mode_name):
        from ..backends import compile_graph
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
    def _prepare_calls(self):
        """What every call needs and can be worked out once: the input checks, where the
        0-d values and the random states are among the kernel's arguments and results,
        and where each state's update is."""
        self._checks = [self._checker(i, spec) for i, spec in enumerate(self.bindings.specs)]
        # every input given by position, in order: nothing to bind
        self._positional = all(spec.value is None and spec.update is None and not spec.implicit
                               for spec in self.bindings.specs)
        params = self.inputs + self.shared
        self._scalar_args = [i for i, var in enumerate(params) if not is_rng(var) and var.ndim == 0]
        self._rng_args = [i for i, var in enumerate(params) if is_rng(var)]
        self._rng_results = [i for i, var in enumerate(self.graph.outputs) if is_rng(var)]
        update_at = {id(sv): len(self.outputs) + k for k, (sv, _) in enumerate(self.updates)}
        self._rng_update_at = [update_at.get(id(params[i])) for i in self._rng_args]
        # a result may be one of these arrays (or a view of one; in REFERENCE a 0-d one too):
        # the caller gets a copy
        self._array_args = [i for i, var in enumerate(params) if not is_rng(var)]
        self._out_dtypes = [NUMPY_DTYPES[var.dtype] for var in self.outputs]
        self._update_plan = [(sv, is_rng(sv), None if is_rng(sv) else NUMPY_DTYPES[sv.dtype])
                             for sv, _ in self.updates]

    def _checker(self, i, spec):
        """The check and conversion of input i (`spec`, its In)."""
        var = spec.variable
        label = f"input {i} ({var.name})" if var.name else f"input {i}"
        downcast = self.allow_input_downcast if spec.allow_downcast is None else spec.allow_downcast
        check = var.type.checker(label, downcast)
        if self.mode == "CUDA":
            check = _device_checker(var, label, check)
        if not spec.strict:
            return check

        def strict(arg):
            check_strict(spec, arg, label)
            return check(arg)
        return strict

    def __call__(self, *args, **kwargs):
        if self.profile is not None:
            return self.profile.call(self._call, args, kwargs)
        return self._call(args, kwargs)

    def _call(self, args, kwargs):
        values = self._input_values(args, kwargs)
        if self.mode == "CUDA":
            return self._call_cuda(values)
        shared_values = [sv.container[0] for sv in self.shared]
        if self.mode == "DEBUG":  # both backends draw from copies: the states move only once both agree
            results = self._run("PY", values, shared_values, copies=True)
            self._compare(results, self._run("NUMBA", values, shared_values, copies=True))
        else:
            results = self._run(self.mode, values, shared_values)
        given = values + shared_values
        arrays = [given[i] for i in self._array_args]
        outs = [_fresh(o, dtype, arrays) for o, dtype in zip(results, self._out_dtypes)]
        if self._update_plan:
            for (shared, rng, dtype), value in zip(self._update_plan, results[len(self.outputs):]):
                shared.container[0] = value if rng else _fresh(value, dtype, arrays)
        return outs[0] if self.single else outs

    def _call_cuda(self, values):
        """A call in CUDA mode: the shared variables' values stay on the device between calls
        (each container's device copy, made on first use and after `set_value`); the updates
        are held there when the call succeeds, and copied back only when read."""
        from ..runtime import cuda as cu
        shared_values = []
        for sv in self.shared:
            if is_rng(sv) or sv.ndim == 0:
                shared_values.append(sv.container[0])
                continue
            if sv.container.device is None:
                sv.container.mirror(cu.to_device(sv.container[0]))
            shared_values.append(sv.container.device)
        results = self._run("CUDA", values, shared_values)
        outs = results[:len(self.outputs)]
        values = [v for v in values if isinstance(v, np.ndarray)]
        if self.device_outputs:
            outs = [cu.copy(o) if cu.is_device(o) else o for o in outs]  # never an input's memory
        else:
            outs = [_fresh(o, dtype, values) for o, dtype in zip(outs, self._out_dtypes)]
        for (shared, rng, dtype), value in zip(self._update_plan, results[len(self.outputs):]):
            if rng:
                shared.container[0] = value
            elif cu.is_device(value) and shared.ndim:
                value = cu.copy(value)  # the update's own memory: no other value aliases it
                shared.container.hold(value, _fetcher(value, dtype))
            else:
                shared.container[0] = _fresh(cu.to_host(value, shared.ndim), dtype, values)
        return outs[0] if self.single else outs

    def _input_values(self, args, kwargs):
        if kwargs or len(args) != len(self.inputs) or not self._positional:
            args = self._bind(args, kwargs)
        return [check(arg) for check, arg in zip(self._checks, args)]

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

    def _run(self, mode, values, shared_values, copies=False):
        """Outputs then update values, random states included; no shared variable is assigned.

        The draws advance the shared variables' own random states (copies of them with
        `copies`): a call that fails puts every state back as it found it, one that
        succeeds every state that is not its variable's update (`_settle`)."""
        if mode in ("MONITOR", "REFERENCE"):  # the reference's draws copy the states they are given
            return self._evaluate(values + shared_values)
        args = values + shared_values
        for i in self._scalar_args:
            args[i] = args[i][()]  # 0-d: a scalar
        kernel = self.kernels[mode]
        kernel = getattr(kernel, "run", kernel)  # a Kernel's own callable: no wrapper around a call
        if self.profile is not None:  # the profiled code takes the array its marks add to
            profiled = mode == self.profile.backend
            args.append(self.profile.record if profiled else self.profile.scratch)
            kernel = self.profile.timed(kernel) if profiled else kernel
        if mode == "CUDA":
            kernel = self._cuda_results(kernel)
        if not self._rng_args:
            return list(kernel(*args))
        states = [args[i] for i in self._rng_args]
        states = [copy.deepcopy(s) for s in states] if copies else _distinct(states)
        snapshots = [] if copies else [snapshot.save(s) for s in states]
        for slot, i in enumerate(self._rng_args):
            args[i] = slot
        try:
            with runtime.rng_slots(states) as table:  # copies made during the call are appended
                results = list(kernel(*args))
        except BaseException:
            for state, saved in zip(states, snapshots):
                snapshot.restore(state, saved)
            raise
        for i in self._rng_results:
            results[i] = table[results[i]]
        if snapshots:
            self._settle(states, snapshots, results)
        return results

    def _cuda_results(self, kernel):
        """`kernel` giving NumPy arrays of its outputs' device arrays (0-d for 0-d outputs;
        as they are with `device_outputs`); the updates of shared arrays stay on the device."""
        from ..runtime import cuda as cu
        n = len(self.outputs)
        ndims = [None if is_rng(v) or (k < n and self.device_outputs) or (k >= n and v.ndim) else v.ndim
                 for k, v in enumerate(self.graph.outputs)]

        def run(*args):
            return [r if ndim is None else cu.to_host(r, ndim) for r, ndim in zip(kernel(*args), ndims)]
        return run

    def _settle(self, states, snapshots, results):
        """After a call that succeeded: a state that advanced but is not the update of its
        own shared variable goes back (a result that is that state gets a copy first)."""
        for state, saved, at in zip(states, snapshots, self._rng_update_at):
            if at is not None and results[at] is state:
                continue
            for i in self._rng_results:
                if results[i] is state:
                    results[i] = copy.deepcopy(state)
            snapshot.restore(state, saved)

    def _evaluate(self, values):
        if self.profile is None or self.mode != "REFERENCE":
            return evaluate(self.graph, values, monitor=self._monitor_hook())
        hook = self.profile.node_hook()
        return self.profile.timed(lambda: evaluate(self.graph, values, monitor=hook))()

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


def _node_label(node):
    """A node in a REFERENCE profile: `dot -> v`, `scan 'name' -> f64[?,?]`."""
    label = getattr(node.op, "label", None)
    head = f"{node.op.name} {label!r}" if isinstance(label, str) else node.op.name
    return f"{head} -> {', '.join(v.name or str(v.type) for v in node.outputs)}"


def _device_checker(var, label, check):
    """`check` (an input's), letting a device array of the input's dtype and ndim through
    as it is (no copy: numba device arrays, CuPy, torch through the CUDA array interface)."""
    from ..runtime import cuda as cu
    dtype = NUMPY_DTYPES.get(var.dtype)

    def device_check(value):
        if not cu.is_device(value):
            return check(value)
        value = cu.to_device(value)
        if np.dtype(value.dtype) != dtype or len(value.shape) != var.ndim:
            raise LoopcTypeError("%s expects %s, got a device array of dtype %s and ndim %d", label,
                                 var.type.describe(), np.dtype(value.dtype).name, len(value.shape))
        if any(flag and value.shape[a] != 1 for a, flag in enumerate(var.broadcastable)):
            raise LoopcTypeError("%s expects %s, got a device array of shape %s", label, var.type.describe(),
                                 tuple(value.shape))
        return value
    return device_check


def _fetcher(value, dtype):
    """The host value of device array `value`, for a shared variable's container."""
    def fetch():
        return value.copy_to_host().astype(dtype, copy=False)
    return fetch


def _distinct(states):
    """`states`, with a copy for each second holder of one state object (two shared
    variables given the same RandomState draw independently)."""
    seen, result = set(), []
    for state in states:
        if id(state) in seen:
            state = copy.deepcopy(state)
        seen.add(id(state))
        result.append(state)
    return result


def _fresh(value, dtype, inputs):
    """An output array the caller owns: of `dtype` (a NumPy dtype), 0-d as an array, never
    aliasing one of `inputs`."""
    array = np.asarray(value)
    if array.dtype != dtype:
        return array.astype(dtype)
    if array is value:  # an array from the kernel (a scalar made a new one)
        for a in inputs:
            if np.may_share_memory(array, a):
                return array.copy()
    return array
