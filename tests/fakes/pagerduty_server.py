"""A fake PagerDuty Events API v2 (https://developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty).

`POST /v2/enqueue` checks an event as the API documents: `routing_key` (32 characters),
`event_action` (trigger | acknowledge | resolve), `dedup_key` (≤ 255; required to acknowledge
or resolve); a trigger's `payload` needs `summary` (≤ 1024), `source` and `severity`
(critical | error | warning | info), and an optional ISO 8601 `timestamp`. Valid: 202
`{"status": "success", "message": "Event processed", "dedup_key": ...}`; invalid: 400
`{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`.
The fake keeps each incident's status by dedup_key.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.fakes.httpfake import Fake, json_answer


def event_errors(ev: Any) -> list[str]:
    if not isinstance(ev, dict):
        return ["event must be a JSON object"]
    errors = []
    if not isinstance(ev.get("routing_key"), str) or len(ev["routing_key"]) != 32:
        errors.append("'routing_key' must be 32 characters")
    action = ev.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid")
    key = ev.get("dedup_key")
    if key is not None and (not isinstance(key, str) or len(key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not key:
        errors.append("'dedup_key' is required to acknowledge or resolve")
    if action == "trigger":
        p = ev.get("payload")
        if not isinstance(p, dict):
            return [*errors, "'payload' is missing"]
        if not p.get("summary") or len(p["summary"]) > 1024:
            errors.append("'payload.summary' must be 1..1024 characters")
        if not p.get("source"):
            errors.append("'payload.source' is missing")
        if p.get("severity") not in ("critical", "error", "warning", "info"):
            errors.append("'payload.severity' is invalid")
        if "timestamp" in p:
            try:
                datetime.fromisoformat(str(p["timestamp"]).replace("Z", "+00:00"))
            except ValueError:
                errors.append("'payload.timestamp' is not ISO 8601")
        for link in ev.get("links") or []:
            if not isinstance(link, dict) or not link.get("href"):
                errors.append("'links' entries need an href")
    return errors


class PagerdutyFake(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []

    def reset_state(self) -> None:
        self.incidents.clear()
        self.events.clear()

    def state(self) -> Any:
        return {"incidents": self.incidents, "events": self.events}

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if path != "/v2/enqueue":
            return 404, {}, b"not found"
        try:
            ev = json.loads(body)
        except ValueError:
            return json_answer(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["bad JSON"],
                },
            )
        errors = event_errors(ev)
        if errors:
            return json_answer(
                400,
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
            )
        key = ev.get("dedup_key") or f"generated-{len(self.events)}"
        with self.lock:
            self.events.append(ev)
            status = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}[
                ev["event_action"]
            ]
            incident = self.incidents.setdefault(key, {"triggers": 0})
            incident["status"] = status
            if ev["event_action"] == "trigger":
                incident["triggers"] += 1
                incident["summary"] = ev["payload"]["summary"]
        return json_answer(
            202, {"status": "success", "message": "Event processed", "dedup_key": key}
        )


if __name__ == "__main__":
    PagerdutyFake().main()
