"""Typed results of the OpenAI-compatible chat completion protocol.

Frozen, slotted attrs classes built by the shared cattrs converter. Every field a
provider may leave out has a default, so a sparse chunk (``{"choices": []}``) decodes;
every key a model does not declare is kept in its ``extra`` dict (Hunyuan's
``search_info``, ``processes``, ``version``; whatever a provider adds next).
``reasoning_content`` (DeepSeek-R1 style reasoning models) is a declared field.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "FunctionCall",
    "FunctionCallDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


@attrs.frozen
class Usage:
    """Token counts. Providers differ in when they send it; see the stream docs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


# -- streamed chunks --------------------------------------------------------------


@attrs.frozen
class FunctionCallDelta:
    """A fragment of a tool call's function: ``arguments`` arrives in pieces."""

    name: str | None = None
    arguments: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ToolCallDelta:
    """A fragment of one tool call; fragments with the same ``index`` belong together.

    ``index`` is ``None`` when a provider leaves it out; a new ``id`` then starts a call.
    """

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ChoiceDelta:
    """What one chunk adds to a choice's message."""

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ChunkChoice:
    index: int = 0
    delta: ChoiceDelta = attrs.field(factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ChatCompletionChunk:
    """One ``chat.completion.chunk`` of a stream."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = attrs.field(factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


# -- whole completions --------------------------------------------------------------


@attrs.frozen
class FunctionCall:
    name: str = ""
    arguments: str = ""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ToolCall:
    """A complete tool call; ``function.arguments`` is the JSON text the model wrote."""

    id: str = ""
    type: str = "function"
    function: FunctionCall = attrs.field(factory=FunctionCall)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ChatCompletionMessage:
    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Choice:
    index: int = 0
    message: ChatCompletionMessage = attrs.field(factory=ChatCompletionMessage)
    finish_reason: str | None = None
    logprobs: Any = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ChatCompletion:
    """A ``chat.completion``: returned by ``create()`` or assembled from a stream.

    ``request_id`` is the gateway's id for the call (quote it to support).
    """

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = attrs.field(factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)
    #: The gateway's id for the call that produced this (not part of the JSON body).
    request_id: str | None = attrs.field(default=None, eq=False, kw_only=True)

    @property
    def content(self) -> str | None:
        """The first choice's message text (``None`` when there is no choice or text)."""
        return self.choices[0].message.content if self.choices else None
