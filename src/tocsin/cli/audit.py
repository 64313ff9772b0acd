"""Audit from the journal: the state at any past moment, and why an alert was (not) notified.

Both read the journal directly (daemon running or not) and fold it with the same `World.apply`
the daemon runs, so "the state at 03:12" is exactly what the daemon held at 03:12 — minus
what is never journaled (re-sends that only moved endsAt; see docs/runtime.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import attrs

from tocsin.core.codec import CODEC, CodecError, from_micros, to_jsonable
from tocsin.core.events import (
    Acknowledged,
    AlertReceived,
    AlertResolved,
    Escalated,
    Event,
    FlushOutcome,
    GroupEvent,
    GroupFlushed,
    GroupOpened,
    GroupResolved,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    SilenceCreated,
    SilenceData,
    Unacknowledged,
)
from tocsin.core.group_state import GroupState, Phase
from tocsin.core.replay import gc_paused, rebuild
from tocsin.core.silences import silence_state
from tocsin.core.world import World
from tocsin.journal import JournalReader, StoredRecord

__all__ = [
    "duration",
    "events_until",
    "explain",
    "records_kept",
    "render_state",
    "state_json",
    "world_at",
]


def events_until(
    records: Iterable[StoredRecord], until_us: int | None
) -> Iterator[tuple[StoredRecord, Event]]:
    """Decoded events up to (and including) `until_us`; undecodable records are skipped."""
    for rec in records:
        if until_us is not None and rec.ts > until_us:
            return
        try:
            yield rec, CODEC.decode(rec.type, rec.version, rec.payload)
        except CodecError:
            continue


def world_at(reader: JournalReader, at_us: int | None) -> World:
    """The whole state as of `at_us` (None: now). Starts from the newest snapshot taken at or
    before `at_us` when there is one (retention keeps older snapshots than the newest, and
    only the records after the oldest kept one). Raises `RecordsCompacted` when the moment
    lies before what retention kept."""
    with gc_paused():
        snapshot = reader.load_snapshot(until_ts=at_us)
        return rebuild(reader, snapshot, until_us=at_us, skip_undecodable=True)


def records_kept(reader: JournalReader, after: int = 0) -> tuple[Iterator[StoredRecord], str]:
    """The records after `after` that are still stored, and a note saying which are not (empty
    when none is missing): retention removes segments a snapshot covers, and a tool reading
    the history shows what is left rather than fail."""
    first = reader.first_seq()
    if after >= first - 1:
        return reader.read(after), ""
    return reader.read(first - 1), (
        f"records {after + 1} to {first - 1} were removed by retention (snapshots cover them): "
        f"this starts at {first}"
    )


def _iso(t: datetime | None) -> str:
    return "-" if t is None else t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _age(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "-"
    secs = int((now - t).total_seconds())
    if secs < 3600:
        return f"{secs // 60}m{secs % 60:02d}s"
    return f"{secs // 3600}h{(secs % 3600) // 60:02d}m"


def _live(world: World) -> list[GroupState]:
    live = (Phase.PENDING, Phase.FIRING, Phase.ACKNOWLEDGED)
    return sorted(
        (g for g in world.groups.values() if g.phase in live), key=lambda g: g.opened_at or 0
    )


def render_state(world: World, at: datetime) -> str:
    groups = _live(world)
    lines = [
        f"state at {_iso(at)} (journal seq {world.applied_seq}): "
        f"{len(groups)} active groups, "
        f"{sum(1 for g in groups for a in g.alerts.values() if a.firing)} firing alerts"
    ]
    if groups:
        lines.append("")
        lines.append(
            f"{'GROUP':<16}  {'STATE':<12}  {'LEVEL':>5}  {'AGE':>7}  {'ALERTS':>6}  "
            f"{'RECEIVER':<20}  GROUP LABELS / ACK"
        )
    for g in groups:
        firing = sum(1 for a in g.alerts.values() if a.firing)
        receiver = g.policy.receiver if g.policy else "-"
        level = str(g.level) if g.level >= 0 else "-"
        ack = f"  acked by {g.ack.by} at {_iso(g.ack.at)}" if g.ack else ""
        lines.append(
            f"{g.group_id:<16}  {g.phase.value:<12}  {level:>5}  {_age(g.opened_at, at):>7}  "
            f"{firing:>6}  {receiver:<20}  {g.group_labels!r}{ack}"
        )
        for fp, a in sorted(g.alerts.items()):
            state = "firing" if a.firing else f"resolved {_iso(a.resolved_at)}"
            lines.append(f"    {fp}  {state:<30}  {a.alert.labels!r}")
    silences = [s for s in world.silences.values() if silence_state(s, at).value != "expired"]
    lines.append("")
    lines.append(f"silences: {len(silences)} active or pending")
    for s in sorted(silences, key=lambda s: s.starts_at):
        matchers = ", ".join(f"{n}{op}{json.dumps(v)}" for n, op, v in s.matchers)
        lines.append(
            f"    {s.id}  {silence_state(s, at).value:<8}  {_iso(s.starts_at)} .. "
            f"{_iso(s.ends_at)}  {{{matchers}}}  by {s.created_by}: {s.comment}"
        )
    return "\n".join(lines)


def _silence_json(s: SilenceData, at: datetime) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(SilenceCreated(s, at))["silence"]
    data["state"] = silence_state(s, at).value
    return data


def state_json(world: World, at: datetime) -> str:
    out: dict[str, Any] = {"at": _iso(at), "seq": world.applied_seq, "groups": [], "silences": []}
    for g in _live(world):
        out["groups"].append(
            {
                "group_id": g.group_id,
                "group_key": g.group_key,
                "group_labels": g.group_labels.to_dict(),
                "state": g.phase.value,
                "episode": g.episode,
                "escalation_level": g.level,
                "receiver": g.policy.receiver if g.policy else None,
                "opened_at": _iso(g.opened_at),
                "acknowledged": None
                if g.ack is None
                else {"by": g.ack.by, "comment": g.ack.comment, "at": _iso(g.ack.at)},
                "alerts": [
                    {
                        "fingerprint": fp,
                        "labels": a.alert.labels.to_dict(),
                        "annotations": a.alert.annotations.to_dict(),
                        "state": "firing" if a.firing else "resolved",
                        "starts_at": _iso(a.alert.starts_at),
                        "resolved_at": _iso(a.resolved_at),
                    }
                    for fp, a in sorted(g.alerts.items())
                ],
            }
        )
    out["silences"] = [
        _silence_json(s, at)
        for s in world.silences.values()
        if silence_state(s, at).value != "expired"
    ]
    return json.dumps(out, indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------------------ explain
@attrs.define
class _Trail:
    fingerprint: str
    groups: set[str] = attrs.Factory(set)
    lines: list[str] = attrs.Factory(list)
    labels: str = ""
    notified: int = 0
    delivered: int = 0
    failed: int = 0
    requested: dict[str, str] = attrs.Factory(dict)  # notification id -> receiver
    silences: dict[str, SilenceData] = attrs.Factory(dict)
    state: str = "never received"  # "firing", or "resolved (why)"
    group: str = ""  # the group it was last received into
    acked: dict[str, str] = attrs.Factory(dict)  # group id -> who acknowledged its episode

    @property
    def last_state(self) -> str:
        """Its state, and for a firing alert the acknowledgement of its group's episode."""
        by = self.acked.get(self.group)
        return f"firing, acknowledged by {by}" if self.state == "firing" and by else self.state


