"""Cloud functions over real HTTP, against a loopback server answering like the gateway."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from cloudbase_async import (
    APITimeoutError,
    CloudBase,
    InternalServerError,
    NotFoundError,
)
from tests.support.pool import checked_out
from tests.support.server import read_body, serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

SLOW_SECONDS = 1.5


class FunctionsGateway:
    """``/v1/functions/{name}``: a few functions with known behaviour, and a call count."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await read_body(receive)
        name = scope["path"].removeprefix("/v1/functions/").split("/")[0]
        self.calls[name] += 1
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, content_type, payload = 200, "application/json", b""
        if name == "echo":
            payload = json.dumps(
                {"event": json.loads(body), "qualifier": headers.get("x-qualifier")}
            ).encode()
        elif name == "text":
            content_type, payload = "text/plain; charset=utf-8", "héllo".encode()
        elif name == "boom":
            status = 500
            payload = b'{"code":"FUNCTION_INVOCATION_FAILED","message":"it threw","requestId":"r5"}'
        elif name == "slow":
            await asyncio.sleep(SLOW_SECONDS)
            payload = b"{}"
        elif name == "web":
            payload = json.dumps(
                {
                    "method": scope["method"],
                    "raw_path": scope["raw_path"].decode(),
                    "query": scope["query_string"].decode(),
                    "body": body.decode(),
                }
            ).encode()
        else:
            status = 404
            payload = b'{"code":"FUNCTION_NOT_FOUND","message":"no such function","requestId":"r4"}'
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"x-request-id", b"gw-1")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def gateway() -> FunctionsGateway:
    return FunctionsGateway()


@pytest.fixture(scope="module")
def url(gateway: FunctionsGateway) -> Iterator[str]:
    with serve(gateway) as base:
        yield base


def client(url: str) -> CloudBase:
    return CloudBase(env="test-env", base_url=url, api_key="k", max_retries=2)


async def test_json_and_text_results(url: str) -> None:
    async with client(url) as cb:
        echoed = await cb.functions.invoke_with_response("echo", {"n": [1, 2]}, qualifier="$LATEST")
        text = await cb.functions.invoke_with_response("text")
        assert checked_out(cb) == 0
    assert echoed.result == {"event": {"n": [1, 2]}, "qualifier": "$LATEST"}
    assert echoed.request_id == "gw-1"
    assert text.result == "héllo"


async def test_not_found_and_server_errors(url: str, gateway: FunctionsGateway) -> None:
    before = gateway.calls["boom"]
    async with client(url) as cb:
        with pytest.raises(NotFoundError) as missing:
            await cb.functions.invoke("nothere")
        with pytest.raises(InternalServerError) as boom:
            await cb.functions.invoke("boom")
        assert checked_out(cb) == 0
    assert (missing.value.code, missing.value.request_id) == ("FUNCTION_NOT_FOUND", "r4")
    assert (boom.value.code, boom.value.message) == ("FUNCTION_INVOCATION_FAILED", "it threw")
    assert gateway.calls["boom"] == before + 1  # not retried


async def test_timeout_is_not_retried(url: str, gateway: FunctionsGateway) -> None:
    before = gateway.calls["slow"]
    async with client(url) as cb:
        with pytest.raises(APITimeoutError):
            await cb.functions.invoke("slow", timeout=0.3)
        assert checked_out(cb) == 0
    assert gateway.calls["slow"] == before + 1


async def test_web_function_request(url: str) -> None:
    async with client(url) as cb:
        response = await cb.functions.request(
            "web", "PATCH", "/api/a b/ü", params={"q": "1&2"}, content="raw body"
        )
        assert checked_out(cb) == 0
    assert response.json() == {
        "method": "PATCH",
        "raw_path": "/v1/functions/web/api/a%20b/%C3%BC",
        "query": "webfn=true&q=1%262",
        "body": "raw body",
    }
