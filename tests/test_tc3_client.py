"""A client configured with a Tencent Cloud secret: which calls it signs, which carry the
client-credential Bearer, and how both behave across attempts, callers and failures.

Every signature sent is checked twice: recomputed here from the request as the server
received it, and by the official signer (``@cloudbase/signature-nodejs``) on the same
request, through the Node oracle.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from cloudbase_async import CloudBase, ConfigurationError, InvalidRequestError, RetryPolicy
from cloudbase_async._core import tc3
from cloudbase_async._core.tc3 import Tc3Credentials, authorization, signable_headers
from tests.js.tc3 import oracle

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
TOKEN = "tmp-Token_0123456789abcdefXYZ=="
ENV = "env-1a2b"
BASE = f"https://{ENV}.api.tcloudbasegateway.com"
_TIMESTAMP = re.compile(r"Timestamp=(\d+)")


class Gateway:
    """Records requests; answers the exchange with a token and everything else with 200
    (or what ``answers`` says for a path, once per entry)."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.exchanges = 0
        self.answers: dict[str, list[httpx.Response]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # A copy: the transport re-signs the same request object for its next attempt.
        self.sent.append(
            httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.read()
            )
        )
        queued = self.answers.get(request.url.path)
        if queued:
            return queued.pop(0)
        if request.url.path == "/auth/v1/token/clientCredential":
            self.exchanges += 1
            token = f"exchanged-{self.exchanges}"
            return httpx.Response(200, json={"access_token": token, "expires_in": 7200})
        if "/rdb/" in request.url.path:
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"ok": True, "total": 0})

    def to(self, prefix: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.url.path.startswith(prefix)]


def client(gateway: Gateway, **kwargs: Any) -> CloudBase:
    return CloudBase(
        ENV,
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        transport=httpx.MockTransport(gateway),
        **kwargs,
    )


def assert_signed(request: httpx.Request, *, session_token: str | None = None) -> None:
    """The request carries the signature of exactly what was received (ours and Node's)."""
    value = request.headers["authorization"]
    assert value.startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
    timestamp = int(_TIMESTAMP.search(value).group(1))  # type: ignore[union-attr]
    headers = signable_headers(request.headers.multi_items())
    expected = authorization(
        request.method,
        str(request.url),
        headers,
        request.content,
        credentials=Tc3Credentials(SECRET_ID, SECRET_KEY, session_token),
        timestamp=timestamp,
    )
    assert value == expected
    [node] = oracle.run(
        "sign.js",
        [
            {
                "method": request.method,
                "url": str(request.url),
                "headers": dict(headers),
                "body": request.content.decode(),
                "timestamp": timestamp,
                "secretId": SECRET_ID,
                "secretKey": SECRET_KEY,
            }
        ],
        package="@cloudbase/signature-nodejs",
    )
    suffix = f", Timestamp={timestamp}" + (f", Token={session_token}" if session_token else "")
    assert value == node["authorization"] + suffix


async def test_functions_cloudrun_and_nosql_calls_are_signed() -> None:
    gateway = Gateway()
    async with client(gateway) as cb:
        await cb.functions.invoke("echo", {"a": 1})
        await cb.cloudrun.request("svc", "GET", "/items", params={"q": "张 三"})
        await cb.nosql.collection("todos").count()
    for request in gateway.sent:
        assert_signed(request)
    assert gateway.exchanges == 0  # signed calls need no token


async def test_rdb_and_ai_carry_one_exchanged_token_for_every_caller() -> None:
    gateway = Gateway()
    async with client(gateway) as cb:
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(cb.rdb.table("t").select("*").execute)
        await cb.ai.request("cloudbase", "chat/completions", {"model": "m", "messages": []})
    [exchange] = gateway.to("/auth/v1/token/clientCredential")
    assert exchange.content == b'{"grant_type":"client_credentials"}'
    assert_signed(exchange)
    data = gateway.to("/v1/rdb/") + gateway.to("/v1/ai/")
    assert len(data) == 51
    assert {r.headers["authorization"] for r in data} == {"Bearer exchanged-1"}


