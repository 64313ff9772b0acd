"""Go's fmt: Sprint, Sprintln and Sprintf over the Go values of values.py, byte for byte.

Theory of operation
-------------------
`sprintf` is a port of fmt's `doPrintf`: flags `#0+- `, width and precision (numbers, `*`,
argument indexes `[n]`), then one verb per argument, with Go's complaints spelled Go's way:
`%!d(string=hi)` for a verb that does not fit, `%!s(MISSING)`, `%!(EXTRA int=1)`,
`%!(NOVERB)`, `%!v(BADINDEX)`. `format_arg` is `printArg`: nil, bools, ints, floats and strings
directly; then Go's method rule (a value with `go_string()` is a Stringer, used for %v %s %q
%x %X); then by shape: lists print `[a b]`, maps `map[k:v]` in sorted key order, structs
`{a b}` (`{Name:a Value:b}` under %+v), applying the verb to every element.

Floats follow strconv: %v is the shortest representation that reads back the same, with an
exponent below 1e-4 and from 1e+06 up (`1e+06`, `1.234567e+06`), as Go's %g with the
shortest precision does; %e has at least two exponent digits; infinities print `+Inf`/`-Inf`. Widths count runes and strings
pad with zeros under the 0 flag, as Go's do.

`%#v` (Go syntax) covers strings, numbers, bools, nil, slices, maps and structs; a time prints
as Go's `time.Date(…)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from tocsin.adapters.gotemplate.values import GoStruct, type_name

__all__ = [
    "go_quote",
    "indirect_string",
    "print_value",
    "sprint",
    "sprintf",
    "sprintln",
    "value_string",
]


@dataclass(slots=True)
class _Flags:
    plus: bool = False
    minus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    plus_v: bool = False
    sharp_v: bool = False
    width: int | None = None
    prec: int | None = None


_PLAIN: Final = _Flags()


def sprint(args: list[Any] | tuple[Any, ...]) -> str:
    """fmt.Sprint: operands in %v, a space between two operands when neither is a string."""
    out: list[str] = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i and not is_string and not prev_string:
            out.append(" ")
        out.append(arg if type(arg) is str else format_arg(arg, "v", _PLAIN))
        prev_string = is_string
    return "".join(out)


def sprintln(args: list[Any] | tuple[Any, ...]) -> str:
    """fmt.Sprintln: operands in %v separated by spaces, then a newline."""
    return " ".join(format_arg(a, "v", _PLAIN) for a in args) + "\n"


def value_string(value: Any) -> str:
    """`value` as %v prints it (fmt.Sprint of one operand)."""
    if type(value) is str:
        return value
    return format_arg(value, "v", _PLAIN)


def indirect_string(value: Any) -> str:
    """%v of the value a pointer points to (a struct without the `&`)."""
    return format_value(value, "v", _PLAIN, 1)


def print_value(value: Any) -> str:
    """What an action `{{ pipeline }}` writes: %v, and `<no value>` for no value."""
    if type(value) is str:
        return value
    if value is None:
        return "<no value>"
    if getattr(value, "go_pointer", False):
        return format_value(value, "v", _PLAIN, 1)  # the action indirects a pointer first
    return format_arg(value, "v", _PLAIN)


# -- padding -------------------------------------------------------------------------------------
def _pad(s: str, f: _Flags) -> str:
    if f.width is None:
        return s
    gap = f.width - len(s)
    if gap <= 0:
        return s
    if f.minus:
        return s + " " * gap
    return ("0" if f.zero else " ") * gap + s


# -- formatting by kind --------------------------------------------------------------------------
def format_arg(arg: Any, verb: str, f: _Flags) -> str:
    """fmt's printArg: one operand under one verb."""
    if arg is None:
        if verb in "Tv":
            return _pad("<nil>", f)
        return _bad_verb(arg, verb, f)
    if verb == "T":
        return _pad(type_name(arg), f)
    return format_value(arg, verb, f, 0)


