"""One worker process of the multi-process session tests (and benchmark #11).

    python -m tests.support.session_worker URL STORE [options]

``URL`` is the loopback auth server, ``STORE`` ``redis://...``, ``file:PATH`` or
``memory`` (each process its own, with ``--session ACCESS,REFRESH`` installed). The
worker makes one client on that store, prints ``ready``, waits for a line on stdin,
then runs ``--callers`` concurrent callers for ``--duration`` seconds, each calling the
protected echo route in a loop, and prints one JSON line: its pid, the calls that
succeeded, and the failures by type (with the first few messages and when they
happened, in seconds since the start). Every request carries ``x-worker: <pid>`` so the
server can name the process holding a refresh.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from typing import Any

import anyio
import anyio.to_thread

from cloudbase_async import CloudBase, FileStore, MemoryStore, RedisStore, SessionStore
from cloudbase_async._core.transport import Request


def make_store(spec: str, timeout: float) -> SessionStore:
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("file:"):
        return FileStore(spec.removeprefix("file:"), timeout=timeout)
    return RedisStore.from_url(spec, timeout=timeout)


async def work(args: argparse.Namespace) -> dict[str, Any]:
    store = make_store(args.store, args.store_timeout)
    calls = 0
    failures: Counter[str] = Counter()
    samples: list[list[Any]] = []
    last_failure: float | None = None
    ok_since_failure = 0
    async with CloudBase(
        env="env-1",
        base_url=args.url,
        publishable_key="pk-1",
        session_store=store,
        refresh_margin=args.margin,
        refresh_timeout=args.refresh_timeout,
        headers={"x-worker": str(os.getpid())},
        timeout=10,
    ) as cb:
        if args.session:
            access, refresh = args.session.split(",")
            await cb.auth.set_session(access_token=access, refresh_token=refresh, expires_in=3600)
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        started = time.monotonic()
        deadline = started + args.duration

        async def caller() -> None:
            nonlocal calls, last_failure, ok_since_failure
            rng = random.Random()
            await anyio.sleep(rng.uniform(0, args.pause))  # not in lockstep
            while time.monotonic() < deadline:
                try:
                    await cb._transport.send(Request("POST", "functions", "/echo", json={}))
                    calls += 1
                    ok_since_failure += 1
                except Exception as exc:
                    failures[type(exc).__name__] += 1
                    last_failure = round(time.monotonic() - started, 2)
                    ok_since_failure = 0
                    if len(samples) < 20:
                        samples.append([last_failure, repr(exc)[:300]])
                await anyio.sleep(rng.uniform(args.pause / 2, args.pause))

        async with anyio.create_task_group() as tg:
            for _ in range(args.callers):
                tg.start_soon(caller)
    if isinstance(store, RedisStore):
        await store.aclose()
    return {
        "pid": os.getpid(),
        "calls": calls,
        "failures": dict(failures),
        "samples": samples,
        "last_failure": last_failure,
        "ok_since_failure": ok_since_failure,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("store")
    parser.add_argument("--callers", type=int, default=25)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--pause", type=float, default=0.4)
    parser.add_argument("--margin", type=float, default=0.5)
    parser.add_argument("--refresh-timeout", type=float, default=2.0)
    parser.add_argument("--store-timeout", type=float, default=0.5)
    parser.add_argument("--session", default="", help="ACCESS,REFRESH to install first")
    args = parser.parse_args()
    print(json.dumps(anyio.run(work, args)), flush=True)


if __name__ == "__main__":
    main()
