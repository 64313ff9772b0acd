"""html/template's context machine: where in an HTML document a point of a template is.

Theory of operation
-------------------
Go's html/template escapes each action for the place it appears in: HTML text, an attribute
value (quoted or not), a URL (and which part of it), a `<title>`, a comment, a script or a
style. A `Context` is that place: a state plus the attribute delimiter, the URL part, the
JavaScript "does a slash start a regexp" bit, the kind of attribute and the special element
being inside of. `context_after_text(c, s)` advances a context over template text, one
transition at a time, exactly as Go 1.19's transition.go does (tText, tTag, tAttrName,
tAfterName, tBeforeValue, tHTMLCmt, tSpecialTagEnd, tURL, tJS, tJSDelimited, tCSS, tCSSStr,
comments); attribute values are HTML-unescaped before their content is examined.

Contexts are frozen and compare by value (Go's `context.eq`), which is what joining the
branches of `{{if}}` and `{{range}}` needs. `mangle` names a template escaped in a context
other than plain text, as Go names its derived templates.
"""

from __future__ import annotations

import enum
import html
import re
from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "Attr",
    "Context",
    "Delim",
    "Element",
    "Failure",
    "JSCtx",
    "State",
    "URLPart",
    "attr_type",
    "context_after_text",
    "decode_css",
    "error_context",
    "is_comment",
    "is_in_tag",
    "transition",
]


class State(enum.IntEnum):
    TEXT = 0
    TAG = 1
    ATTR_NAME = 2
    AFTER_NAME = 3
    BEFORE_VALUE = 4
    HTML_CMT = 5
    RCDATA = 6
    ATTR = 7
    URL = 8
    SRCSET = 9
    JS = 10
    JS_DQ_STR = 11
    JS_SQ_STR = 12
    JS_BQ_STR = 13
    JS_REGEXP = 14
    JS_BLOCK_CMT = 15
    JS_LINE_CMT = 16
    CSS = 17
    CSS_DQ_STR = 18
    CSS_SQ_STR = 19
    CSS_DQ_URL = 20
    CSS_SQ_URL = 21
    CSS_URL = 22
    CSS_BLOCK_CMT = 23
    CSS_LINE_CMT = 24
    ERROR = 25
    DEAD = 26


class Delim(enum.IntEnum):
    NONE = 0
    DOUBLE_QUOTE = 1
    SINGLE_QUOTE = 2
    SPACE_OR_TAG_END = 3


class URLPart(enum.IntEnum):
    NONE = 0
    PRE_QUERY = 1
    QUERY_OR_FRAG = 2
    UNKNOWN = 3


class JSCtx(enum.IntEnum):
    REGEXP = 0
    DIV_OP = 1
    UNKNOWN = 2


class Attr(enum.IntEnum):
    NONE = 0
    SCRIPT = 1
    SCRIPT_TYPE = 2
    STYLE = 3
    URL = 4
    SRCSET = 5


class Element(enum.IntEnum):
    NONE = 0
    SCRIPT = 1
    STYLE = 2
    TEXTAREA = 3
    TITLE = 4


@dataclass(frozen=True, slots=True)
class Failure:
    """Why escaping failed: Go's reason, whether it is a construct Tocsin does not reproduce,
    and where (the template's source name and text, and an offset), once known."""

    reason: str
    unsupported: bool = False
    source_name: str = ""
    source: str = ""
    pos: int = -1


@dataclass(frozen=True, slots=True)
class Context:
    state: State = State.TEXT
    delim: Delim = Delim.NONE
    url_part: URLPart = URLPart.NONE
    js_ctx: JSCtx = JSCtx.REGEXP
    attr: Attr = Attr.NONE
    element: Element = Element.NONE
    failure: Failure | None = None  # for State.ERROR

    def mangle(self, name: str) -> str:
        """The name of `name` escaped in this context (Go's derived template names)."""
        if self.state == State.TEXT:
            return name
        parts = [name + "$htmltemplate_" + self.state.name]
        if self.delim:
            parts.append(self.delim.name)
        if self.url_part:
            parts.append(self.url_part.name)
        if self.js_ctx:
            parts.append(self.js_ctx.name)
        if self.attr:
            parts.append(self.attr.name)
        if self.element:
            parts.append(self.element.name)
        return "_".join(parts)


def error_context(reason: str, unsupported: bool = False) -> Context:
    return Context(State.ERROR, failure=Failure(reason, unsupported))


