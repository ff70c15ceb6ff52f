"""The document-database engine on its own: no HTTP, just calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cloudbase_async.ejson import Binary, Int64, ObjectId, Regex
from cloudbase_async.local._identity import Caller
from cloudbase_async.local.nosql import NoSQLEngine, NoSQLError, Scope, run_command

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


ADMIN = Scope(Caller("admin"))
ALICE = Scope(Caller("user", "alice"))
BOB = Scope(Caller("user", "bob"))
ANON = Scope(Caller("anon"))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[NoSQLEngine]:
    engine = NoSQLEngine(tmp_path)
    yield engine
    engine.close()


async def code_of(call: Any) -> str:
    with pytest.raises(NoSQLError) as caught:
        await call
    return caught.value.code


async def people(engine: NoSQLEngine) -> str:
    await engine.create_collection(ADMIN, "people")
    await engine.insert(
        ADMIN,
        "people",
        [
            {"_id": "a", "name": "Alice", "age": 31},
            {"_id": "b", "name": "Bob", "age": 25},
            {"_id": "c", "name": "Carol", "age": 42},
        ],
    )
    return "people"


async def test_find_count_get_and_the_page_envelope(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    page = await engine.find(
        ADMIN, coll, {"age": {"$gte": 30}}, order=[("age", "desc")], projection={"name": 1}
    )
    assert page.documents == [{"_id": "c", "name": "Carol"}, {"_id": "a", "name": "Alice"}]
    assert (page.offset, page.limit, page.total) == (0, 20, 2)
    second = await engine.find(ADMIN, coll, order=[("age", "asc")], offset=1, limit=1)
    assert [d["_id"] for d in second.documents] == ["a"]
    assert second.total == 3
    assert await engine.count(ADMIN, coll, {"name": Regex("^b", "i")}) == 1
    assert await engine.get(ADMIN, coll, "b") == {"_id": "b", "name": "Bob", "age": 25}
    assert await code_of(engine.get(ADMIN, coll, "zz")) == "DOCUMENT_NOT_FOUND"
    assert await code_of(engine.find(ADMIN, "nope")) == "DATABASE_COLLECTION_NOT_EXIST"
    assert await code_of(engine.find(ADMIN, coll, limit=0)) == "INVALID_PARAM"
    assert await code_of(engine.find(ADMIN, coll, {"age": {"$nope": 1}})) == (
        "DATABASE_INVALID_OPERRATOR"
    )


async def test_inserted_ids_are_strings_and_duplicates_insert_nothing(
    engine: NoSQLEngine,
) -> None:
    coll = await people(engine)
    (new,) = await engine.insert(ADMIN, coll, [{"name": "Dan"}])
    assert isinstance(new, str)
    assert len(new) == 32
    assert await code_of(engine.insert(ADMIN, coll, [{"_id": "x"}, {"_id": "a"}])) == (
        "DATABASE_DUPLICATE_WRITE"
    )
    assert await code_of(engine.insert(ADMIN, coll, [{"_id": "y"}, {"_id": "y"}])) == (
        "DATABASE_DUPLICATE_WRITE"
    )
    assert await engine.count(ADMIN, coll) == 4  # neither batch left a document


async def test_updates_wrap_plain_documents_and_keep_ids_immutable(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    outcome = await engine.update(ADMIN, coll, {"_id": "a"}, {"city": "SZ"})
    assert (outcome.matched, outcome.updated, outcome.upsert_id) == (1, 1, None)
    assert (await engine.get(ADMIN, coll, "a"))["name"] == "Alice"  # $set, not replace
    many = await engine.update(ADMIN, coll, {"age": {"$gt": 0}}, {"$inc": {"age": 1}}, multi=True)
    assert (many.matched, many.updated) == (3, 3)
    for forbidden in ({"_id": "z"}, {"$set": {"_openid": "x"}}, {"$rename": {"name": "_openid"}}):
        assert await code_of(engine.update(ADMIN, coll, {"_id": "a"}, forbidden)) == (
            "INVALID_PARAM"
        )
    assert await code_of(engine.update(ADMIN, coll, {}, {"$set": {"a": 1}, "b": 2})) == (
        "INVALID_PARAM"
    )
    replaced = await engine.update(ADMIN, coll, {"_id": "b"}, {"name": "Robert"}, replace=True)
    assert replaced.matched == 1
    assert await engine.get(ADMIN, coll, "b") == {"_id": "b", "name": "Robert"}
    assert await code_of(
        engine.update(ADMIN, coll, {"_id": "b"}, {"_id": "other"}, replace=True)
    ) == ("INVALID_PARAM")
    assert await engine.get(ADMIN, coll, "b") == {"_id": "b", "name": "Robert"}


async def test_upserts_make_string_ids(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    by_filter = await engine.update(ADMIN, coll, {"slug": "z"}, {"$set": {"n": 1}}, upsert=True)
    assert isinstance(by_filter.upsert_id, str)
    assert await engine.get(ADMIN, coll, by_filter.upsert_id) == {
        "_id": by_filter.upsert_id,
        "slug": "z",
        "n": 1,
    }
    by_id = await engine.update_by_id(
        ADMIN, coll, "e", {"name": "Eve"}, upsert=True, return_doc=True
    )
    assert (by_id.upsert_id, by_id.doc) == ("e", {"_id": "e", "name": "Eve"})
    replaced = await engine.update_by_id(ADMIN, coll, "f", {"n": 2}, upsert=True, replace=True)
    assert replaced.upsert_id == "f"
    assert await engine.get(ADMIN, coll, "f") == {"_id": "f", "n": 2}


async def test_a_write_mongomock_fails_halfway_is_undone(engine: NoSQLEngine) -> None:
    coll = "tags"
    await engine.create_collection(ADMIN, coll)
    await engine.insert(ADMIN, coll, [{"_id": "t", "tags": ["x", "y"]}])
    # mongomock crashes on this positional update after it started changing things.
    code = await code_of(engine.update(ADMIN, coll, {"tags": "y"}, {"$set": {"tags.$": "Y"}}))
    assert code == "DATABASE_REQUEST_FAILED"
    assert await engine.get(ADMIN, coll, "t") == {"_id": "t", "tags": ["x", "y"]}


async def test_remove_and_delete_by_id(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    assert await code_of(engine.remove(ADMIN, coll, {})) == "INVALID_PARAM"
    assert await engine.remove(ADMIN, coll, {"age": {"$gt": 0}}) == 1
    assert await engine.remove(ADMIN, coll, {"age": {"$gt": 0}}, multi=True) == 2
    assert await engine.delete_by_id(ADMIN, coll, "a") == 0


async def test_users_see_and_change_only_their_own_documents(engine: NoSQLEngine) -> None:
    coll = await people(engine)  # admin documents: no _openid
    (mine,) = await engine.insert(ALICE, coll, [{"name": "mine", "_openid": "forged"}])
    await engine.insert(BOB, coll, [{"_id": "bobs", "name": "bob's"}])
    assert (await engine.get(ADMIN, coll, mine))["_openid"] == "alice"
    assert [d["_id"] for d in (await engine.find(ALICE, coll)).documents] == [mine]
    assert await engine.count(ALICE, coll, {"_openid": "bob"}) == 0
    assert await code_of(engine.get(ALICE, coll, "bobs")) == "DOCUMENT_NOT_FOUND"
    assert (await engine.update(ALICE, coll, {}, {"$set": {"x": 1}}, multi=True)).matched == 1
    assert await engine.remove(ALICE, coll, {"name": "bob's"}) == 0
    assert await engine.delete_by_id(ALICE, coll, "bobs") == 0
    upserted = await engine.update(ALICE, coll, {"slug": "s"}, {"$set": {"n": 1}}, upsert=True)
    assert (await engine.get(ADMIN, coll, upserted.upsert_id))["_openid"] == "alice"
    replaced = await engine.update_by_id(ALICE, coll, mine, {"name": "again"}, replace=True)
    assert replaced.matched == 1
    assert await engine.get(ALICE, coll, mine) == {"_id": mine, "name": "again", "_openid": "alice"}
    stats = await engine.aggregate(ALICE, coll, [{"$group": {"_id": None, "n": {"$sum": 1}}}])
    assert stats == [{"_id": None, "n": 2}]
    lookup = [{"$lookup": {"from": "x", "localField": "a", "foreignField": "b", "as": "c"}}]
    assert await code_of(engine.aggregate(ALICE, coll, lookup)) == "DATABASE_PERMISSION_DENIED"
    assert await code_of(engine.create_collection(ALICE, "mine")) == "DATABASE_PERMISSION_DENIED"
    assert await code_of(engine.find(ANON, coll)) == "DATABASE_PERMISSION_DENIED"
    assert await code_of(engine.insert(ANON, coll, [{}])) == "DATABASE_PERMISSION_DENIED"


async def test_object_ids_match_path_ids_and_sort(engine: NoSQLEngine) -> None:
    await engine.create_collection(ADMIN, "oids")
    first, second = ObjectId("507f1f77bcf86cd799439011"), ObjectId("507f1f77bcf86cd799439012")
    await engine.insert(ADMIN, "oids", [{"_id": second}, {"_id": first}])
    assert await engine.get(ADMIN, "oids", first.hex) == {"_id": first}
    page = await engine.find(ADMIN, "oids", order=[("_id", "asc")])
    assert [d["_id"] for d in page.documents] == [first, second]
    assert await engine.count(ADMIN, "oids", {"_id": {"$type": "objectId"}}) == 2
    assert await engine.delete_by_id(ADMIN, "oids", second.hex) == 1


async def test_transactions_work_on_a_snapshot_and_commit(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    tx_id = await engine.start_transaction(ADMIN)
    tx = Scope(ADMIN.caller, transaction_id=tx_id)
    await engine.insert(tx, coll, [{"_id": "t1"}])
    await engine.update(tx, coll, {"_id": "a"}, {"$set": {"age": 99}})
    await engine.insert(ADMIN, coll, [{"_id": "outside"}])  # another document: no conflict
    assert await engine.count(tx, coll) == 4  # its own snapshot: "outside" is not in it
    assert await code_of(engine.get(ADMIN, coll, "t1")) == "DOCUMENT_NOT_FOUND"
    await engine.commit(ADMIN, tx_id)
    assert (await engine.get(ADMIN, coll, "a"))["age"] == 99
    assert await engine.count(ADMIN, coll) == 5
    await engine.commit(ADMIN, tx_id)  # a repeated commit: it landed
    assert await code_of(engine.rollback(ADMIN, tx_id)) == "DATABASE_TRANSACTION_FAIL"
    assert await code_of(engine.count(tx, coll)) == "DATABASE_TRANSACTION_FAIL"
    assert await code_of(engine.count(Scope(ADMIN.caller, transaction_id="nope"), coll)) == (
        "INVALID_PARAM"
    )


async def test_rollback_discards(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    tx_id = await engine.start_transaction(ALICE)
    await engine.insert(Scope(ALICE.caller, transaction_id=tx_id), coll, [{"_id": "gone"}])
    await engine.rollback(ALICE, tx_id)
    await engine.rollback(ALICE, tx_id)  # idempotent
    assert await code_of(engine.get(ADMIN, coll, "gone")) == "DOCUMENT_NOT_FOUND"
    other = Scope(ADMIN.caller, instance="other", transaction_id=tx_id)
    assert await code_of(engine.count(other, coll)) in (
        "INVALID_PARAM",
        "DATABASE_TRANSACTION_FAIL",
    )


async def test_a_write_to_the_same_document_conflicts_at_commit(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    tx_id = await engine.start_transaction(ADMIN)
    tx = Scope(ADMIN.caller, transaction_id=tx_id)
    await engine.update(tx, coll, {"_id": "a"}, {"$set": {"by": "tx"}})
    await engine.update(ADMIN, coll, {"_id": "a"}, {"$set": {"by": "outside"}})
    assert await code_of(engine.commit(ADMIN, tx_id)) == "DATABASE_TRANSACTION_CONFLICT"
    assert (await engine.get(ADMIN, coll, "a"))["by"] == "outside"
    await engine.rollback(ADMIN, tx_id)  # after an abort: accepted
    assert await code_of(engine.commit(ADMIN, tx_id)) == "DATABASE_TRANSACTION_CONFLICT"


async def test_a_conflict_is_reported_at_the_write_itself(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    first = await engine.start_transaction(ADMIN)
    second = await engine.start_transaction(ADMIN)
    await engine.update(Scope(ADMIN.caller, transaction_id=first), coll, {"_id": "b"}, {"x": 1})
    await engine.commit(ADMIN, first)
    late = engine.update(Scope(ADMIN.caller, transaction_id=second), coll, {"_id": "b"}, {"x": 2})
    assert await code_of(late) == "DATABASE_TRANSACTION_CONFLICT"
    assert await code_of(engine.count(Scope(ADMIN.caller, transaction_id=second), coll)) == (
        "DATABASE_TRANSACTION_FAIL"
    )
    assert (await engine.get(ADMIN, coll, "b"))["x"] == 1


async def test_transactions_expire(tmp_path: Path) -> None:
    engine = NoSQLEngine(tmp_path, transaction_lifetime=0)
    try:
        await engine.create_collection(ADMIN, "c")
        tx_id = await engine.start_transaction(ADMIN)
        with pytest.raises(NoSQLError) as caught:
            await engine.count(Scope(ADMIN.caller, transaction_id=tx_id), "c")
        assert caught.value.code == "DATABASE_TRANSACTION_FAIL"
        assert "expired" in caught.value.message
    finally:
        engine.close()


async def test_state_and_types_survive_a_restart(tmp_path: Path) -> None:
    doc = {
        "_id": ObjectId("507f1f77bcf86cd799439011"),
        "when": datetime(2025, 1, 15, 8, 30, 0, 123000, tzinfo=UTC),
        "big": Int64(2**40),
        "price": Decimal("9.99"),
        "blob": b"\x00\x01",
        "kind": Binary(b"\x02", 5),
        "ratio": 0.5,
        "pattern": Regex("^a", "i"),
        "nested": {"list": [1, "two", None, True]},
    }
    first = NoSQLEngine(tmp_path)
    await first.create_collection(ADMIN, "kept")
    await first.create_collection(Scope(ADMIN.caller, "inst", "db2"), "empty")
    await first.insert(ADMIN, "kept", [doc, {"_id": "gone"}])
    await first.delete_by_id(ADMIN, "kept", "gone")
    first.close()
    with (tmp_path / "nosql" / "journal.jsonl").open("a") as journal:
        journal.write('{"op": "put", "db": ["(def')  # a line cut short by a crash

    second = NoSQLEngine(tmp_path)
    try:
        assert (await second.find(ADMIN, "kept")).documents == [{**doc, "big": 2**40}]
        assert second.collection_names(Scope(ADMIN.caller, "inst", "db2")) == ["empty"]
        second.reset()
        assert await code_of(second.count(ADMIN, "kept")) == "DATABASE_COLLECTION_NOT_EXIST"
    finally:
        second.close()
    third = NoSQLEngine(tmp_path)
    try:
        assert third.collection_names(ADMIN) == []  # reset is durable too
    finally:
        third.close()


async def test_commands(engine: NoSQLEngine) -> None:
    coll = await people(engine)
    assert await run_command(engine, ADMIN, {"ping": 1}) == {"ok": 1}
    found = await run_command(
        engine, ADMIN, {"find": coll, "filter": {"age": {"$gt": 26}}, "sort": {"age": -1}}
    )
    assert [d["_id"] for d in found["cursor"]["firstBatch"]] == ["c", "a"]
    assert found["cursor"]["ns"] == f"(default).{coll}"
    assert await run_command(engine, ADMIN, {"insert": coll, "documents": [{"_id": "d"}]}) == {
        "n": 1,
        "ok": 1,
    }
    updated = await run_command(
        engine,
        ADMIN,
        {
            "update": coll,
            "updates": [
                {"q": {"_id": "d"}, "u": {"$set": {"age": 1}}},
                {"q": {"_id": "new"}, "u": {"name": "replacement"}, "upsert": True},
            ],
        },
    )
    assert updated == {"n": 2, "nModified": 1, "upserted": [{"index": 1, "_id": "new"}], "ok": 1}
    assert await engine.get(ADMIN, coll, "new") == {"_id": "new", "name": "replacement"}
    assert await run_command(engine, ADMIN, {"count": coll, "query": {"age": {"$lt": 30}}}) == {
        "n": 2,
        "ok": 1,
    }
    deleted = await run_command(
        engine, ADMIN, {"delete": coll, "deletes": [{"q": {"age": {"$lt": 30}}, "limit": 0}]}
    )
    assert deleted == {"n": 2, "ok": 1}
    aggregated = await run_command(
        engine, ADMIN, {"aggregate": coll, "pipeline": [{"$count": "n"}], "cursor": {}}
    )
    assert aggregated["cursor"]["firstBatch"] == [{"n": 3}]
    assert (await run_command(engine, ADMIN, {"create": "fresh"}))["ok"] == 1
    listed = await run_command(engine, ADMIN, {"listCollections": 1})
    assert [c["name"] for c in listed["cursor"]["firstBatch"]] == ["fresh", coll]
    assert (await run_command(engine, ADMIN, {"drop": "fresh"}))["ok"] == 1
    for bad in ({}, {"shutdown": 1}):
        assert await code_of(run_command(engine, ADMIN, bad)) == "INVALID_PARAM"
    assert await code_of(run_command(engine, ALICE, {"ping": 1})) == "DATABASE_PERMISSION_DENIED"
