"""Cloud storage (classic, COS-backed): upload, download, stream, temporary URLs, delete, copy.

The gateway's storage calls are batch calls: a JSON array of items in, a JSON array out,
where each answer item is either a success or a ``{code, message}`` of its own. This
module splits long lists into chunks (``batch_size``, 50 by default), pairs every answer
with the item it answers and returns a :class:`BatchResult` whose failed items are
:class:`ItemError` objects; ``raise_for_errors()`` turns them into an exception.

Bytes never pass through the gateway: ``upload`` asks it for a signed upload URL and
PUTs the body straight to object storage, ``download``/``stream`` ask for a download URL
and GET it. Uploads are read in chunks of ``chunk_size`` bytes and downloads pass on
the network's reads as they come, so memory stays constant whatever the object's size.
"""

from __future__ import annotations

import inspect
import io
import mimetypes
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Generic, Self, TypeAlias, TypeVar

import anyio
import anyio.to_thread
import attrs
import httpx

from ._core.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CloudBaseError,
    ConfigurationError,
    InvalidRequestError,
    make_api_error,
)
from ._core.transport import ReplayableBody, Request, Response, Transport
from ._core.types import Timeout

__all__ = [
    "BatchResult",
    "CopiedObject",
    "DeletedObject",
    "DownloadUrl",
    "DownloadedFile",
    "ItemError",
    "ObjectStream",
    "ProgressCallback",
    "Storage",
    "StorageBatchError",
    "UploadResult",
    "UploadSource",
    "validate_cloud_id",
    "validate_cloud_path",
]

T = TypeVar("T")

#: Items per gateway call; the gateway refuses temporary URLs for more than 50 at once.
DEFAULT_BATCH_SIZE: Final = 50
#: Bytes read from a source or the network at a time.
DEFAULT_CHUNK_SIZE: Final = 1024 * 1024
#: The item field carrying ``max_age`` in ``get-objects-download-info`` [unconfirmed].
DEFAULT_MAX_AGE_FIELD: Final = "maxAge"
CLOUD_ID_PREFIX: Final = "cloud://"

#: ``on_progress(sent, total)``: bytes sent so far and the total (``None`` if unknown).
ProgressCallback: TypeAlias = Callable[[int, int | None], object]
#: What ``upload`` accepts: bytes, a path, a binary file object or an async iterable.
UploadSource: TypeAlias = (
    bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes] | AsyncIterable[bytes]
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- validation -----------------------------------------------------------------------


def validate_cloud_path(path: str) -> str:
    """Return ``path`` if it is a valid object path, else raise :class:`InvalidRequestError`.

    A cloud path is relative to the bucket (``"avatars/u1.png"``): no leading ``/``, no
    empty, ``.`` or ``..`` segments, no control characters.
    """
    if not isinstance(path, str) or not path:
        raise InvalidRequestError(f"A cloud path must be a non-empty string, got {path!r}.")
    if path.startswith("/"):
        raise InvalidRequestError(f"A cloud path must not start with '/': {path!r}.")
    if _CONTROL.search(path):
        raise InvalidRequestError(f"A cloud path must not contain control characters: {path!r}.")
    for segment in path.split("/"):
        if segment in {"", ".", ".."}:
            raise InvalidRequestError(
                f"A cloud path must not have empty, '.' or '..' segments: {path!r}."
            )
    return path


def validate_cloud_id(cloud_id: str) -> str:
    """Return ``cloud_id`` if it looks like ``cloud://{env}.{bucket}/{path}``, else raise."""
    if not isinstance(cloud_id, str) or not cloud_id.startswith(CLOUD_ID_PREFIX):
        raise InvalidRequestError(
            f"A cloud id looks like 'cloud://env.bucket/path', got {cloud_id!r}."
        )
    bucket, _, path = cloud_id[len(CLOUD_ID_PREFIX) :].partition("/")
    if not bucket or not path or _CONTROL.search(cloud_id):
        raise InvalidRequestError(f"Invalid cloud id {cloud_id!r}.")
    return cloud_id


