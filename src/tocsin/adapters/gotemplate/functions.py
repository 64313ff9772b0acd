"""The functions a template can call: Go's builtins and Alertmanager's, with Go's types.

Theory of operation
-------------------
Every function is a `GoFunc`: the Python callable plus Go parameter types, so the evaluator
can check and convert arguments as Go's reflection does (`toUpper 3` is an error, `printf
"%d" 3` is not). Functions raise ValueError (or TypeMismatch) for what Go returns as an
error; the evaluator reports it as `error calling NAME: …`.

Go's builtins (text/template, Go 1.19, which built Debian's Alertmanager 0.25): `and`, `or`
(short-circuiting: the evaluator handles them, the entries here only carry their signature),
`not`, `len`, `index`, `slice`, `print`, `printf`, `println`, `html`, `js`, `urlquery`, `eq`
(several arguments), `ne`, `lt`, `le`, `gt`, `ge`, `call` (no function values exist in
Alertmanager's data, so it always fails as Go's would on a non-function).

Alertmanager 0.25 adds `toUpper`, `toLower`, `title`, `join`, `match`, `safeHtml`,
`reReplaceAll` and `stringSlice`. Later Alertmanager versions add `trimSpace`, `safeUrl`,
`urlUnescape`, `date`, `tz`, `since`, `humanizeDuration`, `toJson`, and `list`, `append`,
`dict`; Tocsin offers them all (`ALERTMANAGER_0_25` names the older set).

`title` is golang.org/x/text's title caser as Alertmanager calls it: a word starts after a
break (space and most punctuation and symbols, and uncased letters such as CJK), not after
digits, `_`, or a single `.` `:` `'` `’` `·` (two in a row do break); the first cased letter of
a word is title-cased and the rest of the word lower-cased.
"""

from __future__ import annotations

import json
import math
import unicodedata
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from tocsin.adapters.gotemplate import regex
from tocsin.adapters.gotemplate.gofmt import sprint, sprintf, sprintln
from tocsin.adapters.gotemplate.gotime import GoDuration, GoTime, format_time, load_location
from tocsin.adapters.gotemplate.values import (
    ANY,
    ANYS,
    STRING,
    STRINGS,
    TIME,
    VALUE,
    GoAnys,
    GoFunc,
    GoStrings,
    GoStruct,
    SafeHTML,
    SafeURL,
    truth,
    type_name,
)

__all__ = [
    "ALERTMANAGER_0_25",
    "BUILTINS",
    "FUNCS",
    "FUNCS_0_25",
    "basic_kind",
    "html_escape",
    "js_escape",
    "query_escape",
]


