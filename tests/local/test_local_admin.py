"""The gateway's own surface: the ``/_local`` admin API, fault rules (validation, matching,
each service's error shape), identity, the cloud-metadata probe and unknown paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cloudbase_async import AuthenticationError, CloudBase, InternalServerError
from cloudbase_async.local import Fault, FaultRequest, LocalCloudBase
from cloudbase_async.local._identity import CredentialError, Identity, Keys, TokenSigner

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


@pytest.fixture
async def http(cloudbase_local: LocalCloudBase) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {cloudbase_local.api_key}"}
    async with httpx.AsyncClient(base_url=cloudbase_local.url, headers=headers) as client:
        yield client


async def test_admin_api_needs_the_api_key(cloudbase_local: LocalCloudBase) -> None:
    async with httpx.AsyncClient(base_url=cloudbase_local.url) as anonymous:
        none = await anonymous.post("/_local/reset")
        anon = await anonymous.post(
            "/_local/reset", headers={"Authorization": f"Bearer {cloudbase_local.publishable_key}"}
        )
    assert (none.status_code, none.json()["code"]) == (401, "MISSING_CREDENTIALS")
    assert (anon.status_code, anon.json()["code"]) == (403, "PERMISSION_DENIED")


async def test_faults_over_http(cloudbase_local: LocalCloudBase, http: httpx.AsyncClient) -> None:
    cloudbase_local.function("hello", lambda event, context: "hi")
    added = await http.post(
        "/_local/faults", json={"match": "POST /v1/functions/*", "status": 503, "times": 2}
    )
    listed = (await http.get("/_local/faults")).json()["faults"]
    first = await http.post("/v1/functions/hello")
    assert (first.status_code, first.json()["code"]) == (503, "SYS_ERR")
    assert (await http.delete(f"/_local/faults/{added.json()['id']}")).status_code == 200
    assert (await http.post("/v1/functions/hello")).json() == "hi"
    refused = await http.post("/_local/faults", json={"match": "/x", "status": 503, "oops": 1})
    nothing = await http.post("/_local/faults", json={"match": "/x"})
    missing = await http.delete("/_local/faults/999")
    await http.post("/_local/faults", json={"match": "*", "delay": 0.01, "times": None})
    assert (await http.delete("/_local/faults")).status_code == 200

    assert [(f["match"], f["status"], f["remaining"]) for f in listed] == [
        ("POST /v1/functions/*", 503, 2)
    ]
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_PARAM")
    assert "oops" in refused.json()["message"]
    assert nothing.status_code == 400
    assert missing.status_code == 404
    assert cloudbase_local.faults.list() == []


async def test_codes_reset_tickets_and_info(
    cloudbase_local: LocalCloudBase, http: httpx.AsyncClient
) -> None:
    cloudbase_local.cloudrun("svc", lambda scope, receive, send: None)  # type: ignore[arg-type, return-value]
    async with cloudbase_local.client(publishable_key=True) as cb:
        await cb.auth.send_verification(email="a@example.com")
        codes = (await http.get("/_local/codes")).json()["codes"]
        ticket = (await http.post("/_local/custom-tickets", json={"uid": "emp-0001"})).json()
        session = await cb.auth.sign_in_with_custom_ticket(ticket["ticket"])
        info = (await http.get("/_local/info")).json()
        assert (await http.post("/_local/reset")).status_code == 200
        assert (await http.get("/_local/codes")).json() == {"codes": []}
        with pytest.raises(AuthenticationError):  # reset ends every session
            await cb.auth.get_user()
    assert [(c["channel"], c["to"]) for c in codes] == [("email", "a@example.com")]
    assert codes[0]["code"].isdigit()
    assert session.scope == "user"
    assert info["env"] == "local-dev"
    assert info["cloudrun"] == ["svc"]
    assert {"auth", "functions", "cloudrun", "ai"} <= set(info["services"])
    assert cloudbase_local.info()["cloudrun"] == ["svc"]  # reset keeps registrations


async def test_each_service_answers_faults_in_its_own_shape(
    cloudbase_local: LocalCloudBase, http: httpx.AsyncClient
) -> None:
    cloudbase_local.faults.add("POST /auth/v1/*", status=503)
    cloudbase_local.faults.add("GET /v1/database/*", status=429, retry_after=2)
    cloudbase_local.faults.add("POST /v1/storages/*", status=403, code="STORAGE_EXCEED_AUTHORITY")
    auth = await http.post("/auth/v1/signin/anonymously")
    nosql = await http.get("/v1/database/instances/(default)/databases/(default)/collections")
    storage = await http.post("/v1/storages/get-objects-upload-info", json=[])

    assert auth.status_code == 503
    assert auth.json()["error"] == "unavailable"
    assert set(auth.json()) == {"error", "error_code", "error_description"}
    assert nosql.json()["code"] == "EXCEED_REQUEST_LIMIT"
    assert nosql.json()["request_id"] == nosql.headers["x-request-id"]
    assert nosql.headers["retry-after"] == "2"
    assert storage.json()["code"] == "STORAGE_EXCEED_AUTHORITY"
    assert storage.json()["requestId"] == storage.headers["x-request-id"]


async def test_a_predicate_picks_the_requests(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.function("who", lambda event, context: event)
    cloudbase_local.faults.add(
        "POST /v1/functions/who",
        status=500,
        times=None,
        when=lambda request: request.headers.get("x-tenant") == "bad",
    )
    assert await cloudbase.functions.invoke("who", {"n": 1}) == {"n": 1}
    with pytest.raises(InternalServerError):
        await cloudbase.with_options(headers={"X-Tenant": "bad"}).functions.invoke("who")
    with pytest.raises(InternalServerError):
        await cloudbase.with_options(headers={"X-Tenant": "bad"}).functions.invoke("who")
    assert cloudbase_local.faults.list()[0]["fired"] == 2


async def test_cloud_metadata_and_unknown_paths(http: httpx.AsyncClient) -> None:
    metadata = await http.get("/latest/meta-data/app-id")
    unknown = await http.get("/v1/nothing-here")
    assert metadata.status_code == 404
    assert (unknown.status_code, unknown.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    assert unknown.json()["requestId"] == unknown.headers["x-request-id"]


def test_fault_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="needs an effect"):
        Fault("/v1/ai/*")
    with pytest.raises(ValueError, match="one of"):
        Fault("/v1/ai/*", status=500, reset=True)
    with pytest.raises(ValueError, match="code"):
        Fault("/v1/ai/*", status=200)
    with pytest.raises(ValueError, match="start with"):
        Fault("POST v1/ai", status=500)
    with pytest.raises(ValueError, match=">= 0"):
        Fault("*", delay=-1)
    rule = Fault("post /v1/functions/*", status=503)
    request = FaultRequest("POST", "/v1/functions/echo", "", {})
    assert rule.matches(request)
    assert not rule.matches(FaultRequest("GET", "/v1/functions/echo", "", {}))
    assert Fault("*", status=500).matches(FaultRequest("GET", "/anything", "", {}))


def test_identity_resolves_keys_and_tokens() -> None:
    keys = Keys.generate()
    signer = TokenSigner(keys.token_secret, "test")
    alive = {"s1"}
    now = [1000.0]
    identity = Identity(keys, signer, session_active=alive.__contains__, clock=lambda: now[0])
    token = signer.issue_access_token(
        sub="u1", scope="user", session_id="s1", lifetime=60, now=now[0]
    )

    forged = TokenSigner(Keys.generate().token_secret, "test").issue_access_token(
        sub="u1", scope="user", session_id="s1", lifetime=60, now=now[0]
    )
    assert identity(f"Bearer {keys.api_key}").role == "admin"
    assert identity(f"bearer {keys.publishable_key}").rdb_role == "anon"
    assert identity(f"Bearer {token}").uid == "u1"
    for header, code in [
        (None, "MISSING_CREDENTIALS"),
        ("Basic abc", "INVALID_ACCESS_TOKEN"),
        ("Bearer not-a-token", "INVALID_ACCESS_TOKEN"),
        (f"Bearer {forged}", "INVALID_ACCESS_TOKEN"),
    ]:
        with pytest.raises(CredentialError) as refused:
            identity(header)
        assert refused.value.code == code
    now[0] += 61
    with pytest.raises(CredentialError) as expired:
        identity(f"Bearer {token}")
    assert expired.value.code == "ACCESS_TOKEN_EXPIRED"
    now[0] -= 61
    alive.clear()
    with pytest.raises(CredentialError) as revoked:
        identity(f"Bearer {token}")
    assert revoked.value.code == "INVALID_ACCESS_TOKEN"
    assert keys.api_key not in repr(keys)


def test_keys_are_stable_for_a_directory_and_private(tmp_path: Path) -> None:
    first = Keys.load_or_create(tmp_path)
    assert Keys.load_or_create(tmp_path) == first
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600


async def test_faults_spare_the_admin_api_but_not_service_urls_under_local(
    cloudbase_local: LocalCloudBase, http: httpx.AsyncClient
) -> None:
    cloudbase_local.faults.add("*", status=500, times=None)
    upload = await http.put("/_local/storage/some/signed/url", content=b"x")
    listed = await http.get("/_local/faults")
    cleared = await http.delete("/_local/faults")
    after = await http.put("/_local/storage/some/signed/url", content=b"x")
    assert upload.status_code == 500  # a service's URL (storage serves these) is faulted
    assert listed.status_code == 200
    assert cleared.status_code == 200
    assert after.status_code != 500  # the fault is gone (what answers depends on the build)
