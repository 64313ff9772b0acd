"""Inhibition: Alertmanager's conformance cases, then the index and its verdicts.

inhibit_cases.yaml (from ../shared) has 39 cases checked against a live Alertmanager 0.25:
alerts (firing or resolved), optional silences, a target, whether it ends up inhibited. As in
the live check, the target itself is among the alerts, and silences do not matter: a silenced
source still inhibits.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tocsin.config import load_text
from tocsin.core.events import Mute, MuteKind
from tocsin.core.inhibit import (
    InhibitionIndex,
    InhibitReason,
    InhibitRule,
    InhibitVerdict,
    check_inhibited,
)
from tocsin.core.labels import Labels
from tocsin.core.matchers import parse_matchers

from ..config.conformance import labels_of, load_cases, missing_param, skip_if_missing


def rules_from_yaml(text: str) -> tuple[InhibitRule, ...]:
    doc = {"route": {"receiver": "r"}, "receivers": [{"name": "r"}]}
    doc["inhibit_rules"] = yaml.safe_load(text)
    return load_text(yaml.safe_dump(doc)).inhibit_rules


def _labels(mapping: dict[Any, Any]) -> Labels:
    # Alertmanager drops empty-valued labels when an alert is received.
    return Labels.of({k: v for k, v in labels_of(mapping).items() if v != ""})


def _params() -> list[Any]:
    suites = load_cases("inhibit_cases.yaml")
    if suites is None:
        return [missing_param()]
    return [pytest.param((s, c), id=f"{s['name']}-{c['name']}") for s in suites for c in s["cases"]]


@pytest.mark.parametrize("data", _params())
def test_alertmanager_inhibition_conformance(data: Any) -> None:
    skip_if_missing(data)
    suite, case = data
    rules = rules_from_yaml(suite["inhibit_rules"])
    firing = [_labels(a["labels"]) for a in case["alerts"] if a["state"] == "firing"]
    target = _labels(case["target"])
    verdict = check_inhibited(rules, [*firing, target], target)
    assert verdict.muted is case["expect_muted"], verdict


# -- the rules, one at a time --------------------------------------------------------------------

RULES = (
    InhibitRule(
        parse_matchers('severity="critical"'),
        parse_matchers('severity="warning"'),
        ("alertname", "service"),
    ),
    InhibitRule(
        parse_matchers('alertname="ClusterDown"'),
        parse_matchers('alertname="NodeDown"'),
        ("cluster",),
        name="cluster-down",
    ),
)


def L(**labels: str) -> Labels:
    return Labels.of(labels)


def test_the_verdict_names_the_rule_and_the_source() -> None:
    source = L(alertname="Latency", service="api", severity="critical")
    target = L(alertname="Latency", service="api", severity="warning")
    verdict = check_inhibited(RULES, [source], target)
    assert verdict == InhibitVerdict(InhibitReason.INHIBITED, 0, "", source.fingerprint_hex)
    assert verdict.mute(target.fingerprint_hex) == Mute(
        target.fingerprint_hex,
        MuteKind.INHIBITED,
        "inhibit_rules[0]",
        f"source alert {source.fingerprint_hex}",
    )
    named = check_inhibited(
        RULES, [L(alertname="ClusterDown", cluster="c1")], L(alertname="NodeDown", cluster="c1")
    )
    assert (named.rule, named.rule_name) == (1, "cluster-down")
    mute = named.mute("fp")
    assert mute is not None and mute.by == "cluster-down"


@pytest.mark.parametrize(
    ("firing", "target", "reason"),
    [
        ([], L(alertname="X", severity="info"), InhibitReason.NOT_TARGETED),
        ([], L(alertname="X", severity="warning"), InhibitReason.NO_SOURCE),
        (
            [L(alertname="X", service="db", severity="critical")],
            L(alertname="X", service="api", severity="warning"),
            InhibitReason.NO_SOURCE,
        ),
        # Equal labels missing on both sides are equal.
        (
            [L(alertname="X", severity="critical")],
            L(alertname="X", severity="warning", instance="i"),
            InhibitReason.INHIBITED,
        ),
    ],
)
def test_reasons(firing: list[Labels], target: Labels, reason: InhibitReason) -> None:
    verdict = check_inhibited(RULES, firing, target)
    assert verdict.reason is reason
    assert verdict.muted is (reason is InhibitReason.INHIBITED)
    if reason is not InhibitReason.INHIBITED:
        assert verdict.mute("fp") is None


def test_two_alerts_matching_both_sides_do_not_inhibit_each_other() -> None:
    both = (InhibitRule(parse_matchers("s=1"), parse_matchers("t=1"), ("e",)),)
    a, b = L(s="1", t="1", e="x", n="a"), L(s="1", t="1", e="x", n="b")
    assert not check_inhibited(both, [a, b], a).muted
    # A source matching only the source side still inhibits a two-sided target.
    assert check_inhibited(both, [a, L(s="1", e="x")], a).muted


def test_the_index_follows_alerts_that_fire_and_resolve() -> None:
    index = InhibitionIndex(RULES)
    source = L(alertname="Latency", service="api", severity="critical")
    other = L(alertname="Latency", service="api", severity="critical", instance="2")
    target = L(alertname="Latency", service="api", severity="warning")
    assert index.check(target).reason is InhibitReason.NO_SOURCE
    index.add(source)
    index.add(other)
    assert index.check(target).source == source.fingerprint_hex  # the first added
    index.discard(source)
    assert index.check(target).source == other.fingerprint_hex
    index.discard(other)
    index.discard(other)  # twice is harmless
    assert index.check(target).reason is InhibitReason.NO_SOURCE


def test_many_alerts_are_indexed_by_their_equal_labels() -> None:
    firing = [
        L(alertname=f"A{i % 50}", service=f"s{i}", severity="critical") for i in range(20_000)
    ]
    index = InhibitionIndex.build(RULES, firing)
    assert index.check(L(alertname="A7", service="s7", severity="warning")).muted
    assert not index.check(L(alertname="A7", service="s8", severity="warning")).muted
