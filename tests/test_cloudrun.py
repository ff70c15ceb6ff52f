"""CloudRun: requests sent (respx), and a loopback ASGI service over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio
import respx

from cloudbase_async import (
    APITimeoutError,
    CloudBase,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerTimeoutError,
    StreamClosedError,
)
from cloudbase_async.cloudrun import service_path
from tests.support.pool import checked_out
from tests.support.server import read_body, serve

pytestmark = pytest.mark.both_backends

ROOT = "https://env-1.api.tcloudbasegateway.com/v1/cloudrun"


@pytest_asyncio.fixture
async def cb() -> AsyncIterator[CloudBase]:
    async with CloudBase(env="env-1", api_key="sk-1") as client:
        yield client


# -- names and paths (pure) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/svc/"),
        ("", "/svc"),
        ("api/users", "/svc/api/users"),
        ("/files/a b.txt", "/svc/files/a%20b.txt"),
        ("/100%", "/svc/100%25"),
        ("/你好", "/svc/%E4%BD%A0%E5%A5%BD"),
        ("/a:b@c;d=e,f", "/svc/a:b@c;d=e,f"),
    ],
)
def test_paths_are_encoded(path: str, expected: str) -> None:
    assert service_path("svc", path) == expected


@pytest.mark.parametrize("name", ["a", "1abc", "ab-", "a" * 61, "a/b", "ab cd", "ab.cd", "", "ab_"])
def test_invalid_service_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError, match="service name"):
        service_path(name, "/")


@pytest.mark.parametrize("name", ["ab", "a" * 60, "my_service-2", "A1"])
def test_valid_service_names(name: str) -> None:
    assert service_path(name, "/").startswith(f"/{name}/")


@pytest.mark.parametrize("path", ["/a?b=1", "/a#frag", "/../other", "/a/./b", ".."])
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidRequestError):
        service_path("svc", path)


# -- requests (respx) -------------------------------------------------------------------


@pytest.mark.asyncio
@respx.mock
async def test_post_json(cb: CloudBase) -> None:
    route = respx.post(f"{ROOT}/svc/api/items", params={"page": "2"}).mock(
        return_value=httpx.Response(201, json={"id": 1}, headers={"x-request-id": "r1"})
    )
    response = await cb.cloudrun.request(
        "svc",
        "post",
        "/api/items",
        json={"name": "a"},
        params={"page": 2},
        headers={"X-Custom": "v"},
    )
    sent = route.calls.last.request
    assert sent.method == "POST"
    assert sent.content == b'{"name":"a"}'
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["X-Custom"] == "v"
    assert sent.headers["Authorization"] == "Bearer sk-1"
    assert "accept" not in sent.headers or sent.headers["accept"] != "text/event-stream"
    assert response.status_code == 201
    assert response.json() == {"id": 1}
    assert response.request_id == "r1"


@pytest.mark.asyncio
@respx.mock
async def test_get_with_content_disposition_decodes(cb: CloudBase) -> None:
    respx.get(f"{ROOT}/svc/report").mock(
        return_value=httpx.Response(
            200,
            content=b'{"ok": true, "text": "\xc3\xa9"}',
            headers={
                "content-type": "application/json; charset=utf-8",
                "content-disposition": 'attachment; filename="report"',
            },
        )
    )
    response = await cb.cloudrun.request("svc", "GET", "/report")
    assert response.json() == {"ok": True, "text": "é"}
    assert response.text == '{"ok": true, "text": "é"}'


@pytest.mark.asyncio
@respx.mock
async def test_content_body_and_str(cb: CloudBase) -> None:
    route = respx.put(f"{ROOT}/svc/blob").mock(return_value=httpx.Response(204))
    await cb.cloudrun.request(
        "svc", "PUT", "/blob", content="héllo", headers={"Content-Type": "text/plain"}
    )
    assert route.calls.last.request.content == "héllo".encode()
    with pytest.raises(InvalidRequestError, match="not both"):
        await cb.cloudrun.request("svc", "PUT", "/blob", content=b"x", json={})
    with pytest.raises(InvalidRequestError, match="method"):
        await cb.cloudrun.request("svc", "GE T", "/")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"code": "SERVICE_NOT_FOUND", "message": "no"}, NotFoundError),
        (403, {"code": "SERVICE_FORBIDDEN", "message": "no"}, PermissionDeniedError),
        (504, {"code": "SERVICE_TIMEOUT", "message": "slow"}, ServerTimeoutError),
        (500, {"detail": "service crashed"}, InternalServerError),
    ],
)
@respx.mock
async def test_errors_are_mapped(
    cb: CloudBase, status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    route = respx.post(f"{ROOT}/svc/x").mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        await cb.cloudrun.request("svc", "POST", "/x")
    assert info.value.body == body  # type: ignore[attr-defined]
    assert route.call_count == 1  # a POST is not repeated


@pytest.mark.asyncio
@respx.mock
async def test_get_is_retried_on_503(cb: CloudBase) -> None:
    route = respx.get(f"{ROOT}/svc/x").mock(
        side_effect=[
            httpx.Response(503, headers={"retry-after": "0"}),
            httpx.Response(200, text="ok"),
        ]
    )
    response = await cb.cloudrun.request("svc", "GET", "/x")
    assert response.text == "ok"
    assert response.retries_taken == 1
    assert route.call_count == 2


@pytest.mark.asyncio
async def test_invalid_name_sends_nothing(cb: CloudBase) -> None:
    with respx.mock, pytest.raises(InvalidRequestError):
        await cb.cloudrun.request("-bad", "GET", "/")


@pytest.mark.asyncio
@respx.mock
async def test_stream_sends_accept_unless_given(cb: CloudBase) -> None:
    route = respx.get(f"{ROOT}/svc/events").mock(
        return_value=httpx.Response(
            200, content=b"data: a\n\n", headers={"content-type": "text/event-stream"}
        )
    )
    async with cb.cloudrun.stream("svc", "GET", "/events") as resp:
        assert [e.data async for e in resp.sse()] == ["a"]
    assert route.calls.last.request.headers["Accept"] == "text/event-stream"
    async with cb.cloudrun.stream("svc", "GET", "/events", headers={"accept": "*/*"}) as resp:
        assert b"".join([c async for c in resp]) == b"data: a\n\n"
    assert route.calls.last.request.headers["Accept"] == "*/*"


# -- a real service over loopback ----------------------------------------------------------


async def until_disconnect(receive: Any, work: Any) -> None:
    """Run ``work`` until it ends or the client goes away (so the server stops promptly)."""
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        await work()
        group.cancel_scope.cancel()


async def service(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A small CloudRun-like service (paths are the gateway's, /{name}/...)."""
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    path = scope["path"]
    method = scope["method"]

    async def reply(
        status: int, content: bytes, content_type: bytes, extra: list[Any] | None = None
    ) -> None:
        headers = [(b"content-type", content_type), *(extra or [])]
        if method == "GET":  # what the gateway does to every GET
            headers.append((b"content-disposition", b"attachment"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    if path == "/svc/echo":
        await reply(
            200,
            json.dumps(
                {
                    "method": method,
                    "raw_path": scope["raw_path"].decode(),
                    "query": scope["query_string"].decode(),
                    "body": body.decode(),
                }
            ).encode(),
            b"application/json",
        )
    elif path == "/svc/text":
        await reply(200, "plain é".encode(), b"text/plain; charset=utf-8")
    elif path == "/svc/sse":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for i in range(3):
            await send(
                {
                    "type": "http.response.body",
                    "body": f"id: {i}\ndata: tick {i}\n\n".encode(),
                    "more_body": True,
                }
            )
            await anyio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/svc/stall":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})

        async def keep_alive() -> None:
            for _ in range(100):
                await anyio.sleep(0.05)
                await send(
                    {"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True}
                )

        await until_disconnect(receive, keep_alive)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/svc/slow":

        async def late() -> None:
            await anyio.sleep(2)
            await reply(200, b"late", b"text/plain")

        await until_disconnect(receive, late)
    elif path == "/svc/missing":
        await reply(
            404,
            b'{"code": "SERVICE_NOT_FOUND", "message": "gone", "requestId": "g1"}',
            b"application/json",
        )
    elif path == "/svc/crash":
        await reply(500, b"Internal Server Error", b"text/plain")
    else:
        await reply(404, b"not found", b"text/plain")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(service) as base:
        yield base


@pytest_asyncio.fixture
async def live(url: str) -> AsyncIterator[CloudBase]:
    async with CloudBase(
        env="test", endpoints={"cloudrun": url}, api_key="k", max_retries=0
    ) as client:
        yield client
        assert checked_out(client) == 0


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_json_roundtrip_and_encoding(live: CloudBase) -> None:
    response = await live.cloudrun.request(
        "svc", "PATCH", "/echo", json={"a": "é"}, params={"q": "a b&c"}
    )
    assert response.json() == {
        "method": "PATCH",
        "raw_path": "/svc/echo",
        "query": "q=a+b%26c",
        "body": '{"a":"é"}',
    }


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_get_json_and_text_despite_attachment(live: CloudBase) -> None:
    response = await live.cloudrun.request("svc", "GET", "/echo")
    assert response.headers["content-disposition"] == "attachment"
    assert response.json()["method"] == "GET"
    text = await live.cloudrun.request("svc", "GET", "/text")
    assert text.text == "plain é"


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_errors(live: CloudBase) -> None:
    with pytest.raises(NotFoundError) as missing:
        await live.cloudrun.request("svc", "GET", "/missing")
    assert missing.value.code == "SERVICE_NOT_FOUND"
    assert missing.value.request_id == "g1"
    with pytest.raises(InternalServerError) as crash:
        await live.cloudrun.request("svc", "POST", "/crash")
    assert crash.value.status_code == 500
    assert crash.value.body == "Internal Server Error"


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_timeout(live: CloudBase) -> None:
    with pytest.raises(APITimeoutError):
        await live.cloudrun.request("svc", "GET", "/slow", timeout=0.3)


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_sse(live: CloudBase) -> None:
    async with live.cloudrun.stream("svc", "GET", "/sse") as resp:
        assert resp.status_code == 200
        assert "content-disposition" not in resp.headers
        events = [e async for e in resp.sse()]
    assert [(e.id, e.data) for e in events] == [("0", "tick 0"), ("1", "tick 1"), ("2", "tick 2")]
    with pytest.raises(StreamClosedError):
        resp.sse()


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_bytes(live: CloudBase) -> None:
    async with live.cloudrun.stream("svc", "POST", "/echo", json={"x": 1}) as resp:
        data = b"".join([chunk async for chunk in resp.aiter_bytes()])
    assert json.loads(data)["body"] == '{"x":1}'


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_sse_idle_timeout_ignores_keepalives(live: CloudBase) -> None:
    async with live.cloudrun.stream("svc", "GET", "/stall") as resp:
        events = resp.sse(idle_timeout=0.4)
        assert (await events.__anext__()).data == "first"
        with pytest.raises(APITimeoutError, match="idle_timeout"):
            await events.__anext__()


@pytest.mark.asyncio
@pytest.mark.integration
async def test_live_leaving_early_frees_the_connection(live: CloudBase) -> None:
    for _ in range(20):
        async with live.cloudrun.stream("svc", "GET", "/stall") as resp:
            async for _event in resp.sse():
                break
        assert checked_out(live) == 0
    with pytest.raises(StreamClosedError):
        await resp.__anext__()


@pytest.mark.anyio
@pytest.mark.integration
async def test_live_streams_under_both_backends(url: str) -> None:
    async with CloudBase(env="test", endpoints={"cloudrun": url}, api_key="k") as cb:
        async with cb.cloudrun.stream("svc", "GET", "/sse") as resp:
            assert [e.data async for e in resp.sse()] == ["tick 0", "tick 1", "tick 2"]
        async with cb.cloudrun.stream("svc", "GET", "/stall") as resp:
            events = resp.sse(idle_timeout=0.3)
            assert (await events.__anext__()).data == "first"
            with pytest.raises(APITimeoutError):
                await events.__anext__()
        with anyio.CancelScope() as scope:
            async with cb.cloudrun.stream("svc", "GET", "/stall") as resp:
                async for _event in resp.sse():
                    scope.cancel()
                    await anyio.sleep(5)
        assert checked_out(cb) == 0
