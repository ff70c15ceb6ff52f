"""A tool run: stream a completion; when it ends with tool calls, run the tools, append
the assistant message and one ``tool`` message per call, and stream the next
completion, until the model answers or ``max_steps`` completions were made.

:class:`ToolRun` is an async context manager and an async iterator of typed events,
with the lifecycle of every stream here: the reader drives it. Each ``__anext__``
does the next piece of work (open a step's stream, read a chunk, run the step's
tools) until it has an event to return, and nothing runs between two reads. So the
run holds no task, task group or cancel scope across reads, and an ``async with`` of
it may span a ``yield`` (an async generator relaying it to a browser) or be closed
from another task by the garbage collector's hook, which a task group open for the
block's lifetime would not survive. The price: the tools of a parallel step run
inside one read, so their :class:`ToolResult` events come together once the last
one ended (their :class:`ToolCallStarted` events come first, before any runs).

Leaving the block in any way closes the model stream at once (shielded, as every
stream here). A cancellation while tools run cancels them and waits for them within
the read it interrupted, so no task outlives it; the run then cannot go on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self

import anyio

from .._core.errors import InvalidRequestError, StreamClosedError
from .._core.lifecycle import AsyncCloseable
from ._events import (
    FinalCompletion,
    MaxStepsExceededError,
    Message,
    ReasoningDelta,
    StepFinished,
    TextDelta,
    ToolCallStarted,
    ToolErrorPolicy,
    ToolResult,
    ToolRunEvent,
    add_usage,
    assistant_message,
    tool_message,
    with_ids,
)
from ._models import ChatCompletion, ChatCompletionMessage, ToolCall, Usage
from ._streams import ChatCompletionStream
from ._tools import Tool, ToolError, UnknownToolError

__all__ = ["ToolRun"]


def _toolset(tools: Iterable[Tool[..., Any]]) -> dict[str, Tool[..., Any]]:
    named: dict[str, Tool[..., Any]] = {}
    for item in tools:
        if not isinstance(item, Tool):
            raise InvalidRequestError(
                f"run_tools() runs Tool objects (from @tool), got {item!r:.80}. A raw "
                "definition has no function to run: tool(fn, name=..., parameters={...})."
            )
        if item.name in named:
            raise InvalidRequestError(f"Two tools are named {item.name!r}.")
        named[item.name] = item
    if not named:
        raise InvalidRequestError("run_tools() needs at least one tool.")
    return named


def _positive(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{what} must be an int >= 1, got {value!r}.")
    return value


# -- the run ---------------------------------------------------------------------------


class ToolRun(AsyncCloseable):
    """A multi-step tool run: ``async with cb.ai.chat.completions.run_tools(...) as run``.

    ``async for event in run`` yields :data:`ToolRunEvent` items, in order:
    :class:`TextDelta` and :class:`ReasoningDelta` while the model streams; for each
    tool call a :class:`ToolCallStarted` and a :class:`ToolResult` (in the model's
    order; a parallel step's calls all start before their results come); a
    :class:`StepFinished` per step; a :class:`FinalCompletion` at the end.
    ``text_stream`` yields only the text; ``get_final_completion()`` reads to the end
    and returns the answer; ``messages`` is the conversation so far (the input, then
    each assistant message and its ``tool`` messages); ``usage`` is summed over steps.

    Failures come out of the iteration as themselves: the stream's errors
    (:class:`~cloudbase_async.APIError`, :class:`~cloudbase_async.StreamError`...),
    a :class:`~cloudbase_async.ai.ToolError` under ``on_tool_error="raise"``, and
    :class:`MaxStepsExceededError`; the model stream is closed before they are
    raised, and ``messages`` stays readable afterwards.
    """

    __slots__ = (
        "_announced",
        "_batch",
        "_calls",
        "_closed",
        "_completion",
        "_definitions",
        "_done",
        "_entered",
        "_events",
        "_failure",
        "_final",
        "_interrupted",
        "_max_parallel",
        "_max_steps",
        "_messages",
        "_on_tool_error",
        "_open_step",
        "_parallel",
        "_results",
        "_steps",
        "_stream",
        "_tools",
        "_usage",
    )

    def __init__(
        self,
        open_step: Callable[[list[Message], list[dict[str, Any]]], ChatCompletionStream],
        messages: Iterable[Mapping[str, Any]],
        tools: Iterable[Tool[..., Any]],
        *,
        max_steps: int = 8,
        parallel: bool = True,
        max_parallel: int = 4,
        on_tool_error: ToolErrorPolicy = "report",
    ) -> None:
        if on_tool_error not in ("report", "raise") and not callable(on_tool_error):
            raise InvalidRequestError(
                f"on_tool_error must be 'report', 'raise' or a function, got {on_tool_error!r}."
            )
        self._open_step = open_step
        self._messages: list[Message] = [dict(m) for m in messages]
        self._tools = _toolset(tools)
        self._definitions = [t.definition for t in self._tools.values()]
        self._max_steps = _positive(max_steps, "max_steps")
        self._max_parallel = _positive(max_parallel, "max_parallel")
        self._parallel = parallel
        self._on_tool_error = on_tool_error
        # Lifecycle.
        self._entered = False
        self._closed = False
        self._interrupted = False
        self._done = False
        self._failure: Exception | None = None
        # Progress: the open stream of a step, or the calls of a step left to run.
        self._stream: ChatCompletionStream | None = None
        self._completion: ChatCompletion | None = None
        self._calls: deque[tuple[int, ToolCall]] = deque()
        self._batch = False  # the step's calls run together
        self._announced = False  # the next call's ToolCallStarted went out
        self._results: list[ToolResult] = []
        self._events: deque[ToolRunEvent] = deque()
        # Results.
        self._final: ChatCompletion | None = None
        self._usage: Usage | None = None
        self._steps = 0

    # -- the block ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise StreamClosedError("A tool run can be entered only once.")
        self._entered = True
        return self

    async def aclose(self) -> None:
        """End the run now (idempotent): the model stream is closed, shielded."""
        self._closed = True
        await self._close_stream()

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    # -- reading -------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ToolRunEvent:
        if not self._entered:
            raise StreamClosedError("The run is not open: use `async with ... as run:`.")
        if self._closed:
            raise StreamClosedError("This run is closed (its `async with` block ended).")
        if self._interrupted:
            raise StreamClosedError("This run was interrupted (cancelled) and cannot go on.")
        events = self._events
        while not events:
            if self._done:
                if self._failure is not None:
                    raise self._failure
                raise StopAsyncIteration
            try:
                await self._advance()
            except Exception as exc:  # the run failed: later reads raise it again
                self._done, self._failure = True, exc
                await self._close_stream()
                raise
            except BaseException:  # a cancellation: whatever was half done is dropped
                self._interrupted = True
                await self._close_stream()
                raise
        return events.popleft()

    async def _advance(self) -> None:
        """The next piece of work: it queues events, or ends the run."""
        if self._stream is not None:
            await self._read()
        elif self._calls:
            await self._run_calls()
        elif self._steps < self._max_steps:
            stream = self._open_step(list(self._messages), self._definitions)
            await stream.__aenter__()
            self._stream = stream
        else:
            assert self._completion is not None  # max_steps >= 1 steps ended
            raise MaxStepsExceededError(
                f"The model still asked for tools after max_steps={self._max_steps} steps: "
                "raise max_steps, or continue with run_tools(messages=error.messages, ...).",
                messages=list(self._messages),
                steps=self._steps,
                usage=self._usage,
                completion=self._completion,
            )

    async def _read(self) -> None:
        """One chunk of the step's stream: choice 0's text and reasoning."""
        stream = self._stream
        assert stream is not None
        step = self._steps + 1
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            completion = await stream.get_final_completion()
            await self._close_stream()
            self._step_streamed(step, completion)
            return
        for choice in chunk.choices:
            if choice.index == 0:
                delta = choice.delta
                if delta.reasoning_content:
                    self._events.append(ReasoningDelta(step, delta.reasoning_content))
                if delta.content:
                    self._events.append(TextDelta(step, delta.content))

    def _step_streamed(self, step: int, completion: ChatCompletion) -> None:
        """A step's completion arrived: the assistant message, then its calls or the end."""
        self._steps, self._completion = step, completion
        self._usage = add_usage(self._usage, completion.usage)
        choices = completion.choices
        message = choices[0].message if choices else ChatCompletionMessage()
        calls = with_ids(message.tool_calls or [], step)
        self._messages.append(assistant_message(message, calls))
        if not calls:
            self._final, self._done = completion, True
            self._events.append(StepFinished(step, completion))
            self._events.append(FinalCompletion(completion, self._usage, step))
            return
        self._calls.extend(enumerate(calls))
        self._results = []
        self._batch = self._parallel and len(calls) > 1
        if self._batch:  # announced together, before any of them runs
            self._events.extend(self._started(index, call) for index, call in self._calls)

    async def _run_calls(self) -> None:
        """A parallel step's calls all at once; otherwise the next call, announced
        first (its ToolCallStarted is read before it runs)."""
        if self._batch:
            batch = list(self._calls)
            self._calls.clear()
            results = await self._run_batch(batch)
        else:
            index, call = self._calls[0]
            if not self._announced:
                self._announced = True
                self._events.append(self._started(index, call))
                return
            self._announced = False
            self._calls.popleft()
            results = [await self._call(index, call)]
        self._results.extend(results)
        self._events.extend(results)
        if not self._calls:
            step_results = tuple(self._results)
            self._messages.extend(tool_message(result) for result in step_results)
            assert self._completion is not None
            self._events.append(StepFinished(self._steps, self._completion, step_results))

    async def _run_batch(self, calls: Sequence[tuple[int, ToolCall]]) -> list[ToolResult]:
        """At most ``max_parallel`` calls at once, started in the model's order: that
        many workers take the next call from one shared iterator. A failing call (only
        under ``on_tool_error="raise"``) cancels the others and is raised."""
        results: dict[int, ToolResult] = {}
        pending = iter(calls)
        failures: list[Exception] = []
        async with anyio.create_task_group() as group:

            async def worker() -> None:
                for index, call in pending:
                    try:
                        results[index] = await self._call(index, call)
                    except Exception as exc:  # raised by the policy: end the step
                        failures.append(exc)
                        group.cancel_scope.cancel()
                        return

            for _ in range(min(self._max_parallel, len(calls))):
                group.start_soon(worker)
        if failures:
            raise failures[0]
        return [results[index] for index, _ in calls]

    def _started(self, index: int, call: ToolCall) -> ToolCallStarted:
        step = self._steps
        return ToolCallStarted(step, index, call.id, call.function.name, call.function.arguments)

    async def _call(self, index: int, call: ToolCall) -> ToolResult:
        step, name = self._steps, call.function.name
        tool = self._tools.get(name)
        try:
            if tool is None:
                raise UnknownToolError(
                    f"Unknown tool {name!r}. Available tools: {', '.join(self._tools)}.",
                    tool=name,
                )
            value = await tool.invoke(call.function.arguments)
            return ToolResult(step, index, call.id, name, tool.render(value), value)
        except ToolError as error:
            error.call = call
            return ToolResult(step, index, call.id, name, self._report(error), None, error)

    def _report(self, error: ToolError) -> str:
        policy = self._on_tool_error
        if policy == "report":
            return str(error)
        if policy == "raise":
            raise error
        assert callable(policy)
        return policy(error)

    # -- the rest of the reading API -----------------------------------------------------

    @property
    def text_stream(self) -> _TextStream:
        """The assistant's text deltas of every step, as they arrive."""
        return _TextStream(self)

    async def until_done(self) -> None:
        """Read the run to its end (the events are dropped)."""
        async for _ in self:
            pass

    async def get_final_completion(self) -> ChatCompletion:
        """Read to the end and return the answer (the last step's completion; its
        ``usage`` is that step's, ``run.usage`` the sum). Works after the block if the
        run had ended."""
        if not self._done:
            await self.until_done()
        if self._failure is not None:
            raise self._failure
        assert self._final is not None  # done without a failure: answered
        return self._final

    @property
    def messages(self) -> list[Message]:
        """The conversation so far, in the protocol's order (a new list each time)."""
        return list(self._messages)

    @property
    def usage(self) -> Usage | None:
        """Token counts summed over the steps so far (``None`` if none reported any)."""
        return self._usage

    @property
    def steps(self) -> int:
        """How many completions have ended so far."""
        return self._steps


class _TextStream:
    """``async for text in run.text_stream`` (a class, not an async generator, so
    that abandoning it leaves nothing for the garbage collector)."""

    __slots__ = ("_run",)

    def __init__(self, run: ToolRun) -> None:
        self._run = run

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        while True:
            event = await self._run.__anext__()
            if isinstance(event, TextDelta):
                return event.text
