"""Memory per open stream: 200 chat streams held open at once, measured with tracemalloc.

Each client opens 200 streams to a server that sends one chunk and then holds the
connection; each stream's first chunk is read, so every stream is open and decoding.
The figure is the Python heap growth (tracemalloc, after a GC) divided by 200, measured
from just before the first stream opens (client and pool already built and warmed).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from . import _sse_clients as sc
from ._harness import OURS, Result, median, spread
from ._runner import Context

BENCH = "6 memory per open stream"
BODY = {"model": "hold", "messages": sc.MESSAGES, "stream": True}


async def _ours(stack: contextlib.AsyncExitStack, cb: Any) -> Any:
    stream = await stack.enter_async_context(
        cb.ai.chat.completions.stream(provider="v1", model="hold", messages=sc.MESSAGES)
    )
    await stream.__anext__()
    return stream


async def _floor(stack: contextlib.AsyncExitStack, client: httpx.AsyncClient, url: str) -> Any:
    source = await stack.enter_async_context(
        aconnect_sse(client, "POST", url + "/v1/chat/completions", json=BODY)
    )
    events = source.aiter_sse()
    json.loads((await events.__anext__()).data)
    stack.push_async_callback(events.aclose)
    return events


async def _openai(stack: contextlib.AsyncExitStack, client: Any) -> Any:
    stream = await client.chat.completions.create(model="hold", messages=sc.MESSAGES, stream=True)
    stack.push_async_callback(stream.close)
    await stream.__anext__()
    return stream


async def _per_stream(
    n: int, open_one: Callable[[contextlib.AsyncExitStack], Awaitable[Any]]
) -> float:
    """Heap growth per stream (bytes) with ``n`` streams open."""
    async with contextlib.AsyncExitStack() as warm:
        await open_one(warm)  # first use: lazy imports, caches, one connection
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        async with contextlib.AsyncExitStack() as stack:
            held = [await open_one(stack) for _ in range(n)]
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            del held
    finally:
        tracemalloc.stop()
    return (after - before) / n


async def _measure(ctx: Context, url: str) -> Result:
    n = ctx.n(50, 200)
    limits = {"max_connections": n + 10, "max_keepalive_connections": n + 10}
    ours = sc.ours_client(url, limits=httpx.Limits(**limits))
    floor = sc.raw_client(limits=httpx.Limits(**limits))
    oai = None
    with contextlib.suppress(ImportError):
        import httpx2

        oai = sc.openai_client(url, limits=httpx2.Limits(**limits))
    openers: dict[str, Callable[[contextlib.AsyncExitStack], Awaitable[Any]]] = {
        OURS: lambda stack: _ours(stack, ours),
        sc.FLOOR: lambda stack: _floor(stack, floor, url),
    }
    if oai is not None:
        openers[sc.OPENAI] = lambda stack: _openai(stack, oai)
    samples: dict[str, list[float]] = {name: [] for name in openers}
    try:
        for _ in range(ctx.n(1, 3)):
            for name, open_one in openers.items():
                samples[name].append(await _per_stream(n, open_one) / 1024)
    finally:
        await ours.aclose()
        await floor.aclose()
        if oai is not None:
            await oai.close()
    medians = {k: median(v) for k, v in samples.items()}
    return Result(
        BENCH,
        f"{n} streams open at once, first chunk read, loopback",
        "KiB/stream",
        "lower",
        medians,
        {k: spread(v) for k, v in samples.items()},
        "≤40 KiB each",
        medians[OURS] <= 40,
        "Python heap only (tracemalloc); sockets' kernel buffers are not counted",
    )


def run(ctx: Context) -> list[Result]:
    with ctx.server() as server:
        return [asyncio.run(_measure(ctx, server.url))]
