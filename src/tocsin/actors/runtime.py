"""The runtime: recovery from the journal, the actor families, and what the edges may ask.

`open_runtime(journal, router=...)` rebuilds the world (newest snapshot, then the records after
it), re-arms every live group (each group actor derives its deadlines from its state), hands
every requested-but-undelivered notification to the notifier again, and starts the dispatcher
and the snapshotter. `Runtime.ready` is set once all of that is done.

After a restart, an alert whose `endsAt` passed while Tocsin was down is not resolved at once:
its source had no one to re-send it to. It gets `restart_grace` from the restart to be
re-sent (Prometheus re-sends every minute) before it expires.

The edges talk to the runtime through a few methods: `ingest` (HTTP 200 once durable),
`acknowledge` / `unacknowledge` / `resolve` a group, `set_silence` / `expire_silence`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import attrs
import trio

from tocsin.actors.bus import EventBus
from tocsin.actors.clock import Clock, SystemClock
from tocsin.actors.config_ports import ConfigMutes, ConfigRouter, InhibitionTracker
from tocsin.actors.dispatcher import Dispatcher, Routes
from tocsin.actors.eventlog import TRANSIENT, EventLog
from tocsin.actors.groups import Envelope, GroupRegistry, Reply
from tocsin.actors.ports import MuteSource, Notifier, Router
from tocsin.actors.selfmon import Probes, SelfMonitor, SelfMonitorSettings
from tocsin.actors.supervisor import RestartPolicy, supervise
from tocsin.core.codec import to_micros
from tocsin.core.events import (
    AlertData,
    AlertRefreshed,
    GroupEvent,
    NotificationDelivered,
    NotificationRequested,
    SilenceCreated,
    SilenceData,
)
from tocsin.core.group_state import GroupState, Phase
from tocsin.core.inhibit import InhibitRule
from tocsin.core.labels import Labels
from tocsin.core.lifecycle import (
    Acknowledge,
    Command,
    ManualResolve,
    ReceiveAlerts,
    Unacknowledge,
    decide,
)
from tocsin.core.replay import gc_paused, rebuild
from tocsin.core.routing import RoutingTree
from tocsin.core.silences import decide_expire, decide_set
from tocsin.core.timeintervals import TimeInterval
from tocsin.core.world import World
from tocsin.journal import Journal, JournalClosed, JournalError, Snapshot

__all__ = [
    "LogNotifier",
    "Rules",
    "Runtime",
    "RuntimeSettings",
    "SilenceMutes",
    "UnknownGroup",
    "open_runtime",
    "recover_world",
]

log = logging.getLogger("tocsin.runtime")


class UnknownGroup(LookupError):
    pass


@attrs.frozen
class RuntimeSettings:
    ingest_queue: int = 256
    mailbox_size: int = 64
    snapshot_every_records: int = 100_000
    snapshot_interval: timedelta = timedelta(minutes=5)
    restart_grace: timedelta = timedelta(minutes=5)
    # An alert sent without endsAt expires this long after its last re-send (Alertmanager's
    # global resolve_timeout).
    resolve_timeout: timedelta = timedelta(minutes=5)
    restart_policy: RestartPolicy = attrs.Factory(RestartPolicy)
    # Alerts about Tocsin itself (the daemon turns this on; tests opt in).
    selfmon: SelfMonitorSettings | None = None


class SilenceMutes(ConfigMutes):
    """Mutes from the world's silences only: the runtime's default without a configuration
    (tests); with one, `ConfigMutes` adds inhibition and time intervals."""

    def __init__(self, world: World) -> None:
        super().__init__(world, None)


class LogNotifier:
    """Delivers by logging what would be sent (channels without credentials), and journals
    the delivery so the group's bookkeeping closes."""

    def __init__(self) -> None:
        self.rt: Runtime | None = None
        self._send, self._receive = trio.open_memory_channel[NotificationRequested](10_000)

    def request(self, event: NotificationRequested, state: GroupState) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            log.error("log channel backlog full; %s stays pending", event.notification_id)

    async def run(self, rt: Runtime) -> None:
        async for ev in self._receive:
            log.info(
                "would notify %s: %s (group %s, level %d, %d firing, %d resolved)",
                ev.receiver,
                ev.reason,
                ev.group_id,
                ev.level,
                len(ev.firing),
                len(ev.resolved),
            )
            now = rt.clock.now()
            await rt.log.append(
                [
                    NotificationDelivered(
                        ev.group_id,
                        ev.notification_id,
                        ev.receiver,
                        "log",
                        1,
                        None,
                        timedelta(0),
                        now,
                    )
                ]
            )


