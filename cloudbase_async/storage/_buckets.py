"""PG-mode buckets: ``cb.storage.buckets``, over ``/v1/storages/bucket/...``.

Managing buckets needs the service role (an API key); reading them follows the
environment's row-level security. The calls are JSON both ways (``pg-storage-notes``
§1). Reads are retried like any read, and so is an update (it sets the same values
again); a create or a delete is never repeated automatically: a second create answers
``Duplicate`` for the first one's bucket, a second delete "Bucket not found".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final, Literal, TypeAlias

from .._core.errors import InvalidRequestError, ResponseValidationError
from .._core.responses import Response
from .._core.service import Service, expect_mapping
from .._core.transport import Request
from .._core.types import UNSET, Timeout, Unset
from ._models import structure_item
from ._names import bucket_segment, validate_bucket_id
from ._pg_models import BucketInfo, with_owner

__all__ = ["BucketSort", "Buckets", "FileSizeLimit", "SortOrder"]

#: What buckets can be listed by.
BucketSort: TypeAlias = Literal["id", "name", "created_at", "updated_at"]
SortOrder: TypeAlias = Literal["asc", "desc"]
# Spelled out: inside the class, ``list`` is the method.
_BucketInfos: TypeAlias = list[BucketInfo]
#: A bucket's upload size limit: bytes, or text such as ``"100MB"`` (read by the server).
FileSizeLimit: TypeAlias = int | str

_BUCKET_SORTS: Final = frozenset({"id", "name", "created_at", "updated_at"})
_ORDERS: Final = frozenset({"asc", "desc"})
# What the server reads as a size: a number and a unit (``"100MB"``, ``"1.5 GB"``).
_SIZE_TEXT: Final = re.compile(r"\d+(?:\.\d+)?\s*(?:B|KB|MB|GB|TB)?", re.IGNORECASE)


def check_sort(value: str | None, allowed: frozenset[str], what: str) -> str | None:
    """``value`` if it is one of ``allowed`` (or ``None``), else :class:`InvalidRequestError`."""
    if value is not None and value not in allowed:
        raise InvalidRequestError(f"{what} is one of {', '.join(sorted(allowed))}: {value!r}")
    return value


def check_count(value: int | None, what: str, *, least: int) -> int | None:
    """``value`` if it is an int of at least ``least`` (or ``None``)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidRequestError(f"{what} must be an integer, got {value!r}")
    if value is not None and value < least:
        raise InvalidRequestError(f"{what} must be >= {least}, got {value}")
    return value


def _size_limit(value: FileSizeLimit | None) -> FileSizeLimit | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, str) and _SIZE_TEXT.fullmatch(value.strip()):
        return value.strip()
    raise InvalidRequestError(
        f"file_size_limit is a number of bytes or a size such as '100MB', got {value!r}"
    )


