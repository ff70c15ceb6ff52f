"""Custom-login tickets: verified with the public key, and byte-identical to the ones
``@cloudbase/node-sdk`` 3.18.3 mints from the same key, inputs and (frozen) clock."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cloudbase_async import ConfigurationError, InvalidRequestError
from cloudbase_async.auth._ticket import TicketCredentials, create_ticket
from tests.js.tc3 import oracle

NODE_SDK = "@cloudbase/node-sdk"
ENV = "env-1a2b"
KEY_ID = "3f1c2b7e-key-id"
NOW = datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)  # Date.now() = 1700000001000
NOW_MS = 1_700_000_001_000


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    """A throw-away key made for this test run (never a committed one)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def credentials(rsa_key: rsa.RSAPrivateKey) -> TicketCredentials:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return TicketCredentials(private_key_id=KEY_ID, private_key=pem, env_id=ENV)


def _parts(ticket: str) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    key_id, separator, token = ticket.partition("/@@/")
    assert separator
    header, payload, _ = token.split(".")
    return key_id, _b64json(header), _b64json(payload), token


def _b64json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_verifies_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey, credentials: TicketCredentials
) -> None:
    ticket = create_ticket("user_0001", credentials=credentials, now=NOW)
    key_id, header, claims, token = _parts(ticket)
    signing_input, _, signature = token.rpartition(".")
    # Checked with cryptography directly, not with the library that signed it.
    rsa_key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        signing_input.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert key_id == KEY_ID
    assert header == {"alg": "RS256", "typ": "JWT"}
    assert list(claims) == ["alg", "env", "iat", "exp", "uid", "refresh", "expire"]
    assert claims == {
        "alg": "RS256",
        "env": ENV,
        "iat": NOW_MS,
        "exp": NOW_MS + 600_000,
        "uid": "user_0001",
        "refresh": 3_600_000,
        "expire": NOW_MS + 7 * 24 * 3600 * 1000,
    }


def test_a_tampered_ticket_does_not_verify(
    rsa_key: rsa.RSAPrivateKey, credentials: TicketCredentials
) -> None:
    from cryptography.exceptions import InvalidSignature

    token = create_ticket("user_0001", credentials=credentials, now=NOW).partition("/@@/")[2]
    header, payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps({**_b64json(payload), "uid": "admin_0001"}).encode()
    ).rstrip(b"=")
    with pytest.raises(InvalidSignature):
        rsa_key.public_key().verify(
            base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
            f"{header}.{forged.decode()}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


def _node_case(credentials: TicketCredentials, uid: str, **options: int) -> dict[str, Any]:
    return {
        "nowMs": NOW_MS,
        "env": ENV,
        "credentials": {
            "private_key_id": credentials.private_key_id,
            "private_key": credentials.private_key,
            "env_id": credentials.env_id,
        },
        "uid": uid,
        "options": options,
    }


UIDS_ACCEPTED = ["user_0001", "a_b-c#d@e~f=g*h(i)j{k}l[m]n:o.p,", "<ab+>", "ABCD"]
UIDS_REFUSED = ["abc", "x" * 33, "abcd\n", "user name", "用户名字", "user/0001", "us$er"]


def test_same_ticket_as_node_sdk(credentials: TicketCredentials) -> None:
    """Same key, uid, options and clock: the node-sdk's ticket, byte for byte (header,
    claims and their order, hence the RS256 signature too)."""
    expire = NOW + timedelta(days=2, milliseconds=7)
    ours = [create_ticket(uid, credentials=credentials, now=NOW) for uid in UIDS_ACCEPTED]
    ours.append(
        create_ticket(
            "user_0001",
            credentials=credentials,
            env=ENV,
            refresh=timedelta(minutes=5),
            expire=expire,
            now=NOW,
        )
    )
    cases = [_node_case(credentials, uid) for uid in UIDS_ACCEPTED]
    cases.append(
        _node_case(credentials, "user_0001", refresh=300_000, expire=NOW_MS + 2 * 86_400_000 + 7)
    )
    theirs = oracle.run("ticket.js", cases, package=NODE_SDK)
    assert [result.get("ticket") for result in theirs] == ours


def test_refuses_the_uids_node_sdk_refuses(credentials: TicketCredentials) -> None:
    cases = [_node_case(credentials, uid) for uid in UIDS_REFUSED]
    theirs = oracle.run("ticket.js", cases, package=NODE_SDK)
    assert all("Invalid uid" in result.get("error", "") for result in theirs), theirs
    for uid in UIDS_REFUSED:
        with pytest.raises(InvalidRequestError, match="uid"):
            create_ticket(uid, credentials=credentials, now=NOW)


def test_refuses_another_environment_like_node_sdk(credentials: TicketCredentials) -> None:
    case = _node_case(credentials, "user_0001") | {"env": "other-env"}
    [theirs] = oracle.run("ticket.js", [case], package=NODE_SDK)
    assert "error" in theirs
    with pytest.raises(ConfigurationError, match="other-env"):
        create_ticket("user_0001", credentials=credentials, env="other-env", now=NOW)


def test_default_clock_is_now(credentials: TicketCredentials) -> None:
    before = time.time_ns() // 1_000_000
    _, _, claims, _ = _parts(create_ticket("user_0001", credentials=credentials))
    after = time.time_ns() // 1_000_000
    assert before <= claims["iat"] <= after


def test_other_timezones_mean_the_same_instant(credentials: TicketCredentials) -> None:
    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))
    assert create_ticket("user_0001", credentials=credentials, now=shanghai) == create_ticket(
        "user_0001", credentials=credentials, now=NOW
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"now": datetime(2023, 11, 14, 22, 13, 21)}, "timezone-aware"),
        ({"now": NOW, "expire": NOW}, "expire"),
        ({"now": NOW, "expire": NOW - timedelta(days=1)}, "expire"),
        ({"now": NOW, "expire": 1_800_000_000_000}, "timezone-aware"),
        ({"now": NOW, "refresh": timedelta(0)}, "refresh"),
        ({"now": NOW, "refresh": 3_600_000}, "refresh"),
    ],
)
def test_refuses_bad_times(
    credentials: TicketCredentials, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InvalidRequestError, match=fragment):
        create_ticket("user_0001", credentials=credentials, **kwargs)


