"""Storage: the requests sent and the results parsed, against respx."""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from cloudbase_async import (
    APIConnectionError,
    BatchResult,
    CloudBase,
    ConfigurationError,
    CopiedObject,
    DeletedObject,
    DownloadUrl,
    InternalServerError,
    InvalidRequestError,
    ItemError,
    NotFoundError,
    PermissionDeniedError,
    ResponseValidationError,
    StorageBatchError,
    StreamClosedError,
    StreamInterruptedError,
    UploadResult,
)
from cloudbase_async.storage import (
    guess_content_type,
    parse_object_store_error,
    validate_cloud_id,
    validate_cloud_path,
)

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

GW = "https://env-1.api.tcloudbasegateway.com/v1/storages"
COS = "https://bucket-1.cos.ap-shanghai.myqcloud.com"
INFO: dict[str, Any] = {
    "objectId": "a/b.png",
    "uploadUrl": f"{COS}/a/b.png",
    "downloadUrl": f"{COS}/a/b.png?sign=x",
    "downloadUrlEncoded": f"{COS}/a/b.png?sign=x",
    "token": "sec-token",
    "authorization": "q-sign-algorithm=sha1&q-signature=abc",
    "cloudObjectMeta": "meta-123",
    "cloudObjectId": "cloud://env-1.bucket-1/a/b.png",
    "somethingNew": 1,
}


def client(**kwargs: Any) -> CloudBase:
    return CloudBase(env="env-1", api_key="sk-secret", **kwargs)


def body(call: Any) -> Any:
    return json.loads(call.request.content)


def info_route(mock: respx.MockRouter, **item: Any) -> respx.Route:
    return mock.post(f"{GW}/get-objects-upload-info").mock(
        return_value=httpx.Response(
            200, json=[{**INFO, **item}], headers={"X-Request-Id": "r-info"}
        )
    )


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def cloud_ids(n: int) -> list[str]:
    return [f"cloud://env-1.b/f{i}.txt" for i in range(n)]


def url_of(cloud_id: str) -> str:
    return f"{COS}/{cloud_id.rpartition('/')[2]}?sign=x"


def download_answer(request: httpx.Request) -> httpx.Response:
    items = json.loads(request.content)
    return httpx.Response(
        200,
        json=[
            {"cloudObjectId": it["cloudObjectId"], "downloadUrl": url_of(it["cloudObjectId"])}
            if not it["cloudObjectId"].endswith("7.txt")
            else {"code": "OBJECT_NOT_EXIST", "message": "Object not exist."}
            for it in items
        ],
        headers={"X-Request-Id": f"r{len(items)}"},
    )


# --- upload ---------------------------------------------------------------------------


async def test_upload_bytes_sends_signed_headers_to_the_upload_url(
    mock: respx.MockRouter,
) -> None:
    info = info_route(mock)
    put = mock.put(f"{COS}/a/b.png").mock(
        return_value=httpx.Response(200, headers={"ETag": '"e1"'})
    )
    async with client() as cb:
        result = await cb.storage.upload("a/b.png", b"hello")

    assert body(info.calls.last) == [
        {
            "objectId": "a/b.png",
            "signedHeader": {"content-type": ["image/png"], "content-length": ["5"]},
        }
    ]
    assert info.calls.last.request.headers["Authorization"] == "Bearer sk-secret"
    sent = put.calls.last.request
    assert sent.content == b"hello"
    assert sent.headers["Authorization"] == INFO["authorization"]
    assert sent.headers["X-Cos-Security-Token"] == "sec-token"
    assert sent.headers["X-Cos-Meta-Fileid"] == "meta-123"
    assert sent.headers["Content-Type"] == "image/png"
    assert sent.headers["Content-Length"] == "5"
    # The object store gets no SDK headers and never the API key.
    for absent in ("X-SDK-Version", "X-Request-Id", "Transfer-Encoding"):
        assert absent not in sent.headers
    assert "sk-secret" not in str(sent.headers)
    assert result.cloud_id == INFO["cloudObjectId"]
    assert result.cloud_path == "a/b.png"
    assert result.download_url == INFO["downloadUrl"]
    assert result.size == 5
    assert result.etag == '"e1"'
    assert result.request_id == "r-info"  # the gateway's id, not the object store's
    assert result.extra == {"somethingNew": 1}


