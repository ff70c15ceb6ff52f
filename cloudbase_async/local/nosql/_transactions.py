"""Open transactions, and what it takes to notice that two writers collided.

A transaction works on a snapshot: a copy of its database taken when it starts. Its
writes land in the copy and are remembered by document. Committing checks each of
them against the committed writes made since the snapshot (document by document, as
MongoDB's snapshot isolation does): if another writer changed one of the same
documents, the transaction is aborted with ``DATABASE_TRANSACTION_CONFLICT``. The
same check runs at every write inside the transaction, so a conflict surfaces as
early as MongoDB would report it.

Committed writes are versioned only while some transaction is open: with none open,
no write can conflict with anything, and the record is dropped.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from ._errors import NoSQLError
from ._journal import Change, DatabaseKey
from ._values import id_key

__all__ = ["Transaction", "Transactions"]

#: How many ended transactions are remembered (to answer a late commit or rollback).
_ENDED_KEPT: Final = 1024

DocKey = tuple[DatabaseKey, str, str]  # (database, collection, id_key)


@attrs.define
class Transaction:
    id: str
    database: DatabaseKey
    snapshot: Any  # a mongomock database
    base_version: int
    started: float
    #: (collection, id key) -> (stored id, document after the write, or None if removed)
    writes: dict[tuple[str, str], tuple[Any, dict[str, Any] | None]] = attrs.field(factory=dict)

    def record(self, changes: Iterable[Change]) -> None:
        for change in changes:
            self.writes[(change.collection, id_key(change.doc_id))] = (change.doc_id, change.doc)

    def changes(self) -> list[Change]:
        """The transaction's net effect, as changes to apply to the live database."""
        return [
            Change(self.database, collection, "del" if doc is None else "put", doc_id, doc)
            for (collection, _), (doc_id, doc) in self.writes.items()
        ]


class Transactions:
    """The registry: open transactions, ended ones, and committed-write versions."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._open: dict[str, Transaction] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()
        self._versions: dict[DocKey, int] = {}
        self._version = 0

    def begin(self, database: DatabaseKey, snapshot: Any) -> Transaction:
        self.expire()
        tx = Transaction(uuid.uuid4().hex, database, snapshot, self._version, self._clock())
        self._open[tx.id] = tx
        return tx

    def expire(self) -> None:
        """End transactions older than ``lifetime`` (MongoDB's default is 60 s)."""
        now = self._clock()
        for tx in [tx for tx in self._open.values() if now - tx.started > self.lifetime]:
            self.end(tx, f"expired after {self.lifetime:g} s")

    def ended(self, tx_id: str) -> str | None:
        """How the transaction ended (``"committed"``, ...), or ``None`` if it did not."""
        return self._ended.get(tx_id)

    def active(self, tx_id: str, database: DatabaseKey) -> Transaction:
        """The open transaction ``tx_id`` of ``database``, or the error to answer."""
        self.expire()
        tx = self._open.get(tx_id)
        if tx is None:
            outcome = self._ended.get(tx_id)
            if outcome is None:
                raise NoSQLError("INVALID_PARAM", f"unknown transaction {tx_id}")
            raise NoSQLError("DATABASE_TRANSACTION_FAIL", f"transaction {tx_id} is {outcome}")
        if tx.database != database:
            raise NoSQLError("INVALID_PARAM", f"transaction {tx_id} belongs to another database")
        return tx

    def end(self, tx: Transaction, outcome: str) -> None:
        self._open.pop(tx.id, None)
        self._ended[tx.id] = outcome
        while len(self._ended) > _ENDED_KEPT:
            self._ended.popitem(last=False)
        if not self._open:
            self._versions.clear()  # nobody left to conflict with

    def conflicts(self, tx: Transaction, collection: str, keys: Iterable[str]) -> bool:
        """Whether a write committed since ``tx`` started touched any of ``keys``."""
        versions = self._versions
        return any(
            versions.get((tx.database, collection, key), -1) > tx.base_version for key in keys
        )

    def check(self, tx: Transaction, collection: str, keys: Iterable[str]) -> None:
        """Abort ``tx`` with ``DATABASE_TRANSACTION_CONFLICT`` if :meth:`conflicts`."""
        if self.conflicts(tx, collection, keys):
            self.end(tx, "aborted by a write conflict")
            raise NoSQLError(
                "DATABASE_TRANSACTION_CONFLICT",
                f"transaction {tx.id}: a document it writes was changed by another writer",
            )

    def check_commit(self, tx: Transaction) -> None:
        for collection, key in tx.writes:
            self.check(tx, collection, [key])

    def committed(self, changes: Iterable[Change]) -> None:
        """Note writes that became visible (outside any transaction, or by a commit)."""
        self._version += 1
        if not self._open:
            return
        for change in changes:
            if change.op in ("put", "del"):
                key = (change.database, change.collection, id_key(change.doc_id))
                self._versions[key] = self._version

    def clear(self) -> None:
        self._open.clear()
        self._ended.clear()
        self._versions.clear()
