"""The document-database engine: collections, documents and transactions, without HTTP.

Calls take and return Python values as :mod:`cloudbase_async.ejson` decodes them
(``ObjectId``, aware ``datetime``, ``Regex``...); the route layer does the EJSON.
Queries, updates and aggregations are mongomock's: nothing here matches documents.

Who may do what (the real service's default rule, "creator only", made coarse):

* the administrator (API key) reads and writes everything;
* a user (``Caller(role="user")``, anonymous sign-ins included) sees and changes only
  documents whose ``_openid`` is their uid: the condition is added to every query,
  update, delete and (as a first ``$match``) aggregation; documents they insert or
  upsert get ``_openid`` set to their uid;
* the anonymous role (publishable key, no user) gets ``DATABASE_PERMISSION_DENIED``;
* creating collections and raw commands are for the administrator only.

``_id`` and ``_openid`` never change once written. Every write is atomic: when
mongomock fails halfway, the documents it touched are put back as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import anyio
import anyio.to_thread
import attrs

from .._identity import Caller
from ._errors import NoSQLError
from ._journal import Change, DatabaseKey, Journal
from ._rules import (
    Direction,
    UpdateOutcome,
    Write,
    admin_only,
    as_mapping,
    id_candidates,
    mongo_errors,
    new_id,
    owner_of,
    replace_plan,
    restrict,
    sort_spec,
    update_document,
    update_plan,
)
from ._store import Store, copy_database
from ._transactions import Transaction, Transactions
from ._values import from_store, id_key, to_store

__all__ = ["DEFAULT", "NoSQLEngine", "Page", "Scope", "UpdateOutcome"]

DEFAULT: Final = "(default)"
MAX_LIMIT: Final = 1000

# Stages that read or write other collections: beyond a user's own documents.
_ADMIN_STAGES: Final = frozenset({"$lookup", "$graphLookup", "$unionWith", "$out", "$merge"})
_WRITE_STAGES: Final = frozenset({"$out", "$merge"})


@attrs.frozen
class Scope:
    """Who calls, on which database, inside which transaction (if any)."""

    caller: Caller
    instance: str = DEFAULT
    database: str = DEFAULT
    transaction_id: str | None = None

    @property
    def key(self) -> DatabaseKey:
        return (self.instance, self.database)


@attrs.frozen
class Page:
    """One page of a query: the documents and where the page sits."""

    documents: list[dict[str, Any]]
    offset: int
    limit: int
    total: int


@attrs.frozen
class _Target:
    """Where a call reads and writes: the live database or a transaction's snapshot."""

    key: DatabaseKey
    db: Any
    tx: Transaction | None


