"""`tocsin journal verify|replay|state|explain`: read a journal directly, daemon running or not.

Both commands are read-only: they never truncate, lock or create anything, so they are safe
against a live daemon's journal (a batch being written shows as a torn tail and is skipped).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from tocsin.cli import audit
from tocsin.core.codec import CODEC, CodecError, from_micros, to_jsonable, to_micros
from tocsin.journal import (
    JournalError,
    StoredRecord,
    VerifyReport,
    open_journal_reader,
    verify,
)

# A replay this long (in records) gets a progress bar when stderr is a terminal.
PROGRESS_THRESHOLD = 50_000


def add_parser(sub: Any, default_data_dir: str) -> None:
    journal = sub.add_parser("journal", help="inspect the event journal")
    jsub = journal.add_subparsers(dest="journal_command", metavar="COMMAND", required=True)

    v = jsub.add_parser(
        "verify",
        help="check every record and snapshot; exit 1 if anything is corrupt",
        description="Check every record's length and CRC, sequence continuity and every "
        "snapshot. Exit 0 when clean (a torn tail from a crash is reported, not an error), "
        "1 when corrupt.",
    )
    v.add_argument("--data-dir", default=default_data_dir, help="journal directory")
    v.set_defaults(func=cmd_verify)

    r = jsub.add_parser(
        "replay",
        help="print events, one per line",
        description="Print every event of the journal, one per line, oldest first.",
    )
    r.add_argument("--data-dir", default=default_data_dir, help="journal directory")
    r.add_argument("--since", metavar="SEQ|TIME", help="from this sequence number or time on")
    r.add_argument("--until", metavar="SEQ|TIME", help="up to this sequence number or time")
    r.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="T",
        help="only events of this type tag (repeatable; shell patterns like 'alert.*' work)",
    )
    r.add_argument("--group", metavar="ID", help="only events of this alert group")
    r.add_argument("--format", choices=["text", "jsonl"], default="text")
    r.set_defaults(func=cmd_replay)

    st = jsub.add_parser(
        "state",
        help="the full state at a past moment",
        description="Active groups and alerts, acknowledgements, escalation levels and silences "
        "as the daemon held them at --at (default: the end of the journal).",
    )
    st.add_argument("--data-dir", default=default_data_dir, help="journal directory")
    st.add_argument("--at", metavar="TIME", help="ISO-8601 time, e.g. 2026-03-01T03:12:00Z")
    st.add_argument("--format", choices=["table", "json"], default="table")
    st.set_defaults(func=cmd_state)

    ex = jsub.add_parser(
        "explain",
        help="why an alert was or was not notified",
        description="Everything the journal says about one alert: the group it joined (route, "
        "receiver, timers), each flush and what muted it (silence, inhibit rule, time interval, "
        "suppression), escalation steps, acknowledgements, and every notification with its "
        "delivery outcome.",
    )
    ex.add_argument("--data-dir", default=default_data_dir, help="journal directory")
    ex.add_argument("--alert", required=True, metavar="FINGERPRINT", help="16 hex digits")
    ex.add_argument("--at", metavar="TIME", help="only what was known at this time")
    ex.set_defaults(func=cmd_explain)


# ------------------------------------------------------------------------------- verify
def _iso(us: int | None) -> str:
    if us is None:
        return "-"
    return from_micros(us).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_report(report: VerifyReport) -> str:
    lines = [f"journal {report.directory}: {'OK' if report.ok else 'CORRUPT'}"]
    lines.append(f"segments: {len(report.segments)}")
    for s in report.segments:
        span = f"seq {s.first_seq}..{s.last_seq}" if s.first_seq is not None else "empty"
        lines.append(f"  {s.name}  {s.records} records  {s.size} bytes  {span}")
    span = f" (seq {report.first_seq}..{report.last_seq})" if report.first_seq else ""
    lines.append(f"records: {report.total_records}{span}")
    lines.append(f"time: {_iso(report.first_ts)} .. {_iso(report.last_ts)}")
    torn = report.torn_tail
    if torn is None:
        lines.append("torn tail: none")
    else:
        lines.append(
            f"torn tail: {torn.length} bytes at offset {torn.offset} of {torn.segment} "
            f"({torn.reason}); a crash mid-write leaves this, and the daemon truncates it "
            "when it next opens the journal"
        )
    if report.snapshots:
        lines.append(f"snapshots: {len(report.snapshots)}")
        for snap in report.snapshots:
            state = "ok" if snap.valid else f"BAD: {snap.problem}"
            lines.append(f"  {snap.name}  seq {snap.seq}  {_iso(snap.ts)}  {state}")
    else:
        lines.append("snapshots: none")
    if report.corruption is not None:
        c = report.corruption
        lines.append(f"corruption: {c.segment} at byte offset {c.offset}: {c.reason}")
    for gap in report.gaps:
        lines.append(
            f"gap: {gap.segment} at byte offset {gap.offset}: "
            f"expected seq {gap.expected}, found {gap.found}"
        )
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        report = verify(args.data_dir)
    except JournalError as exc:
        print(f"tocsin journal verify: {exc}", file=sys.stderr)
        return 1
    print(render_report(report))
    return 0 if report.ok else 1


# ------------------------------------------------------------------------------- replay
class Bound:
    """A `--since`/`--until` bound: a sequence number or a time."""

    def __init__(self, text: str) -> None:
        self.seq: int | None = None
        self.ts: int | None = None
        if text.isdigit():
            self.seq = int(text)
            return
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is neither a sequence number nor an ISO-8601 time "
                "(e.g. 2026-03-01T03:12:00Z)"
            ) from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        self.ts = to_micros(t)

    def before(self, rec: StoredRecord) -> bool:
        """True when `rec` comes before this bound."""
        return rec.seq < self.seq if self.seq is not None else rec.ts < (self.ts or 0)

    def after(self, rec: StoredRecord) -> bool:
        """True when `rec` comes after this bound."""
        return rec.seq > self.seq if self.seq is not None else rec.ts > (self.ts or 0)


def select(
    records: Iterable[StoredRecord],
    since: Bound | None,
    until: Bound | None,
    types: list[str],
    group: str | None,
) -> Iterator[StoredRecord]:
    patterns = [t for t in types if any(ch in t for ch in "*?[")]
    exact = {t for t in types if t not in patterns}
    for rec in records:
        if since is not None and since.before(rec):
            continue
        if until is not None and until.after(rec):
            return
        if (
            types
            and rec.type not in exact
            and not any(fnmatch.fnmatchcase(rec.type, p) for p in patterns)
        ):
            continue
        if group is not None and rec.payload.get("group_id") != group:
            continue
        yield rec


def record_data(rec: StoredRecord) -> tuple[dict[str, Any], str | None]:
    """The event's fields as JSON-ready data, or the raw payload and why it did not decode."""
    try:
        return to_jsonable(CODEC.decode(rec.type, rec.version, rec.payload)), None
    except CodecError as exc:
        return rec.payload, str(exc)


