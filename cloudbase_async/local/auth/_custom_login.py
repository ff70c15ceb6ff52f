"""The gateway's custom-login key, and the check a custom sign-in ticket must pass.

A real environment's custom-login key is an RSA key pair: the console hands its owner
the private half as a JSON file (``private_key_id``, ``private_key``, ``env_id``), their
backend mints tickets with it (``cloudbase_async.auth.create_ticket`` or the official
node-sdk's ``createTicket``), and the auth service verifies them with the public half.
The gateway does the same with a key of its own: ``custom-login-key.json`` in the data
directory, in the console's format, made on first use (an RSA key takes a noticeable
fraction of a second to generate; most test gateways never need one).

A ticket is ``<private_key_id>/@@/<RS256 JWT>`` whose claims carry every time in
**milliseconds** (``iat``, ``exp``; PyJWT's own checks assume seconds, so the gateway
checks ``exp`` itself). It signs in when its key id is the key's, its signature
verifies with the public key, its ``env`` is the gateway's, ``exp`` has not passed and
``uid`` follows the custom user id rule.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Final

import attrs
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ...auth import TicketCredentials
from ._common import AuthError

__all__ = ["KEY_FILE", "CustomLoginKey", "key_file_json", "read_ticket", "write_key_file"]

#: The key's file in the data directory.
KEY_FILE: Final = "custom-login-key.json"
_SEPARATOR: Final = "/@@/"
# The custom user id rule as the official node-sdk states it (src/auth/index.ts,
# checkCustomUserIdRegex). Written out here rather than imported from the SDK's minting
# side: the gateway is the other party and checks independently.
_CUSTOM_UID: Final = re.compile(r"[a-zA-Z0-9_\-#@~=*(){}\[\]:.,<>+]{4,32}")


def _refused(why: str) -> AuthError:
    # The real service's code for a refused ticket is not documented; a bad argument is
    # what the ticket is.
    return AuthError("invalid_argument", f"Invalid custom sign-in ticket: {why}")


@attrs.frozen
class _Key:
    credentials: TicketCredentials
    public_key: rsa.RSAPublicKey = attrs.field(repr=False)


def _generate(env: str) -> TicketCredentials:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return TicketCredentials(private_key_id=str(uuid.uuid4()), private_key=pem, env_id=env)


def _public_key(credentials: TicketCredentials) -> rsa.RSAPublicKey:
    private = serialization.load_pem_private_key(credentials.private_key.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise TypeError(f"{KEY_FILE} does not hold an RSA key.")
    return private.public_key()


def key_file_json(credentials: TicketCredentials) -> str:
    """The console's key file for ``credentials`` (JSON text)."""
    return json.dumps(
        {
            "private_key_id": credentials.private_key_id,
            "private_key": credentials.private_key,
            "env_id": credentials.env_id,
        },
        indent=2,
    )


def write_key_file(path: Path, credentials: TicketCredentials) -> None:
    """Write the key file at ``path``, readable by its owner only (replacing one there)."""
    text = key_file_json(credentials)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    # Created 0600 before a byte of the key is written, then moved into place whole.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class CustomLoginKey:
    """The custom-login key of a data directory, loaded (or made) on first use.

    :param path: the key file (``<data dir>/custom-login-key.json``).
    :param env: the gateway's environment id: the key's ``env_id``. A data directory
        reused under another id keeps its key and has the file's ``env_id`` rewritten.
    """

    def __init__(self, path: Path, env: str) -> None:
        self.path = path
        self.env = env
        self._lock = threading.Lock()  # minting and sign-ins run on worker threads
        self._key: _Key | None = None

    def _loaded(self) -> _Key:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create()
            return self._key

    def _load_or_create(self) -> _Key:
        if self.path.exists():
            stored = TicketCredentials.from_file(self.path)
            credentials = attrs.evolve(stored, env_id=self.env)
            if stored.env_id != self.env:
                write_key_file(self.path, credentials)
        else:
            credentials = _generate(self.env)
            write_key_file(self.path, credentials)
        return _Key(credentials, _public_key(credentials))

    @property
    def credentials(self) -> TicketCredentials:
        """The private key, as the console's key file holds it."""
        return self._loaded().credentials

    def file(self) -> Path:
        """The key file (written now if the key is new)."""
        self._loaded()
        return self.path

    def read(self, ticket: str, *, now_ms: int) -> str:
        """The custom user id a valid ``ticket`` names; :class:`AuthError` otherwise."""
        key = self._loaded()
        return read_ticket(
            ticket, key.credentials.private_key_id, key.public_key, env=self.env, now_ms=now_ms
        )

    def __repr__(self) -> str:
        return f"<CustomLoginKey {self.path.name} env={self.env!r}>"


def read_ticket(
    ticket: str, key_id: str, public_key: rsa.RSAPublicKey, *, env: str, now_ms: int
) -> str:
    """Check ``ticket`` against the key ``key_id`` and the gateway's ``env`` at ``now_ms``
    (milliseconds since the epoch); its ``uid``, or :class:`AuthError`."""
    prefix, separator, token = ticket.partition(_SEPARATOR)
    if not separator or not token:
        raise _refused("expected <private_key_id>/@@/<JWT>.")
    if prefix != key_id:
        raise _refused("it names another private key (private_key_id).")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={
                "require": ["env", "exp", "uid"],
                # Milliseconds, not the seconds PyJWT compares with: checked below.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise _refused("the signature does not verify with the custom-login key.") from None
    except jwt.InvalidTokenError as exc:
        raise _refused(f"not a valid RS256 JWT ({exc}).") from None
    if claims["env"] != env:
        raise _refused(f"it is for environment {claims['env']!r}, not {env!r}.")
    expiry = claims["exp"]
    if not isinstance(expiry, int | float) or isinstance(expiry, bool):
        raise _refused("exp is not a number of milliseconds.")
    if expiry <= now_ms:
        raise _refused("it has expired (tickets are valid for 10 minutes).")
    uid = claims["uid"]
    if not isinstance(uid, str) or not _CUSTOM_UID.fullmatch(uid):
        raise _refused("uid must be 4 to 32 of letters, digits and _-#@~=*(){}[]:.,<>+")
    return uid
