"""What a channel sends: a notification as one immutable value, taken when it was requested.

The runtime hands the notifier a `NotificationRequested` and the group's live state. The state
keeps changing while a notification waits in a mailbox or retries, so the notifier copies what
the message needs into a `Notification` at once (the `AlertData` objects are frozen and shared,
so this is cheap). Adapters and templates read only this.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from tocsin.core.events import AlertData, NotificationRequested, NotifyReason
from tocsin.core.labels import Labels

__all__ = ["AlertView", "Notification", "Receipt"]


@attrs.frozen
class AlertView:
    """One alert of the notification: its data, and whether it still fires."""

    fingerprint: str
    alert: AlertData
    firing: bool
    resolved_at: datetime | None = None


@attrs.frozen
class Notification:
    """A requested notification plus the group context its message is made of."""

    request: NotificationRequested
    group_key: str
    group_labels: Labels
    alerts: tuple[AlertView, ...]
    level: int
    acknowledged_by: str | None = None
    ack_comment: str = ""
    route_id: str = ""

    @property
    def group_id(self) -> str:
        return self.request.group_id

    @property
    def id(self) -> str:
        return self.request.notification_id

    @property
    def receiver(self) -> str:
        return self.request.receiver

    @property
    def reason(self) -> NotifyReason:
        return self.request.reason

    @property
    def firing(self) -> tuple[AlertView, ...]:
        return tuple(a for a in self.alerts if a.firing)

    @property
    def resolved(self) -> tuple[AlertView, ...]:
        return tuple(a for a in self.alerts if not a.firing)

    @property
    def status(self) -> str:
        """Alertmanager's group status: "firing" while any alert fires, else "resolved"."""
        if self.reason is NotifyReason.MANUALLY_RESOLVED:
            return "resolved"
        return "firing" if any(a.firing for a in self.alerts) else "resolved"

    @property
    def resolved_only(self) -> bool:
        """Only resolved alerts (what `send_resolved: false` integrations do not send)."""
        return self.status == "resolved"


@attrs.frozen
class Receipt:
    """A destination accepted a notification. `ref` is what it gave back to keep (Slack's
    channel and ts), `status_code` the HTTP status when there was one."""

    status_code: int | None = None
    ref: tuple[str, str] | None = None
    detail: str = ""
