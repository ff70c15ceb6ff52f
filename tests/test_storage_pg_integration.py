"""PG-mode storage over real HTTP, against the local gateway (``LocalCloudBase``).

The gateway serves PG-mode storage as ``pg-storage-notes`` describes it (its own raw
HTTP tests check that), refusing more than 100 names per removal and 500 paths per
signing request: batches that go through prove the SDK split them.
"""

from __future__ import annotations

import gc
import hashlib
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from cloudbase_async import (
    BadRequestError,
    CloudBase,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    ItemError,
    NotFoundError,
    ObjectEntry,
    PermissionDeniedError,
    SignedUrl,
)
from cloudbase_async.local import LocalCloudBase
from tests.local._memory import LARGE_MIB, MiB, hash_file, measured, write_random_file
from tests.support.pool import checked_out

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalCloudBase]:
    with LocalCloudBase() as local:
        yield local


@pytest.fixture
def local(gateway: LocalCloudBase) -> LocalCloudBase:
    gateway.reset()
    return gateway


def admin(local: LocalCloudBase, **options: object) -> CloudBase:
    return local.client(max_retries=0, **options)  # type: ignore[arg-type]


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def test_buckets_round_trip(local: LocalCloudBase) -> None:
    async with admin(local) as cb:
        buckets = cb.storage.buckets
        assert await buckets.create("photos", public=True, file_size_limit="1MB") == "photos"
        await buckets.create("docs", allowed_mime_types=["text/*"])
        assert [b.id for b in await buckets.list(sort_column="id", sort_order="desc")] == [
            "photos",
            "docs",
        ]
        assert [b.id for b in await buckets.list(search="pho")] == ["photos"]
        assert [b.id for b in await buckets.list(limit=1, offset=1, sort_column="id")] == ["photos"]
        photos = await buckets.get("photos")
        assert (photos.public, photos.file_size_limit, photos.type) == (True, 10**6, "STANDARD")
        await buckets.update("photos", public=False, file_size_limit=None)
        photos = await buckets.get("photos")
        assert (photos.public, photos.file_size_limit) == (False, None)
        with pytest.raises(ConflictError):
            await buckets.create("docs")
        await cb.storage.bucket("docs").upload("keep.txt", b"x")
        with pytest.raises(ConflictError):
            await buckets.delete("docs")  # not empty
        await buckets.delete("photos")
        with pytest.raises(NotFoundError) as caught:
            await buckets.get("photos")
        assert caught.value.code == "STORAGE_BUCKET_NOT_FOUND"
        assert checked_out(cb) == 0


async def test_objects_round_trip(local: LocalCloudBase, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"from a path " * 1000)

    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"async ", b"iterable"):
            yield piece

    async with admin(local) as cb:
        await cb.storage.buckets.create("docs")
        docs = cb.storage.with_options(chunk_size=1000).bucket("docs")
        up = await docs.upload("目录/a b#?.txt", b"hello", metadata={"who": "张三"})
        assert (up.path, up.full_path) == ("目录/a b#?.txt", "docs/目录/a b#?.txt")
        await docs.upload("/bin//path.bin", source)
        await docs.upload("bin/iter.bin", pieces())
        with pytest.raises(ConflictError):
            await docs.upload("bin/iter.bin", b"again")
        await docs.upload("bin/iter.bin", b"replaced", upsert=True)
        await docs.update("bin/path.bin", b"updated", content_type="application/x-new")
        with pytest.raises(NotFoundError):
            await docs.update("bin/never.bin", b"x")

        info = await docs.info("目录/a b#?.txt")
        assert (info.size, info.content_type, info.metadata) == (5, "text/plain", {"who": "张三"})
        assert info.cache_control == "max-age=3600"
        assert await docs.exists("bin/iter.bin")
        assert not await docs.exists("bin/never.bin")

        async with docs.stream("bin/iter.bin") as body:
            assert b"".join([chunk async for chunk in body]) == b"replaced"
        saved = await docs.download("bin/path.bin", tmp_path)
        assert (saved.path.read_bytes(), saved.content_type) == (b"updated", "application/x-new")

        top = await docs.list(with_delimiter=True)
        assert sorted(f.name for f in top.folders) == ["bin/", "目录/"]
        inside = await docs.list("bin/", sort_column="name")
        assert [o.name for o in inside.objects] == ["bin/iter.bin", "bin/path.bin"]

        copied = await docs.copy("bin/iter.bin", "copies/iter.bin", metadata={"copy": True})
        assert copied.full_path == "docs/copies/iter.bin"
        assert (await docs.info("copies/iter.bin")).metadata == {"copy": True}
        await cb.storage.buckets.create("archive")
        moved = await docs.move("copies/iter.bin", "old/iter.bin", to_bucket="archive")
        assert (moved.bucket, moved.full_path) == ("archive", "archive/old/iter.bin")
        assert not await docs.exists("copies/iter.bin")
        async with cb.storage.bucket("archive").stream("old/iter.bin") as body:
            assert b"".join([chunk async for chunk in body]) == b"replaced"
        assert checked_out(cb) == 0
    assert listing(tmp_path) == ["path.bin", "source.bin"]


