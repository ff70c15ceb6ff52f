"""Measuring that big transfers stay in constant memory, and big files to move."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

MiB = 1024 * 1024
#: 256 MiB unless ``CLOUDBASE_TEST_LARGE_MIB`` lowers it on a slow machine.
LARGE_MIB = int(os.environ.get("CLOUDBASE_TEST_LARGE_MIB", "256"))


def _rss() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


@attrs.define
class Peak:
    """Growth over the start: Python heap (tracemalloc) and resident set (all threads)."""

    heap: int = 0
    rss: int = 0


@contextmanager
def measured() -> Iterator[Peak]:
    """Sample the process's RSS every few ms and trace the heap while the block runs.

    The server runs in this process too (uvicorn in a thread), so both sides count.
    """
    peak = Peak()
    baseline = _rss()
    highest = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal highest
        while not stop.wait(0.005):
            highest = max(highest, _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    try:
        yield peak
    finally:
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stop.set()
        sampler.join()
        peak.heap = top - start
        peak.rss = highest - baseline


def write_random_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes (whole MiBs); returns its sha256."""
    digest = hashlib.sha256()
    rng = random.Random(42)
    with path.open("wb") as file:
        for _ in range(size // MiB):
            block = rng.randbytes(MiB)
            digest.update(block)
            file.write(block)
    return digest.hexdigest()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(MiB):
            digest.update(block)
    return digest.hexdigest()
