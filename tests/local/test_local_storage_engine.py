"""The storage engine on its own: signatures, the object store, both APIs without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from cloudbase_async.local._identity import Caller
from cloudbase_async.local.storage import (
    CosError,
    GatewayError,
    StorageEngine,
    SupabaseError,
    Upload,
)
from cloudbase_async.local.storage._pg_shapes import parse_size
from cloudbase_async.local.storage._signing import SignatureProblem, Signer
from cloudbase_async.local.storage._store import Exists, ObjectStore, TooLarge

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


ADMIN = Caller("admin")
ALICE = Caller("user", "alice")
ANON = Caller("anon")
ORIGIN = "http://gateway.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def chunks(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[StorageEngine]:
    engine = StorageEngine(tmp_path, env="env-1", secret=b"s3cr3t")
    yield engine
    engine.close()


# ------------------------------------------------------------------------ signatures


def test_upload_signatures_cover_the_signed_header_values() -> None:
    clock = Clock()
    signer = Signer(b"key", clock)
    headers = {"Content-Type": "image/png", "x-cos-meta-fileid": "m", "x-cos-security-token": "t"}
    authorization = signer.upload_authorization("/b/k.png", headers, 60)
    sent = {name.lower(): value for name, value in headers.items()}
    assert signer.check_upload("/b/k.png", authorization, sent).headers == sent
    for path, request in (
        ("/b/other.png", sent),
        ("/b/k.png", {**sent, "content-type": "text/plain"}),
        ("/b/k.png", {**sent, "x-cos-meta-fileid": "n"}),
    ):
        with pytest.raises(SignatureProblem) as caught:
            signer.check_upload(path, authorization, request)
        assert caught.value.code == "SignatureDoesNotMatch"
    with pytest.raises(SignatureProblem, match="no Authorization"):
        signer.check_upload("/b/k.png", None, sent)
    unlisted = authorization.replace(
        "q-header-list=content-type;x-cos-meta-fileid;x-cos-security-token",
        "q-header-list=content-type",
    )
    with pytest.raises(SignatureProblem, match="required headers"):
        signer.check_upload("/b/k.png", unlisted, sent)
    with pytest.raises(SignatureProblem) as other_key:
        Signer(b"other", clock).check_upload("/b/k.png", authorization, sent)
    assert other_key.value.code == "SignatureDoesNotMatch"
    clock.now += 61
    with pytest.raises(SignatureProblem, match="expired"):
        signer.check_upload("/b/k.png", authorization, sent)


def test_download_signatures_and_tokens_expire_and_keep_to_their_purpose() -> None:
    clock = Clock()
    signer = Signer(b"key", clock)
    query = dict(part.split("=") for part in signer.download_query("/b/k", 10).split("&"))
    signer.check_download("/b/k", query["t"], query["sign"])
    with pytest.raises(SignatureProblem):
        signer.check_download("/b/other", query["t"], query["sign"])
    token = signer.token("download", {"url": "b/k"}, 10)
    assert signer.check_token("download", token)["url"] == "b/k"
    with pytest.raises(SignatureProblem, match="invalid token"):
        signer.check_token("upload", token)  # another purpose, another key
    clock.now += 11
    with pytest.raises(SignatureProblem, match="expired"):
        signer.check_download("/b/k", query["t"], query["sign"])
    with pytest.raises(SignatureProblem, match="jwt expired"):
        signer.check_token("download", token)
    assert "key" not in repr(signer)


def test_file_size_limits_parse_like_supabase() -> None:
    assert [parse_size(v) for v in (None, 0, 1234, "2048", "1.5MB", "1gb", "500 KB", "7B")] == [
        None,
        0,
        1234,
        2048,
        1_500_000,
        1_000_000_000,
        500_000,
        7,
    ]
    for bad in ("bad", "1TB", -1, True, 1.5):
        with pytest.raises(SupabaseError):
            parse_size(bad)


# ---------------------------------------------------------------------- object store


async def test_the_store_publishes_whole_files_or_nothing(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s")
    try:
        incoming = anyio.Path(tmp_path / "s" / "incoming")
        with pytest.raises(TooLarge):
            await store.receive(chunks(b"12345", b"678"), limit=6)
        assert [p async for p in incoming.iterdir()] == []

        blob = await store.receive(chunks(b"hello ", b"world"))
        first = await store.publish(
            blob, space="pg", bucket="b", name="n", content_type="text/plain", mode="create"
        )
        assert (first.size, first.etag) == (11, "5eb63bbbe01eeed093cb22bb8f5acdc3")
        again = await store.receive(chunks(b"x"))
        with pytest.raises(Exists):
            await store.publish(
                again, space="pg", bucket="b", name="n", content_type="x", mode="create"
            )
        with pytest.raises(KeyError):
            await store.publish(
                await store.receive(chunks(b"y")),
                space="pg",
                bucket="b",
                name="missing",
                content_type="x",
                mode="replace",
            )
        second = await store.publish(
            await store.receive(chunks(b"new")),
            space="pg",
            bucket="b",
            name="n",
            content_type="text/plain",
        )
        assert second.id == first.id  # the same object, a new version
        assert not store.blob_path(first).exists()  # the old bytes are gone
        blobs = [p.name async for p in anyio.Path(tmp_path / "s" / "blobs").iterdir()]
        assert blobs == [second.version]  # refused uploads left nothing behind
        copy = await store.copy(second, space="classic", bucket="c", name="n", overwrite=False)
        assert store.blob_path(copy).read_bytes() == b"new"
        assert (await store.get("pg", "b", "n")) == second
    finally:
        store.close()
    reopened = ObjectStore(tmp_path / "s")
    try:
        assert (await reopened.get("classic", "c", "n")) == copy
        reopened.reset()
        assert await reopened.get("pg", "b", "n") is None
    finally:
        reopened.close()


# ----------------------------------------------------------------------------- classic


async def test_classic_grants_and_receives(engine: StorageEngine) -> None:
    classic = engine.classic
    bad, denied, grant = await classic.upload_info(
        ALICE,
        [
            {"objectId": "../x"},
            {"objectId": "x", "signedHeader": {"x-forbidden": ["1"]}},
            {"objectId": "dir/a.txt", "signedHeader": {"content-type": ["text/plain"]}},
        ],
        ORIGIN,
    )
    assert (bad["code"], denied["code"]) == ("INVALID_PARAM", "INVALID_PARAM")
    assert grant["uploadUrl"] == f"{ORIGIN}/_local/storage/local-bucket/dir/a.txt"
    assert grant["cloudObjectId"] == "cloud://env-1.local-bucket/dir/a.txt"
    (anon,) = await classic.upload_info(ANON, [{"objectId": "y"}], ORIGIN)
    assert anon["code"] == "STORAGE_EXCEED_AUTHORITY"
    headers = {
        "content-type": "text/plain",
        "x-cos-meta-fileid": grant["cloudObjectMeta"],
        "x-cos-security-token": grant["token"],
    }
    record = await classic.receive("dir/a.txt", grant["authorization"], headers, chunks(b"hi"))
    assert (record.owner, record.content_type, record.size) == ("alice", "text/plain", 2)
    with pytest.raises(CosError) as caught:
        await classic.receive("dir/b.txt", grant["authorization"], headers, chunks(b"hi"))
    assert (caught.value.status, caught.value.code) == (403, "SignatureDoesNotMatch")
    (bobs,) = await classic.upload_info(Caller("user", "bob"), [{"objectId": "dir/a.txt"}], ORIGIN)
    assert bobs["code"] == "STORAGE_EXCEED_AUTHORITY"
    with pytest.raises(GatewayError):
        await classic.copy(ALICE, [{"srcPath": "dir/a.txt", "dstPath": "b"}])


# ---------------------------------------------------------------------------------- pg


async def test_pg_list_pages_by_cursor(engine: StorageEngine) -> None:
    pg = engine.pg
    await pg.create_bucket(ADMIN, {"name": "b"})
    names = [f"f/{i:02d}.txt" for i in range(7)] + ["g/x", "top"]
    for name in names:
        await pg.upload(ALICE, "b", name, chunks(b"x"), Upload("text/plain"), mode="create")
    seen: list[str] = []
    body: dict[str, Any] = {"prefix": "f/", "limit": 3}
    while True:
        page = await pg.list_objects(ADMIN, "b", body)
        seen += [o["name"] for o in page["objects"]]
        if not page["hasNext"]:
            break
        body = {**body, "cursor": page["nextCursor"]}
    assert seen == names[:7]
    top = await pg.list_objects(ALICE, "b", {"with_delimiter": True})
    assert [f["name"] for f in top["folders"]] == ["f/", "g/"]
    assert [o["name"] for o in top["objects"]] == ["top"]
    with pytest.raises(SupabaseError):
        await pg.list_objects(ADMIN, "b", {"cursor": "!!not a cursor"})
    with pytest.raises(GatewayError) as private:
        await pg.open(ANON, "b", "top")
    assert private.value.code == "STORAGE_PERMISSION_DENIED"