async def test_pages_follow_the_cursor(local: LocalCloudBase) -> None:
    async with admin(local) as cb:
        await cb.storage.buckets.create("docs")
        docs = cb.storage.bucket("docs")
        for i in range(7):
            await docs.upload(f"p/{i}.txt", b"x")
        pages = [page async for page in docs.list_pages("p/", limit=3)]
    assert [len(p.objects) for p in pages] == [3, 3, 1]
    assert [o.name for p in pages for o in p.objects] == [f"p/{i}.txt" for i in range(7)]


async def test_removal_past_100_names_is_batched(local: LocalCloudBase) -> None:
    async with admin(local) as cb:
        await cb.storage.buckets.create("many")
        many = cb.storage.bucket("many")
        names = [f"r/{i:03}.txt" for i in range(230)]
        for name in names:
            await many.upload(name, b"r")
        # The gateway refuses more than 100 names per request, as CloudBase does.
        result = await many.remove([*names, "r/missing.txt"])
        assert len(result) == 231
        assert [entry.name for entry in result.succeeded] == names
        assert all(isinstance(entry, ObjectEntry) for entry in result.succeeded)
        [missing] = result.failed
        assert (missing.key, missing.code) == ("r/missing.txt", "not_found")
        assert (await many.list("r/")).objects == ()


async def test_signing_past_500_paths_is_batched(local: LocalCloudBase) -> None:
    async with admin(local) as cb:
        await cb.storage.buckets.create("signed")
        signed = cb.storage.bucket("signed")
        present = [f"s/{i}.txt" for i in range(3)]
        for name in present:
            await signed.upload(name, name.encode())
        paths = [*present, *(f"s/missing-{i}" for i in range(1100))]
        # The gateway refuses more than 500 paths per request, as CloudBase does.
        result = await signed.create_signed_urls(paths, 60)
    assert len(result) == 1103
    assert [item.path for item in result.succeeded] == present
    assert len(result.failed) == 1100
    assert all(isinstance(item, ItemError) and item.code == "not_found" for item in result.failed)
    async with httpx.AsyncClient() as plain:  # no credentials at all
        for item in result.succeeded:
            assert isinstance(item, SignedUrl)
            answer = await plain.get(item.signed_url)
            assert answer.content == item.path.encode()


async def test_signed_and_public_urls_need_no_credentials(local: LocalCloudBase) -> None:
    async with admin(local) as cb:
        await cb.storage.buckets.create("open", public=True)
        await cb.storage.buckets.create("closed")
        opened, closed = cb.storage.bucket("open"), cb.storage.bucket("closed")
        await opened.upload("p/a b.txt", b"public bytes")
        await closed.upload("p/a b.txt", b"private bytes")
        one = await closed.create_signed_url("p/a b.txt", 60, download="saved as.txt")
        public = opened.get_public_url("p/a b.txt", download=True)
        private = closed.get_public_url("p/a b.txt")
    assert one.signed_url.startswith(local.url + "/v1/storages/object/sign/closed/p/a%20b.txt?")
    async with httpx.AsyncClient() as plain:
        answer = await plain.get(one.signed_url)
        assert answer.content == b"private bytes"
        assert "saved%20as.txt" in answer.headers["content-disposition"]
        answer = await plain.get(public)
        assert answer.content == b"public bytes"
        assert answer.headers["content-disposition"].startswith("attachment")
        answer = await plain.get(private)  # Supabase's shape: 400, the real status inside
        assert answer.status_code == 400
        assert answer.json()["statusCode"] == "404"