def is_comment(state: State) -> bool:
    return state in (
        State.HTML_CMT,
        State.JS_BLOCK_CMT,
        State.JS_LINE_CMT,
        State.CSS_BLOCK_CMT,
        State.CSS_LINE_CMT,
    )


def is_in_tag(state: State) -> bool:
    return state in (
        State.TAG,
        State.ATTR_NAME,
        State.AFTER_NAME,
        State.BEFORE_VALUE,
        State.ATTR,
    )


# -- attribute types ---------------------------------------------------------------------------------
_PLAIN, _URL, _CSS, _JS, _SRCSET = "plain", "url", "css", "js", "srcset"
_UNSAFE, _HTML = "unsafe", "html"
_URL_ATTRS: Final = frozenset(
    [
        "action",
        "archive",
        "background",
        "cite",
        "classid",
        "codebase",
        "data",
        "formaction",
        "href",
        "icon",
        "longdesc",
        "manifest",
        "poster",
        "profile",
        "src",
        "usemap",
        "xmlns",
    ]
)
# What html/template's attrTypeMap says of the attributes it knows that are neither URLs,
# CSS nor script. Listed so that the "on…", "…src…", "…uri…", "…url…" heuristics below do not
# apply to them, and because an attribute *name* from an action must be a plain one.
_UNSAFE_ATTRS: Final = frozenset(
    [
        "accept-charset",
        "async",
        "challenge",
        "charset",
        "content",
        "crossorigin",
        "defer",
        "enctype",
        "form",
        "formenctype",
        "formmethod",
        "formnovalidate",
        "http-equiv",
        "keytype",
        "language",
        "method",
        "novalidate",
        "pattern",
        "rel",
        "sandbox",
        "type",
        "value",
    ]
)
_PLAIN_ATTRS: Final = frozenset(
    [
        "accept",
        "alt",
        "autocomplete",
        "autofocus",
        "autoplay",
        "border",
        "checked",
        "class",
        "cols",
        "colspan",
        "contenteditable",
        "contextmenu",
        "controls",
        "coords",
        "datetime",
        "default",
        "dir",
        "dirname",
        "disabled",
        "draggable",
        "dropzone",
        "for",
        "formtarget",
        "headers",
        "height",
        "hidden",
        "high",
        "hreflang",
        "id",
        "ismap",
        "kind",
        "label",
        "lang",
        "list",
        "loop",
        "low",
        "max",
        "maxlength",
        "media",
        "mediagroup",
        "min",
        "multiple",
        "name",
        "open",
        "optimum",
        "placeholder",
        "preload",
        "pubdate",
        "radiogroup",
        "readonly",
        "required",
        "reversed",
        "rows",
        "rowspan",
        "spellcheck",
        "scope",
        "scoped",
        "seamless",
        "selected",
        "shape",
        "size",
        "sizes",
        "span",
        "srclang",
        "start",
        "step",
        "tabindex",
        "target",
        "title",
        "width",
        "wrap",
    ]
)


def attr_type(name: str) -> str:
    """Go's attrType for a lower-cased attribute name: "url", "css", "js", "srcset", "html",
    "unsafe" or "plain"."""
    if name.startswith("data-"):
        name = name[5:]
    elif ":" in name:
        prefix, _, short = name.partition(":")
        if prefix == "xmlns":
            return _URL
        name = short
    if name in _URL_ATTRS:
        return _URL
    if name == "style":
        return _CSS
    if name == "srcset":
        return _SRCSET
    if name == "srcdoc":
        return _HTML
    if name in _UNSAFE_ATTRS:
        return _UNSAFE
    if name in _PLAIN_ATTRS:
        return _PLAIN
    if name.startswith("on"):
        return _JS
    if "src" in name or "uri" in name or "url" in name:
        return _URL
    return _PLAIN


# -- transitions -------------------------------------------------------------------------------------
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
_ATTR_START: Final = {
    Attr.NONE: State.ATTR,
    Attr.SCRIPT: State.JS,
    Attr.SCRIPT_TYPE: State.ATTR,
    Attr.STYLE: State.CSS,
    Attr.URL: State.URL,
    Attr.SRCSET: State.SRCSET,
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
        attr = {_URL: Attr.URL, _CSS: Attr.STYLE, _JS: Attr.SCRIPT, _SRCSET: Attr.SRCSET}.get(
            attr_type(name), Attr.NONE
        )
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
    return replace(c, state=_ATTR_START[c.attr], delim=delim), i


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
