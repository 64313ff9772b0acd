"""The event stream under load: 100 websocket subscribers while ingest runs at full speed.

    .venv/bin/python benchmarks/stream.py [--subscribers 100] [--batches 300] [--batch 100]

Runs the runtime on a real segment journal (fsync: batch) in a temp dir with the HTTP app on
127.0.0.1, and ingests `batches` x `batch` new alerts from 8 concurrent tasks, twice: with no
subscriber, then with `subscribers` websocket clients (trio-websocket, in a child process so
they do not share the daemon's CPU time slice accounting) reading the whole stream. Prints the
ingest throughput of both runs, the drop (target: at most 10 %), and the delay from an event's
journal timestamp to its arrival at a subscriber (p50 / p99 / max, over every subscriber).

Prints only, asserts nothing; every loop is bounded; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import trio

from tocsin.actors.runtime import open_runtime
from tocsin.adapters.http import ApiContext, build_app, serve_http
from tocsin.config import load_text
from tocsin.core.events import AlertData
from tocsin.core.labels import Labels
from tocsin.daemon import rules_of
from tocsin.journal import open_segment_journal

CONFIG = """\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
receivers:
  - name: team
"""
WORKERS = 8
QUIET = 2.0  # a subscriber is done when the stream has been quiet this long
CHILD_TIMEOUT = 300.0


async def _ingest(rt, batches: int, batch: int, tag: str) -> float:  # type: ignore[no-untyped-def]
    """Ingest `batches` x `batch` new alerts from WORKERS tasks; returns alerts/s."""
    work = iter(range(batches))

    async def worker() -> None:
        for i in work:
            alerts = [
                AlertData(
                    Labels.of({"alertname": f"Bench{j % 50}", "instance": f"{tag}-{i}-{j}"}),
                    Labels.of({"summary": "benchmark"}),
                )
                for j in range(batch)
            ]
            await rt.ingest(alerts)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(WORKERS):
            nursery.start_soon(worker)
    return batches * batch / (time.perf_counter() - started)


async def _run(args: argparse.Namespace) -> None:
    config = load_text(CONFIG, env={})
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-stream-") as tmp:
        async with (
            open_segment_journal(Path(tmp), fsync="batch") as journal,
            open_runtime(journal, rules=rules_of(config)) as rt,
        ):
            ctx = ApiContext(config)
            ctx.attach(rt)
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                url = await nursery.start(serve_http, build_app(ctx), "127.0.0.1:0", stop.wait)
                # warm-up, then the baseline without subscribers
                await _ingest(rt, max(1, args.batches // 10), args.batch, "warm")
                base = await _ingest(rt, args.batches, args.batch, "base")
                print(f"ingest, no subscriber:      {base:>10,.0f} alerts/s")

                since = rt.world.applied_seq
                # Popen returns at once; its output is read in a worker thread below.
                child = subprocess.Popen(  # noqa: ASYNC220
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        url.replace("http://", "ws://") + f"/api/v1/stream?since={since}",
                        "--subscribers",
                        str(args.subscribers),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert child.stdout is not None
                line = await trio.to_thread.run_sync(child.stdout.readline)
                if line.strip() != "ready":
                    print(f"subscribers failed to start: {line!r}")
                    child.kill()
                    stop.set()
                    return
                loaded = await _ingest(rt, args.batches, args.batch, "load")
                events = rt.world.applied_seq - since
                print(
                    f"ingest, {args.subscribers} subscribers:   {loaded:>10,.0f} alerts/s "
                    f"({events:,} events each)"
                )
                print(f"throughput drop:            {100 * (1 - loaded / base):>10.1f} %")
                out, _ = await trio.to_thread.run_sync(
                    lambda: child.communicate(timeout=CHILD_TIMEOUT)
                )
                stop.set()
    report = json.loads(out)
    print(
        f"journal → subscriber delay: p50 {report['p50']:.1f} ms, p99 {report['p99']:.1f} ms, "
        f"max {report['max']:.1f} ms over {report['messages']:,} messages; "
        f"{report['closed']} subscribers cut off"
    )


# ------------------------------------------------------------------------- the child process
async def _subscribers(url: str, count: int) -> None:
    from trio_websocket import ConnectionClosed, open_websocket_url

    delays: list[float] = []
    closed = 0
    connected = 0
    all_connected = trio.Event()

    async def one() -> None:
        nonlocal closed, connected
        async with open_websocket_url(url) as ws:
            connected += 1
            if connected == count:
                all_connected.set()
            try:
                while True:
                    with trio.move_on_after(QUIET) as quiet:
                        raw = await ws.get_message()
                    if quiet.cancelled_caught:
                        return
                    arrived = time.time()
                    msg = json.loads(raw)
                    if msg["type"] == "ping":
                        continue
                    sent = datetime.fromisoformat(msg["ts"].replace("Z", "+00:00")).timestamp()
                    delays.append((arrived - sent) * 1000)
            except ConnectionClosed:
                closed += 1

    with trio.move_on_after(CHILD_TIMEOUT):
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(one)
            await all_connected.wait()
            print("ready", flush=True)
    delays.sort()
    n = len(delays)
    print(
        json.dumps(
            {
                "messages": n,
                "p50": statistics.median(delays) if n else 0.0,
                "p99": delays[int(n * 0.99)] if n else 0.0,
                "max": delays[-1] if n else 0.0,
                "closed": closed,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        trio.run(_subscribers, args.child, args.subscribers)
    else:
        trio.run(_run, args)


if __name__ == "__main__":
    main()
