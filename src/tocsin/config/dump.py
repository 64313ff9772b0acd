"""The effective configuration as YAML, secrets masked: what `tocsin config show` prints.

"Effective" means as Tocsin understood it: `${VAR}` expanded, global defaults filled into
integrations (SMTP settings, Slack URL, PagerDuty URL), legacy `match` / `match_re` written as
`matchers`, relative paths made absolute, `*_file` secrets read. Routes are shown as written
(inheritance is not flattened: `tocsin config routes test --tree` shows the effective tree).
Every secret prints as `<secret>`; the output is for reading, not for loading back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs
import yaml

from tocsin.config.durations import format_duration
from tocsin.config.model import Config, GlobalConfig, Receiver, TocsinSettings
from tocsin.config.secrets import MASK, Secret
from tocsin.core.inhibit import InhibitRule
from tocsin.core.routing import RouteSpec
from tocsin.core.timeintervals import MONTHS, WEEKDAYS, InclusiveRange, TimeIntervalSpec

__all__ = ["dump_config", "to_plain"]

_RENAMED = {"from_": "from", "class_": "class", "continue_": "continue", "global_": "global"}


def to_plain(value: Any) -> Any:
    """`value` as YAML-ready data: attrs objects without their defaults, secrets masked."""
    if isinstance(value, Secret):
        return f"{MASK} (from {value.file})" if value.file else MASK
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, enum.Enum):  # token roles
        return value.value
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if item is None or (default is not attrs.NOTHING and item == default):
                continue
            if isinstance(item, tuple | Mapping) and not item:
                continue
            out[_RENAMED.get(field.name, field.name)] = to_plain(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset):
        items = sorted(value) if isinstance(value, frozenset) else value
        return [to_plain(v) for v in items]
    return value


def _route(spec: RouteSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.receiver:
        out["receiver"] = spec.receiver
    if spec.matchers:
        out["matchers"] = [str(m) for m in spec.matchers]
    if spec.group_by is not None:
        out["group_by"] = list(spec.group_by)
    for key in ("group_wait", "group_interval", "repeat_interval", "suppress_duration"):
        if (value := getattr(spec, key)) is not None:
            out[key] = format_duration(value)
    if spec.continue_:
        out["continue"] = True
    for key in ("mute_time_intervals", "active_time_intervals"):
        if value := getattr(spec, key):
            out[key] = list(value)
    if spec.escalation is not None:
        out["escalation"] = spec.escalation
    if spec.escalation_start_level is not None:
        out["escalation_start_level"] = spec.escalation_start_level
    if spec.acknowledge is not None:
        out["acknowledge"] = "allowed" if spec.acknowledge else "forbidden"
    if spec.fallback is not None:
        out["fallback"] = spec.fallback
    if spec.routes:
        out["routes"] = [_route(child) for child in spec.routes]
    return out


def _names(ranges: tuple[InclusiveRange, ...], names: tuple[str, ...], offset: int) -> list[str]:
    out = []
    for r in ranges:
        begin, end = names[r.begin - offset], names[r.end - offset]
        out.append(begin if r.begin == r.end else f"{begin}:{end}")
    return out


def _numbers(ranges: tuple[InclusiveRange, ...]) -> list[str]:
    return [str(r.begin) if r.begin == r.end else f"{r.begin}:{r.end}" for r in ranges]


def _spec(spec: TimeIntervalSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.times is not None:
        out["times"] = [
            {"start_time": str(t).split("-")[0], "end_time": str(t).split("-")[1]}
            for t in spec.times
        ]
    if spec.weekdays is not None:
        out["weekdays"] = _names(spec.weekdays, WEEKDAYS, 0)
    if spec.days_of_month is not None:
        out["days_of_month"] = _numbers(spec.days_of_month)
    if spec.months is not None:
        out["months"] = _names(spec.months, MONTHS, 1)
    if spec.years is not None:
        out["years"] = _numbers(spec.years)
    if spec.location_name is not None:
        out["location"] = spec.location_name
    return out


def _receiver(receiver: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.name}
    for integration in receiver.integrations:
        out.setdefault(f"{integration.kind}_configs", []).append(to_plain(integration))
    return out


def _inhibit(rule: InhibitRule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.name:
        out["name"] = rule.name
    out["source_matchers"] = [str(m) for m in rule.source_matchers]
    out["target_matchers"] = [str(m) for m in rule.target_matchers]
    if rule.equal:
        out["equal"] = list(rule.equal)
    return out


def dump_config(config: Config) -> str:
    """The effective configuration as YAML text, every secret masked."""
    doc: dict[str, Any] = {
        "global": to_plain(config.global_) or to_plain(GlobalConfig()),
        "route": _route(config.route_spec),
    }
    if config.inhibit_rules:
        doc["inhibit_rules"] = [_inhibit(r) for r in config.inhibit_rules]
    doc["receivers"] = [_receiver(r) for r in config.receivers.values()]
    if config.time_intervals:
        doc["time_intervals"] = [
            {"name": ti.name, "time_intervals": [_spec(s) for s in ti.specs]}
            for ti in config.time_intervals.values()
        ]
    if config.template_patterns:
        doc["templates"] = list(config.template_patterns)
    if config.escalation_policies:
        doc["escalation_policies"] = [
            {
                "name": p.name,
                "levels": [
                    {"after": format_duration(lv.after), "receivers": list(lv.receivers)}
                    for lv in p.levels
                ],
                **({} if config.escalation_repeat.get(p.name, True) else {"repeat": False}),
            }
            for p in config.escalation_policies.values()
        ]
    tocsin = to_plain(config.tocsin)
    if tocsin != to_plain(TocsinSettings()):
        tokens = tocsin.pop("auth_tokens", None)
        if tokens:  # written as `auth: {tokens: [...]}` in the file
            tocsin["auth"] = {"tokens": tokens}
        doc["tocsin"] = tocsin
    header = f"# Effective configuration from {config.source} (sha256 {config.sha256[:12]})\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True
