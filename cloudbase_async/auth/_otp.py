"""The one-time-code sign-in handle (``cb.auth.sign_in_with_otp``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from ._models import Session, Verification

if TYPE_CHECKING:
    from ._service import Auth

__all__ = ["OtpSignIn"]


@attrs.frozen
class OtpSignIn:
    """A code was sent by :meth:`Auth.sign_in_with_otp`; ``await verify(code)`` finishes.

    ``is_user`` tells whether the phone number or email already belongs to a user:
    ``verify`` then signs in, otherwise it signs up a new user (with the optional
    profile fields it takes).
    """

    verification: Verification
    contact: Mapping[str, str]
    _auth: Auth = attrs.field(repr=False, alias="auth")

    @property
    def is_user(self) -> bool:
        return self.verification.is_user

    async def verify(
        self,
        code: str,
        *,
        username: str | None = None,
        password: str | None = None,
        name: str | None = None,
        gender: str | None = None,
        picture: str | None = None,
        locale: str | None = None,
    ) -> Session:
        """Check ``code``; sign in (existing user) or sign up (new user). Profile fields
        apply to a sign-up only."""
        token = await self._auth.verify(self.verification.verification_id, code)
        if self.is_user:
            username = self.contact.get("phone_number") or self.contact.get("email")
            return await self._auth.sign_in_with_verification(token, username=username)
        return await self._auth.sign_up(
            verification_token=token,
            phone_number=self.contact.get("phone_number"),
            email=self.contact.get("email"),
            username=username,
            password=password,
            name=name,
            gender=gender,
            picture=picture,
            locale=locale,
        )