def _validate_copy_path(value: str) -> str:
    # The API calls these "paths"; whether it wants cloud ids or bucket paths is not
    # confirmed, so either form is accepted and sent as given.
    if isinstance(value, str) and value.startswith(CLOUD_ID_PREFIX):
        return validate_cloud_id(value)
    return validate_cloud_path(value)


def _id_list(ids: Sequence[str] | str) -> list[str]:
    if isinstance(ids, str):
        raise InvalidRequestError("Pass a list of cloud ids, not a single string.")
    return [validate_cloud_id(cloud_id) for cloud_id in ids]


# --- results --------------------------------------------------------------------------


@attrs.frozen
class UploadResult:
    """An uploaded object: its ``cloud_id`` (``cloud://…``) and download URL."""

    cloud_id: str
    cloud_path: str
    download_url: str | None
    download_url_encoded: str | None
    size: int
    etag: str | None
    request_id: str | None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DownloadUrl:
    """A temporary download URL for one object."""

    cloud_id: str
    download_url: str
    download_url_encoded: str | None
    request_id: str | None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DeletedObject:
    cloud_id: str
    request_id: str | None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class CopiedObject:
    """The copy's ``cloud_id``."""

    cloud_id: str
    request_id: str | None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DownloadedFile:
    path: Path
    size: int
    content_type: str | None
    request_id: str | None


@attrs.frozen
class ItemError:
    """One item of a batch call that failed.

    ``key`` is what the item was about (the cloud id or path you passed). ``code`` and
    ``message`` come from the item's ``{code, message}``; when the whole request for the
    item's chunk failed instead, ``exception`` holds that error.
    """

    key: str
    code: str | None
    message: str
    request_id: str | None
    exception: CloudBaseError | None = attrs.field(default=None, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def to_exception(self) -> CloudBaseError:
        """The error to raise for this item (``OBJECT_NOT_EXIST`` → ``NotFoundError``...)."""
        if self.exception is not None:
            return self.exception
        return make_api_error(
            200,
            {"code": self.code, "message": f"{self.key}: {self.message}"},
            request_id=self.request_id,
        )


class StorageBatchError(CloudBaseError):
    """Raised by :meth:`BatchResult.raise_for_errors` when some items failed.

    ``errors`` are the failed items; ``result`` the whole :class:`BatchResult`.
    """

    def __init__(self, result: BatchResult[Any]) -> None:
        self.result = result
        self.errors: tuple[ItemError, ...] = tuple(result.failed)
        shown = "; ".join(f"{e.key!r}: {e.code or 'ERROR'} {e.message}" for e in self.errors[:3])
        more = f"; and {len(self.errors) - 3} more" if len(self.errors) > 3 else ""
        super().__init__(f"{len(self.errors)} of {len(result)} items failed: {shown}{more}")


@attrs.frozen
class BatchResult(Generic[T]):
    """Per-item outcomes of a batch call, in the order the items were given."""

    items: tuple[T | ItemError, ...]

    def __iter__(self) -> Iterator[T | ItemError]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T | ItemError:
        return self.items[index]

    @property
    def succeeded(self) -> list[T]:
        return [item for item in self.items if not isinstance(item, ItemError)]

    @property
    def failed(self) -> list[ItemError]:
        return [item for item in self.items if isinstance(item, ItemError)]

    @property
    def ok(self) -> bool:
        return not any(isinstance(item, ItemError) for item in self.items)

    def raise_for_errors(self) -> list[T]:
        """Every item's result, or :class:`StorageBatchError` if any item failed."""
        if not self.ok:
            raise StorageBatchError(self)
        return self.succeeded


# --- parsing the gateway's items ------------------------------------------------------


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _required(item: Mapping[str, Any], key: str, status: int, request_id: str | None) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise APIError(
            f"Storage answered an item without {key!r}: {item!r}",
            status_code=status,
            request_id=request_id,
            body=item,
        )
    return value


def _extra(item: Mapping[str, Any], *known: str) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in known}


