"""`config.original` for `GET /api/v2/status`: the configuration as Alertmanager can load it.

amtool (`config routes test` without `--config.file`, `config show`) loads this text with
Alertmanager's own loader, which refuses keys it does not know. So it is the effective
configuration (`tocsin config show`) minus what Alertmanager would reject: Tocsin's extensions
(`escalation_policies`, `tocsin:`, and per route `escalation`, `escalation_start_level`,
`acknowledge`, `suppress_duration`, `fallback`), templates (Tocsin's are Jinja2), the globals
other than `resolve_timeout`, and the receivers' integrations (only their names are kept —
Alertmanager validates each integration's settings, and credentials do not belong here anyway).
The route tree, inhibit rules and time intervals are kept whole, so routing tests give
Alertmanager's answer for Tocsin's tree.
"""

from __future__ import annotations

from typing import Any, Final

import attrs
import yaml

from tocsin.config import Config
from tocsin.config.dump import dump_config
from tocsin.config.durations import format_duration
from tocsin.config.model import TocsinSettings

__all__ = ["alertmanager_original"]

_ROUTE_EXTENSIONS: Final = frozenset(
    {"escalation", "escalation_start_level", "acknowledge", "suppress_duration", "fallback"}
)


def _route(node: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if k not in _ROUTE_EXTENSIONS}
    if "routes" in out:
        out["routes"] = [_route(child) for child in out["routes"]]
    return out


def alertmanager_original(config: Config) -> str:
    """The Alertmanager-loadable YAML of `config` (see the module docstring)."""
    # The `tocsin:` block is left out before dumping: none of it goes to Alertmanager.
    effective = yaml.safe_load(dump_config(attrs.evolve(config, tocsin=TocsinSettings()))) or {}
    doc: dict[str, Any] = {
        "global": {"resolve_timeout": format_duration(config.global_.resolve_timeout)},
        "route": _route(effective.get("route") or {}),
    }
    if effective.get("inhibit_rules"):
        doc["inhibit_rules"] = effective["inhibit_rules"]
    doc["receivers"] = [{"name": name} for name in config.receivers]
    if effective.get("time_intervals"):
        doc["time_intervals"] = effective["time_intervals"]
    header = (
        f"# {config.source} (sha256 {config.sha256[:12]}) as Alertmanager can load it: Tocsin's\n"
        "# extensions and the receivers' integrations are left out (see tocsin config show).\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
