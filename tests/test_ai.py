"""AI chat completions: requests sent, chunks decoded, completions assembled, failures
typed (respx units), and the pure accumulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio
import respx

from cloudbase_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BadRequestError,
    CloudBase,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from cloudbase_async._core.convert import unstructure
from cloudbase_async.ai import (
    ChatCompletion,
    ChatCompletionChunk,
    FunctionCall,
    ToolCall,
    Usage,
)
from tests.support.pool import checked_out

pytestmark = pytest.mark.asyncio

BASE = "https://env-1.api.tcloudbasegateway.com/v1/ai"
CHAT = f"{BASE}/cloudbase/chat/completions"
MESSAGES = [{"role": "user", "content": "hi"}]


def chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    index: int = 0,
    usage: dict[str, int] | None = None,
    **delta: Any,
) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    data: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "hy3",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


def sse(*frames: dict[str, Any] | str) -> bytes:
    out = []
    for frame in frames:
        data = frame if isinstance(frame, str) else json.dumps(frame)
        out.append(f"data: {data}\n\n")
    return "".join(out).encode()


class Body(httpx.AsyncByteStream):
    def __init__(self, *parts: bytes | float, error: Exception | None = None) -> None:
        self.parts = parts
        self.error = error
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            if isinstance(part, float):
                await anyio.sleep(part)
            else:
                yield part
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


def stream_reply(*parts: bytes | float, error: Exception | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "x-request-id": "rid-1"},
        stream=Body(*parts, error=error),
    )


HELLO = sse(
    chunk("", role="assistant"),
    chunk("Hel"),
    chunk("lo", reasoning_content="think"),
    chunk(finish="stop"),
    {
        **chunk(),
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    },
    "[DONE]",
)


@pytest_asyncio.fixture
async def cb() -> AsyncIterator[CloudBase]:
    async with CloudBase(env="env-1", api_key="sk-1", max_retries=2) as client:
        yield client


# -- create ---------------------------------------------------------------------------


@respx.mock
async def test_create_sends_the_request_and_parses_the_completion(cb: CloudBase) -> None:
    route = respx.post(CHAT).mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 5,
                "model": "hy3",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "hello",
                            "tool_calls": [
                                {
                                    "id": "t1",
                                    "type": "function",
                                    "function": {"name": "f", "arguments": "{}"},
                                }
                            ],
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
                "search_info": {"a": 1},
            },
            headers={"x-request-id": "r-create"},
        )
    )
    result = await cb.ai.chat.completions.create(
        model="hy3", messages=MESSAGES, temperature=0.2, tools=[{"type": "function"}]
    )
    sent = route.calls.last.request
    assert json.loads(sent.content) == {
        "temperature": 0.2,
        "tools": [{"type": "function"}],
        "model": "hy3",
        "messages": MESSAGES,
    }
    assert sent.headers["Authorization"] == "Bearer sk-1"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers.get("Accept") != "text/event-stream"
    assert result.content == "hello"
    assert result.choices[0].message.tool_calls == [
        ToolCall("t1", "function", FunctionCall("f", "{}"))
    ]
    assert result.usage == Usage(1, 2, 3)
    assert result.extra == {"search_info": {"a": 1}}
    assert result.request_id == "r-create"
    as_json = unstructure(result)
    assert as_json["search_info"] == {"a": 1}
    assert "request_id" not in as_json
    assert as_json["choices"][0]["message"]["content"] == "hello"


@respx.mock
async def test_create_with_provider_and_path(cb: CloudBase) -> None:
    route = respx.post(f"{BASE}/hunyuan-exp/v1/chat/completions").mock(
        return_value=httpx.Response(200, json={"choices": []})
    )
    await cb.ai.chat.completions.create(
        provider="hunyuan-exp", path="/v1/chat/completions", model="m", messages=MESSAGES
    )
    assert route.called


async def test_model_and_messages_are_required(cb: CloudBase) -> None:
    with pytest.raises(InvalidRequestError, match="model is required"):
        await cb.ai.chat.completions.create(messages=MESSAGES)
    with pytest.raises(InvalidRequestError, match="model is required"):
        cb.ai.chat.completions.stream(model="", messages=MESSAGES)
    with pytest.raises(InvalidRequestError, match="messages"):
        await cb.ai.chat.completions.create(model="m")
    with pytest.raises(InvalidRequestError, match="stream"):
        await cb.ai.chat.completions.create(model="m", messages=MESSAGES, stream=True)


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("a/b", "chat/completions"),
        ("", "chat/completions"),
        ("x", "../y"),
        ("x", "a?b=1"),
        ("x", ""),
    ],
)
async def test_bad_provider_or_path_is_refused(cb: CloudBase, provider: str, path: str) -> None:
    with respx.mock, pytest.raises(InvalidRequestError):  # nothing may be sent
        await cb.ai.chat.completions.create(
            provider=provider, path=path, model="m", messages=MESSAGES
        )


@respx.mock
async def test_create_200_with_error_code_raises_mapped_error(cb: CloudBase) -> None:
    respx.post(CHAT).mock(
        return_value=httpx.Response(
            200, json={"code": "AI_MODEL_PARAM_REQUIRED", "message": "model", "requestId": "r9"}
        )
    )
    with pytest.raises(BadRequestError) as info:
        await cb.ai.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.code == "AI_MODEL_PARAM_REQUIRED"
    assert info.value.request_id == "r9"
    assert info.value.status_code == 200


@respx.mock
async def test_create_retries_429_before_any_body(cb: CloudBase) -> None:
    route = respx.post(CHAT).mock(
        side_effect=[
            httpx.Response(
                429,
                json={"code": "EXCEED_CONCURRENT_REQUEST_LIMIT", "message": "busy"},
                headers={"retry-after": "0"},
            ),
            httpx.Response(200, json={"choices": []}),
        ]
    )
    await cb.ai.chat.completions.create(model="m", messages=MESSAGES)
    assert route.call_count == 2


@respx.mock
async def test_create_is_not_retried_after_a_read_failure(cb: CloudBase) -> None:
    # The request reached the server: the model may have run; repeating it costs tokens.
    route = respx.post(CHAT).mock(side_effect=httpx.ReadError("reset"))
    with pytest.raises(APIConnectionError) as info:
        await cb.ai.chat.completions.create(model="m", messages=MESSAGES)
    assert not isinstance(info.value, APITimeoutError)
    assert route.call_count == 1


@respx.mock
async def test_create_quota_error_is_rate_limit(cb: CloudBase) -> None:
    respx.post(CHAT).mock(
        return_value=httpx.Response(400, json={"code": "EXCEED_TOKEN_QUOTA_LIMIT", "message": "q"})
    )
    with pytest.raises(RateLimitError):
        await cb.ai.chat.completions.create(model="m", messages=MESSAGES)


# -- stream: the happy path ---------------------------------------------------------


@respx.mock
async def test_stream_request_and_chunks(cb: CloudBase) -> None:
    route = respx.post(CHAT).mock(return_value=stream_reply(HELLO))
    async with cb.ai.chat.completions.stream(
        model="hy3", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        assert stream.request_id == "rid-1"
        assert stream.response.status_code == 200
        chunks = [c async for c in stream]
        final = await stream.get_final_completion()
    sent = route.calls.last.request
    assert sent.headers["Accept"] == "text/event-stream"
    # Each read is bounded by the idle timeout (60 s default, the client's read is 60 s).
    assert sent.extensions["timeout"]["read"] == 60.0
    body = json.loads(sent.content)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert len(chunks) == 5
    assert final.content == "Hello"
    assert final.choices[0].message.reasoning_content == "think"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage == Usage(3, 2, 5)
    assert final.id == "c1"
    assert final.model == "hy3"
    assert final.request_id == "rid-1"
    assert checked_out(cb) == 0


@respx.mock
async def test_text_stream_and_byte_splits(cb: CloudBase) -> None:
    parts = tuple(HELLO[i : i + 7] for i in range(0, len(HELLO), 7))
    respx.post(CHAT).mock(return_value=stream_reply(*parts))
    async with cb.ai.chat.completions.stream(model="hy3", messages=MESSAGES) as stream:
        texts = [t async for t in stream.text_stream]
        assert texts == ["Hel", "lo"]
        assert (await stream.get_final_completion()).usage == Usage(3, 2, 5)


@respx.mock
async def test_until_done_then_final(cb: CloudBase) -> None:
    respx.post(CHAT).mock(return_value=stream_reply(HELLO))
    async with cb.ai.chat.completions.stream(model="hy3", messages=MESSAGES) as stream:
        await stream.until_done()
    assert (await stream.get_final_completion()).content == "Hello"


@respx.mock
async def test_done_then_junk_is_not_read(cb: CloudBase) -> None:
    body = Body(sse(chunk("a"), "[DONE]") + b"data: {not json\n\n", b"more junk")
    respx.post(CHAT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert [c.choices[0].delta.content async for c in stream] == ["a"]
        assert body.closed  # released at [DONE], before the block ends
        assert checked_out(cb) == 0


@respx.mock
async def test_parallel_tool_calls_are_assembled_by_index(cb: CloudBase) -> None:
    def tc(index: int, **kw: Any) -> dict[str, Any]:
        return chunk(tool_calls=[{"index": index, **kw}])

    frames = sse(
        chunk(None, role="assistant"),
        tc(0, id="a", type="function", function={"name": "weather", "arguments": ""}),
        tc(1, id="b", type="function", function={"name": "time", "arguments": '{"tz"'}),
        tc(0, function={"arguments": '{"city":'}),
        tc(1, function={"arguments": ': "CET"}'}),
        tc(0, function={"arguments": ' "Paris"}'}),
        chunk(finish="tool_calls"),
        "[DONE]",
    )
    respx.post(CHAT).mock(return_value=stream_reply(frames))
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        final = await stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("a", "weather", {"city": "Paris"}),
        ("b", "time", {"tz": "CET"}),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.content is None


@respx.mock
async def test_unknown_fields_are_kept(cb: CloudBase) -> None:
    first = {**chunk("x", search_info={"q": 1}), "version": "v2", "processes": [1]}
    respx.post(CHAT).mock(return_value=stream_reply(sse(first, chunk(finish="stop"), "[DONE]")))
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        got = [c async for c in stream]
        final = await stream.get_final_completion()
    assert got[0].extra == {"version": "v2", "processes": [1]}
    assert got[0].choices[0].delta.extra == {"search_info": {"q": 1}}
    assert final.extra == {"version": "v2", "processes": [1]}
    assert final.choices[0].message.extra == {"search_info": {"q": 1}}


# -- stream: failures ------------------------------------------------------------------


@respx.mock
async def test_stream_answered_with_json_error(cb: CloudBase) -> None:
    respx.post(CHAT).mock(
        return_value=httpx.Response(
            200, json={"code": "AI_MODEL_NOT_FOUND", "message": "no group", "requestId": "r2"}
        )
    )
    with pytest.raises(NotFoundError) as info:
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES):
            pytest.fail("entered")
    assert info.value.code == "AI_MODEL_NOT_FOUND"
    assert info.value.request_id == "r2"
    assert checked_out(cb) == 0


@respx.mock
async def test_stream_answered_with_plain_json_is_an_error(cb: CloudBase) -> None:
    respx.post(CHAT).mock(return_value=httpx.Response(200, json={"choices": []}))
    with pytest.raises(APIError, match="Expected an event stream"):
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES):
            pass


@respx.mock
async def test_stream_retries_a_429_before_the_body(cb: CloudBase) -> None:
    route = respx.post(CHAT).mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "0"}, json={"code": "EXCEED_RATELIMIT"}),
            httpx.Response(503, headers={"retry-after": "0"}),
            stream_reply(HELLO),
        ]
    )
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert stream.response.retries_taken == 2
        assert (await stream.get_final_completion()).content == "Hello"
    assert route.call_count == 3


@respx.mock
async def test_error_before_stream_is_mapped(cb: CloudBase) -> None:
    respx.post(CHAT).mock(
        return_value=httpx.Response(400, json={"code": "AI_MODEL_PARAM_INVALID", "message": "bad"})
    )
    with pytest.raises(BadRequestError):
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES):
            pass


@pytest.mark.parametrize(
    ("frame", "code", "message"),
    [
        ({"error": {"message": "overloaded", "code": "upstream"}}, "upstream", "overloaded"),
        ({"error": "boom"}, None, "boom"),
        (
            {"code": "AI_MODEL_REQUEST_FAILED", "message": "upstream 500"},
            "AI_MODEL_REQUEST_FAILED",
            "upstream 500",
        ),
    ],
)
@respx.mock
async def test_error_frame_raises_stream_error_with_partial(
    cb: CloudBase, frame: dict[str, Any], code: str | None, message: str
) -> None:
    respx.post(CHAT).mock(return_value=stream_reply(sse(chunk("par"), chunk("tial"), frame)))
    got = []
    with pytest.raises(StreamError) as info:  # noqa: PT012 - the whole block is under test
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            async for c in stream:
                got.append(c)
    assert len(got) == 2
    assert info.value.code == code
    assert info.value.message == message
    assert info.value.request_id == "rid-1"
    assert isinstance(info.value.partial, ChatCompletion)
    assert info.value.partial.content == "partial"
    assert checked_out(cb) == 0


@respx.mock
async def test_event_error_frame(cb: CloudBase) -> None:
    body = (
        sse(chunk("a"))
        + b'event: error\ndata: {"error": {"message": "quota", "type": "limit"}}\n\n'
    )
    respx.post(CHAT).mock(return_value=stream_reply(body))
    with pytest.raises(StreamError) as info:
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            await stream.until_done()
    assert (info.value.code, info.value.message) == ("limit", "quota")
    assert info.value.partial.content == "a"  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ['{"id": "x", "choices": [', "[1, 2]", '{"choices": 5}'])
@respx.mock
async def test_malformed_frame_is_an_error_not_a_skip(cb: CloudBase, bad: str) -> None:
    body = Body(sse(chunk("a"), bad, chunk("b"), "[DONE]"))
    respx.post(CHAT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    with pytest.raises(StreamError) as info:
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            await stream.until_done()
    assert info.value.code == "MALFORMED_CHUNK"
    assert info.value.partial.content == "a"  # type: ignore[attr-defined]
    assert body.closed


@respx.mock
async def test_truncated_stream_is_an_interruption(cb: CloudBase) -> None:
    respx.post(CHAT).mock(return_value=stream_reply(sse(chunk("a"), chunk("b"))))
    with pytest.raises(StreamInterruptedError) as info:
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            await stream.until_done()
    assert "truncated" in str(info.value)
    assert info.value.partial.content == "ab"  # type: ignore[attr-defined]
    assert info.value.request_id == "rid-1"


@respx.mock
async def test_end_mid_event_is_truncated_even_after_finish(cb: CloudBase) -> None:
    respx.post(CHAT).mock(return_value=stream_reply(sse(chunk("a", finish="stop")) + b"data: {"))
    with pytest.raises(StreamInterruptedError):
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            await stream.until_done()


@respx.mock
async def test_finish_reason_without_done_is_complete(cb: CloudBase) -> None:
    respx.post(CHAT).mock(return_value=stream_reply(sse(chunk("a"), chunk(finish="stop"))))
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert (await stream.get_final_completion()).content == "a"


@respx.mock
async def test_connection_cut_mid_stream_carries_partial(cb: CloudBase) -> None:
    respx.post(CHAT).mock(
        return_value=stream_reply(sse(chunk("a")), error=httpx.RemoteProtocolError("cut"))
    )
    with pytest.raises(StreamInterruptedError) as info:
        async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            await stream.until_done()
    assert info.value.partial.content == "a"  # type: ignore[attr-defined]
    assert checked_out(cb) == 0


@respx.mock
async def test_idle_timeout_with_keepalives(cb: CloudBase) -> None:
    pings: list[bytes | float] = [0.05, b": ping\n\n"] * 40
    respx.post(CHAT).mock(return_value=stream_reply(sse(chunk("a")), *pings))
    with pytest.raises(APITimeoutError) as info:
        async with cb.ai.chat.completions.stream(
            model="m", messages=MESSAGES, idle_timeout=0.3
        ) as stream:
            await stream.until_done()
    assert info.value.partial.content == "a"  # type: ignore[attr-defined]
    assert info.value.request_id == "rid-1"


@respx.mock
async def test_oversized_chunk(cb: CloudBase) -> None:
    respx.post(CHAT).mock(return_value=stream_reply(sse(chunk("a"), chunk("x" * 10_000))))
    with pytest.raises(StreamError, match="max_event_size"):
        async with cb.ai.chat.completions.stream(
            model="m", messages=MESSAGES, max_event_size=4096
        ) as stream:
            await stream.until_done()


# -- stream: lifecycle -------------------------------------------------------------------


@respx.mock
async def test_break_then_leave_releases_and_later_reads_raise(cb: CloudBase) -> None:
    body = Body(sse(chunk("a"), chunk("b"), chunk(finish="stop"), "[DONE]"))
    respx.post(CHAT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        async for _ in stream:
            break
    assert body.closed
    assert checked_out(cb) == 0
    with pytest.raises(StreamClosedError):
        await stream.__anext__()
    with pytest.raises(StreamClosedError):
        await stream.get_final_completion()
    with pytest.raises(StreamClosedError):
        async with stream:
            pass


async def test_not_entered_stream_explains_itself(cb: CloudBase) -> None:
    stream = cb.ai.chat.completions.stream(model="m", messages=MESSAGES)
    with pytest.raises(StreamClosedError, match="async with"):
        await stream.__anext__()


# -- raw paths ----------------------------------------------------------------------------


@respx.mock
async def test_raw_request(cb: CloudBase) -> None:
    route = respx.post(f"{BASE}/cloudbase/v1/messages").mock(
        return_value=httpx.Response(200, json={"type": "message", "content": []})
    )
    response = await cb.ai.request("cloudbase", "v1/messages", {"model": "m", "max_tokens": 5})
    assert response.json() == {"type": "message", "content": []}
    assert json.loads(route.calls.last.request.content) == {"model": "m", "max_tokens": 5}


@respx.mock
async def test_raw_request_error_code(cb: CloudBase) -> None:
    respx.post(f"{BASE}/hunyuan-image/images/generations").mock(
        return_value=httpx.Response(200, json={"code": "AI_MODEL_DISABLED", "message": "off"})
    )
    with pytest.raises(APIError) as info:
        await cb.ai.request("hunyuan-image", "images/generations", {"prompt": "cat"})
    assert info.value.code == "AI_MODEL_DISABLED"


@respx.mock
async def test_raw_stream(cb: CloudBase) -> None:
    body = (
        b'event: message_start\ndata: {"type": "message_start"}\n\n'
        b'event: ping\ndata: {"type": "ping"}\n\n'
        b'event: message_stop\ndata: {"type": "message_stop"}\n\n'
    )
    route = respx.post(f"{BASE}/cloudbase/v1/messages").mock(return_value=stream_reply(body))
    async with cb.ai.stream("cloudbase", "v1/messages", {"model": "m"}) as stream:
        events = [e async for e in stream]
    assert [e.event for e in events] == ["message_start", "ping", "message_stop"]
    assert events[0].json() == {"type": "message_start"}
    sent = route.calls.last.request
    assert sent.headers["Accept"] == "text/event-stream"
    assert json.loads(sent.content) == {"model": "m", "stream": True}
    assert checked_out(cb) == 0


@respx.mock
async def test_raw_stream_error_event_and_done(cb: CloudBase) -> None:
    respx.post(f"{BASE}/cloudbase/responses").mock(
        return_value=stream_reply(
            b'data: {"a": 1}\n\nevent: error\ndata: {"error": {"message": "x"}}\n\n'
        )
    )
    async with cb.ai.stream("cloudbase", "responses", {}) as stream:
        assert (await stream.__anext__()).json() == {"a": 1}
        with pytest.raises(StreamError, match="x"):
            await stream.__anext__()
    respx.post(f"{BASE}/cloudbase/responses").mock(
        return_value=stream_reply(sse({"a": 1}, "[DONE]", {"b": 2}))
    )
    async with cb.ai.stream("cloudbase", "responses", {}) as stream:
        assert len(await stream.until_done()) == 1


@respx.mock
async def test_idle_timeout_lowers_the_read_timeout_only(cb: CloudBase) -> None:
    route = respx.post(CHAT).mock(return_value=stream_reply(HELLO))
    async with cb.ai.chat.completions.stream(
        model="m", messages=MESSAGES, idle_timeout=5, timeout=httpx.Timeout(30, connect=3)
    ) as stream:
        await stream.until_done()
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 3, "read": 5, "write": 30, "pool": 30}
    async with cb.ai.chat.completions.stream(
        model="m", messages=MESSAGES, idle_timeout=None, timeout=7
    ) as stream:
        await stream.until_done()
    assert route.calls.last.request.extensions["timeout"]["read"] == 7


@respx.mock
async def test_a_four_mib_delta_in_small_reads(cb: CloudBase) -> None:
    big = "x" * (4 * 1024 * 1024)
    body = sse(chunk(big), chunk(finish="stop"), "[DONE]")
    respx.post(CHAT).mock(
        return_value=stream_reply(*(body[i : i + 4096] for i in range(0, len(body), 4096)))
    )
    async with cb.ai.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        final = await stream.get_final_completion()
    assert final.content == big


@respx.mock
async def test_a_slow_consumer_does_not_trip_the_idle_timeout(cb: CloudBase) -> None:
    parts = [sse(chunk("a")), sse(chunk("b")), sse(chunk(finish="stop"), "[DONE]")]
    respx.post(CHAT).mock(return_value=stream_reply(*parts))
    async with cb.ai.chat.completions.stream(
        model="m", messages=MESSAGES, idle_timeout=0.2
    ) as stream:
        async for _ in stream:
            await anyio.sleep(0.3)
        assert (await stream.get_final_completion()).content == "ab"


async def test_bad_bounds_are_refused_before_sending(cb: CloudBase) -> None:
    with respx.mock:
        with pytest.raises(ValueError, match="idle_timeout"):
            cb.ai.chat.completions.stream(model="m", messages=MESSAGES, idle_timeout=0)
        with pytest.raises(ValueError, match="max_event_size"):
            cb.ai.stream("cloudbase", "responses", {}, max_event_size=0)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("AI_MODEL_REQUEST_FAILED", InternalServerError),
        ("AI_MODEL_CONFIG_MISSING", BadRequestError),
        ("AI_MODEL_DISABLED", PermissionDeniedError),
        ("EXCEED_CONCURRENT_REQUEST_LIMIT", RateLimitError),
    ],
)
@respx.mock
async def test_ai_codes_in_a_200_body(cb: CloudBase, code: str, error: type[APIError]) -> None:
    route = respx.post(CHAT).mock(return_value=httpx.Response(200, json={"code": code}))
    with pytest.raises(error):
        await cb.ai.chat.completions.create(model="m", messages=MESSAGES)
    assert route.call_count == 1  # a 200 answer is not retried: the call was handled
