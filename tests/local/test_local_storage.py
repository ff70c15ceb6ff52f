"""Classic storage of the local gateway through this SDK (and raw HTTP) on loopback."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cloudbase_async import (
    BadRequestError,
    CloudBase,
    DeletedObject,
    ItemError,
    NotFoundError,
    PermissionDeniedError,
    StorageBatchError,
)
from tests.local._memory import LARGE_MIB, MiB, hash_file, measured, write_random_file
from tests.local._serve_data import ADMIN, ANON, ENV, DataServer, serve_data, user
from tests.support.pool import checked_out

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

BUCKET = "local-bucket"
PREFIX = f"cloud://{ENV}.{BUCKET}/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataServer]:
    with serve_data(tmp_path_factory.mktemp("data")) as running:
        yield running


@pytest.fixture
def url(server: DataServer) -> str:
    server.storage.reset()
    return server.url


def client(url: str, key: str = ADMIN) -> CloudBase:
    return CloudBase(env=ENV, base_url=url, api_key=key, max_retries=0)


async def read_all(cb: CloudBase, cloud_id: str) -> bytes:
    async with cb.storage.stream(cloud_id, chunk_size=7) as body:
        return b"".join([chunk async for chunk in body])


async def upload_info(raw: httpx.AsyncClient, path: str, **signed: str) -> dict[str, Any]:
    item: dict[str, Any] = {"objectId": path}
    if signed:
        item["signedHeader"] = {k.replace("_", "-"): [v] for k, v in signed.items()}
    response = await raw.post(
        "/v1/storages/get-objects-upload-info",
        json=[item],
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == 200
    (info,) = response.json()
    return dict(info)


def cos_headers(info: dict[str, Any], **overrides: str) -> dict[str, str]:
    """The headers the js-sdk sends with its PUT to ``uploadUrl``."""
    headers = {
        "authorization": info["authorization"],
        "x-cos-security-token": info["token"],
        "x-cos-meta-fileid": info["cloudObjectMeta"],
    }
    headers.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return headers


def altered(signed: str) -> str:
    """``signed`` with its last (hex) character changed, whatever that character was."""
    return signed[:-1] + ("0" if signed[-1] != "0" else "1")


async def test_every_source_kind_round_trips(url: str, tmp_path: Path) -> None:
    source_file = tmp_path / "source.bin"
    source_file.write_bytes(b"from a path " * 1000)

    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"async ", b"iterable ", b"bytes"):
            yield piece

    cases: list[tuple[str, Any, dict[str, Any], bytes]] = [
        ("kinds/bytes.txt", b"hello bytes", {}, b"hello bytes"),
        ("kinds/path.bin", source_file, {}, source_file.read_bytes()),
        ("kinds/file object.bin", io.BytesIO(b"from a file"), {}, b"from a file"),
        ("kinds/sized.bin", pieces(), {"size": 20}, b"async iterable bytes"),
        ("kinds/ünïcode #?% ☃.txt", b"xyz", {}, b"xyz"),
    ]
    async with client(url) as cb:
        storage = cb.storage.with_options(chunk_size=1000)
        for cloud_path, source, kwargs, expected in cases:
            result = await storage.upload(cloud_path, source, **kwargs)
            assert result.cloud_id == PREFIX + cloud_path
            assert result.size == len(expected)
            assert result.etag == f'"{hashlib.md5(expected).hexdigest()}"'
            assert await read_all(cb, result.cloud_id) == expected
            # Download URLs need no credential at all.
            async with httpx.AsyncClient() as anonymous:
                fetched = await anonymous.get(result.download_url or "")
            assert (fetched.status_code, fetched.content) == (200, expected)
        assert checked_out(cb) == 0


async def test_unsized_bodies_are_taken_chunked(url: str) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"no "
        yield b"length"

    async with client(url) as cb:
        result = await cb.storage.upload("unsized.bin", pieces())
        assert await read_all(cb, result.cloud_id) == b"no length"


async def test_stream_download_and_progress(url: str, tmp_path: Path) -> None:
    data = random.Random(1).randbytes(3 * MiB + 5)
    calls: list[tuple[int, int | None]] = []
    async with client(url) as cb:
        result = await cb.storage.upload(
            "progress/data.bin", data, on_progress=lambda s, t: calls.append((s, t))
        )
        async with cb.storage.stream(result.cloud_id) as body:
            first = await body.__aiter__().__anext__()
            assert body.size == len(data)
            assert body.content_type == "application/octet-stream"
        assert data.startswith(first)
        downloaded = await cb.storage.download(result.cloud_id, tmp_path)
        assert checked_out(cb) == 0
    assert calls[-1] == (len(data), len(data))
    assert await anyio.Path(downloaded.path).read_bytes() == data
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == ["data.bin"]


async def test_the_put_checks_what_was_signed(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as raw:
        info = await upload_info(raw, "signed.txt", content_type="text/plain", content_length="5")
        assert info["cloudObjectId"] == PREFIX + "signed.txt"
        assert "q-signature=" in info["authorization"]
        good = cos_headers(info, content_type="text/plain")
        refused = {
            "wrong content type": (cos_headers(info, content_type="text/html"), b"hello"),
            "wrong length": (cos_headers(info, content_type="text/plain"), b"hello!"),
            "no security token": (
                {k: v for k, v in good.items() if k != "x-cos-security-token"},
                b"hello",
            ),
            "other file id": ({**good, "x-cos-meta-fileid": "another"}, b"hello"),
            "tampered": ({**good, "authorization": altered(good["authorization"])}, b"hello"),
        }
        for case, (headers, body) in refused.items():
            response = await raw.put(info["uploadUrl"], content=body, headers=headers)
            assert response.status_code == 403, case
            assert "<Code>SignatureDoesNotMatch</Code>" in response.text, case
            assert response.headers["content-type"].startswith("application/xml"), case
        unsigned = await raw.put(info["uploadUrl"], content=b"hello")
        assert unsigned.status_code == 403
        assert "<Code>AccessDenied</Code>" in unsigned.text
        missing = await raw.get(info["downloadUrl"])
        assert missing.status_code == 404
        assert "<Code>NoSuchKey</Code>" in missing.text

        stored = await raw.put(info["uploadUrl"], content=b"hello", headers=good)
        assert stored.status_code == 200
        assert stored.headers["etag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
        fetched = await raw.get(info["downloadUrl"])
        assert fetched.content == b"hello"
        assert fetched.headers["content-type"] == "text/plain"
        assert fetched.headers["x-cos-meta-fileid"] == info["cloudObjectMeta"]


async def test_download_urls_are_signed(url: str) -> None:
    async with client(url) as cb, httpx.AsyncClient() as raw:
        first = await cb.storage.upload("dl/one.txt", b"one")
        await cb.storage.upload("dl/two.txt", b"two")
        good = first.download_url or ""
        base, _, query = good.partition("?")
        other_object = base.replace("one.txt", "two.txt") + "?" + query
        flipped = altered(good)
        longer = good.replace("t=", "t=9")  # a later expiry, same signature
        for bad in (other_object, flipped, longer, base):
            response = await raw.get(bad)
            assert response.status_code == 403, bad
        urls = await cb.storage.get_download_urls([first.cloud_id], max_age=60)
        (item,) = urls.raise_for_errors()
        assert (await raw.get(item.download_url)).content == b"one"


async def test_urls_and_grants_expire(tmp_path: Path) -> None:
    with serve_data(tmp_path, upload_url_lifetime=1) as server:
        async with client(server.url) as cb, httpx.AsyncClient(base_url=server.url) as raw:
            kept = await cb.storage.upload("exp/kept.txt", b"kept")
            (short,) = (await cb.storage.get_download_urls([kept.cloud_id], max_age=1)).succeeded
            info = await upload_info(raw, "exp/late.txt", content_type="text/plain")
            await anyio.sleep(2.5)  # both lifetimes are 1 s; integer seconds, generous margin
            late = await raw.put(
                info["uploadUrl"],
                content=b"late",
                headers=cos_headers(info, content_type="text/plain"),
            )
            assert late.status_code == 403
            assert "Request has expired" in late.text
            expired = await raw.get(short.download_url)
            assert expired.status_code == 403
            assert "Request has expired" in expired.text


async def test_missing_objects_batches_and_delete(url: str, tmp_path: Path) -> None:
    async with client(url) as cb:
        kept = await cb.storage.upload("del/a.txt", b"a")
        gone = PREFIX + "del/never.txt"
        with pytest.raises(NotFoundError) as caught:
            await cb.storage.download(gone, tmp_path / "x")
        assert caught.value.code == "OBJECT_NOT_EXIST"
        foreign = await cb.storage.get_download_urls([f"cloud://other-env.{BUCKET}/del/a.txt"])
        assert isinstance(foreign[0], ItemError)
        assert foreign[0].code == "OBJECT_NOT_EXIST"

        result = await cb.storage.with_options(batch_size=1).delete([kept.cloud_id, gone])
        assert result[0] == DeletedObject(kept.cloud_id, request_id=result[0].request_id)
        failed = result[1]
        assert isinstance(failed, ItemError)
        assert (failed.key, failed.code) == (gone, "OBJECT_NOT_EXIST")
        with pytest.raises(StorageBatchError):
            result.raise_for_errors()
        many = [PREFIX + f"n{i}.txt" for i in range(51)]
        with pytest.raises(BadRequestError):  # the gateway's 50-item limit
            await cb.storage.with_options(batch_size=51).get_download_urls(many)


async def test_copy_is_for_administrators(url: str) -> None:
    async with client(url) as cb:
        await cb.storage.upload("copy/src.txt", b"source")
        copied = await cb.storage.copy("copy/src.txt", PREFIX + "copy/dst.txt")
        assert copied.cloud_id == PREFIX + "copy/dst.txt"
        assert await read_all(cb, copied.cloud_id) == b"source"
        refused = await cb.storage.copy_many(
            [("copy/src.txt", "copy/dst.txt"), ("copy/none.txt", "x.txt")], overwrite=False
        )
        assert [getattr(item, "code", None) for item in refused] == [
            "INVALID_PARAM",
            "OBJECT_NOT_EXIST",
        ]
        moved = await cb.storage.copy("copy/src.txt", "copy/moved.txt", remove_original=True)
        assert await read_all(cb, moved.cloud_id) == b"source"
        assert isinstance(
            (await cb.storage.get_download_urls([PREFIX + "copy/src.txt"]))[0], ItemError
        )
    async with client(url, user("alice")) as alice:
        with pytest.raises(PermissionDeniedError) as denied:
            await alice.storage.copy("copy/dst.txt", "copy/mine.txt")
        assert (denied.value.status_code, denied.value.code) == (403, "ACTION_FORBIDDEN")


async def test_users_write_what_they_created(url: str) -> None:
    async with client(url, user("alice")) as alice, client(url, user("bob")) as bob:
        hers = await alice.storage.upload("users/hers.txt", b"alice's")
        await alice.storage.upload("users/hers.txt", b"alice's again")  # her own: fine
        with pytest.raises(PermissionDeniedError) as denied:
            await bob.storage.upload("users/hers.txt", b"bob's")
        assert denied.value.code == "STORAGE_EXCEED_AUTHORITY"
        (refused,) = await bob.storage.delete([hers.cloud_id])
        assert isinstance(refused, ItemError)
        assert refused.code == "STORAGE_EXCEED_AUTHORITY"
        assert await read_all(bob, hers.cloud_id) == b"alice's again"  # everyone reads
    async with client(url, ANON) as anon:
        with pytest.raises(PermissionDeniedError):
            await anon.storage.upload("users/anon.txt", b"no")
        assert await read_all(anon, hers.cloud_id) == b"alice's again"
    async with client(url) as admin:
        (deleted,) = await admin.storage.delete([hers.cloud_id])
        assert isinstance(deleted, DeletedObject)


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    with serve_data(tmp_path) as first:
        async with client(first.url) as cb:
            uploaded = await cb.storage.upload("kept/across.txt", b"still here")
    with serve_data(tmp_path) as second:
        async with client(second.url) as cb:
            assert await read_all(cb, uploaded.cloud_id) == b"still here"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_large_round_trip_in_constant_memory(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = LARGE_MIB * MiB
    source = tmp_path / "large.bin"
    source_hash = write_random_file(source, size)
    target = tmp_path / "copy.bin"
    async with client(url) as cb:
        with measured() as peak:
            uploaded = await cb.storage.upload("large/large.bin", source)
            streamed = hashlib.sha256()
            async with cb.storage.stream(uploaded.cloud_id) as body:
                async for chunk in body:
                    streamed.update(chunk)
            await cb.storage.download(uploaded.cloud_id, target)
        assert checked_out(cb) == 0
    assert uploaded.size == size
    assert streamed.hexdigest() == source_hash
    assert hash_file(target) == source_hash
    with capsys.disabled():
        print(
            f"\n[classic {LARGE_MIB} MiB, client and server in one process] heap peak growth"
            f" {peak.heap / MiB:.1f} MiB, RSS growth {peak.rss / MiB:.1f} MiB"
        )
    assert peak.heap < 32 * MiB
    assert peak.rss < 64 * MiB
