"""The daemon assembled: configuration → journal → HTTP server → runtime, and its stop.

Theory of operation
-------------------
`Daemon.run` loads nothing itself (the constructor loaded the configuration, so a bad file is
reported before anything opens), then:

1. checks the listen address: with no auth token configured, only a loopback address is
   allowed, unless `insecure_no_auth` says otherwise;
2. opens the journal (a torn tail from a crash is truncated and logged);
3. starts the HTTP server, so `/-/healthy` answers while the journal is replayed (the API
   answers 503 "not ready" until then);
4. opens the runtime (snapshot + replay, actors re-armed), journals `ConfigLoaded` when the
   configuration differs from the last one the journal recorded, and attaches the runtime to
   the API: `/-/ready` turns 200 and the daemon logs `ready`;
5. waits for `stop()` (SIGTERM / SIGINT in `tocsin run`), then stops accepting connections,
   lets requests in flight finish (an accepted batch is durable before its 200), takes a last
   snapshot (so a planned restart keeps what is only in memory, such as `endsAt` refreshes,
   and replays nothing), stops the actors and closes the journal, which flushes and fsyncs
   what it holds.

`reload(trigger)` (SIGHUP, `POST /-/reload`) reads and validates the configuration again; a
valid, changed one is swapped in atomically — routing and inhibition (`rt.apply_rules`), auth
tokens and limits — and journaled as `ConfigLoaded`; a bad one changes nothing and the answer
lists its problems. Groups that are open keep the route settings they opened with until their
episode ends. The listen address and data directory are read at start only.

Notifications: the runtime's notifier comes from `notifier_factory(config)` (the channel
actors plug in here: `lambda c: ChannelNotifier.from_config(c, ChannelSettings())`); without
one, the runtime's log notifier prints what would be sent. A notifier with a `run(rt,
task_status)` method is started in the runtime's nursery once it has recovered (`await
rt.nursery.start(notifier.run, rt)`), and one with `reconfigure(config)` is told of each
reloaded configuration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs
import trio

from tocsin.actors.clock import Clock
from tocsin.actors.ports import Notifier
from tocsin.actors.runtime import Rules, Runtime, RuntimeSettings, open_runtime
from tocsin.actors.selfmon import SelfMonitorSettings
from tocsin.adapters.channels.slack_interactions import routes as slack_interaction_routes
from tocsin.adapters.http import (
    ApiContext,
    ReloadOutcome,
    build_app,
    http_settings,
    is_loopback,
    serve_http,
    split_host_port,
)
from tocsin.adapters.http.metrics import ApiMetrics
from tocsin.config import Config, ConfigError, load, reload
from tocsin.core.events import ConfigLoaded
from tocsin.core.replay import tune_gc
from tocsin.journal import (
    FsyncPolicy,
    Journal,
    JournalError,
    JournalStatistics,
    RecordDraft,
    Snapshot,
    StoredRecord,
    open_journal_reader,
    open_segment_journal,
)


async def _last_snapshot(rt: Runtime) -> None:
    """A snapshot on the way out: the state held only in memory (`endsAt` refreshes, which are
    not journaled) survives a planned restart, and the next start replays nothing. A failure
    is logged and the stop goes on: the journal alone still has every record."""
    try:
        seq = await rt.snapshot()
    except JournalError as exc:
        log.error("the last snapshot failed (the journal has every record): %s", exc)
        return
    log.info("snapshot of the state at seq %d", seq)


__all__ = [
    "Daemon",
    "NotifierFactory",
    "RunOptions",
    "StartupError",
    "default_runtime_settings",
    "rules_of",
    "sole_exception",
]

log = logging.getLogger("tocsin.daemon")

#: Seconds the last snapshot may take on the way out (100,000 alerts take about one).
_LAST_SNAPSHOT_TIMEOUT = 60.0

NotifierFactory = Callable[[Config], Notifier]


class StartupError(Exception):
    """The daemon cannot start as asked (the message says why and what to do)."""


def sole_exception(exc: BaseException) -> BaseException:
    """`exc` out of the exception groups that hold it alone: trio's task groups (the daemon's
    and Hypercorn's) wrap what is raised in them, one group per nursery it crossed."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@attrs.frozen
