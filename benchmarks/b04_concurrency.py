"""Concurrency through one client: 10 / 100 / 1,000 requests at once, default settings.

Each round fires N function calls together (``asyncio.gather``) at the server process,
which answers each after a short sleep, and counts the errors. Clients: ours with its
defaults (100 connections, admission in front of the pool); raw httpx with its defaults
(100 connections, 5 s pool timeout); raw httpx with our limits and no pool timeout (the
like-for-like floor); raw httpx with a 1,000-connection pool. A last case (full run
only) makes the server slow enough that waiting for a connection takes longer than
httpx's default pool timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cloudbase_async import CloudBase

from . import _ours
from ._harness import OURS, Result, Stopwatch, median, rotate, spread
from ._runner import Context

BENCH = "4 concurrency"
PAYLOAD = {"n": 1}
SAME_LIMITS = "raw httpx, our limits, no pool timeout"
DEFAULTS = "raw httpx defaults"
LARGE = "raw httpx, 1,000-connection pool"


def _clients(url: str) -> tuple[dict[str, Callable[[str], Awaitable[Any]]], list[Any]]:
    ours = CloudBase(
        env="bench", api_key="bench-key", endpoints={"functions": url + "/v1/functions"}
    )
    auth = {"Authorization": "Bearer bench-key"}
    default = httpx.AsyncClient(headers=auth)
    same = httpx.AsyncClient(
        headers=auth,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        timeout=httpx.Timeout(60.0, connect=10.0, pool=None),
    )
    large = httpx.AsyncClient(
        headers=auth,
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
        timeout=httpx.Timeout(60.0, connect=10.0, pool=None),
    )

    def raw(client: httpx.AsyncClient) -> Callable[[str], Awaitable[Any]]:
        async def call(name: str) -> Any:
            response = await client.post(f"{url}/v1/functions/{name}", json=PAYLOAD)
            response.raise_for_status()
            return response.json()

        return call

    calls: dict[str, Callable[[str], Awaitable[Any]]] = {
        OURS: lambda name: _ours.invoke(ours, name, PAYLOAD),
        DEFAULTS: raw(default),
        SAME_LIMITS: raw(same),
        LARGE: raw(large),
    }
    return calls, [ours, default, same, large]


async def _round(call: Callable[[str], Awaitable[Any]], name: str, n: int) -> tuple[float, int]:
    """Seconds for ``n`` concurrent calls, and how many of them failed."""
    with Stopwatch() as sw:
        outcomes = await asyncio.gather(*(call(name) for _ in range(n)), return_exceptions=True)
    return sw.elapsed, sum(isinstance(o, BaseException) for o in outcomes)


async def _measure(ctx: Context, url: str) -> list[Result]:
    calls, clients = _clients(url)
    names = list(calls)
    sleep_ms = 10
    rows = []
    try:
        for n in (10, 100, 1000):
            # At 1,000 a raw httpx round takes tens of seconds here (see RESULTS.md).
            repeats = ctx.n(1, 5) if n < 1000 else ctx.n(1, 3)
            level = names
            if n == 1000 and ctx.quick:  # the like-for-like raw clients take ~40 s a round
                level = [OURS, DEFAULTS]
            if n < 1000:  # warm: open the connections this level needs
                for name in level:
                    await _round(calls[name], f"sleep-{sleep_ms}", n)
            times: dict[str, list[float]] = {name: [] for name in level}
            errors = dict.fromkeys(level, 0)
            for r in range(repeats):
                for name in rotate(level, r):
                    elapsed, failed = await _round(calls[name], f"sleep-{sleep_ms}", n)
                    times[name].append(n / elapsed)
                    errors[name] += failed
            medians = {name: median(v) for name, v in times.items()}
            met = errors[OURS] == 0 and medians[OURS] >= medians.get(SAME_LIMITS, 0)
            total = n * repeats
            rows.append(
                Result(
                    BENCH,
                    f"{n:,} concurrent calls, server answers after {sleep_ms} ms",
                    "req/s",
                    "higher",
                    medians,
                    {name: spread(v) for name, v in times.items()},
                    "0 errors at 1,000; ≥ raw httpx with the same limits",
                    met,
                    "errors: " + ", ".join(f"{name} {errors[name]}/{total}" for name in level),
                )
            )
        if not ctx.quick:
            rows.append(await _slow_server(calls))
    finally:
        for client in clients:
            await client.aclose()
    rows.append(await _gate_sweep(ctx, url))
    rows.append(await _keepalive_sweep(ctx, url))
    return rows


async def _our_rates(
    url: str, n: int, sleep_ms: int, *, warm: int, repeats: int, **settings: Any
) -> list[float]:
    """Calls/s of ours with client ``settings``, over ``repeats`` rounds of ``n`` at once."""
    cb = CloudBase(
        env="bench",
        api_key="bench-key",
        endpoints={"functions": url + "/v1/functions"},
        **settings,
    )
    call = lambda name: _ours.invoke(cb, name, PAYLOAD)  # noqa: E731
    try:
        await _round(call, f"sleep-{sleep_ms}", warm)  # warm the connections
        return [n / (await _round(call, f"sleep-{sleep_ms}", n))[0] for _ in range(repeats)]
    finally:
        await cb.aclose()


async def _keepalive_sweep(ctx: Context, url: str) -> Result:
    """Ours at 100 concurrent calls with other ``max_keepalive_connections`` (information)."""
    n, sleep_ms = 100, 10
    medians: dict[str, float] = {}
    spreads: dict[str, tuple[float, float]] = {}
    for keepalive in (50, 20, 100):
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=keepalive)
        rates = await _our_rates(url, n, sleep_ms, warm=n, repeats=ctx.n(2, 5), limits=limits)
        name = OURS if keepalive == 50 else f"{OURS}, max_keepalive_connections={keepalive}"
        medians[name], spreads[name] = median(rates), spread(rates)
    return Result(
        BENCH,
        f"{n} concurrent calls ({sleep_ms} ms server), ours with other keep-alive pool sizes "
        "(default 50 of 100 connections)",
        "req/s",
        "higher",
        medians,
        spreads,
        "(info)",
        None,
        "httpcore's pool bookkeeping grows with its connections: on every request start and "
        "end it counts all connections once per idle connection to decide what to close",
    )


async def _gate_sweep(ctx: Context, url: str) -> Result:
    """Ours at 1,000 concurrent calls with smaller admission gates (information)."""
    n, sleep_ms = 1000, 10
    medians: dict[str, float] = {}
    spreads: dict[str, tuple[float, float]] = {}
    for gate in (100, 64, 32, 16, 8):
        rates = await _our_rates(
            url, n, sleep_ms, warm=gate, repeats=ctx.n(1, 3), max_concurrency=gate
        )
        name = OURS if gate == 100 else f"{OURS}, max_concurrency={gate}"
        medians[name], spreads[name] = median(rates), spread(rates)
    return Result(
        BENCH,
        f"{n:,} concurrent calls ({sleep_ms} ms server), ours with smaller admission gates "
        "(default 100 = max_connections)",
        "req/s",
        "higher",
        medians,
        spreads,
        "(info)",
        None,
        "httpcore's pool does O(connections) work, including a readability poll of each "
        "idle connection, every time a request starts or ends; fewer requests inside the "
        "pool means less of it",
    )


async def _slow_server(calls: dict[str, Callable[[str], Awaitable[Any]]]) -> Result:
    """1,000 at once against a server taking 600 ms: 10 waves of 100 connections = 6 s."""
    n, sleep_ms = 1000, 600
    medians: dict[str, float] = {}
    errors: dict[str, int] = {}
    for name in (OURS, DEFAULTS):
        elapsed, errors[name] = await _round(calls[name], f"sleep-{sleep_ms}", n)
        medians[name] = n / elapsed
    return Result(
        BENCH,
        f"{n:,} concurrent calls, slow server ({sleep_ms} ms): waits exceed httpx's 5 s pool "
        "timeout",
        "req/s",
        "higher",
        medians,
        {},
        "0 errors at 1,000",
        errors[OURS] == 0,
        "one round each; errors: " + ", ".join(f"{k} {v}/{n}" for k, v in errors.items()),
    )


def run(ctx: Context) -> list[Result]:
    with ctx.server() as server:
        return asyncio.run(_measure(ctx, server.url))
