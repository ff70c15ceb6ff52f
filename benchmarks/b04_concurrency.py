"""Concurrency through one client: 10 / 100 / 1,000 calls in flight against a fast server.

The issue-19 table. The server is nginx on loopback answering every function call after
10 ms (``echo_sleep``), so it is never the bottleneck (``--server python`` uses the
Python benchmark server instead; it is the default only when nginx is not installed).
``N`` workers each repeat the same ``functions.invoke`` POST until a time budget is
spent; the figure is completed calls per second until the last worker is done, and
failed calls are counted. Every sample runs in a fresh event loop with a fresh client
(a cold pool), the clients' order rotating from one repeat to the next.

Clients: raw aiohttp (the practical ceiling of Python HTTP), raw httpx on its defaults,
httpx over the ``httpx-aiohttp`` transport, and ours: its defaults (aiohttp's pool under
asyncio when the ``aiohttp`` extra is installed), with ``max_concurrency=8``, on an httpx
client with the ``httpx-aiohttp`` transport, on httpx's own transport (the default before
issue 19), and its defaults under trio (httpx's own transport). A last case (full run
only) makes the server slow enough that waiting for a connection takes longer than
httpx's default pool timeout.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from cloudbase_async import CloudBase
from cloudbase_async._core.config import DEFAULT_LIMITS

from . import _nginx, _ours
from ._harness import OURS, Result, median, rotate, spread
from ._runner import Context

BENCH = "4 concurrency"
PAYLOAD = {"n": 1}
SLEEP_MS = 10
SLOW_MS = 600

AIOHTTP = "raw aiohttp ClientSession (the practical ceiling)"
HTTPX = "raw httpx, defaults"
HTTPX_AIOHTTP = "httpx over the httpx-aiohttp transport"
GATED = "cloudbase_async, max_concurrency=8"
OURS_ON_HTTPX_AIOHTTP = "cloudbase_async on an httpx client with the httpx-aiohttp transport"
OURS_ON_HTTPCORE = "cloudbase_async on httpx's own transport (the default before issue 19)"
OURS_TRIO = "cloudbase_async under trio, defaults (httpx's own transport)"


@dataclass(frozen=True)
class Sample:
    calls: int
    errors: Counter[str]
    seconds: float
    cpu: float  # process CPU seconds during the round


Call = Callable[[str], Awaitable[Any]]


@contextlib.asynccontextmanager
async def _client(name: str, url: str) -> Any:
    """Yield ``call(function_name)`` for one client, closing the client afterwards."""
    functions = url + "/v1/functions"
    if name == AIOHTTP:
        import aiohttp

        async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench-key"}) as s:

            async def raw_aiohttp(fn: str) -> Any:
                async with s.post(f"{functions}/{fn}", json=PAYLOAD) as response:
                    response.raise_for_status()
                    return await response.json()

            yield raw_aiohttp
        return
    if name in (HTTPX, HTTPX_AIOHTTP):
        transport = None
        if name == HTTPX_AIOHTTP:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport()
        async with httpx.AsyncClient(
            headers={"Authorization": "Bearer bench-key"}, transport=transport
        ) as client:

            async def raw_httpx(fn: str) -> Any:
                response = await client.post(f"{functions}/{fn}", json=PAYLOAD)
                response.raise_for_status()
                return response.json()

            yield raw_httpx
        return
    settings: dict[str, Any] = {}
    if name == GATED:
        settings["max_concurrency"] = 8
    elif name == OURS_ON_HTTPX_AIOHTTP:
        from httpx_aiohttp import HttpxAiohttpClient

        settings["http_client"] = HttpxAiohttpClient(timeout=httpx.Timeout(60.0, connect=10.0))
    elif name == OURS_ON_HTTPCORE:
        settings["transport"] = httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS)
    async with CloudBase(
        env="bench", api_key="bench-key", endpoints={"functions": functions}, **settings
    ) as cb:
        yield lambda fn: _ours.invoke(cb, fn, PAYLOAD)
        client = settings.get("http_client")
        if client is not None:
            await client.aclose()


async def _round(name: str, url: str, n: int, budget: float, fn: str) -> Sample:
    """``n`` workers calling until ``budget`` seconds have passed (a fresh client)."""
    errors: Counter[str] = Counter()
    calls = 0
    async with _client(name, url) as call:

        async def worker(stop: float) -> None:
            nonlocal calls
            while True:  # at least one call each, then until the budget is spent
                try:
                    await call(fn)
                    calls += 1
                except Exception as exc:
                    errors[_describe(exc)] += 1
                if time.perf_counter() >= stop:
                    return

        cpu0, t0 = time.process_time(), time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(worker, t0 + budget)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return Sample(calls, errors, seconds, cpu)


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    name = type(exc).__name__
    return f"{name}({type(cause).__name__})" if cause is not None else name


def _sample(name: str, url: str, n: int, budget: float, fn: str = f"sleep-{SLEEP_MS}") -> Sample:
    backend = "trio" if name == OURS_TRIO else "asyncio"
    return anyio.run(_round, name, url, n, budget, fn, backend=backend)


def _clients() -> list[str]:
    names = [AIOHTTP, HTTPX]
    if importlib.util.find_spec("httpx_aiohttp"):
        names.append(HTTPX_AIOHTTP)
    names += [OURS, GATED]
    if importlib.util.find_spec("httpx_aiohttp"):
        names.append(OURS_ON_HTTPX_AIOHTTP)
    names.append(OURS_ON_HTTPCORE)
    if importlib.util.find_spec("trio"):
        names.append(OURS_TRIO)
    return names


def _level(ctx: Context, url: str, n: int, names: list[str], server: str) -> Result:
    budget = ctx.n(0.6, 2.5)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for name in names:  # warm-up (imports, TLS-free loopback, bytecode), discarded
        _sample(name, url, min(n, 10), 0.1)
    for r in range(ctx.n(1, 5)):
        for name in rotate(names, r):
            samples[name].append(_sample(name, url, n, budget))
    rates = {name: [s.calls / s.seconds for s in v] for name, v in samples.items()}
    medians = {name: median(v) for name, v in rates.items()}
    errors = {name: sum((s.errors for s in v), Counter()) for name, v in samples.items()}
    cpu = {
        name: median([s.cpu / s.calls * 1e6 for s in v if s.calls])
        if any(s.calls for s in v)
        else float("nan")
        for name, v in samples.items()
    }
    ceiling = medians.get(AIOHTTP, 0.0)
    want = 0.8 if n <= 10 else 0.33
    met = not errors[OURS] and ceiling > 0 and medians[OURS] >= want * ceiling
    error_text = "; ".join(
        f"{name}: {sum(c.values())} failed ({', '.join(f'{k} ×{v}' for k, v in c.items())})"
        for name, c in errors.items()
        if c
    )
    cpu_text = ", ".join(f"{name} {value:.0f}" for name, value in cpu.items())
    return Result(
        BENCH,
        f"{n:,} concurrent calls, {server} answers after {SLEEP_MS} ms",
        "req/s",
        "higher",
        medians,
        {name: spread(v) for name, v in rates.items()},
        f"ours ≥ {want}× raw aiohttp, 0 errors",
        met,
        f"{error_text or 'no call failed'}. CPU µs per call (client process): {cpu_text}",
    )


def _slow_server(url: str, server: str) -> Result:
    """1,000 at once against a server taking 600 ms: 10 waves of 100 connections = 6 s."""
    n = 1000
    medians: dict[str, float] = {}
    errors: dict[str, int] = {}
    for name in (OURS, HTTPX):
        sample = _sample(name, url, n, 0.0, f"sleep-{SLOW_MS}")  # one call per worker
        medians[name], errors[name] = sample.calls / sample.seconds, sum(sample.errors.values())
    return Result(
        BENCH,
        f"{n:,} concurrent calls, slow {server} ({SLOW_MS} ms): waits exceed httpx's 5 s pool "
        "timeout",
        "req/s",
        "higher",
        medians,
        {},
        "0 errors at 1,000",
        errors[OURS] == 0,
        "one round each; errors: " + ", ".join(f"{k} {v}/{n}" for k, v in errors.items()),
    )


@contextlib.contextmanager
def _server(ctx: Context) -> Iterator[tuple[str, str]]:
    """(base URL, what it is): nginx unless ``--server python`` or nginx is missing."""
    if ctx.server_kind != "python" and _nginx.available() is None:
        with _nginx.nginx_server((SLEEP_MS, SLOW_MS)) as nginx:
            yield nginx.url, "nginx"
        return
    if ctx.server_kind == "nginx":
        raise RuntimeError(_nginx.available() or "nginx cannot run")
    with ctx.server() as server:
        yield server.url, "the Python server"


def run(ctx: Context) -> list[Result]:
    names = _clients()
    with _server(ctx) as (url, server):
        rows = [_level(ctx, url, n, names, server) for n in (10, 100, 1000)]
        if not ctx.quick:
            rows.append(_slow_server(url, server))
    return rows
