"""`/metrics` on a real Hypercorn on 127.0.0.1: what the event stream reports.

The app serves `/metrics` and the stream (with `FrameWrites`, which the abort needs); the
metrics are scraped over HTTP and parsed with prometheus-client's own parser, as Prometheus
would read them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from trio_websocket import ConnectionClosed, open_websocket_url

from tests.fakes import wait_for
from tocsin.actors.stream import SharedStream
from tocsin.adapters.http.metrics import ApiMetrics
from tocsin.adapters.http.routes_stream import (
    CLOSE_FELL_BEHIND,
    encode_frame,
)

from .test_stream import DEADLINE, Served
from .test_stream import serving as stream_serving
from .test_stream_stalled import open_stalled_client, reset_by_peer

FELL_BEHIND = {"reason": "fell behind"}
STOPPED_READING = {"reason": "stopped reading"}


@asynccontextmanager
async def serving(**route_kw: Any) -> AsyncIterator[tuple[Served, httpx.AsyncClient]]:
    """The stream and `/metrics` on one port, and an HTTP client with a read token."""
    async with stream_serving(True, with_ops=True, **route_kw) as served:
        headers = {"Authorization": "Bearer read-secret"}
        base = served.url.replace("ws://", "http://")
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            yield served, http


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[Any]], float]:
    """Every sample of `/metrics`, keyed by (name, labels)."""
    r = await http.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def wait_for_sample(http: httpx.AsyncClient, name: str, want: float, **labels: str) -> None:
    async def there() -> bool:
        return value(await scrape(http), name, **labels) == want

    await wait_for(there, within=DEADLINE, every=0.01, what=f"{name}{labels} == {want}")


async def test_a_scrape_counts_the_stream_subscribers_connected_now():
    async with serving() as (s, http):
        before = await scrape(http)
        assert value(before, "tocsin_stream_subscribers") == 0
        assert value(before, "tocsin_stream_dropped_total", **FELL_BEHIND) == 0
        assert value(before, "tocsin_stream_dropped_total", **STOPPED_READING) == 0
        async with s.ws():
            await wait_for_sample(http, "tocsin_stream_subscribers", 1)
            async with s.ws():
                await wait_for_sample(http, "tocsin_stream_subscribers", 2)
            await wait_for_sample(http, "tocsin_stream_subscribers", 1)
        await wait_for_sample(http, "tocsin_stream_subscribers", 0)
        # Leaving is not being dropped.
        after = await scrape(http)
        assert value(after, "tocsin_stream_dropped_total", **FELL_BEHIND) == 0
        assert value(after, "tocsin_stream_dropped_total", **STOPPED_READING) == 0


async def test_a_subscriber_cut_off_for_falling_behind_is_counted():
    async with serving(buffer=20) as (s, http):
        # message_queue_size=0: the client stops reading its socket as soon as one message
        # is waiting, so it falls behind (as in test_stream's slow subscriber).
        url = f"{s.url}/api/v1/stream?token=read-secret"
        async with open_websocket_url(url, message_queue_size=0) as ws:
            await wait_for_sample(http, "tocsin_stream_subscribers", 1)
            with trio.fail_after(DEADLINE):
                for i in range(40):
                    await s.fire(*(f"Slow{i}-{j}" for j in range(25)))
            with trio.fail_after(DEADLINE), pytest.raises(ConnectionClosed) as caught:
                while True:
                    await ws.get_message()
        assert caught.value.reason.code == CLOSE_FELL_BEHIND
        await wait_for_sample(http, "tocsin_stream_subscribers", 0)
        samples = await scrape(http)
        assert value(samples, "tocsin_stream_dropped_total", **FELL_BEHIND) == 1
        assert value(samples, "tocsin_stream_dropped_total", **STOPPED_READING) == 0


async def test_a_subscriber_aborted_for_not_reading_is_counted():
    shared = SharedStream(encode_frame, capacity=5_000)
    async with serving(buffer=5_000, write_timeout=0.5, shared=shared) as (s, http):
        async with await open_stalled_client(s.url) as stalled:
            await wait_for_sample(http, "tocsin_stream_subscribers", 1)

            async def ingest() -> None:  # until the stalled client's buffers are full
                i = 0
                while True:
                    await s.fire(*(f"Stall{i}-{j}" for j in range(10)))
                    i += 1
                    await trio.sleep(0.01)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(ingest)
                await wait_for_sample(http, "tocsin_stream_dropped_total", 1, **STOPPED_READING)
                nursery.cancel_scope.cancel()
            await wait_for(lambda: reset_by_peer(stalled), within=DEADLINE, every=0.01)
        await wait_for_sample(http, "tocsin_stream_subscribers", 0)
        samples = await scrape(http)
        assert value(samples, "tocsin_stream_dropped_total", **FELL_BEHIND) == 0
        assert shared.statistics().aborted == 1


def test_the_stream_series_come_from_its_statistics_at_scrape_time():
    metrics = ApiMetrics()
    text = metrics.exposition().decode()
    assert "tocsin_stream_subscribers" not in text  # no stream served: no series
    shared = SharedStream(encode_frame)
    metrics.watch_stream(shared)
    shared.note_cut_off()
    shared.note_cut_off()
    shared.note_aborted()
    text = metrics.exposition().decode()
    assert "tocsin_stream_subscribers 0.0" in text
    assert 'tocsin_stream_dropped_total{reason="fell behind"} 2.0' in text
    assert 'tocsin_stream_dropped_total{reason="stopped reading"} 1.0' in text
