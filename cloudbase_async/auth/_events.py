"""Auth state listeners: ``on_auth_state_change(callback)`` and its unsubscribe handle."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias

from ._models import AuthEvent, Session

__all__ = ["AuthStateCallback", "Emitter", "Subscription"]

log: Final = logging.getLogger("cloudbase_async")

#: Called with the event and the session after it (``None`` once signed out). May be a
#: plain function or a coroutine function.
AuthStateCallback: TypeAlias = Callable[[AuthEvent, Session | None], Awaitable[None] | None]


class Subscription:
    """Returned by ``on_auth_state_change``; ``unsubscribe()`` stops the callbacks.

    Unsubscribing twice is fine.
    """

    __slots__ = ("_callback", "_emitter")

    def __init__(self, emitter: Emitter, callback: AuthStateCallback) -> None:
        self._emitter: Emitter | None = emitter
        self._callback = callback

    @property
    def active(self) -> bool:
        return self._emitter is not None

    def unsubscribe(self) -> None:
        emitter, self._emitter = self._emitter, None
        if emitter is not None:
            emitter.remove(self)

    def __repr__(self) -> str:
        return f"<Subscription {self._callback!r} active={self.active}>"


class Emitter:
    """Calls every subscribed callback in subscription order; a failing one is logged.

    A listener's bug must never break a sign-in or a token refresh, so exceptions from
    callbacks are logged on the ``cloudbase_async`` logger and swallowed (cancellation
    still propagates).
    """

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []

    def subscribe(self, callback: AuthStateCallback) -> Subscription:
        if not callable(callback):
            raise TypeError("on_auth_state_change() needs a callable")
        subscription = Subscription(self, callback)
        self._subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def emit(self, event: AuthEvent, session: Session | None) -> None:
        for subscription in list(self._subscriptions):
            callback = subscription._callback
            try:
                result = callback(event, session)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # The session is not formatted here: tokens stay out of the log.
                log.warning(
                    "auth state callback %r failed on %s", callback, event.value, exc_info=True
                )
