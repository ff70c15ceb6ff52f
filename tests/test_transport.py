"""The transport's rules, asserted on the requests it sends (respx)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest
import respx

from cloudbase_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CloudBase,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from cloudbase_async._core.transport import Request

pytestmark = pytest.mark.asyncio

BASE = "https://gw.test"
FN = f"{BASE}/v1/functions/hello"
SECRET = "sk-THIS-MUST-NEVER-LEAK-1234"


@pytest.fixture
def sleeps(backoff: list[float]) -> list[float]:
    """The backoff delays asked for (conftest records them instead of waiting)."""
    return backoff


def client(**kwargs: object) -> CloudBase:
    kwargs.setdefault("base_url", BASE)
    return CloudBase("env-1", **kwargs)  # type: ignore[arg-type]


def post(path: str = "/hello", **kwargs: object) -> Request:
    return Request("POST", "functions", path, json={"x": 1}, **kwargs)  # type: ignore[arg-type]


def get(path: str = "/hello", **kwargs: object) -> Request:
    return Request("GET", "functions", path, **kwargs)  # type: ignore[arg-type]


# --- headers ----------------------------------------------------------------------


async def test_every_request_carries_a_fresh_request_id_and_the_sdk_version(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(FN).mock(return_value=httpx.Response(200, json={}))
    async with client(api_key=SECRET) as cb:
        await cb._transport.send(post())
        await cb._transport.send(post())
    first, second = (call.request for call in route.calls)
    ids = {first.headers["X-Request-Id"], second.headers["X-Request-Id"]}
    assert len(ids) == 2
    assert all(uuid.UUID(i) for i in ids)
    assert first.headers["X-SDK-Version"].startswith("cloudbase-async/")
    assert first.headers["Authorization"] == f"Bearer {SECRET}"
    assert first.headers["Content-Type"] == "application/json"


async def test_response_request_id_prefers_the_servers(mock: respx.MockRouter) -> None:
    mock.get(FN).mock(
        side_effect=[
            httpx.Response(200, json={}, headers={"X-Request-Id": "srv-1"}),
            httpx.Response(200, json={}),
        ]
    )
    async with client() as cb:
        assert (await cb._transport.send(get())).request_id == "srv-1"
        sent_id = (await cb._transport.send(get())).request_id
    assert sent_id == mock.calls.last.request.headers["X-Request-Id"]


async def test_default_option_and_call_headers_layer_in_order(mock: respx.MockRouter) -> None:
    route = mock.get(FN).mock(return_value=httpx.Response(200))
    async with client(headers={"X-A": "client", "X-B": "client"}) as cb:
        copy = cb.with_options(headers={"X-B": "copy", "X-C": "copy"})
        await copy._transport.send(get(headers={"X-C": "call"}))
    sent = route.calls.last.request.headers
    assert (sent["X-A"], sent["X-B"], sent["X-C"]) == ("client", "copy", "call")


async def test_no_credential_sends_no_authorization(mock: respx.MockRouter) -> None:
    route = mock.get(FN).mock(return_value=httpx.Response(200))
    async with client() as cb:
        await cb._transport.send(get())
    assert "Authorization" not in route.calls.last.request.headers


async def test_unauthenticated_calls_never_carry_a_users_authorization(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{BASE}/auth/v1/token").mock(return_value=httpx.Response(200, json={}))
    async with client(
        access_token="stale-user-token", headers={"Authorization": "Bearer also-stale"}
    ) as cb:
        await cb._transport.send(Request("POST", "auth", "/token", json={}, authenticated=False))
    assert "Authorization" not in route.calls.last.request.headers


async def test_absolute_urls_get_only_their_own_headers(mock: respx.MockRouter) -> None:
    route = mock.put("https://bucket.cos.test/a.txt").mock(return_value=httpx.Response(200))
    async with client(api_key=SECRET, headers={"X-Mine": "1"}) as cb:
        await cb._transport.send(
            Request(
                "PUT",
                url="https://bucket.cos.test/a.txt",
                headers={"Authorization": "q-sign"},
                content=b"hi",
            )
        )
    sent = route.calls.last.request.headers
    assert sent["Authorization"] == "q-sign"
    assert "X-SDK-Version" not in sent
    assert "X-Mine" not in sent
    assert "X-Request-Id" not in sent


async def test_per_call_timeout_overrides_the_default(mock: respx.MockRouter) -> None:
    seen: list[dict[str, float | None]] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200)

    mock.get(FN).mock(side_effect=capture)
    async with client(timeout=30) as cb:
        await cb._transport.send(get())
        await cb._transport.send(get(timeout=2.5))
    assert seen[0]["read"] == 30
    assert seen[0]["pool"] == 10
    assert seen[1]["read"] == 2.5


# --- errors -----------------------------------------------------------------------


async def test_error_body_maps_to_a_class_with_the_header_request_id(
    mock: respx.MockRouter,
) -> None:
    mock.post(FN).mock(
        return_value=httpx.Response(
            404,
            json={"code": "FUNCTION_NOT_FOUND", "message": "nope"},
            headers={"X-Request-Id": "hdr-9"},
        )
    )
    async with client() as cb:
        with pytest.raises(NotFoundError) as info:
            await cb._transport.send(post())
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "FUNCTION_NOT_FOUND",
        "nope",
        "hdr-9",
    )
    assert info.value.body == {"code": "FUNCTION_NOT_FOUND", "message": "nope"}


async def test_connection_failures_map_to_connection_errors(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post(FN).mock(side_effect=httpx.ReadError("reset by peer"))
    mock.post(f"{BASE}/v1/functions/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    async with client() as cb:
        with pytest.raises(APIConnectionError) as info:
            await cb._transport.send(post())
        assert not isinstance(info.value, APITimeoutError)
        assert info.value.request_id
        with pytest.raises(APITimeoutError):
            await cb._transport.send(post("/slow"))
    assert sleeps == []  # POSTs that may have reached the server are not repeated


# --- retries ----------------------------------------------------------------------


async def test_get_is_retried_on_503_and_reports_retries_taken(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(FN).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[1])]
    )
    async with client() as cb:
        response = await cb._transport.send(get())
    assert route.call_count == 3
    assert response.retries_taken == 2
    assert response.json() == [1]
    assert len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)


async def test_post_is_not_retried_after_a_503(mock: respx.MockRouter, sleeps: list[float]) -> None:
    route = mock.post(FN).mock(return_value=httpx.Response(503, json={"code": "SYS_ERR"}))
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb._transport.send(post())
    assert route.call_count == 1
    assert sleeps == []


async def test_post_marked_safe_is_retried(mock: respx.MockRouter, sleeps: list[float]) -> None:
    route = mock.post(FN).mock(side_effect=[httpx.Response(500), httpx.Response(200)])
    async with client() as cb:
        response = await cb._transport.send(post(retry_safe=True))
    assert route.call_count == 2
    assert response.retries_taken == 1
    # the body is sent again, byte for byte
    assert route.calls[0].request.content == route.calls[1].request.content == b'{"x":1}'


async def test_connect_errors_are_retried_even_for_posts(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.post(FN).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ConnectTimeout("slow"),
            httpx.Response(200),
        ]
    )
    async with client() as cb:
        response = await cb._transport.send(post())
    assert route.call_count == 3
    assert response.retries_taken == 2


async def test_get_is_retried_after_a_read_timeout(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(FN).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200)])
    async with client() as cb:
        await cb._transport.send(get())
    assert route.call_count == 2


async def test_retry_after_seconds_and_dates_are_honoured(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    mock.get(FN).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(503, headers={"Retry-After": later}),
            httpx.Response(200),
        ]
    )
    async with client() as cb:
        await cb._transport.send(get())
    assert sleeps[0] == 3.0
    assert 18.0 <= sleeps[1] <= 20.0


async def test_a_retry_after_beyond_the_cap_is_raised_not_waited(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(FN).mock(
        return_value=httpx.Response(
            429,
            json={"code": "EXCEED_REQUEST_LIMIT", "message": "slow down"},
            headers={"Retry-After": "120"},
        )
    )
    async with client() as cb:
        with pytest.raises(RateLimitError) as info:
            await cb._transport.send(get())
    assert route.call_count == 1
    assert sleeps == []
    assert info.value.retry_after == 120.0


async def test_rate_limit_codes_on_other_statuses_are_retried(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(FN).mock(
        side_effect=[
            httpx.Response(
                422, json={"code": "EXCEED_CONCURRENT_REQUEST_LIMIT", "message": "busy"}
            ),
            httpx.Response(200),
        ]
    )
    async with client() as cb:
        await cb._transport.send(get())
    assert route.call_count == 2


async def test_max_retries_bounds_attempts_and_copies_can_change_it(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(FN).mock(return_value=httpx.Response(503))
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb._transport.send(get())
        assert route.call_count == 3
        with pytest.raises(InternalServerError):
            await cb.with_options(max_retries=0)._transport.send(get())
        assert route.call_count == 4
    with pytest.raises(InternalServerError):
        async with client(max_retries=5) as cb:
            await cb._transport.send(get())
    assert route.call_count == 10


async def test_a_streamed_body_is_not_resent(mock: respx.MockRouter, sleeps: list[float]) -> None:
    async def body():
        yield b"chunk"

    route = mock.put(FN).mock(return_value=httpx.Response(503))
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb._transport.send(
                Request("PUT", "functions", "/hello", content=body(), retry_safe=True)
            )
    assert route.call_count == 1


# --- credentials ------------------------------------------------------------------


class RotatingCredential:
    """A credential provider that hands out a new token each time one is rejected."""

    def __init__(self) -> None:
        self.token = "t1"
        self.rejections: list[str | None] = []

    async def authorization(self) -> str:
        return f"Bearer {self.token}"

    async def rejected(self, authorization: str | None) -> bool:
        self.rejections.append(authorization)
        self.token = f"t{len(self.rejections) + 1}"
        return True


@pytest.mark.parametrize(
    "rejection",
    [
        httpx.Response(401, json={"code": "INVALID_ACCESS_TOKEN", "message": "bad"}),
        httpx.Response(400, json={"code": "ACCESS_TOKEN_EXPIRED", "message": "expired"}),
    ],
)
async def test_a_rejected_token_is_refreshed_once_and_the_call_retried(
    mock: respx.MockRouter, rejection: httpx.Response
) -> None:
    route = mock.post(FN).mock(side_effect=[rejection, httpx.Response(200, json={"ok": 1})])
    credential = RotatingCredential()
    async with client() as cb:
        cb._transport = cb._transport.__class__(cb.config, cb._transport.pool, credential)
        response = await cb._transport.send(post())
    assert response.json() == {"ok": 1}
    assert credential.rejections == ["Bearer t1"]
    assert [c.request.headers["Authorization"] for c in route.calls] == ["Bearer t1", "Bearer t2"]


async def test_a_second_rejection_reaches_the_caller(mock: respx.MockRouter) -> None:
    route = mock.post(FN).mock(
        return_value=httpx.Response(401, json={"code": "CHECK_LOGIN_FAILED"})
    )
    credential = RotatingCredential()
    async with client() as cb:
        cb._transport = cb._transport.__class__(cb.config, cb._transport.pool, credential)
        with pytest.raises(AuthenticationError):
            await cb._transport.send(post())
    assert route.call_count == 2
    assert len(credential.rejections) == 1


async def test_static_credentials_do_not_retry_a_401(mock: respx.MockRouter) -> None:
    route = mock.post(FN).mock(return_value=httpx.Response(401))
    async with client(api_key=SECRET) as cb:
        with pytest.raises(AuthenticationError):
            await cb._transport.send(post())
    assert route.call_count == 1


# --- secrets ----------------------------------------------------------------------


async def test_secrets_stay_out_of_reprs_logs_and_errors(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG, logger="cloudbase_async")
    url = f"{BASE}/auth/v1/user/me"
    mock.delete(url).mock(return_value=httpx.Response(200))
    mock.get(url).mock(
        side_effect=[
            httpx.Response(503),
            httpx.ReadError("x"),
            httpx.Response(401, json={"code": "INVALID_ACCESS_TOKEN", "message": "denied"}),
        ]
    )
    async with client(api_key=SECRET) as cb:
        user = cb.with_access_token(SECRET + "-user")
        texts = [
            repr(cb),
            repr(user),
            repr(cb.credentials),
            repr(user.credentials),
            repr(cb.config),
        ]
        await cb._transport.send(
            Request("DELETE", "auth", "/user/me", params={"sudo_token": SECRET})
        )
        with pytest.raises(AuthenticationError) as info:
            await user._transport.send(Request("GET", "auth", "/user/me"))
        texts += [str(info.value), repr(info.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert any("user/me" in text for text in texts)  # the logs did say something
    assert any("retrying" in text for text in texts)
    for text in texts:
        assert SECRET not in text


# --- pool and lifecycle -------------------------------------------------------------


async def test_copies_share_one_pool_and_do_not_close_it(mock: respx.MockRouter) -> None:
    mock.get(FN).mock(return_value=httpx.Response(200))
    cb = client(api_key=SECRET)
    fast = cb.with_options(timeout=1, max_retries=0)
    user = cb.with_access_token("user-token")
    pool = cb._transport.pool
    assert fast._transport.pool is pool
    assert user._transport.pool is pool
    assert fast.credentials is cb.credentials
    assert fast.config.retry.max_retries == 0
    assert cb.config.retry.max_retries == 2
    await fast.aclose()
    await user.aclose()
    assert not cb.is_closed
    await cb._transport.send(get())
    await cb.aclose()
    await cb.aclose()  # idempotent
    assert cb.is_closed
    assert fast.is_closed
    assert pool.http.is_closed
    with pytest.raises(ClientClosedError):
        await fast._transport.send(get())


async def test_a_client_you_bring_is_yours_to_close(mock: respx.MockRouter) -> None:
    mock.get(FN).mock(return_value=httpx.Response(200))
    http = httpx.AsyncClient()
    async with CloudBase("env-1", base_url=BASE, http_client=http) as cb:
        await cb._transport.send(get())
    assert not http.is_closed
    await http.aclose()


async def test_a_custom_httpx_transport_is_used() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"via": "mock"})

    async with client(transport=httpx.MockTransport(handler)) as cb:
        response = await cb._transport.send(get())
    assert response.json() == {"via": "mock"}
    assert seen == [FN]


async def test_streams_hold_their_slot_until_closed(mock: respx.MockRouter) -> None:
    mock.get(FN).mock(return_value=httpx.Response(200, content=b"data: 1\n\n"))
    async with client(max_concurrency=1) as cb:
        first = await cb._transport.open_stream(get())
        with anyio.move_on_after(0.2) as scope:
            await cb._transport.send(get())  # waits in line behind the open stream
        assert scope.cancelled_caught
        assert [chunk async for chunk in first.http.aiter_bytes()] == [b"data: 1\n\n"]
        await first.aclose()
        await first.aclose()  # idempotent: the slot is released exactly once
        with anyio.fail_after(1):
            await cb._transport.send(get())
            await cb._transport.send(get())


async def test_a_stream_that_fails_before_its_body_raises_the_mapped_error(
    mock: respx.MockRouter,
) -> None:
    mock.post(FN).mock(
        return_value=httpx.Response(
            400, json={"code": "AI_MODEL_PARAM_REQUIRED", "message": "model is required"}
        )
    )
    async with client(max_concurrency=1) as cb:
        with pytest.raises(BadRequestError) as info:
            await cb._transport.open_stream(post())
        assert info.value.code == "AI_MODEL_PARAM_REQUIRED"
        with anyio.fail_after(1):  # the failed stream gave its slot back
            mock.get(FN).mock(return_value=httpx.Response(200))
            await cb._transport.send(get())


async def test_responses_that_arrive_already_read_still_free_their_slot() -> None:
    # httpx.MockTransport hands back responses already read and marked closed; the
    # admission slot must be freed all the same, or the gate fills up and calls hang.
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"code": "FUNCTION_NOT_FOUND", "message": "x"})
        return httpx.Response(200, json={"ok": True})

    async with client(transport=httpx.MockTransport(handler), max_concurrency=2) as cb:
        with anyio.fail_after(5):
            for _ in range(20):
                await cb._transport.send(post())
                with pytest.raises(NotFoundError):
                    await cb._transport.send(post("/missing"))
                stream = await cb._transport.open_stream(get())
                await stream.aclose()
                await stream.aclose()
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(cb._transport.send, get())
