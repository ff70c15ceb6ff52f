"""Pure pieces of the AI module: chunk decoding and the accumulator."""

from __future__ import annotations

from cloudbase_async._core.convert import structure, unstructure
from cloudbase_async.ai import (
    ChatCompletionAccumulator,
    ChatCompletionChunk,
    Usage,
    structure_chunk,
)
from tests.test_ai import chunk


def test_chunk_decoding_matches_the_generic_converter() -> None:
    data = {
        **chunk("hi", role="assistant", reasoning_content="r", extra_delta=1),
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "cached": 0},
        "system_fingerprint": None,
    }
    decoded = structure_chunk(data)
    assert structure(data, ChatCompletionChunk) == decoded
    assert decoded.choices[0].delta.extra == {"extra_delta": 1}
    assert decoded.usage is not None
    assert decoded.usage.extra == {"cached": 0}
    assert unstructure(decoded)["system_fingerprint"] is None


def test_accumulator_usage_last_wins_and_choices_by_index() -> None:
    acc = ChatCompletionAccumulator()
    for data in (
        chunk("a", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
        chunk("x", index=1),
        chunk("b", usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
        chunk(finish="length", index=1),
    ):
        acc.add(structure_chunk(data))
    assert not acc.finished
    result = acc.result()
    assert [c.message.content for c in result.choices] == ["ab", "x"]
    assert [c.finish_reason for c in result.choices] == [None, "length"]
    assert result.usage == Usage(1, 2, 3)
    acc.add(structure_chunk(chunk(finish="stop")))
    assert acc.finished
    assert acc.chunks == 5


def test_accumulator_tool_calls_without_index_split_on_new_id() -> None:
    acc = ChatCompletionAccumulator()
    for call in (
        {"id": "a", "function": {"name": "f", "arguments": "{"}},
        {"function": {"arguments": "}"}},
        {"id": "b", "function": {"name": "g", "arguments": "[]"}},
    ):
        acc.add(structure_chunk(chunk(tool_calls=[call])))
    calls = acc.result().choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("a", "f", "{}"),
        ("b", "g", "[]"),
    ]
