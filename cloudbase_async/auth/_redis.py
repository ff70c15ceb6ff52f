"""``RedisStore``: sessions in Redis, shared by every process and machine that uses it.

Built on redis-py's asyncio client (the ``redis`` extra), imported only when a store is
made, so ``import cloudbase_async`` never needs it. Everything the shared-store
protocol (:class:`~cloudbase_async.auth.SharedSessionStore`) asks for is one Lua script,
so each step is atomic in Redis and costs one round trip.

Keys, with the default prefix ``cloudbase:``:

==============================  ========================================================
``cloudbase:<key>``             the value: a session's JSON, a device id
``cloudbase:lease:<key>``       the lease on ``<key>``: its holder's random token, with a
                                ``PX`` expiry (``SET NX PX``), so it ends by itself when
                                the holder dies
``cloudbase:epoch``             a random id made on first use; a Redis that lost its data
                                (restarted without persistence) has none, so the next
                                script makes a new one, and a process that still holds a
                                session learns that the store forgot it rather than that
                                someone signed out
==============================  ========================================================

Every write and every release publishes on ``cloudbase:changed:<key>``; waiters
subscribe there and also look again when the lease runs out, so neither a lost message
nor a dead holder can hold them past the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

import anyio

from .._core.errors import ConfigurationError, SessionStoreError
from ._lease import StoreState, new_token, positive_seconds

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore"]

#: A lease outlives the holder's work (``ttl``, then one commit) by this much.
_LEASE_SLACK: Final = 1.0
#: While waiting, look again at least this often (a message lost in a reconnect).
_RECHECK: Final = 0.5

# Shared by the scripts. KEYS[3] is the epoch key; ARGV[1] a fresh epoch id to use when
# Redis has none. A missing value is `false` in Lua; `present` says whether one is
# expected at all ('1') so that an empty string and "absent" stay different.
_PRELUDE: Final = """
local function epoch()
  local e = redis.call('GET', KEYS[3])
  if not e then
    e = ARGV[1]
    redis.call('SET', KEYS[3], e)
  end
  return e
end
local function same(current, present, expected)
  if present == '1' then return current == expected end
  return current == false
end
"""

# KEYS: value, lease, epoch. ARGV: epoch id, has expected, expected, token, lease ms.
# Returns {epoch, value, token taken or nil, ms another holder's lease still runs}.
_CLAIM: Final = (
    _PRELUDE
    + """
local e = epoch()
local current = redis.call('GET', KEYS[1])
if not same(current, ARGV[2], ARGV[3]) then
  return {e, current, false, 0}
end
-- Already ours: a retried call whose first attempt went through.
if redis.call('GET', KEYS[2]) == ARGV[4] then
  return {e, current, ARGV[4], 0}
end
if redis.call('SET', KEYS[2], ARGV[4], 'NX', 'PX', ARGV[5]) then
  return {e, current, ARGV[4], 0}
end
return {e, current, false, redis.call('PTTL', KEYS[2])}
"""
)

# KEYS: value, lease, epoch. ARGV: epoch id, has expected, expected, has value, value,
# token ('' for none), defer ('1'), channel. Writes only if the value is still the
# expected one; with defer, not while another token holds the lease. Releases the
# caller's lease and publishes. Returns {epoch, value now, written 1/0, ms held}.
_COMMIT: Final = (
    _PRELUDE
    + """
local e = epoch()
local current = redis.call('GET', KEYS[1])
if not same(current, ARGV[2], ARGV[3]) then
  return {e, current, 0, 0}
end
local holder = redis.call('GET', KEYS[2])
if ARGV[7] == '1' and holder and holder ~= ARGV[6] then
  return {e, current, 0, redis.call('PTTL', KEYS[2])}
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], ARGV[5])
else
  redis.call('DEL', KEYS[1])
end
if holder == ARGV[6] then
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', ARGV[8], 'commit')
if ARGV[4] == '1' then
  return {e, ARGV[5], 1, 0}
end
return {e, false, 1, 0}
"""
)

# KEYS: value, (unused), epoch. ARGV: epoch id. Returns {epoch, value}.
_SNAPSHOT: Final = (
    _PRELUDE
    + """
return {epoch(), redis.call('GET', KEYS[1])}
"""
)

# KEYS: lease. ARGV: token, channel. Deletes the lease only if the token still holds it.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'release')
  return 1
end
return 0
"""