# -- comparison -----------------------------------------------------------------------------------
def basic_kind(v: Any) -> str | None:
    """Go's basicKind: "bool", "int", "float", "string", or None (not comparable by lt & co)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return None


def _comparable(v: Any) -> bool:
    if isinstance(v, (dict, list, tuple)):
        return False
    if isinstance(v, GoStruct):
        return all(_comparable(getattr(v, f)) for f in v.go_fields)
    return True


def _eq(arg1: Any, *args: Any) -> bool:
    if arg1 is not None and not _comparable(arg1):
        raise ValueError(f"uncomparable type {type_name(arg1)}: {sprint([arg1])}")
    if not args:
        raise ValueError("missing argument for comparison")
    k1 = basic_kind(arg1)
    for arg in args:
        k2 = basic_kind(arg)
        if k1 != k2:
            if arg1 is not None and arg is not None:
                raise ValueError("incompatible types for comparison")
            continue
        if k1 is not None:
            if arg1 == arg:
                return True
            continue
        if arg is None or arg1 is None:
            if arg is arg1:
                return True
            continue
        if not _comparable(arg):
            raise ValueError(f"uncomparable type {type_name(arg)}: {sprint([arg])}")
        if type(arg1) is type(arg) and arg1 == arg:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    k1, k2 = basic_kind(a), basic_kind(b)
    if k1 is None or k2 is None:
        raise ValueError("invalid type for comparison")
    if k1 != k2:
        raise ValueError("incompatible types for comparison")
    if k1 == "bool":
        raise ValueError("invalid type for comparison")
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return _lt(a, b) or _eq(a, b)


# -- collections ------------------------------------------------------------------------------------
def _length(item: Any) -> int:
    if item is None:
        raise ValueError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    raise ValueError(f"len of type {type_name(item)}")


def _index_int(index: Any, cap: int) -> int:
    if index is None:
        raise ValueError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > cap:
        raise ValueError(f"index out of range: {index}")
    return int(index)


def _index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise ValueError("index of untyped nil")
    for index in indexes:
        if isinstance(item, str):
            data = item.encode("utf-8", "surrogatepass")
            x = _index_int(index, len(data))
            if x >= len(data):
                raise ValueError("reflect: string index out of range")
            item = data[x]
        elif isinstance(item, (list, tuple)):
            x = _index_int(index, len(item))
            if x >= len(item):
                raise ValueError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if index is None:
                raise ValueError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise ValueError(f"value has type {type_name(index)}; should be string")
            item = item.get(index, getattr(type(item), "go_zero", None))
        elif item is None:
            raise ValueError("index of nil pointer")
        else:
            raise ValueError(f"can't index item of type {type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise ValueError("slice of untyped nil")
    if len(indexes) > 3:
        raise ValueError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise ValueError("cannot 3-index slice a string")
        data: bytes | list[Any] | tuple[Any, ...] = item.encode("utf-8", "surrogatepass")
        cap = len(data)
    elif isinstance(item, (list, tuple)):
        data = item
        cap = len(item)
    else:
        raise ValueError(f"can't slice item of type {type_name(item)}")
    idx = [0, len(data)]
    for i, index in enumerate(indexes):
        x = _index_int(index, cap)
        if i < 2:
            idx[i] = x
        if i == 2:
            cap = x
    if idx[0] > idx[1]:
        raise ValueError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > cap:
        raise ValueError(f"invalid slice index: {idx[1]} > {cap}")
    part = data[idx[0] : idx[1]]
    if isinstance(part, bytes):
        return part.decode("utf-8", "replace")
    return type(item)(part) if isinstance(item, list) else list(part)


# -- escaping ------------------------------------------------------------------------------------
def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return sprint(list(args))


_HTML_ESCAPES: Final = str.maketrans(
    {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\x00": "\ufffd"}
)


def html_escape(s: str) -> str:
    """Go's template.HTMLEscapeString."""
    return s.translate(_HTML_ESCAPES)


_JS_ESCAPES: Final = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def js_escape(s: str) -> str:
    """Go's template.JSEscapeString."""
    out = []
    for c in s:
        if c in _JS_ESCAPES:
            out.append(_JS_ESCAPES[c])
        elif c < " ":
            out.append(f"\\u00{ord(c):02X}")
        elif c >= "\x80" and not _is_go_print(c):
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _is_go_print(c: str) -> bool:
    # unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020.
    return unicodedata.category(c)[0] in "LMNPS" or c == " "


def query_escape(s: str) -> str:
    """Go's url.QueryEscape."""
    return urllib.parse.quote_plus(s, safe="-_.~")


def _url_unescape(s: str) -> str:
    """Go's url.QueryUnescape: "+" is a space, %XX a byte; a bad escape is an error."""
    i = 0
    while (i := s.find("%", i)) >= 0:
        hex2 = s[i + 1 : i + 3]
        if len(hex2) < 2 or not all(c in "0123456789abcdefABCDEF" for c in hex2):
            raise ValueError(f'invalid URL escape "{s[i : i + 3]}"')
        i += 3
    return urllib.parse.unquote_plus(s, errors="surrogateescape")


# -- Alertmanager's string functions ----------------------------------------------------------------
def _simple_upper(s: str) -> str:
    if s.isascii():
        return s.upper()
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


