"""HTTP for PG-mode storage: Supabase storage-api's routes under ``/v1/storages``.

Requests are read as the js-sdk sends them (``pg-storage-notes``): JSON bodies,
uploads as raw bytes (``content-type``, ``cache-control: max-age=N``, ``x-metadata``
base64 JSON, ``x-upsert``) or ``multipart/form-data`` (``cacheControl``,
``contentType``, ``metadata`` fields, then the file). No ``Authorization`` header
means the anonymous role; signed and public URLs ignore credentials altogether.
Signed-URL answers carry the relative URL and, as CloudBase may, the absolute one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._identity import Caller
from ._engine import StorageEngine
from ._errors import invalid_request
from ._http import Identify, guarded, object_response, origin, request_id
from ._pg import Mode, Upload
from ._store import ObjectRecord

__all__ = ["pg_routes"]

ROOT: Final = "/v1/storages"
_READ_SIZE: Final = 1 << 20


def _answer(payload: Any, status: int = 200) -> Response:
    return JSONResponse(payload, status, headers={"X-Request-Id": request_id()})


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid_request("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid_request("the body must be a JSON object")
    return body


def _metadata(text: str | None) -> dict[str, Any] | None:
    """``x-metadata``: base64 of a JSON object."""
    if not text:
        return None
    try:
        value = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise invalid_request("x-metadata must be base64-encoded JSON") from None
    if not isinstance(value, dict):
        raise invalid_request("x-metadata must hold a JSON object")
    return value


def _length(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


async def _file_chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(_READ_SIZE):
        yield chunk


@asynccontextmanager
async def _upload_body(request: Request) -> AsyncIterator[tuple[AsyncIterator[bytes], Upload]]:
    """The bytes of an upload and what it says about them, raw or multipart.

    A multipart file is spooled by Starlette (to disk past 1 MiB), then streamed on:
    memory stays constant either way.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        yield (
            request.stream(),
            Upload(
                content_type=content_type or None,
                cache_control=request.headers.get("cache-control"),
                metadata=_metadata(request.headers.get("x-metadata")),
                length=_length(request.headers.get("content-length")),
            ),
        )
        return
    async with request.form(max_files=1, max_fields=16) as form:
        files = [value for value in form.values() if isinstance(value, UploadFile)]
        if not files:
            raise invalid_request("the form has no file part")
        (file,) = files
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        metadata = None
        if fields.get("metadata"):
            try:
                metadata = json.loads(fields["metadata"])
            except ValueError:
                raise invalid_request("the metadata field must be JSON") from None
        seconds = fields.get("cacheControl") or "3600"
        upload = Upload(
            content_type=fields.get("contentType") or file.content_type,
            cache_control=f"max-age={seconds}",
            metadata=metadata if isinstance(metadata, dict) else None,
            length=file.size,
        )
        yield _file_chunks(file), upload


def _download(request: Request) -> str | None:
    return request.query_params.get("download")


