"""PG-mode storage of the local gateway over real HTTP, requests shaped as the js-sdk's.

The SDK has no PG-mode client yet, so these use httpx directly, sending exactly what
``pg-storage-notes`` records the official js-sdk sending: methods, paths (bucket
unencoded, each name segment ``encodeURIComponent``-ed), headers, bodies.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest

from tests.local._memory import LARGE_MIB, MiB, measured
from tests.local._serve_data import ADMIN, ANON, DataServer, serve_data, user

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

ROOT = "/v1/storages"
JS_SDK = {  # what the Node build of the js-sdk adds to every call
    "X-SDK-Version": "@cloudbase/js-sdk/3.7.0",
    "Accept-Language": "zh-CN",
    "User-Agent": "adapter-node/@cloudbase/js-sdk/3.7.0",
    "X-TCB-Source": ",unknown",
    "X-Client-Timestamp": "1700000000000",
    "X-TCB-Region": "",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataServer]:
    with serve_data(tmp_path_factory.mktemp("data")) as running:
        yield running


@pytest.fixture
async def http(server: DataServer) -> AsyncIterator[httpx.AsyncClient]:
    server.storage.reset()
    async with httpx.AsyncClient(base_url=server.url + ROOT, headers=JS_SDK) as client:
        yield client


def auth(key: str = ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def enc(name: str) -> str:
    """The js-sdk's cleanPath + encodeURIComponent per segment."""
    return "/".join(quote(part, safe="!'()*~") for part in name.split("/"))


def binary(content_type: str = "text/plain;charset=UTF-8", **extra: str) -> dict[str, str]:
    return {"content-type": content_type, "cache-control": "max-age=3600", **extra}


async def make_bucket(http: httpx.AsyncClient, bucket: str = "docs", **fields: Any) -> None:
    body = {"id": bucket, "name": bucket, "public": False, **fields}
    response = await http.post("/bucket/", json=body, headers=auth())
    assert response.status_code == 200, response.text
    assert response.json() == {"name": bucket}


async def put(
    http: httpx.AsyncClient, bucket: str, name: str, data: bytes, *, upsert: bool = False
) -> httpx.Response:
    headers = {**auth(), **binary(), "x-upsert": "true" if upsert else "false"}
    return await http.post(f"/object/{bucket}/{enc(name)}", content=data, headers=headers)


def supabase_error(response: httpx.Response, status_code: str, error: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message"}
    assert (body["statusCode"], body["error"]) == (status_code, error)


def gateway_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "requestId"}
    assert body["code"] == code


async def test_buckets(http: httpx.AsyncClient) -> None:
    await make_bucket(http, "photos", file_size_limit="100MB", allowed_mime_types=["image/*"])
    await make_bucket(http, "notes", public=True)
    supabase_error(
        await http.post("/bucket/", json={"id": "notes", "name": "notes"}, headers=auth()),
        "409",
        "Duplicate",
    )
    listed = await http.get(
        "/bucket/",
        params={"limit": 10, "offset": 0, "sortColumn": "name", "sortOrder": "asc", "search": "o"},
        headers=auth(),
    )
    assert [b["id"] for b in listed.json()] == ["notes", "photos"]
    photos = (await http.get("/bucket/photos", headers=auth())).json()
    assert photos["file_size_limit"] == 100_000_000
    assert photos["allowed_mime_types"] == ["image/*"]
    assert photos["public"] is False
    assert {"id", "name", "owner", "created_at", "updated_at", "type"} <= set(photos)
    updated = await http.put(
        "/bucket/photos", json={"public": True, "file_size_limit": None}, headers=auth()
    )
    assert updated.json() == {"message": "Successfully updated"}
    photos = (await http.get("/bucket/photos", headers=auth())).json()
    assert (photos["public"], photos["file_size_limit"]) == (True, None)

    await put(http, "notes", "a.txt", b"a")
    supabase_error(await http.delete("/bucket/notes", headers=auth()), "409", "InvalidRequest")
    assert (await http.delete("/bucket/photos", headers=auth())).json() == {
        "message": "Successfully deleted"
    }
    gateway_error(await http.get("/bucket/photos", headers=auth()), 404, "STORAGE_BUCKET_NOT_FOUND")
    gateway_error(
        await http.post("/bucket/", json={"name": "mine"}, headers=auth(user("alice"))),
        403,
        "STORAGE_PERMISSION_DENIED",
    )
    # The anonymous role (no header at all) sees public buckets only.
    assert [b["id"] for b in (await http.get("/bucket/")).json()] == ["notes"]


