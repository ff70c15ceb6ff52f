"""The session manager's rules: expiry margin, clocks, fallback, events, redaction."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx

from cloudbase_async import (
    AuthenticationError,
    AuthEvent,
    CloudBase,
    ConfigurationError,
    MemoryStore,
    Session,
)
from cloudbase_async._core.transport import Request

pytestmark = pytest.mark.asyncio

AUTH = "https://env-1.api.tcloudbasegateway.com/auth/v1"
DATA = "https://env-1.api.tcloudbasegateway.com/v1/functions/echo"
SECRETS = ("at-1", "m.rt-1", "at-2", "m.rt-2", "pk-secret", "pw-secret", "cs-secret")


def tokens(n: int, *, scope: str = "user", expires_in: float = 100) -> dict[str, Any]:
    return {
        "access_token": f"at-{n}",
        "refresh_token": f"m.rt-{n}",
        "expires_in": expires_in,
        "scope": scope,
        "sub": "uid-1",
    }


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def cb() -> Any:
    async with CloudBase(env="env-1", publishable_key="pk-secret") as client:
        yield client


@pytest.fixture
def mock() -> Any:
    with respx.mock(assert_all_called=False) as router:
        router.post(DATA).mock(
            side_effect=lambda r: httpx.Response(200, json={"auth": r.headers.get("authorization")})
        )
        yield router


async def echo(cb: CloudBase) -> str:
    response = await cb._transport.send(Request("POST", "functions", "/echo", json={}))
    return str(response.json()["auth"])


def with_clocks(cb: CloudBase) -> tuple[Clock, Clock]:
    monotonic, wall = Clock(), Clock(1_700_000_000.0)
    cb._manager._clock = monotonic
    cb._manager._wall_clock = wall
    return monotonic, wall


async def test_no_session_uses_the_static_credential(cb: CloudBase, mock: respx.MockRouter) -> None:
    assert await echo(cb) == "Bearer pk-secret"
    assert await cb.auth.get_session() is None


async def test_no_credential_at_all(mock: respx.MockRouter) -> None:
    async with CloudBase(env="env-1") as cb:
        assert await echo(cb) == "None"


async def test_refreshes_30_seconds_before_expiry_on_the_monotonic_clock(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    monotonic, wall = with_clocks(cb)
    mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens(1)))
    refresh = mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(2)))
    session = await cb.auth.sign_in_with_password(username="u", password="pw-secret")
    assert session.expires_at == wall.now + 100

    wall.now += 10_000  # the wall clock jumps: irrelevant to freshness
    monotonic.now += 69
    assert await echo(cb) == "Bearer at-1"
    assert not refresh.called

    monotonic.now += 2  # 71 s after issue: inside the 30 s margin
    assert await echo(cb) == "Bearer at-2"
    assert refresh.call_count == 1


async def test_refresh_margin_is_configurable(mock: respx.MockRouter) -> None:
    async with CloudBase(env="env-1", refresh_margin=5) as cb:
        monotonic, _ = with_clocks(cb)
        mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens(1)))
        refresh = mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(2)))
        await cb.auth.sign_in_with_password(username="u", password="p")
        monotonic.now += 94
        assert await echo(cb) == "Bearer at-1"
        monotonic.now += 2
        assert await echo(cb) == "Bearer at-2"
        assert refresh.call_count == 1
    with pytest.raises(ConfigurationError):
        CloudBase(env="env-1", refresh_margin=-1)


async def test_margin_never_exceeds_half_the_lifetime(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    monotonic, _ = with_clocks(cb)
    mock.post(f"{AUTH}/signin").mock(
        return_value=httpx.Response(200, json=tokens(1, expires_in=20))
    )
    refresh = mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(2)))
    await cb.auth.sign_in_with_password(username="u", password="p")
    monotonic.now += 9  # a 30 s margin on a 20 s token would refresh on every call
    assert await echo(cb) == "Bearer at-1"
    assert not refresh.called


async def test_session_without_refresh_token_ends_when_stale(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    events: list[AuthEvent] = []
    cb.auth.on_auth_state_change(lambda event, session: events.append(event))
    await cb.auth.set_session(access_token="at-1", expires_in=0)
    with pytest.raises(AuthenticationError, match="no refresh token"):
        await echo(cb)
    assert events == [AuthEvent.SIGNED_IN, AuthEvent.SIGNED_OUT]
    assert await echo(cb) == "Bearer pk-secret"


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


async def test_set_session_reads_jwt_claims(cb: CloudBase, mock: respx.MockRouter) -> None:
    token = jwt({"exp": 1_900_000_000, "sub": "uid-9", "scope": "user"})
    session = await cb.auth.set_session(access_token=token, refresh_token="m.rt-9")
    assert session.expires_at == 1_900_000_000
    assert session.user_id == "uid-9"
    assert await echo(cb) == f"Bearer {token}"

    opaque = await cb.auth.set_session(access_token="opaque")
    assert opaque.expires_at is None  # unknown: used until the server refuses it
    assert await echo(cb) == "Bearer opaque"


async def test_set_session_with_a_session_object(cb: CloudBase, mock: respx.MockRouter) -> None:
    session = Session(access_token="at-1", refresh_token="m.rt-1", expires_at=None)
    assert await cb.auth.set_session(session) is session
    assert await echo(cb) == "Bearer at-1"


async def test_events_sync_async_unsubscribe_and_failing_callbacks(
    cb: CloudBase, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def sync_cb(event: AuthEvent, session: Session | None) -> None:
        seen.append(f"sync:{event}:{session.user_id if session else None}")

    async def async_cb(event: AuthEvent, session: Session | None) -> None:
        seen.append(f"async:{event}")

    def broken(event: AuthEvent, session: Session | None) -> None:
        raise RuntimeError("listener bug")

    cb.auth.on_auth_state_change(broken)
    sub_sync = cb.auth.on_auth_state_change(sync_cb)
    cb.auth.on_auth_state_change(async_cb)

    mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens(1)))
    mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(2)))
    mock.post(f"{AUTH}/revoke").mock(return_value=httpx.Response(200, json={}))
    with caplog.at_level(logging.WARNING, logger="cloudbase_async"):
        await cb.auth.sign_in_with_password(username="u", password="p")
        await cb.auth.refresh_session()
        sub_sync.unsubscribe()
        sub_sync.unsubscribe()  # twice is fine
        assert not sub_sync.active
        await cb.auth.sign_out()
    assert seen == [
        "sync:SIGNED_IN:uid-1",
        "async:SIGNED_IN",
        "sync:TOKEN_REFRESHED:uid-1",
        "async:TOKEN_REFRESHED",
        "async:SIGNED_OUT",
    ]
    failures = [r for r in caplog.records if "callback" in r.getMessage()]
    assert len(failures) == 3
    assert failures[0].exc_info is not None


async def test_on_auth_state_change_needs_a_callable(cb: CloudBase) -> None:
    with pytest.raises(TypeError):
        cb.auth.on_auth_state_change("nope")  # type: ignore[arg-type]


async def test_corrupt_stored_session_is_ignored(mock: respx.MockRouter) -> None:
    store = MemoryStore()
    await store.set("credentials_env-1", "{not json")
    async with CloudBase(env="env-1", publishable_key="pk-secret", session_store=store) as cb:
        assert await cb.auth.get_session() is None
        assert await echo(cb) == "Bearer pk-secret"


async def test_stored_device_id_of_a_bad_length_is_replaced(mock: respx.MockRouter) -> None:
    store = MemoryStore()
    await store.set("device_id", "short")
    route = mock.post(f"{AUTH}/signin/anonymously").mock(
        return_value=httpx.Response(200, json=tokens(1, scope="anonymous"))
    )
    async with CloudBase(env="env-1", session_store=store) as cb:
        await cb.auth.sign_in_anonymously()
    device = route.calls.last.request.headers["x-device-id"]
    assert len(device) == 32
    assert await store.get("device_id") == device


async def test_a_sign_in_during_a_refresh_wins(cb: CloudBase, mock: respx.MockRouter) -> None:
    await cb.auth.set_session(access_token="at-0", refresh_token="m.rt-0", expires_in=0)
    manager = cb._manager
    stale = manager.current
    assert stale is not None

    async def sign_in_meanwhile(request: httpx.Request) -> httpx.Response:
        await cb.auth.set_session(access_token="at-new", expires_in=3600)
        return httpx.Response(200, json=tokens(1))

    mock.post(f"{AUTH}/token").mock(side_effect=sign_in_meanwhile)
    assert await echo(cb) == "Bearer at-new"


async def test_tokens_never_reach_reprs_logs_or_errors(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens(1)))
    mock.post(f"{AUTH}/token").mock(
        side_effect=[
            httpx.Response(200, json=tokens(2)),
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "used"}),
        ]
    )
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="cloudbase_async"):
        async with CloudBase(
            env="env-1", publishable_key="pk-secret", client_secret="cs-secret"
        ) as cb:
            session = await cb.auth.sign_in_with_password(username="u", password="pw-secret")
            texts += [repr(session), str(session), repr(cb), repr(cb.credentials), repr(cb.auth)]
            refreshed = await cb.auth.refresh_session()
            texts.append(repr(refreshed))
            with pytest.raises(AuthenticationError) as info:
                await cb.auth.refresh_session()
            texts += [str(info.value), repr(info.value)]
            await echo(cb)
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records  # the calls were logged at all
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in joined, secret
    assert "<redacted>" in repr(session)


async def test_credentials_kind_follows_the_session(cb: CloudBase, mock: respx.MockRouter) -> None:
    assert cb._manager.kind == "publishable_key"
    await cb.auth.set_session(access_token="at-1", expires_in=3600)
    assert cb._manager.kind == "access_token"  # type: ignore[comparison-overlap]
    async with CloudBase(env="env-1") as bare:
        assert bare._manager.kind is None
