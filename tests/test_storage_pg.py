"""PG-mode storage objects: every request sent and every result parsed, against respx."""

from __future__ import annotations

import base64
import inspect
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from cloudbase_async import (
    APIConnectionError,
    CloudBase,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    ItemError,
    NotFoundError,
    ObjectEntry,
    ObjectRef,
    PermissionDeniedError,
    ResponseValidationError,
    SignedUrl,
    StreamClosedError,
)
from cloudbase_async.storage import REMOVE_BATCH_SIZE, SIGN_BATCH_SIZE, ObjectPages

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

GW = "https://env-1.api.tcloudbasegateway.com/v1/storages"
NAME = "目录/a b#?.txt"
ENCODED = "%E7%9B%AE%E5%BD%95/a%20b%23%3F.txt"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ1cmwiOiJkb2NzL2EudHh0In0.c2lnbmF0dXJl"


def client(**kwargs: Any) -> CloudBase:
    return CloudBase(env="env-1", api_key="sk-secret", **kwargs)


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def key_answer(bucket: str, name: str) -> httpx.Response:
    return httpx.Response(
        200, json={"Key": f"{bucket}/{name}", "Id": "id-1"}, headers={"X-Request-Id": "r-up"}
    )


Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def in_turn(*answers: Answer) -> Callable[[httpx.Request], httpx.Response]:
    """A side effect giving ``answers`` one per request: responses, or functions of the
    request. (Errors go in a plain ``side_effect`` list: raised from a function, respx
    chains them into a cycle.)"""
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        return item if isinstance(item, httpx.Response) else item(request)

    return answer


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def supabase(status: str, error: str, message: str = "m") -> httpx.Response:
    """How Supabase-style servers answer most failures: 400, the real status inside."""
    return httpx.Response(400, json={"statusCode": status, "error": error, "message": message})


# --- upload -------------------------------------------------------------------------------


