"""Self-monitoring: Tocsin raises alerts about itself, routed like any other alert.

Theory of operation
-------------------
The monitor watches the event log (deliveries, failed attempts, circuits) and the ingest path
(latency), and every `check_interval` it probes memory and the journal's disk. Each condition
that holds is sent in as an alert with `source="tocsin"` and an `endsAt` a few intervals ahead,
re-sent at every check while it holds — so it notifies once, is reminded on the route's repeat
interval, and resolves by itself when the condition clears (or at once, for conditions the
monitor sees clear).

Conditions (alertname, severity):
- `TocsinNotificationFailures` (warning): more than 5% of delivery attempts of an integration
  (of one receiver) failed over 5 minutes (with at least 10 attempts, so one failure of two is not a storm);
- `TocsinIngestSlow` (warning): ingest p95 latency above 1 s over 5 minutes;
- `TocsinMemoryHigh` (critical): memory above 85% of the configured limit (`tocsin run`:
  `$TOCSIN_MEMORY_LIMIT`), else of the cgroup's;
- `TocsinJournalDiskLow` (critical): less than 10% free on the journal's file system;
- `TocsinCircuitOpen` (critical): a destination's circuit open for longer than 10 minutes;
- `HeartbeatMissing` (critical): a heartbeat did not beat within its interval.
(`TocsinActorCrashLoop` is raised by the supervisor, see `supervisor.py`.)

Heartbeats are dead man's switches: something outside beats (`POST /api/v1/heartbeats/{name}`,
or Prometheus' always-firing `Watchdog` alert when `watchdog_alertname` is set) and silence is
the alarm. A heartbeat's registration is journaled, its beats are not; after a restart every
heartbeat gets one interval from the restart to beat again.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs
import trio

from tocsin.core.events import (
    AlertData,
    CircuitClosed,
    CircuitOpened,
    Event,
    HeartbeatRegistered,
    HeartbeatRemoved,
    NotificationDelivered,
    NotificationFailed,
)
from tocsin.core.labels import Labels
from tocsin.core.world import World

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime

__all__ = ["Condition", "Probes", "SelfMonitor", "SelfMonitorSettings", "SystemProbes"]

log = logging.getLogger("tocsin.selfmon")


@attrs.frozen
class SelfMonitorSettings:
    check_interval: timedelta = timedelta(seconds=30)
    window: timedelta = timedelta(minutes=5)
    failure_ratio: float = 0.05
    failure_min_attempts: int = 10
    ingest_p95: timedelta = timedelta(seconds=1)
    memory_ratio: float = 0.85
    memory_limit_bytes: int | None = None  # None: the cgroup's limit, if it has one
    disk_free_ratio: float = 0.10
    circuit_open_for: timedelta = timedelta(minutes=10)
    watchdog_alertname: str | None = None  # e.g. "Watchdog": that alert firing is a heartbeat
    watchdog_interval: timedelta = timedelta(minutes=5)


class Probes(Protocol):
    def memory(self) -> tuple[int, int | None]:
        """(bytes in use, limit in bytes or None when unlimited/unknown)."""
        ...

    def disk(self, path: str) -> tuple[int, int]:
        """(bytes free, bytes in total) of the file system holding `path`."""
        ...


class SystemProbes:
    """cgroup v2 memory accounting when present, else the process's resident size."""

    def __init__(self, cgroup: str = "/sys/fs/cgroup") -> None:
        self.cgroup = Path(cgroup)

    def memory(self) -> tuple[int, int | None]:
        try:
            used = int((self.cgroup / "memory.current").read_text())
            raw = (self.cgroup / "memory.max").read_text().strip()
            return used, None if raw == "max" else int(raw)
        except (OSError, ValueError):
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            return pages * os.sysconf("SC_PAGE_SIZE"), None

    def disk(self, path: str) -> tuple[int, int]:
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


@attrs.frozen
class Condition:
    alertname: str
    labels: tuple[tuple[str, str], ...]
    summary: str
    severity: str = "warning"


