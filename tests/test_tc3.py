"""The TC3 signer, compared with the official one (``@cloudbase/signature-nodejs`` 2.2.0,
run by Node on the same inputs) and with the standard Tencent Cloud signer
(``tencentcloud-sdk-python-common``) where the two variants agree."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.sign import Sign

from cloudbase_async import (
    APIError,
    AuthenticationError,
    CloudBase,
    CloudBaseError,
    ConfigurationError,
    InvalidRequestError,
)
from cloudbase_async._core.responses import Response
from cloudbase_async._core.tc3 import (
    CanonicalRequest,
    Tc3Credentials,
    authorization,
    canonical_request,
    credential_scope,
    signable_headers,
    signature,
    signing_timestamp,
    string_to_sign,
)
from cloudbase_async.auth._client_credential import (
    BODY,
    PATH,
    client_credential_request,
    read_client_credential,
)
from tests.js.tc3 import oracle
from tests.js.tc3.recorder import recording_gateway

SIGNER = "@cloudbase/signature-nodejs"
NODE_SDK = "@cloudbase/node-sdk"
SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
TOKEN = "tmp-Token_0123456789abcdefXYZ=="
ENV_ID = "env-1a2b"
HOST = f"{ENV_ID}.api.tcloudbasegateway.com"
BASE = f"https://{HOST}"
# node-sdk's clock frozen at Date.now() = 1700000001000 signs with second() - 1.
TS = 1_700_000_000

# The headers node-sdk 3.18.3 adds to every gateway call (tcbopenapicommonrequester.ts).
NODE_SDK_HEADERS = {
    "User-Agent": "tcb-node-sdk/3.18.3",
    "X-TCB-Source": ",unknown",
    "X-Client-Timestamp": "1700000001000",
    "X-SDK-Version": "tcb-node-sdk/3.18.3",
    "Host": HOST,
}


@attrs.frozen
class Vector:
    name: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""
    timestamp: int = TS
    session_token: str | None = None

    @property
    def credentials(self) -> Tc3Credentials:
        return Tc3Credentials(SECRET_ID, SECRET_KEY, self.session_token)

    def for_node(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode(),
            "timestamp": self.timestamp,
            "secretId": SECRET_ID,
            "secretKey": SECRET_KEY,
        }


def _node_sdk(content_type: str, **extra: str) -> dict[str, str]:
    return {**extra, **NODE_SDK_HEADERS, "Content-Type": content_type}


VECTORS = [
    Vector(
        "get_with_query",
        "GET",
        f"{BASE}/v1/cloudrun/svc-1/items?b=2&a=1&name=%E5%BC%A0&flag",
        _node_sdk("application/json; charset=utf-8"),
    ),
    Vector(
        "post_json_client_credential",
        "POST",
        f"{BASE}/auth/v1/token/clientCredential",
        _node_sdk("application/json"),
        b'{"grant_type":"client_credentials"}',
    ),
    Vector(
        "post_json_with_query",
        "POST",
        f"{BASE}/v1/apis/api-1/run?mode=fast&x=%2F",
        _node_sdk("application/json; charset=utf-8"),
        '{"a":1,"b":[true,null,"é",1.5],"c":{"d":"x y"}}'.encode(),
    ),
    Vector(
        "percent_encoded_path",
        "POST",
        f"{BASE}/v1/apis/api-1/a%2Fb/c%20d/%7Bid%7D",
        _node_sdk("application/json"),
        b"{}",
    ),
    Vector(
        "non_ascii_path_as_sent",
        "GET",
        # What httpx sends for /v1/functions/函数/调用 (see test_httpx_request_end_to_end).
        str(httpx.URL(f"{BASE}/v1/functions/函数/调用?q=值")),
        _node_sdk("application/json"),
    ),
    Vector(
        "session_token",
        "POST",
        f"{BASE}/v1/cloudrun/svc-1/echo",
        _node_sdk("application/json; charset=utf-8"),
        b'{"hello":"world"}',
        session_token=TOKEN,
    ),
    Vector(
        "mixed_case_values",
        "POST",
        "https://ENV-1A2B.API.tcloudbasegateway.com/v1/apis/x",
        {
            "Host": "Env-1a2b.Api.TCloudBaseGateway.com",
            "Content-Type": "Application/JSON; Charset=UTF-8",
            "X-Custom": "  MiXeD Value\t ",
            "X-Empty": "",
            "X-TCB-Region": "AP-Shanghai",
        },
        b"[1,2]",
    ),
    Vector(
        "multipart_content_type",
        "POST",
        f"{BASE}/v1/storages/upload",
        _node_sdk("multipart/form-data; boundary=----cloudbase1700000000"),
    ),
    Vector(
        "multipart_prefix_is_case_sensitive",
        "POST",
        f"{BASE}/v1/storages/upload",
        _node_sdk("Multipart/Form-Data; boundary=XyZ"),
    ),
    Vector(
        "punctuated_header_names",
        "POST",
        f"{BASE}/v1/apis/x",
        _node_sdk(
            "application/json",
            **{
                "X_Under": "1",
                "X.Dot": "2",
                "X~Tilde": "3",
                "X!Bang": "4",
                "X*Star": "5",
                "X-Zeta": "6",
                "x-0": "7",
            },
        ),
        b"{}",
    ),
    Vector(
        "utc_date_boundary",
        "GET",
        f"{BASE}/v1/cloudrun/svc-1/",
        _node_sdk("application/json"),
        # 2023-11-14T23:59:59Z: already the 15th in Shanghai; the scope uses UTC.
        timestamp=1_700_006_399,
    ),
    Vector(
        "port_and_fragment",
        "GET",
        "http://127.0.0.1:8443/v1/apis/x?y=1#not-sent",
        {"Host": "127.0.0.1:8443", "Content-Type": "application/json"},
    ),
    Vector(
        "no_path",
        "GET",
        f"{BASE}",
        {"Host": HOST, "Content-Type": "application/json"},
    ),
]


@pytest.fixture(scope="module")
def official() -> dict[str, dict[str, Any]]:
    """The official signer's results for every vector, from one Node run."""
    results = oracle.run("sign.js", [v.for_node() for v in VECTORS], package=SIGNER)
    return {v.name: result for v, result in zip(VECTORS, results, strict=True)}


