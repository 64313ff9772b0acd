"""`tocsin journal verify` and `replay` on a journal written by a real group's life."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tocsin.cli.main import main
from tocsin.core.codec import CODEC, to_micros
from tocsin.core.lifecycle import Acknowledge
from tocsin.journal import RecordDraft, open_segment_journal

from ..core.lifecycle_harness import ESCALATING, MIN, T0, Driver, alert


def _episode() -> Driver:
    d = Driver(ESCALATING, group_id="grp1")
    d.receive(alert("a"))
    d.run_until(T0 + 10 * MIN)
    d.receive(alert("b"), at=T0 + 10 * MIN)
    d.run_until(T0 + 20 * MIN)
    d.do(Acknowledge(by="alice", comment="looking"), at=T0 + 21 * MIN)
    other = Driver(ESCALATING, group_id="grp2")
    other.receive(alert("z"))
    # The journal holds events in the order they happened.
    d.events = sorted(d.events + other.events, key=lambda e: e.at)
    return d


async def _write(directory: Path, events, segment_bytes: int = 1024) -> None:
    async with open_segment_journal(directory, segment_bytes=segment_bytes) as journal:
        for ev in events:
            tag, version, payload = CODEC.encode(ev)
            await journal.append([RecordDraft(to_micros(ev.at), tag, version, payload)])


@pytest.fixture
def journal_dir(tmp_path: Path) -> tuple[Path, list]:
    d = _episode()
    trio.run(_write, tmp_path / "j", d.events)
    return tmp_path / "j", d.events


def test_verify_reports_a_clean_journal(journal_dir, capsys):
    directory, events = journal_dir
    assert main(["journal", "verify", "--data-dir", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out.splitlines()[0]
    assert f"records: {len(events)} (seq 1..{len(events)})" in out
    assert out.count(".seg") >= 2  # 1 KiB segments: it rotated
    assert "time: 2026-03-01T12:00:00.000Z .. 2026-03-01T12:21:00.000Z" in out
    assert "torn tail: none" in out


def test_verify_reports_a_torn_tail_without_touching_it(journal_dir, capsys):
    directory, _ = journal_dir
    last = sorted(directory.glob("*.seg"))[-1]
    size = last.stat().st_size
    with last.open("ab") as f:
        f.write(b"\x40\x00\x00\x00\x01\x02")  # a header promising 64 bytes that never came
    assert main(["journal", "verify", "--data-dir", str(directory)]) == 0
    out = capsys.readouterr().out
    assert f"torn tail: 6 bytes at offset {size} of {last.name}" in out
    assert last.stat().st_size == size + 6  # read-only: nothing truncated


def test_verify_exits_1_and_names_segment_and_offset_of_corruption(journal_dir, capsys):
    directory, _ = journal_dir
    first = sorted(directory.glob("*.seg"))[0]
    data = bytearray(first.read_bytes())
    data[20] ^= 0xFF  # inside the first record's body: CRC no longer matches
    first.write_bytes(bytes(data))
    assert main(["journal", "verify", "--data-dir", str(directory)]) == 1
    out = capsys.readouterr().out
    assert "CORRUPT" in out.splitlines()[0]
    assert f"corruption: {first.name} at byte offset 0" in out


def test_replay_prints_every_event_in_order(journal_dir, capsys):
    directory, events = journal_dir
    assert main(["journal", "replay", "--data-dir", str(directory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(events)
    assert [line.split()[2] for line in lines] == [e.TYPE for e in events]
    assert lines[0].split()[:2] == ["1", "2026-03-01T12:00:00.000Z"]
    assert "group=grp" in lines[0]
    acked = next(line for line in lines if "group.acknowledged" in line)
    assert "by=alice" in acked and "comment=looking" in acked


def test_replay_jsonl_filters_by_type_group_and_range(journal_dir, capsys):
    directory, _ = journal_dir
    args = ["journal", "replay", "--data-dir", str(directory), "--format", "jsonl"]
    assert main([*args, "--type", "group.escalated", "--group", "grp1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["data"]["level"] for r in rows] == [0, 1, 2]
    assert {r["type"] for r in rows} == {"group.escalated"}
    assert rows[0]["data"]["at"] == "2026-03-01T12:00:00Z"

    assert (
        main(
            [
                *args,
                "--type",
                "notification.*",
                "--since",
                "2026-03-01T12:05:00Z",
                "--until",
                "2026-03-01T12:15:00Z",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(r["type"] == "notification.requested" for r in rows)
    assert {r["data"]["level"] for r in rows} == {1, 2}

    assert main([*args, "--since", "3", "--until", "5"]) == 0
    assert [json.loads(line)["seq"] for line in capsys.readouterr().out.splitlines()] == [3, 4, 5]

    assert main([*args, "--group", "grp2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and {r["data"]["group_id"] for r in rows} == {"grp2"}


def test_replay_rejects_a_bad_bound_and_a_missing_directory(tmp_path, capsys):
    assert main(["journal", "replay", "--data-dir", str(tmp_path), "--since", "yesterday"]) == 2
    assert "neither a sequence number nor an ISO-8601 time" in capsys.readouterr().err
    assert main(["journal", "replay", "--data-dir", str(tmp_path / "nope")]) == 1
    assert "no journal directory" in capsys.readouterr().err


async def _write_at_once(directory: Path, events) -> None:
    async with open_segment_journal(directory, fsync="never") as journal:
        drafts = [RecordDraft(to_micros(ev.at), *CODEC.encode(ev)) for ev in events]
        await journal.append(drafts)


@pytest.mark.parametrize("command", [["replay"], ["state"], ["state", "--format", "json"]])
def test_a_reader_that_goes_away_is_not_an_error(tmp_path, command):
    """`tocsin journal ... | head -1`: the pipe closes under it; exit 0, no traceback."""
    events = []
    for i in range(1_500):  # more output than a pipe holds
        d = Driver(ESCALATING, group_id=f"grp{i}")
        d.receive(alert(f"a{i}"))
        events += d.events
    trio.run(_write_at_once, tmp_path / "j", events)
    argv = ["journal", *command, "--data-dir", str(tmp_path / "j")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin.cli.main", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # one line, then the reader leaves
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in proc.stderr.read()
