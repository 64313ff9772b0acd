"""Starting the fakes from pytest fixtures (import `serve` into a test module or conftest)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.fakes import FakeProcess


def serve(module: str, *args: str) -> Iterator[FakeProcess]:
    fake = FakeProcess(module, *args)
    try:
        yield fake
    finally:
        fake.close()


def self_signed_cert(directory: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (openssl, as Debian ships it)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def mail_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tocsin-smtp-"))
