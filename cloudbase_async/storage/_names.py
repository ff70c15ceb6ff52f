"""What objects are called: cloud paths and cloud ids, checked before anything is sent.

A *cloud path* is an object's key relative to the bucket (``"avatars/u1.png"``); a
*cloud id* names it across environments (``cloud://{env}.{bucket}/{path}``). Both end up
in an object store's URL path (the signed upload URL is ``https://{bucket}.cos.../{path}``),
where a ``.`` or ``..`` segment would be removed on the way and the bytes would land on,
or come from, another key than the one signed. So every segment of either goes through
the one path-segment check of :mod:`cloudbase_async._core.paths`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .._core.errors import InvalidRequestError
from .._core.paths import segment

__all__ = [
    "CLOUD_ID_PREFIX",
    "id_list",
    "validate_cloud_id",
    "validate_cloud_path",
    "validate_copy_path",
]

CLOUD_ID_PREFIX: Final = "cloud://"


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
