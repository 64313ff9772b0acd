"""Alertmanager's Go templates: existing alertmanager.yml titles, texts and subjects, unchanged.

    templates = GoTemplates()                      # Alertmanager's defaults are defined
    templates.parse_globs(config.templates)        # the config's `templates:` (*.tmpl)
    templates.check(receiver.title)                # at config load: TemplateSyntaxError
    data = template_data("slack", None, alerts, group_labels, external_url, now=now)
    title = templates.render(receiver.title or '{{ template "slack.default.title" . }}', data)
    html = templates.render_html('{{ template "email.default.html" . }}', data)

Theory of operation
-------------------
Go's text/template, as Alertmanager 0.25 (built with Go 1.19) uses it, reimplemented in pure
Python and split the way Go splits it:

    lexer.py       text → items (trim markers, comments, literals)
    parser.py      items → parse trees (nodes.py), Go's grammar and parse-time checks
    evaluator.py   trees → closures, executed with Go's rules (if/with/range, template calls)
    expressions.py pipelines, commands, calls and arguments; variables as frame slots
    access.py      `.Name`: method, field or map key, with per-site inline caches
    execstate.py   the render's state, closure shapes, the internal error signals
    values.py      which Python value stands for which Go type; truth; argument checks
    gofmt.py       Go's fmt (print, printf verbs and Go's formatting of every value)
    gotime.py      time.Time (String, Format layouts), time.Duration
    regex.py       RE2 for match/reReplaceAll (through tocsin.core.re2), Go's replace
    functions.py   Go's builtins and Alertmanager's functions
    data.py        Alertmanager's data model (Data, Alert, KV, Pairs) and how to build it
    defaults.py    Tocsin's definitions of Alertmanager's default templates
    htmlescape.py  html/template's contextual escaping, for HTML fields (email `html`)
    htmlcontext.py the HTML context machine;  htmlfuncs.py  the escaping functions
    templates.py   GoTemplates: the set, field texts, caching, rendering

A template is parsed once and compiled to closures; a field text's parse is cached by text.
Rendering performs no I/O and reads no clock (`since` uses the data's `now`).

Exceptions
----------
::

    GoTemplateError
     ├── TemplateSyntaxError      parse or escape-time problem: `template: NAME:LINE:COL: reason`
     │    └── UnsupportedConstruct  Go accepts it, Tocsin does not reproduce it (named)
     └── TemplateExecError        rendering failed where Go's would (`executing "NAME" at <…>`)
          └── TemplateNotDefined    `{{template "x"}}` of a name nobody defined

File reading errors (OSError) pass through unchanged.
"""

from __future__ import annotations

from tocsin.adapters.gotemplate.data import (
    KV,
    Alert,
    AlertLike,
    Alerts,
    Data,
    Pair,
    Pairs,
    sort_alerts,
    template_data,
)
from tocsin.adapters.gotemplate.defaults import DEFAULT_NAMES
from tocsin.adapters.gotemplate.errors import (
    GoTemplateError,
    TemplateExecError,
    TemplateNotDefined,
    TemplateSyntaxError,
    UnsupportedConstruct,
)
from tocsin.adapters.gotemplate.functions import ALERTMANAGER_0_25, FUNCS, FUNCS_0_25
from tocsin.adapters.gotemplate.gotime import GoDuration, GoTime
from tocsin.adapters.gotemplate.templates import GoTemplates, is_go_template

__all__ = [
    "ALERTMANAGER_0_25",
    "DEFAULT_NAMES",
    "FUNCS",
    "FUNCS_0_25",
    "KV",
    "Alert",
    "AlertLike",
    "Alerts",
    "Data",
    "GoDuration",
    "GoTemplateError",
    "GoTemplates",
    "GoTime",
    "Pair",
    "Pairs",
    "TemplateExecError",
    "TemplateNotDefined",
    "TemplateSyntaxError",
    "UnsupportedConstruct",
    "is_go_template",
    "sort_alerts",
    "template_data",
]
