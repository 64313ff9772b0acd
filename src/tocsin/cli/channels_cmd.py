"""`tocsin channels test [--config FILE] [--dry-run] [RECEIVER...]`: a test notification to
every integration of the configured receivers, from this machine, with the channels the daemon
would build from the same configuration (same templates, same credentials).

Each integration is reported `ok` or `failed` with the reason the channel gives (status code,
Slack error, SMTP refusal, ...); exit 1 when any failed. `--dry-run` sends nothing and prints
what would be sent: the rendered JSON body of HTTP integrations (the URL only as scheme and
host: webhook URLs hold tokens), the email, or the log line's text.
"""

from __future__ import annotations

import argparse
import os
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import trio

from tocsin.adapters.channels.base import Channel
from tocsin.adapters.channels.model import AlertView, Notification
from tocsin.adapters.channels.outcome import DeliveryFailed
from tocsin.cli.remote import CommandFailed, emit_json, print_table, remote_command
from tocsin.config import Config, ConfigError, load
from tocsin.core.events import AlertData, NotificationRequested, NotifyReason
from tocsin.core.labels import Labels

_TIMEOUT = 20.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("channels", help="test the notification channels")
    cmds = p.add_subparsers(dest="channels_command", metavar="COMMAND", required=True)
    t = cmds.add_parser(
        "test",
        help="send a test notification through every integration (or one receiver's)",
        description="Send a test notification to each integration of each receiver (or of "
        "the receivers named), and report ok / failed and why.",
    )
    t.add_argument("receivers", nargs="*", metavar="RECEIVER", help="only these receivers")
    t.add_argument(
        "--config",
        metavar="FILE",
        help="alertmanager.yml (default: the built-in default from the environment)",
    )
    t.add_argument("--dry-run", action="store_true", help="render, print, send nothing")
    t.add_argument("-o", "--output", choices=["table", "json"], default="table")
    t.set_defaults(func=cmd_test)


def test_notification(receiver: str, now: datetime) -> Notification:
    labels = Labels.of(
        {"alertname": "TocsinChannelTest", "severity": "warning", "tocsin_test": "channels"}
    )
    alert = AlertData(
        labels,
        Labels.of(
            {
                "summary": f"Tocsin test notification for receiver {receiver}",
                "description": "Sent by `tocsin channels test`; no action needed.",
            }
        ),
        now,
        None,
    )
    fingerprint = "0000000000000000"
    request = NotificationRequested(
        group_id=f"channels-test-{secrets.token_hex(4)}",
        notification_id=secrets.token_hex(8),
        receiver=receiver,
        reason=NotifyReason.FIRST_NOTIFICATION,
        level=0,
        episode=1,
        firing=(fingerprint,),
        resolved=(),
        dedup_key=f"tocsin-channels-test-{receiver}",
        at=now,
    )
    return Notification(
        request=request,
        group_key='{}:{alertname="TocsinChannelTest"}',
        group_labels=Labels.of({"alertname": "TocsinChannelTest"}),
        alerts=(AlertView(fingerprint, alert, True),),
        level=0,
    )


