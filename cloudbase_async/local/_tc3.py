"""TC3-HMAC-SHA256 signatures, checked at the gateway's door.

A request whose ``Authorization`` is a TC3 signature (what ``CloudBase(secret_id=...,
secret_key=...)`` and the official server SDKs send) is verified here before any
service sees it, against the gateway's own Tencent Cloud secret
(:attr:`~cloudbase_async.local.LocalCloudBase.secret_id` / ``secret_key``):

* the ``Credential`` names that SecretId and the UTC date of the ``Timestamp``;
* the timestamp is within :data:`MAX_CLOCK_SKEW` of the gateway's clock;
* every header named in ``SignedHeaders`` was received (``host`` and ``content-type``
  among them), and the signature recomputed from the method, the path and query as
  received, those headers and the body bytes is the one sent.

The recomputation is :mod:`cloudbase_async._core.tc3`'s, the signer the SDK uses,
which the tests hold to the official ``@cloudbase/signature-nodejs`` on fixed vectors;
the official js-sdk's and node-sdk's signed requests are verified here too
(``tests/local/test_local_tc3.py``).

A valid signature makes the caller the administrator: its ``Authorization`` is replaced
by a short-lived administrator token, so services identify it as any other caller and
never see the secret. An invalid one is answered 401 here: ``CHECK_LOGIN_FAILED`` in
the gateway's body shape (the auth API's shape under ``/auth``), with a message saying
what did not match. The real gateway's code and clock-skew window for a refused
signature are not documented; these are the local gateway's. Temporary keys (a
``Token``) are refused: the local gateway issues none.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Final

import attrs
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._core import tc3
from .._core.errors import InvalidRequestError
from ._http import gateway_error
from ._identity import ADMIN_SCOPE, Keys, TokenSigner
from .auth._common import AuthError

__all__ = ["MAX_BODY", "MAX_CLOCK_SKEW", "SignedRequest", "Tc3Gate", "Tc3Refused", "verify"]

#: Seconds a signature's timestamp may be off the gateway's clock, either way.
MAX_CLOCK_SKEW: Final = 300
#: The largest body a signed request may carry (it is read whole to be hashed).
MAX_BODY: Final = 64 * 1024 * 1024
#: Seconds the administrator token standing for a verified signature lives (it is
#: used for this one request only).
_TOKEN_LIFETIME: Final = 60.0

_PREFIX: Final = tc3.ALGORITHM + " "
_AUTHORIZATION: Final = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    rf"{tc3.SERVICE}/tc3_request,\s*SignedHeaders=(?P<headers>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64}),\s*Timestamp=(?P<timestamp>\d{1,12})"
    r"(?:,\s*Token=(?P<token>\S+))?"
)


class Tc3Refused(Exception):
    """The signature does not verify; the message says why (never a secret)."""


@attrs.frozen
class SignedRequest:
    """What a signature is checked against: the request as the gateway received it."""

    method: str
    #: ``http://<Host header><path as sent>[?<query as sent>]``.
    url: str
    headers: dict[str, str]
    body: bytes


def verify(authorization: str, request: SignedRequest, keys: Keys, *, now: float) -> None:
    """Check ``authorization`` (a TC3 value) for ``request``.

    :raises Tc3Refused: naming the first thing that does not match.
    """
    parsed = _AUTHORIZATION.fullmatch(authorization.strip())
    if parsed is None:
        raise Tc3Refused(
            "Malformed TC3 Authorization: expected 'TC3-HMAC-SHA256 Credential=<SecretId>/"
            "<date>/tcb/tc3_request, SignedHeaders=..., Signature=..., Timestamp=...'."
        )
    if not hmac.compare_digest(parsed["id"].encode(), keys.secret_id.encode()):
        raise Tc3Refused("Unknown SecretId: sign with the local gateway's secret_id.")
    if parsed["token"] is not None:
        raise Tc3Refused("The local gateway issues no temporary keys: sign without a Token.")
    timestamp = int(parsed["timestamp"])
    if abs(now - timestamp) > MAX_CLOCK_SKEW:
        raise Tc3Refused(
            f"The signature's Timestamp is more than {MAX_CLOCK_SKEW} s off the gateway's clock."
        )
    try:
        scope = tc3.credential_scope(timestamp)
    except InvalidRequestError as exc:
        raise Tc3Refused(str(exc)) from None
    if scope != f"{parsed['date']}/{tc3.SERVICE}/tc3_request":
        raise Tc3Refused("The Credential's date is not the UTC date of the Timestamp.")
    names = parsed["headers"].split(";")
    missing = [name for name in names if name not in request.headers]
    if missing:
        raise Tc3Refused(f"Signed headers not received: {', '.join(missing)}.")
    try:
        canonical = tc3.canonical_request(
            request.method,
            request.url,
            [(name, request.headers[name]) for name in names],
            request.body,
        )
    except InvalidRequestError as exc:
        raise Tc3Refused(f"The request cannot carry a TC3 signature: {exc}") from None
    expected = tc3.signature(keys.secret_key, timestamp, tc3.string_to_sign(canonical, timestamp))
    if not hmac.compare_digest(expected.encode(), parsed["signature"].encode()):
        raise Tc3Refused(
            "The TC3 signature does not match the request (its method, path, query, "
            "signed headers or body differ from what was signed, or the key is wrong)."
        )


class Tc3Gate:
    """Pure-ASGI middleware: verifies TC3-signed requests, passes every other through.

    :param clock: wall-clock seconds (signature timestamps, token expiry).
    """

    def __init__(
        self, app: ASGIApp, keys: Keys, signer: TokenSigner, *, clock: Callable[[], float]
    ) -> None:
        self.app = app
        self._keys = keys
        self._signer = signer
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = _header(scope, b"authorization") if scope["type"] == "http" else None
        if authorization is None or not authorization.startswith(_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            too_large = f"A signed request's body may not exceed {MAX_BODY} bytes."
            await _refusal(scope, too_large)(scope, receive, send)
            return
        now = self._clock()
        try:
            verify(authorization, _signed_request(scope, body), self._keys, now=now)
        except Tc3Refused as exc:
            await _refusal(scope, str(exc))(scope, receive, send)
            return
        token = self._signer.issue_access_token(
            sub="admin",
            scope=ADMIN_SCOPE,
            session_id=ADMIN_SCOPE,
            lifetime=_TOKEN_LIFETIME,
            now=now,
        )
        headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
        headers.append((b"authorization", f"Bearer {token}".encode()))
        await self.app({**scope, "headers": headers}, _replay(body, receive), send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _signed_request(scope: Scope, body: bytes) -> SignedRequest:
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = bytes(key).decode("latin-1").lower()
        text = bytes(value).decode("latin-1")
        # A header received twice is signed as its values joined, as HTTP combines them.
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    path = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    host = headers.get("host", "")
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    return SignedRequest(scope["method"], url, headers, body)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or ``None`` once it grows past :data:`MAX_BODY`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; the app will see it too
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then waits as before."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _refusal(scope: Scope, message: str) -> JSONResponse:
    if scope["path"].startswith("/auth/"):
        error = AuthError("unauthenticated", message)
        return JSONResponse(error.body(), status_code=401)
    return gateway_error(scope, 401, "CHECK_LOGIN_FAILED", message)
