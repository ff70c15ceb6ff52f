"""The local auth service through this SDK over real HTTP: every sign-in flow, rotating
single-use refresh tokens (reuse revokes the family), the user's profile and security,
and custom-login tickets minted as a backend mints them (``create_ticket`` and the
official node-sdk, from the gateway's key file)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import anyio
import attrs
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudbase_async import (
    AuthenticationError,
    BadRequestError,
    CloudBase,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
)
from cloudbase_async.auth import AuthEvent, MemoryStore, TicketCredentials, create_ticket
from cloudbase_async.auth._ticket import ticket_claims
from cloudbase_async.local import LocalCloudBase
from tests.js.tc3 import oracle

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

PHONE = "+86 13800138000"


@pytest.fixture
async def app(cloudbase_local: LocalCloudBase) -> AsyncIterator[CloudBase]:
    """A client as an app has it: the publishable key, no user yet."""
    async with cloudbase_local.client(publishable_key=True) as client:
        yield client


async def sign_up_by_sms(local: LocalCloudBase, cb: CloudBase, phone: str = PHONE) -> str:
    otp = await cb.auth.sign_in_with_otp(phone_number=phone)
    assert otp.is_user is False
    session = await otp.verify(local.sms_codes[phone], username="alice", password="s3cret-pw")
    assert session.user_id is not None
    return session.user_id


async def test_anonymous_sign_in_is_one_user_per_device(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    first = await app.auth.sign_in_anonymously()
    again = await app.auth.sign_in_anonymously()  # same store, same x-device-id
    user = await app.auth.get_user()
    async with cloudbase_local.client(publishable_key=True) as other_device:
        other = await other_device.auth.sign_in_anonymously()

    assert first.scope == "anonymous"
    assert first.is_anonymous
    assert first.user_id == again.user_id != other.user_id
    assert first.access_token != again.access_token
    assert (user.sub, user.name, user.type) == (first.user_id, "anonymous", "ANONYMOUS")


async def test_anonymous_sign_in_needs_a_device_id(cloudbase_local: LocalCloudBase) -> None:
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as http:
        response = await http.post("/auth/v1/signin/anonymously", json={})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_argument"
    assert response.json()["error_code"] == 3


async def test_sms_sign_up_then_password_and_sms_sign_in(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    uid = await sign_up_by_sms(cloudbase_local, app)
    me = await app.auth.get_user()
    assert (me.phone_number, me.username, me.has_password) == (PHONE, "alice", True)

    async with cloudbase_local.client(publishable_key=True) as cb:
        by_name = await cb.auth.sign_in_with_password(username="alice", password="s3cret-pw")
        by_phone = await cb.auth.sign_in_with_password(username="13800138000", password="s3cret-pw")
        otp = await cb.auth.sign_in_with_otp(phone_number="138 0013 8000")
        assert otp.is_user is True
        by_code = await otp.verify(cloudbase_local.sms_codes["+8613800138000"])
        with pytest.raises(AuthenticationError) as wrong:
            await cb.auth.sign_in_with_password(username="alice", password="nope")
    assert by_name.user_id == by_phone.user_id == by_code.user_id == uid
    assert wrong.value.code == "invalid_username_or_password"


async def test_email_codes_and_wrong_codes(cloudbase_local: LocalCloudBase, app: CloudBase) -> None:
    verification = await app.auth.send_verification(email="Ada@Example.com")
    code = cloudbase_local.email_codes["ada@example.com"]
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(BadRequestError) as refused:
        await app.auth.verify(verification.verification_id, wrong)
    token = await app.auth.verify(verification.verification_id, code)
    with pytest.raises(BadRequestError):  # a code works once
        await app.auth.verify(verification.verification_id, code)
    session = await app.auth.sign_up(verification_token=token, email="ada@example.com")

    assert refused.value.code == "invalid_verification_code"
    assert (await app.auth.get_user()).email == "ada@example.com"
    assert session.scope == "user"
    assert [c.to for c in cloudbase_local.sent_codes()] == ["ada@example.com"]


async def test_verification_targets(cloudbase_local: LocalCloudBase, app: CloudBase) -> None:
    with pytest.raises(NotFoundError):
        await app.auth.send_verification(phone_number=PHONE, target="USER")
    await sign_up_by_sms(cloudbase_local, app)
    with pytest.raises(ConflictError):
        await app.auth.send_verification(phone_number=PHONE, target="NOT_USER")
    mine = await app.auth.send_verification(phone_number=PHONE, target="CUR_USER")
    assert mine.is_user is True


async def test_sign_up_with_a_username_taken_is_refused(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    await sign_up_by_sms(cloudbase_local, app)
    otp = await app.auth.sign_in_with_otp(phone_number="+86 13900139000")
    with pytest.raises(ConflictError) as taken:
        await otp.verify(cloudbase_local.sms_codes["13900139000"], username="alice")
    assert taken.value.code == "already_exists"


async def test_an_anonymous_user_signs_up_keeping_its_uid(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    anonymous = await app.auth.sign_in_anonymously()
    verification = await app.auth.send_verification(phone_number=PHONE)
    token = await app.auth.verify(verification.verification_id, cloudbase_local.sms_codes[PHONE])
    upgraded = await app.auth.sign_up(
        verification_token=token, phone_number=PHONE, anonymous_token=anonymous.access_token
    )
    assert upgraded.user_id == anonymous.user_id
    assert upgraded.scope == "user"
    assert (await app.auth.get_user()).name != "anonymous"


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    await sign_up_by_sms(cloudbase_local, app)
    first = await app.auth.get_session()
    assert first is not None
    assert first.refresh_token is not None
    rotated = await app.auth.refresh_session()
    assert rotated.refresh_token not in (None, first.refresh_token)
    assert rotated.access_token != first.access_token

    # Someone replays the used refresh token.
    async with cloudbase_local.client(publishable_key=True) as thief:
        await thief.auth.set_session(
            access_token=first.access_token, refresh_token=first.refresh_token
        )
        with pytest.raises(AuthenticationError) as replay:
            await thief.auth.refresh_session()
    assert replay.value.code == "invalid_grant"

    # The whole family is gone: the rotated tokens too.
    assert (await app.auth.introspect(rotated.access_token)).active is False
    events: list[AuthEvent] = []
    app.auth.on_auth_state_change(lambda event, session: events.append(event))
    with pytest.raises(AuthenticationError) as ended:
        await app.auth.get_user()
    assert ended.value.code == "invalid_grant"
    assert events == [AuthEvent.SIGNED_OUT]
    assert await app.auth.get_session() is None


async def test_invalid_grant_body_on_the_wire(cloudbase_local: LocalCloudBase) -> None:
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as http:
        response = await http.post(
            "/auth/v1/token",
            content=b'{"grant_type":"refresh_token","refresh_token":"m.nope"}',
            headers={"Content-Type": "text/plain;charset=UTF-8"},  # as the js-sdk sends it
        )
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["error_code"]) == ("invalid_grant", 16)
    assert body["error_description"]


async def test_short_lived_access_tokens_are_refreshed_by_the_sdk(anyio_backend: str) -> None:
    async with (
        LocalCloudBase(access_token_lifetime=1) as local,
        local.client(publishable_key=True) as cb,
    ):
        session = await cb.auth.sign_in_anonymously()
        assert session.expires_in() is not None
        await anyio.sleep(1.5)  # the token is expired by now (whole seconds, rounded up)
        refreshed: list[AuthEvent] = []
        cb.auth.on_auth_state_change(lambda event, s: refreshed.append(event))
        user = await cb.auth.get_user()
        current = await cb.auth.get_session()
    assert user.sub == session.user_id
    assert current is not None
    assert current.access_token != session.access_token
    assert refreshed[:1] == [AuthEvent.TOKEN_REFRESHED]


async def test_introspect_revoke_and_sign_out(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    session = await app.auth.sign_in_anonymously()
    info = await app.auth.introspect(session.access_token)
    assert (info.active, info.sub, info.scope) == (True, session.user_id, "anonymous")

    async with cloudbase_local.client() as admin:
        await admin.auth.revoke(session.access_token)
    assert (await app.auth.introspect(session.access_token)).active is False
    with pytest.raises(AuthenticationError):
        async with cloudbase_local.client(access_token=session.access_token) as stale:
            await stale.functions.invoke("anything")

    again = await app.auth.sign_in_anonymously()
    await app.auth.sign_out()
    assert (await app.auth.introspect(again.access_token)).active is False


async def test_profile_sudo_password_change_and_delete(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    uid = await sign_up_by_sms(cloudbase_local, app)
    user = await app.auth.update_user(nickname="Ada", gender="FEMALE", avatar_url="https://a/b.png")
    assert (user.name, user.gender, user.picture) == ("Ada", "FEMALE", "https://a/b.png")

    with pytest.raises(AuthenticationError):
        await app.auth.sudo(password="wrong")
    sudo = await app.auth.sudo(password="s3cret-pw")
    await app.auth.change_password(new_password="n3w-pw", sudo_token=sudo)
    async with cloudbase_local.client(publishable_key=True) as cb:
        with pytest.raises(AuthenticationError):
            await cb.auth.sign_in_with_password(username="alice", password="s3cret-pw")
        assert (
            await cb.auth.sign_in_with_password(username="alice", password="n3w-pw")
        ).user_id == uid

    verification = await app.auth.send_verification(phone_number=PHONE, target="CUR_USER")
    token = await app.auth.verify(verification.verification_id, cloudbase_local.sms_codes[PHONE])
    await app.auth.delete_user(sudo_token=await app.auth.sudo(verification_token=token))
    assert await app.auth.get_session() is None
    async with cloudbase_local.client(publishable_key=True) as cb:
        with pytest.raises(AuthenticationError):
            await cb.auth.sign_in_with_password(username="alice", password="n3w-pw")


async def test_reset_password_ends_every_session(
    cloudbase_local: LocalCloudBase, app: CloudBase
) -> None:
    await sign_up_by_sms(cloudbase_local, app)
    old = await app.auth.get_session()
    assert old is not None
    async with cloudbase_local.client(publishable_key=True) as cb:
        verification = await cb.auth.send_verification(phone_number=PHONE, target="USER")
        token = await cb.auth.verify(verification.verification_id, cloudbase_local.sms_codes[PHONE])
        await cb.auth.reset_password(
            new_password="fresh-pw", verification_token=token, phone_number=PHONE
        )
        await cb.auth.sign_in_with_password(username="alice", password="fresh-pw")
    assert (await app.auth.introspect(old.access_token)).active is False


Providers = list[tuple[str | None, str | None]]


async def _ticket_user(local: LocalCloudBase, ticket: str) -> tuple[str | None, Providers]:
    """Sign in with ``ticket`` as an app would; the user id and its providers."""
    async with local.client(publishable_key=True) as cb:
        session = await cb.auth.sign_in_with_custom_ticket(ticket)
        user = await cb.auth.get_user()
    assert session.scope == "user"
    assert session.user_id == user.sub
    return user.sub, [(p.id, p.provider_user_id) for p in user.providers]


async def test_custom_ticket_sign_in(cloudbase_local: LocalCloudBase, app: CloudBase) -> None:
    ticket = cloudbase_local.custom_ticket("employee-42")
    first = await app.auth.sign_in_with_custom_ticket(ticket)
    again = await app.auth.sign_in_with_custom_ticket(cloudbase_local.custom_ticket("employee-42"))
    user = await app.auth.get_user()
    assert first.user_id == again.user_id == user.sub
    assert [(p.id, p.provider_user_id) for p in user.providers] == [("custom", "employee-42")]
    # The uid rule is the node-sdk's: more than letters, digits, _ and -.
    other, providers = await _ticket_user(cloudbase_local, cloudbase_local.custom_ticket("e#7@x"))
    assert other != user.sub
    assert providers == [("custom", "e#7@x")]
    with pytest.raises(InvalidRequestError, match="uid"):
        cloudbase_local.custom_ticket("x")


async def test_a_backend_mints_with_the_key_file_and_create_ticket(
    cloudbase_local: LocalCloudBase, tmp_path: Path
) -> None:
    path = cloudbase_local.write_custom_login_key(tmp_path / "custom-login.json")
    assert path.stat().st_mode & 0o777 == 0o600
    credentials = TicketCredentials.from_file(path)  # what the backend does
    assert credentials == cloudbase_local.custom_login_key
    assert credentials.env_id == cloudbase_local.env
    assert "PRIVATE KEY" not in repr(credentials)
    ticket = create_ticket("backend-user", credentials=credentials)
    assert ticket.startswith(credentials.private_key_id + "/@@/")
    _, providers = await _ticket_user(cloudbase_local, ticket)
    assert providers == [("custom", "backend-user")]

    # The same key over the admin API, for a backend in another language.
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as http:
        served = await http.get(
            "/_local/custom-login-key",
            headers={"Authorization": f"Bearer {cloudbase_local.api_key}"},
        )
        anonymous = await http.get(
            "/_local/custom-login-key",
            headers={"Authorization": f"Bearer {cloudbase_local.publishable_key}"},
        )
    assert TicketCredentials.from_json(served.content) == credentials
    assert anonymous.status_code == 403


def _forged(key: TicketCredentials, claims: dict[str, Any], *, key_id: str | None = None) -> str:
    """A ticket with exactly ``claims``, signed with ``key`` (create_ticket would refuse)."""
    token = jwt.encode(claims, key.private_key, algorithm="RS256")
    return f"{key_id or key.private_key_id}/@@/{token}"


def _claims(env: str, uid: str = "user-0001", *, issued: datetime | None = None) -> dict[str, Any]:
    issued_ms = int((issued or datetime.now(UTC)).timestamp() * 1000)
    return ticket_claims(
        uid, env=env, issued_at_ms=issued_ms, refresh_ms=3_600_000, expire_ms=issued_ms + 86_400_000
    )


@pytest.fixture(scope="module")
def stranger_key() -> TicketCredentials:
    """Another environment's key (made for this run), to sign tickets the gateway refuses."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return TicketCredentials(private_key_id="stranger-key", private_key=pem, env_id="local-dev")