def _is_item_error(item: Mapping[str, Any]) -> bool:
    return bool(item.get("code"))


def _item_error(key: str, item: Mapping[str, Any], request_id: str | None) -> ItemError:
    code = _text(item.get("code"))
    return ItemError(
        key=key,
        code=code,
        message=_text(item.get("message")) or code or "failed",
        request_id=_text(item.get("requestId")) or request_id,
        extra=_extra(item, "code", "message", "requestId"),
    )


#: Builds a success model from (answer item, HTTP status, request id).
Parser: TypeAlias = Callable[[Mapping[str, Any], int, str | None], T]


def _parse_download_url(item: Mapping[str, Any], status: int, rid: str | None) -> DownloadUrl:
    return DownloadUrl(
        cloud_id=_required(item, "cloudObjectId", status, rid),
        download_url=_required(item, "downloadUrl", status, rid),
        download_url_encoded=_text(item.get("downloadUrlEncoded")),
        request_id=rid,
        extra=_extra(item, "cloudObjectId", "downloadUrl", "downloadUrlEncoded"),
    )


def _parse_deleted(item: Mapping[str, Any], status: int, rid: str | None) -> DeletedObject:
    return DeletedObject(
        cloud_id=_required(item, "cloudObjectId", status, rid),
        request_id=rid,
        extra=_extra(item, "cloudObjectId"),
    )


def _parse_copied(item: Mapping[str, Any], status: int, rid: str | None) -> CopiedObject:
    return CopiedObject(
        cloud_id=_required(item, "cloudObjectId", status, rid),
        request_id=rid,
        extra=_extra(item, "cloudObjectId"),
    )


@attrs.frozen
class _UploadInfo:
    upload_url: str
    cloud_id: str
    download_url: str | None
    download_url_encoded: str | None
    authorization: str | None
    token: str | None
    cloud_object_meta: str | None
    request_id: str | None
    extra: dict[str, Any]


_UPLOAD_KEYS: Final = (
    "objectId",
    "uploadUrl",
    "downloadUrl",
    "downloadUrlEncoded",
    "token",
    "authorization",
    "cloudObjectMeta",
    "cloudObjectId",
)


def _parse_upload_info(item: Mapping[str, Any], status: int, rid: str | None) -> _UploadInfo:
    return _UploadInfo(
        upload_url=_required(item, "uploadUrl", status, rid),
        cloud_id=_required(item, "cloudObjectId", status, rid),
        download_url=_text(item.get("downloadUrl")),
        download_url_encoded=_text(item.get("downloadUrlEncoded")),
        authorization=_text(item.get("authorization")),
        token=_text(item.get("token")),
        cloud_object_meta=_text(item.get("cloudObjectMeta")),
        request_id=rid,
        extra=_extra(item, *_UPLOAD_KEYS),
    )


_XML_FIELD = re.compile(r"<(Code|Message|RequestId)>([^<]*)</\1>")


def parse_object_store_error(text: str) -> dict[str, str]:
    """The ``Code``/``Message``/``RequestId`` of a COS or S3 XML error body, if any."""
    found = {name: value.strip() for name, value in _XML_FIELD.findall(text[:65536])}
    names = {"Code": "code", "Message": "message", "RequestId": "requestId"}
    return {names[name]: value for name, value in found.items() if value}


def _object_store_error(exc: APIError, what: str) -> APIError:
    """Re-read an object store's XML error so its code and message reach the caller."""
    if not isinstance(exc.body, str):
        return exc
    fields = parse_object_store_error(exc.body)
    if "code" not in fields:
        return exc
    message = fields.get("message") or fields["code"]
    error = make_api_error(
        exc.status_code,
        {**fields, "message": f"{what}: {message}"},
        request_id=exc.request_id,
    )
    error.body = exc.body
    return error


# --- upload bodies --------------------------------------------------------------------


class _Progress:
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