async def test_upload_leaves_out_empty_signature_headers(mock: respx.MockRouter) -> None:
    info_route(mock, authorization="", token="", cloudObjectMeta=None)
    put = mock.put(f"{COS}/a/b.png").mock(return_value=httpx.Response(200))
    async with client() as cb:
        await cb.storage.upload("a/b.png", b"x", content_type="text/plain")
    sent = put.calls.last.request
    for absent in ("Authorization", "X-Cos-Security-Token", "X-Cos-Meta-Fileid"):
        assert absent not in sent.headers
    assert sent.headers["Content-Type"] == "text/plain"


async def test_upload_from_a_path_is_replayed_after_a_retryable_failure(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(b"0123456789" * 100)
    info_route(mock)
    put = mock.put(f"{COS}/a/b.png").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "0"}),
            httpx.Response(200),
        ]
    )
    progress: list[tuple[int, int | None]] = []
    async with client() as cb:
        storage = cb.storage.with_options(chunk_size=300)
        result = await storage.upload(
            "a/b.png", source, on_progress=lambda s, t: progress.append((s, t))
        )
    assert put.call_count == 2
    for call in put.calls:
        assert call.request.content == source.read_bytes()
        assert call.request.headers["Content-Length"] == "1000"
        assert call.request.headers["Content-Type"] == "image/png"
    one_pass = [(0, 1000), (300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    assert progress == one_pass * 2  # starts over on the retry
    assert result.size == 1000


async def test_a_seekable_file_is_rewound_for_a_retry(mock: respx.MockRouter) -> None:
    info_route(mock)
    put = mock.put(f"{COS}/a/b.png").mock(
        side_effect=[httpx.ConnectTimeout("boom"), httpx.ReadError("reset"), httpx.Response(200)]
    )
    file = io.BytesIO(b"skipMEdata")
    file.seek(4)
    async with client() as cb:
        result = await cb.storage.upload("a/b.png", file)
    assert [call.request.content for call in put.calls] == [b"MEdata"] * 3
    assert put.calls.last.request.headers["Content-Length"] == "6"
    assert result.size == 6


async def test_a_one_shot_source_is_not_retried(mock: respx.MockRouter) -> None:
    info = info_route(mock)
    put = mock.put(f"{COS}/a/b.png").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "0"})
    )

    async def pieces() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb.storage.upload("a/b.png", pieces())
    assert put.call_count == 1
    # Length unknown: not signed, and the body goes chunked.
    assert body(info.calls.last)[0]["signedHeader"] == {"content-type": ["image/png"]}
    assert put.calls.last.request.headers["Transfer-Encoding"] == "chunked"


async def test_declared_size_is_signed_and_enforced(mock: respx.MockRouter) -> None:
    info = info_route(mock)
    put = mock.put(f"{COS}/a/b.png").mock(return_value=httpx.Response(200))

    async def pieces() -> AsyncIterator[bytes]:
        yield b"abc"

    async with client() as cb:
        await cb.storage.upload("a/b.png", pieces(), size=3)
        assert body(info.calls.last)[0]["signedHeader"]["content-length"] == ["3"]
        assert put.calls.last.request.headers["Content-Length"] == "3"
        with pytest.raises(InvalidRequestError, match="gave 3 bytes, not the declared 4"):
            await cb.storage.upload("a/b.png", pieces(), size=4)
        with pytest.raises(InvalidRequestError, match="more than the declared 2"):
            await cb.storage.upload("a/b.png", pieces(), size=2)


async def test_an_object_store_xml_error_is_read(mock: respx.MockRouter) -> None:
    info_route(mock)
    xml = (
        "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The signature does not match</Message><RequestId>cos-1</RequestId></Error>"
    )
    mock.put(f"{COS}/a/b.png").mock(return_value=httpx.Response(403, text=xml))
    async with client() as cb:
        with pytest.raises(PermissionDeniedError) as caught:
            await cb.storage.upload("a/b.png", b"x")
    error = caught.value
    assert error.code == "SignatureDoesNotMatch"
    assert error.message == "Upload of 'a/b.png' refused: The signature does not match"
    assert error.request_id == "cos-1"
    assert error.body == xml


