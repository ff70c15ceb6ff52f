"""The README's "run it" command works on a machine with no CloudBase credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


def test_chat_example_streams_from_a_local_server_without_credentials() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBASE_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "chat.py"), "hello"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if "no llmock" in done.stderr + done.stdout and not os.environ.get("CI"):
        pytest.skip("llmock is not installed")
    assert done.returncode == 0, done.stderr
    assert "streaming from a local llmock" in done.stdout
    assert "request_id=" in done.stdout
    assert "total_tokens=" in done.stdout
