from __future__ import annotations

import httpx
import pytest
import respx

from cloudbase_async import CloudBase
from cloudbase_async._transport import Request

pytestmark = pytest.mark.asyncio


async def test_sends_sdk_headers_and_credentials() -> None:
    async with CloudBase(env="env-1", api_key="sk-secret") as cb, respx.mock:
        route = respx.post("https://env-1.api.tcloudbasegateway.com/v1/functions/hello").mock(
            return_value=httpx.Response(200, json={"ok": True}, headers={"X-Request-Id": "r1"})
        )
        response = await cb._transport.send(Request("POST", "functions", "/hello", json={"a": 1}))
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer sk-secret"
    assert sent.headers["X-SDK-Version"].startswith("cloudbase-async/")
    assert sent.content == b'{"a":1}'
    assert response.json() == {"ok": True}
    assert response.request_id == "r1"
