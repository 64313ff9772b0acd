"""Our label fingerprints are the real Alertmanager's, alert for alert.

Alerts are POSTed to a live Debian `prometheus-alertmanager` and read back from
GET /api/v2/alerts, which reports each alert's fingerprint: `Labels.fingerprint_hex` of the
labels it reports must be that fingerprint. Amtool, Alertmanager's UI and its silences all name
alerts by it, so a mismatch would make Tocsin's alerts strangers to them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.core.labels import Labels

from .alertmanager import running_alertmanager


def _label_sets() -> list[dict[str, str]]:
    sets: list[dict[str, str]] = [
        {"alertname": "Simple"},
        {"alertname": "TwoLabels", "severity": "critical"},
        {"alertname": "Typical", "env": "prod", "instance": "db-1:9100", "job": "node"},
        # Unicode values.
        {"alertname": "Unicode", "city": "Zürich", "note": "café crème"},
        {"alertname": "CJK", "text": "日本語のテキスト"},
        {"alertname": "Emoji", "mood": "🔥🚒💧", "flag": "🇨🇭"},
        {"alertname": "RTL", "greeting": "שלום עולם", "arabic": "مرحبا"},
        {"alertname": "Combining", "e": "e\u0301", "precomposed": "\u00e9"},
        {"alertname": "Astral", "math": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "old": "𐌰𐌱𐌲"},
        {"alertname": "NonBmpAndControls", "v": "\u2028\u2029\u200b\ufeff"},
        {"alertname": "LatinOne", "ff": "ÿ\u00ff\u00fe"},  # ÿ is U+00FF, not the 0xff separator
        # Empty-ish values (an empty one is dropped by Alertmanager's API).
        {"alertname": "Blank", "space": " "},
        {"alertname": "Tabs", "ws": "\t \t"},
        {"alertname": "Newline", "nl": "\n"},
        {"alertname": "Nul", "nul": "\x00"},
        {"alertname": "EmptyDropped", "empty": "", "kept": "x"},
        {"alertname": "OnlyEmptyBesideName", "a": "", "b": ""},
        # Special characters.
        {"alertname": "Quotes", "q": 'say "hi"', "sq": "it's"},
        {"alertname": "Backslashes", "path": "C:\\Windows\\System32", "re": "\\d+\\.\\w*"},
        {"alertname": "Matchery", "m": '{a="b", c=~"d.*"}', "ops": "=~!=!~,"},
        {"alertname": "Json", "j": '{"k": [1, 2, {"x": null}]}'},
        {"alertname": "Html", "h": "<b>&amp;</b>"},
        {"alertname": "Url", "u": "https://example.com/a?b=c&d=e#f"},
        {"alertname": "Separators", "s": "a\x1fb\x1ec\x7f"},
        # Names that sort differently by case and underscore.
        {"alertname": "Sorting", "B": "1", "a": "2", "_": "3", "A": "4", "b_": "5", "Z9": "6"},
        {"_leading": "x", "alertname": "UnderscoreName"},
        {"alertname": "LongName", "a" * 200: "v"},
        # Near-collisions: same bytes, different split between name and value.
        {"alertname": "Split", "ab": "c"},
        {"alertname": "Split", "a": "bc"},
        {"alertname": "Split2", "a": "b", "c": "d"},
        {"alertname": "Split2", "a": "bc", "d": ""},
        # Long values.
        {"alertname": "Long1k", "v": "x" * 1_000},
        {"alertname": "Long64k", "v": "y" * 65_536},
        {"alertname": "LongUnicode", "v": "ü" * 5_000},
        # Many labels.
        {"alertname": "Many", **{f"label_{i:03d}": f"value {i}" for i in range(100)}},
        {"alertname": "ManyShort", **{chr(ord("a") + i): str(i) for i in range(26)}},
    ]
    # And a spread of ordinary ones, as a fleet would send.
    for i in range(14):
        sets.append(
            {
                "alertname": f"Fleet{i % 3}",
                "instance": f"10.0.{i}.{i * 7 % 256}:9100",
                "severity": ["critical", "warning", "info"][i % 3],
                "team": f"team-{i % 4}",
            }
        )
    return sets


@pytest.mark.slow
def test_fingerprints_match_alertmanager() -> None:
    sent = _label_sets()
    assert len(sent) >= 50
    # What Alertmanager keeps: its API drops labels whose value is empty.
    expected = {Labels.of({k: v for k, v in s.items() if v}) for s in sent}
    assert len(expected) == len(sent), "every label set must be distinct"

    now = datetime.now(UTC)
    body = [
        {
            "labels": labels,
            "annotations": {"summary": "fingerprint check"},
            "startsAt": (now - timedelta(minutes=1)).isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
        }
        for labels in sent
    ]
    with running_alertmanager() as am:
        response = am.client.post("/api/v2/alerts", json=body)
        assert response.status_code == 200, response.text
        reported = am.client.get("/api/v2/alerts").json()

    reported_labels = {Labels.of(alert["labels"]) for alert in reported}
    assert reported_labels == expected
    mismatches = [
        f"{dict(labels)!r}: alertmanager {alert['fingerprint']}, ours {labels.fingerprint_hex}"
        for alert in reported
        if (labels := Labels.of(alert["labels"])).fingerprint_hex != alert["fingerprint"]
    ]
    assert not mismatches, "\n".join(mismatches)
    assert len(reported) == len(sent)
