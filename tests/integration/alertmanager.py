"""Run Debian's real `prometheus-alertmanager` for a test, on 127.0.0.1, in a temp dir.

    with running_alertmanager(CONFIG_YAML) as am:
        am.client.post("/api/v2/alerts", json=[...])
        am.url  # http://127.0.0.1:PORT

The binary comes from the Debian package `prometheus-alertmanager` (with `amtool` beside it),
which `make test` installs through scripts/system-deps.sh. A missing binary fails the test
rather than skipping it: CI installs it, so a skip would only hide a broken install.

Clustering is off (`--cluster.listen-address=`), state lives in a fresh temp dir, the port is a
free one picked at start (retried if another process wins the race for it), and readiness is
`GET /-/ready` polled against a deadline; on timeout the failure carries the process's log.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = [
    "MINIMAL_CONFIG",
    "RunningAlertmanager",
    "find_binary",
    "running_alertmanager",
]

MINIMAL_CONFIG = """\
route:
  receiver: default
receivers:
  - name: default
"""

_INSTALL_HINT = (
    "Debian's prometheus-alertmanager package is not installed: run `make test` "
    "(or `bash scripts/system-deps.sh`) to install it"
)
_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3


def find_binary(name: str) -> str:
    """The path of `prometheus-alertmanager` or `amtool`; fails the test when missing."""
    path = shutil.which(name) or (
        f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None
    )
    if path is None:
        pytest.fail(f"{name} not found. {_INSTALL_HINT}", pytrace=False)
    return path


@dataclass(frozen=True)
class RunningAlertmanager:
    """A live Alertmanager: its base URL, an HTTP client bound to it, and where it keeps things."""

    url: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    client: httpx.Client

    @property
    def config_file(self) -> Path:
        return self.directory / "alertmanager.yml"

    def log(self) -> str:
        """What the process wrote to stdout/stderr so far."""
        return (self.directory / "alertmanager.log").read_text(errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(am: RunningAlertmanager, deadline: float) -> bool:
    """True once `/-/ready` answers 200; False if the process exits first. Fails on timeout."""
    while True:
        if am.process.poll() is not None:
            return False
        try:
            if am.client.get("/-/ready", timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(
                f"alertmanager on {am.url} not ready after the deadline; its log:\n{am.log()}",
                pytrace=False,
            )
        time.sleep(_POLL_INTERVAL)


@contextmanager
def running_alertmanager(
    config_yaml: str = MINIMAL_CONFIG,
    *,
    ready_timeout: float = 30.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[RunningAlertmanager]:
    """Start Alertmanager with `config_yaml`, wait until it is ready, stop it (and wait) on exit."""
    binary = find_binary("prometheus-alertmanager")
    with tempfile.TemporaryDirectory(prefix="tocsin-alertmanager-") as tmp:
        directory = Path(tmp)
        (directory / "alertmanager.yml").write_text(config_yaml)
        (directory / "data").mkdir()
        for _attempt in range(_PORT_ATTEMPTS):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            with open(directory / "alertmanager.log", "wb") as log:
                process = subprocess.Popen(
                    [
                        binary,
                        f"--config.file={directory / 'alertmanager.yml'}",
                        f"--storage.path={directory / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--cluster.listen-address=",
                        "--log.level=warn",
                        *extra_args,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=directory,
                )
            client = httpx.Client(base_url=url, timeout=10.0)
            am = RunningAlertmanager(url, port, directory, process, client)
            try:
                if _wait_ready(am, time.monotonic() + ready_timeout):
                    yield am
                    return
            finally:
                client.close()
                _stop(process)
            if "address already in use" not in am.log():
                break
        pytest.fail(
            f"alertmanager exited with status {process.returncode} before it was ready; "
            f"its log:\n{am.log()}",
            pytrace=False,
        )
