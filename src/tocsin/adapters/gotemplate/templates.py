"""A template set, as Alertmanager keeps one: defaults, `templates:` files, and field texts.

Theory of operation
-------------------
Alertmanager parses its default templates and then every file the config's `templates:` globs
match into one set (a later definition of a name replaces an earlier one, unless it is empty).
A receiver field (`title: '{{ template "slack.default.title" . }}'`) is then executed the way
`ExecuteTextString` does it: the field's text is parsed as a template named "" into a copy of
the set, so `{{define}}`s inside a field are visible to that field only, and an empty text
renders as "" without parsing. HTML fields (`email_configs.html`) go through html/template:
the same, plus contextual escaping (htmlescape.py).

Here the set keeps parse trees by name; compiled closures are made on first use and cached,
and each field text's own parse (its tree and its definitions) is cached by text, so a text is
parsed once per set however often it renders. Adding files clears the caches. Rendering does
no I/O and reads no clock: `since` measures from `now` (the data's time when it has one).

Raises: `TemplateSyntaxError` (parse; `UnsupportedConstruct` for what Tocsin does not do),
`TemplateExecError` (render; `TemplateNotDefined` for an unknown name), OSError (files).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tocsin.adapters.gotemplate import nodes as n
from tocsin.adapters.gotemplate.errors import TemplateNotDefined
from tocsin.adapters.gotemplate.evaluator import Compiled, State, compile_tree
from tocsin.adapters.gotemplate.functions import FUNCS
from tocsin.adapters.gotemplate.parser import parse
from tocsin.adapters.gotemplate.values import GoFunc

if TYPE_CHECKING:
    from tocsin.adapters.gotemplate.htmlescape import HTMLSet

__all__ = ["GoTemplates", "is_go_template"]

_TEXT_CACHE_LIMIT: Final = 4096


def is_go_template(text: str) -> bool:
    """Whether a receiver field is a Go template (it has an action) rather than plain text."""
    return "{{" in text


class _Overlay:
    """One field text's own parse: its "" tree and its definitions, compiled lazily."""

    __slots__ = ("compiled", "trees")

    def __init__(self, trees: dict[str, n.Tree]) -> None:
        self.trees = trees
        self.compiled: dict[str, Compiled] = {}