async def test_upload_update_download_info(http: httpx.AsyncClient) -> None:
    await make_bucket(http)
    name = "目录/a b#?.txt"
    metadata = base64.b64encode(json.dumps({"owner": "me"}).encode()).decode()
    created = await http.post(
        f"/object/docs/{enc(name)}",
        content=b"first",
        headers={**auth(), **binary(**{"x-metadata": metadata}), "x-upsert": "false"},
    )
    assert created.status_code == 200
    assert created.json()["Key"] == f"docs/{name}"
    object_id = created.json()["Id"]
    supabase_error(await put(http, "docs", name, b"again"), "409", "Duplicate")
    assert (await put(http, "docs", name, b"upserted", upsert=True)).json()["Id"] == object_id
    replaced = await http.put(
        f"/object/docs/{enc(name)}", content=b"replaced", headers={**auth(), **binary()}
    )
    assert replaced.json() == {"Key": f"docs/{name}", "Id": object_id}
    missing = await http.put(
        f"/object/docs/{enc('nothing.txt')}", content=b"x", headers={**auth(), **binary()}
    )
    supabase_error(missing, "404", "not_found")

    downloaded = await http.get(f"/object/docs/{enc(name)}", headers=auth())
    assert downloaded.content == b"replaced"
    assert downloaded.headers["content-type"] == "text/plain;charset=UTF-8"
    assert downloaded.headers["cache-control"] == "max-age=3600"
    assert downloaded.headers["etag"] == f'"{hashlib.md5(b"replaced").hexdigest()}"'
    attachment = await http.get(f"/object/docs/{enc(name)}?download=", headers=auth())
    assert attachment.headers["content-disposition"].startswith("attachment")
    head = await http.head(f"/object/docs/{enc(name)}", headers=auth())
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "8", b"")

    info = (await http.get(f"/object/info/docs/{enc(name)}", headers=auth())).json()
    assert info["id"] == object_id
    assert (info["name"], info["bucket_id"], info["size"]) == (name, "docs", 8)
    assert (info["content_type"], info["cache_control"]) == (
        "text/plain;charset=UTF-8",
        "max-age=3600",
    )
    assert set(info) == {
        "id",
        "name",
        "version",
        "bucket_id",
        "size",
        "content_type",
        "cache_control",
        "etag",
        "metadata",
        "last_modified",
        "created_at",
    }
    # exists(): 400 or 404 means "no".
    assert (await http.get(f"/object/info/docs/{enc('nope')}", headers=auth())).status_code == 400
    gateway_error(
        await http.get(f"/object/info/none/{enc('x')}", headers=auth()),
        404,
        "STORAGE_BUCKET_NOT_FOUND",
    )


async def test_multipart_upload(http: httpx.AsyncClient) -> None:
    await make_bucket(http)
    # Field order as the js-sdk writes it; the file part last, named "" with filename blob.
    boundary = "----jssdk"
    parts = [
        ("cacheControl", "120"),
        ("contentType", "application/json"),
        ("metadata", json.dumps({"k": "v"})),
    ]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in parts
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name=""; filename="blob"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += b'{"a": 1}' + f"\r\n--{boundary}--\r\n".encode()
    headers = {
        **auth(),
        "content-type": f"multipart/form-data; boundary={boundary}",
        "x-upsert": "false",
    }
    response = await http.post("/object/docs/form.json", content=body, headers=headers)
    assert response.status_code == 200, response.text
    info = (await http.get("/object/info/docs/form.json", headers=auth())).json()
    assert (info["content_type"], info["cache_control"], info["metadata"], info["size"]) == (
        "application/json",
        "max-age=120",
        {"k": "v"},
        8,
    )
    assert (await http.get("/object/docs/form.json", headers=auth())).content == b'{"a": 1}'

    # A bigger form (spooled to disk by the parser) through a signed upload URL.
    big = bytes(range(256)) * (12 * 1024)  # 3 MiB
    granted = await http.post("/object/upload/sign/docs/form.bin", headers=auth())
    async with httpx.AsyncClient(base_url=str(http.base_url)) as nobody:
        sent = await nobody.put(
            granted.json()["url"],
            files={"": ("blob", big, "application/x-big")},
            data={"cacheControl": "60"},
        )
    assert sent.json() == {"Key": "docs/form.bin"}
    info = (await http.get("/object/info/docs/form.bin", headers=auth())).json()
    assert (info["size"], info["content_type"], info["cache_control"]) == (
        len(big),
        "application/x-big",
        "max-age=60",
    )
    assert (await http.get("/object/docs/form.bin", headers=auth())).content == big


