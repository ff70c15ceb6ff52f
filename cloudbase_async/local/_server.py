"""Serving the app over real HTTP: uvicorn in a thread of its own, on a loopback port.

A thread (with its own asyncio loop) rather than a task of the caller's loop: the
caller may run trio, and a test's blocking code must not stall the gateway. httpx's
``ASGITransport`` is not an option either: it buffers whole responses, so streams would
arrive in one piece at the end.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Final

import uvicorn
from starlette.types import ASGIApp

from ._faults import ResetFilter

__all__ = ["ServerThread"]

_START_TIMEOUT: Final = 15.0
# Open streams (a stalled fault, an SSE endpoint) must not hold a stop for ever.
_GRACEFUL_SHUTDOWN: Final = 1


def _quiet_resets() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ResetFilter) for f in logger.filters):
        logger.addFilter(ResetFilter())


class ServerThread:
    """``start()`` binds and serves; ``stop()`` ends it. Not restartable."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
            log_config=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"cloudbase-local:{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        _quiet_resets()
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The local CloudBase gateway did not start.")
            time.sleep(0.005)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_GRACEFUL_SHUTDOWN + 5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        self._sock.close()
