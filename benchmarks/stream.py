"""The event stream under load: 100 websocket subscribers while ingest runs at full speed.

    .venv/bin/python benchmarks/stream.py [--subscribers 100] [--batches 300] [--batch 100]
                                          [--rounds 2] [--frame-writes]

Each phase runs a fresh runtime on a real segment journal (fsync: batch) in a temp dir, with
the daemon's HTTP app on 127.0.0.1, and ingests `batches` x `batch` new alerts from 8
concurrent tasks after a warm-up: once with no subscriber, once with `subscribers` websocket
clients reading the whole stream from the head. (A fresh runtime each time, so the loaded
phase does not pay for the state the baseline left behind.) The clients live in a child
process and are deliberately cheap — a raw socket each, the handshake by hand, and per read
only the newest seq and the oldest new event's ts picked out — so that the measuring device
does not take the daemon's CPU. Each event counts with the delay of the oldest new event in
the read that brought it (an upper bound). A client is done when it has the last seq
ingested or was cut off.

On a small machine the clients' process slows ingest by being there: it takes CPU (and
shared core resources) the daemon would have had. So each round also runs a control: ingest
beside a child that only burns as much CPU as the clients' process took. The drop against
the control is the stream's own cost; the drop against the baseline is what this machine
sees with its clients on board.

Prints, per round: the ingest rate without and with subscribers, the drop (target: at most
10 %), the control and the drop against it, the delay from an event's journal timestamp to its arrival at a subscriber (p50 / p99 /
max, over every event at every subscriber) and the events each subscriber got (min / max of
the expected); then, per second of ingest in each phase, where the daemon's time goes: its
user and kernel CPU; how long its event loop thread ran and how long it waited, runnable,
for a CPU (from /proc/thread-self/schedstat: the share other processes took from it) and its
context switches; the stream's socket writes and bytes (every `SocketStream.send_all` of
this process is counted: here only the HTTP server writes to sockets), bytes per write and
per delivered event (the average frame); the journal's write syscalls; and the machine's
CPU by state from /proc/stat (other tenants included). Then a reference: what fan-out in the
daemon's process cannot avoid, as shares of the event loop at 90 % of the baseline rate (the
rate the target asks for): encoding each event once (timed over the phase's events), and the
kernel's copy of every frame to every subscriber's socket (the daemon's kernel CPU over the
baseline's, per event). Then the range over the rounds.

`--frame-writes` puts `FrameWrites` in front of the app when `build_app` has not already:
the stream then writes each subscriber's pending frames in one go instead of one ASGI message
each. Prints only, asserts nothing; every loop is bounded; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from datetime import datetime
from pathlib import Path
from typing import Any

import trio

from tocsin.actors.bus import BusMessage
from tocsin.actors.runtime import open_runtime
from tocsin.adapters.http import ApiContext, build_app, serve_http
from tocsin.adapters.http.routes_stream import FrameWrites, encode_frame
from tocsin.config import load_text
from tocsin.core.codec import CODEC
from tocsin.core.events import AlertData
from tocsin.core.labels import Labels
from tocsin.core.replay import tune_gc
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
CHILD_TIMEOUT = 300.0  # the whole child process, at most
DRAIN_TIMEOUT = 60.0  # after ingest ends, for the subscribers to get the last event


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


# -- where the daemon's time goes: counted in this process, read from /proc (Linux) ---------
_SENT = [0, 0]  # socket writes (trio.SocketStream.send_all calls) and bytes, since start


def _count_socket_writes() -> None:
    """Count every socket write of this process: here only the HTTP server writes to
    sockets (ingest goes to the runtime directly), so that is the stream's traffic. One
    Python call more per write, about a microsecond."""
    send_all = trio.SocketStream.send_all

    async def counted(self: trio.SocketStream, data: bytes | bytearray | memoryview) -> None:
        _SENT[0] += 1
        _SENT[1] += len(data)
        await send_all(self, data)

    trio.SocketStream.send_all = counted  # type: ignore[method-assign]


def _proc(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _counters() -> dict[str, float]:
    """Cumulative counters: this process's write syscalls and bytes (socket sends are not
    write syscalls: these are the journal's), the event loop thread's run and run-queue
    wait time (s) and context switches, and the machine's CPU time by state (s, all cores)."""
    out: dict[str, float] = {}
    for line in _proc("/proc/self/io").splitlines():
        key, _, value = line.partition(": ")
        if key in ("syscw", "wchar"):
            out[key] = float(value)
    sched = _proc("/proc/thread-self/schedstat").split()
    if len(sched) >= 2:
        out["loop_run"], out["loop_wait"] = int(sched[0]) / 1e9, int(sched[1]) / 1e9
    for line in _proc("/proc/thread-self/status").splitlines():
        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
            key, _, value = line.partition(":")
            out[key.split("_")[0]] = float(value)
    fields = _proc("/proc/stat").split("\n", 1)[0].split()[1:9]
    if len(fields) == 8:
        tick = os.sysconf("SC_CLK_TCK")
        names = ("m_user", "m_nice", "m_sys", "m_idle", "m_iowait", "m_irq", "m_soft", "m_steal")
        out |= {k: int(v) / tick for k, v in zip(names, fields, strict=True)}
    return out