async def test_upload_sends_the_encoded_path_and_the_documented_headers(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/object/docs/{ENCODED}").mock(return_value=key_answer("docs", NAME))
    async with client() as cb:
        result = await cb.storage.bucket("docs").upload(NAME, b"hello")
    request = route.calls.last.request
    assert request.url.raw_path.decode() == f"/v1/storages/object/docs/{ENCODED}"
    assert request.headers["Authorization"] == "Bearer sk-secret"
    assert request.headers["x-upsert"] == "false"
    assert request.headers["Content-Type"] == "text/plain"  # guessed from the extension
    assert request.headers["Cache-Control"] == "max-age=3600"
    assert request.headers["Content-Length"] == "5"
    assert "x-metadata" not in request.headers
    assert request.content == b"hello"
    assert result == ObjectRef(
        bucket="docs", path=NAME, full_path=f"docs/{NAME}", id="id-1", request_id="r-up"
    )


async def test_upload_options_become_headers(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/object/docs/a/b.bin").mock(return_value=key_answer("docs", "a/b.bin"))
    metadata = {"owner": "张三", "tags": ["x"], "n": 1}
    async with client() as cb:
        result = await cb.storage.from_("docs").upload(
            "//a//b.bin/",
            bytearray(b"xyz"),
            content_type="application/x-thing",
            cache_control=60,
            metadata=metadata,
            upsert=True,
        )
    request = route.calls.last.request
    assert request.headers["x-upsert"] == "true"
    assert request.headers["Content-Type"] == "application/x-thing"
    assert request.headers["Cache-Control"] == "max-age=60"
    assert json.loads(base64.b64decode(request.headers["x-metadata"])) == metadata
    assert result.path == "a/b.bin"  # cleaned as the js-sdk cleans it


async def test_update_puts_without_x_upsert(mock: respx.MockRouter) -> None:
    route = mock.put(f"{GW}/object/docs/a.json").mock(return_value=key_answer("docs", "a.json"))
    async with client() as cb:
        await cb.storage.bucket("docs").update("a.json", b"{}")
    request = route.calls.last.request
    assert "x-upsert" not in request.headers
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == b"{}"


async def test_every_source_kind_is_streamed(mock: respx.MockRouter, tmp_path: Path) -> None:
    route = mock.post(url__startswith=f"{GW}/object/docs/").mock(
        return_value=key_answer("docs", "x")
    )
    source = tmp_path / "data.bin"
    source.write_bytes(b"0123456789" * 100)

    async def pieces() -> AsyncIterator[bytes]:
        yield b"async "
        yield b"bytes"

    progress: list[tuple[int, int | None]] = []
    async with client() as cb:
        bucket = cb.storage.with_options(chunk_size=300).bucket("docs")
        await bucket.upload("p.bin", source, on_progress=lambda s, t: progress.append((s, t)))
        await bucket.upload("f.bin", io.BytesIO(b"from a file"))
        await bucket.upload("i.bin", pieces(), size=11)
        await bucket.upload("u.bin", pieces())
    calls = route.calls
    assert calls[0].request.content == source.read_bytes()
    assert progress == [(0, 1000), (300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    assert calls[1].request.content == b"from a file"
    assert calls[2].request.headers["Content-Length"] == "11"
    assert calls[3].request.headers["Transfer-Encoding"] == "chunked"  # length unknown
    assert "Content-Length" not in calls[3].request.headers
    assert calls[3].request.content == b"async bytes"


@pytest.mark.parametrize("name", ["", "/", "..", "a/../b", "./x", "a/./b", "a\x00b"])
async def test_names_that_would_reach_another_object_are_refused(
    mock: respx.MockRouter, name: str
) -> None:
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        for call in (
            bucket.upload(name, b"x"),
            bucket.update(name, b"x"),
            bucket.info(name),
            bucket.exists(name),
            bucket.create_signed_url(name, 60),
            bucket.create_signed_upload_url(name),
            bucket.upload_to_signed_url(name, TOKEN, b"x"),
            bucket.remove(["ok.txt", name]),
            bucket.create_signed_urls(["ok.txt", name], 60),
            bucket.copy("ok.txt", name),
            bucket.move(name, "ok.txt"),
        ):
            with pytest.raises(InvalidRequestError):
                await call
        with pytest.raises(InvalidRequestError):
            bucket.stream(name)
        with pytest.raises(InvalidRequestError):
            bucket.get_public_url(name)
    assert not mock.calls


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cache_control": -1},
        {"cache_control": True},
        {"cache_control": "3600"},
        {"metadata": ["not", "a", "mapping"]},
        {"metadata": {"nan": float("nan")}},
        {"size": -1},
        {"upsert": "yes"},
    ],
)
async def test_bad_upload_options_are_refused_and_nothing_is_opened(
    mock: respx.MockRouter, tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    async with client() as cb:
        with pytest.raises(InvalidRequestError):
            await cb.storage.bucket("docs").upload("a.bin", tmp_path / "missing.bin", **kwargs)
    assert not mock.calls


async def test_an_upload_that_must_create_is_never_repeated_once_sent(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/object/docs/a.txt").mock(return_value=httpx.Response(503))
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb.storage.bucket("docs").upload("a.txt", b"abc")
    # A repeat of one that was stored would be answered Duplicate.
    assert route.call_count == 1


async def test_an_upload_that_never_reached_the_server_is_sent_again(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/object/docs/a.txt").mock(
        side_effect=[httpx.ConnectError("refused"), key_answer("docs", "a.txt")]
    )
    async with client() as cb:
        await cb.storage.bucket("docs").upload("a.txt", b"abc")
    assert route.call_count == 2
    assert [call.request.content for call in route.calls] == [b"abc", b"abc"]


async def test_upserts_and_updates_of_replayable_bodies_are_retried(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    source = tmp_path / "s.bin"
    source.write_bytes(b"z" * 2500)
    post = mock.post(f"{GW}/object/docs/a.bin").mock(
        side_effect=[httpx.Response(503), httpx.ReadError("reset"), key_answer("docs", "a.bin")]
    )
    put = mock.put(f"{GW}/object/docs/b.bin").mock(
        side_effect=[httpx.Response(502), key_answer("docs", "b.bin")]
    )
    async with client() as cb:
        bucket = cb.storage.with_options(chunk_size=1000).bucket("docs")
        await bucket.upload("a.bin", source, upsert=True)
        await bucket.update("b.bin", b"same bytes")
    assert [call.request.content for call in post.calls] == [b"z" * 2500] * 3
    assert [call.request.content for call in put.calls] == [b"same bytes"] * 2


async def test_a_one_shot_body_is_never_repeated(mock: respx.MockRouter) -> None:
    route = mock.put(f"{GW}/object/docs/a.bin").mock(return_value=httpx.Response(503))

    async def pieces() -> AsyncIterator[bytes]:
        yield b"ab"

    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb.storage.bucket("docs").update("a.bin", pieces())
    assert route.call_count == 1


async def test_an_existing_object_is_a_conflict(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/object/docs/a.txt").mock(
        return_value=supabase("409", "Duplicate", "The resource already exists")
    )
    async with client() as cb:
        with pytest.raises(ConflictError) as caught:
            await cb.storage.bucket("docs").upload("a.txt", b"x")
    assert (caught.value.status_code, caught.value.code) == (409, "Duplicate")
    assert caught.value.message == "The resource already exists"


async def test_an_upload_answer_of_the_wrong_shape_is_refused(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/object/docs/a.txt").mock(return_value=httpx.Response(200, json=["Key"]))
    async with client() as cb:
        with pytest.raises(ResponseValidationError):
            await cb.storage.bucket("docs").upload("a.txt", b"x")


async def test_under_tc3_an_upload_is_refused_before_anything_is_sent(
    mock: respx.MockRouter,
) -> None:
    # TC3 signs the body's hash, and upload bodies are streamed.
    async with CloudBase(env="env-1", secret_id="AKIDexample", secret_key="sk") as cb:
        with pytest.raises(InvalidRequestError):
            await cb.storage.bucket("docs").upload("a.txt", b"x")
    assert not mock.calls


# --- signed upload ------------------------------------------------------------------------


async def test_signed_upload_url_is_a_post_without_a_body(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/object/upload/sign/docs/{ENCODED}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(
                200,
                json={"url": f"/object/upload/sign/docs/{ENCODED}?token={TOKEN}", "token": TOKEN},
            ),
            httpx.Response(
                200,
                json={
                    "url": "/ignored",
                    "token": TOKEN,
                    "fullURL": f"https://cdn.example.com/up?token={TOKEN}",
                },
            ),
        ]
    )
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        signed = await bucket.create_signed_upload_url(NAME)
        full = await bucket.create_signed_upload_url(NAME, upsert=True)
    first, last = route.calls[1].request, route.calls[2].request
    assert route.call_count == 3  # signing changes nothing: retried
    assert first.content == b""
    assert "Content-Type" not in first.headers
    assert first.headers["Content-Length"] == "0"
    assert "x-upsert" not in first.headers
    assert last.headers["x-upsert"] == "true"
    assert signed.path == NAME
    assert signed.token == TOKEN
    assert signed.signed_url == f"{GW}/object/upload/sign/docs/{ENCODED}?token={TOKEN}"
    assert full.signed_url == f"https://cdn.example.com/up?token={TOKEN}"
    assert TOKEN not in repr(signed)
    assert TOKEN not in repr(full)


async def test_a_signed_upload_answer_without_a_token_or_url_is_refused(
    mock: respx.MockRouter,
) -> None:
    mock.post(f"{GW}/object/upload/sign/docs/a.txt").mock(
        side_effect=[
            httpx.Response(200, json={"url": "/object/upload/sign/docs/a.txt"}),
            httpx.Response(200, json={"token": TOKEN}),
        ]
    )
    async with client() as cb:
        for _ in range(2):
            with pytest.raises(ResponseValidationError) as caught:
                await cb.storage.bucket("docs").create_signed_upload_url("a.txt")
            assert TOKEN not in str(caught.value)


async def test_upload_to_a_signed_url_sends_no_authorization(mock: respx.MockRouter) -> None:
    route = mock.put(f"{GW}/object/upload/sign/docs/{ENCODED}").mock(
        return_value=httpx.Response(200, json={"Key": f"docs/{NAME}"})
    )
    async with client(headers={"Authorization": "Bearer from-config"}) as cb:
        result = await cb.storage.bucket("docs").upload_to_signed_url(
            NAME, TOKEN, b"signed bytes", metadata={"a": 1}
        )
    request = route.calls.last.request
    assert "Authorization" not in request.headers
    assert request.url.params["token"] == TOKEN
    assert request.headers["Content-Type"] == "text/plain"
    assert request.headers["Cache-Control"] == "max-age=3600"
    assert json.loads(base64.b64decode(request.headers["x-metadata"])) == {"a": 1}
    assert "x-upsert" not in request.headers  # carried in the token
    assert request.content == b"signed bytes"
    assert (result.path, result.full_path, result.id) == (NAME, f"docs/{NAME}", None)


async def test_upload_to_a_signed_url_is_never_repeated(mock: respx.MockRouter) -> None:
    route = mock.put(f"{GW}/object/upload/sign/docs/a.txt").mock(return_value=httpx.Response(503))
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        with pytest.raises(InternalServerError):
            await bucket.upload_to_signed_url("a.txt", TOKEN, b"x")
        with pytest.raises(InvalidRequestError):
            await bucket.upload_to_signed_url("a.txt", "", b"x")
    assert route.call_count == 1


# --- download and stream ------------------------------------------------------------------


async def test_download_gets_the_object_with_credentials_atomically(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.get(f"{GW}/object/docs/{ENCODED}").mock(
        return_value=httpx.Response(
            200,
            content=b"payload",
            headers={"Content-Type": "text/plain", "X-Request-Id": "r-dl"},
        )
    )
    async with client() as cb:
        saved = await cb.storage.bucket("docs").download(NAME, tmp_path)
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer sk-secret"
    assert request.headers["Accept-Encoding"] == "identity"
    assert saved.path == tmp_path / "a b#?.txt"
    assert saved.path.read_bytes() == b"payload"
    assert (saved.size, saved.content_type, saved.request_id) == (7, "text/plain", "r-dl")
    assert listing(tmp_path) == ["a b#?.txt"]


async def test_a_failed_download_leaves_the_target_as_it_was(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    target = tmp_path / "kept.txt"
    target.write_bytes(b"old")
    mock.get(f"{GW}/object/docs/a.txt").mock(
        return_value=supabase("404", "not_found", "Object not found")
    )
    async with client() as cb:
        with pytest.raises(NotFoundError) as caught:
            await cb.storage.bucket("docs").download("a.txt", target)
    assert caught.value.status_code == 404
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["kept.txt"]


async def test_stream_hands_out_the_bytes_inside_its_block(mock: respx.MockRouter) -> None:
    mock.get(f"{GW}/object/docs/a.bin").mock(
        return_value=httpx.Response(
            200, content=b"abcdefgh", headers={"Content-Type": "application/octet-stream"}
        )
    )
    async with client() as cb:
        stream = cb.storage.bucket("docs").stream("/a.bin", chunk_size=3)
        async with stream as body:
            chunks = [chunk async for chunk in body]
            assert (body.size, body.received, body.key) == (8, 8, "docs/a.bin")
            assert body.download_url is None
        assert chunks == [b"abc", b"def", b"gh"]
        with pytest.raises(StreamClosedError):
            async for _ in body:
                pass
        with pytest.raises(StreamClosedError):
            async with stream:
                pass
        with pytest.raises(InvalidRequestError):
            cb.storage.bucket("docs").stream("a.bin", chunk_size=0)


async def test_a_download_is_retried_before_any_byte_arrives(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.get(f"{GW}/object/docs/a.bin").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"ok")]
    )
    async with client() as cb:
        saved = await cb.storage.bucket("docs").download("a.bin", tmp_path / "a.bin")
    assert route.call_count == 2
    assert saved.path.read_bytes() == b"ok"


# --- info, exists, list -------------------------------------------------------------------


async def test_info_parses_the_object_row(mock: respx.MockRouter) -> None:
    row = {
        "id": "o-1",
        "name": NAME,
        "version": "v-1",
        "bucket_id": "docs",
        "size": 5,
        "content_type": "text/plain",
        "cache_control": "max-age=3600",
        "etag": '"abc"',
        "metadata": {"k": "v"},
        "last_modified": "2024-05-01T10:00:00Z",
        "created_at": "2024-05-01T09:00:00Z",
        "new_field": True,
    }
    route = mock.get(f"{GW}/object/info/docs/{ENCODED}").mock(
        return_value=httpx.Response(200, json=row, headers={"X-Request-Id": "r-i"})
    )
    async with client() as cb:
        info = await cb.storage.bucket("docs").info(NAME)
    assert route.calls.last.request.content == b""
    assert (info.name, info.size, info.etag, info.metadata) == (NAME, 5, '"abc"', {"k": "v"})
    assert info.last_modified == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert (info.request_id, info.extra) == ("r-i", {"new_field": True})


@pytest.mark.parametrize(
    ("answer", "exists"),
    [
        (httpx.Response(200, json={"name": "a.txt"}), True),
        (httpx.Response(404, json={"code": "not_found", "message": "m"}), False),
        (supabase("404", "not_found"), False),
        (supabase("400", "InvalidKey"), False),
        (supabase("404", "Bucket not found"), False),
    ],
)
async def test_exists(mock: respx.MockRouter, answer: httpx.Response, exists: bool) -> None:
    mock.get(f"{GW}/object/info/docs/a.txt").mock(return_value=answer)
    async with client() as cb:
        assert await cb.storage.bucket("docs").exists("a.txt") is exists


async def test_exists_raises_what_is_not_an_answer_about_the_object(
    mock: respx.MockRouter,
) -> None:
    route = mock.get(f"{GW}/object/info/docs/a.txt").mock(
        side_effect=[
            httpx.Response(403, json={"code": "STORAGE_PERMISSION_DENIED", "message": "rls"}),
            supabase("403", "Unauthorized", "new row violates row-level security policy"),
            httpx.Response(500),
            httpx.Response(500),
            httpx.Response(500),
        ]
    )
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        with pytest.raises(PermissionDeniedError):
            await bucket.exists("a.txt")
        with pytest.raises(PermissionDeniedError) as caught:
            await bucket.exists("a.txt")
        assert caught.value.status_code == 403
        with pytest.raises(InternalServerError):
            await bucket.exists("a.txt")
    assert route.call_count == 5  # the 500 was retried twice, as any read


async def test_list_sends_the_cursor_form(mock: respx.MockRouter) -> None:
    answer = {
        "folders": [{"key": "p/sub/", "name": "p/sub/"}],
        "objects": [
            {
                "key": "p/a.txt",
                "name": "p/a.txt",
                "id": "o-1",
                "updated_at": "2024-05-01T10:00:00Z",
                "metadata": {"size": 3},
                "owner_id": "u-1",
            }
        ],
        "hasNext": True,
        "nextCursor": "c-2",
        "nextCursorKey": "p/a.txt",
    }
    route = mock.post(f"{GW}/object/list/docs").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=answer)]
    )
    async with client() as cb:
        page = await cb.storage.bucket("docs").list(
            "p/",
            limit=2,
            cursor="c-1",
            with_delimiter=True,
            sort_column="updated_at",
            sort_order="desc",
        )
    assert route.call_count == 2  # a read: retried
    assert sent_json(route) == {
        "prefix": "p/",
        "limit": 2,
        "with_delimiter": True,
        "sortBy": {"column": "updated_at", "order": "desc"},
        "cursor": "c-1",
    }
    assert [f.name for f in page.folders] == ["p/sub/"]
    [entry] = page.objects
    assert (entry.name, entry.id, entry.owner, entry.metadata) == (
        "p/a.txt",
        "o-1",
        "u-1",
        {"size": 3},
    )
    assert (page.has_next, page.next_cursor, page.next_cursor_key) == (True, "c-2", "p/a.txt")


async def test_list_sends_only_the_prefix_by_default(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/object/list/docs").mock(return_value=httpx.Response(200, json={}))
    async with client() as cb:
        page = await cb.storage.bucket("docs").list()
    assert sent_json(route) == {"prefix": ""}
    assert (page.folders, page.objects, page.has_next) == ((), (), False)


@pytest.mark.parametrize(
    "answer",
    [
        [{"name": "a.txt"}],  # Supabase's older /object/list answers a bare array
        {"objects": "a.txt"},
        {"objects": [{"id": "no name"}]},
        {"objects": [], "hasNext": True},  # no cursor to go on from
    ],
)
async def test_a_listing_of_the_wrong_shape_is_refused(mock: respx.MockRouter, answer: Any) -> None:
    mock.post(f"{GW}/object/list/docs").mock(return_value=httpx.Response(200, json=answer))
    async with client() as cb:
        with pytest.raises(ResponseValidationError):
            await cb.storage.bucket("docs").list()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"sort_column": "size"},
        {"sort_order": "sideways"},
        {"with_delimiter": 1},
        {"cursor": 5},
    ],
)
async def test_list_refuses_bad_arguments(mock: respx.MockRouter, kwargs: dict[str, Any]) -> None:
    async with client() as cb:
        with pytest.raises(InvalidRequestError):
            await cb.storage.bucket("docs").list(**kwargs)
    assert not mock.calls