async def test_an_upload_info_item_error_raises_before_any_put(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/get-objects-upload-info").mock(
        return_value=httpx.Response(
            200, json=[{"code": "STORAGE_EXCEED_AUTHORITY", "message": "denied by rules"}]
        )
    )
    put = mock.put(url__startswith=COS)
    async with client() as cb:
        with pytest.raises(PermissionDeniedError) as caught:
            await cb.storage.upload("a/b.png", b"x")
    assert caught.value.code == "STORAGE_EXCEED_AUTHORITY"
    assert caught.value.message == "a/b.png: denied by rules"
    assert put.call_count == 0


def _all_text(error: BaseException) -> str:
    """Everything an error could show: message, repr, body, the whole traceback."""
    shown = "".join(traceback.format_exception(error))
    return f"{error}{error!r}{getattr(error, 'body', '')!r}{shown}"


@pytest.mark.parametrize(
    "change",
    [{"uploadUrl": None}, {"cloudObjectId": ""}, {"uploadUrl": ["not", "a", "url"]}],
    ids=["no-url", "empty-id", "bad-url"],
)
async def test_a_malformed_upload_info_never_shows_the_signature(
    mock: respx.MockRouter, change: dict[str, Any]
) -> None:
    item = {**INFO, **change}
    item = {k: v for k, v in item.items() if v is not None}
    mock.post(f"{GW}/get-objects-upload-info").mock(return_value=httpx.Response(200, json=[item]))
    put = mock.put(url__startswith=COS)
    async with client() as cb:
        with pytest.raises((ResponseValidationError, InvalidRequestError)) as caught:
            await cb.storage.upload("a/b.png", b"x")
    shown = _all_text(caught.value)
    for secret in (INFO["authorization"], INFO["token"], "q-signature=abc"):
        assert secret not in shown
    assert put.call_count == 0


@pytest.mark.parametrize(
    "change",
    [{"token": 12345}, {"authorization": "sig\r\nX-Evil: 1"}, {"token": ["a"]}],
    ids=["number", "line-break", "list"],
)
async def test_an_unsendable_signature_is_the_servers_error_and_not_shown(
    mock: respx.MockRouter, change: dict[str, Any]
) -> None:
    info_route(mock, **change)
    put = mock.put(url__startswith=COS)
    async with client() as cb:
        with pytest.raises(ResponseValidationError, match="signature") as caught:
            await cb.storage.upload("a/b.png", b"x")
    shown = _all_text(caught.value)
    assert "12345" not in shown
    assert "X-Evil" not in shown
    assert INFO["authorization"] not in shown
    assert put.call_count == 0


async def test_a_list_of_the_wrong_length_hides_the_signature(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/get-objects-upload-info").mock(
        return_value=httpx.Response(200, json=[INFO, INFO])
    )
    async with client() as cb:
        with pytest.raises(ResponseValidationError, match="2 items for 1") as caught:
            await cb.storage.upload("a/b.png", b"x")
    shown = _all_text(caught.value)
    assert INFO["token"] not in shown
    assert INFO["authorization"] not in shown
    body = caught.value.body
    assert isinstance(body, list)
    assert body[0]["cloudObjectId"] == INFO["cloudObjectId"]  # the rest is kept


def test_reprs_never_show_signed_urls() -> None:
    signed = f"{COS}/a.png?q-sign-algorithm=sha1&q-signature=s3cr3t&x-cos-security-token=t0k3n"
    url = DownloadUrl("cloud://env-1.b/a.png", signed, signed, request_id="r")
    uploaded = UploadResult(
        cloud_id="cloud://env-1.b/a.png",
        cloud_path="a.png",
        download_url=f"{COS}/a.png?sign=s3cr3t",
        download_url_encoded=None,
        size=1,
        etag=None,
        request_id="r",
    )
    batch = BatchResult((url,))
    for shown in (repr(url), repr(uploaded), repr(batch), str(batch)):
        assert "s3cr3t" not in shown
        assert "t0k3n" not in shown
        assert "cloud://env-1.b/a.png" in shown  # what the object is stays visible
    assert url.download_url == signed  # the value itself is intact


