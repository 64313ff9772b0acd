"""The HTTP app in process: a real runtime on a memory journal, the app on httpx's ASGI transport.

    async with serving(CONFIG_YAML) as api:
        r = await api.client.post("/api/v2/alerts", json=[...])
        api.records()          # what the journal holds, to assert that bad input changed nothing

Real Hypercorn on a port is tested in tests/cli and tests/integration; here the app is driven
through httpx's ASGI transport, which runs it on the test's own trio loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import trio

from tocsin.actors.runtime import Runtime, RuntimeSettings, open_runtime
from tocsin.adapters.http import ApiContext, HttpSettings, build_app
from tocsin.config import Config, load, load_text
from tocsin.daemon import rules_of
from tocsin.journal import Journal, MemoryStore, RecordDraft, StoredRecord, open_memory_journal

ROUTES = """\
route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  routes:
    - matchers: ['severity="critical"']
      receiver: oncall
      continue: true
    - matchers: ['team="security"']
      receiver: security
      acknowledge: forbidden
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
receivers:
  - name: team
  - name: oncall
  - name: security
"""


def config_with(extra: str = "", routes: str = ROUTES) -> Config:
    return load_text(routes + extra, env={})


class GatedJournal:
    """A journal whose appends wait until `gate` is set (to fill the runtime's queues)."""

    def __init__(self, inner: Journal) -> None:
        self.inner = inner
        self.gate = trio.Event()
        self.gate.set()

    @property
    def last_seq(self) -> int:
        return self.inner.last_seq

    async def append(self, drafts: Sequence[RecordDraft]) -> list[int]:
        await self.gate.wait()
        return await self.inner.append(drafts)

    def read(self, after: int = 0) -> Any:
        return self.inner.read(after)

    async def save_snapshot(self, snapshot: Any) -> None:
        await self.inner.save_snapshot(snapshot)

    async def save_snapshot_built(self, build: Any) -> int:
        return await self.inner.save_snapshot_built(build)

    def load_snapshot(self) -> Any:
        return self.inner.load_snapshot()

    def statistics(self) -> Any:
        return self.inner.statistics()


@attrs.define
class Api:
    client: httpx.AsyncClient
    ctx: ApiContext
    rt: Runtime
    journal: GatedJournal

    def records(self) -> list[StoredRecord]:
        return list(self.journal.read())

    def types(self) -> list[str]:
        return [r.type for r in self.records()]


@asynccontextmanager
async def serving(
    config: Config | str | None = None,
    *,
    settings: HttpSettings | None = None,
    runtime_settings: RuntimeSettings | None = None,
    attach: bool = True,
    **ctx_kw: Any,
) -> AsyncIterator[Api]:
    if config is None:
        config = load(None, {})
    elif isinstance(config, str):
        config = load_text(config, env={})
    store = MemoryStore()
    async with open_memory_journal(store) as raw:
        journal = GatedJournal(raw)
        async with open_runtime(
            journal, rules=rules_of(config), settings=runtime_settings or RuntimeSettings()
        ) as rt:
            ctx = ApiContext(config, settings or HttpSettings(), **ctx_kw)
            if attach:
                ctx.attach(rt)
            transport = httpx.ASGITransport(app=build_app(ctx))
            async with httpx.AsyncClient(transport=transport, base_url="http://tocsin") as client:
                yield Api(client, ctx, rt, journal)


def alert(name: str = "Boom", **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, **labels}, "annotations": {"summary": f"{name}!"}}
