"""Abandoned streams: how long until the connection can serve the next request.

Each client gets a pool of ONE connection. A stream of 2,000 chunks is opened and left
after its first chunk, by ``break`` or by cancelling the task reading it; then the next
(non-streamed) request is timed from that moment, bounded at 2 s. A client that frees
the connection at once answers in about one round trip; one that waits for the garbage
collector times out. No ``gc.collect()`` is called in between.

openai is measured the way its README streams (``async for chunk in stream`` without
``async with``) and, for comparison, inside ``async with stream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from . import _sse_clients as sc
from ._harness import OURS, Result, Stopwatch, median
from ._runner import Context

BENCH = "7 abandoned streams"
MODEL = "chunks-2000"
LIMIT_S = 2.0
BODY = {"model": MODEL, "messages": sc.MESSAGES, "stream": True}
OPENAI_BARE = "openai, `async for` without `async with`"
OPENAI_WITH = "openai inside `async with stream`"


class _Client:
    """One client's ways to read one chunk and leave, and to send a plain request."""

    def __init__(
        self,
        first_chunk_then_leave: Callable[[asyncio.Event | None], Coroutine[Any, Any, None]],
        plain: Callable[[], Awaitable[Any]],
        close: Callable[[], Awaitable[Any]],
    ) -> None:
        self.leave = first_chunk_then_leave
        self.plain = plain
        self.close = close


def _clients(url: str) -> dict[str, _Client]:
    ours = sc.ours_client(
        url,
        limits=httpx.Limits(max_connections=1),
        endpoints={"ai": url, "functions": url + "/v1/functions"},
    )
    timeout = httpx.Timeout(10.0, pool=LIMIT_S)
    floor = sc.raw_client(limits=httpx.Limits(max_connections=1), timeout=timeout)

    async def ours_leave(started: asyncio.Event | None) -> None:
        async with ours.ai.chat.completions.stream(
            provider="v1", model=MODEL, messages=sc.MESSAGES
        ) as stream:
            async for _chunk in stream:
                if started is None:
                    break
                started.set()
                await asyncio.sleep(3600)  # reading slowly: cancelled here

    async def floor_leave(started: asyncio.Event | None) -> None:
        async with aconnect_sse(floor, "POST", url + "/v1/chat/completions", json=BODY) as src:
            async for event in src.aiter_sse():
                json.loads(event.data)
                if started is None:
                    break
                started.set()
                await asyncio.sleep(3600)

    async def ours_plain() -> Any:
        from . import _ours

        return await _ours.invoke(ours, "echo", {})

    async def floor_plain() -> Any:
        return (await floor.post(url + "/v1/functions/echo", json={})).json()

    clients = {
        OURS: _Client(ours_leave, ours_plain, ours.aclose),
        sc.FLOOR + ", inside `async with`": _Client(floor_leave, floor_plain, floor.aclose),
    }
    with contextlib.suppress(ImportError):
        import httpx2

        for name, managed in ((OPENAI_BARE, False), (OPENAI_WITH, True)):
            oai = sc.openai_client(
                url,
                limits=httpx2.Limits(max_connections=1),
                timeout=httpx2.Timeout(10.0, pool=LIMIT_S),
            )
            clients[name] = _Client(_openai_leave(oai, managed), _openai_plain(oai), oai.close)
    return clients


def _openai_leave(
    oai: Any, managed: bool
) -> Callable[[asyncio.Event | None], Coroutine[Any, Any, None]]:
    async def leave(started: asyncio.Event | None) -> None:
        stream = await oai.chat.completions.create(model=MODEL, messages=sc.MESSAGES, stream=True)
        async with contextlib.AsyncExitStack() as stack:
            if managed:
                await stack.enter_async_context(stream)
            async for _chunk in stream:
                if started is None:
                    break
                started.set()
                await asyncio.sleep(3600)

    return leave


def _openai_plain(oai: Any) -> Callable[[], Awaitable[Any]]:
    async def plain() -> Any:
        raw = await oai.chat.completions.with_raw_response.create(
            model="plain", messages=sc.MESSAGES
        )
        return raw.http_response.json()

    return plain


async def _until_reusable(client: _Client, how: str) -> float:
    """Seconds from leaving the stream until the next request has its answer."""
    if how == "break":
        await client.leave(None)
    else:
        started = asyncio.Event()
        task = asyncio.create_task(client.leave(started))
        await started.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with Stopwatch() as sw:
        try:
            async with asyncio.timeout(LIMIT_S):
                await client.plain()
        except (TimeoutError, httpx.PoolTimeout) as exc:
            return _timeout_or_raise(exc)
        except Exception as exc:  # openai wraps its pool timeout
            return _timeout_or_raise(exc)
    return sw.elapsed


def _timeout_or_raise(exc: BaseException) -> float:
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return float("inf")
    raise exc


async def _measure(ctx: Context, url: str) -> list[Result]:
    clients = _clients(url)
    repeats = ctx.n(2, 5)
    rows = []
    try:
        baseline: dict[str, float] = {}
        for name, client in clients.items():
            await client.plain()
            times = []
            for _ in range(5):
                with Stopwatch() as sw:
                    await client.plain()
                times.append(sw.elapsed)
            baseline[name] = median(times)
        for how in ("break", "cancel"):
            samples: dict[str, list[float]] = {name: [] for name in clients}
            for _ in range(repeats):
                for name, client in clients.items():
                    samples[name].append(await _until_reusable(client, how))
                    # A client that timed out gets its connection back before the next try.
                    gc.collect()
                    await asyncio.sleep(0.05)
            medians = {k: median(v) * 1000 for k, v in samples.items()}
            timeouts = {k: sum(x == float("inf") for x in v) for k, v in samples.items()}
            note = "; ".join(
                f"{k}: {'timed out ' + str(t) + '/' + str(repeats) if t else 'ok'}"
                f" (plain request alone {baseline[k] * 1000:.1f} ms)"
                for k, t in timeouts.items()
            )
            rows.append(
                Result(
                    BENCH,
                    f"next request after a stream is left by {how}, pool of 1 connection "
                    f"(∞ = not reusable within {LIMIT_S:.0f} s)",
                    "ms",
                    "lower",
                    medians,
                    {},
                    "immediate (no GC needed)",
                    timeouts[OURS] == 0 and medians[OURS] < 50,
                    note,
                )
            )
    finally:
        for client in clients.values():
            with contextlib.suppress(Exception):
                await client.close()
    return rows


def run(ctx: Context) -> list[Result]:
    with ctx.server() as server:
        return asyncio.run(_measure(ctx, server.url))
