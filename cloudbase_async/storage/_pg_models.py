"""The results of PG-mode storage calls, and how its answers become them.

PG-mode storage answers in Supabase storage-api's shapes (``pg-storage-notes``):
buckets and object rows in snake_case, uploads as ``{"Key", "Id"}``, the cursor-form
listing as ``{"folders", "objects", "hasNext", "nextCursor"}``. Models keep the wire's
snake_case names (the js-sdk's camelCase ones are its own) and, like every storage
model, keep the keys they do not declare in ``extra`` (see
:func:`~._models.structure_item`).

Object rows say who owns them as ``owner`` (what Supabase sends) or ``owner_id`` (what
the js-sdk's types say); either becomes ``owner``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._core.errors import ResponseValidationError
from .._core.responses import Response
from ._models import http_url, structure_item, url_repr, wire

__all__ = [
    "BucketInfo",
    "ObjectEntry",
    "ObjectInfo",
    "ObjectList",
    "ObjectRef",
    "SignedUploadUrl",
    "SignedUrl",
    "parse_entries",
    "parse_entry",
    "parse_list",
    "with_owner",
]


@attrs.frozen
class BucketInfo:
    """A bucket: its ``id`` (what calls name it by), whether it is ``public``, and the
    limits uploads to it must respect (``None``: no limit)."""

    id: str = attrs.field(metadata=wire("id"), validator=attrs.validators.min_len(1))
    name: str = attrs.field(metadata=wire("name"))
    public: bool = attrs.field(metadata=wire("public"), default=False)
    owner: str | None = attrs.field(metadata=wire("owner"), default=None)
    type: str | None = attrs.field(metadata=wire("type"), default=None)
    file_size_limit: int | None = attrs.field(metadata=wire("file_size_limit"), default=None)
    allowed_mime_types: tuple[str, ...] | None = attrs.field(
        metadata=wire("allowed_mime_types"), default=None
    )
    created_at: datetime | None = attrs.field(metadata=wire("created_at"), default=None)
    updated_at: datetime | None = attrs.field(metadata=wire("updated_at"), default=None)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ObjectInfo:
    """An object's details (``info``): size, type, cache control, ETag, the metadata
    given at upload, and when it was created and last modified."""

    name: str = attrs.field(metadata=wire("name"))
    bucket_id: str | None = attrs.field(metadata=wire("bucket_id"), default=None)
    id: str | None = attrs.field(metadata=wire("id"), default=None)
    version: str | None = attrs.field(metadata=wire("version"), default=None)
    size: int | None = attrs.field(metadata=wire("size"), default=None)
    content_type: str | None = attrs.field(metadata=wire("content_type"), default=None)
    cache_control: str | None = attrs.field(metadata=wire("cache_control"), default=None)
    etag: str | None = attrs.field(metadata=wire("etag"), default=None)
    metadata: dict[str, Any] | None = attrs.field(metadata=wire("metadata"), default=None)
    last_modified: datetime | None = attrs.field(metadata=wire("last_modified"), default=None)
    created_at: datetime | None = attrs.field(metadata=wire("created_at"), default=None)
    request_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ObjectEntry:
    """An object as a listing or a removal describes it, or a folder of a listing
    (a folder has only a ``name``, ending in ``/``, and its ``key``).

    ``metadata`` is what the store records (size, ``mimetype``, ``eTag``...);
    ``user_metadata`` what was given at upload.
    """

    name: str = attrs.field(metadata=wire("name"))
    key: str | None = attrs.field(metadata=wire("key"), default=None)
    id: str | None = attrs.field(metadata=wire("id"), default=None)
    bucket_id: str | None = attrs.field(metadata=wire("bucket_id"), default=None)
    owner: str | None = attrs.field(metadata=wire("owner"), default=None)
    version: str | None = attrs.field(metadata=wire("version"), default=None)
    created_at: datetime | None = attrs.field(metadata=wire("created_at"), default=None)
    updated_at: datetime | None = attrs.field(metadata=wire("updated_at"), default=None)
    last_accessed_at: datetime | None = attrs.field(metadata=wire("last_accessed_at"), default=None)
    metadata: dict[str, Any] | None = attrs.field(metadata=wire("metadata"), default=None)
    user_metadata: dict[str, Any] | None = attrs.field(metadata=wire("user_metadata"), default=None)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ObjectList:
    """One page of a listing: its ``folders`` (with ``with_delimiter=True``) and
    ``objects``; when ``has_next``, pass ``next_cursor`` as the next call's ``cursor``."""

    folders: tuple[ObjectEntry, ...] = attrs.field(metadata=wire("folders"), default=())
    objects: tuple[ObjectEntry, ...] = attrs.field(metadata=wire("objects"), default=())
    has_next: bool = attrs.field(metadata=wire("hasNext"), default=False)
    next_cursor: str | None = attrs.field(metadata=wire("nextCursor"), default=None)
    next_cursor_key: str | None = attrs.field(metadata=wire("nextCursorKey"), default=None)
    request_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ObjectRef:
    """Where an object is after an upload, a copy or a move.

    ``path`` is its name inside ``bucket``; ``full_path`` the server's ``Key``
    (``"bucket/path"``). ``id`` is the object's id when the answer carries one, and
    ``message`` what a move answers (``"Successfully moved"``).
    """

    bucket: str
    path: str
    full_path: str = attrs.field(metadata=wire("Key"))
    id: str | None = attrs.field(metadata=wire("Id"), default=None)
    message: str | None = attrs.field(metadata=wire("message"), default=None)
    request_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class SignedUrl:
    """A signed download URL for the object at ``path``: absolute, valid for the
    ``expires_in`` it was made with, usable without any credential. Its token is a
    credential for as long as it lives, so no repr shows it."""

    path: str
    signed_url: str = attrs.field(validator=http_url, repr=url_repr)
    request_id: str | None = None


