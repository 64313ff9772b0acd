"""html/template's escaping functions, the ones its escaper appends to actions' pipelines.

Each takes the action's value(s) the way Go's do: `_stringify` prints them with fmt.Sprint
(dereferencing pointers, and skipping nil so that no value prints as nothing) and notes whether
the value is trusted content (`SafeHTML` from safeHtml, `SafeURL` from safeUrl). Then:

* text: `<>&'"+` and NUL escaped (trusted HTML passes unchanged);
* quoted attribute values: the same (trusted HTML has its tags stripped first);
* unquoted attribute values: white space, `=` and backquote escaped too;
* `<title>`/`<textarea>`: the same as text, except trusted HTML is not passed through raw;
* URLs: a value at the start of a URL attribute may not bring its own scheme unless it is
  http, https or mailto (else `#ZgotmplZ`); characters a URL cannot hold are %-encoded
  (lower-case hex, UTF-8), in the query or fragment everything but unreserved characters is;
* CSS values: refused (`ZgotmplZ`) when they could break out of the declaration;
* attribute names: only `[a-z0-9]+` plain attributes, else `ZgotmplZ`;
* HTML comments: nothing (comments are dropped from the output).
"""

from __future__ import annotations

from typing import Any, Final

from tocsin.adapters.gotemplate.gofmt import indirect_string, sprint
from tocsin.adapters.gotemplate.htmlcontext import Context, Delim, State, attr_type, is_in_tag
from tocsin.adapters.gotemplate.htmltransitions import decode_css, transition
from tocsin.adapters.gotemplate.values import ANY, GoFunc, SafeHTML, SafeURL

__all__ = ["ESCAPERS", "FAILSAFE"]

FAILSAFE: Final = "ZgotmplZ"
_PLAIN, _HTML, _URL = 0, 1, 2


