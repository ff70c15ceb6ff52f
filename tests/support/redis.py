"""A real ``redis-server`` on loopback for the session-store tests.

``scripts/install-peers.sh`` installs Debian's ``redis-server``. :func:`running_redis`
starts one on a free port of 127.0.0.1 as this test run's own process, with no
persistence (``--save '' --appendonly no``) in a temporary directory, and stops it by
PID when the block ends. :meth:`RedisServer.restart` stops it and starts a new one on
the same port: everything it held is gone, as after a crash of a Redis without
persistence. :func:`redis_or_skip` turns a missing binary into a skip, or into a failure
when ``CI`` is set (CI must run these tests).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class RedisMissing(Exception):
    """``redis-server`` is not installed (run ``scripts/install-peers.sh``)."""


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RedisMissing("redis-server is not installed")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process; ``url`` stays the same across restarts."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "daemonize": "no",
            "dir": str(self.directory),
            "loglevel": "warning",
        }
        argv = [self.binary]
        for name, value in options.items():
            argv += [f"--{name}", value]
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (losing every key), stay down ``down_for`` seconds, start again."""
        self.stop()
        time.sleep(down_for)
        self.start()


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    binary = redis_binary()
    directory = Path(tempfile.mkdtemp(prefix="cb-redis-"))
    server = RedisServer(binary, directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def redis_or_skip() -> Iterator[RedisServer]:
    """:func:`running_redis`, skipping the test when Redis is missing (failing in CI)."""
    try:
        manager = running_redis()
        server = manager.__enter__()
    except RedisMissing as exc:
        message = f"{exc}; run `bash scripts/install-peers.sh`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)