async def test_list_pages_follows_the_cursor_to_the_end(mock: respx.MockRouter) -> None:
    def page(names: list[str], cursor: str | None) -> httpx.Response:
        body: dict[str, Any] = {"folders": [], "objects": [{"name": n} for n in names]}
        body["hasNext"] = cursor is not None
        if cursor is not None:
            body["nextCursor"] = cursor
        return httpx.Response(200, json=body)

    route = mock.post(f"{GW}/object/list/docs").mock(
        side_effect=[page(["a", "b"], "c1"), page(["c", "d"], "c2"), page(["e"], None)]
    )
    async with client() as cb:
        pages = cb.storage.bucket("docs").list_pages("", limit=2)
        assert isinstance(pages, ObjectPages)
        assert not inspect.isasyncgen(pages)  # nothing left for the GC when abandoned
        names = [[o.name for o in p.objects] async for p in pages]
        assert [o async for o in pages] == []  # exhausted
    assert names == [["a", "b"], ["c", "d"], ["e"]]
    assert [json.loads(c.request.content).get("cursor") for c in route.calls] == [None, "c1", "c2"]
    assert all(json.loads(c.request.content)["limit"] == 2 for c in route.calls)


async def test_list_pages_refuses_a_cursor_that_goes_nowhere(mock: respx.MockRouter) -> None:
    body = {"objects": [{"name": "a"}], "hasNext": True, "nextCursor": "same"}
    mock.post(f"{GW}/object/list/docs").mock(return_value=httpx.Response(200, json=body))
    async with client() as cb:
        pages = cb.storage.bucket("docs").list_pages()
        assert (await pages.__anext__()).next_cursor == "same"
        with pytest.raises(ResponseValidationError):
            await pages.__anext__()
        with pytest.raises(StopAsyncIteration):
            await pages.__anext__()


