"""A webhook receiver for tests: an HTTP server on 127.0.0.1 (in a thread) that keeps every
POST's headers and body bytes as sent, and answers `status` (settable while it runs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["WebhookSink", "webhook_sink"]


class WebhookSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []  # answered `status` or not
        self.lock = threading.Lock()

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [body for _, body in self.received]


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    sink: WebhookSink

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with sink.lock:
                sink.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = sink.status
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink = WebhookSink(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
