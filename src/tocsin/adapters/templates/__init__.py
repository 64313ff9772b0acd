"""Notification templates: Jinja2 (sandboxed) built-ins and custom files, data, redaction.

    renderer = JinjaRenderer(config.templates)          # ConfigError for a broken template
    data = build_data(notification, Redactor(), external_url)
    rendered = renderer.render(data, channel="slack", fmt="mrkdwn")   # title, summary, details

`Renderer` is the seam for Tocsin's own look. Alertmanager's Go templates in receiver fields do
not go through it: they are per integration, not per channel kind, and render Alertmanager's
data model (`tocsin.adapters.channels.gofields`).
"""

from __future__ import annotations

from tocsin.adapters.templates.data import build_data, rfc3339, severity_of
from tocsin.adapters.templates.jinja import (
    JinjaRenderer,
    Rendered,
    Renderer,
    template_kind,
)
from tocsin.adapters.templates.redact import MASK, Redactor

__all__ = [
    "MASK",
    "JinjaRenderer",
    "Redactor",
    "Rendered",
    "Renderer",
    "build_data",
    "rfc3339",
    "severity_of",
    "template_kind",
]
