"""What objects are called: cloud paths and cloud ids, checked before anything is sent.

A *cloud path* is an object's key relative to the bucket (``"avatars/u1.png"``); a
*cloud id* names it across environments (``cloud://{env}.{bucket}/{path}``). Both end up
in an object store's URL path (the signed upload URL is ``https://{bucket}.cos.../{path}``),
where a ``.`` or ``..`` segment would be removed on the way and the bytes would land on,
or come from, another key than the one signed. So every segment of either goes through
the one path-segment check of :mod:`cloudbase_async._core.paths`.

PG-mode storage names objects by a *bucket id* and an *object name* inside it, both
placed into the URL path (``/object/{bucket}/{name}``). Names are cleaned first as the
official js-sdk cleans them (leading and trailing ``/`` stripped, runs of ``/``
collapsed), then every segment goes through the same check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from .._core.errors import InvalidRequestError
from .._core.paths import segment

__all__ = [
    "CLOUD_ID_PREFIX",
    "MAX_BUCKET_ID",
    "bucket_segment",
    "clean_object_name",
    "id_list",
    "name_list",
    "object_name_path",
    "validate_bucket_id",
    "validate_cloud_id",
    "validate_cloud_path",
    "validate_copy_path",
]

CLOUD_ID_PREFIX: Final = "cloud://"
#: The longest bucket id the js-sdk lets through.
MAX_BUCKET_ID: Final = 256

# The js-sdk refuses these in a bucket id: whitespace and controls, and the characters
# that would end or escape a path segment.
_BAD_BUCKET_CHARS: Final = re.compile(r"[\x00-\x20\x7f/\\?#%]")
# RFC 3986 pchar delimiters: sent as they are, like the js-sdk's unencoded bucket id.
_BUCKET_SAFE: Final = "!$&'()*+,;=:@"
# What encodeURIComponent leaves alone besides letters, digits and "-_.~".
_URI_COMPONENT_SAFE: Final = "!'()*"
_SLASHES: Final = re.compile(r"/+")


def validate_cloud_path(path: str) -> str:
    """Return ``path`` if it is a valid object path, else raise :class:`InvalidRequestError`.

    A cloud path is relative to the bucket (``"avatars/u1.png"``): no leading ``/``, no
    empty, ``.`` or ``..`` segments, no control characters.
    """
    if not isinstance(path, str) or not path:
        raise InvalidRequestError(f"A cloud path must be a non-empty string, got {path!r}.")
    if path.startswith("/"):
        raise InvalidRequestError(f"A cloud path must not start with '/': {path!r}.")
    for part in path.split("/"):
        segment(part, f"Each segment of the cloud path {path!r}")
    return path


def validate_cloud_id(cloud_id: str) -> str:
    """Return ``cloud_id`` if it is ``cloud://{env}.{bucket}/{path}`` with a valid cloud
    path (see :func:`validate_cloud_path`), else raise :class:`InvalidRequestError`."""
    if not isinstance(cloud_id, str) or not cloud_id.startswith(CLOUD_ID_PREFIX):
        raise InvalidRequestError(
            f"A cloud id looks like 'cloud://env.bucket/path', got {cloud_id!r}."
        )
    bucket, _, path = cloud_id[len(CLOUD_ID_PREFIX) :].partition("/")
    if not bucket or not path:
        raise InvalidRequestError(
            f"A cloud id looks like 'cloud://env.bucket/path', got {cloud_id!r}."
        )
    segment(bucket, f"The bucket of the cloud id {cloud_id!r}")
    validate_cloud_path(path)
    return cloud_id


def validate_copy_path(value: str) -> str:
    """A copy's source or destination: a cloud id or a cloud path.

    The API calls these "paths"; whether it wants cloud ids or bucket paths is not
    confirmed, so either form is accepted and sent as given.
    """
    if isinstance(value, str) and value.startswith(CLOUD_ID_PREFIX):
        return validate_cloud_id(value)
    return validate_cloud_path(value)


def id_list(ids: Sequence[str] | str) -> list[str]:
    """``ids`` as a checked list (a lone string is refused: it is a sequence too)."""
    if isinstance(ids, str):
        raise InvalidRequestError("Pass a list of cloud ids, not a single string.")
    return [validate_cloud_id(cloud_id) for cloud_id in ids]


def validate_bucket_id(bucket_id: str) -> str:
    """Return ``bucket_id`` if it may name a PG-mode bucket, else raise
    :class:`InvalidRequestError`.

    The js-sdk's rule: not empty, at most 256 characters, no whitespace, control
    characters, ``/``, ``\\``, ``?``, ``#`` or ``%``; and, as for every path segment, not
    ``.`` or ``..``.
    """
    bucket_segment(bucket_id)
    return bucket_id


def bucket_segment(bucket_id: str) -> str:
    """``bucket_id`` checked (:func:`validate_bucket_id`) and ready for a URL path."""
    what = "A bucket id"
    if isinstance(bucket_id, str) and len(bucket_id) > MAX_BUCKET_ID:
        raise InvalidRequestError(f"{what} must be at most {MAX_BUCKET_ID} characters long.")
    if isinstance(bucket_id, str) and (bad := _BAD_BUCKET_CHARS.search(bucket_id)):
        raise InvalidRequestError(
            f"{what} must not contain whitespace, control characters or any of "
            f"'/\\?#%': {bucket_id!r} has {bad.group()!r}."
        )
    return segment(bucket_id, what, safe=_BUCKET_SAFE)


def clean_object_name(name: str) -> str:
    """An object name as PG-mode storage stores it: leading and trailing ``/``
    stripped and runs of ``/`` collapsed (``"/a//b/"`` is ``"a/b"``).

    :raises InvalidRequestError: nothing is left, or a segment is ``.`` or ``..`` or
        holds a control character.
    """
    return object_name_path(name)[0]


def object_name_path(name: str) -> tuple[str, str]:
    """The cleaned ``name`` (:func:`clean_object_name`) and its URL-path form, each
    segment percent-encoded as ``encodeURIComponent`` does (``"目录/a b#?.txt"`` is
    sent as ``"%E7%9B%AE%E5%BD%95/a%20b%23%3F.txt"``)."""
    if not isinstance(name, str):
        raise InvalidRequestError(f"An object name must be a string, got {name!r}.")
    cleaned = _SLASHES.sub("/", name).strip("/")
    if not cleaned:
        raise InvalidRequestError(f"An object name must not be empty, got {name!r}.")
    what = f"Each segment of the object name {name!r}"
    parts = [segment(part, what, safe=_URI_COMPONENT_SAFE) for part in cleaned.split("/")]
    return cleaned, "/".join(parts)


def name_list(names: Sequence[str] | str) -> list[str]:
    """``names`` cleaned (:func:`clean_object_name`), a lone string refused."""
    if isinstance(names, str):
        raise InvalidRequestError("Pass a list of object names, not a single string.")
    return [clean_object_name(name) for name in names]