# --- remove, copy, move -------------------------------------------------------------------


def removed(request: httpx.Request) -> httpx.Response:
    """Answers the removed rows: every name except those ending in 7 (missing)."""
    names = json.loads(request.content)["prefixes"]
    rows = [{"name": n, "bucket_id": "docs", "id": f"id-{n}"} for n in names if not n.endswith("7")]
    return httpx.Response(200, json=rows, headers={"X-Request-Id": f"r{len(names)}"})


async def test_remove_is_batched_by_100_and_pairs_answers_by_name(
    mock: respx.MockRouter,
) -> None:
    route = mock.delete(f"{GW}/object/docs").mock(side_effect=removed)
    names = [f"/f{i}" for i in range(250)]
    async with client() as cb:
        result = await cb.storage.bucket("docs").remove(names)
    assert REMOVE_BATCH_SIZE == 100
    assert [len(sent_json(route, i)["prefixes"]) for i in range(3)] == [100, 100, 50]
    assert sent_json(route, 0)["prefixes"][:2] == ["f0", "f1"]  # cleaned
    assert len(result) == 250
    assert result[0] == ObjectEntry(name="f0", id="id-f0", bucket_id="docs")
    missing = result[7]
    assert isinstance(missing, ItemError)
    assert (missing.key, missing.code, missing.request_id) == ("/f7", "not_found", "r100")
    assert isinstance(missing.to_exception(), NotFoundError)
    assert len(result.failed) == 25


