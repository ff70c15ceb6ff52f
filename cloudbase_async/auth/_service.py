"""``cb.auth``: every Auth v2 call, typed.

Sign-in, sign-up, verification, token and reset calls never carry the user's
``Authorization`` header (a stale token there makes the gateway refuse them); they
carry ``?client_id=`` and ``x-device-id`` instead, like the official SDK. Calls about the
signed-in user (``get_user``, ``sudo``...) carry the session's token, refreshed first
when needed.

One class over ~30 calls, because ``cb.auth`` is one namespace mirroring the API's
endpoint table (hence over 500 lines); the argument checks live in :mod:`._api` and the
one-time-code handle in :mod:`._otp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

from .._core.convert import structure
from .._core.credentials import StaticCredential
from .._core.errors import AuthenticationError, InvalidRequestError
from .._core.paths import segment
from .._core.service import Service
from .._core.transport import Request, Transport
from .._core.types import UNSET
from ._api import (
    bearer,
    captcha_fields,
    contact_fields,
    given_fields,
    jwt_claims,
    mapping,
    token_text,
)
from ._events import AuthStateCallback, Subscription
from ._models import (
    CaptchaChallenge,
    CaptchaToken,
    Provider,
    Session,
    SudoToken,
    TokenInfo,
    TokenResponse,
    User,
    Verification,
    VerificationTarget,
    VerificationToken,
    token_info,
)
from ._otp import OtpSignIn
from ._session import Issued, SessionManager

__all__ = ["Auth"]

T = TypeVar("T")

_TARGETS: Final = frozenset({"ANY", "USER", "NOT_USER", "CUR_USER"})


class Auth(Service):
    """Auth v2: sign-in flows, the session, the user's profile and security.

    Reach it as ``cb.auth``. A sign-in makes the session the client's identity: every
    later call of that client (and of its ``with_options`` copies) sends the session's
    access token, refreshed when it is about to expire. On a ``with_access_token`` copy
    the identity is fixed: sign-in calls return the new :class:`Session` without
    installing it, which is what a server signing users in on their behalf wants.
    """

    __slots__ = ("_manager",)

    def __init__(self, transport: Transport, manager: SessionManager) -> None:
        super().__init__(transport)
        self._manager = manager

    @property
    def _bound(self) -> bool:
        """This client's identity is the family's session (not a fixed token)."""
        return self._transport.credentials is self._manager

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: object = UNSET,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        basic: bool = False,
        retry_safe: bool | None = None,
    ) -> Request:
        """Describe an auth call: the device id always, and ``?client_id=`` on every call
        that carries no user token (as the official SDK does)."""
        query = dict(params or {})
        if not authenticated:
            query.update(self._manager.client_params())
        all_headers = await self._manager.client_headers(basic=basic)
        all_headers.update(headers or {})
        return Request(
            method,
            "auth",
            path,
            params=query or None,
            headers=all_headers,
            json=json,
            authenticated=authenticated,
            retry_safe=retry_safe,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and return the decoded 2xx body (errors in a 2xx body raise)."""
        body, _ = await self._json(await self._request(method, path, **kwargs))
        return body

    async def _answer(self, cls: type[T], method: str, path: str, **kwargs: Any) -> T:
        """Send and return the 2xx body as ``cls``."""
        return await self._model(await self._request(method, path, **kwargs), cls)

    async def _sign_in(
        self, path: str, body: Mapping[str, Any], *, captcha_token: str | None = None
    ) -> Session:
        issued = self._manager.issued_now()
        headers, params = captcha_fields(captcha_token)
        # Not retry-safe: every answered sign-in creates a login on the server (they
        # count against the per-user login limit) and may use up a one-time token.
        tokens = await self._answer(
            TokenResponse,
            "POST",
            path,
            json=dict(body),
            headers=headers,
            params=params,
            authenticated=False,
        )
        return await self._adopt(tokens, issued)

    async def _adopt(self, tokens: TokenResponse, issued: Issued) -> Session:
        if self._bound:
            return await self._manager.install(tokens, issued)
        return tokens.session(issued.wall)

    # -- sign in ---------------------------------------------------------------------

    async def sign_in_anonymously(self, *, provider_token: str | None = None) -> Session:
        """Sign in as this device's anonymous user (the same one every time for the
        store's device id). ``provider_token`` links a third-party identity."""
        tokens, issued = await self._manager.sign_in_anonymously(
            self._transport, provider_token=provider_token
        )
        return await self._adopt(tokens, issued)

    async def sign_in_with_password(
        self, *, username: str, password: str, captcha_token: str | None = None
    ) -> Session:
        """Sign in with a username (2 to 48 characters) and password."""
        if not username or not password:
            raise InvalidRequestError("sign_in_with_password() needs a username and a password.")
        return await self._sign_in(
            "/signin", {"username": username, "password": password}, captcha_token=captcha_token
        )

    async def send_verification(
        self,
        *,
        phone_number: str | None = None,
        email: str | None = None,
        target: VerificationTarget = "ANY",
        usage: str | None = None,
        email_redirect_to: str | None = None,
        captcha_token: str | None = None,
    ) -> Verification:
        """Send a one-time code by SMS or email.

        ``target`` restricts who may receive it: ``"ANY"``, ``"USER"`` (existing users
        only), ``"NOT_USER"`` (new users only) or ``"CUR_USER"`` (the signed-in user,
        sent with their token). ``email_redirect_to`` sends a magic link instead.
        """
        if target not in _TARGETS:
            raise InvalidRequestError(f"target must be one of {sorted(_TARGETS)}, got {target!r}.")
        body: dict[str, Any] = {**contact_fields(phone_number, email), "target": target}
        body.update(given_fields(usage=usage, email_redirect_to=email_redirect_to))
        headers, params = captcha_fields(captcha_token)
        current_user = target == "CUR_USER"
        if not current_user and (key := self._manager.publishable_key) is not None:
            # As the official SDK does: the publishable key, never a (maybe expired)
            # user token, on a code request that is not about the signed-in user.
            headers = {**(headers or {}), "Authorization": bearer(key)}
        # Not retry-safe: a repeat sends a second message and counts against the
        # send-rate limit.
        return await self._answer(
            Verification,
            "POST",
            "/verification",
            json=body,
            headers=headers,
            params=params,
            authenticated=current_user,
        )

    async def verify(self, verification_id: str, code: str) -> VerificationToken:
        """Check a code received from :meth:`send_verification`; the token it returns
        signs in, signs up or resets a password (for 10 minutes)."""
        if not verification_id or not code:
            raise InvalidRequestError("verify() needs the verification_id and the code.")
        # Not retry-safe: a code is single-use; a repeat after the server accepted it
        # would report a wrong code.
        return await self._answer(
            VerificationToken,
            "POST",
            "/verification/verify",
            json={"verification_id": verification_id, "verification_code": code},
            authenticated=False,
        )

    async def sign_in_with_verification(
        self, verification_token: str | VerificationToken, *, username: str | None = None
    ) -> Session:
        """Sign in an existing user with the token from :meth:`verify`.

        ``username`` is the phone number (``"+86 13800138000"``) or email the code was
        sent to; the official SDKs send it along, and :class:`OtpSignIn` does too.
        """
        body = {"verification_token": token_text(verification_token, "verification_token")}
        if username is not None:
            body["username"] = token_text(username, "username")
        return await self._sign_in("/signin", body)

    async def sign_up(
        self,
        *,
        verification_token: str | VerificationToken,
        phone_number: str | None = None,
        email: str | None = None,
        username: str | None = None,
        password: str | None = None,
        name: str | None = None,
        gender: str | None = None,
        picture: str | None = None,
        locale: str | None = None,
        provider_token: str | None = None,
        anonymous_token: str | None = None,
    ) -> Session:
        """Create a user for a verified phone number or email and sign them in.

        ``anonymous_token`` (an anonymous session's access token) turns that anonymous
        user into this one. Username-and-password-only sign-up does not exist.
        """
        body: dict[str, Any] = {
            **contact_fields(phone_number, email),
            "verification_token": token_text(verification_token, "verification_token"),
        }
        body.update(
            given_fields(
                username=username,
                password=password,
                name=name,
                gender=gender,
                picture=picture,
                locale=locale,
                provider_token=provider_token,
                anonymous_token=anonymous_token,
            )
        )
        return await self._sign_in("/signup", body)

    async def sign_in_with_otp(
        self,
        *,
        phone_number: str | None = None,
        email: str | None = None,
        captcha_token: str | None = None,
    ) -> OtpSignIn:
        """The one-call SMS/email flow: send a code now, then ``await handle.verify(code)``
        signs in an existing user or signs up a new one.

        ::

            handle = await cb.auth.sign_in_with_otp(phone_number="13800138000")
            session = await handle.verify(input("code: "))
        """
        details = contact_fields(phone_number, email)
        verification = await self.send_verification(
            phone_number=details.get("phone_number"),
            email=details.get("email"),
            target="ANY",
            captcha_token=captcha_token,
        )
        return OtpSignIn(verification, details, auth=self)

    async def sign_in_with_custom_ticket(self, ticket: str) -> Session:
        """Sign in with a ticket your server minted with the environment's custom-login key."""
        return await self._sign_in(
            "/signin/custom", {"provider_id": "custom", "ticket": token_text(ticket, "ticket")}
        )

    async def sign_in_with_provider(self, provider_token: str) -> Session:
        """Sign in with a third-party provider token (from the provider/token exchange)."""
        body = {"provider_token": token_text(provider_token, "provider_token")}
        return await self._sign_in("/signin/with/provider", body)

    # -- captcha ---------------------------------------------------------------------

    async def request_captcha(self, *, redirect_uri: str, state: str = "") -> CaptchaChallenge:
        """Get a captcha to show the user after a :class:`~cloudbase_async.CaptchaRequiredError`."""
        return await self._answer(
            CaptchaChallenge,
            "POST",
            "/captcha/data",
            json={"state": state, "redirect_uri": redirect_uri},
            authenticated=False,
            # Safe to repeat: asking again only produces a fresh captcha.
            retry_safe=True,
        )

    async def verify_captcha(self, token: str, answer: str) -> CaptchaToken:
        """Check the user's answer; pass the result's ``captcha_token`` as ``captcha_token=``
        to the call that was refused."""
        return await self._answer(
            CaptchaToken,
            "POST",
            "/captcha/data/verify",
            json={"token": token_text(token, "token"), "key": answer},
            authenticated=False,
        )

    # -- the session -----------------------------------------------------------------

    async def get_session(self) -> Session | None:
        """The current session (refreshed first if its access token is about to expire),
        or ``None`` when nobody is signed in."""
        if not self._bound:
            return None
        return await self._manager.session()

    async def refresh_session(self) -> Session:
        """Refresh now (one ``POST /auth/v1/token`` however many callers ask at once)."""
        self._require_bound("refresh_session")
        return await self._manager.refresh()

    async def set_session(
        self,
        session: Session | None = None,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: float | None = None,
    ) -> Session:
        """Adopt a session obtained elsewhere (a browser, another process).

        Pass a :class:`Session`, or the tokens: without ``expires_in`` the expiry and
        user id are read from the access token's JWT claims when it is one.
        """
        self._require_bound("set_session")
        if session is None:
            if not access_token:
                raise InvalidRequestError("set_session() needs a Session or an access_token.")
            claims = jwt_claims(access_token)
            wall = self._manager.issued_now().wall
            exp = claims.get("exp")
            expires_at = (
                wall + expires_in
                if expires_in is not None
                else float(exp)
                if isinstance(exp, int | float)
                else None
            )
            scope = claims.get("scope")
            sub = claims.get("sub")
            session = Session(
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=expires_at,
                scope=scope if isinstance(scope, str) else None,
                user_id=sub if isinstance(sub, str) else None,
            )
        return await self._manager.install_session(session)

    def on_auth_state_change(self, callback: AuthStateCallback) -> Subscription:
        """Call ``callback(event, session)`` on SIGNED_IN, SIGNED_OUT, TOKEN_REFRESHED and
        USER_UPDATED (plain or ``async`` functions). Returns a handle whose
        ``unsubscribe()`` stops it. A callback that raises is logged and ignored."""
        return self._manager.subscribe(callback)

    async def sign_out(
        self, *, redirect_uri: str | None = None, state: str | None = None
    ) -> str | None:
        """End the session on the server and here; returns the provider's sign-out
        redirect URI when ``redirect_uri`` was given and the server sent one.

        The local session is cleared (and SIGNED_OUT emitted) even if the server call
        fails; a token the server already refuses counts as signed out.
        """
        if self._bound:
            # A stale token is still the one to revoke: no refresh here.
            session = await self._manager.stored_session()
            if session is None:
                return None
            authorization = bearer(session.access_token)
        else:
            credential = self._transport.credentials
            if not (isinstance(credential, StaticCredential) and credential.kind == "access_token"):
                return None
            authorization = bearer(credential.token)
        uri: str | None = None
        try:
            # The token being ended authenticates the call as it is: refreshing it just
            # to revoke it would be a wasted (and rotating) round trip.
            headers = {"Authorization": authorization}
            if redirect_uri is not None or state is not None:
                data = await self._call(
                    "POST",
                    "/user/signout",
                    json=given_fields(redirect_uri=redirect_uri, state=state),
                    headers=headers,
                    authenticated=False,
                    retry_safe=True,  # signing out twice ends the same session
                )
                found = mapping(data).get("redirect_uri")
                uri = found if isinstance(found, str) else None
            else:
                await self._call(
                    "POST",
                    "/revoke",
                    json={"token": authorization.removeprefix("Bearer ")},
                    headers=headers,
                    authenticated=False,
                    retry_safe=True,  # revoking a revoked token changes nothing
                )
        except AuthenticationError:
            pass  # the server already refuses the token: that is signed out
        finally:
            if self._bound:
                await self._manager.clear()
        return uri

    def _require_bound(self, what: str) -> None:
        if not self._bound:
            raise InvalidRequestError(
                f"{what}() is not available on a with_access_token() copy: its identity is "
                "the fixed token it was made with."
            )

    # -- tokens ----------------------------------------------------------------------

    async def introspect(self, token: str) -> TokenInfo:
        """What the server knows about an access token; ``active`` is false when it is
        invalid, expired or revoked."""
        data = await self._call(
            "GET",
            "/token/introspect",
            headers={"Authorization": bearer(token_text(token, "token"))},
            authenticated=False,
        )
        return token_info(mapping(data))

    async def revoke(self, token: str) -> None:
        """Revoke an access token (sent with this client's identity)."""
        await self._call(
            "POST",
            "/revoke",
            json={"token": token_text(token, "token")},
            retry_safe=True,  # revoking a revoked token changes nothing
        )

    # -- the user --------------------------------------------------------------------

    async def get_user(self) -> User:
        """The signed-in user's profile."""
        return await self._answer(User, "GET", "/user/me")

    async def update_user(
        self,
        *,
        nickname: str | None = None,
        username: str | None = None,
        gender: str | None = None,
        avatar_url: str | None = None,
        description: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> User:
        """Change profile fields (only those given) and return the updated profile.

        ``gender`` is ``"MALE"`` or ``"FEMALE"``; ``extra`` passes further fields the
        API accepts as they are. Emits USER_UPDATED.
        """
        body = given_fields(
            nickname=nickname,
            username=username,
            gender=gender,
            avatar_url=avatar_url,
            description=description,
        )
        body.update(extra or {})
        if not body:
            raise InvalidRequestError("update_user() needs at least one field to change.")
        # Safe to repeat: setting the same fields again leaves the same profile.
        await self._call("POST", "/user/basic/edit", json=body, retry_safe=True)
        user = await self.get_user()
        if self._bound:
            await self._manager.user_updated()
        return user

    async def sudo(
        self,
        *,
        password: str | None = None,
        verification_token: str | VerificationToken | None = None,
    ) -> SudoToken:
        """Prove it is really the user (password or a fresh verification token) to get a
        sudo token for :meth:`change_password` and :meth:`delete_user`."""
        if (password is None) == (verification_token is None):
            raise InvalidRequestError("Pass exactly one of password= or verification_token=.")
        body = (
            {"password": password}
            if password is not None
            else {"verification_token": token_text(verification_token or "", "verification_token")}
        )
        return await self._answer(SudoToken, "POST", "/user/sudo", json=body)

    async def change_password(
        self,
        *,
        new_password: str,
        sudo_token: str | SudoToken,
        old_password: str | None = None,
    ) -> None:
        """Set a new password (needs a sudo token from :meth:`sudo`)."""
        if not new_password:
            raise InvalidRequestError("change_password() needs a new_password.")
        body = {"new_password": new_password, "sudo_token": token_text(sudo_token, "sudo_token")}
        body.update(given_fields(old_password=old_password))
        await self._call("PATCH", "/user/password", json=body)

    async def delete_user(self, *, sudo_token: str | SudoToken) -> None:
        """Delete the signed-in user's account (needs a sudo token) and sign out here."""
        await self._call(
            "DELETE", "/user/me", params={"sudo_token": token_text(sudo_token, "sudo_token")}
        )
        if self._bound:
            await self._manager.clear()

    async def reset_password(
        self,
        *,
        new_password: str,
        verification_token: str | VerificationToken,
        phone_number: str | None = None,
        email: str | None = None,
    ) -> None:
        """Set a forgotten password with a verification token for the phone or email."""
        if not new_password:
            raise InvalidRequestError("reset_password() needs a new_password.")
        body: dict[str, Any] = {
            **contact_fields(phone_number, email),
            "new_password": new_password,
            "verification_token": token_text(verification_token, "verification_token"),
        }
        await self._call("POST", "/reset", json=body, authenticated=False)

    # -- identity providers ----------------------------------------------------------

    async def list_providers(self) -> list[Provider]:
        """The environment's identity providers and whether this user is bound to each."""
        data = mapping(await self._call("GET", "/user/provider"))
        return structure(data.get("data") or [], list[Provider])

    async def bind_provider(self, provider_token: str) -> None:
        """Link a third-party identity (a provider token) to the signed-in user."""
        await self._call(
            "POST",
            "/user/provider/bind",
            json={"provider_token": token_text(provider_token, "provider_token")},
        )

    async def unbind_provider(self, provider_id: str) -> None:
        """Unlink a provider from the signed-in user."""
        pid = segment(token_text(provider_id, "provider_id"), "provider_id")
        await self._call("DELETE", f"/user/provider/{pid}")

    def __repr__(self) -> str:
        return f"<Auth client_id={self._manager.client_id!r} bound={self._bound}>"
