"""Runs the official CloudBase Node packages on fixed inputs (the scripts beside this file).

``scripts/install-peers.sh`` installs them, pinned, under ``.cache/peers``. When Node or
a package is missing, :func:`run` skips the test, except under CI (``CI`` set), where a
missing peer is a failure: a green run must mean the comparison ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE.parents[2] / ".cache/peers/node_modules"
PINNED = {"@cloudbase/signature-nodejs": "2.2.0", "@cloudbase/node-sdk": "3.18.3"}


def _missing(package: str) -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    manifest = NODE_MODULES / package / "package.json"
    try:
        version = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return f"{package} is not installed in {NODE_MODULES}"
    if version != PINNED[package]:
        return f"{package} {version} is installed, the tests pin {PINNED[package]}"
    return None


def require(package: str) -> None:
    """Skip (or, under CI, fail) the calling test unless ``package`` can be run."""
    problem = _missing(package)
    if problem is None:
        return
    message = f"{problem}; run `bash scripts/install-peers.sh`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run(script: str, payload: object, *, package: str) -> Any:
    """Feed ``payload`` as JSON to ``script`` (a file beside this one) and decode its output."""
    require(package)
    completed = subprocess.run(
        ["node", str(HERE / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"{script} failed:\n{completed.stderr}")
    return json.loads(completed.stdout)
