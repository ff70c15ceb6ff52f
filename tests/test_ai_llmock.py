"""AI chat over real HTTP against llmock, a real OpenAI-compatible server with scripted
faults (429 with Retry-After, 5xx, mid-stream disconnect, truncation, malformed chunks,
stalls, slow first token). ``endpoints={"ai": url}`` with ``provider="v1"`` reaches its
``/v1/chat/completions``.

The server is started once per session (``llmock serve`` on a free port) and stopped by
PID. Without llmock installed the tests skip locally and fail under ``CI``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from cloudbase_async import (
    APITimeoutError,
    CloudBase,
    InternalServerError,
    RateLimitError,
    StreamError,
    StreamInterruptedError,
)
from cloudbase_async.ai import ChatCompletion
from tests.support.pool import checked_out

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]


def _llmock_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("llmock")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("llmock")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llmock_url() -> Iterator[str]:
    binary = _llmock_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("llmock is not installed (pip install llmock==0.2.2)")
        pytest.skip("llmock is not installed (pip install llmock==0.2.2)")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "serve", "-h", "127.0.0.1", "-p", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("llmock did not start")
            time.sleep(0.1)
        yield url
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


class Mock:
    """The llmock control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def script(self, *behaviors: dict[str, Any]) -> None:
        response = httpx.post(f"{self.url}/_llmock/scenario", json={"behaviors": list(behaviors)})
        response.raise_for_status()

    def verdict(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_llmock/verdict").json())

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_llmock/requests").json()["requests"])


@pytest.fixture
def mock(llmock_url: str) -> Mock:
    httpx.post(f"{llmock_url}/_llmock/reset").raise_for_status()
    return Mock(llmock_url)


@pytest_asyncio.fixture
async def cb(llmock_url: str) -> AsyncIterator[CloudBase]:
    async with CloudBase(env="test", endpoints={"ai": llmock_url}, api_key="x") as client:
        yield client
        assert checked_out(client) == 0


def stream(cb: CloudBase, **kwargs: Any) -> Any:
    return cb.ai.chat.completions.stream(provider="v1", model="gpt-4o", messages=MESSAGES, **kwargs)


async def test_create(cb: CloudBase, mock: Mock) -> None:
    result = await cb.ai.chat.completions.create(provider="v1", model="gpt-4o", messages=MESSAGES)
    assert result.content
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.total_tokens > 0


async def test_normal_stream_with_usage(cb: CloudBase, mock: Mock) -> None:
    async with stream(cb, stream_options={"include_usage": True}) as s:
        texts = [t async for t in s.text_stream]
        final = await s.get_final_completion()
    assert len(texts) > 1
    assert final.content == "".join(texts)
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None
    assert final.usage.completion_tokens > 0
    sent = mock.requests()[-1]
    assert sent["body"]["stream"] is True
    assert mock.verdict()["passed"]


async def test_parallel_tool_calls(cb: CloudBase, mock: Mock) -> None:
    mock.script(
        {
            "type": "reply",
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
                {"name": "get_time", "arguments": {"timezone": "Europe/Paris"}},
            ],
        }
    )
    async with stream(cb) as s:
        final = await s.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [c.function.arguments for c in calls] == [
        '{"city": "Paris", "unit": "celsius"}',
        '{"timezone": "Europe/Paris"}',
    ]
    assert all(c.id for c in calls)
    assert final.choices[0].finish_reason == "tool_calls"


@pytest.mark.real_backoff  # llmock itself judges whether the wait was honoured
async def test_429_with_retry_after_is_retried_before_the_body(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "fail", "status": 429, "retry_after": 0.3})
    started = time.monotonic()
    async with stream(cb) as s:
        assert s.response.retries_taken == 1
        final = await s.get_final_completion()
    assert time.monotonic() - started >= 0.3
    assert final.content
    verdict = mock.verdict()
    assert verdict["passed"], verdict
    assert verdict["attempts"] == 2


async def test_persistent_5xx_gives_up_with_the_mapped_error(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "fail", "status": 503, "times": 5})
    with pytest.raises(InternalServerError) as info:
        async with stream(cb.with_options(max_retries=1)):
            pytest.fail("entered")
    assert info.value.status_code == 503
    assert len(mock.requests()) == 2


async def test_429_not_waited_for_beyond_the_cap(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "fail", "status": 429, "retry_after": 3600})
    with pytest.raises(RateLimitError) as info:
        await cb.ai.chat.completions.create(provider="v1", model="gpt-4o", messages=MESSAGES)
    assert info.value.retry_after == 3600
    assert len(mock.requests()) == 1


async def test_mid_stream_disconnect(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "stream_fault", "kind": "disconnect", "after_chunks": 3})
    got: list[str] = []
    with pytest.raises(StreamInterruptedError) as info:  # noqa: PT012 - the whole block is under test
        async with stream(cb) as s:
            async for text in s.text_stream:
                got.append(text)
    partial = info.value.partial
    assert isinstance(partial, ChatCompletion)
    assert partial.content == "".join(got)
    assert got
    assert partial.choices[0].finish_reason is None
    assert len(mock.requests()) == 1  # not retried: the body had started


async def test_truncated_stream(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "stream_fault", "kind": "truncate", "after_chunks": 3})
    with pytest.raises(StreamInterruptedError, match="truncated") as info:
        async with stream(cb) as s:
            await s.until_done()
    assert isinstance(info.value.partial, ChatCompletion)
    assert info.value.partial.content


async def test_malformed_chunk(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "stream_fault", "kind": "malformed", "after_chunks": 2})
    with pytest.raises(StreamError) as info:
        async with stream(cb) as s:
            await s.until_done()
    assert info.value.code == "MALFORMED_CHUNK"
    assert isinstance(info.value.partial, ChatCompletion)


async def test_stall_fires_the_idle_timeout(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "stream_fault", "kind": "stall", "after_chunks": 2, "stall_seconds": 5})
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        async with stream(cb, idle_timeout=0.5) as s:
            await s.until_done()
    # Never before the idle timeout; the upper bound only says "ends" (a loaded machine).
    assert 0.4 < time.monotonic() - started < 30
    assert "idle_timeout" in str(info.value)
    assert isinstance(info.value.partial, ChatCompletion)


async def test_slow_first_token_within_the_idle_timeout(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "slow_first_token", "seconds": 0.6})
    async with stream(cb, idle_timeout=3) as s:
        assert (await s.get_final_completion()).content


async def test_slow_first_token_beyond_the_idle_timeout(cb: CloudBase, mock: Mock) -> None:
    mock.script({"type": "slow_first_token", "seconds": 2})
    with pytest.raises(APITimeoutError):
        async with stream(cb, idle_timeout=0.3) as s:
            await s.until_done()
