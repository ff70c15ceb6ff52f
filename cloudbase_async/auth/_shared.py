"""One session key in a shared store, as one process sees it: the cross-process refresh.

The session manager keeps one flight per process (every task that finds the token stale
shares it); when its store is a :class:`~cloudbase_async.auth.SharedSessionStore`, the
flight's owner runs :meth:`SharedSession.refresh` and applies the :class:`Outcome`
before anyone in the process proceeds. Step by step:

1. **Claim** (shielded, one store operation): is the stored value still the one this
   process holds (``raw``)? If so and nobody holds the lease, take it.
2. **Moved on**: another process refreshed, signed in or signed out. Adopt what it
   stored; no refresh is sent. If instead the value is gone *and* the store's epoch
   changed, the store lost its data (a Redis restart without persistence): claim again
   as "absent", so the refresh below puts this process's session back. Only a refresh
   the server accepts writes it, and the server accepts only the newest refresh token,
   so an older session can never be restored over a newer one.
3. **Held elsewhere**: wait (not shielded: a cancelled wait loses nothing) until the
   value changes, the lease is released, or it runs out (its holder died), then claim
   again. A waiter gives up after ``refresh_timeout`` plus twice the longest lease it
   saw (one dead holder, one live one) with :class:`~cloudbase_async.APITimeoutError`.
4. **Leased**: refresh (shielded, bounded by ``refresh_timeout``), then **commit**: a
   compare-and-set against the value the refresh started from that also releases the
   lease and wakes the waiters. A failed refresh releases the lease so the next process
   may try at once. A refused refresh token deletes the session the same way, except
   while another holder's lease runs (``defer``): the refusal may only mean that its
   refresh came first, and its session is then adopted.

When the store fails in between, the rotated session is never dropped: it is kept in
this process (calls go on with it) and written as soon as the store answers again
(:meth:`SharedSession.flush`), through the same compare-and-set.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

import anyio
import anyio.lowlevel
import attrs

from .._core.errors import APITimeoutError, AuthenticationError, SessionStoreError
from ._lease import SharedSessionStore, StoreState, store_call
from ._models import AuthEvent, Session

__all__ = ["Outcome", "Renewal", "SharedSession", "timed_out"]

log: Final = logging.getLogger("cloudbase_async")

#: Seconds between attempts to write a session the store refused (it was down).
_FLUSH_RETRY: Final = 1.0
#: Attempts of a last-writer-wins write (sign-in, sign-out) before a plain one.
_WRITE_ATTEMPTS: Final = 3


@attrs.frozen
class Renewal:
    """What one refresh attempt produced (built by the manager).

    ``session`` is ``None`` when the server refused the refresh token: ``ended`` is
    then the error for every waiter. ``raw`` is the session as stored.
    """

    event: AuthEvent
    session: Session | None = None
    refresh_at: float = float("inf")
    raw: str | None = None
    ended: AuthenticationError | None = None


@attrs.frozen
class Outcome:
    """How a shared flight ended, for the manager to apply.

    ``renewal``: this process's refresh took effect (stored, or kept here until the
    store answers again). ``adopted``: take ``value``, which another process stored.
    ``error``: raise this to every waiter; the session is kept.
    """

    renewal: Renewal | None = None
    adopted: bool = False
    value: str | None = None
    error: Exception | None = None


def timed_out(refresh_timeout: float) -> APITimeoutError:
    return APITimeoutError(
        f"The token refresh did not finish within refresh_timeout ({refresh_timeout:g} s); "
        "the session is kept."
    )


class SharedSession:
    """This process's view of one key in a shared store, and the protocol around it.

    ``raw`` is the value this process believes is stored: the fence of every
    compare-and-set. ``epoch`` is the store's epoch when it was last seen.
    """

    def __init__(self, store: SharedSessionStore, key: str, refresh_timeout: float) -> None:
        self.store = store
        self.key = key
        self.raw: str | None = None
        self.epoch: str | None = None
        self._refresh_timeout = refresh_timeout
        # A value the store did not take (it failed), to write when it is back.
        self.pending = False
        self._unsaved: str | None = None
        self._retry_at = 0.0
        self._flushing = False
        # This flight found that the store lost its data and is putting the session back.
        self._restoring = False

    async def load(self) -> str | None:
        """The stored value (and the epoch), as the manager's first look."""
        state = await store_call(self.store.snapshot(self.key))
        self._seen(state.value, state.epoch)
        return state.value

    async def write(self, raw: str | None, *, now: float) -> None:
        """A sign-in (``raw``) or sign-out (``None``) here: the last writer wins.

        Written by compare-and-set, so waiters wake and the epoch is learnt. On failure
        the value is kept for :meth:`flush` (tried again a second after ``now``, the
        manager's monotonic time) and :class:`SessionStoreError` raised.
        """
        try:
            for _ in range(_WRITE_ATTEMPTS):
                state = await store_call(self.store.commit(self.key, self.raw, raw, None))
                if state.written:
                    self._seen(raw, state.epoch)
                    return
                self.raw = state.value  # someone wrote in between: write over it
            # Still contended: a plain write settles it.
            if raw is None:
                await store_call(self.store.delete(self.key))
            else:
                await store_call(self.store.set(self.key, raw))
            self.raw, self.pending, self._unsaved = raw, False, None
        except SessionStoreError:
            self._keep(raw, now)
            raise

    async def refresh(self, renew: Callable[[], Awaitable[Renewal]], *, now: float) -> Outcome:
        """Replace the session this process holds, with every other process sharing the
        store: adopt what another one stored, or take the lease and ``renew()``.

        ``now`` is the manager's monotonic time, from which a failed write is retried.
        """
        started = anyio.current_time()
        longest = 0.0
        self._restoring = False
        while True:
            with anyio.CancelScope(shield=True):
                # Shielded: a lease taken must be used or released, whatever the caller.
                await anyio.lowlevel.checkpoint()
                outcome, held_for = await self._step(renew, now)
            if outcome is not None:
                return outcome
            longest = max(longest, held_for)
            budget = self._refresh_timeout + 2 * longest
            left = started + budget - anyio.current_time()
            if left <= 0:
                return Outcome(
                    error=APITimeoutError(
                        f"Another process's token refresh did not finish within {budget:.1f} s; "
                        "the session is kept."
                    )
                )
            if held_for > 0:  # else the lease just ended, or the store forgot: claim again
                await store_call(self.store.wait(self.key, self.raw, min(held_for, left)))

    async def flush(self, *, now: float) -> Outcome | None:
        """Write the value the store refused earlier, if it is time to try again.

        Returns an outcome only when another process's value won meanwhile (a sign-in
        or sign-out elsewhere): the manager adopts it. Failures wait for the next try.
        """
        if not self.pending or self._flushing or now < self._retry_at:
            return None
        self._flushing = True
        value = self._unsaved
        try:
            state = await self._commit(value, None, defer=value is None)
        except SessionStoreError:
            self._retry_at = now + _FLUSH_RETRY
            return None
        finally:
            self._flushing = False
        if state.written:
            log.info("the session store took the session it had refused earlier")
            return None
        if state.held_for > 0:
            # A deletion waits for the holder's refresh, which decides; look again later.
            self._retry_at = now + _FLUSH_RETRY
            return None
        return Outcome(adopted=True, value=state.value)

    # -- one step of the protocol, shielded ------------------------------------------

    async def _step(
        self, renew: Callable[[], Awaitable[Renewal]], now: float
    ) -> tuple[Outcome | None, float]:
        """Claim once and act on it; ``(None, seconds)`` means wait that long."""
        state = await store_call(self.store.claim(self.key, self.raw, self._refresh_timeout))
        if state.value != self.raw:
            if self._lost(state):
                log.warning("the session store lost its data; restoring this session there")
                self._seen(None, state.epoch)
                self._restoring = True
                return None, 0.0
            self._seen(state.value, state.epoch)
            return Outcome(adopted=True, value=state.value), 0.0
        self.epoch = state.epoch
        if state.lease is None:
            return None, state.held_for
        return await self._hold(state.lease, renew, now)

    async def _hold(
        self, lease: str, renew: Callable[[], Awaitable[Renewal]], now: float
    ) -> tuple[Outcome | None, float]:
        """Holding the lease: refresh within ``refresh_timeout``, then commit."""
        renewal: Renewal | None = None
        failure: Exception | None = None
        with anyio.move_on_after(self._refresh_timeout):
            try:
                renewal = await renew()
            except Exception as exc:
                failure = exc
        if renewal is None:
            # Nothing changed on the server as far as we know: let the next one try now.
            try:
                await store_call(self.store.release(self.key, lease))
            except SessionStoreError:
                log.warning("could not release the refresh lease; it expires by itself")
            if failure is not None:
                raise failure
            return Outcome(error=timed_out(self._refresh_timeout)), 0.0
        if renewal.session is None:
            return await self._end(renewal, lease, now)
        try:
            state = await self._commit(renewal.raw, lease)
        except SessionStoreError:
            # The old refresh token is used up: dropping these tokens would end the
            # session for every process. Keep them here and write them when possible.
            log.warning("could not store the refreshed session; keeping it until the store is back")
            self._keep(renewal.raw, now)
            return Outcome(renewal=renewal), 0.0
        if state.written:
            return Outcome(renewal=renewal), 0.0
        # A sign-in or sign-out elsewhere replaced the session meanwhile: it wins.
        return Outcome(adopted=True, value=state.value), 0.0

    async def _end(self, renewal: Renewal, lease: str, now: float) -> tuple[Outcome | None, float]:
        """The server refused the refresh token: delete the session, unless the refusal
        only means that another process's refresh came first."""
        if self._restoring:
            return await self._outdated(lease), 0.0
        try:
            state = await self._commit(None, lease, defer=True)
        except SessionStoreError:
            log.warning("could not delete the ended session from the store; retrying later")
            self._keep(None, now)
            return Outcome(renewal=renewal), 0.0
        if state.written:
            return Outcome(renewal=renewal), 0.0
        if state.held_for > 0:
            return None, state.held_for  # another holder is refreshing: wait for it
        return Outcome(adopted=True, value=state.value), 0.0

    async def _outdated(self, lease: str) -> Outcome:
        """The store forgot the session and this process's copy of it is not the newest
        (another process refreshed it just before the loss and keeps the newer one until
        it can write it). Drop the copy, never delete anything: that process puts it back."""
        try:
            await store_call(self.store.release(self.key, lease))
        except SessionStoreError:
            log.warning("could not release the refresh lease; it expires by itself")
        return Outcome(
            adopted=True,
            value=None,
            error=SessionStoreError(
                "The session store lost its data (a restart without persistence) and this "
                "process's copy of the session is outdated; the process holding the newest "
                "copy writes it back, and this one picks it up."
            ),
        )

    async def _commit(
        self, value: str | None, lease: str | None, *, defer: bool = False
    ) -> StoreState:
        """Compare-and-set against ``raw``; against "absent" once more if the store lost
        its data meanwhile. Updates ``raw``/``epoch`` from what it saw."""
        state = await store_call(self.store.commit(self.key, self.raw, value, lease, defer=defer))
        if not state.written and self._lost(state):
            self._seen(None, state.epoch)
            state = await store_call(self.store.commit(self.key, None, value, lease, defer=defer))
        if state.written:
            self._seen(value, state.epoch)
        elif state.held_for <= 0:
            self._seen(state.value, state.epoch)
        return state

    # -- bookkeeping -----------------------------------------------------------------

    def _lost(self, state: StoreState) -> bool:
        """The value is gone because the store forgot everything, not because someone
        deleted it: the epoch changed since this process last saw the store."""
        return (
            state.value is None
            and self.raw is not None
            and self.epoch is not None
            and state.epoch != self.epoch
        )

    def _seen(self, value: str | None, epoch: str) -> None:
        self.raw, self.epoch = value, epoch
        self.pending, self._unsaved = False, None

    def _keep(self, value: str | None, now: float) -> None:
        self.pending, self._unsaved = True, value
        self._retry_at = now + _FLUSH_RETRY

    def __repr__(self) -> str:
        # Not the key: a with_session() key is often a cookie's value, a secret.
        return f"<SharedSession on {self.store!r} pending={self.pending}>"