def format_value(value: Any, verb: str, f: _Flags, depth: int) -> str:
    t = type(value)
    if t is str:
        return _fmt_string(value, verb, f, value)
    if t is bool:
        return _pad("true" if value else "false", f) if verb in "tv" else _bad_verb(value, verb, f)
    if t is int:
        return _fmt_integer(value, verb, f, value)
    if t is float:
        return _fmt_float(value, verb, f, value)
    if value is None:
        return "<nil>" if depth else format_arg(value, verb, f)
    if f.sharp_v:
        return _pad(go_syntax(value), f)
    stringer = getattr(value, "go_string", None)
    if stringer is not None and verb in "vsxXq":
        return _fmt_string(stringer(), verb, f, value)
    if isinstance(value, str):
        return _fmt_string(str(value), verb, f, value)
    if isinstance(value, bool):
        return _pad("true" if value else "false", f) if verb in "tv" else _bad_verb(value, verb, f)
    if isinstance(value, int):
        return _fmt_integer(int(value), verb, f, value)
    if isinstance(value, float):
        return _fmt_float(float(value), verb, f, value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _sort_key(kv[0]))
        body = " ".join(
            format_value(k, verb, f, depth + 1) + ":" + format_value(v, verb, f, depth + 1)
            for k, v in items
        )
        return f"map[{body}]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(format_value(e, verb, f, depth + 1) for e in value) + "]"
    if isinstance(value, GoStruct):
        parts = []
        for name in value.go_fields:
            text = format_value(getattr(value, name), verb, f, depth + 1)
            parts.append(f"{name}:{text}" if f.plus_v else text)
        body = "{" + " ".join(parts) + "}"
        return "&" + body if depth == 0 and getattr(value, "go_pointer", False) else body
    return _bad_verb(value, verb, f)


def _sort_key(key: Any) -> Any:
    return (
        (0, key) if isinstance(key, (int, float)) and not isinstance(key, bool) else (1, str(key))
    )


def _bad_verb(arg: Any, verb: str, f: _Flags) -> str:
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_name(arg)}={format_arg(arg, 'v', f)})"


def _fmt_string(s: str, verb: str, f: _Flags, arg: Any) -> str:
    if verb in "vs":
        if f.sharp_v:
            return _pad(go_quote(s), f)
        if f.prec is not None:
            s = s[: f.prec]
        return _pad(s, f)
    if verb == "q":
        if f.prec is not None:
            s = s[: f.prec]
        if f.sharp and "`" not in s and all(c == "\t" or c.isprintable() for c in s):
            return _pad("`" + s + "`", f)
        return _pad(go_quote(s, ascii_only=f.plus), f)
    if verb in "xX":
        data = s.encode("utf-8")
        if f.prec is not None:
            data = data[: f.prec]
        digits = "0123456789abcdef" if verb == "x" else "0123456789ABCDEF"
        parts = []
        for i, b in enumerate(data):
            piece = digits[b >> 4] + digits[b & 15]
            if f.sharp and (f.space or i == 0):
                piece = ("0x" if verb == "x" else "0X") + piece
            parts.append(piece)
        return _pad((" " if f.space else "").join(parts), f)
    return _bad_verb(arg, verb, f)


def _fmt_integer(n: int, verb: str, f: _Flags, arg: Any) -> str:
    if verb in "vd":
        body = str(abs(n))
    elif verb == "b":
        body = format(abs(n), "b")
    elif verb in "oO":
        body = format(abs(n), "o")
    elif verb == "x":
        body = format(abs(n), "x")
    elif verb == "X":
        body = format(abs(n), "X")
    elif verb == "c":
        return _pad(_rune(n), f)
    elif verb == "q":
        return _pad(_quote_rune(n, f.plus), f)
    elif verb == "U":
        text = f"U+{n:04X}"
        if f.sharp and 0 <= n <= 0x10FFFF and chr(n).isprintable():
            text += " '" + chr(n) + "'"
        return _pad(text, f)
    else:
        return _bad_verb(arg, verb, f)
    if f.prec is not None:
        if f.prec == 0 and n == 0:
            body = ""
        body = body.rjust(f.prec, "0")
    prefix = ""
    if f.sharp:
        prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and body.startswith("0"):
            prefix = ""
    if verb == "O":
        prefix = "0o"
    sign = "-" if n < 0 else ("+" if f.plus else (" " if f.space else ""))
    if f.zero and f.width is not None and f.prec is None and not f.minus:
        body = body.rjust(f.width - len(sign) - len(prefix), "0")
    return _pad(sign + prefix + body, _Flags(minus=f.minus, width=f.width))