def _ours(vector: Vector) -> tuple[CanonicalRequest, str, str]:
    canonical = canonical_request(vector.method, vector.url, vector.headers, vector.body)
    value = authorization(
        vector.method,
        vector.url,
        vector.headers,
        vector.body,
        credentials=vector.credentials,
        timestamp=vector.timestamp,
    )
    return canonical, string_to_sign(canonical, vector.timestamp), value


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_matches_the_official_signer(vector: Vector, official: dict[str, dict[str, Any]]) -> None:
    theirs = official[vector.name]
    canonical, to_sign, value = _ours(vector)
    assert canonical.text == theirs["canonicalRequest"]
    assert to_sign == theirs["stringToSign"]
    # node-sdk appends the timestamp and a temporary key's token to the signer's value
    # (tcbopenapicommonrequester.ts, buildHeaders).
    suffix = f", Timestamp={theirs['timestamp']}"
    if vector.session_token:
        suffix += f", Token={vector.session_token}"
    assert value == theirs["authorization"] + suffix


def test_vectors_exercise_the_rules(official: dict[str, dict[str, Any]]) -> None:
    """The vectors cover what they are named for (so a vector edited into triviality fails)."""
    texts = {name: result["canonicalRequest"] for name, result in official.items()}
    assert "\nb=2&a=1&name=%E5%BC%A0&flag\n" in texts["get_with_query"]
    assert "\nmode=fast&x=%2F\n" in texts["post_json_with_query"]
    assert "\n/v1/apis/api-1/a%2Fb/c%20d/%7Bid%7D\n" in texts["percent_encoded_path"]
    assert (
        "\n/v1/functions/%E5%87%BD%E6%95%B0/%E8%B0%83%E7%94%A8\n" in texts["non_ascii_path_as_sent"]
    )
    assert "content-type:Application/JSON; Charset=UTF-8\n" in texts["mixed_case_values"]
    assert "x-custom:mixed value\nx-empty:\n" in texts["mixed_case_values"]
    assert "content-type:multipart/form-data\n" in texts["multipart_content_type"]
    assert (
        "content-type:Multipart/Form-Data; boundary=XyZ\n"
        in texts["multipart_prefix_is_case_sensitive"]
    )
    assert "/2023-11-14/" in official["utc_date_boundary"]["authorization"]
    assert "\nhost:127.0.0.1:8443\n" in texts["port_and_fragment"]
    assert "not-sent" not in texts["port_and_fragment"]
    assert texts["no_path"].startswith("GET\n/\n\n")
    # Names are percent-encoded, and "_" sorts before "-", "%" after "." (not ASCII order).
    assert (
        "SignedHeaders=content-type;host;user-agent;x_under;x-0;x-client-timestamp;x-sdk-version;"
        "x-tcb-source;x-zeta;x.dot;x%21bang;x%2Astar;x~tilde,"
        in official["punctuated_header_names"]["authorization"]
    )


