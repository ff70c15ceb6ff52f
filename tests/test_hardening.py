"""Hostile servers and careless callers, over real HTTP on loopback (issue "Hardening").

Each test is one failure a user would call a bug: a call that never ends, a secret in an
error, a redirect taken for success, a body that eats memory, an exception from outside
the SDK's hierarchy. Time bounds are asserted with wide margins: the point is "ends",
not "ends fast".
"""

from __future__ import annotations

import copy
import gzip
import logging
import pickle
import socket
import threading
import time
import tracemalloc
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from cloudbase_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CloudBase,
    CloudBaseError,
    ConfigurationError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RedirectError,
    ResponseTooLargeError,
    ResponseValidationError,
    StreamInterruptedError,
)
from cloudbase_async._core.transport import Request
from tests.support.hostile import drip, raw_server
from tests.support.pool import checked_out
from tests.support.server import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

KEY = "sk-live-0123456789abcdef"


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- every call is bounded in time --------------------------------------------------


@pytest.mark.parametrize("where", ["headers", "body"])
async def test_a_server_that_drips_cannot_stretch_a_call_past_its_deadline(where: str) -> None:
    def handler(conn: socket.socket, _: bytes, stop: threading.Event) -> None:
        body = b'{"ok": true}' + b" " * 100
        response = head(content_type="application/json", content_length=str(len(body)))
        if where == "headers":
            drip(conn, response + body, every=0.2, stop=stop)
        else:
            conn.sendall(response)
            drip(conn, body, every=0.2, stop=stop)

    with raw_server(handler) as url:
        async with CloudBase("env-1", base_url=url, api_key=KEY, max_retries=0) as cb:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                # Each read arrives well within 1 s; the call as a whole must not.
                await cb.functions.invoke("echo", timeout=1.0)
            assert time.monotonic() - started < 10
            assert checked_out(cb) == 0


class TrickleAuth:
    """An auth gateway whose token refresh answers one byte per 200 ms."""

    def __init__(self) -> None:
        self.refreshes = 0

    def __call__(self, conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        if b"/auth/v1/signin/anonymously" in request:
            body = (
                b'{"access_token":"at-1","refresh_token":"rt-1","expires_in":1,'
                b'"scope":"user","token_type":"Bearer"}'
            )
            conn.sendall(head(content_type="application/json", content_length=str(len(body))))
            conn.sendall(body)
            return
        if b"/auth/v1/token" in request:
            self.refreshes += 1
            body = b'{"access_token":"at-2","refresh_token":"rt-2","expires_in":7200}'
            response = head(content_type="application/json", content_length=str(len(body)))
            drip(conn, response + body, every=0.2, stop=stop)
            return
        conn.sendall(head(content_type="application/json", content_length="2") + b"{}")


async def test_a_trickling_refresh_is_bounded_and_a_cancelled_caller_returns() -> None:
    auth = TrickleAuth()
    with raw_server(auth) as url:
        async with CloudBase(
            "env-1", base_url=url, refresh_margin=0.0, refresh_timeout=1.5, max_retries=0
        ) as cb:
            await cb.auth.sign_in_anonymously()
            await anyio.sleep(1.1)  # the access token is now stale
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match="refresh_timeout"):
                await cb.functions.invoke("echo")
            assert time.monotonic() - started < 10
            # The session is kept: a timed-out refresh proves nothing about the token.
            assert cb.credentials.current is not None  # type: ignore[attr-defined]

            # A caller cancelled while the refresh trickles returns within the bound.
            started = time.monotonic()
            with anyio.move_on_after(0.3):
                await cb.functions.invoke("echo")
            assert time.monotonic() - started < 10
    assert auth.refreshes >= 2


async def test_a_call_waiting_for_a_slot_gives_up_at_the_pool_timeout() -> None:
    async def streaming(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await anyio.sleep(30)

    with serve(streaming) as url:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        timeout = httpx.Timeout(30.0, pool=0.5)
        async with CloudBase("env-1", base_url=url, limits=limits, timeout=timeout) as cb:
            async with cb.cloudrun.stream("svc", "GET", "/") as stream:
                assert await stream.__anext__() == b"x"
                # The only connection is held by the open stream: this call would wait
                # for ever; it must give up at the pool timeout instead.
                with pytest.raises(APITimeoutError, match="pool timeout"):
                    await cb.functions.invoke("echo")
            assert checked_out(cb) == 0


# --- bad credentials never leak -----------------------------------------------------


def test_a_key_with_a_newline_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError, match="api_key") as info:
        CloudBase("env-1", api_key=KEY + "\n")
    assert KEY not in str(info.value)
    with pytest.raises(ConfigurationError, match="headers") as info:
        CloudBase("env-1", headers={"X-Token": f"{KEY}\r\nX-Evil: 1"})
    assert KEY not in str(info.value)


