"""html/template's contexts: where in an HTML document a point of a template is.

Go's html/template escapes each action for the place it appears in: HTML text, an attribute
value (quoted or not), a URL (and which part of it), a `<title>`, a comment, a script or a
style. A `Context` is that place: a state plus the attribute delimiter, the URL part, the
JavaScript "does a slash start a regexp" bit, the kind of attribute and the special element
being inside of. Contexts are frozen and compare by value (Go's `context.eq`), which is what
joining the branches of `{{if}}` and `{{range}}` needs. `mangle` names a template escaped in
a context other than plain text, as Go names its derived templates. `attr_type` is Go's
guess of what an attribute holds (URL, CSS, script, …) from its name.

How contexts advance over text is htmltransitions.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ATTR_START",
    "Attr",
    "Context",
    "Delim",
    "Element",
    "Failure",
    "JSCtx",
    "State",
    "URLPart",
    "attr_type",
    "error_context",
    "is_comment",
    "is_in_tag",
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


# What an attribute's value is, by the kind of attribute, once its quote (if any) is past.
ATTR_START: Final = {
    Attr.NONE: State.ATTR,
    Attr.SCRIPT: State.JS,
    Attr.SCRIPT_TYPE: State.ATTR,
    Attr.STYLE: State.CSS,
    Attr.URL: State.URL,
    Attr.SRCSET: State.SRCSET,
}
