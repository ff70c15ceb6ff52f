"""The local document database through this SDK (and raw HTTP) on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import httpx
import pytest

from cloudbase_async import (
    AuthenticationError,
    CloudBase,
    ConflictError,
    NotFoundError,
    ObjectId,
    PermissionDeniedError,
    ejson,
)
from cloudbase_async.ejson import Binary, Regex
from tests.local._serve_data import ADMIN, ANON, DataServer, serve_data, user
from tests.support.pool import checked_out

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

BASE = "/v1/database/instances/(default)/databases/(default)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataServer]:
    with serve_data(tmp_path_factory.mktemp("data")) as running:
        yield running


@pytest.fixture
def url(server: DataServer) -> str:
    server.nosql.reset()
    return server.url


def client(url: str, key: str = ADMIN, **options: Any) -> CloudBase:
    return CloudBase(env="test-env", base_url=url, api_key=key, max_retries=0, **options)


@pytest.fixture
async def cb(url: str) -> AsyncIterator[CloudBase]:
    async with client(url) as admin:
        yield admin
        assert checked_out(admin) == 0


@pytest.fixture
async def people(cb: CloudBase) -> Any:
    coll = await cb.nosql.create_collection("people")
    await coll.insert_many(
        [
            {"_id": "a", "name": "Alice", "age": 31, "tags": ["x"], "city": "SZ"},
            {"_id": "b", "name": "Bob", "age": 25, "tags": ["y"], "city": "SH"},
            {"_id": "c", "name": "Carol", "age": 42, "tags": ["x", "y"], "city": "SZ"},
            {"_id": "d", "name": "alan", "age": 19, "tags": [], "city": "BJ"},
        ]
    )
    return coll


async def test_reads(people: Any) -> None:
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
    assert [d["_id"] for d in await people.find(order=[("age", "asc")], limit=2, offset=1)] == [
        "b",
        "a",
    ]
    assert [d["_id"] for d in await people.find({"name": Regex("^al", "i")}, order=["_id"])] == [
        "a",
        "d",
    ]
    assert (await people.find_one({"tags": {"$size": 2}}))["_id"] == "c"
    assert await people.count({"tags": "x"}) == 2
    assert await people.get("b") == {
        "_id": "b",
        "name": "Bob",
        "age": 25,
        "tags": ["y"],
        "city": "SH",
    }
    assert await people.get("nobody") is None
    assert [d["_id"] async for d in people.iterate(page_size=3)] == ["a", "b", "c", "d"]

    @attrs.frozen
    class Person:
        _id: str
        name: str
        age: int
        extra: dict[str, Any] = attrs.field(factory=dict)

    assert (await people.returns(Person).get("a")).name == "Alice"


async def test_writes(people: Any) -> None:
    result = await people.update_one({"_id": "a"}, {"$inc": {"age": 1}, "$push": {"tags": "z"}})
    assert (result.matched, result.updated, result.upserted_id) == (1, 1, None)
    plain = await people.update_many({"city": "SZ"}, {"region": "south"})  # $set for us
    assert (plain.matched, plain.updated) == (2, 2)
    assert (await people.get("c"))["name"] == "Carol"
    upsert = await people.update_one({"_id": "e"}, {"$set": {"name": "Eve"}}, upsert=True)
    assert (upsert.matched, upsert.upserted_id) == (0, "e")
    no_id = await people.update_one({"slug": "z"}, {"$set": {"n": 1}}, upsert=True)
    assert await people.get(no_id.upserted_id) == {"_id": no_id.upserted_id, "slug": "z", "n": 1}
    await people.replace_one({"_id": "e"}, {"name": "Eve", "age": 50})
    assert await people.get("e") == {"_id": "e", "name": "Eve", "age": 50}
    by_id = await people.update_by_id("b", {"$unset": {"tags": ""}}, return_doc=True)
    assert by_id.doc == {"_id": "b", "name": "Bob", "age": 25, "city": "SH"}
    assert (await people.update_by_id("zz", {"n": 1}, upsert=True)).upserted_id == "zz"
    assert (await people.delete_one({"city": "SZ"})).deleted == 1
    assert (await people.delete_many({"age": {"$lt": 30}})).deleted == 2
    assert (await people.delete_by_id("c")).deleted == 1
    assert (await people.delete_by_id("c")).deleted == 0
    out = await people.aggregate([{"$group": {"_id": None, "n": {"$sum": 1}}}])
    assert out == [{"_id": None, "n": 3}]  # e, the upserted two


@pytest.mark.parametrize("mode", ["strict", "relaxed"])
async def test_ejson_types_round_trip(url: str, mode: ejson.Mode) -> None:
    doc = {
        "_id": ObjectId("507f1f77bcf86cd799439011"),
        "when": datetime(2025, 1, 15, 8, 30, 0, 123000, tzinfo=UTC),
        "ref": ObjectId("507f1f77bcf86cd799439012"),
        "big": 2**40,
        "small": 7,
        "price": Decimal("9.99"),
        "blob": b"\x00\x01",
        "kind": Binary(b"\x09", 0x80),
        "uuid": UUID("12345678-1234-5678-1234-567812345678"),
        "ratio": 0.5,
        "nan": float("inf"),
        "pattern": Regex("^a.c$", "i"),
        "nested": [{"deep": None}, True, "text"],
    }
    async with client(url) as cb:
        coll = await cb.nosql.with_options(mode=mode).create_collection(f"types_{mode}")
        assert await coll.insert_one(doc) == doc["_id"]
        assert await coll.get(doc["_id"]) == doc
        query = {"when": {"$gt": datetime(2025, 1, 1, tzinfo=UTC)}, "ref": doc["ref"]}
        assert await coll.find(query) == [doc]
        assert await coll.count({"price": Decimal("9.99")}) == 1


async def test_other_databases_are_separate(cb: CloudBase) -> None:
    other = cb.nosql.database(instance="inst-1", database="mydb")
    coll = await other.create_collection("iso")
    await coll.insert_one({"_id": "1"})
    with pytest.raises(NotFoundError) as missing:
        await cb.nosql.collection("iso").count()
    assert missing.value.code == "DATABASE_COLLECTION_NOT_EXIST"
    assert await coll.count() == 1


async def test_errors_have_the_service_shape(cb: CloudBase, url: str) -> None:
    await cb.nosql.create_collection("dup")
    with pytest.raises(ConflictError) as duplicate:
        await cb.nosql.create_collection("dup")
    assert (duplicate.value.status_code, duplicate.value.code) == (
        409,
        "DATABASE_COLLECTION_ALREADY_EXIST",
    )
    async with httpx.AsyncClient(base_url=url) as raw:
        response = await raw.post(
            f"{BASE}/collections",
            json={"collectionName": "dup"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        body = response.json()
        assert response.status_code == 409
        assert set(body) == {"code", "message", "request_id"}
        assert body["request_id"] == response.headers["x-request-id"]

        expired = await raw.get(
            f"{BASE}/collections/dup/documents", headers={"Authorization": "Bearer expired"}
        )
        assert expired.status_code == 401
        assert expired.json()["code"] == "ACCESS_TOKEN_EXPIRED"
        assert "request_id" in expired.json()
    async with client(url, "expired") as bad:
        with pytest.raises(AuthenticationError):
            await bad.nosql.collection("dup").count()


async def test_the_wire_as_the_js_sdk_speaks_it(people: Any, url: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/plain;charset=UTF-8"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as raw:
        # Bodies are JSON whatever the content type; parentheses arrive unencoded.
        inserted = await raw.post(
            f"{BASE}/collections/people/documents",
            content=json.dumps(
                {"data": [{"name": "Zed", "at": {"$date": "2025-02-03T04:05:06Z"}}]}
            ),
        )
        assert inserted.status_code == 200
        (new_id,) = inserted.json()["insertedIds"]
        assert isinstance(new_id, str)

        query = ejson.dumps({"age": {"$gt": 30}}, mode="strict")  # canonical EJSON
        order = json.dumps([{"field": "age", "direction": "desc"}])
        found = await raw.get(
            f"{url}{BASE}/collections/people/documents?query={query}&order={order}&limit=1&"
        )
        assert found.status_code == 200
        assert found.json() == {
            "offset": 0,
            "limit": 1,
            "total": 2,
            "list": [
                {
                    "_id": "c",
                    "name": "Carol",
                    "age": {"$numberInt": "42"},
                    "tags": ["x", "y"],
                    "city": "SZ",
                }
            ],
        }
        encoded = await raw.get(
            "/v1/database/instances/%28default%29/databases/%28default%29"
            f"/collections/people/documents/{new_id}"
        )
        assert encoded.json()["at"] == {"$date": {"$numberLong": "1738555506000"}}
        count = await raw.get(f"{BASE}/collections/people/documents", params={"count": "true"})
        assert count.json() == {"total": 5}
        updated = await raw.patch(
            f"{BASE}/collections/people/documents",
            content=json.dumps({"query": {"_id": "a"}, "data": {"age": 32}, "multi": False}),
        )
        assert updated.json() == {"updated": 1, "matched": 1, "upsert_id": None}
        removed = await raw.post(
            f"{BASE}/collections/people/documents/remove",
            content=json.dumps({"query": {"_id": "a"}, "multi": False}),
        )
        assert removed.json() == {"deleted": 1}
        empty = await raw.post(
            f"{BASE}/collections/people/documents/remove", content=json.dumps({"query": {}})
        )
        assert (empty.status_code, empty.json()["code"]) == (400, "INVALID_PARAM")
        unknown = await raw.get("/v1/database/nothing/here")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "RESOURCE_NOT_FOUND")


async def test_commands_batch(people: Any, cb: CloudBase, url: str) -> None:
    commands = [
        ejson.dumps(
            {"find": "people", "filter": {"age": {"$lt": 26}}, "sort": {"age": 1}}, mode="strict"
        ),
        ejson.dumps(
            {"update": "people", "updates": [{"q": {"_id": "b"}, "u": {"$set": {"n": 1}}}]}
        ),
        {"count": "people"},
    ]
    async with httpx.AsyncClient(base_url=url) as raw:
        response = await raw.post(
            f"{BASE}/commands",
            json={"commands": commands},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        found, updated, counted = (ejson.decode(reply) for reply in response.json())
        assert [d["_id"] for d in found["cursor"]["firstBatch"]] == ["d", "b"]
        assert (updated["nModified"], counted["n"]) == (1, 4)
        denied = await raw.post(
            f"{BASE}/commands",
            json={"commands": [{"ping": 1}]},
            headers={"Authorization": f"Bearer {user('alice')}"},
        )
        assert (denied.status_code, denied.json()["code"]) == (401, "DATABASE_PERMISSION_DENIED")
    listed = await cb.nosql.command({"listCollections": 1})  # a bare command: one reply
    assert listed["cursor"]["firstBatch"] == [{"name": "people", "type": "collection"}]


async def test_transaction_commits(cb: CloudBase, people: Any) -> None:
    async with cb.nosql.transaction() as tx:
        inside = tx.collection(people.name)
        await inside.insert_one({"_id": "t1", "name": "Tx"})
        await inside.update_one({"_id": "a"}, {"$set": {"age": 99}})
        assert await inside.get("t1") == {"_id": "t1", "name": "Tx"}
        assert await people.get("t1") is None
        await people.update_one({"_id": "b"}, {"$set": {"age": 1}})  # another document
    assert tx.status == "committed"
    assert await people.get("t1") == {"_id": "t1", "name": "Tx"}
    assert [(await people.get(i))["age"] for i in ("a", "b")] == [99, 1]


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


async def test_transaction_conflict(cb: CloudBase, people: Any) -> None:
    tx = cb.nosql.transaction()

    async def conflicting_block() -> None:
        async with tx:
            await tx.collection(people.name).update_one({"_id": "a"}, {"$set": {"by": "tx"}})
            await people.update_one({"_id": "a"}, {"$set": {"by": "outside"}})

    with pytest.raises(ConflictError) as info:
        await conflicting_block()
    assert (info.value.code, info.value.status_code) == ("DATABASE_TRANSACTION_CONFLICT", 503)
    assert tx.status == "rolled back"  # the SDK rolled back; the server accepted it
    assert (await people.get("a"))["by"] == "outside"


async def test_users_get_openid(people: Any, url: str) -> None:
    async with client(url, user("alice")) as alice, client(url, user("bob")) as bob:
        mine = alice.nosql.collection("people")
        new_id = await mine.insert_one({"note": "hers"})
        assert await mine.get(new_id) == {"_id": new_id, "note": "hers", "_openid": "alice"}
        assert [d["_id"] for d in await mine.find()] == [new_id]  # not the admin's four
        assert await bob.nosql.collection("people").get(new_id) is None
        assert (
            await bob.nosql.collection("people").update_many({"_id": new_id}, {"x": 1})
        ).matched == 0
        async with alice.nosql.transaction() as tx:
            await tx.collection("people").insert_one({"_id": "in-tx"})
        assert (await people.get("in-tx"))["_openid"] == "alice"
    async with client(url, ANON) as anon:
        with pytest.raises(PermissionDeniedError) as denied:
            await anon.nosql.collection("people").count()
        assert (denied.value.status_code, denied.value.code) == (401, "DATABASE_PERMISSION_DENIED")