async def test_each_attempt_is_signed_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    clock: Callable[[], int] = itertools.count(1_700_000_000).__next__
    monkeypatch.setattr(tc3, "signing_timestamp", lambda now=None: clock())
    gateway = Gateway()
    gateway.answers["/v1/cloudrun/svc/items"] = [httpx.Response(503), httpx.Response(503)]
    async with client(gateway, retry=RetryPolicy(initial_delay=0.0)) as cb:
        await cb.cloudrun.request("svc", "GET", "/items")
    attempts = gateway.to("/v1/cloudrun/")
    assert len(attempts) == 3
    stamps = [_TIMESTAMP.search(r.headers["authorization"]).group(1) for r in attempts]  # type: ignore[union-attr]
    assert len(set(stamps)) == 3
    for request in attempts:
        assert_signed(request)


async def test_a_refused_token_is_exchanged_again_once() -> None:
    gateway = Gateway()
    gateway.answers["/v1/rdb/rest/t"] = [
        httpx.Response(401, json={"code": "PGRST301", "message": "JWT expired"})
    ]
    async with client(gateway) as cb:
        await cb.rdb.table("t").select("*").execute()
    assert gateway.exchanges == 2
    assert [r.headers["authorization"] for r in gateway.to("/v1/rdb/")] == [
        "Bearer exchanged-1",
        "Bearer exchanged-2",
    ]


async def test_a_temporary_key_sends_its_token() -> None:
    gateway = Gateway()
    async with client(gateway, session_token=TOKEN) as cb:
        await cb.functions.invoke("echo")
    [request] = gateway.sent
    assert request.headers["authorization"].endswith(f", Token={TOKEN}")
    assert_signed(request, session_token=TOKEN)


async def test_a_streamed_body_is_refused_before_anything_is_sent() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"x"

    gateway = Gateway()
    async with client(gateway) as cb:
        with pytest.raises(InvalidRequestError, match="streamed request body cannot be signed"):
            await cb.cloudrun.request("svc", "POST", "/upload", content=body())
    assert gateway.sent == []


async def test_a_signed_in_user_is_the_identity_then() -> None:
    gateway = Gateway()
    gateway.answers["/auth/v1/signin/anonymously"] = [
        httpx.Response(
            200, json={"access_token": "user-at", "refresh_token": "rt", "expires_in": 7200}
        )
    ]
    async with client(gateway) as cb:
        await cb.auth.sign_in_anonymously()
        await cb.functions.invoke("echo")
        await cb.with_access_token("other").functions.invoke("echo")
    signin, mine, other = gateway.sent
    assert "authorization" not in signin.headers
    assert mine.headers["authorization"] == "Bearer user-at"
    assert other.headers["authorization"] == "Bearer other"


def test_secrets_come_from_the_environment_and_stay_out_of_reprs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", f"  {SECRET_ID}\n")
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", f"{SECRET_KEY}\n")
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", TOKEN)
    monkeypatch.delenv("CLOUDBASE_API_KEY", raising=False)
    monkeypatch.delenv("CLOUDBASE_PUBLISHABLE_KEY", raising=False)
    cb = CloudBase(ENV)
    credential = cb._manager.fallback
    assert credential.credentials == Tc3Credentials(SECRET_ID, SECRET_KEY, TOKEN)  # type: ignore[attr-defined]
    shown = repr(cb) + repr(cb.config) + repr(credential)
    assert SECRET_KEY not in shown
    assert TOKEN not in shown


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secret_id": SECRET_ID}, "needs both secret_id and secret_key"),
        ({"secret_key": SECRET_KEY}, "needs both secret_id and secret_key"),
        (
            {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "api_key": "k"},
            "Pass only one credential",
        ),
        ({"secret_id": SECRET_ID, "secret_key": SECRET_KEY + "\n"}, "secret_key"),
    ],
)
def test_incomplete_or_conflicting_secrets_are_refused(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        CloudBase(ENV, **kwargs)
    assert SECRET_KEY not in str(info.value)