def explain(reader: JournalReader, fingerprint: str, at_us: int | None) -> list[str]:
    """A timeline of everything the journal says about one alert, and a verdict."""
    trail = _Trail(fingerprint)
    opened: dict[str, GroupOpened] = {}
    records, missing = records_kept(reader)
    for rec, ev in events_until(records, at_us):
        if isinstance(ev, SilenceCreated):
            trail.silences[ev.silence.id] = ev.silence
        if not isinstance(ev, GroupEvent):
            continue
        if isinstance(ev, GroupOpened):
            opened[ev.group_id] = ev
            continue
        _follow(trail, ev, opened, from_micros(rec.ts))
    head = [f"alert {fingerprint} {trail.labels or '(not in the journal)'}"]
    if missing:
        head.append(f"  ({missing})")
    at = "now" if at_us is None else _iso(from_micros(at_us))
    verdict = (
        f"as of {at}: {trail.last_state}; {trail.notified} notifications requested, "
        f"{trail.delivered} delivered, {trail.failed} failed attempts"
    )
    if trail.labels and not trail.notified:
        verdict += " — nobody was notified (see the flushes above for why)"
    return [*head, *trail.lines, verdict]


def duration(td: timedelta) -> str:
    """A duration as Prometheus writes it: 30s, 5m, 1h30m, 0s."""
    secs = int(td.total_seconds())
    if secs == 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            out += f"{secs // size}{unit}"
            secs %= size
    return out