def _simple_lower(s: str) -> str:
    if s.isascii():
        return s.lower()
    return "".join(u if len(u := c.lower()) == 1 else c for c in s)


_TITLE_MID: Final = frozenset(
    ".:'\u00b7\u0387\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a"
)


def _is_cased(c: str) -> bool:
    return c.isupper() or c.islower() or unicodedata.category(c) == "Lt"


def _is_title_break(c: str) -> bool:
    if c in _TITLE_MID:
        return False
    category = unicodedata.category(c)
    return not (category in ("Nd", "Pc", "Cf") or category[0] == "M")


def _final_sigma(s: str, i: int) -> bool:
    """Whether a capital sigma at s[i], inside a word, ends it (Unicode's Final_Sigma)."""
    for c in s[i + 1 :]:
        if _is_cased(c):
            return False
        if not (c in _TITLE_MID or unicodedata.category(c) in ("Mn", "Me", "Cf", "Lm", "Sk")):
            return True
    return True


def _title(s: str) -> str:
    out: list[str] = []
    mid_word = False
    was_mid = False
    for i, c in enumerate(s):
        is_mid = c in _TITLE_MID
        if was_mid and is_mid:
            mid_word = False
        if _is_cased(c):
            if mid_word and c == "Σ":
                out.append("ς" if _final_sigma(s, i) else "σ")
            else:
                out.append(c.lower() if mid_word else c.title())
            mid_word = True
        else:
            out.append(c)
            if _is_title_break(c):
                mid_word = False
        was_mid = is_mid
    return "".join(out)


