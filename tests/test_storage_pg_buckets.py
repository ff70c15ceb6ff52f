"""PG-mode storage: buckets, names and error shapes, at string level against respx."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from cloudbase_async import (
    BucketInfo,
    CloudBase,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ResponseValidationError,
)
from cloudbase_async.storage import clean_object_name, validate_bucket_id

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

GW = "https://env-1.api.tcloudbasegateway.com/v1/storages"
ROW = {
    "id": "docs",
    "name": "docs",
    "owner": "u-1",
    "public": False,
    "type": "STANDARD",
    "file_size_limit": 5242880,
    "allowed_mime_types": ["image/png"],
    "created_at": "2024-05-01T10:00:00.123Z",
    "updated_at": "2024-05-02T10:00:00Z",
    "something_new": 1,
}


def client(**kwargs: Any) -> CloudBase:
    return CloudBase(env="env-1", api_key="sk-secret", **kwargs)


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# --- list, get --------------------------------------------------------------------------


async def test_list_sends_the_query_in_order_and_parses_buckets(mock: respx.MockRouter) -> None:
    route = mock.get(f"{GW}/bucket/").mock(
        return_value=httpx.Response(
            200, json=[ROW, {**ROW, "id": "b2", "owner": None}], headers={"X-Request-Id": "r"}
        )
    )
    async with client() as cb:
        buckets = await cb.storage.buckets.list(
            limit=10, offset=0, sort_column="name", sort_order="asc", search="o"
        )
    request = route.calls.last.request
    assert request.url.query == b"limit=10&offset=0&sortColumn=name&sortOrder=asc&search=o"
    assert request.headers["Authorization"] == "Bearer sk-secret"
    assert request.content == b""
    first = buckets[0]
    assert first == BucketInfo(
        id="docs",
        name="docs",
        public=False,
        owner="u-1",
        type="STANDARD",
        file_size_limit=5242880,
        allowed_mime_types=("image/png",),
        created_at=datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC),
        updated_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
        extra={"something_new": 1},  # kept, not dropped
    )
    assert buckets[1].id == "b2"


async def test_list_without_arguments_sends_no_query_and_is_retried(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(f"{GW}/bucket/").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=[])]
    )
    async with client() as cb:
        assert await cb.storage.buckets.list() == []
    assert route.call_count == 2
    assert route.calls.last.request.url.query == b""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort_column": "size"},
        {"sort_order": "up"},
        {"limit": -1},
        {"limit": True},
        {"offset": "3"},
    ],
)
async def test_list_refuses_bad_arguments_before_sending(
    mock: respx.MockRouter, kwargs: dict[str, Any]
) -> None:
    async with client() as cb:
        with pytest.raises(InvalidRequestError):
            await cb.storage.buckets.list(**kwargs)
    assert not mock.calls


async def test_a_listing_of_the_wrong_shape_is_refused(mock: respx.MockRouter) -> None:
    mock.get(f"{GW}/bucket/").mock(return_value=httpx.Response(200, json={"buckets": []}))
    async with client() as cb:
        with pytest.raises(ResponseValidationError):
            await cb.storage.buckets.list()


async def test_get_reads_owner_id_when_owner_is_not_sent(mock: respx.MockRouter) -> None:
    row = {k: v for k, v in ROW.items() if k != "owner"} | {"owner_id": "u-9"}
    route = mock.get(f"{GW}/bucket/docs").mock(return_value=httpx.Response(200, json=row))
    async with client() as cb:
        bucket = await cb.storage.buckets.get("docs")
    assert route.calls.last.request.method == "GET"
    assert bucket.owner == "u-9"


async def test_get_of_a_missing_bucket_is_not_found(mock: respx.MockRouter) -> None:
    mock.get(f"{GW}/bucket/gone").mock(
        return_value=httpx.Response(
            404,
            json={"code": "STORAGE_BUCKET_NOT_FOUND", "message": "no bucket", "requestId": "g-1"},
        )
    )
    async with client() as cb:
        with pytest.raises(NotFoundError) as caught:
            await cb.storage.buckets.get("gone")
    assert (caught.value.code, caught.value.request_id) == ("STORAGE_BUCKET_NOT_FOUND", "g-1")


# --- create, update, delete -------------------------------------------------------------


async def test_create_sends_every_field_given(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/bucket/").mock(
        return_value=httpx.Response(200, json={"name": "avatars"})
    )
    async with client() as cb:
        name = await cb.storage.buckets.create(
            "avatars",
            public=True,
            file_size_limit="100MB",
            allowed_mime_types=["image/png", "image/*"],
        )
    assert name == "avatars"
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "id": "avatars",
        "name": "avatars",
        "public": True,
        "file_size_limit": "100MB",
        "allowed_mime_types": ["image/png", "image/*"],
    }


async def test_create_sends_only_what_is_given_and_is_never_retried(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/bucket/").mock(return_value=httpx.Response(503))
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb.storage.buckets.create("b1", name="Bucket one", file_size_limit=1024)
    assert route.call_count == 1  # a second create would meet the first one's bucket
    assert sent_json(route) == {
        "id": "b1",
        "name": "Bucket one",
        "public": False,
        "file_size_limit": 1024,
    }


async def test_an_existing_bucket_is_a_conflict_in_either_shape(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/bucket/").mock(
        side_effect=[
            httpx.Response(
                400, json={"statusCode": "409", "error": "Duplicate", "message": "exists"}
            ),
            httpx.Response(409, json={"code": "already_exists", "message": "exists"}),
        ]
    )
    async with client() as cb:
        for _ in range(2):
            with pytest.raises(ConflictError) as caught:
                await cb.storage.buckets.create("b1")
            assert caught.value.status_code == 409


@pytest.mark.parametrize(
    ("bucket_id", "kwargs"),
    [
        ("", {}),
        ("has space", {}),
        ("a/b", {}),
        ("..", {}),
        ("100%", {}),
        ("x" * 257, {}),
        ("ok", {"file_size_limit": "lots"}),
        ("ok", {"file_size_limit": -1}),
        ("ok", {"file_size_limit": True}),
        ("ok", {"allowed_mime_types": "image/png"}),
        ("ok", {"allowed_mime_types": [""]}),
        ("ok", {"public": "yes"}),
        ("ok", {"name": ""}),
    ],
)
async def test_create_refuses_bad_input_before_sending(
    mock: respx.MockRouter, bucket_id: str, kwargs: dict[str, Any]
) -> None:
    async with client() as cb:
        with pytest.raises(InvalidRequestError):
            await cb.storage.buckets.create(bucket_id, **kwargs)
    assert not mock.calls


async def test_update_sends_only_what_changes_and_null_removes_a_limit(
    mock: respx.MockRouter,
) -> None:
    route = mock.put(f"{GW}/bucket/docs").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json={"message": "Successfully updated"}),
        ]
    )
    async with client() as cb:
        await cb.storage.buckets.update("docs", public=True, file_size_limit=None)
        with pytest.raises(InvalidRequestError):
            await cb.storage.buckets.update("docs")
    assert route.call_count == 2  # the same values set again are the same values
    assert sent_json(route) == {"public": True, "file_size_limit": None}


async def test_delete_sends_no_body_and_is_never_retried(mock: respx.MockRouter) -> None:
    route = mock.delete(f"{GW}/bucket/docs").mock(return_value=httpx.Response(502))
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb.storage.buckets.delete("docs")
    assert route.call_count == 1
    assert route.calls.last.request.content == b""


async def test_a_non_empty_bucket_is_refused(mock: respx.MockRouter) -> None:
    body = {"statusCode": "409", "error": "InvalidRequest", "message": "not empty"}
    mock.delete(f"{GW}/bucket/docs").mock(return_value=httpx.Response(400, json=body))
    async with client() as cb:
        with pytest.raises(ConflictError) as caught:
            await cb.storage.buckets.delete("docs")
    # A generic code: the body's real status classifies it.
    assert (caught.value.code, caught.value.status_code) == ("InvalidRequest", 409)


async def test_managing_buckets_without_the_service_role_is_denied(
    mock: respx.MockRouter,
) -> None:
    body = {"code": "STORAGE_PERMISSION_DENIED", "message": "service role only"}
    mock.post(f"{GW}/bucket/").mock(return_value=httpx.Response(403, json=body))
    async with client() as cb:
        with pytest.raises(PermissionDeniedError):
            await cb.storage.buckets.create("b1")


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("a.txt", "a.txt"),
        ("/a//b///c.txt/", "a/b/c.txt"),
        ("目录/a b#?.txt", "目录/a b#?.txt"),
        ("...", "..."),
        ("a./.b", "a./.b"),
    ],
)
def test_object_names_are_cleaned(name: str, cleaned: str) -> None:
    assert clean_object_name(name) == cleaned


@pytest.mark.parametrize("name", ["", "/", "//", "..", "a/../b", "./a", "a/.", "a\x00b", "a\nb"])
def test_object_names_that_would_climb_or_break_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        clean_object_name(name)


@pytest.mark.parametrize("bucket_id", ["docs", "my-bucket_1", "a.b", "x" * 256, "桶", "a+b@c"])
def test_valid_bucket_ids(bucket_id: str) -> None:
    assert validate_bucket_id(bucket_id) == bucket_id


@pytest.mark.parametrize(
    "bucket_id", ["", ".", "..", "a b", "a\tb", "a/b", "a\\b", "a?b", "a#b", "a%b", "x" * 257]
)
def test_invalid_bucket_ids(bucket_id: str) -> None:
    with pytest.raises(InvalidRequestError):
        validate_bucket_id(bucket_id)
    with pytest.raises(InvalidRequestError):
        CloudBase(env="env-1", api_key="k").storage.bucket(bucket_id)
