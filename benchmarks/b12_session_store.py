"""Shared session stores: what a refresh through Redis adds, and calls/s of 8 processes.

Against the benchmark server (its ``/auth/v1/token`` answers in 20 ms and accepts each
refresh token once) and a real ``redis-server`` on loopback (started here, no
persistence). Three figures:

* **Added latency of a refresh**: ``auth.refresh_session()`` on ``MemoryStore``
  (in-process, the floor), ``RedisStore`` and ``FileStore``, the three clients taking
  turns on one session (handed over untimed), so each round's three refreshes see the
  same load; the median of the paired differences. Through a shared store a refresh
  also claims the lease and commits the rotated session (two store round trips).
* **A waiting process's extra latency**: two clients (two store objects: two processes
  as far as the protocol knows) find the same session stale at once; one refreshes, the
  other waits for the lease and adopts the result. Reported: when the second finished
  minus when the first did (pub/sub for Redis, 20 ms polling for the file).
* **Calls/s of 8 processes sharing one session**: 8 worker processes × 25 concurrent
  callers calling ``functions/echo`` with no pause, sharing one session through Redis
  (or the file), against 8 processes each with its own in-memory session. The token is
  fresh, so the store is never touched per call: the figure shows that sharing costs
  the calls nothing (and the machine's 2 cores are the limit either way).

The workers are ``tests/support/session_worker.py`` and Redis is started by
``tests/support/redis.py``: the same ones the multi-process tests use.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudbase_async import CloudBase, FileStore, MemoryStore, RedisStore, Session, SessionStore

from ._harness import OURS, Result, median, spread
from ._runner import Context, Skip
from ._servers import _jwt

BENCH = "12 session stores"
MEMORY = "MemoryStore (in-process)"
REDIS = "RedisStore"
FILE = "FileStore"


def _client(url: str, store: SessionStore) -> CloudBase:
    return CloudBase(
        env="bench",
        publishable_key="bench-key",
        endpoints={"auth": url + "/auth/v1", "functions": url + "/v1/functions"},
        session_store=store,
    )


async def _reset(url: str) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        await client.post(url + "/_reset")  # the live refresh token is refresh-0 again


async def _refresh_latencies(
    url: str, stores: dict[str, SessionStore], n: int
) -> dict[str, list[float]]:
    """ms of ``n`` refreshes per store, interleaved (so that every store sees the same
    machine load): the session is handed from client to client with ``set_session``
    (untimed), each client's ``refresh_session()`` is timed."""
    await _reset(url)
    clients = {name: _client(url, store) for name, store in stores.items()}
    samples: dict[str, list[float]] = {name: [] for name in stores}
    try:
        current = Session(
            access_token=_jwt(0, int(time.time()) + 3600),
            refresh_token="refresh-0",
            expires_at=time.time() + 3600,
        )
        names = list(clients)
        for i in range(n + 3):  # the first 3 rounds warm up
            for name in names[i % len(names) :] + names[: i % len(names)]:
                cb = clients[name]
                await cb.auth.set_session(current)
                started = time.perf_counter()
                current = await cb.auth.refresh_session()
                if i >= 3:
                    samples[name].append((time.perf_counter() - started) * 1000)
    finally:
        for cb in clients.values():
            await cb.aclose()
    return samples


async def _waiter_extra(url: str, make: Callable[[], SessionStore]) -> float:
    """ms between the first and the second of two processes done with one stale session."""
    await _reset(url)
    stores = [make(), make()]
    first, second = (_client(url, store) for store in stores)
    try:
        await first.auth.set_session(
            access_token=_jwt(0, int(time.time()) - 60), refresh_token="refresh-0", expires_in=-60
        )
        await second._manager.stored_session()  # loaded: both hold the same stale session
        done: list[float] = []

        async def one(cb: CloudBase) -> None:
            await cb.auth.get_session()
            done.append(time.perf_counter())

        await asyncio.gather(one(first), one(second))
        return (max(done) - min(done)) * 1000
    finally:
        await first.aclose()
        await second.aclose()
        for store in stores:
            if isinstance(store, RedisStore):
                await store.aclose()


