"""Results of document-database calls, the answers they are read from, and the
configurable gateway paths.

Every answer is structured by the one converter (:func:`~cloudbase_async._core.convert.
structure_answer`) into one of the frozen models below, after its EJSON was decoded: an
answer that does not fit is a :class:`~cloudbase_async.ResponseValidationError`. Keys a
model does not declare are kept in its ``extra``. Field names are the wire's own
(``insertedIds``, ``upsert_id``...); the public results are built from them.
"""

from __future__ import annotations

import builtins
from typing import Any

import attrs

from .._core.paths import segment

__all__ = [
    "Counted",
    "DeleteResult",
    "Inserted",
    "Listing",
    "NoSQLPaths",
    "TransactionIds",
    "TransactionStarted",
    "UpdateAnswer",
    "UpdateResult",
    "as_listing",
]

# ------------------------------------------------------------------------ results


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


# ------------------------------------------------------------------------ answers


@attrs.frozen
class Listing:
    """Documents (or, for commands, results) in order: ``{"list": [...]}``.

    ``data`` is read when there is no ``list``, and :func:`as_listing` takes a bare JSON
    array as the list: the aggregation and command answers are not fully documented.
    """

    # The wire's names; `builtins.list` because the field shadows the name in the class.
    list: builtins.list[Any] | None = None
    data: builtins.list[Any] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.list is None and self.data is None:
            raise ValueError("the answer holds no 'list'")

    @property
    def items(self) -> builtins.list[Any]:
        """The documents (``list``, else ``data``)."""
        found = self.list if self.list is not None else self.data
        assert found is not None  # checked when the model was built
        return found


def as_listing(body: Any) -> Any:
    """``body``, with a bare JSON array taken as ``{"list": array}``."""
    return {"list": body} if isinstance(body, builtins.list) else body


@attrs.frozen
class Counted:
    """``{"total": n}``, the answer to ``count=true``."""

    total: int
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Inserted:
    """``{"insertedIds": [...]}``, one id per document sent, in order."""

    insertedIds: builtins.list[Any]  # the wire's name
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class UpdateAnswer:
    """``{"updated", "matched", "upsert_id", "doc"?}`` as the server writes it."""

    updated: int
    matched: int
    upsert_id: Any = None
    doc: Any = None
    request_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def result(self) -> UpdateResult:
        """The public result; the server writes ``""`` for "nothing was upserted"."""
        return UpdateResult(
            matched=self.matched,
            updated=self.updated,
            upserted_id=None if self.upsert_id == "" else self.upsert_id,
            doc=self.doc,
            request_id=self.request_id,
            extra=self.extra,
        )


def _transaction_id(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    """A transaction id is placed into commit/rollback paths: it must be one segment."""
    if value:
        segment(value, f"the transaction id in {attribute.name!r}")


@attrs.frozen
class TransactionIds:
    """The keys a start-transaction answer may hold its id in (its shape is not
    documented): ``transactionId``, ``transaction_id`` or ``id``."""

    transactionId: str | None = attrs.field(default=None, validator=_transaction_id)
    transaction_id: str | None = attrs.field(default=None, validator=_transaction_id)
    id: str | None = attrs.field(default=None, validator=_transaction_id)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def given(self) -> str | None:
        return self.transactionId or self.transaction_id or self.id


@attrs.frozen
class TransactionStarted(TransactionIds):
    """The answer to starting a transaction: its id at the top, or under ``data``."""

    data: TransactionIds | None = None

    def __attrs_post_init__(self) -> None:
        if self.found is None:
            raise ValueError("the answer holds no transaction id")

    @property
    def found(self) -> str | None:
        """The id the answer gives (checked to be one path segment)."""
        return self.given or (self.data.given if self.data is not None else None)


# -------------------------------------------------------------------------- paths


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