def _rune(n: int) -> str:
    return chr(n) if 0 <= n <= 0x10FFFF and not 0xD800 <= n <= 0xDFFF else "\ufffd"


def _quote_rune(n: int, ascii_only: bool = False) -> str:
    c = _rune(n)
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    return "'" + go_quote(c, ascii_only)[1:-1] + "'"


def _shortest(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |x| > 0 and the decimal point position."""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    lead_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    dp = len(whole) - lead_zeros + (int(exp) if exp else 0)
    digits = digits.rstrip("0") or "0"
    return digits, dp


def _fmt_shortest_g(x: float, upper: bool) -> str:
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    digits, dp = _shortest(x)
    sign = "-" if x < 0 else ""
    exp = dp - 1
    # strconv's 'g' with the shortest precision decides on %e with an eprec of 6.
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        e = "E" if upper else "e"
        return f"{sign}{mant}{e}{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def _fmt_float(x: float, verb: str, f: _Flags, arg: Any) -> str:
    if verb not in "vbgGxXfFeE":
        return _bad_verb(arg, verb, f)
    if math.isinf(x) or math.isnan(x):
        text = "+NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
        if f.space and text[0] == "+" and not f.plus:
            text = " " + text[1:]
        if math.isnan(x) and not f.space and not f.plus:
            text = text[1:]
        return _pad(text, _Flags(minus=f.minus, width=f.width))
    if verb in "vgG" and f.prec is None:
        body = _fmt_shortest_g(x, verb == "G")
        if f.sharp and "." not in body and "e" not in body.lower():
            body += "."
    elif verb in "gG":
        body = ("%." + str(f.prec) + verb) % x
        if f.sharp and "." not in body:
            body += "."
    elif verb in "fF":
        body = ("%." + str(6 if f.prec is None else f.prec) + "f") % x
    elif verb in "eE":
        body = ("%." + str(6 if f.prec is None else f.prec) + verb) % x
    else:
        return _bad_verb(arg, verb, f)  # %b and %x of floats: not reproduced
    if not body.startswith("-"):
        if f.plus:
            body = "+" + body
        elif f.space:
            body = " " + body
    if f.zero and f.width is not None and not f.minus:
        sign = body[0] if body[0] in "+- " else ""
        rest = body[len(sign) :]
        body = sign + rest.rjust(f.width - len(sign), "0")
    return _pad(body, _Flags(minus=f.minus, width=f.width))


_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote (QuoteToASCII with `ascii_only`)."""
    out = ['"']
    for c in s:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c.isprintable() and (c.isascii() or not ascii_only):
            out.append(c)
        else:
            cp = ord(c)
            if cp < 0x20 or cp == 0x7F:
                out.append(f"\\x{cp:02x}")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def go_syntax(value: Any) -> str:
    """%#v: the value as Go source."""
    if value is None:
        return "<nil>"
    t = type(value)
    if t is str or isinstance(value, str):
        return go_quote(str(value))
    if t is bool:
        return "true" if value else "false"
    if t is float:
        return _fmt_shortest_g(value, False)
    gosyntax = getattr(value, "go_syntax", None)
    if gosyntax is not None:
        return str(gosyntax())
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, dict):
        inner = ", ".join(f"{go_syntax(k)}:{go_syntax(v)}" for k, v in sorted(value.items()))
        return f"{type_name(value)}{{{inner}}}"
    if isinstance(value, (list, tuple)):
        return f"{type_name(value)}{{{', '.join(go_syntax(e) for e in value)}}}"
    if isinstance(value, GoStruct):
        inner = ", ".join(f"{n}:{go_syntax(getattr(value, n))}" for n in value.go_fields)
        name = type_name(value)
        if getattr(value, "go_pointer", False):
            return f"&{name.lstrip('*')}{{{inner}}}"
        return f"{name}{{{inner}}}"
    return repr(value)