async def test_list_with_the_cursor(http: httpx.AsyncClient) -> None:
    await make_bucket(http)
    names = ["a.txt", "b.txt", "dir/c.txt", "dir/sub/d.txt", "e.txt", "other/f.txt"]
    for name in names:
        await put(http, "docs", name, name.encode())

    async def page(**body: Any) -> dict[str, Any]:
        response = await http.post("/object/list/docs", json=body, headers=auth())
        assert response.status_code == 200, response.text
        return dict(response.json())

    flat = await page(prefix="")
    assert [o["name"] for o in flat["objects"]] == names
    assert (flat["folders"], flat["hasNext"]) == ([], False)
    assert flat["objects"][0]["metadata"]["size"] == 5

    grouped = await page(prefix="", with_delimiter=True)
    assert [f["name"] for f in grouped["folders"]] == ["dir/", "other/"]
    assert [o["name"] for o in grouped["objects"]] == ["a.txt", "b.txt", "e.txt"]
    inside = await page(prefix="dir/", with_delimiter=True)
    assert ([f["name"] for f in inside["folders"]], [o["name"] for o in inside["objects"]]) == (
        ["dir/sub/"],
        ["dir/c.txt"],
    )

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        body: dict[str, Any] = {"prefix": "", "limit": 4, "with_delimiter": True}
        if cursor:
            body["cursor"] = cursor
        result = await page(**body)
        seen += [e["name"] for e in result["folders"] + result["objects"]]
        if not result["hasNext"]:
            break
        cursor = result["nextCursor"]
    assert sorted(seen) == ["a.txt", "b.txt", "dir/", "e.txt", "other/"]
    assert len(seen) == 5

    newest_first = await page(prefix="", sortBy={"column": "created_at", "order": "desc"}, limit=2)
    assert [o["name"] for o in newest_first["objects"]] == ["other/f.txt", "e.txt"]
    rest = await page(
        prefix="",
        sortBy={"column": "created_at", "order": "desc"},
        cursor=newest_first["nextCursor"],
    )
    assert [o["name"] for o in rest["objects"]] == names[::-1][2:]
    supabase_error(await page_raw(http, {"limit": 0}), "400", "InvalidRequest")


