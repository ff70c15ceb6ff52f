"""The session manager: the credential provider of every client family.

With no session it hands out the client's static credential (API key, publishable key
or nothing). Once a user signs in it hands out ``Bearer <access token>`` and keeps that
token fresh:

* Freshness is judged on a monotonic clock with a safety margin (30 s by default), so
  a token is replaced before the server would refuse it and a wall-clock jump changes
  nothing.
* Refresh is single-flight. The first caller to find the token stale starts one
  ``POST /auth/v1/token``; every caller arriving while it runs waits for that same
  flight and shares its outcome, the new token or the same error. Refresh tokens are
  single-use, so a second concurrent refresh with the same token would be refused
  (``invalid_grant``) and sign the user out.
* The flight runs shielded from cancellation: once the server may have rotated the
  refresh token, the new one is stored (memory and the session store) before anyone
  proceeds, even if the caller that started it was cancelled. It is bounded by
  ``refresh_timeout`` (15 s by default) all the same, so a server that answers a refresh
  at a trickle holds its caller no longer than that (the waiters, whose wait is not
  shielded, return as soon as they are cancelled). A flight that runs out of time raises
  :class:`~cloudbase_async.APITimeoutError` for everyone and keeps the session; should the
  server have rotated the token meanwhile, the next refresh answers ``invalid_grant``.
* A refresh is never repeated with a used refresh token (the request is not retry-safe).
* When the server refuses the refresh token (``invalid_grant`` and other
  authentication errors) the session is cleared, ``SIGNED_OUT`` is emitted and an
  :class:`~cloudbase_async.AuthenticationError` raised. An anonymous session instead
  signs in anonymously again with the same device id, which is the same anonymous user.

There is no background task: all of this happens inside the calls that need a token,
under asyncio or trio alike.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, cast

import anyio
import anyio.lowlevel
import attrs
import httpx

from .._core.config import DEFAULT_REFRESH_MARGIN, DEFAULT_REFRESH_TIMEOUT
from .._core.convert import structure, unstructure
from .._core.credentials import (
    CredentialKind,
    CredentialProvider,
    RequestSigner,
    StaticCredential,
)
from .._core.errors import APIError, APITimeoutError, AuthenticationError
from .._core.redact import redact
from .._core.service import decode_model
from .._core.transport import Request, Transport
from ._api import basic_auth, bearer
from ._events import AuthStateCallback, Emitter, Subscription
from ._models import AuthEvent, Session, TokenResponse
from ._store import MemoryStore, SessionStore

__all__ = ["DEFAULT_REFRESH_MARGIN", "DEFAULT_REFRESH_TIMEOUT", "Issued", "SessionManager"]

log: Final = logging.getLogger("cloudbase_async")

DEVICE_ID_KEY: Final = "device_id"
# The official SDK regenerates a stored device id outside these lengths.
_DEVICE_ID_LENGTHS: Final = range(16, 49)


def _session_key(client_id: str) -> str:
    return f"credentials_{client_id}"


@attrs.define(eq=False)
class _Flight:
    """One refresh in progress; waiters share its outcome."""

    done: anyio.Event = attrs.field(factory=anyio.Event)
    error: Exception | None = None


@attrs.frozen
class Issued:
    """When a token request was sent, on both clocks: expiry counts from here."""

    monotonic: float
    wall: float


class SessionManager:
    """Supplies ``Authorization`` for a client family and owns its session.

    Created by :class:`~cloudbase_async.CloudBase`; reach it through ``cb.auth``. It
    implements :class:`~cloudbase_async.CredentialProvider`.

    :param transport: a transport on the family's pool with no credentials of its own,
        for the token calls (which must never carry the user's header).
    :param fallback: the credential used when no user is signed in.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        fallback: CredentialProvider,
        store: SessionStore | None = None,
        client_id: str,
        client_secret: str | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        refresh_timeout: float = DEFAULT_REFRESH_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if refresh_margin < 0:
            raise ValueError(f"refresh_margin must be >= 0, got {refresh_margin}")
        if not refresh_timeout > 0:
            raise ValueError(f"refresh_timeout must be > 0, got {refresh_timeout}")
        self.refresh_timeout = refresh_timeout
        self._transport = transport
        self.fallback = fallback
        self._fallback_signer = fallback if isinstance(fallback, RequestSigner) else None
        self.store: SessionStore = MemoryStore() if store is None else store
        self.client_id = client_id
        self._client_secret = client_secret
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._wall_clock = wall_clock
        self._session: Session | None = None
        # Monotonic time after which the access token counts as stale.
        self._refresh_at = math.inf
        self._loaded = False
        self._device_id: str | None = None
        self._lock = anyio.Lock()
        self._flight: _Flight | None = None
        self.events = Emitter()

    # -- what the transport calls ------------------------------------------------------

    async def authorization(self) -> str | None:
        session = await self.session()
        if session is None:
            return await self.fallback.authorization()
        return bearer(session.access_token)

    async def signs(self, service: str | None) -> bool:
        """Signed calls (a client configured with a secret) while nobody is signed in."""
        signer = self._fallback_signer
        if signer is None:
            return False
        await self._ensure_loaded()
        return self._session is None and await signer.signs(service)

    def sign(self, request: httpx.Request) -> str:
        assert self._fallback_signer is not None  # only asked after signs() said yes
        return self._fallback_signer.sign(request)

    async def rejected(self, authorization: str | None) -> bool:
        session = self._session
        if session is None:
            # A user's token that was refused after sign-out is not replaced by the key.
            return await self.fallback.rejected(authorization)
        if authorization != bearer(session.access_token):
            # Someone refreshed (or signed in) since this request went out: try that.
            return True
        fresh = await self._refresh(session)
        return fresh is not None and bearer(fresh.access_token) != authorization

    # -- session state ---------------------------------------------------------------

    @property
    def current(self) -> Session | None:
        """The session as held now, without loading or refreshing."""
        return self._session

    @property
    def kind(self) -> CredentialKind | None:
        """What is sent now: ``"access_token"`` (the session's) or the fallback's kind."""
        if self._session is not None:
            return "access_token"
        kind = getattr(self.fallback, "kind", None)
        return cast("CredentialKind | None", kind)

    @property
    def publishable_key(self) -> str | None:
        """The configured publishable key, sent on code requests (see ``Auth``)."""
        fallback = self.fallback
        if isinstance(fallback, StaticCredential) and fallback.kind == "publishable_key":
            return fallback.token
        return None

    async def session(self) -> Session | None:
        """The current session, refreshed first if its access token is stale."""
        await self._ensure_loaded()
        session = self._session
        if session is None or self._clock() < self._refresh_at:
            return session
        return await self._refresh(session)

    async def stored_session(self) -> Session | None:
        """The current session as stored, without refreshing it."""
        await self._ensure_loaded()
        return self._session

    async def refresh(self) -> Session:
        """Refresh now, whatever the expiry (joins a refresh already running)."""
        await self._ensure_loaded()
        session = self._session
        if session is None:
            raise AuthenticationError(
                "No session to refresh: sign in first.", status_code=401, code="unauthenticated"
            )
        fresh = await self._refresh(session)
        if fresh is None:  # pragma: no cover - _refresh raises when it signs out
            raise AuthenticationError("Signed out.", status_code=401, code="unauthenticated")
        return fresh

    async def install(
        self,
        tokens: TokenResponse,
        issued: Issued,
        event: AuthEvent = AuthEvent.SIGNED_IN,
    ) -> Session:
        """Make the session these tokens describe the current one and announce it."""
        session = tokens.session(issued.wall)
        with anyio.CancelScope(shield=True):
            await self._set(session, self._stale_after(issued.monotonic, tokens.expires_in))
        await self.events.emit(event, session)
        return session

    async def install_session(self, session: Session) -> Session:
        """Make a session built elsewhere (``set_session``) the current one."""
        remaining = session.expires_in(self._wall_clock())
        with anyio.CancelScope(shield=True):
            await self._set(session, self._stale_after(self._clock(), remaining))
        await self.events.emit(AuthEvent.SIGNED_IN, session)
        return session

    async def clear(self) -> None:
        """Forget the session (memory and store) and announce ``SIGNED_OUT``."""
        await self._ensure_loaded()
        had_session = self._session is not None
        with anyio.CancelScope(shield=True):
            await self._set(None, math.inf)
        if had_session:
            await self.events.emit(AuthEvent.SIGNED_OUT, None)

    async def user_updated(self) -> None:
        await self.events.emit(AuthEvent.USER_UPDATED, self._session)

    def subscribe(self, callback: AuthStateCallback) -> Subscription:
        return self.events.subscribe(callback)

    # -- headers every auth call carries --------------------------------------------

    async def device_id(self) -> str:
        """The ``x-device-id`` of this store: generated once, then reused."""
        if self._device_id is not None:
            return self._device_id
        async with self._lock:
            if self._device_id is None:
                stored = await self.store.get(DEVICE_ID_KEY)
                if stored is None or len(stored) not in _DEVICE_ID_LENGTHS:
                    stored = uuid.uuid4().hex
                    await self.store.set(DEVICE_ID_KEY, stored)
                self._device_id = stored
            return self._device_id

    async def client_headers(self, *, basic: bool = False) -> dict[str, str]:
        """Headers for an auth call; ``basic`` adds HTTP Basic client auth if configured."""
        headers = {"x-device-id": await self.device_id()}
        if basic and self._client_secret:
            headers["Authorization"] = basic_auth(self.client_id, self._client_secret)
        return headers

    def client_params(self) -> dict[str, str]:
        return {"client_id": self.client_id}

    def issued_now(self) -> Issued:
        return Issued(self._clock(), self._wall_clock())

    async def sign_in_anonymously(
        self, transport: Transport, *, provider_token: str | None = None
    ) -> tuple[TokenResponse, Issued]:
        """``POST /signin/anonymously`` (used by ``Auth`` and by anonymous re-login)."""
        body: dict[str, Any] = {}
        if provider_token is not None:
            body["provider_token"] = provider_token
        issued = self.issued_now()
        response = await transport.send(
            Request(
                "POST",
                "auth",
                "/signin/anonymously",
                params=self.client_params(),
                headers=await self.client_headers(basic=True),
                json=body,
                authenticated=False,
                # Safe to repeat: the device id makes the server answer with the same
                # anonymous user; a lost answer only leaves an unused token pair behind.
                retry_safe=True,
            )
        )
        return decode_model(response, TokenResponse), issued

    # -- internals -------------------------------------------------------------------

    def _stale_after(self, issued_monotonic: float, lifetime: float | None) -> float:
        if lifetime is None:
            return math.inf
        # A margin longer than half the lifetime would make every call refresh.
        margin = min(self.refresh_margin, max(lifetime, 0.0) / 2)
        return issued_monotonic + lifetime - margin

    async def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        async with self._lock:
            if self._loaded:
                return
            raw = await self.store.get(_session_key(self.client_id))
            session = self._decode(raw) if raw else None
            if session is not None:
                remaining = session.expires_in(self._wall_clock())
                self._session = session
                self._refresh_at = self._stale_after(self._clock(), remaining)
            self._loaded = True

    def _decode(self, raw: str) -> Session | None:
        try:
            data = json.loads(raw)
            return structure(data, Session)
        except Exception:  # a corrupt entry must not stop the client; sign in again
            log.warning("ignoring an unreadable stored session for client %s", self.client_id)
            return None

    async def _set(self, session: Session | None, refresh_at: float) -> None:
        """Replace the session in memory, then in the store. Callers shield this."""
        self._session = session
        self._refresh_at = refresh_at
        self._loaded = True
        key = _session_key(self.client_id)
        try:
            if session is None:
                await self.store.delete(key)
            else:
                await self.store.set(key, json.dumps(unstructure(session), ensure_ascii=False))
        except Exception:
            # The session still works from memory; only a restart would lose it.
            log.exception("could not write the session to %r", self.store)

    async def _refresh(self, stale: Session) -> Session | None:
        """Replace ``stale`` (single-flight) and return the session after it."""
        flight = self._flight
        if flight is not None:
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return self._session
        if self._session is not stale:
            return self._session  # replaced meanwhile (refreshed, signed in or out)
        flight = self._flight = _Flight()
        try:
            # Shielded, so a rotated token is never lost to a cancellation; bounded, so a
            # trickling server cannot hold the caller for longer than refresh_timeout.
            deadline = anyio.current_time() + self.refresh_timeout
            event: AuthEvent | None = None
            error: Exception | None = None
            with anyio.CancelScope(shield=True, deadline=deadline) as scope:
                # Let every caller that is about to find the token stale join this flight,
                # even when the transport answers without ever yielding (mocks, caches).
                await anyio.lowlevel.checkpoint()
                event, error = await self._replace(stale)
            if scope.cancelled_caught:
                error = APITimeoutError(
                    f"The token refresh did not finish within refresh_timeout "
                    f"({self.refresh_timeout:g} s); the session is kept."
                )
        except Exception as exc:
            flight.error = exc
            raise
        else:
            flight.error = error
        finally:
            self._flight = None
            flight.done.set()
        # Listeners run after the waiters were released, in this caller's task.
        if event is not None:
            await self.events.emit(event, self._session)
        if error is not None:
            raise error
        return self._session

    async def _replace(self, stale: Session) -> tuple[AuthEvent | None, Exception | None]:
        """Run inside the flight, shielded: refresh, or re-login, or sign out.

        Returns the event to announce and, when the session ended, the error for every
        waiter; other failures (server down, connection lost) raise and keep the session.
        """
        try:
            if stale.refresh_token is None:
                raise AuthenticationError(
                    "The session expired and has no refresh token.",
                    status_code=401,
                    code="unauthenticated",
                )
            tokens, issued = await self._request_refresh(stale.refresh_token)
            event = AuthEvent.TOKEN_REFRESHED
            if tokens.refresh_token is None:
                # Not rotated this time: the old one stays valid.
                tokens = attrs.evolve(tokens, refresh_token=stale.refresh_token)
        except APIError as exc:
            if stale.is_anonymous:
                log.info("anonymous session refresh failed (%s); signing in again", exc.code)
                tokens, issued = await self.sign_in_anonymously(self._transport)
                event = AuthEvent.SIGNED_IN
            elif isinstance(exc, AuthenticationError):
                ended = _session_ended(exc)
                ended.__cause__ = exc
                if self._session is not stale:
                    return None, ended
                await self._set(None, math.inf)
                return AuthEvent.SIGNED_OUT, ended
            else:
                raise
        if self._session is not stale:
            return None, None  # a sign-in or sign-out won meanwhile; keep that
        await self._set(
            tokens.session(issued.wall), self._stale_after(issued.monotonic, tokens.expires_in)
        )
        return event, None

    async def _request_refresh(self, refresh_token: str) -> tuple[TokenResponse, Issued]:
        body: dict[str, Any] = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
        }
        if self._client_secret:
            body["client_secret"] = self._client_secret
        issued = self.issued_now()
        response = await self._transport.send(
            Request(
                "POST",
                "auth",
                "/token",
                params=self.client_params(),
                headers=await self.client_headers(),
                json=body,
                authenticated=False,
                # Never repeated: the server may have consumed this refresh token.
                retry_safe=False,
            )
        )
        return decode_model(response, TokenResponse), issued

    def __repr__(self) -> str:
        state = "none" if self._session is None else f"user={self._session.user_id!r}"
        return (
            f"SessionManager(client_id={self.client_id!r}, session={state}, "
            f"client_secret={redact(self._client_secret)}, fallback={self.fallback!r})"
        )


def _session_ended(cause: APIError) -> AuthenticationError:
    detail = cause.code or cause.status_code
    return AuthenticationError(
        f"The session has ended ({detail}: {cause.message}); sign in again.",
        status_code=cause.status_code,
        code=cause.code,
        request_id=cause.request_id,
        body=cause.body,
        details=cause.details,
    )
