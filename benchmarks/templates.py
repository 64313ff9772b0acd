"""Template figures: a typical Slack title + text for a 10-alert group, Go template vs Jinja2.

    python benchmarks/templates.py [--alerts N] [--seconds S]

The Go template is the one most alertmanager.yml files carry in some form: a title with the
status, the firing count and the alert name, and a text that ranges over the alerts and, for
each, over its sorted labels. The Jinja2 template is the same output written the Jinja2 way,
rendered by a compiled `jinja2.Environment` template over plain dicts (what Tocsin's own
templates see). Both render the same group; the script checks they print the same text.

Prints, per render of title + text, the best and the median of batches of renders (after a
warm-up): the best is the cost on an idle CPU, the median what a busy machine makes of it;
plus the one-off costs (building the set with Alertmanager's default templates; the first
render, which parses and compiles the two texts) and, per notification, building the Go
template data from Tocsin's AlertData objects. Target
(issue 9): <= 200 µs for the Go title + text. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import jinja2

from tocsin.adapters.gotemplate import GoTemplates, template_data
from tocsin.core.events import AlertData
from tocsin.core.labels import Labels

GO_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]'
    " {{ .CommonLabels.alertname }} for {{ .CommonLabels.job }}"
)
GO_TEXT = """{{ range .Alerts -}}
*Alert:* {{ .Annotations.summary }}{{ if .Labels.severity }} - `{{ .Labels.severity }}`{{ end }}
*Description:* {{ .Annotations.description }}
*Started:* {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }}
*Details:*
{{ range .Labels.SortedPairs }} • *{{ .Name }}:* `{{ .Value }}`
{{ end }}
{{ end }}"""

JINJA_TITLE = (
    "[{{ status | upper }}{% if status == 'firing' %}:"
    "{{ alerts | selectattr('status', 'equalto', 'firing') | list | length }}{% endif %}]"
    " {{ commonLabels.alertname }} for {{ commonLabels.job }}"
)
JINJA_TEXT = """{% for a in alerts -%}
*Alert:* {{ a.annotations.summary }}{% if a.labels.severity %} - `{{ a.labels.severity }}`{% endif %}
*Description:* {{ a.annotations.description }}
*Started:* {{ a.startsAt.strftime('%Y-%m-%d %H:%M:%S UTC') }}
*Details:*
{% for name, value in a.labels | sortedpairs %} • *{{ name }}:* `{{ value }}`
{% endfor %}
{% endfor %}"""


def sorted_pairs(labels: dict[str, str]) -> list[tuple[str, str]]:
    """Alertmanager's SortedPairs: alertname first, the rest by name."""
    names = sorted(n for n in labels if n != "alertname")
    if "alertname" in labels:
        names.insert(0, "alertname")
    return [(n, labels[n]) for n in names]


def make_alerts(count: int, now: datetime) -> list[AlertData]:
    return [
        AlertData(
            labels=Labels.of(
                {
                    "alertname": "HighLatency",
                    "instance": f"api-{i}.example.com:9100",
                    "job": "api",
                    "service": "checkout",
                    "severity": "critical" if i % 3 == 0 else "warning",
                    "env": "prod",
                }
            ),
            annotations=Labels.of(
                {
                    "summary": f"p99 latency above 500ms on api-{i}",
                    "description": f"p99 latency is {500 + 17 * i}ms over the last 10 minutes",
                    "runbook_url": "https://runbooks.example.com/latency",
                }
            ),
            starts_at=now - timedelta(minutes=5 + i),
            generator_url=f"http://prometheus:9090/graph?g0.expr=latency%7Binstance%3D%22api-{i}%22%7D",
        )
        for i in range(count)
    ]


def jinja_data(alerts: list[AlertData]) -> dict[str, object]:
    common = dict(alerts[0].labels)
    for a in alerts[1:]:
        common = {k: v for k, v in common.items() if a.labels.get(k) == v}
    return {
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": a.starts_at,
            }
            for a in alerts
        ],
        "commonLabels": common,
    }


def measure(
    fns: dict[str, Callable[[], object]], seconds: float, batch: int = 50
) -> dict[str, tuple[float, float]]:
    """Per function: (best, median) µs per call, over batches of `batch` calls.

    The functions' batches alternate for `seconds`, so both see the same machine. The best
    batch is what the code costs on an otherwise idle CPU (timeit's rule); the median shows
    what a busy machine (like a CI box running other tests) makes of it.
    """
    for fn in fns.values():
        for _ in range(200):
            fn()
    per_call: dict[str, list[float]] = {name: [] for name in fns}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(batch):
                fn()
            per_call[name].append((time.perf_counter() - t0) / batch)
    return {
        name: (min(times) * 1e6, statistics.median(times) * 1e6) for name, times in per_call.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    alerts = make_alerts(args.alerts, now)

    t0 = time.perf_counter()
    go = GoTemplates()  # parses Alertmanager's default templates
    defaults_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    for _ in range(1000):
        data = template_data(
            "slack-critical", None, alerts, {"alertname": "HighLatency"}, "", now=now
        )
    data_us = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    go.render(GO_TITLE, data)
    go.render(GO_TEXT, data)
    first_ms = (time.perf_counter() - t0) * 1e3

    env = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
    env.filters["sortedpairs"] = sorted_pairs
    jinja_title, jinja_text = env.from_string(JINJA_TITLE), env.from_string(JINJA_TEXT)
    jdata = jinja_data(alerts)

    go_out = go.render(GO_TITLE, data) + "\n" + go.render(GO_TEXT, data)
    jinja_out = jinja_title.render(jdata) + "\n" + jinja_text.render(jdata)
    same = "same output" if go_out == jinja_out else "OUTPUTS DIFFER"

    figures = measure(
        {
            "go": lambda: (go.render(GO_TITLE, data), go.render(GO_TEXT, data)),
            "jinja": lambda: (jinja_title.render(jdata), jinja_text.render(jdata)),
        },
        2 * args.seconds,
    )
    (go_best, go_med), (j_best, j_med) = figures["go"], figures["jinja"]
    print(f"Slack title + text, {args.alerts} alerts, {len(go_out)} characters ({same})")
    print(f"  Go template : {go_best:6.1f} µs per render (best batch), median batch {go_med:6.1f}")
    print(f"  Jinja2      : {j_best:6.1f} µs per render (best batch), median batch {j_med:6.1f}")
    print("  target (issue 9): Go <= 200 µs")
    print(
        f"one-off: the set with Alertmanager's defaults {defaults_ms:.1f} ms; first render of"
        f" title + text (parse, compile, render; then cached) {first_ms:.2f} ms"
    )
    print(f"per notification: template_data for {args.alerts} alerts {data_us:.1f} µs")


if __name__ == "__main__":
    main()