def forged(token: str) -> str:
    """``token`` with the first character of its signature changed."""
    head, claims, signature = token.split(".")
    return f"{head}.{claims}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


async def test_a_signed_upload_is_sent_without_authorization(local: LocalCloudBase) -> None:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        admin(local, http_client=http) as cb,
    ):
        await cb.storage.buckets.create("inbox")
        inbox = cb.storage.bucket("inbox")
        grant = await inbox.create_signed_upload_url("drop/file.bin")
        assert "Authorization" in seen[-1].headers  # signing needs the credential
        result = await inbox.upload_to_signed_url(grant.path, grant.token, b"dropped")
        upload = seen[-1]
        assert upload.method == "PUT"
        assert "Authorization" not in upload.headers
        assert upload.url.params["token"] == grant.token
        assert result.full_path == "inbox/drop/file.bin"
        async with inbox.stream("drop/file.bin") as body:
            assert b"".join([chunk async for chunk in body]) == b"dropped"
        with pytest.raises(ConflictError):  # the grant did not allow replacing
            await inbox.upload_to_signed_url(grant.path, grant.token, b"again")
        with pytest.raises(BadRequestError):  # the token is the only credential
            await inbox.upload_to_signed_url(grant.path, forged(grant.token), b"x")
        with pytest.raises(BadRequestError):  # for that one path only
            await inbox.upload_to_signed_url("drop/other.bin", grant.token, b"x")
        again = await inbox.create_signed_upload_url("drop/file.bin", upsert=True)
        await inbox.upload_to_signed_url(again.path, again.token, b"replaced")
        assert (await inbox.info("drop/file.bin")).size == len(b"replaced")


async def test_dot_segments_are_refused_before_anything_is_sent(local: LocalCloudBase) -> None:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        admin(local, http_client=http) as cb,
    ):
        await cb.storage.buckets.create("docs")
        await cb.storage.buckets.create("other")
        docs = cb.storage.bucket("docs")
        sent = len(seen)
        # "docs/../other/x" would be sent as /object/other/x: another bucket.
        for name in ("../other/x", "a/../../other/x", "a/./b", ".."):
            with pytest.raises(InvalidRequestError):
                await docs.upload(name, b"x")
            with pytest.raises(InvalidRequestError):
                await docs.download(name, "unused")
            with pytest.raises(InvalidRequestError):
                await docs.remove([name])
        with pytest.raises(InvalidRequestError):
            cb.storage.bucket("..")
        assert len(seen) == sent
        assert (await cb.storage.bucket("other").list()).objects == ()