class GoTemplates:
    """A set of named Go templates with Alertmanager's functions (and, by default, the
    definitions of Alertmanager's default templates)."""

    def __init__(self, *, defaults: bool = True, funcs: Mapping[str, GoFunc] | None = None) -> None:
        self._funcs: dict[str, GoFunc] = dict(FUNCS if funcs is None else funcs)
        self._trees: dict[str, n.Tree] = {}
        self._compiled: dict[str, Compiled] = {}
        self._texts: dict[str, _Overlay] = {}
        self._html: HTMLSet | None = None  # the HTML side, made on first use
        if defaults:
            from tocsin.adapters.gotemplate.defaults import DEFAULT_SOURCES

            for name, source in DEFAULT_SOURCES:
                self.add(name, source)

    # -- building the set ------------------------------------------------------------------------
    def add(self, name: str, text: str) -> None:
        """Parse `text` as template `name` (its definitions join the set too).

        Raises `TemplateSyntaxError`; on error the set is unchanged.
        """
        trees = parse(name, text, self._funcs)
        for tree_name, tree in trees.items():
            old = self._trees.get(tree_name)
            if old is not None and n.is_empty_tree(tree.root):
                continue  # Go never replaces a definition with an empty one
            self._trees[tree_name] = tree
        self._changed()

    def parse_files(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Add each file as a template named after its base name, as Go's ParseFiles does.

        All files are parsed before any is added: a syntax error leaves the set unchanged.
        Raises `TemplateSyntaxError` (naming the file) and OSError.
        """
        parsed: list[dict[str, n.Tree]] = []
        for path in paths:
            text = Path(path).read_text(encoding="utf-8")
            trees = parse(str(path), text, self._funcs)
            base = os.path.basename(path)
            if str(path) in trees:  # the file's own tree is named by its base name in Go
                own = trees.pop(str(path))
                trees[base] = n.Tree(base, own.root, own.source, own.parse_name)
            parsed.append(trees)
        for trees in parsed:
            for tree_name, tree in trees.items():
                if tree_name in self._trees and n.is_empty_tree(tree.root):
                    continue
                self._trees[tree_name] = tree
        self._changed()

    def parse_globs(self, patterns: Iterable[str]) -> list[str]:
        """Alertmanager's `templates:`: each glob's files in sorted order; a glob matching
        nothing is fine. Returns the files read. Raises as `parse_files`."""
        files: list[str] = []
        for pattern in patterns:
            files.extend(sorted(glob.glob(pattern)))
        self.parse_files(files)
        return files

    def names(self) -> list[str]:
        """The defined template names, sorted."""
        return sorted(self._trees)

    def __contains__(self, name: object) -> bool:
        return name in self._trees

    def _changed(self) -> None:
        self._compiled.clear()
        self._texts.clear()
        self._html = None

    # -- rendering ----------------------------------------------------------------------------------
    def check(self, text: str, *, html: bool = False) -> None:
        """Parse (and for HTML, escape) `text` now, as config loading should.

        Raises `TemplateSyntaxError` (`UnsupportedConstruct` for what Tocsin cannot render).
        """
        if not text:
            return
        if html:
            self._html_set().prepare(text)
        else:
            self._overlay(text)

    def render(self, text: str, data: Any, *, now: datetime | None = None) -> str:
        """`text` executed as Alertmanager's ExecuteTextString would, with `data` as dot.

        Raises `TemplateSyntaxError` and `TemplateExecError`.
        """
        if not text:
            return ""
        overlay = self._overlay(text)
        main = self._compile_in(overlay, "")
        assert main is not None
        return self._run(main, data, now, lambda name: self._compile_in(overlay, name))

    def render_html(self, text: str, data: Any, *, now: datetime | None = None) -> str:
        """`text` executed as Alertmanager's ExecuteHTMLString would (html/template's
        contextual escaping). Raises `TemplateSyntaxError` and `TemplateExecError`."""
        if not text:
            return ""
        return self._html_set().render(text, data, _now(data, now))

    def execute(
        self, name: str, data: Any, *, html: bool = False, now: datetime | None = None
    ) -> str:
        """The template called `name`. Raises `TemplateNotDefined` and `TemplateExecError`."""
        if html:
            return self.render_html(f'{{{{ template "{_escape_name(name)}" . }}}}', data, now=now)
        compiled = self.lookup(name)
        if compiled is None:
            raise TemplateNotDefined(name, name, 0, 0, "", f'no template "{name}" defined')
        return self._run(compiled, data, now, self.lookup)

    def lookup(self, name: str) -> Compiled | None:
        """The compiled template `name` of the set, or None."""
        compiled = self._compiled.get(name)
        if compiled is None:
            tree = self._trees.get(name)
            if tree is None:
                return None
            compiled = self._compiled[name] = compile_tree(tree, self._funcs)
        return compiled

    # -- internals ----------------------------------------------------------------------------------
    def _overlay(self, text: str) -> _Overlay:
        overlay = self._texts.get(text)
        if overlay is None:
            trees = parse("", text, self._funcs)
            for name in list(trees):
                if name != "" and name in self._trees and n.is_empty_tree(trees[name].root):
                    del trees[name]  # an empty definition does not replace the set's
            if len(self._texts) >= _TEXT_CACHE_LIMIT:
                self._texts.clear()
            overlay = self._texts[text] = _Overlay(trees)
        return overlay

    def _compile_in(self, overlay: _Overlay, name: str) -> Compiled | None:
        compiled = overlay.compiled.get(name)
        if compiled is not None:
            return compiled
        tree = overlay.trees.get(name)
        if tree is None:
            return self.lookup(name)
        compiled = overlay.compiled[name] = compile_tree(tree, self._funcs)
        return compiled

    def _run(self, compiled: Compiled, data: Any, now: datetime | None, lookup: Any) -> str:
        out: list[str] = []
        compiled.run(out.append, State(lookup, _now(data, now)), data)
        return "".join(out)

    def _html_set(self) -> HTMLSet:
        if self._html is None:
            from tocsin.adapters.gotemplate.htmlescape import HTMLSet

            self._html = HTMLSet(self._trees, self._funcs)
        return self._html


def _now(data: Any, now: datetime | None) -> datetime:
    if now is not None:
        return now
    data_now = getattr(data, "now", None)
    return data_now if isinstance(data_now, datetime) else datetime.now(UTC)


def _escape_name(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')
