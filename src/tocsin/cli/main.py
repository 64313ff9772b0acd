"""Entry point of the `tocsin` command: argument parsing and dispatch to subcommands.

Each subcommand lives in its own module and exposes `add_parser(subparsers)`; the module's
`run(args) -> int` is what the parsed command calls. Exit codes: 0 success, 1 the command ran
and found a problem (corrupt journal, failed check), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tocsin import __version__
from tocsin.cli import (
    alerts_cmd,
    channels_cmd,
    config_cmd,
    fire_cmd,
    heartbeats_cmd,
    journal_cmd,
    run_cmd,
    selftest_cmd,
    silence_cmd,
    simulate_cmd,
    watch_cmd,
)
from tocsin.core.replay import tune_gc
from tocsin.logs import setup_logging

DEFAULT_DATA_DIR = "data"


def default_data_dir() -> str:
    """`$TOCSIN_DATA_DIR`, or `./data`."""
    return os.environ.get("TOCSIN_DATA_DIR") or DEFAULT_DATA_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tocsin",
        description="Tocsin: route, group, escalate and notify alerts; audit them from the journal.",
    )
    parser.add_argument("--version", action="version", version=f"tocsin {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("TOCSIN_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="log level (default: info, or $TOCSIN_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_cmd.add_parser(sub, default_data_dir())
    journal_cmd.add_parser(sub, default_data_dir())
    config_cmd.add_parser(sub, default_data_dir())
    simulate_cmd.add_parser(sub, default_data_dir())
    alerts_cmd.add_parser(sub)
    silence_cmd.add_parser(sub)
    fire_cmd.add_parser(sub)
    selftest_cmd.add_parser(sub)
    channels_cmd.add_parser(sub)
    heartbeats_cmd.add_parser(sub)
    watch_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.log_level)
    tune_gc()  # the daemon and the journal tools hold large, long-lived states
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error. Python would report the failed flush
        # of stdout at exit; point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