class NoSQLEngine:
    """The document database of the local gateway; state persists in ``data_dir``.

    ``transaction_lifetime`` (seconds) ends transactions left open longer, like
    MongoDB's ``transactionLifetimeLimitSeconds``. Use the engine from one event loop.
    """

    def __init__(self, data_dir: Path, *, transaction_lifetime: float = 60.0) -> None:
        self._store = Store(Journal(Path(data_dir) / "nosql" / "journal.jsonl"))
        self._store.load()
        self._tx = Transactions(transaction_lifetime)
        # Writes are serialised (mongomock is not reentrant across awaits, and the
        # journal must see writes in the order they happened); reads never wait.
        self._lock = anyio.Lock()

    def reset(self) -> None:
        """Forget every database, collection, document and transaction."""
        self._tx.clear()
        self._store.clear()

    def close(self) -> None:
        self._store.journal.close()

    # ------------------------------------------------------------------ internals

    def _resolve(self, scope: Scope) -> _Target:
        if scope.transaction_id:
            tx = self._tx.active(scope.transaction_id, scope.key)
            return _Target(scope.key, tx.snapshot, tx)
        return _Target(scope.key, self._store.database(scope.key), None)

    def _collection(self, target: _Target, name: str) -> Any:
        if not isinstance(name, str) or name not in target.db.list_collection_names():
            raise NoSQLError("DATABASE_COLLECTION_NOT_EXIST", f"collection {name} does not exist")
        return target.db[name]

    def _read(self, scope: Scope, name: str) -> tuple[Any, str | None]:
        owner = owner_of(scope.caller)
        return self._collection(self._resolve(scope), name), owner

    async def _publish(self, target: _Target, changes: list[Change]) -> None:
        if target.tx is not None:
            target.tx.record(changes)
            return
        self._tx.committed(changes)
        await anyio.to_thread.run_sync(self._store.journal.append, changes)

    async def _write(
        self, scope: Scope, name: str, plan: Callable[[Any, str | None], Write]
    ) -> Any:
        owner = owner_of(scope.caller)
        async with self._lock:
            target = self._resolve(scope)
            collection = self._collection(target, name)
            with mongo_errors():
                write = plan(collection, owner)
            ids = {id_key(doc_id): doc_id for doc_id in [*write.targets, *write.created]}
            if target.tx is not None:
                self._tx.check(target.tx, name, ids)
            before = {key: collection.find_one({"_id": doc_id}) for key, doc_id in ids.items()}
            try:
                with mongo_errors():
                    result = write.run()
            except BaseException:
                for key, doc_id in ids.items():  # put back what mongomock left half done
                    collection.delete_one({"_id": doc_id})
                    if before[key] is not None:
                        collection.insert_one(before[key])
                raise
            changes = []
            for key, doc_id in ids.items():
                doc = collection.find_one({"_id": doc_id})
                if doc is not None or before[key] is not None:
                    op: Literal["put", "del"] = "del" if doc is None else "put"
                    changes.append(Change(target.key, name, op, doc_id, doc))
            await self._publish(target, changes)
            return result

    # ---------------------------------------------------------------- collections

    async def create_collection(self, scope: Scope, name: str) -> None:
        """Create ``name``; ``DATABASE_COLLECTION_ALREADY_EXIST`` if it exists."""
        admin_only(scope.caller, "creating collections")
        async with self._lock:
            db = self._store.database(scope.key)
            if not isinstance(name, str) or not name:
                raise NoSQLError("INVALID_PARAM", "collectionName must be a non-empty string")
            if name in db.list_collection_names():
                raise NoSQLError(
                    "DATABASE_COLLECTION_ALREADY_EXIST", f"collection {name} already exists"
                )
            with mongo_errors():
                db.create_collection(name)
            await self._publish(_Target(scope.key, db, None), [Change(scope.key, name, "create")])

    async def drop_collection(self, scope: Scope, name: str) -> None:
        admin_only(scope.caller, "dropping collections")
        async with self._lock:
            target = _Target(scope.key, self._store.database(scope.key), None)
            self._collection(target, name)
            target.db.drop_collection(name)
            await self._publish(target, [Change(scope.key, name, "drop")])

    def collection_names(self, scope: Scope) -> list[str]:
        admin_only(scope.caller, "listing collections")
        return sorted(self._resolve(scope).db.list_collection_names())

    # ---------------------------------------------------------------------- reads

    async def find(
        self,
        scope: Scope,
        collection: str,
        query: Mapping[str, Any] | None = None,
        *,
        offset: int = 0,
        limit: int = 20,
        order: Sequence[tuple[str, Direction]] = (),
        projection: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of the documents matching ``query``."""
        if offset < 0 or not 1 <= limit <= MAX_LIMIT:
            raise NoSQLError("INVALID_PARAM", f"offset >= 0 and 1 <= limit <= {MAX_LIMIT}")
        coll, owner = self._read(scope, collection)
        flt = restrict(to_store(as_mapping(query, "query")), owner)
        with mongo_errors():
            cursor = coll.find(flt, dict(projection) if projection else None)
            if order:
                cursor = cursor.sort(sort_spec(order))
            docs = list(cursor.skip(offset).limit(limit))
            total = coll.count_documents(flt)
        return Page([from_store(doc) for doc in docs], offset, limit, total)

    async def count(
        self, scope: Scope, collection: str, query: Mapping[str, Any] | None = None
    ) -> int:
        coll, owner = self._read(scope, collection)
        flt = restrict(to_store(as_mapping(query, "query")), owner)
        with mongo_errors():
            return int(coll.count_documents(flt))

    async def get(
        self,
        scope: Scope,
        collection: str,
        doc_id: str,
        *,
        projection: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The document ``doc_id``; ``DOCUMENT_NOT_FOUND`` if none (or not the caller's)."""
        coll, owner = self._read(scope, collection)
        flt = restrict({"_id": {"$in": id_candidates(doc_id)}}, owner)
        with mongo_errors():
            doc = coll.find_one(flt, dict(projection) if projection else None)
        if doc is None:
            raise NoSQLError("DOCUMENT_NOT_FOUND", f"document {doc_id} not found")
        return dict(from_store(doc))

    async def aggregate(
        self, scope: Scope, collection: str, pipeline: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        coll, owner = self._read(scope, collection)
        if isinstance(pipeline, Mapping | str) or not all(
            isinstance(stage, Mapping) and len(stage) == 1 for stage in pipeline
        ):
            raise NoSQLError("INVALID_PARAM", "pipeline must be a list of one-key stages")
        stages = [dict(stage) for stage in to_store(list(pipeline))]
        names = {next(iter(stage)) for stage in stages}
        if names & _WRITE_STAGES:
            raise NoSQLError(
                "DATABASE_REQUEST_FAILED", "$out and $merge are not supported by the local emulator"
            )
        if owner is not None:
            if names & _ADMIN_STAGES:
                raise NoSQLError(
                    "DATABASE_PERMISSION_DENIED", "stages reading other collections are for admins"
                )
            stages.insert(0, {"$match": {"_openid": owner}})
        with mongo_errors():
            return [from_store(doc) for doc in coll.aggregate(stages)]

    # --------------------------------------------------------------------- writes

    async def insert(
        self, scope: Scope, collection: str, documents: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        """Insert ``documents`` (all or none); return their ids in order."""
        if isinstance(documents, Mapping) or not documents:
            raise NoSQLError("INVALID_PARAM", "data must be a non-empty list of documents")
        docs = [to_store(as_mapping(doc, "each document")) for doc in documents]

        def plan(coll: Any, owner: str | None) -> Write:
            for doc in docs:
                doc.setdefault("_id", new_id())
                if owner is not None:
                    doc["_openid"] = owner
            keys = [id_key(doc["_id"]) for doc in docs]
            taken = coll.find_one({"_id": {"$in": [doc["_id"] for doc in docs]}}, {"_id": 1})
            if len(set(keys)) != len(keys) or taken is not None:
                raise NoSQLError("DATABASE_DUPLICATE_WRITE", "a document with this _id exists")
            return Write(lambda: coll.insert_many(docs), created=[doc["_id"] for doc in docs])

        await self._write(scope, collection, plan)
        return [from_store(doc["_id"]) for doc in docs]

    async def update(
        self,
        scope: Scope,
        collection: str,
        query: Mapping[str, Any] | None,
        data: Mapping[str, Any],
        *,
        multi: bool = False,
        upsert: bool = False,
        replace: bool = False,
    ) -> UpdateOutcome:
        """Update (or replace) the first or every document matching ``query``."""
        update = to_store(update_document(data, replace=replace))
        base = to_store(as_mapping(query, "query"))

        def plan(coll: Any, owner: str | None) -> Write:
            flt = restrict(base, owner)
            if multi and not replace:
                targets = [doc["_id"] for doc in coll.find(flt, {"_id": 1})]
            else:
                first = coll.find_one(flt, {"_id": 1})
                targets = [] if first is None else [first["_id"]]
            if replace:
                return replace_plan(coll, flt, update, targets, upsert=upsert, owner=owner)
            return update_plan(coll, flt, update, targets, multi=multi, upsert=upsert, owner=owner)

        outcome: UpdateOutcome = await self._write(scope, collection, plan)
        return attrs.evolve(outcome, upsert_id=from_store(outcome.upsert_id))

    async def update_by_id(
        self,
        scope: Scope,
        collection: str,
        doc_id: str,
        data: Mapping[str, Any],
        *,
        upsert: bool = False,
        replace: bool = False,
        return_doc: bool = False,
    ) -> UpdateOutcome:
        """Update (or replace) the document ``doc_id``; ``return_doc`` adds it after."""
        update = to_store(update_document(data, replace=replace))
        stored_id: list[Any] = [doc_id]

        def plan(coll: Any, owner: str | None) -> Write:
            found = coll.find_one({"_id": {"$in": id_candidates(doc_id)}}, {"_id": 1})
            stored_id[0] = doc_id if found is None else found["_id"]
            flt = restrict({"_id": stored_id[0]}, owner)
            hit = coll.find_one(flt, {"_id": 1})
            targets = [] if hit is None else [hit["_id"]]
            if replace:
                return replace_plan(coll, flt, update, targets, upsert=upsert, owner=owner)
            return update_plan(coll, flt, update, targets, multi=False, upsert=upsert, owner=owner)

        outcome: UpdateOutcome = await self._write(scope, collection, plan)
        outcome = attrs.evolve(outcome, upsert_id=from_store(outcome.upsert_id))
        if return_doc:
            coll, owner = self._read(scope, collection)
            doc = coll.find_one(restrict({"_id": stored_id[0]}, owner))
            outcome = attrs.evolve(outcome, doc=None if doc is None else from_store(doc))
        return outcome

    async def remove(
        self, scope: Scope, collection: str, query: Mapping[str, Any], *, multi: bool = False
    ) -> int:
        """Delete the first or every document matching ``query`` (which must not be empty)."""
        base = to_store(as_mapping(query, "query"))
        if not base:
            raise NoSQLError("INVALID_PARAM", "param.query can't be empty")

        def plan(coll: Any, owner: str | None) -> Write:
            flt = restrict(base, owner)
            found = coll.find(flt, {"_id": 1})
            targets = [doc["_id"] for doc in (found if multi else found.limit(1))]
            return Write(lambda: coll.delete_many({"_id": {"$in": targets}}).deleted_count, targets)

        deleted: int = await self._write(scope, collection, plan)
        return deleted

    async def delete_by_id(self, scope: Scope, collection: str, doc_id: str) -> int:
        def plan(coll: Any, owner: str | None) -> Write:
            flt = restrict({"_id": {"$in": id_candidates(doc_id)}}, owner)
            hit = coll.find_one(flt, {"_id": 1})
            targets = [] if hit is None else [hit["_id"]]
            return Write(lambda: coll.delete_many({"_id": {"$in": targets}}).deleted_count, targets)

        deleted: int = await self._write(scope, collection, plan)
        return deleted

    # --------------------------------------------------------------- transactions

    async def start_transaction(self, scope: Scope) -> str:
        """Open a transaction on the scope's database (a snapshot of it); return its id."""
        owner_of(scope.caller)
        async with self._lock:
            snapshot = copy_database(self._store.database(scope.key))
            return self._tx.begin(scope.key, snapshot).id

    async def commit(self, scope: Scope, transaction_id: str) -> None:
        """Make the transaction's writes visible, or fail with a conflict and abort it."""
        async with self._lock:
            outcome = self._tx.ended(transaction_id)
            if outcome == "committed":
                return  # a repeated commit: it landed
            if outcome is not None and "conflict" in outcome:
                raise NoSQLError(
                    "DATABASE_TRANSACTION_CONFLICT", f"transaction {transaction_id} was {outcome}"
                )
            tx = self._tx.active(transaction_id, scope.key)
            self._tx.check_commit(tx)
            live = self._store.database(scope.key)
            changes = tx.changes()
            existing = set(live.list_collection_names())
            missing = sorted({c.collection for c in changes} - existing)
            changes = [Change(scope.key, name, "create") for name in missing] + changes
            self._store.apply(changes)
            self._tx.end(tx, "committed")
            await self._publish(_Target(scope.key, live, None), changes)

    async def rollback(self, scope: Scope, transaction_id: str) -> None:
        """Drop the transaction's writes. Rolling back an aborted one succeeds."""
        async with self._lock:
            outcome = self._tx.ended(transaction_id)
            if outcome == "committed":
                raise NoSQLError(
                    "DATABASE_TRANSACTION_FAIL", f"transaction {transaction_id} is committed"
                )
            if outcome is None:
                self._tx.end(self._tx.active(transaction_id, scope.key), "rolled back")
