"""The optional capability of a store that several processes share: leases and
compare-and-set.

Refresh tokens are single-use. Processes that share a session through a store must
therefore agree on which one of them refreshes it; the others wait for the rotated
session and adopt it without sending a refresh of their own. A store that implements
:class:`SharedSessionStore` (``RedisStore``, ``FileStore``) gives the session manager the
four things this needs:

* a **lease** per key (:meth:`~SharedSessionStore.claim`): at most one holder at a time,
  identified by a random token, that expires on its own when its holder dies;
* a **compare-and-set** write (:meth:`~SharedSessionStore.commit`) against the value the
  writer started from, so a late writer never replaces a newer session;
* a way to **wait** until the value or the lease changes (:meth:`~SharedSessionStore.wait`);
* an **epoch** that changes when the store loses its data (a Redis restarted without
  persistence), so a process can tell "signed out elsewhere" (the key was deleted) from
  "the store forgot" (the key is gone because everything is), and put its session back.

The manager detects the capability with ``isinstance(store, SharedSessionStore)``; a
store without it keeps the in-process behaviour. Values are compared as whole strings:
the stored JSON carries the refresh token it started from, and any other change (a
sign-in or sign-out elsewhere) also means the writer's session is no longer the newest.
Comparing whole values keeps stores ignorant of the session format (a SQL store does
``UPDATE ... WHERE value = $expected``).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from .._core.errors import CloudBaseError, ConfigurationError, SessionStoreError
from ._store import SessionStore

__all__ = ["SharedSessionStore", "StoreState", "new_token", "positive_seconds", "store_call"]

T = TypeVar("T")


def new_token() -> str:
    """A fresh random lease token (or epoch id): 128 bits, hex."""
    return secrets.token_hex(16)


def positive_seconds(value: object, name: str) -> float:
    """``value`` as seconds if it is a finite number above zero, else a ConfigurationError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}.")
    return float(value)


@attrs.frozen
class StoreState:
    """What a shared store holds for a key, as one of its operations saw it.

    :ivar value: the stored value (``None``: absent).
    :ivar epoch: an id of the store's data; it changes when the store loses everything
        (a restart without persistence) and never otherwise.
    :ivar lease: the lease token this call took (:meth:`SharedSessionStore.claim`).
    :ivar held_for: seconds another holder's lease still runs (0: nobody holds it).
    :ivar written: :meth:`SharedSessionStore.commit` wrote the new value.
    """

    value: str | None
    epoch: str
    lease: str | None = None
    held_for: float = 0.0
    written: bool = False


@runtime_checkable
class SharedSessionStore(SessionStore, Protocol):
    """A :class:`~cloudbase_async.auth.SessionStore` that several processes can share
    safely: leases, compare-and-set and waiting, each atomic in the store.

    Every operation must be bounded in time (raise on timeout) and should raise
    :class:`~cloudbase_async.SessionStoreError` when the store fails; the manager wraps
    anything else into one. Plain ``set`` and ``delete`` should also wake waiters.
    """

    async def snapshot(self, key: str) -> StoreState:
        """The value of ``key`` and the store's epoch."""
        ...

    async def claim(self, key: str, expected: str | None, ttl: float) -> StoreState:
        """Take the lease on ``key`` if its value is still ``expected`` and nobody holds it.

        The lease lasts ``ttl`` seconds (the longest the holder's refresh may take) plus
        however long the store's own :meth:`commit` may take, then expires by itself.
        Returns the current value; ``lease`` is set when this call took the lease,
        ``held_for`` says how long another holder's lease runs when it did not. A value
        other than ``expected`` takes no lease.
        """
        ...

    async def commit(
        self,
        key: str,
        expected: str | None,
        value: str | None,
        lease: str | None,
        *,
        defer: bool = False,
    ) -> StoreState:
        """Set ``key`` to ``value`` (delete it for ``None``) if its value is ``expected``;
        release ``lease`` if it is still the holder's; wake waiters.

        A write of fresh tokens ignores leases (they are valid whoever holds the lease).
        ``defer=True`` (a deletion after a refused refresh token, which may only mean
        another holder's refresh came first) writes nothing while another holder's lease
        runs and reports ``held_for`` instead. ``written`` says whether it wrote.
        """
        ...

    async def release(self, key: str, lease: str) -> None:
        """Give the lease up if ``lease`` still holds it (a refresh that failed), and
        wake waiters."""
        ...

    async def wait(self, key: str, expected: str | None, timeout: float) -> None:
        """Return once the value of ``key`` may differ from ``expected`` or its lease may
        be free, or after ``timeout`` seconds. Returning early is allowed (the caller
        looks again); returning late is not."""
        ...


async def store_call(operation: Awaitable[T]) -> T:
    """Await a store operation; any failure that is not already the SDK's own becomes a
    :class:`~cloudbase_async.SessionStoreError` (naming only the exception's type: a
    store's own message may quote keys, values or a connection URL)."""
    try:
        return await operation
    except CloudBaseError:
        raise
    except Exception as exc:
        raise SessionStoreError(f"The session store failed ({type(exc).__name__}).") from exc
