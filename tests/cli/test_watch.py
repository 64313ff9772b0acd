"""`tocsin watch` against a daemon started by the test (a real process on 127.0.0.1)."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from trio_websocket import CloseReason, ConnectionClosed

from tocsin.cli.watch_cmd import format_line, stream_url, watch

from ..adapters.running_tocsin import free_port, running_tocsin

TOKEN = "watch-secret"
CONFIG = f"""\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
receivers:
  - name: team
tocsin:
  auth:
    tokens:
      - {{name: watcher, token: {TOKEN}, roles: [read, ingest]}}
"""


def _watch(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin.cli.main", "watch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_stream_url():
    assert (
        stream_url("https://t.example/tocsin/", 5, ["alert.*"], ["g1"])
        == "wss://t.example/tocsin/api/v1/stream?since=5&type=alert.%2A&group=g1"
    )
    assert stream_url("http://127.0.0.1:9093", None, [], []) == "ws://127.0.0.1:9093/api/v1/stream"


def test_lines_are_coloured_only_on_request():
    msg = {"seq": 7, "ts": "T", "type": "alert.received", "data": {"change": "new"}}
    assert format_line(msg, colour=False) == f"{7:>8} T {'alert.received':<24} change=new"
    assert format_line(msg, colour=True).startswith("\x1b[33m")


@pytest.mark.slow
def test_tails_the_journal_then_exits_after_count():
    with running_tocsin(CONFIG, token=TOKEN) as t:
        r = t.client.post("/api/v2/alerts", json=[{"labels": {"alertname": "Watched"}}])
        assert r.status_code == 200
        proc = _watch(
            "--url", t.url, "--token", TOKEN, "--since", "0", "--type", "alert.*", "--count", "1"
        )
        assert proc.returncode == 0, proc.stderr
        (line,) = proc.stdout.splitlines()
        assert "alert.received" in line and "alertname=Watched" in line
        assert "\x1b[" not in line  # not a terminal: no colour


@pytest.mark.slow
def test_a_bad_token_is_one_line_and_exit_1():
    with running_tocsin(CONFIG, token=TOKEN) as t:
        proc = _watch("--url", t.url, "--token", "nope", "--count", "1")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "tocsin: error: the daemon refused the stream (unauthorized): "
        "unauthorized: the bearer token is not valid"
    ]


def _event(seq: int) -> str:
    return json.dumps({"seq": seq, "ts": "T", "type": "alert.received", "data": {}})


def _ping(last_seq: int) -> str:
    return json.dumps({"type": "ping", "last_seq": last_seq})


def _closed(code: int, reason: str = "") -> ConnectionClosed:
    return ConnectionClosed(CloseReason(code, reason))


class _Socket:
    def __init__(self, script: list[str | ConnectionClosed]) -> None:
        self.script = script

    async def get_message(self) -> str:
        if not self.script:
            await trio.sleep_forever()
        step = self.script.pop(0)
        if isinstance(step, ConnectionClosed):
            raise step
        return step


class _Daemon:
    """Stands in for `open_websocket_url`: each connection plays the next script (an OSError
    is a refused connection) and notes when it was opened and with which URL."""

    def __init__(self, *connections: list[str | ConnectionClosed] | OSError) -> None:
        self.connections = list(connections)
        self.opened: list[tuple[float, str]] = []

    @asynccontextmanager
    async def connect(self, url: str, **_: Any) -> AsyncIterator[_Socket]:
        self.opened.append((trio.current_time(), url))
        step = self.connections.pop(0)
        if isinstance(step, OSError):
            raise step
        yield _Socket(step)


async def test_resumes_from_the_last_seq_and_backs_off_only_while_it_cannot_connect(
    autojump_clock: Any,
):
    daemon = _Daemon(
        [_event(1), _event(2), _closed(1006)],  # a drop: resume after 2 in 0.25 s
        OSError("refused"),  # the daemon is restarting: 0.5 s, then 1 s
        OSError("refused"),
        [_ping(5), _closed(1001, "the daemon is stopping")],  # alive (a ping): back to 0.25 s
        [_closed(4408, "fell behind; resume with since=6")],  # at once, from where it says
        [_event(7), _event(8)],
    )
    args = argparse.Namespace(
        url="http://d.test", token=None, since=0, type=[], group=[], json=False, count=4
    )
    out = io.StringIO()
    start = trio.current_time()
    assert await watch(args, out, connect=daemon.connect) == 0
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["1", "2", "7", "8"]
    resumed = [url.partition("since=")[2] for _, url in daemon.opened]
    assert resumed == ["0", "2", "2", "2", "5", "6"]
    times = [start, *(at for at, _ in daemon.opened)]
    waits = [b - a for a, b in itertools.pairwise(times)]
    assert waits == pytest.approx([0, 0.25, 0.5, 1.0, 0.25, 0])


def test_a_daemon_that_is_down_is_one_line_and_exit_1():
    url = f"http://127.0.0.1:{free_port()}"
    proc = _watch("--url", url)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"tocsin: error: cannot reach Tocsin at {url} (")
    assert "Connection refused" in line  # what went wrong, not the wrapper's name
    assert "is `tocsin run` running there?" in line  # as the other commands say it
    proc = _watch("--url", url.replace("http://", "http://ops:pa55word@"))
    assert proc.returncode == 1 and "pa55word" not in proc.stderr


class _Relay:
    """A TCP relay on 127.0.0.1 between `tocsin watch` and the daemon, standing for the network
    (a proxy restarting, a blip): `cut()` drops every connection through it and refuses new
    ones until `serve` runs again, on the same port. It notes each request line it forwards,
    so the test sees the `since` of every (re)connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.requests: list[str] = []
        self._scope: trio.CancelScope | None = None

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as self._scope:
            listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
            self.port = listeners[0].socket.getsockname()[1]
            await trio.serve_listeners(self._relay, listeners, task_status=task_status)

    def cut(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def _relay(self, client: trio.SocketStream) -> None:
        async with client, await trio.open_tcp_stream("127.0.0.1", self.target_port) as server:
            head = b""
            while b"\r\n" not in head:
                chunk = await client.receive_some()
                if not chunk:
                    return
                head += chunk
            self.requests.append(head.split(b"\r\n", 1)[0].decode())
            await server.send_all(head)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, client, server, nursery.cancel_scope)
                nursery.start_soon(self._pump, server, client, nursery.cancel_scope)

    @staticmethod
    async def _pump(src: trio.SocketStream, dst: trio.SocketStream, done: trio.CancelScope) -> None:
        try:
            async for chunk in src:
                await dst.send_all(chunk)
        except trio.BrokenResourceError:
            pass
        done.cancel()


