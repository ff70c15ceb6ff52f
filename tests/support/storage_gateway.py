"""A loopback stand-in for the CloudBase storage gateway, handing out real S3 URLs.

It answers the classic storage calls (``/v1/storages/get-objects-upload-info``,
``get-objects-download-info``, ``delete-objects``) the way the gateway does (JSON array
in, JSON array of per-item successes or ``{code, message}`` out), but the URLs it hands
out point at a real S3-compatible store (``rclone serve s3``), so the SDK's byte path
meets real signature checks.

How it stands in for COS:

* CloudBase returns an ``uploadUrl`` plus an ``authorization`` header value and a
  security ``token`` computed by COS's signer. Here ``uploadUrl`` is an S3 *presigned*
  PUT URL (the signature is in the query string), so ``authorization`` and ``token``
  come back empty and the SDK leaves those headers out.
* The ``signedHeader`` the SDK asks for is honoured: ``content-type`` and
  ``content-length`` are signed into the URL, so the store refuses a PUT whose
  Content-Type or Content-Length differs (403 ``SignatureDoesNotMatch``), as COS does.
* ``cloudObjectMeta`` is returned and sent back as ``X-Cos-Meta-Fileid``; S3 ignores
  that unsigned header.
* ``downloadUrl`` is a presigned GET URL; ``cloudObjectId`` is
  ``cloud://{env}.{bucket}/{path}``.

``tamper`` makes it hand out a broken upload URL: ``"signature"`` alters the
signature, ``"content-type"`` signs a content type other than the one asked for.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
from botocore.config import Config

from .rclone import S3Store
from .server import read_body

ENV = "test-env"


class StorageGateway:
    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.tamper: str | None = None
        self.requests: list[tuple[str, Any]] = []
        self._s3 = boto3.client(
            "s3",
            endpoint_url=store.endpoint,
            aws_access_key_id=store.access_key,
            aws_secret_access_key=store.secret_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    # --- what each call answers -------------------------------------------------------

    def cloud_id(self, key: str) -> str:
        return f"cloud://{ENV}.{self.store.bucket}/{key}"

    def key_of(self, cloud_id: str) -> str | None:
        prefix = f"cloud://{ENV}.{self.store.bucket}/"
        return cloud_id[len(prefix) :] if cloud_id.startswith(prefix) else None

    def _get_url(self, key: str) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.store.bucket, "Key": key}, ExpiresIn=600
        )

    def upload_info(self, item: dict[str, Any]) -> dict[str, Any]:
        key = item["objectId"]
        signed = item.get("signedHeader") or {}
        params: dict[str, Any] = {"Bucket": self.store.bucket, "Key": key}
        if "content-type" in signed:
            params["ContentType"] = signed["content-type"][0]
        if "content-length" in signed:
            params["ContentLength"] = int(signed["content-length"][0])
        if self.tamper == "content-type":
            params["ContentType"] = "application/x-not-what-you-asked"
        url = self._s3.generate_presigned_url("put_object", Params=params, ExpiresIn=600)
        if self.tamper == "signature":
            url = _tamper_signature(url)
        download_url = self._get_url(key)
        return {
            "objectId": key,
            "uploadUrl": url,
            "downloadUrl": download_url,
            "downloadUrlEncoded": download_url,
            "token": "",
            "authorization": "",
            # Opaque and ASCII, like the real one: it travels as a header.
            "cloudObjectMeta": hashlib.sha256(key.encode()).hexdigest()[:32],
            "cloudObjectId": self.cloud_id(key),
        }

    def download_info(self, item: dict[str, Any]) -> dict[str, Any]:
        cloud_id = item.get("cloudObjectId", "")
        key = self.key_of(cloud_id)
        if key is None or not (self.store.root / self.store.bucket / key).is_file():
            return {
                "cloudObjectId": cloud_id,
                "code": "OBJECT_NOT_EXIST",
                "message": "Object not exist.",
            }
        url = self._get_url(key)
        return {"cloudObjectId": cloud_id, "downloadUrl": url, "downloadUrlEncoded": url}

    def delete(self, item: dict[str, Any]) -> dict[str, Any]:
        cloud_id = item.get("cloudObjectId", "")
        key = self.key_of(cloud_id)
        path = None if key is None else self.store.root / self.store.bucket / key
        if path is None or not path.is_file():
            return {
                "cloudObjectId": cloud_id,
                "code": "OBJECT_NOT_EXIST",
                "message": "Object not exist.",
            }
        path.unlink()
        return {"cloudObjectId": cloud_id}

    # --- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await read_body(receive)
        handlers = {
            "/v1/storages/get-objects-upload-info": self.upload_info,
            "/v1/storages/get-objects-download-info": self.download_info,
            "/v1/storages/delete-objects": self.delete,
        }
        handler = handlers.get(scope["path"])
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if handler is None or scope["method"] != "POST":
            status, answer = 404, {"code": "INVALID_PATH", "message": scope["path"]}
        elif headers.get("authorization") != "Bearer test-key":
            status, answer = 401, {"code": "INVALID_ACCESS_TOKEN", "message": "bad key"}
        else:
            items = json.loads(body)
            self.requests.append((scope["path"], items))
            status, answer = 200, [handler(item) for item in items]  # type: ignore[assignment]
        payload = json.dumps({**answer, "requestId": "gw-err"} if status != 200 else answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", f"gw-{len(self.requests)}".encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload.encode()})


def _tamper_signature(url: str) -> str:
    parts = urlsplit(url)
    query = [
        (k, ("0" if v[0] != "0" else "1") + v[1:] if k == "X-Amz-Signature" else v)
        for k, v in parse_qsl(parts.query)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))
