"""Values as the SDK decodes them (:mod:`cloudbase_async.ejson`) ↔ values mongomock stores.

mongomock sorts and type-checks only the types it knows. ObjectIds become its own
``ObjectId`` class (a subclass carrying the 24 hex digits, ordered like BSON orders
them), regexes compiled patterns, dates naive UTC with millisecond precision (what
BSON keeps); everything else is stored as it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import mongomock

from ... import ejson

__all__ = ["StoredObjectId", "from_store", "id_key", "to_store"]


@functools.total_ordering
class StoredObjectId(mongomock.ObjectId):  # type: ignore[misc]
    """An ObjectId mongomock can compare, sort and match with ``$type: "objectId"``."""

    def __init__(self, hex_digits: str) -> None:  # mongomock's own wants a UUID
        self._id = hex_digits

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, StoredObjectId):
            return NotImplemented
        return bool(self._id < other._id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredObjectId) and other._id == self._id

    def __hash__(self) -> int:
        return hash(self._id)

    def __deepcopy__(self, memo: object) -> StoredObjectId:
        return self  # immutable


def _store_date(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def to_store(value: Any) -> Any:
    """``value`` (decoded EJSON) in the form mongomock stores and matches."""
    if isinstance(value, dict):
        return {key: to_store(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_store(item) for item in value]
    if isinstance(value, ejson.ObjectId):
        return StoredObjectId(value.hex)
    if isinstance(value, ejson.Regex):
        return value.compile()
    if isinstance(value, ejson.Int64):
        return int(value)
    if isinstance(value, dt.datetime):
        return _store_date(value)
    return value


def from_store(value: Any) -> Any:
    """A stored value back as the SDK's EJSON types (aware UTC dates, ObjectId...)."""
    if isinstance(value, dict):
        return {key: from_store(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [from_store(item) for item in value]
    if isinstance(value, StoredObjectId):
        return ejson.ObjectId(value._id)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if isinstance(value, re.Pattern):
        return ejson.Regex.from_pattern(value)
    return value


def id_key(stored_id: Any) -> str:
    """A canonical, hashable text for a stored ``_id`` (equal ids, equal keys)."""
    return ejson.dumps(from_store(stored_id), mode="strict")
