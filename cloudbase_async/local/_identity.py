"""Who is calling: the one identity every local service resolves a request to.

The gateway knows three kinds of caller, as the real one does: the administrator (the
API key, a request TC3-signed with the gateway's Tencent Cloud secret, or the token the
client-credential exchange gives for it; ``service_role`` in the relational database),
the anonymous role (the publishable key; ``anon``) and a user (an access token the
gateway issued; ``authenticated``). Services receive a :class:`Caller` and never parse
credentials themselves: each route calls ``identify(request.headers.get("authorization"))``
(a signature has been checked, and replaced by an administrator token, before any route
sees the request: :mod:`._tc3`).

The keys and the secrets behind them live in ``keys.json`` of the data directory, so a
gateway restarted on the same directory accepts the keys and tokens it issued before.
Access tokens are HS256 JWTs (PyJWT); which of them are still alive (not revoked, their
session not ended) is the auth engine's knowledge, passed in as ``session_active``.
Administrator tokens belong to no session: they live until they expire.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import attrs
import jwt

__all__ = [
    "ADMIN_SCOPE",
    "AccessClaims",
    "Caller",
    "CredentialError",
    "Identify",
    "Identity",
    "Keys",
    "Role",
    "TokenSigner",
]

Role: TypeAlias = Literal["admin", "anon", "user"]

_RDB_ROLES: Final[dict[Role, str]] = {
    "admin": "service_role",
    "anon": "anon",
    "user": "authenticated",
}


@attrs.frozen
class Caller:
    """The identity behind one request.

    ``uid`` is the user's id for ``role == "user"`` (``None`` otherwise);
    ``anonymous`` marks a user who signed in anonymously (still a user, with a uid).
    """

    role: Role
    uid: str | None = None
    anonymous: bool = False

    @property
    def rdb_role(self) -> str:
        """The PostgreSQL role this caller acts as in the relational database."""
        return _RDB_ROLES[self.role]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class CredentialError(Exception):
    """The request's credential is missing, malformed, expired or unknown.

    Each service answers it in its own error shape with ``status`` (401) and ``code``
    (a gateway code such as ``INVALID_ACCESS_TOKEN`` or ``ACCESS_TOKEN_EXPIRED``).
    """

    def __init__(self, code: str, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


#: ``identify(authorization_header_or_None) -> Caller``, raising :class:`CredentialError`.
Identify: TypeAlias = Callable[[str | None], Caller]

_ALGORITHM: Final = "HS256"
_KEYS_FILE: Final = "keys.json"
#: The ``scope`` of an administrator token (the client-credential exchange's, or a
#: verified signature's); the auth engine gives users ``user`` or ``anonymous``.
ADMIN_SCOPE: Final = "client_credential"


def _secret() -> str:
    return secrets.token_urlsafe(32)


def _secret_id() -> str:
    # Shaped like a Tencent Cloud SecretId ("AKID" and 32 letters or digits).
    return "AKID" + secrets.token_hex(16)


@attrs.frozen
class Keys:
    """The gateway's credentials and signing secrets (never shown in a repr)."""

    api_key: str = attrs.field(repr=False)
    publishable_key: str = attrs.field(repr=False)
    #: Signs user access tokens.
    token_secret: str = attrs.field(repr=False)
    #: For services that sign their own URLs (storage upload/download links).
    url_secret: str = attrs.field(repr=False)
    #: The Tencent Cloud secret whose TC3 signatures the gateway accepts (as the
    #: account's administrator).
    secret_id: str = attrs.field(factory=_secret_id, repr=False)
    secret_key: str = attrs.field(factory=_secret, repr=False)

    @classmethod
    def generate(cls) -> Keys:
        return cls(_secret(), _secret(), _secret(), _secret())

    @classmethod
    def load_or_create(cls, directory: Path) -> Keys:
        """The keys of ``directory`` (created, mode 0600, on first use).

        A file written by an older gateway keeps its keys and gains the ones it lacks.
        """
        path = directory / _KEYS_FILE
        if not path.exists():
            keys = cls.generate()
            _write_keys(path, keys)
            return keys
        data = json.loads(path.read_text("utf-8"))
        names = [field.name for field in attrs.fields(cls)]
        keys = cls(**{name: str(data[name]) for name in names if name in data})
        if any(name not in data for name in names):
            _write_keys(path, keys)
        return keys


