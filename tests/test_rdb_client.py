"""``cb.rdb`` over mocked HTTP (respx): requests sent, results parsed, errors mapped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
import respx

from cloudbase_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CloudBase,
    CloudBaseError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    MultipleRowsError,
    NoRowsError,
    NotFoundError,
    PermissionDeniedError,
    RdbPage,
    RdbResult,
    ResponseValidationError,
)
from cloudbase_async.rdb import RowCountError

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

ROOT = "https://env-1.api.tcloudbasegateway.com/v1/rdb/rest"
OBJECT = "application/vnd.pgrst.object+json"


@pytest.fixture
async def cb() -> AsyncIterator[CloudBase]:
    async with CloudBase(env="env-1", api_key="sk-test") as client:
        yield client


def pgrst_error(status: int, code: str, message: str = "m", **extra: Any) -> httpx.Response:
    body = {
        "code": code,
        "details": extra.get("details"),
        "hint": extra.get("hint"),
        "message": message,
    }
    return httpx.Response(status, json=body, headers={"X-Request-Id": "rid-err"})


async def test_select_sends_exact_request_and_parses_result(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.get(f"{ROOT}/students").mock(
        return_value=httpx.Response(
            206,
            json=[{"id": 1, "name": "张三"}],
            headers={"Content-Range": "0-0/42", "X-Request-Id": "rid-1"},
        )
    )
    result = await (
        cb.rdb.table("students")
        .select("id,name", count="exact")
        .like("name", "%张三%")
        .in_("grade", [1, "a,b"])
        .order("id")
        .limit(1)
        .execute()
    )
    assert result == RdbResult(
        data=[{"id": 1, "name": "张三"}], count=42, status_code=206, request_id="rid-1"
    )
    sent = route.calls.last.request
    assert sent.url.raw_path.decode().split("?")[1] == (
        "select=id%2Cname&name=like.%25%E5%BC%A0%E4%B8%89%25"
        "&grade=in.%281%2C%22a%2Cb%22%29&order=id.asc&limit=1"
    )
    assert sent.headers["Authorization"] == "Bearer sk-test"
    assert sent.headers["Prefer"] == "count=exact"
    assert sent.headers["Accept"] == "application/json"
    assert "Content-Type" not in sent.headers
    assert "Accept-Profile" not in sent.headers
    assert sent.content == b""


async def test_insert_minimal_returns_no_rows_and_write_count(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{ROOT}/students").mock(
        return_value=httpx.Response(201, headers={"Content-Range": "*/2"})
    )
    result = (
        await cb.rdb.table("students")
        .insert([{"name": "a"}, {"name": "b"}], count="exact")
        .execute()
    )
    assert result.data == []
    assert result.count == 2
    assert result.status_code == 201
    sent = route.calls.last.request
    assert json.loads(sent.content) == [{"name": "a"}, {"name": "b"}]
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Prefer"] == "return=minimal,count=exact"
    assert sent.url.params.get_list("columns") == ['"name"']


@attrs.frozen
class Student:
    id: int
    name: str
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


async def test_returns_structures_rows(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.get(f"{ROOT}/students").mock(
        return_value=httpx.Response(200, json=[{"id": 1, "name": "a", "age": 9}])
    )
    result = await cb.rdb.table("students").select().returns(Student).execute()
    assert result.data == [Student(1, "a")]
    assert result.data[0].extra == {"age": 9}


async def test_single_returns_one_row(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{ROOT}/students").mock(
        return_value=httpx.Response(200, json={"id": 1, "name": "a"})
    )
    result = await cb.rdb.table("students").select().eq("id", 1).single().returns(Student).execute()
    assert result.data == Student(1, "a")
    assert route.calls.last.request.headers["Accept"] == OBJECT


async def test_single_with_no_row_raises_not_found(cb: CloudBase, mock: respx.MockRouter) -> None:
    mock.get(f"{ROOT}/students").mock(
        return_value=pgrst_error(
            406,
            "PGRST116",
            "JSON object requested, multiple (or no) rows returned",
            details="The result contains 0 rows",
        )
    )
    with pytest.raises(NoRowsError) as caught:
        await cb.rdb.table("students").select().eq("id", 1).single().execute()
    error = caught.value
    assert isinstance(error, NotFoundError)
    assert error.rows == 0
    assert error.status_code == 406
    assert error.code == "PGRST116"
    assert error.details == "The result contains 0 rows"
    assert error.request_id == "rid-err"


async def test_single_with_many_rows_raises_multiple_rows(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.get(f"{ROOT}/students").mock(
        return_value=pgrst_error(406, "PGRST116", details="The result contains 3 rows")
    )
    with pytest.raises(MultipleRowsError) as caught:
        await cb.rdb.table("students").select().single().execute()
    assert caught.value.rows == 3
    assert not isinstance(caught.value, NotFoundError)
    with pytest.raises(MultipleRowsError):
        await cb.rdb.table("students").select().maybe_single().execute()


async def test_maybe_single(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{ROOT}/students")
    route.side_effect = [
        pgrst_error(406, "PGRST116", details="The result contains 0 rows"),
        httpx.Response(200, json={"id": 2, "name": "b"}),
    ]
    query = cb.rdb.table("students").select().eq("id", 2).maybe_single()
    empty = await query.execute()
    assert empty.data is None
    assert empty.request_id == "rid-err"
    found = await query.returns(Student).execute()
    assert found.data == Student(2, "b")
    assert route.calls[0].request.headers["Accept"] == OBJECT


async def test_single_write_without_representation_is_explained(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.post(f"{ROOT}/students").mock(return_value=httpx.Response(201))
    with pytest.raises(InvalidRequestError, match="representation"):
        await cb.rdb.table("students").insert({"name": "a"}).single().execute()


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (409, "23505", ConflictError),
        (400, "42703", BadRequestError),
        (400, "23502", BadRequestError),
        (401, "42501", PermissionDeniedError),
        (403, "42501", PermissionDeniedError),
        (401, "PGRST301", AuthenticationError),
        (404, "42P01", NotFoundError),
        (400, "PGRST102", BadRequestError),
        # CloudBase's MySQL gateway codes
        (400, "INVALID_PARAM", BadRequestError),
        (400, "INVALID_REQUEST", BadRequestError),
        (406, "INVALID_REQUEST", BadRequestError),
        (401, "PERMISSION_DENIED", PermissionDeniedError),
        (403, "PERMISSION_DENIED", PermissionDeniedError),
        (404, "RESOURCE_NOT_FOUND", NotFoundError),
        (500, "SYS_ERR", InternalServerError),
        (503, "OPERATION_FAILED", InternalServerError),
        (503, "RESOURCE_UNAVAILABLE", InternalServerError),
    ],
)
async def test_error_bodies_map_onto_the_hierarchy(
    mock: respx.MockRouter, status: int, code: str, cls: type[APIError]
) -> None:
    mock.post(f"{ROOT}/students").mock(
        return_value=pgrst_error(status, code, "went wrong", details="d", hint="h")
    )
    async with CloudBase(env="env-1", api_key="k", max_retries=0) as cb:
        with pytest.raises(cls) as caught:
            await cb.rdb.table("students").insert({"name": "a"}).execute()
    error = caught.value
    assert type(error) is cls
    assert (error.status_code, error.code, error.message) == (status, code, "went wrong")
    assert (error.details, error.hint, error.request_id) == ("d", "h", "rid-err")


async def test_mysql_gateway_body_keeps_its_request_id(mock: respx.MockRouter) -> None:
    mock.get(f"{ROOT}/t").mock(
        return_value=httpx.Response(
            400, json={"code": "INVALID_PARAM", "message": "bad", "requestId": "gw-1"}
        )
    )
    async with CloudBase(env="env-1", api_key="k") as cb:
        with pytest.raises(BadRequestError) as caught:
            await cb.rdb.mysql().table("t").select().execute()
    assert caught.value.request_id == "gw-1"


async def test_reads_are_retried_writes_are_not(cb: CloudBase, mock: respx.MockRouter) -> None:
    unavailable = httpx.Response(503, json={"code": "SYS_ERR"}, headers={"Retry-After": "0"})
    get = mock.get(f"{ROOT}/t")
    get.side_effect = [unavailable, httpx.Response(200, json=[{"id": 1}])]
    assert (await cb.rdb.table("t").select().execute()).data == [{"id": 1}]
    assert get.call_count == 2

    writes = [
        (mock.post(f"{ROOT}/t"), cb.rdb.table("t").insert({"a": 1})),
        (mock.patch(f"{ROOT}/t"), cb.rdb.table("t").update({"a": 1}).eq("id", 1)),
        (mock.delete(f"{ROOT}/t"), cb.rdb.table("t").delete().eq("id", 1)),
        (mock.post(f"{ROOT}/rpc/fn"), cb.rdb.rpc("fn", {"a": 1})),
    ]
    for route, query in writes:
        route.mock(return_value=unavailable)
        with pytest.raises(InternalServerError):
            await query.execute()
        assert route.call_count == 1, route

    rpc_get = mock.get(f"{ROOT}/rpc/fn")
    rpc_get.side_effect = [unavailable, httpx.Response(200, json=3)]
    assert (await cb.rdb.rpc("fn", {"a": 1}, get=True).execute()).data == 3
    assert rpc_get.call_count == 2


@pytest.mark.parametrize("verb", ["update", "delete"])
async def test_unfiltered_write_is_refused_before_sending(
    cb: CloudBase, mock: respx.MockRouter, verb: str
) -> None:
    route = mock.route(url__startswith=ROOT).mock(return_value=httpx.Response(204))
    table = cb.rdb.table("t")
    query = table.update({"a": 1}) if verb == "update" else table.delete()
    with pytest.raises(InvalidRequestError):
        await query.execute()
    assert route.call_count == 0
    await query.all_rows().execute()
    assert route.call_count == 1
    assert route.calls.last.request.url.query == b""


async def test_mysql_mode_headers_on_the_wire(cb: CloudBase, mock: respx.MockRouter) -> None:
    read = mock.get(f"{ROOT}/orders").mock(return_value=httpx.Response(200, json=[]))
    write = mock.patch(f"{ROOT}/orders").mock(return_value=httpx.Response(204))
    db = cb.rdb.mysql()
    await db.table("orders").select().execute()
    await db.table("orders").update({"a": 1}).eq("id", 1).execute()
    for route in (read, write):
        headers = route.calls.last.request.headers
        sent = {name: headers.get(name) for name in MYSQL_HEADERS}
        assert sent == {
            "X-Db-Instance": "default",
            "Accept-Profile": "env-1",
            "Content-Profile": "env-1",
        }
        assert [name for name, _ in headers.multi_items() if name in MYSQL_HEADERS_LOWER] == [
            "x-db-instance",
            "accept-profile",
            "content-profile",
        ]  # each exactly once


MYSQL_HEADERS = ("X-Db-Instance", "Accept-Profile", "Content-Profile")
MYSQL_HEADERS_LOWER = tuple(name.lower() for name in MYSQL_HEADERS)


async def test_paginate_by_key(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{ROOT}/items")
    route.side_effect = [
        httpx.Response(200, json=[{"id": 1}, {"id": 2}]),
        httpx.Response(200, json=[{"id": 5}, {"id": 7}]),
        httpx.Response(200, json=[{"id": 9}]),
    ]
    rows = [row async for row in cb.rdb.table("items").select().eq("b", 1).paginate(page_size=2)]
    assert rows == [{"id": 1}, {"id": 2}, {"id": 5}, {"id": 7}, {"id": 9}]
    queries = [list(call.request.url.params.multi_items()) for call in route.calls]
    base = [("select", "*"), ("b", "eq.1")]
    assert queries == [
        [*base, ("order", "id.asc"), ("limit", "2")],
        [*base, ("id", "gt.2"), ("order", "id.asc"), ("limit", "2")],
        [*base, ("id", "gt.7"), ("order", "id.asc"), ("limit", "2")],
    ]


async def test_paginate_with_an_order_uses_offsets_and_a_tie_breaker(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    route = mock.get(f"{ROOT}/items")
    route.side_effect = [
        httpx.Response(200, json=[{"code": "a"}, {"code": "b"}]),
        httpx.Response(200, json=[]),
    ]
    query = cb.rdb.table("items").select("code").order("bucket", desc=True).returns(dict)
    rows = [row async for row in query.paginate(page_size=2, key="code")]
    assert rows == [{"code": "a"}, {"code": "b"}]
    queries = [list(call.request.url.params.multi_items()) for call in route.calls]
    assert queries == [
        [("select", "code"), ("order", "bucket.desc,code.asc"), ("limit", "2"), ("offset", "0")],
        [("select", "code"), ("order", "bucket.desc,code.asc"), ("limit", "2"), ("offset", "2")],
    ]


async def test_paginate_refuses_writes_and_own_limits(cb: CloudBase) -> None:
    with pytest.raises(InvalidRequestError):
        async for _ in cb.rdb.table("t").delete().eq("a", 1).paginate():
            pass
    with pytest.raises(InvalidRequestError):
        async for _ in cb.rdb.table("t").select().limit(3).paginate():
            pass


async def test_page_api(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{ROOT}/items")
    route.side_effect = [
        httpx.Response(
            206,
            json=[{"id": 21}, {"id": 22}],
            headers={"Content-Range": "20-21/45", "X-Request-Id": "rid-p"},
        ),
        pgrst_error(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            details="An offset of 100 was requested, but there are only 45 rows.",
        ),
    ]
    page = await cb.rdb.table("items").select().order("id").page(3, page_size=10)
    assert page == RdbPage([{"id": 21}, {"id": 22}], 45, 3, 10, "rid-p")
    assert (page.total_pages, page.has_next, page.has_previous) == (5, True, True)
    sent = route.calls.last.request
    assert sent.headers["Prefer"] == "count=exact"
    assert list(sent.url.params.multi_items())[-2:] == [("limit", "10"), ("offset", "20")]
    past_end = await cb.rdb.table("items").select().order("id").page(11, page_size=10)
    assert (past_end.items, past_end.count, past_end.has_next) == ([], 45, False)


async def test_row_count_error_is_an_api_error() -> None:
    assert issubclass(RowCountError, APIError)
    assert issubclass(NoRowsError, NotFoundError)


async def test_cb_rdb_is_cached_and_copies_use_their_own_options(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    assert cb.rdb is cb.rdb
    route = mock.get(f"{ROOT}/t").mock(return_value=httpx.Response(200, json=[]))
    user = cb.with_access_token("user-token")
    assert user.rdb is not cb.rdb
    await user.rdb.table("t").select().execute()
    await cb.rdb.table("t").select().execute()
    sent = [call.request.headers["Authorization"] for call in route.calls]
    assert sent == ["Bearer user-token", "Bearer sk-test"]


async def test_per_call_timeout_reaches_httpx(cb: CloudBase, mock: respx.MockRouter) -> None:
    route = mock.get(f"{ROOT}/t").mock(return_value=httpx.Response(200, json=[]))
    await cb.rdb.table("t").select().execute(timeout=3.5)
    assert route.calls.last.request.extensions["timeout"]["read"] == 3.5


async def test_paginate_by_a_key_that_is_not_selected_fails_before_yielding(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.get(f"{ROOT}/items").mock(return_value=httpx.Response(200, json=[{"n": 1}, {"n": 2}]))
    seen: list[Any] = []

    async def consume() -> None:
        async for row in cb.rdb.table("items").select("n").paginate(page_size=2):
            seen.append(row)

    with pytest.raises(InvalidRequestError, match="'id'"):
        await consume()
    assert seen == []


# --- answers this SDK cannot read are ResponseValidationError -------------------------

UNREADABLE = [
    pytest.param(b'[{"id": 1', id="truncated-json"),
    pytest.param(b"<html>gateway</html>", id="html"),
    pytest.param(b'[{"name": "\xff\xfe"}]', id="invalid-utf8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
]


def _queries(cb: CloudBase) -> dict[str, Any]:
    students = cb.rdb.table("students")
    return {
        "select": students.select(),
        "single": students.select().eq("id", 1).single(),
        "maybe_single": students.select().eq("id", 1).maybe_single(),
        "insert": students.insert({"name": "a"}, returning="representation"),
        "rpc": cb.rdb.rpc("fn", {"a": 1}),
    }


@pytest.mark.parametrize("body", UNREADABLE)
async def test_an_unreadable_2xx_body_is_a_response_validation_error(
    cb: CloudBase, mock: respx.MockRouter, body: bytes
) -> None:
    mock.route(url__startswith=ROOT).mock(
        return_value=httpx.Response(
            200, content=body, headers={"Content-Type": "application/json", "X-Request-Id": "r"}
        )
    )
    for name, query in _queries(cb).items():
        with pytest.raises(ResponseValidationError) as caught:
            await query.execute()
        assert isinstance(caught.value, CloudBaseError), name
        assert (caught.value.status_code, caught.value.request_id) == (200, "r"), name
    with pytest.raises(ResponseValidationError):
        async for _ in cb.rdb.table("students").select().paginate():
            pass


@pytest.mark.parametrize(
    "body",
    [{"id": 1}, "rows", 3],
    ids=["object", "string", "number"],
)
async def test_a_query_answer_that_is_not_an_array_is_refused(
    cb: CloudBase, mock: respx.MockRouter, body: object
) -> None:
    mock.get(f"{ROOT}/students").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ResponseValidationError, match="array"):
        await cb.rdb.table("students").select().execute()


@pytest.mark.parametrize(
    "row",
    [{"id": "one", "name": "a"}, {"name": "a"}, ["id", 1], "row"],
    ids=["wrong-type", "missing-field", "list", "string"],
)
async def test_rows_that_do_not_fit_the_model_are_a_response_validation_error(
    cb: CloudBase, mock: respx.MockRouter, row: object
) -> None:
    route = mock.get(f"{ROOT}/students")
    route.mock(return_value=httpx.Response(200, json=[{"id": 1, "name": "ok"}, row]))
    students = cb.rdb.table("students")
    with pytest.raises(ResponseValidationError, match="Student") as caught:
        await students.select().returns(Student).execute()
    assert caught.value.status_code == 200
    with pytest.raises(ResponseValidationError):
        async for _ in students.select().returns(Student).paginate(key="name"):
            pass

    route.mock(return_value=httpx.Response(200, json=row))
    mock.post(f"{ROOT}/rpc/fn").mock(return_value=httpx.Response(200, json=row))
    for query in (
        students.select().eq("id", 1).single().returns(Student),
        students.select().eq("id", 1).maybe_single().returns(Student),
        cb.rdb.rpc("fn").returns(Student),
    ):
        with pytest.raises(ResponseValidationError):
            await query.execute()


async def test_rpc_returns_structures_a_scalar_or_rows(
    cb: CloudBase, mock: respx.MockRouter
) -> None:
    mock.post(f"{ROOT}/rpc/add").mock(return_value=httpx.Response(200, json=5))
    mock.post(f"{ROOT}/rpc/rows").mock(
        return_value=httpx.Response(200, json=[{"id": 1, "name": "a"}])
    )
    mock.post(f"{ROOT}/rpc/one").mock(return_value=httpx.Response(200, json={"id": 2, "name": "b"}))
    assert (await cb.rdb.rpc("add", {"a": 2, "b": 3}).returns(int).execute()).data == 5
    rows = cb.rdb.rpc("rows").eq("id", 1).returns(Student)
    assert (await rows.execute()).data == [Student(1, "a")]
    assert (await cb.rdb.rpc("one").returns(Student).execute()).data == Student(2, "b")


@pytest.mark.parametrize("name", [".", ".."])
async def test_dot_names_send_nothing(cb: CloudBase, mock: respx.MockRouter, name: str) -> None:
    route = mock.route().mock(return_value=httpx.Response(200, json=[]))
    for make in (
        lambda: cb.rdb.table(name).select(),
        lambda: cb.rdb.schema(name).table("t").select(),
        lambda: cb.rdb.instance(name).schema("db").table("t").select(),
        lambda: cb.rdb.rpc(name),
    ):
        with pytest.raises(InvalidRequestError, match="must not be"):
            await make().execute()
    assert route.call_count == 0
