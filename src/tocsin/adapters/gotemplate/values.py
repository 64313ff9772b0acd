"""Go values in Python: which Python value stands for which Go type, and Go's rules about them.

Theory of operation
-------------------
A template sees Go values; here they are Python values chosen so that the common case costs
nothing (a Go `string` is a `str`, an `int` an `int`, a `float64` a `float`, `bool` a `bool`,
nil or "no value" is `None`) and the rest carry just enough type to behave as Go's do:

* slices: `GoStrings` is `[]string`, `GoAnys` is `[]interface {}`; the data model adds
  `Alerts`, `[]Alert` and `Pairs` (data.py). A plain list or tuple counts as `[]interface {}`.
* maps: `dict` is `map[string]interface {}` (a missing key reads as no value); the data model's
  `KV` is `map[string]string` (a missing key reads as "").
* structs: subclasses of `GoStruct` name their Go type, their exported fields (Python
  attributes with the Go names) and their methods (`GoFunc`s taking the receiver first).
* `SafeHTML` / `SafeURL` are html/template's `HTML` and `URL`: strings that escaping trusts.
* time.Time, time.Duration, time.Month and time.Weekday live in gotime.py.

`truth` is Go's `isTrue` (a struct is always true, even the zero time), `type_name` Go's
`%T`. A `GoFunc` is a function or method with Go parameter types, so that arguments can be
checked and converted the way Go's reflection-based calls do (`coerce`, `literal`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

__all__ = [
    "ANY",
    "BOOL",
    "FLOAT",
    "INT",
    "STRING",
    "STRINGS",
    "VALUE",
    "GoAnys",
    "GoFunc",
    "GoStrings",
    "GoStruct",
    "SafeHTML",
    "SafeURL",
    "TypeMismatch",
    "coerce",
    "truth",
    "type_name",
]

# Parameter types a GoFunc can declare.
STRING: Final = "string"
INT: Final = "int"
FLOAT: Final = "float64"
BOOL: Final = "bool"
ANY: Final = "interface {}"
VALUE: Final = "reflect.Value"  # builtins that take any value, even "no value", unchecked
STRINGS: Final = "[]string"
ANYS: Final = "[]interface {}"
TIME: Final = "time.Time"


class GoStrings(list[str]):
    """A Go `[]string`."""

    __slots__ = ()


class GoAnys(list[Any]):
    """A Go `[]interface {}` (what `list` and `append` build)."""

    __slots__ = ()


class SafeHTML(str):
    """html/template's `HTML`: content the HTML escaper trusts (what `safeHtml` returns)."""

    __slots__ = ()


class SafeURL(str):
    """html/template's `URL`: a URL the URL filter trusts (what `safeUrl` returns)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class GoFunc:
    """A Go function (or method: `fn` takes the receiver first) with its parameter types.

    `fn` raises `ValueError` (or `TypeMismatch`) for what Go would return as an error.
    `variadic` is the element type of a final `...T` parameter. With `uses_now`, `fn` takes
    the render's time first (for `since`: rendering reads no clock).
    """

    name: str
    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    uses_now: bool = False  # fn takes the render's `now` (an aware datetime) first


class GoStruct:
    """Base of the Go structs templates see: the Go type name, exported fields, methods."""

    __slots__ = ()
    go_type: ClassVar[str] = "struct"
    go_fields: ClassVar[tuple[str, ...]] = ()
    go_methods: ClassVar[dict[str, GoFunc]] = {}


class TypeMismatch(Exception):
    """A value of the wrong Go type for a parameter (Go's "wrong type for value")."""


def type_name(value: Any) -> str:
    """Go's `%T` for `value` (`<nil>` for None)."""
    if value is None:
        return "<nil>"
    t = type(value)
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float64"
    if t is GoStrings:
        return "[]string"
    if t is SafeHTML:
        return "template.HTML"
    if t is SafeURL:
        return "template.URL"
    go_type = getattr(value, "go_type", None)
    if isinstance(go_type, str):
        return go_type
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    return t.__name__


def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, slices and maps are false."""
    if value is None:
        return False
    t = type(value)
    if t is str or t is bool or t is int or t is float:
        return bool(value)
    if isinstance(value, GoStruct):
        return True  # Go: a struct is always true (the zero time too)
    return bool(value)


def _can_be_nil(typ: str) -> bool:
    return typ in (ANY, VALUE) or typ.startswith(("[]", "map["))


def coerce(value: Any, typ: str) -> Any:
    """`value` (an evaluated argument) as a Go parameter of type `typ`: Go's validateType.

    Raises `TypeMismatch` with Go's message.
    """
    if typ in (ANY, VALUE):
        return value
    if value is None:
        if _can_be_nil(typ):
            return GoStrings() if typ == STRINGS else (GoAnys() if typ == ANYS else None)
        raise TypeMismatch(f"invalid value; expected {typ}")
    t = type(value)
    ok = (
        (typ == STRING and t is str)
        or (typ == INT and t is int)
        or (typ == FLOAT and t is float)
        or (typ == BOOL and t is bool)
        or (typ == STRINGS and t is GoStrings)
        or (typ == ANYS and t is GoAnys)
        or (typ == type_name(value))
    )
    if not ok:
        raise TypeMismatch(f"wrong type for value; expected {typ}; got {type_name(value)}")
    return value
