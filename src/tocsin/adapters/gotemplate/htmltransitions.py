"""html/template's transitions: how a context advances over template text (Go 1.19).

Theory of operation
-------------------
`context_after_text(c, s)` advances a context over (a prefix of) text, one transition at a
time, exactly as Go's transition.go does: tText finds tags and comments, tTag attribute names
(and classifies them), tAfterName / tBeforeValue the `=` and the opening quote, tHTMLCmt the
end of a comment, tSpecialTagEnd the `</title>`, `</script>`… that ends raw text, tURL which
part of a URL the text is in, tJS / tJSDelimited / tCSS / tCSSStr strings, regexps, comments
and `url(…)` inside scripts and styles. An attribute value is HTML-unescaped before its
content is examined, as a browser would see it; the closing quote (or the space or `>` of an
unquoted value) returns to the tag. Malformed HTML (a quote in an attribute name, `=` in an
unquoted value) becomes an error context, as in Go.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Final

from tocsin.adapters.gotemplate.htmlcontext import (
    ATTR_START,
    Attr,
    Context,
    Delim,
    Element,
    JSCtx,
    State,
    URLPart,
    attr_type,
    error_context,
)

__all__ = ["context_after_text", "decode_css", "transition"]

_ATTR_KINDS: Final = {"url": Attr.URL, "css": Attr.STYLE, "js": Attr.SCRIPT, "srcset": Attr.SRCSET}

_SPACE: Final = " \t\n\f\r"
_ELEMENTS: Final = {
    "script": Element.SCRIPT,
    "style": Element.STYLE,
    "textarea": Element.TEXTAREA,
    "title": Element.TITLE,
}
_ELEMENT_CONTENT: Final = {
    Element.NONE: State.TEXT,
    Element.SCRIPT: State.JS,
    Element.STYLE: State.CSS,
    Element.TEXTAREA: State.RCDATA,
    Element.TITLE: State.RCDATA,
}
_DELIM_ENDS: Final = {
    Delim.DOUBLE_QUOTE: '"',
    Delim.SINGLE_QUOTE: "'",
    Delim.SPACE_OR_TAG_END: " \t\n\f\r>",
}
_SPECIAL_END: Final = {
    Element.SCRIPT: "script",
    Element.STYLE: "style",
    Element.TEXTAREA: "textarea",
    Element.TITLE: "title",
}


def _ascii_alpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _ascii_alnum(c: str) -> bool:
    return _ascii_alpha(c) or ("0" <= c <= "9")


def _eat_white_space(s: str, i: int) -> int:
    while i < len(s) and s[i] in _SPACE:
        i += 1
    return i


def _eat_tag_name(s: str, i: int) -> tuple[int, Element]:
    if i == len(s) or not _ascii_alpha(s[i]):
        return i, Element.NONE
    j = i + 1
    while j < len(s):
        x = s[j]
        if _ascii_alnum(x):
            j += 1
            continue
        if x in ":-" and j + 1 < len(s) and _ascii_alnum(s[j + 1]):
            j += 2
            continue
        break
    return j, _ELEMENTS.get(s[i:j].lower(), Element.NONE)


def _t_text(c: Context, s: str) -> tuple[Context, int]:
    k = 0
    while True:
        i = s.find("<", k)
        if i < 0 or i + 1 == len(s):
            return c, len(s)
        if s.startswith("<!--", i):
            return Context(State.HTML_CMT), i + 4
        i += 1
        end = False
        if s[i] == "/":
            if i + 1 == len(s):
                return c, len(s)
            end, i = True, i + 1
        j, element = _eat_tag_name(s, i)
        if j != i:
            return Context(State.TAG, element=Element.NONE if end else element), j
        k = j


def _eat_attr_name(s: str, i: int) -> int:
    """The end of the attribute name at `i`; -1 for a quote or `<` in it (bad HTML)."""
    for j in range(i, len(s)):
        c = s[j]
        if c in " \t\n\f\r=>":
            return j
        if c in "'\"<":
            return -1
    return len(s)


def _t_tag(c: Context, s: str) -> tuple[Context, int]:
    i = _eat_white_space(s, 0)
    if i == len(s):
        return c, len(s)
    if s[i] == ">":
        return Context(_ELEMENT_CONTENT[c.element], element=c.element), i + 1
    j = _eat_attr_name(s, i)
    if j < 0:
        return error_context(f"bad character in attribute name: {s[i : i + 32]!r}"), len(s)
    if i == j:
        return (
            error_context(f"expected space, attr name, or end of tag, but got {s[i:]!r}"),
            len(s),
        )
    name = s[i:j].lower()
    attr = Attr.NONE
    if c.element == Element.SCRIPT and name == "type":
        attr = Attr.SCRIPT_TYPE
    else:
        attr = _ATTR_KINDS.get(attr_type(name), Attr.NONE)
    state = State.ATTR_NAME if j == len(s) else State.AFTER_NAME
    return Context(state, element=c.element, attr=attr), j


def _t_attr_name(c: Context, s: str) -> tuple[Context, int]:
    i = _eat_attr_name(s, 0)
    if i < 0:
        return error_context(f"bad character in attribute name: {s[:32]!r}"), len(s)
    if i != len(s):
        c = replace(c, state=State.AFTER_NAME)
    return c, i


def _t_after_name(c: Context, s: str) -> tuple[Context, int]:
    i = _eat_white_space(s, 0)
    if i == len(s):
        return c, len(s)
    if s[i] != "=":
        return replace(c, state=State.TAG), i
    return replace(c, state=State.BEFORE_VALUE), i + 1


def _t_before_value(c: Context, s: str) -> tuple[Context, int]:
    i = _eat_white_space(s, 0)
    if i == len(s):
        return c, len(s)
    delim = Delim.SPACE_OR_TAG_END
    if s[i] == "'":
        delim, i = Delim.SINGLE_QUOTE, i + 1
    elif s[i] == '"':
        delim, i = Delim.DOUBLE_QUOTE, i + 1
    return replace(c, state=ATTR_START[c.attr], delim=delim), i


def _t_html_cmt(c: Context, s: str) -> tuple[Context, int]:
    i = s.find("-->")
    if i >= 0:
        return Context(), i + 3
    return c, len(s)


def _index_tag_end(s: str, tag: str) -> int:
    """Where `</tag` followed by a tag-ending character starts in `s`, or -1."""
    for m in re.finditer("</", s):
        rest = s[m.end() : m.end() + len(tag) + 1]
        if rest[: len(tag)].lower() == tag and len(rest) > len(tag) and rest[-1] in "> \t\n\f/":
            return m.start()
    return -1


def _t_special_tag_end(c: Context, s: str) -> tuple[Context, int]:
    if c.element != Element.NONE:
        i = _index_tag_end(s, _SPECIAL_END[c.element])
        if i >= 0:
            return Context(), i
    return c, len(s)


def _t_attr(c: Context, s: str) -> tuple[Context, int]:
    return c, len(s)


def _t_url(c: Context, s: str) -> tuple[Context, int]:
    if "#" in s or "?" in s:
        return replace(c, url_part=URLPart.QUERY_OR_FRAG), len(s)
    if len(s) != _eat_white_space(s, 0) and c.url_part == URLPart.NONE:
        return replace(c, url_part=URLPart.PRE_QUERY), len(s)
    return c, len(s)


_REGEXP_PRECEDERS: Final = frozenset(
    [
        "break",
        "case",
        "continue",
        "delete",
        "do",
        "else",
        "finally",
        "in",
        "instanceof",
        "return",
        "throw",
        "try",
        "typeof",
        "void",
    ]
)


def _is_js_ident_part(c: str) -> bool:
    return c in "$_" or _ascii_alnum(c)


def _next_js_ctx(s: str, preceding: JSCtx) -> JSCtx:
    s = s.rstrip("\t\n\f\r \u2028\u2029")
    if not s:
        return preceding
    c, n = s[-1], len(s)
    if c in "+-":
        start = n - 1
        while start > 0 and s[start - 1] == c:
            start -= 1
        return JSCtx.REGEXP if (n - start) & 1 else JSCtx.DIV_OP
    if c == ".":
        if n != 1 and "0" <= s[n - 2] <= "9":
            return JSCtx.DIV_OP
        return JSCtx.REGEXP
    if c in ",<>=*%&|^?!~([:;{}":
        return JSCtx.REGEXP
    j = n
    while j > 0 and _is_js_ident_part(s[j - 1]):
        j -= 1
    if s[j:] in _REGEXP_PRECEDERS:
        return JSCtx.REGEXP
    return JSCtx.DIV_OP


def _t_js(c: Context, s: str) -> tuple[Context, int]:
    m = re.search(r"[\"`'/]", s)
    if m is None:
        return replace(c, js_ctx=_next_js_ctx(s, c.js_ctx)), len(s)
    i = m.start()
    c = replace(c, js_ctx=_next_js_ctx(s[:i], c.js_ctx))
    ch = s[i]
    if ch == '"':
        c = replace(c, state=State.JS_DQ_STR, js_ctx=JSCtx.REGEXP)
    elif ch == "'":
        c = replace(c, state=State.JS_SQ_STR, js_ctx=JSCtx.REGEXP)
    elif ch == "`":
        c = replace(c, state=State.JS_BQ_STR, js_ctx=JSCtx.REGEXP)
    elif i + 1 < len(s) and s[i + 1] == "/":
        c, i = replace(c, state=State.JS_LINE_CMT), i + 1
    elif i + 1 < len(s) and s[i + 1] == "*":
        c, i = replace(c, state=State.JS_BLOCK_CMT), i + 1
    elif c.js_ctx == JSCtx.REGEXP:
        c = replace(c, state=State.JS_REGEXP)
    elif c.js_ctx == JSCtx.DIV_OP:
        c = replace(c, js_ctx=JSCtx.REGEXP)
    else:
        return error_context(f"'/' could start a division or regexp: {s[i : i + 32]!r}"), len(s)
    return c, i + 1


def _t_js_delimited(c: Context, s: str) -> tuple[Context, int]:
    specials = {
        State.JS_SQ_STR: "\\'",
        State.JS_BQ_STR: "`\\",
        State.JS_REGEXP: "\\/[]",
    }.get(c.state, '\\"')
    k, in_charset = 0, False
    while True:
        i = next((j for j in range(k, len(s)) if s[j] in specials), -1)
        if i < 0:
            break
        ch = s[i]
        if ch == "\\":
            i += 1
            if i == len(s):
                return error_context(f"unfinished escape sequence in JS string: {s!r}"), len(s)
        elif ch == "[":
            in_charset = True
        elif ch == "]":
            in_charset = False
        elif not in_charset:
            return replace(c, state=State.JS, js_ctx=JSCtx.DIV_OP), i + 1
        k = i + 1
    if in_charset:
        return error_context(f"unfinished JS regexp charset: {s!r}"), len(s)
    return c, len(s)


def _t_block_cmt(c: Context, s: str) -> tuple[Context, int]:
    i = s.find("*/")
    if i < 0:
        return c, len(s)
    return replace(c, state=State.JS if c.state == State.JS_BLOCK_CMT else State.CSS), i + 2


def _t_line_cmt(c: Context, s: str) -> tuple[Context, int]:
    if c.state == State.JS_LINE_CMT:
        ends, end_state = "\n\r\u2028\u2029", State.JS
    else:
        ends, end_state = "\n\f\r", State.CSS
    i = next((j for j, ch in enumerate(s) if ch in ends), -1)
    if i < 0:
        return c, len(s)
    return replace(c, state=end_state), i


def _ends_with_css_keyword(b: str, kw: str) -> bool:
    i = len(b) - len(kw)
    if i < 0:
        return False
    if i != 0 and (b[i - 1].isascii() and (b[i - 1].isalnum() or b[i - 1] in "-_")):
        return False
    return b[i:].lower() == kw


def _t_css(c: Context, s: str) -> tuple[Context, int]:
    k = 0
    while True:
        m = re.compile(r"[(\"'/]").search(s, k)
        if m is None:
            return c, len(s)
        i = m.start()
        ch = s[i]
        if ch == "(":
            p = s[:i].rstrip("\t\n\f\r ")
            if _ends_with_css_keyword(p, "url"):
                j = len(s) - len(s[i + 1 :].lstrip("\t\n\f\r "))
                if j != len(s) and s[j] == '"':
                    return replace(c, state=State.CSS_DQ_URL), j + 1
                if j != len(s) and s[j] == "'":
                    return replace(c, state=State.CSS_SQ_URL), j + 1
                return replace(c, state=State.CSS_URL), j
        elif ch == "/":
            if i + 1 < len(s):
                if s[i + 1] == "/":
                    return replace(c, state=State.CSS_LINE_CMT), i + 2
                if s[i + 1] == "*":
                    return replace(c, state=State.CSS_BLOCK_CMT), i + 2
        elif ch == '"':
            return replace(c, state=State.CSS_DQ_STR), i + 1
        else:
            return replace(c, state=State.CSS_SQ_STR), i + 1
        k = i + 1


def decode_css(s: str) -> str:
    """CSS escapes (`\\41 `, `\\"`) decoded."""
    if "\\" not in s:
        return s
    return re.sub(
        r"\\([0-9a-fA-F]{1,6})[ \t\n\f\r]?|\\(.)",
        lambda m: chr(int(m[1], 16)) if m[1] else m[2],
        s,
    )


def _t_css_str(c: Context, s: str) -> tuple[Context, int]:
    if c.state in (State.CSS_DQ_STR, State.CSS_DQ_URL):
        end_and_esc = '\\"'
    elif c.state in (State.CSS_SQ_STR, State.CSS_SQ_URL):
        end_and_esc = "\\'"
    else:
        end_and_esc = "\\\t\n\f\r )"
    k = 0
    while True:
        i = next((j for j in range(k, len(s)) if s[j] in end_and_esc), -1)
        if i < 0:
            c, nread = _t_url(c, decode_css(s[k:]))
            return c, k + nread
        if s[i] == "\\":
            i += 1
            if i == len(s):
                return error_context(f"unfinished escape sequence in CSS string: {s!r}"), len(s)
        else:
            return replace(c, state=State.CSS), i + 1
        c, _ = _t_url(c, decode_css(s[: i + 1]))
        k = i + 1


def _t_error(c: Context, s: str) -> tuple[Context, int]:
    return c, len(s)


_TRANSITIONS: Final = {
    State.TEXT: _t_text,
    State.TAG: _t_tag,
    State.ATTR_NAME: _t_attr_name,
    State.AFTER_NAME: _t_after_name,
    State.BEFORE_VALUE: _t_before_value,
    State.HTML_CMT: _t_html_cmt,
    State.RCDATA: _t_special_tag_end,
    State.ATTR: _t_attr,
    State.URL: _t_url,
    State.SRCSET: _t_url,
    State.JS: _t_js,
    State.JS_DQ_STR: _t_js_delimited,
    State.JS_SQ_STR: _t_js_delimited,
    State.JS_BQ_STR: _t_js_delimited,
    State.JS_REGEXP: _t_js_delimited,
    State.JS_BLOCK_CMT: _t_block_cmt,
    State.JS_LINE_CMT: _t_line_cmt,
    State.CSS: _t_css,
    State.CSS_DQ_STR: _t_css_str,
    State.CSS_SQ_STR: _t_css_str,
    State.CSS_DQ_URL: _t_css_str,
    State.CSS_SQ_URL: _t_css_str,
    State.CSS_URL: _t_css_str,
    State.CSS_BLOCK_CMT: _t_block_cmt,
    State.CSS_LINE_CMT: _t_line_cmt,
    State.ERROR: _t_error,
}


def transition(c: Context, s: str, as_state: State | None = None) -> tuple[Context, int]:
    """One step of Go's transitionFunc table: the function for `c.state` (or `as_state`)."""
    return _TRANSITIONS[c.state if as_state is None else as_state](c, s)


