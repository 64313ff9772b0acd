"""The routing tree: Alertmanager's conformance cases, then the rules one at a time.

Conformance data (routing_cases.yaml) is read from ../shared at test time: 13 route trees and
109 label sets with the receivers `amtool config routes test` gives, plus group_by and timers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tocsin.core.routing as routing_module
from tocsin.config import load_text
from tocsin.core.events import EscalationLevel, EscalationPolicy, GroupPolicy
from tocsin.core.labels import Labels
from tocsin.core.matchers import Matcher, Matchers, parse_matchers
from tocsin.core.routing import (
    Route,
    RouteSpec,
    RoutingError,
    RoutingTree,
    go_quote,
    labels_string,
    sort_matchers,
)

from ..config.conformance import labels_of, load_cases, missing_param, skip_if_missing

S = timedelta(seconds=1)


def _conformance_params() -> list[Any]:
    suites = load_cases("routing_cases.yaml")
    if suites is None:
        return [missing_param()]
    params = []
    for suite in suites:
        for i, case in enumerate(suite["cases"]):
            params.append(pytest.param((suite, case), id=f"{suite['name']}-{i}"))
    return params


_TREES: dict[str, RoutingTree] = {}


def _tree(suite: dict[str, Any]) -> RoutingTree:
    if suite["name"] not in _TREES:
        _TREES[suite["name"]] = load_text(suite["config"], filename=f"{suite['name']}.yml").routing
    return _TREES[suite["name"]]


@pytest.mark.parametrize("data", _conformance_params())
def test_alertmanager_routing_conformance(data: Any) -> None:
    skip_if_missing(data)
    suite, case = data
    routes = _tree(suite).match(Labels.of(labels_of(case["labels"])))
    assert [r.receiver for r in routes] == case["expect_receivers"]
    if "expect_group_by" in case:
        got = [["..."] if r.group_by_all else list(r.group_by) for r in routes]
        want = [g if g == ["..."] else sorted(g) for g in case["expect_group_by"]]
        assert got == want
    if "expect_timers" in case:
        got_timers = [
            {
                "group_wait": r.group_wait.total_seconds(),
                "group_interval": r.group_interval.total_seconds(),
                "repeat_interval": r.repeat_interval.total_seconds(),
            }
            for r in routes
        ]
        assert got_timers == [{k: float(v) for k, v in t.items()} for t in case["expect_timers"]]


# -- building blocks --------------------------------------------------------------------------


def m(text: str) -> Matchers:
    return parse_matchers(text)


def tree(yaml_route: str, **kwargs: Any) -> RoutingTree:
    receivers = sorted(set(re.findall(r"receiver: ([\w-]+)", yaml_route)))
    text = "route:\n" + yaml_route + "\nreceivers:\n" + "".join(f"- name: {r}\n" for r in receivers)
    text += kwargs.get("extra", "")
    return load_text(text).routing


def receivers(t: RoutingTree, **labels: str) -> list[str]:
    return t.receivers(Labels.of(labels))


# -- matching ---------------------------------------------------------------------------------

CONTINUE_TREE = """
  receiver: root
  routes:
  - matchers: [team="a"]
    receiver: a
    continue: true
    routes:
    - matchers: [sev="page"]
      receiver: a-page
    - matchers: [sev=~"page|ticket"]
      receiver: a-any
  - matchers: [team=~"a|b"]
    receiver: ab
"""


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"team": "a", "sev": "page"}, ["a-page", "ab"]),  # first match wins inside a
        ({"team": "a", "sev": "ticket"}, ["a-any", "ab"]),
        ({"team": "a"}, ["a", "ab"]),  # no child: the node itself, then continue
        ({"team": "b"}, ["ab"]),
        ({"team": "c"}, ["root"]),  # nothing matches: the root itself
    ],
)
def test_depth_first_first_match_continue_and_the_node_itself(
    labels: dict[str, str], expected: list[str]
) -> None:
    assert receivers(tree(CONTINUE_TREE), **labels) == expected


def test_duplicates_are_kept_as_amtool_prints_them() -> None:
    t = tree(
        """
  receiver: root
  routes:
  - {matchers: [x="1"], receiver: dup, continue: true}
  - {matchers: [x="1"], receiver: dup, continue: true}
