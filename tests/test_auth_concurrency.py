"""Single-flight refresh under load, on asyncio and trio."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
import respx

from cloudbase_async import (
    AuthenticationError,
    AuthEvent,
    CloudBase,
    InternalServerError,
    MemoryStore,
)
from cloudbase_async._core.transport import Request

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

AUTH = "https://env-1.api.tcloudbasegateway.com/auth/v1"
DATA = "https://env-1.api.tcloudbasegateway.com/v1/functions/echo"


def tokens(n: int, *, scope: str = "user", expires_in: float = 7200) -> dict[str, Any]:
    return {
        "access_token": f"at-{n}",
        "refresh_token": f"m.rt-{n}",
        "expires_in": expires_in,
        "scope": scope,
        "sub": "uid-1",
    }


async def echo(cb: CloudBase) -> str:
    response = await cb._transport.send(Request("POST", "functions", "/echo", json={}))
    return str(response.json()["auth"])


def echo_auth(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"auth": request.headers.get("authorization")})


async def expired_client(store: MemoryStore | None = None) -> CloudBase:
    """A client whose session's access token is already stale."""
    cb = CloudBase(env="env-1", publishable_key="pk-secret", session_store=store)
    await cb.auth.set_session(access_token="at-0", refresh_token="m.rt-0", expires_in=0)
    return cb


async def gather(n: int, fn: Any) -> list[Any]:
    """Run ``fn()`` ``n`` times concurrently; results or exceptions, in order."""
    results: list[Any] = [None] * n

    async def one(i: int) -> None:
        try:
            results[i] = await fn()
        except Exception as exc:
            results[i] = exc

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return results


async def test_1000_concurrent_calls_on_an_expired_token_refresh_once() -> None:
    store = MemoryStore()
    cb = await expired_client(store)
    events: list[AuthEvent] = []
    cb.auth.on_auth_state_change(lambda event, session: events.append(event))
    with respx.mock:
        refresh = respx.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(1)))
        data = respx.post(DATA).mock(side_effect=echo_auth)
        results = await gather(1000, lambda: echo(cb))
    await cb.aclose()
    assert refresh.call_count == 1
    assert json.loads(refresh.calls.last.request.content)["refresh_token"] == "m.rt-0"
    assert "authorization" not in refresh.calls.last.request.headers
    assert data.call_count == 1000
    assert results == ["Bearer at-1"] * 1000
    assert events == [AuthEvent.TOKEN_REFRESHED]
    stored = json.loads(await store.get("credentials_env-1") or "{}")
    assert stored["refresh_token"] == "m.rt-1"


async def test_1000_concurrent_calls_while_refresh_fails_share_one_error() -> None:
    cb = await expired_client()
    with respx.mock:
        refresh = respx.post(f"{AUTH}/token").mock(
            return_value=httpx.Response(503, json={"error": "unavailable"})
        )
        data = respx.post(DATA).mock(side_effect=echo_auth)
        results = await gather(1000, lambda: echo(cb))
        assert refresh.call_count == 1  # never repeated: the token may have been used
        assert not data.called
        assert all(isinstance(r, InternalServerError) for r in results)
        assert len({id(r) for r in results}) == 1  # literally the same error
        assert results[0].code == "unavailable"
        # The session is kept (the server may be back soon); the next wave tries once more.
        assert cb.auth._manager.current is not None
        await gather(100, lambda: echo(cb))
        assert refresh.call_count == 2
    await cb.aclose()


async def test_1000_concurrent_calls_on_a_revoked_refresh_token_sign_out_once() -> None:
    store = MemoryStore()
    cb = await expired_client(store)
    events: list[AuthEvent] = []
    cb.auth.on_auth_state_change(lambda event, session: events.append(event))
    with respx.mock:
        refresh = respx.post(f"{AUTH}/token").mock(
            return_value=httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "token used"}
            )
        )
        respx.post(DATA).mock(side_effect=echo_auth)
        results = await gather(1000, lambda: echo(cb))
        assert refresh.call_count == 1
        assert all(isinstance(r, AuthenticationError) for r in results)
        assert results[0].code == "invalid_grant"
        assert "sign in again" in str(results[0])
        assert events == [AuthEvent.SIGNED_OUT]
        assert await store.get("credentials_env-1") is None
        # Signed out: the client is back to its publishable key.
        assert await echo(cb) == "Bearer pk-secret"
    await cb.aclose()


