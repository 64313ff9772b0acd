"""Channel actors: delivering notifications to Slack, PagerDuty, email, webhooks, Teams, logs.

    notifier = ChannelNotifier.from_config(config, ChannelSettings(...))
    async with open_runtime(journal, rules=..., notifier=notifier) as rt:
        await rt.nursery.start(notifier.run, rt)

Modules: `notifier` (the runtime's Notifier; per-notification bookkeeping), `actor` (one per
receiver integration: retries, circuit, pacing), `mailbox` (bounded, per-group order,
coalescing), `breaker` (the circuit state machine), `ratelimit`, `settings`.
"""

from __future__ import annotations

from tocsin.actors.channels.actor import ChannelActor
from tocsin.actors.channels.breaker import Breaker, CircuitState, Transition
from tocsin.actors.channels.mailbox import Mailbox
from tocsin.actors.channels.notifier import ChannelNotifier, Notice, NotifierStatistics
from tocsin.actors.channels.settings import BreakerSettings, ChannelSettings

__all__ = [
    "Breaker",
    "BreakerSettings",
    "ChannelActor",
    "ChannelNotifier",
    "ChannelSettings",
    "CircuitState",
    "Mailbox",
    "Notice",
    "NotifierStatistics",
    "Transition",
]
