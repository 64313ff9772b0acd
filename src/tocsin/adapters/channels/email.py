"""Email over SMTP: stdlib smtplib, run off the event loop in a worker thread.

`smarthost` is host:port. Port 465 speaks TLS from the first byte (SMTP_SSL); any other port
starts in plain text and upgrades with STARTTLS when the server offers it — and must, when
`require_tls` is set (Alertmanager's default), or the attempt fails permanently. With
`auth_username`, the client logs in (after TLS).

Each mail is multipart/alternative: the plain text and the HTML rendering of the same template.
Headers: `Message-ID` (unique per notification and integration, so a retry is recognisably the
same mail), `Date`, and `In-Reply-To` / `References` pointing at one id per group, so a group's
mails thread together in every client that threads by references. Extra `headers` from the
config are added (`Subject` / `To` / `From` there override Tocsin's).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

import trio

from tocsin.adapters.channels.base import Kit, is_template
from tocsin.adapters.channels.gofields import GoFields
from tocsin.adapters.channels.model import Notification, Receipt
from tocsin.adapters.channels.outcome import DeliveryFailed, classify_exception
from tocsin.adapters.gotemplate import GoTemplateError

__all__ = ["EmailChannel", "build_message", "thread_id"]

log = logging.getLogger("tocsin.channels")

_HTML: Final = """<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2 style="margin: 0 0 8px 0">{title}</h2>
<p>{summary}</p>
<div style="white-space: pre-wrap">{details}</div>
</body></html>
"""


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip("> ") if "@" in address else "tocsin.local"


def thread_id(group_id: str, from_: str) -> str:
    """The id every mail of a group refers to (never itself a sent message's id)."""
    return f"<tocsin.group.{group_id}@{_domain(from_)}>"


def build_message(
    kit: Kit,
    n: Notification,
    *,
    name: str,
    to: str,
    from_: str,
    headers: dict[str, str] | None = None,
    text_override: str | None = None,
    go: GoFields | None = None,
) -> EmailMessage:
    """The mail for `n`: Tocsin's (its template as text and HTML), or, for an
    Alertmanager-style config (`go.message`), Alertmanager's: the rendered Subject, `html`
    and `text` (HTML and text as multipart/alternative; one of them alone as a single part)."""
    rendered: dict[str, str] | None = None
    if go is not None:
        try:
            rendered = go.render(kit.go_data(n))
        except GoTemplateError:
            log.exception("%s: a Go template failed; sending Tocsin's built-in mail", name)
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = to
    msg["Date"] = format_datetime(kit.now())
    index = name.replace("[", ".").replace("]", "")
    msg["Message-ID"] = f"<tocsin.{n.id}.{index}@{_domain(from_)}>"
    root = thread_id(n.group_id, from_)
    msg["In-Reply-To"] = root
    msg["References"] = root
    msg["X-Tocsin-Group"] = n.group_id
    alertmanager = rendered is not None and go is not None and go.message
    if not alertmanager:
        data = kit.data(n)
        text = kit.renderer.render(data, channel="email", fmt="text")
        html = kit.renderer.render(data, channel="email", fmt="html")
        msg["Subject"] = text.title
    for key, value in (headers or {}).items():
        if rendered is not None and f"headers.{key}" in rendered:
            value = rendered[f"headers.{key}"]
        elif is_template(value):
            continue
        if key in msg:
            del msg[key]
        msg[key] = value
    if alertmanager:
        assert rendered is not None
        if "Subject" not in msg:
            msg["Subject"] = rendered.get("headers.Subject", "")
        body_text, body_html = rendered.get("text", ""), rendered.get("html", "")
        if body_text:
            msg.set_content(body_text)
            if body_html:
                msg.add_alternative(body_html, subtype="html")
        else:
            msg.set_content(body_html, subtype="html")
        return msg
    msg.set_content(text_override or f"{text.title}\n\n{text.text}\n")
    msg.add_alternative(
        _HTML.format(
            title=html.title.replace("<", "&lt;"), summary=html.summary, details=html.details
        ),
        subtype="html",
    )
    return msg


class EmailChannel:
    kind = "email"

    def __init__(
        self,
        kit: Kit,
        *,
        name: str,
        destination: str,
        send_resolved: bool,
        to: str,
        from_: str,
        smarthost: str,
        hello: str = "localhost",
        username: str | None = None,
        password: str | None = None,
        require_tls: bool = True,
        tls_context: ssl.SSLContext | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        implicit_tls: bool | None = None,
        go: GoFields | None = None,
    ) -> None:
        self.kit = kit
        self.name = name
        self.destination = destination
        self.send_resolved = send_resolved
        self.to = to
        self.from_ = from_
        host, _, port = smarthost.rpartition(":")
        self.host = host or smarthost
        self.port = int(port) if port.isdigit() else 25
        self.hello = hello
        self.username = username
        self.password = password
        self.require_tls = require_tls
        self.tls_context = tls_context or ssl.create_default_context()
        self.headers = headers or {}
        self.timeout = timeout
        self.implicit_tls = self.port == 465 if implicit_tls is None else implicit_tls
        self.go = go

    def message(self, n: Notification) -> EmailMessage:
        """The mail this channel sends for `n` (what `tocsin channels test --dry-run` shows)."""
        return build_message(
            self.kit,
            n,
            name=self.name,
            to=self.to,
            from_=self.from_,
            headers=self.headers,
            go=self.go,
        )

    async def deliver(self, n: Notification) -> Receipt:
        msg = self.message(n)
        try:
            await trio.to_thread.run_sync(self._send, msg, abandon_on_cancel=True)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(classify_exception(exc)) from exc
        return Receipt(None, None, str(msg["Message-ID"]))

    def _send(self, msg: EmailMessage) -> None:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.hello,
                timeout=self.timeout,
                context=self.tls_context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self.hello, timeout=self.timeout
            )
        with smtp:
            smtp.ehlo()
            if not self.implicit_tls:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self.tls_context)
                    smtp.ehlo()
                elif self.require_tls:
                    raise smtplib.SMTPNotSupportedError("STARTTLS required but not offered")
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)