async def page_raw(http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await http.post("/object/list/docs", json=body, headers=auth())


async def test_batch_delete_is_limited_to_100(http: httpx.AsyncClient) -> None:
    await make_bucket(http)
    names = [f"many/{i:03d}" for i in range(150)]
    for name in names:
        await put(http, "docs", name, b"x")
    too_many = await http.request(
        "DELETE", "/object/docs", json={"prefixes": names[:101]}, headers=auth()
    )
    gateway_error(too_many, 400, "INVALID_PARAM")
    deleted: list[dict[str, Any]] = []
    asked = [*names, "many/never"]
    for start in range(0, len(asked), 100):  # how the js-sdk batches: 100, then 51
        response = await http.request(
            "DELETE", "/object/docs", json={"prefixes": asked[start : start + 100]}, headers=auth()
        )
        assert response.status_code == 200, response.text
        deleted += response.json()
    assert sorted(d["name"] for d in deleted) == names  # the missing one is silently absent
    assert {"name", "bucket_id", "id", "metadata"} <= set(deleted[0])
    single = await put(http, "docs", "single", b"1")
    assert single.status_code == 200
    assert (await http.delete("/object/docs/single", headers=auth())).json() == {
        "message": "Successfully deleted"
    }
    supabase_error(await http.delete("/object/docs/single", headers=auth()), "404", "not_found")


async def test_copy_and_move(http: httpx.AsyncClient) -> None:
    await make_bucket(http)
    await make_bucket(http, "archive")
    await put(http, "docs", "src.txt", b"source")
    copied = await http.post(
        "/object/copy",
        json={"bucketId": "docs", "sourceKey": "src.txt", "destinationKey": "copy.txt"},
        headers=auth(),
    )
    assert copied.json()["Key"] == "docs/copy.txt"
    assert "Id" in copied.json()
    again = await http.post(
        "/object/copy",
        json={"bucketId": "docs", "sourceKey": "src.txt", "destinationKey": "copy.txt"},
        headers=auth(),
    )
    supabase_error(again, "409", "Duplicate")
    metadata = base64.b64encode(json.dumps({"new": True}).encode()).decode()
    across = await http.post(
        "/object/copy",
        json={
            "bucketId": "docs",
            "sourceKey": "src.txt",
            "destinationKey": "copy.txt",
            "destinationBucket": "archive",
            "copyMetadata": False,
        },
        headers={**auth(), "x-upsert": "true", "x-metadata": metadata},
    )
    assert across.json()["Key"] == "archive/copy.txt"
    info = (await http.get("/object/info/archive/copy.txt", headers=auth())).json()
    assert info["metadata"] == {"new": True}

    moved = await http.post(
        "/object/move",
        json={
            "bucketId": "docs",
            "sourceKey": "src.txt",
            "destinationKey": "moved.txt",
            "destinationBucket": "archive",
        },
        headers=auth(),
    )
    assert moved.json()["message"] == "Successfully moved"
    assert (await http.get("/object/archive/moved.txt", headers=auth())).content == b"source"
    assert (await http.get("/object/docs/src.txt", headers=auth())).status_code == 400
    blocked = await http.post(
        "/object/move",
        json={
            "bucketId": "docs",
            "sourceKey": "copy.txt",
            "destinationKey": "copy.txt",
            "destinationBucket": "archive",
        },
        headers=auth(),
    )
    supabase_error(blocked, "409", "Duplicate")


async def test_signed_download_urls(http: httpx.AsyncClient, server: DataServer) -> None:
    await make_bucket(http)
    name = "signed/ü x.txt"
    await put(http, "docs", name, b"secret")
    signed = await http.post(
        f"/object/sign/docs/{enc(name)}", json={"expiresIn": 60}, headers=auth()
    )
    body = signed.json()
    assert body["signedURL"].startswith(f"/object/sign/docs/{enc(name)}?token=")
    assert body["fullSignedURL"] == server.url + ROOT + body["signedURL"]
    token = body["signedURL"].split("token=")[1]
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")) == {
        "alg": "HS256",
        "typ": "JWT",
    }
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["url"] == f"docs/{name}"
    assert claims["exp"] - claims["iat"] == 60
    async with httpx.AsyncClient() as nobody:  # no Authorization at all
        fetched = await nobody.get(body["fullSignedURL"])
        assert fetched.content == b"secret"
        as_file = await nobody.get(body["fullSignedURL"] + "&download=x.txt")
        assert "x.txt" in as_file.headers["content-disposition"]
        head = await nobody.head(body["fullSignedURL"])
        assert (head.status_code, head.content) == (200, b"")
        # The first character of the JWT's signature segment carries six whole bits
        # (the last carries padding too), so changing it always breaks the signature.
        prefix, _, signature = body["fullSignedURL"].rpartition(".")
        forged = f"{prefix}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
        tampered = await nobody.get(forged)
        supabase_error(tampered, "400", "InvalidJWT")
        other = await nobody.get(f"{server.url}{ROOT}/object/sign/docs/other.txt?token={token}")
        supabase_error(other, "400", "InvalidSignature")
        as_upload = await nobody.put(
            f"{server.url}{ROOT}/object/upload/sign/docs/{enc(name)}?token={token}", content=b"x"
        )
        supabase_error(as_upload, "400", "InvalidJWT")  # a download token does not upload
        supabase_error(
            await nobody.get(f"{server.url}{ROOT}/object/sign/docs/{enc(name)}"),
            "400",
            "InvalidRequest",
        )

    short = await http.post(f"/object/sign/docs/{enc(name)}", json={"expiresIn": 1}, headers=auth())
    for bad in (0, -5, "60", None):
        refused = await http.post(
            f"/object/sign/docs/{enc(name)}", json={"expiresIn": bad}, headers=auth()
        )
        supabase_error(refused, "400", "InvalidRequest")
    supabase_error(
        await http.post("/object/sign/docs/missing.txt", json={"expiresIn": 60}, headers=auth()),
        "404",
        "not_found",
    )
    await anyio.sleep(2.5)  # the token lives 1 s (whole seconds): a generous margin
    expired = await http.get(short.json()["signedURL"])
    supabase_error(expired, "400", "InvalidJWT")
    assert expired.json()["message"] == "jwt expired"


