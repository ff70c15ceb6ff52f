"""Pure helpers of the auth service and the session manager: header values, token
reading, and the argument checks every call shares (no state)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Final

from .._core.errors import InvalidRequestError
from ._models import SudoToken, VerificationToken
from ._phone import normalize_phone_number

__all__ = [
    "CAPTCHA_HEADER",
    "basic_auth",
    "bearer",
    "captcha_fields",
    "contact_fields",
    "given_fields",
    "jwt_claims",
    "mapping",
    "token_text",
]

#: The header a solved captcha's token travels in (beside ``?captcha_token=``).
CAPTCHA_HEADER: Final = "x-captcha-token"
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


def token_text(value: str | VerificationToken | SudoToken, what: str) -> str:
    if isinstance(value, VerificationToken):
        return value.verification_token
    if isinstance(value, SudoToken):
        return value.sudo_token
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{what} must be a non-empty string.")
    return value


def contact_fields(phone_number: str | None, email: str | None) -> dict[str, str]:
    """Exactly one of phone number (normalised) or email, as the API's body fields."""
    if (phone_number is None) == (email is None):
        raise InvalidRequestError("Pass exactly one of phone_number= or email=.")
    if phone_number is not None:
        return {"phone_number": normalize_phone_number(phone_number)}
    if not isinstance(email, str) or "@" not in email:
        raise InvalidRequestError(f"Not an email address: {email!r}.")
    return {"email": email.strip()}


def captcha_fields(token: str | None) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """Headers and query for a call retried with a solved captcha: the official SDK
    appends ``?captcha_token=``, the API reference names the ``x-captcha-token`` header;
    both are sent."""
    if not token:
        return None, None
    return {CAPTCHA_HEADER: token}, {"captcha_token": token}


def given_fields(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given (``None`` means "leave out")."""
    return {key: value for key, value in values.items() if value is not None}