def test_header_names_sort_as_localecompare_does() -> None:
    """Hundreds of random names over every character a header name may hold, signed by
    both signers: the same encoding, the same (localeCompare) order."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"
    rng = random.Random(16)
    names: dict[str, str] = {c.lower(): c for c in alphabet}
    while len(names) < 600:
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        names.setdefault(name.lower(), name)
    for reserved in ("host", "content-type", "authorization"):
        names.pop(reserved, None)
    headers = {name: "v" for name in names.values()} | MINIMAL
    vector = Vector("names", "GET", f"{BASE}/x", headers)
    [theirs] = oracle.run("sign.js", [vector.for_node()], package=SIGNER)
    canonical = canonical_request("GET", vector.url, headers, b"")
    assert canonical.text == theirs["canonicalRequest"]
    assert f"SignedHeaders={canonical.signed_headers}," in theirs["authorization"]


def test_httpx_request_end_to_end(official: dict[str, dict[str, Any]]) -> None:
    """What the transport will do: sign the headers and URL of a built httpx request.

    Checked against the official signer on the very same header list and URL.
    """
    with httpx.Client() as client:
        request = client.build_request(
            "POST",
            f"{BASE}/v1/functions/函数",
            params={"q": "a b"},
            headers={"Content-Type": "application/json", "X-SDK-Version": "cloudbase-async/1"},
            content=b'{"a":1}',
        )
    headers = signable_headers(request.headers.multi_items())
    assert "connection" not in {name.lower() for name, _ in headers}
    value = authorization(
        request.method,
        str(request.url),
        headers,
        request.content,
        credentials=Tc3Credentials(SECRET_ID, SECRET_KEY),
        timestamp=TS,
    )
    assert "SignedHeaders=accept;accept-encoding;content-length;content-type;host;" in value
    vector = Vector("httpx", request.method, str(request.url), dict(headers), request.content)
    [theirs] = oracle.run("sign.js", [vector.for_node()], package=SIGNER)
    assert value == theirs["authorization"] + f", Timestamp={TS}"


# -- the standard variant (tencentcloud-sdk-python-common) ------------------------------


def _standard(method: str, path: str, data: str, content_type: str, timestamp: int) -> str:
    """The python SDK's own TC3 signature with its URI set to the real path."""
    request = RequestInternal(
        host=HOST,
        method=method,
        uri=path,
        header={"Content-Type": content_type, "Host": HOST, "X-TC-Timestamp": str(timestamp)},
        data=data,
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    # The method reads nothing of the client: it is called unbound.
    return str(AbstractClient._get_tc3_signature(None, None, request, date, "tcb", SECRET_KEY))


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "content_type"),
    [
        (
            "POST",
            "/auth/v1/token/clientCredential",
            "",
            '{"grant_type":"client_credentials"}',
            "application/json",
        ),
        ("POST", "/v1/apis/api-1/a%2Fb", "", '{"a":[1,"é"]}', "application/json; charset=utf-8"),
        ("GET", "/v1/cloudrun/svc-1/items", "b=2&a=1", "", "application/json"),
    ],
)
def test_matches_the_standard_signer_where_they_agree(
    method: str, path: str, query: str, body: str, content_type: str
) -> None:
    """With only content-type and host signed and no query on a POST, the two variants
    are one algorithm (the standard SDK signs a GET's query as its data)."""
    url = f"{BASE}{path}" + (f"?{query}" if query else "")
    headers = {"Content-Type": content_type, "Host": HOST}
    value = authorization(
        method,
        url,
        headers,
        body.encode(),
        credentials=Tc3Credentials(SECRET_ID, SECRET_KEY),
        timestamp=TS,
    )
    expected = _standard(method, path, query if method == "GET" else body, content_type, TS)
    assert f", Signature={expected}, " in value


