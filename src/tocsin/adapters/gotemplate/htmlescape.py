"""html/template's contextual autoescaping, for the fields Alertmanager renders as HTML.

Theory of operation
-------------------
Alertmanager renders an email's `html` with Go's html/template: the same language, but before
the first execution the escaper walks the template from its start, tracking where in the HTML
document each point is (htmlcontext.py), and rewrites the trees:

* every action that prints gets escaping functions appended to its pipeline, chosen by its
  context (`{{.}}` in text → HTML escaping; in `href="…"` → URL filtering and normalising, then
  attribute escaping; in a query string → query escaping; …); a pipeline already ending in
  `html` or `urlquery` keeps it where it is equivalent (Go's ensurePipelineContains);
* text is rewritten: HTML comments are removed, a `<` that does not start a tag becomes `&lt;`;
* a `{{template}}` called in a context other than HTML text is escaped as a copy for that
  context, under a derived name (Go's `name$htmltemplate_stateURL_…`);
* the branches of `{{if}}`/`{{with}}`/`{{range}}` must end in the same context (or contexts
  that join), a `{{range}}` body must survive a second iteration, and the template must end
  where it began, in HTML text. Otherwise escaping fails, as Go's does.

Like Go's, escaping is speculative where it must be (a template's output context is first
assumed equal to its input to handle recursion; a range body is re-escaped from its own end):
edits are recorded per node and committed only when a pass is accepted.

Here the trees escaped are private copies, made per HTML text (Alertmanager clones its set for
each execution), so escaping never touches the text-mode set; the escaped result is cached.

Not reproduced (refused when preparing the text, with `UnsupportedConstruct`): actions inside
JavaScript (`<script>`, `on…=` attributes), inside CSS strings and `url(…)`, and in `srcset`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.errors import TemplateSyntaxError, UnsupportedConstruct
from tocsin.adapters.gotemplate.evaluator import Compiled, State, compile_tree
from tocsin.adapters.gotemplate.htmlcontext import (
    ATTR_START,
    Attr,
    Context,
    Delim,
    Failure,
    JSCtx,
    URLPart,
    error_context,
    is_comment,
)
from tocsin.adapters.gotemplate.htmlcontext import State as S
from tocsin.adapters.gotemplate.htmlfuncs import ESCAPERS
from tocsin.adapters.gotemplate.htmltransitions import context_after_text
from tocsin.adapters.gotemplate.lexer import line_col
from tocsin.adapters.gotemplate.parser import parse
from tocsin.adapters.gotemplate.values import GoFunc

__all__ = ["HTMLSet"]

_PREDEFINED: Final = frozenset({"html", "urlquery"})
_EQUIVALENT: Final = {
    "_html_template_attrescaper": "html",
    "_html_template_htmlescaper": "html",
    "_html_template_rcdataescaper": "html",
    "_html_template_urlescaper": "urlquery",
    "_html_template_urlnormalizer": "urlquery",
}
_CSS_STRINGS: Final = (S.CSS_DQ_STR, S.CSS_SQ_STR, S.CSS_DQ_URL, S.CSS_SQ_URL, S.CSS_URL)
_JS_STATES: Final = (S.JS, S.JS_DQ_STR, S.JS_SQ_STR, S.JS_BQ_STR, S.JS_REGEXP)
_CACHE_LIMIT: Final = 1024


def _normalize(name: str) -> str:
    return _EQUIVALENT.get(name, name)


def _nudge(c: Context) -> Context:
    if c.state == S.TAG:
        return replace(c, state=S.ATTR_NAME)
    if c.state == S.BEFORE_VALUE:
        return replace(c, state=ATTR_START[c.attr], delim=Delim.SPACE_OR_TAG_END, attr=Attr.NONE)
    if c.state == S.AFTER_NAME:
        return replace(c, state=S.ATTR_NAME, attr=Attr.NONE)
    return c


def _join(a: Context, b: Context, what: str) -> Context:
    if a.state == S.ERROR:
        return a
    if b.state == S.ERROR:
        return b
    if a.state == S.DEAD:
        return b
    if b.state == S.DEAD:
        return a
    if a == b:
        return a
    if replace(a, url_part=b.url_part) == b:
        return replace(a, url_part=URLPart.UNKNOWN)
    if replace(a, js_ctx=b.js_ctx) == b:
        return replace(a, js_ctx=JSCtx.UNKNOWN)
    ca, cb = _nudge(a), _nudge(b)
    if not (ca == a and cb == b):
        e = _join(ca, cb, what)
        if e.state != S.ERROR:
            return e
    return error_context(f"{{{{{what}}}}} branches end in different contexts: {a}, {b}")


class _RangeContext:
    __slots__ = ("breaks", "continues", "outer")

    def __init__(self, outer: _RangeContext | None) -> None:
        self.outer = outer
        self.breaks: list[Context] = []
        self.continues: list[Context] = []


class _Namespace:
    """The trees one HTML text can reach: private copies of the set's, plus derived ones."""

    def __init__(self, overlay: dict[str, n.Tree], base: dict[str, n.Tree]) -> None:
        self.overlay = overlay
        self.base = base
        self.trees: dict[str, n.Tree] = {}

    def get(self, name: str) -> n.Tree | None:
        tree = self.trees.get(name)
        if tree is None:
            source = self.overlay.get(name) or self.base.get(name)
            if source is None:
                return None
            tree = self.trees[name] = copy.deepcopy(source)
        return tree

    def exists(self, name: str) -> bool:
        return name in self.trees or name in self.overlay or name in self.base


