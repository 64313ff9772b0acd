"""Redaction: secrets in labels and annotations are masked before anything leaves Tocsin.

Alert annotations are written by people and by exporters; sooner or later one of them carries
a token (`description: "curl -H 'Authorization: Bearer eyJ...'"`) or a password in a URL. Every
label and annotation value goes through `Redactor.redact_pairs` before it reaches a template or
a payload, so no channel can forget to.

Two kinds of rule:
* by name: a label or annotation whose name looks like a credential (`password`, `api_key`,
  `token`, `secret`, ...) has its whole value masked;
* by value: known credential shapes inside any value (bearer/basic credentials, `key=value`
  pairs with a credential-like key, passwords in URLs, Slack/GitHub/AWS tokens, private key
  blocks) are masked where they occur, leaving the rest of the text readable.

Extra value patterns come from the operator (`ChannelSettings.redact_patterns`): each regex's
whole match is masked, or its first group when it has groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["MASK", "Redactor"]

MASK: Final = "[REDACTED]"

_SECRET_NAME: Final = re.compile(
    r"(?i)(pass(word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|credential|auth(orization)?|session[_-]?id|cookie)"
)

# Each pattern's group 1 (or the whole match without groups) is what gets masked.
_VALUE_PATTERNS: Final = (
    # Authorization: Bearer xxx / Basic xxx
    r"(?i)\b(?:bearer|basic|token)\s+([A-Za-z0-9._~+/=-]{8,})",
    # password=xxx, "api_key": "xxx", token: xxx
    r"(?i)\b(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|client[_-]?secret)[\"']?\s*[=:]\s*[\"']?([^\s\"'&,;]{3,})",
    # scheme://user:password@host
    r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@",
    # Slack, GitHub, GitLab, AWS, Google API key shapes
    r"\b(xox[abposr]-[A-Za-z0-9-]{10,})",
    r"\b(xapp-[A-Za-z0-9-]{10,})",
    r"\b(gh[pousr]_[A-Za-z0-9]{30,})",
    r"\b(glpat-[A-Za-z0-9_-]{20,})",
    r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b",
    r"\b(AIza[0-9A-Za-z_-]{35})",
    # PEM private keys
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)",
)


class Redactor:
    """Masks secrets in label and annotation values. Immutable after construction.

    Raises `re.error` from the constructor for an invalid extra pattern.
    """

    def __init__(self, extra_patterns: Iterable[str] = (), *, mask: str = MASK) -> None:
        self.mask = mask
        self._patterns = tuple(re.compile(p) for p in (*_VALUE_PATTERNS, *extra_patterns))

    def secret_name(self, name: str) -> bool:
        return _SECRET_NAME.search(name) is not None

    def redact_text(self, text: str) -> str:
        """`text` with every credential-shaped part masked."""
        if not text:
            return text
        for pattern in self._patterns:
            if pattern.search(text) is None:
                continue
            text = pattern.sub(self._masker, text)
        return text

    def _masker(self, m: re.Match[str]) -> str:
        if m.re.groups == 0 or m.group(1) is None:
            return self.mask
        start, end = m.span(1)
        base = m.start()
        whole = m.group(0)
        return whole[: start - base] + self.mask + whole[end - base :]

    def redact_value(self, name: str, value: str) -> str:
        if value and self.secret_name(name):
            return self.mask
        return self.redact_text(value)

    def redact_pairs(self, pairs: Mapping[str, str]) -> dict[str, str]:
        """A copy of a label or annotation map with secrets masked."""
        return {k: self.redact_value(k, v) for k, v in pairs.items()}
