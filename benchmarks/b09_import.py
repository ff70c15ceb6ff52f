"""Import time (``python -X importtime``, fresh interpreter each run) and client construction.

Import time is the cumulative figure ``-X importtime`` reports for the top-level package
(it includes everything the package imports, httpx too). Bytecode is compiled by a
first, discarded run. Construction is one client object with its httpx pool, in-process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ._harness import OURS, Result, Stopwatch, median, rotate, spread
from ._runner import Context
from ._servers import ROOT

BENCH = "9 import"
MODULES = {
    OURS: "cloudbase_async",
    "openai": "openai",
    "postgrest": "postgrest",
    "supabase_auth": "supabase_auth",
    "httpx (floor: our dependency)": "httpx",
}
HTTPX = "httpx (floor: our dependency)"


# httpx imports its command line (click, rich, pygments) when those happen to be installed
# (here: uvicorn needs click, a test tool needs rich). Marking them missing in
# sys.modules makes the import behave as in an environment without them.
WITHOUT_CLI = "import sys; sys.modules.update(click=None, rich=None, pygments=None); "


# An installed package has its bytecode compiled (pip does it); with
# PYTHONDONTWRITEBYTECODE set, as on this project's machines, the first run would not
# write it and every run would compile our sources while the peers' are compiled.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def import_ms(module: str, prelude: str = "") -> float:
    """Cumulative import time of ``module`` in a fresh interpreter, in milliseconds."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{prelude}import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=CHILD_ENV,
    )
    for line in proc.stderr.splitlines():
        # "import time:      self [us] |  cumulative | imported package"
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"no importtime line for {module}: {proc.stderr[-500:]}")


def available(module: str) -> bool:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        env=CHILD_ENV,
    )
    return proc.returncode == 0


def _imports(ctx: Context, prelude: str, case: str) -> Result:
    names = [name for name, module in MODULES.items() if available(module)]
    missing = [name for name in MODULES if name not in names]
    for name in names:
        import_ms(MODULES[name], prelude)  # compile bytecode; not counted
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(ctx.n(3, 11)):
        for name in rotate(names, r):
            samples[name].append(import_ms(MODULES[name], prelude))
    medians = {name: median(v) for name, v in samples.items()}
    note = f"not installed: {', '.join(missing)}" if missing else ""
    floor = medians.get(HTTPX)
    return Result(
        BENCH,
        case,
        "ms",
        "lower",
        medians,
        {name: spread(v) for name, v in samples.items()},
        "≤1.5× httpx (issue 19)",
        None if floor is None else medians[OURS] <= 1.5 * floor,
        note,
    )


async def _construction(ctx: Context) -> Result:
    import httpx

    from cloudbase_async import CloudBase

    makers: dict[str, Callable[[], Any]] = {
        OURS: lambda: CloudBase(env="bench", api_key="bench-key"),
        "httpx.AsyncClient()": httpx.AsyncClient,
    }
    closers: dict[str, Callable[[Any], Awaitable[Any]]] = {
        OURS: lambda c: c.aclose(),
        "httpx.AsyncClient()": lambda c: c.aclose(),
    }
    try:
        from openai import AsyncOpenAI

        makers["openai AsyncOpenAI()"] = lambda: AsyncOpenAI(api_key="bench-key")
        closers["openai AsyncOpenAI()"] = lambda c: c.close()
    except ImportError:
        pass
    try:
        from postgrest import AsyncPostgrestClient

        makers["postgrest AsyncPostgrestClient()"] = lambda: AsyncPostgrestClient(
            "http://127.0.0.1:1/rest"
        )
        closers["postgrest AsyncPostgrestClient()"] = lambda c: c.aclose()
    except ImportError:
        pass
    n = ctx.n(10, 50)
    names = list(makers)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(ctx.n(3, 7) + 1):
        for name in rotate(names, r):
            clients = []
            with Stopwatch() as sw:
                for _ in range(n):
                    clients.append(makers[name]())
            for client in clients:
                await closers[name](client)
            if r:  # the first round warms caches (certificates, lazy imports)
                samples[name].append(sw.elapsed / n * 1000)
    medians = {name: median(v) for name, v in samples.items()}
    return Result(
        BENCH,
        "client construction (includes its httpx pool and TLS context)",
        "ms/client",
        "lower",
        medians,
        {name: spread(v) for name, v in samples.items()},
        "(info) ≤ peers",
        None,
        "each client builds an httpx client, whose TLS context dominates; "
        "copies (with_options) share one pool",
    )


async def _copies(ctx: Context) -> Result:
    from cloudbase_async import CloudBase

    cb = CloudBase(env="bench", api_key="bench-key")
    n = ctx.n(1000, 10000)
    samples: list[float] = []
    for _ in range(ctx.n(3, 7)):
        with Stopwatch() as sw:
            for _ in range(n):
                cb.with_options(timeout=5)
        samples.append(sw.elapsed / n * 1e6)
    await cb.aclose()
    return Result(
        BENCH,
        "cb.with_options(timeout=5): a copy on the same pool",
        "µs/copy",
        "lower",
        {OURS: median(samples)},
        {OURS: spread(samples)},
        "(info)",
        None,
    )


def run(ctx: Context) -> list[Result]:
    rows = [
        _imports(ctx, "", "import time, fresh interpreter (cumulative -X importtime)"),
        _imports(
            ctx,
            WITHOUT_CLI,
            "the same without click/rich/pygments (httpx then skips loading its command "
            "line), as with only the runtime dependencies installed",
        ),
    ]
    rows.append(asyncio.run(_construction(ctx)))
    rows.append(asyncio.run(_copies(ctx)))
    return rows
