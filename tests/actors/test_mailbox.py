"""The group actor's mailbox: FIFO, bounded with backpressure, closable, cancellation-safe."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tocsin.actors.groups import Envelope, Mailbox
from tocsin.core.lifecycle import Acknowledge


def _env(i: int) -> Envelope:
    return Envelope(Acknowledge(by=f"u{i}", comment=""), None)


async def test_messages_come_out_in_order():
    box = Mailbox(8)
    for i in range(3):
        await box.send(_env(i))
    assert len(box) == 3
    got = [(await box.receive()).command.by for _ in range(3)]
    assert got == ["u0", "u1", "u2"] and len(box) == 0


async def test_a_waiting_receiver_gets_the_next_message(autojump_clock):
    box = Mailbox(8)
    got: list[str] = []

    async def receiver() -> None:
        got.append((await box.receive()).command.by)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        assert not got
        await box.send(_env(7))
    assert got == ["u7"]


async def test_a_full_mailbox_makes_the_sender_wait(autojump_clock):
    box = Mailbox(2)
    await box.send(_env(0))
    await box.send(_env(1))
    sent = trio.Event()

    async def third() -> None:
        await box.send(_env(2))
        sent.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(third)
        await trio.sleep(10)
        assert not sent.is_set() and len(box) == 2  # waiting, nothing dropped
        assert (await box.receive()).command.by == "u0"
        await sent.wait()
    assert [box.receive_nowait().command.by for _ in range(2)] == ["u1", "u2"]


async def test_a_cancelled_receive_loses_nothing(autojump_clock):
    box = Mailbox(4)
    with trio.move_on_after(5):
        await box.receive()
    await box.send(_env(1))  # no stale receiver left to hand it to
    assert box.receive_nowait().command.by == "u1"
    with pytest.raises(trio.WouldBlock):
        box.receive_nowait()


async def test_a_closed_mailbox_refuses_senders_even_waiting_ones(autojump_clock):
    box = Mailbox(1)
    await box.send(_env(0))
    box.receive_nowait()
    box.close()
    with pytest.raises(trio.ClosedResourceError):
        await box.send(_env(1))
    box2 = Mailbox(1)
    await box2.send(_env(0))
    failed = trio.Event()

    async def blocked() -> None:
        with pytest.raises(trio.ClosedResourceError):
            await box2.send(_env(1))
        failed.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocked)
        await trio.testing.wait_all_tasks_blocked()
        box2.close()
    assert failed.is_set()
