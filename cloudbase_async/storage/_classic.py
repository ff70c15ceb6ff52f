"""Classic (COS-backed) storage: the gateway's ``/v1/storages/*-objects*`` calls.

:class:`Storage` is also where PG-mode storage starts: ``buckets`` manages its
buckets and ``bucket(id)`` (or ``from_(id)``) reaches the objects of one.

The gateway's storage calls are batch calls (see :mod:`._batch`): this service splits
long lists into chunks (``batch_size``, 50 by default) and returns a
:class:`~._batch.BatchResult`. Bytes never pass through the gateway: ``upload`` asks it
for a signed upload URL and PUTs the body straight to object storage,
``download``/``stream`` ask for a download URL and GET it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

from .._core.errors import (
    APIError,
    ConfigurationError,
    InvalidRequestError,
    ResponseValidationError,
)
from .._core.headers import bad_header
from .._core.responses import Response
from .._core.service import Service
from .._core.transport import ReplayableBody, Request, Transport
from .._core.types import Timeout
from ._batch import BatchResult, ItemError, Parse, in_chunks, pair, unwrap
from ._bodies import (
    DEFAULT_CHUNK_SIZE,
    ProgressCallback,
    UploadSource,
    check_callback,
    guess_content_type,
    make_body,
)
from ._buckets import Buckets
from ._models import (
    CopiedObject,
    DeletedObject,
    DownloadedFile,
    DownloadUrl,
    UploadResult,
    http_url,
    structure_item,
    url_repr,
    wire,
)
from ._names import id_list, validate_cloud_id, validate_cloud_path, validate_copy_path
from ._object_store import object_store_error
from ._pg import Bucket
from ._stream import ObjectStream
from ._writer import save, target_path

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_MAX_AGE_FIELD", "Storage"]

T = TypeVar("T")

#: Items per gateway call; the gateway refuses temporary URLs for more than 50 at once.
DEFAULT_BATCH_SIZE: Final = 50
#: The item field carrying ``max_age`` in ``get-objects-download-info`` [unconfirmed].
DEFAULT_MAX_AGE_FIELD: Final = "maxAge"

#: Upload-info fields sent on to the object store as headers, by header name. The first
#: two are credentials: they never reach a model, a repr or an error.
_SIGNATURE: Final = {
    "authorization": "Authorization",
    "token": "X-Cos-Security-Token",
    "cloudObjectMeta": "X-Cos-Meta-Fileid",
}
_SECRET: Final = frozenset({"authorization", "token"})


@attrs.frozen
class _UploadInfo:
    """Where and how to PUT one object (``get-objects-upload-info``), minus the signature."""

    upload_url: str = attrs.field(metadata=wire("uploadUrl"), validator=http_url, repr=url_repr)
    cloud_id: str = attrs.field(
        metadata=wire("cloudObjectId"), validator=attrs.validators.min_len(1)
    )
    object_id: str | None = attrs.field(metadata=wire("objectId"), default=None)
    download_url: str | None = attrs.field(
        metadata=wire("downloadUrl"), default=None, repr=url_repr
    )
    download_url_encoded: str | None = attrs.field(
        metadata=wire("downloadUrlEncoded"), default=None, repr=url_repr
    )
    request_id: str | None = attrs.field(metadata=wire("requestId"), default=None)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class _SignedUpload:
    info: _UploadInfo
    #: The headers the object store checks the PUT with (empty ones left out).
    headers: Mapping[str, str] = attrs.field(repr=False)


def _parse_upload_info(item: Mapping[str, Any], response: Response) -> _SignedUpload:
    """The upload info item, its signature kept apart from everything that may be shown."""
    headers: dict[str, str] = {}
    for key, header in _SIGNATURE.items():
        value = item.get(key)
        if value is None or value == "":
            continue  # a presigned URL carries its signature itself
        if (reason := bad_header(header, value)) is not None:
            raise ResponseValidationError(
                f"Storage answered an upload signature that cannot be sent ({reason}).",
                status_code=response.status_code,
                request_id=response.request_id,
            )
        headers[header] = value
    rest = {key: value for key, value in item.items() if key not in _SIGNATURE}
    return _SignedUpload(structure_item(_UploadInfo, rest, response), headers)


@attrs.frozen
class _Call(Generic[T]):
    """One of the gateway's batch calls: where it goes and how its items are read."""

    path: str
    parse: Parse[T]
    #: Whether the transport may send it again after it may have reached the server.
    retry_safe: bool
    #: Item fields that are credentials, left out of any error about the answer.
    secret: frozenset[str] = frozenset()