async def test_remove_is_never_repeated_and_a_later_failure_keeps_what_was_done(
    mock: respx.MockRouter,
) -> None:
    route = mock.delete(f"{GW}/object/docs").mock(
        side_effect=in_turn(httpx.Response(503), removed, httpx.Response(503))
    )
    names = [f"n{i}" for i in range(150)]
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        with pytest.raises(InternalServerError):
            await bucket.remove(names)
        result = await bucket.remove(names)
        with pytest.raises(InvalidRequestError):
            await bucket.remove("n1")  # a lone string is a sequence too
    assert route.call_count == 3
    assert len(result.succeeded) == 100 - 10  # n7, n17, ... n97 are missing
    rest = result.failed[-50:]
    assert all(isinstance(e.exception, InternalServerError) for e in rest)
    assert [e.key for e in rest] == names[100:]


async def test_remove_nothing_sends_nothing(mock: respx.MockRouter) -> None:
    async with client() as cb:
        assert len(await cb.storage.bucket("docs").remove([])) == 0
    assert not mock.calls


async def test_copy_across_buckets_with_metadata(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/object/copy").mock(
        return_value=httpx.Response(
            200,
            json={"Key": "other/b/c.txt", "Id": "id-c", "name": "b/c.txt", "bucket_id": "other"},
        )
    )
    async with client() as cb:
        result = await cb.storage.bucket("docs").copy(
            "/a.txt", "b//c.txt", to_bucket="other", upsert=True, metadata={"k": "v"}
        )
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "bucketId": "docs",
        "sourceKey": "a.txt",
        "destinationKey": "b/c.txt",
        "destinationBucket": "other",
        "metadata": {"k": "v"},
        "copyMetadata": False,
    }
    assert request.headers["x-upsert"] == "true"
    assert json.loads(base64.b64decode(request.headers["x-metadata"])) == {"k": "v"}
    assert (result.bucket, result.path, result.full_path, result.id) == (
        "other",
        "b/c.txt",
        "other/b/c.txt",
        "id-c",
    )
    assert result.extra == {"name": "b/c.txt", "bucket_id": "other"}


