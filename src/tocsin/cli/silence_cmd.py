"""`tocsin silence add|query|expire`: silences on a running daemon, as amtool does them.

Arguments and behaviour follow amtool 0.25: a first argument without an operator is the
alertname (`tocsin silence add DiskFull` = `alertname="DiskFull"`); `add` needs a comment
(`--require-comment`, on by default), takes `--author` (default: your login name),
`--duration` (1h) or `--start`/`--end` (RFC 3339), and prints the new silence's id; `query`
lists active and pending silences (`--expired`: expired ones, `--within` to bound them),
`-q` prints only ids; `expire` takes ids and expires each.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.cli.remote import (
    CommandFailed,
    api_from_args,
    emit_json,
    print_table,
    remote_command,
    remote_options,
)
from tocsin.config.durations import DurationError, parse_duration
from tocsin.core.matchers import MatcherError, MatchOp, parse_matchers


def add_parser(sub: Any) -> None:
    common = remote_options()
    p = sub.add_parser("silence", help="add, query and expire silences (as amtool)")
    cmds = p.add_subparsers(dest="silence_command", metavar="COMMAND", required=True)

    add = cmds.add_parser(
        "add",
        parents=[common],
        help="add a silence; prints its id",
        description="Add a silence. The first matcher may be a bare alertname.",
    )
    add.add_argument("matchers", nargs="+", help="label matchers (name=value, name=~regex, ...)")
    add.add_argument("-a", "--author", default=_login(), help="who (default: your login name)")
    add.add_argument(
        "--require-comment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse a silence without a comment (default: on)",
    )
    add.add_argument("-d", "--duration", default="1h", help="how long (default: 1h)")
    add.add_argument("--start", help="RFC 3339 start (default: now)")
    add.add_argument("--end", help="RFC 3339 end (default: start + duration)")
    add.add_argument("-c", "--comment", default="", help="why")
    add.add_argument("-q", "--quiet", action="store_true", help="(the id is all it prints)")
    add.set_defaults(func=cmd_add)

    query = cmds.add_parser(
        "query",
        parents=[common],
        help="list silences",
        description="Active and pending silences matching every matcher (a bare first "
        "argument is the alertname); --expired lists expired ones instead.",
    )
    query.add_argument("matchers", nargs="*", help="filter matchers")
    query.add_argument("--expired", action="store_true", help="show expired silences instead")
    query.add_argument(
        "--within", help="with --expired: only those that expired within this duration (1h)"
    )
    query.add_argument("-q", "--quiet", action="store_true", help="only the ids")
    query.set_defaults(func=cmd_query)

    expire = cmds.add_parser("expire", parents=[common], help="expire silences by id")
    expire.add_argument("ids", nargs="+", metavar="ID")
    expire.set_defaults(func=cmd_expire)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return "tocsin-cli"


def _matcher_texts(texts: list[str]) -> list[str]:
    """amtool's shorthand: a first argument without an operator is the alertname."""
    if texts and not any(op in texts[0] for op in ("=", "!", "~")):
        return [f'alertname="{texts[0]}"', *texts[1:]]
    return texts


def api_matchers(texts: list[str]) -> list[dict[str, Any]]:
    out = []
    for text in _matcher_texts(texts):
        try:
            parsed = parse_matchers(text)
        except MatcherError as exc:
            raise CommandFailed(f"bad matcher {text!r}: {exc}") from None
        for m in parsed:
            out.append(
                {
                    "name": m.name,
                    "value": m.value,
                    "isRegex": m.op in (MatchOp.REGEX, MatchOp.NOT_REGEX),
                    "isEqual": m.op in (MatchOp.EQUAL, MatchOp.REGEX),
                }
            )
    return out


def _time(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandFailed(f"--{what}: not an RFC 3339 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _duration(text: str, what: str) -> timedelta:
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise CommandFailed(f"--{what}: {exc}") from None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@remote_command
def cmd_add(args: argparse.Namespace) -> int:
    if args.require_comment and not args.comment:
        raise CommandFailed("comment required by config (give --comment, or --no-require-comment)")
    matchers = api_matchers(args.matchers)
    now = datetime.now(UTC)
    start = _time(args.start, "start") if args.start else now
    end = _time(args.end, "end") if args.end else start + _duration(args.duration, "duration")
    if end <= start:
        raise CommandFailed(f"the silence would end ({_iso(end)}) before it starts ({_iso(start)})")
    body = {
        "matchers": matchers,
        "startsAt": _iso(start),
        "endsAt": _iso(end),
        "createdBy": args.author,
        "comment": args.comment or "(no comment)",
    }
    with api_from_args(args) as api:
        answer = api.post("/api/v2/silences", json=body)
    if args.output == "json":
        emit_json(answer)
    else:
        print(answer["silenceID"])
    return 0


def _show_matchers(matchers: list[dict[str, Any]]) -> str:
    ops = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
    return " ".join(
        f'{m["name"]}{ops[(bool(m.get("isRegex")), bool(m.get("isEqual", True)))]}"{m["value"]}"'
        for m in matchers
    )


@remote_command
def cmd_query(args: argparse.Namespace) -> int:
    params = [("filter", t) for t in _matcher_texts(args.matchers)]
    within = _duration(args.within, "within") if args.within else None
    with api_from_args(args) as api:
        silences = api.get("/api/v2/silences", params=params)
    now = datetime.now(UTC)
    chosen = []
    for s in silences:
        state = s["status"]["state"]
        if args.expired:
            if state != "expired":
                continue
            if within is not None and _time(s["endsAt"], "endsAt") < now - within:
                continue
        elif state == "expired":
            continue
        chosen.append(s)
    if args.quiet:
        for s in chosen:
            print(s["id"])
    elif args.output == "json":
        emit_json(chosen)
    else:
        print_table(
            [
                [
                    s["id"],
                    _show_matchers(s["matchers"]),
                    s["endsAt"][:19].replace("T", " "),
                    s["createdBy"],
                    s["comment"],
                ]
                for s in chosen
            ],
            ["ID", "MATCHERS", "ENDS AT", "CREATED BY", "COMMENT"],
            empty="no silences",
        )
    return 0


@remote_command
def cmd_expire(args: argparse.Namespace) -> int:
    with api_from_args(args) as api:
        for sid in args.ids:
            api.delete(f"/api/v2/silence/{sid}")
            if args.output != "json":
                print(f"{sid}: expired")
    if args.output == "json":
        emit_json({"expired": args.ids})
    return 0
