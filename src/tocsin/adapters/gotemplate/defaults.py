"""Tocsin's definitions of Alertmanager's default templates: the same names, the same text.

Alertmanager ships `default.tmpl` (subjects, titles, alert lists for every integration) and
`email.tmpl` (the HTML mail); a receiver field that is unset means the matching default
(`slack.default.title`, `email.default.html`, `pagerduty.default.description`, …). These are
Tocsin's own definitions, composed here from their parts, that render exactly what Alertmanager
0.25's render (the conformance tests hold them to it, byte for byte, in text and HTML mode).

The HTML mail's markup and inline styles derive from Mailgun's transactional email templates
(https://github.com/mailgun/transactional-email-templates), MIT licensed; as Alertmanager does,
the template carries that notice in an HTML comment, which HTML rendering drops and text
rendering keeps.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_NAMES", "DEFAULT_SOURCES", "FIELD_DEFAULTS"]


# A body that ends with this closes its own definition, trimming the newline before it.
_END_TRIMMED: Final = "{{- end }}"


def _define(name: str, body: str) -> str:
    close = "" if body.endswith(_END_TRIMMED) else "{{ end }}"
    return f'{{{{ define "{name}" }}}}{body}{close}\n'


def _call(name: str, arg: str = ".") -> str:
    return f'{{{{ template "{name}" {arg} }}}}'


_SUBJECT: Final = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]'
    ' {{ .GroupLabels.SortedPairs.Values | join " " }}'
    " {{ if gt (len .CommonLabels) (len .GroupLabels) }}"
    '({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }})'
    "{{ end }}"
)


def _pairs(field: str) -> str:
    return (
        f"{{{{ range .{field}.SortedPairs }}}} - {{{{ .Name }}}} = {{{{ .Value }}}}\n{{{{ end }}}}"
    )


_ALERT_LIST: Final = (
    "{{ range . }}Labels:\n"
    + _pairs("Labels")
    + "Annotations:\n"
    + _pairs("Annotations")
    + "Source: {{ .GeneratorURL }}\n{{ end }}"
)
_COMMON_VALUES: Final = '{{ .CommonAnnotations.SortedPairs.Values | join " " }}\n'


def _sections(trimmed: bool) -> str:
    """The "Alerts Firing:" / "Alerts Resolved:" blocks; two whitespace styles exist."""
    out = []
    for which in ("Firing", "Resolved"):
        if trimmed:
            out.append(
                f"{{{{ if gt (len .Alerts.{which}) 0 -}}}}\nAlerts {which}:\n"
                f"{_call('__text_alert_list', '.Alerts.' + which)}\n{{{{- end }}}}\n"
            )
        else:
            out.append(
                f"{{{{ if gt (len .Alerts.{which}) 0 }}}}\nAlerts {which}:\n"
                f"{_call('__text_alert_list', '.Alerts.' + which)}\n{{{{ end }}}}\n"
            )
    return "".join(out)


_AM_URL: Final = "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}"

_DEFAULT_TMPL: Final[list[tuple[str, str]]] = [
    ("__alertmanager", "Alertmanager"),
    ("__alertmanagerURL", _AM_URL),
    ("__subject", _SUBJECT),
    ("__description", ""),
    ("__text_alert_list", _ALERT_LIST),
    ("slack.default.title", _call("__subject")),
    ("slack.default.username", _call("__alertmanager")),
    (
        "slack.default.fallback",
        _call("slack.default.title") + " | " + _call("slack.default.titlelink"),
    ),
    ("slack.default.callbackid", ""),
    ("slack.default.pretext", ""),
    ("slack.default.titlelink", _call("__alertmanagerURL")),
    ("slack.default.iconemoji", ""),
    ("slack.default.iconurl", ""),
    ("slack.default.text", ""),
    ("slack.default.footer", ""),
    ("pagerduty.default.description", _call("__subject")),
    ("pagerduty.default.client", _call("__alertmanager")),
    ("pagerduty.default.clientURL", _call("__alertmanagerURL")),
    ("pagerduty.default.instances", _call("__text_alert_list")),
    ("opsgenie.default.message", _call("__subject")),
    ("opsgenie.default.description", _COMMON_VALUES + _sections(trimmed=True) + _END_TRIMMED),
    ("opsgenie.default.source", _call("__alertmanagerURL")),
    (
        "wechat.default.message",
        _call("__subject")
        + "\n"
        + _COMMON_VALUES
        + _sections(trimmed=True)
        + "AlertmanagerUrl:\n"
        + _call("__alertmanagerURL")
        + "\n"
        + _END_TRIMMED,
    ),
    ("wechat.default.to_user", ""),
    ("wechat.default.to_party", ""),
    ("wechat.default.to_tag", ""),
    ("wechat.default.agent_id", ""),
    (
        "victorops.default.state_message",
        _COMMON_VALUES + _sections(trimmed=True) + _END_TRIMMED,
    ),
    ("victorops.default.entity_display_name", _call("__subject")),
    ("victorops.default.monitoring_tool", _call("__alertmanager")),
    ("pushover.default.title", _call("__subject")),
    ("pushover.default.message", _COMMON_VALUES + _sections(trimmed=False)),
    ("pushover.default.url", _call("__alertmanagerURL")),
    ("sns.default.subject", _call("__subject")),
    ("sns.default.message", _COMMON_VALUES + _sections(trimmed=False)),
    ("telegram.default.message", "\n" + _sections(trimmed=False)),
    ("discord.default.title", _call("__subject")),
    ("discord.default.message", "\n" + _sections(trimmed=False)),
    ("webex.default.message", _COMMON_VALUES + _sections(trimmed=False)),
]

# -- the HTML mail -----------------------------------------------------------------------------------
_FONT: Final = (
    "font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: border-box;"
)
_BASE: Final = f"margin: 0; {_FONT} font-size: 14px;"
_TOP: Final = "vertical-align: top;"
_BR: Final = f'<br style="{_BASE}">'
_TR: Final = f'<tr style="{_BASE}">'
_STRONG: Final = f'<strong style="{_BASE}">'
_BLOCK_TD: Final = (
    f'<td class="content-block" style="{_BASE} {_TOP} padding: 0 0 20px;" valign="top">'
)

_MIT_NOTICE: Final = """<!--
Style and HTML derived from https://github.com/mailgun/transactional-email-templates


