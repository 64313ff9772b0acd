"""The whole state: every group, every silence — and the fold that rebuilds it from events.

`World.apply(seq, event)` is the one entry point for durable events, at run time and at replay:
group events go to their group's `evolve`, silence events to the silence table. A group whose
episode is over and who owes no delivery is dropped from memory; only its episode number is
kept (`finished`), so a later episode continues the count and notification ids stay unique.

A snapshot is `World.to_snapshot()`; `World.from_snapshot()` restores it. Both go through the
same codec as events, so they hold only msgpack types.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from tocsin.core.codec import CODEC
from tocsin.core.events import (
    ConfigLoaded,
    Event,
    GroupEvent,
    HeartbeatRegistered,
    HeartbeatRemoved,
    SilenceCreated,
    SilenceData,
    SilenceExpired,
)
from tocsin.core.group_state import GroupState, Phase, evolve
from tocsin.core.silences import apply_silence_event
from tocsin.core.snapshot import SNAPSHOT_FORMAT, decode_world_fields, encode_world_fields

__all__ = ["SNAPSHOT_FORMAT", "World"]

_IDLE = frozenset({Phase.EMPTY, Phase.RESOLVED})


@attrs.define(eq=True)
class World:
    groups: dict[str, GroupState] = attrs.Factory(dict)
    silences: dict[str, SilenceData] = attrs.Factory(dict)
    finished: dict[str, int] = attrs.Factory(dict)  # group id -> last episode, for ended groups
    # group id -> its recent notifications, for ended groups whose route suppresses repeats
    finished_recent: dict[str, tuple[tuple[datetime, tuple[str, ...], tuple[str, ...]], ...]] = (
        attrs.Factory(dict)
    )
    heartbeats: dict[str, timedelta] = attrs.Factory(dict)  # name -> expected interval
    applied_seq: int = 0
    config_sha256: str = ""

    def group(self, group_id: str) -> GroupState:
        """The group's state, created empty (continuing its episode count) if unknown."""
        state = self.groups.get(group_id)
        if state is None:
            state = GroupState.initial(group_id)
            state.episode = self.finished.pop(group_id, 0)
            state.recent = self.finished_recent.pop(group_id, ())
            self.groups[group_id] = state
        return state

    def forget_if_idle(self, group_id: str) -> None:
        """Drop a group that holds nothing (no episode, no pending delivery) from memory."""
        state = self.groups.get(group_id)
        if state is not None and state.phase in _IDLE and not state.pending:
            self._retire(state)

    def _retire(self, state: GroupState) -> None:
        del self.groups[state.group_id]
        if state.episode:
            self.finished[state.group_id] = state.episode
        if state.recent:
            self.finished_recent[state.group_id] = state.recent

    def apply(self, seq: int, ev: Event) -> None:
        """Fold one durable event with sequence number `seq` (0 for events not journaled)."""
        if isinstance(ev, GroupEvent):
            state = evolve(self.group(ev.group_id), ev)
            if state.phase is Phase.RESOLVED and not state.pending:
                self._retire(state)
        elif isinstance(ev, SilenceCreated | SilenceExpired):
            apply_silence_event(self.silences, ev)
        elif isinstance(ev, ConfigLoaded):
            self.config_sha256 = ev.sha256
        elif isinstance(ev, HeartbeatRegistered):
            self.heartbeats[ev.name] = ev.interval
        elif isinstance(ev, HeartbeatRemoved):
            self.heartbeats.pop(ev.name, None)
        if seq:
            self.applied_seq = seq

    def to_snapshot(self) -> dict[str, Any]:
        """The whole state as msgpack-ready data (format in `core.snapshot`)."""
        data: dict[str, Any] = CODEC.unstructure(attrs.evolve(self, groups={}))
        encode_world_fields(data, self.groups)
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> World:
        """Raises `ValueError` for a snapshot of an unknown format or one that does not fit."""
        fmt = data.get("format")
        if fmt == 1:  # the generic codec throughout (Tocsin before snapshot format 2)
            body = {k: v for k, v in data.items() if k != "format"}
            world: World = CODEC.structure(body, cls)
            return world
        if fmt != SNAPSHOT_FORMAT:
            raise ValueError(f"snapshot format {fmt!r} is not {SNAPSHOT_FORMAT}")
        try:
            rest, groups = decode_world_fields(data)
            world = CODEC.structure(rest, cls)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"snapshot payload does not fit format {fmt}: {exc!r}") from exc
        world.groups = groups
        return world
