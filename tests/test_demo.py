"""``python -m cloudbase_async demo`` runs every service offline, start to finish."""

from __future__ import annotations

import os
import subprocess
import sys

from cloudbase_async._demo import STEPS


def test_the_offline_demo_walks_through_every_service() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDBASE_", "TENCENTCLOUD_"))}
    done = subprocess.run(
        [sys.executable, "-m", "cloudbase_async", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for title, _ in STEPS:
        assert title in out
    assert "skipped" not in out
    assert "FAILED" not in out
    assert "Hello from CloudBase" in out  # the chat, streamed
    assert "add(" in out
    assert "-> 5" in out
    assert "all steps ran" in out


def test_the_demo_says_how_to_run_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cloudbase_async"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "usage: python -m cloudbase_async demo" in done.stderr