@pytest.mark.parametrize(
    "source",
    [io.StringIO("text"), 12345, ["a", "list"]],
    ids=["text-file", "int", "list"],
)
async def test_unsupported_sources_are_refused_before_sending(source: Any) -> None:
    async with client() as cb:
        # Under respx.mock any request would fail the test as unmatched.
        with respx.mock, pytest.raises(InvalidRequestError):
            await cb.storage.upload("a/b.bin", source)


async def test_an_async_progress_callback_is_refused_before_sending() -> None:
    async def on_progress(sent: int, total: int | None) -> None: ...

    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="plain function"):
            await cb.storage.upload("a/b.bin", b"x", on_progress=on_progress)


async def test_a_missing_path_is_refused_before_sending(tmp_path: Path) -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="Cannot read"):
            await cb.storage.upload("a/b.bin", tmp_path / "nope")


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["", "/abs.txt", "a//b.txt", "a/", "../x", "a/../b", "a/./b", "a\nb", 3],
)
def test_invalid_cloud_paths(path: Any) -> None:
    with pytest.raises(InvalidRequestError):
        validate_cloud_path(path)


@pytest.mark.parametrize("path", ["a.txt", "dir/sub/ü ☃.png", "a..b/c", ".hidden/x"])
def test_valid_cloud_paths(path: str) -> None:
    assert validate_cloud_path(path) == path


@pytest.mark.parametrize(
    "cloud_id",
    [
        "a/b.txt",
        "cloud://",
        "cloud://env.bucket",
        "cloud://env.bucket/",
        "https://x/y",
        "cloud://env.bucket/../x",
        "cloud://env.bucket/a/./b",
        "cloud://env.bucket/a/..",
        "cloud://../x",
        "cloud://env.bucket//x",
        "cloud://env.bucket/a\rb",
    ],
)
def test_invalid_cloud_ids(cloud_id: str) -> None:
    with pytest.raises(InvalidRequestError):
        validate_cloud_id(cloud_id)


@pytest.mark.parametrize(
    "call",
    [
        lambda cb: cb.storage.get_download_urls(["cloud://env-1.b/a/../b"]),
        lambda cb: cb.storage.delete(["cloud://env-1.b/.."]),
        lambda cb: cb.storage.copy("cloud://env-1.b/./a", "b.txt"),
        lambda cb: cb.storage.copy("a.txt", "x/../b.txt"),
        lambda cb: cb.storage.download("cloud://env-1.b/../f", "out"),
        lambda cb: cb.storage.upload("a/../b.txt", b"x"),
    ],
    ids=["urls", "delete", "copy-src", "copy-dst", "download", "upload"],
)
async def test_dot_segments_are_refused_before_sending(call: Any) -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="must not be"):
            await call(cb)


def test_stream_refuses_a_dot_segment_and_a_bad_chunk_size() -> None:
    cb = client()
    with pytest.raises(InvalidRequestError):
        cb.storage.stream("cloud://env-1.b/../x")
    with pytest.raises(InvalidRequestError, match="chunk_size"):
        cb.storage.stream("cloud://env-1.b/x", chunk_size=-1)


def test_content_type_guess_is_table_based() -> None:
    assert guess_content_type("a/b.png") == "image/png"
    assert guess_content_type("a/b.json") == "application/json"
    assert guess_content_type("a/noext") == "application/octet-stream"


def test_object_store_error_parsing() -> None:
    assert parse_object_store_error(
        "<Error>\n  <Code>NoSuchKey</Code>\n  <Message>gone</Message>\n</Error>"
    ) == {"code": "NoSuchKey", "message": "gone"}
    assert parse_object_store_error("not xml") == {}


# --- temporary URLs and batches -------------------------------------------------------


