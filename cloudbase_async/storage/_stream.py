"""An object's bytes as they arrive, owned by an ``async with`` block.

:class:`ObjectStream` is an :class:`~cloudbase_async._core.streams.OwnedStream`: the
block opens it once and closes it at once when it ends. It reads through the
transport's :class:`~cloudbase_async._core.transport.BodyStream` (which maps read
errors) with ``raw=True`` and, unless a chunk size is asked for, hands on each network
read as it comes: re-chunking costs a copy of every byte (about 40% of the throughput on
256 MiB). Where the bytes come from is the opener's business, so one stream serves any
flavour of storage: a URL signed by another call, or an authenticated GET.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Self, TypeAlias

from .._core.responses import BodyStream, Response
from .._core.streams import OwnedStream
from ._models import DownloadUrl

__all__ = ["ObjectOpener", "ObjectStream"]

#: Opens an object's bytes: the unread response and, when it came from a URL signed by
#: another call, that call's result (its request id is the one CloudBase support knows).
ObjectOpener: TypeAlias = Callable[[], Awaitable[tuple[Response, DownloadUrl | None]]]


class ObjectStream(OwnedStream):
    """An object's bytes as they arrive: ``async with cb.storage.stream(id) as body``.

    Iterate it (``async for chunk in body``) inside the block; leaving the block (or an
    error, ``break`` or cancellation inside it) returns the connection to the pool at
    once, and so does reaching the end. ``size`` is the ``Content-Length`` if the store
    sent one, ``received`` the bytes read so far. A broken connection raises
    :class:`~cloudbase_async.StreamInterruptedError`, a stalled one
    :class:`~cloudbase_async.APITimeoutError`.
    """

    __slots__ = ("_body", "_chunk_size", "_source", "key")

    def __init__(self, opener: ObjectOpener, *, key: str, chunk_size: int | None) -> None:
        # The partial refers back to this stream only until it is entered (the base
        # class drops its opener then).
        super().__init__(functools.partial(self._open, opener))
        #: What the stream is of: the cloud id (or bucket path) that was asked for.
        self.key = key
        self._chunk_size = chunk_size
        self._source: DownloadUrl | None = None
        self._body: BodyStream | None = None

    async def _open(self, opener: ObjectOpener) -> Response:
        response, self._source = await opener()
        return response

    @property
    def cloud_id(self) -> str:
        """The cloud id the stream is of (classic storage's name for :attr:`key`)."""
        return self.key

    @property
    def size(self) -> int | None:
        """The object's size from ``Content-Length`` (``None`` if not sent or not open)."""
        length = None if self._response is None else self._response.headers.get("content-length")
        return int(length) if length and length.isdigit() else None

    @property
    def content_type(self) -> str | None:
        return None if self._response is None else self._response.headers.get("content-type")

    @property
    def received(self) -> int:
        """Bytes handed out so far."""
        return 0 if self._body is None else self._body.received

    @property
    def request_id(self) -> str | None:
        """The id to quote to CloudBase support: the call that signed the URL, else the
        response's own (``None`` until the stream is open)."""
        if self._source is not None:
            return self._source.request_id
        return None if self._response is None else self._response.request_id

    @property
    def download_url(self) -> str | None:
        """The signed URL the bytes come from, when they come from one."""
        return None if self._source is None else self._source.download_url

    def __aiter__(self) -> Self:
        self._open_response()  # outside the block: say how to use it, at once
        return self

    async def __anext__(self) -> bytes:
        body = self._body
        if body is None or self._closed:
            body = self._start()
        try:
            return await body.__anext__()
        except BaseException:  # the end, a broken connection, a cancellation
            await self.aclose()
            raise

    def _start(self) -> BodyStream:
        response = self._open_response()  # raises the right StreamClosedError
        if self._body is None:
            self._body = response.aiter_bytes(self._chunk_size, raw=True)
        return self._body

    async def _close_readers(self) -> None:
        if self._body is not None:
            await self._body.aclose()
