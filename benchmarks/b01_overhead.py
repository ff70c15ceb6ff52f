"""Per-request overhead: a function call (POST JSON) and an rdb select with 3 filters.

Sequential requests, in memory (a mock transport answers at once, so only client code is
timed) and over loopback to the benchmark server. Floor: raw httpx doing the same
request by hand. Peers: openai's ``with_raw_response`` for the POST, postgrest-py for the
select.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cloudbase_async import CloudBase

from . import _ours
from ._harness import OURS, Result, Stopwatch, interleaved, summarize
from ._runner import Context
from ._servers import CHAT_COMPLETION, FUNCTION_RESULT, ROWS

BENCH = "1 overhead"
PAYLOAD = {"user": "u-1", "action": "score", "values": [1, 2, 3], "note": "benchmark"}
MESSAGES = [{"role": "user", "content": "hello"}]
SELECT: list[tuple[str, str | int | float | bool | None]] = [
    ("select", "*"),
    ("level", "eq.3"),
    ("price", "gte.10"),
    ("title", "like.course*"),
]
JSON_HEADERS = {"content-type": "application/json"}
TARGET = "≤1.3× raw httpx; faster than the peer"


# The mocks hand back an unread body stream, as a real transport does (a response built
# with ``content=`` would arrive already read and closed, skipping the clients' reads).
def _mock_httpx() -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        body = ROWS if request.method == "GET" else FUNCTION_RESULT
        return httpx.Response(200, stream=httpx.ByteStream(body), headers=JSON_HEADERS)

    return httpx.MockTransport(handler)


def _mock_httpx2() -> Any:
    import httpx2

    def handler(request: Any) -> Any:
        return httpx2.Response(200, stream=httpx2.ByteStream(CHAT_COMPLETION), headers=JSON_HEADERS)

    return httpx2.MockTransport(handler)


def _batch(n: int, call: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[float]]:
    """A runner: ``n`` sequential calls; returns µs per call."""

    async def runner() -> float:
        with Stopwatch() as sw:
            for _ in range(n):
                await call()
        return sw.elapsed / n * 1e6

    return runner


async def _measure(ctx: Context, base: str | None) -> list[Result]:
    where = "in-memory (mock transport)" if base is None else "loopback (server process)"
    root = base or "http://bench.local"
    n = ctx.n(100, 1000 if base is None else 500)
    repeats = ctx.n(3, 9)

    ours = CloudBase(
        env="bench",
        api_key="bench-key",
        endpoints={"functions": root + "/v1/functions", "rdb": root + "/rest"},
        transport=None if base else _mock_httpx(),
    )
    raw = httpx.AsyncClient(
        transport=None if base else _mock_httpx(),
        headers={"Authorization": "Bearer bench-key"},
    )

    async def raw_post() -> Any:
        response = await raw.post(root + "/v1/functions/echo", json=PAYLOAD)
        response.raise_for_status()
        return response.json()

    async def raw_get() -> Any:
        response = await raw.get(root + "/rest/course", params=SELECT)
        response.raise_for_status()
        return response.json()

    post_runners: dict[str, Callable[[], Awaitable[float]]] = {
        OURS: _batch(n, lambda: _ours.invoke(ours, "echo", PAYLOAD)),
        "raw httpx": _batch(n, raw_post),
    }
    get_runners: dict[str, Callable[[], Awaitable[float]]] = {
        OURS: _batch(n, lambda: _ours.select3(ours, "course")),
        "raw httpx": _batch(n, raw_get),
    }
    closers: list[Callable[[], Awaitable[Any]]] = [ours.aclose, raw.aclose]
    notes_post, notes_get = [f"ours via {_ours.INVOKE_PATH}"], [f"ours via {_ours.SELECT_PATH}"]

    try:
        import httpx2
        from openai import AsyncOpenAI

        oai = AsyncOpenAI(
            api_key="bench-key",
            base_url=root + "/v1",
            http_client=httpx2.AsyncClient(transport=None if base else _mock_httpx2()),
        )

        async def openai_post() -> Any:
            raw_response = await oai.chat.completions.with_raw_response.create(
                model="bench",
                messages=MESSAGES,  # type: ignore[arg-type]
            )
            return raw_response.http_response.json()

        post_runners["openai with_raw_response"] = _batch(n, openai_post)
        closers.append(oai.close)
    except ImportError as exc:
        notes_post.append(f"openai not installed ({exc.name})")

    try:
        from postgrest import AsyncPostgrestClient

        pg = AsyncPostgrestClient(
            root + "/rest",
            headers={"Authorization": "Bearer bench-key"},
            http_client=httpx.AsyncClient(
                base_url=root + "/rest",
                transport=None if base else _mock_httpx(),
                headers={"Authorization": "Bearer bench-key"},
            ),
        )

        async def pg_get() -> Any:
            result = await (
                pg.from_("course")
                .select("*")
                .eq("level", 3)
                .gte("price", 10)
                .like("title", "course*")
                .execute()
            )
            return result.data

        get_runners["postgrest-py"] = _batch(n, pg_get)
        closers.append(pg.aclose)
    except ImportError as exc:
        notes_get.append(f"postgrest not installed ({exc.name})")

    try:
        # Same answers from everyone before timing anything.
        assert await _ours.invoke(ours, "echo", PAYLOAD) == json.loads(FUNCTION_RESULT)
        assert await _ours.select3(ours, "course") == json.loads(ROWS)
        post = summarize(await interleaved(post_runners, repeats=repeats))
        get = summarize(await interleaved(get_runners, repeats=repeats))
    finally:
        for close in closers:
            await close()

    return [
        _result(f"POST JSON (function call), {where}", post, "raw httpx", notes_post),
        _result(f"GET rdb select, 3 filters, {where}", get, "raw httpx", notes_get),
    ]


def _result(
    case: str,
    stats: tuple[dict[str, float], dict[str, tuple[float, float]]],
    floor: str,
    notes: list[str],
) -> Result:
    medians, spreads = stats
    ours = medians[OURS]
    peers = [v for k, v in medians.items() if k not in (OURS, floor)]
    met = ours <= 1.3 * medians[floor] and all(ours < v for v in peers)
    return Result(
        BENCH, case, "µs/request", "lower", medians, spreads, TARGET, met, "; ".join(notes)
    )


def run(ctx: Context) -> list[Result]:
    rows = asyncio.run(_measure(ctx, None))
    with ctx.server() as server:
        rows += asyncio.run(_measure(ctx, server.url))
    return rows
