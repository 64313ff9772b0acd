"""A stream client that stops reading altogether, on a real Hypercorn on 127.0.0.1.

Its TCP window and the kernel's buffers fill, and the server's write to it blocks in a socket
write that Hypercorn shields from cancellation. The watchdog must abort that connection (a
reset: no close frame can reach a peer that does not read) while the other clients and
ingest go on.
"""

from __future__ import annotations

import errno
import json
import socket

import pytest
import trio
import trio.testing
from starlette.websockets import WebSocket
from trio_websocket import ConnectionClosed

from tests.fakes import wait_for
from tocsin.actors.stream import SharedStream
from tocsin.adapters.http.routes_stream import (
    ABORT_EXTENSION,
    WRITE_PIECE,
    _pieces,
    _WriteWatch,
    encode_frame,
)

from .test_stream import DEADLINE, probing, serving

WRITE_TIMEOUT = 1.0
BUFFER = 5_000  # the reader must not fall behind on a loaded machine


async def open_stalled_client(url: str) -> trio.SocketStream:
    """A websocket client that completes the handshake and then never reads, with a small
    receive buffer so that the server's writes block soon."""
    host, _, port = url.removeprefix("ws://").partition(":")
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect((host, int(port)))
    stream = trio.SocketStream(sock)
    await stream.send_all(
        f"GET /api/v1/stream?token=read-secret HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    with trio.fail_after(DEADLINE):
        while b"\r\n\r\n" not in head:
            chunk = await stream.receive_some(4096)
            assert chunk, f"the server hung up during the handshake: {head!r}"
            head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head[:80]
    return stream


def reset_by_peer(stream: trio.SocketStream) -> bool:
    """Whether the peer reset the connection, found without reading from it."""
    return stream.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET


async def test_a_client_that_stops_reading_is_aborted_while_others_and_ingest_go_on():
    shared = SharedStream(encode_frame, capacity=BUFFER)
    async with serving(True, buffer=BUFFER, write_timeout=WRITE_TIMEOUT, shared=shared) as s:
        start = s.rt.world.applied_seq
        stalled = await open_stalled_client(s.url)
        durable_at: list[float] = []  # when each ingest batch was durable
        stop_ingest = trio.Event()
        seqs: list[int] = []  # what a client that reads got

        async def ingest() -> None:
            i = 0
            while not stop_ingest.is_set():
                with trio.fail_after(DEADLINE):  # ingest never waits for the stalled client
                    await s.fire(*(f"Stall{i}-{j}" for j in range(10)))
                durable_at.append(trio.current_time())
                i += 1
                await trio.sleep(0.02)  # a steady flow, not a storm the reader cannot follow

        # Closed on the way out whatever happens: a server write blocked on it would
        # otherwise hold up the server's shutdown, and the test, for ever.
        async with (
            stalled,
            s.ws(f"since={start}") as reader,
            trio.open_nursery() as nursery,
        ):

            async def read() -> None:
                while True:
                    msg = json.loads(await reader.get_message())
                    if msg["type"] != "ping":
                        seqs.append(msg["seq"])

            nursery.start_soon(read)
            nursery.start_soon(ingest)
            every = 0.01
            await wait_for(lambda: shared.statistics().aborted, within=DEADLINE, every=every)
            aborted_at = trio.current_time()
            # The reset reaches the stalled client without it reading...
            await wait_for(lambda: reset_by_peer(stalled), within=DEADLINE, every=every)
            # ...and its connection's task has gone, the reader's is still there.
            await wait_for(lambda: shared.statistics().users == 1, within=DEADLINE, every=every)
            # Ingest went on while the stalled write was blocked, and goes on after.
            during = [t for t in durable_at if aborted_at - WRITE_TIMEOUT <= t <= aborted_at]
            assert len(during) >= 3, durable_at
            goal = len(durable_at) + 3
            await wait_for(lambda: len(durable_at) >= goal, within=DEADLINE, every=every)
            stop_ingest.set()
            head = await s.settled()
            # The reader got everything, before, during and after.
            await wait_for(lambda: seqs and seqs[-1] >= head, within=DEADLINE, every=every)
            nursery.cancel_scope.cancel()
        assert seqs == list(range(start + 1, head + 1))
        stats = shared.statistics()
        assert (stats.cut_off, stats.aborted) == (0, 1)


async def test_the_abort_reaches_the_socket_under_hypercorn():
    """Fails when Hypercorn's objects move: `FrameWrites` no longer finds the socket."""

    async def probe(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("yes" if ABORT_EXTENSION in ws.scope["extensions"] else "no")
        await ws.receive()  # the client's "abort!"
        ws.scope["extensions"][ABORT_EXTENSION]()
        await ws.receive()  # the disconnect Hypercorn reports for the aborted socket

    async with probing(probe) as ws:
        with trio.fail_after(DEADLINE):
            assert await ws.get_message() == "yes"
            await ws.send_message("abort!")
            with pytest.raises(ConnectionClosed) as caught:
                await ws.get_message()
    assert caught.value.reason.code == 1006  # abnormal: no close frame


# -- the watchdog's clock ---------------------------------------------------------------------
async def test_a_write_blocked_for_the_limit_is_reported_once_it_is(autojump_clock):
    watch = _WriteWatch()
    stalled = trio.Event()
    released = trio.Event()

    async def watchdog() -> None:
        await watch.wait_stalled(10.0)
        stalled.set()

    async def quick_writes() -> None:
        for _ in range(50):  # many writes, each well under the limit: never stalled
            await watch.timed(trio.sleep(3.0))  # noqa: ASYNC105 - timed awaits it

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watchdog)
        begun = trio.current_time()
        await quick_writes()
        assert not stalled.is_set()
        nursery.start_soon(watch.timed, released.wait())  # a write that never completes
        blocked_at = trio.current_time()
        await stalled.wait()
        assert trio.current_time() - blocked_at == pytest.approx(10.0)
        assert blocked_at - begun == pytest.approx(150.0)
        released.set()


@pytest.mark.parametrize("shared", [False, True])
def test_writes_are_timed_in_pieces_of_whole_frames(shared):
    """A big catch-up goes out in pieces of at most WRITE_PIECE bytes, cut between frames, so
    the watchdog times how long the socket takes a piece, not the whole catch-up; a shared
    buffer is sliced, not copied."""
    k = WRITE_PIECE // 10
    sizes = [4 * k, 4 * k, 4 * k, 12 * k, 10, 10, 8 * k]
    frames = [bytes([i]) * n for i, n in enumerate(sizes)]
    joined = b"".join(frames) if shared else None
    pieces = list(_pieces(frames, joined, True))
    assert all(f == [] and isinstance(j, memoryview) for f, j in pieces)
    blobs = [bytes(j) for _, j in pieces]
    assert b"".join(blobs) == b"".join(frames)
    assert [len(b) for b in blobs] == [8 * k, 4 * k, 12 * k, 8 * k + 20]
    if shared:
        assert all(j.obj is joined for _, j in pieces)
    small = [b"a" * 10, b"b" * 10]
    assert list(_pieces(small, None, True)) == [(small, None)]
    assert list(_pieces(small, None, False)) == [([small[0]], None), ([small[1]], None)]
