"""`tocsin alerts list|ack|resolve`: the live alerts of a running daemon, and acting on them.

`list` reads `GET /alerts/active` (live groups with their alerts) and prints one row per alert
in each group; matchers (Alertmanager's syntax, as amtool takes them) and `--state` filter on
the client. `ack` and `resolve` take a group id or an alert fingerprint, as the API does.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from tocsin.cli.remote import (
    CommandFailed,
    api_from_args,
    emit_json,
    print_table,
    remote_command,
    remote_options,
)
from tocsin.core.labels import Labels
from tocsin.core.matchers import Matcher, MatcherError, Matchers, parse_matchers

#: Group phases and alert states `--state` accepts.
STATES = ("pending", "firing", "acknowledged", "active", "suppressed", "silenced", "inhibited")


def add_parser(sub: Any) -> None:
    common = remote_options()
    p = sub.add_parser("alerts", help="list, acknowledge and resolve alerts of a running daemon")
    cmds = p.add_subparsers(dest="alerts_command", metavar="COMMAND", required=True)

    ls = cmds.add_parser(
        "list",
        parents=[common],
        help="live alerts, one row per alert and group",
        description="Live alerts (in pending, firing or acknowledged groups). Matchers as "
        "amtool takes them: alertname=DiskFull 'severity=~\"crit.*\"'.",
    )
    ls.add_argument("matchers", nargs="*", help="label matchers; every one must match")
    ls.add_argument(
        "--state",
        choices=STATES,
        help="only groups in this phase (pending, firing, acknowledged) or alerts in this "
        "state (active, suppressed; silenced, inhibited)",
    )
    ls.set_defaults(func=cmd_list)

    for verb, what in (("ack", "acknowledge"), ("resolve", "resolve by hand")):
        c = cmds.add_parser(
            verb,
            parents=[common],
            help=f"{what} a group (by group id or alert fingerprint)",
        )
        c.add_argument("id", help="group id or alert fingerprint (from `tocsin alerts list`)")
        c.add_argument(
            "--by",
            help="who (default: the token's name with a token, else your login name)",
        )
        c.add_argument("--comment", "-c", default="", help="why")
        c.set_defaults(func=cmd_command, verb=verb)


def _matchers(texts: list[str]) -> Matchers:
    out: list[Matcher] = []
    for text in texts:
        try:
            out.extend(parse_matchers(text))
        except MatcherError as exc:
            raise CommandFailed(f"bad matcher {text!r}: {exc}") from None
    return Matchers(out)


def _state_ok(state: str | None, group: dict[str, Any], alert: dict[str, Any]) -> bool:
    if state is None:
        return True
    if state in ("pending", "firing", "acknowledged"):
        return bool(group.get("phase") == state)
    if state == "silenced":
        return bool(alert.get("silenced_by"))
    if state == "inhibited":
        return bool(alert.get("inhibited_by"))
    return bool(alert.get("state") == state)


def rows_of(
    groups: list[dict[str, Any]], matchers: Matchers, state: str | None
) -> list[dict[str, Any]]:
    """One entry per (group, firing alert) passing the filters."""
    out = []
    for g in groups:
        for a in g.get("alerts", []):
            if not a.get("firing", True):
                continue
            if not matchers.matches(Labels.of(a.get("labels", {}))):
                continue
            if not _state_ok(state, g, a):
                continue
            out.append({"group": g, "alert": a})
    return out


@remote_command
def cmd_list(args: argparse.Namespace) -> int:
    matchers = _matchers(args.matchers)
    with api_from_args(args) as api:
        groups = api.get("/alerts/active")["groups"]
    rows = rows_of(groups, matchers, args.state)
    if args.output == "json":
        emit_json(
            [
                {
                    "group_id": r["group"]["id"],
                    "phase": r["group"]["phase"],
                    "level": r["group"]["level"],
                    "receiver": r["group"]["receiver"],
                    "ack": r["group"]["ack"],
                    **r["alert"],
                }
                for r in rows
            ]
        )
        return 0
    table = []
    for r in rows:
        g, a = r["group"], r["alert"]
        labels = a.get("labels", {})
        state = a.get("state", "")
        if a.get("silenced_by"):
            state = "silenced"
        elif a.get("inhibited_by"):
            state = "inhibited"
        table.append(
            [
                g["id"],
                a.get("fingerprint", ""),
                labels.get("alertname", ""),
                labels.get("severity", ""),
                g.get("phase", ""),
                g.get("level", ""),
                state,
                (a.get("starts_at") or "")[:19].replace("T", " "),
                (a.get("annotations") or {}).get("summary", ""),
            ]
        )
    print_table(
        table,
        ["GROUP", "FINGERPRINT", "ALERTNAME", "SEVERITY", "PHASE", "LEVEL", "STATE", "STARTS",
         "SUMMARY"],
        empty="no live alerts",
    )  # fmt: skip
    return 0


@remote_command
def cmd_command(args: argparse.Namespace) -> int:
    by = args.by or (None if args.token else _login())
    body: dict[str, Any] = {"comment": args.comment}
    if by:
        body["by"] = by
    with api_from_args(args) as api:
        answer = api.post(f"/api/v1/alerts/{args.id}/{args.verb}", json=body)
    if args.output == "json":
        emit_json(answer)
        return 0
    for g in answer.get("groups", []):
        if g.get("ok"):
            print(f"{g['id']}: {answer['action']}d by {answer['by']} (now {g.get('phase')})")
        else:
            print(f"{g['id']}: not {answer['action']}d: {g.get('reason')}")
    return 0 if all(g.get("ok") for g in answer.get("groups", [])) else 1


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return "tocsin-cli"
