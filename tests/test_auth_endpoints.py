"""Every auth endpoint: the exact request sent and the parsed result (respx)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx

from cloudbase_async import (
    AuthenticationError,
    AuthEvent,
    BadRequestError,
    CaptchaRequiredError,
    CloudBase,
    ConflictError,
    InvalidRequestError,
    RateLimitError,
    ResponseValidationError,
    Session,
)
from cloudbase_async._core.transport import Request
from cloudbase_async.auth import (
    Provider,
    SudoToken,
    TokenInfo,
    User,
    Verification,
    VerificationToken,
)

pytestmark = pytest.mark.asyncio

AUTH = "https://env-1.api.tcloudbasegateway.com/auth/v1"
DATA = "https://env-1.api.tcloudbasegateway.com/v1/functions/echo"


def tokens(n: int = 1, *, scope: str = "user", expires_in: int = 7200) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "access_token": f"at-{n}",
        "refresh_token": f"m.rt-{n}",
        "expires_in": expires_in,
        "scope": scope,
        "sub": "uid-1",
        "groups": ["g"],
        "new_field": "kept",
    }


async def data_call(cb: CloudBase) -> None:
    """A data-plane call, to see which Authorization the client sends now."""
    await cb._transport.send(Request("POST", "functions", "/echo", json={}))


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_public_call(
    request: httpx.Request, *, client_id: str = "env-1", authorization: str | None = None
) -> None:
    """What every sign-in/sign-up/verification/token call carries, and what it must not."""
    assert request.headers.get("authorization") == authorization
    assert request.url.params["client_id"] == client_id
    device = request.headers["x-device-id"]
    assert len(device) == 32
    assert int(device, 16) >= 0
    assert request.headers["x-sdk-version"].startswith("cloudbase-async/")


@pytest_asyncio.fixture
async def cb() -> Any:
    async with CloudBase(env="env-1", publishable_key="pk-secret") as client:
        yield client


async def signed_in(cb: CloudBase, mock: respx.MockRouter) -> Session:
    mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens()))
    return await cb.auth.sign_in_with_password(username="alice", password="pw-secret")


# -- sign in -----------------------------------------------------------------------------


async def test_sign_in_anonymously(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/signin/anonymously").mock(
        return_value=httpx.Response(200, json=tokens(scope="anonymous"))
    )
    session = await cb.auth.sign_in_anonymously()
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {}
    assert session.access_token == "at-1"
    assert session.refresh_token == "m.rt-1"
    assert session.is_anonymous
    assert session.user_id == "uid-1"
    assert session.groups == ["g"]
    assert session.extra == {"new_field": "kept"}
    assert session.expires_in() == pytest.approx(7200, abs=5)


async def test_anonymous_sign_in_uses_basic_client_auth_with_a_secret(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{AUTH}/signin/anonymously").mock(
        return_value=httpx.Response(200, json=tokens(scope="anonymous"))
    )
    async with CloudBase(env="env-1", client_id="app-7", client_secret="cs-secret") as cb:
        await cb.auth.sign_in_anonymously(provider_token="pt")
    sent = route.calls.last.request
    expected = base64.b64encode(b"app-7:cs-secret").decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    assert sent.url.params["client_id"] == "app-7"
    assert body_of(sent) == {"provider_token": "pt"}


async def test_device_id_is_stable_across_calls(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/signin/anonymously").mock(
        return_value=httpx.Response(200, json=tokens(scope="anonymous"))
    )
    await cb.auth.sign_in_anonymously()
    await cb.auth.sign_in_anonymously()
    first, second = (call.request.headers["x-device-id"] for call in route.calls)
    assert first == second


async def test_sign_in_with_password_sends_no_stale_authorization(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    await signed_in(cb, mock)  # now the client holds a user token
    route = mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens(2)))
    session = await cb.auth.sign_in_with_password(username="bob", password="pw-secret")
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"username": "bob", "password": "pw-secret"}
    assert "x-captcha-token" not in sent.headers
    assert session.access_token == "at-2"
    # and the client now acts as bob
    data = mock.post(DATA).mock(return_value=httpx.Response(200, json={}))
    await data_call(cb)
    assert data.calls.last.request.headers["authorization"] == "Bearer at-2"


async def test_sign_in_with_password_captcha_token_header(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens()))
    await cb.auth.sign_in_with_password(username="a", password="b", captcha_token="cap-1")
    assert route.calls.last.request.headers["x-captcha-token"] == "cap-1"
    # ...and the query parameter the official SDK appends to the retried URL.
    assert route.calls.last.request.url.params["captcha_token"] == "cap-1"


async def test_send_verification_phone(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/verification").mock(
        return_value=httpx.Response(
            200, json={"verification_id": "v-1", "expires_in": 600, "is_user": True}
        )
    )
    verification = await cb.auth.send_verification(phone_number="+8613800138000")
    sent = route.calls.last.request
    # The publishable key, as the official SDK sends it on code requests.
    assert_public_call(sent, authorization="Bearer pk-secret")
    assert body_of(sent) == {"phone_number": "+86 13800138000", "target": "ANY"}
    assert verification == Verification(verification_id="v-1", expires_in=600, is_user=True)


async def test_send_verification_email_with_options(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/verification").mock(
        return_value=httpx.Response(200, json={"verification_id": "v-2", "is_user": False})
    )
    await cb.auth.send_verification(
        email="a@example.com", target="NOT_USER", usage="SIGN_UP", email_redirect_to="https://x/"
    )
    assert body_of(route.calls.last.request) == {
        "email": "a@example.com",
        "target": "NOT_USER",
        "usage": "SIGN_UP",
        "email_redirect_to": "https://x/",
    }


async def test_send_verification_for_current_user_carries_the_session(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    await signed_in(cb, mock)
    route = mock.post(f"{AUTH}/verification").mock(
        return_value=httpx.Response(200, json={"verification_id": "v-3", "is_user": True})
    )
    await cb.auth.send_verification(phone_number="13800138000", target="CUR_USER")
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer at-1"
    assert "client_id" not in sent.url.params


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "exactly one"),
        ({"phone_number": "13800138000", "email": "a@b.c"}, "exactly one"),
        ({"phone_number": "12345"}, "phone number"),
        ({"email": "not-an-email"}, "email"),
        ({"phone_number": "13800138000", "target": "EVERYONE"}, "target"),
    ],
)
async def test_send_verification_refuses_bad_input_before_sending(
    cb: CloudBase, mock: respx.MockRouter, kwargs: dict[str, Any], fragment: str
) -> None:
    route = mock.post(f"{AUTH}/verification")
    with pytest.raises(InvalidRequestError, match=fragment):
        await cb.auth.send_verification(**kwargs)
    assert not route.called


async def test_verify(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/verification/verify").mock(
        return_value=httpx.Response(200, json={"verification_token": "vt-1", "expires_in": 600})
    )
    token = await cb.auth.verify("v-1", "123456")
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"verification_id": "v-1", "verification_code": "123456"}
    assert token == VerificationToken(verification_token="vt-1", expires_in=600)
    assert "vt-1" not in repr(token)


async def test_sign_in_with_verification(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens()))
    session = await cb.auth.sign_in_with_verification(VerificationToken("vt-1"))
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"verification_token": "vt-1"}
    assert session.access_token == "at-1"


async def test_sign_up(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/signup").mock(return_value=httpx.Response(200, json=tokens()))
    session = await cb.auth.sign_up(
        verification_token="vt-1",
        phone_number="138 0013 8000",
        username="alice",
        password="pw-secret",
        name="Alice",
    )
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {
        "phone_number": "+86 13800138000",
        "verification_token": "vt-1",
        "username": "alice",
        "password": "pw-secret",
        "name": "Alice",
    }
    assert session.user_id == "uid-1"


@pytest.mark.parametrize(("is_user", "path"), [(True, "/signin"), (False, "/signup")])
async def test_sign_in_with_otp(
    cb: CloudBase, mock: respx.MockRouter, is_user: bool, path: str
) -> None:
    send = mock.post(f"{AUTH}/verification").mock(
        return_value=httpx.Response(200, json={"verification_id": "v-9", "is_user": is_user})
    )
    verify = mock.post(f"{AUTH}/verification/verify").mock(
        return_value=httpx.Response(200, json={"verification_token": "vt-9", "expires_in": 600})
    )
    finish = mock.post(f"{AUTH}{path}").mock(return_value=httpx.Response(200, json=tokens()))
    other = mock.post(f"{AUTH}{'/signup' if is_user else '/signin'}")

    handle = await cb.auth.sign_in_with_otp(phone_number="86-138-0013-8000")
    assert body_of(send.calls.last.request) == {"phone_number": "+86 13800138000", "target": "ANY"}
    assert handle.is_user is is_user
    assert not verify.called  # nothing happens until the code arrives

    session = await handle.verify("123456", name="New")
    assert body_of(verify.calls.last.request) == {
        "verification_id": "v-9",
        "verification_code": "123456",
    }
    sent = finish.calls.last.request
    assert_public_call(sent)
    if is_user:
        # The phone goes along as the username, as every official path sends it.
        assert body_of(sent) == {"verification_token": "vt-9", "username": "+86 13800138000"}
    else:
        assert body_of(sent) == {
            "phone_number": "+86 13800138000",
            "verification_token": "vt-9",
            "name": "New",
        }
    assert not other.called
    assert session.access_token == "at-1"
    assert (await cb.auth.get_session()) == session


async def test_sign_in_with_custom_ticket(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/signin/custom").mock(return_value=httpx.Response(200, json=tokens()))
    await cb.auth.sign_in_with_custom_ticket("ticket-1")
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"provider_id": "custom", "ticket": "ticket-1"}


async def test_sign_in_with_provider(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/signin/with/provider").mock(
        return_value=httpx.Response(200, json=tokens())
    )
    await cb.auth.sign_in_with_provider("pt-1")
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"provider_token": "pt-1"}


async def test_sign_in_is_not_retried_after_a_server_error(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(503, json={}))
    with pytest.raises(Exception, match="503"):
        await cb.auth.sign_in_with_password(username="a", password="b")
    assert route.call_count == 1


# -- tokens ------------------------------------------------------------------------------


async def test_refresh_session(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    route = mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(2)))
    events: list[AuthEvent] = []
    cb.auth.on_auth_state_change(lambda event, session: events.append(event))
    session = await cb.auth.refresh_session()
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {
        "grant_type": "refresh_token",
        "refresh_token": "m.rt-1",
        "client_id": "env-1",
    }
    assert session.access_token == "at-2"
    assert session.refresh_token == "m.rt-2"
    assert events == [AuthEvent.TOKEN_REFRESHED]


async def test_refresh_sends_client_secret_in_body(mock: respx.MockRouter) -> None:
    async with CloudBase(env="env-1", client_secret="cs-secret") as cb:
        await signed_in(cb, mock)
        route = mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=tokens(2)))
        await cb.auth.refresh_session()
    sent = route.calls.last.request
    assert "authorization" not in sent.headers
    assert body_of(sent)["client_secret"] == "cs-secret"


async def test_refresh_keeps_the_old_refresh_token_when_not_rotated(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    await signed_in(cb, mock)
    answer = tokens(2)
    del answer["refresh_token"]
    mock.post(f"{AUTH}/token").mock(return_value=httpx.Response(200, json=answer))
    session = await cb.auth.refresh_session()
    assert session.refresh_token == "m.rt-1"


async def test_refresh_without_session(cb: CloudBase) -> None:
    with pytest.raises(AuthenticationError, match="sign in"):
        await cb.auth.refresh_session()


async def test_introspect(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{AUTH}/token/introspect").mock(
        return_value=httpx.Response(
            200, json={"token_type": "Bearer", "client_id": "env-1", "sub": "u", "scope": "user"}
        )
    )
    info = await cb.auth.introspect("tok-1")
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer tok-1"
    assert info == TokenInfo(
        active=True, token_type="Bearer", client_id="env-1", sub="u", scope="user"
    )

    route.mock(return_value=httpx.Response(200, json={}))
    assert (await cb.auth.introspect("tok-2")).active is False


async def test_revoke(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    route = mock.post(f"{AUTH}/revoke").mock(return_value=httpx.Response(200, json={}))
    assert await cb.auth.revoke("other-token") is None
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer at-1"
    assert body_of(sent) == {"token": "other-token"}


async def test_sign_out_revokes_and_clears(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    route = mock.post(f"{AUTH}/revoke").mock(return_value=httpx.Response(200, json={}))
    events: list[tuple[AuthEvent, Session | None]] = []
    cb.auth.on_auth_state_change(lambda event, session: events.append((event, session)))
    assert await cb.auth.sign_out() is None
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer at-1"
    assert body_of(sent) == {"token": "at-1"}
    assert await cb.auth.get_session() is None
    assert events == [(AuthEvent.SIGNED_OUT, None)]
    # back to the publishable key
    data = mock.post(DATA).mock(return_value=httpx.Response(200, json={}))
    await data_call(cb)
    assert data.calls.last.request.headers["authorization"] == "Bearer pk-secret"


async def test_sign_out_with_redirect(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    route = mock.post(f"{AUTH}/user/signout").mock(
        return_value=httpx.Response(200, json={"redirect_uri": "https://idp/logout"})
    )
    uri = await cb.auth.sign_out(redirect_uri="https://app/", state="s")
    assert uri == "https://idp/logout"
    assert body_of(route.calls.last.request) == {"redirect_uri": "https://app/", "state": "s"}
    assert await cb.auth.get_session() is None


async def test_sign_out_clears_even_when_the_server_fails(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    await signed_in(cb, mock)
    mock.post(f"{AUTH}/revoke").mock(return_value=httpx.Response(400, json={"error": "internal"}))
    with pytest.raises(BadRequestError):
        await cb.auth.sign_out()
    assert await cb.auth.get_session() is None


async def test_sign_out_with_an_already_dead_token(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    mock.post(f"{AUTH}/revoke").mock(
        return_value=httpx.Response(401, json={"error": "unauthenticated"})
    )
    assert await cb.auth.sign_out() is None
    assert await cb.auth.get_session() is None


async def test_sign_out_without_session_sends_nothing(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{AUTH}/revoke")
    assert await cb.auth.sign_out() is None
    assert not route.called


# -- the user ----------------------------------------------------------------------------

USER_ME = {
    "sub": "uid-1",
    "name": "Alice",
    "username": "alice",
    "phone_number": "+86 13800138000",
    "providers": [{"id": "wx", "provider_user_id": "o-1", "name": "WeChat", "x": 1}],
    "groups": [{"id": "admins"}],
    "has_password": True,
    "meta": {"k": "v"},
    "brand_new": 42,
}


async def test_get_user(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    route = mock.get(f"{AUTH}/user/me").mock(return_value=httpx.Response(200, json=USER_ME))
    user = await cb.auth.get_user()
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer at-1"
    assert len(sent.headers["x-device-id"]) == 32
    assert "client_id" not in sent.url.params
    assert isinstance(user, User)
    assert user.username == "alice"
    assert user.providers[0].provider_user_id == "o-1"
    assert user.providers[0].extra == {"x": 1}
    assert user.groups[0].id == "admins"
    assert user.extra == {"brand_new": 42}


async def test_update_user(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    edit = mock.post(f"{AUTH}/user/basic/edit").mock(return_value=httpx.Response(200, json={}))
    mock.get(f"{AUTH}/user/me").mock(return_value=httpx.Response(200, json=USER_ME))
    events: list[AuthEvent] = []
    cb.auth.on_auth_state_change(lambda event, session: events.append(event))
    user = await cb.auth.update_user(nickname="Al", gender="FEMALE", extra={"description": "d"})
    sent = edit.calls.last.request
    assert sent.headers["authorization"] == "Bearer at-1"
    assert body_of(sent) == {"nickname": "Al", "gender": "FEMALE", "description": "d"}
    assert user.name == "Alice"
    assert events == [AuthEvent.USER_UPDATED]
    with pytest.raises(InvalidRequestError):
        await cb.auth.update_user()


async def test_sudo_change_password_delete_user(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    sudo = mock.post(f"{AUTH}/user/sudo").mock(
        return_value=httpx.Response(200, json={"sudo_token": "st-1", "expires_in": 900})
    )
    token = await cb.auth.sudo(password="pw-secret")
    assert body_of(sudo.calls.last.request) == {"password": "pw-secret"}
    assert sudo.calls.last.request.headers["authorization"] == "Bearer at-1"
    assert token == SudoToken(sudo_token="st-1", expires_in=900)
    assert "st-1" not in repr(token)

    await cb.auth.sudo(verification_token=VerificationToken("vt-1"))
    assert body_of(sudo.calls.last.request) == {"verification_token": "vt-1"}
    with pytest.raises(InvalidRequestError):
        await cb.auth.sudo()

    change = mock.patch(f"{AUTH}/user/password").mock(return_value=httpx.Response(200, json={}))
    await cb.auth.change_password(new_password="new-pw", sudo_token=token, old_password="old")
    assert body_of(change.calls.last.request) == {
        "new_password": "new-pw",
        "sudo_token": "st-1",
        "old_password": "old",
    }
    assert change.calls.last.request.headers["authorization"] == "Bearer at-1"

    delete = mock.delete(f"{AUTH}/user/me").mock(return_value=httpx.Response(200, json={}))
    await cb.auth.delete_user(sudo_token="st-1")
    sent = delete.calls.last.request
    assert sent.url.params["sudo_token"] == "st-1"
    assert sent.headers["authorization"] == "Bearer at-1"
    assert await cb.auth.get_session() is None


async def test_reset_password(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{AUTH}/reset").mock(return_value=httpx.Response(200, json={}))
    await cb.auth.reset_password(new_password="n", verification_token="vt-1", email="a@example.com")
    sent = route.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {
        "email": "a@example.com",
        "new_password": "n",
        "verification_token": "vt-1",
    }


async def test_providers(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    listing = mock.get(f"{AUTH}/user/provider").mock(
        return_value=httpx.Response(
            200, json={"total": 1, "data": [{"id": "wx", "name": "WeChat", "bind": True}]}
        )
    )
    assert await cb.auth.list_providers() == [Provider(id="wx", name="WeChat", bind=True)]
    assert listing.calls.last.request.headers["authorization"] == "Bearer at-1"

    bind = mock.post(f"{AUTH}/user/provider/bind").mock(return_value=httpx.Response(200, json={}))
    await cb.auth.bind_provider("pt-1")
    assert body_of(bind.calls.last.request) == {"provider_token": "pt-1"}

    unbind = mock.delete(f"{AUTH}/user/provider/we%20chat").mock(
        return_value=httpx.Response(200, json={})
    )
    await cb.auth.unbind_provider("we chat")
    assert unbind.called


# -- errors ------------------------------------------------------------------------------


async def test_oauth_error_body(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.post(f"{AUTH}/signin").mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "invalid_username_or_password",
                "error_code": 16,
                "error_description": "wrong",
            },
            headers={"x-request-id": "rq-1"},
        )
    )
    with pytest.raises(AuthenticationError) as info:
        await cb.auth.sign_in_with_password(username="a", password="b")
    assert info.value.code == "invalid_username_or_password"
    assert info.value.message == "wrong"
    assert info.value.request_id == "rq-1"


@pytest.mark.parametrize(
    ("body", "cls", "code"),
    [
        (
            {"error": "already_exists", "error_description": "taken"},
            ConflictError,
            "already_exists",
        ),
        (
            {"code": "EXCEED_REQUEST_LIMIT", "message": "slow down"},
            RateLimitError,
            "EXCEED_REQUEST_LIMIT",
        ),
        ({"error": "invalid_verification_code"}, BadRequestError, "invalid_verification_code"),
    ],
)
async def test_2xx_bodies_that_carry_an_error_raise(
    cb: CloudBase, mock: respx.MockRouter, body: dict[str, Any], cls: type[Exception], code: str
) -> None:
    mock.post(f"{AUTH}/verification/verify").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(cls) as info:
        await cb.auth.verify("v", "1")
    assert getattr(info.value, "code", None) == code


async def test_captcha_flow(cb: CloudBase, mock: respx.MockRouter) -> None:
    data = mock.post(f"{AUTH}/captcha/data").mock(
        return_value=httpx.Response(200, json={"token": "ct-1", "data": "data:image/png;base64,xx"})
    )
    challenge = await cb.auth.request_captcha(redirect_uri="https://app/", state="s1")
    sent = data.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"state": "s1", "redirect_uri": "https://app/"}
    assert challenge.data == "data:image/png;base64,xx"
    assert "ct-1" not in repr(challenge)

    verify = mock.post(f"{AUTH}/captcha/data/verify").mock(
        return_value=httpx.Response(200, json={"captcha_token": "cap-9", "expires_in": 600})
    )
    solved = await cb.auth.verify_captcha(challenge.token, "ab12")
    sent = verify.calls.last.request
    assert_public_call(sent)
    assert body_of(sent) == {"token": "ct-1", "key": "ab12"}
    assert solved.captcha_token == "cap-9"

    send = mock.post(f"{AUTH}/verification").mock(
        return_value=httpx.Response(200, json={"verification_id": "v", "is_user": True})
    )
    await cb.auth.send_verification(email="a@example.com", captcha_token=solved.captcha_token)
    assert send.calls.last.request.headers["x-captcha-token"] == "cap-9"
    assert send.calls.last.request.url.params["captcha_token"] == "cap-9"


async def test_captcha_required_says_what_to_do(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.post(f"{AUTH}/verification").mock(
        return_value=httpx.Response(
            400, json={"error": "captcha_required", "error_code": 4001, "error_description": "x"}
        )
    )
    with pytest.raises(CaptchaRequiredError) as info:
        await cb.auth.send_verification(phone_number="13800138000")
    assert info.value.code == "captcha_required"
    assert "captcha_token=" in str(info.value)
    assert "x-captcha-token" in str(info.value)


# -- copies --------------------------------------------------------------------------------


async def test_with_options_copy_shares_the_session(cb: CloudBase, mock: respx.MockRouter) -> None:
    await signed_in(cb, mock)
    copy = cb.with_options(timeout=5)
    assert (await copy.auth.get_session()) == (await cb.auth.get_session())
    route = mock.get(f"{AUTH}/user/me").mock(return_value=httpx.Response(200, json=USER_ME))
    await copy.auth.get_user()
    assert route.calls.last.request.headers["authorization"] == "Bearer at-1"


async def test_with_access_token_copy_has_a_fixed_identity(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    await signed_in(cb, mock)
    user_cb = cb.with_access_token("tok-user-2")
    route = mock.get(f"{AUTH}/user/me").mock(return_value=httpx.Response(200, json=USER_ME))
    await user_cb.auth.get_user()
    assert route.calls.last.request.headers["authorization"] == "Bearer tok-user-2"

    # A sign-in on the copy returns the session without replacing the family's.
    mock.post(f"{AUTH}/signin").mock(return_value=httpx.Response(200, json=tokens(5)))
    session = await user_cb.auth.sign_in_with_password(username="c", password="d")
    assert session.access_token == "at-5"
    assert (await cb.auth.get_session()).access_token == "at-1"  # type: ignore[union-attr]
    assert await user_cb.auth.get_session() is None
    with pytest.raises(InvalidRequestError, match="with_access_token"):
        await user_cb.auth.refresh_session()

    revoke = mock.post(f"{AUTH}/revoke").mock(return_value=httpx.Response(200, json={}))
    await user_cb.auth.sign_out()
    assert body_of(revoke.calls.last.request) == {"token": "tok-user-2"}
    assert (await cb.auth.get_session()) is not None  # the family is untouched


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, json={}), httpx.Response(200, text="<html>gateway</html>")],
)
async def test_an_unexpected_2xx_body_is_an_api_error(
    cb: CloudBase, mock: respx.MockRouter, response: httpx.Response
) -> None:
    mock.post(f"{AUTH}/signin").mock(return_value=response)
    with pytest.raises(ResponseValidationError) as info:
        await cb.auth.sign_in_with_password(username="a", password="b")
    assert info.value.status_code == 200
    assert await cb.auth.get_session() is None
