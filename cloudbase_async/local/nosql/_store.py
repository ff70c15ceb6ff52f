"""Every database's collections, held in mongomock and made durable by the journal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import mongomock

from ._journal import Change, DatabaseKey, Journal

__all__ = ["Store", "copy_database"]


def copy_database(source: Any) -> Any:
    """A separate mongomock database holding a copy of every collection of ``source``."""
    copy = mongomock.MongoClient()["snapshot"]
    for name in source.list_collection_names():
        copy.create_collection(name)
        docs = list(source[name].find())  # mongomock hands out deep copies
        if docs:
            copy[name].insert_many(docs)
    return copy


def apply_change(db: Any, change: Change) -> None:
    """Make ``change`` true in ``db`` (a mongomock database)."""
    exists = change.collection in db.list_collection_names()
    if change.op == "create":
        if not exists:
            db.create_collection(change.collection)
    elif change.op == "drop":
        db.drop_collection(change.collection)
    else:
        if not exists:
            db.create_collection(change.collection)
        collection = db[change.collection]
        if change.op == "del":
            collection.delete_one({"_id": change.doc_id})
        else:
            collection.replace_one({"_id": change.doc_id}, change.doc, upsert=True)


class Store:
    """The live databases, keyed ``(instance, database)`` and created on first use."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._client: Any = mongomock.MongoClient()
        self._databases: dict[DatabaseKey, Any] = {}

    def database(self, key: DatabaseKey) -> Any:
        db = self._databases.get(key)
        if db is None:
            # Names of our own: instance names like "(default)" are not mongo names.
            db = self._databases[key] = self._client[f"db{len(self._databases)}"]
        return db

    def apply(self, changes: Iterable[Change]) -> None:
        for change in changes:
            apply_change(self.database(change.database), change)

    def contents(self) -> Iterator[Change]:
        """Every collection and document as changes that recreate them."""
        for key, db in self._databases.items():
            for name in db.list_collection_names():
                yield Change(key, name, "create")
                for doc in db[name].find():
                    yield Change(key, name, "put", doc["_id"], doc)

    def load(self) -> None:
        """Replay the journal, then compact it (blocking; once, at start)."""
        self.apply(self.journal.replay())
        self.journal.rewrite(self.contents())

    def clear(self) -> None:
        self._client = mongomock.MongoClient()
        self._databases.clear()
        self.journal.clear()
