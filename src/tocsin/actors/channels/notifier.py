"""`ChannelNotifier`: the runtime's `Notifier`, fanning notifications out to channel actors.

Theory of operation
-------------------
`request(event, state)` runs inside the group actor, right after the `NotificationRequested`
is durable, and must not block. It copies what the message needs from the group's live state
(a `Notification`: the alerts, group labels, ack) and offers one `Notice` to each channel actor
of the receiver (one actor per receiver integration). It is also called again after a restart
for every notification the journal holds as requested but not delivered.

Journal bookkeeping. The group's state closes a pending notification on its first
`NotificationDelivered` or permanent `NotificationFailed`, whatever the integration. A receiver
with Slack + PagerDuty + email must not look done when only Slack is: a crash then would
never resend to PagerDuty. So each notification is tracked until every integration is done
with it (delivered, failed for good, skipped, coalesced, rerouted), and those final outcomes
are journaled together, in one append. Retryable failures, circuit changes and Slack message
references are journaled at once. A crash before the final append resends the notification to
every integration of the receiver: at-least-once, deduplicated by PagerDuty's `dedup_key`.

When no integration delivered or failed (all coalesced into a newer notification, or all
skipped), the batch still needs an event that closes the pending entry: a skip closes with
`NotificationDelivered(integration="none")` (the receiver got what it asked for), a coalesced
one with `NotificationFailed(permanent=True, attempt=0)` naming the newer notification.

Resolved alerts. When a group flushes, the alerts it resolves leave the group's state before
the notifier is asked; the notifier keeps each alert's data as it resolves (an event-log
listener on `AlertResolved`) so "resolved" messages still show labels and annotations.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
import trio

from tocsin.actors.channels.actor import ChannelActor
from tocsin.actors.channels.breaker import Breaker
from tocsin.actors.channels.ratelimit import Pacer
from tocsin.actors.channels.settings import ChannelSettings
from tocsin.actors.clock import Clock, SystemClock
from tocsin.adapters.channels.base import Channel, Kit
from tocsin.adapters.channels.model import AlertView, Notification, Receipt
from tocsin.adapters.templates import JinjaRenderer, Redactor, Renderer
from tocsin.core.codec import CODEC
from tocsin.core.events import (
    AlertData,
    AlertResolved,
    Event,
    NotificationCoalesced,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
    NotificationRerouted,
    NotificationSkipped,
    SlackMessagePosted,
)
from tocsin.core.group_state import GroupState
from tocsin.core.world import World

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime
    from tocsin.adapters.channels.factory import ClientPool
    from tocsin.config.model import Config

__all__ = ["ChannelNotifier", "Notice", "NotifierStatistics"]

log = logging.getLogger("tocsin.channels")

_RESOLVED_CACHE = 100_000


@attrs.frozen
class Notice:
    """A notification on its way to one receiver (the fallback receiver, once rerouted)."""

    n: Notification
    receiver: str
    rerouted: bool = False

    @property
    def group_id(self) -> str:
        return self.n.group_id


@attrs.define
class _Delivery:
    outstanding: set[str]
    events: list[Event] = attrs.Factory(list)
    closed: bool = False


@attrs.frozen
class NotifierStatistics:
    in_progress: int
    actors: Mapping[str, Mapping[str, int]]


class ChannelNotifier:
    """Implements the runtime's `Notifier`. Build with `from_config`, or empty and
    `add_channel` (tests); pass it to `open_runtime(notifier=...)`, then start it with
    `await rt.nursery.start(notifier.run, rt)`."""

    def __init__(
        self,
        *,
        settings: ChannelSettings | None = None,
        renderer: Renderer | None = None,
        external_url: str = "",
        fallbacks: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings = settings or ChannelSettings()
        self.clock: Clock = SystemClock()
        self.kit = Kit(
            renderer=renderer or JinjaRenderer(max_alerts=settings.max_alerts_in_message),
            redactor=Redactor(settings.redact_patterns),
            external_url=external_url,
            now=lambda: self.clock.now(),
        )
        self.fallbacks: dict[str, str] = dict(fallbacks or {})  # route id -> receiver
        self.rt: Runtime | None = None
        self._actors: dict[str, list[ChannelActor]] = {}
        self._breakers: dict[str, Breaker] = {}
        self._pacers: dict[str, Pacer] = {}
        self._breaker_events: dict[str, trio.Event] = {}
        self._deliveries: dict[str, _Delivery] = {}
        self._resolved: OrderedDict[tuple[str, str], tuple[AlertData, Any]] = OrderedDict()
        self._refs: dict[tuple[str, str, str, int], list[tuple[str, str]]] = {}
        self._refs_loaded = False
        self._outbox: list[list[Event]] = []
        self._outbox_ready = trio.Event()
        self._closers: list[Callable[[], Any]] = []
        self._pool: ClientPool | None = None
        self._nursery: trio.Nursery | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, config: Config, settings: ChannelSettings | None = None
    ) -> ChannelNotifier:
        """Channels for every receiver integration of `config`.

        Raises `ConfigError` for a custom template that does not compile.
        """
        from tocsin.adapters.channels.factory import ClientPool, build_channels

        settings = settings or ChannelSettings()
        fallbacks = {r.path: r.fallback for r in config.routing.routes if r.fallback}
        notifier = cls(
            settings=settings,
            renderer=JinjaRenderer(config.templates, max_alerts=settings.max_alerts_in_message),
            external_url=config.tocsin.external_url or "",
            fallbacks=fallbacks,
        )
        pool = notifier._pool = ClientPool(settings.timeout)
        notifier._closers.append(pool.aclose)
        build_channels(
            config,
            notifier.kit,
            pool,
            notifier,
            timeout=settings.timeout,
            webhook_secret=settings.webhook_secret,
            on_channel=notifier.add_channel,
        )
        for name in config.receivers:
            notifier._actors.setdefault(name, [])
        return notifier

    def reconfigure(self, config: Config) -> None:
        """Follow a config reload (the daemon calls this once the new `config` is accepted).

        Every channel is rebuilt from `config` (templates, external URL, fallbacks too), and
        takes effect for every attempt from now on. An integration that is still there (same
        receiver, same name such as `slack[0]`) keeps its actor: the actor is handed the new
        channel, so what it has queued or is retrying goes out through the new settings, in
        order per group. A new integration or receiver gets a new actor. A removed one is
        retired: no new notifications, but what it holds (queued, in flight, retrying) is
        still delivered through its old channel, then it ends.

        Raises `ConfigError` for a template that does not compile (the daemon checks with
        `check_config` first, so a reload never gets here with one).
        """
        from tocsin.adapters.channels.factory import ClientPool, build_channels

        settings = self.settings
        kit = Kit(
            renderer=JinjaRenderer(config.templates, max_alerts=settings.max_alerts_in_message),
            redactor=Redactor(settings.redact_patterns),
            external_url=config.tocsin.external_url or "",
            now=lambda: self.clock.now(),
        )
        pool = self._pool
        if pool is None:
            pool = self._pool = ClientPool(settings.timeout)
            self._closers.append(pool.aclose)
        built = build_channels(
            config,
            kit,
            pool,
            self,
            timeout=settings.timeout,
            webhook_secret=settings.webhook_secret,
        )
        old = {a.key: a for a in self.actors()}
        actors: dict[str, list[ChannelActor]] = {}
        started: list[ChannelActor] = []
        for receiver, channels in built.items():
            mine = actors[receiver] = []
            for channel in channels:
                breaker, pacer = self._breaker_and_pacer(channel)
                actor = old.pop(f"{receiver}/{channel.name}", None)
                if actor is None:
                    actor = ChannelActor(self, receiver, channel, breaker, pacer, settings)
                    started.append(actor)
                else:
                    actor.rebind(channel, breaker, pacer)
                mine.append(actor)
        for actor in old.values():
            log.info("%s: removed by a reload; delivering what it holds, then ending", actor.key)
            actor.retire()
        self.kit = kit
        self.fallbacks = {r.path: r.fallback for r in config.routing.routes if r.fallback}
        self._actors = actors
        if self._nursery is not None and self.rt is not None:
            for actor in started:
                self._nursery.start_soon(self.rt.supervise, f"channel {actor.key}", actor.run)

    @staticmethod
    def check_config(config: Config) -> None:
        """Compile every template `config` would render with (Jinja2 files, Go files, every
        receiver field holding `{{`) without building channels: what a reload asks before it
        accepts a configuration. Raises `ConfigError` naming where each problem is."""
        from tocsin.adapters.channels.factory import check_templates

        JinjaRenderer(config.templates)
        check_templates(config)

    def _breaker_and_pacer(self, channel: Channel) -> tuple[Breaker, Pacer]:
        dest = channel.destination
        breaker = self._breakers.get(dest)
        if breaker is None:
            breaker = self._breakers[dest] = Breaker(self.settings.breaker)
        pacer = self._pacers.get(dest)
        if pacer is None:
            pacer = self._pacers[dest] = Pacer(self.settings.rate_limits.get(channel.kind, 0.0))
        return breaker, pacer

    def add_channel(self, receiver: str, channel: Channel) -> ChannelActor:
        breaker, pacer = self._breaker_and_pacer(channel)
        actor = ChannelActor(self, receiver, channel, breaker, pacer, self.settings)
        self._actors.setdefault(receiver, []).append(actor)
        return actor

    def add_receiver(self, receiver: str) -> None:
        """A receiver without integrations (it sends nothing, on purpose)."""
        self._actors.setdefault(receiver, [])

    def actors(self) -> list[ChannelActor]:
        return [a for actors in self._actors.values() for a in actors]

    # -- the Notifier protocol ------------------------------------------------------------
    def request(self, event: NotificationRequested, state: GroupState) -> None:
        if event.notification_id in self._deliveries:
            return  # already on its way (a restart re-request of one we hold)
        n = self.snapshot(event, state)
        actors = self._actors.get(event.receiver)
        now = self.clock.now()
        if actors is None:
            log.error("notification %s: receiver %r is not configured", n.id, event.receiver)
            self._post(
                [
                    NotificationFailed(
                        n.group_id,
                        n.id,
                        n.receiver,
                        "none",
                        0,
                        None,
                        f"receiver {event.receiver!r} is not in the configuration",
                        True,
                        timedelta(0),
                        now,
                    )
                ]
            )
            return
        if not actors:
            self._post(
                [
                    NotificationDelivered(
                        n.group_id, n.id, n.receiver, "none", 0, None, timedelta(0), now
                    )
                ]
            )
            return
        self._deliveries[n.id] = _Delivery({a.key for a in actors})
        for actor in actors:
            self._offer(actor, Notice(n, event.receiver))

    def _offer(self, actor: ChannelActor, notice: Notice) -> None:
        replaced = actor.offer(notice)
        if replaced is None:
            return
        old = replaced.n
        log.warning(
            "%s: mailbox full; notification %s replaced by %s", actor.key, old.id, notice.n.id
        )
        ev = NotificationCoalesced(
            old.group_id,
            old.id,
            replaced.receiver,
            actor.channel.name,
            notice.n.id,
            self.clock.now(),
        )
        batch = self._settle(replaced, actor.key, [ev], closes=False)
        if batch:
            self._post(batch)

    def snapshot(self, ev: NotificationRequested, state: GroupState) -> Notification:
        """What the message of `ev` is made of, copied from the group's state now."""
        views: list[AlertView] = []
        for fp in ev.firing:
            st = state.alerts.get(fp)
            if st is not None:
                views.append(AlertView(fp, st.alert, True))
            else:
                views.append(AlertView(fp, self._alert_data(ev.group_id, fp, state), True))
        for fp in ev.resolved:
            st = state.alerts.get(fp)
            if st is not None:
                views.append(AlertView(fp, st.alert, False, st.resolved_at))
                continue
            cached = self._resolved.get((ev.group_id, fp))
            if cached is not None:
                views.append(AlertView(fp, cached[0], False, cached[1]))
            else:
                views.append(AlertView(fp, self._alert_data(ev.group_id, fp, state), False))
        ack = state.ack
        return Notification(
            request=ev,
            group_key=state.group_key,
            group_labels=state.group_labels,
            alerts=tuple(views),
            level=ev.level,
            acknowledged_by=ack.by if ack is not None else None,
            ack_comment=ack.comment if ack is not None else "",
            route_id=state.policy.route_id if state.policy is not None else "",
        )

    def _alert_data(self, gid: str, fp: str, state: GroupState) -> AlertData:
        cached = self._resolved.get((gid, fp))
        if cached is not None:
            return cached[0]
        # Gone from memory (a restart after the group flushed it): the group labels are all
        # that is left to say which alert it was.
        return AlertData(state.group_labels)

    def _observe(self, ev: Event, world: World) -> None:
        """Event-log listener: keep each alert's data as it resolves (see module docstring)."""
        if type(ev) is not AlertResolved:
            return
        state = world.groups.get(ev.group_id)
        st = state.alerts.get(ev.fingerprint) if state is not None else None
        if st is None:
            return
        cache = self._resolved
        cache[(ev.group_id, ev.fingerprint)] = (st.alert, ev.at)
        if len(cache) > _RESOLVED_CACHE:
            cache.popitem(last=False)

    # -- bookkeeping ----------------------------------------------------------------------
    def _settle(
        self, notice: Notice, actor_key: str, events: Sequence[Event], *, closes: bool
    ) -> list[Event] | None:
        n = notice.n
        d = self._deliveries.get(n.id)
        if d is None:
            return list(events)
        d.events.extend(events)
        d.closed = d.closed or closes
        d.outstanding.discard(actor_key)
        if d.outstanding:
            return None
        del self._deliveries[n.id]
        batch = d.events
        if not d.closed:
            now = self.clock.now()
            if all(isinstance(e, NotificationSkipped) for e in batch):
                batch.append(
                    NotificationDelivered(
                        n.group_id, n.id, n.receiver, "none", 0, None, timedelta(0), now
                    )
                )
            else:
                newer = sorted(
                    {e.superseded_by for e in batch if isinstance(e, NotificationCoalesced)}
                )
                batch.append(
                    NotificationFailed(
                        n.group_id,
                        n.id,
                        n.receiver,
                        "none",
                        0,
                        None,
                        "not sent: superseded by " + ", ".join(newer) if newer else "not sent",
                        True,
                        timedelta(0),
                        now,
                    )
                )
        return batch

    async def settle(
        self, notice: Notice, actor: ChannelActor, events: Sequence[Event], *, closes: bool
    ) -> None:
        """`actor` is done with `notice`; journal the notification's outcomes once every
        integration is."""
        batch = self._settle(notice, actor.key, events, closes=closes)
        if batch:
            await self.journal(batch)

    async def reroute(
        self, notice: Notice, actor: ChannelActor, fallback: str, waited: timedelta
    ) -> None:
        n = notice.n
        log.warning(
            "%s: circuit open for %s; notification %s goes to fallback receiver %s",
            actor.key,
            waited,
            n.id,
            fallback,
        )
        ev = NotificationRerouted(
            n.group_id,
            n.id,
            notice.receiver,
            actor.channel.name,
            fallback,
            waited,
            self.clock.now(),
        )
        targets = [a for a in self._actors.get(fallback, []) if a is not actor]
        d = self._deliveries.get(n.id)
        if d is not None:
            d.outstanding.update(a.key for a in targets)
        await self.settle(notice, actor, [ev], closes=False)
        for target in targets:
            self._offer(target, Notice(n, fallback, rerouted=True))

    def fallback_for(self, notice: Notice) -> str | None:
        fallback = self.fallbacks.get(notice.n.route_id)
        return fallback if fallback and fallback != notice.receiver else None

    async def delivered(self, notice: Notice, actor: ChannelActor, receipt: Receipt) -> None:
        if receipt.ref is None or actor.channel.kind != "slack":
            return
        channel, ts = receipt.ref
        n = notice.n
        key = (n.group_id, n.receiver, actor.channel.name, n.request.episode)
        known = self._refs.setdefault(key, [])
        if (channel, ts) in known:
            return
        known.append((channel, ts))
        del known[:-20]
        await self.journal(
            [
                SlackMessagePosted(
                    n.group_id,
                    n.receiver,
                    actor.channel.name,
                    n.request.episode,
                    channel,
                    ts,
                    self.clock.now(),
                )
            ]
        )

    # -- Slack message references (MessageRefs) ---------------------------------------------
    def messages(
        self, group_id: str, receiver: str, integration: str, episode: int
    ) -> list[tuple[str, str]]:
        key = (group_id, receiver, integration, episode)
        found = self._refs.get(key)
        if found is None and not self._refs_loaded:
            self._load_refs()
            found = self._refs.get(key)
        return list(found or ())

    def _load_refs(self) -> None:
        """After a restart: read the journal once for the Slack messages it recorded."""
        self._refs_loaded = True
        if self.rt is None:
            return
        tag = SlackMessagePosted.TYPE
        for rec in self.rt.journal.read(after=0):
            if rec.type != tag:
                continue
            ev = CODEC.decode(rec.type, rec.version, rec.payload)
            assert isinstance(ev, SlackMessagePosted)
            known = self._refs.setdefault(
                (ev.group_id, ev.receiver, ev.integration, ev.episode), []
            )
            if (ev.channel, ev.ts) not in known:
                known.append((ev.channel, ev.ts))

    # -- breakers -------------------------------------------------------------------------
    async def breaker_changed(self, destination: str) -> None:
        event = self._breaker_events.get(destination)
        if event is None:
            event = self._breaker_events[destination] = trio.Event()
        await event.wait()

    def wake_breaker(self, destination: str) -> None:
        event = self._breaker_events.pop(destination, None)
        if event is not None:
            event.set()

    # -- journal --------------------------------------------------------------------------
    async def journal(self, events: Sequence[Event]) -> None:
        if self.rt is None:
            self._post(list(events))
            return
        await self.rt.log.append(events)

    def _post(self, events: list[Event]) -> None:
        """Journal from a context that cannot wait (`request`): the outbox task appends."""
        self._outbox.append(events)
        self._outbox_ready.set()

    async def _drain_outbox(self) -> None:
        assert self.rt is not None
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready = trio.Event()
            batches, self._outbox = self._outbox, []
            for batch in batches:
                await self.rt.log.append(batch)

    # -- running --------------------------------------------------------------------------
    async def run(self, rt: Runtime, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run every channel actor (supervised) until cancelled."""
        self.rt = rt
        self.clock = rt.clock
        rt.log.listeners.append(self._observe)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(rt.supervise, "channel journal outbox", self._drain_outbox)
                for actor in self.actors():
                    nursery.start_soon(rt.supervise, f"channel {actor.key}", actor.run)
                self._nursery = nursery  # actors a reload adds start here
                task_status.started()
        finally:
            self._nursery = None
            if self._observe in rt.log.listeners:
                rt.log.listeners.remove(self._observe)
            with trio.CancelScope(shield=True):
                for close in self._closers:
                    await close()

    def statistics(self) -> NotifierStatistics:
        return NotifierStatistics(
            in_progress=len(self._deliveries),
            actors={
                a.key: {
                    "waiting": len(a.mailbox),
                    "attempts": a.stats.attempts,
                    "delivered": a.stats.delivered,
                    "failed": a.stats.failed,
                    "retried": a.stats.retried,
                    "coalesced": a.stats.coalesced,
                    "skipped": a.stats.skipped,
                }
                for a in self.actors()
            },
        )
