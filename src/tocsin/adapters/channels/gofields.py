"""Alertmanager's Go templates in receiver fields: which fields, checked at load, rendered per send.

Theory of operation
-------------------
A configuration has one Go template set (`open_go_templates`): Alertmanager's default
definitions plus every `templates:` file that is not a Jinja2 one (`.j2`, `.jinja`,
`.jinja2`), as Alertmanager reads them. Each integration then gets a `GoFields`: the texts of
its fields that render with Go, keyed by their YAML key inside the integration (`title`,
`details.firing`, `headers.Subject`, `fields[0].value`).

Two kinds of field. *Message* fields are the words of the message (Slack's title, text,
pretext, …; PagerDuty's description and details; email's Subject, html and text; Teams'
title, summary and text). When any of them holds `{{`, the integration is Alertmanager-style:
its message is Alertmanager's, and every message field left unset renders Alertmanager's
default (`gotemplate.defaults.FIELD_DEFAULTS`) — exactly what Alertmanager would send. When
none does, the message is Tocsin's Jinja2 one (Block Kit, cards, the HTML mail) and only the
*attribute* fields that hold `{{` (a Slack channel or username, a PagerDuty component, an email
header) render with Go.

Every text is parsed when the channels are built (`check_go_fields`): a bad one is a
`ConfigError` naming the YAML key and its file:line:col (a `templates:` file: its own
file:line:col), never a failure at send time. A text that still fails while rendering
(`{{ template "nope" . }}`) raises `GoTemplateError` from `render`; the adapters log it and send
Tocsin's built-in message instead: a broken template never stops an alert.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from tocsin.adapters.channels.model import Notification
from tocsin.adapters.gotemplate import (
    Data,
    GoTemplates,
    TemplateSyntaxError,
    is_go_template,
    sort_alerts,
    template_data,
)
from tocsin.adapters.gotemplate.defaults import FIELD_DEFAULTS
from tocsin.adapters.templates import Redactor
from tocsin.config.errors import ConfigError, Problem
from tocsin.config.model import (
    Config,
    EmailConfig,
    Integration,
    MSTeamsConfig,
    PagerdutyConfig,
    SlackConfig,
)

__all__ = [
    "MESSAGE_FIELDS",
    "GoFields",
    "check_go_fields",
    "go_data",
    "go_fields",
    "open_go_templates",
]

JINJA_SUFFIXES: Final = (".j2", ".jinja", ".jinja2")

# The fields that are the words of the message, per integration kind (by their YAML key; a
# `details.<key>` or `fields[i].<x>` counts as its parent).
MESSAGE_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "slack": frozenset({"title", "title_link", "pretext", "text", "fallback", "footer", "fields"}),
    "pagerduty": frozenset({"description", "details"}),
    "email": frozenset({"headers.Subject", "html", "text"}),
    "msteams": frozenset({"title", "summary", "text"}),
}

# Alertmanager's default of each unset message field, by YAML key. Defaults that are "" (send
# nothing) are left out, and so are PagerDuty's attributes that describe the sender or that
# Tocsin derives better: `client` / `client_url` (Alertmanager and its UI; Tocsin says "Tocsin"
# and its external URL) and `severity` (Alertmanager's constant "error"; Tocsin maps the
# alerts' severity label).
_DEFAULTS: Final[Mapping[str, Mapping[str, str]]] = {
    "slack": {k: v for k, v in FIELD_DEFAULTS["slack"].items() if v},
    "pagerduty": {
        "description": FIELD_DEFAULTS["pagerduty"]["description"],
        **{f"details.{k}": v for k, v in FIELD_DEFAULTS["pagerduty_details"].items()},
    },
    "email": {
        "headers.Subject": FIELD_DEFAULTS["email"]["subject"],
        "html": FIELD_DEFAULTS["email"]["html"],
    },
    "msteams": {},
}


def _is_message(kind: str, key: str) -> bool:
    fields = MESSAGE_FIELDS.get(kind, frozenset())
    return key in fields or key.split(".", 1)[0].split("[", 1)[0] in fields


def configured_texts(cfg: Integration) -> dict[str, str]:
    """Every text field of `cfg` that is set, by its YAML key inside the integration."""
    out: dict[str, str] = {}

    def put(key: str, value: str | None) -> None:
        if value is not None:
            out[key] = value

    if isinstance(cfg, SlackConfig):
        for key in (
            "channel",
            "username",
            "color",
            "title",
            "title_link",
            "pretext",
            "text",
            "footer",
            "fallback",
            "callback_id",
            "icon_emoji",
            "icon_url",
            "image_url",
            "thumb_url",
        ):
            put(key, getattr(cfg, key))
        for i, field in enumerate(cfg.fields):
            put(f"fields[{i}].title", field.title)
            put(f"fields[{i}].value", field.value)
    elif isinstance(cfg, PagerdutyConfig):
        for key, attr in (
            ("client", "client"),
            ("client_url", "client_url"),
            ("description", "description"),
            ("source", "source"),
            ("severity", "severity"),
            ("class", "class_"),
            ("component", "component"),
            ("group", "group"),
        ):
            put(key, getattr(cfg, attr))
        for k, v in cfg.details.items():
            put(f"details.{k}", v)
    elif isinstance(cfg, EmailConfig):
        for k, v in cfg.headers.items():
            put(f"headers.{k}", v)
        put("html", cfg.html)
        put("text", cfg.text)
    elif isinstance(cfg, MSTeamsConfig):
        put("title", cfg.title)
        put("summary", cfg.summary)
        put("text", cfg.text)
    return out


@attrs.frozen
class GoFields:
    """One integration's fields that render with Go.

    `message` says the integration is Alertmanager-style (its message is Alertmanager's, unset
    message fields hold Alertmanager's defaults); `texts` maps YAML keys to Go texts; `html`
    names the keys rendered with html/template (email's `html`).
    """

    templates: GoTemplates
    texts: Mapping[str, str]
    message: bool
    html: frozenset[str] = frozenset()

    def render(self, data: Data) -> dict[str, str]:
        """Every text rendered with `data`. Raises `GoTemplateError`."""
        t = self.templates
        return {
            key: t.render_html(text, data) if key in self.html else t.render(text, data)
            for key, text in self.texts.items()
        }

    def details(self, rendered: Mapping[str, str]) -> dict[str, str]:
        """The rendered `details.<key>` fields as a map."""
        return {k[8:]: v for k, v in rendered.items() if k.startswith("details.")}


def go_fields(cfg: Integration, templates: GoTemplates) -> GoFields | None:
    """The Go fields of `cfg` (None when nothing of it renders with Go)."""
    kind = cfg.kind
    if kind not in MESSAGE_FIELDS:
        return None
    configured = configured_texts(cfg)
    message = any(_is_message(kind, k) and is_go_template(v) for k, v in configured.items())
    if message:
        if kind == "email" and any(k.lower() == "headers.subject" for k in configured):
            defaults = {k: v for k, v in _DEFAULTS[kind].items() if k != "headers.Subject"}
        else:
            defaults = dict(_DEFAULTS[kind])
        texts = {**defaults, **configured}
    else:
        texts = {k: v for k, v in configured.items() if is_go_template(v)}
    if not texts:
        return None
    html = frozenset({"html"} & set(texts)) if kind == "email" else frozenset()
    return GoFields(templates, texts, message, html)


def open_go_templates(template_files: Sequence[str]) -> GoTemplates:
    """Alertmanager's defaults plus the Go files among `template_files`.

    Raises `ConfigError` naming the file:line:col of a file that does not parse or read.
    """
    templates = GoTemplates()
    files = [p for p in template_files if not os.path.basename(p).endswith(JINJA_SUFFIXES)]
    try:
        templates.parse_files(files)
    except TemplateSyntaxError as exc:
        raise ConfigError(
            [Problem(exc.name, exc.line, exc.column, "templates", exc.reason)]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [Problem(getattr(exc, "filename", None) or "?", None, None, "templates", str(exc))]
        ) from None
    return templates


def check_go_fields(config: Config, templates: GoTemplates) -> dict[tuple[str, int], GoFields]:
    """Parse every Go text of every integration of `config`, once.

    Returns the `GoFields` by (receiver name, index among its integrations). Raises
    `ConfigError` listing every text that does not parse, each with its YAML key and place.
    """
    out: dict[tuple[str, int], GoFields] = {}
    problems: list[Problem] = []
    places = _Places(config.source)
    for receiver in config.receivers.values():
        counts: dict[str, int] = {}
        for index, cfg in enumerate(receiver.integrations):
            nth = counts.get(cfg.kind, 0)
            counts[cfg.kind] = nth + 1
            fields = go_fields(cfg, templates)
            if fields is None:
                continue
            for key, text in fields.texts.items():
                try:
                    templates.check(text, html=key in fields.html)
                except TemplateSyntaxError as exc:
                    file, line, column, path = places.find(receiver.name, cfg.kind, nth, key)
                    where = f":{exc.line}:{exc.column}" if exc.line else ""
                    problems.append(
                        Problem(file, line, column, path, f"template{where}: {exc.reason}")
                    )
            out[(receiver.name, index)] = fields
    if problems:
        raise ConfigError(problems)
    return out


@attrs.frozen
class _RedactedAlert:
    """An alert as Go templates see it: redacted, knowing its status (an `AlertLike` view)."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str
    firing: bool
    resolved_at: datetime | None
    fingerprint: str


def go_data(n: Notification, redactor: Redactor, external_url: str, now: datetime) -> Data:
    """Alertmanager's template data of `n` (redacted), its alerts in Alertmanager's order."""
    views = [
        _RedactedAlert(
            redactor.redact_pairs(v.alert.labels),
            redactor.redact_pairs(v.alert.annotations),
            v.alert.starts_at,
            v.alert.ends_at,
            v.alert.generator_url,
            v.firing,
            v.resolved_at,
            v.fingerprint,
        )
        for v in n.alerts
    ]
    return template_data(
        n.receiver,
        n.status,
        sort_alerts(views),
        redactor.redact_pairs(n.group_labels),
        external_url.rstrip("/"),
        now=now,
    )


class _Places:
    """Where a receiver field's value is in the configuration file (when it is a file)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._root: Any = None
        self._read = False

    def _load(self) -> Any:
        if not self._read:
            self._read = True
            try:
                import yaml

                with open(self.source, encoding="utf-8") as f:
                    self._root = yaml.compose(f.read(), Loader=yaml.SafeLoader)
            except Exception:  # the built-in default, or a file gone since: no place
                self._root = None
        return self._root

    def find(
        self, receiver: str, kind: str, nth: int, key: str
    ) -> tuple[str, int | None, int | None, str]:
        list_key = f"{kind}_configs"
        fallback = f"receivers.{receiver}.{list_key}[{nth}].{key}"
        root = self._load()
        receivers = _get(root, "receivers")
        if receivers is None or not hasattr(receivers, "value"):
            return self.source, None, None, fallback
        for i, item in enumerate(receivers.value):
            name = _get(item, "name")
            if name is None or getattr(name, "value", None) != receiver:
                continue
            path = f"receivers[{i}].{list_key}[{nth}].{key}"
            node = _get(item, list_key)
            node = node.value[nth] if node is not None and nth < len(node.value) else None
            for part in key.replace("[", ".[").split("."):
                if node is None:
                    break
                if part.startswith("["):
                    j = int(part[1:-1])
                    node = node.value[j] if j < len(node.value) else None
                else:
                    node = _get(node, part, fold=list_key == "email_configs")
            if node is None:
                return self.source, None, None, path
            mark = node.start_mark
            return self.source, mark.line + 1, mark.column + 1, path
        return self.source, None, None, fallback


def _get(node: Any, key: str, *, fold: bool = False) -> Any:
    """The value node under `key` of a YAML mapping node (None if absent or not a mapping)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        name = getattr(k, "value", None)
        if name == key or (fold and isinstance(name, str) and name.lower() == key.lower()):
            return v
    return None
