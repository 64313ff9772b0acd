"""`inhibit_rules:`, `time_intervals:` (and the deprecated `mute_time_intervals:`) and Tocsin's
`escalation_policies:`.

Time zones are looked up here, in the zone database (`zoneinfo`: the system's, or the `tzdata`
package), as Go's `time.LoadLocation` does: "" and "UTC" are UTC, "Local" is the machine's
zone ($TZ from the environment passed in, else /etc/localtime), anything else an IANA name,
case-sensitive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from tocsin.config.errors import q
from tocsin.config.routes import Reference, read_matchers
from tocsin.config.yaml_nodes import MapView, Reader
from tocsin.core.events import EscalationLevel, EscalationPolicy
from tocsin.core.inhibit import InhibitRule
from tocsin.core.labels import InvalidLabel, validate_label_name
from tocsin.core.matchers import Matchers
from tocsin.core.timeintervals import (
    InclusiveRange,
    TimeInterval,
    TimeIntervalError,
    TimeIntervalSpec,
    TimeRange,
    parse_day_of_month_range,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)

__all__ = ["load_zone", "read_escalation_policies", "read_inhibit_rules", "read_time_intervals"]

_INHIBIT_KEYS: Final = frozenset(
    {
        "name",
        "source_match",
        "source_match_re",
        "source_matchers",
        "target_match",
        "target_match_re",
        "target_matchers",
        "equal",
    }
)
_SPEC_KEYS: Final = frozenset({"times", "weekdays", "days_of_month", "months", "years", "location"})
_RANGE_PARSERS: Final[dict[str, Callable[[str], InclusiveRange]]] = {
    "weekdays": parse_weekday_range,
    "days_of_month": parse_day_of_month_range,
    "months": parse_month_range,
    "years": parse_year_range,
}


def read_inhibit_rules(reader: Reader, root: MapView) -> tuple[InhibitRule, ...]:
    rules = []
    for node, path in root.seq("inhibit_rules"):
        view = reader.map(node, path, _INHIBIT_KEYS)
        if view is None:
            continue
        source = read_matchers(
            view,
            equal_key="source_match",
            regex_key="source_match_re",
            matchers_key="source_matchers",
        )
        target = read_matchers(
            view,
            equal_key="target_match",
            regex_key="target_match_re",
            matchers_key="target_matchers",
        )
        equal = view.strings("equal") or ()
        for name in equal:
            try:
                validate_label_name(name)
            except InvalidLabel:
                view.error("equal", f"invalid label name {q(name)} in equal list")
        rules.append(
            InhibitRule(Matchers(source), Matchers(target), equal, view.string("name") or "")
        )
    return tuple(rules)


def load_zone(name: str, env: Mapping[str, str]) -> tzinfo:
    """The zone `name` as Go's `time.LoadLocation` finds it. Raises `TimeIntervalError`."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        tz = env.get("TZ")
        if tz is None:
            try:
                with open("/etc/localtime", "rb") as f:
                    return ZoneInfo.from_file(f, key="Local")
            except (OSError, ValueError):
                return UTC
        name = tz.removeprefix(":")
        if name in ("", "UTC"):
            return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimeIntervalError(f"unknown time zone {name}") from None


def _spec(reader: Reader, node: yaml.Node, path: str) -> TimeIntervalSpec | None:
    view = reader.map(node, path, _SPEC_KEYS)
    if view is None:
        return None
    ok = True
    times: tuple[TimeRange, ...] | None = None
    if "times" in view and not view.is_null("times"):
        ranges = []
        for item, item_path in view.seq("times"):
            t = reader.map(item, item_path, {"start_time", "end_time"})
            if t is None:
                ok = False
                continue
            try:
                ranges.append(parse_time_range(t.string("start_time"), t.string("end_time")))
            except TimeIntervalError as exc:
                reader.error(item, item_path, str(exc))
                ok = False
        times = tuple(ranges)
    fields: dict[str, tuple[InclusiveRange, ...] | None] = {}
    for key, parse in _RANGE_PARSERS.items():
        values = view.strings(key)
        if values is None:
            fields[key] = None
            continue
        parsed = []
        for text, value_node, value_path in view.string_items(key):
            try:
                parsed.append(parse(text))
            except TimeIntervalError as exc:
                reader.error(value_node, value_path, str(exc))
                ok = False
        fields[key] = tuple(parsed)
    location_name = view.string("location")
    location = None
    if location_name is not None:
        try:
            location = load_zone(location_name, reader.env)
        except TimeIntervalError as exc:
            view.error("location", str(exc))
            ok = False
    if not ok:
        return None
    return TimeIntervalSpec(
        times=times,
        location=location,
        location_name=location_name,
        **fields,
    )


