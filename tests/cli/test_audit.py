"""`tocsin journal state --at` and `explain` on a journal written by the real runtime."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import trio
import trio.testing

from tocsin.actors.clock import TrioClock
from tocsin.actors.runtime import open_runtime
from tocsin.cli.main import main
from tocsin.core.codec import to_micros
from tocsin.core.events import SilenceData
from tocsin.core.group_state import group_id_for
from tocsin.core.replay import fold
from tocsin.core.world import World
from tocsin.journal import (
    MemoryStore,
    RecordDraft,
    Snapshot,
    open_journal_reader,
    open_memory_journal,
    open_segment_journal,
)

from ..actors.conftest import GroupByRouter, firing
from ..core.lifecycle_harness import ESCALATING, HOUR, MIN, SEC, T0


def _iso(t) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def _story(directory: Path) -> dict[str, str]:
    """03:00 a critical alert escalates; a noisy warning is silenced; alice acks at +7 min."""
    clock = TrioClock(T0)
    router = GroupByRouter(policies={"critical": ESCALATING})
    # fsync="never" writes inline, so the mock clock cannot jump while a write is under way.
    async with (
        open_segment_journal(directory, fsync="never") as journal,
        open_runtime(journal, router=router, clock=clock) as rt,
    ):
        sid = await rt.set_silence(
            SilenceData(
                "",
                (("alertname", "=", "Noisy"),),
                T0,
                T0 + timedelta(hours=1),
                "ops",
                "maintenance window",
            )
        )
        until = T0 + timedelta(hours=1)
        await rt.ingest(
            [firing("DiskFull", ends=until, severity="critical"), firing("Noisy", ends=until)]
        )
        await trio.sleep_until(clock.deadline(T0 + 7 * MIN))
        await rt.acknowledge(group_id_for('{}:{alertname="DiskFull"}'), "alice", "on it")
        await trio.sleep_until(clock.deadline(T0 + 8 * MIN))
        await trio.testing.wait_all_tasks_blocked()
        critical = next(iter(rt.world.groups[group_id_for('{}:{alertname="DiskFull"}')].alerts))
        noisy = next(iter(rt.world.groups[group_id_for('{}:{alertname="Noisy"}')].alerts))
    return {"silence": sid, "critical": critical, "noisy": noisy}


@pytest.fixture
def story(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    ids = trio.run(_story, tmp_path / "j", clock=trio.testing.MockClock(autojump_threshold=0))
    return tmp_path / "j", ids


def test_state_at_a_past_moment(story, capsys):
    directory, ids = story
    assert main(["journal", "state", "--data-dir", str(directory), "--at", _iso(T0 + 6 * MIN)]) == 0
    out = capsys.readouterr().out
    assert "2 active groups, 2 firing alerts" in out
    disk = next(
        line for line in out.splitlines() if 'alertname="DiskFull"' in line and "firing" in line
    )
    assert " 1 " in disk  # escalation level 1 reached at +5 min
    assert "acked" not in out
    assert ids["silence"] in out and "maintenance window" in out

    assert (
        main(
            [
                "journal",
                "state",
                "--data-dir",
                str(directory),
                "--at",
                _iso(T0 + 8 * MIN),
                "--format",
                "json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    states = {g["group_labels"]["alertname"]: g for g in data["groups"]}
    assert states["DiskFull"]["state"] == "acknowledged"
    assert states["DiskFull"]["acknowledged"]["by"] == "alice"
    assert states["Noisy"]["state"] == "pending"  # never told anyone: every alert silenced
    assert [s["state"] for s in data["silences"]] == ["active"]


def test_explain_a_notified_and_acknowledged_alert(story, capsys):
    directory, ids = story
    assert (
        main(["journal", "explain", "--data-dir", str(directory), "--alert", ids["critical"]]) == 0
    )
    out = capsys.readouterr().out
    assert 'alertname="DiskFull"' in out.splitlines()[0]
    assert "receiver team, escalation default" in out
    assert "notified (first notification)" in out
    assert "→ slack-warnings: first notification (level 0" in out
    assert "escalated to level 1: email-oncall, slack-critical" in out
    assert "acknowledged by alice: 'on it'" in out
    assert "✓ delivered" in out  # the log channel delivered (printed) them
    assert out.splitlines()[-1].startswith("as of now: firing, acknowledged by alice")


def test_explain_says_why_nobody_was_notified(story, capsys):
    directory, ids = story
    assert main(["journal", "explain", "--data-dir", str(directory), "--alert", ids["noisy"]]) == 0
    out = capsys.readouterr().out
    assert f"left out: silenced by {ids['silence']} (created by ops: 'maintenance window')" in out
    assert "nobody was notified" in out.splitlines()[-1]


def test_explain_before_the_alert_existed(story, capsys):
    directory, ids = story
    args = ["journal", "explain", "--data-dir", str(directory), "--alert", ids["critical"]]
    assert main([*args, "--at", _iso(T0 - MIN)]) == 0
    assert "(not in the journal)" in capsys.readouterr().out


async def _second_story(directory: Path) -> dict[str, str]:
    """12:00 Flappy and Fixed fire; alice acks Flappy at +1 min; it resolves at +2 min and
    fires again at +3 min, before its episode ends; carol resolves Fixed by hand at +1 min."""
    clock = TrioClock(T0)
    async with (
        open_segment_journal(directory, fsync="never") as journal,
        open_runtime(journal, router=GroupByRouter(), clock=clock) as rt,
    ):
        flappy, fixed = (group_id_for(f'{{}}:{{alertname="{n}"}}') for n in ("Flappy", "Fixed"))
        await rt.ingest([firing("Flappy", ends=T0 + HOUR), firing("Fixed", ends=T0 + HOUR)])
        await trio.sleep_until(clock.deadline(T0 + MIN))
        await rt.acknowledge(flappy, "alice", "looking")
        await rt.resolve(fixed, "carol", "done")
        await trio.sleep_until(clock.deadline(T0 + 2 * MIN))
        await rt.ingest([firing("Flappy", ends=T0 + 2 * MIN)])
        await trio.sleep_until(clock.deadline(T0 + 3 * MIN))
        await rt.ingest([firing("Flappy", ends=T0 + HOUR)])
        await trio.sleep_until(clock.deadline(T0 + 4 * MIN))
        await trio.testing.wait_all_tasks_blocked()
        assert rt.world.groups[flappy].ack is not None  # the same episode, still acknowledged
    return {
        "flappy": firing("Flappy").labels.fingerprint_hex,
        "fixed": firing("Fixed").labels.fingerprint_hex,
    }


@pytest.fixture
def second_story(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    ids = trio.run(
        _second_story, tmp_path / "j", clock=trio.testing.MockClock(autojump_threshold=0)
    )
    return tmp_path / "j", ids


def _explain(capsys, story: tuple[Path, dict[str, str]], alert: str, *at: str) -> list[str]:
    """The lines `tocsin journal explain` prints for the story's `alert` (at `at`, if given)."""
    directory, ids = story
    args = ["journal", "explain", "--data-dir", str(directory), "--alert", ids[alert]]
    assert main([*args, *(("--at", *at) if at else ())]) == 0
    return capsys.readouterr().out.splitlines()


