"""The results of storage calls, and how one answer item becomes one.

Results are frozen attrs classes built by the one converter
(:func:`~cloudbase_async._core.convert.structure_answer`): a field whose metadata is
:func:`wire` arrives under that JSON name (the gateway speaks camelCase), every key a
model does not declare is kept in its ``extra``, and an item of the wrong shape is a
:class:`~cloudbase_async.ResponseValidationError`.

Signed URLs are bearer credentials for as long as they live, so no repr or error
message shows their signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import attrs

from .._core.convert import structure_answer
from .._core.errors import ResponseValidationError
from .._core.redact import redact_url
from .._core.responses import Response

__all__ = [
    "CopiedObject",
    "DeletedObject",
    "DownloadUrl",
    "DownloadedFile",
    "UploadResult",
    "http_url",
    "structure_item",
    "url_repr",
    "wire",
]

T = TypeVar("T")

_WIRE: Final = "cloudbase_async.storage.wire"


def wire(name: str) -> dict[str, str]:
    """Field metadata: the field arrives as ``name`` in the answer's JSON
    (``attrs.field(metadata=wire("cloudObjectId"))``)."""
    return {_WIRE: name}


def http_url(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    """Validator: an absolute http(s) URL (or ``None``), for URLs this side sends to.

    The converter turns any JSON value into a ``str`` field's text, and a URL that is
    not absolute would be sent relative to whatever client it meets.
    """
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{attribute.name} is not an absolute http(s) URL")


def url_repr(url: str | None) -> str:
    """How a signed URL shows in a repr: without its secret query values."""
    return repr(None if url is None else redact_url(url))


def _wire_names(cls: type[Any]) -> tuple[Mapping[str, str], frozenset[str]]:
    """``cls``'s JSON names → field names, and all its field names."""
    fields = attrs.fields(cls)
    names = {f.metadata[_WIRE]: f.name for f in fields if _WIRE in f.metadata}
    return names, frozenset(f.name for f in fields)


def structure_item(cls: type[T], item: Mapping[str, Any], response: Response, **ours: Any) -> T:
    """``cls`` built from one answer item of ``response``.

    JSON names become field names and unknown keys go to ``extra``; a key spelled like
    a field name rather than its JSON name (``cloud_id``, ``key``, ``extra``) is
    ignored: those are this side's to fill. ``request_id`` is the item's own
    ``requestId``, else the call's; ``ours`` are values this side supplies.
    """
    names, fields = _wire_names(cls)
    data: dict[str, Any] = {}
    for key, value in item.items():
        if key in names:
            data[names[key]] = value
        elif key not in fields:
            data[key] = value
    if "request_id" in fields:
        data.setdefault("request_id", response.request_id)
    data.update(ours)
    try:
        return structure_answer(
            data, cls, status_code=response.status_code, request_id=response.request_id
        )
    except ResponseValidationError as exc:
        cause = exc.__cause__
    # Said again without signatures: the converter's message quotes the data, and a
    # signed URL is a credential for as long as it lives.
    shown = {k: redact_url(v) if isinstance(v, str) and "://" in v else v for k, v in data.items()}
    raise ResponseValidationError(
        f"Expected a storage item ({cls.__name__}), got: {str(shown)[:200]}",
        status_code=response.status_code,
        request_id=response.request_id,
        body=shown,
    ) from cause


@attrs.frozen
class UploadResult:
    """An uploaded object: its ``cloud_id`` (``cloud://…``) and download URL.

    ``request_id`` is the gateway's id for the call that signed the upload (the object
    store's own ids mean nothing to CloudBase support).
    """

    cloud_id: str
    cloud_path: str
    download_url: str | None = attrs.field(repr=url_repr)
    download_url_encoded: str | None = attrs.field(repr=url_repr)
    size: int
    etag: str | None
    request_id: str | None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DownloadUrl:
    """A temporary download URL for one object."""

    cloud_id: str = attrs.field(
        metadata=wire("cloudObjectId"), validator=attrs.validators.min_len(1)
    )
    download_url: str = attrs.field(metadata=wire("downloadUrl"), validator=http_url, repr=url_repr)
    download_url_encoded: str | None = attrs.field(
        metadata=wire("downloadUrlEncoded"), default=None, repr=url_repr
    )
    request_id: str | None = attrs.field(metadata=wire("requestId"), default=None)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class _ObjectOutcome:
    """What a call on one object answers: the object's ``cloud_id``."""

    cloud_id: str = attrs.field(
        metadata=wire("cloudObjectId"), validator=attrs.validators.min_len(1)
    )
    request_id: str | None = attrs.field(metadata=wire("requestId"), default=None)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DeletedObject(_ObjectOutcome):
    """A deleted object's ``cloud_id``."""


@attrs.frozen
class CopiedObject(_ObjectOutcome):
    """The copy's ``cloud_id``."""


@attrs.frozen
class DownloadedFile:
    """A downloaded object: where it is now, its size, and the id to quote to support."""

    path: Path
    size: int
    content_type: str | None
    request_id: str | None
