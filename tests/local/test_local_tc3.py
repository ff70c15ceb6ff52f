"""The local gateway checks TC3-HMAC-SHA256 signatures made with its Tencent Cloud secret.

Three signers: this SDK (``local.client(tc3=True)``), the official js-sdk's Node build
(an independent implementation, whose signatures must verify too), and raw requests
signed with :mod:`cloudbase_async._core.tc3` and then altered, which must be refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cloudbase_async import AuthenticationError, CloudBase
from cloudbase_async._core import tc3
from cloudbase_async.local import FunctionContext, LocalCloudBase
from tests.js.runner import require_js_sdk, run_steps

pytestmark = pytest.mark.integration

SCHEMA = "create table notes (id serial primary key, title text, _openid text)"


def _register(local: LocalCloudBase) -> LocalCloudBase:
    @local.function("whoami")
    def whoami(event: Any, context: FunctionContext) -> dict[str, Any]:
        return {"event": event, "role": context.caller.role, "uid": context.uid}

    local.function("echo", whoami)
    return local


@pytest.fixture
def local() -> Iterator[LocalCloudBase]:
    with _register(LocalCloudBase("tc3-env", rdb_schema=SCHEMA)) as gateway:
        yield gateway


# -- this SDK, signing ------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_service_serves_a_client_signing_with_the_gateways_secret(
    local: LocalCloudBase, tmp_path: Path
) -> None:
    async def run(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"signed through"})

    local.cloudrun("plain", run)
    async with local.client(tc3=True) as cb:
        # Signed: functions, CloudRun, storage, the document database.
        assert await cb.functions.invoke("whoami", {"a": 1}) == {
            "event": {"a": 1},
            "role": "admin",
            "uid": None,
        }
        assert (await cb.cloudrun.request("plain", "GET", "/")).text == "signed through"
        await cb.nosql.create_collection("todos")
        doc_id = await cb.nosql.collection("todos").insert_one({"title": "signed"})
        assert await cb.nosql.collection("todos").get(doc_id) == {"_id": doc_id, "title": "signed"}
        uploaded = await cb.storage.upload("signed/a.txt", b"hello, signed")
        await cb.storage.download(uploaded.cloud_id, tmp_path / "a.txt")
        # Through the client-credential exchange: the relational database and the AI API.
        inserted = await cb.rdb.table("notes").insert({"title": "signed"}).select("*").execute()
        assert inserted.data == [{"id": 1, "title": "signed", "_openid": None}]
        completion = await cb.ai.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "signed hello"}]
        )
    assert (tmp_path / "a.txt").read_bytes() == b"hello, signed"
    assert completion.content == "signed hello"


@pytest.mark.anyio
async def test_a_wrong_secret_key_is_an_authentication_error(local: LocalCloudBase) -> None:
    async with CloudBase(
        env=local.env, base_url=local.url, secret_id=local.secret_id, secret_key="not-the-key"
    ) as cb:
        with pytest.raises(AuthenticationError) as caught:
            await cb.functions.invoke("whoami", {})
    assert caught.value.status_code == 401
    assert caught.value.code == "CHECK_LOGIN_FAILED"
    assert "signature does not match" in caught.value.message
    assert "not-the-key" not in str(caught.value)


# -- the official js-sdk, signing -------------------------------------------------------


def test_the_official_js_sdks_signatures_verify() -> None:
    require_js_sdk()
    with _register(LocalCloudBase("js-sdk-env", rdb_schema=SCHEMA)) as local:

        async def collection() -> None:
            async with local.client() as cb:
                await cb.nosql.create_collection("todos")

        anyio.run(collection)

        results = run_steps(local, "function", "nosql", "rdb", "ai", tc3=True)

    # The js-sdk puts "envName" into the JSON bodies it signs (and sends).
    assert results["function"]["result"] == {
        "event": {"hello": "from js-sdk", "envName": ""},
        "role": "admin",
        "uid": None,
    }
    assert results["nosql"]["total"] == 1
    assert results["rdb"]["inserted"] == [{"id": 1, "title": "from js-sdk", "_openid": None}]
    assert results["ai"]["streamed"] == "streamed to the js-sdk"


# -- signed, then altered: refused ------------------------------------------------------


def _signed(
    local: LocalCloudBase,
    body: bytes = b'{"a":1}',
    *,
    path: str = "/v1/functions/whoami",
    secret_key: str | None = None,
    timestamp: int | None = None,
    extra: str = "",
) -> httpx.Request:
    """A POST signed as the SDK signs it (the caller then alters what it likes)."""
    request = httpx.Request(
        "POST",
        local.url + path,
        content=body,
        headers={"Content-Type": "application/json", "X-Signed": "yes"},
    )
    credentials = tc3.Tc3Credentials(local.secret_id, secret_key or local.secret_key)
    request.headers["Authorization"] = (
        tc3.authorization(
            request.method,
            str(request.url),
            tc3.signable_headers(request.headers.multi_items()),
            body,
            credentials=credentials,
            timestamp=tc3.signing_timestamp() if timestamp is None else timestamp,
        )
        + extra
    )
    return request


def _send(request: httpx.Request) -> httpx.Response:
    with httpx.Client() as http:
        return http.send(request)


def _altered(request: httpx.Request, **changes: Any) -> httpx.Request:
    headers = {k: v for k, v in request.headers.items() if k not in ("content-length", "host")}
    headers.update({k.lower(): v for k, v in changes.pop("headers", {}).items()})
    return httpx.Request(
        changes.pop("method", request.method),
        changes.pop("url", request.url),
        content=changes.pop("content", request.content),
        headers=headers,
    )


def _dropped(request: httpx.Request, name: str) -> httpx.Request:
    headers = {k: v for k, v in request.headers.items() if k not in (name, "content-length")}
    return httpx.Request(request.method, request.url, content=request.content, headers=headers)


@pytest.fixture
def gateway() -> Iterator[LocalCloudBase]:
    with _register(LocalCloudBase("tc3-env")) as local:
        yield local


def test_an_untouched_signed_request_is_served(gateway: LocalCloudBase) -> None:
    answer = _send(_signed(gateway))
    assert answer.status_code == 200
    assert answer.json()["role"] == "admin"


@pytest.mark.parametrize(
    ("alter", "why"),
    [
        (lambda r: _altered(r, content=b'{"a":2}'), "signature does not match"),
        (lambda r: _altered(r, url=r.url.copy_with(path="/v1/functions/echo")), "does not match"),
        (lambda r: _altered(r, url=r.url.copy_add_param("x", "1")), "does not match"),
        (lambda r: _altered(r, headers={"X-Signed": "no"}), "does not match"),
        (lambda r: _altered(r, headers={"Content-Type": "text/plain"}), "does not match"),
        (lambda r: _dropped(r, "x-signed"), "Signed headers not received: x-signed"),
    ],
    ids=["body", "path", "query", "header", "content-type", "header-dropped"],
)
def test_any_change_after_signing_is_refused(gateway: LocalCloudBase, alter: Any, why: str) -> None:
    answer = _send(alter(_signed(gateway)))

    assert answer.status_code == 401
    assert answer.json()["code"] == "CHECK_LOGIN_FAILED"
    assert why in answer.json()["message"]


@pytest.mark.parametrize(
    ("sign", "why"),
    [
        (lambda g: _signed(g, secret_key="wrong"), "signature does not match"),
        (lambda g: _signed(g, timestamp=int(time.time()) - 3600), "off the gateway's clock"),
        (lambda g: _signed(g, timestamp=int(time.time()) + 3600), "off the gateway's clock"),
        (lambda g: _signed(g, extra=", Token=temporary"), "no temporary keys"),
    ],
    ids=["key", "old", "future", "token"],
)
def test_a_signature_the_gateway_cannot_accept_is_refused(
    gateway: LocalCloudBase, sign: Any, why: str
) -> None:
    answer = _send(sign(gateway))

    assert answer.status_code == 401
    assert why in answer.json()["message"]


def test_an_unknown_secret_id_or_a_malformed_value_is_refused(gateway: LocalCloudBase) -> None:
    signed = _signed(gateway)
    value = signed.headers["Authorization"]
    other = value.replace(gateway.secret_id, "AKID" + "0" * 32)
    answer = _send(_altered(signed, headers={"Authorization": other}))
    assert "Unknown SecretId" in answer.json()["message"]
    answer = _send(_altered(signed, headers={"Authorization": "TC3-HMAC-SHA256 nonsense"}))
    assert answer.status_code == 401
    assert "Malformed TC3 Authorization" in answer.json()["message"]
    assert gateway.secret_key not in answer.text


def test_a_refusal_under_auth_has_the_auth_apis_shape(gateway: LocalCloudBase) -> None:
    signed = _signed(
        gateway, b'{"grant_type":"client_credentials"}', path="/auth/v1/token/clientCredential"
    )
    answer = _send(_altered(signed, content=b'{"grant_type":"client_credentials"} '))

    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"
    assert "does not match" in answer.json()["error_description"]


# -- the client-credential exchange ------------------------------------------------------


def test_the_exchange_gives_an_administrator_token_for_the_configured_lifetime() -> None:
    with _register(LocalCloudBase("tc3-env", access_token_lifetime=900)) as local:
        signed = _signed(
            local, b'{"grant_type":"client_credentials"}', path="/auth/v1/token/clientCredential"
        )
        tokens = _send(signed).json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 900
        assert "refresh_token" not in tokens
        called = httpx.post(
            f"{local.url}/v1/functions/whoami",
            json={},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert called.json()["role"] == "admin"
        # The API key may make the exchange too; the publishable key may not.
        by_key = httpx.post(
            f"{local.url}/auth/v1/token/clientCredential",
            json={"grant_type": "client_credentials"},
            headers={"Authorization": f"Bearer {local.api_key}"},
        )
        assert by_key.status_code == 200
        by_app = httpx.post(
            f"{local.url}/auth/v1/token/clientCredential",
            json={"grant_type": "client_credentials"},
            headers={"Authorization": f"Bearer {local.publishable_key}"},
        )
        assert (by_app.status_code, by_app.json()["error"]) == (403, "permission_denied")


def test_a_data_directory_from_an_older_gateway_gains_a_secret_and_keeps_its_keys(
    tmp_path: Path,
) -> None:
    with LocalCloudBase(data_dir=tmp_path) as local:
        api_key = local.api_key
    keys = tmp_path / "keys.json"
    old = json.loads(keys.read_text())
    keys.write_text(json.dumps({k: v for k, v in old.items() if not k.startswith("secret_")}))

    with LocalCloudBase(data_dir=tmp_path) as local:
        assert local.api_key == api_key
        secret = (local.secret_id, local.secret_key)
        assert local.secret_id.startswith("AKID")
    with LocalCloudBase(data_dir=tmp_path) as local:
        assert (local.secret_id, local.secret_key) == secret  # written once, then kept
    assert keys.stat().st_mode & 0o777 == 0o600