def test_explain_keeps_the_acknowledgement_of_an_alert_firing_again(second_story, capsys):
    lines = _explain(capsys, second_story, "flappy")
    assert any("received (firing again after it resolved)" in line for line in lines)
    assert not any("episode ended" in line for line in lines)
    assert lines[-1].startswith("as of now: firing, acknowledged by alice;")
    # before the ack, and while it was resolved
    last = _explain(capsys, second_story, "flappy", _iso(T0 + 30 * SEC))[-1]
    assert last.startswith("as of 2026-03-01T12:00:30Z: firing;")
    last = _explain(capsys, second_story, "flappy", _iso(T0 + 2 * MIN + 30 * SEC))[-1]
    assert ": resolved (" in last and "acknowledged" not in last


def test_explain_counts_deliveries_journaled_after_the_episode_ended(second_story, capsys):
    lines = _explain(capsys, second_story, "fixed")
    assert any("manually resolved" in line for line in lines)
    requested = sum("    → " in line for line in lines)
    delivered = sum("✓ delivered" in line for line in lines)
    assert requested == delivered == 2  # the first notification and the manual resolve's
    assert lines[-1].endswith(
        f"{requested} notifications requested, {delivered} delivered, 0 failed attempts"
    )


async def _compacted_story(directory: Path) -> dict[str, int]:
    """Early fires at 12:00, Late at 12:11, Later at 12:21 (the real runtime, on a memory
    journal under the mock clock). Its records are then written to a segment journal in
    `directory` with small segments, with snapshots of the state at 12:10 and 12:20: retention
    removes the segments the 12:10 one covers. Returns the seqs of the two snapshots."""
    clock = TrioClock(T0)
    async with (
        open_memory_journal(MemoryStore()) as memory,
        open_runtime(memory, router=GroupByRouter(), clock=clock) as rt,
    ):
        for name, at in (("Early", T0), ("Late", T0 + 11 * MIN), ("Later", T0 + 21 * MIN)):
            await trio.sleep_until(clock.deadline(at))
            await rt.ingest([firing(name, ends=T0 + HOUR, n=str(i)) for i in range(20)])
        await trio.sleep_until(clock.deadline(T0 + 22 * MIN))
        records = list(memory.read())
    seqs: dict[str, int] = {}
    async with open_segment_journal(directory, fsync="never", segment_bytes=2_048) as journal:
        for rec in records:
            await journal.append([RecordDraft(rec.ts, rec.type, rec.version, rec.payload)])
        for key, at in (("first", T0 + 10 * MIN), ("second", T0 + 20 * MIN)):
            ts = to_micros(at)
            upto = [r for r in records if r.ts <= ts]
            world = fold(World(), upto)
            seqs[key] = world.applied_seq
            await journal.save_snapshot(Snapshot(world.applied_seq, ts, world.to_snapshot()))
    return seqs


