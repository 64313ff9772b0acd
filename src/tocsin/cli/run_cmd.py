"""`tocsin run`: the daemon (tocsin.daemon), with its signals.

SIGTERM / SIGINT: stop accepting, let requests in flight finish, stop the actors, close the
journal, exit 0 (within 10 s; a second signal cancels what is left at once). SIGHUP: reload
the configuration (a bad file is logged and the running one kept).

Exit codes: 0 stopped cleanly; 1 could not start (bad configuration, address in use, an
unauthenticated non-loopback listen address, a journal that cannot be opened).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from collections.abc import Mapping
from typing import Any

import trio

from tocsin.actors.ports import Notifier
from tocsin.config import Config, ConfigError
from tocsin.daemon import Daemon, RunOptions, StartupError, sole_exception
from tocsin.journal import JournalError

log = logging.getLogger("tocsin.run")


def add_parser(sub: Any, default_data_dir: str) -> None:
    p = sub.add_parser(
        "run",
        help="run the daemon",
        description="Run the daemon: the HTTP API (Alertmanager's v2 API, webhook ingress, "
        "Tocsin's own), routing, grouping, escalation and notifications, on the journal.",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="alertmanager.yml (with Tocsin's extensions); default: the built-in default "
        "configuration from the environment (docs/configuration.md)",
    )
    p.add_argument(
        "--data-dir",
        help="journal directory (default: tocsin.data_dir, else $TOCSIN_DATA_DIR or ./data)",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="HTTP address (default: tocsin.listen_address, else 127.0.0.1:9093)",
    )
    p.add_argument(
        "--fsync",
        choices=["batch", "always", "never"],
        help="when an append is durable (default: tocsin.fsync, else batch: one fsync per "
        "group commit)",
    )
    p.add_argument(
        "--log-level",
        dest="run_log_level",
        choices=["debug", "info", "warning", "error"],
        help="log level for the daemon (overrides the global --log-level)",
    )
    p.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow a non-loopback --listen address with no auth token configured",
    )
    p.set_defaults(func=cmd_run, default_data_dir=default_data_dir)


def cmd_run(args: argparse.Namespace) -> int:
    if args.run_log_level:
        logging.getLogger().setLevel(getattr(logging, args.run_log_level.upper()))
    options = RunOptions(
        config_file=args.config,
        data_dir=args.data_dir,
        listen=args.listen,
        fsync=args.fsync,
        insecure_no_auth=args.insecure_no_auth,
        default_data_dir=args.default_data_dir,
    )
    try:
        env = os.environ
        daemon = Daemon(options, env, notifier_factory=lambda config: _channels(config, env))
    except ConfigError as exc:
        log.error("cannot start: the configuration has problems:\n%s", exc)
        return 1
    except ValueError as exc:  # a malformed TOCSIN_* variable
        log.error("cannot start: %s", exc)
        return 1
    # `tocsin run --log-level` wins, then the config's `tocsin.log_level`, then the global
    # --log-level / $TOCSIN_LOG_LEVEL already applied.
    if not args.run_log_level and daemon.config.tocsin.log_level:
        logging.getLogger().setLevel(getattr(logging, daemon.config.tocsin.log_level.upper()))
    try:
        trio.run(serve, daemon)
    except (ConfigError, StartupError, JournalError, OSError, BaseExceptionGroup) as exc:
        why = None if daemon.rt is not None else _why_not_started(exc)
        if why is None:
            raise  # it had started: a failure to see whole, traceback and all
        log.error("cannot start: %s", why)
        return 1
    return 0


def _why_not_started(exc: BaseException) -> str | None:
    """One line (or the configuration's problems) for a start that failed for a reason the
    user can act on — a template that does not compile, an address in use, a journal that
    cannot be opened, locked or corrupt, a data directory that cannot be written — however
    deep in the daemon's task groups it was raised; None for anything else."""
    exc = sole_exception(exc)
    if isinstance(exc, ConfigError):  # a receiver's template that does not compile
        return f"the configuration has problems:\n{exc}"
    if isinstance(exc, StartupError | JournalError | OSError):
        return str(exc)
    return None


def _channels(config: Config, env: Mapping[str, str]) -> Notifier:
    """The channel actors: every receiver integration of `config` delivers for real (those
    without credentials are log channels), webhook bodies signed with
    `$TOCSIN_WEBHOOK_SIGNING_SECRET` when it is set. Raises `ConfigError` for a template that
    fails."""
    from tocsin.actors.channels import ChannelNotifier, ChannelSettings
    from tocsin.actors.channels.settings import WEBHOOK_SIGNING_SECRET

    settings = ChannelSettings(webhook_secret=env.get(WEBHOOK_SIGNING_SECRET) or None)
    return ChannelNotifier.from_config(config, settings)


async def serve(daemon: Daemon) -> None:
    """Run `daemon` until SIGTERM or SIGINT; SIGHUP reloads its configuration."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if signum == signal.SIGHUP:
                        log.info("received SIGHUP: reloading the configuration")
                        nursery.start_soon(daemon.reload, "SIGHUP")
                    elif not daemon.stopping:
                        log.info("received %s: stopping", name)
                        daemon.stop()
                    else:
                        log.warning("received %s again: stopping at once", name)
                        nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            await daemon.run()
            nursery.cancel_scope.cancel()
