"""The client-credential exchange: a Tencent Cloud secret traded for a Bearer token.

With ``secret_id``/``secret_key`` and no API key, the node-sdk (``auth().
getClientCredential()`` in ``src/auth/index.ts``) first sends a TC3-signed
``POST {auth root}/token/clientCredential`` with ``{"grant_type":"client_credentials"}``
and then calls the relational database, data models and AI with
``Authorization: Bearer <access_token>``. Its other gateway calls (``callApis``,
``callContainer``) it signs directly. The js-sdk's Node build draws the same line: it
signs every gateway call except ``/auth/*`` (this exchange aside), ``/v1/model/``,
``/v1/rdb/`` and ``/v1/ai/``, which use this token.

This module holds the pure halves (the request to send, the reading of the answer) and
:class:`ClientCredential`, the credential of a client configured with a secret: it
signs the calls of :data:`SIGNED_SERVICES` and hands out the exchanged Bearer token,
obtained once for all concurrent callers and kept until shortly before it expires, to
the others.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Final

import anyio
import attrs
import httpx

from .._core.config import Service
from .._core.errors import ResponseValidationError
from .._core.responses import Response
from .._core.service import decode_model
from .._core.tc3 import Tc3Credentials, Tc3Signer
from .._core.transport import Request, Transport
from ._models import TokenResponse

__all__ = [
    "BEARER_SERVICES",
    "BODY",
    "PATH",
    "SIGNED_SERVICES",
    "ClientCredential",
    "client_credential_request",
    "read_client_credential",
]

#: The exchange's path under the auth service's root (``{base}/auth/v1``).
PATH: Final = "/token/clientCredential"
#: The body, byte for byte what the node-sdk sends (``JSON.stringify`` output).
BODY: Final = b'{"grant_type":"client_credentials"}'
_CONTENT_TYPE: Final = "application/json"

#: Services whose calls carry the exchanged Bearer token rather than a signature.
BEARER_SERVICES: Final[frozenset[Service]] = frozenset({"rdb", "ai"})
#: Services whose calls are TC3-signed (the js-sdk's Node build signs all of them; the
#: node-sdk signs CloudRun and reaches the others over its legacy channel instead).
SIGNED_SERVICES: Final[frozenset[Service]] = frozenset(
    {"functions", "cloudrun", "storage", "nosql"}
)


def client_credential_request() -> Request:
    """The exchange as the transport sends it; it must be TC3-signed on every attempt,
    through a transport whose only credential is the signature (it carries no Bearer:
    it is how one is obtained). Safe to repeat: a second exchange only leaves an unused
    token behind.
    """
    return Request(
        "POST",
        "auth",
        PATH,
        headers=MappingProxyType({"Content-Type": _CONTENT_TYPE}),
        content=BODY,
        retry_safe=True,
    )


def read_client_credential(response: Response) -> TokenResponse:
    """The token in a 2xx answer to the exchange.

    :raises APIError: when the body carries an error (some 2xx do).
    :raises ResponseValidationError: when it carries no usable Bearer token.
    """
    tokens = decode_model(response, TokenResponse)
    if not tokens.access_token or (tokens.token_type or "Bearer").lower() != "bearer":
        raise ResponseValidationError(
            "The client-credential exchange answered without a Bearer access token.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=None,  # it may hold a token; keep it out of logs
        )
    return tokens


#: Seconds before expiry at which an exchanged token is replaced.
_MARGIN: Final = 60.0


class ClientCredential:
    """The identity of a client configured with a Tencent Cloud secret.

    Calls to :data:`SIGNED_SERVICES` are TC3-signed on every attempt. Every other call
    carries ``Bearer <token>`` from the client-credential exchange: one exchange for any
    number of concurrent callers, cached until ``_MARGIN`` seconds before it expires,
    and made again once if the server refuses the token.

    :param transport: a credential-less transport on the client's pool; the exchange
        itself is signed through it.
    """

    def __init__(
        self,
        transport: Transport,
        credentials: Tc3Credentials,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self._signer = Tc3Signer(credentials, SIGNED_SERVICES)
        # The exchange carries the signature as its only credential.
        exchange = Tc3Signer(credentials, frozenset({"auth"}))
        self._exchange = attrs.evolve(transport, credentials=exchange, signer=exchange)
        self._clock = clock
        self._token: str | None = None
        self._stale_at = -math.inf
        self._lock = anyio.Lock()

    async def authorization(self) -> str:
        token = self._token
        if token is not None and self._clock() < self._stale_at:
            return f"Bearer {token}"
        # One exchange at a time; whoever waited finds the fresh token and returns.
        async with self._lock:
            if self._token is None or self._clock() >= self._stale_at:
                await self._renew()
            return f"Bearer {self._token}"

    async def rejected(self, authorization: str | None) -> bool:
        async with self._lock:
            if authorization == f"Bearer {self._token}":
                await self._renew()
        return True

    async def signs(self, service: str | None) -> bool:
        return service in SIGNED_SERVICES

    def sign(self, request: httpx.Request) -> str:
        return self._signer.sign(request)

    async def _renew(self) -> None:
        asked = self._clock()
        tokens = read_client_credential(await self._exchange.send(client_credential_request()))
        lifetime = tokens.expires_in if tokens.expires_in is not None else 3600.0
        self._token = tokens.access_token
        self._stale_at = asked + max(lifetime - min(_MARGIN, lifetime / 2), 0.0)

    def __repr__(self) -> str:
        return f"ClientCredential({self.credentials!r})"
