"""Request building and response reading shared by the auth service and the session
manager: pure functions, no state."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from .._core.convert import structure
from .._core.errors import ResponseValidationError, make_api_error
from .._core.transport import Response

T = TypeVar("T")

__all__ = ["basic_auth", "bearer", "jwt_claims", "mapping", "read_body", "read_model"]

#: Prefix of the ``Authorization`` value for user tokens.
BEARER: Final = "Bearer "


def bearer(access_token: str) -> str:
    return BEARER + access_token


def basic_auth(client_id: str, client_secret: str) -> str:
    """``Authorization: Basic base64(client_id:client_secret)`` (OAuth client auth)."""
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def read_body(response: Response) -> Any:
    """The decoded JSON body of a 2xx auth response, raising the error some 2xx carry.

    The auth service (and gateways in front of it) sometimes answer 200 with an OAuth
    error (``{"error": ...}``) or a gateway error (``{"code": "...", "message": ...}``);
    the official SDK treats both as errors, and so do we.
    """
    body = response.json()
    if isinstance(body, Mapping) and (body.get("error") or body.get("code")):
        error = make_api_error(response.status_code, dict(body), request_id=response.request_id)
        raise error
    return body


def read_model(response: Response, cls: type[T]) -> T:
    """The 2xx body as ``cls``; a body of another shape is an :class:`APIError`, not a
    converter exception leaking out of the SDK."""
    body = read_body(response)
    try:
        return structure(body, cls)
    except Exception as exc:
        raise ResponseValidationError(
            f"The auth service answered with an unexpected body for {cls.__name__}.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        ) from exc


def mapping(body: Any) -> Mapping[str, Any]:
    """``body`` when it is a JSON object, else an empty one (``{}``/empty 2xx bodies)."""
    return body if isinstance(body, Mapping) else {}


def jwt_claims(token: str) -> Mapping[str, Any]:
    """The (unverified) payload of a JWT, or ``{}`` when ``token`` is not one.

    Used only to learn a token's ``exp`` and ``sub`` when a caller hands us a bare
    access token; the server remains the judge of validity.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
