"""Header values and token reading shared by the auth service and the session manager:
pure functions, no state."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["basic_auth", "bearer", "jwt_claims", "mapping"]

#: Prefix of the ``Authorization`` value for user tokens.
BEARER: Final = "Bearer "


def bearer(access_token: str) -> str:
    return BEARER + access_token


def basic_auth(client_id: str, client_secret: str) -> str:
    """``Authorization: Basic base64(client_id:client_secret)`` (OAuth client auth)."""
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


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
    except (ValueError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}
