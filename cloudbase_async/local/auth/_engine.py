"""The auth engine: users, one-time codes, sessions and refresh-token families.

No HTTP here: each method takes plain values and returns the body the API answers, or
raises :class:`AuthError` (the OAuth-style error the route layer sends).

Sessions are refresh-token families. Every sign-in starts one; each refresh uses up the
refresh token it was given and issues the next one of the same family. A refresh token
presented a second time means it leaked (or a client lost track): the answer is
``invalid_grant`` and the whole family is revoked, so the access tokens issued from it
stop working too (``Identity`` asks :meth:`AuthEngine.session_active`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import attrs

from ...auth import normalize_phone_number
from .._identity import CredentialError, TokenSigner
from ._store import Store, check_password, hash_password, hash_token, profile

__all__ = ["AuthEngine", "AuthError", "AuthSettings", "Channel", "SentCode"]

log: Final = logging.getLogger("cloudbase_async.local")

Channel: TypeAlias = Literal["sms", "email"]

# error -> (HTTP status, numeric error_code): gRPC codes as the official SDK knows them.
_ERRORS: Final[Mapping[str, tuple[int, int]]] = {
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

_PHONE: Final = re.compile(r"^\+\d{1,4} \d{4,20}$")
_USERNAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,47}$")
_CUSTOM_UID: Final = re.compile(r"^[A-Za-z0-9_-]{4,32}$")
_TARGETS: Final = frozenset({"ANY", "USER", "NOT_USER", "CUR_USER"})
_GENDERS: Final = frozenset({"MALE", "FEMALE", "UNKNOWN"})
# SQL, not a password:
_SET_PASSWORD: Final = "UPDATE users SET password = ?, password_updated_at = ?, updated_at = ? "  # noqa: S105
_SET_PASSWORD_WHERE: Final = _SET_PASSWORD + "WHERE uid = ?"


class AuthError(Exception):
    """An auth API error: ``{"error", "error_code", "error_description"}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status, self.error_code = _ERRORS.get(error, (400, 3))

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


def _contact(body: Mapping[str, Any]) -> tuple[Channel, str]:
    phone, email = body.get("phone_number"), body.get("email")
    if phone and not email:
        if not isinstance(phone, str) or not _PHONE.match(phone):
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


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise AuthError("invalid_argument", f"{key} is required.")
    return value


def _new_id() -> str:
    return uuid.uuid4().hex


