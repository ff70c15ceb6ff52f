"""Looking inside a client's connection pool, to prove nothing is left checked out."""

from __future__ import annotations

from typing import Any

from cloudbase_async import CloudBase
from cloudbase_async._core.default_transport import DefaultTransport


def _transport(cb: CloudBase) -> Any:
    return cb._transport.pool.http._transport


def _httpcore_pool(cb: CloudBase) -> Any:
    # httpcore's pool, behind httpx's transport: what the SDK hands its requests to.
    return _transport(cb)._pool


def checked_out(cb: CloudBase) -> int:
    """Connections serving a request right now, plus requests queued for one."""
    transport = _transport(cb)
    if isinstance(transport, DefaultTransport):  # aiohttp's pool, httpcore's or both
        return transport.connections()[0]
    pool = _httpcore_pool(cb)
    busy = sum(1 for conn in pool.connections if not conn.is_idle())
    return busy + len(pool._requests)


def open_connections(cb: CloudBase) -> int:
    transport = _transport(cb)
    if isinstance(transport, DefaultTransport):
        return transport.connections()[1]
    return len(_httpcore_pool(cb).connections)
