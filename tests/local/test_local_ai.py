"""The local scripted model through this SDK over real HTTP: plain and streamed answers
in OpenAI's shapes, reasoning, parallel tool calls, conversations scripted over several
tool-call turns, usage, and faults (429 with Retry-After, 5xx, 200 error bodies, cut,
stalled and malformed streams)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cloudbase_async import (
    APIError,
    APITimeoutError,
    CloudBase,
    InternalServerError,
    RateLimitError,
    StreamError,
    StreamInterruptedError,
)
from cloudbase_async.ai import ChatCompletion, ChatCompletionChunk
from cloudbase_async.local import LocalCloudBase, Reply, ToolCall

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

MODEL = "hy3-preview"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def stream_all(
    cb: CloudBase, messages: list[dict[str, Any]], **params: Any
) -> tuple[list[ChatCompletionChunk], ChatCompletion]:
    chunks: list[ChatCompletionChunk] = []
    async with cb.ai.chat.completions.stream(model=MODEL, messages=messages, **params) as stream:
        async for chunk in stream:
            chunks.append(chunk)
        return chunks, await stream.get_final_completion()


async def test_echoes_by_default(cloudbase: CloudBase) -> None:
    completion = await cloudbase.ai.chat.completions.create(
        model=MODEL, messages=[user("first"), {"role": "assistant", "content": "x"}, user("say hi")]
    )
    assert completion.content == "say hi"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 2
    assert completion.model == MODEL
    assert completion.request_id


async def test_stream_shapes_and_usage(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.reply(Reply(content="Hello from the local model", reasoning="Think."))
    chunks, final = await stream_all(
        cloudbase, [user("hi")], stream_options={"include_usage": True}
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.reasoning_content for c in chunks[:1]] == ["Think."]
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == ["Hello ", "from ", "the ", "local ", "model"]
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert final.content == "Hello from the local model"
    assert final.choices[0].message.reasoning_content == "Think."
    assert final.usage == chunks[-1].usage

    _, plain = await stream_all(cloudbase, [user("hi")])
    assert plain.usage is None  # usage only when asked for, as OpenAI does


async def test_chunk_size(cloudbase_local: LocalCloudBase, cloudbase: CloudBase) -> None:
    cloudbase_local.ai.reply(Reply(content="abcdefgh", chunk_size=3, delay=0.01))
    chunks, final = await stream_all(cloudbase, [user("x")])
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == ["abc", "def", "gh"]
    assert final.content == "abcdefgh"


async def test_parallel_tool_calls_streamed_and_plain(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.reply(
        [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"})]
    )
    chunks, final = await stream_all(cloudbase, [user("weather?")], tools=[WEATHER])
    plain = await cloudbase.ai.chat.completions.create(
        model=MODEL, messages=[user("weather?")], tools=[WEATHER]
    )
    first = chunks[0].choices[0].delta
    assert first.role == "assistant"
    assert first.tool_calls  # the first delta already says "tool calls" (the js-sdk checks)
    for completion in (final, plain):
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        calls = choice.message.tool_calls or []
        assert [(c.id, c.function.name) for c in calls] == [
            ("call_0_0", "get_weather"),
            ("call_0_1", "get_weather"),
        ]
        assert [json.loads(c.function.arguments) for c in calls] == [
            {"city": "Paris"},
            {"city": "Oslo"},
        ]
    assert plain.choices[0].message.content is None


async def run_conversation(cb: CloudBase, *, stream: bool) -> list[dict[str, Any]]:
    """Drive a tool loop by hand: what a tool runner does (tools answer the city name)."""
    messages: list[dict[str, Any]] = [user("weather in Paris and Oslo, then advice")]
    for _ in range(5):
        if stream:
            _, completion = await stream_all(cb, messages, tools=[WEATHER])
        else:
            completion = await cb.ai.chat.completions.create(
                model=MODEL, messages=messages, tools=[WEATHER]
            )
        message = completion.choices[0].message
        calls = message.tool_calls or []
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                **(
                    {
                        "tool_calls": [
                            {
                                "id": c.id,
                                "type": "function",
                                "function": {
                                    "name": c.function.name,
                                    "arguments": c.function.arguments,
                                },
                            }
                            for c in calls
                        ]
                    }
                    if calls
                    else {}
                ),
            }
        )
        if not calls:
            return messages
        for call in calls:
            city = json.loads(call.function.arguments)["city"]
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": f"sunny in {city}"}
            )
    raise AssertionError("the script did not finish")


@pytest.mark.parametrize("stream", [False, True])
async def test_a_script_over_several_tool_call_turns(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase, stream: bool
) -> None:
    cloudbase_local.ai.script(
        [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"})],
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Rome"})], reasoning="One more."),
        "Take an umbrella nowhere.",
    )
    messages = await run_conversation(cloudbase, stream=stream)

    assert [m["role"] for m in messages] == [
        "user", "assistant", "tool", "tool", "assistant", "tool", "assistant",
    ]  # fmt: skip
    assert messages[-1]["content"] == "Take an umbrella nowhere."
    assert [m["content"] for m in messages if m["role"] == "tool"] == [
        "sunny in Paris",
        "sunny in Oslo",
        "sunny in Rome",
    ]
    asked = cloudbase_local.ai.requests
    assert [len(r["messages"]) for r in asked] == [1, 4, 6]
    assert asked[1]["messages"][2]["tool_call_id"] == "call_0_0"
    assert all(r["tools"] == [WEATHER] for r in asked)


async def test_past_the_end_the_last_turn_repeats(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.script(ToolCall("get_weather", {"city": "Paris"}))  # never answers
    with pytest.raises(AssertionError, match="did not finish"):
        await run_conversation(cloudbase, stream=False)
    assert len(cloudbase_local.ai.requests) == 5


async def test_a_callable_script(cloudbase_local: LocalCloudBase, cloudbase: CloudBase) -> None:
    async def model(messages: list[dict[str, Any]]) -> Reply | ToolCall:
        results = [m["content"] for m in messages if m["role"] == "tool"]
        if not results:
            return ToolCall("get_weather", {"city": "Paris"})
        return Reply(content=f"It is {results[0].split()[0]}.")

    cloudbase_local.ai.reply(model)
    messages = await run_conversation(cloudbase, stream=True)
    assert messages[-1]["content"] == "It is sunny."


async def test_malformed_tool_arguments_can_be_scripted(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.reply(ToolCall("get_weather", '{"city": "Par', id="bad-1"))
    _, final = await stream_all(cloudbase, [user("x")], tools=[WEATHER])
    [call] = final.choices[0].message.tool_calls or []
    assert (call.id, call.function.arguments) == ("bad-1", '{"city": "Par')


async def test_faults_429_retry_after_then_success(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.faults.add("POST /v1/ai/*", status=429, retry_after=0.2, times=1)
    cloudbase_local.faults.add("POST /v1/ai/*", status=503, times=1)
    async with cloudbase.ai.chat.completions.stream(model=MODEL, messages=[user("ok")]) as stream:
        final = await stream.get_final_completion()
        assert stream.response.retries_taken == 2
    assert final.content == "ok"

    cloudbase_local.faults.add("POST /v1/ai/*", status=429, retry_after=0.2, times=1)
    with pytest.raises(RateLimitError) as limited:
        await cloudbase.with_options(max_retries=0).ai.chat.completions.create(
            model=MODEL, messages=[user("x")]
        )
    assert (limited.value.code, limited.value.retry_after) == ("EXCEED_REQUEST_LIMIT", 0.2)


async def test_faults_error_in_a_200_body(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.faults.add(
        "POST /v1/ai/*", status=200, code="AI_MODEL_REQUEST_FAILED", message="upstream", times=2
    )
    with pytest.raises(InternalServerError) as plain:
        await cloudbase.ai.chat.completions.create(model=MODEL, messages=[user("x")])
    with pytest.raises(APIError) as streamed:
        await stream_all(cloudbase, [user("x")])
    assert (plain.value.code, plain.value.message) == ("AI_MODEL_REQUEST_FAILED", "upstream")
    assert streamed.value.code == "AI_MODEL_REQUEST_FAILED"


async def test_faults_cut_stall_and_malformed_streams(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.reply("one two three four five")
    cloudbase_local.faults.add("POST /v1/ai/*", cut_after=3)
    with pytest.raises(StreamInterruptedError) as cut:
        await stream_all(cloudbase, [user("x")])
    assert isinstance(cut.value.partial, ChatCompletion)
    assert cut.value.partial.content == "one two three "

    cloudbase_local.faults.add("POST /v1/ai/*", stall_after=2)
    with pytest.raises(APITimeoutError) as stalled:
        await stream_all(cloudbase, [user("x")], idle_timeout=0.5)
    assert isinstance(stalled.value.partial, ChatCompletion)
    assert stalled.value.partial.content == "one two "

    cloudbase_local.faults.add("POST /v1/ai/*", malformed_after=1)
    with pytest.raises(StreamError) as malformed:
        await stream_all(cloudbase, [user("x")])
    assert malformed.value.code == "MALFORMED_CHUNK"

    _, whole = await stream_all(cloudbase, [user("x")])  # every rule fired once
    assert whole.content == "one two three four five"


async def test_request_validation_on_the_wire(cloudbase_local: LocalCloudBase) -> None:
    auth = {"Authorization": f"Bearer {cloudbase_local.publishable_key}"}
    async with httpx.AsyncClient(base_url=cloudbase_local.url, headers=auth) as http:
        no_model = await http.post("/v1/ai/cloudbase/chat/completions", json={"messages": []})
        no_messages = await http.post("/v1/ai/cloudbase/chat/completions", json={"model": "m"})
        other_path = await http.post("/v1/ai/cloudbase/v1/messages", json={"model": "m"})
        legacy = await http.post(
            "/v1/ai/deepseek/v1/chat/completions",
            json={"model": "m", "messages": [user("hey")]},
        )
    assert (no_model.status_code, no_model.json()["code"]) == (400, "AI_MODEL_PARAM_REQUIRED")
    assert (no_messages.status_code, no_messages.json()["code"]) == (400, "AI_MODEL_PARAM_INVALID")
    assert other_path.json()["code"] == "AI_MODEL_NOT_SUPPORTED"
    assert legacy.json()["choices"][0]["message"]["content"] == "hey"


async def test_a_failing_script_is_a_model_error(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    def broken(messages: list[dict[str, Any]]) -> str:
        raise KeyError("oops")

    cloudbase_local.ai.reply(broken)
    with pytest.raises(InternalServerError) as failed:
        await cloudbase.with_options(max_retries=0).ai.chat.completions.create(
            model=MODEL, messages=[user("x")]
        )
    assert failed.value.code == "AI_MODEL_REQUEST_FAILED"
    with pytest.raises(TypeError):
        cloudbase_local.ai.reply(42)  # type: ignore[arg-type]