class _Lines:
    """The lines a child process writes to one pipe, and a way to wait for some of them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._more = trio.Event()

    async def read(self, stream: trio.abc.ReceiveStream) -> None:
        rest = b""
        async for chunk in stream:
            *done, rest = (rest + chunk).split(b"\n")
            self.lines += [line.decode() for line in done]
            self._more.set()
            self._more = trio.Event()

    async def wait_for(self, condition: Callable[[list[str]], object], what: str) -> None:
        with trio.move_on_after(30):
            while not condition(self.lines):
                await self._more.wait()
            return
        pytest.fail(f"timed out waiting for {what}; got:\n" + "\n".join(self.lines))


def _alertnames(lines: list[str]) -> set[str]:
    events = (json.loads(line) for line in lines)
    return {
        e["data"]["alert"]["labels"]["alertname"] for e in events if e["type"] == "alert.received"
    }


@pytest.mark.slow
async def test_a_dropped_connection_resumes_after_the_last_seq_printed():
    with running_tocsin(CONFIG, token=TOKEN) as t:

        async def post(name: str) -> None:
            body = [{"labels": {"alertname": name}}]
            r = await trio.to_thread.run_sync(lambda: t.client.post("/api/v2/alerts", json=body))
            assert r.status_code == 200, r.text

        relay = _Relay(t.port)
        out, err = _Lines(), _Lines()
        async with trio.open_nursery() as nursery:
            await nursery.start(relay.serve)
            url = f"http://127.0.0.1:{relay.port}"
            argv = ["watch", "--url", url, "--token", TOKEN, "--since", "0", "--json"]
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "tocsin.cli.main", *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert proc.stdout is not None and proc.stderr is not None
            nursery.start_soon(out.read, proc.stdout)
            nursery.start_soon(err.read, proc.stderr)
            try:
                await post("BeforeDrop")
                await out.wait_for(lambda ls: "BeforeDrop" in _alertnames(ls), "BeforeDrop")
                relay.cut()
                await err.wait_for(lambda ls: any("after seq" in x for x in ls), "a resume note")
                # Journaled while watch has no connection: it must get them on resuming.
                await post("WhileDropped1")
                await post("WhileDropped2")
                await nursery.start(relay.serve)
                await post("AfterResume")
                expected = {"BeforeDrop", "WhileDropped1", "WhileDropped2", "AfterResume"}
                await out.wait_for(lambda ls: _alertnames(ls) >= expected, f"{expected}")
            finally:
                proc.kill()
                await proc.wait()
                nursery.cancel_scope.cancel()

        # The first connection asked for everything; each one after the cut, for what follows
        # the last event it had printed (which the note on stderr names).
        (note,) = {m.group(1) for line in err.lines if (m := re.search(r"after seq (\d+)", line))}
        assert relay.requests[0].startswith("GET /api/v1/stream?since=0 ")
        assert relay.requests[1:], "watch never reconnected"
        for request in relay.requests[1:]:
            assert request.startswith(f"GET /api/v1/stream?since={note} "), relay.requests
        printed = [(e["seq"], e["type"]) for e in map(json.loads, out.lines)]
        assert int(note) in [seq for seq, _ in printed]

        # No gap, no duplicate: what watch printed across the drop is exactly the journal's
        # first events, as a fresh reader gets them.
        argv = ["--url", t.url, "--token", TOKEN, "--since", "0", "--json"]
        fresh = await trio.to_thread.run_sync(lambda: _watch(*argv, "--count", str(len(printed))))
        assert fresh.returncode == 0, fresh.stderr
        assert printed == [
            (e["seq"], e["type"]) for e in map(json.loads, fresh.stdout.splitlines())
        ]
