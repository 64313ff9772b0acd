"""`tocsin fire SCENARIO [--resolve]` and `tocsin fire --list`: built-in realistic alerts
(tocsin.scenarios) posted to a running daemon through `POST /api/v2/alerts`.

After posting, it shows the live groups the scenario's alerts are in (group id, receiver,
phase), so the next command (`tocsin alerts ack GROUP`) is at hand. `--resolve` sends the
same alerts with `endsAt` now.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.cli.remote import (
    Api,
    CommandFailed,
    api_from_args,
    emit_json,
    print_table,
    remote_command,
    remote_options,
)
from tocsin.scenarios import SCENARIOS, alerts_of


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "fire",
        parents=[remote_options()],
        help="fire a built-in alert scenario at a running daemon",
        description="Post a built-in scenario's alerts (tocsin fire --list shows them).",
    )
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="the scenario's name")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--resolve", action="store_true", help="resolve the scenario's alerts")
    p.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add or override a label on every alert (repeatable)",
    )
    p.set_defaults(func=cmd_fire)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def groups_holding(api: Api, fingerprints: set[str]) -> list[dict[str, Any]]:
    """The live groups holding any of `fingerprints`."""
    groups = api.get("/alerts/active")["groups"]
    return [g for g in groups if any(a["fingerprint"] in fingerprints for a in g["alerts"])]


def wait_for_groups(api: Api, labels: list[dict[str, str]], timeout: float) -> list[dict[str, Any]]:
    """Poll until every alert with one of these label sets is in a live group (or timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        groups = api.get("/alerts/active")["groups"]
        held = [
            g
            for g in groups
            if any(a["labels"] in labels and a.get("firing", True) for a in g["alerts"])
        ]
        found = [ls for ls in labels if any(a["labels"] == ls for g in held for a in g["alerts"])]
        if len(found) == len(labels) or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


@remote_command
def cmd_fire(args: argparse.Namespace) -> int:
    if args.list:
        if args.output == "json":
            emit_json({n: s.description for n, s in SCENARIOS.items()})
        else:
            print_table(
                [[n, s.description] for n, s in SCENARIOS.items()], ["SCENARIO", "WHAT IT IS"]
            )
        return 0
    if not args.scenario:
        raise CommandFailed("give a SCENARIO (tocsin fire --list shows them)")
    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        raise CommandFailed(f"no scenario {args.scenario!r}; there are: {', '.join(SCENARIOS)}")
    extra = {}
    for item in args.label:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandFailed(f"--label {item!r}: expected NAME=VALUE")
        extra[name] = value
    alerts = alerts_of(scenario)
    now = datetime.now(UTC)
    for a in alerts:
        a["labels"].update(extra)
        a["startsAt"] = _iso(now)
        # Firing alerts live an hour unless resolved (a real source would re-send them).
        a["endsAt"] = _iso(now if args.resolve else now + timedelta(hours=1))
    with api_from_args(args) as api:
        api.post("/api/v2/alerts", json=alerts)
        groups = [] if args.resolve else wait_for_groups(api, [a["labels"] for a in alerts], 5.0)
    if args.output == "json":
        emit_json({"scenario": scenario.name, "resolved": args.resolve, "alerts": alerts,
                   "groups": groups})  # fmt: skip
        return 0
    verb = "resolved" if args.resolve else "fired"
    print(f"{verb} {scenario.name}: {len(alerts)} alert(s)")
    for a in alerts:
        print(f"  {a['labels']['alertname']} {{{_labels(a['labels'])}}}")
    if groups:
        print()
        print_table(
            [[g["id"], g["receiver"], g["phase"], g["level"], len(g["alerts"])] for g in groups],
            ["GROUP", "RECEIVER", "PHASE", "LEVEL", "ALERTS"],
        )
    return 0


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname")
