"""`/metrics`: Tocsin's own state in Prometheus' exposition format (prometheus-client).

Three sources:

* counters the HTTP layer keeps as it works (alerts received by status, invalid alerts,
  request durations, webhook deliveries);
* counters fed by the event log's listener, one call per durable event (notifications requested,
  delivered and failed per receiver and integration; circuit breaker states);
* gauges read from the world when scraped (active alerts, groups by phase, silences by state,
  queue depths, journal counters, the event stream's subscribers and the ones it dropped) —
  nothing to keep in step, they are the state itself.

Each app has its own registry, so several daemons in one process (tests) never share series.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tocsin.core.events import (
    CircuitClosed,
    CircuitOpened,
    Event,
    NotificationDelivered,
    NotificationFailed,
    NotificationRequested,
)
from tocsin.core.group_state import Phase
from tocsin.core.silences import SilenceState, silence_state
from tocsin.core.world import World

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime
    from tocsin.actors.stream import SharedStream

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class ApiMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.alerts_received = Counter(
            "tocsin_alerts_received",
            "Alerts received, by status at arrival (firing or resolved) and ingress.",
            ["status", "ingress"],
            registry=r,
        )
        self.alerts_invalid = Counter(
            "tocsin_alerts_invalid",
            "Alerts refused as invalid (the rest of their batch was accepted).",
            ["ingress"],
            registry=r,
        )
        self.http_duration = Histogram(
            "tocsin_http_request_duration_seconds",
            "HTTP request durations by handler, method and status code.",
            ["handler", "method", "code"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ingest_duration = Histogram(
            "tocsin_ingest_durable_seconds",
            "From an ingest batch handed to the runtime to every event it caused being durable.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.journal_append = Histogram(
            "tocsin_journal_append_seconds",
            "Journal append latency until durable (includes the shared group-commit fsync).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.notifications = Counter(
            "tocsin_notifications",
            "Notifications delivered, by receiver and integration.",
            ["receiver", "integration"],
            registry=r,
        )
        self.notification_failures = Counter(
            "tocsin_notification_failures",
            "Failed delivery attempts, by receiver, integration and whether it was the last.",
            ["receiver", "integration", "permanent"],
            registry=r,
        )
        self.notifications_requested = Counter(
            "tocsin_notifications_requested",
            "Notifications decided (write-ahead), by receiver.",
            ["receiver"],
            registry=r,
        )
        self.rejected = Counter(
            "tocsin_http_rejected",
            "Requests refused before any work: by reason (auth, rate limit, size, busy).",
            ["reason"],
            registry=r,
        )
        self.circuits: dict[tuple[str, str], int] = {}
        self.config_reloads = Counter(
            "tocsin_config_reloads",
            "Configuration reloads, by result.",
            ["result"],
            registry=r,
        )
        self._state = _StateCollector(self)
        r.register(self._state)

    def watch_stream(self, shared: SharedStream) -> None:
        """Report the event stream's subscribers, and those it dropped, from its
        `statistics()` when scraped."""
        self._state.stream = shared

    def attach(self, rt: Runtime) -> None:
        """Start counting the runtime's durable events and reading its state when scraped."""
        self._state.rt = rt
        rt.log.listeners.append(self.observe)

    def observe(self, ev: Event, world: World) -> None:
        """Event-log listener: runs once per durable event; must be cheap and never raise."""
        t = type(ev)
        if t is NotificationDelivered:
            assert isinstance(ev, NotificationDelivered)
            self.notifications.labels(ev.receiver, ev.integration).inc()
        elif t is NotificationFailed:
            assert isinstance(ev, NotificationFailed)
            self.notification_failures.labels(
                ev.receiver, ev.integration, "true" if ev.permanent else "false"
            ).inc()
        elif t is NotificationRequested:
            assert isinstance(ev, NotificationRequested)
            self.notifications_requested.labels(ev.receiver).inc()
        elif t is CircuitOpened:
            assert isinstance(ev, CircuitOpened)
            self.circuits[(ev.receiver, ev.integration)] = 1
        elif t is CircuitClosed:
            assert isinstance(ev, CircuitClosed)
            self.circuits[(ev.receiver, ev.integration)] = 0

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics
        self.rt: Runtime | None = None
        self.stream: SharedStream | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        rt = self.rt
        circuits = GaugeMetricFamily(
            "tocsin_circuit_open",
            "1 while a receiver integration's circuit breaker is open.",
            labels=["receiver", "integration"],
        )
        for (receiver, integration), value in self.metrics.circuits.items():
            circuits.add_metric([receiver, integration], value)
        yield circuits
        if self.stream is not None:
            yield from _stream_metrics(self.stream)
        if rt is None:
            return
        now: datetime = rt.clock.now()
        phases = dict.fromkeys(Phase, 0)
        active_alerts = 0
        for state in rt.world.groups.values():
            phases[state.phase] += 1
            if state.phase in (Phase.PENDING, Phase.FIRING, Phase.ACKNOWLEDGED):
                active_alerts += sum(1 for a in state.alerts.values() if a.resolved_at is None)
        groups = GaugeMetricFamily(
            "tocsin_groups", "Alert groups in memory, by phase.", labels=["phase"]
        )
        for phase, n in phases.items():
            if phase is not Phase.EMPTY:
                groups.add_metric([phase.value], n)
        yield groups
        yield GaugeMetricFamily(
            "tocsin_alerts_active",
            "Firing alerts across live groups (an alert in two groups counts twice).",
            value=active_alerts,
        )
        silences = GaugeMetricFamily("tocsin_silences", "Silences by state.", labels=["state"])
        by_state = dict.fromkeys(SilenceState, 0)
        for s in rt.world.silences.values():
            by_state[silence_state(s, now)] += 1
        for st, n in by_state.items():
            silences.add_metric([st.value], n)
        yield silences
        depth = GaugeMetricFamily(
            "tocsin_queue_depth", "Items waiting in bounded queues.", labels=["queue"]
        )
        dstats = rt.dispatcher.statistics()
        depth.add_metric(["ingest"], dstats.queued)
        capacity = GaugeMetricFamily(
            "tocsin_queue_capacity", "Capacity of bounded queues.", labels=["queue"]
        )
        capacity.add_metric(["ingest"], dstats.capacity)
        try:
            jstats = rt.journal.statistics()
        except Exception:  # a closed journal: report the rest
            jstats = None
        if jstats is not None:
            depth.add_metric(["journal"], jstats.pending_records)
        yield depth
        yield capacity
        yield GaugeMetricFamily(
            "tocsin_group_actors", "Running group actors.", value=len(rt.registry)
        )
        if jstats is not None:
            yield GaugeMetricFamily(
                "tocsin_journal_last_seq", "Last durable record.", value=jstats.last_seq
            )
            for name, value, help_ in (
                ("records_appended", jstats.records_appended, "Records appended since start."),
                ("bytes_appended", jstats.bytes_appended, "Framed bytes appended since start."),
                ("batches", jstats.batches, "Group commits since start."),
                ("fsyncs", jstats.fsyncs, "fsync calls since start."),
            ):
                yield CounterMetricFamily(f"tocsin_journal_{name}", help_, value=value)


def _stream_metrics(shared: SharedStream) -> Iterator[Metric]:
    stats = shared.statistics()
    yield GaugeMetricFamily(
        "tocsin_stream_subscribers",
        "Event stream connections being served now (catching up or live).",
        value=stats.users,
    )
    dropped = CounterMetricFamily(
        "tocsin_stream_dropped",
        "Event stream subscribers dropped: cut off when they fell a buffer behind (close "
        "code 4408), aborted when a write to them stayed blocked (they stopped reading).",
        labels=["reason"],
    )
    dropped.add_metric(["fell behind"], stats.cut_off)
    dropped.add_metric(["stopped reading"], stats.aborted)
    yield dropped
