"""Running the official ``@cloudbase/js-sdk`` (Node) against a local gateway.

``run_steps(local, "anonymous", "function")`` runs ``tests/js/check.cjs`` with those
steps (``tests/js/steps/<name>.cjs``) and returns each step's result. Every request
the SDK makes to ``https://<env>.api.tcloudbasegateway.com`` goes to the gateway; any
other destination is refused (and fails the run). To check another service, add a step
file and call it from a test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from cloudbase_async.local import LocalCloudBase

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE.parent.parent / ".cache" / "peers" / "node_modules"
SDK = NODE_MODULES / "@cloudbase" / "js-sdk" / "package.json"


def require_js_sdk() -> str:
    """The node binary; skips the test (fails it in CI) when Node or the SDK is missing."""
    node = shutil.which("node")
    if node is None or not SDK.exists():
        message = "node or @cloudbase/js-sdk missing: run `bash scripts/install-peers.sh`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return node


def run_steps(
    local: LocalCloudBase,
    *steps: str,
    context: Mapping[str, Any] | None = None,
    tc3: bool = False,
    timeout: float = 60,
) -> dict[str, Any]:
    """Run ``steps`` in one Node process; returns ``{step: result}``. ``context`` (JSON
    values) starts the steps' shared context. The app holds the publishable key, or with
    ``tc3=True`` the gateway's Tencent Cloud secret. A failed step, a refused destination
    or a non-zero exit fails the test with the output."""
    node = require_js_sdk()
    env = {
        **os.environ,
        "CLOUDBASE_LOCAL_URL": local.url,
        "CLOUDBASE_LOCAL_ENV": local.env,
        "CLOUDBASE_LOCAL_PUBLISHABLE_KEY": local.publishable_key,
        "CLOUDBASE_LOCAL_CONTEXT": json.dumps(dict(context or {})),
        "NODE_PATH": str(NODE_MODULES),
    }
    if tc3:
        env["CLOUDBASE_LOCAL_SECRET_ID"] = local.secret_id
        env["CLOUDBASE_LOCAL_SECRET_KEY"] = local.secret_key
    done = subprocess.run(
        [node, "--require", str(HERE / "route-to-gateway.cjs"), str(HERE / "check.cjs"), *steps],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    assert "[route-to-gateway] refused" not in done.stderr, report
    assert done.returncode == 0, report
    assert [line["step"] for line in lines] == list(steps), report
    return {line["step"]: line["result"] for line in lines}
