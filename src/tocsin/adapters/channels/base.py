"""The seam between a channel actor and an integration, and the HTTP plumbing most share.

A `Channel` delivers one `Notification` or raises `DeliveryFailed` (whose `Outcome` comes from
`outcome.py`, the one place that classifies). HTTP integrations are an `HTTPAdapter` — pure
translation: notification → `HTTPRequest`, response → `Receipt` — run by `HTTPChannel`, which
owns the client call and translates its exceptions at the boundary (`raise ... from`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import httpx

from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.channels.outcome import (
    DeliveryFailed,
    Verdict,
    classify_exception,
    classify_status,
    parse_retry_after,
)
from tocsin.adapters.templates import Redactor, Renderer, build_data

if TYPE_CHECKING:
    from tocsin.adapters.gotemplate import Data

__all__ = [
    "Channel",
    "HTTPAdapter",
    "HTTPChannel",
    "HTTPRequest",
    "Kit",
    "destination_key",
    "is_template",
    "receipt_from_status",
]


class Channel(Protocol):
    kind: str  # "slack", "pagerduty", ...
    name: str  # the integration as events name it: "slack[0]"
    destination: str  # opaque key (a hash) of where it sends: circuit breakers and rate limits
    send_resolved: bool

    async def deliver(self, n: Notification) -> Receipt:
        """Send `n`. Raises `DeliveryFailed` (its `outcome` says retryable or permanent)."""
        ...


@attrs.frozen
class Kit:
    """What every adapter renders with."""

    renderer: Renderer
    redactor: Redactor
    external_url: str
    now: Callable[[], datetime]

    def data(self, n: Notification) -> dict[str, Any]:
        return build_data(n, self.redactor, self.external_url)

    def go_data(self, n: Notification) -> Data:
        """Alertmanager's template data of `n`, for Go templates (redacted the same way)."""
        from tocsin.adapters.channels.gofields import go_data

        return go_data(n, self.redactor, self.external_url, self.now())


def destination_key(*parts: object) -> str:
    """An opaque id for a destination (its URL and channel or key hashed): safe to log."""
    h = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()
    return h[:16]


def is_template(value: str | None) -> bool:
    """A Go template: rendered through `GoFields`, never sent as written."""
    return value is not None and "{{" in value


@attrs.frozen
class HTTPRequest:
    url: str  # may hold a token: never log it
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = attrs.Factory(dict)


class HTTPAdapter(Protocol):
    def build(self, n: Notification) -> HTTPRequest:
        """The request for `n`. Raises `DeliveryFailed` when it cannot be built."""
        ...

    def receipt(self, n: Notification, response: httpx.Response) -> Receipt:
        """What the response means. Raises `DeliveryFailed`."""
        ...


def receipt_from_status(response: httpx.Response, now: datetime, detail: str = "") -> Receipt:
    """The common case: the status code says it all. Raises `DeliveryFailed`."""
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    outcome = classify_status(response.status_code, retry_after, detail)
    if outcome.verdict is Verdict.DELIVERED:
        return Receipt(response.status_code)
    raise DeliveryFailed(outcome)


class HTTPChannel:
    def __init__(
        self,
        *,
        kind: str,
        name: str,
        adapter: HTTPAdapter,
        client: httpx.AsyncClient,
        destination: str,
        send_resolved: bool,
        timeout: float = 10.0,
    ) -> None:
        self.kind = kind
        self.name = name
        self.adapter = adapter
        self.client = client
        self.destination = destination
        self.send_resolved = send_resolved
        self.timeout = timeout

    async def deliver(self, n: Notification) -> Receipt:
        req = self.adapter.build(n)
        try:
            response = await self.client.post(
                req.url,
                json=req.json,
                content=req.content,
                headers=dict(req.headers),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(classify_exception(exc)) from exc
        return self.adapter.receipt(n, response)
