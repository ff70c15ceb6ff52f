"""The events of a tool run, its error, and the pure bookkeeping of its conversation
(usage sums, the assistant and ``tool`` messages in the protocol's shape)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias

import attrs

from .._core.errors import CloudBaseError
from ._models import ChatCompletion, ChatCompletionMessage, ToolCall, Usage
from ._tools import ToolError

__all__ = [
    "FinalCompletion",
    "MaxStepsExceededError",
    "Message",
    "ReasoningDelta",
    "StepFinished",
    "TextDelta",
    "ToolCallStarted",
    "ToolErrorPolicy",
    "ToolResult",
    "ToolRunEvent",
    "add_usage",
    "assistant_message",
    "tool_message",
    "with_ids",
]

#: What happens when a call fails (bad arguments, unknown tool, the tool raised):
#: ``"report"`` sends the error's message to the model as the call's result, ``"raise"``
#: ends the run with the :class:`~cloudbase_async.ai.ToolError`; a callable returns
#: the text to send (or raises to end the run).
ToolErrorPolicy: TypeAlias = Literal["report", "raise"] | Callable[[ToolError], str]

Message: TypeAlias = dict[str, Any]


# -- events -----------------------------------------------------------------------------


@attrs.frozen
class TextDelta:
    """A piece of the assistant's text in step ``step`` (steps count from 1)."""

    step: int
    text: str


@attrs.frozen
class ReasoningDelta:
    """A piece of the model's ``reasoning_content`` in step ``step``."""

    step: int
    text: str


@attrs.frozen
class ToolCallStarted:
    """A tool call is taken up (this event is read before the call runs):
    ``arguments`` is the JSON text the model wrote; ``index`` its position in the
    model's list of calls for this step."""

    step: int
    index: int
    id: str
    name: str
    arguments: str


@attrs.frozen
class ToolResult:
    """A tool call ended. ``content`` is what the model gets; ``value`` what the
    function returned (``None`` if it failed); ``error`` the
    :class:`~cloudbase_async.ai.ToolError` when it failed and was reported."""

    step: int
    index: int
    id: str
    name: str
    content: str
    value: Any = None
    error: ToolError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class StepFinished:
    """A step ended: its completion (``usage`` is this step's), and the results of
    the tools it called, in the model's order (empty for the answer)."""

    step: int
    completion: ChatCompletion
    results: tuple[ToolResult, ...] = ()

    @property
    def usage(self) -> Usage | None:
        return self.completion.usage


@attrs.frozen
class FinalCompletion:
    """The run ended with an answer: the last completion, and ``usage`` summed over
    every step that reported one."""

    completion: ChatCompletion
    usage: Usage | None
    steps: int


ToolRunEvent: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallStarted | ToolResult | StepFinished | FinalCompletion
)


class MaxStepsExceededError(CloudBaseError):
    """The model still asked for tools after ``max_steps`` completions.

    The tools of the last step have run, so ``messages`` is a whole conversation:
    continue it with ``run_tools(messages=error.messages, ...)``. ``usage`` is summed
    over the steps; ``completion`` is the last one.
    """

    messages: list[Message]
    steps: int
    usage: Usage | None
    completion: ChatCompletion

    def __init__(
        self,
        message: str,
        *,
        messages: list[Message],
        steps: int,
        usage: Usage | None,
        completion: ChatCompletion,
    ) -> None:
        super().__init__(message)
        self.messages = messages
        self.steps = steps
        self.usage = usage
        self.completion = completion


# -- pure helpers -------------------------------------------------------------------------


def add_usage(total: Usage | None, usage: Usage | None) -> Usage | None:
    """``total + usage`` (token counts; provider-specific ``extra`` is not summed)."""
    if usage is None:
        return total
    if total is None:
        return Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    return Usage(
        total.prompt_tokens + usage.prompt_tokens,
        total.completion_tokens + usage.completion_tokens,
        total.total_tokens + usage.total_tokens,
    )


def with_ids(calls: Sequence[ToolCall], step: int) -> list[ToolCall]:
    # A tool message answers a call by its id: a provider that sends none gets one.
    return [
        call if call.id else attrs.evolve(call, id=f"tool_{step}_{index}")
        for index, call in enumerate(calls)
    ]


def assistant_message(message: ChatCompletionMessage, calls: Sequence[ToolCall]) -> Message:
    """The assistant's turn as the protocol takes it back (reasoning is not sent)."""
    if not calls:
        return {"role": "assistant", "content": message.content or ""}
    return {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": call.id,
                "type": call.type or "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in calls
        ],
    }


def tool_message(result: ToolResult) -> Message:
    return {"role": "tool", "tool_call_id": result.id, "content": result.content}
