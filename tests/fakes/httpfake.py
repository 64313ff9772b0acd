"""A scriptable fake HTTP service in its own process, with a control port.

The service port answers like the real API (each fake supplies `handle`). The control port
lets a test:

    POST /script    {"responses": [{"status": 429, "headers": {"Retry-After": "7"}}, ...]}
                    the next requests get these answers, in order, instead of the real ones
                    ({"hang": true} holds the request open until /release or /reset)
    POST /down      {"status": 503} every request gets this answer (after any script) until
                    /up or /reset: an outage of the service behind a live listener
    POST /up        answer normally again
    POST /refuse    close the service's listening socket: connections are refused
    POST /accept    listen again on the same port
    POST /release   let hanging requests go (they answer 503)
    POST /reset     forget requests and scripts, release hangs, listen
    GET  /requests  every request received: path, headers, body (JSON when it parses)
    GET  /state     the fake's own state (messages, incidents)

Run as `python -m tests.fakes.<name>`: it prints one JSON line {"port": N, "control": M} once
both ports listen, and serves until its stdin closes (so it never outlives the test run).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Fake:
    """Subclass: implement `handle(path, headers, body) -> (status, headers, body)`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.script: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.down: int | None = None  # the status every request gets while down
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    # -- to implement -------------------------------------------------------------------
    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def state(self) -> Any:
        return {}

    def reset_state(self) -> None:
        pass

    # -- machinery ----------------------------------------------------------------------
    def _service_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else 40 ms delayed-ACK stalls per request

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    parsed: Any = json.loads(body)
                except ValueError:
                    parsed = body.decode(errors="replace")
                with fake.lock:
                    fake.requests.append(
                        {"path": self.path, "headers": headers, "body": parsed, "time": time.time()}
                    )
                    scripted = fake.script.pop(0) if fake.script else None
                    if scripted is None and fake.down is not None:
                        scripted = {"status": fake.down, "body": {"error": "outage"}}
                if scripted is not None and scripted.get("hang"):
                    fake.release.wait(600)
                    status, extra, out = 503, {}, b"released"
                elif scripted is not None:
                    status = scripted.get("status", 200)
                    extra = scripted.get("headers", {})
                    out = json.dumps(scripted.get("body", {})).encode()
                else:
                    status, extra, out = fake.handle(self.path, headers, body)
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass

        return Handler

    def listen(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._service_handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def refuse(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def control_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Control(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else 40 ms delayed-ACK stalls per request

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, data: Any) -> None:
                out = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                with fake.lock:
                    if self.path == "/requests":
                        self._answer(list(fake.requests))
                    else:
                        self._answer(fake.state())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/script":
                    with fake.lock:
                        fake.script.extend(body["responses"])
                elif self.path == "/down":
                    with fake.lock:
                        fake.down = int(body.get("status", 503))
                elif self.path == "/up":
                    with fake.lock:
                        fake.down = None
                elif self.path == "/refuse":
                    fake.refuse()
                elif self.path == "/accept":
                    if fake.server is None:
                        fake.listen()
                elif self.path == "/release":
                    fake.release.set()
                elif self.path == "/reset":
                    fake.release.set()
                    with fake.lock:
                        fake.requests.clear()
                        fake.script.clear()
                        fake.down = None
                        fake.reset_state()
                    if fake.server is None:
                        fake.listen()
                    fake.release = threading.Event()
                self._answer({"ok": True})

        return Control

    def main(self) -> None:
        self.listen()
        control = ThreadingHTTPServer(("127.0.0.1", 0), self.control_handler())
        control.daemon_threads = True
        threading.Thread(target=control.serve_forever, daemon=True).start()
        print(json.dumps({"port": self.port, "control": control.server_address[1]}), flush=True)
        sys.stdin.read()  # until the test process goes away


def json_answer(
    status: int, data: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(data).encode(),
    )