async def test_copy_sends_only_what_is_given_and_is_never_repeated(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/object/copy").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"Key": "docs/b"})]
    )
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        with pytest.raises(InternalServerError):
            await bucket.copy("a", "b")
        await bucket.copy("a", "b", copy_metadata=False)
        with pytest.raises(InvalidRequestError):
            await bucket.copy("a", "b", metadata={"k": 1}, copy_metadata=True)
        with pytest.raises(InvalidRequestError):
            await bucket.copy("a", "b", to_bucket="bad bucket")
    assert route.call_count == 2
    first = route.calls[0].request
    assert json.loads(first.content) == {
        "bucketId": "docs",
        "sourceKey": "a",
        "destinationKey": "b",
    }
    assert "x-upsert" not in first.headers
    assert "x-metadata" not in first.headers
    assert sent_json(route)["copyMetadata"] is False


async def test_move_sends_its_body_and_is_never_repeated(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/object/move").mock(
        side_effect=[
            httpx.Response(200, json={"message": "Successfully moved"}),
            httpx.Response(503),
        ]
    )
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        moved = await bucket.move("a/b.txt", "c.txt", to_bucket="arch")
        with pytest.raises(InternalServerError):
            await bucket.move("x", "y")
    assert route.call_count == 2
    assert sent_json(route, 0) == {
        "bucketId": "docs",
        "sourceKey": "a/b.txt",
        "destinationKey": "c.txt",
        "destinationBucket": "arch",
    }
    assert moved == ObjectRef(
        bucket="arch",
        path="c.txt",
        full_path="arch/c.txt",  # not answered: where it went
        message="Successfully moved",
        request_id=moved.request_id,
    )


