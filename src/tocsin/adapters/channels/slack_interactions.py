"""`POST /api/v1/slack/interactions`: the Ack, Resolve and Silence 1h buttons of Slack messages.

Slack posts `application/x-www-form-urlencoded` with one field, `payload`, a JSON
`block_actions` payload (https://api.slack.com/reference/interaction-payloads/block-actions).
Every request is verified first (https://api.slack.com/authentication/verifying-requests-from-slack):
`X-Slack-Signature` must equal `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw
body}` under the app's signing secret (constant-time compare), and the timestamp must be within
5 minutes of now (replays are refused). Missing, bad or stale: 401, nothing done.

Slack wants an answer within 3 seconds. The command runs in the runtime's nursery and the
handler waits for it at most 2.5 s; the answer is 200 either way (the result shows up as the
original message being updated, `chat.update`, when the acknowledgement notification goes
out). Slack retries a request it got no answer for (`X-Slack-Retry-Num`): each action is done
once — repeated deliveries of the same action (same `action_ts`) are answered 200 and ignored,
and acknowledging an acknowledged group is not an error.

Mount: `Mount` or add the routes of `routes(rt, config)` to the Starlette app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.adapters.channels.slack import ACTION_ACK, ACTION_RESOLVE, ACTION_SILENCE
from tocsin.adapters.http.auth import unix_seconds
from tocsin.adapters.http.context import read_body
from tocsin.adapters.http.errors import ApiError
from tocsin.core.events import SilenceData

if TYPE_CHECKING:
    from tocsin.actors.runtime import Runtime
    from tocsin.config.model import Config

__all__ = ["PATH", "SlackInteractions", "routes", "sign"]

log = logging.getLogger("tocsin.slack")

PATH: Final = "/api/v1/slack/interactions"
MAX_SKEW: Final = 300.0  # seconds, Slack's recommendation
ANSWER_WITHIN: Final = 2.5
#: The largest request body read: Slack's interaction payloads are a few KiB. The endpoint
#: is exposed to the internet (for Slack) and is checked only by signature, so a larger body
#: is refused before it is read (413), not buffered whole to be refused after.
MAX_BODY: Final = 256 * 1024
_SEEN: Final = 10_000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackInteractions:
    def __init__(self, rt: Runtime, signing_secret: str | None) -> None:
        self.rt = rt
        self.secret = signing_secret
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self.handled = 0
        self.rejected = 0

    def verify(self, headers: Any, body: bytes) -> str | None:
        """None when the request is Slack's and fresh, else why not."""
        if not self.secret:
            return "no Slack signing secret is configured"
        ts = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not ts or not signature:
            return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
        when = unix_seconds(ts)
        if when is None:
            return "bad X-Slack-Request-Timestamp (Unix seconds expected)"
        if abs(self.rt.clock.now().timestamp() - when) > MAX_SKEW:
            return "stale request (timestamp more than 5 minutes away)"
        given = signature.encode("utf-8", "replace")
        if not hmac.compare_digest(sign(self.secret, ts, body).encode(), given):
            return "bad signature"
        return None

    async def handle(self, request: Request) -> Response:
        headers = request.headers
        if not self.secret or not headers.get("x-slack-signature"):
            # Refused before the body is read: nothing unsigned is buffered.
            self.rejected += 1
            return JSONResponse({"error": self.verify(headers, b"")}, status_code=401)
        try:
            body = await read_body(request, MAX_BODY)
        except ApiError as exc:
            self.rejected += 1
            return JSONResponse({"error": exc.detail}, status_code=exc.status)
        problem = self.verify(headers, body)
        if problem is not None:
            self.rejected += 1
            log.warning("refused a Slack interaction: %s", problem)
            return JSONResponse({"error": problem}, status_code=401)
        try:
            payload = json.loads(parse_qs(body.decode())["payload"][0])
        except (KeyError, IndexError, ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "no payload"}, status_code=400)
        if payload.get("type") != "block_actions":
            return Response(status_code=200)
        user = payload.get("user") or {}
        who = "slack:" + str(user.get("username") or user.get("name") or user.get("id") or "?")
        done = trio.Event()
        todo = []
        for action in payload.get("actions") or []:
            key = (
                str(action.get("action_ts") or payload.get("trigger_id") or ""),
                str(action.get("action_id")),
                str(action.get("value")),
            )
            if key in self._seen:
                continue  # a retried delivery of an action already taken
            self._seen[key] = None
            if len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
            todo.append((str(action.get("action_id")), str(action.get("value") or ""), who))
        if not todo:
            return Response(status_code=200)
        self.rt.nursery.start_soon(self._run, todo, done)
        with trio.move_on_after(ANSWER_WITHIN):
            await done.wait()
        return Response(status_code=200)

    async def _run(self, todo: list[tuple[str, str, str]], done: trio.Event) -> None:
        from tocsin.actors.runtime import UnknownGroup
        from tocsin.core.lifecycle import AckForbidden, IllegalCommand

        try:
            for action_id, group_id, who in todo:
                try:
                    await self._act(action_id, group_id, who)
                    self.handled += 1
                except AckForbidden:
                    log.warning("%s tried to acknowledge %s: its route forbids it", who, group_id)
                except IllegalCommand as exc:
                    log.info(
                        "Slack %s on %s by %s: nothing to do (%s)", action_id, group_id, who, exc
                    )
                except UnknownGroup:
                    log.info("Slack %s on unknown group %s by %s", action_id, group_id, who)
        finally:
            done.set()

    async def _act(self, action_id: str, group_id: str, who: str) -> None:
        rt = self.rt
        if action_id == ACTION_ACK:
            await rt.acknowledge(group_id, who, "acknowledged in Slack")
        elif action_id == ACTION_RESOLVE:
            await rt.resolve(group_id, who, "resolved in Slack")
        elif action_id == ACTION_SILENCE:
            state = rt.world.groups.get(group_id)
            if state is None or not state.group_labels:
                log.info("Slack silence on %s: no such group (or no labels to match)", group_id)
                return
            now = rt.clock.now()
            matchers = tuple((k, "=", v) for k, v in state.group_labels.pairs)
            await rt.set_silence(
                SilenceData(
                    "", matchers, now, now + timedelta(hours=1), who, "silenced from Slack for 1h"
                )
            )
        else:
            log.info("Slack action %r is not Tocsin's; ignored", action_id)


def _secret_from(config: Config | None) -> str | None:
    found = getattr(config.tocsin, "slack_signing_secret", None) if config is not None else None
    if found:
        return str(found.reveal()) if hasattr(found, "reveal") else str(found)
    return os.environ.get("SLACK_SIGNING_SECRET") or None


def routes(
    rt: Runtime, config: Config | None = None, *, signing_secret: str | None = None
) -> list[Route]:
    """The interaction endpoint, verifying with `signing_secret`, else the config's
    `tocsin.slack_signing_secret` (when the config has it), else $SLACK_SIGNING_SECRET."""
    handler = SlackInteractions(rt, signing_secret or _secret_from(config))
    return [Route(PATH, handler.handle, methods=["POST"], name="slack_interactions")]