class AuthEngine:
    """Users, codes and sessions in ``path`` (an SQLite file).

    :param signer: signs and checks access tokens.
    :param tickets: signs and checks custom sign-in tickets (the test key).
    :param clock: wall-clock seconds; tests of expiry pass their own.
    """

    def __init__(
        self,
        path: Path,
        *,
        signer: TokenSigner,
        tickets: TokenSigner,
        settings: AuthSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._store = Store(path)
        self._signer = signer
        self._tickets = tickets
        self._clock = clock

    # -- sessions ------------------------------------------------------------------

    def session_active(self, session_id: str) -> bool:
        row = self._store.one(
            "SELECT 1 FROM sessions s JOIN users u ON u.uid = s.uid "
            "WHERE s.id = ? AND s.revoked = 0",
            session_id,
        )
        return row is not None

    def _tokens(
        self, db: sqlite3.Connection, uid: str, scope: str, session_id: str
    ) -> dict[str, Any]:
        now = self._clock()
        lifetime = self.settings.access_token_lifetime
        refresh = "m." + secrets.token_urlsafe(32)
        db.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?, ?, ?)",
            (hash_token(refresh), session_id, now + self.settings.refresh_token_lifetime),
        )
        access = self._signer.issue_access_token(
            sub=uid, scope=scope, session_id=session_id, lifetime=lifetime, now=now
        )
        return {
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": lifetime,
            "scope": scope,
            "sub": uid,
            "groups": [scope],
        }

    def _sign_in(self, db: sqlite3.Connection, uid: str, scope: str) -> dict[str, Any]:
        session_id = _new_id()
        now = self._clock()
        db.execute(
            "INSERT INTO sessions (id, uid, scope, created_at) VALUES (?, ?, ?, ?)",
            (session_id, uid, scope, now),
        )
        db.execute("UPDATE users SET last_login = ? WHERE uid = ?", (now, uid))
        return self._tokens(db, uid, scope, session_id)

    def _new_user(self, db: sqlite3.Connection, **fields: Any) -> str:
        uid = _new_id()
        now = self._clock()
        fields = {"uid": uid, "created_at": now, "updated_at": now, **fields}
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        db.execute(f"INSERT INTO users ({names}) VALUES ({marks})", tuple(fields.values()))  # noqa: S608
        return uid

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """``grant_type=refresh_token``: the next token pair of the same session."""
        reused = self._rotate(refresh_token)
        if isinstance(reused, dict):
            return reused
        # Reuse: whoever holds the newer token (or a thief) loses the session too. The
        # revocation is its own transaction: it must stay when the call fails.
        self.end_session(reused)
        log.info("refresh token reused: session %s revoked", reused)
        raise AuthError(
            "invalid_grant", "The refresh token was already used; the session is revoked."
        )

    def _rotate(self, refresh_token: str) -> dict[str, Any] | str:
        """The next tokens, or the session id when ``refresh_token`` was used before."""
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT r.session_id, r.expires_at, r.used, s.uid, s.scope, s.revoked "
                "FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "
                "WHERE r.token_hash = ?",
                (hash_token(refresh_token),),
            ).fetchone()
            if row is None:
                raise AuthError("invalid_grant", "Unknown refresh token.")
            if row["used"]:
                return str(row["session_id"])
            if row["revoked"]:
                raise AuthError("invalid_grant", "The session was revoked.")
            if row["expires_at"] <= self._clock():
                raise AuthError("invalid_grant", "The refresh token has expired.")
            if db.execute("SELECT 1 FROM users WHERE uid = ?", (row["uid"],)).fetchone() is None:
                raise AuthError("invalid_grant", "The user no longer exists.")
            db.execute(
                "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?",
                (hash_token(refresh_token),),
            )
            return self._tokens(db, row["uid"], row["scope"], row["session_id"])

    def revoke(self, token: str) -> None:
        """End the session of an access token or a refresh token (unknown: nothing)."""
        session_id: str | None = None
        try:
            claims = self._signer.read_access_token(token, now=self._clock(), verify_exp=False)
            session_id = claims.session_id
        except CredentialError:
            row = self._store.one(
                "SELECT session_id FROM refresh_tokens WHERE token_hash = ?", hash_token(token)
            )
            session_id = row["session_id"] if row is not None else None
        if session_id is not None:
            self.end_session(session_id)

    def end_session(self, session_id: str) -> None:
        with self._store.transaction() as db:
            db.execute("UPDATE sessions SET revoked = 1 WHERE id = ?", (session_id,))

    def introspect(self, token: str) -> dict[str, Any]:
        """What a live access token says, or ``{}``."""
        try:
            claims = self._signer.read_access_token(token, now=self._clock())
        except CredentialError:
            return {}
        if not self.session_active(claims.session_id):
            return {}
        return {
            "token_type": "Bearer",
            "client_id": self.settings.env,
            "sub": claims.sub,
            "scope": claims.scope,
            "exp": claims.exp,
            "iat": claims.iat,
        }

    # -- sign-in flows ---------------------------------------------------------------

    def sign_in_anonymously(self, device_id: str | None) -> dict[str, Any]:
        """One anonymous user per device id: the same one every time."""
        if not device_id:
            raise AuthError("invalid_argument", "The x-device-id header is required.")
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT uid FROM users WHERE device_id = ? AND anonymous = 1", (device_id,)
            ).fetchone()
            uid = row["uid"] if row else self._new_user(db, anonymous=1, device_id=device_id)
            return self._sign_in(db, uid, "anonymous")

    def _find_login(self, db: sqlite3.Connection, username: str) -> sqlite3.Row | None:
        candidates = [username, username.strip().lower()]
        with contextlib.suppress(ValueError):
            candidates.append(normalize_phone_number(username))
        for value in candidates:
            row: sqlite3.Row | None = db.execute(
                "SELECT * FROM users WHERE anonymous = 0 AND "
                "(username = ? OR email = ? OR phone_number = ?)",
                (value, value, value),
            ).fetchone()
            if row is not None:
                return row
        return None

    def sign_in_with_password(self, username: str, password: str) -> dict[str, Any]:
        """Sign in by username, email or phone number, and password."""
        with self._store.transaction() as db:
            row = self._find_login(db, username)
            if row is None or not check_password(password, row["password"]):
                raise AuthError("invalid_username_or_password", "Wrong username or password.")
            return self._sign_in(db, row["uid"], "user")

    def sign_in_with_verification(self, verification_token: str) -> dict[str, Any]:
        with self._store.transaction() as db:
            channel, contact, _ = self._use_grant(db, "verification", verification_token)
            column = "phone_number" if channel == "sms" else "email"
            row = db.execute(
                f"SELECT uid FROM users WHERE {column} = ?",  # noqa: S608 - fixed names
                (contact,),
            ).fetchone()
            if row is None:
                raise AuthError("not_found", f"No user with this {column}: sign up instead.")
            return self._sign_in(db, row["uid"], "user")

    def sign_up(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A user for a verified phone number or email (optionally with a username and
        password, or upgrading an anonymous user given as ``anonymous_token``)."""
        token = body.get("verification_token")
        if not isinstance(token, str) or not token:
            raise AuthError(
                "invalid_argument",
                "verification_token is required: verify a phone number or email first "
                "(username and password alone cannot sign up).",
            )
        channel, contact = _contact(body)
        column = "phone_number" if channel == "sms" else "email"
        fields: dict[str, Any] = {column: contact, "anonymous": 0, "device_id": None}
        username = body.get("username")
        if username is not None:
            if not isinstance(username, str) or not _USERNAME.match(username):
                raise AuthError(
                    "invalid_argument", "username must be 2 to 48 letters, digits or _.@-."
                )
            fields["username"] = username
        password = body.get("password")
        if password is not None:
            if not isinstance(password, str) or not password:
                raise AuthError("invalid_password", "The password must not be empty.")
            fields["password"] = hash_password(password)
            fields["password_updated_at"] = self._clock()
        for key in ("name", "picture", "gender", "locale"):
            if isinstance(body.get(key), str):
                fields[key] = body[key]
        with self._store.transaction() as db:
            grant_channel, grant_contact, _ = self._use_grant(db, "verification", token)
            if (grant_channel, grant_contact) != (channel, contact):
                raise AuthError(
                    "invalid_argument", f"The verification token is not for this {column}."
                )
            taken = db.execute(
                f"SELECT 1 FROM users WHERE {column} = ?",  # noqa: S608 - fixed names
                (contact,),
            ).fetchone()
            if taken:
                raise AuthError("already_exists", f"A user with this {column} exists: sign in.")
            if (
                username is not None
                and db.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
            ):
                raise AuthError("already_exists", f"The username {username!r} is taken.")
            anonymous = body.get("anonymous_token")
            if isinstance(anonymous, str) and anonymous:
                uid = self._anonymous_uid(db, anonymous)
                sets = ", ".join(f"{key} = ?" for key in fields)
                db.execute(
                    f"UPDATE users SET {sets}, updated_at = ? WHERE uid = ?",  # noqa: S608
                    (*fields.values(), self._clock(), uid),
                )
            else:
                uid = self._new_user(db, **fields)
            return self._sign_in(db, uid, "user")

    def _anonymous_uid(self, db: sqlite3.Connection, token: str) -> str:
        try:
            claims = self._signer.read_access_token(token, now=self._clock())
        except CredentialError as exc:
            raise AuthError("invalid_argument", f"anonymous_token: {exc.message}") from exc
        row = db.execute(
            "SELECT uid FROM users WHERE uid = ? AND anonymous = 1", (claims.sub,)
        ).fetchone()
        if row is None:
            raise AuthError("invalid_argument", "anonymous_token is not an anonymous user's token.")
        return str(row["uid"])

    def mint_ticket(self, custom_uid: str, *, lifetime: float = 600.0) -> str:
        """A custom sign-in ticket for ``custom_uid``, signed with the test key."""
        if not _CUSTOM_UID.match(custom_uid):
            raise ValueError("A custom uid is 4 to 32 letters, digits, _ or -.")
        now = int(self._clock())
        return self._tickets.sign(
            {
                "uid": custom_uid,
                "env": self.settings.env,
                "jti": _new_id(),
                "iat": now,
                "exp": now + max(1, int(lifetime)),
            }
        )

    def sign_in_with_ticket(self, ticket: str) -> dict[str, Any]:
        try:
            claims = self._tickets.verify(ticket, now=self._clock(), required=("uid", "env"))
        except CredentialError as exc:
            raise AuthError(
                "invalid_argument", f"Invalid custom sign-in ticket: {exc.message}"
            ) from exc
        if claims["env"] != self.settings.env or not _CUSTOM_UID.match(str(claims["uid"])):
            raise AuthError("invalid_argument", "The ticket is for another environment.")
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT uid FROM users WHERE custom_uid = ?", (claims["uid"],)
            ).fetchone()
            uid = row["uid"] if row else self._new_user(db, custom_uid=claims["uid"])
            return self._sign_in(db, uid, "user")

    # -- one-time codes --------------------------------------------------------------

    def send_code(self, body: Mapping[str, Any], current_uid: str | None) -> dict[str, Any]:
        """``POST /verification``: record and log a code (``target`` missing: ``ANY``)."""
        channel, contact = _contact(body)
        target = body.get("target") or "ANY"
        if target not in _TARGETS:
            raise AuthError("invalid_argument", f"target must be one of {sorted(_TARGETS)}.")
        column = "phone_number" if channel == "sms" else "email"
        now = self._clock()
        with self._store.transaction() as db:
            user = db.execute(
                f"SELECT uid FROM users WHERE {column} = ?",  # noqa: S608 - fixed names
                (contact,),
            ).fetchone()
            if target == "USER" and user is None:
                raise AuthError("not_found", f"No user with this {column}.")
            if target == "NOT_USER" and user is not None:
                raise AuthError("already_exists", f"A user with this {column} exists.")
            if target == "CUR_USER" and current_uid is None:
                raise AuthError("unauthenticated", "target CUR_USER needs the user's access token.")
            interval = self.settings.code_resend_interval
            if interval > 0:
                last = db.execute(
                    "SELECT MAX(sent_at) AS at FROM verifications WHERE contact = ?", (contact,)
                ).fetchone()
                if last["at"] is not None and now - last["at"] < interval:
                    raise AuthError("resource_exhausted", "A code was sent moments ago; wait.")
            code = self.settings.verification_code or f"{secrets.randbelow(10**6):06d}"
            verification_id = _new_id()
            db.execute(
                "INSERT INTO verifications (id, channel, contact, code, target, uid, sent_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    verification_id,
                    channel,
                    contact,
                    code,
                    target,
                    current_uid,
                    now,
                    now + self.settings.code_lifetime,
                ),
            )
        # The whole point of a local gateway's codes: anyone running it can read them.
        log.info("%s code for %s: %s", channel.upper(), contact, code)
        return {
            "verification_id": verification_id,
            "expires_in": self.settings.code_lifetime,
            "is_user": user is not None or target == "CUR_USER",
        }

    def verify_code(self, verification_id: str, code: str) -> dict[str, Any]:
        """``POST /verification/verify``: a verification token for a right code."""
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT * FROM verifications WHERE id = ?", (verification_id,)
            ).fetchone()
            if row is None:
                raise AuthError("not_found", "Unknown verification_id.")
            if row["verified"]:
                raise AuthError("invalid_verification_code", "This code was already used.")
            if row["expires_at"] <= self._clock():
                raise AuthError("invalid_verification_code", "The code has expired.")
            if row["attempts"] >= self.settings.max_code_attempts:
                raise AuthError("invalid_verification_code", "Too many attempts: send a new code.")
            lifetime = self.settings.verification_token_lifetime
            if not secrets.compare_digest(str(code), row["code"]):
                db.execute(
                    "UPDATE verifications SET attempts = attempts + 1 WHERE id = ?",
                    (verification_id,),
                )
                token = None
            else:
                db.execute("UPDATE verifications SET verified = 1 WHERE id = ?", (verification_id,))
                token = self._grant(
                    db,
                    "verification",
                    lifetime,
                    channel=row["channel"],
                    contact=row["contact"],
                    uid=row["uid"],
                )
        if token is None:
            # Raised after the commit: the failed attempt must count.
            raise AuthError("invalid_verification_code", "Wrong verification code.")
        return {"verification_token": token, "expires_in": lifetime}

    def sent_codes(self) -> list[SentCode]:
        """Every code sent, oldest first."""
        return [
            SentCode(row["channel"], row["contact"], row["code"], row["id"], row["sent_at"])
            for row in self._store.all("SELECT * FROM verifications ORDER BY sent_at, rowid")
        ]

    def _grant(
        self,
        db: sqlite3.Connection,
        kind: str,
        lifetime: float,
        *,
        channel: str | None = None,
        contact: str | None = None,
        uid: str | None = None,
    ) -> str:
        token = secrets.token_urlsafe(32)
        db.execute(
            "INSERT INTO grants (token_hash, kind, channel, contact, uid, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (hash_token(token), kind, channel, contact, uid, self._clock() + lifetime),
        )
        return token

    def _use_grant(
        self, db: sqlite3.Connection, kind: str, token: str, *, consume: bool = True
    ) -> tuple[str, str, str | None]:
        """(channel, contact, uid) of a live grant; used up unless ``consume=False``."""
        row = db.execute(
            "SELECT * FROM grants WHERE token_hash = ? AND kind = ?", (hash_token(token), kind)
        ).fetchone()
        if row is None or row["used"] or row["expires_at"] <= self._clock():
            raise AuthError("invalid_argument", f"Invalid or expired {kind} token.")
        if consume:
            db.execute("UPDATE grants SET used = 1 WHERE token_hash = ?", (hash_token(token),))
        return row["channel"], row["contact"], row["uid"]

    # -- the signed-in user ----------------------------------------------------------

    def user(self, uid: str) -> dict[str, Any]:
        row = self._store.one("SELECT * FROM users WHERE uid = ?", uid)
        if row is None:
            raise AuthError("not_found", "The user does not exist.")
        return profile(row)

    def edit_user(self, uid: str, body: Mapping[str, Any]) -> None:
        """``/user/basic/edit`` and ``PATCH /user/profile`` (both field spellings)."""
        names = {
            "nickname": "name",
            "name": "name",
            "avatar_url": "picture",
            "picture": "picture",
            "gender": "gender",
            "description": "description",
            "locale": "locale",
            "username": "username",
        }
        fields: dict[str, Any] = {}
        for key, column in names.items():
            value = body.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise AuthError("invalid_argument", f"{key} must be a string.")
            fields[column] = value
        if "gender" in fields and fields["gender"] not in _GENDERS:
            raise AuthError("invalid_argument", "gender is MALE, FEMALE or UNKNOWN.")
        if "username" in fields and not _USERNAME.match(fields["username"]):
            raise AuthError("invalid_argument", "username must be 2 to 48 letters, digits or _.@-.")
        if not fields:
            raise AuthError("invalid_argument", "Nothing to change.")
        with self._store.transaction() as db:
            if (
                "username" in fields
                and db.execute(
                    "SELECT 1 FROM users WHERE username = ? AND uid != ?", (fields["username"], uid)
                ).fetchone()
            ):
                raise AuthError("already_exists", "The username is taken.")
            sets = ", ".join(f"{column} = ?" for column in fields)
            db.execute(
                f"UPDATE users SET {sets}, updated_at = ? WHERE uid = ?",  # noqa: S608
                (*fields.values(), self._clock(), uid),
            )

    def sudo(self, uid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A sudo token for a password or a fresh verification token of the user."""
        lifetime = self.settings.sudo_token_lifetime
        with self._store.transaction() as db:
            user = db.execute("SELECT * FROM users WHERE uid = ?", (uid,)).fetchone()
            if user is None:
                raise AuthError("not_found", "The user does not exist.")
            if isinstance(body.get("password"), str):
                if not check_password(body["password"], user["password"]):
                    raise AuthError("invalid_password", "Wrong password.")
            elif isinstance(body.get("verification_token"), str):
                channel, contact, _ = self._use_grant(
                    db, "verification", body["verification_token"]
                )
                mine = user["phone_number"] if channel == "sms" else user["email"]
                if contact != mine:
                    raise AuthError("permission_denied", "The verification is for someone else.")
            else:
                raise AuthError("invalid_argument", "Send password or verification_token.")
            token = self._grant(db, "sudo", lifetime, uid=uid)
        return {"sudo_token": token, "expires_in": lifetime}

    def _check_sudo(self, db: sqlite3.Connection, uid: str, sudo_token: object) -> None:
        if not isinstance(sudo_token, str) or not sudo_token:
            raise AuthError("invalid_argument", "sudo_token is required (POST /user/sudo).")
        _, _, owner = self._use_grant(db, "sudo", sudo_token, consume=False)
        if owner != uid:
            raise AuthError("permission_denied", "The sudo token belongs to another user.")

    def change_password(self, uid: str, body: Mapping[str, Any], sudo_token: object) -> None:
        new_password = _text(body, "new_password")
        with self._store.transaction() as db:
            self._check_sudo(db, uid, sudo_token)
            old = body.get("old_password")
            if isinstance(old, str):
                stored = db.execute("SELECT password FROM users WHERE uid = ?", (uid,)).fetchone()
                if not check_password(old, stored["password"]):
                    raise AuthError("invalid_password", "Wrong old password.")
            db.execute(
                _SET_PASSWORD_WHERE,
                (hash_password(new_password), self._clock(), self._clock(), uid),
            )

    def delete_user(self, uid: str, sudo_token: object) -> None:
        with self._store.transaction() as db:
            self._check_sudo(db, uid, sudo_token)
            db.execute("DELETE FROM users WHERE uid = ?", (uid,))
            db.execute("UPDATE sessions SET revoked = 1 WHERE uid = ?", (uid,))

    def reset_password(self, body: Mapping[str, Any]) -> None:
        """``POST /reset``: a new password for a verified phone number or email; every
        session of that user ends."""
        channel, contact = _contact(body)
        new_password = _text(body, "new_password")
        column = "phone_number" if channel == "sms" else "email"
        with self._store.transaction() as db:
            grant = self._use_grant(db, "verification", _text(body, "verification_token"))
            if grant[:2] != (channel, contact):
                raise AuthError(
                    "invalid_argument", f"The verification token is not for this {column}."
                )
            row = db.execute(
                f"SELECT uid FROM users WHERE {column} = ?",  # noqa: S608 - fixed names
                (contact,),
            ).fetchone()
            if row is None:
                raise AuthError("not_found", f"No user with this {column}.")
            now = self._clock()
            db.execute(
                _SET_PASSWORD_WHERE,
                (hash_password(new_password), now, now, row["uid"]),
            )
            db.execute("UPDATE sessions SET revoked = 1 WHERE uid = ?", (row["uid"],))

    # -- lifecycle -------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every user, code and session."""
        self._store.clear()

    def close(self) -> None:
        self._store.close()
