"""Testing your own FastAPI app against the local gateway with the pytest plugin.

This is the documented example. ``create_app`` is an ordinary FastAPI backend using the
SDK (one client for the process, a per-request copy acting as the caller's user); its
settings point it at the gateway. The tests use the plugin's fixtures:

* ``cloudbase_local``: the running gateway, empty for every test: register the
  functions and AI replies the test needs, add fault rules, read SMS codes;
* ``cloudbase``: an administrator client on it (an async fixture, for
  ``@pytest.mark.anyio`` tests).

The app is driven in process (``httpx.ASGITransport``); the SDK inside it talks to the
gateway over real HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import StreamingResponse

from cloudbase_async import CloudBase, RateLimitError
from cloudbase_async.local import FunctionContext, LocalCloudBase

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

ROOT = Path(__file__).resolve().parents[2]


# -- the app under test ----------------------------------------------------------------


def user_client(request: Request, authorization: Annotated[str, Header()]) -> CloudBase:
    """The process's client, acting as the caller's user (a cheap copy per request)."""
    shared: CloudBase = request.app.state.cb
    return shared.with_access_token(authorization.removeprefix("Bearer "))


UserClient = Annotated[CloudBase, Depends(user_client)]


def create_app(settings: dict[str, Any]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with CloudBase(**settings) as cb:
            app.state.cb = cb
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/me")
    async def me(cb: UserClient) -> dict[str, Any]:
        user = await cb.auth.get_user()
        return {"id": user.sub, "anonymous": user.name == "anonymous"}

    @app.post("/orders")
    async def order(body: dict[str, Any], cb: UserClient) -> Any:
        try:
            return await cb.functions.invoke("place_order", body)
        except RateLimitError as exc:
            raise HTTPException(503, "Busy, try again.") from exc

    @app.post("/chat")
    async def chat(body: dict[str, Any], cb: UserClient) -> StreamingResponse:
        async def text() -> AsyncIterator[str]:
            async with cb.ai.chat.completions.stream(
                model="hy3-preview", messages=[{"role": "user", "content": body["prompt"]}]
            ) as stream:
                async for piece in stream.text_stream:
                    yield piece

        return StreamingResponse(text(), media_type="text/plain")

    return app


# -- the tests -------------------------------------------------------------------------


@pytest.fixture
async def client(cloudbase_local: LocalCloudBase) -> AsyncIterator[httpx.AsyncClient]:
    """The app, configured for the local gateway, with its lifespan running."""
    app = create_app(
        {
            "env": cloudbase_local.env,
            "base_url": cloudbase_local.url,
            "publishable_key": cloudbase_local.publishable_key,
        }
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


@pytest.fixture
async def user_token(cloudbase_local: LocalCloudBase) -> str:
    """A signed-in (anonymous) user's access token, as a browser would send it."""
    async with cloudbase_local.client(publishable_key=True) as browser:
        return (await browser.auth.sign_in_anonymously()).access_token


async def test_me(client: httpx.AsyncClient, user_token: str, cloudbase: CloudBase) -> None:
    response = await client.get("/me", headers={"Authorization": f"Bearer {user_token}"})
    assert response.status_code == 200
    info = await cloudbase.auth.introspect(user_token)
    assert response.json() == {"id": info.sub, "anonymous": True}


async def test_orders_run_the_function_as_the_user(
    cloudbase_local: LocalCloudBase, client: httpx.AsyncClient, user_token: str
) -> None:
    @cloudbase_local.function("place_order")
    def place_order(event: Any, context: FunctionContext) -> dict[str, Any]:
        return {"sku": event["sku"], "by": context.uid}

    response = await client.post(
        "/orders", json={"sku": "A1"}, headers={"Authorization": f"Bearer {user_token}"}
    )
    assert response.status_code == 200
    assert response.json()["sku"] == "A1"
    assert response.json()["by"]


async def test_orders_when_the_gateway_is_busy(
    cloudbase_local: LocalCloudBase, client: httpx.AsyncClient, user_token: str
) -> None:
    cloudbase_local.function("place_order", lambda event, context: {"ok": True})
    cloudbase_local.faults.add("POST /v1/functions/place_order", status=429, retry_after=1)
    response = await client.post(
        "/orders", json={"sku": "A1"}, headers={"Authorization": f"Bearer {user_token}"}
    )
    assert response.status_code == 503


async def test_chat_relays_the_model(
    cloudbase_local: LocalCloudBase, client: httpx.AsyncClient, user_token: str
) -> None:
    cloudbase_local.ai.reply("Hello from the local model")
    response = await client.post(
        "/chat", json={"prompt": "hi"}, headers={"Authorization": f"Bearer {user_token}"}
    )
    assert response.text == "Hello from the local model"


# -- the plugin itself -----------------------------------------------------------------

TWO_TESTS = """
    import pytest

    @pytest.fixture(scope="session")
    def cloudbase_local_options():
        return {"env": "plugin-env", "verification_code": "654321"}

    @pytest.mark.anyio
    async def test_first_leaves_state_behind(cloudbase_local, cloudbase):
        cloudbase_local.function("kept", lambda event, context: "still here")
        cloudbase_local.ai.reply("scripted")
        async with cloudbase_local.client(publishable_key=True) as app:
            otp = await app.auth.sign_in_with_otp(phone_number="13800138000")
            await otp.verify("654321")
        assert cloudbase_local.sent_codes()
        cloudbase_local.faults.add("*", status=500, times=None)

    @pytest.mark.anyio
    async def test_second_sees_none_of_it(cloudbase_local, cloudbase):
        assert cloudbase.config.env == "plugin-env"
        assert cloudbase_local.sent_codes() == []
        assert cloudbase_local.faults.list() == []
        assert cloudbase_local.info()["functions"] == []
        done = await cloudbase.ai.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "echo"}]
        )
        assert done.content == "echo"
"""


def test_the_plugin_gives_each_test_a_fresh_gateway(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(textwrap.dedent(TWO_TESTS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBASE_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, cloudbase_async.local.pytest_plugin\n"
        "heavy = {'starlette', 'uvicorn', 'jwt', 'sqlite3'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