def test_key_derivation_matches_the_standard_signer() -> None:
    for timestamp in (TS, 1_700_006_399, 1_700_006_400):
        text = f"TC3-HMAC-SHA256\n{timestamp}\n{credential_scope(timestamp)}\n{'ab' * 32}"
        date = credential_scope(timestamp).split("/")[0]
        assert signature(SECRET_KEY, timestamp, text) == Sign.sign_tc3(
            SECRET_KEY, date, "tcb", text
        )


# -- rules checked without Node -----------------------------------------------------------

MINIMAL = {"Host": HOST, "Content-Type": "application/json"}


def test_body_bytes_are_hashed_as_sent() -> None:
    """Not the official signer's JSON.stringify(body): a multipart or binary body is
    hashed byte for byte, so the server can check what it received."""
    body = b"------b\r\nContent-Disposition: form-data; name=f\r\n\r\n\x00\xff\r\n------b--\r\n"
    headers = {"Host": HOST, "Content-Type": "multipart/form-data; boundary=----b"}
    canonical = canonical_request("POST", f"{BASE}/v1/storages/x", headers, body)
    assert canonical.payload_hash == hashlib.sha256(body).hexdigest()
    assert canonical.headers[0] == ("content-type", "multipart/form-data")


def test_authorization_format_and_token() -> None:
    value = authorization(
        "GET",
        f"{BASE}/v1/x",
        MINIMAL,
        b"",
        credentials=Tc3Credentials(SECRET_ID, SECRET_KEY, TOKEN),
        timestamp=TS,
    )
    prefix = f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2023-11-14/tcb/tc3_request, "
    assert value.startswith(prefix + "SignedHeaders=content-type;host, Signature=")
    assert value.endswith(f", Timestamp={TS}, Token={TOKEN}")
    assert re.fullmatch(r"[0-9a-f]{64}", value.split("Signature=")[1].split(",")[0])


def test_each_attempt_gets_its_own_signature() -> None:
    creds = Tc3Credentials(SECRET_ID, SECRET_KEY)
    first, second = (
        authorization("POST", f"{BASE}/v1/x", MINIMAL, b"{}", credentials=creds, timestamp=ts)
        for ts in (TS, TS + 1)
    )
    assert first.split("Signature=")[1] != second.split("Signature=")[1]


def test_signing_timestamp_is_a_second_early() -> None:
    assert signing_timestamp(1_700_000_001.999) == 1_700_000_000
    assert signing_timestamp(1_700_000_001.0) == 1_700_000_000