def recover_world(journal: Journal) -> tuple[World, int]:
    """The world as the journal holds it: newest valid snapshot, then every later record; and
    how many records were replayed after the snapshot.

    The collector is paused while it runs and what it built is frozen out of its way after:
    the daemon's state lives for the process's life (`core.replay.gc_paused`)."""
    with gc_paused(freeze=True):
        snapshot = journal.load_snapshot()
        world = rebuild(journal, snapshot)
    return world, world.applied_seq - (snapshot.seq if snapshot is not None else 0)


class Runtime:
    def __init__(
        self,
        journal: Journal,
        world: World,
        clock: Clock,
        router: Router,
        mutes: MuteSource,
        notifier: Notifier,
        settings: RuntimeSettings,
        nursery: trio.Nursery,
    ) -> None:
        self.journal = journal
        self.world = world
        self.clock = clock
        self.bus = EventBus()
        self.log = EventLog(journal, world, self.bus, clock)
        self.mutes = mutes
        self.notifier = notifier
        self.settings = settings
        self.nursery = nursery
        self.registry = GroupRegistry(self, nursery, settings.mailbox_size)
        self.dispatcher = Dispatcher(self, router, settings.ingest_queue)
        self.ready = trio.Event()
        self.internal_alerts = 0
        self.selfmon: SelfMonitor | None = None
        self.replayed = 0  # records replayed after the snapshot at start-up

    # -- supervision -------------------------------------------------------------------
    async def supervise(self, name: str, actor: object) -> None:
        await supervise(
            name,
            actor,  # type: ignore[arg-type]
            log_=self.log,
            clock=self.clock,
            policy=self.settings.restart_policy,
            on_crash_loop=self._crash_loop,
        )

    def _crash_loop(self, name: str, exc: BaseException, crashes: int) -> None:
        self.raise_internal_alert(
            "TocsinActorCrashLoop",
            {"actor": name, "severity": "critical"},
            f"actor {name} crashed {crashes} times in a row: {exc!r}"[:1000],
        )

    def raise_internal_alert(self, alertname: str, labels: dict[str, str], summary: str) -> None:
        """Route an alert about Tocsin itself (`source="tocsin"`) like any other."""
        now = self.clock.now()
        alert = AlertData(
            Labels.of({"alertname": alertname, "source": "tocsin", **labels}),
            Labels.of({"summary": summary}),
            now,
            now + timedelta(hours=1),
        )
        self.internal_alerts += 1
        try:
            self.dispatcher.submit_nowait([alert])
        except Exception:
            log.exception("could not raise internal alert %s: %s", alertname, summary)

    # -- the edges' operations --------------------------------------------------------------
    async def ingest(self, alerts: Sequence[AlertData]) -> list[GroupEvent]:
        """Route and record `alerts`; returns once every resulting event is durable.

        An alert without `endsAt` gets now + `resolve_timeout`, so it expires unless re-sent.
        Raises `DispatcherFull` when the ingest queue is full."""
        started = trio.current_time()
        try:
            return await self._ingest(alerts)
        finally:
            if self.selfmon is not None:
                self.selfmon.record_ingest(trio.current_time() - started)
                self.selfmon.saw_alerts(alerts)

    async def _ingest(self, alerts: Sequence[AlertData]) -> list[GroupEvent]:
        now = self.clock.now()
        if any(a.ends_at is None for a in alerts):
            until = now + self.settings.resolve_timeout
            alerts = [
                a if a.ends_at is not None else attrs.evolve(a, ends_at=until) for a in alerts
            ]
        rest, routes = self._resends(alerts, now)
        if not rest:
            return []
        return await self.dispatcher.submit(rest, routes)

    def _resends(
        self, alerts: Sequence[AlertData], now: datetime
    ) -> tuple[list[AlertData], list[Routes]]:
        """Settle plain re-sends here; return the alerts that need the dispatcher, and their
        targets.

        Most traffic re-sends alerts the groups already hold (Prometheus, every minute). For
        those the decider's answer is nothing, or a refresh of `endsAt` that is not journaled,
        so it is asked right here — the same pure `decide` the actor would run — and a
        not-journaled answer is applied at once, with no message and no journal write. Any
        other answer (new, changed, resolved), and any alert of a group with a decision in
        flight, goes to the dispatcher, which decides again while it holds the group.
        """
        world, targets_of, held = self.world, self.dispatcher.targets, self.registry.held
        rest: list[AlertData] = []
        routes: list[Routes] = []  # rest's targets, so the dispatcher need not look again
        refreshed: list[GroupEvent] = []
        for alert in alerts:
            fp = alert.labels.fingerprint_hex
            decided: list[GroupEvent] = []
            targets = targets_of(alert.labels)
            for gid, target in targets:
                state = world.groups.get(gid)
                if state is None or fp not in state.alerts or held(gid):
                    break
                command = ReceiveAlerts(
                    (alert,), target.group_key, target.group_labels, target.policy
                )
                events = decide(state, command, now)
                if any(type(e) not in TRANSIENT for e in events):
                    break
                decided += events
            else:
                refreshed += decided
                continue
            rest.append(alert)
            routes.append(targets)
        if refreshed:
            self.log.apply_transient(refreshed)
        return rest, routes

    async def command(self, group_id: str, command: Command) -> list[GroupEvent]:
        """Run a command in a group's actor. Raises `UnknownGroup`, `IllegalCommand`."""
        if group_id not in self.world.groups:
            raise UnknownGroup(f"no active group with id {group_id!r}")
        reply = Reply()
        await self.registry.send(group_id, Envelope(command, reply))
        return await reply.wait()

    async def acknowledge(self, group_id: str, by: str, comment: str = "") -> list[GroupEvent]:
        return await self.command(group_id, Acknowledge(by, comment))

    async def unacknowledge(self, group_id: str, by: str, comment: str = "") -> list[GroupEvent]:
        return await self.command(group_id, Unacknowledge(by, comment))

    async def resolve(self, group_id: str, by: str, comment: str = "") -> list[GroupEvent]:
        return await self.command(group_id, ManualResolve(by, comment))

    async def set_silence(self, silence: SilenceData) -> str:
        """Create or update a silence (Alertmanager's rules). Returns its id.
        Raises `InvalidSilence`."""
        events = decide_set(self.world.silences, silence, self.clock.now(), _new_silence_id)
        await self.log.append(events)
        created = [e for e in events if isinstance(e, SilenceCreated)]
        return created[-1].silence.id

    async def expire_silence(self, silence_id: str, by: str) -> None:
        """Raises `InvalidSilence` for an unknown silence; an expired one stays as it is."""
        await self.log.append(decide_expire(self.world.silences, silence_id, by, self.clock.now()))

    def apply_rules(
        self, rules: Rules, *, router: Router | None = None, mutes: MuteSource | None = None
    ) -> None:
        """Route and mute by `rules` from now on (start-up, and a config reload). Groups keep
        the policy they opened with until their episode ends."""
        self.dispatcher.set_router(router or ConfigRouter(rules.routing))
        if self._inhibition is not None:
            self.log.listeners.remove(self._inhibition.observe)
        tracker = InhibitionTracker(rules.inhibit_rules, self.world)
        self._inhibition = tracker
        self.log.listeners.append(tracker.observe)
        self.mutes = mutes or ConfigMutes(
            self.world, rules.routing, dict(rules.time_intervals), tracker
        )

    _inhibition: InhibitionTracker | None = None

    @property
    def inhibition(self) -> InhibitionTracker | None:
        """The index of firing alerts the configured mutes check inhibition against."""
        return self._inhibition

    # -- start-up and background work ----------------------------------------------------
    def _rearm(self) -> None:
        now = self.clock.now()
        grace_until = now + self.settings.restart_grace
        refresh: list[GroupEvent] = []
        for gid, state in self.world.groups.items():
            if state.phase in (Phase.PENDING, Phase.FIRING, Phase.ACKNOWLEDGED):
                # Only alerts whose endsAt passed while Tocsin was down: the others are still
                # within what their source promised, and it will re-send them as usual.
                first = state.next_expiry()
                if first is not None and first < now:
                    for fp, alert in state.alerts.items():
                        if alert.firing and alert.ends_at is not None and alert.ends_at < now:
                            refresh.append(AlertRefreshed(gid, fp, grace_until, now))
                self.registry.start(gid)
        self.log.apply_transient(refresh)
        pending = 0
        for state in self.world.groups.values():
            for ev in state.pending.values():
                self.notifier.request(ev, state)
                pending += 1
        log.info(
            "recovered %d groups (%d live), %d silences, %d pending notifications at seq %d",
            len(self.world.groups),
            len(self.registry),
            len(self.world.silences),
            pending,
            self.world.applied_seq,
        )

    async def snapshot(self) -> int:
        """Save a snapshot of the whole state now. Returns its sequence number."""
        world, clock = self.world, self.clock

        def build() -> Snapshot:
            # The seq is read here, with the state: the journal may call this in a forked
            # child (the state as of the fork) or right here, after it has waited for its
            # snapshot lock; either way nothing runs between reading the seq and encoding.
            # On the loop it blocks (~0.5 s per 100k alerts), so the collector waits.
            with gc_paused():
                return Snapshot(world.applied_seq, to_micros(clock.now()), world.to_snapshot())

        return await self.journal.save_snapshot_built(build)

    async def _snapshotter(self) -> None:
        """Snapshot every `snapshot_every_records` records or `snapshot_interval`, whichever
        comes first (and only if anything changed), so a restart replays a bounded tail."""
        settings = self.settings
        last_seq, last_at = self.world.applied_seq, self.clock.now()
        check = min(settings.snapshot_interval.total_seconds(), 30.0)
        while True:
            await trio.sleep(check)
            now = self.clock.now()
            behind = self.world.applied_seq - last_seq
            if behind and (
                behind >= settings.snapshot_every_records
                or now - last_at >= settings.snapshot_interval
            ):
                tried = self.world.applied_seq
                try:
                    last_seq = await self.snapshot()
                except JournalClosed:
                    raise
                except JournalError as exc:  # InvalidRecord included
                    # The previous snapshot stays; the daemon goes on (a restart replays a
                    # longer tail). Tried again when a snapshot would next be due, counting
                    # from this attempt (not at every check: a child the kernel killed for
                    # memory would be forked again at once); visible meanwhile.
                    log.error("snapshot near seq %d failed: %s", tried, exc)
                    last_seq = tried
                    if self.selfmon is not None:
                        self.selfmon.snapshot_error = str(exc)
                else:
                    if self.selfmon is not None:
                        self.selfmon.snapshot_error = None
                last_at = now