def _write_keys(path: Path, keys: Keys) -> None:
    # Written in full before it replaces the file, and readable only by its owner.
    fresh = path.with_name(path.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(attrs.asdict(keys), file, indent=2)
    os.replace(fresh, path)


@attrs.frozen
class AccessClaims:
    """What a valid access token says."""

    sub: str
    scope: str
    session_id: str
    jti: str
    iat: int
    exp: int


@attrs.frozen
class TokenSigner:
    """Issues and checks the gateway's access tokens (HS256 JWTs)."""

    secret: str = attrs.field(repr=False)
    issuer: str

    def issue_access_token(
        self, *, sub: str, scope: str, session_id: str, lifetime: float, now: float
    ) -> str:
        iat = int(now)
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "scope": scope,
            "sid": session_id,
            "jti": uuid.uuid4().hex,
            "iat": iat,
            # Rounded up to whole seconds: the token lives at least ``lifetime``, as the
            # ``expires_in`` the client is told promises.
            "exp": math.ceil(now + lifetime),
        }
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def read_access_token(self, token: str, *, now: float, verify_exp: bool = True) -> AccessClaims:
        """The claims of ``token``; :class:`CredentialError` if it is not one of ours."""
        claims = self._decode(token, now=now, verify_exp=verify_exp, required=("sub", "sid"))
        try:
            return AccessClaims(
                sub=str(claims["sub"]),
                scope=str(claims.get("scope", "user")),
                session_id=str(claims["sid"]),
                jti=str(claims["jti"]),
                iat=int(claims["iat"]),
                exp=int(claims["exp"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CredentialError("INVALID_ACCESS_TOKEN", "Malformed access token.") from exc

    def _decode(
        self, token: str, *, now: float, verify_exp: bool, required: tuple[str, ...]
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[_ALGORITHM],
                issuer=self.issuer,
                options={
                    "require": ["iat", "exp", "jti", *required],
                    "verify_exp": False,  # checked below against our own clock
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise CredentialError("INVALID_ACCESS_TOKEN", "Invalid access token.") from exc
        if verify_exp and int(claims["exp"]) <= now:
            raise CredentialError("ACCESS_TOKEN_EXPIRED", "The access token has expired.")
        return claims


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CredentialError("INVALID_ACCESS_TOKEN", "Expected 'Authorization: Bearer <token>'.")
    return token.strip()


class Identity:
    """Resolves an ``Authorization`` header to a :class:`Caller`.

    :param session_active: whether a session id (the ``sid`` of an access token) is
        still alive; the auth engine's answer, so that a revoked session's or a
        reset gateway's tokens stop working at once.
    :param clock: wall-clock seconds (token expiry).
    """

    def __init__(
        self,
        keys: Keys,
        signer: TokenSigner,
        *,
        session_active: Callable[[str], bool],
        clock: Callable[[], float],
    ) -> None:
        self._keys = keys
        self._signer = signer
        self._session_active = session_active
        self._clock = clock

    def identify(self, authorization: str | None) -> Caller:
        """The caller for an ``Authorization`` header value (``None``: no header)."""
        if authorization is None or not authorization.strip():
            raise CredentialError(
                "MISSING_CREDENTIALS", "No credentials: send an Authorization header."
            )
        token = _bearer(authorization)
        if hmac.compare_digest(token.encode(), self._keys.api_key.encode()):
            return Caller("admin")
        if hmac.compare_digest(token.encode(), self._keys.publishable_key.encode()):
            return Caller("anon")
        claims = self._signer.read_access_token(token, now=self._clock())
        if claims.scope == ADMIN_SCOPE:
            return Caller("admin")
        if not self._session_active(claims.session_id):
            raise CredentialError("INVALID_ACCESS_TOKEN", "The access token was revoked.")
        return Caller("user", uid=claims.sub, anonymous=claims.scope == "anonymous")

    def __call__(self, authorization: str | None) -> Caller:
        return self.identify(authorization)

    def __repr__(self) -> str:
        return f"<Identity issuer={self._signer.issuer!r}>"
