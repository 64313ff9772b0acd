"""The log channel: prints what would be sent, for channels without credentials.

It renders the notification with the same templates the real channel would use, so `tocsin
run` without any credentials already shows what the messages will say.
"""

from __future__ import annotations

import logging

from tocsin.adapters.channels.base import Kit
from tocsin.adapters.channels.model import Notification, Receipt

__all__ = ["LogChannel"]

log = logging.getLogger("tocsin.channels.log")


class LogChannel:
    kind = "log"

    def __init__(
        self,
        kit: Kit,
        *,
        name: str,
        destination: str,
        stands_for: str | None = None,
        where: str = "",
        why: str | None = None,
        send_resolved: bool = True,
    ) -> None:
        self.kit = kit
        self.name = name
        self.destination = destination
        self.stands_for = stands_for or "log"
        self.where = where
        self.why = why
        self.send_resolved = send_resolved

    async def deliver(self, n: Notification) -> Receipt:
        r = self.kit.renderer.render(self.kit.data(n), channel=self.stands_for, fmt="text")
        log.info(
            "would send to %s (receiver %s, %s): %s — %s%s",
            f"{self.stands_for} {self.where}" if self.where else self.stands_for,
            n.receiver,
            n.reason,
            r.title,
            r.summary,
            f" [{self.why}]" if self.why else "",
        )
        return Receipt(None)
