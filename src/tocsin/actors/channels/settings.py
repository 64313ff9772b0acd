"""The channel actors' knobs. Defaults suit production; tests shrink them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs

__all__ = ["WEBHOOK_SIGNING_SECRET", "BreakerSettings", "ChannelSettings"]

#: The environment variable `tocsin run` (and `tocsin channels test`) take
#: `ChannelSettings.webhook_secret` from: when set, every webhook integration signs its bodies.
WEBHOOK_SIGNING_SECRET = "TOCSIN_WEBHOOK_SIGNING_SECRET"


@attrs.frozen
class BreakerSettings:
    """When a destination's circuit opens, and for how long.

    Opens after `consecutive_failures` failures in a row, or when at least `ratio_min_calls` of
    the last `ratio_window` attempts were made and `failure_ratio` of them failed. Stays open
    `open_for` (doubling after each failed probe, up to `max_open_for`), then lets one probe
    through (half-open): success closes it, failure opens it again.
    """

    consecutive_failures: int = 5
    failure_ratio: float = 0.5
    ratio_window: int = 20
    ratio_min_calls: int = 10
    open_for: timedelta = timedelta(seconds=30)
    max_open_for: timedelta = timedelta(minutes=5)


@attrs.frozen
class ChannelSettings:
    """How channel actors deliver.

    mailbox_size        waiting notifications per integration before coalescing per group
    workers             notifications in flight per integration (never two of one group)
    retry_base          first backoff ceiling; attempt k waits uniform(0, base * 2**(k-1))
    retry_max           backoff ceiling
    retry_window        give up (permanent failure) after retrying this long with the
                        circuit closed; time spent waiting for an open circuit does not count
    fallback_after      reroute to the route's `fallback` receiver after waiting this long
                        for an open circuit
    rate_limits         minimum seconds between requests to one destination, per kind
                        (PagerDuty: ~2 events/s per routing key; Slack: ~1 message/s per
                        channel)
    timeout             per-request timeout, seconds
    redact_patterns     extra regexes whose matches are masked in labels and annotations
    webhook_secret      signs webhook bodies (X-Tocsin-Signature) when set (`tocsin run`:
                        $TOCSIN_WEBHOOK_SIGNING_SECRET)
    """

    mailbox_size: int = 1000
    workers: int = 4
    retry_base: timedelta = timedelta(seconds=1)
    retry_max: timedelta = timedelta(minutes=1)
    retry_window: timedelta = timedelta(hours=1)
    fallback_after: timedelta = timedelta(minutes=5)
    rate_limits: Mapping[str, float] = attrs.Factory(
        lambda: {"pagerduty": 0.5, "slack": 1.0, "msteams": 0.5}
    )
    timeout: float = 10.0
    breaker: BreakerSettings = BreakerSettings()
    redact_patterns: tuple[str, ...] = ()
    max_alerts_in_message: int = 10
    webhook_secret: str | None = attrs.field(default=None, repr=False)
