"""``python -m cloudbase_async.local serve`` as a real subprocess: it prints the URL and
keys, serves functions a module registered, logs SMS codes, stops on SIGTERM, and keeps
its state under ``--data`` across restarts."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from cloudbase_async import CloudBase
from cloudbase_async.auth import TicketCredentials, create_ticket

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = """
    def register(local):
        @local.function("hello")
        def hello(event, context):
            return {"hello": event.get("name"), "role": context.caller.role}

        local.ai.reply("served by the CLI")
"""


@contextmanager
def serve(tmp_path: Path, *extra: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    """Run the server; yields its printed settings and (once stopped) its stderr lines."""
    (tmp_path / "gateway_functions.py").write_text(textwrap.dedent(FUNCTIONS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBASE_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "cloudbase_async.local", "serve", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--functions", "gateway_functions", *extra],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True
    ).start()
    errors: list[str] = []
    stderr = threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True)
    stderr.start()
    settings: dict[str, str] = {}
    try:
        while "CLOUDBASE_PUBLISHABLE_KEY" not in settings:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                pytest.fail(f"the server printed no keys; stderr: {''.join(errors)}")
            key, sep, value = line.strip().partition("=")
            if sep:
                settings[key] = value
        yield settings, errors
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
        stderr.join(5)


async def test_serve_prints_keys_serves_and_keeps_state_in_data(tmp_path: Path) -> None:
    data = tmp_path / "state"
    with serve(tmp_path, "--data", str(data), "--env", "cli-env") as (settings, errors):
        assert settings["CLOUDBASE_ENV"] == "cli-env"
        url = settings["CLOUDBASE_BASE_URL"]
        async with CloudBase(
            env="cli-env", base_url=url, publishable_key=settings["CLOUDBASE_PUBLISHABLE_KEY"]
        ) as cb:
            assert await cb.functions.invoke("hello", {"name": "cli"}) == {
                "hello": "cli",
                "role": "anon",
            }
            completion = await cb.ai.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
            assert completion.content == "served by the CLI"
            otp = await cb.auth.sign_in_with_otp(phone_number="13800138000")
            async with httpx.AsyncClient(base_url=url) as http:
                codes = await http.get(
                    "/_local/codes",
                    params={"to": "+86 13800138000"},
                    headers={"Authorization": f"Bearer {settings['CLOUDBASE_API_KEY']}"},
                )
            [sent] = codes.json()["codes"]
            await otp.verify(sent["code"], username="carol", password="pw-carol")
            # The printed key file is the console's: a backend mints with it.
            key_file = settings["CLOUDBASE_CUSTOM_LOGIN_KEY_FILE"]
            key = await anyio.to_thread.run_sync(TicketCredentials.from_file, key_file)
            session = await cb.auth.sign_in_with_custom_ticket(
                create_ticket("cli-user", credentials=key)
            )
            assert session.scope == "user"
        # The printed Tencent Cloud secret signs a backend's calls (as the administrator).
        async with CloudBase(
            env="cli-env",
            base_url=url,
            secret_id=settings["TENCENTCLOUD_SECRETID"],
            secret_key=settings["TENCENTCLOUD_SECRETKEY"],
        ) as backend:
            assert await backend.functions.invoke("hello", {"name": "tc3"}) == {
                "hello": "tc3",
                "role": "admin",
            }
    assert Path(key_file).parent == data
    assert key.env_id == "cli-env"
    assert any(f"SMS code for +86 13800138000: {sent['code']}" in line for line in errors)

    with serve(tmp_path, "--data", str(data), "--env", "cli-env") as (again, _):
        assert again["CLOUDBASE_API_KEY"] == settings["CLOUDBASE_API_KEY"]
        assert again["CLOUDBASE_PUBLISHABLE_KEY"] == settings["CLOUDBASE_PUBLISHABLE_KEY"]
        assert again["CLOUDBASE_CUSTOM_LOGIN_KEY_FILE"] == key_file
        assert again["TENCENTCLOUD_SECRETID"] == settings["TENCENTCLOUD_SECRETID"]
        assert again["TENCENTCLOUD_SECRETKEY"] == settings["TENCENTCLOUD_SECRETKEY"]
        async with CloudBase(
            env="cli-env",
            base_url=again["CLOUDBASE_BASE_URL"],
            publishable_key=again["CLOUDBASE_PUBLISHABLE_KEY"],
        ) as cb:
            session = await cb.auth.sign_in_with_password(username="carol", password="pw-carol")
            assert (await cb.auth.get_user()).phone_number == "+86 13800138000"
        assert session.scope == "user"


async def test_serve_without_data_is_temporary(tmp_path: Path) -> None:
    with serve(tmp_path, "--verification-code", "424242") as (settings, _):
        async with CloudBase(
            env="local-dev",
            base_url=settings["CLOUDBASE_BASE_URL"],
            publishable_key=settings["CLOUDBASE_PUBLISHABLE_KEY"],
        ) as cb:
            otp = await cb.auth.sign_in_with_otp(phone_number="13800138000")
            assert (await otp.verify("424242")).scope == "user"
    with serve(tmp_path) as (fresh, _):
        assert fresh["CLOUDBASE_API_KEY"] != settings["CLOUDBASE_API_KEY"]
    left = await anyio.to_thread.run_sync(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert [name for name in left if name != "__pycache__"] == ["gateway_functions.py"]