async def test_download_urls_are_batched_by_50_in_order_with_max_age(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/get-objects-download-info").mock(side_effect=download_answer)
    ids = cloud_ids(120)
    async with client() as cb:
        result = await cb.storage.get_download_urls(ids, max_age=3600)
    assert [len(body(call)) for call in route.calls] == [50, 50, 20]
    assert body(route.calls[0])[0] == {"cloudObjectId": ids[0], "maxAge": 3600}
    assert len(result) == 120
    failed = result.failed
    assert [e.key for e in failed] == [i for i in ids if i.endswith("7.txt")]
    assert failed[0] == ItemError(
        key=ids[7], code="OBJECT_NOT_EXIST", message="Object not exist.", request_id="r50"
    )
    assert isinstance(failed[0].to_exception(), NotFoundError)
    first = result[0]
    assert first == DownloadUrl(
        cloud_id=ids[0], download_url=url_of(ids[0]), download_url_encoded=None, request_id="r50"
    )
    assert result[119] == DownloadUrl(ids[119], url_of(ids[119]), None, request_id="r20")
    assert not result.ok
    with pytest.raises(StorageBatchError, match="12 of 120 items failed") as caught:
        result.raise_for_errors()
    assert caught.value.errors == tuple(failed)


async def test_max_age_is_omitted_by_default_and_its_field_is_configurable(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{GW}/get-objects-download-info").mock(side_effect=download_answer)
    async with client() as cb:
        ok = await cb.storage.get_download_urls(cloud_ids(2))
        await cb.storage.with_options(max_age_field="max_age", batch_size=1).get_download_urls(
            cloud_ids(2), max_age=60
        )
    assert body(route.calls[0]) == [{"cloudObjectId": i} for i in cloud_ids(2)]
    assert [body(c) for c in route.calls[1:]] == [
        [{"cloudObjectId": i, "max_age": 60}] for i in cloud_ids(2)
    ]
    assert ok.raise_for_errors() == ok.succeeded
    assert len(ok.succeeded) == 2


@pytest.mark.parametrize("bad", [0, -5, True])
async def test_bad_max_age_is_refused(bad: Any) -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError):
            await cb.storage.get_download_urls(cloud_ids(1), max_age=bad)


async def test_a_single_string_is_not_taken_for_a_list() -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="list"):
            await cb.storage.delete("cloud://env-1.b/a.txt")


async def test_info_calls_are_retried(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/get-objects-download-info").mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "0"}), download_answer],  # type: ignore[list-item]
    )
    async with client() as cb:
        result = await cb.storage.get_download_urls(cloud_ids(1))
    assert route.call_count == 2
    assert result.ok


async def test_a_failed_later_chunk_keeps_the_earlier_results(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/delete-objects").mock(
        side_effect=[
            httpx.Response(200, json=[{"cloudObjectId": i} for i in cloud_ids(2)]),
            httpx.Response(500, json={"code": "SYS_ERR", "message": "down", "requestId": "r9"}),
        ]
    )
    ids = cloud_ids(5)
    async with client() as cb:
        result = await cb.storage.with_options(batch_size=2).delete(ids)
    assert route.call_count == 2  # not retried (a delete), and the third chunk not sent
    assert [item.cloud_id for item in result.succeeded] == ids[:2]
    assert [e.key for e in result.failed] == ids[2:]
    error = result.failed[0]
    assert (error.code, error.message, error.request_id) == ("SYS_ERR", "down", "r9")
    assert isinstance(error.exception, InternalServerError)
    assert error.to_exception() is error.exception