def read_time_intervals(
    reader: Reader, root: MapView
) -> tuple[dict[str, TimeInterval], dict[str, yaml.Node]]:
    """Both `mute_time_intervals` (deprecated) and `time_intervals`, by name, with name nodes."""
    intervals: dict[str, TimeInterval] = {}
    nodes: dict[str, yaml.Node] = {}
    if "mute_time_intervals" in root and not root.is_null("mute_time_intervals"):
        reader.warn(
            root.key_node("mute_time_intervals"),
            "mute_time_intervals",
            "deprecated: rename it to time_intervals (it works the same)",
        )
    for key, what in (
        ("mute_time_intervals", "mute time interval"),
        ("time_intervals", "time interval"),
    ):
        for node, path in root.seq(key):
            view = reader.map(node, path, {"name", "time_intervals"})
            if view is None:
                continue
            name = view.string("name")
            if not name:
                reader.error(node, path, f"missing name in {what}")
                continue
            if name in nodes:
                view.error("name", f"{what} {q(name)} is not unique")
                continue
            nodes[name] = view.value_node("name") or node
            specs = [_spec(reader, item, p) for item, p in view.seq("time_intervals")]
            intervals[name] = TimeInterval(name, tuple(s for s in specs if s is not None))
    return intervals, nodes


def read_escalation_policies(
    reader: Reader, root: MapView, refs: list[Reference]
) -> tuple[dict[str, EscalationPolicy], dict[str, bool], dict[str, yaml.Node]]:
    """Policies by name, whether each repeats its last level, and each name's node."""
    policies: dict[str, EscalationPolicy] = {}
    repeats: dict[str, bool] = {}
    nodes: dict[str, yaml.Node] = {}
    for node, path in root.seq("escalation_policies"):
        view = reader.map(node, path, {"name", "levels", "repeat"})
        if view is None:
            continue
        name = view.string("name")
        if not name:
            reader.error(node, path, "missing name in escalation policy")
            continue
        if name in nodes:
            view.error("name", f"escalation policy {q(name)} is not unique")
            continue
        nodes[name] = view.value_node("name") or node
        levels = []
        previous = None
        for item, item_path in view.seq("levels"):
            lv = reader.map(item, item_path, {"after", "receivers"})
            if lv is None:
                continue
            after = lv.duration("after")
            if after is None and "after" not in lv:
                reader.error(
                    item, item_path, "missing after (how long after the first notification)"
                )
            items = lv.string_items("receivers")
            receivers = tuple(text for text, _, _ in items)
            if not receivers:
                reader.error(item, item_path, "a level needs at least one receiver")
            for receiver, rnode, rpath in items:
                refs.append(Reference("receiver", receiver, rnode, rpath))
            if after is not None and previous is not None and after < previous:
                lv.error(
                    "after",
                    "levels must be in order: this level's after is shorter than the previous one's",
                )
            if after is not None:
                previous = after
                levels.append(EscalationLevel(after, receivers))
        if not levels and not view.seq("levels"):
            reader.error(node, path, "an escalation policy needs at least one level")
        repeat = view.boolean("repeat")
        repeats[name] = True if repeat is None else repeat
        policies[name] = EscalationPolicy(name, tuple(levels), repeat=repeats[name])
    return policies, repeats, nodes