def _trim_space(s: str) -> str:
    return s.strip(
        " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    )


def _join(sep: str, items: GoStrings) -> str:
    return sep.join(items)


# -- newer Alertmanager functions ---------------------------------------------------------------------
def _seconds_of(v: Any) -> float:
    """prometheus/common's ConvertToFloat, as humanizeDuration uses it."""
    if isinstance(v, GoDuration):
        return v.seconds()
    if isinstance(v, bool):
        raise ValueError(f"can't convert {type_name(v)} to float")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise ValueError(f'strconv.ParseFloat: parsing "{v}": invalid syntax') from None
    raise ValueError(f"can't convert {type_name(v)} to float")


def _humanize_duration(v: Any) -> str:
    f = _seconds_of(v)
    if math.isnan(f) or math.isinf(f):
        return sprintf("%.4g", [f])
    if f == 0:
        return sprintf("%.4gs", [f])
    if abs(f) >= 1:
        sign = ""
        if f < 0:
            sign, f = "-", -f
        total = int(f)
        seconds, minutes = total % 60, (total // 60) % 60
        hours, days = (total // 3600) % 24, total // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return sprintf("%s%.4gs", [sign, f])
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(f) >= 1:
            break
        prefix = p
        f *= 1000
    return sprintf("%.4g%ss", [f, prefix])


def _json_value(v: Any) -> Any:
    if isinstance(v, GoTime):
        return format_time(v, "2006-01-02T15:04:05.999999999Z07:00")
    if isinstance(v, GoStruct):
        names = getattr(v, "json_names", None) or {}
        return {names.get(f, f): _json_value(getattr(v, f)) for f in v.go_fields}
    if isinstance(v, dict):
        return {str(k): _json_value(v[k]) for k in sorted(v)}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
        raise ValueError(f"json: unsupported value: {sprint([v])}")
    return v


def _to_json(v: Any) -> str:
    text = json.dumps(_json_value(v), ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _dict(*values: Any) -> dict[str, Any]:
    if len(values) % 2:
        raise ValueError("dict requires an even number of arguments")
    out: dict[str, Any] = {}
    for k, v in zip(values[::2], values[1::2], strict=True):
        if not isinstance(k, str):
            raise ValueError(f"dict keys must be strings, got {type_name(k)}")
        out[str(k)] = v
    return out


def _since(now: datetime, t: GoTime) -> GoDuration:
    return GoTime(now).sub(t)


def _not_callable(fn: Any, *args: Any) -> Any:
    if fn is None:
        raise ValueError("call of nil")
    raise ValueError(f"non-function of type {type_name(fn)}")


def _fn(name: str, fn: Callable[..., Any], *params: str, variadic: str | None = None) -> GoFunc:
    return GoFunc(name, fn, tuple(params), variadic)


def _unused(*_: Any) -> Any:  # and/or are evaluated by the evaluator itself
    raise AssertionError("and/or are short-circuited by the evaluator")


BUILTINS: Final[dict[str, GoFunc]] = {
    f.name: f
    for f in (
        _fn("and", _unused, VALUE, variadic=VALUE),
        _fn("or", _unused, VALUE, variadic=VALUE),
        _fn("not", lambda v: not truth(v), VALUE),
        _fn("len", _length, VALUE),
        _fn("index", _index, VALUE, variadic=VALUE),
        _fn("slice", _slice, VALUE, variadic=VALUE),
        _fn("print", lambda *a: sprint(a), variadic=ANY),
        _fn("printf", lambda f, *a: sprintf(f, a), STRING, variadic=ANY),
        _fn("println", lambda *a: sprintln(a), variadic=ANY),
        _fn("html", lambda *a: html_escape(_eval_args(a)), variadic=ANY),
        _fn("js", lambda *a: js_escape(_eval_args(a)), variadic=ANY),
        _fn("urlquery", lambda *a: query_escape(_eval_args(a)), variadic=ANY),
        _fn("eq", _eq, VALUE, variadic=VALUE),
        _fn("ne", lambda a, b: not _eq(a, b), VALUE, VALUE),
        _fn("lt", _lt, VALUE, VALUE),
        _fn("le", _le, VALUE, VALUE),
        _fn("gt", lambda a, b: not _le(a, b), VALUE, VALUE),
        _fn("ge", lambda a, b: not _lt(a, b), VALUE, VALUE),
        _fn("call", _not_callable, VALUE, variadic=VALUE),
    )
}

ALERTMANAGER_0_25: Final = frozenset(
    {"toUpper", "toLower", "title", "join", "match", "safeHtml", "reReplaceAll", "stringSlice"}
)

FUNCS: Final[dict[str, GoFunc]] = {
    **BUILTINS,
    **{
        f.name: f
        for f in (
            # Alertmanager 0.25
            _fn("toUpper", _simple_upper, STRING),
            _fn("toLower", _simple_lower, STRING),
            _fn("title", _title, STRING),
            _fn("join", _join, STRING, STRINGS),
            _fn("match", regex.match_string, STRING, STRING),
            _fn("safeHtml", SafeHTML, STRING),
            _fn("reReplaceAll", regex.replace_all, STRING, STRING, STRING),
            _fn("stringSlice", lambda *s: GoStrings(s), variadic=STRING),
            # later Alertmanager versions
            _fn("trimSpace", _trim_space, STRING),
            _fn("safeUrl", SafeURL, STRING),
            _fn("urlUnescape", _url_unescape, STRING),
            _fn("date", lambda layout, t: format_time(t, layout), STRING, TIME),
            _fn("tz", lambda name, t: t.in_zone(load_location(name)), STRING, TIME),
            GoFunc("since", _since, (TIME,), uses_now=True),
            _fn("humanizeDuration", _humanize_duration, ANY),
            _fn("toJson", _to_json, ANY),
            _fn("list", lambda *a: GoAnys(a), variadic=ANY),
            _fn("append", lambda s, *a: GoAnys([*s, *a]), ANYS, variadic=ANY),
            _fn("dict", _dict, variadic=ANY),
        )
    },
}


# Go's builtins and the functions Alertmanager 0.25 itself has: for templates that must run
# unchanged on both (a function outside it is a parse error there, as in Alertmanager 0.25).
FUNCS_0_25: Final[dict[str, GoFunc]] = {
    name: f for name, f in FUNCS.items() if name in BUILTINS or name in ALERTMANAGER_0_25
}
