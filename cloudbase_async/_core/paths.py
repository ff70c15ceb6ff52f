"""Names and ids placed into URL paths: the one check every service uses.

httpx (like every URL parser) removes ``.`` and ``..`` segments, so an id of ``".."``
placed into ``/collections/todos/documents/{id}`` would silently turn a call on one
document into a call on the collection. Every name or id that lands in a path goes
through :func:`segment` (one segment) or :func:`subpath` (a caller's sub-path), which
refuse those segments and percent-encode the rest before anything is sent.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from .errors import InvalidRequestError

__all__ = ["segment", "subpath"]

_DOT_SEGMENTS: Final = frozenset({".", ".."})
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def segment(value: str, what: str, *, safe: str = "") -> str:
    """``value`` percent-encoded as one path segment (``/`` included), or
    :class:`InvalidRequestError` naming ``what`` for an empty, ``.``, ``..`` or
    control-character value. ``safe`` lists characters sent as they are."""
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{what} must be a non-empty string, got {value!r}.")
    if value in _DOT_SEGMENTS:
        raise InvalidRequestError(
            f"{what} must not be {value!r}: a URL path segment of '.' or '..' is removed "
            "on the way and the call would reach another endpoint."
        )
    if _CONTROL.search(value):
        raise InvalidRequestError(f"{what} must not contain control characters: {value!r}.")
    return quote(value, safe=safe)


def subpath(path: str, what: str, *, safe: str = "") -> str:
    """A decoded sub-path (``"/files/a b.txt"``) percent-encoded segment by segment.

    A missing leading ``/`` is added; ``/`` separates segments and ``safe`` lists the
    other characters sent as they are. ``?`` and ``#`` are refused (a query belongs in
    ``params=``), and so are ``.``/``..`` segments: they would climb out of the prefix
    the sub-path is appended to.
    """
    if not isinstance(path, str):
        raise InvalidRequestError(f"{what} must be a string, got {path!r}.")
    if "?" in path or "#" in path:
        raise InvalidRequestError(f"Put the query in params=, not in {what}: {path!r}.")
    if _CONTROL.search(path):
        raise InvalidRequestError(f"{what} must not contain control characters: {path!r}.")
    if path and not path.startswith("/"):
        path = "/" + path
    if any(part in _DOT_SEGMENTS for part in path.split("/")):
        raise InvalidRequestError(f"'.' and '..' segments are not allowed in {what}: {path!r}.")
    return quote(path, safe="/" + safe)
