"""Local CloudRun through this SDK over real HTTP: requests pass through, streams arrive
event by event (never buffered), the gateway's headers and codes, stream faults."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from cloudbase_async import (
    APITimeoutError,
    CloudBase,
    InternalServerError,
    NotFoundError,
    StreamInterruptedError,
)
from cloudbase_async.local import LocalCloudBase

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


class Service:
    """A small service. ``/events`` sends one event, then waits for the test to say it
    received it before sending the next: only an unbuffered path can pass that."""

    def __init__(self) -> None:
        self.received = [threading.Event() for _ in range(3)]

    def app(self) -> Starlette:
        async def echo(request: Request) -> Response:
            return JSONResponse(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": request.scope["query_string"].decode(),
                    "tenant": request.headers.get("x-tenant"),
                    "body": (await request.body()).decode(),
                    "role": request.state.caller.role,
                }
            )

        async def events(request: Request) -> StreamingResponse:
            async def stream() -> AsyncIterator[bytes]:
                for n, seen in enumerate(self.received):
                    yield f"id: {n}\nevent: tick\ndata: {n}\n\n".encode()
                    # Waits in a worker thread: the gateway's loop stays free.
                    if not await anyio.to_thread.run_sync(seen.wait, 10):
                        return

            return StreamingResponse(stream(), media_type="text/event-stream")

        async def fail(request: Request) -> Response:
            raise RuntimeError("service bug")

        async def csv(request: Request) -> Response:
            return PlainTextResponse("a,b\n1,2\n", media_type="text/csv")

        return Starlette(
            routes=[
                Route("/events", events),
                Route("/fail", fail),
                Route("/export.csv", csv, methods=["POST"]),
                Route("/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )


@pytest.fixture
def service(cloudbase_local: LocalCloudBase) -> Service:
    svc = Service()
    cloudbase_local.cloudrun("demo", svc.app())
    return svc


async def test_requests_pass_through(service: Service, cloudbase: CloudBase) -> None:
    response = await cloudbase.cloudrun.request(
        "demo",
        "PUT",
        "/orders/a b",
        json={"sku": "A1"},
        params={"dry_run": 1},
        headers={"X-Tenant": "t1"},
    )
    assert response.json() == {
        "method": "PUT",
        "path": "/orders/a b",
        "query": "dry_run=1",
        "tenant": "t1",
        "body": '{"sku":"A1"}',
        "role": "admin",
    }
    assert "content-disposition" not in response.headers  # a text answer to a PUT
    got = await cloudbase.cloudrun.request("demo", "GET", "/")
    assert got.headers["content-disposition"] == "attachment"  # every GET
    exported = await cloudbase.cloudrun.request("demo", "POST", "/export.csv")
    assert exported.headers["content-disposition"] == "attachment"  # not text
    assert exported.text == "a,b\n1,2\n"


async def test_gateway_and_service_errors(service: Service, cloudbase: CloudBase) -> None:
    with pytest.raises(NotFoundError) as missing:
        await cloudbase.cloudrun.request("nope", "GET", "/")
    with pytest.raises(InternalServerError) as failed:
        await cloudbase.with_options(max_retries=0).cloudrun.request("demo", "GET", "/fail")
    assert missing.value.code == "SERVICE_NOT_FOUND"
    assert failed.value.status_code == 500
    assert failed.value.body == "Internal Server Error"


async def test_sse_arrives_event_by_event(service: Service, cloudbase: CloudBase) -> None:
    seen: list[tuple[str | None, str]] = []
    async with cloudbase.cloudrun.stream("demo", "GET", "/events") as response:
        assert "content-disposition" not in response.headers
        async for event in response.sse(idle_timeout=15):
            seen.append((event.event, event.data))
            service.received[int(event.data)].set()
    assert seen == [("tick", "0"), ("tick", "1"), ("tick", "2")]


async def read_events(
    cloudbase: CloudBase, service: Service, seen: list[str], *, idle_timeout: float
) -> None:
    async with cloudbase.cloudrun.stream("demo", "GET", "/events") as response:
        async for event in response.sse(idle_timeout=idle_timeout):
            seen.append(event.data)
            service.received[int(event.data)].set()


async def test_stream_cut_after_events(
    cloudbase_local: LocalCloudBase, service: Service, cloudbase: CloudBase
) -> None:
    cloudbase_local.faults.add("GET /v1/cloudrun/demo/events", cut_after=2)
    seen: list[str] = []
    with pytest.raises(StreamInterruptedError):
        await read_events(cloudbase, service, seen, idle_timeout=15)
    assert seen == ["0", "1"]


async def test_stream_stall(
    cloudbase_local: LocalCloudBase, service: Service, cloudbase: CloudBase
) -> None:
    cloudbase_local.faults.add("GET /v1/cloudrun/demo/*", stall_after=1)
    seen: list[str] = []
    with pytest.raises(APITimeoutError):
        await read_events(cloudbase, service, seen, idle_timeout=0.5)
    assert seen == ["0"]


async def test_a_reset_get_is_retried(
    cloudbase_local: LocalCloudBase, service: Service, cloudbase: CloudBase
) -> None:
    cloudbase_local.faults.add("GET /v1/cloudrun/demo/*", reset=True)
    response = await cloudbase.cloudrun.request("demo", "GET", "/health")
    assert response.json()["path"] == "/health"
    assert response.retries_taken == 1