The MIT License (MIT)

Copyright (c) 2014 Mailgun

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
-->
"""

_MEDIA_CSS: Final = """@media only screen and (max-width: 640px) {
  body {
    padding: 0 !important;
  }

  h1,
h2,
h3,
h4 {
    font-weight: 800 !important;
    margin: 20px 0 5px !important;
  }

  h1 {
    font-size: 22px !important;
  }

  h2 {
    font-size: 18px !important;
  }

  h3 {
    font-size: 16px !important;
  }

  .container {
    padding: 0 !important;
    width: 100% !important;
  }

  .content {
    padding: 0 !important;
  }

  .content-wrap {
    padding: 10px !important;
  }

  .invoice {
    width: 100% !important;
  }
}
"""


def _banner(css_class: str, color: str, trailing_space: str) -> str:
    """The coloured header cell: "N alert(s) for name=value ..."."""
    return (
        f'            <td class="alert {css_class}" style="margin: 0; {_FONT} {_TOP}'
        " font-size: 16px; color: #fff; font-weight: 500; padding: 20px; text-align: center;"
        f' border-radius: 3px 3px 0 0; background-color: {color};" valign="top" align="center"'
        f' bgcolor="{color}">\n'
        "              {{ .Alerts | len }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for"
        " {{ range .GroupLabels.SortedPairs }}\n"
        f"                {{{{ .Name }}}}={{{{ .Value }}}}{trailing_space}\n"
        "              {{ end }}\n"
        "            </td>\n"
    )


def _alert_rows(which: str) -> str:
    """One table row per alert of `which` (Firing or Resolved): labels, annotations, link."""
    return (
        f"                {{{{ range .Alerts.{which} }}}}\n"
        f"                {_TR}\n"
        f"                  {_BLOCK_TD}\n"
        f"                    {_STRONG}Labels</strong>{_BR}\n"
        f"                    {{{{ range .Labels.SortedPairs }}}}{{{{ .Name }}}} = {{{{ .Value }}}}"
        f"{_BR}{{{{ end }}}}\n"
        f"                    {{{{ if gt (len .Annotations) 0 }}}}{_STRONG}Annotations</strong>"
        f"{_BR}{{{{ end }}}}\n"
        f"                    {{{{ range .Annotations.SortedPairs }}}}{{{{ .Name }}}} ="
        f" {{{{ .Value }}}}{_BR}{{{{ end }}}}\n"
        f'                    <a href="{{{{ .GeneratorURL }}}}" style="{_BASE} color: #348eda;'
        f' text-decoration: underline;">Source</a>{_BR}\n'
        "                  </td>\n"
        "                </tr>\n"
        "                {{ end }}\n"
    )


def _count_row(which: str, indent: str = "                ") -> str:
    return (
        f"{indent}{_TR}\n"
        f"{indent}  {_BLOCK_TD}\n"
        f"{indent}    {_STRONG}[{{{{ .Alerts.{which} | len }}}}] {which}</strong>\n"
        f"{indent}  </td>\n"
        f"{indent}</tr>\n"
    )


_EMAIL_HTML: Final = (
    "\n" + _MIT_NOTICE + '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"'
    ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" style="margin: 0; font-family: \'Helvetica Neue\','
    ' Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px;">\n'
    "<head>\n"
    '<meta name="viewport" content="width=device-width">\n'
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\n'
    f"<title>{_call('__subject')}</title>\n"
    f"<style>\n{_MEDIA_CSS}</style>\n"
    "</head>\n\n"
    '<body itemscope itemtype="http://schema.org/EmailMessage" style="'
    f"{_BASE} -webkit-font-smoothing: antialiased; -webkit-text-size-adjust: none; height: 100%;"
    ' line-height: 1.6em; background-color: #f6f6f6; width: 100%;">\n\n'
    f'<table class="body-wrap" style="{_BASE} background-color: #f6f6f6; width: 100%;"'
    ' width="100%" bgcolor="#f6f6f6">\n'
    f"  {_TR}\n"
    f'    <td style="{_BASE} {_TOP}" valign="top"></td>\n'
    f'    <td class="container" width="600" style="{_FONT} font-size: 14px; {_TOP} display: block;'
    ' max-width: 600px; margin: 0 auto; clear: both;" valign="top">\n'
    f'      <div class="content" style="{_FONT} font-size: 14px; max-width: 600px; margin: 0 auto;'
    ' display: block; padding: 20px;">\n'
    '        <table class="main" width="100%" cellpadding="0" cellspacing="0" style="'
    f"{_BASE} background-color: #fff; border: 1px solid #e9e9e9; border-radius: 3px;"
    '" bgcolor="#fff">\n'
    f"          {_TR}\n"
    "            {{ if gt (len .Alerts.Firing) 0 }}\n"
    + _banner("alert-warning", "#E6522C", "")
    + "            {{ else }}\n"
    + _banner("alert-good", "#68B90F", " ")
    + "            {{ end }}\n"
    "          </tr>\n"
    f"          {_TR}\n"
    f'            <td class="content-wrap" style="{_BASE} {_TOP} padding: 30px;" valign="top">\n'
    f'              <table width="100%" cellpadding="0" cellspacing="0" style="{_BASE}">\n'
    f"                {_TR}\n"
    f"                  {_BLOCK_TD}\n"
    f'                    <a href="{_call("__alertmanagerURL")}" class="btn-primary" style="'
    f"{_BASE} text-decoration: none; color: #FFF; background-color: #348eda; border: solid"
    " #348eda; border-width: 10px 20px; line-height: 2em; font-weight: bold; text-align: center;"
    " cursor: pointer; display: inline-block; border-radius: 5px; text-transform: capitalize;"
    f'">View in {_call("__alertmanager")}</a>\n'
    "                  </td>\n"
    "                </tr>\n"
    "                {{ if gt (len .Alerts.Firing) 0 }}\n"
    + _count_row("Firing")
    + "                {{ end }}\n"
    + _alert_rows("Firing")
    + "\n"
    "                {{ if gt (len .Alerts.Resolved) 0 }}\n"
    "                  {{ if gt (len .Alerts.Firing) 0 }}\n"
    f"                {_TR}\n"
    f"                  {_BLOCK_TD}\n"
    f"                    {_BR}\n"
    f'                    <hr style="{_BASE}">\n'
    f"                    {_BR}\n"
    "                  </td>\n"
    "                </tr>\n"
    "                  {{ end }}\n"
    + _count_row("Resolved")
    + "                {{ end }}\n"
    + _alert_rows("Resolved")
    + "              </table>\n"
    "            </td>\n"
    "          </tr>\n"
    "        </table>\n\n"
    f'        <div class="footer" style="{_BASE} width: 100%; clear: both; color: #999;'
    ' padding: 20px;">\n'
    f'          <table width="100%" style="{_BASE}">\n'
    f"            {_TR}\n"
    f'              <td class="aligncenter content-block" style="margin: 0; {_FONT} {_TOP}'
    ' padding: 0 0 20px; text-align: center; color: #999; font-size: 12px;" valign="top"'
    f' align="center"><a href="{{{{ .ExternalURL }}}}" style="margin: 0; {_FONT}'
    f' text-decoration: underline; color: #999; font-size: 12px;">Sent by'
    f" {_call('__alertmanager')}</a></td>\n"
    "            </tr>\n"
    "          </table>\n"
    "        </div></div>\n"
    "    </td>\n"
    f'    <td style="{_BASE} {_TOP}" valign="top"></td>\n'
    "  </tr>\n"
    "</table>\n\n"
    "</body>\n"
    "</html>\n\n"
)

_EMAIL_TMPL: Final[list[tuple[str, str]]] = [
    ("email.default.subject", _call("__subject")),
    ("email.default.html", _EMAIL_HTML),
]

DEFAULT_SOURCES: Final[tuple[tuple[str, str], ...]] = (
    ("default.tmpl", "".join(_define(name, body) for name, body in _DEFAULT_TMPL)),
    ("email.tmpl", "".join(_define(name, body) for name, body in _EMAIL_TMPL)),
)
DEFAULT_NAMES: Final = frozenset(name for name, _ in _DEFAULT_TMPL + _EMAIL_TMPL)


def _use(name: str) -> str:
    return f'{{{{ template "{name}" . }}}}'


# What Alertmanager 0.25 renders for a receiver field left unset (config/notifiers.go): the
# templates the wiring should render in its place. Fields absent here default to "".
FIELD_DEFAULTS: Final[dict[str, dict[str, str]]] = {
    "slack": {
        "color": '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}',
        "username": _use("slack.default.username"),
        "title": _use("slack.default.title"),
        "title_link": _use("slack.default.titlelink"),
        "icon_emoji": _use("slack.default.iconemoji"),
        "icon_url": _use("slack.default.iconurl"),
        "pretext": _use("slack.default.pretext"),
        "text": _use("slack.default.text"),
        "fallback": _use("slack.default.fallback"),
        "callback_id": _use("slack.default.callbackid"),
        "footer": _use("slack.default.footer"),
        "channel": "",
    },
    "email": {
        "subject": _use("email.default.subject"),  # the Subject header
        "html": _use("email.default.html"),  # rendered as HTML (html/template)
        "text": "",
    },
    "pagerduty": {
        # ({{template "pagerduty.default.description" .}} in Alertmanager, without the space.)
        "description": _use("pagerduty.default.description"),
        "client": _use("pagerduty.default.client"),
        "client_url": _use("pagerduty.default.clientURL"),
        "severity": "error",
        "class": "",
        "component": "",
        "group": "",
    },
    # Merged under the configured `details` (a configured key wins).
    "pagerduty_details": {
        "firing": '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
        "resolved": '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
        "num_firing": "{{ .Alerts.Firing | len }}",
        "num_resolved": "{{ .Alerts.Resolved | len }}",
    },
    "opsgenie": {
        "message": _use("opsgenie.default.message"),
        "description": _use("opsgenie.default.description"),
        "source": _use("opsgenie.default.source"),
    },
    "pushover": {
        "title": _use("pushover.default.title"),
        "message": _use("pushover.default.message"),
        "url": _use("pushover.default.url"),
        "priority": '{{ if eq .Status "firing" }}2{{ else }}0{{ end }}',
    },
    "victorops": {
        "state_message": _use("victorops.default.state_message"),
        "entity_display_name": _use("victorops.default.entity_display_name"),
        "monitoring_tool": _use("victorops.default.monitoring_tool"),
    },
    "wechat": {
        "message": _use("wechat.default.message"),
        "to_user": _use("wechat.default.to_user"),
        "to_party": _use("wechat.default.to_party"),
        "to_tag": _use("wechat.default.to_tag"),
        "agent_id": _use("wechat.default.agent_id"),
    },
    "sns": {"subject": _use("sns.default.subject"), "message": _use("sns.default.message")},
    "telegram": {"message": _use("telegram.default.message")},
    "discord": {"title": _use("discord.default.title"), "message": _use("discord.default.message")},
    "webex": {"message": _use("webex.default.message")},
}