class RunOptions:
    """`tocsin run`'s options. None means "from the configuration, else the default"."""

    config_file: str | None = None
    data_dir: str | None = None
    listen: str | None = None
    fsync: str | None = None
    insecure_no_auth: bool = False
    default_data_dir: str = "data"
    graceful_timeout: float = 5.0


def rules_of(config: Config) -> Rules:
    return Rules(config.routing, config.inhibit_rules, dict(config.time_intervals))


def default_runtime_settings(config: Config, env: Mapping[str, str]) -> RuntimeSettings:
    """The daemon's runtime: self-monitoring on (its alerts carry `source="tocsin"`), alerts
    without `endsAt` expiring after `global.resolve_timeout`. `tocsin.watchdog_alertname` (or
    `$TOCSIN_WATCHDOG_ALERTNAME`), e.g. `Watchdog`, makes that always-firing alert count as a
    heartbeat. `$TOCSIN_MEMORY_LIMIT` (bytes, or with a K/M/G suffix, powers of 1024) is
    what `TocsinMemoryHigh` compares with where the cgroup sets no limit. Raises `ValueError`
    for a malformed variable."""
    watchdog = (
        config.tocsin.watchdog_alertname or env.get("TOCSIN_WATCHDOG_ALERTNAME", "").strip() or None
    )
    limit = _bytes_of(env.get("TOCSIN_MEMORY_LIMIT", "").strip(), "TOCSIN_MEMORY_LIMIT")
    return RuntimeSettings(
        selfmon=SelfMonitorSettings(watchdog_alertname=watchdog, memory_limit_bytes=limit),
        resolve_timeout=config.global_.resolve_timeout,
    )


_SIZE_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _bytes_of(text: str, name: str) -> int | None:
    """A size such as `2G`, `512M` or `1048576` (bytes); None for an empty one."""
    if not text:
        return None
    number, suffix = text.rstrip("KMGTkmgtiIbB"), text[len(text.rstrip("KMGTkmgtiIbB")) :]
    unit = _SIZE_SUFFIXES.get(suffix.upper().removesuffix("B").removesuffix("I"))
    if not number.isdigit() or unit is None or int(number) == 0:
        raise ValueError(f"${name} must be a size such as 2G, 512M or 1048576, got {text[:40]!r}")
    return int(number) * unit


class TimedJournal:
    """The journal, with each append's time-to-durable observed for `/metrics`."""

    def __init__(self, inner: Journal, observe: Callable[[float], None]) -> None:
        self._inner = inner
        self._observe = observe

    @property
    def last_seq(self) -> int:
        return self._inner.last_seq

    async def append(self, drafts: Sequence[RecordDraft]) -> list[int]:
        started = time.perf_counter()
        seqs = await self._inner.append(drafts)
        self._observe(time.perf_counter() - started)
        return seqs

    def read(self, after: int = 0) -> Iterator[StoredRecord]:
        return self._inner.read(after)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        await self._inner.save_snapshot(snapshot)

    async def save_snapshot_built(self, build: Callable[[], Snapshot]) -> int:
        return await self._inner.save_snapshot_built(build)

    def load_snapshot(self) -> Snapshot | None:
        return self._inner.load_snapshot()

    def statistics(self) -> JournalStatistics:
        return self._inner.statistics()