def _mime_types(value: Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequestError(
            f"allowed_mime_types is a list of MIME types ('image/png', 'image/*'), got {value!r}"
        )
    return list(value)


def check_flag(value: object, what: str) -> bool:
    """``value`` if it is a bool (a truthy string would be sent as it is)."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{what} must be True or False, got {value!r}")
    return value


def _bucket(body: object, response: Response) -> BucketInfo:
    item = expect_mapping(body, response, "a bucket")
    return structure_item(BucketInfo, with_owner(item), response)


class Buckets(Service):
    """``cb.storage.buckets``: the buckets of a PG-mode environment's storage."""

    __slots__ = ()

    async def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        sort_column: BucketSort | None = None,
        sort_order: SortOrder | None = None,
        search: str | None = None,
        timeout: Timeout = None,
    ) -> _BucketInfos:
        """The buckets this identity may see, ``limit`` at a time from ``offset``,
        sorted by ``sort_column`` (``id``, ``name``, ``created_at``, ``updated_at``)
        in ``sort_order``, and only those whose name contains ``search`` if given."""
        params = {
            "limit": check_count(limit, "limit", least=0),
            "offset": check_count(offset, "offset", least=0),
            "sortColumn": check_sort(sort_column, _BUCKET_SORTS, "sort_column"),
            "sortOrder": check_sort(sort_order, _ORDERS, "sort_order"),
            "search": search,
        }
        body, response = await self._json(
            Request(
                "GET",
                "storage",
                "/bucket/",  # the trailing slash is the route's
                params={key: value for key, value in params.items() if value is not None},
                timeout=timeout,
            )
        )
        if not isinstance(body, list):
            raise ResponseValidationError(
                f"Expected a list of buckets, got {type(body).__name__}.",
                status_code=response.status_code,
                request_id=response.request_id,
                body=body,
            )
        return [_bucket(item, response) for item in body]

    async def get(self, bucket_id: str, *, timeout: Timeout = None) -> BucketInfo:
        """The bucket ``bucket_id`` (:class:`~cloudbase_async.NotFoundError` if none)."""
        body, response = await self._json(
            Request("GET", "storage", f"/bucket/{bucket_segment(bucket_id)}", timeout=timeout)
        )
        return _bucket(body, response)

    async def create(
        self,
        bucket_id: str,
        *,
        name: str | None = None,
        public: bool = False,
        file_size_limit: FileSizeLimit | None = None,
        allowed_mime_types: Sequence[str] | None = None,
        timeout: Timeout = None,
    ) -> str:
        """Create the bucket ``bucket_id`` (named ``name``, ``bucket_id`` by default);
        returns the name the server answers.

        ``public`` buckets serve their objects at :meth:`Bucket.get_public_url
        <cloudbase_async.storage.Bucket.get_public_url>` without credentials.
        ``file_size_limit`` is bytes or text such as ``"100MB"``;
        ``allowed_mime_types`` refuses uploads of other types (``"image/*"`` allowed).
        An existing bucket is a :class:`~cloudbase_async.ConflictError`. Never retried.
        """
        validate_bucket_id(bucket_id)
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidRequestError(f"name must be a non-empty string, got {name!r}")
        payload: dict[str, Any] = {
            "id": bucket_id,
            "name": name or bucket_id,
            "public": check_flag(public, "public"),
        }
        if file_size_limit is not None:
            payload["file_size_limit"] = _size_limit(file_size_limit)
        if allowed_mime_types is not None:
            payload["allowed_mime_types"] = _mime_types(allowed_mime_types)
        body, response = await self._json(
            Request(
                "POST",
                "storage",
                "/bucket/",
                json=payload,
                retry_safe=False,
                timeout=timeout,
            )
        )
        answer = expect_mapping(body, response, "the created bucket's name")
        return str(answer.get("name") or bucket_id)

    async def update(
        self,
        bucket_id: str,
        *,
        public: bool | Unset = UNSET,
        file_size_limit: FileSizeLimit | Unset | None = UNSET,
        allowed_mime_types: Sequence[str] | Unset | None = UNSET,
        timeout: Timeout = None,
    ) -> None:
        """Change what is given: ``public``, ``file_size_limit`` and
        ``allowed_mime_types`` (``None`` removes the limit). Retried when safe: the
        same values set twice are the same values."""
        payload: dict[str, Any] = {}
        if not isinstance(public, Unset):
            payload["public"] = check_flag(public, "public")
        if not isinstance(file_size_limit, Unset):
            payload["file_size_limit"] = _size_limit(file_size_limit)
        if not isinstance(allowed_mime_types, Unset):
            payload["allowed_mime_types"] = _mime_types(allowed_mime_types)
        if not payload:
            raise InvalidRequestError(
                "Nothing to update: pass public=, file_size_limit= or allowed_mime_types=."
            )
        await self._json(
            Request(
                "PUT",
                "storage",
                f"/bucket/{bucket_segment(bucket_id)}",
                json=payload,
                retry_safe=True,
                timeout=timeout,
            )
        )

    async def delete(self, bucket_id: str, *, timeout: Timeout = None) -> None:
        """Delete the bucket, which must be empty (a non-empty one is refused). Never
        retried."""
        await self._json(
            Request(
                "DELETE",
                "storage",
                f"/bucket/{bucket_segment(bucket_id)}",
                retry_safe=False,
                timeout=timeout,
            )
        )
