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

Processes sharing a session through a store that implements
:class:`~cloudbase_async.auth.SharedSessionStore` (``RedisStore``, ``FileStore``) refresh
it once between them: the flight's owner takes the store's lease, or waits for the
process that holds it and adopts what it stored (``_shared``). A store failure there
raises :class:`~cloudbase_async.SessionStoreError` to the calls that needed a new token,
while calls whose token has not expired yet go on with it.

:meth:`SessionManager.for_key` gives the manager of a session kept under the
application's own key (``cb.with_session(key)``): same pool, store and settings, its
own session, device id and single flight.

There is no background task: all of this happens inside the calls that need a token,
under asyncio or trio alike.

(This module is longer than most on purpose: the manager is one state machine, whose
session, staleness, flight and store fence change together. What needs none of that
state lives elsewhere: the cross-process protocol in ``_shared`` and ``_lease``, the
models in ``_models``, the header helpers in ``_api``.)
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
import uuid
import weakref
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
from .._core.errors import APIError, AuthenticationError, SessionStoreError
from .._core.redact import redact
from .._core.service import decode_model
from .._core.transport import Request, Transport
from ._api import basic_auth, bearer
from ._events import AuthStateCallback, Emitter, Subscription
from ._lease import SharedSessionStore, store_call
from ._models import AuthEvent, Session, TokenResponse
from ._shared import Outcome, Renewal, SharedSession, timed_out
from ._store import MemoryStore, SessionStore, session_namespace

__all__ = ["DEFAULT_REFRESH_MARGIN", "DEFAULT_REFRESH_TIMEOUT", "Issued", "SessionManager"]

log: Final = logging.getLogger("cloudbase_async")

DEVICE_ID_KEY: Final = "device_id"
#: Seconds between looks at a shared store by a process that holds no session (so that
#: it picks up a sign-in made elsewhere); after a look that failed, a longer pause, so a
#: store that does not answer slows one call in a while, not one a second.
_RECHECK: Final = 1.0
_RECHECK_AFTER_FAILURE: Final = 30.0
# The official SDK regenerates a stored device id outside these lengths.
_DEVICE_ID_LENGTHS: Final = range(16, 49)


