"""The FastAPI relay example (examples/tool_relay.py) under uvicorn on loopback, against
the local gateway: it streams text and tool progress as server-sent events, and when
the browser goes away mid-tool or mid-stream, the tools are cancelled, the model
stream is closed and its client's pool is empty."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from cloudbase_async import CloudBase
from cloudbase_async.ai import Tool, tool
from cloudbase_async.local import LocalCloudBase, Reply, ToolCall
from examples.tool_relay import create_app, get_weather
from tests.support.pool import checked_out
from tests.support.server import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

DEADLOCK = 30  # a guard against a hang, never what a test asserts
QUESTION = {"messages": [{"role": "user", "content": "Weather in Paris?"}]}


class Relay:
    """The example app, served; ``cb`` is the client it made at startup (in the
    server's thread: only read here)."""

    def __init__(self, app: Any, url: str) -> None:
        self.app = app
        self.url = url

    @property
    def cb(self) -> CloudBase:
        cb: CloudBase = self.app.state.cb
        return cb


@pytest.fixture
def relay_for(cloudbase_local: LocalCloudBase) -> Iterator[Callable[..., Relay]]:
    servers: list[Any] = []

    def start(tools: list[Tool[..., Any]]) -> Relay:
        app = create_app(cloudbase_local.client, model="local", tools=tools)
        server = serve(app, lifespan="on")
        servers.append(server)
        return Relay(app, server.__enter__())

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def parse(frame: str) -> tuple[str, str]:
    fields = dict(line.split(": ", 1) for line in frame.splitlines())
    return fields["event"], fields["data"]


async def read_events(
    http: httpx.AsyncClient,
    relay: Relay,
    until: str | None = None,
    then: Callable[[], Awaitable[None]] | None = None,
) -> list[tuple[str, str]]:
    """The relay's events, up to the first ``until``; then, once ``then()`` returned,
    the browser goes away."""
    events: list[tuple[str, str]] = []
    async with http.stream("POST", f"{relay.url}/chat", json=QUESTION) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        async for text in response.aiter_text():
            buffer += text
            while "\n\n" in buffer:
                frame, buffer = buffer.split("\n\n", 1)
                events.append(parse(frame))
                if events[-1][0] == until:
                    if then is not None:
                        await then()
                    return events  # leaving the block drops the connection
    return events


async def until_true(condition: Callable[[], bool]) -> None:
    """Wait for a condition another thread makes true (bounded, polled)."""
    with anyio.fail_after(DEADLOCK):
        while not condition():  # noqa: ASYNC110 - set by another thread, not an event
            await anyio.sleep(0.01)


async def test_the_relay_streams_text_and_tool_progress(
    cloudbase_local: LocalCloudBase, relay_for: Callable[..., Relay]
) -> None:
    cloudbase_local.ai.script(
        Reply(content="Checking. ", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
        "Sunny in Paris.",
    )
    relay = relay_for([get_weather])
    async with httpx.AsyncClient(timeout=DEADLOCK) as http:
        events = await read_events(http, relay)
    assert [name for name, _ in events] == [
        "text", "tool", "tool_result", "text", "text", "text", "done",
    ]  # fmt: skip
    assert events[1][1] == (
        '{"id": "call_0_0", "name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}'
    )
    assert '"ok": true' in events[2][1]
    assert events[-1][1] == '{"usage": {"total_tokens": null}}'
    assert checked_out(relay.cb) == 0


async def test_a_browser_gone_mid_tool_cancels_the_tool(
    cloudbase_local: LocalCloudBase, relay_for: Callable[..., Relay]
) -> None:
    started, cancelled = threading.Event(), threading.Event()

    @tool
    async def slow_lookup(city: str) -> str:
        """A lookup that takes for ever."""
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return "unreachable"

    cloudbase_local.ai.script(ToolCall("slow_lookup", {"city": "Paris"}), "never reached")
    relay = relay_for([slow_lookup])
    async with httpx.AsyncClient(timeout=DEADLOCK) as http:

        async def once_it_runs() -> None:  # it starts once its `tool` event was sent
            assert await anyio.to_thread.run_sync(started.wait, DEADLOCK)

        events = await read_events(http, relay, until="tool", then=once_it_runs)
    assert [name for name, _ in events] == ["tool"]
    assert await anyio.to_thread.run_sync(cancelled.wait, DEADLOCK)
    await until_true(lambda: checked_out(relay.cb) == 0)
    assert len(cloudbase_local.ai.requests) == 1  # no step after the cancelled one


async def test_a_browser_gone_mid_stream_closes_the_model_stream(
    cloudbase_local: LocalCloudBase, relay_for: Callable[..., Relay]
) -> None:
    # 2,000 pieces 0.05 s apart: the model streams for longer than the test may wait,
    # so the pool empties only if the relay closed the stream.
    cloudbase_local.ai.script(Reply(content="word " * 2000, delay=0.05))
    relay = relay_for([get_weather])
    async with httpx.AsyncClient(timeout=DEADLOCK) as http:

        async def while_it_streams() -> None:
            assert checked_out(relay.cb) > 0  # the model stream is open right now

        events = await read_events(http, relay, until="text", then=while_it_streams)
    assert events == [("text", '{"text": "word "}')]
    await until_true(lambda: checked_out(relay.cb) == 0)