class _Printed:
    """A pointer's pointee, already printed: fmt prints it as that text, spaced as a struct."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def go_string(self) -> str:
        return self.text


def _sprint_indirect(args: tuple[Any, ...], skip_nil: bool) -> str:
    """fmt.Sprint of `args` with pointers dereferenced (Go's indirectToStringerOrError)."""
    parts = [
        _Printed(indirect_string(a)) if getattr(a, "go_pointer", False) else a
        for a in args
        if not (skip_nil and a is None)
    ]
    return sprint(parts)


def _stringify(args: tuple[Any, ...]) -> tuple[str, int]:
    """Go's stringify: the text of the arguments and whether it is trusted content. Nil
    arguments are skipped, so no value prints as nothing."""
    if len(args) == 1:
        a = args[0]
        if type(a) is str:
            return a, _PLAIN
        if type(a) is SafeHTML:
            return str(a), _HTML
        if type(a) is SafeURL:
            return str(a), _URL
    return _sprint_indirect(args, skip_nil=True), _PLAIN


_HTML_TABLE: Final = {
    "\x00": "\ufffd",
    '"': "&#34;",
    "&": "&amp;",
    "'": "&#39;",
    "+": "&#43;",
    "<": "&lt;",
    ">": "&gt;",
}
_HTML_NORM_TABLE: Final = {k: v for k, v in _HTML_TABLE.items() if k != "&"}
_NOSPACE_TABLE: Final = {
    "\x00": "&#xfffd;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\v": "&#11;",
    "\f": "&#12;",
    "\r": "&#13;",
    " ": "&#32;",
    '"': "&#34;",
    "&": "&amp;",
    "'": "&#39;",
    "+": "&#43;",
    "<": "&lt;",
    "=": "&#61;",
    ">": "&gt;",
    "`": "&#96;",
}
_NOSPACE_NORM_TABLE: Final = {k: v for k, v in _NOSPACE_TABLE.items() if k != "&"}
_TRANSLATIONS: Final = {
    id(t): str.maketrans(t)
    for t in (_HTML_TABLE, _HTML_NORM_TABLE, _NOSPACE_TABLE, _NOSPACE_NORM_TABLE)
}


def _replace(s: str, table: dict[str, str], bad_runes: bool) -> str:
    out = s.translate(_TRANSLATIONS[id(table)])
    if not bad_runes:
        out = "".join(
            f"&#x{ord(c):x};" if ("\ufdd0" <= c <= "\ufdef" or "\ufff0" <= c <= "\uffff") else c
            for c in out
        )
    return out


def _strip_tags(text: str) -> str:
    """Go's stripTags: the text content of an HTML fragment."""
    out: list[str] = []
    c = Context()
    i, all_text, n = 0, True, len(text)
    while i != n:
        if c.delim == Delim.NONE:
            st = c.state
            if c.element and not is_in_tag(st):
                st = State.RCDATA
            d, nread = transition(c, text[i:], st)
            i1 = i + nread
            if c.state in (State.TEXT, State.RCDATA):
                j = i1
                if d.state != c.state:
                    k = text.rfind("<", i, j)
                    if k >= 0:
                        j = k
                out.append(text[i:j])
            else:
                all_text = False
            c, i = d, i1
            continue
        ends = {Delim.DOUBLE_QUOTE: '"', Delim.SINGLE_QUOTE: "'"}.get(c.delim, " \t\n\f\r>")
        i1 = next((j for j in range(i, n) if text[j] in ends), -1)
        if i1 < 0:
            break
        if c.delim != Delim.SPACE_OR_TAG_END:
            i1 += 1
        c, i = Context(State.TAG, element=c.element), i1
    if all_text:
        return text
    if c.state in (State.TEXT, State.RCDATA):
        out.append(text[i:])
    return "".join(out)


def _html_escaper(*args: Any) -> str:
    s, kind = _stringify(args)
    return s if kind == _HTML else _replace(s, _HTML_TABLE, True)


def _attr_escaper(*args: Any) -> str:
    s, kind = _stringify(args)
    if kind == _HTML:
        return _replace(_strip_tags(s), _HTML_NORM_TABLE, True)
    return _replace(s, _HTML_TABLE, True)


def _rcdata_escaper(*args: Any) -> str:
    s, kind = _stringify(args)
    return _replace(s, _HTML_NORM_TABLE if kind == _HTML else _HTML_TABLE, True)


def _nospace_escaper(*args: Any) -> str:
    s, kind = _stringify(args)
    if kind == _HTML:
        return _replace(_strip_tags(s), _NOSPACE_NORM_TABLE, False)
    return _replace(s, _NOSPACE_TABLE, False)


def _is_safe_url(s: str) -> bool:
    protocol, colon, _ = s.partition(":")
    if colon and "/" not in protocol:
        return protocol.lower() in ("http", "https", "mailto")
    return True


def _url_filter(*args: Any) -> str:
    s, kind = _stringify(args)
    if kind == _URL:
        return s
    return s if _is_safe_url(s) else "#" + FAILSAFE


_URL_RESERVED: Final = frozenset("!#$&*+,/:;=?@[]")
_URL_UNRESERVED: Final = frozenset(
    "-._~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)
_HEX: Final = frozenset("0123456789abcdefABCDEF")


def _process_url(s: str, norm: bool) -> str:
    data = s.encode("utf-8", "surrogateescape")
    out = bytearray()
    n = len(data)
    for i, b in enumerate(data):
        c = chr(b)
        if (
            c in _URL_UNRESERVED
            or (norm and c in _URL_RESERVED)
            or (
                c == "%"
                and norm
                and i + 2 < n
                and chr(data[i + 1]) in _HEX
                and chr(data[i + 2]) in _HEX
            )
        ):
            out.append(b)
        else:
            out.extend(f"%{b:02x}".encode())
    return out.decode("utf-8", "surrogateescape")


def _url_normalizer(*args: Any) -> str:
    s, _ = _stringify(args)
    return _process_url(s, True)


def _url_escaper(*args: Any) -> str:
    s, kind = _stringify(args)
    return _process_url(s, kind == _URL)


def _css_value_filter(*args: Any) -> str:
    s, _ = _stringify(args)
    b = decode_css(s)
    ident: list[str] = []
    for i, c in enumerate(b):
        if c in "\x00\"'()/;@[\\]`{}<>":
            return FAILSAFE
        if c == "-":
            if i != 0 and b[i - 1] == "-":
                return FAILSAFE
        elif c.isascii() and (c.isalnum() or c in "-_"):
            ident.append(c)
    lowered = "".join(ident).lower()
    if "expression" in lowered or "mozbinding" in lowered:
        return FAILSAFE
    return b


def _html_name_filter(*args: Any) -> str:
    s, _ = _stringify(args)
    if not s:
        return FAILSAFE
    s = s.lower()
    if attr_type(s) != "plain":
        return FAILSAFE
    if not all(c.isascii() and (c.isdigit() or "a" <= c <= "z") for c in s):
        return FAILSAFE
    return s


def _comment_escaper(*args: Any) -> str:
    return ""


def _eval_args(*args: Any) -> str:
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return _sprint_indirect(args, skip_nil=False)


def _escaper(name: str, fn: Any) -> GoFunc:
    return GoFunc(name, fn, (), ANY)


ESCAPERS: Final[dict[str, GoFunc]] = {
    f.name: f
    for f in (
        _escaper("_html_template_htmlescaper", _html_escaper),
        _escaper("_html_template_attrescaper", _attr_escaper),
        _escaper("_html_template_rcdataescaper", _rcdata_escaper),
        _escaper("_html_template_nospaceescaper", _nospace_escaper),
        _escaper("_html_template_urlfilter", _url_filter),
        _escaper("_html_template_urlnormalizer", _url_normalizer),
        _escaper("_html_template_urlescaper", _url_escaper),
        _escaper("_html_template_cssvaluefilter", _css_value_filter),
        _escaper("_html_template_htmlnamefilter", _html_name_filter),
        _escaper("_html_template_commentescaper", _comment_escaper),
        _escaper("_eval_args_", _eval_args),
    )
}