def test_signable_headers_drops_hop_by_hop_and_authorization() -> None:
    given = [
        ("Host", HOST),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("TE", "trailers"),
        ("Upgrade", "h2c"),
        ("Authorization", "Bearer old"),
        ("Content-Type", "application/json"),
        ("Content-Length", "2"),
    ]
    assert signable_headers(given) == [given[0], given[-2], given[-1]]


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "fragment"),
    [
        ("post", f"{BASE}/v1/x", MINIMAL, b"", "upper case"),
        ("PO ST", f"{BASE}/v1/x", MINIMAL, b"", "upper case"),
        ("POST", f"{BASE}/v1/x", MINIMAL, "{}", "bytes"),
        ("POST", f"{BASE}/v1/x", MINIMAL, [b"x"], "streamed"),
        ("GET", f"{BASE}/v1/函数", MINIMAL, b"", "percent-encoded"),
        ("GET", f"{BASE}/v1/a b", MINIMAL, b"", "percent-encoded"),
        ("GET", f"{BASE}/v1/x?a=<b>", MINIMAL, b"", "percent-encoded"),
        ("GET", "/v1/x", MINIMAL, b"", "absolute"),
        ("GET", f"ftp://{HOST}/x", MINIMAL, b"", "absolute"),
        ("GET", f"https://user:pw@{HOST}/x", MINIMAL, b"", "user information"),
        ("GET", f"{BASE}/x", {"Content-Type": "application/json"}, b"", "Host"),
        ("GET", f"{BASE}/x", {**MINIMAL, "Host": "other.example.com"}, b"", "Host"),
        ("GET", f"http://{HOST}:8080/x", MINIMAL, b"", "Host"),
        ("GET", f"{BASE}/x", {"Host": HOST}, b"", "Content-Type"),
        ("GET", f"{BASE}/x", {"Host": HOST, "Content-Type": ""}, b"", "Content-Type"),
        ("GET", f"{BASE}/x", {**MINIMAL, "Content-Type": " text/plain"}, b"", "whitespace"),
        ("GET", f"{BASE}/x", {**MINIMAL, "Authorization": "Bearer x"}, b"", "Authorization"),
        ("GET", f"{BASE}/x", [*MINIMAL.items(), ("host", HOST)], b"", "twice"),
        ("GET", f"{BASE}/x", {**MINIMAL, "X Y": "1"}, b"", "header name"),
        ("GET", f"{BASE}/x", {**MINIMAL, "": "1"}, b"", "header name"),
        ("GET", f"{BASE}/x", {**MINIMAL, "X-A": "é"}, b"", "visible ASCII"),
        ("GET", f"{BASE}/x", {**MINIMAL, "X-A": "a\r\nX-B: b"}, b"", "visible ASCII"),
        ("GET", f"{BASE}/x", {**MINIMAL, "X-A": 1}, b"", "visible ASCII"),
    ],
)
def test_refuses_what_cannot_be_signed_as_given(
    method: str, url: str, headers: Any, body: Any, fragment: str
) -> None:
    with pytest.raises(InvalidRequestError, match=fragment) as caught:
        canonical_request(method, url, headers, body)
    assert isinstance(caught.value, CloudBaseError)


@pytest.mark.parametrize("timestamp", [0, -1, 1.5, True, "1700000000", 10**12])
def test_refuses_bad_timestamps(timestamp: Any) -> None:
    with pytest.raises(InvalidRequestError, match="timestamp"):
        credential_scope(timestamp)


# -- credentials ----------------------------------------------------------------------------


def test_credentials_repr_hides_the_key_and_token() -> None:
    creds = Tc3Credentials(SECRET_ID, SECRET_KEY, TOKEN)
    text = repr(creds)
    assert SECRET_KEY not in text
    assert TOKEN not in text
    assert SECRET_ID in text
    assert "<redacted>" in text


def test_empty_session_token_is_none() -> None:
    assert Tc3Credentials(SECRET_ID, SECRET_KEY, "").session_token is None


@pytest.mark.parametrize(
    ("secret_id", "secret_key", "token", "field"),
    [
        ("", SECRET_KEY, None, "secret_id"),
        ("AKID/1", SECRET_KEY, None, "secret_id"),
        ("AKID,1", SECRET_KEY, None, "secret_id"),
        (SECRET_ID, "", None, "secret_key"),
        (SECRET_ID, f" {SECRET_KEY}", None, "secret_key"),
        (SECRET_ID, SECRET_KEY, "tok en\n", "session_token"),
        (SECRET_ID, SECRET_KEY, "tok,en", "session_token"),
        (None, SECRET_KEY, None, "secret_id"),
    ],
)
def test_credentials_refuse_bad_values_without_showing_them(
    secret_id: Any, secret_key: Any, token: Any, field: str
) -> None:
    with pytest.raises(ConfigurationError, match=field) as caught:
        Tc3Credentials(secret_id, secret_key, token)
    message = str(caught.value)
    for secret in (secret_key, token):
        if secret and secret.strip():
            assert secret.strip() not in message


# -- the client-credential exchange ---------------------------------------------------------


