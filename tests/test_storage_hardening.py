"""Storage against a hostile gateway and object store on loopback (real HTTP, real sockets).

The gateway hands out download URLs that point back at itself, where the "object store"
redirects, refuses in XML, or serves the object; its batch answers can be corrupt, and
its upload signature can come in a malformed answer.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudbase_async import (
    CloudBase,
    PermissionDeniedError,
    RedirectError,
    ResponseValidationError,
)
from tests.support.pool import checked_out
from tests.support.server import read_body, serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

ENV_BUCKET = "cloud://test-env.bucket"
AUTHORIZATION = "q-sign-algorithm=sha1&q-ak=AKID&q-signature=0bad5eed"
TOKEN = "cos-session-t0ken"


class HostileGateway:
    """The storage gateway and its object store in one ASGI app, misbehaving on cue.

    Download URLs are ``{this server}/cos/{name}?sign=...``; what ``/cos/{name}``
    answers depends on the name. ``requests`` records every call.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def download_info(self, base: str, items: list[dict[str, Any]]) -> Any:
        return [
            {
                "cloudObjectId": item["cloudObjectId"],
                "downloadUrl": f"{base}/cos/{item['cloudObjectId'].rpartition('/')[2]}"
                "?sign=s3cr3t-signature",
            }
            for item in items
        ]

    def upload_info(self, base: str, items: list[dict[str, Any]]) -> Any:
        # The signature arrives, but the upload URL does not.
        return [
            {
                "objectId": items[0]["objectId"],
                "cloudObjectId": f"{ENV_BUCKET}/{items[0]['objectId']}",
                "authorization": AUTHORIZATION,
                "token": TOKEN,
            }
        ]

    def delete(self, base: str, items: list[dict[str, Any]]) -> Any:
        return [{"cloudObjectId": items[0]["cloudObjectId"]}]  # one answer, however many asked

    def object(self, name: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if name == "redirect.txt":
            location = b"https://elsewhere.example/login?sign=t0p-s3cr3t&next=1"
            return 302, [(b"location", location)], b"<html>Moved, sign in here</html>"
        if name == "denied.txt":
            xml = (
                b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
                b"<Message>Access Denied.</Message><RequestId>cos-42</RequestId></Error>"
            )
            return 403, [(b"content-type", b"application/xml")], xml
        return 200, [(b"content-type", b"text/plain")], b"fresh bytes"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await read_body(receive)
        path = scope["path"]
        self.requests.append((scope["method"], path))
        host, port = scope["server"]
        base = f"http://{host}:{port}"
        calls = {
            "/v1/storages/get-objects-download-info": self.download_info,
            "/v1/storages/get-objects-upload-info": self.upload_info,
            "/v1/storages/delete-objects": self.delete,
        }
        headers = [(b"content-type", b"application/json"), (b"x-request-id", b"gw-1")]
        if path.startswith("/cos/"):
            status, headers, payload = self.object(path.removeprefix("/cos/"))
        elif path in calls:
            status, payload = 200, json.dumps(calls[path](base, json.loads(body))).encode()
        else:
            status, payload = 404, b'{"code": "INVALID_PATH", "message": "no such call"}'
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def hostile() -> HostileGateway:
    return HostileGateway()


@pytest.fixture(scope="module")
def url(hostile: HostileGateway) -> Iterator[str]:
    with serve(hostile) as running:
        yield running


def client(url: str) -> CloudBase:
    return CloudBase(env="test-env", base_url=url, api_key="test-key", max_retries=0)


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def shown(error: BaseException) -> str:
    """Everything an error could show: message, repr, body and the whole traceback."""
    return f"{error}{error!r}{getattr(error, 'body', '')!r}" + "".join(
        traceback.format_exception(error)
    )


async def test_a_redirected_download_raises_and_keeps_the_old_file(
    url: str, tmp_path: Path
) -> None:
    target = tmp_path / "kept.txt"
    target.write_bytes(b"the user's old bytes")
    async with client(url) as cb:
        with pytest.raises(RedirectError) as caught:
            await cb.storage.download(f"{ENV_BUCKET}/redirect.txt", target)
        with pytest.raises(RedirectError):
            async with cb.storage.stream(f"{ENV_BUCKET}/redirect.txt"):
                pass
        assert checked_out(cb) == 0
    assert target.read_bytes() == b"the user's old bytes"
    assert listing(tmp_path) == ["kept.txt"]  # no temp file left
    error = caught.value
    assert error.status_code == 302
    assert error.location is not None
    assert error.location.startswith("https://elsewhere.example/login?")
    assert "t0p-s3cr3t" not in shown(error)
    assert "s3cr3t-signature" not in shown(error)


async def test_a_download_refused_by_the_store_reads_its_xml(url: str, tmp_path: Path) -> None:
    target = tmp_path / "denied.txt"
    target.write_bytes(b"old")
    async with client(url) as cb:
        with pytest.raises(PermissionDeniedError) as caught:
            await cb.storage.download(f"{ENV_BUCKET}/denied.txt", target)
        assert checked_out(cb) == 0
    assert target.read_bytes() == b"old"
    error = caught.value
    assert (error.code, error.request_id) == ("AccessDenied", "cos-42")
    assert error.message == f"Download of '{ENV_BUCKET}/denied.txt' refused: Access Denied."


async def test_a_served_object_replaces_the_old_file(url: str, tmp_path: Path) -> None:
    target = tmp_path / "ok.txt"
    target.write_bytes(b"old")
    async with client(url) as cb:
        result = await cb.storage.download(f"{ENV_BUCKET}/ok.txt", target)
    assert target.read_bytes() == b"fresh bytes"
    assert (result.size, result.content_type, result.request_id) == (11, "text/plain", "gw-1")


async def test_a_corrupt_item_list_is_a_validation_error(url: str) -> None:
    async with client(url) as cb:
        with pytest.raises(ResponseValidationError, match="1 items for 2") as caught:
            await cb.storage.delete([f"{ENV_BUCKET}/a.txt", f"{ENV_BUCKET}/b.txt"])
    assert caught.value.request_id == "gw-1"


async def test_a_malformed_upload_info_never_shows_the_signature(
    url: str, hostile: HostileGateway
) -> None:
    before = len(hostile.requests)
    async with client(url) as cb:
        with pytest.raises(ResponseValidationError) as caught:
            await cb.storage.upload("no-url.txt", b"payload")
    text = shown(caught.value)
    assert AUTHORIZATION not in text
    assert "0bad5eed" not in text
    assert TOKEN not in text
    assert hostile.requests[before:] == [("POST", "/v1/storages/get-objects-upload-info")]
