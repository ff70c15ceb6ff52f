"""SSE chat streaming: typed chunks per second over 20,000 chunks on loopback.

One request streams a role chunk, content chunks, a finish chunk with usage and
``[DONE]``; the server writes the whole prepared body at once, so the figure is how fast
each client turns bytes into chunks. Ours (typed, accumulated) vs the floor (httpx-sse +
``json.loads``, dicts) vs openai's ``AsyncOpenAI`` stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from . import _sse_clients as sc
from ._harness import OURS, Result, Stopwatch, interleaved, summarize
from ._runner import Context

BENCH = "2 SSE chunks/s"


def _rate(read: Callable[[], Awaitable[int]], expected: int) -> Callable[[], Awaitable[float]]:
    async def runner() -> float:
        with Stopwatch() as sw:
            count = await read()
        if count != expected:
            raise AssertionError(f"read {count} chunks, expected {expected}")
        return count / sw.elapsed

    return runner


async def _measure(ctx: Context, url: str) -> list[Result]:
    chunks = ctx.n(5000, 20000)
    model = f"chunks-{chunks}"
    ours, floor, oai = sc.ours_client(url), sc.raw_client(), sc.openai_client(url)
    runners = {
        OURS: _rate(lambda: sc.read_ours(ours, model), chunks),
        sc.FLOOR: _rate(lambda: sc.read_floor(floor, url, model), chunks),
    }
    if oai is not None:
        runners[sc.OPENAI] = _rate(lambda: sc.read_openai(oai, model), chunks)
    try:
        medians, spreads = summarize(await interleaved(runners, repeats=ctx.n(2, 5)))
    finally:
        await ours.aclose()
        await floor.aclose()
        if oai is not None:
            await oai.close()
    met = medians[OURS] >= 0.6 * medians[sc.FLOOR] and (
        sc.OPENAI not in medians or medians[OURS] >= 10 * medians[sc.OPENAI]
    )
    return [
        Result(
            BENCH,
            f"one stream of {chunks:,} chat chunks, loopback",
            "chunks/s",
            "higher",
            medians,
            spreads,
            "≥10× openai; ≥0.6× the floor",
            met,
            "" if oai is not None else "openai not installed",
        )
    ]


def run(ctx: Context) -> list[Result]:
    with ctx.server() as server:
        return asyncio.run(_measure(ctx, server.url))
