"""The client-credential exchange: a Tencent Cloud secret traded for a Bearer token.

With ``secret_id``/``secret_key`` and no API key, the node-sdk (``auth().
getClientCredential()`` in ``src/auth/index.ts``) first sends a TC3-signed
``POST {auth root}/token/clientCredential`` with ``{"grant_type":"client_credentials"}``
and then calls the relational database, data models and AI with
``Authorization: Bearer <access_token>``. Its other gateway calls (``callApis``,
``callContainer``) it signs directly. The js-sdk's Node build draws the same line: it
signs every gateway call except ``/auth/*`` (this exchange aside), ``/v1/model/``,
``/v1/rdb/`` and ``/v1/ai/``, which use this token.

This module holds the pure halves: the request to send and the reading of the answer.
Who sends it, signs it, caches the token and refreshes it is the session machinery's
business.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from .._core.config import Service
from .._core.errors import ResponseValidationError
from .._core.service import decode_model
from .._core.transport import Request, Response
from ._models import TokenResponse

__all__ = [
    "BEARER_SERVICES",
    "BODY",
    "PATH",
    "SIGNED_SERVICES",
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
    """The exchange as the transport sends it; it must be TC3-signed on every attempt.

    ``authenticated=False``: it must not carry a Bearer (it is how one is obtained).
    Safe to repeat: a second exchange only leaves an unused token behind.
    """
    return Request(
        "POST",
        "auth",
        PATH,
        headers=MappingProxyType({"Content-Type": _CONTENT_TYPE}),
        content=BODY,
        authenticated=False,
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
