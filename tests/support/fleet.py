"""A fleet of ``session_worker`` processes sharing one session through one store.

:func:`fleet` starts the workers and waits until each is ready (imported, client made);
the caller then signs in (so the session's clock starts now) and calls
:meth:`Fleet.go`, does whatever the scenario needs while they run (kill one, restart
Redis), and :meth:`Fleet.results` collects each worker's JSON line. Leaving the block
kills whatever still runs, by PID.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _readline(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                return proc.stdout.readline()
    raise TimeoutError(f"worker {proc.pid} said nothing in time")


class Fleet:
    def __init__(self, procs: list[subprocess.Popen[str]], duration: float) -> None:
        self.procs = procs
        self.duration = duration
        self.started = 0.0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def go(self) -> None:
        self.started = time.monotonic()
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def results(self, timeout: float = 120) -> list[dict[str, Any]]:
        """Each live worker's result, in start order; killed workers give none."""
        out = []
        for proc in self.procs:
            stdout, stderr = proc.communicate(timeout=timeout)
            if proc.returncode < 0:
                continue  # killed by the test
            assert proc.returncode == 0, stderr[-3000:]
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out


@contextmanager
def fleet(
    n: int,
    url: str,
    store: str,
    *,
    callers: int = 25,
    duration: float = 3.0,
    pause: float = 0.4,
    margin: float = 0.5,
    refresh_timeout: float = 2.0,
    store_timeout: float = 0.5,
    session: str = "",
) -> Iterator[Fleet]:
    argv = [
        sys.executable, "-m", "tests.support.session_worker", url, store,
        "--callers", str(callers), "--duration", str(duration), "--pause", str(pause),
        "--margin", str(margin), "--refresh-timeout", str(refresh_timeout),
        "--store-timeout", str(store_timeout), "--session", session,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("CLOUDBASE_")}
    procs = [
        subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    try:
        deadline = time.monotonic() + 120  # imports on a loaded 2-core machine
        for proc in procs:
            line = _readline(proc, deadline)
            if line.strip() != "ready":
                _, stderr = proc.communicate(timeout=10)
                raise RuntimeError(f"worker {proc.pid} did not start: {stderr[-3000:]}")
        yield Fleet(procs, duration)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