@attrs.define
class _Heartbeat:
    interval: timedelta
    last_seen: datetime


class SelfMonitor:
    def __init__(
        self,
        rt: Runtime,
        settings: SelfMonitorSettings,
        probes: Probes | None = None,
        data_dir: str | None = None,
    ) -> None:
        self.rt = rt
        self.settings = settings
        self.probes = probes or SystemProbes()
        self.data_dir = data_dir
        # (receiver, integration) -> its delivery attempts in the window: `slack[0]` names an
        # integration within a receiver, so the receiver tells the destinations apart.
        self._attempts: dict[tuple[str, str], deque[tuple[datetime, bool]]] = {}
        self._ingest: deque[tuple[datetime, float]] = deque()
        self._open_since: dict[tuple[str, str], datetime] = {}
        self._active: set[Condition] = set()
        self.snapshot_error: str | None = None  # why the last snapshot failed, until one works
        now = rt.clock.now()
        self._beats = {
            name: _Heartbeat(interval, now) for name, interval in rt.world.heartbeats.items()
        }

    # -- what the event log and the ingest path tell it -----------------------------------
    def observe(self, ev: Event, world: World) -> None:
        if isinstance(ev, NotificationDelivered | NotificationFailed):
            ok = isinstance(ev, NotificationDelivered)
            key = (ev.receiver, ev.integration)
            self._attempts.setdefault(key, deque()).append((ev.at, ok))
        elif isinstance(ev, CircuitOpened):
            self._open_since.setdefault((ev.receiver, ev.integration), ev.at)
        elif isinstance(ev, CircuitClosed):
            self._open_since.pop((ev.receiver, ev.integration), None)

    def record_ingest(self, seconds: float) -> None:
        self._ingest.append((self.rt.clock.now(), seconds))

    def saw_alerts(self, alerts: Sequence[AlertData]) -> None:
        """Prometheus' Watchdog convention: that alert firing counts as a heartbeat."""
        name = self.settings.watchdog_alertname
        if name is None:
            return
        for a in alerts:
            if a.labels.get_or_empty("alertname") == name and (
                a.ends_at is None or a.ends_at > self.rt.clock.now()
            ):
                self.rt.nursery.start_soon(self.beat, name, self.settings.watchdog_interval)
                return

    # -- heartbeats -----------------------------------------------------------------------
    async def beat(self, name: str, interval: timedelta | None = None) -> None:
        """Record a beat. A new heartbeat needs `interval`; raises `ValueError` without one."""
        now = self.rt.clock.now()
        hb = self._beats.get(name)
        if hb is None or (interval is not None and interval != hb.interval):
            if interval is None or interval <= timedelta(0):
                raise ValueError(f"heartbeat {name!r} is new: give its expected interval")
            await self.rt.log.append([HeartbeatRegistered(name, interval, now)])
            hb = self._beats[name] = _Heartbeat(interval, now)
        hb.last_seen = now
        missing = Condition("HeartbeatMissing", (("heartbeat", name),), "", "critical")
        for cond in list(self._active):
            if cond.alertname == missing.alertname and cond.labels == missing.labels:
                self._active.discard(cond)
                await self._send(cond, ends=now)

    async def remove_heartbeat(self, name: str, by: str) -> None:
        """Raises `KeyError` for an unknown heartbeat."""
        if name not in self._beats:
            raise KeyError(name)
        await self.rt.log.append([HeartbeatRemoved(name, by, self.rt.clock.now())])
        del self._beats[name]

    def heartbeats(self) -> list[dict[str, object]]:
        now = self.rt.clock.now()
        return [
            {
                "name": name,
                "interval_seconds": hb.interval.total_seconds(),
                "last_seen": hb.last_seen,
                "missing": now - hb.last_seen > hb.interval,
            }
            for name, hb in sorted(self._beats.items())
        ]

    # -- the checks ----------------------------------------------------------------------
    def conditions(self, now: datetime) -> list[Condition]:
        s, out = self.settings, []
        since = now - s.window
        for (receiver, integration), attempts in self._attempts.items():
            while attempts and attempts[0][0] < since:
                attempts.popleft()
            failed = sum(1 for _, ok in attempts if not ok)
            if len(attempts) >= s.failure_min_attempts and failed / len(attempts) > s.failure_ratio:
                out.append(
                    Condition(
                        "TocsinNotificationFailures",
                        (("receiver", receiver), ("integration", integration)),
                        f"{failed} of {len(attempts)} delivery attempts to {receiver} via "
                        f"{integration} failed in the last {_minutes(s.window)}",
                    )
                )
        while self._ingest and self._ingest[0][0] < since:
            self._ingest.popleft()
        if self._ingest:
            durations = sorted(d for _, d in self._ingest)
            p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))]
            if p95 > s.ingest_p95.total_seconds():
                out.append(
                    Condition(
                        "TocsinIngestSlow", (), f"ingest p95 latency {p95:.2f} s over {s.window}"
                    )
                )
        used, limit = self.probes.memory()
        limit = s.memory_limit_bytes or limit
        if limit and used > s.memory_ratio * limit:
            out.append(
                Condition(
                    "TocsinMemoryHigh",
                    (),
                    f"memory {used / 2**20:.0f} MiB is {used / limit:.0%} of {limit / 2**20:.0f} MiB",
                    "critical",
                )
            )
        if self.data_dir is not None:
            free, total = self.probes.disk(self.data_dir)
            if total and free < s.disk_free_ratio * total:
                out.append(
                    Condition(
                        "TocsinJournalDiskLow",
                        (),
                        f"the journal's disk has {free / 2**30:.1f} GiB free ({free / total:.0%})",
                        "critical",
                    )
                )
        for (receiver, integration), opened in self._open_since.items():
            if now - opened > s.circuit_open_for:
                out.append(
                    Condition(
                        "TocsinCircuitOpen",
                        (("receiver", receiver), ("integration", integration)),
                        f"the circuit to {receiver} ({integration}) has been open since {opened}",
                        "critical",
                    )
                )
        if self.snapshot_error is not None:
            out.append(
                Condition(
                    "TocsinSnapshotFailing",
                    (),
                    f"the last snapshot failed, so a restart replays an ever longer tail: "
                    f"{self.snapshot_error}"[:1000],
                )
            )
        for name, hb in self._beats.items():
            if now - hb.last_seen > hb.interval:
                out.append(
                    Condition(
                        "HeartbeatMissing",
                        (("heartbeat", name),),
                        f"heartbeat {name} last beat at {hb.last_seen}, expected every {hb.interval}",
                        "critical",
                    )
                )
        return out

    async def _send(self, cond: Condition, ends: datetime) -> None:
        now = self.rt.clock.now()
        labels = {"alertname": cond.alertname, "source": "tocsin", "severity": cond.severity}
        labels.update(cond.labels)
        alert = AlertData(Labels.of(labels), Labels.of({"summary": cond.summary}), None, ends)
        try:
            await self.rt.ingest([alert])
        except Exception:
            log.exception("could not send the internal alert %s (%s)", cond.alertname, now)

    async def check(self) -> None:
        now = self.rt.clock.now()
        found = self.conditions(now)
        lasts = now + 3 * self.settings.check_interval
        keys = {(c.alertname, c.labels): c for c in found}
        for cond in list(self._active):
            if (cond.alertname, cond.labels) not in keys:
                self._active.discard(cond)
                await self._send(cond, ends=now)  # cleared: resolve now, not at expiry
        for cond in found:
            self._active = {
                c for c in self._active if (c.alertname, c.labels) != (cond.alertname, cond.labels)
            }
            self._active.add(cond)
            await self._send(cond, ends=lasts)

    async def run(self) -> None:
        while True:
            await trio.sleep(self.settings.check_interval.total_seconds())
            await self.check()


def _minutes(td: timedelta) -> str:
    """A window as people write it: 5m, 90s."""
    secs = int(td.total_seconds())
    return f"{secs // 60}m" if secs % 60 == 0 else f"{secs}s"
