"""What PG-mode storage requests carry and answers hold, as pure functions.

Upload headers (``pg-storage-notes`` §2): ``content-type``, ``cache-control:
max-age=N``, ``x-metadata`` (base64 of the metadata's JSON) and, on a create, ``x-upsert``.
Signed URLs arrive relative to the storage root (``/object/sign/B/name?token=…``)
unless the server adds an absolute one (``fullSignedURL``, ``fullURL``); either way the
caller gets an absolute URL, with ``download=`` appended when asked for.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, TypeAlias
from urllib.parse import quote, urlsplit

from .._core.codec import dumps
from .._core.errors import InvalidRequestError, ResponseValidationError
from .._core.redact import redact_url
from .._core.responses import Response

__all__ = [
    "Download",
    "absolute_url",
    "check_download",
    "check_expiry",
    "encode_metadata",
    "object_ref_answer",
    "upload_headers",
    "with_download",
]

#: ``download=`` of a URL: ``True`` (save under the object's name), a file name to save
#: as, or ``None``/``False`` (shown inline).
Download: TypeAlias = bool | str | None

# What encodeURIComponent leaves alone besides letters, digits and "-_.~".
_URI_COMPONENT_SAFE = "!'()*"


def encode_metadata(metadata: Mapping[str, Any]) -> str:
    """``x-metadata``: the metadata's JSON, base64-encoded."""
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(f"metadata must be a mapping, got {type(metadata).__name__}")
    return base64.b64encode(dumps(dict(metadata))).decode("ascii")


def upload_headers(
    content_type: str,
    cache_control: int,
    metadata: Mapping[str, Any] | None,
    size: int | None,
) -> dict[str, str]:
    """The headers of an upload's binary body (``x-upsert`` is the caller's to add)."""
    if isinstance(cache_control, bool) or not isinstance(cache_control, int) or cache_control < 0:
        raise InvalidRequestError(
            f"cache_control is the max-age in seconds (an int >= 0), got {cache_control!r}"
        )
    headers = {"Content-Type": content_type, "Cache-Control": f"max-age={cache_control}"}
    if metadata is not None:
        headers["x-metadata"] = encode_metadata(metadata)
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers


def check_expiry(expires_in: int) -> int:
    """``expires_in`` if it is a whole number of seconds >= 1."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 1:
        raise InvalidRequestError(
            f"expires_in is a number of seconds (an int >= 1), got {expires_in!r}"
        )
    return expires_in


def check_download(download: Download) -> Download:
    """``download`` if it is ``True``, ``False``, ``None`` or a file name."""
    if download is not None and not isinstance(download, bool | str):
        raise InvalidRequestError(f"download is True, False or a file name, got {download!r}")
    return download


def with_download(url: str, download: Download) -> str:
    """``url`` with ``download=`` (``True``) or ``download=<name>`` appended."""
    if download is None or download is False:
        return url
    value = "" if download is True else quote(str(download), safe=_URI_COMPONENT_SAFE)
    return f"{url}{'&' if '?' in url else '?'}download={value}"


def absolute_url(
    root: str, answer: Mapping[str, Any], full: str, relative: str, response: Response
) -> str:
    """The absolute URL an answer gives: its ``full`` key when sent, else ``root`` (the
    storage root, ``{origin}/v1/storages``) followed by its ``relative`` one.

    :raises ResponseValidationError: neither is there, or the result is not an absolute
        http(s) URL (the js-sdk would go on to ``PUT https://undefined/``).
    """
    url = answer.get(full)
    if not (isinstance(url, str) and url):
        path = answer.get(relative)
        if not (isinstance(path, str) and path):
            raise ResponseValidationError(
                f"Storage answered no URL (neither {full!r} nor {relative!r}).",
                status_code=response.status_code,
                request_id=response.request_id,
            )
        url = root.rstrip("/") + (path if path.startswith("/") else "/" + path)
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise ResponseValidationError(
            f"Storage answered a URL that is not absolute http(s): {redact_url(url)!r}",
            status_code=response.status_code,
            request_id=response.request_id,
        )
    return url


def object_ref_answer(body: object, response: Response, full_path: str) -> dict[str, Any]:
    """An upload's, copy's or move's answer, its ``Key`` defaulting to ``full_path``."""
    if not isinstance(body, Mapping):
        raise ResponseValidationError(
            f"Expected an object's key ({{Key, Id}}), got {type(body).__name__}.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        )
    return {"Key": full_path, **body}
