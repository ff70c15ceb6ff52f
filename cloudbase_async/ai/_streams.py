"""Streams of the AI API: typed chat completion chunks, and raw events for other paths.

Both are class-based async iterators owned by an ``async with`` block. They hold the
transport's response and nothing that points back at them, so nothing waits for the
garbage collector: leaving the block (normally, by ``break``, by an exception or by
cancellation) closes the response at once, shielded from the cancellation, and the
connection is back in the pool before the next line runs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from typing import Any, Final, Self

from .._core.codec import body_error, loads_lenient
from .._core.errors import (
    APIConnectionError,
    StreamError,
    StreamInterruptedError,
    error_class,
    parse_error_body,
)
from .._core.responses import Response
from .._core.sse import EventSource, ServerSentEvent
from .._core.streams import OwnedStream
from .._core.transport import Request, Transport
from ._decode import ChatCompletionAccumulator, structure_chunk
from ._models import ChatCompletion, ChatCompletionChunk

__all__ = ["AIEventStream", "ChatCompletionStream"]

_DONE: Final = "[DONE]"
_scan_once: Final = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(data: str) -> Any:
    """``json.loads`` without its two whitespace regex passes for the usual frame (a
    JSON value with no surrounding whitespace); anything else goes through
    ``json.loads`` itself, which also raises its usual errors."""
    try:
        value, end = _scan_once(data, 0)
    except StopIteration:
        return json.loads(data)
    if end != len(data):
        return json.loads(data)
    return value


async def _open(transport: Transport, request: Request) -> Response:
    """Send a streaming request; refuse a JSON answer (an error in disguise)."""
    response = await transport.open_stream(request)
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return response
    try:
        content = await response.aread_error_body()
    finally:
        await response.aclose()
    body = loads_lenient(content)
    error = body_error(response.status_code, body, response.request_id)
    if error is None:
        error = error_class(response.status_code, None)(
            f"Expected an event stream, got {content_type!r}.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        )
    raise error


class _EventStream(OwnedStream):
    """An AI stream: the response, read as server-sent events once it arrived."""

    __slots__ = ("_events", "_idle_timeout", "_max_event_size")

    def __init__(
        self,
        transport: Transport,
        request: Request,
        *,
        idle_timeout: float | None,
        max_event_size: int,
    ) -> None:
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError("idle_timeout must be > 0 seconds, or None")
        if max_event_size < 1:
            raise ValueError("max_event_size must be >= 1")
        super().__init__(functools.partial(_open, transport, request))
        self._idle_timeout = idle_timeout
        self._max_event_size = max_event_size
        self._events: EventSource | None = None

    def _opened(self, response: Response) -> None:
        self._events = EventSource(
            response, idle_timeout=self._idle_timeout, max_event_size=self._max_event_size
        )

    async def _close_readers(self) -> None:
        if self._events is not None:
            await self._events.aclose()

    def _source(self) -> EventSource:
        self._open_response()  # raises the right StreamClosedError
        assert self._events is not None
        return self._events


class ChatCompletionStream(_EventStream):
    """A streamed chat completion: ``async for chunk in stream`` yields
    :class:`ChatCompletionChunk`.

    ``text_stream`` yields the first choice's content deltas; ``until_done()`` reads to
    the end; ``get_final_completion()`` returns the assembled :class:`ChatCompletion`;
    ``current_completion`` is what arrived so far. Failures:

    * a JSON answer instead of a stream, or a body with ``code`` other than ``NORMAL``:
      the mapped :class:`~cloudbase_async.APIError` subclass;
    * an error frame (``{"error": ...}``, ``{"code": ...}`` or ``event: error``) or a
      frame that is not a JSON chunk: :class:`~cloudbase_async.StreamError`;
    * the connection breaking, or the body ending without ``data: [DONE]`` while some
      choice has no ``finish_reason`` (a truncated answer):
      :class:`~cloudbase_async.StreamInterruptedError`;
    * no event for ``idle_timeout`` seconds: :class:`~cloudbase_async.APITimeoutError`.

    Each carries ``partial``, the completion assembled before the failure, and the
    response closes before it is raised.
    """

    __slots__ = ("_acc", "_done")

    def __init__(
        self,
        transport: Transport,
        request: Request,
        *,
        idle_timeout: float | None,
        max_event_size: int,
    ) -> None:
        super().__init__(
            transport, request, idle_timeout=idle_timeout, max_event_size=max_event_size
        )
        self._acc = ChatCompletionAccumulator()
        self._done = False

    def _opened(self, response: Response) -> None:
        super()._opened(response)
        self._acc.request_id = response.request_id

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        events = self._events
        if events is None or self._closed:
            events = self._source()  # raises the right StreamClosedError
        if self._done:
            raise StopAsyncIteration
        while True:
            try:
                # Fast path: an event already decoded (a read usually brings several).
                event = events.pop_ready() or await events.__anext__()
            except StopAsyncIteration:
                self._done = True
                if events.ended_incomplete or not self._acc.finished:
                    raise StreamInterruptedError(
                        "The stream ended without `data: [DONE]` and without a "
                        "finish_reason: the answer is truncated.",
                        request_id=events.request_id,
                        partial=self._acc.result(),
                    ) from None
                raise
            except (APIConnectionError, StreamError) as exc:
                exc.partial = self._acc.result()
                raise
            data = event.data
            if data == _DONE:
                self._done = True
                await events.aclose()  # whatever follows [DONE] is not read
                raise StopAsyncIteration
            if event.event == "error":
                raise await self._fail(self._frame_error(data, events.request_id))
            if not data:
                continue  # an empty event: a keep-alive in disguise
            try:
                obj = _loads(data)
            except (ValueError, RecursionError):
                raise await self._fail(
                    StreamError(
                        f"A stream frame is not valid JSON: {data[:200]!r}",
                        code="MALFORMED_CHUNK",
                        request_id=events.request_id,
                        body=data,
                    )
                ) from None
            if type(obj) is not dict:
                raise await self._fail(self._not_a_chunk(obj, events.request_id))
            if "error" in obj or ("code" in obj and obj["code"] != "NORMAL"):
                raise await self._fail(self._frame_error(obj, events.request_id))
            try:
                chunk = structure_chunk(obj)
            except (TypeError, ValueError, AttributeError) as exc:
                raise await self._fail(self._not_a_chunk(obj, events.request_id)) from exc
            self._acc.add(chunk)
            return chunk

    async def _fail(self, exc: StreamError) -> StreamError:
        self._done = True
        await self.aclose()
        exc.partial = self._acc.result()
        return exc

    @staticmethod
    def _frame_error(data: object, request_id: str | None) -> StreamError:
        body = data
        if isinstance(data, str):
            try:
                body = json.loads(data)
            except ValueError:
                body = data
        if isinstance(body, dict) and isinstance(body.get("error"), str) and "code" not in body:
            # A provider's bare {"error": "text"} inside a stream is a message, not a code.
            code, message = None, body["error"]
        else:
            fields = parse_error_body(body)
            code, message = fields.code, fields.message
        if message is None and isinstance(body, str) and body:
            message = body[:500]
        if isinstance(body, dict) and isinstance(body.get("requestId"), str):
            request_id = body["requestId"]
        return StreamError(
            message or code or "The stream reported an error.",
            code=code,
            request_id=request_id,
            body=body,
        )

    @staticmethod
    def _not_a_chunk(obj: object, request_id: str | None) -> StreamError:
        return StreamError(
            f"A stream frame is not a chat.completion.chunk: {str(obj)[:200]}",
            code="MALFORMED_CHUNK",
            request_id=request_id,
            body=obj,
        )

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The first choice's content deltas, as they arrive (empty ones skipped)."""
        return _TextStream(self)

    @property
    def current_completion(self) -> ChatCompletion:
        """The completion assembled from the chunks read so far."""
        return self._acc.result()

    async def until_done(self) -> None:
        """Read the stream to its end (chunks still go into the final completion)."""
        if self._done and not self._closed:
            return
        async for _ in self:
            pass

    async def get_final_completion(self) -> ChatCompletion:
        """Read to the end and return the assembled :class:`ChatCompletion`.

        Works after the block ended too, if the stream had been read to its end.
        """
        if not self._done:
            await self.until_done()
        return self._acc.result()


