"""`tocsin run` as a real process: it opens its journal, says it is ready, and stops on SIGTERM."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from tocsin.cli.main import main


def _wait_for_line(proc: subprocess.Popen[bytes], needle: str, deadline: float) -> str:
    """Read the process's stderr until a line contains `needle`, or fail at `deadline`."""
    assert proc.stderr is not None
    seen: list[str] = []
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                break
            buf += chunk
            *lines, rest = buf.split(b"\n")
            buf = rest
            for raw in lines:
                line = raw.decode(errors="replace")
                seen.append(line)
                if needle in line:
                    return line
    raise AssertionError(f"no line with {needle!r} before the deadline; got: {seen}")


def test_run_opens_the_journal_and_exits_0_on_sigterm(tmp_path: Path):
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin.cli.main", "run", "--data-dir", str(data)],
        stderr=subprocess.PIPE,
    )
    try:
        line = _wait_for_line(proc, "ready", time.monotonic() + 30)
        assert "0 records" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert data.is_dir()
    assert main(["journal", "verify", "--data-dir", str(data)]) == 0
