"""A real SMTP server (aiosmtpd) in its own process; every mail it accepts is written to a dir.

    python -m tests.fakes.smtp_server DIR [--tls CERT KEY] [--implicit-tls] [--auth USER PASS]

Prints {"port": N} once listening. With --tls it offers STARTTLS (or, with --implicit-tls,
speaks TLS from the first byte, as on port 465); with --auth it requires AUTH LOGIN/PLAIN with
that user and password. Each mail is saved as DIR/NNNN.eml (written to a temp name, then
renamed, so a test never reads half a file).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import ssl
import sys
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        path = os.path.join(self.directory, f"{self.count:04d}.eml")
        with open(path + ".tmp", "wb") as f:  # noqa: ASYNC230 - a small local file, test only
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--tls", nargs=2)
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth", nargs=2)
    args = p.parse_args()
    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.tls)
    kwargs: dict[str, Any] = {}
    if args.auth:
        user, password = args.auth

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == user
                and data.password.decode() == password
            )
            return AuthResult(success=ok)

        kwargs.update(authenticator=authenticator, auth_require_tls=bool(args.tls))
    port = free_port()
    if context is not None and args.implicit_tls:
        controller = Controller(
            Saver(args.dir), hostname="127.0.0.1", port=port, ssl_context=context, **kwargs
        )
    elif context is not None:
        controller = Controller(
            Saver(args.dir),
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            **kwargs,
        )
    else:
        controller = Controller(Saver(args.dir), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print(json.dumps({"port": port}), flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
