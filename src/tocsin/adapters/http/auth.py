"""Who is asking, and may they: bearer tokens with roles, a per-token rate limit, and the
webhook's optional HMAC signature.

Tokens come from the configuration (`tocsin.auth.tokens`). A request presents one as
`Authorization: Bearer <token>`; it is compared with every configured token in constant time
(HMAC-SHA256 digests compared with `hmac.compare_digest`, all of them, no early exit), so the
answer's timing says nothing about how much of a guess was right. With no token configured the
API is open, which the daemon only allows on a loopback address (or with `--insecure-no-auth`).

Roles: `ingest` (POST alerts, the webhook), `read` (every GET), `operate` (ack, resolve,
silences), `admin` (reload, and everything else).

The rate limit is a token bucket per authenticated token: `rate` requests a second on average,
bursts up to `burst`. A request over the limit is refused with 429 and `Retry-After`, saying
when the next one will be allowed. (Without tokens there is no one to limit per token.)

Webhook signature (optional; on when a secret is configured): the sender adds
`X-Tocsin-Timestamp: <unix seconds>` and `X-Tocsin-Signature: sha256=<hex>`, the HMAC-SHA256 of
`"<timestamp>." + body` under the shared secret. A timestamp outside the window (default 5
minutes either way) is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from tocsin.adapters.http.errors import ApiError
from tocsin.config.model import AuthToken, Role

__all__ = [
    "ANONYMOUS",
    "Authenticator",
    "Principal",
    "RateLimiter",
    "ReplayGuard",
    "sign_webhook",
    "unix_seconds",
    "verify_webhook_signature",
]

ANONYMOUS = "anonymous"
SIGNATURE_HEADER = "x-tocsin-signature"
TIMESTAMP_HEADER = "x-tocsin-timestamp"


class Principal:
    """The caller: a token's name (or `anonymous` when auth is off) and its roles."""

    __slots__ = ("authenticated", "name", "roles")

    def __init__(self, name: str, roles: frozenset[Role], authenticated: bool) -> None:
        self.name = name
        self.roles = roles
        self.authenticated = authenticated

    def allows(self, role: Role) -> bool:
        return role in self.roles or Role.ADMIN in self.roles


_EVERYTHING = frozenset(Role)


class Authenticator:
    def __init__(self, tokens: Sequence[AuthToken]) -> None:
        # A per-process key: digests of equal length make compare_digest's time independent of
        # the token lengths too.
        self._key = os.urandom(32)
        self._tokens = [(self._digest(t.token.reveal()), t) for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def _digest(self, value: str) -> bytes:
        return hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind an `Authorization` header. Raises `ApiError` 401."""
        if not self._tokens:
            return Principal(ANONYMOUS, _EVERYTHING, False)
        if not authorization:
            raise _unauthorized("no bearer token: send `Authorization: Bearer <token>`")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthorized("the Authorization header must be `Bearer <token>`")
        presented = self._digest(credentials.strip())
        found: AuthToken | None = None
        for digest, token in self._tokens:  # all of them: no early exit
            if hmac.compare_digest(digest, presented):
                found = token
        if found is None:
            raise _unauthorized("the bearer token is not valid")
        return Principal(found.name, frozenset(found.roles), True)

    @staticmethod
    def require(principal: Principal, role: Role) -> None:
        """Raises `ApiError` 403 unless `principal` has `role` (or admin)."""
        if not principal.allows(role):
            raise ApiError(
                403,
                "forbidden",
                f"token {principal.name!r} lacks the {role.value!r} role "
                f"(it has: {', '.join(sorted(r.value for r in principal.roles)) or 'none'})",
            )


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def unix_seconds(text: str) -> int | None:
    """A request timestamp header's Unix seconds, or None unless it is plain digits of a
    sensible length (`nan`, `1e9`, `-5` and 400 digits are not times; a float would let the
    first pass any freshness check, and the last overflow one)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


class ReplayGuard:
    """The signatures of signed webhook requests already accepted, each kept until its
    timestamp leaves the window: the same signed request again is a replay, refused (a sender
    signs each request anew, with a fresh timestamp). Only accepted ones are kept, so a request
    refused for backpressure (503) may be sent again as it was."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()  # signature -> when it expires

    def check(self, signature: str, now: float) -> None:
        """Raises `ApiError` 401 if `signature` was accepted within the window."""
        seen = self._seen
        while seen and next(iter(seen.values())) < now:
            seen.popitem(last=False)
        if signature.strip() in seen:
            raise _unauthorized(
                "this signed request was already accepted: a replay is refused (sign each "
                "request anew, with a fresh X-Tocsin-Timestamp)"
            )

    def remember(self, signature: str, timestamp: str, window: float) -> None:
        self._seen[signature.strip()] = int(timestamp) + window


class RateLimiter:
    """A token bucket per key: `rate` per second on average, up to `burst` at once.

    `clock` is monotonic seconds (injectable for tests). `rate <= 0` turns the limit off.
    """

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)

    def check(self, key: str) -> None:
        """Take one request from `key`'s bucket. Raises `ApiError` 429 with Retry-After."""
        if self.rate <= 0:
            return
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            raise ApiError(
                429,
                "too many requests",
                f"token {key!r} is limited to {self.rate:g} requests/s (bursts of "
                f"{self.burst:g}); retry after {wait:.2f}s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        self._buckets[key] = (tokens - 1.0, now)


def sign_webhook(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Tocsin-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float,
    window: float = 300.0,
) -> None:
    """Raises `ApiError` 401 unless `signature` signs `body` at a `timestamp` within `window`
    seconds of `now`."""
    if not timestamp or not signature:
        raise _unauthorized(
            "this webhook requires a signature: send X-Tocsin-Timestamp and X-Tocsin-Signature"
        )
    ts = unix_seconds(timestamp)
    if ts is None:
        raise _unauthorized(f"X-Tocsin-Timestamp must be unix seconds, got {timestamp[:40]!r}")
    if abs(now - ts) > window:
        raise _unauthorized(
            f"X-Tocsin-Timestamp {ts} is {abs(now - ts):.0f}s away from now "
            f"(the window is {window:g}s): refusing a stale or replayed request"
        )
    expected = sign_webhook(secret, body, ts)
    given = signature.strip()
    if not given.startswith("sha256="):
        raise _unauthorized(
            'X-Tocsin-Signature must be sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">, '
            f"got {given[:20]!r}"
        )
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise _unauthorized("X-Tocsin-Signature does not match the body (HMAC-SHA256)")
