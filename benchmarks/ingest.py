"""HTTP ingest: Tocsin against Debian's Alertmanager 0.25, same machine, same load, same run.

    python benchmarks/ingest.py [--quick] [--connections 8] [--probes 200]

Starts `tocsin run` (journal on, `fsync: batch`) and `prometheus-alertmanager` one after the
other, each fresh per scenario, on 127.0.0.1, and drives both with the same load generator:
POST /api/v2/alerts over 8 keep-alive connections, Prometheus-shaped alerts (labels, a summary,
startsAt, endsAt, generatorURL), every alert distinct. Scenarios: batches of 1 and 256,
10,000 and 100,000 alerts, 50 groups and one group per alert (group_by on a label that takes 50
values or one per alert). Prints per scenario and server: alerts/s, p50/p99 request latency,
peak RSS (VmHWM) of the server; and the Tocsin/Alertmanager throughput ratio.

Batches of 64 and more are then sent a second time to the same server ("re-sent"): the same
alerts again, as Prometheus re-sends every firing alert about once a minute.

Then POST -> notified latency with group_wait 0, one alert at a time (`--probes` of them):
until the server's webhook reaches a local sink, measured the same way for both servers.

The load generator is plain sockets in threads (pre-built requests, minimal response parsing),
so it costs the servers as little as it can; it shares the 2 cores with the server under test.
`--servers tocsin,alertmanager,bare` adds a reference: a bare Hypercorn (trio worker) +
Starlette app that only parses the JSON body and answers 200 — the ceiling of the HTTP stack the
design mandates, on this machine, in the same run.

Prints only; asserts nothing (issue 5 targets: Tocsin >= 0.5x Alertmanager's throughput,
p99 POST -> delivered <= 20 ms).
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FSYNC = ["batch"]  # --fsync

CONFIG = """\
route:
  receiver: sink
  group_by: [{group_by}]
  group_wait: {group_wait}
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:{sink_port}/hook
"""


# -- servers ------------------------------------------------------------------------------------
# The reference for what the mandated HTTP stack costs by itself: Hypercorn's trio worker and a
# Starlette app that reads the body, parses the JSON and answers 200 — no validation, no
# journal, no state. Tocsin cannot pass this server's rate for the same requests.
BARE_APP = """
import sys, orjson, trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

async def post(request):
    orjson.loads(await request.body())
    return Response(status_code=200)

async def ready(request):
    return PlainTextResponse("OK")

app = Starlette(routes=[Route("/api/v2/alerts", post, methods=["POST"]), Route("/-/ready", ready)])
config = Config()
config.bind = [f"127.0.0.1:{sys.argv[1]}"]
config.accesslog = None
trio.run(serve, app, config)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server not ready in time")


