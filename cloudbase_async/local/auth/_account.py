"""The signed-in user's own account: profile, sudo, password, deletion, reset.

Sensitive changes need a sudo token (``POST /user/sudo`` with the password or a fresh
verification token); a password reset by verified phone or email ends every session.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._common import (
    GENDERS,
    USERNAME,
    AuthError,
    AuthSettings,
    contact_of,
    issue_grant,
    required_text,
    use_grant,
)
from ._store import Store, check_password, hash_password, profile

__all__ = ["Accounts"]

# SQL, not a password:
_SET_PASSWORD: Final = "UPDATE users SET password = ?, password_updated_at = ?, updated_at = ? "  # noqa: S105
_SET_PASSWORD_WHERE: Final = _SET_PASSWORD + "WHERE uid = ?"


class Accounts:
    """The ``/user/...`` calls of :class:`~.AuthEngine` (``engine.accounts``)."""

    def __init__(
        self, store: Store, settings: AuthSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self.settings = settings
        self._clock = clock

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
        if "gender" in fields and fields["gender"] not in GENDERS:
            raise AuthError("invalid_argument", "gender is MALE, FEMALE or UNKNOWN.")
        if "username" in fields and not USERNAME.fullmatch(fields["username"]):
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
                channel, contact, _ = use_grant(
                    db, "verification", body["verification_token"], now=self._clock()
                )
                mine = user["phone_number"] if channel == "sms" else user["email"]
                if contact != mine:
                    raise AuthError("permission_denied", "The verification is for someone else.")
            else:
                raise AuthError("invalid_argument", "Send password or verification_token.")
            token = issue_grant(db, "sudo", self._clock() + lifetime, uid=uid)
        return {"sudo_token": token, "expires_in": lifetime}

    def _check_sudo(self, db: sqlite3.Connection, uid: str, sudo_token: object) -> None:
        if not isinstance(sudo_token, str) or not sudo_token:
            raise AuthError("invalid_argument", "sudo_token is required (POST /user/sudo).")
        _, _, owner = use_grant(db, "sudo", sudo_token, consume=False, now=self._clock())
        if owner != uid:
            raise AuthError("permission_denied", "The sudo token belongs to another user.")

    def change_password(self, uid: str, body: Mapping[str, Any], sudo_token: object) -> None:
        new_password = required_text(body, "new_password")
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
        channel, contact = contact_of(body)
        new_password = required_text(body, "new_password")
        column = "phone_number" if channel == "sms" else "email"
        with self._store.transaction() as db:
            grant = use_grant(
                db, "verification", required_text(body, "verification_token"), now=self._clock()
            )
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