"""
    )
    assert receivers(t, x="1") == ["dup", "dup"]


def test_a_route_whose_matchers_fail_returns_nothing_below_it() -> None:
    t = tree(CONTINUE_TREE)
    assert t.root.routes[0].match(Labels.of({"team": "b"})) == ()
    assert [r.receiver for r in t.root.routes[0].match(Labels.of({"team": "a"}))] == ["a"]


def test_missing_labels_match_as_empty() -> None:
    t = tree(
        """
  receiver: root
  routes:
  - {matchers: ['env!~"prod|staging"', 'region=~".+"'], receiver: nonprod}
  - {matchers: ['tier=""'], receiver: no-tier}
"""
    )
    assert receivers(t, region="eu") == ["nonprod"]
    assert receivers(t, env="prod", region="eu") == ["no-tier"]
    assert receivers(t, env="prod", region="eu", tier="gold") == ["root"]


# -- inheritance ------------------------------------------------------------------------------

INHERIT_TREE = """
  receiver: root
  group_by: [alertname]
  repeat_interval: 2h
  escalation: esc
  suppress_duration: 10m
  fallback: spare
  routes:
  - matchers: [team="a"]
    receiver: team-a
    group_wait: 5s
    acknowledge: forbidden
    mute_time_intervals: [never]
    routes:
    - matchers: [sev="page"]
      group_interval: 1m
      group_by: ['...']
      routes:
      - matchers: [env="prod"]
        group_by: []
        escalation: ''
        suppress_duration: 0s
  - matchers: [team="b"]
    receiver: spare
    escalation_start_level: 1
"""
INHERIT_EXTRA = """
escalation_policies:
- name: esc
  levels:
  - {after: 0s, receivers: [root]}
  - {after: 5m, receivers: [spare]}
time_intervals:
- name: never
  time_intervals: [{years: ['1999']}]
"""


def test_options_inherit_down_the_path_and_defaults_apply_at_the_root() -> None:
    t = tree(INHERIT_TREE, extra=INHERIT_EXTRA)
    root = t.root
    assert (root.group_wait, root.group_interval, root.repeat_interval) == (
        30 * S,
        300 * S,
        7200 * S,
    )
    a = t.by_path["route.routes[0]"]
    page = t.by_path["route.routes[0].routes[0]"]
    prod = t.by_path["route.routes[0].routes[0].routes[0]"]
    assert (a.receiver, a.group_wait, a.group_interval, a.group_by) == (
        "team-a",
        5 * S,
        300 * S,
        ("alertname",),
    )
    assert (page.receiver, page.group_wait, page.group_interval) == ("team-a", 5 * S, 60 * S)
    assert page.group_by_all and page.group_by == ()
    # An explicit [] replaces an inherited '...' (Alertmanager >= 0.31).
    assert not prod.group_by_all and prod.group_by == ()
    # Tocsin's extensions inherit; "" / 0s turn them off.
    assert a.escalation is not None and a.escalation.name == "esc"
    assert (a.suppress_duration, a.fallback, a.acknowledge) == (600 * S, "spare", False)
    assert prod.escalation is None and prod.suppress_duration is None
    assert prod.acknowledge is False
    # Time intervals are not inherited.
    assert a.mute_time_intervals == ("never",)
    assert page.mute_time_intervals == ()


def test_policy_is_what_a_group_runs_with() -> None:
    t = tree(INHERIT_TREE, extra=INHERIT_EXTRA)
    esc = EscalationPolicy(
        "esc",
        (EscalationLevel(timedelta(0), ("root",)), EscalationLevel(5 * 60 * S, ("spare",))),
    )
    assert t.by_path["route.routes[0]"].policy() == GroupPolicy(
        receiver="team-a",
        group_wait=5 * S,
        group_interval=300 * S,
        repeat_interval=7200 * S,
        escalation=esc,
        acknowledge=False,
        route_id="route.routes[0]",
        suppress_duration=600 * S,
    )
    b = t.by_path["route.routes[1]"].policy()
    assert b.escalation is not None and b.escalation.start_level == 1
    assert b.acknowledge is True


def test_unknown_policy_or_start_level_cannot_build() -> None:
    with pytest.raises(RoutingError, match='undefined escalation policy "nope"'):
        RoutingTree.build(RouteSpec(receiver="r", escalation="nope"))
    policy = EscalationPolicy("p", (EscalationLevel(timedelta(0), ("r",)),))
    with pytest.raises(RoutingError, match='start level 3 is not a level of policy "p"'):
        RoutingTree.build(
            RouteSpec(receiver="r", escalation="p", escalation_start_level=3), {"p": policy}
        )


# -- identity: keys, ids, paths, group keys ---------------------------------------------------


def test_keys_and_ids_follow_alertmanager() -> None:
    t = tree(
        """
  receiver: root
  routes:
  - match_re: {test: '^[12]$'}
    receiver: r1
    routes:
    - {matchers: ['x!="y"', 'foo=~"a|b"'], receiver: r2}
  - {match: {test: '2'}, receiver: r3}
