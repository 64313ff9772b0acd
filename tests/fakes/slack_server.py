"""A fake Slack: incoming webhooks and the Web API's chat.postMessage / chat.update.

Payloads are checked against Slack's documented rules; a bad one gets Slack's error:
* incoming webhook (https://api.slack.com/messaging/webhooks): 200 "ok", or 400
  `invalid_payload` / `no_text` / `invalid_blocks`;
* Web API (https://api.slack.com/methods/chat.postMessage): always JSON `{"ok": ...}`;
  `not_authed` / `invalid_auth` without a `Bearer xoxb-` token, `channel_not_found` without a
  channel, `invalid_blocks`, `message_not_found` for an update of an unknown ts.
* Block Kit (https://api.slack.com/reference/block-kit/blocks): at most 50 blocks; header text
  plain_text ≤ 150; section text ≤ 3000 or fields (≤ 10, each ≤ 2000); context ≤ 10
  elements; actions ≤ 25 elements; button text plain_text ≤ 75, action_id ≤ 255 and unique in
  the message, value ≤ 2000, style primary|danger.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.httpfake import Fake, json_answer


def block_errors(blocks: Any) -> list[str]:
    errors: list[str] = []
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    if len(blocks) > 50:
        errors.append(f"{len(blocks)} blocks (max 50)")
    action_ids: set[str] = set()
    for i, b in enumerate(blocks):
        kind = b.get("type")
        where = f"blocks[{i}]"
        if kind == "header":
            t = b.get("text") or {}
            if t.get("type") != "plain_text":
                errors.append(f"{where}: header text must be plain_text")
            if len(t.get("text", "")) > 150:
                errors.append(f"{where}: header text longer than 150")
        elif kind == "section":
            text, fields = b.get("text"), b.get("fields")
            if not text and not fields:
                errors.append(f"{where}: section needs text or fields")
            if text and not (1 <= len(text.get("text", "")) <= 3000):
                errors.append(f"{where}: section text must be 1..3000 characters")
            if fields is not None:
                if len(fields) > 10:
                    errors.append(f"{where}: more than 10 fields")
                for f in fields:
                    if not (1 <= len(f.get("text", "")) <= 2000):
                        errors.append(f"{where}: field text must be 1..2000 characters")
        elif kind == "context":
            if not (1 <= len(b.get("elements") or []) <= 10):
                errors.append(f"{where}: context needs 1..10 elements")
        elif kind == "actions":
            elements = b.get("elements") or []
            if not (1 <= len(elements) <= 25):
                errors.append(f"{where}: actions needs 1..25 elements")
            for e in elements:
                if e.get("type") != "button":
                    continue
                t = e.get("text") or {}
                if t.get("type") != "plain_text" or len(t.get("text", "")) > 75:
                    errors.append(f"{where}: button text must be plain_text ≤ 75")
                aid = e.get("action_id", "")
                if len(aid) > 255 or aid in action_ids:
                    errors.append(f"{where}: action_id too long or not unique")
                action_ids.add(aid)
                if len(e.get("value", "")) > 2000:
                    errors.append(f"{where}: button value longer than 2000")
                if e.get("style") not in (None, "primary", "danger"):
                    errors.append(f"{where}: bad button style")
        elif kind not in ("divider", "image", "rich_text", "input", "file", "video"):
            errors.append(f"{where}: unknown block type {kind!r}")
    return errors


class SlackFake(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, dict[str, Any]] = {}
        self.webhook_messages: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.counter = 0

    def reset_state(self) -> None:
        self.messages.clear()
        self.webhook_messages.clear()
        self.updates.clear()

    def state(self) -> Any:
        return {
            "messages": self.messages,
            "webhook_messages": self.webhook_messages,
            "updates": self.updates,
        }

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            msg = json.loads(body)
        except ValueError:
            msg = None
        if path.startswith("/sink"):  # accepts anything: a sink for benchmarks
            return 200, {}, b"ok"
        if path.startswith("/services/"):
            if not isinstance(msg, dict):
                return 400, {}, b"invalid_payload"
            if not msg.get("text") and not msg.get("blocks") and not msg.get("attachments"):
                return 400, {}, b"no_text"
            if "blocks" in msg and block_errors(msg["blocks"]):
                return 400, {}, b"invalid_blocks"
            with self.lock:
                self.webhook_messages.append(msg)
            return 200, {"Content-Type": "text/html"}, b"ok"
        if path.startswith("/api/"):
            auth = headers.get("authorization", "")
            if not auth:
                return json_answer(200, {"ok": False, "error": "not_authed"})
            if not auth.startswith("Bearer xoxb-"):
                return json_answer(200, {"ok": False, "error": "invalid_auth"})
            if not isinstance(msg, dict):
                return json_answer(200, {"ok": False, "error": "invalid_json"})
            channel = msg.get("channel")
            if not channel:
                return json_answer(200, {"ok": False, "error": "channel_not_found"})
            if "blocks" in msg:
                errors = block_errors(msg["blocks"])
                if errors:
                    return json_answer(
                        200, {"ok": False, "error": "invalid_blocks", "errors": errors}
                    )
            elif not msg.get("text") and not msg.get("attachments"):
                return json_answer(200, {"ok": False, "error": "no_text"})
            method = path.rsplit("/", 1)[-1]
            with self.lock:
                if method == "chat.postMessage":
                    self.counter += 1
                    ts = f"1700000000.{self.counter:06d}"
                    cid = "C" + str(abs(hash(channel)) % 10**8)
                    self.messages[ts] = {**msg, "channel": cid, "channel_name": channel, "ts": ts}
                    return json_answer(200, {"ok": True, "channel": cid, "ts": ts, "message": msg})
                if method == "chat.update":
                    ts = msg.get("ts")
                    old = self.messages.get(ts or "")
                    if old is None or old["channel"] != channel:
                        return json_answer(200, {"ok": False, "error": "message_not_found"})
                    self.messages[ts] = {**old, **msg}
                    self.updates.append(msg)
                    return json_answer(200, {"ok": True, "channel": channel, "ts": ts})
            return json_answer(200, {"ok": False, "error": "unknown_method"})
        return 404, {}, b"not found"


if __name__ == "__main__":
    SlackFake().main()
