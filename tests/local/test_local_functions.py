"""Local cloud functions through this SDK over real HTTP: event functions (sync and
async) with the caller's identity, the gateway's error codes, web functions, faults."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from cloudbase_async import (
    APIConnectionError,
    CloudBase,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ServerTimeoutError,
)
from cloudbase_async.local import FunctionContext, LocalCloudBase

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


def whoami(event: Any, context: FunctionContext) -> dict[str, Any]:
    return {
        "event": event,
        "role": context.caller.role,
        "uid": context.uid,
        "anonymous": context.caller.anonymous,
        "name": context.function_name,
        "qualifier": context.qualifier,
        "request_id": context.request_id,
    }


async def test_sync_and_async_functions_see_the_caller(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.function("whoami", whoami)

    @cloudbase_local.function("add")
    async def add(event: Any, context: FunctionContext) -> int:
        await anyio.lowlevel.checkpoint()
        return int(event["a"]) + int(event["b"])

    as_admin = await cloudbase.functions.invoke_with_response("whoami", {"n": [1]}, qualifier="2")
    assert await cloudbase.functions.invoke("add", {"a": 1, "b": 2}) == 3
    async with cloudbase_local.client(publishable_key=True) as app:
        as_anon = await app.functions.invoke("whoami")
        session = await app.auth.sign_in_anonymously()
        as_user = await app.functions.invoke("whoami")

    assert as_admin.result["event"] == {"n": [1]}
    assert (as_admin.result["role"], as_admin.result["qualifier"]) == ("admin", "2")
    assert as_admin.result["request_id"] == as_admin.request_id
    assert (as_anon["role"], as_anon["uid"], as_anon["event"]) == ("anon", None, {})
    assert as_user["role"] == "user"
    assert as_user["uid"] == session.user_id
    assert as_user["anonymous"] is True


async def test_gateway_errors(cloudbase_local: LocalCloudBase, cloudbase: CloudBase) -> None:
    calls: list[int] = []

    @cloudbase_local.function("boom")
    def boom(event: Any, context: FunctionContext) -> None:
        calls.append(1)
        raise RuntimeError("it threw")

    @cloudbase_local.function("slow", timeout=0.2)
    async def slow(event: Any, context: FunctionContext) -> None:
        await anyio.sleep(30)

    with pytest.raises(NotFoundError) as missing:
        await cloudbase.functions.invoke("nothere")
    with pytest.raises(InternalServerError) as failed:
        await cloudbase.functions.invoke("boom")
    with pytest.raises(ServerTimeoutError) as timed_out:
        await cloudbase.functions.invoke("slow")

    assert missing.value.code == "FUNCTION_NOT_FOUND"
    assert missing.value.request_id
    assert (failed.value.code, failed.value.message) == ("FUNCTION_INVOCATION_FAILED", "it threw")
    assert calls == [1]  # a function that may have run is not run again
    assert timed_out.value.code == "FUNCTION_TIME_LIMIT_EXCEEDED"


async def test_wire_shape_and_credentials(cloudbase_local: LocalCloudBase) -> None:
    cloudbase_local.function("whoami", whoami)
    cloudbase_local.function("text", lambda event, context: PlainTextResponse("héllo"))
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as http:
        anonymous = await http.post("/v1/functions/whoami", json={"x": 1})
        wrong = await http.post(
            "/v1/functions/whoami", json={}, headers={"Authorization": "Bearer nope"}
        )
        key = {"Authorization": f"Bearer {cloudbase_local.api_key}"}
        ok = await http.post("/v1/functions/whoami", content=b'{"x": 1}', headers=key)
        text = await http.post("/v1/functions/text", headers=key)
        bad = await http.post("/v1/functions/whoami", content=b"{not json", headers=key)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "MISSING_CREDENTIALS"
    assert set(anonymous.json()) == {"code", "message", "requestId"}
    assert anonymous.json()["requestId"] == anonymous.headers["x-request-id"]
    assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_ACCESS_TOKEN")
    assert ok.json()["event"] == {"x": 1}  # the value is the whole body: no envelope
    assert ok.headers["content-type"] == "application/json"
    assert text.text == "héllo"
    assert (bad.status_code, bad.json()["code"]) == (400, "FUNCTION_PARAM_INVALID")


def web_app() -> Starlette:
    async def anything(request: Request) -> JSONResponse:
        caller = request.state.caller
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(),
                "body": (await request.body()).decode(),
                "role": caller.role,
            }
        )

    return Starlette(routes=[Route("/{rest:path}", anything, methods=["GET", "POST", "PATCH"])])


async def test_web_functions_get_the_sub_path_query_and_body(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.web_function("api", web_app())
    response = await cloudbase.functions.request(
        "api", "PATCH", "/users/a b/ü", params={"q": "1&2"}, content="raw body"
    )
    root = await cloudbase.functions.request("api", "GET")
    assert response.json() == {
        "method": "PATCH",
        "path": "/users/a b/ü",
        "raw_path": "/users/a%20b/%C3%BC",
        "query": "q=1%262",
        "body": "raw body",
        "role": "admin",
    }
    assert (root.json()["path"], root.json()["query"]) == ("/", "")
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as http:
        by_header = await http.post(
            "/v1/functions/api/x",
            headers={"X-Tcb-Webfn": "true", "Authorization": f"Bearer {cloudbase_local.api_key}"},
        )
    assert by_header.json()["path"] == "/x"


async def test_faults_status_with_retry_after_honoured(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase, backoff: list[float]
) -> None:
    ran: list[int] = []
    cloudbase_local.function("flaky", lambda event, context: ran.append(1) or {"ok": True})
    cloudbase_local.faults.add("POST /v1/functions/flaky", status=503, times=2, retry_after=0.5)

    result = await cloudbase.functions.invoke_with_response("flaky", retry_safe=True)

    assert result.result == {"ok": True}
    assert result.retries_taken == 2
    assert ran == [1]
    assert backoff == [0.5, 0.5]  # the gateway's Retry-After, not the jittered backoff
    [rule] = cloudbase_local.faults.list()
    assert (rule["fired"], rule["remaining"]) == (2, 0)


async def test_faults_status_not_retried_and_too_long_retry_after(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.function("fn", lambda event, context: {"ok": True})
    cloudbase_local.faults.add("POST /v1/functions/*", status=503)
    with pytest.raises(InternalServerError) as unavailable:
        await cloudbase.functions.invoke("fn")  # not retry-safe: the error surfaces
    cloudbase_local.faults.add("/v1/functions/fn", status=429, retry_after=120)
    with pytest.raises(RateLimitError) as limited:
        await cloudbase.functions.invoke("fn", retry_safe=True)
    assert unavailable.value.code == "SYS_ERR"
    assert (limited.value.code, limited.value.retry_after) == ("EXCEED_REQUEST_LIMIT", 120.0)
    assert await cloudbase.functions.invoke("fn") == {"ok": True}  # each rule fired once


async def test_faults_reset_and_delay(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    ran: list[int] = []
    cloudbase_local.function("fn", lambda event, context: ran.append(1) or len(ran))
    cloudbase_local.faults.add("POST /v1/functions/fn", reset=True)
    with pytest.raises(APIConnectionError):
        await cloudbase.functions.invoke("fn")
    assert ran == []  # the fault answered before the function ran
    assert await cloudbase.functions.invoke("fn", retry_safe=True) == 1

    cloudbase_local.faults.add("POST /v1/functions/fn", reset=True)
    assert await cloudbase.functions.invoke("fn", retry_safe=True) == 2  # retried after the reset

    cloudbase_local.faults.add("POST /v1/functions/fn", delay=0.3)
    with pytest.raises(APIConnectionError):
        await cloudbase.functions.invoke("fn", timeout=0.05)
