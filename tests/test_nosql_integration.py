"""The document-database client over real HTTP against the local gateway (mongomock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio
import attrs
import pytest

from cloudbase_async import (
    CloudBase,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ObjectId,
)
from cloudbase_async.ejson import Regex
from cloudbase_async.local import LocalCloudBase
from tests.support.pool import checked_out

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalCloudBase]:
    with LocalCloudBase(env="test") as local:
        yield local


@pytest.fixture
async def cb(gateway: LocalCloudBase) -> AsyncIterator[CloudBase]:
    gateway.reset()  # every test starts with an empty database
    async with gateway.client(max_retries=0) as client:
        yield client
        assert checked_out(client) == 0


@pytest.fixture
async def people(cb: CloudBase, anyio_backend: str) -> Any:
    name = f"people_{anyio_backend}_{id(cb)}"
    coll = await cb.nosql.create_collection(name)
    await coll.insert_many(
        [
            {"_id": "a", "name": "Alice", "age": 31, "tags": ["x"], "city": "SZ"},
            {"_id": "b", "name": "Bob", "age": 25, "tags": ["y"], "city": "SH"},
            {"_id": "c", "name": "Carol", "age": 42, "tags": ["x", "y"], "city": "SZ"},
            {"_id": "d", "name": "alan", "age": 19, "tags": [], "city": "BJ"},
        ]
    )
    return coll


async def test_find_with_operators_projection_order_limit_offset(people: Any) -> None:
    docs = await people.find(
        {"age": {"$gte": 20}, "city": {"$in": ["SZ", "SH"]}},
        projection={"name": 1},
        order=[("age", "desc")],
    )
    assert docs == [
        {"_id": "c", "name": "Carol"},
        {"_id": "a", "name": "Alice"},
        {"_id": "b", "name": "Bob"},
    ]

    page = await people.find(order=[("age", "asc")], limit=2, offset=1)
    assert [d["_id"] for d in page] == ["b", "a"]

    regex = await people.find({"name": Regex("^al", "i")}, order=["_id"])
    assert [d["_id"] for d in regex] == ["a", "d"]
    operator = await people.find({"name": {"$regex": "^AL", "$options": "i"}}, order=["_id"])
    assert operator == regex

    assert await people.find_one({"tags": {"$size": 2}}) == {
        "_id": "c",
        "name": "Carol",
        "age": 42,
        "tags": ["x", "y"],
        "city": "SZ",
    }
    assert await people.find_one({"age": {"$lt": 0}}) is None
    assert await people.count({"tags": "x"}) == 2
    assert await people.count() == 4


async def test_get_and_typed_results(people: Any) -> None:
    @attrs.frozen
    class Person:
        _id: str
        name: str
        age: int
        extra: dict[str, Any] = attrs.field(factory=dict)

    typed = people.returns(Person)
    alice = await typed.get("a")
    assert alice == Person("a", "Alice", 31, {"tags": ["x"], "city": "SZ"})
    assert await typed.get("nobody") is None
    assert [p.name async for p in typed.iterate({"age": {"$gt": 20}}, page_size=1)] == [
        "Alice",
        "Bob",
        "Carol",
    ]


async def test_update_operators_upsert_replace(people: Any) -> None:
    result = await people.update_one({"_id": "a"}, {"$inc": {"age": 1}, "$push": {"tags": "z"}})
    assert (result.matched, result.updated, result.upserted_id) == (1, 1, None)
    assert await people.get("a") == {
        "_id": "a",
        "name": "Alice",
        "age": 32,
        "tags": ["x", "z"],
        "city": "SZ",
    }

    plain = await people.update_many({"city": "SZ"}, {"region": "south"})  # wrapped in $set
    assert (plain.matched, plain.updated) == (2, 2)
    assert await people.count({"region": "south"}) == 2
    assert (await people.get("c"))["name"] == "Carol"  # $set kept the other fields

    upsert = await people.update_one({"_id": "e"}, {"$set": {"name": "Eve"}}, upsert=True)
    assert (upsert.matched, upsert.upserted_id) == (0, "e")
    assert await people.get("e") == {"_id": "e", "name": "Eve"}

    no_id = await people.update_one({"slug": "z"}, {"$set": {"n": 1}}, upsert=True)
    assert isinstance(no_id.upserted_id, str)
    assert await people.get(no_id.upserted_id) == {"_id": no_id.upserted_id, "slug": "z", "n": 1}

    replaced = await people.replace_one({"_id": "e"}, {"name": "Eve", "age": 50})
    assert replaced.matched == 1
    assert await people.get("e") == {"_id": "e", "name": "Eve", "age": 50}

    by_id = await people.update_by_id("b", {"$unset": {"tags": ""}}, return_doc=True)
    assert by_id.doc == {"_id": "b", "name": "Bob", "age": 25, "city": "SH"}


async def test_delete(people: Any) -> None:
    assert (await people.delete_one({"city": "SZ"})).deleted == 1
    assert (await people.delete_many({"age": {"$lt": 30}})).deleted == 2
    assert (await people.delete_by_id("c")).deleted in (0, 1)
    assert await people.count() == 0
    with pytest.raises(InvalidRequestError):
        await people.delete_many({})


async def test_aggregate(people: Any) -> None:
    out = await people.aggregate(
        [
            {"$match": {"age": {"$gte": 20}}},
            {"$group": {"_id": "$city", "total": {"$sum": "$age"}, "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ]
    )
    assert out == [{"_id": "SH", "total": 25, "n": 1}, {"_id": "SZ", "total": 73, "n": 2}]


async def test_ejson_types_round_trip_through_the_store(cb: CloudBase, anyio_backend: str) -> None:
    coll = await cb.nosql.create_collection(f"types_{anyio_backend}_{id(cb)}")
    when = datetime(2025, 1, 15, 8, 30, 0, 123000, tzinfo=UTC)
    oid = ObjectId("507f1f77bcf86cd799439011")
    doc = {
        "_id": "t",
        "when": when,
        "ref": oid,
        "big": 2**40,
        "price": Decimal("9.99"),
        "blob": b"\x00\x01",
        "ratio": 0.5,
    }
    await coll.insert_one(doc)
    assert await coll.get("t") == doc
    assert await coll.find({"when": {"$gt": datetime(2025, 1, 1, tzinfo=UTC)}, "ref": oid}) == [doc]


async def test_collections_and_errors(cb: CloudBase, anyio_backend: str) -> None:
    name = f"dup_{anyio_backend}_{id(cb)}"
    await cb.nosql.create_collection(name)
    with pytest.raises(ConflictError) as info:
        await cb.nosql.create_collection(name)
    assert info.value.code == "DATABASE_COLLECTION_ALREADY_EXIST"
    assert info.value.request_id  # from the body's snake-case request_id
    await cb.nosql.create_collection(name, exist_ok=True)

    with pytest.raises(NotFoundError) as missing:
        await cb.nosql.collection("nope").get("x")  # a missing collection still raises
    assert missing.value.code == "DATABASE_COLLECTION_NOT_EXIST"


async def test_other_database_is_separate(cb: CloudBase, anyio_backend: str) -> None:
    name = f"iso_{anyio_backend}_{id(cb)}"
    other = cb.nosql.database(instance="inst-1", database="mydb")
    coll = await other.create_collection(name)
    await coll.insert_one({"_id": "1"})
    with pytest.raises(NotFoundError):
        await cb.nosql.collection(name).count()
    assert await coll.count() == 1


async def test_transaction_commits(cb: CloudBase, people: Any) -> None:
    async with cb.nosql.transaction() as tx:
        inside = tx.collection(people.name)
        await inside.insert_one({"_id": "t1", "name": "Tx"})
        await inside.update_one({"_id": "a"}, {"$set": {"age": 99}})
        assert await inside.get("t1") == {"_id": "t1", "name": "Tx"}  # reads its own writes
        assert await people.get("t1") is None  # invisible outside until commit
    assert tx.status == "committed"
    assert await people.get("t1") == {"_id": "t1", "name": "Tx"}
    assert (await people.get("a"))["age"] == 99  # (test_nosql.py checks each call's id)


async def test_transaction_rolls_back_on_error(cb: CloudBase, people: Any) -> None:
    tx = cb.nosql.transaction()

    async def failing_block() -> None:
        async with tx:
            await tx.collection(people.name).delete_many({"age": {"$gt": 0}})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_block()
    assert tx.status == "rolled back"
    assert await people.count() == 4
    with pytest.raises(InvalidRequestError, match="rolled back"):
        await tx.collection(people.name).count()


async def test_transaction_rolls_back_on_cancellation(cb: CloudBase, people: Any) -> None:
    with anyio.move_on_after(0.5) as scope:
        async with cb.nosql.transaction() as tx:
            await tx.collection(people.name).insert_one({"_id": "gone"})
            await anyio.sleep(10)
    assert scope.cancelled_caught
    assert tx.status == "rolled back"
    assert await people.get("gone") is None


async def test_transaction_conflict_is_a_conflict_error(cb: CloudBase, people: Any) -> None:
    tx = cb.nosql.transaction()

    async def conflicting_block() -> None:
        async with tx:
            inside = tx.collection(people.name)
            await inside.insert_one({"_id": "x1"})
            await inside.update_by_id("a", {"$set": {"age": 1}})
            await people.update_by_id("a", {"$set": {"age": 2}})  # committed outside, meanwhile
            await inside.update_by_id("b", {"$set": {"age": 3}})

    with pytest.raises(ConflictError) as info:
        await conflicting_block()
    assert info.value.code == "DATABASE_TRANSACTION_CONFLICT"
    assert tx.status in {"failed", "rolled back"}  # refused at the commit or at the write
    assert await people.get("x1") is None  # nothing of the transaction was kept
    assert (await people.get("a"))["age"] == 2
    assert (await people.get("b"))["age"] == 25


# ---------------------------------------------- data is never read as operators


async def test_dollar_keys_in_data_never_remove_a_field(people: Any) -> None:
    alice = await people.get("a")
    # Control: the store does run an operator update the program wrote itself.
    await people.update_by_id("b", {"$unset": {"city": ""}})
    assert "city" not in await people.get("b")

    # The same keys arriving as data (a form, a request body) are refused, unsent.
    untrusted = {"$unset": {"name": "", "age": ""}}
    with pytest.raises(InvalidRequestError, match="'\\$unset'"):
        await people.update_by_id("a", data=untrusted)
    with pytest.raises(InvalidRequestError, match="'\\$unset'"):
        await people.update_one({"_id": "a"}, data=untrusted)
    with pytest.raises(InvalidRequestError, match="'\\$rename'"):
        await people.update_one({"_id": "a"}, {"profile": {"$rename": {"age": "x"}}})
    with pytest.raises(InvalidRequestError, match="'\\$unset'"):
        await people.replace_one({"_id": "a"}, {"name": "Alice", "x": [untrusted]})
    with pytest.raises(InvalidRequestError, match="'\\$set'"):
        await people.insert_one({"_id": "z", "$set": {"age": 0}})
    assert await people.get("a") == alice
    assert await people.get("z") is None

    # Plain data is set, field by field, and every other field is kept.
    done = await people.update_by_id("a", data={"city": "GZ", "nick": "al"}, return_doc=True)
    assert done.doc == {**alice, "city": "GZ", "nick": "al"}


async def test_untrusted_query_values_compared_with_eq_stay_values(people: Any) -> None:
    """The README's advice: a value from outside compared with $eq cannot be an operator."""
    hostile = {"$ne": None}
    assert await people.count({"name": hostile}) == 4  # read as an operator: matches all
    assert await people.count({"name": {"$eq": hostile}}) == 0  # compared as a value
    assert await people.count({"name": {"$eq": "Bob"}}) == 1


async def test_dot_segments_never_reach_the_store(people: Any) -> None:
    with pytest.raises(InvalidRequestError, match="'\\.\\.'"):
        await people.delete_by_id("..")
    with pytest.raises(InvalidRequestError, match="'\\.\\.'"):
        await people.update_by_id("..", {"$set": {"age": 0}})
    assert await people.count() == 4
    assert (await people.get("a"))["age"] == 31
