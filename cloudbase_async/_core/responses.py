"""Responses: the whole body read within a bound, or a stream read as it arrives.

The transport (:mod:`.transport`) sends and retries; this module is what it hands back
and how bodies are read, so that every way of reading one maps its failures the same
way and leaves nothing behind:

* :class:`Response`: the status, headers, request id and, for a whole response, the body
  (read by :func:`read_bounded`, never past a size limit, a gzip bomb included).
* :class:`BodyStream`: a stream's body, chunk by chunk, the one place where errors while
  reading a body are mapped (timeout, broken connection, undecodable body).
* :func:`close_response`: closing is shielded and frees the admission slot exactly once
  (:class:`ReleasingStream`), and a closed body's iterators are unwound
  (:func:`finish`), so no async generator is left for the garbage collector.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import anyio
import attrs
import httpx

from .codec import MAX_KEPT_TEXT, UnreadableBody, loads, loads_lenient
from .errors import (
    APITimeoutError,
    ResponseTooLargeError,
    ResponseValidationError,
    StreamInterruptedError,
    describe,
)
from .redact import loggable

__all__ = [
    "MAX_ERROR_BODY",
    "BodyStream",
    "ReleasingStream",
    "Response",
    "close_response",
    "finish",
    "read_bounded",
    "read_error",
]

#: An error body is read up to this size; the rest is dropped (the error is what matters).
MAX_ERROR_BODY: Final = 1024 * 1024


@attrs.define(slots=True, eq=False, repr=False)
class Response:
    """An HTTP response with the request id and the number of retries it took.

    For a whole response (:meth:`Transport.send`) ``content`` holds the body, read within
    the size bound. For a stream (:meth:`Transport.open_stream`) the body is unread:
    iterate :meth:`aiter_bytes` and call :meth:`aclose`, which is idempotent and returns
    the connection to the pool.
    """

    http: httpx.Response
    request_id: str | None
    retries_taken: int
    _content: bytes | None = None

    @property
    def status_code(self) -> int:
        return self.http.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http.headers

    @property
    def content(self) -> bytes:
        if self._content is None:
            try:
                self._content = self.http.content  # a response built already read
            except httpx.ResponseNotRead:
                raise RuntimeError("The body of a stream is read with aiter_bytes().") from None
        return self._content

    @property
    def text(self) -> str:
        """The body decoded with the response's charset (UTF-8 by default), lossily."""
        encoding = self.http.charset_encoding or "utf-8"
        try:
            return self.content.decode(encoding, "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body decoded as JSON (``None`` for an empty body).

        :raises ResponseValidationError: the body is not valid UTF-8 JSON.
        """
        content = self.content
        try:
            return loads(content)
        except UnreadableBody as exc:
            raise ResponseValidationError(
                f"The server answered {self.status_code} with a body this SDK cannot "
                f"read: {exc.reason}.",
                status_code=self.status_code,
                request_id=self.request_id,
                body=loads_lenient(content[: MAX_KEPT_TEXT * 4]),
            ) from None

    async def aread_error_body(self) -> bytes:
        """Read the rest of a stream that turned out to be an error (the first MiB)."""
        self._content = await read_bounded(self.http, MAX_ERROR_BODY, truncate=True)
        return self._content

    def aiter_bytes(self, chunk_size: int | None = None, *, raw: bool = False) -> BodyStream:
        """The unread body of a stream as it arrives (decoded unless ``raw``)."""
        return BodyStream(self, chunk_size=chunk_size, raw=raw)

    async def aclose(self) -> None:
        await close_response(self.http)

    def __repr__(self) -> str:
        return (
            f"<Response [{self.http.status_code}] request_id={self.request_id!r} "
            f"retries_taken={self.retries_taken}>"
        )


class BodyStream:
    """A streamed response body, chunk by chunk: a class-based async iterator.

    It is the one place where errors while reading a body are mapped: a timeout becomes
    :class:`~cloudbase_async.APITimeoutError`, a broken connection
    :class:`~cloudbase_async.StreamInterruptedError`. ``received`` counts the bytes
    handed out. httpx's own iterator is an async generator; this closes it explicitly
    in :meth:`aclose`, so an abandoned body leaves nothing for the garbage collector.
    """

    __slots__ = ("_chunks", "_http", "received", "request_id")

    def __init__(self, response: Response, *, chunk_size: int | None, raw: bool) -> None:
        http = self._http = response.http
        self._chunks = http.aiter_raw(chunk_size) if raw else http.aiter_bytes(chunk_size)
        self.request_id = response.request_id
        self.received = 0

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._chunks.__anext__()
        except httpx.TransportError as exc:
            raise read_error(exc, self.request_id, self.received) from exc
        except httpx.DecodingError:
            raise StreamInterruptedError(
                f"The body could not be decompressed after {self.received} bytes.",
                request_id=self.request_id,
            ) from None
        self.received += len(chunk)
        return chunk

    async def aclose(self) -> None:
        """Close the response, and the iterator with it (idempotent, shielded)."""
        await finish(self._chunks, self._http)


async def finish(chunks: AsyncIterator[bytes], http: httpx.Response) -> None:
    """Close ``http`` and unwind ``chunks``, its body iterator, leaving nothing suspended.

    httpx and httpcore read a body through five nested async generators and never close
    the inner ones when the outer one is closed early; the garbage collector finalises
    them later, out of order (trio warns about each one). Once the connection is closed,
    stepping the outer generator makes the innermost read fail, and the failure finishes
    every generator on its way out, after at most what was already buffered.
    """
    await close_response(http)
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        # Exception: the read error that unwinds the chain, or a RuntimeError when another
        # task is inside the iterator (closing the response ends that task's read).
        async for _ in chunks:
            pass


def read_error(exc: httpx.TransportError, request_id: str | None, received: int) -> Exception:
    """The SDK error for a failure while a body was being read."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"The response body stalled after {received} bytes ({type(exc).__name__}).",
            request_id=request_id,
        )
    return StreamInterruptedError(
        f"The connection broke after {received} bytes of the body ({describe(exc)}).",
        request_id=request_id,
    )


