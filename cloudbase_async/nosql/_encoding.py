"""Pure functions turning collection-call arguments into query strings and bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias
from urllib.parse import quote

from .. import ejson
from .._core.errors import InvalidRequestError

__all__ = [
    "Order",
    "Projection",
    "encode_order",
    "encode_projection",
    "encode_value",
    "is_empty_query",
    "path_segment",
    "query_text",
    "update_data",
]

#: ``[("age", "desc"), ("name", "asc")]``; a bare field name means ascending.
Order: TypeAlias = Sequence[tuple[str, str] | str]
#: ``{"name": 1, "secret": 0}`` or a list of field names to include.
Projection: TypeAlias = Mapping[str, Any] | Sequence[str]

_DIRECTIONS: Final = frozenset({"asc", "desc"})
# Characters left as they are in a path segment: unreserved, plus the parentheses of
# "(default)", which the gateway expects literally.
_PATH_SAFE: Final = "()"


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def path_segment(value: object, what: str) -> str:
    """One URL path segment (a collection name, a document id) percent-encoded."""
    text = str(value) if isinstance(value, ejson.ObjectId) else value
    if not isinstance(text, str) or not text:
        raise InvalidRequestError(f"{what} must be a non-empty string, got {value!r}")
    return quote(text, safe=_PATH_SAFE)


def encode_value(value: object, mode: ejson.Mode, what: str) -> Any:
    """``value`` in EJSON form, or :class:`InvalidRequestError` saying what was wrong."""
    try:
        return ejson.encode(value, mode=mode)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{what}: {exc}") from exc


def query_text(query: Mapping[str, Any] | None, mode: ejson.Mode) -> str:
    """The ``query`` parameter: compact EJSON, keys in the order given."""
    return _compact(encode_value(query or {}, mode, "query"))


def is_empty_query(query: Mapping[str, Any] | None) -> bool:
    return not query


def encode_order(order: Order) -> str:
    """``[{"field": "age", "direction": "desc"}]`` as the ``order`` parameter wants it."""
    items: list[dict[str, str]] = []
    for entry in order:
        field, direction = (entry, "asc") if isinstance(entry, str) else entry
        direction = direction.lower()
        if direction not in _DIRECTIONS:
            raise InvalidRequestError(
                f"order direction for {field!r} must be 'asc' or 'desc', got {direction!r}"
            )
        items.append({"field": field, "direction": direction})
    return _compact(items)


def encode_projection(projection: Projection) -> str:
    """``{"name": 1}`` as JSON; a list of names becomes ``{name: 1, ...}``."""
    if isinstance(projection, str):
        raise InvalidRequestError("projection is a mapping or a list of field names, not a str")
    fields: Mapping[str, Any] | dict[str, int] = (
        projection if isinstance(projection, Mapping) else dict.fromkeys(projection, 1)
    )
    try:
        return _compact(fields)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"projection: {exc}") from exc


def _operator_keys(keys: Iterable[str]) -> tuple[bool, bool]:
    keys = list(keys)
    operators = [key.startswith("$") for key in keys]
    return any(operators), all(operators)


def update_data(update: Mapping[str, Any], *, replace: bool) -> Mapping[str, Any]:
    """The ``data`` of an update: operator documents as given, plain ones under ``$set``.

    The API wraps a plain document in ``$set`` itself; doing it here makes the meaning
    explicit and the same against any server. A replacement must be a plain document.
    """
    if not isinstance(update, Mapping) or not update:
        raise InvalidRequestError("the update document must be a non-empty mapping")
    some, every = _operator_keys(update)
    if replace:
        if some:
            raise InvalidRequestError("a replacement document cannot hold $ operators")
        return update
    if some and not every:
        raise InvalidRequestError(
            "an update mixes $ operators and plain fields; put the fields under '$set'"
        )
    return update if every else {"$set": update}
