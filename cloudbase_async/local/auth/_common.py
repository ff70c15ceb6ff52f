"""What the auth engine's parts share: the error, the settings, body checks, grants.

A grant is a short-lived single-purpose token the API hands out (a verification token
after a right code, a sudo token after a password): stored by its hash, checked by kind
and expiry, used up when spent.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from ._store import hash_token

__all__ = [
    "AuthError",
    "AuthSettings",
    "Channel",
    "SentCode",
    "contact_of",
    "issue_grant",
    "new_id",
    "required_text",
    "use_grant",
]

log: Final = logging.getLogger("cloudbase_async.local")

Channel: TypeAlias = Literal["sms", "email"]

# error -> (HTTP status, numeric error_code): gRPC codes as the official SDK knows them.
ERRORS: Final[Mapping[str, tuple[int, int]]] = {
    "invalid_argument": (400, 3),
    "invalid_request": (400, 3),
    "invalid_verification_code": (400, 3),
    "invalid_password": (400, 3),
    "not_found": (404, 5),
    "user_not_found": (404, 5),
    "already_exists": (409, 6),
    "permission_denied": (403, 7),
    "resource_exhausted": (429, 8),
    "failed_precondition": (400, 9),
    "internal": (500, 13),
    "unavailable": (503, 14),
    "unauthenticated": (401, 16),
    "invalid_grant": (400, 16),
    "invalid_username_or_password": (401, 16),
}

PHONE: Final = re.compile(r"^\+\d{1,4} \d{4,20}$")
USERNAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,47}$")
TARGETS: Final = frozenset({"ANY", "USER", "NOT_USER", "CUR_USER"})
GENDERS: Final = frozenset({"MALE", "FEMALE", "UNKNOWN"})
# SQL, not a password:
_SET_PASSWORD: Final = "UPDATE users SET password = ?, password_updated_at = ?, updated_at = ? "  # noqa: S105
_SET_PASSWORD_WHERE: Final = _SET_PASSWORD + "WHERE uid = ?"


class AuthError(Exception):
    """An auth API error: ``{"error", "error_code", "error_description"}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status, self.error_code = ERRORS.get(error, (400, 3))

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "error_code": self.error_code,
            "error_description": self.description,
        }


@attrs.frozen
class AuthSettings:
    """How the auth engine behaves; every duration in seconds."""

    env: str
    access_token_lifetime: float = 7200.0
    refresh_token_lifetime: float = 31 * 86400.0
    #: ``None``: a random six-digit code per message. A string: always this code.
    verification_code: str | None = None
    code_lifetime: float = 600.0
    verification_token_lifetime: float = 600.0
    sudo_token_lifetime: float = 900.0
    max_code_attempts: int = 5
    #: Minimum time between two codes to one phone number or email (``0``: no limit).
    code_resend_interval: float = 0.0


@attrs.frozen
class SentCode:
    """A code the gateway "sent" (logged, never delivered)."""

    channel: Channel
    to: str
    code: str
    verification_id: str
    sent_at: float


def contact_of(body: Mapping[str, Any]) -> tuple[Channel, str]:
    phone, email = body.get("phone_number"), body.get("email")
    if phone and not email:
        if not isinstance(phone, str) or not PHONE.fullmatch(phone):
            raise AuthError(
                "invalid_argument",
                'phone_number must look like "+86 13800138000" (country code, a space, '
                "the number).",
            )
        return "sms", phone
    if email and not phone:
        if not isinstance(email, str) or "@" not in email:
            raise AuthError("invalid_argument", f"Not an email address: {email!r}.")
        return "email", email.strip().lower()
    raise AuthError("invalid_argument", "Send exactly one of phone_number or email.")


def required_text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise AuthError("invalid_argument", f"{key} is required.")
    return value


def new_id() -> str:
    return uuid.uuid4().hex


def issue_grant(
    db: sqlite3.Connection,
    kind: str,
    expires_at: float,
    *,
    channel: str | None = None,
    contact: str | None = None,
    uid: str | None = None,
) -> str:
    """A new grant of ``kind``; returns the token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO grants (token_hash, kind, channel, contact, uid, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (hash_token(token), kind, channel, contact, uid, expires_at),
    )
    return token


def use_grant(
    db: sqlite3.Connection, kind: str, token: str, *, now: float, consume: bool = True
) -> tuple[str, str, str | None]:
    """(channel, contact, uid) of a live grant; used up unless ``consume=False``."""
    row = db.execute(
        "SELECT * FROM grants WHERE token_hash = ? AND kind = ?", (hash_token(token), kind)
    ).fetchone()
    if row is None or row["used"] or row["expires_at"] <= now:
        raise AuthError("invalid_argument", f"Invalid or expired {kind} token.")
    if consume:
        db.execute("UPDATE grants SET used = 1 WHERE token_hash = ?", (hash_token(token),))
    return row["channel"], row["contact"], row["uid"]
