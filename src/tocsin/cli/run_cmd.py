"""`tocsin run`: the daemon.

Until the runtime lands (actors, HTTP), the daemon opens its journal (recovering a torn tail
from a crash), reports what it holds, and waits for SIGTERM or SIGINT, then closes the journal
cleanly and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
from typing import Any

import trio

from tocsin.journal import JournalError, open_segment_journal

log = logging.getLogger("tocsin.run")


def add_parser(sub: Any, default_data_dir: str) -> None:
    p = sub.add_parser("run", help="run the daemon")
    p.add_argument(
        "--data-dir",
        default=default_data_dir,
        help="journal directory (default: $TOCSIN_DATA_DIR or ./data)",
    )
    p.add_argument(
        "--fsync",
        choices=["batch", "always", "never"],
        default="batch",
        help="when an append is durable (default: batch, one fsync per group commit)",
    )
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    try:
        return trio.run(serve, args.data_dir, args.fsync)
    except JournalError as exc:
        log.error("cannot start: %s", exc)
        return 1


async def serve(data_dir: str, fsync: Any) -> int:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with open_segment_journal(data_dir, fsync=fsync) as journal:
            log.info(
                "journal open at %s (fsync=%s): %d records; ready",
                data_dir,
                fsync,
                journal.last_seq,
            )
            async for signum in signals:
                log.info("received %s: closing the journal", signal.Signals(signum).name)
                break
    log.info("stopped")
    return 0
