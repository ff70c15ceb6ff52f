"""Refresh storm: 1,000 concurrent callers find the session expired.

The server's ``/auth/v1/token`` takes 20 ms, issues a new refresh token each time and
refuses a used one (``invalid_grant``), as CloudBase does. Ours: the session is set with
an expiry in the past, then 1,000 concurrent ``cb.auth.get_session()`` calls, and 1,000
concurrent ``cb.functions.invoke()`` calls (each needs a fresh token). supabase-auth: an
expired session in memory, then 1,000 concurrent ``get_session()``. Counted on the
server: refresh requests sent and refused; counted on the client: calls that failed.
Added latency = the storm's wall time minus the same 1,000 calls on a fresh session
(each storm on a new client, so both open their connections).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from cloudbase_async import CloudBase

from . import _ours
from ._harness import OURS, Result, Stopwatch, median, spread
from ._runner import Context
from ._servers import _jwt

BENCH = "5 refresh storm"
PEER = "supabase-auth get_session()"
OURS_SESSION = f"{OURS} auth.get_session()"
OURS_CALLS = f"{OURS} functions.invoke()"


async def _stats(url: str, reset: bool = False) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        if reset:
            await client.post(url + "/_reset")
            return {}
        return (await client.get(url + "/_stats")).json()  # type: ignore[no-any-return]


async def _storm(n: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, list[str]]:
    """Wall time of ``n`` concurrent calls, and why each failed call failed."""
    with Stopwatch() as sw:
        outcomes = await asyncio.gather(*(call() for _ in range(n)), return_exceptions=True)
    return sw.elapsed, [_why(o) for o in outcomes if isinstance(o, BaseException)]


def _why(exc: BaseException) -> str:
    """The exception's name, with the httpx error underneath when it wraps one."""
    cause = exc.__cause__ or exc.__context__
    name = type(exc).__name__
    return f"{name}({type(cause).__name__})" if isinstance(cause, httpx.HTTPError) else name


def _token(expired: bool) -> str:
    return _jwt(0, int(time.time()) + (-60 if expired else 3600))


async def _ours_setup(url: str, expired: bool) -> CloudBase:
    cb = CloudBase(
        env="bench",
        publishable_key="bench-key",
        endpoints={"auth": url + "/auth/v1", "functions": url + "/v1/functions"},
    )
    await cb.auth.set_session(
        access_token=_token(expired),
        refresh_token="refresh-0",
        expires_in=-60 if expired else 3600,
    )
    return cb


async def _peer_setup(url: str, expired: bool) -> Any:
    from supabase_auth import AsyncGoTrueClient
    from supabase_auth.types import Session, User

    client = AsyncGoTrueClient(
        url=url + "/auth/v1",
        headers={"apikey": "bench-key"},
        auto_refresh_token=False,
        persist_session=False,  # its default HTTP client: httpx, 100 connections, 5 s
    )
    now = int(time.time())
    user = User(
        id="user-1",
        app_metadata={},
        user_metadata={},
        aud="authenticated",
        created_at=datetime.now(UTC),
    )
    client._in_memory_session = Session(
        access_token=_token(expired),
        refresh_token="refresh-0",
        expires_in=3600,
        expires_at=now - 60 if expired else now + 3600,
        token_type="bearer",
        user=user,
    )
    return client


async def _one(
    url: str,
    n: int,
    setup: Callable[[str, bool], Awaitable[Any]],
    call: Callable[[Any], Awaitable[Any]],
    close: Callable[[Any], Awaitable[Any]],
) -> dict[str, Any]:
    """A storm on an expired session, then on a fresh one (each on a new client)."""
    await _stats(url, reset=True)
    client = await setup(url, True)
    try:
        expired_s, failures = await _storm(n, lambda: call(client))
        stats = await _stats(url)
    finally:
        await close(client)
    client = await setup(url, False)
    try:
        fresh_s, _ = await _storm(n, lambda: call(client))
    finally:
        await close(client)
    return {
        "refreshes": stats.get("refresh", 0),
        "rejected": stats.get("refresh_rejected", 0),
        "failures": failures,
        "added_ms": (expired_s - fresh_s) * 1000,
        "expired_ms": expired_s * 1000,
        "fresh_ms": fresh_s * 1000,
    }