class _Escaper:
    def __init__(self, ns: _Namespace) -> None:
        self.ns = ns
        self.output: dict[str, Context] = {}
        self.derived: dict[str, n.Tree] = {}
        self.called: set[str] = set()
        self.action_edits: dict[int, tuple[n.Action, list[str]]] = {}
        self.template_edits: dict[int, tuple[n.TemplateCall, str]] = {}
        self.text_edits: dict[int, tuple[n.Text, str]] = {}
        self.range_context: _RangeContext | None = None

    # -- failures -------------------------------------------------------------------------------
    @staticmethod
    def fail(reason: str, tree: n.Tree, node: n.Node | None, unsupported: bool = False) -> Context:
        pos = node.pos if node is not None else 0
        return Context(
            S.ERROR, failure=Failure(reason, unsupported, tree.parse_name, tree.source, pos)
        )

    @staticmethod
    def locate(c: Context, tree: n.Tree, node: n.Node) -> Context:
        f = c.failure
        if c.state == S.ERROR and f is not None and f.pos < 0:
            f = replace(f, source_name=tree.parse_name, source=tree.source, pos=node.pos)
            return replace(c, failure=f)
        return c

    # -- the walk ----------------------------------------------------------------------------------
    def escape(self, c: Context, node: n.Node, tree: n.Tree) -> Context:
        if isinstance(node, n.Action):
            return self.escape_action(c, node, tree)
        if isinstance(node, n.Text):
            return self.locate(self.escape_text(c, node), tree, node)
        if isinstance(node, n.ListNode):
            return self.escape_list(c, node, tree)
        if isinstance(node, n.If):
            return self.escape_branch(c, node, "if", tree)
        if isinstance(node, n.With):
            return self.escape_branch(c, node, "with", tree)
        if isinstance(node, n.Range):
            return self.escape_branch(c, node, "range", tree)
        if isinstance(node, n.TemplateCall):
            out, name = self.escape_tree(c, node, node.name, tree)
            if name != node.name:
                self.template_edits[id(node)] = (node, name)
            return out
        if isinstance(node, (n.Break, n.Continue)):
            rc = self.range_context
            if rc is not None:
                (rc.breaks if isinstance(node, n.Break) else rc.continues).append(c)
            return Context(S.DEAD)
        return self.fail(f"escaping {node} is unimplemented", tree, node)

    def escape_list(self, c: Context, lst: n.ListNode | None, tree: n.Tree) -> Context:
        if lst is None:
            return c
        for node in lst.nodes:
            c = self.escape(c, node, tree)
            if c.state == S.DEAD:
                break
        return c

    def escape_branch(
        self, c: Context, node: n.If | n.With | n.Range, what: str, tree: n.Tree
    ) -> Context:
        if what == "range":
            self.range_context = _RangeContext(self.range_context)
        c0 = self.escape_list(c, node.body, tree)
        if what == "range":
            rc = self.range_context
            assert rc is not None
            if c0.state != S.ERROR:
                c0 = self.join_range(c0, rc)
            self.range_context = rc.outer
            if c0.state == S.ERROR:
                return c0
            # The body can run again: escaping it from its own end must end the same way.
            self.range_context = _RangeContext(self.range_context)
            c1, _ = self.escape_list_conditionally(c0, node.body, tree, None)
            c0 = _join(c0, c1, what)
            rc = self.range_context
            if c0.state == S.ERROR:
                self.range_context = rc.outer
                return self.locate_reentry(c0, tree, node)
            c0 = self.join_range(c0, rc)
            self.range_context = rc.outer
            if c0.state == S.ERROR:
                return c0
        c1 = self.escape_list(c, node.else_body, tree)
        return self.locate(_join(c0, c1, what), tree, node)

    def locate_reentry(self, c: Context, tree: n.Tree, node: n.Node) -> Context:
        c = self.locate(c, tree, node)
        if c.failure is not None:
            f = c.failure
            return replace(c, failure=replace(f, reason="on range loop re-entry: " + f.reason))
        return c

    @staticmethod
    def join_range(c0: Context, rc: _RangeContext) -> Context:
        for c in rc.breaks + rc.continues:
            c0 = _join(c0, c, "range")
            if c0.state == S.ERROR:
                return c0
        return c0

    # -- actions -------------------------------------------------------------------------------------
    def escape_action(self, c: Context, node: n.Action, tree: n.Tree) -> Context:
        if node.pipe.decl:
            return c  # an assignment prints nothing
        c = _nudge(c)
        cmds = node.pipe.cmds
        unquoted = c.state == S.ATTR and c.delim == Delim.SPACE_OR_TAG_END
        for pos, cmd in enumerate(cmds):
            first = cmd.args[0]
            if not (isinstance(first, n.Identifier) and first.name in _PREDEFINED):
                continue
            if pos < len(cmds) - 1 or (unquoted and first.name == "html"):
                return self.fail(
                    f'predefined escaper "{first.name}" disallowed in template', tree, node
                )
        s: list[str] = []
        state = c.state
        if state == S.ERROR:
            return c
        if state == S.URL:
            if c.url_part == URLPart.NONE:
                s += ["_html_template_urlfilter", "_html_template_urlnormalizer"]
            elif c.url_part == URLPart.PRE_QUERY:
                s.append("_html_template_urlnormalizer")
            elif c.url_part == URLPart.QUERY_OR_FRAG:
                s.append("_html_template_urlescaper")
            else:
                return self.fail(f"{node} appears in an ambiguous context within a URL", tree, node)
        elif state in _CSS_STRINGS:
            return self.fail("an action inside a CSS string or url(…)", tree, node, True)
        elif state in _JS_STATES:
            return self.fail(
                "an action inside JavaScript (<script> or an on… attribute)", tree, node, True
            )
        elif state == S.SRCSET:
            return self.fail("an action inside a srcset attribute", tree, node, True)
        elif state == S.CSS:
            s.append("_html_template_cssvaluefilter")
        elif state == S.TEXT:
            s.append("_html_template_htmlescaper")
        elif state == S.RCDATA:
            s.append("_html_template_rcdataescaper")
        elif state in (S.ATTR_NAME, S.TAG):
            c = replace(c, state=S.ATTR_NAME)
            s.append("_html_template_htmlnamefilter")
        elif is_comment(state):
            s.append("_html_template_commentescaper")
        elif state != S.ATTR:
            return self.fail(f"unexpected state {state.name}", tree, node)
        if c.delim == Delim.SPACE_OR_TAG_END:
            s.append("_html_template_nospaceescaper")
        elif c.delim != Delim.NONE:
            s.append("_html_template_attrescaper")
        self.action_edits[id(node)] = (node, s)
        return c

    # -- text ------------------------------------------------------------------------------------------
    def escape_text(self, c: Context, node: n.Text) -> Context:
        s = node.text
        written, i = 0, 0
        out: list[str] = []
        while i != len(s):
            c1, nread = context_after_text(c, s[i:])
            i1 = i + nread
            if c.state in (S.TEXT, S.RCDATA):
                end = i1
                if c1.state != c.state:
                    k = s.rfind("<", i, end)
                    if k >= 0:
                        end = k
                for j in range(i, end):
                    if s[j] == "<" and not s[j:].upper().startswith("<!DOCTYPE"):
                        out.append(s[written:j])
                        out.append("&lt;")
                        written = j + 1
            elif is_comment(c.state) and c.delim == Delim.NONE:
                if c.state == S.JS_BLOCK_CMT:
                    chunk = s[written:i1]
                    out.append("\n" if any(ch in chunk for ch in "\n\r\u2028\u2029") else " ")
                elif c.state == S.CSS_BLOCK_CMT:
                    out.append(" ")
                written = i1
            if c.state != c1.state and is_comment(c1.state) and c1.delim == Delim.NONE:
                cs = i1 - (4 if c1.state == S.HTML_CMT else 2)
                out.append(s[written:cs])
                written = i1
            if i == i1 and c.state == c1.state:
                return error_context(f"infinite loop escaping text {s[i : i + 32]!r}")
            c, i = c1, i1
        if written != 0 and c.state != S.ERROR:
            if not is_comment(c.state) or c.delim != Delim.NONE:
                out.append(s[written:])
            self.text_edits[id(node)] = (node, "".join(out))
        return c

    # -- templates ------------------------------------------------------------------------------------
    def template(self, name: str) -> n.Tree | None:
        return self.ns.get(name) or self.derived.get(name)

    def escape_tree(
        self, c: Context, node: n.Node | None, name: str, caller: n.Tree | None
    ) -> tuple[Context, str]:
        dname = c.mangle(name)
        self.called.add(dname)
        out = self.output.get(dname)
        if out is not None:
            return out, dname
        tree = self.template(name)
        if tree is None:
            if caller is None:
                return error_context(f'no such template "{name}"'), dname
            return self.fail(f'no such template "{name}"', caller, node), dname
        if dname != name:
            derived = self.template(dname)
            if derived is None:
                derived = n.Tree(dname, copy.deepcopy(tree.root), tree.source, tree.parse_name)
                self.derived[dname] = derived
            tree = derived
        return self.compute_out_ctx(c, tree), dname

    def compute_out_ctx(self, c: Context, tree: n.Tree) -> Context:
        c1, ok = self.escape_template_body(c, tree)
        if not ok:
            c2, ok2 = self.escape_template_body(c1, tree)
            if ok2:
                c1, ok = c2, True
        if not ok and c1.state != S.ERROR:
            return self.fail(
                f"cannot compute output context for template {tree.name}", tree, tree.root
            )
        return c1

    def escape_template_body(self, c: Context, tree: n.Tree) -> tuple[Context, bool]:
        def accept(e1: _Escaper, c1: Context) -> bool:
            if c1.state == S.ERROR:
                return False
            if tree.name not in e1.called:
                return True
            return c == c1

        self.output[tree.name] = c
        return self.escape_list_conditionally(c, tree.root, tree, accept)

    def escape_list_conditionally(
        self,
        c: Context,
        lst: n.ListNode | None,
        tree: n.Tree,
        accept: Callable[[_Escaper, Context], bool] | None,
    ) -> tuple[Context, bool]:
        e1 = _Escaper(self.ns)
        e1.range_context = self.range_context
        e1.output.update(self.output)
        c = e1.escape_list(c, lst, tree)
        ok = accept is not None and accept(e1, c)
        if ok:
            self.output.update(e1.output)
            self.derived.update(e1.derived)
            self.called |= e1.called
            self.action_edits.update(e1.action_edits)
            self.template_edits.update(e1.template_edits)
            self.text_edits.update(e1.text_edits)
        return c, ok

    def commit(self) -> None:
        for name, tree in self.derived.items():
            self.ns.trees[name] = tree
        for action, escapers in self.action_edits.values():
            _ensure_pipeline_contains(action.pipe, escapers)
        for call, name in self.template_edits.values():
            call.name = name
        for text, new in self.text_edits.values():
            text.text = new


