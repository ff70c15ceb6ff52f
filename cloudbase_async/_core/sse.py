"""Server-sent events: a linear-time decoder and a bounded reader over a streamed response.

Two layers, as everywhere in this SDK:

* :class:`SSEDecoder` is sans-IO: feed it bytes as they arrive, get complete
  :class:`ServerSentEvent` objects back. It follows the WHATWG ``text/event-stream``
  rules (CR, LF and CRLF line ends, a leading BOM, multi-line ``data:`` joined with
  ``\\n``, comments, ``event``/``id``/``retry`` fields) and works on bytes, so an event
  split across any number of reads costs time linear in its size (an appending
  ``str +=`` decoder is quadratic: 0.63 s for one 4 MB event in openai-python). One
  event larger than ``max_event_size`` is refused instead of growing without bound.
* :class:`EventSource` reads a :class:`~cloudbase_async._core.transport.Response` opened
  with ``Transport.open_stream`` and yields events, with an *idle timeout* between
  events: keep-alive comments keep a TCP connection busy and so reset httpx's read
  timeout, but they do not reset this one, so a stalled upstream is noticed.

What an event *means* (``[DONE]``, error frames, JSON) is left to the callers.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Final, NamedTuple

import anyio
import httpx

from .errors import (
    APITimeoutError,
    StreamClosedError,
    StreamError,
)
from .lifecycle import AsyncCloseable
from .responses import Response

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_EVENT_SIZE",
    "EventSource",
    "EventTooLargeError",
    "SSEDecoder",
    "ServerSentEvent",
    "stream_timeout",
]

#: Seconds of silence (no event; comments do not count) before a stream is given up.
DEFAULT_IDLE_TIMEOUT: Final = 60.0
#: The largest single event accepted, in bytes of its ``data`` (and of any one line).
DEFAULT_MAX_EVENT_SIZE: Final = 8 * 1024 * 1024

_BOM: Final = b"\xef\xbb\xbf"
_MAX_RETRY_DIGITS: Final = 18
_LF: Final = b"\n"
_CR: Final = b"\r"


class ServerSentEvent(NamedTuple):
    """One dispatched event: ``data`` lines joined with ``\\n``.

    ``event`` is ``"message"`` when the stream named none; ``id`` is the last event id
    seen (it persists across events, as the spec says); ``retry`` the reconnection time
    in milliseconds if this event set one. (An immutable named tuple: one is built per
    event, and a tuple is the cheapest immutable object Python builds.)
    """

    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None

    def json(self) -> Any:
        """``data`` decoded as JSON."""
        return json.loads(self.data)


class EventTooLargeError(StreamError):
    """One event (or one line) exceeded the configured ``max_event_size``."""


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder over bytes (sans-IO).

    ``feed(chunk)`` returns the events completed by ``chunk``; ``pending`` tells
    whether an incomplete event was buffered when the input ended (such an event is
    never dispatched, as the spec requires).
    """

    __slots__ = (
        "_after_cr",
        "_data",
        "_event",
        "_head",
        "_id",
        "_line",
        "_max",
        "_retry",
        "_size",
        "_started",
    )

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size < 1:
            raise ValueError("max_event_size must be >= 1")
        self._max = max_event_size
        self._line = bytearray()  # the unterminated tail of the input
        self._data: list[bytes] = []  # data lines of the event being built
        self._size = 0  # bytes in _data
        self._event = ""
        self._id = ""
        self._retry: int | None = None
        self._after_cr = False  # the last chunk ended in CR: a leading LF is its CRLF
        self._started = False  # the BOM check is done
        self._head = b""  # the first bytes, until we know whether they are a BOM

    @property
    def pending(self) -> bool:
        """Input that did not complete an event yet (a truncated stream leaves some)."""
        return bool(self._line or self._data or self._head)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if not self._started:
            chunk = self._head + chunk
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._head = chunk
                return []
            self._head = b""
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if not chunk:
            return []
        if self._after_cr:
            self._after_cr = False
            if chunk[0] == 10:  # the LF of a CRLF split across reads
                chunk = chunk[1:]
                if not chunk:
                    return []
        if _CR in chunk:
            # Normalise to LF; a final CR ends a line now, and swallows a following LF.
            self._after_cr = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", _LF).replace(_CR, _LF)

        line = self._line
        if line:
            end = chunk.find(_LF)
            if end < 0:
                line += chunk  # amortised O(len(chunk)): never re-scan what is buffered
                if len(line) > self._max:
                    self._too_large(len(line))
                return []
            line += chunk[:end]
            first = bytes(line)
            line.clear()
            events: list[ServerSentEvent] = []
            self._line_done(first, events)
            chunk = chunk[end + 1 :]
        else:
            events = []

        lines = chunk.split(_LF)
        tail = lines.pop()
        if tail:
            if len(tail) > self._max:
                self._too_large(len(tail))
            line += tail
        limit = self._max
        for one in lines:
            # The two lines nearly every event is made of, inline; the rest below.
            if one[:6] == b"data: ":
                value = one[6:]
                size = self._size + len(value) + 1
                if size > limit:
                    self._too_large(size)
                self._size = size
                self._data.append(value)
            elif not one and self._data:
                events.append(self._dispatch())
            else:
                self._line_done(one, events)
        return events

    def _line_done(self, line: bytes, events: list[ServerSentEvent]) -> None:
        if not line:
            if self._data:
                events.append(self._dispatch())
            else:
                self._event = ""
                self._retry = None
            return
        if line[0] == 58:  # ":" starts a comment (keep-alives)
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._size += len(value) + 1
            if self._size > self._max:
                self._too_large(self._size)
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit() and len(value) <= _MAX_RETRY_DIGITS:
            # Thousands of digits mean nothing as a reconnection time (and int() of
            # more than 4,300 digits raises): such a field is ignored like a bad one.
            self._retry = int(value)
        # Any other field is ignored, as the spec says.

    def _dispatch(self) -> ServerSentEvent:
        data = self._data
        raw = data[0] if len(data) == 1 else _LF.join(data)
        event = ServerSentEvent(
            raw.decode("utf-8", "replace"), self._event or "message", self._id, self._retry
        )
        self._data = []
        self._size = 0
        self._event = ""
        self._retry = None
        return event

    def _too_large(self, size: int) -> None:
        raise EventTooLargeError(
            f"A server-sent event exceeded max_event_size ({size} > {self._max} bytes).",
            code="EVENT_TOO_LARGE",
        )


