"""Results of document-database calls, and the configurable gateway paths."""

from __future__ import annotations

from typing import Any

import attrs

from .. import ejson
from .._core.convert import converter

__all__ = ["DeleteResult", "NoSQLPaths", "UpdateResult"]


@attrs.frozen
class UpdateResult:
    """What an update reported: documents ``matched`` and ``updated`` (modified).

    ``upserted_id`` is the new document's id when an upsert inserted one; ``doc`` the
    document the server returned when asked (``update_by_id(..., return_doc=True)``).
    """

    matched: int
    updated: int
    upserted_id: Any = None
    doc: Any = None
    request_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DeleteResult:
    """How many documents a delete removed."""

    deleted: int
    request_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class NoSQLPaths:
    """Paths, relative to ``/instances/{instance}/databases/{database}``, of the calls
    the public documentation does not describe.

    They are the ones the official JS SDK uses; if your gateway differs, pass your own
    (``cb.nosql.with_options(paths=NoSQLPaths(aggregate=...))``). ``{collection}`` and
    ``{transaction_id}`` are filled in, percent-encoded.
    """

    aggregate: str = "/collections/{collection}/documents/aggregations"
    transactions: str = "/transactions"
    commit: str = "/transactions/{transaction_id}/commit"
    rollback: str = "/transactions/{transaction_id}/rollback"
    commands: str = "/commands"


# Decoded EJSON values are already typed: models structure them as they are.
def _identity(value: Any) -> Any:
    return value


def _structure_object_id(value: Any, _: Any) -> ejson.ObjectId:
    return value if isinstance(value, ejson.ObjectId) else ejson.ObjectId(str(value))


def _structure_as_is(value: Any, cls: Any) -> Any:
    if not isinstance(value, cls):
        raise TypeError(f"expected {cls.__name__}, got {value!r}")
    return value


converter.register_structure_hook(ejson.ObjectId, _structure_object_id)
converter.register_structure_hook(ejson.Regex, _structure_as_is)
converter.register_structure_hook(ejson.Binary, _structure_as_is)
for _cls in (ejson.ObjectId, ejson.Regex, ejson.Binary):
    converter.register_unstructure_hook(_cls, _identity)
