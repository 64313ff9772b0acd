"""Run `tocsin run` as a real process for a test, on 127.0.0.1 and a free port, in a temp dir.

    with running_tocsin(CONFIG_YAML) as t:
        t.client.post("/api/v2/alerts", json=[...])
        t.url            # http://127.0.0.1:PORT
        t.stop()         # SIGTERM; asserts exit 0 within 10 s
        t.kill()         # SIGKILL (then the exit expected is that)

Readiness is `GET /-/ready` polled against a deadline; a failure carries the process's log.
The port is picked free just before start and retried if another process takes it first.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

__all__ = ["RunningTocsin", "free_port", "running_tocsin", "wait_for"]

_POLL = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(_POLL)


@dataclass
class RunningTocsin:
    url: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    client: httpx.Client
    env: dict[str, str] = field(default_factory=dict)
    expected_exit: int = 0  # what `running_tocsin` checks the exit status against

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def config_file(self) -> Path:
        return self.directory / "alertmanager.yml"

    def log(self) -> str:
        return (self.directory / "tocsin.log").read_text(errors="replace")

    def wait_log(self, needle: str, timeout: float = 10.0) -> None:
        wait_for(lambda: needle in self.log(), timeout, f"{needle!r} in the log:\n{self.log()}")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown at all."""
        self.process.kill()
        self.process.wait()
        self.expected_exit = -signal.SIGKILL

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, and the exit status (fails unless it exits within `timeout`)."""
        if self.process.poll() is None:
            started = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"tocsin did not exit within {timeout}s of SIGTERM:\n{self.log()}")
            assert time.monotonic() - started < timeout
        return self.process.returncode


def _ready(t: RunningTocsin) -> bool:
    if t.process.poll() is not None:
        return True  # exited: the caller looks at why
    try:
        return t.client.get("/-/ready", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def running_tocsin(
    config_yaml: str | None = None,
    *,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    token: str | None = None,
    ready_timeout: float = 30.0,
    client_timeout: float = 10.0,
) -> Iterator[RunningTocsin]:
    """Start `tocsin run` (with `config_yaml`, or the built-in default when None) and wait
    until it is ready; SIGTERM it on exit and check it exited 0."""
    with tempfile.TemporaryDirectory(prefix="tocsin-run-") as tmp:
        directory = Path(tmp)
        args = [
            sys.executable,
            "-m",
            "tocsin.cli.main",
            "run",
            "--data-dir",
            str(directory / "data"),
        ]
        if config_yaml is not None:
            (directory / "alertmanager.yml").write_text(config_yaml)
            args += ["--config", str(directory / "alertmanager.yml")]
        proc_env = {**os.environ, **(env or {})}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for _attempt in range(3):
            port = free_port()
            with open(directory / "tocsin.log", "wb") as log:
                process = subprocess.Popen(
                    [*args, "--listen", f"127.0.0.1:{port}", *extra_args],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=proc_env,
                )
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", timeout=client_timeout, headers=headers
            )
            t = RunningTocsin(
                f"http://127.0.0.1:{port}", port, directory, process, client, proc_env
            )
            try:
                wait_for(lambda t=t: _ready(t), ready_timeout, f"tocsin ready:\n{t.log()}")
                if process.poll() is None:
                    yield t
                    assert t.stop() == t.expected_exit, t.log()
                    return
            finally:
                client.close()
                if process.poll() is None:
                    process.kill()
                    process.wait()
            if "address already in use" not in t.log().lower():
                break
        pytest.fail(f"tocsin exited with {process.returncode} before it was ready:\n{t.log()}")
