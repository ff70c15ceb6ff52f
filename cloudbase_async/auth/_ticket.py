"""Custom-login tickets: a backend vouches for one of its own users.

The backend authenticates the user its own way, mints a ticket with the custom-login
private key downloaded from the CloudBase console, and hands it to the client, which
signs in with it (``POST /auth/v1/signin/custom``). The ticket is the one
``@cloudbase/node-sdk`` 3.18.3 mints (``src/auth/index.ts``, ``createTicket``)::

    <private_key_id>/@@/<RS256 JWT>

with the JWT header ``{"alg":"RS256","typ":"JWT"}`` and the claims, in this order,
``alg`` (``"RS256"``), ``env``, ``iat``, ``exp`` (``iat`` + 10 minutes), ``uid``,
``refresh`` and ``expire`` — every time in **milliseconds** (``iat`` and ``expire`` since
the epoch, ``refresh`` a duration), not the seconds JWTs usually carry. Built with the
same claim order, the JWT's bytes are the node-sdk's bytes (RS256 signatures are
deterministic), which the tests check.

Signing needs PyJWT with ``cryptography``: the ``tickets`` extra. It is imported only
when a ticket is minted, so ``import cloudbase_async`` never needs it.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from .._core.errors import ConfigurationError, InvalidRequestError
from .._core.redact import redact

__all__ = [
    "DEFAULT_EXPIRE_AFTER",
    "DEFAULT_REFRESH",
    "TICKET_LIFETIME",
    "TicketCredentials",
    "create_ticket",
    "ticket_claims",
]

#: How long a ticket may be used to sign in (the node-sdk's fixed ``exp``).
TICKET_LIFETIME: Final = timedelta(minutes=10)
#: The node-sdk's default ``refresh`` (``3600 * 1000`` ms).
DEFAULT_REFRESH: Final = timedelta(hours=1)
#: The node-sdk's default ``expire``: this long after the ticket is minted.
DEFAULT_EXPIRE_AFTER: Final = timedelta(days=7)

_SEPARATOR: Final = "/@@/"
# The node-sdk's rule for custom user ids (fullmatch: JavaScript's "$" allows no
# trailing newline, Python's would).
_UID: Final = re.compile(r"[a-zA-Z0-9_\-#@~=*(){}\[\]:.,<>+]{4,32}")
# A CloudBase environment id, as the console shows it. Being ASCII also makes the
# claims' JSON the same bytes from Python's json and JavaScript's JSON.stringify.
_ENV_ID: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
_INSTALL_HINT: Final = "pip install 'cloudbase-async[tickets]'"


def _check_key_file_field(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"The custom-login private key file has no {what}.")
    return value


@attrs.frozen(repr=False)
class TicketCredentials:
    """The custom-login private key file from the CloudBase console.

    Load it with :meth:`from_file` or :meth:`from_json`. Keep it secret: whoever holds
    it can sign in as any user of the environment.
    """

    private_key_id: str
    private_key: str
    env_id: str

    def __attrs_post_init__(self) -> None:
        _check_key_file_field(self.private_key_id, "private_key_id")
        if _SEPARATOR in self.private_key_id or self.private_key_id != self.private_key_id.strip():
            raise ConfigurationError("The private key file's private_key_id is malformed.")
        key = _check_key_file_field(self.private_key, "private_key")
        if "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
            # Never show the key, even a broken one.
            raise ConfigurationError("The private key file's private_key is not a PEM private key.")
        if not self.env_id:
            raise ConfigurationError(
                "The private key file has no env_id: it predates environment-bound keys. "
                "Download a new custom-login private key from the CloudBase console."
            )
        if not isinstance(self.env_id, str) or not _ENV_ID.fullmatch(self.env_id):
            raise ConfigurationError(
                f"The private key file's env_id {self.env_id!r} is not an environment id."
            )

    @classmethod
    def from_json(cls, text: str | bytes) -> TicketCredentials:
        """The credentials in the key file's JSON text (other fields are ignored)."""
        try:
            data = json.loads(text)
        except ValueError:
            # Not chained: the JSON error keeps the whole text (the key) in ``.doc``.
            raise ConfigurationError(
                "The custom-login private key file is not valid JSON."
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError("The custom-login private key file is not a JSON object.")
        return cls(
            private_key_id=_check_key_file_field(data.get("private_key_id"), "private_key_id"),
            private_key=_check_key_file_field(data.get("private_key"), "private_key"),
            env_id=data.get("env_id") or "",
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TicketCredentials:
        """The credentials in the key file at ``path`` (read at once, synchronously)."""
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"Cannot read the custom-login private key file {os.fspath(path)!r}: "
                f"{type(exc).__name__}."
            ) from None
        return cls.from_json(text)

    def __repr__(self) -> str:
        return (
            f"TicketCredentials(private_key_id={self.private_key_id!r}, "
            f"private_key={redact(self.private_key)}, env_id={self.env_id!r})"
        )


def _epoch_ms(moment: datetime, what: str) -> int:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidRequestError(f"{what} must be a timezone-aware datetime.")
    # Integer arithmetic on timedeltas: exact, unlike float seconds * 1000.
    return (moment - _EPOCH) // _MILLISECOND


def ticket_claims(
    uid: str, *, env: str, issued_at_ms: int, refresh_ms: int, expire_ms: int
) -> dict[str, Any]:
    """The JWT claims of a ticket, in the node-sdk's order (which fixes the JSON bytes)."""
    return {
        "alg": "RS256",
        "env": env,
        "iat": issued_at_ms,
        "exp": issued_at_ms + TICKET_LIFETIME // _MILLISECOND,
        "uid": uid,
        "refresh": refresh_ms,
        "expire": expire_ms,
    }


def create_ticket(
    uid: str,
    *,
    credentials: TicketCredentials,
    env: str | None = None,
    refresh: timedelta = DEFAULT_REFRESH,
    expire: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """Mint a custom-login ticket for the user ``uid`` of your own user base.

    :param uid: your id for the user: 4 to 32 characters of letters, digits and
        ``_-#@~=*(){}[]:.,<>+``.
    :param credentials: the console's custom-login private key.
    :param env: the environment the client signs in to; must be the key's ``env_id``
        (default: the key's).
    :param refresh: how often the login's access token is refreshed (the ``refresh``
        claim; whole milliseconds).
    :param expire: when the login made with this ticket ends (the ``expire`` claim;
        default: :data:`DEFAULT_EXPIRE_AFTER` from now).
    :param now: the time the ticket is issued at (default: the current time); the
        ticket can be used for :data:`TICKET_LIFETIME` after it.
    :raises InvalidRequestError: for a bad ``uid`` or bad times.
    :raises ConfigurationError: when ``env`` is not the key's environment, the key is not
        a usable RSA private key, or the ``tickets`` extra is not installed.
    """
    if not isinstance(uid, str) or not _UID.fullmatch(uid):
        raise InvalidRequestError(
            "uid must be 4 to 32 characters of letters, digits and _-#@~=*(){}[]:.,<>+"
        )
    if env is not None and env != credentials.env_id:
        raise ConfigurationError(
            f"The custom-login private key belongs to environment {credentials.env_id!r}, "
            f"not {env!r}."
        )
    issued_at_ms = time.time_ns() // 1_000_000 if now is None else _epoch_ms(now, "now")
    if not isinstance(refresh, timedelta) or refresh < _MILLISECOND:
        raise InvalidRequestError("refresh must be a timedelta of at least one millisecond.")
    expire_ms = (
        issued_at_ms + DEFAULT_EXPIRE_AFTER // _MILLISECOND
        if expire is None
        else _epoch_ms(expire, "expire")
    )
    if expire_ms <= issued_at_ms:
        raise InvalidRequestError("expire must be later than the time the ticket is issued.")
    claims = ticket_claims(
        uid,
        env=credentials.env_id,
        issued_at_ms=issued_at_ms,
        refresh_ms=refresh // _MILLISECOND,
        expire_ms=expire_ms,
    )
    return credentials.private_key_id + _SEPARATOR + _sign_rs256(claims, credentials.private_key)


def _sign_rs256(claims: dict[str, Any], private_key: str) -> str:
    try:
        import jwt
        from jwt.algorithms import has_crypto
    except ImportError:
        has_crypto = False
    if not has_crypto:
        raise ConfigurationError(
            f"Custom-login tickets need PyJWT with cryptography: {_INSTALL_HINT}"
        )
    try:
        # PyJWT writes the header {"alg":"RS256","typ":"JWT"} (keys sorted), the bytes
        # jsonwebtoken writes. A key under 2048 bits is accepted with PyJWT's
        # InsecureKeyLengthWarning, as the node-sdk accepts it (allowInsecureKeySizes).
        return jwt.encode(claims, private_key, algorithm="RS256")
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"The custom-login private key is not a usable RSA private key ({type(exc).__name__})."
        ) from None
