"""``cb.rdb`` over mocked HTTP (respx): requests sent, results parsed, errors mapped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
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
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    MultipleRowsError,
    NoRowsError,
    NotFoundError,
    PermissionDeniedError,
    RdbPage,
    RdbResult,
)
from cloudbase_async.rdb import RowCountError

pytestmark = pytest.mark.anyio

ROOT = "https://env-1.api.tcloudbasegateway.com/v1/rdb/rest"
OBJECT = "application/vnd.pgrst.object+json"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def cb() -> AsyncIterator[CloudBase]:
    async with CloudBase(env="env-1", api_key="sk-test") as client:
        yield client


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


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
    read_headers = read.calls.last.request.headers
    write_headers = write.calls.last.request.headers
    assert (read_headers["X-Db-Instance"], read_headers["Accept-Profile"]) == ("default", "env-1")
    assert "Content-Profile" not in read_headers
    assert (write_headers["X-Db-Instance"], write_headers["Content-Profile"]) == (
        "default",
        "env-1",
    )
    assert "Accept-Profile" not in write_headers


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