# -- the key file ---------------------------------------------------------------------------


def _key_file(credentials: TicketCredentials, **changes: Any) -> str:
    data = {
        "private_key_id": credentials.private_key_id,
        "private_key": credentials.private_key,
        "env_id": credentials.env_id,
        "other_field": "ignored",
    }
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None})


def test_loads_the_console_key_file(credentials: TicketCredentials, tmp_path: Path) -> None:
    path = tmp_path / "tcb_custom_login.json"
    path.write_text(_key_file(credentials))
    assert TicketCredentials.from_file(path) == credentials
    assert TicketCredentials.from_file(str(path)) == credentials
    assert TicketCredentials.from_json(path.read_bytes()) == credentials


def test_repr_hides_the_key(credentials: TicketCredentials) -> None:
    text = repr(credentials)
    assert "PRIVATE KEY" not in text
    assert credentials.private_key[40:80] not in text
    assert KEY_ID in text
    assert ENV in text


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"env_id": None}, "no env_id"),
        ({"env_id": ""}, "no env_id"),
        ({"env_id": "env id!"}, "not an environment id"),
        ({"private_key": None}, "no private_key"),
        ({"private_key": "not a key"}, "not a PEM"),
        ({"private_key_id": None}, "no private_key_id"),
        ({"private_key_id": 7}, "no private_key_id"),
        ({"private_key_id": "a/@@/b"}, "malformed"),
    ],
)
def test_refuses_a_bad_key_file(
    credentials: TicketCredentials, changes: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=fragment) as caught:
        TicketCredentials.from_json(_key_file(credentials, **changes))
    assert credentials.private_key[40:80] not in str(caught.value)


@pytest.mark.parametrize("text", ["", "{", "[1]", "null"])
def test_refuses_what_is_not_a_key_file(text: str) -> None:
    with pytest.raises(ConfigurationError, match="JSON") as caught:
        TicketCredentials.from_json(text)
    assert caught.value.__cause__ is None


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read"):
        TicketCredentials.from_file(tmp_path / "missing.json")


def test_unusable_key_is_a_configuration_error(credentials: TicketCredentials) -> None:
    broken = TicketCredentials(
        private_key_id=KEY_ID,
        private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        env_id=ENV,
    )
    with pytest.raises(ConfigurationError, match="not a usable RSA private key"):
        create_ticket("user_0001", credentials=broken, now=NOW)


def test_short_keys_are_accepted_with_a_warning() -> None:
    """As the node-sdk accepts them (allowInsecureKeySizes); PyJWT says they are short."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = small.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    creds = TicketCredentials(private_key_id=KEY_ID, private_key=pem, env_id=ENV)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ticket = create_ticket("user_0001", credentials=creds, now=NOW)
    assert ticket.startswith(KEY_ID + "/@@/")
    assert any("1024" in str(w.message) for w in caught)


# -- the optional extra ----------------------------------------------------------------------


def test_importing_the_sdk_does_not_need_pyjwt() -> None:
    code = (
        "import sys, cloudbase_async, cloudbase_async.auth._ticket, "
        "cloudbase_async.auth._client_credential, cloudbase_async._core.tc3\n"
        "assert 'jwt' not in sys.modules and 'cryptography' not in sys.modules, sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_without_pyjwt_says_which_extra_to_install(
    credentials: TicketCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jwt", None)  # makes `import jwt` fail
    with pytest.raises(ConfigurationError, match=r"cloudbase-async\[tickets\]"):
        create_ticket("user_0001", credentials=credentials, now=NOW)


def test_without_cryptography_says_which_extra_to_install(
    credentials: TicketCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwt.algorithms

    monkeypatch.setattr(jwt.algorithms, "has_crypto", False)
    with pytest.raises(ConfigurationError, match=r"cloudbase-async\[tickets\]"):
        create_ticket("user_0001", credentials=credentials, now=NOW)