"""
    )
    r1, r2, r3 = t.routes[1:]
    assert t.root.key == "{}" and t.root.id == "{}"
    # match_re is stored anchored, as Alertmanager stores (and amtool prints) it.
    assert r1.key == '{}/{test=~"^(?:^[12]$)$"}'
    assert r1.id == '{}/{test=~"^(?:^[12]$)$"}/0'
    # Matchers are sorted by name, value, then type.
    assert r2.key == '{}/{test=~"^(?:^[12]$)$"}/{foo=~"a|b",x!="y"}'
    assert r2.id == r2.key + "/0"
    assert r3.id == '{}/{test="2"}/1'
    assert [r.path for r in t.routes] == [
        "route",
        "route.routes[0]",
        "route.routes[0].routes[0]",
        "route.routes[1]",
    ]
    assert [r.index for r in t.routes] == [0, 1, 2, 3]


def test_ids_and_group_keys_are_stable_across_loads_of_the_same_file() -> None:
    a, b = tree(CONTINUE_TREE), tree(CONTINUE_TREE)
    labels = Labels.of({"team": "a", "sev": "page"})
    assert [r.id for r in a.routes] == [r.id for r in b.routes]
    assert [r.group_key(labels) for r in a.match(labels)] == [
        r.group_key(labels) for r in b.match(labels)
    ]


def test_group_key_is_route_key_and_group_labels() -> None:
    t = tree(
        """
  receiver: root
  group_by: [alertname, cluster]
  routes:
  - {matchers: [team="a"], receiver: a, group_by: ['...']}
"""
    )
    labels = Labels.of({"alertname": "Disk", "team": "b", "instance": "x"})
    # A group_by label the alert lacks is left out, not set to "".
    assert t.root.group_key(labels) == '{}:{alertname="Disk"}'
    everything = Labels.of({"team": "a", "b": 'q"uote\n', "a": "é"})
    assert t.routes[1].group_key(everything) == '{}/{team="a"}:{a="é", b="q\\"uote\\n", team="a"}'
    assert t.routes[1].group_labels(everything) == everything


def test_routes_sharing_a_key_still_get_distinct_group_keys() -> None:
    t = tree(
        """
  receiver: root
  routes:
  - {matchers: [x="1"], receiver: one, continue: true}
  - {matchers: [x="1"], receiver: two}
