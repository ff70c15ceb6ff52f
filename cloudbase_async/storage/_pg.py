"""PG-mode storage: the objects of one bucket, ``cb.storage.bucket("avatars")``.

Environments in PostgreSQL mode keep their files in "pgstore", a Supabase-storage-style
API under ``/v1/storages`` (``pg-storage-notes``): bytes go to and come from the
gateway itself (no signed detour to an object store), with the caller's credential,
and row-level security decides who may do what.

Uploads are streamed like classic ones (:mod:`._bodies`), downloads are
:class:`~._stream.ObjectStream`s saved by :mod:`._writer`. What may be repeated
automatically, besides a request that never reached the server:

* reads (download, info, list) and signing: always, as reads;
* an upload with ``upsert=True`` and an update: when the body can start again (bytes,
  a path, a seekable file), since the same bytes stored twice are stored once;
* an upload that must create (``upsert=False``) and one to a signed URL: never, since
  a repeat of one that was stored would be answered ``Duplicate``;
* removals, copies and moves: never (a repeat would find the first one's work done).

Signed and public URLs, and the routes every call here uses, are the base class's
(:mod:`._pg_urls`). A little over 500 lines: one documented method per operation of
the notes, and nothing here is shared with another module.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

import attrs

from .._core.errors import (
    BadRequestError,
    InvalidRequestError,
    NotFoundError,
    ResponseValidationError,
)
from .._core.responses import Response
from .._core.service import expect_mapping
from .._core.transport import ReplayableBody, Request
from .._core.types import Timeout
from ._batch import BatchResult, ItemError, in_chunks
from ._bodies import (
    DEFAULT_CHUNK_SIZE,
    ProgressCallback,
    UploadSource,
    check_callback,
    guess_content_type,
    make_body,
)
from ._buckets import SortOrder, check_count, check_flag, check_sort
from ._models import DownloadedFile, DownloadUrl, structure_item
from ._names import bucket_segment, clean_object_name, name_list
from ._pg_models import ObjectEntry, ObjectInfo, ObjectList, ObjectRef, parse_entries, parse_list
from ._pg_urls import BucketUrls, refused
from ._pg_wire import encode_metadata, object_ref_answer, upload_headers
from ._stream import ObjectStream
from ._writer import save, target_path

__all__ = ["REMOVE_BATCH_SIZE", "Bucket", "ObjectPages", "ObjectSort"]

#: Names per removal request: CloudBase's limit (the js-sdk's ``REMOVE_BATCH_LIMIT``).
REMOVE_BATCH_SIZE: Final = 100

#: What objects can be listed by.
ObjectSort: TypeAlias = Literal["name", "created_at", "updated_at"]
_OBJECT_SORTS: Final = frozenset({"name", "created_at", "updated_at"})
_ORDERS: Final = frozenset({"asc", "desc"})
_NOT_REMOVED: Final = "not removed: no such object, or this identity may not delete it"


@attrs.frozen
class _Upload:
    """What an upload says about its bytes besides the bytes themselves."""

    content_type: str | None
    cache_control: int
    metadata: Mapping[str, Any] | None
    size: int | None
    on_progress: ProgressCallback | None


class ObjectPages:
    """Every page of a listing, following ``nextCursor``: ``async for page in
    bucket.list_pages(...)``.

    A class-based async iterator rather than an async generator: one abandoned halfway
    (a ``break``) holds nothing that the garbage collector would have to finalise.
    Nothing is held open between pages.
    """

    __slots__ = ("_cursor", "_done", "_fetch")

    def __init__(self, fetch: Callable[[str | None], Awaitable[ObjectList]]) -> None:
        self._fetch = fetch  # list(), all but the cursor given
        self._cursor: str | None = None
        self._done = False

    def __aiter__(self) -> ObjectPages:
        return self

    async def __anext__(self) -> ObjectList:
        if self._done:
            raise StopAsyncIteration
        page = await self._fetch(self._cursor)
        if not page.has_next:
            self._done = True
        elif page.next_cursor == self._cursor:
            self._done = True
            raise ResponseValidationError(
                "The listing answered the cursor it was asked with as the next one; "
                "following it would never end.",
                status_code=200,
                request_id=page.request_id,
            )
        self._cursor = page.next_cursor
        return page


class Bucket(BucketUrls):
    """The objects of one PG-mode bucket: ``cb.storage.bucket("avatars")`` (or
    ``cb.storage.from_("avatars")``, the js-sdk's name).

    Object names are cleaned as the js-sdk cleans them (``"/a//b/"`` is ``"a/b"``),
    every segment percent-encoded; a ``.`` or ``..`` segment or a control character is
    refused with :class:`~cloudbase_async.InvalidRequestError` before anything is sent.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<Bucket {self.id!r}>"

    # upload ---------------------------------------------------------------------------

    async def upload(
        self,
        path: str,
        source: UploadSource,
        *,
        content_type: str | None = None,
        cache_control: int = 3600,
        metadata: Mapping[str, Any] | None = None,
        upsert: bool = False,
        size: int | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: Timeout = None,
    ) -> ObjectRef:
        """Upload ``source`` as the object ``path`` (``POST /object/{bucket}/{path}``).

        ``source`` is what classic uploads take (bytes, a path, a binary file object,
        an async iterable of bytes), streamed in ``chunk_size`` pieces: memory stays
        constant for any size. ``size`` declares the length of a source that cannot
        tell (an async iterable, a pipe); without it the body is sent chunked.
        ``content_type`` defaults to the guess from the name's extension,
        ``cache_control`` is the ``max-age`` in seconds, ``metadata`` (a JSON object)
        is stored with the object. An existing object is a
        :class:`~cloudbase_async.ConflictError` unless ``upsert=True`` replaces it.
        """
        cleaned, route = self._route("", path)
        check_flag(upsert, "upsert")
        return await self._upload(
            "POST",
            route,
            cleaned,
            source,
            _Upload(content_type, cache_control, metadata, size, on_progress),
            extra_headers={"x-upsert": "true" if upsert else "false"},
            idempotent=upsert,
            timeout=timeout,
        )

    async def update(
        self,
        path: str,
        source: UploadSource,
        *,
        content_type: str | None = None,
        cache_control: int = 3600,
        metadata: Mapping[str, Any] | None = None,
        size: int | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: Timeout = None,
    ) -> ObjectRef:
        """Replace the existing object ``path`` (``PUT``; a missing one is a
        :class:`~cloudbase_async.NotFoundError`); the arguments are :meth:`upload`'s."""
        cleaned, route = self._route("", path)
        return await self._upload(
            "PUT",
            route,
            cleaned,
            source,
            _Upload(content_type, cache_control, metadata, size, on_progress),
            idempotent=True,
            timeout=timeout,
        )

    async def upload_to_signed_url(
        self,
        path: str,
        token: str,
        source: UploadSource,
        *,
        content_type: str | None = None,
        cache_control: int = 3600,
        metadata: Mapping[str, Any] | None = None,
        size: int | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: Timeout = None,
    ) -> ObjectRef:
        """Upload to a URL made by :meth:`create_signed_upload_url`, with its ``token``
        as the only credential: no ``Authorization`` is sent, so anyone holding the
        token (a browser, another service) can do this. Whether it may replace an
        existing object was decided when the URL was made. Never retried once sent.
        """
        if not isinstance(token, str) or not token:
            raise InvalidRequestError("token must be the signed upload URL's token.")
        cleaned, route = self._route("/upload/sign", path)
        return await self._upload(
            "PUT",
            route,
            cleaned,
            source,
            _Upload(content_type, cache_control, metadata, size, on_progress),
            params={"token": token},
            authenticated=False,
            idempotent=False,
            timeout=timeout,
        )

    async def _upload(
        self,
        method: str,
        route: str,
        cleaned: str,
        source: UploadSource,
        upload: _Upload,
        *,
        extra_headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        authenticated: bool = True,
        idempotent: bool,
        timeout: Timeout,
    ) -> ObjectRef:
        check_callback(upload.on_progress)
        if upload.size is not None and (isinstance(upload.size, bool) or upload.size < 0):
            raise InvalidRequestError(f"size must be >= 0, got {upload.size!r}")
        content_type = upload.content_type or guess_content_type(cleaned)
        # Checked before the body opens a file: nothing to close if they are wrong.
        upload_headers(content_type, upload.cache_control, upload.metadata, upload.size)
        body = await make_body(
            source, upload.size, self.chunk_size or DEFAULT_CHUNK_SIZE, upload.on_progress
        )
        try:
            headers = upload_headers(
                content_type, upload.cache_control, upload.metadata, body.progress.total
            )
            answer, response = await self._json(
                Request(
                    method,
                    "storage",
                    route,
                    params=params,
                    headers={**headers, **(extra_headers or {})},
                    content=body,
                    # Storing the same bytes again is harmless only where it replaces.
                    retry_safe=idempotent and isinstance(body, ReplayableBody),
                    authenticated=authenticated,
                    timeout=timeout,
                )
            )
        finally:
            await body.aclose()
        return self._ref(answer, response, self.id, cleaned)

    @staticmethod
    def _ref(answer: object, response: Response, bucket: str, path: str) -> ObjectRef:
        data = object_ref_answer(answer, response, f"{bucket}/{path}")
        return structure_item(ObjectRef, data, response, bucket=bucket, path=path)

    # download -------------------------------------------------------------------------

    def stream(
        self, path: str, *, chunk_size: int | None = None, timeout: Timeout = None
    ) -> ObjectStream:
        """The object's bytes as an async iterator owned by an ``async with`` block
        (``GET /object/{bucket}/{path}`` with the caller's credential)::

        async with cb.storage.bucket("docs").stream("a/report.pdf") as body:
            async for chunk in body:
                ...

        The same lifecycle as classic :meth:`Storage.stream
        <cloudbase_async.storage.Storage.stream>`: leaving the block returns the
        connection at once, and nothing is left for the garbage collector.
        """
        cleaned, route = self._route("", path)
        if chunk_size is not None and chunk_size < 1:
            raise InvalidRequestError(f"chunk_size must be >= 1, got {chunk_size}")
        return ObjectStream(
            functools.partial(self._open_object, route, timeout),
            key=f"{self.id}/{cleaned}",
            chunk_size=chunk_size or self.chunk_size,
        )

    async def _open_object(
        self, route: str, timeout: Timeout
    ) -> tuple[Response, DownloadUrl | None]:
        request = Request(
            "GET",
            "storage",
            route,
            # The stored bytes exactly: no compression added (or undone) on the way.
            headers={"Accept-Encoding": "identity"},
            timeout=timeout,
        )
        return await self._transport.open_stream(request), None

    async def download(
        self,
        path: str,
        to: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
        timeout: Timeout = None,
    ) -> DownloadedFile:
        """Save the object at ``to`` (a file path, or an existing directory where it
        lands under its own last segment), atomically: bytes go to a temporary file
        that replaces ``to`` only once complete and flushed to disk."""
        cleaned = clean_object_name(path)
        check_callback(on_progress)
        target = await target_path(to, cleaned.rpartition("/")[2])
        async with self.stream(cleaned, timeout=timeout) as body:
            return await save(body, target, on_progress)

    # reading about objects ------------------------------------------------------------

    async def info(self, path: str, *, timeout: Timeout = None) -> ObjectInfo:
        """The object's details (``GET /object/info/{bucket}/{path}``)."""
        _, route = self._route("/info", path)
        body, response = await self._json(Request("GET", "storage", route, timeout=timeout))
        return structure_item(ObjectInfo, expect_mapping(body, response, "object info"), response)

    async def exists(self, path: str, *, timeout: Timeout = None) -> bool:
        """Whether the object exists: ``False`` when the server says it is not there
        (404, or a 400 as Supabase-style servers answer for a missing or invalid name);
        any other failure (a denied identity, say) raises."""
        _, route = self._route("/info", path)
        try:
            await self._send(Request("GET", "storage", route, timeout=timeout))
        except (NotFoundError, BadRequestError):
            return False
        return True

    async def list(
        self,
        prefix: str = "",
        *,
        limit: int | None = None,
        cursor: str | None = None,
        with_delimiter: bool | None = None,
        sort_column: ObjectSort | None = None,
        sort_order: SortOrder | None = None,
        timeout: Timeout = None,
    ) -> ObjectList:
        """One page of the objects whose names start with ``prefix``
        (``POST /object/list/{bucket}``, the cursor form).

        ``with_delimiter=True`` lists one level: names below it are gathered into
        ``folders``. Pass the page's ``next_cursor`` as ``cursor`` for the next one
        (or iterate :meth:`list_pages`).
        """
        return await self._list_request(
            prefix, limit, with_delimiter, sort_column, sort_order, timeout
        )(cursor)

    def list_pages(
        self,
        prefix: str = "",
        *,
        limit: int | None = None,
        with_delimiter: bool | None = None,
        sort_column: ObjectSort | None = None,
        sort_order: SortOrder | None = None,
        timeout: Timeout = None,
    ) -> ObjectPages:
        """Every page of :meth:`list`, ``limit`` entries at a time: ``async for page in
        bucket.list_pages("photos/"): for obj in page.objects: ...``."""
        return ObjectPages(
            self._list_request(prefix, limit, with_delimiter, sort_column, sort_order, timeout)
        )

    def _list_request(
        self,
        prefix: str,
        limit: int | None,
        with_delimiter: bool | None,
        sort_column: ObjectSort | None,
        sort_order: SortOrder | None,
        timeout: Timeout,
    ) -> Callable[[str | None], Awaitable[ObjectList]]:
        """Check the arguments now; the returned function lists from a cursor."""
        if not isinstance(prefix, str):
            raise InvalidRequestError(f"prefix must be a string, got {prefix!r}")
        payload: dict[str, Any] = {"prefix": prefix}
        if check_count(limit, "limit", least=1) is not None:
            payload["limit"] = limit
        if with_delimiter is not None:
            payload["with_delimiter"] = check_flag(with_delimiter, "with_delimiter")
        sort = {
            "column": check_sort(sort_column, _OBJECT_SORTS, "sort_column"),
            "order": check_sort(sort_order, _ORDERS, "sort_order"),
        }
        if any(sort.values()):
            payload["sortBy"] = {key: value for key, value in sort.items() if value}

        async def page(cursor: str | None) -> ObjectList:
            if cursor is not None and not isinstance(cursor, str):
                raise InvalidRequestError(f"cursor must be a string, got {cursor!r}")
            json = payload if cursor is None else {**payload, "cursor": cursor}
            body, response = await self._json(
                Request(
                    "POST",
                    "storage",
                    f"/object/list/{self._segment}",
                    json=json,
                    retry_safe=True,  # a read
                    timeout=timeout,
                )
            )
            return parse_list(body, response)

        return page

    # remove, copy, move ---------------------------------------------------------------

    async def remove(
        self, paths: Sequence[str], *, timeout: Timeout = None
    ) -> BatchResult[ObjectEntry]:
        """Remove objects by name, ``REMOVE_BATCH_SIZE`` (100) per request.

        Per-item results in the order given: the removed object, or an
        :class:`~cloudbase_async.storage.ItemError` for a name the server did not
        remove (it answers only the removed ones: the name did not exist, or row-level
        security kept it). Never retried.
        """
        names = name_list(paths)
        keys = [*paths]
        route = f"/object/{self._segment}"

        async def send(part: slice) -> list[ObjectEntry | ItemError]:
            body, response = await self._json(
                Request(
                    "DELETE",
                    "storage",
                    route,
                    json={"prefixes": names[part]},
                    retry_safe=False,
                    timeout=timeout,
                )
            )
            removed = {entry.name: entry for entry in parse_entries(body, response)}
            return [
                removed.get(name) or refused(key, "not_found", _NOT_REMOVED, response)
                for key, name in zip(keys[part], names[part], strict=True)
            ]

        return await in_chunks(keys, REMOVE_BATCH_SIZE, send)

    async def copy(
        self,
        source: str,
        destination: str,
        *,
        to_bucket: str | None = None,
        upsert: bool = False,
        metadata: Mapping[str, Any] | None = None,
        copy_metadata: bool | None = None,
        timeout: Timeout = None,
    ) -> ObjectRef:
        """Copy the object ``source`` to ``destination`` (in ``to_bucket`` if given).

        ``upsert=True`` replaces an existing destination. The copy keeps the source's
        metadata unless ``metadata`` gives other metadata or ``copy_metadata=False``
        drops it. Never retried.
        """
        payload = self._transfer(source, destination, to_bucket)
        headers = {"x-upsert": "true"} if check_flag(upsert, "upsert") else {}
        if metadata is not None:
            if copy_metadata:
                raise InvalidRequestError("Pass metadata= or copy_metadata=True, not both.")
            copy_metadata = False
            headers["x-metadata"] = encode_metadata(metadata)
            payload["metadata"] = dict(metadata)
        if copy_metadata is not None:
            payload["copyMetadata"] = check_flag(copy_metadata, "copy_metadata")
        return await self._transfer_call("/object/copy", payload, headers, timeout)

    async def move(
        self,
        source: str,
        destination: str,
        *,
        to_bucket: str | None = None,
        timeout: Timeout = None,
    ) -> ObjectRef:
        """Move (rename) the object ``source`` to ``destination``, in ``to_bucket`` if
        given. Never retried: a repeat would find the source gone."""
        payload = self._transfer(source, destination, to_bucket)
        return await self._transfer_call("/object/move", payload, {}, timeout)

    def _transfer(self, source: str, destination: str, to_bucket: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "bucketId": self.id,
            "sourceKey": clean_object_name(source),
            "destinationKey": clean_object_name(destination),
        }
        if to_bucket is not None:
            bucket_segment(to_bucket)
            payload["destinationBucket"] = to_bucket
        return payload

    async def _transfer_call(
        self, route: str, payload: dict[str, Any], headers: Mapping[str, str], timeout: Timeout
    ) -> ObjectRef:
        body, response = await self._json(
            Request(
                "POST",
                "storage",
                route,
                json=payload,
                headers=headers,
                retry_safe=False,
                timeout=timeout,
            )
        )
        bucket = payload.get("destinationBucket", self.id)
        return self._ref(body, response, bucket, payload["destinationKey"])
