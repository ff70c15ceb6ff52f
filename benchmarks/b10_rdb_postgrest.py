"""rdb against a real PostgREST 12 + PostgreSQL: select and insert round trips per second.

Sequential requests on one client each (keep-alive), ours vs postgrest-py, alternating;
PostgreSQL and PostgREST run as separate processes on loopback. Both send the same
query: ``select=*`` with ``level=eq.3``, ``price=gte.10``, ``limit=10``; inserts return
the new row (``Prefer: return=representation``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cloudbase_async import CloudBase

from ._harness import OURS, Result, Stopwatch, interleaved, summarize
from ._postgrest import Missing, Postgrest, running_postgrest
from ._runner import Context, Skip

BENCH = "10 rdb vs PostgREST"
PEER = "postgrest-py"


def _rate(n: int, call: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[float]]:
    async def runner() -> float:
        with Stopwatch() as sw:
            for _ in range(n):
                await call()
        return n / sw.elapsed

    return runner


async def _measure(ctx: Context, pg: Postgrest) -> list[Result]:
    from postgrest import AsyncPostgrestClient

    ours = CloudBase(env="bench", access_token=pg.token, endpoints={"rdb": pg.url})
    peer = AsyncPostgrestClient(
        pg.url,
        headers={"Authorization": f"Bearer {pg.token}"},
        http_client=httpx.AsyncClient(
            base_url=pg.url, headers={"Authorization": f"Bearer {pg.token}"}
        ),
    )

    async def ours_select() -> Any:
        result = await (
            ours.rdb.table("course").select("*").eq("level", 3).gte("price", 10).limit(10).execute()
        )
        return result.data

    async def peer_select() -> Any:
        result = await (
            peer.from_("course").select("*").eq("level", 3).gte("price", 10).limit(10).execute()
        )
        return result.data

    async def ours_insert() -> Any:
        result = await (
            ours.rdb.table("events")
            .insert({"kind": "ours", "n": 1}, returning="representation")
            .execute()
        )
        return result.data

    async def peer_insert() -> Any:
        result = await peer.from_("events").insert({"kind": "peer", "n": 1}).execute()
        return result.data

    try:
        a, b = await ours_select(), await peer_select()
        assert a == b, (a, b)
        assert len(a) == 10
        assert (await ours_insert())[0]["kind"] == "ours"
        assert (await peer_insert())[0]["kind"] == "peer"
        n, repeats = ctx.n(100, 500), ctx.n(3, 7)
        select = summarize(
            await interleaved(
                {OURS: _rate(n, ours_select), PEER: _rate(n, peer_select)}, repeats=repeats
            )
        )
        insert = summarize(
            await interleaved(
                {OURS: _rate(n, ours_insert), PEER: _rate(n, peer_insert)}, repeats=repeats
            )
        )
    finally:
        await ours.aclose()
        await peer.aclose()

    rows = []
    for what, (medians, spreads) in (
        ("select, 2 filters + limit 10", select),
        ("insert one row, return=representation", insert),
    ):
        rows.append(
            Result(
                BENCH,
                f"{what}, sequential on one connection",
                "req/s",
                "higher",
                medians,
                spreads,
                "≥ postgrest-py",
                medians[OURS] >= medians[PEER],
                "round trips include PostgREST and PostgreSQL, each a process on this machine",
            )
        )
    return rows


def run(ctx: Context) -> list[Result]:
    try:
        import postgrest  # noqa: F401
    except ImportError as exc:
        raise Skip("postgrest-py is not installed (pip install -e '.[bench]')") from exc
    try:
        with running_postgrest() as pg:
            return asyncio.run(_measure(ctx, pg))
    except Missing as exc:
        raise Skip(str(exc)) from exc
