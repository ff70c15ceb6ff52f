"""Upload bodies: whatever the caller passes, streamed in chunks and counted.

:func:`make_body` wraps a source into an :class:`UploadBody`, a class-based async
iterator (never an async generator: httpx does not close a request body it abandons,
and an abandoned generator would be left to the garbage collector, which trio reports
as a ``ResourceWarning``). Bodies that can start again from their first byte (bytes, a
path, a seekable file) are :class:`~cloudbase_async._core.transport.ReplayableBody`, so
the transport may retry them; the others are sent once. Whoever sends a body closes it
with :meth:`UploadBody.aclose` when the call is over, which releases what an abandoned
attempt left open.
"""

from __future__ import annotations

import inspect
import io
import mimetypes
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import IO, Any, Final, Self, TypeAlias

import anyio
import anyio.to_thread

from .._core.errors import InvalidRequestError
from .._core.transport import ReplayableBody

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ProgressCallback",
    "UploadBody",
    "UploadSource",
    "check_callback",
    "guess_content_type",
    "make_body",
]

#: Bytes read from a source at a time.
DEFAULT_CHUNK_SIZE: Final = 1024 * 1024

#: ``on_progress(sent, total)``: bytes sent so far and the total (``None`` if unknown).
ProgressCallback: TypeAlias = Callable[[int, int | None], object]
#: What ``upload`` accepts: bytes, a path, a binary file object or an async iterable.
UploadSource: TypeAlias = (
    bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes] | AsyncIterable[bytes]
)


