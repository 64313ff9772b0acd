"""The channel actor: one per receiver integration. Mailbox, retries, circuit, pacing.

Theory of operation
-------------------
`offer` puts a notice in the mailbox without blocking (coalescing per group when full: see
`mailbox.py`). `run` starts `workers` tasks; each takes the oldest notice whose group has
nothing in flight and delivers it:

1. an integration with `send_resolved: false` skips a notice that only resolves alerts, and
   says so (`NotificationSkipped`);
2. it waits for the destination's circuit to let it through. While the circuit is open the
   notice waits — it is in the journal, nothing is lost. If it has waited `fallback_after` and
   the group's route names a `fallback` receiver, the notice goes there instead
   (`NotificationRerouted`);
3. it waits for the destination's pacing slot (rate limit);
4. it sends. `outcome.py` has already classified what happened. Delivered or permanent: done.
   Retryable: `NotificationFailed(permanent=False)` is journaled at once, and the next attempt
   waits uniform(0, min(retry_max, retry_base * 2**(attempt-1))) ("full jitter") but never less
   than the destination's Retry-After. After `retry_window` of retrying (with the circuit
   closed) it gives up: a permanent failure.

Every attempt's outcome also feeds the destination's breaker; its transitions are journaled as
`CircuitOpened` / `CircuitClosed`.

Final outcomes go to the notifier's tracker (`settle`), which journals them once every
integration of the receiver is done with the notification (see notifier.py for why).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import trio

from tocsin.actors.channels.breaker import Breaker, Transition
from tocsin.actors.channels.mailbox import Mailbox
from tocsin.actors.channels.ratelimit import Pacer
from tocsin.actors.channels.settings import ChannelSettings
from tocsin.adapters.channels.base import Channel
from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.channels.outcome import DeliveryFailed, Outcome, Verdict
from tocsin.core.events import (
    CircuitClosed,
    CircuitOpened,
    Event,
    NotificationDelivered,
    NotificationFailed,
    NotificationSkipped,
)

if TYPE_CHECKING:
    from tocsin.actors.channels.notifier import ChannelNotifier, Notice

__all__ = ["ActorStatistics", "ChannelActor"]

log = logging.getLogger("tocsin.channels")


class ActorStatistics:
    __slots__ = ("attempts", "coalesced", "delivered", "failed", "retried", "skipped", "waiting")

    def __init__(self) -> None:
        self.attempts = self.delivered = self.failed = self.retried = 0
        self.coalesced = self.skipped = self.waiting = 0


class ChannelActor:
    def __init__(
        self,
        notifier: ChannelNotifier,
        receiver: str,
        channel: Channel,
        breaker: Breaker,
        pacer: Pacer,
        settings: ChannelSettings,
    ) -> None:
        self.notifier = notifier
        self.receiver = receiver
        self.channel = channel
        self.breaker = breaker
        self.pacer = pacer
        self.settings = settings
        self.mailbox: Mailbox[Notice] = Mailbox(settings.mailbox_size)
        self.key = f"{receiver}/{channel.name}"
        self.stats = ActorStatistics()
        self.random = random.Random()

    # -- intake (never blocks) ----------------------------------------------------------
    def offer(self, notice: Notice) -> Notice | None:
        """Queue `notice`; returns the waiting notice it replaced, if the mailbox coalesced."""
        replaced = self.mailbox.put_nowait(notice)
        if replaced is not None:
            self.stats.coalesced += 1
        return replaced

    # -- config reloads -----------------------------------------------------------------
    def rebind(self, channel: Channel, breaker: Breaker, pacer: Pacer) -> None:
        """A reload rebuilt this integration (same receiver and name): later attempts, also
        of notices already waiting or being retried, use the new channel. A worker waiting
        for the old destination's circuit is woken to look at the new one."""
        old = self.channel.destination
        self.channel, self.pacer = channel, pacer
        if breaker is not self.breaker:
            self.breaker = breaker
            self.notifier.wake_breaker(old)

    def retire(self) -> None:
        """A reload removed this integration: deliver what is queued or in flight, then end."""
        self.mailbox.close()

    # -- the workers --------------------------------------------------------------------
    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(max(1, self.settings.workers)):
                nursery.start_soon(self._worker)

    async def _worker(self) -> None:
        while True:
            notice = await self.mailbox.take()
            if notice is None:
                return  # retired and drained
            try:
                await self._deliver(notice)
            finally:
                self.mailbox.done(notice)

    async def _deliver(self, notice: Notice) -> None:
        n, channel, clock = notice.n, self.channel, self.notifier.clock
        if n.resolved_only and not channel.send_resolved:
            self.stats.skipped += 1
            reason = "send_resolved is false and the notification only resolves alerts"
            skipped = NotificationSkipped(
                n.group_id, n.id, notice.receiver, channel.name, reason, clock.now()
            )
            await self.notifier.settle(notice, self, [skipped], closes=False)
            return
        attempt = 0
        window_start = clock.now()
        while True:
            passed = await self._wait_for_circuit(notice)
            if passed is None:
                return  # rerouted to the fallback receiver
            had_to_wait, breaker = passed
            if had_to_wait:
                window_start = clock.now()  # the circuit was open: the retry window restarts
            await self.pacer.wait()
            attempt += 1
            self.stats.attempts += 1
            started = trio.current_time()
            try:
                receipt, result = await self._attempt(n)
            except BaseException:
                breaker.release()
                raise
            latency = timedelta(seconds=trio.current_time() - started)
            now = clock.now()
            await self._record_circuit(breaker, result, now)
            if result.verdict is Verdict.DELIVERED:
                self.stats.delivered += 1
                assert receipt is not None
                events: list[Event] = [
                    NotificationDelivered(
                        n.group_id,
                        n.id,
                        notice.receiver,
                        channel.name,
                        attempt,
                        result.status_code,
                        latency,
                        now,
                    )
                ]
                await self.notifier.delivered(notice, self, receipt)
                await self.notifier.settle(notice, self, events, closes=True)
                return
            failed_for = now - window_start
            give_up = result.verdict is Verdict.PERMANENT
            delay = self._backoff(attempt, result)
            if not give_up and failed_for + timedelta(seconds=delay) > self.settings.retry_window:
                give_up = True
            failure = NotificationFailed(
                n.group_id,
                n.id,
                notice.receiver,
                channel.name,
                attempt,
                result.status_code,
                result.error
                if not give_up or result.verdict is Verdict.PERMANENT
                else f"{result.error}; gave up after retrying for {failed_for}",
                give_up,
                latency,
                now,
            )
            if give_up:
                self.stats.failed += 1
                log.warning(
                    "%s: notification %s failed for good after %d attempts: %s",
                    self.key,
                    n.id,
                    attempt,
                    failure.error,
                )
                await self.notifier.settle(notice, self, [failure], closes=True)
                return
            self.stats.retried += 1
            await self.notifier.journal([failure])
            if result.retry_after:
                self.pacer.push_back(result.retry_after)
            await trio.sleep(delay)

    async def _attempt(self, n: Notification) -> tuple[Receipt | None, Outcome]:
        try:
            receipt = await self.channel.deliver(n)
        except DeliveryFailed as exc:
            return None, exc.outcome
        except Exception as exc:  # an adapter bug must not kill the actor
            log.exception("%s: adapter error on %s", self.key, n.id)
            return None, Outcome(Verdict.PERMANENT, None, f"internal error ({type(exc).__name__})")
        return receipt, Outcome(Verdict.DELIVERED, receipt.status_code)

    def _backoff(self, attempt: int, result: Outcome) -> float:
        s = self.settings
        ceiling = min(
            s.retry_max.total_seconds(), s.retry_base.total_seconds() * 2 ** (attempt - 1)
        )
        delay = self.random.uniform(0, ceiling)
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        return delay

    # -- the circuit ----------------------------------------------------------------------
    async def _wait_for_circuit(self, notice: Notice) -> tuple[bool, Breaker] | None:
        """Wait until the circuit lets an attempt through. Returns whether it had to wait
        (False: it was closed) and the breaker that let it through (a reload may have given
        the actor another one meanwhile: the attempt's outcome goes to this one), or None when the notice was rerouted to a fallback because
        the circuit has been open (probes failing) for `fallback_after`."""
        clock = self.notifier.clock
        fallback = None if notice.rerouted else self.notifier.fallback_for(notice)
        waited = False
        while True:
            breaker = self.breaker  # a reload may swap it (`rebind`)
            now = clock.now()
            # First whether it may go: once the circuit has been open long enough, the next
            # notice is the probe, fallback or not. (Asking after rerouting left a circuit
            # whose notices all have a fallback open for good: nothing ever probed it.)
            allowed, transition = breaker.acquire(now)
            if transition is Transition.HALF_OPENED:
                log.info("%s: circuit half-open, probing", self.key)
            if allowed:
                return waited, breaker
            reroute_at = None
            if fallback is not None and breaker.opened_at is not None:
                reroute_at = breaker.opened_at + self.settings.fallback_after
                if now >= reroute_at:
                    await self.notifier.reroute(notice, self, fallback, breaker.open_duration(now))
                    return None
            waited = True
            deadlines = [t for t in (breaker.retry_at(), reroute_at) if t is not None]
            wake = clock.deadline(min(deadlines)) if deadlines else float("inf")
            version = breaker.version
            with trio.move_on_at(wake):
                while breaker.version == version and self.breaker is breaker:
                    await self.notifier.breaker_changed(self.channel.destination)

    async def _record_circuit(self, breaker: Breaker, result: Outcome, now: datetime) -> None:
        failed = result.verdict is Verdict.RETRYABLE and result.trips_circuit
        transition = breaker.record(failed, now, result.error)
        if transition is None:
            return
        self.notifier.wake_breaker(self.channel.destination)
        if transition is Transition.OPENED:
            log.warning("%s: circuit opened: %s", self.key, result.error)
            await self.notifier.journal(
                [
                    CircuitOpened(
                        self.receiver,
                        self.channel.name,
                        breaker.consecutive,
                        result.error,
                        now,
                    )
                ]
            )
        elif transition is Transition.CLOSED:
            log.info("%s: circuit closed", self.key)
            await self.notifier.journal([CircuitClosed(self.receiver, self.channel.name, now)])