def _where(url: str) -> str:
    """Scheme and host only: the path and any user:password@ may hold credentials."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "(url)"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


#: Fields of a request body that carry a credential (PagerDuty's routing key, ...).
_SECRET_FIELDS = frozenset({"routing_key", "service_key", "token"})


def preview(channel: Channel, n: Notification) -> str:
    """What `channel` would send for `n`, without sending it (and without credentials)."""
    adapter = getattr(channel, "adapter", None)
    if adapter is not None:
        req = adapter.build(n)
        body: Any = req.json
        if isinstance(body, dict):
            body = {k: "<secret>" if k in _SECRET_FIELDS else v for k, v in body.items()}
        if body is None and req.content is not None:
            body = req.content.decode(errors="replace")
        text = body if isinstance(body, str) else orjson.dumps(body, option=orjson.OPT_INDENT_2)
        text = text if isinstance(text, str) else text.decode()
        return f"POST {_where(req.url)}/...\n{text}"
    message = getattr(channel, "message", None)  # email: the very mail it would send
    if message is not None:
        return str(message(n).as_string())
    kit = getattr(channel, "kit", None)
    if kit is not None:
        r = kit.renderer.render(
            kit.data(n), channel=getattr(channel, "stands_for", "log"), fmt="text"
        )
        return f"{r.title} — {r.summary}"
    return "(no preview for this integration)"


async def _run(config: Config, receivers: list[str], dry_run: bool) -> list[dict[str, Any]]:
    from tocsin.actors.channels import ChannelNotifier
    from tocsin.actors.channels.settings import WEBHOOK_SIGNING_SECRET
    from tocsin.adapters.channels.factory import ClientPool, build_channels
    from tocsin.adapters.templates import JinjaRenderer

    notifier = ChannelNotifier(
        renderer=JinjaRenderer(config.templates), external_url=config.tocsin.external_url or ""
    )
    pool = ClientPool(_TIMEOUT)
    results: list[dict[str, Any]] = []
    try:
        # Signed as the daemon signs (`tocsin run`), so a receiver's check is tested too.
        secret = os.environ.get(WEBHOOK_SIGNING_SECRET) or None
        built = build_channels(
            config, notifier.kit, pool, notifier, timeout=_TIMEOUT, webhook_secret=secret
        )
        now = datetime.now(UTC)
        for receiver, channels in built.items():
            if receivers and receiver not in receivers:
                continue
            n = test_notification(receiver, now)
            if not channels:
                results.append(
                    {"receiver": receiver, "integration": "-", "kind": "-", "ok": True,
                     "detail": "no integrations: nothing to send"}
                )  # fmt: skip
            for channel in channels:
                row: dict[str, Any] = {
                    "receiver": receiver,
                    "integration": channel.name,
                    "kind": channel.kind,
                }
                try:
                    if dry_run:
                        row.update(ok=True, detail="dry run", preview=preview(channel, n))
                    else:
                        with trio.fail_after(_TIMEOUT + 5):
                            receipt = await channel.deliver(n)
                        status = getattr(receipt, "status_code", None)
                        row.update(ok=True, detail=_delivered(channel, status))
                except DeliveryFailed as exc:
                    verdict = "retryable" if exc.outcome.retryable else "permanent"
                    row.update(ok=False, detail=f"{exc.outcome.error} ({verdict})")
                except trio.TooSlowError:
                    row.update(ok=False, detail=f"no answer within {_TIMEOUT + 5:g}s")
                results.append(row)
    finally:
        await pool.aclose()
    return results


def _delivered(channel: Channel, status: int | None) -> str:
    if channel.kind == "log":
        stands_for = getattr(channel, "stands_for", "log")
        why = getattr(channel, "why", None)
        if stands_for == "log":
            return "logged"
        return f"logged only: {stands_for} is not configured ({why or 'no credentials'})"
    return f"delivered ({status})" if status else "delivered"


@remote_command
def cmd_test(args: argparse.Namespace) -> int:
    from tocsin.actors.channels import ChannelNotifier

    try:
        config = load(args.config, os.environ)
        ChannelNotifier.check_config(config)  # templates: a problem here, not a traceback later
    except ConfigError as exc:
        raise CommandFailed(f"the configuration has problems: {str(exc).splitlines()[0]}") from exc
    unknown = [r for r in args.receivers if r not in config.receivers]
    if unknown:
        raise CommandFailed(
            f"no receiver {', '.join(unknown)} in {config.source} "
            f"(there are: {', '.join(config.receivers)})"
        )
    results = trio.run(_run, config, args.receivers, args.dry_run)
    if args.output == "json":
        emit_json(results)
    else:
        if args.dry_run:
            for r in results:
                if "preview" in r:
                    print(f"--- {r['receiver']} {r['integration']} ---\n{r['preview']}\n")
        print_table(
            [
                [r["receiver"], r["integration"], "ok" if r["ok"] else "FAILED", r["detail"]]
                for r in results
            ],
            ["RECEIVER", "INTEGRATION", "RESULT", "DETAIL"],
            empty="no receivers to test",
        )
    return 0 if all(r["ok"] for r in results) else 1
