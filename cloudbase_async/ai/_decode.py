"""Decoding chunks fast, and assembling a completion from them.

Chunks are the hot path of a stream (tens of thousands per second), so the chunk
classes get hand-written structure hooks, registered on the shared cattrs converter:
cattrs' generated functions are generic (union dispatch, a copy per ``extra`` level)
and cost about three times more per chunk. Everything rarer (tool-call fragments, whole
completions) goes through the converter's generated code.

:class:`ChatCompletionAccumulator` is pure: ``add(chunk)`` for each chunk, ``result()``
for the completion so far. It is what a stream's ``get_final_completion()`` returns and
what errors carry as ``partial``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
from cattrs.gen import make_dict_unstructure_fn, override

from .._core.convert import converter
from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    FunctionCall,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["ChatCompletionAccumulator", "structure_chunk"]


def _known(cls: type) -> frozenset[str]:
    return frozenset(a.name for a in attrs.fields(cls)) - {"extra"}


_CHUNK_KEYS: Final = _known(ChatCompletionChunk)
_CHOICE_KEYS: Final = _known(ChunkChoice)
_DELTA_KEYS: Final = _known(ChoiceDelta)
_USAGE_KEYS: Final = _known(Usage)


def _str(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _int(value: Any) -> int:
    return value if type(value) is int else int(value or 0)


def _extra(data: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in known}


def _structure_usage(data: Mapping[str, Any]) -> Usage:
    return Usage(
        _int(data.get("prompt_tokens")),
        _int(data.get("completion_tokens")),
        _int(data.get("total_tokens")),
        {} if _USAGE_KEYS.issuperset(data) else _extra(data, _USAGE_KEYS),
    )


def _structure_delta(data: Mapping[str, Any]) -> ChoiceDelta:
    if len(data) == 1 and "content" in data:  # the common case: a bare content delta
        return ChoiceDelta(None, _str(data["content"]))
    tool_calls = data.get("tool_calls")
    return ChoiceDelta(
        _str(data.get("role")),
        _str(data.get("content")),
        _str(data.get("reasoning_content")),
        converter.structure(tool_calls, list[ToolCallDelta]) if tool_calls else None,
        {} if _DELTA_KEYS.issuperset(data) else _extra(data, _DELTA_KEYS),
    )


def _structure_choice(data: Mapping[str, Any]) -> ChunkChoice:
    get = data.get
    delta = get("delta")
    index = get("index", 0)
    finish = get("finish_reason")
    if not delta:
        delta = ChoiceDelta()
    elif len(delta) == 1 and "content" in delta:  # the common case: a bare content delta
        content = delta["content"]
        delta = ChoiceDelta(
            None, content if content is None or type(content) is str else str(content)
        )
    else:
        delta = _structure_delta(delta)
    return ChunkChoice(
        index if type(index) is int else int(index or 0),
        delta,
        finish if finish is None or type(finish) is str else str(finish),
        get("logprobs"),
        {} if _CHOICE_KEYS.issuperset(data) else _extra(data, _CHOICE_KEYS),
    )


def structure_chunk(data: Mapping[str, Any]) -> ChatCompletionChunk:
    """A decoded ``chat.completion.chunk`` object as a :class:`ChatCompletionChunk`.

    Raises ``TypeError``/``ValueError``/``AttributeError`` for shapes that are not one.
    (Written out by hand, with the type checks inline: this runs once per chunk.)
    """
    get = data.get
    choices = get("choices")
    usage = get("usage")
    chunk_id = get("id", "")
    kind = get("object", "chat.completion.chunk")
    created = get("created", 0)
    model = get("model", "")
    return ChatCompletionChunk(
        chunk_id if type(chunk_id) is str else str(chunk_id or ""),
        kind if type(kind) is str else str(kind or ""),
        created if type(created) is int else int(created or 0),
        model if type(model) is str else str(model or ""),
        [_structure_choice(choice) for choice in choices] if choices else [],
        _structure_usage(usage) if usage else None,
        _str(get("system_fingerprint")),
        {} if _CHUNK_KEYS.issuperset(data) else _extra(data, _CHUNK_KEYS),
    )


converter.register_structure_hook(ChatCompletionChunk, lambda data, _: structure_chunk(data))
converter.register_structure_hook(ChunkChoice, lambda data, _: _structure_choice(data))
converter.register_structure_hook(ChoiceDelta, lambda data, _: _structure_delta(data))
converter.register_structure_hook(Usage, lambda data, _: _structure_usage(data))


def _unstructure_completion() -> Any:
    # `request_id` is ours, not the protocol's: keep it out of the JSON form.
    omit: dict[str, Any] = {"extra": override(omit=True), "request_id": override(omit=True)}
    base = make_dict_unstructure_fn(ChatCompletion, converter, **omit)

    def unstructure_completion(obj: ChatCompletion) -> dict[str, Any]:
        data: dict[str, Any] = base(obj)
        data.update(obj.extra)
        return data

    return unstructure_completion


converter.register_unstructure_hook(ChatCompletion, _unstructure_completion())


# -- accumulation -------------------------------------------------------------------


class _ToolCallParts:
    __slots__ = ("arguments", "extra", "id", "name", "type")

    def __init__(self) -> None:
        self.id = ""
        self.type = "function"
        self.name = ""
        self.arguments: list[str] = []
        self.extra: dict[str, Any] = {}

    def add(self, delta: ToolCallDelta) -> None:
        if delta.id and not self.id:
            self.id = delta.id
        if delta.type:
            self.type = delta.type
        function = delta.function
        if function is not None:
            # Names arrive whole (in the first fragment); arguments in pieces.
            if function.name and not self.name:
                self.name = function.name
            if function.arguments:
                self.arguments.append(function.arguments)
        if delta.extra:
            self.extra.update(delta.extra)

    def result(self) -> ToolCall:
        return ToolCall(
            self.id,
            self.type,
            FunctionCall(self.name, "".join(self.arguments)),
            dict(self.extra),
        )


class _ChoiceParts:
    __slots__ = ("content", "extra", "finish_reason", "reasoning", "role", "tools")

    def __init__(self) -> None:
        self.role = "assistant"
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tools: dict[int, _ToolCallParts] = {}
        self.finish_reason: str | None = None
        self.extra: dict[str, Any] = {}

    def add_tool_call(self, delta: ToolCallDelta) -> None:
        tools = self.tools
        index = delta.index
        if index is None:
            # No index (some providers): a new id starts a new call, else continue the last.
            last = tools[max(tools)] if tools else None
            if last is None or (delta.id and last.id and delta.id != last.id):
                index = max(tools) + 1 if tools else 0
            else:
                index = max(tools)
        parts = tools.get(index)
        if parts is None:
            parts = tools[index] = _ToolCallParts()
        parts.add(delta)

    def result(self, index: int) -> Choice:
        tools = self.tools
        message = ChatCompletionMessage(
            self.role,
            "".join(self.content) if self.content else None,
            "".join(self.reasoning) if self.reasoning else None,
            [tools[i].result() for i in sorted(tools)] if tools else None,
            dict(self.extra),
        )
        return Choice(index, message, self.finish_reason)


class ChatCompletionAccumulator:
    """Assembles streamed chunks into a :class:`ChatCompletion` (pure, no I/O).

    Per choice index: content and ``reasoning_content`` concatenated, every tool call
    assembled by its own index (parallel calls included), the finish reason, and the
    delta's unknown fields (last value wins); log probabilities are not assembled.
    Across chunks: the first id/model/created, the last ``system_fingerprint``,
    the **last** usage seen (cumulative per chunk for Hunyuan, final-only for Zhipu
    and OpenAI's ``include_usage``), and the chunks' unknown fields (last value wins).
    """

    __slots__ = (
        "_choices",
        "_created",
        "_extra",
        "_fingerprint",
        "_id",
        "_model",
        "_usage",
        "chunks",
        "request_id",
    )

    def __init__(self, request_id: str | None = None) -> None:
        self.request_id = request_id
        self._id = ""
        self._model = ""
        self._created = 0
        self._choices: dict[int, _ChoiceParts] = {}
        self._usage: Usage | None = None
        self._fingerprint: str | None = None
        self._extra: dict[str, Any] = {}
        self.chunks = 0

    def add(self, chunk: ChatCompletionChunk) -> None:
        self.chunks += 1
        if not self._id:
            self._id = chunk.id
            self._model = chunk.model
            self._created = chunk.created
        choices = self._choices
        for choice in chunk.choices:
            parts = choices.get(choice.index)
            if parts is None:
                parts = choices[choice.index] = _ChoiceParts()
            delta = choice.delta
            if delta.content:
                parts.content.append(delta.content)
            if delta.reasoning_content:
                parts.reasoning.append(delta.reasoning_content)
            if delta.role:
                parts.role = delta.role
            if delta.tool_calls:
                for call in delta.tool_calls:
                    parts.add_tool_call(call)
            if delta.extra:
                parts.extra.update(delta.extra)
            if choice.finish_reason is not None:
                parts.finish_reason = choice.finish_reason
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.system_fingerprint is not None:
            self._fingerprint = chunk.system_fingerprint
        if chunk.extra:
            self._extra.update(chunk.extra)

    @property
    def finished(self) -> bool:
        """Every choice seen so far has a finish reason (and there is at least one)."""
        choices = self._choices
        return bool(choices) and all(p.finish_reason is not None for p in choices.values())

    def result(self) -> ChatCompletion:
        """The completion assembled so far (call it any time; it copies)."""
        choices = self._choices
        return ChatCompletion(
            self._id,
            "chat.completion",
            self._created,
            self._model,
            [choices[i].result(i) for i in sorted(choices)],
            self._usage,
            self._fingerprint,
            dict(self._extra),
            request_id=self.request_id,
        )
