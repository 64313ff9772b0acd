"""The differential corpus: templates rendered by Alertmanager 0.25's own `amtool template
render` and by Tocsin, on the data in data/*.json, with data/corpus.tmpl and Alertmanager's
default templates loaded. The expected outputs are recorded in golden.json (golden.py records
them from amtool; the integration test checks the record against amtool again).

A case that Alertmanager refuses (parse or execution error) is recorded as an error: Tocsin
must refuse it too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    text: str
    data: str = "basic"
    html: bool = False

    @property
    def key(self) -> str:
        return f"{'html' if self.html else 'text'}|{self.data}|{self.text}"


ALL_DATA = ("basic", "group", "resolved", "empty")

# Rendered against every data set.
_EVERYWHERE = [
    '{{ template "slack.default.title" . }}',
    '{{ template "slack.default.fallback" . }}',
    '{{ template "slack.default.titlelink" . }}',
    '{{ template "slack.default.username" . }}',
    '{{ template "email.default.subject" . }}',
    '{{ template "email.default.html" . }}',
    '{{ template "pagerduty.default.description" . }}',
    '{{ template "pagerduty.default.instances" .Alerts }}',
    '{{ template "pagerduty.default.client" . }}|{{ template "pagerduty.default.clientURL" . }}',
    '{{ template "opsgenie.default.description" . }}',
    '{{ template "wechat.default.message" . }}',
    '{{ template "victorops.default.state_message" . }}',
    '{{ template "pushover.default.message" . }}',
    '{{ template "sns.default.message" . }}',
    '{{ template "telegram.default.message" . }}',
    '{{ template "discord.default.message" . }}',
    '{{ template "webex.default.message" . }}',
    '{{ template "__text_alert_list" .Alerts.Firing }}',
    '{{ template "corpus.title" . }}',
    '{{ template "corpus.text" . }}',
    '{{ template "corpus.links" . }}',
    '{{ template "corpus.times" . }}',
    '{{ template "corpus.recursive" .Alerts }}',
    '{{ template "corpus.counter" . }}',
    "{{ . }}",
    "{{ .Alerts }}",
    '{{ printf "%v|%+v|%s|%q" .GroupLabels .CommonLabels.SortedPairs .Alerts.Firing .Receiver }}',
    "{{ range .Alerts }}{{ .StartsAt }}|{{ .EndsAt }}|{{ .StartsAt.UTC }}\n{{ end }}",
    "{{ range $k, $v := .CommonLabels }}{{ $k }}={{ $v }};{{ else }}none{{ end }}",
    "{{ len .Alerts }} {{ len .Alerts.Firing }} {{ len .Alerts.Resolved }} {{ len .Receiver }}",
    "{{ if .Alerts.Firing }}F{{ end }}{{ if .Alerts.Resolved }}R{{ end }}{{ if not .Alerts }}E{{ end }}",
]

_BASIC = [
    # -- text, trimming, comments ------------------------------------------------------------
    "plain text, no actions",
    "a  {{- /* comment */ -}}  b",
    "a {{/* comment */}} b",
    "x\n  {{- .Status -}}\n  y",
    "{{- .Status }}\n\n{{- .Receiver -}}\n\n",
    "{{ .Status }}{{/* multi\nline\ncomment */}}{{ .Receiver }}",
    "{{-3}} {{ -3 }} {{- 3 -}} x",
    "{{\n.Status\n}}",
    # -- fields, maps, methods ------------------------------------------------------------------
    "{{ .CommonLabels.alertname }}/{{ .CommonLabels.missing }}/{{ .GroupLabels.alertname }}",
    '{{ index .CommonLabels "instance" }}|{{ index .CommonLabels "nope" }}|',
    "{{ (index .Alerts 0).Labels.severity }} {{ (index .Alerts 0).Fingerprint }}",
    "{{ .CommonLabels.Names }} {{ .CommonLabels.Values }} {{ .CommonLabels.SortedPairs.Names }}",
    '{{ .CommonLabels.Remove (stringSlice "job" "instance") }}',
    "{{ (.CommonLabels.Remove .GroupLabels.Names).SortedPairs.Values }}",
    "{{ range .CommonAnnotations.SortedPairs }}{{ .Name }}={{ .Value }}\n{{ end }}",
    "{{ .Nope }}",
    "{{ .Status.Nope }}",
    "{{ .CommonLabels.alertname.Foo }}",
    "{{ .Receiver 1 }}",
    "{{ .CommonLabels.Names 1 }}",
    "{{ .CommonLabels.alertname 1 }}",
    "{{ $x := .CommonLabels }}{{ $x.job }} {{ $.Receiver }} {{ $x.SortedPairs.Names }}",
    "{{ with $a := index .Alerts 0 }}{{ $a.Labels.job }} {{ .Status }}{{ end }}",
    # -- printing values --------------------------------------------------------------------------
    "{{ 42 }} {{ -7 }} {{ 3.5 }} {{ 1e6 }} {{ 1e-5 }} {{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }}",
    "{{ 'a' }} {{ '\\n' }} {{ true }} {{ false }} {{ \"q\\\"uote\" }} {{ `raw\\n` }}",
    "{{ 100000.0 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.1 }} {{ 2.0 }} {{ 1.5e300 }}",
    "{{ nil }}",
    "{{ (index .Alerts 0).StartsAt.Unix }} {{ (index .Alerts 0).StartsAt.Year }}",
    "{{ (index .Alerts 0).StartsAt.Month }} {{ (index .Alerts 0).StartsAt.Weekday }} "
    "{{ (index .Alerts 0).StartsAt.YearDay }} {{ (index .Alerts 0).StartsAt.IsZero }} "
    "{{ (index .Alerts 0).EndsAt.IsZero }}",
    "{{ if (index .Alerts 0).EndsAt }}zero time is true{{ end }}",
    # -- printf ---------------------------------------------------------------------------------
    '{{ printf "%s|%d|%v|%q|%.2f|%x|%X|%t|%%" "s" 42 1.5 "q" 3.14159 255 255 true }}',
    '{{ printf "%5s|%-5s|%05d|%+d|% d|%8.3f|%-8.3f|%08.3f" "ab" "ab" 42 42 42 3.14159 2.5 -2.5 }}',
    '{{ printf "%e|%E|%g|%G|%.3e|%.3g|%g|%g" 123456.789 0.000123 1e21 1e-7 1.0 1234567.0 100000.0 1e6 }}',
    '{{ printf "%v %v %v %v" 1e20 1e21 123456.0 1234567.0 }}',
    '{{ printf "%d %s" "str" 5 }}',
    '{{ printf "%d %d" 1 }}',
    '{{ printf "%d" 1 2 "x" }}',
    '{{ printf "%!" }}|{{ printf "%" }}|{{ printf "%z" 1 }}',
    '{{ printf "%[2]s %[1]s" "a" "b" }} {{ printf "%[3]d" 1 }}',
    '{{ printf "%*d|%-*d|%.*f" 5 42 4 7 2 3.14159 }}',
    '{{ printf "%c%c %U %#U %o %#o %O %b %#x %#X" 72 105 65 9731 8 8 8 5 255 255 }}',
    '{{ printf "%x % x %X %q %+q %#q" "héllo" "ab" "hi" "日本\\t" "日本" "back`tick" }}',
    '{{ printf "%v %d %s" .CommonLabels .GroupLabels.Values .GroupLabels.Names }}',
    '{{ printf "%T %T %T %T %T %T %T" 1 1.5 "s" true . .Alerts .CommonLabels }}',
    '{{ printf "%T %T %T" (index .Alerts 0) (index .Alerts 0).StartsAt .CommonLabels.SortedPairs }}',
    '{{ printf "%+v" (index .CommonLabels.SortedPairs 0) }} {{ printf "%v" (index .CommonLabels.SortedPairs 0) }}',
    '{{ printf "%s" (index .Alerts 0).StartsAt }} {{ printf "%d" (index .Alerts 0).StartsAt.Month }}',
    '{{ printf "%.3s|%.10s|%5.1s" "abcdef" "ab" "xyz" }}',
    '{{ printf "%t %v" false nil }} {{ printf "%s" nil }}',
    '{{ printf "%6.2f%%" 97.456 }} {{ printf "%d items" (len .Alerts) }}',
    '{{ printf "%05s|%-05d|%+.1e|%x" "ab" 7 12345.678 -255 }}',
    '{{ print "a" "b" 1 2 "c" 3.5 true nil }}',
    '{{ println "a" 1 2 }}{{ println }}',
    "{{ print }}{{ print .CommonLabels.job 7 }}",
    # -- builtins ---------------------------------------------------------------------------------
    '{{ len "héllo" }} {{ len .CommonLabels }} {{ len (stringSlice) }}',
    "{{ len 3 }}",
    '{{ index "abc" 1 }} {{ index .Alerts 5 }}',
    "{{ index .CommonLabels 1 }}",
    '{{ slice "abcdef" 1 3 }} {{ slice "abcdef" 2 }} {{ slice (stringSlice "a" "b" "c") 1 }}',
    '{{ slice "abc" 2 1 }}',
    '{{ html "<a href=\\"x\\">&\'</a>" }} {{ html 1 "<" }}',
    '{{ js "it\'s \\"q\\" <b>&=\\\\ \\n\\t é" }}',
    '{{ urlquery "a b&c=d/é?#" }} {{ urlquery "x" 1 }}',
    '{{ not true }} {{ not "" }} {{ not .Alerts }} {{ not 0 }}',
    '{{ and 1 0 "x" }} {{ and 1 2 3 }} {{ or 0 "" "x" 4 }} {{ or 0 "" }} {{ and }}',
    '{{ and .Alerts .Receiver }} {{ or .CommonLabels.nope "fallback" }}',
    "{{ or 1 .Nope }} {{ and 0 .Nope }}",
    "{{ or 0 .Nope }}",
    '{{ "x" | and 1 }} {{ "y" | or 0 }} {{ 0 | or "" }}',
    '{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ eq "a" "b" }} {{ ne 1 2 }} {{ eq .Status "firing" "resolved" }}',
    "{{ eq 1 1.0 }}",
    '{{ eq 1 "1" }}',
    "{{ eq .CommonLabels .CommonLabels }}",
    "{{ eq . . }}",
    '{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }} {{ lt "a" "a" }}',
    "{{ lt 1 2.0 }}",
    "{{ lt true false }}",
    "{{ gt (len .Alerts) 0 }} {{ gt (len .CommonLabels) (len .GroupLabels) }}",
    "{{ call .Receiver }}",
    # -- Alertmanager's functions -----------------------------------------------------------------
    '{{ toUpper "héllo ß" }} {{ toLower "HÉLLO" }} {{ .Status | toUpper }}',
    '{{ title "hELLO wORLD it\'s foo_bar foo-bar e-mail x.y a..b 1abc a1b x:y x::y" }}',
    '{{ title "ǆemal ŉ ﬁsh straße ΣΑΣ" }}',
    '{{ join ", " .CommonLabels.Values }} {{ stringSlice "a" "b" | join "-" }} {{ join "" (stringSlice) }}',
    '{{ join "," .Receiver }}',
    '{{ match "^High" .CommonLabels.alertname }} {{ match "cpu" .CommonLabels.alertname }} '
    '{{ match "(?i)cpu" .CommonLabels.alertname }} {{ match "" "" }}',
    '{{ match "(" "x" }}',
    '{{ match "\\\\d+" "abc123" }} {{ match "^\\\\w+$" "héllo" }} {{ match "a$" "a\\n" }}',
    '{{ reReplaceAll "(.*):(\\\\d+)" "$2 on $1" .CommonLabels.instance }}',
    '{{ reReplaceAll "x*" "-" "abxd" }} {{ reReplaceAll "a|" "[$0]" "banana" }}',
    '{{ reReplaceAll "(?P<host>[a-z]+)-(?P<n>\\\\d)" "${n}_$host $1x ${1}x $$ $" "db-1 web-2" }}',
    '{{ reReplaceAll "^" ">" "a\\nb" }} {{ reReplaceAll "(?m)^" ">" "a\\nb" }}',
    '{{ reReplaceAll "[" "" "x" }}',
    '{{ safeHtml "<b>bold</b>" }} {{ safeHtml "x" | printf "%T" }}',
    '{{ stringSlice }} {{ stringSlice "a" }} {{ printf "%q" (stringSlice "a" "b c") }}',
    "{{ toUpper 3 }}",
    "{{ toUpper .CommonLabels }}",
    "{{ stringSlice 1 }}",
    '{{ trimSpace " x " }}',
    "{{ nosuchfunction }}",
    # -- control structures ------------------------------------------------------------------------
    '{{ if eq .Status "firing" }}F{{ else if eq .Status "resolved" }}R{{ else }}?{{ end }}',
    "{{ if false }}a{{ else if false }}b{{ else if true }}c{{ end }}",
    "{{ with .CommonLabels.nope }}has{{ else }}empty{{ end }} {{ with .CommonLabels.job }}{{ . }}{{ end }}",
    "{{ range .Alerts }}{{ .Labels.alertname }}{{ else }}no alerts{{ end }}",
    "{{ range $i, $e := .Alerts }}{{ $i }}:{{ $e.Status }} {{ end }}",
    "{{ range $v := .CommonLabels.SortedPairs }}{{ $v.Name }} {{ end }}",
    "{{ range $i, $p := .CommonLabels.SortedPairs }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $p.Name }},{{ end }}",
    "{{ range $i, $p := .CommonLabels.SortedPairs }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $p.Name }},{{ end }}",
    '{{ range (stringSlice "c" "a" "b") }}{{ . }}{{ end }} {{ range .Nope }}{{ end }}',
    "{{ range 5 }}{{ . }}{{ end }}",
    '{{ range "abc" }}{{ . }}{{ end }}',
    "{{ range $k, $v := .CommonAnnotations }}[{{ $k }}]{{ end }}",
    "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}",
    "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
    '{{ $x := "a" }}{{ range .Alerts }}{{ $x = .Status }}{{ end }}{{ $x }}',
    "{{ $ }}",
    "{{ $x }}",
    "{{ break }}",
    "{{ if true }}unclosed",
    "{{ end }}",
    "{{ else }}",
    "{{ range $a, $b, $c := .Alerts }}{{ end }}",
    "{{ with $x, $y := . }}{{ end }}",
    "{{ .Status | }}",
    "{{ | .Status }}",
    '{{ "x" | "y" }}',
    "{{ .Status ) }}",
    "{{ (.Status }}",
    "{{ 1a }}",
    '{{ "unterminated }}',
    "{{ /* bad comment */ }}",
    "{{ .Status",
    "{{ .Status }}}}",
    '{{ template "nosuch" . }}',
    '{{ template "corpus.title" }}',
    "{{ template .Status }}",
    '{{ define "inline" }}[{{ . }}]{{ end }}{{ template "inline" .Status }}',
    '{{ define "slack.default.title" }}overridden {{ .Status }}{{ end }}'
    '{{ template "slack.default.title" . }}',
    '{{ define "slack.default.title" }}{{ end }}{{ template "slack.default.title" . }}',
    '{{ block "blk" .Receiver }}block:{{ . }}{{ end }}|{{ template "blk" "again" }}',
    '{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}',
    '{{ if true }}{{ define "x" }}{{ end }}{{ end }}',
    '{{ .Status | printf "%s!" | printf "%q" }} {{ .Alerts | len | printf "%03d" }}',
    '{{ "abc" | printf "%s-%s" "x" }}',
    "{{ (len .Alerts) }} {{ (.CommonLabels).job }} {{ (index .Alerts 0).Labels.job }}",
    "{{ .Status | len 1 }}",
    "{{ 1 2 }}",
    "{{ $.Status 1 }}",
    '{{ printf "%s" | len }}',
    # -- times ------------------------------------------------------------------------------------
    '{{ range .Alerts }}{{ .StartsAt.Format "Mon, 02 Jan 2006 15:04:05 MST" }}{{ end }}',
    '{{ range .Alerts }}{{ .StartsAt.Format "2006-01-02T15:04:05Z07:00" }}|{{ .StartsAt.Format "Jan _2 3:04PM" }}{{ end }}',
    '{{ (index .Alerts 0).StartsAt.Format "January Monday 1 01 2 02 _2 __2 002 15 3 03 4 04 5 05 06 2006 PM pm MST -0700 -07:00 -07 Z0700 Z07:00 Z07 .000 .999 ,000 .000000000" }}',
    '{{ (index .Alerts 0).StartsAt.Format "Jan" }} {{ (index .Alerts 0).StartsAt.Format "Janx Monx Mondays" }}',
    "{{ (index .Alerts 0).StartsAt.Format 1 }}",
    "{{ (index .Alerts 0).StartsAt.Add 1 }}",
    '{{ (index .Alerts 0).EndsAt.Format "2006-01-02 15:04:05.999 -0700 MST" }}',
    "{{ (index .Alerts 0).StartsAt.Location }} {{ (index .Alerts 0).EndsAt.Location }}",
]

_GROUP = [
    '{{ range .Alerts }}{{ .StartsAt }} / {{ .StartsAt.Format "Z07:00 -0700 MST .000" }}\n{{ end }}',
    '{{ range .Alerts.Resolved }}{{ .EndsAt.Format "2006-01-02 15:04:05.000000 MST" }}{{ end }}',
    "{{ range .Alerts }}{{ .Annotations.summary }}|{{ html .Annotations.summary }}|{{ js .Annotations.summary }}\n{{ end }}",
    "{{ range .Alerts }}{{ .Labels.instance | toUpper }} {{ title .Labels.instance }} {{ len .Labels.instance }}\n{{ end }}",
    "{{ range .Alerts }}{{ .StartsAt.Sub (index $.Alerts 0).StartsAt }} {{ .StartsAt.Before (index $.Alerts 0).StartsAt }}\n{{ end }}",
    '{{ .Receiver }} {{ printf "%q" .Receiver }} {{ urlquery .Receiver }}',
    '{{ range .Alerts }}{{ reReplaceAll "^/dev/" "" .Labels.device }} {{ end }}',
    '{{ range .Alerts }}{{ if match "^web" .Labels.instance }}web{{ else }}other{{ end }} {{ end }}',
    "{{ range $i, $a := .Alerts }}{{ if gt $i 0 }}, {{ end }}{{ $a.Labels.instance }}{{ end }}",
    '{{ range .Alerts }}{{ printf "%-10s|%6s|%.1f" .Labels.instance .Annotations.value 93.25 }}\n{{ end }}',
    "{{ range .Alerts }}{{ range $k, $v := .Annotations }}{{ $k }}={{ $v }};{{ end }}\n{{ end }}",
    "{{ range .Alerts }}[{{ .StartsAt.Location }}]{{ end }}",
]

TEXT_CASES: list[Case] = (
    [Case(t, d) for t in _EVERYWHERE for d in ALL_DATA]
    + [Case(t) for t in _BASIC]
    + [Case(t, "group") for t in _GROUP]
)

# Rendered as HTML (html/template), against every data set.
_HTML = [
    '{{ template "email.default.html" . }}',
    '{{ template "email.default.subject" . }}',
    '<a href="{{ .ExternalURL }}/x y?q={{ .Receiver }}&r={{ "a b/é" }}#{{ "f g" }}">{{ .Receiver }}</a>',
    '<p title={{ .Receiver }}>{{ .CommonLabels.nope }}|{{ printf "%v" nil }}|{{ print nil }}|{{ . }}</p>',
    '<a href="javascript:{{ "x" }}">x</a><a href="{{ "javascript:alert(1)" }}">y</a><a href="{{ safeHtml "javascript:1" }}">',
    '<p style="color: {{ "red" }}">x</p><p style="color: {{ "expression(x)" }}">y</p>',
    '<b {{ "class" }}="x">',
    "<!-- a {{ .Receiver }} b -->c",
    '{{ template "corpus.html.alerts" . }}',
    '<a href="{{ template "corpus.html.url" . }}">link</a>',
    "{{ range .Alerts }}<li>{{ .Labels.alertname }} &lt; {{ .Annotations.summary }} a < b</li>{{ end }}",
    '<title>{{ .Status }} <x> {{ safeHtml "<b>x</b>" }}</title>{{ safeHtml "<b>raw</b>" }}<p title="{{ safeHtml "<b>t</b>" }}">',
    '<p>{{ .Status | html }} {{ html .Receiver "<" }} {{ .Receiver | urlquery }}</p>',
    '{{ if eq .Status "firing" }}<b>{{ else }}<i>{{ end }}x',
    "<a href={{ .ExternalURL }}>{{ len .Alerts }}</a>",
    '<p class="{{ if .Alerts.Firing }}firing{{ else }}ok{{ end }}" data-x="{{ .Status }}">',
    '{{ range .Alerts }}<a href="{{ .GeneratorURL }}">{{ .Labels.instance }}</a>{{ end }}',
    '<style>/* c */ p { color: red; } {{ "x" }}</style>',
    "<script>var x = 1; // c\n</script>{{ .Status }}",
    "<p>{{ .Nope }}</p>",
    '{{ html .Status | printf "%s" }}',
    "<img src=\"{{ .ExternalURL }}/logo.png?{{ .Status }}\" alt='{{ .Receiver }}'>",
    '{{ range $i, $a := .Alerts }}{{ if $i }}<hr>{{ end }}<div id="a{{ $i }}">{{ $a.Fingerprint }}</div>{{ end }}\n',
]

HTML_CASES: list[Case] = [Case(t, d, html=True) for t in _HTML for d in ALL_DATA]

CASES: list[Case] = TEXT_CASES + HTML_CASES