def _is_js_type(mime: str) -> bool:
    mime = mime.split(";", 1)[0].strip().lower()
    return mime in (
        "application/ecmascript",
        "application/javascript",
        "application/json",
        "application/ld+json",
        "application/x-ecmascript",
        "application/x-javascript",
        "module",
        "text/ecmascript",
        "text/javascript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
    )


def context_after_text(c: Context, s: str) -> tuple[Context, int]:
    """Go's contextAfterText: the context after (a prefix of) `s`, and how much was read."""
    if c.delim == Delim.NONE:
        c1, i = _t_special_tag_end(c, s)
        if i == 0:
            return c1, 0  # a special end tag (`</script>`) is next
        return transition(c, s[:i])
    ends = _DELIM_ENDS[c.delim]
    i = next((j for j, ch in enumerate(s) if ch in ends), len(s))
    if c.delim == Delim.SPACE_OR_TAG_END:
        bad = next((j for j in range(i) if s[j] in "\"'<=`"), -1)
        if bad >= 0:
            return error_context(f"{s[bad]!r} in unquoted attr: {s[:i]!r}"), len(s)
    if i == len(s):
        # Still inside the attribute: decode it so its content is seen as the browser sees it.
        u = html.unescape(s)
        while u:
            c1, i1 = transition(c, u)
            c, u = c1, u[i1:]
        return c, len(s)
    element = c.element
    if (
        c.state == State.ATTR
        and c.element == Element.SCRIPT
        and c.attr == Attr.SCRIPT_TYPE
        and not _is_js_type(s[:i])
    ):
        element = Element.NONE
    if c.delim != Delim.SPACE_OR_TAG_END:
        i += 1  # the closing quote
    return Context(State.TAG, element=element), i