_UPLOAD_INFO: Final = _Call(
    "/get-objects-upload-info",
    _parse_upload_info,
    retry_safe=True,  # asks for a signature only; nothing changes on the server
    secret=_SECRET,
)
_DOWNLOAD_INFO: Final = _Call(
    "/get-objects-download-info",
    functools.partial(structure_item, DownloadUrl),
    retry_safe=True,  # a read
)
_DELETE: Final = _Call(
    "/delete-objects",
    functools.partial(structure_item, DeletedObject),
    retry_safe=False,  # a second delete would report the first one's objects missing
)
_COPY: Final = _Call(
    "/copy-objects",
    functools.partial(structure_item, CopiedObject),
    retry_safe=False,  # a repeated move would find its source gone
)


def _copy_item(src: str, dst: str, overwrite: bool, remove_original: bool) -> dict[str, Any]:
    return {
        "srcPath": validate_copy_path(src),
        "dstPath": validate_copy_path(dst),
        "overwrite": overwrite,
        "removeOriginal": remove_original,
    }


class Storage(Service):
    """``cb.storage``: the environment's cloud storage.

    The methods here are classic (COS-backed) storage. In a PostgreSQL-mode
    environment use :attr:`buckets` and :meth:`bucket` instead.

    :param batch_size: items per gateway call for batch operations (default 50).
    :param chunk_size: bytes per read and per downloaded chunk. Default: uploads read
        1 MiB at a time and downloads pass on the network's reads as they arrive
        (re-chunking them costs a copy of every byte).
    :param max_age_field: the item field that carries ``max_age`` for temporary URLs
        (default ``"maxAge"``; unconfirmed in the API reference, hence configurable).
    """

    __slots__ = ("batch_size", "chunk_size", "max_age_field")

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
        super().__init__(transport)
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

    # PG-mode storage -------------------------------------------------------------------

    @property
    def buckets(self) -> Buckets:
        """PG-mode buckets: ``list``, ``get``, ``create``, ``update``, ``delete``."""
        return Buckets(self._transport)

    def bucket(self, bucket_id: str) -> Bucket:
        """The objects of the PG-mode bucket ``bucket_id`` (checked now): upload,
        download, stream, list, remove, copy, move, signed and public URLs."""
        return Bucket(self._transport, bucket_id, chunk_size=self.chunk_size)

    def from_(self, bucket_id: str) -> Bucket:
        """Alias of :meth:`bucket` (the js-sdk's ``storage.from(bucket)``)."""
        return self.bucket(bucket_id)

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
        check_callback(on_progress)
        if size is not None and size < 0:
            raise InvalidRequestError(f"size must be >= 0, got {size}")
        content_type = content_type or guess_content_type(cloud_path)
        body = await make_body(source, size, self.chunk_size or DEFAULT_CHUNK_SIZE, on_progress)
        try:
            total = body.progress.total
            signed: dict[str, list[str]] = {"content-type": [content_type]}
            if total is not None:
                signed["content-length"] = [str(total)]
            upload = await self._one(
                _UPLOAD_INFO, {"objectId": cloud_path, "signedHeader": signed}, cloud_path, timeout
            )
            headers = {"Content-Type": content_type, **upload.headers}
            if total is not None:
                headers["Content-Length"] = str(total)
            try:
                put = await self._send(
                    Request(
                        "PUT",
                        url=upload.info.upload_url,
                        headers=headers,
                        content=body,
                        # The same bytes PUT to the same URL again: repeating is
                        # harmless, as long as the body can start again from its
                        # first byte.
                        retry_safe=isinstance(body, ReplayableBody),
                        timeout=timeout,
                    )
                )
            except APIError as exc:
                raise object_store_error(exc, f"Upload of {cloud_path!r} refused") from exc
        finally:
            await body.aclose()
        info = upload.info
        return UploadResult(
            cloud_id=info.cloud_id,
            cloud_path=cloud_path,
            download_url=info.download_url,
            download_url_encoded=info.download_url_encoded,
            size=body.progress.sent,
            etag=put.headers.get("etag"),
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
        keys = id_list(ids)
        age = {} if max_age is None else {self.max_age_field: max_age}
        items = [{"cloudObjectId": key, **age} for key in keys]
        return await self._batch(_DOWNLOAD_INFO, items, keys, timeout)

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
        validate_cloud_id(cloud_id)
        if chunk_size is not None and chunk_size < 1:
            raise InvalidRequestError(f"chunk_size must be >= 1, got {chunk_size}")
        return ObjectStream(
            functools.partial(self._open_object, cloud_id, timeout),
            key=cloud_id,
            chunk_size=chunk_size or self.chunk_size,
        )

    async def _open_object(self, cloud_id: str, timeout: Timeout) -> tuple[Response, DownloadUrl]:
        location = await self._one(_DOWNLOAD_INFO, {"cloudObjectId": cloud_id}, cloud_id, timeout)
        try:
            response = await self._transport.open_stream(
                Request(
                    "GET",
                    url=location.download_url,
                    # The stored bytes exactly: no compression added (or undone) on the way.
                    headers={"Accept-Encoding": "identity"},
                    timeout=timeout,
                )
            )
        except APIError as exc:
            raise object_store_error(exc, f"Download of {cloud_id!r} refused") from exc
        return response, location

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
        once complete and flushed to disk: ``to`` never holds a partial download, and a
        failed download (an error status, a redirect, a broken connection) leaves it
        as it was.
        """
        validate_cloud_id(cloud_id)
        check_callback(on_progress)
        target = await target_path(to, cloud_id.rpartition("/")[2])
        async with self.stream(cloud_id, timeout=timeout) as body:
            return await save(body, target, on_progress)

    # delete and copy ------------------------------------------------------------------

    async def delete(
        self,
        ids: Sequence[str],
        *,
        timeout: Timeout = None,
    ) -> BatchResult[DeletedObject]:
        """Delete objects by cloud id; per-item results (``raise_for_errors()`` to check)."""
        keys = id_list(ids)
        return await self._batch(_DELETE, [{"cloudObjectId": key} for key in keys], keys, timeout)

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
        return await self._one(
            _COPY, _copy_item(src, dst, overwrite, remove_original), src, timeout
        )

    async def copy_many(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        overwrite: bool = True,
        remove_original: bool = False,
        timeout: Timeout = None,
    ) -> BatchResult[CopiedObject]:
        """Copy many ``(src, dst)`` pairs; per-item results."""
        items = [_copy_item(src, dst, overwrite, remove_original) for src, dst in pairs]
        return await self._batch(_COPY, items, [src for src, _ in pairs], timeout)

    # batches --------------------------------------------------------------------------

    async def _one(self, call: _Call[T], item: dict[str, Any], key: str, timeout: Timeout) -> T:
        """A batch call for one item: its result, or its error raised."""
        [outcome] = await self._batch(call, [item], [key], timeout)
        return unwrap(outcome)

    async def _batch(
        self, call: _Call[T], items: list[dict[str, Any]], keys: list[str], timeout: Timeout
    ) -> BatchResult[T]:
        """Send ``items`` in chunks of ``batch_size`` and pair each answer with its key
        (see :func:`~._batch.in_chunks` for what a failed chunk does)."""

        async def send(part: slice) -> list[T | ItemError]:
            body, response = await self._json(
                Request(
                    "POST",
                    "storage",
                    call.path,
                    json=items[part],
                    retry_safe=call.retry_safe,
                    timeout=timeout,
                )
            )
            return pair(body, response, keys[part], call.parse, secret=call.secret)

        return await in_chunks(keys, self.batch_size, send)
