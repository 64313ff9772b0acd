"""Local stand-ins for SaaS APIs (Slack, PagerDuty) and a real SMTP server, each run as a
separate process on 127.0.0.1, plus the helpers tests drive them with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import trio

ROOT = Path(__file__).resolve().parent.parent.parent


class FakeProcess:
    """A fake server process. `url` is its service, `control(...)` drives it."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{module} did not start")
        ports = json.loads(line)
        self.port: int = ports["port"]
        self.control_port: int | None = ports.get("control")
        self.url = f"http://127.0.0.1:{self.port}"

    async def control(self, path: str, body: Any = None) -> Any:
        # No timeout: under a mock clock, a slow control call (closing a socket takes up to
        # half a second) must not count as minutes of trio time.
        async with httpx.AsyncClient(timeout=None) as client:
            url = f"http://127.0.0.1:{self.control_port}{path}"
            if body is None and path in ("/requests", "/state"):
                r = await client.get(url)
            else:
                r = await client.post(url, json=body or {})
            return r.json()

    async def script(self, *responses: dict[str, Any]) -> None:
        await self.control("/script", {"responses": list(responses)})

    async def requests(self) -> list[dict[str, Any]]:
        return await self.control("/requests")

    async def state(self) -> Any:
        return await self.control("/state")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def wait_for(
    predicate: Any, *, within: float = 30.0, every: float = 0.5, what: str = "condition"
) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy; fail after
    `within` seconds of trio time. Under a mock clock with an autojump threshold every poll
    costs that threshold in real time, hence the coarse default `every`."""
    with trio.move_on_after(within) as scope:
        while True:
            value = predicate()
            if hasattr(value, "__await__"):
                value = await value
            if value:
                return value
            await trio.sleep(every)
    assert not scope.cancelled_caught, f"timed out waiting for {what}"