async def test_a_failed_first_chunk_raises(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/delete-objects").mock(side_effect=httpx.ConnectError("refused"))
    async with client(max_retries=0) as cb:
        with pytest.raises(APIConnectionError):
            await cb.storage.delete(cloud_ids(3))


@pytest.mark.parametrize(
    "answer",
    [{"not": "a list"}, [{"cloudObjectId": "x"}], ["str", "str"], None],
    ids=["object", "short", "not-objects", "empty"],
)
async def test_a_malformed_batch_answer_raises(mock: respx.MockRouter, answer: Any) -> None:
    mock.post(f"{GW}/delete-objects").mock(
        return_value=httpx.Response(200, content=json.dumps(answer).encode() if answer else b"")
    )
    async with client() as cb:
        with pytest.raises(ResponseValidationError, match="expected a list of as many objects"):
            await cb.storage.delete(cloud_ids(2))


@pytest.mark.parametrize(
    "item",
    [
        {"downloadUrl": f"{COS}/a?sign=s3cr3t"},
        {"cloudObjectId": "", "downloadUrl": f"{COS}/a?sign=s3cr3t"},
        {"cloudObjectId": "x", "downloadUrlEncoded": f"{COS}/a?sign=s3cr3t"},
        {"cloudObjectId": "x", "downloadUrl": "/relative"},
        {"cloudObjectId": "x", "downloadUrl": {"not": "a url"}},
    ],
    ids=["no-id", "empty-id", "no-url", "relative-url", "object-url"],
)
async def test_an_item_of_the_wrong_shape_raises(mock: respx.MockRouter, item: Any) -> None:
    mock.post(f"{GW}/get-objects-download-info").mock(
        return_value=httpx.Response(200, json=[item], headers={"X-Request-Id": "r-bad"})
    )
    async with client() as cb:
        with pytest.raises(ResponseValidationError) as caught:
            await cb.storage.get_download_urls(cloud_ids(1))
    assert caught.value.request_id == "r-bad"
    assert "s3cr3t" not in _all_text(caught.value)


async def test_items_keep_unknown_keys_and_their_own_request_id(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/delete-objects").mock(
        return_value=httpx.Response(
            200,
            json=[
                {"cloudObjectId": cloud_ids(2)[0], "requestId": "own", "size": 3},
                {"code": "OBJECT_NOT_EXIST", "message": "gone", "cloudObjectId": "x", "key": "k"},
            ],
            headers={"X-Request-Id": "r-call"},
        )
    )
    async with client() as cb:
        result = await cb.storage.delete(cloud_ids(2))
    deleted, error = result
    assert deleted == DeletedObject(cloud_ids(2)[0], request_id="own", extra={"size": 3})
    # The server does not get to set what this side fills (the item's key).
    assert error == ItemError(
        key=cloud_ids(2)[1],
        code="OBJECT_NOT_EXIST",
        message="gone",
        request_id="r-call",
        extra={"cloudObjectId": "x"},
    )


async def test_a_malformed_later_chunk_keeps_the_earlier_results(
    mock: respx.MockRouter,
) -> None:
    mock.post(f"{GW}/delete-objects").mock(
        side_effect=[
            httpx.Response(200, json=[{"cloudObjectId": i} for i in cloud_ids(2)]),
            httpx.Response(200, json=[{"cloudObjectId": "only one"}]),
        ]
    )
    async with client() as cb:
        result = await cb.storage.with_options(batch_size=2).delete(cloud_ids(4))
    assert [item.cloud_id for item in result.succeeded] == cloud_ids(2)
    assert [e.key for e in result.failed] == cloud_ids(4)[2:]
    assert all(isinstance(e.exception, ResponseValidationError) for e in result.failed)


async def test_an_error_object_with_200_raises_the_mapped_error(mock: respx.MockRouter) -> None:
    mock.post(f"{GW}/delete-objects").mock(
        return_value=httpx.Response(200, json={"code": "ACTION_FORBIDDEN", "message": "no"})
    )
    async with client() as cb:
        with pytest.raises(PermissionDeniedError):
            await cb.storage.delete(cloud_ids(1))


async def test_copy_sends_the_item_and_returns_the_copy(mock: respx.MockRouter) -> None:
    route = mock.post(f"{GW}/copy-objects").mock(
        side_effect=[
            httpx.Response(200, json=[{"cloudObjectId": "cloud://env-1.b/new.txt"}]),
            httpx.Response(200, json=[{"code": "OBJECT_NOT_EXIST", "message": "gone"}]),
        ]
    )
    async with client() as cb:
        copied = await cb.storage.copy("old.txt", "cloud://env-1.b/new.txt", remove_original=True)
        with pytest.raises(NotFoundError, match="gone"):
            await cb.storage.copy("gone.txt", "x.txt", overwrite=False)
        with pytest.raises(InvalidRequestError):
            await cb.storage.copy("/abs", "x.txt")
    assert body(route.calls[0]) == [
        {
            "srcPath": "old.txt",
            "dstPath": "cloud://env-1.b/new.txt",
            "overwrite": True,
            "removeOriginal": True,
        }
    ]
    assert body(route.calls[1])[0]["overwrite"] is False
    assert copied == CopiedObject("cloud://env-1.b/new.txt", request_id=copied.request_id)
    assert route.call_count == 2


# --- download and stream --------------------------------------------------------------


class _BreaksAfter(httpx.AsyncByteStream):
    """A response body that fails after its first chunk, like a dropped connection."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"first part"
        raise httpx.ReadError("connection reset")


def _download_info(mock: respx.MockRouter, url: str) -> None:
    mock.post(f"{GW}/get-objects-download-info").mock(
        return_value=httpx.Response(
            200,
            json=[{"cloudObjectId": "cloud://env-1.b/f.txt", "downloadUrl": url}],
            headers={"X-Request-Id": "r-dl"},
        )
    )


async def test_stream_gets_the_url_without_credentials(mock: respx.MockRouter) -> None:
    _download_info(mock, f"{COS}/f.txt?sign=abc")
    get = mock.get(f"{COS}/f.txt").mock(
        return_value=httpx.Response(
            200, content=b"0123456789", headers={"Content-Type": "text/plain"}
        )
    )
    async with client() as cb:
        async with cb.storage.stream("cloud://env-1.b/f.txt", chunk_size=4) as body:
            chunks = [chunk async for chunk in body]
            assert (body.size, body.content_type) == (10, "text/plain")
            assert (body.request_id, body.download_url) == ("r-dl", f"{COS}/f.txt?sign=abc")
        with pytest.raises(StreamClosedError, match="async with"):
            cb.storage.stream("cloud://env-1.b/f.txt").__aiter__()
        with pytest.raises(StreamClosedError, match="closed"):
            await body.__anext__()
    assert chunks == [b"0123", b"4567", b"89"]
    sent = get.calls.last.request
    assert sent.url.params["sign"] == "abc"
    assert sent.headers["Accept-Encoding"] == "identity"
    assert "Authorization" not in sent.headers


async def test_a_broken_download_leaves_the_target_untouched(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    _download_info(mock, f"{COS}/f.txt")
    mock.get(f"{COS}/f.txt").mock(return_value=httpx.Response(200, stream=_BreaksAfter()))
    target = tmp_path / "f.txt"
    target.write_bytes(b"previous")
    async with client() as cb:
        with pytest.raises(StreamInterruptedError, match="broke after 10 bytes"):
            await cb.storage.with_options(chunk_size=5).download("cloud://env-1.b/f.txt", target)
    assert target.read_bytes() == b"previous"
    assert listing(tmp_path) == ["f.txt"]


async def test_download_replaces_the_target_and_reports_progress(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    _download_info(mock, f"{COS}/f.txt")
    mock.get(f"{COS}/f.txt").mock(return_value=httpx.Response(200, content=b"x" * 10))
    target = tmp_path / "f.txt"
    target.write_bytes(b"previous")
    seen: list[tuple[int, int | None]] = []
    async with client() as cb:
        result = await cb.storage.with_options(chunk_size=4).download(
            "cloud://env-1.b/f.txt", target, on_progress=lambda s, t: seen.append((s, t))
        )
    assert target.read_bytes() == b"x" * 10
    assert (result.path, result.size) == (target, 10)
    assert seen == [(4, 10), (8, 10), (10, 10)]


@pytest.mark.parametrize("options", [{"batch_size": 0}, {"chunk_size": 0}, {"max_age_field": ""}])
async def test_bad_storage_options_are_refused(options: dict[str, Any]) -> None:
    async with client() as cb:
        with pytest.raises(ConfigurationError):
            cb.storage.with_options(**options)


class _Stalls(httpx.AsyncByteStream):
    """A response body that sends a little, then nothing (until cancelled)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"some bytes"
        await anyio.sleep(3600)
        yield b"never"


async def test_a_cancelled_download_leaves_no_partial_file(
    mock: respx.MockRouter, tmp_path: Path
) -> None:
    _download_info(mock, f"{COS}/f.txt")
    mock.get(f"{COS}/f.txt").mock(return_value=httpx.Response(200, stream=_Stalls()))
    async with client() as cb:
        with anyio.move_on_after(0.3) as scope:
            await cb.storage.with_options(chunk_size=4).download(
                "cloud://env-1.b/f.txt", tmp_path / "f.txt"
            )
    assert scope.cancelled_caught
    assert listing(tmp_path) == []
