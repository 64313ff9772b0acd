"""`tocsin config check|env|show|routes`: look at a configuration without running the daemon.

Without a FILE (or `--config.file`), every subcommand works on the built-in default built from
the current environment. `routes` and `routes test` print exactly what Alertmanager's
`amtool config routes [test]` prints for the same file and labels, so scripts written for amtool
keep working; `check` prints amtool's `check-config` summary, then every problem found.

Exit codes: 0 fine, 1 a problem (a configuration that does not load, receivers that do not
match `--verify.receivers`), 2 usage.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tocsin.actors.channels import ChannelNotifier
from tocsin.config import Config, ConfigError, load
from tocsin.config.default import VARIABLES, default_yaml
from tocsin.config.dump import dump_config
from tocsin.config.env import EnvUse, find_references
from tocsin.config.secrets import MASK
from tocsin.core.labels import InvalidLabel, Labels
from tocsin.core.matchers import MatcherParseError, MatchOp, parse_matcher
from tocsin.core.routing import Route

__all__ = ["add_parser", "matching_tree", "parse_label_args", "routing_tree"]

_LINK = "│\u00a0\u00a0 "  # treeprint's (amtool's) continuation, non-breaking spaces included
_GAP = "    "
_MID = "├── "
_END = "└── "


def _pipe_safe(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`| head` closing the pipe is not an error."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except BrokenPipeError:
            sys.stderr.close()  # nothing more can be said; keep the interpreter quiet at exit
            return 0

    return run


def add_parser(sub: Any, default_data_dir: str) -> None:
    del default_data_dir  # configuration commands do not touch the journal
    config = sub.add_parser(
        "config",
        help="check, show and test configurations",
        description="Check, show and test an alertmanager.yml (with Tocsin's extensions). "
        "Without FILE, the built-in default built from the environment is used.",
    )
    csub = config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)

    check = csub.add_parser(
        "check",
        help="validate files; exit 1 on any problem",
        description="Validate each FILE (or the built-in default) and print what it holds, "
        "like amtool check-config, then every problem found. Exit 1 if any file has a problem.",
    )
    check.add_argument("files", nargs="*", metavar="FILE")
    check.set_defaults(func=cmd_check)

    env = csub.add_parser(
        "env",
        help="list the environment variables a configuration uses",
        description="Every environment variable FILE (or the built-in default) reads: set, "
        "defaulted or missing, with secrets masked.",
    )
    env.add_argument("file", nargs="?", metavar="FILE")
    env.set_defaults(func=cmd_env)

    show = csub.add_parser(
        "show",
        help="print the effective configuration (secrets masked)",
        description="Print the effective configuration of FILE, or of the built-in default, "
        "as YAML with every secret masked.",
    )
    show.add_argument("file", nargs="?", metavar="FILE")
    show.add_argument(
        "--default", action="store_true", help="show the built-in default (ignores FILE)"
    )
    show.add_argument(
        "--source",
        action="store_true",
        help="with --default: print the generated YAML as loaded (${VAR} references, no values)",
    )
    show.set_defaults(func=cmd_show)

    routes = csub.add_parser(
        "routes",
        help="print the routing tree (as amtool config routes)",
        description="Print the routing tree, as `amtool config routes` does.",
    )
    routes.add_argument("--config.file", dest="config_file", metavar="FILE")
    rsub = routes.add_subparsers(dest="routes_command", metavar="COMMAND")
    routes.set_defaults(func=cmd_routes_show)
    show_routes = rsub.add_parser("show", help="print the routing tree")
    show_routes.add_argument("--config.file", dest="config_file", metavar="FILE")
    show_routes.set_defaults(func=cmd_routes_show)
    test = rsub.add_parser(
        "test",
        help="print the receivers a label set is routed to (as amtool config routes test)",
        description="Print the receivers the labels are routed to, comma-separated, in tree "
        "order, duplicates kept - exactly as `amtool config routes test`. A bare first "
        "argument means alertname=ARG.",
    )
    test.add_argument("--config.file", dest="config_file", metavar="FILE")
    test.add_argument(
        "--verify.receivers",
        dest="verify_receivers",
        metavar="R1,R2",
        help="exit 1 unless the receivers are exactly these",
    )
    test.add_argument("--tree", action="store_true", help="print the matching routes as a tree")
    test.add_argument("labels", nargs="*", metavar="LABEL=VALUE")
    test.set_defaults(func=cmd_routes_test)


def _load(path: str | None, env: Mapping[str, str], command: str) -> Config | None:
    try:
        return load(path, env)
    except ConfigError as exc:
        print(
            f"tocsin config {command}: {path or 'the built-in default'} does not load:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


# ------------------------------------------------------------------------------ check
def summary(config: Config) -> list[str]:
    """What a configuration holds, in amtool check-config's words, plus Tocsin's sections."""
    return [
        "Found:",
        " - global config",
        " - route",
        f" - {len(config.inhibit_rules)} inhibit rules",
        f" - {len(config.receivers)} receivers",
        f" - {len(config.template_patterns)} templates ({len(config.templates)} files)",
        f" - {len(config.time_intervals)} time intervals",
        f" - {len(config.escalation_policies)} escalation policies",
    ]


@_pipe_safe
def cmd_check(args: argparse.Namespace) -> int:
    env = os.environ
    failed = 0
    for path in args.files or [None]:
        name = path or "built-in default"
        try:
            config = load(path, env)
            # The templates too: a field that does not compile is a load error, as at start-up.
            ChannelNotifier.check_config(config)  # Jinja2 files, Go files and fields
        except ConfigError as exc:
            failed += 1
            count = len(exc.problems)
            print(f"Checking '{name}'  FAILED: {count} problem{'s' if count != 1 else ''}")
            for problem in exc.problems:
                print(f"  {problem}")
            for warning in exc.warnings:
                print(f"warning: {warning}")
            print()
            continue
        print(f"Checking '{name}'  SUCCESS")
        print("\n".join(summary(config)))
        for warning in config.warnings:
            print(f"warning: {warning}")
        for line in config.unsupported_integrations():
            print(f"warning: {line}")
        for line in config.log_channel_notes():
            print(f"note: {line}")
        print()
    if failed:
        print(f"tocsin config check: {failed} file(s) failed to validate", file=sys.stderr)
    return 1 if failed else 0


# -------------------------------------------------------------------------------- env
@_pipe_safe
def cmd_env(args: argparse.Namespace) -> int:
    env = os.environ
    rows: list[tuple[str, str, str, str]] = []
    if args.file is None:
        for var in VARIABLES:
            value = env.get(var.name)
            rows.append((var.name, *_status(value, var.default, var.secret), var.meaning))
    else:
        try:
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            print(f"tocsin config env: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
        uses: dict[str, list[EnvUse]] = {}
        for use in find_references(text):
            uses.setdefault(use.name, []).append(use)
        for name, found in uses.items():
            secret = any(u.secret for u in found)
            default = next((u.default for u in found if u.default is not None), None)
            where = ", ".join(dict.fromkeys(u.path for u in found))
            rows.append((name, *_status(env.get(name), default, secret), where))
    if not rows:
        print("no environment variables are used")
        return 0
    width = max(len("VARIABLE"), *(len(r[0]) for r in rows))
    vwidth = min(40, max(len("VALUE"), *(len(r[2]) for r in rows)))
    print(f"{'VARIABLE':<{width}}  {'STATUS':<7}  {'VALUE':<{vwidth}}  USE")
    for name, status, value, usage in rows:
        print(f"{name:<{width}}  {status:<7}  {value:<{vwidth}}  {usage}")
    return 0


def _status(value: str | None, default: str | None, secret: bool) -> tuple[str, str]:
    if value:
        return "set", MASK if secret else value
    if default is not None:
        return "default", default
    return "missing", "-"


# ------------------------------------------------------------------------------- show
@_pipe_safe
def cmd_show(args: argparse.Namespace) -> int:
    env = os.environ
    if args.source and not args.default:
        print(
            "tocsin config show: --source shows the built-in default's generated YAML: use it "
            "with --default (a file's source is the file itself)",
            file=sys.stderr,
        )
        return 2
    if args.default and args.source:
        try:
            sys.stdout.write(default_yaml(env))
        except ConfigError as exc:
            print(f"tocsin config show: {exc}", file=sys.stderr)
            return 1
        return 0
    config = _load(None if args.default else args.file, env, "show")
    if config is None:
        return 1
    sys.stdout.write(dump_config(config))
    return 0


# ----------------------------------------------------------------------------- routes
def _slug(route: Route, *, show_continue: bool, show_receiver: bool) -> str:
    """A tree node's text, as amtool's getRouteTreeSlug writes it."""
    text = str(route.matchers) if route.matchers else "default-route"
    if route.continue_ and show_continue:
        text += "  continue: true"
    if show_receiver:
        text += f"  receiver: {route.receiver}"
    return text


_Node = tuple[str, list[Any]]


def _render(nodes: list[_Node]) -> str:
    lines = ["."]

    def walk(items: list[_Node], prefix: str) -> None:
        for i, (value, children) in enumerate(items):
            last = i == len(items) - 1
            lines.append(prefix + (_END if last else _MID) + value)
            walk(children, prefix + (_GAP if last else _LINK))

    walk(nodes, "")
    return "\n".join(lines) + "\n"


def routing_tree(root: Route) -> str:
    """The whole tree as `amtool config routes` draws it (without its heading)."""

    def node(route: Route) -> _Node:
        return (
            _slug(route, show_continue=True, show_receiver=True),
            [node(child) for child in route.routes],
        )

    return _render([node(root)])


def matching_tree(root: Route, labels: Labels) -> str:
    """The routes `labels` takes, as `amtool config routes test --tree` draws them."""

    def node(route: Route) -> _Node:
        children = []
        for child in route.routes:
            if child.matches(labels):
                children.append(node(child))
                if not child.continue_:
                    break
        return (_slug(route, show_continue=False, show_receiver=not children), children)

    return _render([node(root)])


@_pipe_safe
def cmd_routes_show(args: argparse.Namespace) -> int:
    config = _load(args.config_file, os.environ, "routes")
    if config is None:
        return 1
    print("Routing tree:")
    print(routing_tree(config.routing.root))
    return 0


def parse_label_args(args: Sequence[str]) -> Labels:
    """`name=value` arguments as a label set; a bare first argument is `alertname=ARG`.

    Raises ValueError with a message for a person.
    """
    pairs: dict[str, str] = {}
    for i, arg in enumerate(args):
        if i == 0 and not any(c in arg for c in "=!~"):
            pairs["alertname"] = arg
            continue
        try:
            matcher = parse_matcher(arg)
        except MatcherParseError as exc:
            raise ValueError(f"Failed to parse labels: {exc.message}: {arg}") from None
        if matcher.op is not MatchOp.EQUAL:
            raise ValueError("Labels must be specified as key=value pairs")
        pairs[matcher.name] = matcher.value
    try:
        return Labels.of(pairs)
    except InvalidLabel as exc:
        raise ValueError(f"Failed to parse labels: {exc}") from None


@_pipe_safe
def cmd_routes_test(args: argparse.Namespace) -> int:
    try:
        labels = parse_label_args(args.labels)
    except ValueError as exc:
        print(f"tocsin config routes test: {exc}", file=sys.stderr)
        return 1
    config = _load(args.config_file, os.environ, "routes test")
    if config is None:
        return 1
    if args.tree:
        print("Matching routes:")
        print(matching_tree(config.routing.root, labels))
        print()
    slug = ",".join(config.routing.receivers(labels))
    print(slug)
    if args.verify_receivers and args.verify_receivers != slug:
        print("WARNING: Expected receivers did not match resolved receivers.")
        return 1
    return 0
