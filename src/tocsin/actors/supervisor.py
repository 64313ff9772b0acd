"""Supervision: restart a crashed actor from its state, with backoff, visibly.

An actor's state lives in the `World`, changed only by durable events, and `decide` never
mutates it; so an actor that crashes mid-decision restarts from a consistent state and simply
carries on. Each crash is logged and journaled (`ActorRestarted`, with the error and the backoff);
`crash_loop_restarts` crashes within `crash_loop_window` raise an internal alert
(`TocsinActorCrashLoop`, routed like any other alert) instead of spinning silently. A run longer
than the window resets the backoff.

A crash never propagates to the daemon — except a broken journal, which nothing can run without.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import attrs
import trio

from tocsin.actors.clock import Clock
from tocsin.actors.eventlog import EventLog
from tocsin.core.events import ActorRestarted
from tocsin.journal import JournalError

__all__ = ["RestartPolicy", "supervise"]

log = logging.getLogger("tocsin.supervisor")


@attrs.frozen
class RestartPolicy:
    initial_backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=1)
    crash_loop_restarts: int = 5
    crash_loop_window: timedelta = timedelta(minutes=5)

    def backoff(self, attempt: int) -> timedelta:
        grown: timedelta = self.initial_backoff * 2 ** min(attempt - 1, 30)
        return min(grown, self.max_backoff)


CrashLoopHook = Callable[[str, BaseException, int], None]


async def supervise(
    name: str,
    actor: Callable[[], Awaitable[None]],
    *,
    log_: EventLog,
    clock: Clock,
    policy: RestartPolicy = RestartPolicy(),
    on_crash_loop: CrashLoopHook | None = None,
) -> None:
    """Run `actor()` until it returns, restarting it after each crash.

    Raises only `JournalError` (the journal broke: nothing can be recorded any more) and
    cancellation.
    """
    attempt = 0
    crashes: list[datetime] = []
    while True:
        started = clock.now()
        try:
            await actor()
            return
        except JournalError:
            raise
        except Exception as exc:
            now = clock.now()
            if now - started > policy.crash_loop_window:
                attempt = 0
            attempt += 1
            backoff = policy.backoff(attempt)
            crashes = [t for t in crashes if now - t <= policy.crash_loop_window] + [now]
            log.error(
                "actor %s crashed (attempt %d), restarting in %s",
                name,
                attempt,
                backoff,
                exc_info=exc,
            )
            await log_.append([ActorRestarted(name, repr(exc)[:1000], attempt, backoff, now)])
            if len(crashes) >= policy.crash_loop_restarts and on_crash_loop is not None:
                on_crash_loop(name, exc, len(crashes))
                crashes = []
            await trio.sleep(backoff.total_seconds())
