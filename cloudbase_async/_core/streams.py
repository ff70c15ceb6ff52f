"""The one lifecycle of every streamed response (AI chat, raw AI events, CloudRun, storage).

A stream is opened by entering its ``async with`` block, once, and closed when the block
ends: normally, by ``break``, by an exception or by cancellation. Closing is shielded
from cancellation and happens before the block's next line runs, so the connection is
back in the pool at once and nothing is left for the garbage collector. An open stream
references only its response (the transport and request that opened it are dropped), so
an abandoned one cannot keep a client alive.

Subclasses say how the response is read; this class owns opening and closing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Self

import anyio
import httpx

from .errors import StreamClosedError
from .lifecycle import AsyncCloseable
from .responses import Response

__all__ = ["OwnedStream", "Opener"]

#: Sends the request (and whatever must come first) and returns the unread response.
Opener = Callable[[], Awaitable[Response]]


class OwnedStream(AsyncCloseable):
    """A streamed response owned by an ``async with`` block.

    ``response``, ``status_code``, ``headers`` and ``request_id`` are available once
    entered. Subclasses override :meth:`_opened` (a response arrived, nothing read yet)
    and :meth:`_close_readers` (close what reads the body before the response closes).
    """

    __slots__ = ("__weakref__", "_closed", "_opener", "_response")

    def __init__(self, opener: Opener) -> None:
        self._opener: Opener | None = opener
        self._response: Response | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        opener = self._opener
        if opener is None:
            raise StreamClosedError("A stream can be entered only once.")
        self._opener = None
        self._response = await opener()
        try:
            self._opened(self._response)
        except BaseException:
            await self.aclose()
            raise
        return self

    def _opened(self, response: Response) -> None:
        """Called once the response arrived, before any of its body is read."""

    async def _close_readers(self) -> None:
        """Close whatever reads the body (called shielded, before the response closes)."""

    async def aclose(self) -> None:
        """Close the response now (idempotent, shielded); later reads raise
        :class:`~cloudbase_async.StreamClosedError`."""
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._close_readers()
            finally:
                if self._response is not None:
                    await self._response.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def response(self) -> Response:
        """The HTTP response (status, headers, ``request_id``); the body is the stream."""
        if self._response is None:
            raise StreamClosedError("The stream is not open: use `async with ... as stream:`.")
        return self._response

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def request_id(self) -> str | None:
        return self.response.request_id

    def _open_response(self) -> Response:
        """The response, if the stream is open for reading; else the right error."""
        response = self.response
        if self._closed:
            raise StreamClosedError("This stream is closed (its `async with` block ended).")
        return response
