"""Theano's `In`: a function input with a name, a default value, or a state.

`loopc.function([x, In(lr, value=0.1)], x * lr)` makes `lr` optional: `f(2.0)`
uses 0.1, `f(2.0, 1.0)` and `f(x=2.0, lr=1.0)` give it for that call. An input
with `update=` is a state: its value sticks between calls and becomes the
update's value after each one (a given value replaces it first). Each function
keeps its own stored values (`Bindings`), read and set by `f[name]`,
`f[variable]` or `f[position]`.

A call binds its arguments as Python binds them: positional ones in input order
(implicit inputs take none), then keywords by input name, then the stored values;
a required input left out, a name given twice, an unknown name, or an implicit
input given all raise a LoopcTypeError naming the input.
"""
import numpy as np

from ..config import config
from ..errors import LoopcTypeError, LoopcValueError, UnsupportedError
from ..ir.graph import Variable


class In:
    """Theano's `In(variable, name=None, value=None, update=None, mutable=False, strict=False,
    allow_downcast=None, autoname=True, implicit=False, borrow=False, shared=False)`.

    `name` (the variable's when None and `autoname`) is the keyword a call gives it by;
    `value` its default; `update` an expression whose value replaces the stored one
    after each call; `strict` takes values of exactly its dtype only; `allow_downcast`
    (None: the function's `allow_input_downcast`) lets a call's value lose precision;
    `implicit` inputs take their stored value and a call cannot give one. loopc never
    writes into an input's array, so `mutable` and `borrow` change nothing."""

    def __init__(self, variable, name=None, value=None, update=None, mutable=False, strict=False,
                 allow_downcast=None, autoname=True, implicit=False, borrow=False, shared=False):
        if not isinstance(variable, Variable):
            raise LoopcTypeError("In: expects a symbolic variable such as T.scalar('lr'), got %r", variable)
        if shared:
            raise UnsupportedError("In(shared=True) is Theano's internal form of a shared variable; "
                                   "use loopc.shared(value) instead")
        if implicit and value is None:
            raise LoopcValueError("In(%s, implicit=True): an implicit input takes its stored value, so it "
                                  "needs value=", variable)
        if update is not None and not isinstance(update, Variable):
            raise LoopcTypeError("In(%s, update=...): the update must be a symbolic expression, got %r",
                                 variable, update)
        self.variable = variable
        self.name = variable.name if name is None and autoname else name
        self.value, self.update = value, update
        self.mutable, self.borrow = mutable, borrow
        self.strict, self.allow_downcast, self.implicit = strict, allow_downcast, bool(implicit)

    def __repr__(self):
        return f"In({self.variable})"


def Param(variable, default=None, name=None, mutable=False, strict=False, allow_downcast=None, implicit=False,
          borrow=False):
    """Theano's old name of `In`, with `default` for `value`."""
    return In(variable, name=name, value=default, mutable=mutable, strict=strict, allow_downcast=allow_downcast,
              implicit=implicit, borrow=borrow)


def as_in(item, position):
    """`item` of a function's input list as an In: a variable, an In, or one of Theano's
    tuples `(name, r)`, `(r, value)`, `((r, update), value)`, `(name, r, value)`,
    `(name, (r, update), value)`."""
    if isinstance(item, In):
        return item
    if isinstance(item, Variable):
        return In(item)
    if isinstance(item, tuple) and len(item) in (2, 3):
        name, rest = (item[0], item[1:]) if isinstance(item[0], str) else (None, item)
        if len(rest) == 1 and name is not None and isinstance(rest[0], Variable):
            return In(rest[0], name=name)
        if len(rest) == 2:
            target, value = rest
            if isinstance(target, tuple) and len(target) == 2:
                return In(target[0], name=name, value=value, update=target[1])
            if isinstance(target, Variable):
                return In(target, name=name, value=value)
    raise LoopcTypeError("loopc.function: input %d must be a symbolic variable, an In, or one of Theano's "
                         "input tuples such as (variable, default); got %r", position, item)