@pytest.fixture
def compacted(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    directory = tmp_path / "j"
    seqs = trio.run(_compacted_story, directory, clock=trio.testing.MockClock(autojump_threshold=0))
    with open_journal_reader(directory) as reader:
        assert reader.first_seq() > 1  # retention did remove the oldest records
    return directory, seqs


def test_the_tools_read_what_retention_kept(compacted, capsys):
    directory, seqs = compacted
    data = ["--data-dir", str(directory)]
    with open_journal_reader(directory) as reader:
        first = reader.first_seq()
    # replay: from the oldest record kept, saying what is gone
    assert main(["journal", "replay", *data, "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[0])["seq"] == first
    assert f"records 1 to {first - 1} were removed by retention" in err
    # state at 12:15: from the 12:10 snapshot, not the newest (12:20) one
    assert main(["journal", "state", *data, "--at", _iso(T0 + 15 * MIN), "--format", "json"]) == 0
    names = {g["group_labels"]["alertname"] for g in json.loads(capsys.readouterr().out)["groups"]}
    assert names == {"Early", "Late"}  # not Later (12:21)
    # state at 12:05: before every snapshot kept, and its records are gone: a clean error
    assert main(["journal", "state", *data, "--at", _iso(T0 + 5 * MIN)]) == 1
    err = capsys.readouterr().err
    assert "no longer stored" in err and err.count("\n") == 1
    # explain: the story from what is kept, saying where it starts
    late = firing("Late", n="0").labels.fingerprint_hex
    assert main(["journal", "explain", *data, "--alert", late]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[1]
        == f"  (records 1 to {first - 1} were removed by retention (snapshots cover them): this starts at {first})"
    )
    assert any("received (new alert) into group" in line for line in lines)
    assert seqs["first"] < seqs["second"]