def _new_silence_id() -> str:
    return str(uuid.uuid4())


@attrs.frozen
class Rules:
    """What a configuration gives the runtime: routing, inhibition, time intervals."""

    routing: RoutingTree
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, TimeInterval] = attrs.Factory(dict)


@asynccontextmanager
async def open_runtime(
    journal: Journal,
    *,
    rules: Rules | None = None,
    router: Router | None = None,
    clock: Clock | None = None,
    mutes: MuteSource | None = None,
    notifier: Notifier | None = None,
    settings: RuntimeSettings = RuntimeSettings(),
    probes: Probes | None = None,
    data_dir: str | None = None,
) -> AsyncIterator[Runtime]:
    """Recover from `journal` and run the actors until the context exits (then cancel them).

    Route and mute with `rules` (a configuration's), or with an explicit `router` and `mutes`
    (tests). With `settings.selfmon`, Tocsin watches itself (`probes` read memory and the disk
    of `data_dir`). Raises `ValueError` when neither a router nor rules are given.
    """
    if router is None and rules is None:
        raise ValueError("open_runtime needs rules or a router")
    # In a worker thread: recovery reads files and folds for seconds on a large journal, and
    # the HTTP server (/-/healthy) must keep answering meanwhile. Nothing else touches the
    # world until it is built.
    world, replayed = await trio.to_thread.run_sync(recover_world, journal)
    async with trio.open_nursery() as nursery:
        log_notifier = None
        if notifier is None:
            notifier = log_notifier = LogNotifier()
        rt = Runtime(
            journal,
            world,
            clock or SystemClock(),
            router or ConfigRouter(rules.routing),  # type: ignore[union-attr]
            mutes or SilenceMutes(world),
            notifier,
            settings,
            nursery,
        )
        rt.replayed = replayed
        if rules is not None:
            rt.apply_rules(rules, router=router, mutes=mutes)
        if log_notifier is not None:
            nursery.start_soon(log_notifier.run, rt)
        if settings.selfmon is not None:
            rt.selfmon = SelfMonitor(rt, settings.selfmon, probes, data_dir)
            rt.log.listeners.append(rt.selfmon.observe)
            nursery.start_soon(rt.supervise, "self-monitor", rt.selfmon.run)
        await nursery.start(rt.dispatcher.run)
        rt._rearm()
        nursery.start_soon(rt._snapshotter)
        rt.ready.set()
        try:
            yield rt
        finally:
            nursery.cancel_scope.cancel()