REFUSED: Final[dict[str, Callable[[TicketCredentials, TicketCredentials], str]]] = {
    # Signed with another key that claims the gateway's key id.
    "signature does not verify": lambda key, stranger: _forged(
        stranger, _claims(key.env_id), key_id=key.private_key_id
    ),
    # The right key, but the ticket names another key id.
    "another private key": lambda key, stranger: _forged(
        key, _claims(key.env_id), key_id="someone-elses-key"
    ),
    "for environment 'other-env'": lambda key, stranger: create_ticket(
        "user-0001", credentials=attrs.evolve(key, env_id="other-env")
    ),
    "expired": lambda key, stranger: create_ticket(
        "user-0001", credentials=key, now=datetime.now(UTC) - timedelta(minutes=11)
    ),
    "uid must be": lambda key, stranger: _forged(key, _claims(key.env_id, "user name")),
    "expected <private_key_id>/@@/<JWT>": lambda key, stranger: create_ticket(
        "user-0001", credentials=key
    ).partition("/@@/")[2],
    "not a valid RS256 JWT": lambda key, stranger: key.private_key_id + "/@@/not-a-jwt",
}


@pytest.mark.parametrize("why", list(REFUSED))
async def test_a_bad_ticket_is_refused_in_the_auth_error_shape(
    cloudbase_local: LocalCloudBase, stranger_key: TicketCredentials, why: str
) -> None:
    ticket = REFUSED[why](cloudbase_local.custom_login_key, stranger_key)
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as http:
        refused = await http.post(
            "/auth/v1/signin/custom", json={"provider_id": "custom", "ticket": ticket}
        )
    assert refused.status_code == 400
    body = refused.json()
    assert set(body) == {"error", "error_code", "error_description"}
    assert (body["error"], body["error_code"]) == ("invalid_argument", 3)
    assert why in body["error_description"]
    async with cloudbase_local.client(publishable_key=True) as cb:
        with pytest.raises(BadRequestError) as raised:
            await cb.auth.sign_in_with_custom_ticket(ticket)
    assert raised.value.code == "invalid_argument"