@contextmanager
def server(kind: str, config: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        d = Path(tmp)
        (d / "am.yml").write_text(config)
        port = free_port()
        if kind == "tocsin":
            args = [
                sys.executable,
                "-m",
                "tocsin.cli.main",
                "run",
                "--config",
                str(d / "am.yml"),
                "--data-dir",
                str(d / "data"),
                "--listen",
                f"127.0.0.1:{port}",
                "--fsync",
                "batch",
                "--log-level",
                "warning",
            ]
        elif kind == "bare":
            args = [sys.executable, "-c", BARE_APP, str(port)]
        else:
            args = [
                shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager",
                f"--config.file={d / 'am.yml'}",
                f"--storage.path={d / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(port, proc)
            yield port, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- load ---------------------------------------------------------------------------------------
def alerts(n: int, groups: int | None) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    starts = (now - timedelta(minutes=1)).isoformat()
    ends = (now + timedelta(hours=1)).isoformat()
    return [
        {
            "labels": {
                "alertname": "BenchAlert",
                "instance": f"host-{i}:9100",
                "job": "node",
                "severity": "warning",
                "group": f"g{i % groups if groups else i}",
            },
            "annotations": {"summary": f"alert {i} is firing"},
            "startsAt": starts,
            "endsAt": ends,
            "generatorURL": f"http://prometheus:9090/graph?g0.expr=up%7Binstance%3D%22host-{i}%22%7D",
        }
        for i in range(n)
    ]


def requests(items: list[dict[str, object]], batch: int) -> list[bytes]:
    out = []
    for i in range(0, len(items), batch):
        body = json.dumps(items[i : i + batch], separators=(",", ":")).encode()
        head = (
            f"POST /api/v2/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


def read_response(sock: socket.socket, buf: bytearray) -> int:
    """Read one response; returns its status, negated when the server will close."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    closing = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            closing = True
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        rest += chunk
    del buf[:]
    buf += rest[length:]
    return -status if closing else status


def drive(port: int, reqs: list[bytes], connections: int) -> tuple[float, list[float], int]:
    work: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    for r in reqs:
        work.put(r)
    for _ in range(connections):
        work.put(None)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def worker() -> None:
        sock = connect()
        buf = bytearray()
        mine = []
        bad = 0
        try:
            while (req := work.get()) is not None:
                t0 = time.perf_counter()
                sock.sendall(req)
                status = read_response(sock, buf)
                mine.append(time.perf_counter() - t0)
                bad += abs(status) != 200
                if status < 0:  # the server closes this connection: open another, as clients do
                    sock.close()
                    sock, buf = connect(), bytearray()
        except OSError:
            bad += 1 + sum(1 for _ in iter(work.get, None))  # the rest of this worker's share
        finally:
            sock.close()
            with lock:
                latencies.extend(mine)
                errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, errors[0]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


def report(
    scenario: str, kind: str, rate: float, lat: list[float], rss: float, errors: int
) -> None:
    note = f"  ({errors} non-200)" if errors else ""
    print(
        f"{scenario:<34} {kind:<13} {rate:>9.0f} "
        f"{pct(lat, 0.5) * 1e3:>8.2f} {pct(lat, 0.99) * 1e3:>8.2f} {rss:>7.0f}{note}",
        flush=True,
    )


# -- latency ------------------------------------------------------------------------------------
@contextmanager
def sink() -> Iterator[tuple[int, queue.SimpleQueue[float]]]:
    arrivals: queue.SimpleQueue[float] = queue.SimpleQueue()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            arrivals.put(time.perf_counter())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1], arrivals
    finally:
        srv.shutdown()
        srv.server_close()


def post_one(port: int, i: int) -> None:
    body = json.dumps([{"labels": {"alertname": f"Probe{i}", "severity": "critical"}}]).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        assert abs(read_response(s, bytearray())) == 200


def latency_alertmanager(probes: int) -> list[float]:
    out = []
    with sink() as (sink_port, arrivals):
        config = CONFIG.format(group_by="alertname", group_wait="0s", sink_port=sink_port)
        with server("alertmanager", config) as (port, _proc):
            for i in range(probes):
                t0 = time.perf_counter()
                post_one(port, i)
                out.append(arrivals.get(timeout=10) - t0)
    return out


def latency_tocsin(probes: int) -> tuple[list[float], str]:
    """POST -> the webhook sink, measured exactly as for Alertmanager (same sink, same
    blocking wait, daemon logging at warning level)."""
    out = []
    with sink() as (sink_port, arrivals):
        config = CONFIG.format(group_by="alertname", group_wait="0s", sink_port=sink_port)
        with server("tocsin", config) as (port, _proc):
            for i in range(probes):
                t0 = time.perf_counter()
                post_one(port, i)
                out.append(arrivals.get(timeout=10) - t0)
    return out, "webhook sink"


# -- main ---------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="10,000 alerts only")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--fsync", choices=["batch", "always", "never"], default="batch")
    ap.add_argument("--sizes", default="10000,100000", help="alert counts, comma-separated")
    ap.add_argument("--batches", default="1,256", help="batch sizes, comma-separated")
    ap.add_argument("--servers", default="tocsin,alertmanager")
    ap.add_argument(
        "--shapes", default="50,alert", help="50 (50 groups) and/or alert (a group per alert)"
    )
    args = ap.parse_args()
    FSYNC[0] = args.fsync
    sizes = [10_000] if args.quick else [int(n) for n in args.sizes.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    kinds = args.servers.split(",")
    print(
        f"ingest: {args.connections} connections, POST /api/v2/alerts, fsync {args.fsync} (Tocsin)"
    )
    print(
        f"{'scenario':<34} {'server':<13} {'alerts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>7}"
    )
    for n in sizes:
        for groups in [50 if shape == "50" else None for shape in args.shapes.split(",")]:
            items = alerts(n, groups)
            for batch in batches:
                reqs = requests(items, batch)
                scenario = f"{n} alerts, batch {batch}, {'50 groups' if groups else 'group/alert'}"
                rates: dict[str, float] = {}
                resent: dict[str, float] = {}
                for kind in kinds:
                    config = CONFIG.format(group_by="group", group_wait="30s", sink_port=1)
                    with server(kind, config) as (port, proc):
                        elapsed, lat, errors = drive(port, reqs, args.connections)
                        rss = peak_rss_mb(proc.pid)
                        rates[kind] = n / elapsed
                        report(scenario, kind, n / elapsed, lat, rss, errors)
                        if batch >= 64:  # the same alerts again, as Prometheus re-sends them
                            elapsed, lat, errors = drive(port, reqs, args.connections)
                            rss = peak_rss_mb(proc.pid)
                            resent[kind] = n / elapsed
                            report("  ... re-sent", kind, n / elapsed, lat, rss, errors)
                if "bare" in rates and "alertmanager" in rates:
                    print(
                        f"{'':<34} {'bare/AM':<13} {rates['bare'] / rates['alertmanager']:>9.2f}x"
                        " (the HTTP stack alone)"
                    )
                if "tocsin" in rates and "alertmanager" in rates:
                    ratio = rates["tocsin"] / rates["alertmanager"]
                    again = (
                        f" (re-sent: {resent['tocsin'] / resent['alertmanager']:.2f}x)"
                        if "tocsin" in resent and "alertmanager" in resent
                        else ""
                    )
                    print(f"{'':<34} {'ratio':<13} {ratio:>9.2f}x{again}", flush=True)
    if not args.probes:
        return
    print(f"\nPOST -> notified, group_wait 0, {args.probes} sequential alerts")
    am = latency_alertmanager(args.probes)
    print(
        f"  alertmanager (webhook sink): p50 {pct(am, 0.5) * 1e3:.2f} ms  p99 {pct(am, 0.99) * 1e3:.2f} ms"
    )
    tl, how = latency_tocsin(args.probes)
    print(f"  tocsin ({how}): p50 {pct(tl, 0.5) * 1e3:.2f} ms  p99 {pct(tl, 0.99) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
