"""Over real HTTP: many concurrent requests through one client leave the pool clean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from cloudbase_async import APITimeoutError, CloudBase
from cloudbase_async._core.transport import Request
from tests.support.pool import checked_out, open_connections
from tests.support.server import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request with a small JSON body naming its path (``/slow`` waits)."""
    if scope["path"].endswith("/slow"):
        await anyio.sleep(1.0)
    body = b'{"path":"' + scope["path"].encode() + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"srv")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with serve(echo_app) as url:
        yield url


async def test_1000_requests_100_concurrent_leave_no_connection_checked_out(
    server_url: str, anyio_backend: str
) -> None:
    async with CloudBase("env-1", base_url=server_url) as cb:
        results: list[int] = []

        async def worker(start: int) -> None:
            for i in range(start, 1000, 100):
                response = await cb._transport.send(
                    Request("POST", "functions", f"/f{i}", json={"i": i})
                )
                assert response.json() == {"path": f"/v1/functions/f{i}"}
                results.append(i)

        async with anyio.create_task_group() as tg:
            for start in range(100):
                tg.start_soon(worker, start)
        assert sorted(results) == list(range(1000))
        assert checked_out(cb) == 0
        assert 0 < open_connections(cb) <= 100


async def test_admission_keeps_a_small_pool_from_timing_out(
    server_url: str, anyio_backend: str
) -> None:
    # 300 concurrent requests on 2 connections wait their turn at the admission gate,
    # in order (each for at most the pool timeout), and leave the pool clean.
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    timeout = httpx.Timeout(10.0, pool=30.0)
    async with CloudBase("env-1", base_url=server_url, limits=limits, timeout=timeout) as cb:
        async with anyio.create_task_group() as tg:
            for i in range(300):
                tg.start_soon(cb._transport.send, Request("GET", "functions", f"/g{i}"))
        assert checked_out(cb) == 0
        assert open_connections(cb) <= 2


async def test_a_slow_server_times_out_and_frees_its_connection(
    server_url: str, anyio_backend: str
) -> None:
    async with CloudBase("env-1", base_url=server_url, max_retries=0) as cb:
        with pytest.raises(APITimeoutError, match="ReadTimeout"):
            await cb._transport.send(Request("POST", "functions", "/slow", timeout=0.1))
        assert checked_out(cb) == 0
        response = await cb._transport.send(Request("POST", "functions", "/fast"))
        assert response.json() == {"path": "/v1/functions/fast"}