class Daemon:
    """One Tocsin daemon. Raises `ConfigError` from the constructor for a bad configuration."""

    def __init__(
        self,
        options: RunOptions,
        env: Mapping[str, str],
        *,
        notifier_factory: NotifierFactory | None = None,
        clock: Clock | None = None,
        runtime_settings: RuntimeSettings | None = None,
    ) -> None:
        self.options = options
        self.env = env
        self.config = load(options.config_file, env)
        self.notifier_factory = notifier_factory
        self.clock = clock
        self.runtime_settings = runtime_settings or default_runtime_settings(self.config, env)
        self.data_dir = options.data_dir or self.config.tocsin.data_dir or options.default_data_dir
        self.listen = options.listen or self.config.tocsin.listen_address
        self.fsync: FsyncPolicy = options.fsync or self.config.tocsin.fsync  # type: ignore[assignment]
        self.metrics = ApiMetrics()
        self.ctx = ApiContext(
            self.config,
            http_settings(self.config, env, options.insecure_no_auth),
            reload=self.reload,
            history=self._history,
            metrics=self.metrics,
        )
        self.rt: Runtime | None = None
        self.notifier: Notifier | None = None
        self.url: str | None = None
        self._stop = trio.Event()
        self._reload_lock = trio.Lock()

    # -- control --------------------------------------------------------------------------
    def stop(self) -> None:
        """Begin a graceful stop (idempotent)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _check_listen(self, config: Config) -> None:
        try:
            host, _port = split_host_port(self.listen)
        except ValueError as exc:
            raise StartupError(str(exc)) from None
        if config.tocsin.auth_tokens or is_loopback(host) or self.options.insecure_no_auth:
            return
        raise StartupError(
            f"refusing to listen on {self.listen} without authentication: no token is "
            "configured (tocsin.auth.tokens), so the API would be open to the network. "
            "Configure tokens, listen on a loopback address, or pass --insecure-no-auth."
        )

    def _history(self, after: int) -> Iterator[StoredRecord]:
        """The journal's records after `after`, read from the directory (in a worker thread)."""
        return open_journal_reader(self.data_dir).read(after)

    # -- the run --------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until `stop()`. Reports the HTTP URL once ready. Raises `StartupError`,
        `JournalError`."""
        tune_gc()  # the CLI did already; a daemon embedded elsewhere gets it too
        config = self.config
        self._check_listen(config)
        for line in config.unsupported_integrations():
            log.warning("%s", line)
        for receiver, integration in config.log_integrations():
            log.warning(
                "receiver %s: %s%s has no credentials (%s); it will only log what it would send",
                receiver,
                integration.integration or "channel",
                f" {integration.destination}" if integration.destination else "",
                integration.reason or "not configured",
            )
        async with open_segment_journal(self.data_dir, fsync=self.fsync) as raw_journal:
            journal = TimedJournal(raw_journal, self.metrics.journal_append.observe)
            async with trio.open_nursery() as nursery:
                http_done = trio.Event()
                app = build_app(self.ctx)

                async def http(task_status: trio.TaskStatus[str]) -> None:
                    try:
                        await serve_http(
                            app,
                            self.listen,
                            self._stop.wait,
                            graceful_timeout=self.options.graceful_timeout,
                            task_status=task_status,
                        )
                    finally:
                        http_done.set()

                try:
                    self.url = await nursery.start(http)
                except (OSError, BaseExceptionGroup) as exc:
                    leaf = sole_exception(exc)  # Hypercorn's task groups may wrap the bind's
                    if isinstance(leaf, OSError):
                        raise StartupError(f"cannot listen on {self.listen}: {leaf}") from exc
                    raise
                if self.notifier_factory is not None:
                    self.notifier = self.notifier_factory(config)
                async with open_runtime(
                    journal,
                    rules=rules_of(config),
                    notifier=self.notifier,
                    settings=self.runtime_settings,
                    clock=self.clock,
                    data_dir=self.data_dir,
                ) as rt:
                    self.rt = rt
                    run_notifier = getattr(self.notifier, "run", None)
                    if run_notifier is not None:
                        await rt.nursery.start(run_notifier, rt)
                    if rt.world.config_sha256 != config.sha256:
                        await rt.log.append(
                            [ConfigLoaded(config.sha256, config.source, rt.clock.now())]
                        )
                    # Slack's interactive buttons (Ack, Resolve, Silence) call back here; the
                    # handler needs the runtime, which exists only now.
                    app.router.routes.extend(slack_interaction_routes(rt, config))
                    self.ctx.attach(rt)
                    log.info(
                        "ready: journal %s (fsync=%s), %d records replayed, %d live groups; "
                        "config %s (sha256 %s); API on %s",
                        self.data_dir,
                        self.fsync,
                        rt.replayed,
                        len(rt.registry),
                        config.source,
                        config.sha256[:12],
                        self.url,
                    )
                    task_status.started(self.url)
                    await self._stop.wait()
                    log.info("stopping: no new connections; letting requests in flight finish")
                    with trio.move_on_after(self.options.graceful_timeout + 1):
                        await http_done.wait()
                    with trio.move_on_after(_LAST_SNAPSHOT_TIMEOUT) as snapshotting:
                        await _last_snapshot(rt)
                    if snapshotting.cancelled_caught:
                        log.error(
                            "the last snapshot took over %gs: given up (the journal has every "
                            "record)",
                            _LAST_SNAPSHOT_TIMEOUT,
                        )
                    log.info("stopping the actors")
                nursery.cancel_scope.cancel()
            log.info("closing the journal (last record %d)", raw_journal.last_seq)
        log.info("stopped")

    # -- reload ---------------------------------------------------------------------------
    async def reload(self, trigger: str) -> ReloadOutcome:
        """Validate the configuration again and swap it in if it is valid and changed."""
        async with self._reload_lock:
            outcome = await self._reload(trigger)
        self.metrics.config_reloads.labels(
            "failure" if not outcome.ok else "applied" if outcome.changed else "unchanged"
        ).inc()
        return outcome

    async def _reload(self, trigger: str) -> ReloadOutcome:
        current = self.config
        path = self.options.config_file
        if path is None:
            try:
                new = load(None, self.env)
            except ConfigError as exc:  # the built-in default from a changed environment
                return self._refused(trigger, "built-in default", "", exc.problems)
        else:
            found = reload(path, self.env, current)
            if found.config is None:
                return self._refused(trigger, path, found.sha256, found.problems)
            new = found.config
        if new.sha256 == current.sha256 and new.files_sha256 == current.files_sha256:
            log.info(
                "%s: configuration %s unchanged (sha256 %s)", trigger, new.source, new.sha256[:12]
            )
            return ReloadOutcome(True, False, new.sha256, new.source)
        try:
            self._check_listen(new)
        except StartupError as exc:
            return self._refused(trigger, new.source, new.sha256, [str(exc)])
        check_config = getattr(self.notifier, "check_config", None)
        if check_config is not None:  # templates (Go and Jinja2) the notifier would render
            try:
                check_config(new)
            except ConfigError as exc:
                return self._refused(trigger, new.source, new.sha256, exc.problems)
        for key, old_value, new_value in (
            ("listen_address", current.tocsin.listen_address, new.tocsin.listen_address),
            ("data_dir", current.tocsin.data_dir, new.tocsin.data_dir),
        ):
            if old_value != new_value:
                log.warning(
                    "%s: tocsin.%s changed; it takes effect at the next start", trigger, key
                )
        rt = self.rt
        if rt is not None:
            rt.apply_rules(rules_of(new))
            await rt.log.append([ConfigLoaded(new.sha256, new.source, rt.clock.now())])
        self.config = new
        self.ctx.set_config(new, http_settings(new, self.env, self.options.insecure_no_auth))
        reconfigure = getattr(self.notifier, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(new)
        log.info(
            "%s: configuration %s reloaded (sha256 %s → %s)",
            trigger,
            new.source,
            current.sha256[:12],
            new.sha256[:12],
        )
        return ReloadOutcome(True, True, new.sha256, new.source)

    def _refused(
        self, trigger: str, source: str, sha256: str, problems: Sequence[object]
    ) -> ReloadOutcome:
        texts = tuple(str(p) for p in problems)
        log.error(
            "%s: configuration %s refused, keeping sha256 %s:\n  %s",
            trigger,
            source,
            self.config.sha256[:12],
            "\n  ".join(texts),
        )
        return ReloadOutcome(False, False, sha256, source, texts)
