"""Stream lifecycle over real HTTP, under asyncio and trio: abandoned streams hand their
connection back at once, without the garbage collector.

A loopback ASGI service sends one chunk and then holds the stream open until the client
goes away, so a connection is only freed if the SDK closes it. With five connections, a
single leaked stream out of 1,000 would block the sixth request.
"""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from cloudbase_async import CloudBase, StreamClosedError
from tests.support.pool import checked_out
from tests.support.server import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

ROUNDS = 1000
CHUNK = (
    "data: "
    + json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
        }
    )
    + "\n\n"
).encode()


async def held_stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """One chunk, then nothing until the client disconnects."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(held_stream) as base:
        yield base


def client(url: str) -> CloudBase:
    return CloudBase(
        env="test",
        endpoints={"ai": url},
        api_key="x",
        limits=httpx.Limits(max_connections=5),
        timeout=httpx.Timeout(10, pool=2),
    )


def chat(cb: CloudBase) -> Any:
    return cb.ai.chat.completions.stream(provider="p", model="m", messages=[])


class Boom(Exception):
    pass


async def test_break(url: str) -> None:
    async with client(url) as cb:
        with anyio.fail_after(60):
            for _ in range(ROUNDS):
                async with chat(cb) as stream:
                    async for _chunk in stream:
                        break
                assert checked_out(cb) == 0


async def test_exception_in_the_consumer(url: str) -> None:
    async with client(url) as cb:
        with anyio.fail_after(60):
            for _ in range(ROUNDS):
                with pytest.raises(Boom):  # noqa: PT012 - the whole block is under test
                    async with chat(cb) as stream:
                        async for _chunk in stream:
                            raise Boom
                assert checked_out(cb) == 0


async def test_cancellation_after_the_first_chunk(url: str) -> None:
    async with client(url) as cb:
        with anyio.fail_after(60):
            for _ in range(ROUNDS):
                with anyio.CancelScope() as scope:
                    async with chat(cb) as stream:
                        async for _chunk in stream:
                            scope.cancel()
                            await anyio.sleep(10)
                assert scope.cancelled_caught
                assert checked_out(cb) == 0


async def test_cancellation_while_waiting_for_a_chunk(url: str) -> None:
    async with client(url) as cb:
        for _ in range(50):
            with anyio.CancelScope() as scope:
                async with chat(cb) as stream:
                    await stream.__anext__()
                    # The clock starts once the stream is open (a loaded machine may take
                    # longer than any fixed delay to get here).
                    scope.deadline = anyio.current_time() + 0.01
                    await stream.__anext__()  # the server holds: cancelled in here
            assert scope.cancelled_caught
            assert checked_out(cb) == 0
            with pytest.raises(StreamClosedError):
                await stream.__anext__()


async def test_a_stream_is_freed_by_reference_counting(url: str) -> None:
    async with client(url) as cb:
        gc.disable()
        try:
            async with chat(cb) as stream:
                async for _chunk in stream.text_stream:
                    break
            ref = weakref.ref(stream)
            del stream
            assert ref() is None  # no reference cycle keeps it for the collector
        finally:
            gc.enable()
        assert checked_out(cb) == 0