async def _latencies(ctx: Context, url: str, redis_url: str, directory: Path) -> list[Result]:
    stores: dict[str, Callable[[], SessionStore]] = {
        MEMORY: MemoryStore,
        REDIS: lambda: RedisStore.from_url(redis_url),
        FILE: lambda: FileStore(directory / "refresh.json"),
    }
    n = ctx.n(30, 200)
    made = {name: make() for name, make in stores.items()}
    refresh = await _refresh_latencies(url, made, n)
    for store in made.values():
        if isinstance(store, RedisStore):
            await store.aclose()
    # Paired: each shared-store refresh minus the in-process one of the same round.
    added = {
        name: [v - m for v, m in zip(refresh[name], refresh[MEMORY], strict=True)]
        for name in (REDIS, FILE)
    }
    waiter: dict[str, list[float]] = {REDIS: [], FILE: []}
    for _ in range(ctx.n(3, 15)):
        for name in waiter:
            waiter[name].append(await _waiter_extra(url, stores[name]))
    absolute = ", ".join(f"{name} {median(v):.1f} ms" for name, v in refresh.items())
    return [
        Result(
            BENCH,
            "added latency of one refresh through the store (lease + compare-and-set), "
            "minus the same on MemoryStore; token endpoint answers in 20 ms",
            "ms",
            "lower",
            {OURS: median(added[REDIS]), f"{OURS}, {FILE}": median(added[FILE])},
            {OURS: spread(added[REDIS]), f"{OURS}, {FILE}": spread(added[FILE])},
            "reported",
            None,
            f"{OURS} row: {REDIS}. Median of {n} paired differences (the stores take "
            f"turns); median refresh_session(): {absolute}",
        ),
        Result(
            BENCH,
            "a second process on the same stale session: done after the first by "
            "(waits for the lease, adopts, sends no refresh)",
            "ms",
            "lower",
            {OURS: median(waiter[REDIS]), f"{OURS}, {FILE}": median(waiter[FILE])},
            {OURS: spread(waiter[REDIS]), f"{OURS}, {FILE}": spread(waiter[FILE])},
            "reported",
            None,
            f"{OURS} row: {REDIS} (pub/sub); {FILE} polls every 20 ms",
        ),
    ]


def _throughput(ctx: Context, url: str, redis_url: str, directory: Path) -> list[Result]:
    from tests.support.fleet import fleet

    duration = ctx.n(1.5, 4.0)
    session = f"{_jwt(0, int(time.time()) + 3600)},refresh-0"
    cases = {MEMORY: "memory", REDIS: redis_url, FILE: f"file:{directory / 'calls.json'}"}
    rates: dict[str, list[float]] = {name: [] for name in cases}
    notes = []
    for r in range(ctx.n(1, 3)):
        names = list(cases)
        for name in names[r % 3 :] + names[: r % 3]:
            spec = cases[name]
            if spec != "memory":
                asyncio.run(_seed(url, spec, session))
            with fleet(
                8, url, spec, callers=25, duration=duration, pause=0.0,
                session=session if spec == "memory" else "",
            ) as workers:  # fmt: skip
                workers.go()
                results = workers.results()
            calls = sum(int(res["calls"]) for res in results)
            failures = sum(sum(res["failures"].values()) for res in results)
            rates[name].append(calls / duration)
            if failures:
                notes.append(f"{name}: {failures} calls failed")
    return [
        Result(
            BENCH,
            f"calls/s of 8 processes × 25 callers sharing one session, {duration:g} s of "
            "functions/echo with no pause",
            "calls/s",
            "higher",
            {
                OURS: median(rates[REDIS]),
                f"{OURS}, {FILE}": median(rates[FILE]),
                f"{OURS}, 8 own in-memory sessions": median(rates[MEMORY]),
            },
            {
                OURS: spread(rates[REDIS]),
                f"{OURS}, {FILE}": spread(rates[FILE]),
                f"{OURS}, 8 own in-memory sessions": spread(rates[MEMORY]),
            },
            "≈ 8 own sessions (a fresh token never touches the store)",
            None,
            f"{OURS} row: {REDIS}; " + ("; ".join(notes) or "no call failed"),
        )
    ]


async def _seed(url: str, spec: str, session: str) -> None:
    """Put the shared session into the store the workers will read."""
    await _reset(url)
    store: Any = FileStore(spec.removeprefix("file:")) if spec.startswith("file:") else None
    store = store or RedisStore.from_url(spec)
    access, refresh = session.split(",")
    async with _client(url, store) as cb:
        await cb.auth.set_session(access_token=access, refresh_token=refresh, expires_in=3600)
    if isinstance(store, RedisStore):
        await store.aclose()


def run(ctx: Context) -> list[Result]:
    try:
        from tests.support.redis import RedisMissing, running_redis
    except ImportError as exc:  # pragma: no cover - run from the repository root
        raise Skip(f"needs the repository's tests/support ({exc})") from None
    try:
        redis_cm = running_redis()
        redis = redis_cm.__enter__()
    except RedisMissing as exc:
        raise Skip(f"{exc}; run `bash scripts/install-peers.sh`") from None
    try:
        with ctx.server() as server, tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            rows = asyncio.run(_latencies(ctx, server.url, redis.url, directory))
            return rows + _throughput(ctx, server.url, redis.url, directory)
    finally:
        redis_cm.__exit__(None, None, None)
