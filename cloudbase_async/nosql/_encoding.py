"""Pure functions turning collection-call arguments into path segments, query strings
and bodies, and the rules that keep a caller's data from being read as code.

**Data and code.** Queries, operator updates (``{"$set": ..., "$inc": ...}``) and
pipelines are *code*: their ``$`` keys are operators. Documents (inserted, replacing,
or given as a plain update) are *data*. The server reads a ``$`` key in data as code
too: at the top of an update as an operator, anywhere as an EJSON type wrapper
(``{"$oid": ...}`` becomes an ObjectId). So a document holding a ``$`` key at any depth
is refused with :class:`~cloudbase_async.InvalidRequestError` before sending: a key that
came from a user (a form, a request body) can never turn an insert into something else
or a plain update into ``$unset``. Python values carry the types (``ObjectId``,
``datetime``...); :func:`update_data` says which argument is which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

from .. import ejson
from .._core.errors import InvalidRequestError
from .._core.paths import segment

__all__ = [
    "Order",
    "Projection",
    "check_data",
    "encode_order",
    "encode_projection",
    "encode_value",
    "id_segment",
    "is_empty_query",
    "name_segment",
    "query_text",
    "update_data",
]

#: ``[("age", "desc"), ("name", "asc")]``; a bare field name means ascending.
Order: TypeAlias = Sequence[tuple[str, str] | str]
#: ``{"name": 1, "secret": 0}`` or a list of field names to include.
Projection: TypeAlias = Mapping[str, Any] | Sequence[str]

_DIRECTIONS: Final = frozenset({"asc", "desc"})
# Sent as they are in a path segment, besides the unreserved characters: the
# parentheses of "(default)", which the gateway expects literally.
_PATH_SAFE: Final = "()"
# Top-level query keys that match every document: a query of only these is empty.
_NO_FILTER_KEYS: Final = frozenset({"$comment"})


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------------- paths


def name_segment(name: str, what: str) -> str:
    """An instance, database or collection name as one path segment (``.``, ``..``,
    empty and control characters refused)."""
    return segment(name, what, safe=_PATH_SAFE)


def id_segment(doc_id: object) -> str:
    """A document id (a string or an :class:`~cloudbase_async.ObjectId`) as one segment."""
    if isinstance(doc_id, ejson.ObjectId):
        return doc_id.hex
    if not isinstance(doc_id, str):
        raise InvalidRequestError(f"document id must be a string or an ObjectId, got {doc_id!r}")
    return segment(doc_id, "document id", safe=_PATH_SAFE)


# --------------------------------------------------------------------------- values


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
    """Whether ``query`` matches every document: none, ``{}``, or only a ``$comment``."""
    return not query or query.keys() <= _NO_FILTER_KEYS


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


# ----------------------------------------------------------------------- data rules


def _dollar_key(value: object) -> str | None:
    """The first key starting with ``$`` at any depth of ``value``, or ``None``.

    Depth first with an explicit stack: no recursion, and a value nested too deeply
    (or containing itself) stops at the depth EJSON encoding refuses anyway.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > ejson.MAX_DEPTH:
            raise InvalidRequestError(
                f"the document nests arrays and objects deeper than {ejson.MAX_DEPTH} levels"
            )
        if isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str) and key.startswith("$"):
                    return key
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
    return None


def check_data(document: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """``document`` if it holds no ``$`` key at any depth, else :class:`InvalidRequestError`
    (see the module's docstring for why)."""
    if not isinstance(document, Mapping) or not document:
        raise InvalidRequestError(f"{what} must be a non-empty mapping")
    key = _dollar_key(document)
    if key is not None:
        raise InvalidRequestError(
            f"{what} holds the key {key!r}: a '$' key in data would be read as an operator "
            "or an EJSON type, not stored. Store types as Python values (ObjectId, "
            "datetime...); write operators in an update document of your own."
        )
    return document


def update_data(
    update: Mapping[str, Any] | None, data: Mapping[str, Any] | None, *, replace: bool
) -> Mapping[str, Any]:
    """The ``data`` field of an update call.

    * ``data`` (data, never code): checked by :func:`check_data`, sent as
      ``{"$set": data}``, or as it is for a replacement;
    * ``update`` (code the program wrote): an operator document, sent as it is; or one
      without any ``$`` key, which is data and sent like ``data``. Mixing operators and
      plain fields is refused. A replacement is always data.
    """
    if (update is None) == (data is None):
        raise InvalidRequestError("pass an update document or data=, exactly one of them")
    if data is None:
        assert update is not None
        if not isinstance(update, Mapping) or not update:
            raise InvalidRequestError("the update document must be a non-empty mapping")
        operators = [isinstance(key, str) and key.startswith("$") for key in update]
        if any(operators) and not replace:
            if not all(operators):
                raise InvalidRequestError(
                    "an update mixes $ operators and plain fields; put the fields under '$set'"
                )
            return update
        if any(operators):
            raise InvalidRequestError("a replacement document cannot hold $ operators")
        data = update
    checked = check_data(data, "the replacement document" if replace else "the update data")
    return checked if replace else {"$set": checked}