class _BytesBody(ReplayableBody):
    def __init__(self, data: memoryview, chunk_size: int, progress: _Progress) -> None:
        self._data = data
        self._chunk_size = chunk_size
        self.progress = progress

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.progress.restart()
        data, step = self._data, self._chunk_size
        for start in range(0, len(data), step):
            yield self.progress.advance(bytes(data[start : start + step]))
        self.progress.finish()


class _PathBody(ReplayableBody):
    """A file on disk, reopened (with anyio, off the event loop) for every attempt."""

    def __init__(self, path: Path, chunk_size: int, progress: _Progress) -> None:
        self._path = path
        self._chunk_size = chunk_size
        self.progress = progress

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.progress.restart()
        async with await anyio.open_file(self._path, "rb") as file:
            while chunk := await file.read(self._chunk_size):
                yield self.progress.advance(chunk)
        self.progress.finish()


class _SeekableFileBody(ReplayableBody):
    """A seekable binary file object; every attempt seeks back to where it started."""

    def __init__(self, file: IO[bytes], chunk_size: int, progress: _Progress) -> None:
        self._file = file
        self._start = file.tell()
        self._chunk_size = chunk_size
        self.progress = progress

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.progress.restart()
        file = self._file
        await anyio.to_thread.run_sync(file.seek, self._start)
        while chunk := await anyio.to_thread.run_sync(file.read, self._chunk_size):
            yield self.progress.advance(_binary(chunk))
        self.progress.finish()


class _OneShotBody:
    """A source that can be read once (async iterable, pipe, async file): never retried."""

    def __init__(self, source: Any, chunk_size: int, progress: _Progress) -> None:
        self._source = source
        self._chunk_size = chunk_size
        self.progress = progress

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.progress.restart()
        async for chunk in self._chunks():
            if chunk:
                yield self.progress.advance(_binary(chunk))
        self.progress.finish()

    async def _chunks(self) -> AsyncIterator[bytes]:
        source = self._source
        read = getattr(source, "read", None)
        if read is None:
            async for chunk in source:
                yield chunk
        elif inspect.iscoroutinefunction(read):
            while chunk := await read(self._chunk_size):
                yield chunk
        else:
            while chunk := await anyio.to_thread.run_sync(read, self._chunk_size):
                yield chunk


def _check_callback(on_progress: ProgressCallback | None) -> None:
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