def pg_routes(engine: StorageEngine, identify: Identify) -> list[BaseRoute]:
    pg = engine.pg

    def caller_of(request: Request) -> Caller:
        header = request.headers.get("authorization")
        # PG storage serves the anonymous role without any header (M:97).
        return Caller("anon") if header is None else identify(header)

    def send(request: Request, record: ObjectRecord) -> Response:
        return object_response(engine.store.blob_path(record), record, download=_download(request))

    def absolute(request: Request, relative: str) -> str:
        return f"{origin(request)}{ROOT}{relative}"

    def params(request: Request) -> tuple[str, str]:
        return str(request.path_params["bucket"]), str(request.path_params.get("name", ""))

    # buckets ------------------------------------------------------------------------

    async def list_buckets(request: Request) -> Response:
        query = request.query_params

        def number(key: str) -> int | None:
            text = query.get(key)
            if text is None:
                return None
            if not text.isdigit():
                raise invalid_request(f"querystring/{key} must be an integer")
            return int(text)

        buckets = await pg.list_buckets(
            caller_of(request),
            limit=number("limit"),
            offset=number("offset") or 0,
            sort_column=query.get("sortColumn", "name"),
            sort_order=query.get("sortOrder", "asc"),
            search=query.get("search"),
        )
        return _answer(buckets)

    async def create_bucket(request: Request) -> Response:
        return _answer(await pg.create_bucket(caller_of(request), await _json(request)))

    async def bucket(request: Request) -> Response:
        caller, bucket_id = caller_of(request), request.path_params["bucket"]
        if request.method == "PUT":
            return _answer(await pg.update_bucket(caller, bucket_id, await _json(request)))
        if request.method == "DELETE":
            return _answer(await pg.delete_bucket(caller, bucket_id))
        return _answer(await pg.get_bucket(caller, bucket_id))

    # objects ------------------------------------------------------------------------

    async def upload(request: Request) -> Response:
        caller, (bucket_id, name) = caller_of(request), params(request)
        mode: Mode
        if request.method == "PUT":
            mode = "replace"
        else:
            upsert = request.headers.get("x-upsert", "false").lower() == "true"
            mode = "upsert" if upsert else "create"
        async with _upload_body(request) as (body, details):
            record = await pg.upload(caller, bucket_id, name, body, details, mode=mode)
        return _answer({"Key": f"{record.bucket}/{record.name}", "Id": record.id})

    async def download(request: Request) -> Response:
        bucket_id, name = params(request)
        return send(request, await pg.open(caller_of(request), bucket_id, name))

    async def delete_one(request: Request) -> Response:
        bucket_id, name = params(request)
        return _answer(await pg.delete(caller_of(request), bucket_id, name))

    async def delete_many(request: Request) -> Response:
        body = await _json(request)
        caller, bucket_id = caller_of(request), request.path_params["bucket"]
        return _answer(await pg.delete_many(caller, bucket_id, body.get("prefixes")))

    async def list_objects(request: Request) -> Response:
        caller, bucket_id = caller_of(request), request.path_params["bucket"]
        return _answer(await pg.list_objects(caller, bucket_id, await _json(request)))

    async def info(request: Request) -> Response:
        bucket_id, name = params(request)
        return _answer(await pg.info(caller_of(request), bucket_id, name))

    async def copy(request: Request) -> Response:
        upsert = request.headers.get("x-upsert", "false").lower() == "true"
        answer = await pg.copy(
            caller_of(request),
            await _json(request),
            upsert=upsert,
            header_metadata=_metadata(request.headers.get("x-metadata")),
        )
        return _answer(answer)

    async def move(request: Request) -> Response:
        return _answer(await pg.move(caller_of(request), await _json(request)))

    async def public(request: Request) -> Response:
        bucket_id, name = params(request)
        return send(request, await pg.open_public(bucket_id, name))

    # signed URLs ----------------------------------------------------------------------

    async def sign(request: Request) -> Response:
        bucket_id, name = params(request)
        body = await _json(request)
        url = await pg.sign(caller_of(request), bucket_id, name, body.get("expiresIn"))
        return _answer({"signedURL": url, "fullSignedURL": absolute(request, url)})

    async def sign_many(request: Request) -> Response:
        body = await _json(request)
        caller, bucket_id = caller_of(request), request.path_params["bucket"]
        items = await pg.sign_many(caller, bucket_id, body.get("paths"), body.get("expiresIn"))
        for item in items:
            url = item["signedURL"]
            item["fullSignedURL"] = None if url is None else absolute(request, url)
        return _answer(items)

    async def signed_download(request: Request) -> Response:
        bucket_id, name = params(request)
        record = await pg.open_signed(bucket_id, name, request.query_params.get("token"))
        return send(request, record)

    async def sign_upload(request: Request) -> Response:
        bucket_id, name = params(request)
        upsert = request.headers.get("x-upsert", "false").lower() == "true"
        url, token = await pg.sign_upload(caller_of(request), bucket_id, name, upsert=upsert)
        return _answer({"url": url, "token": token, "fullURL": absolute(request, url)})

    async def signed_upload(request: Request) -> Response:
        bucket_id, name = params(request)
        token = request.query_params.get("token")
        async with _upload_body(request) as (body, details):
            record = await pg.upload_signed(bucket_id, name, token, body, details)
        return _answer({"Key": f"{record.bucket}/{record.name}"})

    def route(path: str, handler: Callable[[Request], Awaitable[Response]], *methods: str) -> Route:
        return Route(ROOT + path, guarded(handler), methods=list(methods))

    named = "/{bucket}/{name:path}"
    # Order matters: the fixed words (list, info, sign, upload, public, copy, move)
    # come before the catch-all /object/{bucket}/{name}, as in storage-api.
    return [
        route("/bucket/", list_buckets, "GET"),
        route("/bucket", list_buckets, "GET"),
        route("/bucket/", create_bucket, "POST"),
        route("/bucket", create_bucket, "POST"),
        route("/bucket/{bucket}", bucket, "GET", "PUT", "DELETE"),
        route("/object/list/{bucket}", list_objects, "POST"),
        route("/object/copy", copy, "POST"),
        route("/object/move", move, "POST"),
        route("/object/info" + named, info, "GET"),
        route("/object/sign" + named, sign, "POST"),
        route("/object/sign/{bucket}", sign_many, "POST"),
        route("/object/sign" + named, signed_download, "GET"),
        route("/object/upload/sign" + named, sign_upload, "POST"),
        route("/object/upload/sign" + named, signed_upload, "PUT"),
        route("/object/public" + named, public, "GET"),
        route("/object" + named, upload, "POST", "PUT"),
        route("/object" + named, download, "GET"),
        route("/object" + named, delete_one, "DELETE"),
        route("/object/{bucket}", delete_many, "DELETE"),
    ]