async def test_both_error_shapes_over_the_wire(local: LocalCloudBase, tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_bytes(b"old")
    async with admin(local) as cb, local.client(publishable_key=True, max_retries=0) as anon:
        await cb.storage.buckets.create("docs")
        docs = cb.storage.bucket("docs")
        await docs.upload("a.txt", b"a")
        # The gateway's {code, message, requestId}.
        with pytest.raises(NotFoundError) as missing_bucket:
            await cb.storage.bucket("nothing").info("a.txt")
        assert (missing_bucket.value.status_code, missing_bucket.value.code) == (
            404,
            "STORAGE_BUCKET_NOT_FOUND",
        )
        with pytest.raises(PermissionDeniedError) as denied:
            await anon.storage.bucket("docs").upload("b.txt", b"b")
        assert denied.value.code == "STORAGE_PERMISSION_DENIED"
        with pytest.raises(PermissionDeniedError):
            await anon.storage.buckets.create("mine")
        # Storage's own {statusCode, error, message}: HTTP 400, the real status inside.
        with pytest.raises(ConflictError) as duplicate:
            await docs.upload("a.txt", b"again")
        assert (duplicate.value.status_code, duplicate.value.code) == (409, "Duplicate")
        assert duplicate.value.body == {
            "statusCode": "409",
            "error": "Duplicate",
            "message": "The resource already exists",
        }
        with pytest.raises(NotFoundError) as gone:
            await docs.download("never.txt", target)
        assert (gone.value.status_code, gone.value.code) == (404, "not_found")
        assert target.read_bytes() == b"old"
        assert listing(tmp_path) == ["kept.txt"]


async def test_retries_over_the_wire(local: LocalCloudBase) -> None:
    async with local.client() as cb:  # the default retry policy
        await cb.storage.buckets.create("docs")
        docs = cb.storage.bucket("docs")
        local.faults.add("POST /v1/storages/object/docs/*", status=503, retry_after=0)
        with pytest.raises(InternalServerError):
            await docs.upload("create.txt", b"x")  # a create is never repeated once sent
        assert not await docs.exists("create.txt")
        local.faults.add("POST /v1/storages/object/docs/*", status=503, retry_after=0)
        await docs.upload("upsert.txt", b"x", upsert=True)  # replaceable: retried
        local.faults.add("POST /v1/storages/object/list/*", status=503, retry_after=0)
        assert [o.name for o in (await docs.list()).objects] == ["upsert.txt"]
        local.faults.add("DELETE /v1/storages/object/docs", status=503, retry_after=0)
        with pytest.raises(InternalServerError):
            await docs.remove(["upsert.txt"])
        assert await docs.exists("upsert.txt")


@contextmanager
def left_to_the_gc() -> Iterator[list[str]]:
    """The ResourceWarnings about this SDK's async generators or files left unclosed."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        yield found
        gc.collect()
    found.extend(
        str(w.message)
        for w in seen
        if issubclass(w.category, ResourceWarning) and "cloudbase_async" in str(w.message)
    )


async def test_leaving_a_stream_or_a_listing_early_leaves_nothing(local: LocalCloudBase) -> None:
    async with admin(local) as cb:
        await cb.storage.buckets.create("docs")
        docs = cb.storage.bucket("docs")
        for i in range(3):
            await docs.upload(f"l/{i}.bin", b"z" * (2 * MiB))
        with left_to_the_gc() as found:
            async with docs.stream("l/0.bin", chunk_size=1024) as body:
                async for _ in body:
                    break
            assert checked_out(cb) == 0  # at once, no garbage collection needed
            with anyio.CancelScope() as scope:
                async with docs.stream("l/1.bin") as body:
                    async for _ in body:
                        scope.cancel()
            async for _ in docs.list_pages("l/", limit=1):
                break
        assert found == []
        assert checked_out(cb) == 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_large_round_trip_in_constant_memory(
    local: LocalCloudBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = LARGE_MIB * MiB
    source = tmp_path / "large.bin"
    source_hash = write_random_file(source, size)
    target = tmp_path / "copy.bin"
    progress: list[int] = []
    async with local.client(timeout=300) as cb:
        await cb.storage.buckets.create("big")
        big = cb.storage.bucket("big")
        with measured() as peak:
            started = time.perf_counter()
            uploaded = await big.upload(
                "large.bin", source, on_progress=lambda sent, _: progress.append(sent)
            )
            upload_s = time.perf_counter() - started
            started = time.perf_counter()
            streamed = hashlib.sha256()
            async with big.stream("large.bin") as body:
                async for chunk in body:
                    streamed.update(chunk)
                assert body.size == size
            stream_s = time.perf_counter() - started
            started = time.perf_counter()
            saved = await big.download("large.bin", target)
            download_s = time.perf_counter() - started
        assert checked_out(cb) == 0
    assert uploaded.full_path == "big/large.bin"
    assert progress[-1] == size
    assert streamed.hexdigest() == source_hash
    assert saved.size == size
    assert hash_file(target) == source_hash
    with capsys.disabled():
        print(
            f"\n[PG {LARGE_MIB} MiB through the local gateway, client and server in one "
            f"process] upload {upload_s:.1f} s, stream {stream_s:.1f} s, download "
            f"{download_s:.1f} s; heap peak growth {peak.heap / MiB:.1f} MiB, RSS growth "
            f"{peak.rss / MiB:.1f} MiB"
        )
    # Both sides of the wire are in this process: generous bounds, far below the size.
    assert peak.heap < 32 * MiB
    assert peak.rss < 64 * MiB