async def _aclose(cb: Any) -> None:
    await cb.aclose()


async def _peer_close(client: Any) -> None:
    await client.close()


async def _measure(ctx: Context, url: str) -> list[Result]:
    cases: dict[str, tuple[Callable[..., Awaitable[Any]], ...]] = {
        OURS_SESSION: (_ours_setup, lambda cb: cb.auth.get_session(), _aclose),
        OURS_CALLS: (_ours_setup, lambda cb: _ours.invoke(cb, "echo", {}), _aclose),
    }
    try:
        import supabase_auth  # noqa: F401

        cases[PEER] = (_peer_setup, lambda c: c.get_session(), _peer_close)
    except ImportError:
        pass
    rows = []
    for n in (ctx.n(50, 100), ctx.n(200, 1000)):
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
        for _ in range(ctx.n(1, 3)):
            for name, (setup, call, close) in cases.items():
                runs[name].append(await _one(url, n, setup, call, close))
        rows += _rows(n, runs)
    return rows


def _rows(n: int, runs: dict[str, list[dict[str, Any]]]) -> list[Result]:
    def col(key: str) -> dict[str, list[float]]:
        return {name: [r[key] for r in v] for name, v in runs.items()}

    refreshes, added = col("refreshes"), col("added_ms")
    expired_ms, fresh_ms = col("expired_ms"), col("fresh_ms")
    calls_note = (
        f"{OURS_CALLS}: the storm took {median(expired_ms[OURS_CALLS]):.0f} ms on the "
        f"expired session and {median(fresh_ms[OURS_CALLS]):.0f} ms on a fresh one; both "
        "are dominated by the HTTP calls themselves (see #4), so no difference is shown"
    )
    del added[OURS_CALLS]
    for name in added:
        failures = sum(len(r["failures"]) for r in runs[name])
        if failures:
            calls_note += (
                f"; {name}: {failures} of {n * len(runs[name])} calls failed in the expired "
                "storms, so its figure is the time until they had all answered or failed"
            )

    def failed(name: str) -> str:
        reasons = Counter(why for r in runs[name] for why in r["failures"])
        total = sum(reasons.values())
        rejected = int(sum(r["rejected"] for r in runs[name]))
        if not total:
            return f"{name}: no call failed"
        detail = ", ".join(f"{k} ×{v}" for k, v in reasons.most_common())
        return f"{name}: {total} of {n * len(runs[name])} calls failed ({detail}); " + (
            f"{rejected} refreshes refused (refresh token already used)"
        )

    ours_names = [OURS_SESSION, OURS_CALLS]
    ok = all(max(refreshes[k]) == 1 and not any(r["failures"] for r in runs[k]) for k in ours_names)

    def first_ours(d: dict[str, Any]) -> dict[str, Any]:
        # The table's ratio column compares the first entry, our get_session(), to peers.
        return {OURS: d[OURS_SESSION], **{k: v for k, v in d.items() if k != OURS_SESSION}}

    return [
        Result(
            BENCH,
            f"refresh requests sent by {n:,} concurrent callers on an expired session "
            f"({OURS} row: auth.get_session())",
            "requests",
            "lower",
            first_ours({k: median(v) for k, v in refreshes.items()}),
            first_ours({k: spread(v) for k, v in refreshes.items()}),
            "exactly 1 refresh (peer: N)",
            ok,
            "; ".join(failed(name) for name in runs),
        ),
        Result(
            BENCH,
            f"added latency: {n:,} get_session() on an expired session (20 ms refresh) "
            "minus the same on a fresh one",
            "ms",
            "lower",
            first_ours({k: median(v) for k, v in added.items()}),
            first_ours({k: spread(v) for k, v in added.items()}),
            "reported",
            None,
            calls_note,
        ),
    ]


def run(ctx: Context) -> list[Result]:
    with ctx.server() as server:
        return asyncio.run(_measure(ctx, server.url))