def default_value(spec, allow_input_downcast):
    """`spec.value` converted to the input's type; a Python float for a floatX input is
    rounded to it, as Theano does (`In(T.scalar('lr'), value=0.1)` with floatX=float32)."""
    var = spec.variable
    downcast = spec.allow_downcast
    if downcast is None:
        downcast = allow_input_downcast or (isinstance(spec.value, float) and var.dtype == config.floatX)
    label = f"the value of In({spec.name or var})"
    value = var.type.filter(spec.value, label, downcast)
    if spec.strict:
        check_strict(spec, np.asarray(spec.value), label)
    return value


def check_strict(spec, value, label):
    dtype = np.asarray(value).dtype
    if dtype.name != spec.variable.dtype:
        raise LoopcTypeError("%s is strict (In(strict=True)) and takes dtype %s only, got dtype %s",
                             label, spec.variable.dtype, dtype)


class Bindings:
    """How a call's arguments bind to a function's inputs (`specs`, an In each) and the
    values it stores for them: `storage[i]` is a one-element list (the stored value,
    None while there is none) or None for an input every call must give."""

    def __init__(self, specs, storage):
        self.specs, self.storage = specs, storage
        self.positional = [i for i, spec in enumerate(specs) if not spec.implicit]
        names = {}
        for i, spec in enumerate(specs):
            if spec.name is not None and spec.name.isidentifier():
                names.setdefault(spec.name, []).append(i)
        self.by_name = names

    def bind(self, args, kwargs, fname):
        """The value of every input for one call (stored values included, unconverted)."""
        if len(args) > len(self.positional):
            raise LoopcTypeError("function%s takes at most %d inputs (%s), got %d", fname, len(self.positional),
                                 self.describe(), len(args))
        given = dict(zip(self.positional, args))
        for key, value in kwargs.items():
            i = self._keyword(key, fname)
            if i in given:
                raise LoopcTypeError("function%s got two values for input %d (%s)", fname, i, key)
            given[i] = value
        values = []
        for i, spec in enumerate(self.specs):
            if i in given:
                values.append(given[i])
                continue
            stored = self.storage[i]
            if stored is None or stored[0] is None:
                raise LoopcTypeError("function%s takes %d inputs (%s), got %d: input %d (%s) is missing and has "
                                     "no stored value", fname, len(self.positional), self.describe(),
                                     len(args) + len(kwargs), i, spec.name or spec.variable)
            values.append(stored[0])
        return values

    def _keyword(self, key, fname):
        found = self.by_name.get(key, [])
        if len(found) > 1:
            raise LoopcTypeError("function%s: keyword %s names inputs %s; give them by position", fname, key,
                                 ", ".join(map(str, found)))
        if not found:
            raise LoopcTypeError("function%s got unknown keyword input %s; its named inputs are %s", fname, key,
                                 ", ".join(sorted(self.by_name)) or "none")
        if self.specs[found[0]].implicit:
            raise LoopcTypeError("function%s: input %s is implicit (In(implicit=True)): it takes its stored "
                                 "value and a call cannot give one", fname, key)
        return found[0]

    def describe(self):
        """`x, lr=0.1, s (state)` for error messages: the inputs a call may give."""
        parts = []
        for i, spec in enumerate(self.specs):
            name = str(spec.name or spec.variable)
            if spec.implicit:
                continue
            if spec.update is not None:
                parts.append(f"{name} (state)")
            elif self.storage[i] is not None:
                parts.append(f"{name}={np.asarray(self.storage[i][0]).tolist()!r}")
            else:
                parts.append(name)
        return ", ".join(parts)

    def index(self, key):
        """The position of the input `key` names: a position, a name, a variable or an In."""
        if isinstance(key, (int, np.integer)) and 0 <= key < len(self.specs):
            return int(key)
        for i, spec in enumerate(self.specs):
            if key is spec or key is spec.variable or (isinstance(key, str) and key == spec.name):
                return i
        raise LoopcValueError("the function has no input %r; its inputs are %s", key, self.describe())
