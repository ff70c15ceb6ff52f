"""A loopback HTTP server that records what an SDK sends (for node-sdk's requests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs


@attrs.frozen
class Recorded:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@contextmanager
def recording_gateway(answer: object) -> Iterator[tuple[int, list[Recorded]]]:
    """A loopback HTTP server that records every request and answers ``answer``."""
    recorded: list[Recorded] = []
    payload = json.dumps(answer).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            recorded.append(Recorded(self.command, self.path, self.headers.items(), body))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