async def test_a_401_mid_flight_refreshes_once_and_retries_once() -> None:
    cb = CloudBase(env="env-1")
    await cb.auth.set_session(access_token="at-0", refresh_token="m.rt-0", expires_in=3600)
    answers = iter(
        [httpx.Response(401, json={"code": "ACCESS_TOKEN_EXPIRED", "message": "expired"})]
    )

    def data_side_effect(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or echo_auth(request)

    with respx.mock:
        refresh = respx.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(1)))
        data = respx.post(DATA).mock(side_effect=data_side_effect)
        assert await echo(cb) == "Bearer at-1"
    assert refresh.call_count == 1
    assert data.call_count == 2
    assert data.calls[0].request.headers["authorization"] == "Bearer at-0"
    assert data.calls[1].request.headers["authorization"] == "Bearer at-1"
    await cb.aclose()


async def test_many_401s_for_the_same_token_cause_one_refresh() -> None:
    cb = CloudBase(env="env-1")
    await cb.auth.set_session(access_token="at-0", refresh_token="m.rt-0", expires_in=3600)

    def data_side_effect(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer at-0":
            return httpx.Response(401, json={"code": "ACCESS_TOKEN_EXPIRED"})
        return echo_auth(request)

    with respx.mock:
        refresh = respx.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(1)))
        respx.post(DATA).mock(side_effect=data_side_effect)
        results = await gather(300, lambda: echo(cb))
    assert results == ["Bearer at-1"] * 300
    assert refresh.call_count == 1
    await cb.aclose()


async def test_a_second_401_after_the_retry_reaches_the_caller() -> None:
    cb = CloudBase(env="env-1")
    await cb.auth.set_session(access_token="at-0", refresh_token="m.rt-0", expires_in=3600)
    with respx.mock:
        refresh = respx.post(f"{AUTH}/token").mock(
            side_effect=[httpx.Response(200, json=tokens(1))]
        )
        data = respx.post(DATA).mock(
            return_value=httpx.Response(401, json={"code": "INVALID_ACCESS_TOKEN"})
        )
        with pytest.raises(AuthenticationError) as info:
            await echo(cb)
    assert info.value.code == "INVALID_ACCESS_TOKEN"
    assert refresh.call_count == 1
    assert data.call_count == 2
    await cb.aclose()


async def test_anonymous_session_signs_in_again_when_refresh_fails() -> None:
    cb = CloudBase(env="env-1")
    events: list[AuthEvent] = []
    with respx.mock:
        anon = respx.post(f"{AUTH}/signin/anonymously").mock(
            side_effect=[
                httpx.Response(200, json=tokens(1, scope="anonymous", expires_in=0)),
                httpx.Response(200, json=tokens(2, scope="anonymous")),
            ]
        )
        refresh = respx.post(f"{AUTH}/token").mock(
            return_value=httpx.Response(400, json={"error": "invalid_grant"})
        )
        respx.post(DATA).mock(side_effect=echo_auth)
        await cb.auth.sign_in_anonymously()
        cb.auth.on_auth_state_change(lambda event, session: events.append(event))
        results = await gather(200, lambda: echo(cb))
    assert results == ["Bearer at-2"] * 200
    assert refresh.call_count == 1
    assert anon.call_count == 2
    first, second = (call.request.headers["x-device-id"] for call in anon.calls)
    assert first == second
    assert "authorization" not in anon.calls.last.request.headers
    assert events == [AuthEvent.SIGNED_IN]
    await cb.aclose()


class GatedTransport(httpx.AsyncBaseTransport):
    """Holds the refresh answer until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = anyio.Event()
        self.refreshes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/v1/token":
            self.refreshes += 1
            await self.gate.wait()
            return httpx.Response(200, json=tokens(1))
        return httpx.Response(200, json={"auth": request.headers.get("authorization")})


async def test_cancelling_the_caller_that_started_the_refresh_keeps_the_new_token() -> None:
    transport = GatedTransport()
    store = MemoryStore()
    cb = CloudBase(env="env-1", transport=transport, session_store=store)
    await cb.auth.set_session(access_token="at-0", refresh_token="m.rt-0", expires_in=0)
    waiter_results: list[str] = []

    async def waiter() -> None:
        waiter_results.append(await echo(cb))

    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as starter_scope:
            async with anyio.create_task_group() as inner:
                inner.start_soon(echo, cb)  # finds the token stale and starts the flight
                await anyio.wait_all_tasks_blocked()
                assert transport.refreshes == 1
                tg.start_soon(waiter)  # joins that flight
                await anyio.wait_all_tasks_blocked()
                starter_scope.cancel()  # cancel the caller that owns the flight...
                transport.gate.set()  # ...while the server answers with a rotated token
        assert starter_scope.cancelled_caught
    assert waiter_results == ["Bearer at-1"]
    assert transport.refreshes == 1
    stored = json.loads(await store.get("credentials_env-1") or "{}")
    assert stored["refresh_token"] == "m.rt-1"
    assert await echo(cb) == "Bearer at-1"
    await cb.aclose()