async def test_keys_from_the_environment_are_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(dict(scope["headers"])[b"authorization"].decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    monkeypatch.setenv("CLOUDBASE_API_KEY", f"  {KEY}\n")
    with serve(app) as url:
        async with CloudBase("env-1", base_url=url) as cb:
            await cb.functions.invoke("echo")
    assert seen == [f"Bearer {KEY}"]


async def test_bad_per_call_headers_are_refused_before_sending(caplog: Any) -> None:
    hits: list[bytes] = []

    def handler(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        hits.append(request)

    caplog.set_level(logging.DEBUG)
    with raw_server(handler) as url:
        async with CloudBase("env-1", base_url=url, api_key=KEY) as cb:
            with pytest.raises(InvalidRequestError, match="X-Auth") as info:
                await cb.cloudrun.request("svc", "GET", "/", headers={"X-Auth": f"{KEY}\n"})
            assert KEY not in str(info.value)
            # A declared length that disagrees with the body: h11's own complaint quotes
            # nothing of ours, and it is not retried.
            with pytest.raises(InvalidRequestError, match="Content-Length"):
                await cb.cloudrun.request(
                    "svc", "POST", "/", content=b"abc", headers={"Content-Length": "10"}
                )
    assert KEY not in caplog.text
    assert len(hits) <= 1


async def test_a_streamed_body_that_disagrees_with_its_length_is_an_invalid_request() -> None:
    """Through httpx's own transport, h11 refuses to send it (its error, not httpx's)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def body() -> Any:
        yield b"abc"

    with serve(app) as url:
        http = httpx.AsyncHTTPTransport()
        async with CloudBase("env-1", base_url=url, api_key=KEY, transport=http) as cb:
            with pytest.raises(InvalidRequestError, match="Content-Length"):
                await cb.cloudrun.request(
                    "svc", "POST", "/", content=body(), headers={"Content-Length": "10"}
                )


async def test_a_lower_case_authorization_replaces_ours_on_the_wire() -> None:
    seen: list[list[bytes]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append([v for k, v in scope["headers"] if k == b"authorization"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    with serve(app) as url:
        async with CloudBase(
            "env-1", base_url=url, api_key=KEY, headers={"authorization": "Bearer other"}
        ) as cb:
            await cb.functions.invoke("echo")
    assert seen == [[b"Bearer other"]]


def test_credentials_in_a_base_url_stay_out_of_reprs() -> None:
    cb = CloudBase("env-1", base_url="https://user:hunter2@gateway.example")
    assert "hunter2" not in repr(cb)
    assert "hunter2" not in repr(cb.config)


def test_a_request_repr_shows_no_bodies_header_values_or_query_values() -> None:
    request = Request(
        "POST",
        "auth",
        "/token",
        params={"sudo_token": "st-secret"},
        headers={"Authorization": "Bearer at-secret"},
        json={"refresh_token": "rt-secret", "password": "pw-secret"},
    )
    shown = repr(request)
    for secret in ("st-secret", "at-secret", "rt-secret", "pw-secret"):
        assert secret not in shown
    assert "sudo_token" in shown
    assert "Authorization" in shown


# --- a 3xx is not a success ---------------------------------------------------------


async def test_a_redirect_is_an_error_naming_the_redacted_location() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        location = b"https://elsewhere.example/login?token=tok-secret&next=/x"
        await send(
            {"type": "http.response.start", "status": 302, "headers": [(b"location", location)]}
        )
        await send({"type": "http.response.body", "body": b"<html>moved</html>"})

    with serve(app) as url:
        async with CloudBase("env-1", base_url=url, api_key=KEY) as cb:
            with pytest.raises(RedirectError) as info:
                await cb.functions.invoke("echo")
    error = info.value
    assert error.status_code == 302
    assert error.location is not None
    assert error.location.startswith("https://elsewhere.example")
    assert "tok-secret" not in str(error) + repr(error) + error.location


# --- response size is bounded -------------------------------------------------------


@pytest.fixture(scope="module")
def big_server() -> Iterator[str]:
    plain = b'{"data": "' + b"x" * (8 << 20) + b'"}'
    bomb = gzip.compress(b"0" * (128 << 20), compresslevel=6)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"].endswith("/bomb"):
            headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
            body = bomb
        else:
            headers = [(b"content-type", b"application/json")]
            body = plain
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for start in range(0, len(body), 1 << 16):
            await send(
                {
                    "type": "http.response.body",
                    "body": body[start : start + (1 << 16)],
                    "more_body": True,
                }
            )
        await send({"type": "http.response.body", "body": b""})

    with serve(app) as url:
        yield url


@pytest.mark.parametrize("path", ["big", "bomb"])
async def test_a_body_past_max_response_size_is_refused_while_reading(
    big_server: str, path: str
) -> None:
    tracemalloc.start()
    try:
        async with CloudBase(
            "env-1", base_url=big_server, api_key=KEY, max_response_size=1 << 20
        ) as cb:
            with pytest.raises(ResponseTooLargeError):
                await cb.functions.invoke(path)
            assert checked_out(cb) == 0
            # Per call, through a copy: the same answer is read whole with a higher bound.
            if path == "big":
                roomy = cb.with_options(max_response_size=16 << 20)
                assert len((await roomy.functions.invoke(path))["data"]) == 8 << 20
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if path == "bomb":
        assert peak < 32 << 20  # 128 MiB of zeros never inflated past the limit


# --- one error hierarchy ------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_server() -> Iterator[str]:
    answers = {
        "/v1/ai/cloudbase/chat/completions": (200, b'{"id": "x", "choices": [tru'),
        "/v1/ai/utf8/chat/completions": (200, b'{"id": "\xff\xfe"}'),
        "/v1/functions/nested": (500, b"[" * 100_000 + b"]" * 100_000),
        "/v1/functions/newline": (404, b'{"code": "NOPE\\nINFO fake line", "message": "m"}'),
    }

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        status, body = answers.get(scope["path"], (200, b"{}"))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    with serve(app) as url:
        yield url


async def test_invalid_json_or_utf8_in_a_2xx_body_is_a_response_validation_error(
    odd_server: str,
) -> None:
    async with CloudBase("env-1", base_url=odd_server, api_key=KEY) as cb:
        for provider in ("cloudbase", "utf8"):
            with pytest.raises(ResponseValidationError) as info:
                await cb.ai.chat.completions.create(
                    provider=provider, model="m", messages=[{"role": "user", "content": "hi"}]
                )
            assert info.value.status_code == 200


async def test_deeply_nested_json_in_an_error_body_maps_onto_the_hierarchy(
    odd_server: str,
) -> None:
    async with CloudBase("env-1", base_url=odd_server, api_key=KEY, max_retries=0) as cb:
        with pytest.raises(InternalServerError):
            await cb.functions.invoke("nested")


async def test_nan_in_a_users_body_is_refused_before_sending(odd_server: str) -> None:
    async with CloudBase("env-1", base_url=odd_server, api_key=KEY) as cb:
        with pytest.raises(InvalidRequestError, match="JSON"):
            await cb.functions.invoke("echo", {"x": float("nan")})


async def test_server_text_is_escaped_in_log_lines(
    odd_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cloudbase_async")
    async with CloudBase("env-1", base_url=odd_server, api_key=KEY) as cb:
        with pytest.raises(NotFoundError):
            await cb.functions.invoke("newline")
    lines = [r.getMessage() for r in caplog.records]
    assert any("NOPE\\x0aINFO fake line" in line for line in lines)
    assert not any("\n" in line for line in lines)


def test_errors_survive_pickle_and_copy() -> None:
    error = NotFoundError(
        "no such function",
        status_code=404,
        code="FUNCTION_NOT_FOUND",
        request_id="r1",
        body={"a": 1},
    )
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(clone) is NotFoundError
        assert (clone.status_code, clone.code, clone.request_id, clone.body) == (
            404,
            "FUNCTION_NOT_FOUND",
            "r1",
            {"a": 1},
        )
        assert str(clone) == str(error)
    broken = pickle.loads(pickle.dumps(StreamInterruptedError("cut", request_id="r2", partial=[1])))
    assert (broken.request_id, broken.partial) == ("r2", [1])


# --- streams under trio: nothing left for the garbage collector --------------------


async def test_leaving_streams_early_leaves_no_async_generator_behind() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for i in range(1000):
            frame = f"retry: {'9' * 5000}\ndata: {i}\n\n".encode()
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    with serve(app) as url, warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        async with CloudBase("env-1", base_url=url, api_key=KEY) as cb:
            for _ in range(20):
                async with cb.cloudrun.stream("svc", "GET", "/") as stream:
                    async for event in stream.sse():
                        assert event.data == "0"  # a 5,000-digit retry: is ignored
                        break
                async with cb.cloudrun.stream("svc", "GET", "/") as raw:
                    async for _chunk in raw:
                        break
            assert checked_out(cb) == 0


# --- everything above is a CloudBaseError -------------------------------------------


def test_every_error_class_used_here_is_a_cloudbase_error() -> None:
    for cls in (
        APIConnectionError,
        APIError,
        ConfigurationError,
        InvalidRequestError,
        RedirectError,
        ResponseTooLargeError,
        ResponseValidationError,
        StreamInterruptedError,
    ):
        assert issubclass(cls, CloudBaseError)


def test_an_exception_chain_that_loops_is_still_described() -> None:
    from cloudbase_async._core.errors import describe as _describe

    first, second = httpx.ConnectError("a"), OSError("b")
    first.__context__, second.__context__ = second, first
    assert _describe(first) == "ConnectError"