class ReleasingStream(httpx.AsyncByteStream):
    """Wraps a response body so closing it also frees the admission slot, exactly once.

    Closing through httpx is not enough on its own: a response that arrives already
    read (``httpx.MockTransport``, custom transports) is marked closed and httpx never
    closes its stream again. So the transport also calls :meth:`release` itself.
    """

    __slots__ = ("_inner", "_release")

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self.release()

    def release(self) -> None:
        """Free the admission slot; later calls do nothing."""
        release, self._release = self._release, None
        if release is not None:
            release()


async def close_response(response: httpx.Response) -> None:
    """Close ``response`` (shielded) and free its admission slot, whatever httpx did."""
    if not response.is_closed:
        # Shielded: a cancelled caller must still hand the connection back at once.
        with anyio.CancelScope(shield=True):
            await response.aclose()
    if isinstance(response.stream, ReleasingStream):
        response.stream.release()


async def read_bounded(http: httpx.Response, limit: int, *, truncate: bool) -> bytes:
    """The decoded body, refusing (or, for error bodies, cutting) it past ``limit`` bytes.

    Counted as it arrives, after decompression. A gzip body (what a hostile server sends
    as a "gzip bomb") is inflated here with its output bounded by what is left of the
    limit, so memory never grows past ``limit``; other encodings are decoded by httpx and
    may overshoot by one network read's expansion before being refused.
    """
    chunks: list[bytes] = []
    size = 0
    # Without a Content-Encoding the decoded body is the raw one: skip httpx's decoder and
    # re-chunking layers (a tenth of a small call's CPU). A response that arrived already
    # read (a mock transport's) has only its decoded bytes left.
    encoding = http.headers.get("content-encoding", "identity").strip().lower()
    raw = not http.is_stream_consumed and encoding in ("identity", "gzip")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16) if raw and encoding == "gzip" else None
    stream = http.aiter_raw() if raw else http.aiter_bytes()
    try:
        async for data in stream:
            decoded = [data] if inflater is None else _inflate(inflater, data, limit - size + 1)
            for chunk in decoded:
                size += len(chunk)
                if size > limit:
                    if truncate:
                        chunks.append(chunk[: len(chunk) - (size - limit)])
                        return b"".join(chunks)
                    raise ResponseTooLargeError(
                        f"The response body exceeded max_response_size ({limit} bytes) and "
                        "was abandoned.",
                        status_code=http.status_code,
                        request_id=http.headers.get("x-request-id"),
                        code="RESPONSE_TOO_LARGE",
                    )
                chunks.append(chunk)
    except (httpx.DecodingError, zlib.error):
        raise ResponseValidationError(
            f"The server answered {http.status_code} with a body that cannot be "
            f"decompressed (Content-Encoding: {loggable(encoding)}).",
            status_code=http.status_code,
            request_id=http.headers.get("x-request-id"),
        ) from None
    finally:
        await finish(stream, http)
    return b"".join(chunks)


def _inflate(inflater: Any, data: bytes, room: int) -> list[bytes]:
    """``data`` inflated into at most ``room`` bytes: never more is produced, whatever
    the compression ratio (the rest stays in the inflater's ``unconsumed_tail``)."""
    out: list[bytes] = []
    while data and room > 0:
        piece = inflater.decompress(data, room)
        out.append(piece)
        room -= len(piece)
        data = inflater.unconsumed_tail
    return out