@attrs.define(eq=False)
class _Flight:
    """One refresh in progress; waiters share its outcome.

    ``abandoned``: its owner was cancelled while waiting for another process, before
    anything changed; a waiter starts a new flight.
    """

    done: anyio.Event = attrs.field(factory=anyio.Event)
    error: Exception | None = None
    abandoned: bool = False


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
        namespace: str = "",
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
        self._recheck_at = 0.0
        # A with_session() manager: its keys are the application's, for one user.
        self._per_user = bool(namespace)
        self._key = f"{namespace}credentials_{client_id}"
        self._device_key = f"{namespace}{DEVICE_ID_KEY}"
        self._shared = (
            SharedSession(self.store, self._key, refresh_timeout)
            if isinstance(self.store, SharedSessionStore)
            else None
        )
        # The managers of with_session() copies, shared by the family while in use.
        self._family: weakref.WeakValueDictionary[str, SessionManager] = (
            weakref.WeakValueDictionary()
        )

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
        """The current session, refreshed first if its access token is stale.

        When a shared store fails during that refresh and the token has not expired
        yet, the current session is returned (and the refresh tried again next call).
        """
        await self._ensure_loaded()
        shared = self._shared
        if shared is not None:
            if shared.pending:
                await self._flush(shared)
            if self._session is None and not shared.pending and self._clock() >= self._recheck_at:
                await self._recheck(shared)
        session = self._session
        if session is None or self._clock() < self._refresh_at:
            return session
        try:
            return await self._refresh(session)
        except SessionStoreError:
            remaining = session.expires_in(self._wall_clock())
            if self._session is not session or remaining is None or remaining <= 0:
                raise
            log.warning(
                "the session store failed while refreshing; the token is still valid "
                "for %.0f s, so the call goes on with it",
                remaining,
            )
            return session

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
            error = await self._set(session, self._stale_after(issued.monotonic, tokens.expires_in))
        await self.events.emit(event, session)
        if error is not None:
            raise error
        return session

    async def install_session(self, session: Session) -> Session:
        """Make a session built elsewhere (``set_session``) the current one."""
        remaining = session.expires_in(self._wall_clock())
        with anyio.CancelScope(shield=True):
            error = await self._set(session, self._stale_after(self._clock(), remaining))
        await self.events.emit(AuthEvent.SIGNED_IN, session)
        if error is not None:
            raise error
        return session

    async def clear(self) -> None:
        """Forget the session (memory and store) and announce ``SIGNED_OUT``.

        On a shared store that fails, the session is forgotten here all the same, the
        deletion is retried with later calls, and :class:`SessionStoreError` raised.
        A ``with_session()`` key's device id goes too: nothing is left of that user.
        """
        await self._ensure_loaded()
        had_session = self._session is not None
        with anyio.CancelScope(shield=True):
            error = await self._set(None, math.inf)
            if self._per_user and error is None:
                await self._forget_device()
        if had_session:
            await self.events.emit(AuthEvent.SIGNED_OUT, None)
        if error is not None:
            raise error

    async def user_updated(self) -> None:
        await self.events.emit(AuthEvent.USER_UPDATED, self._session)

    def subscribe(self, callback: AuthStateCallback) -> Subscription:
        return self.events.subscribe(callback)

    def for_key(self, key: str) -> SessionManager:
        """The manager of the session stored under the application's ``key``.

        It shares this manager's transport, fallback, store and settings, and keeps its
        own session, device id and single flight under ``session:<key>:``. While any
        copy uses it, every ``for_key(key)`` of the family returns the same manager, so
        concurrent requests of one user share one refresh.
        """
        namespace = session_namespace(key)
        manager = self._family.get(key)
        if manager is None:
            manager = SessionManager(
                self._transport,
                fallback=self.fallback,
                store=self.store,
                client_id=self.client_id,
                client_secret=self._client_secret,
                refresh_margin=self.refresh_margin,
                refresh_timeout=self.refresh_timeout,
                clock=self._clock,
                wall_clock=self._wall_clock,
                namespace=namespace,
            )
            manager._family = self._family
            self._family[key] = manager
        return manager

    # -- headers every auth call carries --------------------------------------------

    async def device_id(self) -> str:
        """The ``x-device-id`` of this store: generated once, then reused."""
        if self._device_id is not None:
            return self._device_id
        async with self._lock:
            if self._device_id is None:
                self._device_id = await self._load_device_id()
            return self._device_id

    async def _forget_device(self) -> None:
        self._device_id = None
        try:
            await store_call(self.store.delete(self._device_key))
        except SessionStoreError:
            log.warning("could not delete a signed-out session's device id from the store")

    async def _load_device_id(self) -> str:
        stored = await store_call(self.store.get(self._device_key))
        if stored is not None and len(stored) in _DEVICE_ID_LENGTHS:
            return stored
        fresh = uuid.uuid4().hex
        if self._shared is None:
            await store_call(self.store.set(self._device_key, fresh))
            return fresh
        # Processes starting together each make one: the first write wins, the rest
        # adopt it, so that they all are one device (one anonymous user).
        shared = self._shared.store
        state = await store_call(shared.commit(self._device_key, stored, fresh, None))
        if state.written or state.value is None or len(state.value) not in _DEVICE_ID_LENGTHS:
            return fresh
        return state.value

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
            if self._shared is not None:
                raw = await self._shared.load()
                self._recheck_at = self._clock() + _RECHECK
            else:
                raw = await store_call(self.store.get(self._key))
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

    @staticmethod
    def _encode(session: Session) -> str:
        return json.dumps(unstructure(session), ensure_ascii=False)

    async def _set(self, session: Session | None, refresh_at: float) -> SessionStoreError | None:
        """Replace the session in memory, then in the store. Callers shield this.

        A shared store's failure is returned for the caller to raise after its event
        (the session is in effect here, and written later); any other store's failure
        is logged: the session still works from memory, only a restart would lose it.
        """
        self._session = session
        self._refresh_at = refresh_at
        self._loaded = True
        raw = None if session is None else self._encode(session)
        if self._shared is not None:
            try:
                await self._shared.write(raw, now=self._clock())
            except SessionStoreError as exc:
                return exc
            return None
        try:
            if raw is None:
                await self.store.delete(self._key)
            else:
                await self.store.set(self._key, raw)
        except Exception:
            log.exception("could not write the session to %r", self.store)
        return None

    async def _refresh(self, stale: Session) -> Session | None:
        """Replace ``stale`` (single-flight) and return the session after it."""
        while True:
            flight = self._flight
            if flight is None:
                if self._session is not stale:
                    return self._session  # replaced meanwhile (refreshed, signed in or out)
                return await self._fly(stale)
            await flight.done.wait()
            if flight.abandoned:
                continue  # its owner was cancelled before anything changed: go again
            if flight.error is not None:
                raise flight.error
            return self._session

    async def _fly(self, stale: Session) -> Session | None:
        """Own the flight that replaces ``stale``; every caller arriving meanwhile waits."""
        flight = self._flight = _Flight()
        event: AuthEvent | None = None
        try:
            if self._shared is None:
                event, error = await self._local_flight(stale)
            else:
                renew = functools.partial(self._renew, stale)
                outcome = await self._shared.refresh(renew, now=self._clock())
                event, error = self._apply(outcome, stale)
        except Exception as exc:
            flight.error = exc
            raise
        except BaseException:
            # Cancelled while waiting for another process (the rest is shielded).
            flight.abandoned = True
            raise
        else:
            flight.error = error
        finally:
            self._flight = None
            flight.done.set()
        # A caller cancelled during the shielded flight is cancelled now, not handed
        # the flight's outcome.
        await anyio.lowlevel.checkpoint_if_cancelled()
        # Listeners run after the waiters were released, in this caller's task.
        if event is not None:
            await self.events.emit(event, self._session)
        if error is not None:
            raise error
        return self._session

    async def _local_flight(self, stale: Session) -> tuple[AuthEvent | None, Exception | None]:
        """The refresh of a store this process has to itself."""
        # Shielded, so a rotated token is never lost to a cancellation; bounded, so a
        # trickling server cannot hold the caller for longer than refresh_timeout.
        deadline = anyio.current_time() + self.refresh_timeout
        with anyio.CancelScope(shield=True, deadline=deadline) as scope:
            # Let every caller that is about to find the token stale join this flight,
            # even when the transport answers without ever yielding (mocks, caches).
            await anyio.lowlevel.checkpoint()
            return await self._replace(stale)
        # Only reached when the deadline cancelled the block.
        assert scope.cancelled_caught
        return None, timed_out(self.refresh_timeout)

    async def _replace(self, stale: Session) -> tuple[AuthEvent | None, Exception | None]:
        """Run inside the local flight, shielded: refresh, or re-login, or sign out.

        Returns the event to announce and, when the session ended, the error for every
        waiter; other failures (server down, connection lost) raise and keep the session.
        """
        renewal = await self._renew(stale)
        if self._session is not stale:
            return None, renewal.ended  # a sign-in or sign-out won meanwhile; keep that
        await self._set(renewal.session, renewal.refresh_at)
        return renewal.event, renewal.ended

    def _apply(self, outcome: Outcome, stale: Session) -> tuple[AuthEvent | None, Exception | None]:
        """Make a shared flight's outcome this process's session (before anyone proceeds)."""
        if outcome.error is not None:
            if outcome.adopted:  # this process's copy is outdated: drop it, quietly
                self._adopt(outcome.value)
            return None, outcome.error
        if outcome.adopted:
            return self._adopt(outcome.value), None
        renewal = outcome.renewal
        assert renewal is not None
        if self._session is not stale:
            return None, renewal.ended  # a sign-in or sign-out here won meanwhile
        self._session = renewal.session
        self._refresh_at = renewal.refresh_at
        return renewal.event, renewal.ended

    def _adopt(self, raw: str | None) -> AuthEvent | None:
        """Take the session another process stored; the event says what changed."""
        before = self._session
        session = self._decode(raw) if raw else None
        self._session = session
        self._refresh_at = (
            math.inf
            if session is None
            else self._stale_after(self._clock(), session.expires_in(self._wall_clock()))
        )
        return _change(before, session)

    async def _recheck(self, shared: SharedSession) -> None:
        """Holding no session, look at the shared store again (at most once a second):
        another process may have signed in, or put back a session the store lost."""
        self._recheck_at = self._clock() + _RECHECK
        try:
            raw = await shared.load()
        except SessionStoreError:
            # The fallback credential works without the store.
            self._recheck_at = self._clock() + _RECHECK_AFTER_FAILURE
            return
        if raw is not None and self._session is None:
            event = self._adopt(raw)
            if event is not None:
                await self.events.emit(event, self._session)

    async def _flush(self, shared: SharedSession) -> None:
        outcome = await shared.flush(now=self._clock())
        if outcome is not None and outcome.adopted:
            event = self._adopt(outcome.value)
            if event is not None:
                await self.events.emit(event, self._session)

    async def _renew(self, stale: Session) -> Renewal:
        """One refresh of ``stale``: new tokens, an anonymous re-login, or the end.

        Failures that say nothing about the refresh token (server down, connection
        lost) raise and keep the session.
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
                return Renewal(AuthEvent.SIGNED_OUT, ended=ended)
            else:
                raise
        session = tokens.session(issued.wall)
        return Renewal(
            event,
            session,
            self._stale_after(issued.monotonic, tokens.expires_in),
            self._encode(session),
        )

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


def _change(before: Session | None, after: Session | None) -> AuthEvent | None:
    """The event for a session replaced by another process's."""
    if after is None:
        return None if before is None else AuthEvent.SIGNED_OUT
    if before is None or before.user_id != after.user_id:
        return AuthEvent.SIGNED_IN
    return AuthEvent.TOKEN_REFRESHED


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
