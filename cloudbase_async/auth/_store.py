"""Where sessions and the device id are kept between calls and between runs.

A store maps string keys to JSON strings; the SDK uses ``credentials_<client_id>`` for
the session and ``device_id`` for the device id it sends as ``x-device-id`` (the same
keys the official JS SDK uses; a ``with_session(key)`` copy puts ``session:<key>:`` in
front of both). Implement :class:`SessionStore` to keep them anywhere (a database, a
keyring); :class:`MemoryStore` is the default, ``FileStore`` keeps them in a JSON file
across restarts and ``RedisStore`` in Redis. A store several processes share implements
``SharedSessionStore`` too (``_lease``), so that they refresh a session once between them.
"""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

from .._core.errors import InvalidRequestError

__all__ = ["MAX_SESSION_KEY", "MemoryStore", "SessionStore", "session_namespace"]


@runtime_checkable
class SessionStore(Protocol):
    """Async key → JSON-string storage for sessions.

    Writes must be durable once ``set`` returns: refresh tokens are single-use, so the
    SDK stores the rotated one before anything uses it.
    """

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryStore:
    """Keeps everything in this process's memory (the default): gone at exit."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self._data.get(key)

    async def set(self, key: str, value: str) -> None:
        self._data[key] = value

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def __repr__(self) -> str:
        return f"MemoryStore(keys={sorted(self._data)!r})"


#: The longest application key ``with_session`` takes.
MAX_SESSION_KEY: Final = 256


def session_namespace(key: object) -> str:
    """What a ``with_session(key)`` copy puts in front of its store keys; refuses a key
    that is not a short printable string."""
    if not isinstance(key, str):
        raise InvalidRequestError(
            f"with_session() takes the key your application keeps the session under (a "
            f"str), not {type(key).__name__}; to adopt tokens use auth.set_session()."
        )
    if not key or len(key) > MAX_SESSION_KEY or not key.isprintable() or key != key.strip():
        raise InvalidRequestError(
            f"A session key must be 1 to {MAX_SESSION_KEY} printable characters without "
            "leading or trailing whitespace."
        )
    return f"session:{key}:"
