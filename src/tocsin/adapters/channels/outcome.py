"""The one place that decides what a delivery attempt came to: delivered, retryable, permanent.

Every adapter reports what it saw (an HTTP status and headers, a Slack API error string, an
SMTP reply, or the exception its client raised) and this module turns it into a `Verdict`.
Nothing else in Tocsin looks at status codes to decide whether to retry.

    status / error                         verdict     counts against the circuit
    2xx (and no API error)                 delivered
    429, Slack "ratelimited"               retryable   no  (the destination is fine, we are fast)
    408, 425, 5xx, timeouts, connections   retryable   yes
    other 4xx, 3xx, API errors, bad URL    permanent   no  (the payload or config is wrong)
    SMTP 4xx                               retryable   yes
    SMTP 5xx, auth refused, no STARTTLS    permanent   no

Exceptions::

    Exception
     └── DeliveryFailed         an attempt did not deliver; `.outcome` says why and what next
"""

from __future__ import annotations

import enum
import smtplib
import ssl
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final

import attrs
import httpx

__all__ = [
    "DeliveryFailed",
    "Outcome",
    "Verdict",
    "classify_api_error",
    "classify_exception",
    "classify_status",
    "parse_retry_after",
]


class Verdict(enum.StrEnum):
    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@attrs.frozen
class Outcome:
    verdict: Verdict
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds the destination asked us to wait
    trips_circuit: bool = False  # a sign the destination itself is unwell

    @property
    def retryable(self) -> bool:
        return self.verdict is Verdict.RETRYABLE


class DeliveryFailed(Exception):
    """An attempt did not deliver. Raised by adapters, always `from` the foreign error."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


# Slack Web API errors (HTTP 200, {"ok": false, "error": ...}) that are worth retrying.
_SLACK_RETRYABLE: Final = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def classify_status(status: int, retry_after: float | None = None, detail: str = "") -> Outcome:
    """What an HTTP status says about an attempt."""
    text = f"HTTP {status}" + (f": {detail}" if detail else "")
    if 200 <= status < 300:
        return Outcome(Verdict.DELIVERED, status)
    if status == 429:
        return Outcome(Verdict.RETRYABLE, status, text, retry_after)
    if status in (408, 425) or status >= 500:
        return Outcome(Verdict.RETRYABLE, status, text, retry_after, trips_circuit=True)
    return Outcome(Verdict.PERMANENT, status, text)


def classify_api_error(status: int, error: str, retry_after: float | None = None) -> Outcome:
    """An API that answers 2xx with an error in the body (Slack's Web API)."""
    if error == "ratelimited":
        return Outcome(Verdict.RETRYABLE, status, f"API error: {error}", retry_after)
    if error in _SLACK_RETRYABLE:
        return Outcome(Verdict.RETRYABLE, status, f"API error: {error}", retry_after, True)
    return Outcome(Verdict.PERMANENT, status, f"API error: {error}")


def classify_exception(exc: BaseException) -> Outcome:
    """What a client library's exception says about an attempt."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return Outcome(Verdict.RETRYABLE, None, f"timeout ({name})", trips_circuit=True)
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Outcome(Verdict.PERMANENT, None, f"bad URL ({name})")
    if isinstance(exc, httpx.TransportError):
        return Outcome(Verdict.RETRYABLE, None, f"connection failed ({name})", trips_circuit=True)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        verdict = Verdict.RETRYABLE if all(400 <= c < 500 for c in codes) else Verdict.PERMANENT
        return Outcome(verdict, None, f"SMTP recipients refused ({sorted(set(codes))})")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Outcome(Verdict.PERMANENT, None, f"SMTP authentication refused ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Outcome(Verdict.PERMANENT, None, f"SMTP server does not support it: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        text = f"SMTP {code}"
        if 400 <= code < 500:
            return Outcome(Verdict.RETRYABLE, None, text, trips_circuit=True)
        return Outcome(Verdict.PERMANENT, None, text)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome(Verdict.PERMANENT, None, f"TLS certificate refused: {exc.verify_message}")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return Outcome(Verdict.RETRYABLE, None, f"connection failed ({name})", trips_circuit=True)
    # Only the type: a foreign message may quote a URL, and URLs carry tokens.
    return Outcome(Verdict.PERMANENT, None, f"unexpected error ({name})")
