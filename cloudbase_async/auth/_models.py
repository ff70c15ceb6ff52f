"""What the auth API answers, as frozen attrs classes (unknown fields kept in ``extra``).

Models that hold a secret (access, refresh, verification and sudo tokens) never show it
in their ``repr``: sessions get logged, printed in tracebacks and pasted into issues.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, TypeAlias

import attrs

from .._core.convert import structure
from .._core.redact import redact

__all__ = [
    "AuthEvent",
    "CaptchaChallenge",
    "CaptchaToken",
    "Provider",
    "Session",
    "SudoToken",
    "TokenInfo",
    "User",
    "UserGroup",
    "UserProvider",
    "Verification",
    "VerificationTarget",
    "VerificationToken",
]

VerificationTarget: TypeAlias = Literal["ANY", "USER", "NOT_USER", "CUR_USER"]


def _redacted(value: str | None) -> str:
    return redact(value)


class AuthEvent(StrEnum):
    """What changed in a client's auth state (passed to ``on_auth_state_change``)."""

    SIGNED_IN = "SIGNED_IN"
    SIGNED_OUT = "SIGNED_OUT"
    TOKEN_REFRESHED = "TOKEN_REFRESHED"  # noqa: S105 - an event name
    USER_UPDATED = "USER_UPDATED"


@attrs.frozen
class Session:
    """A signed-in user's tokens.

    ``expires_at`` is wall-clock time (seconds since the epoch) for storage and display;
    the SDK decides freshness on a monotonic clock, so changing the system clock does
    not make a session look fresh or stale. ``expires_at`` is ``None`` when the expiry is
    unknown (a token given to :meth:`Auth.set_session` that is not a JWT); such a token
    is used until the server rejects it.
    """

    access_token: str = attrs.field(repr=_redacted)
    refresh_token: str | None = attrs.field(default=None, repr=_redacted)
    expires_at: float | None = None
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    scope: str | None = None
    user_id: str | None = None
    groups: list[str] = attrs.field(factory=list)
    id_token: str | None = attrs.field(default=None, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def is_anonymous(self) -> bool:
        """An anonymous session (``scope == "anonymous"``): refreshed by signing in again."""
        return self.scope == "anonymous"

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds of wall-clock time left (negative once expired), ``None`` if unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)


def _lifetime(value: float | None) -> float | None:
    """A token's lifetime in seconds; a negative or non-finite one (``NaN`` parses as
    JSON in Python) counts as unknown, instead of making every call refresh."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return value


@attrs.frozen
class TokenResponse:
    """The body of every sign-in, sign-up and token call (internal)."""

    access_token: str = attrs.field(repr=_redacted)
    refresh_token: str | None = attrs.field(default=None, repr=_redacted)
    expires_in: float | None = attrs.field(default=None, converter=_lifetime)
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    scope: str | None = None
    sub: str | None = None
    groups: list[str] = attrs.field(factory=list)
    id_token: str | None = attrs.field(default=None, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def session(self, issued_at: float) -> Session:
        """The session these tokens make, with ``expires_at`` counted from ``issued_at``."""
        return Session(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            expires_at=None if self.expires_in is None else issued_at + self.expires_in,
            token_type=self.token_type or "Bearer",
            scope=self.scope,
            user_id=self.sub,
            groups=list(self.groups),
            id_token=self.id_token,
            extra=dict(self.extra),
        )


@attrs.frozen
class Verification:
    """A verification code was sent. Pass ``verification_id`` and the code to ``verify``.

    ``is_user`` says whether the phone number or email belongs to an existing user: sign
    in when true, sign up when false.
    """

    verification_id: str
    expires_in: float | None = None
    is_user: bool = False
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class VerificationToken:
    """Proof that a verification code was right; signs in, signs up, or resets (600 s)."""

    verification_token: str = attrs.field(repr=_redacted)
    expires_in: float | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class SudoToken:
    """Short-lived permission (900 s) for sensitive changes: password, account deletion."""

    sudo_token: str = attrs.field(repr=_redacted)
    expires_in: float | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class CaptchaChallenge:
    """A captcha to show the user (``data``, typically an image); answer it with
    :meth:`Auth.verify_captcha` using ``token``."""

    token: str = attrs.field(repr=_redacted)
    data: str | None = attrs.field(default=None, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class CaptchaToken:
    """A solved captcha: pass ``captcha_token`` to the call that asked for it."""

    captcha_token: str = attrs.field(repr=_redacted)
    expires_in: float | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class UserGroup:
    id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class UserProvider:
    """An identity provider linked to a user (in :attr:`User.providers`)."""

    id: str | None = None
    provider_user_id: str | None = None
    name: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class User:
    """The signed-in user's profile (``GET /auth/v1/user/me``)."""

    sub: str | None = None
    name: str | None = None
    username: str | None = None
    picture: str | None = None
    email: str | None = None
    phone_number: str | None = None
    gender: str | None = None
    status: str | None = None
    providers: list[UserProvider] = attrs.field(factory=list)
    groups: list[UserGroup] = attrs.field(factory=list)
    meta: dict[str, Any] | None = None
    user_id: str | None = None
    has_password: bool | None = None
    type: str | None = None
    internal_user_type: str | None = None
    user_source: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    password_updated_at: str | None = None
    last_login: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Provider:
    """An identity provider of the environment and whether this user is bound to it."""

    id: str
    name: str | None = None
    provider_user_name: str | None = None
    bind: bool = False
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class TokenInfo:
    """What the server knows about a token (``introspect``); ``active`` is false when the
    server answered ``{}`` (an invalid, expired or revoked token)."""

    active: bool = True
    token_type: str | None = None
    client_id: str | None = None
    sub: str | None = None
    scope: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


def token_info(body: Mapping[str, Any]) -> TokenInfo:
    if not body:
        return TokenInfo(active=False)
    return structure({"active": True, **body}, TokenInfo)
