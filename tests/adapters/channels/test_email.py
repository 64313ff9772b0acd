"""Email through a real SMTP server (aiosmtpd in its own process); the tests parse what it got."""

from __future__ import annotations

import email
import email.policy
import ssl
from pathlib import Path

import pytest

from tests.fakes import wait_for
from tests.fakes.fixtures import mail_dir, self_signed_cert, serve
from tocsin.adapters.channels.email import EmailChannel, thread_id
from tocsin.adapters.channels.outcome import DeliveryFailed, Verdict
from tocsin.core.events import NotifyReason

from .samples import alert, kit, notification


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[str, str]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def trusting(cert: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert)


def mails(directory: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(directory.glob("*.eml"))
    ]


def channel(port: int, **kw) -> EmailChannel:
    return EmailChannel(
        kit(),
        name="email[0]",
        destination="d",
        send_resolved=True,
        to="oncall@example.com",
        from_="tocsin@example.com",
        smarthost=f"127.0.0.1:{port}",
        **kw,
    )


async def test_starttls_login_multipart_and_threading_headers(cert):
    directory = mail_dir()
    gen = serve("tests.fakes.smtp_server", str(directory), "--tls", *cert, "--auth", "tocsin", "pw")
    server = next(gen)
    try:
        ch = channel(server.port, username="tocsin", password="pw", tls_context=trusting(cert[0]))
        await ch.deliver(notification())
        await ch.deliver(notification(alert(firing=False), reason=NotifyReason.ALL_RESOLVED, seq=2))
        await wait_for(lambda: len(mails(directory)) == 2, what="two mails")
    finally:
        gen.close()
    first, second = mails(directory)
    assert first["Subject"] == "[FIRING:1] CRITICAL DiskFull"
    assert second["Subject"].startswith("[RESOLVED]")
    assert first["From"] == "tocsin@example.com" and first["To"] == "oncall@example.com"
    assert first["Date"] and first["Message-ID"] != second["Message-ID"]
    root = thread_id("g1", "tocsin@example.com")
    for m in (first, second):
        assert m["In-Reply-To"] == root and m["References"] == root
        assert m.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in m.iter_parts()] == ["text/plain", "text/html"]
    html = first.get_body(("html",)).get_content()
    assert '<a href="https://runbooks.test/disk">Runbook</a>' in html
    assert "DiskFull on db1" in first.get_body(("plain",)).get_content()


async def test_implicit_tls_as_on_port_465(cert):
    directory = mail_dir()
    gen = serve("tests.fakes.smtp_server", str(directory), "--tls", *cert, "--implicit-tls")
    server = next(gen)
    try:
        ch = channel(server.port, tls_context=trusting(cert[0]), implicit_tls=True)
        await ch.deliver(notification())
        await wait_for(lambda: len(mails(directory)) == 1, what="a mail")
    finally:
        gen.close()


async def test_required_tls_that_the_server_does_not_offer_fails_for_good():
    directory = mail_dir()
    gen = serve("tests.fakes.smtp_server", str(directory))
    server = next(gen)
    try:
        with pytest.raises(DeliveryFailed) as info:
            await channel(server.port, require_tls=True).deliver(notification())
        assert info.value.outcome.verdict is Verdict.PERMANENT
        await channel(server.port, require_tls=False).deliver(notification())
        await wait_for(lambda: len(mails(directory)) == 1, what="a mail")
    finally:
        gen.close()


async def test_no_server_is_retryable():
    directory = mail_dir()
    gen = serve("tests.fakes.smtp_server", str(directory))
    port = next(gen).port
    gen.close()  # nothing listens on the port any more
    with pytest.raises(DeliveryFailed) as info:
        await channel(port).deliver(notification())
    assert info.value.outcome.verdict is Verdict.RETRYABLE
    assert info.value.outcome.trips_circuit