"""
    )
    labels = Labels.of({"x": "1"})
    first, second = t.match(labels)
    assert first.key == second.key == '{}/{x="1"}'
    assert first.group_key(labels) == '{}/{x="1"}:{}'
    assert second.group_key(labels) == '{}/{x="1"}#1:{}'


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("tab\there\n", '"tab\\there\\n"'),
        ("\x00\x7f", '"\\x00\\x7f"'),
        ("\u00a0\u2028", '"\\u00a0\\u2028"'),
        ("héllo ✓", '"héllo ✓"'),
    ],
)
def test_go_quote_is_gos_percent_q(value: str, quoted: str) -> None:
    assert go_quote(value) == quoted


def test_labels_string_sorts_items_as_go_sorts_strings() -> None:
    # "a0=..." sorts before "a=..." ('0' < '='), as sort.Strings on the items does.
    assert labels_string(Labels.of({"a": "1", "a0": "2", "b": "3"})) == '{a0="2", a="1", b="3"}'
    assert labels_string(Labels.of({})) == "{}"


def test_sort_matchers_orders_by_name_value_then_type() -> None:
    ms = [
        Matcher("b", "=", "1"),
        Matcher("a", "!~", "x"),
        Matcher("a", "=", "x"),
        Matcher("a", "=", "w"),
    ]
    assert str(sort_matchers(ms)) == '{a="w",a="x",a!~"x",b="1"}'


def test_routes_are_immutable() -> None:
    route = tree(CONTINUE_TREE).root
    with pytest.raises(AttributeError):
        route.receiver = "other"  # type: ignore[misc]


# -- the candidate index never changes an answer ------------------------------------------------

_NAMES = ["service", "team", "env"]
_VALUES = ["a", "b", "c", "db", "", "ab", "abb", "dbx"]
# Shapes the index reads (fixed sets, prefixes) and shapes it must leave alone.
_REGEXES = [
    "a.*",
    "d.",
    ".*",
    "b|c",
    "^(?:d.*)$",
    "a.*|b",
    "ab*",
    "ab?c?",
    "(?i)A.*",
    "d[b]x?",
    "(a|d)b.*",
    "ab{1,2}",
    "a\\Qb\\E.*",
    "|a",
]


def _naive(route: Route, labels: Labels) -> list[Route]:
    """Alertmanager's Route.Match, literally, without any index."""
    if not route.matchers.matches(labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        sub = _naive(child, labels)
        found += sub
        if sub and not child.continue_:
            break
    return found or [route]


@st.composite
def _matcher(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_NAMES))
    kind = draw(st.sampled_from(["=", "!=", "=~", "!~", "=~alt"]))
    if kind == "=~alt":
        values = draw(st.lists(st.sampled_from(_VALUES), min_size=1, max_size=3))
        return f'{name}=~"{"|".join(values)}"'
    if kind in ("=~", "!~"):
        regex = draw(st.sampled_from(_REGEXES))
        return f'{name}{kind}"{regex}"'
    return f'{name}{kind}"{draw(st.sampled_from(_VALUES))}"'


@st.composite
def _spec(draw: st.DrawFn, depth: int = 0) -> RouteSpec:
    children: tuple[RouteSpec, ...] = ()
    if depth < 2:
        children = tuple(draw(st.lists(_spec(depth + 1), max_size=7)))
    texts = draw(st.lists(_matcher(), max_size=2))
    matchers = Matchers(x for t in texts for x in parse_matchers(t))
    return RouteSpec(
        receiver=f"r{draw(st.integers(0, 99))}",
        matchers=matchers if depth else Matchers(),
        continue_=draw(st.booleans()),
        routes=children,
    )


@settings(max_examples=150, deadline=None)
@given(
    _spec(),
    st.lists(
        st.dictionaries(st.sampled_from(_NAMES), st.sampled_from([v for v in _VALUES if v])),
        min_size=1,
        max_size=8,
    ),
)
def test_the_index_gives_the_same_routes_as_a_plain_walk(
    spec: RouteSpec, label_sets: list[dict[str, str]]
) -> None:
    t = RoutingTree.build(spec)
    for labels in map(Labels.of, label_sets):
        assert t.match(labels) == tuple(_naive(t.root, labels))


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("svc-1-(a|b).*", "svc-1-"),
        ("^(?:svc-1)$", "svc-1"),
        ("^(?:^db-[0-9]+)$", "db-"),
        ("abc*", "ab"),
        ("abc?d", "ab"),
        ("ab{2}", "a"),
        ("svc-1|other", ""),
        ("^(?:a)|(b)$", ""),
        ("(?i)svc", ""),
        ("svc(?i)x", "svc"),
        ("db\\.example", "db"),
        ("x[|]y", "x"),
        (".*", ""),
    ],
)
def test_literal_prefix_is_conservative(pattern: str, prefix: str) -> None:
    assert routing_module._literal_prefix(pattern) == prefix
