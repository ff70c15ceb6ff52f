"""A raw TCP server on loopback for answers no well-behaved HTTP server would give.

``raw_server(handler)`` accepts connections in a background thread and hands each one
(the socket and the request bytes read so far) to ``handler``, which may send anything
at any pace: headers one byte at a time, a body that never ends. The block's end closes
every connection and stops the thread.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress


def read_request(conn: socket.socket) -> bytes:
    """The request's head (and whatever of the body came with it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def drip(conn: socket.socket, data: bytes, *, every: float, stop: threading.Event) -> None:
    """Send ``data`` one byte every ``every`` seconds, until done or ``stop`` is set."""
    for byte in data:
        if stop.wait(every):
            return
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            return


@contextmanager
def raw_server(handler: Callable[[socket.socket, bytes, threading.Event], None]) -> Iterator[str]:
    """Serve ``handler(conn, request_head, stop)`` per connection; yields the base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve_one(conn: socket.socket) -> None:
        try:
            handler(conn, read_request(conn), stop)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        thread.join(5)
        listener.close()