# --- signed and public URLs ---------------------------------------------------------------


async def test_a_signed_url_is_made_absolute(mock: respx.MockRouter) -> None:
    relative = f"/object/sign/docs/{ENCODED}?token={TOKEN}"
    route = mock.post(f"{GW}/object/sign/docs/{ENCODED}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json={"signedURL": relative}, headers={"X-Request-Id": "r-s"}),
            httpx.Response(200, json={"signedURL": relative}),
            httpx.Response(200, json={"signedURL": relative}),
            httpx.Response(
                200,
                json={
                    "signedURL": relative,
                    "fullSignedURL": f"https://cdn.example.com/x?token={TOKEN}",
                },
            ),
        ]
    )
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        plain = await bucket.create_signed_url(NAME, 60)
        attachment = await bucket.create_signed_url(NAME, 60, download=True)
        named = await bucket.create_signed_url(NAME, 60, download="报告 1.pdf")
        full = await bucket.create_signed_url(NAME, 3600, download=True)
    assert route.call_count == 5  # signing changes nothing: retried
    assert sent_json(route, 1) == {"expiresIn": 60}
    assert sent_json(route) == {"expiresIn": 3600}
    assert plain == SignedUrl(NAME, f"{GW}{relative}", "r-s")
    assert attachment.signed_url == f"{GW}{relative}&download="
    assert named.signed_url == f"{GW}{relative}&download=%E6%8A%A5%E5%91%8A%201.pdf"
    assert full.signed_url == f"https://cdn.example.com/x?token={TOKEN}&download="
    assert TOKEN not in repr(plain)


@pytest.mark.parametrize("expires_in", [0, -5, True, 1.5, "60"])
async def test_signing_refuses_a_bad_expiry(mock: respx.MockRouter, expires_in: Any) -> None:
    async with client() as cb:
        bucket = cb.storage.bucket("docs")
        with pytest.raises(InvalidRequestError):
            await bucket.create_signed_url("a", expires_in)
        with pytest.raises(InvalidRequestError):
            await bucket.create_signed_urls(["a"], expires_in)
    assert not mock.calls


@pytest.mark.parametrize(
    "answer",
    [
        {},  # the js-sdk would go on to "PUT https://undefined/"
        {"signedURL": None},
        {"fullSignedURL": "ftp://elsewhere/x"},
        {"fullSignedURL": "/still/relative"},
    ],
)
async def test_a_signing_answer_without_a_usable_url_is_refused(
    mock: respx.MockRouter, answer: dict[str, Any]
) -> None:
    mock.post(f"{GW}/object/sign/docs/a").mock(return_value=httpx.Response(200, json=answer))
    async with client() as cb:
        with pytest.raises(ResponseValidationError):
            await cb.storage.bucket("docs").create_signed_url("a", 60)


def signed_answer(paths: list[str]) -> httpx.Response:
    """What batch signing answers: a URL per path, an error for names ending in 9."""
    refused = "Either the object does not exist or you do not have access to it"
    return httpx.Response(
        200,
        json=[
            {"error": refused, "path": p, "signedURL": None}
            if p.endswith("9")
            else {"error": None, "path": p, "signedURL": f"/object/sign/docs/{p}?token={TOKEN}"}
            for p in paths
        ],
        headers={"X-Request-Id": f"r{len(paths)}"},
    )


def signed_many(request: httpx.Request) -> httpx.Response:
    return signed_answer(json.loads(request.content)["paths"])


