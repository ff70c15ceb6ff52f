"""The auth engine's SQLite file: schema, hashing, and rows turned into API bodies.

Secrets are never stored as given: refresh, verification and sudo tokens by their
SHA-256, passwords by PBKDF2. (Dev codes are stored as sent: reading them back is the
point of a local gateway.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

__all__ = [
    "Store",
    "check_password",
    "hash_password",
    "hash_token",
    "iso",
    "profile",
]

# Low on purpose: a test gateway signs users up in loops; the hash only has to keep
# passwords out of the file in clear, not resist an offline attack.
_PBKDF2_ROUNDS: Final = 10_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS users (
    uid TEXT PRIMARY KEY,
    anonymous INTEGER NOT NULL DEFAULT 0,
    device_id TEXT,
    custom_uid TEXT UNIQUE,
    username TEXT UNIQUE,
    phone_number TEXT UNIQUE,
    email TEXT UNIQUE,
    password TEXT,
    name TEXT,
    picture TEXT,
    gender TEXT,
    locale TEXT,
    description TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    password_updated_at REAL,
    last_login REAL
);
CREATE INDEX IF NOT EXISTS users_device ON users (device_id);
CREATE TABLE IF NOT EXISTS verifications (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    contact TEXT NOT NULL,
    code TEXT NOT NULL,
    target TEXT NOT NULL,
    uid TEXT,
    sent_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    verified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS verifications_contact ON verifications (contact, sent_at);
CREATE TABLE IF NOT EXISTS grants (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    channel TEXT,
    contact TEXT,
    uid TEXT,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_uid ON sessions (uid);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
"""
_TABLES: Final = ("users", "verifications", "grants", "sessions", "refresh_tokens")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${_PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    _, rounds, salt, digest = stored.split("$")
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    return hmac.compare_digest(computed.hex(), digest)


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


def profile(row: sqlite3.Row) -> dict[str, Any]:
    """``GET /auth/v1/user/me`` for a user row.

    The official js-sdk decides ``isAnonymous`` from ``name == "anonymous"``, so that is
    an anonymous user's name.
    """
    anonymous = bool(row["anonymous"])
    providers = []
    if row["custom_uid"]:
        providers.append({"id": "custom", "provider_user_id": row["custom_uid"], "name": "custom"})
    body: dict[str, Any] = {
        "sub": row["uid"],
        "user_id": row["uid"],
        "name": "anonymous" if anonymous else (row["name"] or row["username"] or ""),
        "username": row["username"],
        "picture": row["picture"],
        "email": row["email"],
        "phone_number": row["phone_number"],
        "gender": row["gender"],
        "locale": row["locale"],
        "description": row["description"],
        "status": "ACTIVE",
        "providers": providers,
        "groups": [{"id": "anonymous" if anonymous else "user"}],
        "meta": {},
        "has_password": row["password"] is not None,
        "type": "ANONYMOUS" if anonymous else "USER",
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "password_updated_at": iso(row["password_updated_at"]),
        "last_login": iso(row["last_login"]),
    }
    return {key: value for key, value in body.items() if value is not None}


class Store:
    """One SQLite connection, used by one thread at a time (the engine's lock)."""

    def __init__(self, path: Path) -> None:
        # check_same_thread=False: the gateway's server thread and the test's thread
        # both reach it; ``transaction()`` serialises them.
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, committed at the end (rolled back on error)."""
        with self._lock, self._db:
            yield self._db

    def one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def clear(self) -> None:
        with self.transaction() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        with self._lock:
            self._db.close()
