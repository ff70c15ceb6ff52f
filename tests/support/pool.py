"""Looking inside a client's connection pool, to prove nothing is left checked out."""

from __future__ import annotations

from typing import Any

from cloudbase_async import CloudBase


def _httpcore_pool(cb: CloudBase) -> Any:
    # httpcore's pool, behind httpx's transport: what the SDK hands its requests to.
    return cb._transport.pool.http._transport._pool  # type: ignore[attr-defined]


def checked_out(cb: CloudBase) -> int:
    """Connections serving a request right now, plus requests queued for one."""
    pool = _httpcore_pool(cb)
    busy = sum(1 for conn in pool.connections if not conn.is_idle())
    return busy + len(pool._requests)


def open_connections(cb: CloudBase) -> int:
    return len(_httpcore_pool(cb).connections)