class Progress:
    """Counts bytes handed to the connection and enforces the declared length."""

    __slots__ = ("callback", "sent", "total")

    def __init__(self, total: int | None, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.sent = 0

    def restart(self) -> None:
        # A retry sends the body again from its first byte; progress starts over too.
        self.sent = 0
        if self.callback is not None:
            self.callback(0, self.total)

    def advance(self, chunk: bytes) -> bytes:
        self.sent += len(chunk)
        if self.total is not None and self.sent > self.total:
            raise InvalidRequestError(f"The source gave more than the declared {self.total} bytes.")
        if self.callback is not None:
            self.callback(self.sent, self.total)
        return chunk

    def finish(self) -> None:
        if self.total is not None and self.sent != self.total:
            raise InvalidRequestError(
                f"The source gave {self.sent} bytes, not the declared {self.total}."
            )


class UploadBody:
    """A request body read chunk by chunk; iterating it again starts a new attempt.

    Subclasses say how to start again (:meth:`_rewind`, called when an attempt begins)
    and how to read (:meth:`_read`, ``b""`` at the end).
    """

    __slots__ = ("_chunk_size", "progress")

    def __init__(self, chunk_size: int, progress: Progress) -> None:
        self._chunk_size = chunk_size
        self.progress = progress

    def __aiter__(self) -> Self:
        self._rewind()
        self.progress.restart()
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._read()
        if not chunk:
            self.progress.finish()
            raise StopAsyncIteration
        return self.progress.advance(chunk)

    def _rewind(self) -> None:
        """Prepare to read from the first byte again."""

    async def _read(self) -> bytes:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release whatever an attempt left open (idempotent)."""


class _BytesBody(UploadBody, ReplayableBody):
    __slots__ = ("_data", "_offset")

    def __init__(self, data: memoryview, chunk_size: int, progress: Progress) -> None:
        super().__init__(chunk_size, progress)
        self._data = data
        self._offset = 0

    def _rewind(self) -> None:
        self._offset = 0

    async def _read(self) -> bytes:
        start = self._offset
        self._offset = min(start + self._chunk_size, len(self._data))
        return bytes(self._data[start : self._offset])


class _FileBody(UploadBody, ReplayableBody):
    """A file read off the event loop; each attempt starts from where the first did.

    A path is opened per attempt and closed at its end; a caller's seekable file object
    is rewound to the position it had when the upload began (and left open).
    """

    __slots__ = ("_done", "_file", "_path", "_rewound", "_start")

    def __init__(self, source: Path | IO[bytes], chunk_size: int, progress: Progress) -> None:
        super().__init__(chunk_size, progress)
        if isinstance(source, Path):
            self._path: Path | None = source
            self._file: IO[bytes] | None = None
            self._start = 0
        else:
            self._path, self._file, self._start = None, source, source.tell()
        self._rewound = False
        self._done = False

    def _rewind(self) -> None:
        if self._path is not None:
            self._close()  # an attempt that broke off left its handle open
        self._rewound = True
        self._done = False

    async def _read(self) -> bytes:
        if self._done:
            return b""
        file = self._file
        if file is None:
            assert self._path is not None
            file = self._file = await anyio.to_thread.run_sync(self._path.open, "rb")
        elif self._rewound and self._path is None:
            await anyio.to_thread.run_sync(file.seek, self._start)
        self._rewound = False
        chunk = _binary(await anyio.to_thread.run_sync(file.read, self._chunk_size))
        if not chunk:
            self._done = True
            if self._path is not None:
                self._close()
        return chunk

    def _close(self) -> None:
        # Closing a file opened for reading flushes nothing: a quick call, fine inline.
        file, self._file = self._file, None
        if file is not None:
            file.close()

    async def aclose(self) -> None:
        if self._path is not None:
            self._close()


class _IterableBody(UploadBody):
    """A caller's async iterable: read once, closed when the call ends.

    Not replayable, so the transport starts a second attempt only when the first sent
    nothing (the connection could not be made): the iterator is created once.
    """

    __slots__ = ("_chunks", "_source")

    def __init__(self, source: AsyncIterable[Any], chunk_size: int, progress: Progress) -> None:
        super().__init__(chunk_size, progress)
        self._source = source
        self._chunks: AsyncIterator[Any] | None = None

    def _rewind(self) -> None:
        if self._chunks is None:
            self._chunks = self._source.__aiter__()

    async def _read(self) -> bytes:
        assert self._chunks is not None
        async for chunk in self._chunks:
            if data := _binary(chunk):
                return data
        return b""

    async def aclose(self) -> None:
        # A generator abandoned halfway (the upload failed) is finalised now, not by GC.
        close: Callable[[], Awaitable[object]] | None = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()


class _ReaderBody(UploadBody):
    """A caller's file object that cannot seek (a pipe) or reads asynchronously (an
    anyio file): read once (like :class:`_IterableBody`), left open."""

    __slots__ = ("_read_chunk",)

    def __init__(self, source: Any, chunk_size: int, progress: Progress) -> None:
        super().__init__(chunk_size, progress)
        read = source.read
        if inspect.iscoroutinefunction(read):
            self._read_chunk: Callable[[int], Awaitable[object]] = read
        else:
            self._read_chunk = lambda size: anyio.to_thread.run_sync(read, size)

    async def _read(self) -> bytes:
        return _binary(await self._read_chunk(self._chunk_size))


def check_callback(on_progress: ProgressCallback | None) -> None:
    """Refuse a coroutine function as ``on_progress`` (it would never be awaited)."""
    if on_progress is not None and inspect.iscoroutinefunction(on_progress):
        raise InvalidRequestError(
            "on_progress is called synchronously as bytes go; pass a plain function."
        )


def _binary(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise InvalidRequestError(
        f"Upload sources must give bytes, got {type(chunk).__name__} "
        "(open files in binary mode: 'rb')."
    )


def _seekable_size(file: IO[bytes]) -> int | None:
    """Bytes left from the current position of a seekable file (``None`` if unknown).

    Seeking is a metadata operation (no data is read), so doing it inline is fine.
    """
    try:
        if not file.seekable():
            return None
        here = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


async def make_body(
    source: UploadSource, size: int | None, chunk_size: int, on_progress: ProgressCallback | None
) -> UploadBody:
    """Wrap ``source`` into a streamed request body; ``body.progress.total`` is its
    length when known (``size`` when given).

    :raises InvalidRequestError: a source of an unsupported kind, a text file, or a
        path that cannot be read.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = memoryview(source).cast("B")
        return _BytesBody(data, chunk_size, Progress(len(data), on_progress))
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            stat = await anyio.Path(path).stat()
        except OSError as exc:
            raise InvalidRequestError(f"Cannot read {str(path)!r}: {exc}") from exc
        total = stat.st_size if size is None else size
        return _FileBody(path, chunk_size, Progress(total, on_progress))
    if isinstance(source, io.TextIOBase):
        raise InvalidRequestError("Open the file in binary mode ('rb') to upload it.")
    read = getattr(source, "read", None)
    if read is not None and not inspect.iscoroutinefunction(read):
        file: IO[bytes] = source  # type: ignore[assignment]
        known = _seekable_size(file)
        if known is not None:
            total = known if size is None else size
            return _FileBody(file, chunk_size, Progress(total, on_progress))
    if read is not None:
        return _ReaderBody(source, chunk_size, Progress(size, on_progress))
    if isinstance(source, AsyncIterable):
        return _IterableBody(source, chunk_size, Progress(size, on_progress))
    raise InvalidRequestError(
        f"Cannot upload a {type(source).__name__}: pass bytes, a path, a binary file "
        "object or an async iterable of bytes."
    )


@cache
def _mime_types() -> mimetypes.MimeTypes:
    # The built-in table only: the same answer on every machine, no files read.
    return mimetypes.MimeTypes()


def guess_content_type(cloud_path: str) -> str:
    """The content type for a path's extension, ``application/octet-stream`` if unknown."""
    return _mime_types().guess_type(cloud_path, strict=False)[0] or "application/octet-stream"
