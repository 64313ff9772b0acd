"""Reading `.Name` from a value: Go's rule (a method, else a struct field, else a map key),
made fast.

Theory of operation
-------------------
What `.Name` means depends only on the receiver's type, so it is worked out once per (type,
name) and kept as a getter: `operator.attrgetter` for a field, `methodcaller("get", name,
zero)` for a map (the zero value is the map's element type's: "" for label sets, no value
for `dict` maps — Alertmanager's `missingkey=zero`), the method itself for a method without
parameters. Each place in a template that reads a field also remembers the last receiver
type it saw and that type's getter (an inline cache): receivers at one place are nearly always
of one type, so a read costs a type check and a C call. `{{ .Name }}`, the inner loop of most
templates, is one closure that reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, methodcaller
from typing import Any, Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.execstate import Emit, Eval, Fail, State, Write
from tocsin.adapters.gotemplate.gofmt import print_value
from tocsin.adapters.gotemplate.values import GoFunc, GoStruct, TypeMismatch, coerce, type_name

__all__ = [
    "CALL_ERRORS",
    "FIELD",
    "MAP",
    "METHOD",
    "coerce_arg",
    "dot_fields",
    "emit_dot_field",
    "field_step",
    "get_field",
    "getter_for",
    "is_dot_field",
    "resolve",
]

METHOD, FIELD, MAP, NONE = 0, 1, 2, 3
RESOLVED: dict[tuple[type, str], tuple[int, Any]] = {}


def resolve(cls: type, name: str) -> tuple[int, Any]:
    key = (cls, name)
    found = RESOLVED.get(key)
    if found is None:
        methods = getattr(cls, "go_methods", None)
        if methods and name in methods:
            found = (METHOD, methods[name])
        elif issubclass(cls, GoStruct) and name in cls.go_fields:
            found = (FIELD, name)
        elif issubclass(cls, dict):
            found = (MAP, getattr(cls, "go_zero", None))
        else:
            found = (NONE, None)
        RESOLVED[key] = found
    return found


GETTERS: dict[tuple[type, str], Callable[[Any], Any]] = {}


def getter_for(recv: Any, name: str, node: n.Node) -> Callable[[Any], Any]:
    """The function reading `.name` (no arguments) from values of `recv`'s type: a field, a
    map entry or a method without parameters. Raises `Fail` when there is none."""
    cls = type(recv)
    getter = GETTERS.get((cls, name))
    if getter is None:
        kind, payload = resolve(cls, name)
        if kind == FIELD:
            getter = attrgetter(name)
        elif kind == MAP:
            getter = methodcaller("get", name, payload)
        elif kind == METHOD:
            fn: GoFunc = payload
            if fn.params or fn.variadic:
                want = len(fn.params)
                raise Fail(f"wrong number of args for {name}: want {want} got 0", node)
            getter = fn.fn
        else:
            raise Fail(f"can't evaluate field {name} in type {type_name(recv)}", node)
        GETTERS[(cls, name)] = getter
    return getter


def get_field(recv: Any, name: str, node: n.Node) -> Any:
    """`recv.name` with no arguments (no value reads as no value)."""
    if recv is None:
        return None
    return getter_for(recv, name, node)(recv)


# The inline caches below hold one (type, getter) tuple, replaced whole, so a render running in
# another thread never sees one type paired with another type's getter.
_EMPTY: Final[tuple[Any, Any]] = (None, None)


def field_step(name: str, node: n.Node) -> Callable[[Any], Any]:
    """`.name` as a function of the receiver, with a one-type inline cache: receivers at one
    place in a template are nearly always of one type."""
    entry = _EMPTY

    def get(recv: Any) -> Any:
        nonlocal entry
        cls, getter = entry
        if recv.__class__ is not cls:
            if recv is None:
                return None
            getter = getter_for(recv, name, node)
            entry = (recv.__class__, getter)
        return getter(recv)

    return get


def is_dot_field(pipe: n.Pipe) -> bool:
    """Is the pipeline just `.Name`?"""
    if pipe.decl or len(pipe.cmds) != 1 or len(pipe.cmds[0].args) != 1:
        return False
    node = pipe.cmds[0].args[0]
    return isinstance(node, n.Field) and len(node.idents) == 1


def emit_dot_field(name: str, node: n.Node) -> Emit:
    """`{{ .Name }}`: read and write in one closure (the inner loop of most templates)."""
    entry = _EMPTY

    def emit_dot_field(w: Write, st: State, dot: Any, frame: list[Any]) -> None:
        nonlocal entry
        cls, getter = entry
        if dot.__class__ is cls:
            v = getter(dot)
        elif dot is None:
            v = None
        else:
            getter = getter_for(dot, name, node)
            entry = (dot.__class__, getter)
            v = getter(dot)
        w(v if v.__class__ is str else print_value(v))

    return emit_dot_field


def dot_fields(idents: tuple[str, ...], node: n.Node) -> Eval:
    """`.A` or `.A.B` read from dot, the inline caches in the closure itself (the hot path of
    most templates: `{{ .Labels.severity }}`, `{{ .Name }}`)."""
    a = idents[0]
    ea = _EMPTY
    if len(idents) == 1:

        def eval_a(st: State, dot: Any, frame: list[Any]) -> Any:
            nonlocal ea
            cls, getter = ea
            if dot.__class__ is not cls:
                if dot is None:
                    return None
                getter = getter_for(dot, a, node)
                ea = (dot.__class__, getter)
            return getter(dot)

        return eval_a
    b = idents[1]
    eb = _EMPTY

    def eval_ab(st: State, dot: Any, frame: list[Any]) -> Any:
        nonlocal ea, eb
        cls, getter = ea
        if dot.__class__ is not cls:
            if dot is None:
                return None
            getter = getter_for(dot, a, node)
            ea = (dot.__class__, getter)
        r = getter(dot)
        cls, getter = eb
        if r.__class__ is not cls:
            if r is None:
                return None
            getter = getter_for(r, b, node)
            eb = (r.__class__, getter)
        return getter(r)

    return eval_ab


def coerce_arg(value: Any, typ: str, node: n.Node) -> Any:
    try:
        return coerce(value, typ)
    except TypeMismatch as exc:
        raise Fail(str(exc), node) from None


CALL_ERRORS: Final = (
    ValueError,
    TypeMismatch,
    TypeError,
    OverflowError,
    ZeroDivisionError,
    IndexError,
    KeyError,
)