# -- Sprintf ---------------------------------------------------------------------------------------
def _parse_num(fmt: str, i: int) -> tuple[int | None, int]:
    start = i
    while i < len(fmt) and fmt[i].isdigit() and fmt[i].isascii():
        i += 1
        if i - start > 6:  # Go's tooLarge: reject absurd widths
            return None, i
    return (int(fmt[start:i]), i) if i > start else (None, i)


def sprintf(fmt: str, args: list[Any] | tuple[Any, ...]) -> str:
    """fmt.Sprintf."""
    out: list[str] = []
    n = len(fmt)
    arg_num = 0
    reordered = False
    i = 0
    while i < n:
        good_arg_num = True
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        if j > i:
            out.append(fmt[i:j])
        i = j + 1
        f = _Flags()
        while i < n and fmt[i] in "#0+- ":
            c = fmt[i]
            if c == "#":
                f.sharp = True
            elif c == "0":
                f.zero = not f.minus
            elif c == "+":
                f.plus = True
            elif c == "-":
                f.minus, f.zero = True, False
            else:
                f.space = True
            i += 1
        after_index = False

        def arg_number(arg_num: int, i: int) -> tuple[int, int, bool, bool]:
            """Go's argNumber: an explicit `[n]` index → (argNum, i, found, ok)."""
            if i >= n or fmt[i] != "[":
                return arg_num, i, False, True
            close = fmt.find("]", i)
            if close < 0:
                return arg_num, i + 1, False, False
            num, end = _parse_num(fmt, i + 1)
            if num is None or end != close:
                return arg_num, close + 1, False, False
            index = num - 1
            if 0 <= index < len(args):
                return index, close + 1, True, True
            return arg_num, close + 1, True, False

        arg_num, i, after_index, ok = arg_number(arg_num, i)
        reordered = reordered or after_index
        good_arg_num = good_arg_num and ok
        if i < n and fmt[i] == "*":
            i += 1
            width, arg_num = _int_from_arg(args, arg_num)
            if width is None:
                out.append("%!(BADWIDTH)")
            else:
                f.width = width
                if width < 0:
                    f.width, f.minus, f.zero = -width, True, False
            after_index = False
        else:
            f.width, i = _parse_num(fmt, i)
            if after_index and f.width is not None:
                good_arg_num = False
        if i + 1 < n and fmt[i] == ".":
            i += 1
            if after_index:
                good_arg_num = False
            arg_num, i, after_index, ok = arg_number(arg_num, i)
            reordered = reordered or after_index
            good_arg_num = good_arg_num and ok
            if i < n and fmt[i] == "*":
                i += 1
                prec, arg_num = _int_from_arg(args, arg_num)
                if prec is None or prec < 0:
                    f.prec = None
                    if prec is None:
                        out.append("%!(BADPREC)")
                else:
                    f.prec = prec
                after_index = False
            else:
                f.prec, i = _parse_num(fmt, i)
                if f.prec is None:
                    f.prec = 0
        if not after_index:
            arg_num, i, after_index, ok = arg_number(arg_num, i)
            reordered = reordered or after_index
            good_arg_num = good_arg_num and ok
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not good_arg_num:
            out.append(f"%!{verb}(BADINDEX)")
        elif arg_num >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            if verb == "v":
                f.sharp_v, f.sharp = f.sharp, False
                f.plus_v, f.plus = f.plus, False
            out.append(format_arg(args[arg_num], verb, f))
            arg_num += 1
    if not reordered and arg_num < len(args):
        extra = []
        for arg in args[arg_num:]:
            if arg is None:
                extra.append("<nil>")
            else:
                extra.append(f"{type_name(arg)}={format_arg(arg, 'v', _PLAIN)}")
        out.append("%!(EXTRA " + ", ".join(extra) + ")")
    return "".join(out)


def _int_from_arg(args: list[Any] | tuple[Any, ...], arg_num: int) -> tuple[int | None, int]:
    if arg_num < len(args):
        arg = args[arg_num]
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) <= 1_000_000:
            return int(arg), arg_num + 1
        return None, arg_num + 1
    return None, arg_num