@pytest.mark.anyio
async def test_client_credential_exchange_on_the_wire() -> None:
    """The exchange sent by the real transport: node-sdk's path, body and content type,
    no Bearer; signed from what was sent, it matches the official signer."""
    sent: list[httpx.Request] = []
    answer = {"token_type": "Bearer", "access_token": "eyJ.server.token", "expires_in": 7200}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=answer)

    async with CloudBase(ENV_ID, transport=httpx.MockTransport(handler)) as cb:
        response = await cb._transport.send(client_credential_request())
    [request] = sent
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/auth/v1/token/clientCredential"
    assert request.content == BODY == b'{"grant_type":"client_credentials"}'
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers

    headers = signable_headers(request.headers.multi_items())
    creds = Tc3Credentials(SECRET_ID, SECRET_KEY)
    ours = authorization(
        "POST", str(request.url), headers, request.content, credentials=creds, timestamp=TS
    )
    vector = Vector("exchange", "POST", str(request.url), dict(headers), request.content)
    [theirs] = oracle.run("sign.js", [vector.for_node()], package=SIGNER)
    assert ours == theirs["authorization"] + f", Timestamp={TS}"

    tokens = read_client_credential(response)
    assert tokens.access_token == "eyJ.server.token"
    assert tokens.expires_in == 7200
    assert "eyJ.server.token" not in repr(tokens)


@pytest.mark.parametrize("session_token", [None, TOKEN])
def test_node_sdk_exchange_is_ours_byte_for_byte(session_token: str | None) -> None:
    """node-sdk's own getClientCredential(), recorded on loopback: the request is the
    one :func:`client_credential_request` describes, and its whole Authorization value
    (Timestamp and Token included) is what our signer makes of the received request."""
    answer = {"token_type": "Bearer", "access_token": "eyJ.t", "expires_in": 7200}
    with recording_gateway(answer) as (port, recorded):
        out = oracle.run(
            "client-credential.js",
            {
                "port": port,
                "nowMs": 1_700_000_001_000,
                "env": ENV_ID,
                "secretId": SECRET_ID,
                "secretKey": SECRET_KEY,
                "sessionToken": session_token,
            },
            package=NODE_SDK,
        )
    assert out["result"] == answer
    [request] = recorded
    ours = client_credential_request()
    assert (request.method, request.path) == (ours.method, "/auth/v1" + PATH)
    assert request.body == ours.content == BODY
    received = {name.lower(): value for name, value in request.headers}
    assert received["content-type"] == ours.headers["Content-Type"]

    theirs = received["authorization"]
    signed = theirs.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "content-type" in signed
    assert "host" in signed
    headers = [(name, value) for name, value in request.headers if name.lower() in signed]
    value = authorization(
        request.method,
        f"https://{received['host']}{request.path}",
        headers,
        request.body,
        credentials=Tc3Credentials(SECRET_ID, SECRET_KEY, session_token),
        timestamp=TS,
    )
    assert value == theirs


def _answer(status: int, body: object) -> Response:
    return Response(httpx.Response(status, json=body), "req-1", 0)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"code": "INVALID_ACCESS_TOKEN", "message": "bad signature"}, AuthenticationError),
        ({"error": "invalid_client", "error_description": "no"}, AuthenticationError),
        ({"token_type": "Bearer", "expires_in": 7200}, APIError),
        ({"token_type": "Bearer", "access_token": "", "expires_in": 7200}, APIError),
        ({"token_type": "MAC", "access_token": "t", "expires_in": 7200}, APIError),
        ([1, 2], APIError),
    ],
)
def test_client_credential_answers_without_a_token_are_errors(
    body: object, error: type[APIError]
) -> None:
    with pytest.raises(error) as caught:
        read_client_credential(_answer(200, body))
    assert caught.value.request_id == "req-1"


# -- the peer check ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), (None, pytest.skip.Exception)]
)
def test_a_missing_peer_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(oracle, "NODE_MODULES", tmp_path)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="install-peers"):
        oracle.require(SIGNER)


def test_an_apostrophe_is_signed_as_sent_not_as_url_parse_rewrites_it() -> None:
    """The one deliberate divergence on URLs httpx sends: a raw "'" (httpx keeps it in a
    path), which Node's url.parse signs as %27. Ours signs the path the gateway receives."""
    vector = Vector("apostrophe", "GET", f"{BASE}/v1/apis/o'brien", MINIMAL)
    [theirs] = oracle.run("sign.js", [vector.for_node()], package=SIGNER)
    assert "\n/v1/apis/o%27brien\n" in theirs["canonicalRequest"]
    assert canonical_request("GET", vector.url, MINIMAL, b"").uri == "/v1/apis/o'brien"
    assert str(httpx.URL(vector.url)) == vector.url
