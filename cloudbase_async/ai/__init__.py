"""The AI model API: OpenAI-compatible chat completions (plain and streamed) at
``/v1/ai/{provider}/{path}``, plus raw JSON and raw event access for other protocols.

>>> completion = await cb.ai.chat.completions.create(model="hy3-preview", messages=[...])
>>> async with cb.ai.chat.completions.stream(model="hy3-preview", messages=[...]) as s:
...     async for text in s.text_stream:
...         print(text, end="")

Tool runs: Python functions as tools (:func:`tool`), and a streamed multi-step loop
that runs them (``run_tools``)::

    @tool
    async def get_weather(city: Annotated[str, "A city"]) -> dict[str, object]:
        '''The current weather in a city.'''

    async with cb.ai.chat.completions.run_tools(
        model="hy3-preview", messages=[...], tools=[get_weather]
    ) as run:
        async for event in run:
            ...                     # TextDelta, ToolCallStarted, ToolResult...
    run.messages                    # the whole conversation
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from .._core.codec import body_error
from .._core.errors import InvalidRequestError
from .._core.paths import segment, subpath
from .._core.responses import Response
from .._core.service import Service
from .._core.sse import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_EVENT_SIZE, stream_timeout
from .._core.transport import Request, Transport
from .._core.types import Timeout
from ._decode import ChatCompletionAccumulator, structure_chunk
from ._events import (
    FinalCompletion,
    MaxStepsExceededError,
    ReasoningDelta,
    StepFinished,
    TextDelta,
    ToolCallStarted,
    ToolErrorPolicy,
    ToolResult,
    ToolRunEvent,
)
from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    FunctionCall,
    FunctionCallDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ._runner import ToolRun
from ._schema import Param
from ._streams import AIEventStream, ChatCompletionStream
from ._tools import (
    Tool,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolExecutionError,
    UnknownToolError,
    tool,
)

__all__ = [
    "AI",
    "AIEventStream",
    "Chat",
    "ChatCompletion",
    "ChatCompletionAccumulator",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionStream",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "Completions",
    "FinalCompletion",
    "FunctionCall",
    "FunctionCallDelta",
    "MaxStepsExceededError",
    "Param",
    "ReasoningDelta",
    "StepFinished",
    "TextDelta",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallStarted",
    "ToolDefinitionError",
    "ToolError",
    "ToolErrorPolicy",
    "ToolExecutionError",
    "ToolResult",
    "ToolRun",
    "ToolRunEvent",
    "UnknownToolError",
    "Usage",
    "structure_chunk",
    "tool",
]

DEFAULT_PROVIDER: Final = "cloudbase"
CHAT_PATH: Final = "chat/completions"

_PROVIDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STREAM_HEADERS: Final = {"Accept": "text/event-stream"}
# Retries for model calls. A POST to a model is not safe to repeat once the model may
# have run (it costs tokens and may act on tool calls). But a 408/429/5xx *status*
# arriving before any of the body means the gateway or the model group refused the call
# and no answer was produced: repeating it is what the caller wants, and honouring
# Retry-After is what the gateway asks. So: retry on those statuses (via
# `retry_on_status`), never after a connection broke mid-request, never once a stream's
# body has started (the transport returns a 2xx stream before reading any of it).
_RETRY_ON_STATUS: Final = True


def _ai_path(provider: str, path: str) -> str:
    if not isinstance(provider, str) or not _PROVIDER.fullmatch(provider):
        raise InvalidRequestError(
            f"Invalid provider {provider!r}: a model group name such as 'cloudbase', "
            "'hunyuan-exp' or 'deepseek'."
        )
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidRequestError(
            f"Invalid AI path {path!r}: expected something like 'chat/completions', "
            "'v1/messages' or 'responses'."
        )
    return f"/{segment(provider, 'provider')}{subpath(path.strip('/'), 'the AI path')}"


def _chat_body(
    model: str | None, messages: Iterable[Mapping[str, Any]] | None, params: dict[str, Any]
) -> dict[str, Any]:
    if not model or not isinstance(model, str):
        raise InvalidRequestError(
            "model is required: pass model='...' (for example 'hy3-preview'); the "
            "gateway answers AI_MODEL_PARAM_REQUIRED without it."
        )
    if messages is None:
        raise InvalidRequestError("messages is required: a list of {'role', 'content'} dicts.")
    return {**params, "model": model, "messages": list(messages)}


def _call(
    transport: Transport,
    provider: str,
    path: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None,
    timeout: Timeout,
    idle_timeout: float | None = None,
    stream: bool = False,
) -> Request:
    """One model call, ``POST /v1/ai/{provider}/{path}``; retried only when a refusing
    status arrived before any answer. A stream sends ``"stream": true`` and
    ``Accept: text/event-stream``, with its read timeout lowered to ``idle_timeout``
    (see ``EventSource``)."""
    request = Request(
        "POST",
        "ai",
        _ai_path(provider, path),
        json={**body, "stream": True} if stream else body,
        headers={**(headers or {}), **_STREAM_HEADERS} if stream else dict(headers or {}),
        retry_on_status=_RETRY_ON_STATUS,
        timeout=timeout,
    )
    if not stream:
        return request
    return attrs.evolve(request, timeout=stream_timeout(transport.timeout(request), idle_timeout))


class Completions(Service):
    """``cb.ai.chat.completions``: the OpenAI Chat Completions protocol."""

    __slots__ = ()

    async def create(
        self,
        *,
        model: str | None = None,
        messages: Iterable[Mapping[str, Any]] | None = None,
        provider: str = DEFAULT_PROVIDER,
        path: str = CHAT_PATH,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> ChatCompletion:
        """Run a chat completion and return it whole.

        Every other keyword (``temperature``, ``tools``, ``tool_choice``,
        ``response_format``...) is sent as is. ``path="v1/chat/completions"`` for
        model groups that document that path. A 200 body whose ``code`` is not
        ``NORMAL`` raises the mapped :class:`~cloudbase_async.APIError`.
        """
        if params.get("stream"):
            raise InvalidRequestError("create() does not stream; use stream() instead.")
        body = _chat_body(model, messages, params)
        request = _call(self._transport, provider, path, body, headers=headers, timeout=timeout)
        return await self._model(request, ChatCompletion)

    def stream(
        self,
        *,
        model: str | None = None,
        messages: Iterable[Mapping[str, Any]] | None = None,
        provider: str = DEFAULT_PROVIDER,
        path: str = CHAT_PATH,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> ChatCompletionStream:
        """Stream a chat completion: ``async with ... .stream(...) as stream``.

        Sends ``"stream": true`` and ``Accept: text/event-stream``. ``idle_timeout``
        bounds the silence between events (keep-alive comments do not count; ``None``
        disables it); ``max_event_size`` bounds one event. ``timeout`` is the usual
        per-call timeout (connect, and each read). See :class:`ChatCompletionStream`.
        """
        request = _call(
            self._transport,
            provider,
            path,
            _chat_body(model, messages, params),
            headers=headers,
            timeout=timeout,
            idle_timeout=idle_timeout,
            stream=True,
        )
        return ChatCompletionStream(
            self._transport, request, idle_timeout=idle_timeout, max_event_size=max_event_size
        )

    def run_tools(
        self,
        *,
        model: str | None = None,
        messages: Iterable[Mapping[str, Any]] | None = None,
        tools: Iterable[Tool[..., Any]],
        max_steps: int = 8,
        parallel: bool = True,
        max_parallel: int = 4,
        on_tool_error: ToolErrorPolicy = "report",
        provider: str = DEFAULT_PROVIDER,
        path: str = CHAT_PATH,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> ToolRun:
        """Stream completions and run the tools they call, until the model answers:
        ``async with ... .run_tools(...) as run: async for event in run``.

        Each step streams a completion (as :meth:`stream`, with the same ``provider``,
        ``path``, bounds and ``params``; ``tools`` are sent as their definitions). When
        it ends with tool calls, they run (several at once, at most ``max_parallel``,
        when ``parallel``; one after the other otherwise), then the assistant message
        and one ``tool`` message per call, in the model's order, are appended and the
        next step starts. More than ``max_steps`` completions raise
        :class:`MaxStepsExceededError`. A call that fails (arguments that are not JSON
        or do not fit, an unknown tool, a tool that raised) is handled by
        ``on_tool_error``: ``"report"`` sends the error's text to the model,
        ``"raise"`` ends the run with it, a function of the
        :class:`ToolError` returns the text to send. See :class:`ToolRun`.

        Arguments are checked here, before anything is sent.
        """
        if params.get("stream") is not None:
            raise InvalidRequestError("run_tools() streams: leave out stream=.")
        if params.get("n", 1) != 1:
            raise InvalidRequestError("run_tools() follows one choice: n must be 1.")
        conversation = _chat_body(model, messages, params)["messages"]

        def open_step(
            history: list[dict[str, Any]], definitions: list[Any]
        ) -> ChatCompletionStream:
            return self.stream(
                model=model,
                messages=history,
                provider=provider,
                path=path,
                idle_timeout=idle_timeout,
                max_event_size=max_event_size,
                timeout=timeout,
                headers=headers,
                tools=definitions,
                **params,
            )

        # Building a stream sends nothing: building one now refuses bad arguments
        # (provider, path, bounds) here, by the same rules as stream().
        open_step(conversation, [])
        return ToolRun(
            open_step,
            conversation,
            tools,
            max_steps=max_steps,
            parallel=parallel,
            max_parallel=max_parallel,
            on_tool_error=on_tool_error,
        )


class Chat:
    """``cb.ai.chat``."""

    __slots__ = ("completions",)

    def __init__(self, transport: Transport) -> None:
        self.completions = Completions(transport)


class AI(Service):
    """``cb.ai``: model groups ("providers") behind ``/v1/ai/{provider}/...``."""

    __slots__ = ("chat",)

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.chat = Chat(transport)

    async def request(
        self,
        provider: str,
        path: str,
        json: Any,
        *,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """POST ``json`` to any AI path (``v1/messages``, ``responses``,
        ``images/generations``...) and return the response; ``.json()`` decodes it.

        A 200 body whose ``code`` is not ``NORMAL`` raises the mapped error.
        """
        response = await self._send(
            _call(self._transport, provider, path, json, headers=headers, timeout=timeout)
        )
        if "json" in response.headers.get("content-type", ""):
            error = body_error(response.status_code, response.json(), response.request_id)
            if error is not None:
                raise error
        return response

    def stream(
        self,
        provider: str,
        path: str,
        json: Mapping[str, Any],
        *,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
    ) -> AIEventStream:
        """Stream raw server-sent events from any AI path: ``async with`` it, then
        ``async for event in stream`` (``event.event``, ``event.data``, ``event.json()``).

        ``"stream": true`` is added to ``json`` and ``Accept: text/event-stream`` sent.
        """
        request = _call(
            self._transport,
            provider,
            path,
            json,
            headers=headers,
            timeout=timeout,
            idle_timeout=idle_timeout,
            stream=True,
        )
        return AIEventStream(
            self._transport, request, idle_timeout=idle_timeout, max_event_size=max_event_size
        )
