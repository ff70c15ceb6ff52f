"""The README's "run it" command works on a machine with no CloudBase credentials."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.auth_server import CODE, AuthServer
from tests.support.redis import free_port, redis_or_skip
from tests.support.server import serve

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


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the example's server exited"
        try:
            if httpx.get(f"{url}/me", timeout=2).status_code == 401:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the example's server did not start")


@pytest.mark.parametrize("store", ["redis", "file"])
def test_fastapi_sessions_example_signs_in_by_sms_behind_an_opaque_cookie(
    store: str, tmp_path: Path
) -> None:
    """examples/fastapi_sessions.py under uvicorn with two worker processes, against the
    loopback auth server (short-lived tokens, single-use refresh tokens) and a real
    redis-server or a shared session file."""
    app = AuthServer(lifetime=1.5, grace=2.0)
    app.add_user("+86 13800138000", name="Ada")
    with contextlib.ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBASE_")}
        if store == "redis":
            redis = stack.enter_context(redis_or_skip())
            env["REDIS_URL"] = redis.url
        else:
            env["SESSION_FILE"] = str(tmp_path / "sessions.json")
        auth_url = stack.enter_context(serve(app))
        port = free_port()
        env.update(
            CLOUDBASE_ENV="env-1",
            CLOUDBASE_BASE_URL=auth_url,
            CLOUDBASE_PUBLISHABLE_KEY="pk-1",
            COOKIE_SECURE="0",
            PYTHONPATH=str(ROOT),
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(ROOT / "examples"),
                "fastapi_sessions:app",
                "--workers",
                "2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=tmp_path,
        )
        stack.callback(_stop, server)
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, server)

        browser = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        sent = browser.post("/login/code", json={"phone": "138 0013 8000"})
        assert sent.status_code == 200, sent.text
        assert sent.json() == {"sent": True, "new_user": False}
        sid = browser.cookies["sid"]
        assert "httponly" in sent.headers["set-cookie"].lower()
        assert browser.post("/login/verify", json={"code": "000000"}).status_code == 400
        signed_in = browser.post("/login/verify", json={"code": CODE})
        assert signed_in.status_code == 200, signed_in.text
        # The browser never sees a token: only the cookie.
        for response in (sent, signed_in):
            assert "at-" not in response.text
            assert "rt-" not in response.text

        # Many requests on new connections (either worker), over several token lives.
        def me() -> dict[str, object]:
            with httpx.Client(base_url=url, cookies={"sid": sid}, timeout=30) as fresh:
                answer = fresh.get("/me")
                assert answer.status_code == 200, answer.text
                return dict(answer.json())

        deadline = time.monotonic() + 4.0
        with ThreadPoolExecutor(8) as pool:
            while time.monotonic() < deadline:
                answers = list(pool.map(lambda _: me(), range(8)))
                ada = {"id": "u-1", "name": "Ada", "phone": "+86 13800138000"}
                assert answers == [ada] * 8
                time.sleep(0.2)
        assert app.stats["invalid_grant"] == 0
        assert 1 <= app.stats["refresh"] <= 4 / 0.75 + 2

        out = browser.post("/logout")
        assert out.status_code == 200, out.text
        assert app.stats["revoked"] == 1
        assert browser.get("/me").status_code == 401
        later = httpx.get(f"{url}/me", cookies={"sid": sid}, timeout=30)
        assert later.status_code == 401  # the old cookie is worth nothing now
        if store == "file":
            data = json.loads((tmp_path / "sessions.json").read_text())
            assert not [key for key in data if sid in key and "credentials" in key]

        # A new user signs up through the same two calls.
        other = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        assert other.post("/login/code", json={"phone": "13900139000"}).json()["new_user"]
        assert other.post("/login/verify", json={"code": CODE}).status_code == 200
        assert other.get("/me").json()["phone"] == "+86 13900139000"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