async def test_signed_urls_are_batched_by_500_with_per_item_errors(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/object/sign/docs").mock(side_effect=signed_many)
    paths = [f"f{i}" for i in range(1200)]
    async with client() as cb:
        result = await cb.storage.bucket("docs").create_signed_urls(paths, 120, download=True)
    assert SIGN_BATCH_SIZE == 500
    assert route.call_count == 3
    assert [len(sent_json(route, i)["paths"]) for i in range(3)] == [500, 500, 200]
    assert {sent_json(route, i)["expiresIn"] for i in range(3)} == {120}
    assert result[0] == SignedUrl("f0", f"{GW}/object/sign/docs/f0?token={TOKEN}&download=", "r500")
    refused = result[9]
    assert isinstance(refused, ItemError)
    assert (refused.key, refused.code, refused.request_id) == ("f9", "not_found", "r500")
    assert refused.message.startswith("Either the object does not exist")
    assert isinstance(refused.to_exception(), NotFoundError)
    assert len(result.failed) == 120
    assert TOKEN not in repr(result)


async def test_a_batch_signing_answer_of_the_wrong_length_is_refused(
    mock: respx.MockRouter,
) -> None:
    mock.post(f"{GW}/object/sign/docs").mock(return_value=httpx.Response(200, json=[]))
    async with client() as cb:
        with pytest.raises(ResponseValidationError):
            await cb.storage.bucket("docs").create_signed_urls(["a", "b"], 60)


async def test_a_later_signing_batch_that_breaks_is_recorded_on_its_items(
    mock: respx.MockRouter,
) -> None:
    paths = [f"f{i}" for i in range(501)]
    mock.post(f"{GW}/object/sign/docs").mock(
        side_effect=[signed_answer(paths[:500]), *(httpx.ConnectError("down") for _ in range(3))]
    )
    async with client() as cb:
        result = await cb.storage.bucket("docs").create_signed_urls(paths, 60)
    last = result[500]
    assert isinstance(last, ItemError)
    assert isinstance(last.exception, APIConnectionError)


def test_public_urls_need_no_request() -> None:
    cb = CloudBase(env="env-1", api_key="k")
    bucket = cb.storage.bucket("docs")
    assert bucket.get_public_url(NAME) == f"{GW}/object/public/docs/{ENCODED}"
    assert bucket.get_public_url("a.txt", download=True) == (
        f"{GW}/object/public/docs/a.txt?download="
    )
    assert bucket.get_public_url("a.txt", download="b c.txt") == (
        f"{GW}/object/public/docs/a.txt?download=b%20c.txt"
    )
    other = CloudBase(env="env-1", api_key="k", endpoints={"storage": "http://127.0.0.1:9/s"})
    assert (
        other.storage.bucket("docs").get_public_url("a")
        == "http://127.0.0.1:9/s/object/public/docs/a"
    )
    with pytest.raises(InvalidRequestError):
        bucket.get_public_url("a", download=3)  # type: ignore[arg-type]


# --- both error shapes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "cls", "status", "code"),
    [
        (
            httpx.Response(
                404, json={"code": "STORAGE_BUCKET_NOT_FOUND", "message": "m", "requestId": "x"}
            ),
            NotFoundError,
            404,
            "STORAGE_BUCKET_NOT_FOUND",
        ),
        (
            httpx.Response(403, json={"code": "STORAGE_PERMISSION_DENIED", "message": "m"}),
            PermissionDeniedError,
            403,
            "STORAGE_PERMISSION_DENIED",
        ),
        (supabase("404", "Bucket not found"), NotFoundError, 404, "Bucket not found"),
        (supabase("404", "not_found"), NotFoundError, 404, "not_found"),
        (supabase("409", "Duplicate"), ConflictError, 409, "Duplicate"),
        (
            httpx.Response(
                403, json={"statusCode": "403", "error": "Unauthorized", "message": "rls"}
            ),
            PermissionDeniedError,
            403,
            "Unauthorized",
        ),
    ],
)
async def test_both_error_shapes_map_onto_the_hierarchy_with_the_real_status(
    mock: respx.MockRouter,
    answer: httpx.Response,
    cls: type[Exception],
    status: int,
    code: str,
) -> None:
    mock.post(f"{GW}/object/sign/docs/a").mock(return_value=answer)
    async with client() as cb:
        with pytest.raises(cls) as caught:
            await cb.storage.bucket("docs").create_signed_url("a", 60)
    assert type(caught.value) is cls
    assert (caught.value.status_code, caught.value.code) == (status, code)  # type: ignore[attr-defined]
