"""The document-database client against careless callers and hostile answers: data is
never read as operators, names never escape their path, every answer that cannot be
read is a ResponseValidationError."""

from __future__ import annotations

import gc
import inspect
import json
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest
import pytest_asyncio
import respx

from cloudbase_async import (
    CloudBase,
    CloudBaseError,
    InvalidRequestError,
    ObjectId,
    ResponseValidationError,
)
from cloudbase_async.ejson import MAX_DEPTH

pytestmark = pytest.mark.asyncio

GW = "https://gw.test"
DB = f"{GW}/v1/database/instances/(default)/databases/(default)"
DOCS = f"{DB}/collections/todos/documents"
OID = "507f1f77bcf86cd799439011"


@pytest_asyncio.fixture
async def cb() -> AsyncIterator[CloudBase]:
    async with CloudBase(env="env-1", base_url=GW, api_key="sk-key", max_retries=0) as client:
        yield client


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body, headers={"X-Request-Id": "srv-1"})


def raw(content: bytes) -> httpx.Response:
    return httpx.Response(
        200, content=content, headers={"X-Request-Id": "srv-1", "Content-Type": "application/json"}
    )


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


async def attempt(call: Any, nosql: Any) -> None:
    """Run ``call(nosql)``, awaiting it when it is a call rather than a handle."""
    result = call(nosql)
    if inspect.isawaitable(result):
        await result


# ------------------------------------------------------------- data is never code

