"""Tocsin's templates: Jinja2 in a sandbox, built in per severity and alert type, overridable.

Theory of operation
-------------------
A template renders one notification into three parts — `title`, `summary`, `details` — by
extending `base.j2` and filling its blocks (the renderer splits the output at `SEP`). Which
template: the group's `alert_type` label when Tocsin has one for it (`sla_violation`,
`security`, `deployment`), else its severity (`critical`, `high`, `warning`, `info`). A
channel-specific template wins over the generic one: for Slack, `slack.critical.j2` before
`critical.j2`.

Custom templates come from the config's `templates:` files ending in `.j2`, `.jinja` or
`.jinja2` (the other files, `.tmpl`, are Go templates: `adapters.channels.gofields`); a file's name is its template name, so a
`critical.j2` there replaces the built-in one, which stays reachable as `builtin/critical.j2`
(`{% extends "builtin/critical.j2" %}` to change one block). Every template is compiled when
the renderer is built: a syntax error, an unknown filter or a missing parent is a `ConfigError`
naming the file and line, at load time. A template that still fails while rendering (a
custom one dividing by zero) is logged and the notification goes out with the built-in
template instead: a broken template never stops an alert.

The same template serves every channel: `fmt` formats for the channel (`fmt.b`, `fmt.link`,
`fmt.code`, `fmt.bullet`) and the data is escaped for it — Slack mrkdwn's `&<>` (every string
of the data, before rendering), HTML for email (autoescape), nothing for plain text. The environment is Jinja2's immutable
sandbox: templates cannot reach Python internals or change the data they are given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, Final, Protocol

import attrs
import jinja2
import jinja2.meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from tocsin.config.errors import ConfigError, Problem

__all__ = [
    "FORMATS",
    "SEP",
    "SPECIAL_TYPES",
    "JinjaRenderer",
    "Rendered",
    "Renderer",
    "template_kind",
]

log = logging.getLogger("tocsin.templates")

SEP: Final = "\x1e"  # ASCII record separator: cannot come from a label (they are printable)
SPECIAL_TYPES: Final = ("sla_violation", "security", "deployment")
_SEVERITY_KIND: Final = {
    "critical": "critical",
    "page": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "info": "info",
    "informational": "info",
    "low": "info",
    "none": "info",
    "debug": "info",
}
_SUFFIXES: Final = (".j2", ".jinja", ".jinja2")


@attrs.frozen
class Rendered:
    title: str
    summary: str
    details: str

    @property
    def text(self) -> str:
        """Summary and details as one text."""
        return "\n".join(p for p in (self.summary, self.details) if p)


class Renderer(Protocol):
    """Turns template data into a message's text parts (Tocsin's own look). Go-template
    receiver fields are rendered beside it, per integration (`adapters.channels.gofields`)."""

    def render(self, data: Mapping[str, Any], *, channel: str, fmt: str) -> Rendered:
        """Never raises for a template problem at run time: falls back to the built-ins."""
        ...


def template_kind(data: Mapping[str, Any]) -> str:
    """Which built-in template the data calls for: alert type first, then severity."""
    alert_type = str(data.get("alert_type") or "")
    if alert_type in SPECIAL_TYPES:
        return alert_type
    return _SEVERITY_KIND.get(str(data.get("severity") or "").lower(), "warning")


# ------------------------------------------------------------------------------- formats
class _Fmt:
    """Plain text. A format's `escape` is applied to every string of the data before
    rendering (so macros and filters see escaped values and nothing is escaped twice); its
    helpers mark up what the template itself writes."""

    name = "text"

    def escape(self, text: str) -> str:
        return text

    def b(self, text: object) -> str:
        return str(text)

    def code(self, text: object) -> str:
        return str(text)

    def link(self, url: object, text: object) -> str:
        return f"{text}: {url}"

    def bullet(self) -> str:
        return "- "


class _Mrkdwn(_Fmt):
    """Slack's mrkdwn: `&`, `<`, `>` must be escaped; `*bold*`, `<url|text>`."""

    name = "mrkdwn"

    def escape(self, text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def b(self, text: object) -> str:
        return f"*{text}*"

    def code(self, text: object) -> str:
        return f"`{text}`"

    def link(self, url: object, text: object) -> str:
        safe_url = str(url).replace("|", "%7C")
        return f"<{safe_url}|{text}>"

    def bullet(self) -> str:
        return "• "


class _Markdown(_Fmt):
    """The Markdown subset of Adaptive Cards' TextBlock (Teams)."""

    name = "markdown"

    def b(self, text: object) -> str:
        return f"**{text}**"

    def code(self, text: object) -> str:
        return f"`{text}`"

    def link(self, url: object, text: object) -> str:
        return f"[{text}]({url})"


class _HTML(_Fmt):
    name = "html"

    def b(self, text: object) -> str:
        return Markup("<b>%s</b>") % text

    def code(self, text: object) -> str:
        return Markup("<code>%s</code>") % text

    def link(self, url: object, text: object) -> str:
        return Markup('<a href="%s">%s</a>') % (url, text)

    def bullet(self) -> str:
        return Markup("• ")


FORMATS: Final[Mapping[str, _Fmt]] = {f.name: f for f in (_Fmt(), _Mrkdwn(), _Markdown(), _HTML())}


def _escape_deep(value: Any, escape: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Mapping):
        return {k: _escape_deep(v, escape) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_deep(v, escape) for v in value]
    return value


def _when(value: Any) -> str:
    """An RFC 3339 time as `2026-03-01 03:12:07 UTC` (Go's zero time as "")."""
    text = str(value or "")
    if not text or text.startswith("0001-01-01"):
        return ""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return text


# ----------------------------------------------------------------------------- renderer
class JinjaRenderer:
    """Renders with the built-in templates plus the config's `.j2` files.

    Raises `ConfigError` from the constructor for a template that does not compile (with the
    file and line) or two template files with the same name.
    """

    def __init__(
        self,
        template_files: Sequence[str] = (),
        *,
        max_alerts: int = 10,
        filters: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.max_alerts = max_alerts
        builtin = _builtin_sources()
        custom: dict[str, str] = {}
        self._files: dict[str, str] = {}  # custom template name -> its file
        problems: list[Problem] = []
        for path in template_files:
            name = os.path.basename(path)
            if not name.endswith(_SUFFIXES):
                continue  # .tmpl and friends: Go templates (adapters.channels.gofields)
            if name in custom:
                problems.append(
                    Problem(path, None, None, "templates", f"a second template named {name!r}")
                )
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    custom[name] = f.read()
            except OSError as exc:
                problems.append(Problem(path, None, None, "templates", f"cannot read: {exc}"))
            self._files[name] = path
        loader = jinja2.ChoiceLoader(
            [
                jinja2.DictLoader(custom),
                jinja2.DictLoader(builtin),
                jinja2.PrefixLoader({"builtin": jinja2.DictLoader(builtin)}),
            ]
        )
        self._custom = frozenset(custom)
        self._envs = {
            False: self._environment(loader, autoescape=False, filters=filters),
            True: self._environment(loader, autoescape=True, filters=filters),
        }
        for name in dict.fromkeys([*builtin, *custom]):
            if name.startswith("_"):
                continue
            try:
                self._envs[False].get_template(name)  # same syntax in both environments
            except jinja2.TemplateSyntaxError as exc:
                file = self._files.get(exc.name or name, f"<built-in template {name}>")
                problems.append(Problem(file, exc.lineno, None, "templates", exc.message or ""))
            except jinja2.TemplateNotFound as exc:
                file = self._files.get(name, name)
                problems.append(
                    Problem(file, None, None, "templates", f"template {exc.name!r} not found")
                )
        # A parent or include that does not exist fails only when rendered: check the names
        # written out (`{% extends "builtin/alert.j2" %}`) now, so a load refuses them.
        env = self._envs[False]
        for name, source in custom.items():
            try:
                referenced = jinja2.meta.find_referenced_templates(env.parse(source))
            except jinja2.TemplateSyntaxError:
                continue  # reported above
            for parent in referenced:
                if parent is None:
                    continue  # a name computed at render time
                try:
                    loader.get_source(env, parent)
                except jinja2.TemplateNotFound:
                    problems.append(
                        Problem(
                            self._files[name],
                            None,
                            None,
                            "templates",
                            f"extends or includes {parent!r}, which is no template",
                        )
                    )
        if problems:
            raise ConfigError(problems)

    @staticmethod
    def _environment(
        loader: jinja2.BaseLoader,
        *,
        autoescape: bool,
        filters: Mapping[str, Callable[..., Any]] | None,
    ) -> jinja2.Environment:
        env = ImmutableSandboxedEnvironment(
            loader=loader,
            autoescape=autoescape,
            undefined=jinja2.ChainableUndefined,
            keep_trailing_newline=False,
            trim_blocks=False,
            auto_reload=False,
            cache_size=-1,
        )
        env.globals["SEP"] = Markup(SEP)
        env.filters["when"] = _when
        if filters:
            env.filters.update(filters)
        return env

    def template_name(self, data: Mapping[str, Any], channel: str) -> str:
        kind = template_kind(data)
        for name in (f"{channel}.{kind}.j2", f"{kind}.j2"):
            if name in self._custom or name in _BUILTIN_NAMES:
                return name
        return "warning.j2"

    def render(self, data: Mapping[str, Any], *, channel: str, fmt: str) -> Rendered:
        name = self.template_name(data, channel)
        try:
            return self._render(name, data, fmt)
        except Exception:
            log.exception("template %s failed for %s; using the built-in one", name, channel)
            try:
                return self._render(f"builtin/{template_kind(data)}.j2", data, fmt)
            except Exception:
                log.exception("built-in template failed too; sending a minimal message")
                title = f"[{str(data.get('status', '')).upper()}] {data.get('alertname', '')}"
                return Rendered(title, str(data.get("reason", "")), "")

    def _render(self, name: str, data: Mapping[str, Any], fmt: str) -> Rendered:
        formatter = FORMATS.get(fmt, FORMATS["text"])
        html = formatter.name == "html"
        template = self._envs[html].get_template(name)
        if formatter.name == "mrkdwn":
            data = _escape_deep(data, formatter.escape)
        out = template.render({**data, "fmt": formatter, "max_alerts": self.max_alerts})
        parts = out.split(SEP)
        if len(parts) != 3:  # a custom template that does not extend base.j2: all details
            parts = ["", "", out]
        title, summary, details = (p.strip() for p in parts)
        if html:
            title = _unescape_html(title)  # a subject line is not HTML
        return Rendered(title, summary, details)


def _unescape_html(text: str) -> str:
    import html

    return html.unescape(text)


def _builtin_sources() -> dict[str, str]:
    root = resources.files("tocsin.adapters.templates") / "builtin"
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if entry.name.endswith(".j2")
    }


_BUILTIN_NAMES: Final = frozenset(_builtin_sources())


def escape_html(text: str) -> str:
    return str(escape(text))
