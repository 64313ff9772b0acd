"""Silences: states, matching, and Alertmanager's create / update / expire rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.core.events import SilenceCreated, SilenceData, SilenceExpired
from tocsin.core.labels import Labels
from tocsin.core.silences import (
    InvalidSilence,
    SilenceState,
    active_silences_for,
    apply_silence_event,
    decide_expire,
    decide_set,
    silence_state,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def sil(
    id: str = "",
    matchers=(("alertname", "=", "DiskFull"),),
    start: datetime = NOW,
    end: datetime = NOW + H,
) -> SilenceData:
    return SilenceData(id, tuple(matchers), start, end, "ops", "maintenance")


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"s{self.n}"


def _store(*events) -> dict[str, SilenceData]:
    table: dict[str, SilenceData] = {}
    for ev in events:
        apply_silence_event(table, ev)
    return table


def test_state_follows_the_clock():
    s = sil(start=NOW + H, end=NOW + 2 * H)
    assert silence_state(s, NOW) is SilenceState.PENDING
    assert silence_state(s, NOW + H) is SilenceState.ACTIVE
    assert silence_state(s, NOW + 2 * H) is SilenceState.EXPIRED


def test_create_assigns_an_id_and_moves_a_past_start_to_now():
    out = decide_set({}, sil(start=NOW - H), NOW, Ids())
    assert [type(e) for e in out] == [SilenceCreated]
    assert out[0].silence.id == "s1" and out[0].silence.starts_at == NOW


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (sil(matchers=()), "at least one matcher is required"),
        (sil(matchers=(("env", "=~", ".*"),)), "must not match the empty string"),
        (sil(matchers=(("env", "=", ""),)), "must not match the empty string"),
        (sil(end=NOW - H), "must not be in the past"),
        (sil(start=NOW + 2 * H, end=NOW + H), "must not be before the start"),
        (sil(matchers=(("env", "=~", "(unclosed"),)), "matchers"),
        (sil(id="nope"), "no silence with id 'nope'"),
    ],
)
def test_invalid_silences_are_refused_with_the_field(bad, message):
    with pytest.raises(InvalidSilence, match=message.replace("(", r"\(")):
        decide_set({}, bad, NOW, Ids())


def test_update_in_place_when_matchers_are_the_same_and_the_past_is_kept():
    ids = Ids()
    table = _store(*decide_set({}, sil(), NOW, ids))
    longer = sil(id="s1", end=NOW + 5 * H)
    out = decide_set(table, longer, NOW + H / 2, ids)
    assert out == [SilenceCreated(longer, NOW + H / 2)]


def test_an_active_silence_keeps_its_id_when_its_start_comes_back_cut_to_the_millisecond():
    ids = Ids()
    start = NOW + timedelta(microseconds=123_456)  # as stored
    table = _store(*decide_set({}, sil(start=start), NOW, ids))
    later = NOW + H / 2
    back = sil(id="s1", start=NOW + timedelta(milliseconds=123), end=NOW + 2 * H)  # amtool's
    assert decide_set(table, back, later, ids) == [SilenceCreated(back, later)]
    # Alertmanager compares the second: another second is another start, so a new silence.
    moved = sil(id="s1", start=NOW + timedelta(seconds=1), end=NOW + 2 * H)
    assert [type(e) for e in decide_set(table, moved, later, ids)] == [
        SilenceExpired,
        SilenceCreated,
    ]


def test_other_updates_expire_the_old_silence_and_create_a_new_one():
    ids = Ids()
    table = _store(*decide_set({}, sil(), NOW, ids))
    changed = sil(id="s1", matchers=(("alertname", "=", "DiskAlmostFull"),))
    out = decide_set(table, changed, NOW + H / 2, ids)
    assert [type(e) for e in out] == [SilenceExpired, SilenceCreated]
    assert out[0].silence_id == "s1" and out[1].silence.id == "s2"
    table = _store(*decide_set({}, sil(), NOW, Ids()), *out)
    assert silence_state(table["s1"], NOW + H / 2) is SilenceState.EXPIRED
    assert silence_state(table["s2"], NOW + H / 2) is SilenceState.ACTIVE


def test_expire_ends_an_active_silence_and_a_pending_one_never_starts():
    ids = Ids()
    table = _store(
        *decide_set({}, sil(), NOW, ids),
        *decide_set({}, sil(start=NOW + H, end=NOW + 2 * H), NOW, ids),
    )
    table = _store(
        *[SilenceCreated(s, NOW) for s in table.values()],
        *decide_expire(table, "s1", "ops", NOW + H / 4),
        *decide_expire(table, "s2", "ops", NOW + H / 4),
    )
    assert table["s1"].ends_at == NOW + H / 4
    assert table["s2"].starts_at == table["s2"].ends_at == NOW + H / 4
    assert decide_expire(table, "s1", "ops", NOW + H) == []  # idempotent, as Alertmanager
    with pytest.raises(InvalidSilence, match="no silence with id 'nope'"):
        decide_expire(table, "nope", "ops", NOW + H)


def test_active_silences_for_an_alert():
    a = sil(id="a", matchers=(("alertname", "=", "DiskFull"), ("env", "=~", "prod|staging")))
    b = sil(id="b", matchers=(("team", "!=", "db"),), start=NOW + H, end=NOW + 2 * H)
    labels = Labels.of({"alertname": "DiskFull", "env": "prod"})
    assert [s.id for s in active_silences_for([b, a], labels, NOW)] == ["a"]
    assert [s.id for s in active_silences_for([b, a], labels, NOW + H)] == ["b"]
    assert active_silences_for([a], Labels.of({"alertname": "DiskFull"}), NOW) == []
