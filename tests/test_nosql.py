"""The document-database client: the exact requests it sends and what it makes of answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
import attrs
import httpx
import pytest
import pytest_asyncio
import respx

from cloudbase_async import (
    APIError,
    BadRequestError,
    CloudBase,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NoSQL,
    NoSQLPaths,
    NotFoundError,
    ObjectId,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerTimeoutError,
)
from cloudbase_async.ejson import Regex

pytestmark = pytest.mark.asyncio

GW = "https://gw.test"
DB = f"{GW}/v1/database/instances/(default)/databases/(default)"
DOCS = f"{DB}/collections/todos/documents"
OID = "507f1f77bcf86cd799439011"


@pytest_asyncio.fixture
async def cb() -> AsyncIterator[CloudBase]:
    async with CloudBase(env="env-1", base_url=GW, api_key="sk-key") as client:
        yield client


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"X-Request-Id": "srv-1"})


def nosql_error(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"code": code, "message": f"{code} happened", "request_id": f"body-{code}"}
    return httpx.Response(status, json=body, headers={"X-Request-Id": "hdr", **headers})


def params(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# ------------------------------------------------------------------------------ reads


async def test_find_sends_canonical_ejson_encoded_once(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.get(DOCS).mock(return_value=ok({"offset": 5, "limit": 10, "list": []}))
    await cb.nosql.collection("todos").find(
        {"age": {"$gt": 18}, "due": {"$lt": datetime(2025, 1, 1, tzinfo=UTC)}},
        projection={"title": 1, "_id": 0},
        order=[("age", "desc"), "title"],
        limit=10,
        offset=5,
    )
    sent = route.calls.last.request
    assert sent.url.raw_path.startswith(
        b"/v1/database/instances/(default)/databases/(default)/collections/todos/documents?"
    )
    assert params(sent) == [
        (
            "query",
            '{"age":{"$gt":{"$numberInt":"18"}},'
            '"due":{"$lt":{"$date":{"$numberLong":"1735689600000"}}}}',
        ),
        ("projection", '{"title":1,"_id":0}'),
        ("order", '[{"field":"age","direction":"desc"},{"field":"title","direction":"asc"}]'),
        ("offset", "5"),
        ("limit", "10"),
    ]
    assert b"%25" not in sent.url.query  # percent-encoded once, not twice
    assert b"%7B%22age%22%3A%7B%22%24gt%22" in sent.url.query
    assert sent.headers["Authorization"] == "Bearer sk-key"
    assert "transactionId" not in dict(params(sent))


async def test_find_decodes_strict_ejson(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.get(DOCS).mock(
        return_value=ok(
            {
                "offset": 0,
                "limit": 20,
                "list": [
                    {
                        "_id": {"$oid": OID},
                        "n": {"$numberLong": "9007199254740993"},
                        "at": {"$date": {"$numberLong": "0"}},
                        "re": {"$regex": "^a", "$options": "i"},
                    }
                ],
            }
        )
    )
    docs = await cb.nosql.collection("todos").find()
    assert docs == [
        {
            "_id": ObjectId(OID),
            "n": 9007199254740993,
            "at": datetime(1970, 1, 1, tzinfo=UTC),
            "re": Regex("^a", "i"),
        }
    ]


async def test_find_without_arguments_sends_an_empty_query_only(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.get(DOCS).mock(return_value=ok({"list": []}))
    assert await cb.nosql.collection("todos").find() == []
    assert params(route.calls.last.request) == [("query", "{}")]


async def test_relaxed_mode_is_configurable(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(DOCS).mock(return_value=ok({"list": []}))
    relaxed = cb.nosql.with_options(mode="relaxed")
    await relaxed.collection("todos").find({"n": 1, "x": 2.5})
    assert params(route.calls.last.request) == [("query", '{"n":1,"x":2.5}')]


async def test_find_one_asks_for_one(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(DOCS).mock(return_value=ok({"list": [{"_id": "a"}]}))
    assert await cb.nosql.collection("todos").find_one({"done": False}) == {"_id": "a"}
    assert dict(params(route.calls.last.request)) == {"query": '{"done":false}', "limit": "1"}
    route.mock(return_value=ok({"list": []}))
    assert await cb.nosql.collection("todos").find_one() is None


async def test_count(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(DOCS).mock(return_value=ok({"total": 42}))
    assert await cb.nosql.collection("todos").count({"done": True}) == 42
    assert params(route.calls.last.request) == [("query", '{"done":true}'), ("count", "true")]


async def test_iterate_pages_by_offset_in_id_order(cb: CloudBase, mock: respx.MockRouter) -> None:
    pages = [[{"_id": "1"}, {"_id": "2"}], [{"_id": "3"}, {"_id": "4"}], [{"_id": "5"}]]
    route = mock.get(DOCS).mock(side_effect=[ok({"list": page}) for page in pages])
    got = [doc["_id"] async for doc in cb.nosql.collection("todos").iterate({}, page_size=2)]
    assert got == ["1", "2", "3", "4", "5"]
    sent = [dict(params(call.request)) for call in route.calls]
    assert [(p["offset"], p["limit"]) for p in sent] == [("0", "2"), ("2", "2"), ("4", "2")]
    assert {p["order"] for p in sent} == {'[{"field":"_id","direction":"asc"}]'}


async def test_get_quotes_the_id_and_answers_none_when_missing(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.get(f"{DOCS}/a%2Fb%20c").mock(return_value=ok({"_id": "a/b c", "n": 1}))
    todos = cb.nosql.collection("todos")
    assert await todos.get("a/b c", projection=["n"]) == {"_id": "a/b c", "n": 1}
    assert params(route.calls.last.request) == [("projection", '{"n":1}')]

    mock.get(f"{DOCS}/{OID}").mock(return_value=nosql_error(404, "DOCUMENT_NOT_FOUND"))
    assert await todos.get(ObjectId(OID)) is None

    mock.get(f"{DB}/collections/gone/documents/x").mock(
        return_value=nosql_error(404, "DATABASE_COLLECTION_NOT_EXIST")
    )
    with pytest.raises(NotFoundError) as info:
        await cb.nosql.collection("gone").get("x")
    assert info.value.code == "DATABASE_COLLECTION_NOT_EXIST"


async def test_returns_structures_documents(cb: CloudBase, mock: respx.MockRouter) -> None:
    @attrs.frozen
    class Todo:
        _id: ObjectId
        title: str
        due: datetime
        extra: dict[str, Any] = attrs.field(factory=dict)

    mock.get(DOCS).mock(
        return_value=ok(
            {
                "list": [
                    {
                        "_id": {"$oid": OID},
                        "title": "t",
                        "due": {"$date": {"$numberLong": "1000"}},
                        "tag": "x",
                    }
                ]
            }
        )
    )
    todos = cb.nosql.collection("todos").returns(Todo)
    assert await todos.find() == [
        Todo(ObjectId(OID), "t", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), {"tag": "x"})
    ]


async def test_reads_are_retried(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(DOCS).mock(
        side_effect=[nosql_error(504, "DATABASE_TIMEOUT", **{"Retry-After": "0"}), ok({"total": 1})]
    )
    assert await cb.nosql.collection("todos").count() == 1
    assert route.call_count == 2


async def test_per_call_timeout_reaches_httpx(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(DOCS).mock(return_value=ok({"total": 0}))
    await cb.nosql.collection("todos").count(timeout=3.5)
    assert route.calls.last.request.extensions["timeout"]["read"] == 3.5


async def test_other_instances_and_databases(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{GW}/v1/database/instances/inst-1/databases/my%20db/collections/c/documents")
    route.mock(return_value=ok({"total": 0}))
    await cb.nosql.database(instance="inst-1", database="my db").collection("c").count()
    assert route.called


# ----------------------------------------------------------------------------- writes


async def test_insert_sends_ejson_and_returns_ids(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(DOCS).mock(return_value=ok({"insertedIds": ["id1", {"$oid": OID}]}))
    todos = cb.nosql.collection("todos")
    ids = await todos.insert_many(
        [{"title": "a", "at": datetime(1970, 1, 1, tzinfo=UTC)}, {"n": 2**40}]
    )
    assert ids == ["id1", ObjectId(OID)]
    assert body(route.calls.last.request) == {
        "data": [
            {"title": "a", "at": {"$date": {"$numberLong": "0"}}},
            {"n": {"$numberLong": "1099511627776"}},
        ]
    }
    route.mock(return_value=ok({"insertedIds": ["only"]}))
    assert await todos.insert_one({"title": "b"}) == "only"


async def test_insert_accepts_attrs_instances(cb: CloudBase, mock: respx.MockRouter) -> None:
    @attrs.frozen
    class Todo:
        title: str
        ref: ObjectId

    route = mock.post(DOCS).mock(return_value=ok({"insertedIds": ["x"]}))
    await cb.nosql.collection("todos").insert_one(Todo("t", ObjectId(OID)))
    assert body(route.calls.last.request) == {"data": [{"title": "t", "ref": {"$oid": OID}}]}


async def test_writes_are_not_retried(cb: CloudBase, mock: respx.MockRouter) -> None:
    error = nosql_error(503, "DATABASE_REQUEST_FAILED", **{"Retry-After": "0"})
    insert = mock.post(DOCS).mock(return_value=error)
    remove = mock.post(f"{DOCS}/remove").mock(return_value=error)
    todos = cb.nosql.collection("todos")
    with pytest.raises(InternalServerError):
        await todos.insert_one({"a": 1})
    with pytest.raises(InternalServerError):
        await todos.delete_many({"a": 1})
    assert (insert.call_count, remove.call_count) == (1, 1)


async def test_update_wraps_plain_documents_in_set(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.patch(DOCS).mock(return_value=ok({"updated": 1, "matched": 1, "upsert_id": None}))
    todos = cb.nosql.collection("todos")
    result = await todos.update_one({"_id": "a"}, {"done": True})
    assert body(route.calls.last.request) == {
        "query": {"_id": "a"},
        "data": {"$set": {"done": True}},
        "multi": False,
        "upsert": False,
    }
    assert (result.matched, result.updated, result.upserted_id) == (1, 1, None)
    assert result.request_id == "srv-1"

    await todos.update_many({"done": False}, {"$inc": {"n": 1}}, upsert=True)
    assert body(route.calls.last.request) == {
        "query": {"done": False},
        "data": {"$inc": {"n": {"$numberInt": "1"}}},
        "multi": True,
        "upsert": True,
    }


async def test_upsert_reports_the_new_id(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.patch(DOCS).mock(return_value=ok({"updated": 0, "matched": 0, "upsert_id": "new1"}))
    result = await cb.nosql.collection("todos").update_one(
        {"k": 1}, {"$set": {"v": 2}}, upsert=True
    )
    assert result.upserted_id == "new1"


async def test_replace_one_sends_replace_mode(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.patch(DOCS).mock(return_value=ok({"updated": 1, "matched": 1}))
    await cb.nosql.collection("todos").replace_one({"_id": "a"}, {"title": "new"})
    assert body(route.calls.last.request) == {
        "query": {"_id": "a"},
        "data": {"title": "new"},
        "multi": False,
        "upsert": False,
        "replaceMode": True,
    }


async def test_update_by_id(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.patch(f"{DOCS}/a").mock(
        return_value=ok({"updated": 1, "matched": 1, "upsert_id": "", "doc": {"_id": "a", "v": 2}})
    )
    result = await cb.nosql.collection("todos").update_by_id("a", {"v": 2}, return_doc=True)
    assert body(route.calls.last.request) == {
        "data": {"$set": {"v": {"$numberInt": "2"}}},
        "upsert": False,
        "returnDoc": True,
    }
    assert result.doc == {"_id": "a", "v": 2}
    assert result.upserted_id is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.update_many({}, {"$set": {"a": 1}}), "empty query"),
        (lambda c: c.update_many(None, {"$set": {"a": 1}}), "empty query"),
        (lambda c: c.delete_one({}), "empty query"),
        (lambda c: c.delete_many({}), "empty query"),
        (lambda c: c.delete_many(None), "empty query"),
        (lambda c: c.update_one({"a": 1}, {"$set": {"a": 2}, "b": 1}), "mixes"),
        (lambda c: c.update_one({"a": 1}, {}), "non-empty"),
        (lambda c: c.replace_one({"a": 1}, {"$set": {"a": 2}}), "cannot hold"),
        (lambda c: c.insert_one({"at": datetime(2025, 1, 1)}), "naive datetime"),
        (lambda c: c.insert_one({"x": object()}), "cannot be encoded"),
        (lambda c: c.insert_one(["not", "a", "mapping"]), "must be a mapping"),
        (lambda c: c.insert_many([]), "non-empty list"),
        (lambda c: c.find(order=[("a", "up")]), "'asc' or 'desc'"),
        (lambda c: c.find(limit=0), "limit"),
        (lambda c: c.get(""), "document id"),
        (lambda c: c.aggregate({"$match": {}}), "list of stage"),
    ],
)
async def test_refused_before_sending(
    cb: CloudBase, mock: respx.MockRouter, call: Any, message: str
) -> None:
    # assert_all_mocked: any request would fail the test with a different error.
    with pytest.raises(InvalidRequestError, match=message):
        await call(cb.nosql.collection("todos"))
    assert not mock.calls


async def test_delete_one_many_and_by_id(cb: CloudBase, mock: respx.MockRouter) -> None:
    remove = mock.post(f"{DOCS}/remove").mock(return_value=ok({"deleted": 3}))
    by_id = mock.delete(f"{DOCS}/a").mock(return_value=ok({"deleted": 1}))
    todos = cb.nosql.collection("todos")
    assert (await todos.delete_many({"done": True})).deleted == 3
    assert body(remove.calls.last.request) == {"query": {"done": True}, "multi": True}
    await todos.delete_one({"_id": "a"})
    assert body(remove.calls.last.request) == {"query": {"_id": "a"}, "multi": False}
    result = await todos.delete_by_id("a")
    assert (result.deleted, result.request_id) == (1, "srv-1")
    assert by_id.calls.last.request.url.query == b""


async def test_aggregate(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{DOCS}/aggregations").mock(
        return_value=ok({"list": [{"_id": "x", "n": {"$numberInt": "2"}}]})
    )
    out = await cb.nosql.collection("todos").aggregate(
        [{"$match": {"a": {"$gte": 1}}}, {"$group": {"_id": "$k", "n": {"$sum": 1}}}],
        options={"allowDiskUse": True},
    )
    assert out == [{"_id": "x", "n": 2}]
    assert body(route.calls.last.request) == {
        "pipeline": [
            {"$match": {"a": {"$gte": {"$numberInt": "1"}}}},
            {"$group": {"_id": "$k", "n": {"$sum": {"$numberInt": "1"}}}},
        ],
        "allowDiskUse": True,
    }


async def test_aggregate_is_retried_only_when_it_only_reads(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    error = nosql_error(503, "SYS_ERR", **{"Retry-After": "0"})
    route = mock.post(f"{DOCS}/aggregations").mock(side_effect=[error, ok([{"a": 1}])])
    todos = cb.nosql.collection("todos")
    assert await todos.aggregate([{"$match": {}}]) == [{"a": 1}]  # a bare array is accepted
    assert route.call_count == 2
    route.mock(side_effect=[error, ok([])])
    with pytest.raises(InternalServerError):
        await todos.aggregate([{"$match": {}}, {"$out": "copy"}])
    assert route.call_count == 3


async def test_configurable_paths(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{DB}/agg/todos").mock(return_value=ok({"data": []}))
    nosql = cb.nosql.with_options(paths=NoSQLPaths(aggregate="/agg/{collection}"))
    assert await nosql.collection("todos").aggregate([]) == []
    assert route.called


async def test_commands_send_a_batch_and_return_one_result_each(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    answer = {
        "list": [
            [{"ok": {"$numberInt": "1"}}],
            [
                {
                    "cursor": {
                        "firstBatch": [{"_id": {"$oid": OID}, "age": {"$numberInt": "30"}}],
                        "id": {"$numberLong": "0"},
                        "ns": "db.users",
                    },
                    "ok": {"$numberInt": "1"},
                }
            ],
        ]
    }
    route = mock.post(f"{DB}/commands").mock(return_value=ok(answer))
    since = datetime(2025, 1, 1, tzinfo=UTC)
    results = await cb.nosql.commands(
        [{"ping": 1}, {"find": "users", "filter": {"joined": {"$gte": since}}}]
    )
    # Exactly what the official SDK sends: the commands as EJSON, in a list.
    assert route.calls.last.request.content == (
        b'{"commands":[{"ping":{"$numberInt":"1"}},{"find":"users","filter":'
        b'{"joined":{"$gte":{"$date":{"$numberLong":"1735689600000"}}}}}]}'
    )
    assert results == [
        [{"ok": 1}],
        [
            {
                "cursor": {
                    "firstBatch": [{"_id": ObjectId(OID), "age": 30}],
                    "id": 0,
                    "ns": "db.users",
                },
                "ok": 1,
            }
        ],
    ]


async def test_command_is_a_batch_of_one(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{DB}/commands").mock(
        return_value=ok({"list": [[{"ok": {"$numberInt": "1"}}]]})
    )
    assert await cb.nosql.command({"ping": 1}) == [{"ok": 1}]
    assert body(route.calls.last.request) == {"commands": [{"ping": {"$numberInt": "1"}}]}

    relaxed = cb.nosql.with_options(mode="relaxed").database(instance="i1", database="d1")
    other = mock.post(f"{GW}/v1/database/instances/i1/databases/d1/commands")
    other.mock(return_value=ok({"list": [[]]}))
    assert await relaxed.command({"ping": 1}) == []
    assert body(other.calls.last.request) == {"commands": [{"ping": 1}]}


async def test_commands_in_a_transaction_carry_its_id(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock_transaction(mock)
    route = mock.post(f"{DB}/commands").mock(
        side_effect=[ok({"list": [[], []]}), ok({"list": [[]]})]
    )
    async with cb.nosql.transaction() as tx:
        assert await tx.commands([{"a": 1}, {"b": 2}]) == [[], []]
        await tx.command({"c": 3})
    assert body(route.calls[0].request) == {
        "commands": [{"a": {"$numberInt": "1"}}, {"b": {"$numberInt": "2"}}],
        "transactionId": "tx-1",
    }
    assert body(route.calls[1].request)["transactionId"] == "tx-1"


async def test_commands_are_not_retried_and_their_answer_is_checked(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{DB}/commands").mock(
        return_value=nosql_error(503, "SYS_ERR", **{"Retry-After": "0"})
    )
    with pytest.raises(InternalServerError):
        await cb.nosql.command({"ping": 1})
    assert route.call_count == 1

    route.mock(return_value=ok({"list": [[{"ok": 1}]]}))
    with pytest.raises(ResponseValidationError, match="2 commands were run but the answer holds 1"):
        await cb.nosql.commands([{"ping": 1}, {"ping": 1}])
    route.mock(return_value=ok({"ok": 1}))  # the old, bare shape
    with pytest.raises(ResponseValidationError, match="command results"):
        await cb.nosql.command({"ping": 1})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda n: n.commands([]), "non-empty list"),
        (lambda n: n.commands({"ping": 1}), "non-empty list"),
        (lambda n: n.commands(["ping"]), "each command is a mapping"),
        (lambda n: n.command("ping"), "a command is a mapping"),
        (lambda n: n.command({"at": datetime(2025, 1, 1)}), "naive datetime"),
    ],
)
async def test_bad_commands_are_refused_before_sending(
    cb: CloudBase, mock: respx.MockRouter, call: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await call(cb.nosql)
    assert not mock.calls


async def test_create_collection(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.post(f"{DB}/collections").mock(return_value=ok({}, status=201))
    coll = await cb.nosql.create_collection("todos")
    assert coll.name == "todos"
    assert body(route.calls.last.request) == {"collectionName": "todos"}

    route.mock(return_value=nosql_error(409, "DATABASE_COLLECTION_ALREADY_EXIST"))
    with pytest.raises(ConflictError) as info:
        await cb.nosql.create_collection("todos")
    assert info.value.request_id == "body-DATABASE_COLLECTION_ALREADY_EXIST"
    await cb.nosql.create_collection("todos", exist_ok=True)
    assert route.call_count == 3


async def test_unexpected_bodies_raise_response_validation_error(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.get(DOCS).mock(return_value=ok({"something": "else"}))
    with pytest.raises(ResponseValidationError, match="Expected a page of documents"):
        await cb.nosql.collection("todos").find()
    mock.post(DOCS).mock(return_value=ok({"insertedIds": {"$oid": "bad"}}))
    with pytest.raises(ResponseValidationError, match="not valid EJSON") as info:
        await cb.nosql.collection("todos").insert_one({"a": 1})
    assert info.value.request_id == "srv-1"


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "INVALID_PARAM", BadRequestError),
        (401, "DATABASE_PERMISSION_DENIED", PermissionDeniedError),
        (403, "DATABASE_INVALID_OPERRATOR", BadRequestError),
        (404, "DATABASE_COLLECTION_NOT_EXIST", NotFoundError),
        (404, "DOCUMENT_NOT_FOUND", NotFoundError),
        (409, "DATABASE_COLLECTION_ALREADY_EXIST", ConflictError),
        (409, "DATABASE_DUPLICATE_WRITE", ConflictError),
        (422, "EXCEED_REQUEST_LIMIT", RateLimitError),
        (422, "EXCEED_CONCURRENT_REQUEST_LIMIT", RateLimitError),
        (500, "DATABASE_REQUEST_FAILED", InternalServerError),
        (500, "SYS_ERR", InternalServerError),
        (503, "DATABASE_TRANSACTION_CONFLICT", ConflictError),
        (503, "DATABASE_TRANSACTION_FAIL", InternalServerError),
        (504, "DATABASE_TIMEOUT", ServerTimeoutError),
    ],
)
async def test_error_codes_map_onto_the_hierarchy(
    cb: CloudBase, mock: respx.MockRouter, status: int, code: str, cls: type[APIError]
) -> None:
    mock.post(DOCS).mock(return_value=nosql_error(status, code))
    with pytest.raises(cls) as info:
        await cb.nosql.collection("todos").insert_one({"a": 1})
    error = info.value
    assert type(error) is cls
    assert (error.status_code, error.code, error.message) == (status, code, f"{code} happened")
    assert error.request_id == f"body-{code}"  # snake-case request_id from the body


# ----------------------------------------------------------------------- transactions


def mock_transaction(mock: respx.MockRouter, tx_id: str = "tx-1") -> dict[str, respx.Route]:
    return {
        "start": mock.post(f"{DB}/transactions").mock(return_value=ok({"transactionId": tx_id})),
        "commit": mock.post(f"{DB}/transactions/{tx_id}/commit").mock(return_value=ok({})),
        "rollback": mock.post(f"{DB}/transactions/{tx_id}/rollback").mock(return_value=ok({})),
    }


async def test_every_call_in_a_transaction_carries_its_id(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    tx_routes = mock_transaction(mock)
    find = mock.get(DOCS).mock(return_value=ok({"list": [], "total": 0}))
    get = mock.get(f"{DOCS}/a").mock(return_value=ok({"_id": "a"}))
    insert = mock.post(DOCS).mock(return_value=ok({"insertedIds": ["a"]}))
    update = mock.patch(DOCS).mock(return_value=ok({"updated": 1, "matched": 1}))
    update_id = mock.patch(f"{DOCS}/a").mock(return_value=ok({"updated": 1, "matched": 1}))
    remove = mock.post(f"{DOCS}/remove").mock(return_value=ok({"deleted": 1}))
    delete_id = mock.delete(f"{DOCS}/a").mock(return_value=ok({"deleted": 1}))
    aggregate = mock.post(f"{DOCS}/aggregations").mock(return_value=ok({"list": []}))

    async with cb.nosql.transaction(options={"timeout": 5}) as tx:
        assert tx.id == "tx-1"
        todos = tx.collection("todos")
        await todos.find({"a": 1})
        await todos.count()
        await todos.get("a")
        await todos.insert_one({"a": 1})
        await todos.update_one({"a": 1}, {"$set": {"b": 2}})
        await todos.update_by_id("a", {"$set": {"b": 3}})
        await todos.delete_one({"a": 1})
        await todos.delete_by_id("a")
        await todos.aggregate([{"$match": {}}])

    assert body(tx_routes["start"].calls.last.request) == {"timeout": 5}
    for route in (find, get, delete_id):
        for call in route.calls:
            assert dict(params(call.request))["transactionId"] == "tx-1"
    for route in (insert, update, update_id, remove, aggregate):
        assert body(route.calls.last.request)["transactionId"] == "tx-1"
    assert body(tx_routes["commit"].calls.last.request) == {}
    assert tx_routes["commit"].call_count == 1
    assert not tx_routes["rollback"].called
    assert tx.status == "committed"
    with pytest.raises(InvalidRequestError, match="committed"):
        await todos.count()


async def test_reads_in_a_transaction_are_not_retried(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    routes = mock_transaction(mock)
    find = mock.get(DOCS).mock(
        return_value=nosql_error(503, "DATABASE_TRANSACTION_CONFLICT", **{"Retry-After": "0"})
    )

    async def block() -> None:
        async with cb.nosql.transaction() as tx:
            await tx.collection("todos").find()

    with pytest.raises(ConflictError):
        await block()
    assert find.call_count == 1
    assert routes["rollback"].call_count == 1
    assert not routes["commit"].called


async def test_exception_rolls_back_and_propagates(cb: CloudBase, mock: respx.MockRouter) -> None:
    routes = mock_transaction(mock)
    tx = cb.nosql.transaction()

    async def block() -> None:
        async with tx:
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await block()
    assert (routes["commit"].call_count, routes["rollback"].call_count) == (0, 1)
    assert tx.status == "rolled back"


async def test_failed_rollback_does_not_hide_the_original_error(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    routes = mock_transaction(mock)
    routes["rollback"].mock(return_value=nosql_error(500, "SYS_ERR"))

    async def block() -> None:
        async with cb.nosql.transaction():
            raise KeyError("boom")

    with pytest.raises(KeyError) as info:
        await block()
    assert any("rolling back transaction tx-1 failed" in note for note in info.value.__notes__)


async def test_cancellation_rolls_back_shielded(cb: CloudBase, mock: respx.MockRouter) -> None:
    routes = mock_transaction(mock)
    tx = cb.nosql.transaction()
    with anyio.move_on_after(0.05) as scope:
        async with tx:
            await anyio.sleep(5)
    assert scope.cancelled_caught
    assert routes["rollback"].call_count == 1
    assert tx.status == "rolled back"


async def test_failed_commit_is_followed_by_a_rollback(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    routes = mock_transaction(mock)
    routes["commit"].mock(return_value=nosql_error(503, "DATABASE_TRANSACTION_CONFLICT"))
    tx = cb.nosql.transaction()

    async def block() -> None:
        async with tx:
            pass

    with pytest.raises(ConflictError):
        await block()
    assert routes["rollback"].call_count == 1


async def test_explicit_commit_inside_the_block(cb: CloudBase, mock: respx.MockRouter) -> None:
    routes = mock_transaction(mock)
    async with cb.nosql.transaction() as tx:
        await tx.commit()
    assert (routes["commit"].call_count, routes["rollback"].call_count) == (1, 0)


async def test_transaction_id_is_found_in_other_answer_shapes(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.post(f"{DB}/transactions").mock(return_value=ok({"data": {"transaction_id": "t9"}}))
    assert (await cb.nosql.transaction().start()).id == "t9"
    mock.post(f"{DB}/transactions").mock(return_value=ok({"nothing": True}))
    with pytest.raises(ResponseValidationError, match="start-transaction"):
        await cb.nosql.transaction().start()


async def test_transaction_must_be_started(cb: CloudBase) -> None:
    with pytest.raises(InvalidRequestError, match="not started"):
        cb.nosql.transaction().collection("todos")


# ----------------------------------------------------------------------------- client


async def test_nosql_is_cached_per_client(cb: CloudBase) -> None:
    assert isinstance(cb.nosql, NoSQL)
    assert cb.nosql is cb.nosql
    assert repr(cb.nosql.collection("t")) == (
        "<Collection 't' at '/instances/(default)/databases/(default)'>"
    )


async def test_endpoint_override(mock: respx.MockRouter) -> None:
    route = mock.get(
        "http://127.0.0.1:9/db/instances/(default)/databases/(default)/collections/c/documents"
    )
    route.mock(return_value=ok({"total": 0}))
    async with CloudBase(env="e", endpoints={"nosql": "http://127.0.0.1:9/db"}) as cb:
        await cb.nosql.collection("c").count()
    assert route.called


async def test_rollback_is_bounded_by_rollback_timeout(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    routes = mock_transaction(mock)

    async def never_answers(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return ok({})

    routes["rollback"].mock(side_effect=never_answers)

    async def block() -> None:
        async with cb.nosql.transaction(rollback_timeout=0.05):
            raise KeyError("boom")

    with anyio.fail_after(5), pytest.raises(KeyError) as info:
        await block()
    assert any("no answer within 0.05 s" in note for note in info.value.__notes__)