def _ident_cmd(name: str, pos: int) -> n.Command:
    return n.Command(pos, [n.Identifier(pos, name)])


def _ensure_pipeline_contains(pipe: n.Pipe, escapers: list[str]) -> None:
    """Go's ensurePipelineContains: append the escapers, reusing an equivalent `html` or
    `urlquery` the pipeline already ends with."""
    if not escapers:
        return
    escapers = list(escapers)
    length = len(pipe.cmds)
    if length:
        last = pipe.cmds[-1]
        first = last.args[0]
        if isinstance(first, n.Identifier) and first.name in _PREDEFINED:
            esc = first.name
            if length == 1 and len(last.args) > 1:
                # {{html a b}} becomes {{_eval_args_ a b | html}}, so `html` can merge.
                last.args[0] = n.Identifier(first.pos, "_eval_args_")
                pipe.cmds.append(_ident_cmd(esc, pipe.pos))
                length += 1
            dup = False
            for i, escaper in enumerate(escapers):
                if _normalize(esc) == _normalize(escaper):
                    escapers[i] = esc
                    dup = True
            if dup:
                length -= 1
    cmds = pipe.cmds[:length]
    inserted = set()
    for cmd in cmds:
        first = cmd.args[0]
        if isinstance(first, n.Identifier):
            inserted.add(_normalize(first.name))
    for name in escapers:
        if _normalize(name) not in inserted:
            cmds.append(_ident_cmd(name, pipe.pos))
    pipe.cmds = cmds


