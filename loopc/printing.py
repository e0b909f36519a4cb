"""Theano's debugging printers: `Print` (prints a value when the graph runs) and
`debugprint` (an indented tree of a graph, Theano style)."""
import sys

from .ir.graph import Constant
from .ir.ops import Print as _PrintOp
from .ir.printer import dump  # noqa: F401


class Print:
    """`Print(message)(x)` is x, printing `message __str__ = <value>` each time it is computed."""

    def __init__(self, message="", attrs=("__str__",)):
        self.message = message
        self.attrs = tuple(attrs)

    def __call__(self, x):
        return _PrintOp(self.message, self.attrs)(x)


def debugprint(obj, file=None, print_type=False):
    """Print the graph of a variable, a list of them, or a compiled function as a tree."""
    from .frontend.function import Function
    if isinstance(obj, Function):
        roots = obj.graph.outputs
    elif isinstance(obj, (list, tuple)):
        roots = list(obj)
    else:
        roots = [obj]
    lines, seen = [], {}
    for var in roots:
        _tree(var, "", lines, seen, print_type)
    text = "\n".join(lines)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return file


def _tree(var, indent, lines, seen, print_type):
    label = _label(var, print_type)
    node = var.owner
    if node is None:
        lines.append(f"{indent}{label}")
        return
    first = node not in seen  # a node met again prints its id only, as in Theano
    ident = seen.setdefault(node, f"[id {_letters(len(seen))}]")
    out = f" {var.index}" if len(node.outputs) > 1 else ""
    lines.append(f"{indent}{node.op.name}{out} {ident}{' ' + repr(var.name) if var.name else ''}"
                 f"{' ' + str(var.type) if print_type else ''}")
    if first:
        for child in node.inputs:
            _tree(child, indent + " |", lines, seen, print_type)


def _label(var, print_type):
    if isinstance(var, Constant):
        text = f"TensorConstant{{{var.data}}}"
    else:
        text = var.name or f"<{var.type}>"
    return text + (f" {var.type}" if print_type else "")


def _letters(n):
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


pprint = debugprint