def _since(before: dict[str, float]) -> dict[str, float]:
    now = _counters()
    return {k: now[k] - v for k, v in before.items() if k in now}


async def _phase(args: argparse.Namespace, subscribers: int, spin: float = 0.0) -> dict[str, Any]:
    """One fresh runtime: warm up, then ingest with `subscribers` clients reading, or with a
    child process that only burns `spin` of a core (the control)."""
    config = load_text(CONFIG, env={})
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-stream-") as tmp:
        async with (
            open_segment_journal(Path(tmp), fsync="batch") as journal,
            open_runtime(journal, rules=rules_of(config)) as rt,
        ):
            ctx = ApiContext(config)
            ctx.attach(rt)
            app = build_app(ctx)
            framed = any(m.cls is FrameWrites for m in app.user_middleware)
            if args.frame_writes and not framed:
                app.add_middleware(FrameWrites)
                framed = True
            stop = trio.Event()
            result: dict[str, Any] = {"frame_writes": framed, "spin": spin}
            async with trio.open_nursery() as nursery:
                url = await nursery.start(serve_http, app, "127.0.0.1:0", stop.wait)
                await _ingest(rt, max(1, args.batches // 10), args.batch, "warm")
                since = rt.world.applied_seq
                child = None
                if subscribers or spin:
                    stream_url = url.replace("http://", "ws://") + f"/api/v1/stream?since={since}"
                    # Popen returns at once; its output is read in a worker thread below.
                    child = subprocess.Popen(  # noqa: ASYNC220
                        [
                            sys.executable,
                            __file__,
                            *(["--spin", str(spin)] if spin else ["--child", stream_url]),
                            "--subscribers",
                            str(subscribers),
                        ],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    assert child.stdin is not None and child.stdout is not None
                    line = await trio.to_thread.run_sync(child.stdout.readline)
                    if line.strip() != "ready":
                        child.kill()
                        stop.set()
                        raise SystemExit(f"subscribers failed to start: {line!r}")
                sent_before = _SENT.copy()
                before, counters, wall = os.times(), _counters(), time.perf_counter()
                result["rate"] = await _ingest(rt, args.batches, args.batch, "load")
                result["alerts"] = args.batches * args.batch
                after, wall = os.times(), time.perf_counter() - wall
                result |= {k: v / wall for k, v in _since(counters).items()}
                result["sends"] = (_SENT[0] - sent_before[0]) / wall
                result["sent"] = (_SENT[1] - sent_before[1]) / wall
                result["cpu"] = (after.user - before.user + after.system - before.system) / wall
                result["user"] = (after.user - before.user) / wall
                result["sys"] = (after.system - before.system) / wall
                # CPU seconds per alert: steadier than the rate on a machine shared with others
                result["cpu_us"] = result["cpu"] / result["rate"] * 1e6
                result["events"] = rt.world.applied_seq - since
                if subscribers:
                    result["encode_us"] = _encode_cost(rt, since)
                if child is not None:
                    final = f"{rt.world.applied_seq}\n"
                    try:
                        out, _ = await trio.to_thread.run_sync(
                            lambda: child.communicate(final, timeout=CHILD_TIMEOUT)
                        )
                    finally:
                        child.kill()  # a no-op once it has exited
                    if subscribers:
                        result |= json.loads(out)
                        # the whole phase, the drain after ingest included
                        result["frame_bytes"] = (_SENT[1] - sent_before[1]) / max(
                            1, result["messages"]
                        )
                stop.set()
    return result


def _encode_cost(rt: Any, since: int) -> float:
    """µs of CPU to encode one of the phase's events as its stream frame, which the stream
    does once per event for every subscriber (the feed's `encode_frame`)."""
    msgs = [
        BusMessage(rec.seq, rec.ts, CODEC.decode(rec.type, rec.version, rec.payload))
        for rec in rt.journal.read(after=since)
    ]
    gc.collect()
    start = time.process_time()
    for msg in msgs:
        encode_frame(msg)
    return (time.process_time() - start) / max(1, len(msgs)) * 1e6


async def _run(args: argparse.Namespace) -> None:
    drops: list[float] = []
    own: list[float] = []
    p99s: list[float] = []
    for r in range(1, args.rounds + 1):
        base = await _phase(args, 0)
        loaded = await _phase(args, args.subscribers)
        control = await _phase(args, 0, spin=max(0.01, min(1.0, loaded["child_cpu"])))
        drop = 100 * (1 - loaded["rate"] / base["rate"])
        drops.append(drop)
        own.append(100 * (1 - loaded["rate"] / control["rate"]))
        p99s.append(loaded["p99"])
        mode = "one write per batch" if loaded["frame_writes"] else "one ASGI message per event"
        print(f"round {r} ({mode})")
        print(f"  ingest, no subscriber:      {base['rate']:>10,.0f} alerts/s")
        print(f"  ingest, {args.subscribers} subscribers:   {loaded['rate']:>10,.0f} alerts/s")
        print(f"  throughput drop:            {drop:>10.1f} %")
        print(
            f"  control: ingest beside a process burning {control['spin']:.2f} of a core "
            f"(what the subscribers' process took): {control['rate']:,.0f} alerts/s; "
            f"drop against it: {own[-1]:.1f} %"
        )
        print(
            f"  journal → subscriber delay: p50 {loaded['p50']:.1f} ms, "
            f"p99 {loaded['p99']:.1f} ms, max {loaded['max']:.1f} ms "
            f"over {loaded['messages']:,} deliveries"
        )
        print(
            f"  events per subscriber:      {loaded['min_events']:,} to "
            f"{loaded['max_events']:,} of {loaded['events']:,}; "
            f"{loaded['cut_off']} cut off, {loaded['unfinished']} unfinished"
        )
        print(
            f"  CPU while ingesting (cores): daemon {base['cpu']:.2f} alone "
            f"({base['sys']:.2f} in the kernel), {loaded['cpu']:.2f} with subscribers "
            f"({loaded['sys']:.2f}); subscribers' process {loaded['child_cpu']:.2f}"
        )
        print(
            f"  daemon CPU per alert:       {base['cpu_us']:.0f} µs alone, "
            f"{loaded['cpu_us']:.0f} µs with subscribers"
        )
        _where(base, loaded, control, args.subscribers)
        _floor(base, loaded, args.subscribers)
        sys.stdout.flush()
    if args.rounds > 1:
        print(
            f"over {args.rounds} rounds: drop {min(drops):.1f} to {max(drops):.1f} % "
            f"(median {statistics.median(drops):.1f}), against the control {min(own):.1f} to "
            f"{max(own):.1f} % (median {statistics.median(own):.1f}); p99 delay "
            f"{min(p99s):.1f} to {max(p99s):.1f} ms"
        )


def _where(base: dict[str, Any], loaded: dict[str, Any], control: dict[str, Any], n: int) -> None:
    """Per second of ingest, in each phase: where the daemon's time goes."""
    phases = (base, loaded, control)

    def row(label: str, cell: Any) -> None:
        cells = []
        for ph in phases:
            try:
                cells.append(cell(ph))
            except (KeyError, ZeroDivisionError):
                cells.append("-")
        print(f"    {label:<44}" + "".join(f"{c:>18}" for c in cells))

    print(
        f"  per second of ingest{'':<30}{'no subscriber':>18}{f'{n} subscribers':>18}{'control':>18}"
    )
    row("daemon CPU, user / kernel (cores)", lambda p: f"{p['user']:.2f} / {p['sys']:.2f}")
    row(
        "event loop thread: on a CPU / waiting for one",
        lambda p: f"{p['loop_run']:.2f} / {p['loop_wait']:.2f}",
    )
    row(
        "  its context switches: voluntary / forced",
        lambda p: f"{p['voluntary']:,.0f} / {p['nonvoluntary']:,.0f}",
    )
    row("socket writes (send_all), MB", lambda p: f"{p['sends']:,.0f}, {p['sent'] / 1e6:.1f}")
    row("  bytes per write", lambda p: f"{p['sent'] / p['sends']:,.0f}")
    row("journal write syscalls, MB", lambda p: f"{p['syscw']:,.0f}, {p['wchar'] / 1e6:.1f}")
    row("bytes per delivered event (frame)", lambda p: f"{p['frame_bytes']:.0f}")
    row(
        f"machine ({os.cpu_count()} cores): user / sys / softirq",
        lambda p: f"{p['m_user'] + p['m_nice']:.2f}/{p['m_sys']:.2f}/{p['m_soft']:.2f}",
    )
    row("  steal / idle", lambda p: f"{p['m_steal']:.2f} / {p['m_idle'] + p['m_iowait']:.2f}")


def _floor(base: dict[str, Any], loaded: dict[str, Any], n: int) -> None:
    """The part of the stream's cost no fan-out design in this process avoids, in shares of
    the event loop's time at the rate the target asks for (90 % of the baseline): encoding
    each event once, and the kernel's copy of its frame to every subscriber's socket (the
    daemon's kernel CPU over the baseline's, per event delivered to all subscribers)."""
    events_per_s = 0.9 * base["rate"] * loaded["events"] / loaded["alerts"]
    encode = loaded["encode_us"]
    kernel = (loaded["sys"] - base["sys"]) / (loaded["rate"] * loaded["events"] / loaded["alerts"])
    kernel *= 1e6
    print(
        f"  reference, what fan-out in this process cannot avoid at 90 % of the baseline "
        f"({events_per_s:,.0f} events/s): encoding each event once {encode:.1f} µs "
        f"({encode * events_per_s / 1e4:.0f} % of the loop's time), the kernel copying its "
        f"frame to {n} sockets {kernel:.1f} µs ({kernel * events_per_s / 1e4:.0f} %)"
    )


# ------------------------------------------------------------------------- the child process
_EVENT = re.compile(rb'\{"seq":(\d+),"ts":"([^"]+)"')
_HEAD = b'{"seq":'
_TAIL = 64  # bytes kept between reads: an event's head split across two reads still matches


def _newest(buf: bytes) -> re.Match[bytes] | None:
    end = len(buf)
    while (end := buf.rfind(_HEAD, 0, end)) >= 0:
        m = _EVENT.match(buf, end)
        if m is not None:
            return m
    return None


def _weighted(values: array[float], weights: array[int], q: float) -> float:
    """The q-quantile of `values`, each counted `weights` times."""
    if not values:
        return 0.0
    order = sorted(range(len(values)), key=values.__getitem__)
    goal, seen = q * sum(weights), 0
    for i in order:
        seen += weights[i]
        if seen >= goal:
            return values[i]
    return values[order[-1]]


async def _subscribers(url: str, count: int) -> None:
    host, _, rest = url.removeprefix("ws://").partition(":")
    port, _, path = rest.partition("/")
    since = int(url.rsplit("since=", 1)[1])
    delays = array("d")  # ms, per read: of its oldest new event
    weights = array("q")  # how many new events that read brought
    got: list[int] = []
    cut_off = 0
    unfinished = 0
    final = [10**18]
    known = trio.Event()
    connected = 0
    all_connected = trio.Event()
    all_done = trio.Event()
    seconds: dict[bytes, float] = {}

    def stamp(ts: bytes) -> float:
        t = seconds.get(ts)
        if t is None:
            t = datetime.fromisoformat(ts.decode().replace("Z", "+00:00")).timestamp()
            seconds[ts] = t
        return t

    async def one() -> None:
        nonlocal connected, cut_off, unfinished
        last, n = since, 0
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(
                f"GET /{path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive_some(4096)
            status, _, buf = head.partition(b"\r\n\r\n")
            if b" 101 " not in status.split(b"\r\n", 1)[0]:
                raise SystemExit(f"handshake refused: {status[:80]!r}")
            connected += 1
            if connected == count:
                all_connected.set()
            while last < final[0]:
                if known.is_set() and trio.current_time() >= deadline[0]:
                    unfinished += 1
                    break
                data = None
                with trio.move_on_after(0.25):  # to look at `final` and the deadline again
                    data = await stream.receive_some(1 << 20)
                if data is None:
                    continue
                if not data:
                    unfinished += 1
                    break
                arrived = time.time()
                buf = buf[-_TAIL:] + data
                # Events arrive in seq order, a read holding a burst of them: note the newest
                # seq, and time the oldest new event (an upper bound for the whole burst).
                newest = _newest(buf)
                if newest is not None and int(newest[1]) > last:
                    oldest = next(m for m in _EVENT.finditer(buf) if int(m[1]) > last)
                    delays.append((arrived - stamp(oldest[2])) * 1000)
                    weights.append(int(newest[1]) - last)
                    n += int(newest[1]) - last
                    last = int(newest[1])
                if b"fell behind" in buf:
                    cut_off += 1
                    break
        got.append(n)
        if len(got) == count:
            all_done.set()

    deadline = [0.0]
    cpu_share = [0.0]
    began = 0.0

    async def read_final() -> None:
        line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        final[0] = int(line)
        cpu_share[0] = (time.process_time() - cpu_share[0]) / (time.perf_counter() - began)
        deadline[0] = trio.current_time() + DRAIN_TIMEOUT
        known.set()

    with trio.move_on_after(CHILD_TIMEOUT):
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(one)
            await all_connected.wait()
            print("ready", flush=True)
            began, cpu_share[0] = time.perf_counter(), time.process_time()
            nursery.start_soon(read_final)
            await all_done.wait()
            nursery.cancel_scope.cancel()
    print(
        json.dumps(
            {
                "messages": sum(weights),
                "p50": _weighted(delays, weights, 0.5),
                "p99": _weighted(delays, weights, 0.99),
                "max": max(delays, default=0.0),
                "min_events": min(got, default=0),
                "max_events": max(got, default=0),
                "cut_off": cut_off,
                "child_cpu": cpu_share[0],
                "unfinished": unfinished + count - len(got),
            }
        )
    )


def _spin(share: float) -> None:
    """Burn `share` of a core, 10 ms at a time, until stdin closes (the control's child)."""
    import threading

    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("ready", flush=True)
    deadline = time.perf_counter() + CHILD_TIMEOUT
    while not done.is_set() and time.perf_counter() < deadline:
        busy_until = time.perf_counter() + 0.01 * share
        while time.perf_counter() < busy_until:
            pass
        time.sleep(0.01 * (1 - share))


def main() -> None:
    tune_gc()  # what `tocsin` does
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--frame-writes", action="store_true")
    p.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--spin", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.spin:
        _spin(args.spin)
    elif args.child:
        trio.run(_subscribers, args.child, args.subscribers)
    else:
        _count_socket_writes()
        trio.run(_run, args)


if __name__ == "__main__":
    main()