def _group_line(ev: GroupOpened) -> str:
    p = ev.policy
    route = f"route {p.route_id}, " if p.route_id else ""
    esc = f", escalation {p.escalation.name}" if p.escalation else ""
    return (
        f"  group {ev.group_id} ({route}receiver {p.receiver}{esc}; group_wait "
        f"{duration(p.group_wait)}, group_interval {duration(p.group_interval)}, repeat "
        f"{duration(p.repeat_interval)}; key {ev.group_key})"
    )


def _follow(trail: _Trail, ev: GroupEvent, opened: dict[str, GroupOpened], ts: datetime) -> None:
    fp, gid, say = trail.fingerprint, ev.group_id, trail.lines.append
    t = _iso(ts)
    if isinstance(ev, AlertReceived) and ev.alert.fingerprint == fp:
        if gid not in trail.groups:
            trail.groups.add(gid)
            if gid in opened:
                say(_group_line(opened[gid]))
        trail.labels = repr(ev.alert.labels)
        trail.state, trail.group = "firing", gid
        say(f"  {t}  received ({ev.change.value}) into group {gid}")
        return
    # A notification's outcome may be journaled after its group's episode ended (the
    # notification of a manual resolve, say): matched by its id, not by the group.
    if isinstance(ev, NotificationDelivered) and ev.notification_id in trail.requested:
        trail.delivered += 1
        code = f"HTTP {ev.status_code}, " if ev.status_code else ""
        say(
            f"  {t}    ✓ delivered to {ev.receiver} via {ev.integration} "
            f"({code}attempt {ev.attempt})"
        )
        return
    if isinstance(ev, NotificationFailed) and ev.notification_id in trail.requested:
        trail.failed += 1
        final = "gave up" if ev.permanent else "will retry"
        say(
            f"  {t}    ✗ {ev.receiver} via {ev.integration} failed (attempt {ev.attempt}: "
            f"{ev.error}; {final})"
        )
        return
    if gid not in trail.groups:
        return
    if isinstance(ev, AlertResolved) and ev.fingerprint == fp:
        trail.state = f"resolved ({ev.reason.value})"
        say(f"  {t}  resolved: {ev.reason.value}")
    elif isinstance(ev, GroupFlushed) and (
        fp in ev.firing or fp in ev.resolved or any(m.fingerprint == fp for m in ev.mutes)
    ):
        mine = [m for m in ev.mutes if m.fingerprint == fp]
        if mine:
            m = mine[0]
            why = f"{m.kind.value} by {m.by}"
            silence = trail.silences.get(m.by)
            if silence is not None:
                why += f" (created by {silence.created_by}: {silence.comment!r})"
            if m.detail:
                why += f" — {m.detail}"
            say(f"  {t}  flush of group {gid}: this alert was left out: {why}")
        elif ev.outcome is FlushOutcome.NOTIFIED:
            say(f"  {t}  flush of group {gid}: notified ({ev.reason})")
        else:
            say(f"  {t}  flush of group {gid}: {ev.outcome.value}")
    elif isinstance(ev, NotificationRequested) and (fp in ev.firing or fp in ev.resolved):
        trail.notified += 1
        trail.requested[ev.notification_id] = ev.receiver
        say(f"  {t}    → {ev.receiver}: {ev.reason.value} (level {ev.level}, {ev.notification_id})")
    elif isinstance(ev, Escalated):
        say(f"  {t}  group {gid} escalated to level {ev.level}: {', '.join(ev.receivers)}")
    elif isinstance(ev, Acknowledged):
        trail.acked[gid] = ev.by
        say(f"  {t}  group {gid} acknowledged by {ev.by}: {ev.comment!r}")
    elif isinstance(ev, Unacknowledged):
        trail.acked.pop(gid, None)
        say(f"  {t}  group {gid} unacknowledged by {ev.by}")
    elif isinstance(ev, GroupResolved):
        say(f"  {t}  group {gid} episode ended ({ev.reason.value})")
        trail.groups.discard(gid)
        trail.acked.pop(gid, None)