async def _make_body(
    source: UploadSource, size: int | None, chunk_size: int, on_progress: ProgressCallback | None
) -> tuple[AsyncIterable[bytes], int | None]:
    """Wrap ``source`` into a streamed request body; returns it and its length if known."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = memoryview(source).cast("B")
        return _BytesBody(data, chunk_size, _Progress(len(data), on_progress)), len(data)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            stat = await anyio.Path(path).stat()
        except OSError as exc:
            raise InvalidRequestError(f"Cannot read {str(path)!r}: {exc}") from exc
        total = stat.st_size if size is None else size
        return _PathBody(path, chunk_size, _Progress(total, on_progress)), total
    if isinstance(source, io.TextIOBase):
        raise InvalidRequestError("Open the file in binary mode ('rb') to upload it.")
    read = getattr(source, "read", None)
    if read is not None and not inspect.iscoroutinefunction(read):
        file: IO[bytes] = source  # type: ignore[assignment]
        known = _seekable_size(file)
        if known is not None:
            total = known if size is None else size
            return _SeekableFileBody(file, chunk_size, _Progress(total, on_progress)), total
        return _OneShotBody(file, chunk_size, _Progress(size, on_progress)), size
    if read is not None or isinstance(source, AsyncIterable):
        return _OneShotBody(source, chunk_size, _Progress(size, on_progress)), size
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


# --- streams --------------------------------------------------------------------------


#: Bytes gathered per hop to the writer thread, and batches that may wait for it.
_WRITE_BATCH: Final = 1 << 20
_WRITE_QUEUE: Final = 4


async def _write_while_reading(
    body: ObjectStream, file: IO[bytes], on_progress: ProgressCallback | None
) -> None:
    """Copy ``body`` into ``file`` with disk writes overlapping network reads.

    One writer thread drains a small bounded queue of ~1 MiB batches, so memory stays
    under ``(_WRITE_QUEUE + 2) * _WRITE_BATCH`` and a slow disk slows the reader down
    instead of filling memory. An error on either side cancels the other.
    """
    send, receive = anyio.create_memory_object_stream[list[bytes]](_WRITE_QUEUE)

    async def write_all() -> None:
        async with receive:
            async for batch in receive:
                # The reads as they came, not joined: joining would copy every byte.
                await anyio.to_thread.run_sync(file.writelines, batch)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_all)
            async with send:
                pending: list[bytes] = []
                pending_size = 0
                async for chunk in body:
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if on_progress is not None:
                        on_progress(body.received, body.size)
                    if pending_size >= _WRITE_BATCH:
                        await send.send(pending)
                        pending = []
                        pending_size = 0
                if pending:
                    await send.send(pending)
    except BaseExceptionGroup as group:
        # One side failed and the other was cancelled: raise that failure itself
        # (an APIConnectionError, an OSError), not the task group's wrapper.
        if len(group.exceptions) == 1:
            raise group.exceptions[0]  # noqa: B904 (its own __cause__ is the story)
        raise


class ObjectStream:
    """An object's bytes as they arrive: ``async with cb.storage.stream(id) as body``.

    Iterate it (``async for chunk in body``) inside the block; leaving the block (or an
    error, ``break`` or cancellation inside it) returns the connection to the pool at
    once. ``size`` is the ``Content-Length`` if the store sent one.
    """

    def __init__(
        self,
        storage: Storage,
        cloud_id: str,
        *,
        chunk_size: int | None,
        timeout: Timeout,
    ) -> None:
        self._storage = storage
        self.cloud_id = validate_cloud_id(cloud_id)
        self._chunk_size = chunk_size
        self._timeout = timeout
        self._response: Response | None = None
        self._url: DownloadUrl | None = None
        self.received = 0

    @property
    def size(self) -> int | None:
        length = self._headers.get("content-length")
        return int(length) if length and length.isdigit() else None

    @property
    def content_type(self) -> str | None:
        value: str | None = self._headers.get("content-type")
        return value

    @property
    def request_id(self) -> str | None:
        """The gateway's id for the download-URL call."""
        return None if self._url is None else self._url.request_id

    @property
    def download_url(self) -> str | None:
        return None if self._url is None else self._url.download_url

    @property
    def _headers(self) -> httpx.Headers:
        return httpx.Headers() if self._response is None else self._response.headers

    async def __aenter__(self) -> Self:
        self._url = url = await self._storage._download_url(self.cloud_id, self._timeout)
        self._response = await self._storage._transport.open_stream(
            Request(
                "GET",
                url=url.download_url,
                # The stored bytes exactly: no compression added (or undone) on the way.
                headers={"Accept-Encoding": "identity"},
                timeout=self._timeout,
            )
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Give the connection back (idempotent; ``async with`` does it for you)."""
        if self._response is not None:
            await self._response.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._response is None:
            raise RuntimeError(
                "Use the stream in a block: 'async with cb.storage.stream(cloud_id) as body:'."
            )
        return self._iterate(self._response)

    async def _iterate(self, response: Response) -> AsyncIterator[bytes]:
        # No cleanup in here: the block owns the connection, so an abandoned iterator
        # leaves nothing for the garbage collector to finish.
        try:
            # Without a chunk size httpx passes each network read straight on; re-chunking
            # costs a copy per byte (about 40% of the throughput on 256 MiB).
            async for chunk in response.http.aiter_raw(self._chunk_size):
                self.received += len(chunk)
                yield chunk
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"Download of {self.cloud_id} stalled after {self.received} bytes.",
                request_id=response.request_id,
            ) from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"Download of {self.cloud_id} broke after {self.received} bytes: "
                f"{type(exc).__name__}: {exc}",
                request_id=response.request_id,
            ) from exc


# --- the service ----------------------------------------------------------------------


class Storage:
    """``cb.storage``: the environment's cloud storage.

    :param batch_size: items per gateway call for batch operations (default 50).
    :param chunk_size: bytes per read and per downloaded chunk. Default: uploads read
        1 MiB at a time and downloads pass on the network's reads as they arrive
        (re-chunking them costs a copy of every byte).
    :param max_age_field: the item field that carries ``max_age`` for temporary URLs
        (default ``"maxAge"``; unconfirmed in the API reference, hence configurable).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        chunk_size: int | None = None,
        max_age_field: str = DEFAULT_MAX_AGE_FIELD,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        if chunk_size is not None and chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be >= 1, got {chunk_size}")
        if not max_age_field:
            raise ConfigurationError("max_age_field must be a non-empty string")
        self._transport = transport
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.max_age_field = max_age_field

    def with_options(
        self,
        *,
        batch_size: int | None = None,
        chunk_size: int | None = None,
        max_age_field: str | None = None,
    ) -> Storage:
        """A copy with other batch/chunk settings (same client, same pool)."""
        return Storage(
            self._transport,
            batch_size=self.batch_size if batch_size is None else batch_size,
            chunk_size=self.chunk_size if chunk_size is None else chunk_size,
            max_age_field=self.max_age_field if max_age_field is None else max_age_field,
        )

    # upload ---------------------------------------------------------------------------

    async def upload(
        self,
        cloud_path: str,
        source: UploadSource,
        *,
        content_type: str | None = None,
        size: int | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: Timeout = None,
    ) -> UploadResult:
        """Upload ``source`` to ``cloud_path`` (``"dir/file.png"``, relative to the bucket).

        ``source`` is bytes, a path (read with anyio in ``chunk_size`` pieces), a binary
        file object, or an async iterable of bytes; it is streamed, never read whole.
        ``size`` declares the length of a source whose size cannot be found out (an
        async iterable or a pipe); without it the body is sent chunked and
        ``content-length`` is not signed. ``content_type`` defaults to the guess from
        the path's extension. ``on_progress(sent, total)`` is called as bytes go (and
        with ``sent=0`` when an attempt starts).

        The upload URL is retried like any read. The PUT is retried only when the body
        can be produced again: bytes, a path (reopened) or a seekable file (rewound).
        """
        validate_cloud_path(cloud_path)
        _check_callback(on_progress)
        if size is not None and size < 0:
            raise InvalidRequestError(f"size must be >= 0, got {size}")
        content_type = content_type or guess_content_type(cloud_path)
        body, total = await _make_body(
            source, size, self.chunk_size or DEFAULT_CHUNK_SIZE, on_progress
        )
        signed: dict[str, list[str]] = {"content-type": [content_type]}
        if total is not None:
            signed["content-length"] = [str(total)]
        [outcome] = await self._run_batch(
            "/get-objects-upload-info",
            [{"objectId": cloud_path, "signedHeader": signed}],
            [cloud_path],
            _parse_upload_info,
            # Asks for a signature only; nothing changes on the server.
            retry_safe=True,
            request_timeout=timeout,
        )
        info = _unwrap(outcome)
        headers = {"Content-Type": content_type}
        if total is not None:
            headers["Content-Length"] = str(total)
        signature = {
            "Authorization": info.authorization,
            "X-Cos-Security-Token": info.token,
            "X-Cos-Meta-Fileid": info.cloud_object_meta,
        }
        # Empty ones are left out: a presigned URL carries its signature itself.
        headers.update({name: value for name, value in signature.items() if value})
        try:
            put = await self._transport.send(
                Request(
                    "PUT",
                    url=info.upload_url,
                    headers=headers,
                    content=body,
                    # The same bytes PUT to the same URL again: repeating is harmless,
                    # as long as the body can be produced again from its first byte.
                    retry_safe=isinstance(body, ReplayableBody),
                    timeout=timeout,
                )
            )
        except APIError as exc:
            raise _object_store_error(exc, f"Upload of {cloud_path!r} refused") from exc
        sent: int = body.progress.sent  # type: ignore[attr-defined]
        return UploadResult(
            cloud_id=info.cloud_id,
            cloud_path=cloud_path,
            download_url=info.download_url,
            download_url_encoded=info.download_url_encoded,
            size=sent,
            etag=put.headers.get("etag"),
            # The gateway's id: the object store's own ids mean nothing to CloudBase support.
            request_id=info.request_id,
            extra=info.extra,
        )

    # download -------------------------------------------------------------------------

    async def get_download_urls(
        self,
        ids: Sequence[str],
        *,
        max_age: int | None = None,
        timeout: Timeout = None,
    ) -> BatchResult[DownloadUrl]:
        """Temporary download URLs for ``ids`` (cloud ids), valid for ``max_age`` seconds.

        Lists longer than ``batch_size`` are split into several calls.
        """
        if max_age is not None and (isinstance(max_age, bool) or max_age <= 0):
            raise InvalidRequestError(f"max_age must be a positive number of seconds: {max_age!r}")
        keys = _id_list(ids)
        age = {} if max_age is None else {self.max_age_field: max_age}
        items = [{"cloudObjectId": key, **age} for key in keys]
        return BatchResult(
            tuple(
                await self._run_batch(
                    "/get-objects-download-info",
                    items,
                    keys,
                    _parse_download_url,
                    retry_safe=True,  # a read
                    request_timeout=timeout,
                )
            )
        )

    async def _download_url(self, cloud_id: str, request_timeout: Timeout) -> DownloadUrl:
        [outcome] = await self._run_batch(
            "/get-objects-download-info",
            [{"cloudObjectId": cloud_id}],
            [cloud_id],
            _parse_download_url,
            retry_safe=True,
            request_timeout=request_timeout,
        )
        return _unwrap(outcome)

    def stream(
        self, cloud_id: str, *, chunk_size: int | None = None, timeout: Timeout = None
    ) -> ObjectStream:
        """The object's bytes as an async iterator owned by an ``async with`` block::

        async with cb.storage.stream(cloud_id) as body:
            async for chunk in body:
                ...

        Chunks are the network's reads as they arrive unless a ``chunk_size`` (here or
        on the service) asks for pieces of that size.
        """
        return ObjectStream(
            self, cloud_id, chunk_size=chunk_size or self.chunk_size, timeout=timeout
        )

    async def download(
        self,
        cloud_id: str,
        to: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
        timeout: Timeout = None,
    ) -> DownloadedFile:
        """Save the object at ``to`` (a file path, or an existing directory).

        Bytes go to a temporary file next to the target, which is renamed over it only
        once complete and flushed to disk: ``to`` never holds a partial download.
        """
        validate_cloud_id(cloud_id)
        _check_callback(on_progress)
        target = Path(to)
        if await anyio.Path(target).is_dir():
            target = target / cloud_id.rpartition("/")[2]
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
        async with self.stream(cloud_id, timeout=timeout) as body:
            try:
                async with await anyio.open_file(partial, "xb") as file:
                    await _write_while_reading(body, file.wrapped, on_progress)
                    await file.flush()
                    await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
                await anyio.Path(partial).replace(target)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.Path(partial).unlink(missing_ok=True)
                raise
            return DownloadedFile(target, body.received, body.content_type, body.request_id)

    # delete and copy ------------------------------------------------------------------

    async def delete(
        self,
        ids: Sequence[str],
        *,
        timeout: Timeout = None,
    ) -> BatchResult[DeletedObject]:
        """Delete objects by cloud id; per-item results (``raise_for_errors()`` to check)."""
        keys = _id_list(ids)
        return BatchResult(
            tuple(
                await self._run_batch(
                    "/delete-objects",
                    [{"cloudObjectId": key} for key in keys],
                    keys,
                    _parse_deleted,
                    # Not repeated: a second delete reports the first one's objects missing.
                    retry_safe=False,
                    request_timeout=timeout,
                )
            )
        )

    async def copy(
        self,
        src: str,
        dst: str,
        *,
        overwrite: bool = True,
        remove_original: bool = False,
        timeout: Timeout = None,
    ) -> CopiedObject:
        """Copy (or, with ``remove_original=True``, move) one object; admin only."""
        [outcome] = await self._copy([(src, dst)], overwrite, remove_original, timeout)
        return _unwrap(outcome)

    async def copy_many(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        overwrite: bool = True,
        remove_original: bool = False,
        timeout: Timeout = None,
    ) -> BatchResult[CopiedObject]:
        """Copy many ``(src, dst)`` pairs; per-item results."""
        return BatchResult(tuple(await self._copy(pairs, overwrite, remove_original, timeout)))

    async def _copy(
        self,
        pairs: Sequence[tuple[str, str]],
        overwrite: bool,
        remove_original: bool,
        request_timeout: Timeout,
    ) -> list[CopiedObject | ItemError]:
        items = [
            {
                "srcPath": _validate_copy_path(src),
                "dstPath": _validate_copy_path(dst),
                "overwrite": overwrite,
                "removeOriginal": remove_original,
            }
            for src, dst in pairs
        ]
        return await self._run_batch(
            "/copy-objects",
            items,
            [src for src, _ in pairs],
            _parse_copied,
            # Not repeated: a repeated move finds its source gone.
            retry_safe=False,
            request_timeout=request_timeout,
        )

    # batches --------------------------------------------------------------------------

    async def _run_batch(
        self,
        path: str,
        items: list[dict[str, Any]],
        keys: list[str],
        parse: Parser[T],
        *,
        retry_safe: bool,
        request_timeout: Timeout,
    ) -> list[T | ItemError]:
        """Send ``items`` in chunks of ``batch_size`` and pair each answer with its key.

        A request that fails as a whole raises when nothing has been done yet. Once an
        earlier chunk went through, the failure is recorded on the remaining items
        instead (and no more chunks are sent), so the outcome of the done ones is kept.
        """
        if not items:
            return []
        results: list[T | ItemError] = []
        step = self.batch_size
        for start in range(0, len(items), step):
            chunk, chunk_keys = items[start : start + step], keys[start : start + step]
            try:
                response = await self._transport.send(
                    Request(
                        "POST",
                        "storage",
                        path,
                        json=chunk,
                        retry_safe=retry_safe,
                        timeout=request_timeout,
                    )
                )
            except (APIError, APIConnectionError) as exc:
                if start == 0:
                    raise
                results.extend(_failed(key, exc) for key in keys[start:])
                return results
            results.extend(_pair(response, chunk_keys, parse))
        return results


def _pair(response: Response, keys: list[str], parse: Parser[T]) -> list[T | ItemError]:
    status, rid = response.status_code, response.request_id
    try:
        body = response.json()
    except ValueError:
        body = None
    if (
        not isinstance(body, list)
        or len(body) != len(keys)
        or not all(isinstance(item, Mapping) for item in body)
    ):
        # Some gateways answer errors with 200 and an error object.
        if isinstance(body, Mapping) and body.get("code"):
            raise make_api_error(status, body, request_id=rid)
        raise APIError(
            f"Storage answered {type(body).__name__} for {len(keys)} items; "
            "expected a list of as many objects.",
            status_code=status,
            request_id=rid,
            body=body,
        )
    return [
        _item_error(key, item, rid) if _is_item_error(item) else parse(item, status, rid)
        for key, item in zip(keys, body, strict=True)
    ]


def _failed(key: str, exc: APIError | APIConnectionError) -> ItemError:
    code = exc.code if isinstance(exc, APIError) else type(exc).__name__
    message = exc.message if isinstance(exc, APIError) else str(exc)
    return ItemError(key=key, code=code, message=message, request_id=exc.request_id, exception=exc)


def _unwrap(outcome: T | ItemError) -> T:
    if isinstance(outcome, ItemError):
        raise outcome.to_exception()
    return outcome
