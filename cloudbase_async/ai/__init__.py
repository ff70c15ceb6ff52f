"""The AI model API: OpenAI-compatible chat completions (plain and streamed) at
``/v1/ai/{provider}/{path}``, plus raw JSON and raw event access for other protocols.

>>> completion = await cb.ai.chat.completions.create(model="hy3-preview", messages=[...])
>>> async with cb.ai.chat.completions.stream(model="hy3-preview", messages=[...]) as s:
...     async for text in s.text_stream:
...         print(text, end="")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote

import attrs
import cattrs
import httpx

from .._core.config import as_timeout
from .._core.convert import structure
from .._core.errors import APIError, InvalidRequestError
from .._core.sse import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_EVENT_SIZE, stream_timeout
from .._core.transport import Request, Response, Transport
from ._decode import ChatCompletionAccumulator, structure_chunk
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
from ._streams import AIEventStream, ChatCompletionStream, body_error

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
    "FunctionCall",
    "FunctionCallDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "structure_chunk",
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
    if not isinstance(provider, str) or not _PROVIDER.match(provider):
        raise InvalidRequestError(
            f"Invalid provider {provider!r}: a model group name such as 'cloudbase', "
            "'hunyuan-exp' or 'deepseek'."
        )
    path = path.lstrip("/")
    segments = path.split("/")
    if not path or any(s in ("", ".", "..") for s in segments) or "?" in path or "#" in path:
        raise InvalidRequestError(
            f"Invalid AI path {path!r}: expected something like 'chat/completions', "
            "'v1/messages' or 'responses'."
        )
    return f"/{provider}/{quote(path, safe='/')}"


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


def _stream_timeout(
    transport: Transport, timeout: float | httpx.Timeout | None, idle_timeout: float | None
) -> httpx.Timeout:
    base = transport.config.timeout if timeout is None else as_timeout(timeout)
    return stream_timeout(base, idle_timeout)


def _as_dict(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return data


class Completions:
    """``cb.ai.chat.completions``: the OpenAI Chat Completions protocol."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(
        self,
        *,
        model: str | None = None,
        messages: Iterable[Mapping[str, Any]] | None = None,
        provider: str = DEFAULT_PROVIDER,
        path: str = CHAT_PATH,
        timeout: float | httpx.Timeout | None = None,
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
        response = await self._transport.send(
            Request(
                "POST",
                "ai",
                _ai_path(provider, path),
                json=body,
                headers=dict(headers or {}),
                retry_on_status=_RETRY_ON_STATUS,
                timeout=timeout,
            )
        )
        data = response.json()
        error = body_error(response.status_code, data, response.request_id)
        if error is not None:
            raise error
        try:
            completion = structure(_as_dict(data), ChatCompletion)
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            raise APIError(
                f"Expected a chat.completion object, got: {str(data)[:200]}",
                status_code=response.status_code,
                request_id=response.request_id,
                body=data,
            ) from exc
        return attrs.evolve(completion, request_id=response.request_id)

    def stream(
        self,
        *,
        model: str | None = None,
        messages: Iterable[Mapping[str, Any]] | None = None,
        provider: str = DEFAULT_PROVIDER,
        path: str = CHAT_PATH,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        timeout: float | httpx.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> ChatCompletionStream:
        """Stream a chat completion: ``async with ... .stream(...) as stream``.

        Sends ``"stream": true`` and ``Accept: text/event-stream``. ``idle_timeout``
        bounds the silence between events (keep-alive comments do not count; ``None``
        disables it); ``max_event_size`` bounds one event. ``timeout`` is the usual
        per-call timeout (connect, and each read). See :class:`ChatCompletionStream`.
        """
        body = _chat_body(model, messages, params)
        body["stream"] = True
        request = Request(
            "POST",
            "ai",
            _ai_path(provider, path),
            json=body,
            headers={**(headers or {}), **_STREAM_HEADERS},
            retry_on_status=_RETRY_ON_STATUS,
            timeout=_stream_timeout(self._transport, timeout, idle_timeout),
        )
        return ChatCompletionStream(
            self._transport, request, idle_timeout=idle_timeout, max_event_size=max_event_size
        )


class Chat:
    """``cb.ai.chat``."""

    __slots__ = ("completions",)

    def __init__(self, transport: Transport) -> None:
        self.completions = Completions(transport)


class AI:
    """``cb.ai``: model groups ("providers") behind ``/v1/ai/{provider}/...``."""

    __slots__ = ("_transport", "chat")

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.chat = Chat(transport)

    async def request(
        self,
        provider: str,
        path: str,
        json: Any,
        *,
        timeout: float | httpx.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """POST ``json`` to any AI path (``v1/messages``, ``responses``,
        ``images/generations``...) and return the response; ``.json()`` decodes it.

        A 200 body whose ``code`` is not ``NORMAL`` raises the mapped error.
        """
        response = await self._transport.send(
            Request(
                "POST",
                "ai",
                _ai_path(provider, path),
                json=json,
                headers=dict(headers or {}),
                retry_on_status=_RETRY_ON_STATUS,
                timeout=timeout,
            )
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
        timeout: float | httpx.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AIEventStream:
        """Stream raw server-sent events from any AI path: ``async with`` it, then
        ``async for event in stream`` (``event.event``, ``event.data``, ``event.json()``).

        ``"stream": true`` is added to ``json`` and ``Accept: text/event-stream`` sent.
        """
        request = Request(
            "POST",
            "ai",
            _ai_path(provider, path),
            json={**json, "stream": True},
            headers={**(headers or {}), **_STREAM_HEADERS},
            retry_on_status=_RETRY_ON_STATUS,
            timeout=_stream_timeout(self._transport, timeout, idle_timeout),
        )
        return AIEventStream(
            self._transport, request, idle_timeout=idle_timeout, max_event_size=max_event_size
        )