UPDATED = {"updated": 1, "matched": 1, "upsert_id": None}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # data= is plain fields, whatever keys it holds.
        (lambda c: c.update_one({"_id": "a"}, data={"$unset": {"name": ""}}), "'\\$unset'"),
        (lambda c: c.update_many({"k": 1}, data={"$set": {"role": "admin"}}), "'\\$set'"),
        (lambda c: c.update_by_id("a", data={"$rename": {"a": "b"}}), "'\\$rename'"),
        (lambda c: c.update_by_id("a", data={"p": [{"$oid": OID}]}), "'\\$oid'"),
        # A plain update document is data below its top level too.
        (lambda c: c.update_one({"_id": "a"}, {"profile": {"$where": "1"}}), "'\\$where'"),
        # Inserted and replacing documents are data at every depth.
        (lambda c: c.insert_one({"$set": {"a": 1}}), "'\\$set'"),
        (lambda c: c.insert_many([{"a": 1}, {"b": {"$date": "2025-01-01"}}]), "'\\$date'"),
        (lambda c: c.replace_one({"_id": "a"}, {"x": {"y": [{"$inc": 1}]}}), "'\\$inc'"),
        (lambda c: c.update_by_id("a", {"x": {"$unset": 1}}, replace=True), "'\\$unset'"),
        # One way of giving the update, not two, not none.
        (lambda c: c.update_one({"_id": "a"}, {"$set": {"a": 1}}, data={"a": 1}), "exactly one"),
        (lambda c: c.update_one({"_id": "a"}), "exactly one"),
        (lambda c: c.update_by_id("a", data={}), "non-empty"),
        # A query of only a $comment matches every document.
        (lambda c: c.delete_many({"$comment": "all of them"}), "empty query"),
        (lambda c: c.update_many({"$comment": "x"}, {"$set": {"a": 1}}), "empty query"),
    ],
)
async def test_data_with_dollar_keys_is_refused_before_sending(
    cb: CloudBase, mock: respx.MockRouter, call: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await call(cb.nosql.collection("todos"))
    assert not mock.calls


async def test_data_is_sent_under_set_with_its_typed_values_encoded(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.patch(f"{DOCS}/a").mock(return_value=ok(UPDATED))
    todos = cb.nosql.collection("todos")
    await todos.update_by_id("a", data={"ref": ObjectId(OID), "tags": ["x"]})
    assert body(route.calls.last.request) == {
        "data": {"$set": {"ref": {"$oid": OID}, "tags": ["x"]}},
        "upsert": False,
    }

    @attrs.frozen
    class Patch:
        done: bool

    await todos.update_by_id("a", data=Patch(done=True))
    assert body(route.calls.last.request)["data"] == {"$set": {"done": True}}

    many = mock.patch(DOCS).mock(return_value=ok(UPDATED))
    await todos.update_many({"owner": "me"}, data={"done": True}, upsert=True)
    assert body(many.calls.last.request) == {
        "query": {"owner": "me"},
        "data": {"$set": {"done": True}},
        "multi": True,
        "upsert": True,
    }


async def test_operator_documents_written_by_the_program_are_sent_as_they_are(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.patch(DOCS).mock(return_value=ok(UPDATED))
    update = {"$unset": {"old": ""}, "$set": {"nested": {"k": 1}}}
    await cb.nosql.with_options(mode="relaxed").collection("todos").update_one({"_id": "a"}, update)
    assert body(route.calls.last.request)["data"] == update


async def test_insert_of_data_nested_too_deeply_is_refused(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH + 5):
        deep = {"k": deep}
    with pytest.raises(InvalidRequestError, match="deeper than"):
        await cb.nosql.collection("todos").insert_one(deep)
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(InvalidRequestError, match="deeper than"):
        await cb.nosql.collection("todos").insert_one(cyclic)
    assert not mock.calls


# ------------------------------------------------------------- names in the path


@pytest.mark.parametrize(
    "call",
    [
        lambda n: n.collection(".."),
        lambda n: n.collection("."),
        lambda n: n.collection(""),
        lambda n: n.collection("a\nb"),
        lambda n: n.database(instance=".."),
        lambda n: n.database(database="."),
        lambda n: n.collection("todos").get(".."),
        lambda n: n.collection("todos").delete_by_id(".."),
        lambda n: n.collection("todos").update_by_id(".", {"$set": {"a": 1}}),
        lambda n: n.collection("todos").get(5),
        lambda n: n.create_collection(".."),
    ],
)
async def test_dot_segments_are_refused_before_sending(
    cb: CloudBase, mock: respx.MockRouter, call: Any
) -> None:
    with pytest.raises(InvalidRequestError):
        await attempt(call, cb.nosql)
    assert not mock.calls


async def test_names_and_ids_are_one_encoded_segment(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.delete(
        f"{GW}/v1/database/instances/(default)/databases/a%2F..%2Fb/collections/c%2F../documents/..%2Fx"
    ).mock(return_value=ok({"deleted": 0}))
    collection = cb.nosql.database(database="a/../b").collection("c/..")
    assert (await collection.delete_by_id("../x")).deleted == 0
    assert route.calls.last.request.url.raw_path == (
        b"/v1/database/instances/(default)/databases/a%2F..%2Fb/collections/c%2F../documents/..%2Fx"
    )
    by_oid = mock.get(f"{DOCS}/{OID}").mock(return_value=ok({"_id": {"$oid": OID}}))
    assert await cb.nosql.collection("todos").get(ObjectId(OID)) == {"_id": ObjectId(OID)}
    assert by_oid.called


async def test_a_transaction_id_that_is_no_path_segment_is_the_servers_error(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    start = mock.post(f"{DB}/transactions").mock(return_value=ok({"transactionId": ".."}))
    tx = cb.nosql.transaction()
    with pytest.raises(ResponseValidationError, match="start-transaction"):
        await tx.start()
    assert start.call_count == 1  # and no commit or rollback went anywhere
    assert tx.status == "not started"


# ------------------------------------------------------------- answers


async def test_documents_with_code_or_error_fields_are_documents(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    """A 2xx body holds the caller's data: its `code`/`error` keys are not an error."""
    doc = {"_id": "a", "code": "E42", "error": "disk full", "message": "from the user"}
    mock.get(f"{DOCS}/a").mock(return_value=ok(doc))
    assert await cb.nosql.collection("todos").get("a") == doc
    mock.get(DOCS).mock(return_value=ok({"list": [doc], "code": "X"}))
    assert await cb.nosql.collection("todos").find() == [doc]


@pytest.mark.parametrize(
    ("route", "answer", "call"),
    [
        ("GET", {"list": "not a list", "x": 1}, lambda c: c.count()),
        ("GET", {"total": "many"}, lambda c: c.count()),
        ("GET", [], lambda c: c.count()),
        ("POST", {"insertedIds": ["only-one"]}, lambda c: c.insert_many([{"a": 1}, {"b": 2}])),
        ("POST", {"inserted": 1}, lambda c: c.insert_one({"a": 1})),
        ("PATCH", {"matched": 1}, lambda c: c.update_one({"a": 1}, {"$set": {"a": 2}})),
        ("PATCH", None, lambda c: c.update_one({"a": 1}, {"$set": {"a": 2}})),
    ],
)
async def test_answers_of_the_wrong_shape(
    cb: CloudBase, mock: respx.MockRouter, route: str, answer: object, call: Any
) -> None:
    mock.route(method=route, url=DOCS).mock(return_value=ok(answer))
    with pytest.raises(ResponseValidationError) as info:
        await call(cb.nosql.collection("todos"))
    assert info.value.request_id == "srv-1"


async def test_a_document_that_is_not_an_object_or_not_the_model(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    @attrs.frozen
    class Todo:
        title: str
        due: datetime

    mock.get(f"{DOCS}/a").mock(return_value=ok(["not", "a", "document"]))
    with pytest.raises(ResponseValidationError, match="a document"):
        await cb.nosql.collection("todos").get("a")
    mock.get(f"{DOCS}/b").mock(return_value=ok({"title": "t", "due": {"$numberInt": "5"}}))
    with pytest.raises(ResponseValidationError, match="a document"):
        await cb.nosql.collection("todos").returns(Todo).get("b")
    mock.patch(f"{DOCS}/b").mock(return_value=ok({**UPDATED, "doc": {"title": 5}}))
    with pytest.raises(ResponseValidationError):
        await (
            cb.nosql.collection("todos")
            .returns(Todo)
            .update_by_id("b", {"$set": {"x": 1}}, return_doc=True)
        )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"list":[{"at":{"$date":{"$numberLong":"253402300800000"}}}]}', "outside the years"),
        (b'{"list":[{"at":{"$date":{"$numberLong":"-9223372036854775808"}}}]}', "outside the"),
        (b'{"list":[{"n":{"$numberLong":"99999999999999999999"}}]}', "out of its range"),
        (b'{"list":[{"b":{"$binary":{"base64":"??","subType":"00"}}}]}', "not valid base64"),
        (b'{"list":[{"o":{"$oid":"nothex"}}]}', "24 hexadecimal"),
        (b'{"list":' + b"[" * (MAX_DEPTH + 10) + b"]" * (MAX_DEPTH + 10) + b"}", "nest deeper"),
        (b'{"list":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
async def test_undecodable_answers_are_response_validation_errors(
    cb: CloudBase, mock: respx.MockRouter, content: bytes, message: str
) -> None:
    mock.get(DOCS).mock(return_value=raw(content))
    with pytest.raises(ResponseValidationError, match=message) as info:
        await cb.nosql.collection("todos").find()
    assert info.value.request_id == "srv-1"
    assert isinstance(info.value, CloudBaseError)


async def test_leaving_iterate_early_leaves_nothing_to_finalise(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.get(DOCS).mock(return_value=ok({"list": [{"_id": "1"}, {"_id": "2"}]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        async for _ in cb.nosql.collection("todos").iterate(page_size=2):
            break
        gc.collect()
    with pytest.raises(InvalidRequestError, match="page_size"):
        cb.nosql.collection("todos").iterate(page_size=0)


async def test_dates_in_answers_stay_aware_utc(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.get(f"{DOCS}/a").mock(
        return_value=ok({"_id": "a", "at": {"$date": "2025-01-01T08:00:00+08:00"}})
    )
    doc = await cb.nosql.collection("todos").get("a")
    assert doc is not None
    assert doc["at"] == datetime(2025, 1, 1, tzinfo=UTC)