async def test_a_ticket_just_inside_its_ten_minutes_still_signs_in(
    cloudbase_local: LocalCloudBase,
) -> None:
    issued = datetime.now(UTC) - timedelta(minutes=9)
    ticket = create_ticket("late-user", credentials=cloudbase_local.custom_login_key, now=issued)
    _, providers = await _ticket_user(cloudbase_local, ticket)
    assert providers == [("custom", "late-user")]


async def test_a_ticket_minted_by_the_node_sdk_signs_in(
    cloudbase_local: LocalCloudBase, tmp_path: Path
) -> None:
    """The official ``@cloudbase/node-sdk`` ``createTicket``, given the key file the
    gateway writes, mints a ticket this SDK signs in with."""
    oracle.require("@cloudbase/node-sdk")
    path = cloudbase_local.write_custom_login_key(tmp_path / "key.json")
    case = {
        "nowMs": int(datetime.now(UTC).timestamp() * 1000),
        "env": cloudbase_local.env,
        "credentials": json.loads(path.read_text("utf-8")),
        "uid": "node-user_1",
    }
    [minted] = await anyio.to_thread.run_sync(
        lambda: oracle.run("ticket.js", [case], package="@cloudbase/node-sdk")
    )
    assert "ticket" in minted, minted
    uid, providers = await _ticket_user(cloudbase_local, minted["ticket"])
    assert providers == [("custom", "node-user_1")]
    # Python's ticket for the same user id is the same user.
    again, _ = await _ticket_user(cloudbase_local, cloudbase_local.custom_ticket("node-user_1"))
    assert again == uid