class _Prepared:
    __slots__ = ("compiled",)

    def __init__(self, compiled: dict[str, Compiled]) -> None:
        self.compiled = compiled


class HTMLSet:
    """The HTML side of a GoTemplates set: escaped, compiled texts, cached by text."""

    def __init__(self, trees: dict[str, n.Tree], funcs: dict[str, GoFunc]) -> None:
        self._trees = trees
        self._parse_funcs = funcs
        self._funcs = {**funcs, **ESCAPERS}
        self._texts: dict[str, _Prepared] = {}

    def prepare(self, text: str) -> _Prepared:
        """Parse and escape `text` (and what it calls). Raises `TemplateSyntaxError`
        (`UnsupportedConstruct` for what Tocsin does not reproduce)."""
        prepared = self._texts.get(text)
        if prepared is not None:
            return prepared
        overlay = parse("", text, self._parse_funcs)
        for name in list(overlay):
            if name and name in self._trees and n.is_empty_tree(overlay[name].root):
                del overlay[name]
        ns = _Namespace(overlay, self._trees)
        escaper = _Escaper(ns)
        c, _ = escaper.escape_tree(Context(), None, "", None)
        if c.state == S.ERROR:
            raise _syntax_error(c.failure)
        if c.state != S.TEXT:
            raise TemplateSyntaxError("", 0, 0, f"ends in a non-text context: {c}")
        escaper.commit()
        compiled: dict[str, Compiled] = {}
        for name in escaper.called:
            tree = ns.trees.get(name)
            if tree is not None:
                compiled[name] = compile_tree(tree, self._funcs)
        if len(self._texts) >= _CACHE_LIMIT:
            self._texts.clear()
        prepared = self._texts[text] = _Prepared(compiled)
        return prepared

    def render(self, text: str, data: Any, now: datetime) -> str:
        prepared = self.prepare(text)
        out: list[str] = []
        main = prepared.compiled[""]
        main.run(out.append, State(prepared.compiled.get, now), data)
        return "".join(out)


def _syntax_error(f: Failure | None) -> TemplateSyntaxError:
    if f is None:
        return TemplateSyntaxError("", 0, 0, "html/template: escaping failed")
    line, col = line_col(f.source, f.pos) if f.pos >= 0 else (0, 0)
    cls = UnsupportedConstruct if f.unsupported else TemplateSyntaxError
    reason = f.reason if f.unsupported else f"html/template: {f.reason}"
    if f.unsupported:
        reason = f"not supported by Tocsin in HTML templates: {f.reason}"
    return cls(f.source_name, line, col, reason)