@attrs.frozen
class SignedUploadUrl:
    """A signed upload URL for ``path`` and its ``token`` (for
    :meth:`~cloudbase_async.storage.Bucket.upload_to_signed_url`); the server decides
    how long it lives. Neither the token nor the URL's signature shows in a repr."""

    path: str
    signed_url: str = attrs.field(validator=http_url, repr=url_repr)
    token: str = attrs.field(repr=False)
    request_id: str | None = None


def with_owner(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """``item`` with ``owner`` taken from ``owner_id`` when only that one is sent."""
    if "owner" in item or "owner_id" not in item:
        return item
    return {**item, "owner": item["owner_id"]}


def _entry_items(value: object, response: Response, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ResponseValidationError(
            f"Expected {what} as a list of objects, got {type(value).__name__}.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=value,
        )
    return [with_owner(item) for item in value]


def parse_entry(item: Mapping[str, Any], response: Response) -> ObjectEntry:
    """One object row of an answer."""
    return structure_item(ObjectEntry, with_owner(item), response)


def parse_entries(body: object, response: Response) -> list[ObjectEntry]:
    """An answer that is a list of object rows (a removal's)."""
    return [
        structure_item(ObjectEntry, item, response)
        for item in _entry_items(body, response, "the removed objects")
    ]


def parse_list(body: object, response: Response) -> ObjectList:
    """The cursor-form listing.

    :raises ResponseValidationError: not that shape (a server with Supabase's older
        ``/object/list``, which answers a bare array, included), or ``hasNext``
        without a ``nextCursor`` to go on from.
    """
    if not isinstance(body, Mapping):
        raise ResponseValidationError(
            "Expected the cursor-form listing {folders, objects, hasNext, nextCursor}, "
            f"got {type(body).__name__}.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        )
    data = {
        **body,
        "folders": _entry_items(body.get("folders", []), response, "folders"),
        "objects": _entry_items(body.get("objects", []), response, "objects"),
    }
    page = structure_item(ObjectList, data, response)
    if page.has_next and not page.next_cursor:
        raise ResponseValidationError(
            "The listing says more pages follow (hasNext) but gives no nextCursor.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        )
    return page