# KEYS: value, lease. ARGV: (unused epoch id), has expected, expected.
# Returns {1 if the value changed or the lease is free else 0, lease PTTL in ms}.
_PEEK: Final = (
    _PRELUDE
    + """
local ttl = redis.call('PTTL', KEYS[2])
if not same(redis.call('GET', KEYS[1]), ARGV[2], ARGV[3]) or ttl == -2 then
  return {1, ttl}
end
return {0, ttl}
"""
)

# KEYS: value. ARGV: has value, value, channel. A plain set or delete that wakes waiters.
_PUT: Final = """
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('DEL', KEYS[1])
end
redis.call('PUBLISH', ARGV[3], 'put')
return 1
"""


def _text(value: object) -> str | None:
    """A reply as text, whether the client decodes responses or not."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _optional(value: str | None) -> list[str]:
    """A maybe-absent string as the scripts' two arguments: present flag, value."""
    return ["0", ""] if value is None else ["1", value]


def _require_asyncio() -> None:
    # redis-py's client is asyncio code; under trio it would fail somewhere inside.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise SessionStoreError(
            "RedisStore runs on asyncio only (redis-py's client is asyncio code); under "
            "trio use FileStore or a store of your own."
        ) from None


class RedisStore:
    """Keeps sessions in Redis, shared by every process that points at the same server.

    ``CloudBase(..., session_store=RedisStore.from_url("redis://..."))`` in every worker,
    on every machine, shares one session and one device id, and the workers refresh it
    once between them (see the README's "RedisStore"). Needs asyncio (redis-py's client).

    :param client: a ``redis.asyncio.Redis`` (either ``decode_responses`` setting). You
        keep owning it; a store made by :meth:`from_url` owns its own.
    :param prefix: put in front of every key, so several applications can share a Redis.
        On Redis Cluster give it a hash tag (``"{cloudbase}:"``) so that one script's
        keys share a slot.
    :param timeout: seconds any one Redis operation may take before it raises
        :class:`~cloudbase_async.SessionStoreError`.
    """

    def __init__(self, client: Redis, *, prefix: str = "cloudbase:", timeout: float = 2.0) -> None:
        try:
            from redis.exceptions import RedisError
        except ImportError:  # pragma: no cover - a Redis client implies redis-py
            raise ConfigurationError(
                "RedisStore needs redis-py: pip install 'cloudbase-async[redis]'."
            ) from None
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix must be a string, not {type(prefix).__name__}.")
        self.prefix = prefix
        self.timeout = positive_seconds(timeout, "timeout")
        self._client = client
        self._owns_client = False
        self._redis_errors: tuple[type[Exception], ...] = (RedisError, OSError)
        self._snapshot = client.register_script(_SNAPSHOT)
        self._claim = client.register_script(_CLAIM)
        self._commit = client.register_script(_COMMIT)
        self._release = client.register_script(_RELEASE)
        self._peek = client.register_script(_PEEK)
        self._put = client.register_script(_PUT)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "cloudbase:", timeout: float = 2.0, **options: Any
    ) -> RedisStore:
        """A store on a new client for ``url`` (``redis://``, ``rediss://``, ``unix://``).

        ``options`` go to ``redis.asyncio.from_url``; socket timeouts default to
        ``timeout``, and a command on a connection that died (Redis restarted) is sent
        once more on a new one. The store owns this client: ``await store.aclose()``
        (or ``async with store:``) closes it.
        """
        try:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise ConfigurationError(
                "RedisStore needs redis-py: pip install 'cloudbase-async[redis]'."
            ) from None
        seconds = positive_seconds(timeout, "timeout")
        options.setdefault("socket_timeout", seconds)
        options.setdefault("socket_connect_timeout", seconds)
        # After a Redis restart every pooled connection is dead: reconnect once at once
        # rather than fail the first call on each (the scripts are safe to send again).
        options.setdefault("retry", Retry(NoBackoff(), 1))
        try:
            client = aioredis.from_url(url, **options)
        except (ValueError, TypeError) as exc:
            # The URL may hold a password: name the problem, not the URL.
            raise ConfigurationError(
                f"Not a Redis URL redis-py accepts ({type(exc).__name__})."
            ) from None
        store = cls(client, prefix=prefix, timeout=seconds)
        store._owns_client = True
        return store

    async def aclose(self) -> None:
        """Close the client if this store made it (:meth:`from_url`). Idempotent."""
        if self._owns_client:
            self._owns_client = False
            await self._client.aclose()

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- SessionStore ----------------------------------------------------------------

    async def get(self, key: str) -> str | None:
        with self._guard("GET"):
            return _text(await self._client.get(self.prefix + key))

    async def set(self, key: str, value: str) -> None:
        await self._write(key, value)

    async def delete(self, key: str) -> None:
        await self._write(key, None)

    # -- SharedSessionStore ----------------------------------------------------------

    async def snapshot(self, key: str) -> StoreState:
        with self._guard("snapshot"):
            epoch, current = await self._snapshot(keys=self._keys(key), args=[new_token()])
        return StoreState(_text(current), _text(epoch) or "")

    async def claim(self, key: str, expected: str | None, ttl: float) -> StoreState:
        lease_ms = math.ceil((ttl + self.timeout + _LEASE_SLACK) * 1000)
        token = new_token()
        with self._guard("claim"):
            reply = await self._claim(
                keys=self._keys(key),
                args=[new_token(), *_optional(expected), token, str(lease_ms)],
            )
        return self._state(reply)

    async def commit(
        self,
        key: str,
        expected: str | None,
        value: str | None,
        lease: str | None,
        *,
        defer: bool = False,
    ) -> StoreState:
        with self._guard("commit"):
            reply = await self._commit(
                keys=self._keys(key),
                args=[
                    new_token(),
                    *_optional(expected),
                    *_optional(value),
                    lease or "",
                    "1" if defer else "0",
                    self._channel(key),
                ],
            )
        epoch, current, written, held_ms = reply
        return StoreState(
            _text(current),
            _text(epoch) or "",
            held_for=self._held(held_ms),
            written=int(written) == 1,
        )

    async def release(self, key: str, lease: str) -> None:
        with self._guard("release"):
            await self._release(keys=[self._lease_key(key)], args=[lease, self._channel(key)])

    async def wait(self, key: str, expected: str | None, timeout: float) -> None:
        with self._guard("wait", seconds=timeout + 2 * self.timeout):
            pubsub = self._client.pubsub()
            try:
                # Subscribe first, then look: a change between the two is not missed.
                await pubsub.subscribe(self._channel(key))
                with anyio.move_on_after(timeout):
                    while True:
                        settled, held_ms = await self._peek(
                            keys=self._keys(key)[:2], args=["", *_optional(expected)]
                        )
                        if int(settled) == 1:
                            return
                        pause = min(_RECHECK, self._held(held_ms) or _RECHECK)
                        await pubsub.get_message(ignore_subscribe_messages=True, timeout=pause)
            finally:
                with anyio.CancelScope(shield=True), anyio.move_on_after(self.timeout):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    # -- helpers ---------------------------------------------------------------------

    def _keys(self, key: str) -> list[str]:
        return [self.prefix + key, self._lease_key(key), self.prefix + "epoch"]

    def _lease_key(self, key: str) -> str:
        return f"{self.prefix}lease:{key}"

    def _channel(self, key: str) -> str:
        return f"{self.prefix}changed:{key}"

    def _held(self, ms: object) -> float:
        """Seconds a lease still runs, from ``PTTL``: -2 (none) is 0; -1 (a lease key
        without expiry, which this store never makes) is looked at again soon."""
        value = ms if isinstance(ms, int) else int(_text(ms) or "0")
        if value == -1:
            return _RECHECK
        return max(value, 0) / 1000.0

    def _state(self, reply: Sequence[object]) -> StoreState:
        epoch, current, token, held_ms = reply
        return StoreState(_text(current), _text(epoch) or "", _text(token), self._held(held_ms))

    async def _write(self, key: str, value: str | None) -> None:
        with self._guard("SET" if value is not None else "DEL"):
            await self._put(keys=[self.prefix + key], args=[*_optional(value), self._channel(key)])

    @contextlib.contextmanager
    def _guard(self, what: str, *, seconds: float | None = None) -> Iterator[None]:
        """Bound one operation in time and turn Redis's errors into SessionStoreError."""
        _require_asyncio()
        limit = self.timeout if seconds is None else seconds
        try:
            with anyio.fail_after(limit):
                yield
        except TimeoutError:
            raise SessionStoreError(f"Redis did not answer ({what}) within {limit:g} s.") from None
        except self._redis_errors as exc:
            raise SessionStoreError(f"Redis failed ({what}: {type(exc).__name__}).") from exc

    def __repr__(self) -> str:
        # The client's connection details may include a password: the prefix only.
        return f"RedisStore(prefix={self.prefix!r})"