def _read_timeout(response: Response) -> float:
    """The read timeout httpx applies to each read of this response (inf if none)."""
    timeouts = response.http.request.extensions.get("timeout") or {}
    read = timeouts.get("read")
    return float("inf") if read is None else float(read)


def stream_timeout(timeout: httpx.Timeout, idle_timeout: float | None) -> httpx.Timeout:
    """``timeout`` with its read timeout lowered to ``idle_timeout``, so a silent stream
    fails at the idle deadline without a timer per read (see :class:`EventSource`)."""
    if idle_timeout is None or (timeout.read is not None and timeout.read <= idle_timeout):
        return timeout
    return httpx.Timeout(
        connect=timeout.connect, read=idle_timeout, write=timeout.write, pool=timeout.pool
    )


def _idle_error(idle_timeout: float, request_id: str | None) -> APITimeoutError:
    return APITimeoutError(
        f"No event arrived for {idle_timeout:g} s (idle_timeout); the stream was closed.",
        request_id=request_id,
    )


class EventSource(AsyncCloseable):
    """Async iterator of :class:`ServerSentEvent` over a streamed response.

    It owns the response: it is closed (the connection handed back to the pool, at once
    and shielded from cancellation) when the body ends, on any error, and by
    :meth:`aclose` / leaving ``async with``. Iterating after that raises
    :class:`~cloudbase_async.StreamClosedError`.

    Errors: :class:`~cloudbase_async.APITimeoutError` after ``idle_timeout`` seconds
    without an event (comments do not count; ``None`` disables it),
    :class:`EventTooLargeError` for an oversized event, and
    :class:`~cloudbase_async.StreamInterruptedError` when the connection breaks.
    ``ended_incomplete`` is true when the body ended in the middle of an event.
    """

    __slots__ = (
        "_body",
        "_closed",
        "_decoder",
        "_exhausted",
        "_idle",
        "_reads_bounded",
        "_ready",
        "_waited",
        "ended_incomplete",
        "response",
    )

    def __init__(
        self,
        response: Response,
        *,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError("idle_timeout must be > 0 seconds, or None")
        self.response = response
        self._decoder = SSEDecoder(max_event_size=max_event_size)
        self._body = response.aiter_bytes()
        self._ready: deque[ServerSentEvent] = deque()
        self._idle = idle_timeout
        self._waited = 0.0  # seconds spent waiting for the server since the last event
        self._reads_bounded = idle_timeout is not None and _read_timeout(response) <= idle_timeout
        self._closed = False
        self._exhausted = False
        self.ended_incomplete = False

    @property
    def request_id(self) -> str | None:
        return self.response.request_id

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> EventSource:
        return self

    def pop_ready(self) -> ServerSentEvent | None:
        """The next event already decoded, without waiting (``None`` if there is none).

        A read usually brings several events; stream classes take them from here first,
        which skips an await per event on the hot path.
        """
        if self._ready and not self._closed:
            return self._ready.popleft()
        return None

    async def __anext__(self) -> ServerSentEvent:
        ready = self._ready
        if ready and not self._closed:
            return ready.popleft()
        if self._closed:
            if not self._exhausted:
                raise StreamClosedError("This stream is closed; events can no longer be read.")
            if ready:  # the body ended (and was released) with these still unread
                return ready.popleft()
            raise StopAsyncIteration
        try:
            await self._fill()
        except BaseException:
            await self.aclose()
            raise
        if ready:
            return ready.popleft()
        raise StopAsyncIteration

    async def _fill(self) -> None:
        """Read until at least one event is ready or the body ended."""
        chunks = self._body
        decoder = self._decoder
        idle = self._idle
        # The idle clock counts only time spent *waiting for the server* since the last
        # event: a consumer that takes its time between events must not make a busy
        # server look silent. Two ways to enforce it. When every read is bounded by
        # httpx's read timeout <= idle_timeout (the AI streams set it so), a silent
        # connection fails by ReadTimeout, and keep-alive comments are caught by the
        # accounting after each read: cheap, and fires at the deadline or at the first
        # keep-alive after it. Otherwise each read runs in a cancel scope with the time
        # left: exact, but a timer per read (several microseconds on asyncio).
        scoped = idle is not None and not self._reads_bounded
        while True:
            started = time.monotonic()
            try:
                if idle is None:
                    chunk = await chunks.__anext__()
                elif scoped:
                    left = idle - self._waited
                    with anyio.fail_after(left if left > 0 else 0):
                        chunk = await chunks.__anext__()
                else:
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                self.ended_incomplete = decoder.pending
                self._exhausted = True
                await self.aclose()
                return
            except TimeoutError as exc:  # anyio.fail_after: the idle deadline
                raise _idle_error(idle, self.response.request_id) from exc  # type: ignore[arg-type]
            except APITimeoutError as exc:
                if idle is not None and self._reads_bounded:
                    # httpx's read timeout was lowered to the idle timeout: it is that.
                    raise _idle_error(idle, self.response.request_id) from exc.__cause__
                raise
            try:
                events = decoder.feed(chunk)
            except EventTooLargeError as exc:
                exc.request_id = self.response.request_id
                raise
            if events:
                self._waited = 0.0
                self._ready.extend(events)
                return
            if idle is not None:
                self._waited += time.monotonic() - started
                if self._waited >= idle:
                    raise _idle_error(idle, self.response.request_id)

    async def aclose(self) -> None:
        """Close the response (idempotent, shielded). Buffered events stay readable."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._body.aclose()
            finally:
                await self.response.aclose()