class _TextStream:
    """``async for text in stream.text_stream``: content of choice 0 (a class, not an
    async generator, so that abandoning it leaves nothing for the GC to finalise)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ChatCompletionStream) -> None:
        self._stream = stream

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        stream = self._stream
        while True:
            chunk = await stream.__anext__()
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta.content:
                    return choice.delta.content


class AIEventStream(_EventStream):
    """Raw server-sent events of any AI path (Anthropic Messages, Responses...).

    Yields :class:`~cloudbase_async.ServerSentEvent`; ``event.json()`` decodes one.
    Stops at ``data: [DONE]`` (not yielded) or at the end of the body; an
    ``event: error`` raises :class:`~cloudbase_async.StreamError`. The protocol's
    own end marker (``message_stop``, ``response.completed``) is for the caller to
    check: this layer does not know the protocol.
    """

    __slots__ = ("_done",)

    def __init__(
        self,
        transport: Transport,
        request: Request,
        *,
        idle_timeout: float | None,
        max_event_size: int,
    ) -> None:
        super().__init__(
            transport, request, idle_timeout=idle_timeout, max_event_size=max_event_size
        )
        self._done = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ServerSentEvent:
        events = self._source()
        if self._done:
            raise StopAsyncIteration
        event = await events.__anext__()
        if event.data == _DONE:
            self._done = True
            await events.aclose()
            raise StopAsyncIteration
        if event.event == "error":
            self._done = True
            await self.aclose()
            raise ChatCompletionStream._frame_error(event.data, events.request_id)
        return event

    async def until_done(self) -> list[ServerSentEvent]:
        """Read to the end; return the events that were left."""
        return [event async for event in self]