async def test_batch_signing_is_limited_to_500(http: httpx.AsyncClient) -> None:
    await make_bucket(http)
    for name in ("one", "two"):
        await put(http, "docs", name, name.encode())
    paths = ["one", "missing", "two", *[f"absent-{i}" for i in range(497)]]
    answers = await http.post(
        "/object/sign/docs", json={"expiresIn": 30, "paths": paths}, headers=auth()
    )
    items = answers.json()
    assert len(items) == 500
    assert [item["path"] for item in items[:3]] == ["one", "missing", "two"]
    assert items[0]["error"] is None
    assert items[0]["signedURL"].startswith("/object/sign/docs/one?token=")
    assert items[1] == {
        "error": "Either the object does not exist or you do not have access to it",
        "path": "missing",
        "signedURL": None,
        "fullSignedURL": None,
    }
    fetched = await http.get(items[2]["signedURL"])
    assert fetched.content == b"two"
    too_many = await http.post(
        "/object/sign/docs", json={"expiresIn": 30, "paths": [*paths, "one"]}, headers=auth()
    )
    gateway_error(too_many, 400, "INVALID_PARAM")


async def test_signed_upload_needs_no_authorization(
    http: httpx.AsyncClient, server: DataServer
) -> None:
    await make_bucket(http)
    # No body, no content type; x-upsert only when upserting.
    granted = await http.post(
        "/object/upload/sign/docs/up/file.bin", headers={**auth(user("alice"))}
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["url"] == f"/object/upload/sign/docs/up/file.bin?token={body['token']}"
    assert body["fullURL"] == server.url + ROOT + body["url"]
    async with httpx.AsyncClient(headers=JS_SDK) as nobody:
        uploaded = await nobody.put(body["fullURL"], content=b"via token", headers=binary())
        assert uploaded.json() == {"Key": "docs/up/file.bin"}
        supabase_error(
            await nobody.put(body["fullURL"], content=b"again", headers=binary()),
            "409",
            "Duplicate",
        )
    assert (await http.get("/object/docs/up/file.bin", headers=auth())).content == b"via token"
    upsert = await http.post(
        "/object/upload/sign/docs/up/file.bin", headers={**auth(), "x-upsert": "true"}
    )
    async with httpx.AsyncClient() as nobody:
        replaced = await nobody.put(
            server.url + ROOT + upsert.json()["url"], content=b"replaced", headers=binary()
        )
        assert replaced.status_code == 200
    supabase_error(
        await http.post("/object/upload/sign/docs/up/file.bin", headers=auth()), "409", "Duplicate"
    )
    gateway_error(
        await http.post("/object/upload/sign/docs/anon.bin", headers=auth(ANON)),
        403,
        "STORAGE_PERMISSION_DENIED",
    )


async def test_public_buckets_and_the_anonymous_role(http: httpx.AsyncClient) -> None:
    await make_bucket(http, "open", public=True)
    await make_bucket(http, "closed")
    await put(http, "open", "hello.txt", b"hi")
    await put(http, "closed", "hello.txt", b"hush")
    public = await http.get("/object/public/open/hello.txt")
    assert (public.status_code, public.content) == (200, b"hi")
    # A private bucket on the public route: Supabase's shape, HTTP 400 with "404" inside.
    supabase_error(await http.get("/object/public/closed/hello.txt"), "404", "Bucket not found")
    supabase_error(await http.get("/object/public/open/none.txt"), "404", "not_found")
    assert (await http.get("/object/open/hello.txt")).content == b"hi"  # no header: anon
    assert (await http.get("/object/open/hello.txt", headers=auth(ANON))).content == b"hi"
    gateway_error(await http.get("/object/closed/hello.txt"), 403, "STORAGE_PERMISSION_DENIED")
    gateway_error(
        await http.post(
            "/object/open/new.txt", content=b"x", headers={**binary(), "x-upsert": "false"}
        ),
        403,
        "STORAGE_PERMISSION_DENIED",
    )
    alice = await http.get("/object/closed/hello.txt", headers=auth(user("alice")))
    assert alice.content == b"hush"
    gateway_error(
        await http.get("/object/closed/hello.txt", headers={"Authorization": "Bearer junk"}),
        401,
        "INVALID_ACCESS_TOKEN",
    )


async def test_bucket_limits_and_bad_keys(http: httpx.AsyncClient) -> None:
    await make_bucket(http, "small", file_size_limit=10, allowed_mime_types=["text/*"])
    assert (await put(http, "small", "ok.txt", b"0123456789")).status_code == 200
    supabase_error(await put(http, "small", "big.txt", b"01234567890"), "413", "Payload too large")

    async def unsized() -> AsyncIterator[bytes]:  # chunked: caught while streaming
        for _ in range(3):
            yield b"0123456"

    chunked = await http.post(
        "/object/small/chunked.txt",
        content=unsized(),
        headers={**auth(), **binary(), "x-upsert": "false"},
    )
    supabase_error(chunked, "413", "Payload too large")
    image = await http.post(
        "/object/small/pic.png",
        content=b"png",
        headers={**auth(), **binary("image/png"), "x-upsert": "false"},
    )
    supabase_error(image, "415", "invalid_mime_type")
    for bad in ("%2E%2E/escape.txt", "a/%2E%2E/b", "a//b", "%2E"):
        supabase_error(
            await http.post(
                f"/object/small/{bad}",
                content=b"x",
                headers={**auth(), **binary(), "x-upsert": "false"},
            ),
            "400",
            "InvalidKey",
        )
    listing = await http.post("/object/list/small", json={"prefix": ""}, headers=auth())
    assert [o["name"] for o in listing.json()["objects"]] == ["ok.txt"]  # nothing half-written


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_large_upload_and_download_in_constant_memory(
    http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await make_bucket(http, "big")
    size = LARGE_MIB * MiB
    sent = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        block = bytes(range(256)) * 4096  # 1 MiB
        for index in range(size // MiB):
            chunk = block[index % 256 :] + block[: index % 256]
            sent.update(chunk)
            yield chunk

    with measured() as peak:
        uploaded = await http.post(
            "/object/big/large.bin",
            content=body(),
            headers={
                **auth(),
                **binary("application/octet-stream"),
                "x-upsert": "false",
                "content-length": str(size),
            },
            timeout=300,
        )
        assert uploaded.status_code == 200, uploaded.text
        received = hashlib.sha256()
        total = 0
        async with http.stream("GET", "/object/big/large.bin", headers=auth(), timeout=300) as r:
            assert r.headers["content-length"] == str(size)
            async for chunk in r.aiter_raw():
                received.update(chunk)
                total += len(chunk)
    assert total == size
    assert received.hexdigest() == sent.hexdigest()
    with capsys.disabled():
        print(
            f"\n[PG {LARGE_MIB} MiB, client and server in one process] heap peak growth"
            f" {peak.heap / MiB:.1f} MiB, RSS growth {peak.rss / MiB:.1f} MiB"
        )
    assert peak.heap < 32 * MiB
    assert peak.rss < 64 * MiB