def format_jsonl(rec: StoredRecord) -> str:
    data, problem = record_data(rec)
    line: dict[str, Any] = {
        "seq": rec.seq,
        "ts": _iso(rec.ts),
        "type": rec.type,
        "version": rec.version,
        "data": data,
    }
    if problem:
        line["undecoded"] = problem
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and '"' not in value else json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def format_text(rec: StoredRecord) -> str:
    data, problem = record_data(rec)
    fields = dict(data)
    group = fields.pop("group_id", None)
    fields.pop("at", None)
    parts = [f"{rec.seq:>8}", _iso(rec.ts), rec.type]
    if group is not None:
        parts.append(f"group={group}")
    parts.extend(f"{k}={_short(v)}" for k, v in fields.items())
    if problem:
        parts.append(f"(undecoded: {problem})")
    return "  ".join(parts[:3]) + "  " + " ".join(parts[3:])


def _progress(total: int, stream: TextIO) -> Callable[[], None] | None:
    if total < PROGRESS_THRESHOLD or not stream.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="ev", unit_scale=True, file=stream, leave=False)
    return lambda: bar.update(1)


def time_arg(text: str | None) -> int | None:
    """An optional ISO-8601 `--at`/`--since` time as microseconds. Raises ArgumentTypeError."""
    if text is None:
        return None
    bound = Bound(text)
    if bound.ts is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (e.g. 2026-03-01T03:12:00Z)")
    return bound.ts


def cmd_state(args: argparse.Namespace) -> int:
    try:
        at_us = time_arg(args.at)
    except argparse.ArgumentTypeError as exc:
        print(f"tocsin journal state: {exc}", file=sys.stderr)
        return 2
    try:
        with open_journal_reader(args.data_dir) as reader:
            world = audit.world_at(reader, at_us)
    except JournalError as exc:
        print(f"tocsin journal state: {exc}", file=sys.stderr)
        return 1
    at = from_micros(at_us) if at_us is not None else datetime.now(UTC)
    render = audit.state_json if args.format == "json" else audit.render_state
    print(render(world, at))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    try:
        at_us = time_arg(args.at)
    except argparse.ArgumentTypeError as exc:
        print(f"tocsin journal explain: {exc}", file=sys.stderr)
        return 2
    try:
        with open_journal_reader(args.data_dir) as reader:
            lines = audit.explain(reader, args.alert.lower(), at_us)
    except JournalError as exc:
        print(f"tocsin journal explain: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _counted(records: Iterable[StoredRecord], tick: Callable[[], None]) -> Iterator[StoredRecord]:
    for rec in records:
        tick()
        yield rec


def cmd_replay(args: argparse.Namespace) -> int:
    try:
        since = Bound(args.since) if args.since else None
        until = Bound(args.until) if args.until else None
    except argparse.ArgumentTypeError as exc:
        print(f"tocsin journal replay: {exc}", file=sys.stderr)
        return 2
    fmt = format_jsonl if args.format == "jsonl" else format_text
    out = sys.stdout
    try:
        with open_journal_reader(args.data_dir) as reader:
            after = since.seq - 1 if since is not None and since.seq is not None else 0
            kept, missing = audit.records_kept(reader, max(after, 0))
            if missing:
                print(f"tocsin journal replay: {missing}", file=sys.stderr)
            records: Iterable[StoredRecord] = kept
            tick = _progress(reader.last_seq - after, sys.stderr)
            if tick is not None:
                records = _counted(records, tick)
            for rec in select(records, since, until, args.type, args.group):
                out.write(fmt(rec))
                out.write("\n")
            if reader.torn_tail is not None:
                t = reader.torn_tail
                print(
                    f"tocsin journal replay: stopped before {t.length} torn bytes at offset "
                    f"{t.offset} of {t.segment}",
                    file=sys.stderr,
                )
    except BrokenPipeError:
        return 0  # `| head` closed the pipe: not an error
    except JournalError as exc:
        print(f"tocsin journal replay: {exc}", file=sys.stderr)
        return 1
    return 0
