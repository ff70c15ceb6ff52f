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
import secrets
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...auth import normalize_phone_number
from .._identity import ADMIN_SCOPE, CredentialError, TokenSigner
from ._account import Accounts
from ._common import (
    TARGETS,
    USERNAME,
    AuthError,
    AuthSettings,
    Channel,
    SentCode,
    contact_of,
    issue_grant,
    log,
    new_id,
    use_grant,
)
from ._custom_login import CustomLoginKey
from ._store import Store, check_password, hash_password, hash_token

__all__ = ["AuthEngine", "AuthError", "AuthSettings", "Channel", "SentCode"]


class AuthEngine:
    """Users, codes and sessions in ``path`` (an SQLite file).

    :param signer: signs and checks access tokens.
    :param custom_login: the custom-login key custom sign-in tickets are checked with.
    :param clock: wall-clock seconds; tests of expiry pass their own.
    """

    def __init__(
        self,
        path: Path,
        *,
        signer: TokenSigner,
        custom_login: CustomLoginKey,
        settings: AuthSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._store = Store(path)
        #: The signed-in user's calls (``/user/...``).
        self.accounts = Accounts(self._store, settings, clock)
        self._signer = signer
        self._custom_login = custom_login
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
        session_id = new_id()
        now = self._clock()
        db.execute(
            "INSERT INTO sessions (id, uid, scope, created_at) VALUES (?, ?, ?, ?)",
            (session_id, uid, scope, now),
        )
        db.execute("UPDATE users SET last_login = ? WHERE uid = ?", (now, uid))
        return self._tokens(db, uid, scope, session_id)

    def _new_user(self, db: sqlite3.Connection, **fields: Any) -> str:
        uid = new_id()
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

    def client_credential(self) -> dict[str, Any]:
        """An administrator's access token, for a caller already known to be one (a
        TC3-signed request, or the API key): no session and no refresh token, only a
        Bearer that lives ``access_token_lifetime``, as the real exchange answers."""
        lifetime = self.settings.access_token_lifetime
        access = self._signer.issue_access_token(
            sub="admin",
            scope=ADMIN_SCOPE,
            session_id=ADMIN_SCOPE,
            lifetime=lifetime,
            now=self._clock(),
        )
        return {"token_type": "Bearer", "access_token": access, "expires_in": lifetime}

    def introspect(self, token: str) -> dict[str, Any]:
        """What a live access token says, or ``{}``."""
        try:
            claims = self._signer.read_access_token(token, now=self._clock())
        except CredentialError:
            return {}
        if claims.scope != ADMIN_SCOPE and not self.session_active(claims.session_id):
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
            channel, contact, _ = use_grant(
                db, "verification", verification_token, now=self._clock()
            )
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
        channel, contact = contact_of(body)
        column = "phone_number" if channel == "sms" else "email"
        fields: dict[str, Any] = {column: contact, "anonymous": 0, "device_id": None}
        username = body.get("username")
        if username is not None:
            if not isinstance(username, str) or not USERNAME.fullmatch(username):
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
            grant_channel, grant_contact, _ = use_grant(
                db, "verification", token, now=self._clock()
            )
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

    def sign_in_with_ticket(self, ticket: str) -> dict[str, Any]:
        """``POST /signin/custom``: the user the ticket names (created on first sign-in)."""
        custom_uid = self._custom_login.read(ticket, now_ms=int(self._clock() * 1000))
        with self._store.transaction() as db:
            row = db.execute("SELECT uid FROM users WHERE custom_uid = ?", (custom_uid,)).fetchone()
            uid = row["uid"] if row else self._new_user(db, custom_uid=custom_uid)
            return self._sign_in(db, uid, "user")

    # -- one-time codes --------------------------------------------------------------

    def send_code(self, body: Mapping[str, Any], current_uid: str | None) -> dict[str, Any]:
        """``POST /verification``: record and log a code (``target`` missing: ``ANY``)."""
        channel, contact = contact_of(body)
        target = body.get("target") or "ANY"
        if target not in TARGETS:
            raise AuthError("invalid_argument", f"target must be one of {sorted(TARGETS)}.")
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
            verification_id = new_id()
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
                token = issue_grant(
                    db,
                    "verification",
                    self._clock() + lifetime,
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

    # -- lifecycle -------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every user, code and session."""
        self._store.clear()

    def close(self) -> None:
        self._store.close()
