"""`tocsin heartbeats list|beat|remove`: dead man's switches on a running daemon
(`/api/v1/heartbeats`, see docs/api.md). A heartbeat that misses its interval raises
`HeartbeatMissing`.
"""

from __future__ import annotations

import argparse
from typing import Any

from tocsin.cli.remote import api_from_args, emit_json, print_table, remote_command, remote_options


def add_parser(sub: Any) -> None:
    common = remote_options()
    p = sub.add_parser("heartbeats", help="list, beat and remove heartbeats (dead man's switches)")
    cmds = p.add_subparsers(dest="heartbeats_command", metavar="COMMAND", required=True)
    ls = cmds.add_parser("list", parents=[common], help="every heartbeat and whether it is missing")
    ls.set_defaults(func=cmd_list)
    beat = cmds.add_parser("beat", parents=[common], help="record a beat (registers a new one)")
    beat.add_argument("name")
    beat.add_argument(
        "--interval",
        help="expected interval, e.g. 5m (required for a new heartbeat; changes an existing one)",
    )
    beat.set_defaults(func=cmd_beat)
    rm = cmds.add_parser("remove", parents=[common], help="stop watching a heartbeat")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_remove)


def _every(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


@remote_command
def cmd_list(args: argparse.Namespace) -> int:
    with api_from_args(args) as api:
        beats = api.get("/api/v1/heartbeats")["heartbeats"]
    if args.output == "json":
        emit_json(beats)
    else:
        print_table(
            [
                [
                    b["name"],
                    _every(b["interval_seconds"]),
                    b["last_seen"][:19].replace("T", " "),
                    "MISSING" if b["missing"] else "ok",
                ]
                for b in beats
            ],
            ["NAME", "EVERY", "LAST BEAT", "STATUS"],
            empty="no heartbeats",
        )
    return 0


@remote_command
def cmd_beat(args: argparse.Namespace) -> int:
    body = {"interval": args.interval} if args.interval else {}
    with api_from_args(args) as api:
        hb = api.post(f"/api/v1/heartbeats/{args.name}", json=body)
    if args.output == "json":
        emit_json(hb)
    else:
        print(f"{hb['name']}: beat recorded (expected every {_every(hb['interval_seconds'])})")
    return 0


@remote_command
def cmd_remove(args: argparse.Namespace) -> int:
    with api_from_args(args) as api:
        answer = api.delete(f"/api/v1/heartbeats/{args.name}")
    if args.output == "json":
        emit_json(answer)
    else:
        print(f"{args.name}: removed")
    return 0