async def test_the_custom_login_key_is_kept_by_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with LocalCloudBase("env-one", data_dir=data) as local:
        key = local.custom_login_key
        assert local.custom_login_key_file == data / "custom-login-key.json"
        ticket = local.custom_ticket("kept-user")
    async with LocalCloudBase("env-one", data_dir=data) as local:
        assert local.custom_login_key == key
        _, providers = await _ticket_user(local, ticket)  # minted before the restart
    assert providers == [("custom", "kept-user")]
    async with LocalCloudBase("env-two", data_dir=data) as local:
        # The same key pair, now the key file of the environment the gateway serves.
        assert local.custom_login_key == attrs.evolve(key, env_id="env-two")
        on_disk = TicketCredentials.from_file(local.custom_login_key_file)
        assert on_disk.env_id == "env-two"
        with pytest.raises(BadRequestError, match="env-one"):
            await _ticket_user(local, ticket)


async def test_a_fixed_code_and_a_resend_limit(anyio_backend: str) -> None:
    async with (
        LocalCloudBase(verification_code="123456", code_resend_interval=60) as local,
        local.client(publishable_key=True) as cb,
    ):
        otp = await cb.auth.sign_in_with_otp(phone_number=PHONE)
        with pytest.raises(RateLimitError) as limited:
            await cb.auth.send_verification(phone_number=PHONE)
        session = await otp.verify("123456")
    assert limited.value.code == "resource_exhausted"
    assert session.scope == "user"


async def test_a_user_call_with_the_api_key_is_unauthenticated(cloudbase: CloudBase) -> None:
    with pytest.raises(AuthenticationError) as refused:
        await cloudbase.auth.get_user()
    assert refused.value.code == "unauthenticated"


async def test_users_sessions_and_keys_survive_a_restart(tmp_path: Path) -> None:
    persistent = tmp_path / "data"
    store = MemoryStore()  # the app's own session store outlives the gateway
    async with LocalCloudBase(data_dir=persistent) as local:
        key = local.publishable_key
        async with local.client(publishable_key=True, session_store=store) as cb:
            await sign_up_by_sms(local, cb)
    async with LocalCloudBase(data_dir=persistent) as local:
        assert local.publishable_key == key
        async with local.client(publishable_key=True, session_store=store) as cb:
            user = await cb.auth.get_user()  # the stored session is still valid
            refreshed = await cb.auth.refresh_session()
        assert user.username == "alice"
        assert refreshed.user_id == user.sub
