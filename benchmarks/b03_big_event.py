"""Large SSE events: one 4 MiB event; event sizes 100 B to 1 MiB; tiny and large reads.

A decoder that appends to a growing buffer, or rescans it per read, is quadratic in the
event size; these cases show it. (1) one 4 MiB event over loopback; (2) 2 MiB of events
of 100 B, 1 KiB, 16 KiB and 1 MiB each (a linear decoder keeps MB/s about level);
(3) one event delivered in reads of 64 B, 1 KiB and 16 KiB by an in-memory transport
(exact read sizes, no network). Ours vs httpx-sse + ``json.loads`` vs openai.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from . import _sse_clients as sc
from ._harness import OURS, Result, Stopwatch, interleaved, summarize
from ._runner import Context
from ._servers import chat_events

BENCH = "3 large SSE events"
TARGET = "linear; within 1.5× httpx-sse"


def _timed(read: Callable[[], Awaitable[int]], expected: int) -> Callable[[], Awaitable[float]]:
    async def runner() -> float:
        with Stopwatch() as sw:
            count = await read()
        if count != expected:
            raise AssertionError(f"read {count} chunks, expected {expected}")
        return sw.elapsed

    return runner


def _readers(
    ours: Any, floor: httpx.AsyncClient, oai: Any, url: str, model: str, expected: int
) -> dict[str, Callable[[], Awaitable[float]]]:
    readers = {
        OURS: _timed(lambda: sc.read_ours(ours, model), expected),
        sc.FLOOR: _timed(lambda: sc.read_floor(floor, url, model), expected),
    }
    if oai is not None:
        readers[sc.OPENAI] = _timed(lambda: sc.read_openai(oai, model), expected)
    return readers


def _judge(medians: dict[str, float]) -> bool:
    return medians[OURS] <= 1.5 * medians[sc.FLOOR]


async def _loopback(ctx: Context, url: str) -> list[Result]:
    ours, floor = sc.ours_client(url), sc.raw_client()
    oai = sc.openai_client(url)
    repeats = ctx.n(2, 5)
    rows = []
    try:
        size = 4 << 20
        medians, spreads = summarize(
            await interleaved(_readers(ours, floor, oai, url, f"event-{size}", 3), repeats=repeats)
        )
        rows.append(
            Result(
                BENCH,
                "one 4 MiB event, loopback",
                "ms",
                "lower",
                {k: v * 1000 for k, v in medians.items()},
                {k: (lo * 1000, hi * 1000) for k, (lo, hi) in spreads.items()},
                TARGET,
                _judge(medians),
            )
        )
        total = ctx.n(512 << 10, 2 << 20)
        for size in (100, 1 << 10, 16 << 10, 1 << 20):
            count = max(total // size, 1)
            model = f"sized-{size}-{count}"
            medians, spreads = summarize(
                await interleaved(
                    _readers(ours, floor, oai, url, model, count + 2), repeats=repeats
                )
            )
            mb = count * size / 1e6
            label = f"{size:,} B" if size < 1024 else f"{size >> 10:,} KiB"
            rows.append(
                Result(
                    BENCH,
                    f"{count:,} event{'s' if count > 1 else ''} of {label} "
                    f"({mb:.1f} MB of text), loopback",
                    "MB/s",
                    "higher",
                    {k: mb / v for k, v in medians.items()},
                    {k: (mb / hi, mb / lo) for k, (lo, hi) in spreads.items()},
                    TARGET,
                    _judge(medians),
                )
            )
    finally:
        await ours.aclose()
        await floor.aclose()
        if oai is not None:
            await oai.close()
    return rows


def _pieces_body(size: int) -> bytes:
    return b"".join(chat_events(f"event-{size}"))


class _Pieces(httpx.AsyncByteStream):
    """An async byte stream handing out ``body`` in reads of exactly ``step`` bytes."""

    def __init__(self, body: bytes, step: int) -> None:
        self.body, self.step = body, step

    async def __aiter__(self) -> AsyncIterator[bytes]:
        body, step = self.body, self.step
        for i in range(0, len(body), step):
            yield body[i : i + step]


async def _reads(ctx: Context) -> list[Result]:
    size = ctx.n(1 << 20, 4 << 20)
    body = _pieces_body(size)
    headers = {"content-type": "text/event-stream"}
    rows = []
    for step in (64, 1 << 10, 16 << 10):

        def handler(request: httpx.Request, step: int = step) -> httpx.Response:
            stream = _Pieces(body, step)
            return httpx.Response(200, headers=headers, stream=stream)

        transport = httpx.MockTransport(handler)
        url = "http://bench.local"
        ours = sc.ours_client(url, transport=transport)
        floor = sc.raw_client(transport=transport)
        oai = None
        try:
            import httpx2

            class _Pieces2(_Pieces, httpx2.AsyncByteStream):
                pass

            def handler2(request: Any, step: int = step) -> Any:
                return httpx2.Response(200, headers=headers, stream=_Pieces2(body, step))

            oai = sc.openai_client(url, transport=httpx2.MockTransport(handler2))
        except ImportError:
            pass
        try:
            medians, spreads = summarize(
                await interleaved(
                    _readers(ours, floor, oai, url, "x", 3), repeats=ctx.n(2, 5), warmup=0
                )
            )
        finally:
            await ours.aclose()
            await floor.aclose()
            if oai is not None:
                await oai.close()
        label = f"{step} B" if step < 1024 else f"{step >> 10} KiB"
        rows.append(
            Result(
                BENCH,
                f"one {size >> 20} MiB event in reads of {label}, in-memory transport",
                "ms",
                "lower",
                {k: v * 1000 for k, v in medians.items()},
                {k: (lo * 1000, hi * 1000) for k, (lo, hi) in spreads.items()},
                TARGET,
                _judge(medians),
            )
        )
    return rows


def run(ctx: Context) -> list[Result]:
    with ctx.server() as server:
        rows = asyncio.run(_loopback(ctx, server.url))
    rows += asyncio.run(_reads(ctx))
    return rows
