"""HTTP for classic storage: the four batch calls and the signed byte URLs.

Batch calls take a JSON array and answer one (per-item successes or ``{code,
message}``); request-level failures are the gateway's ``{code, message, requestId}``.
The byte URLs (``/_local/storage/{bucket}/{path}``) stand in for COS: a signed PUT,
a signed GET with no credential, and COS's XML errors.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._identity import Caller
from ._engine import StorageEngine
from ._errors import CosError, GatewayError
from ._http import Identify, guarded, object_response, origin, request_id

__all__ = ["classic_routes"]

Batch = Callable[[Caller, list[dict[str, Any]], Request], Awaitable[list[dict[str, Any]]]]


async def _items(request: Request) -> list[dict[str, Any]]:
    try:
        items = json.loads(await request.body() or b"null")
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise GatewayError("INVALID_PARAM", "the body must be a JSON array of objects", 400)
    return items


def classic_routes(engine: StorageEngine, identify: Identify) -> list[BaseRoute]:
    classic = engine.classic

    def batch(call: Batch) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            caller = identify(request.headers.get("authorization"))
            answers = await call(caller, await _items(request), request)
            return JSONResponse(answers, headers={"X-Request-Id": request_id()})

        return guarded(endpoint)

    def check_bucket(request: Request) -> str:
        if request.path_params["bucket"] != classic.bucket:
            raise CosError("NoSuchBucket", "The specified bucket does not exist.", 404)
        return str(request.path_params["key"])

    async def put_object(request: Request) -> Response:
        key = check_bucket(request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        record = await classic.receive(
            key, request.headers.get("authorization"), headers, request.stream()
        )
        return Response(
            status_code=200,
            headers={"ETag": f'"{record.etag}"', "x-cos-request-id": request_id()},
        )

    async def get_object(request: Request) -> Response:
        key = check_bucket(request)
        params = request.query_params
        record = await classic.open(key, params.get("t"), params.get("sign"))
        return object_response(
            engine.store.blob_path(record),
            record,
            **{"x-cos-meta-fileid": str(record.metadata.get("fileid", ""))},
        )

    base = "/v1/storages"
    objects = "/_local/storage/{bucket}/{key:path}"
    return [
        Route(
            f"{base}/get-objects-upload-info",
            batch(lambda c, items, r: classic.upload_info(c, items, origin(r))),
            methods=["POST"],
        ),
        Route(
            f"{base}/get-objects-download-info",
            batch(lambda c, items, r: classic.download_info(c, items, origin(r))),
            methods=["POST"],
        ),
        Route(
            f"{base}/delete-objects",
            batch(lambda c, items, r: classic.delete(c, items)),
            methods=["POST"],
        ),
        Route(
            f"{base}/copy-objects",
            batch(lambda c, items, r: classic.copy(c, items)),
            methods=["POST"],
        ),
        Route(objects, guarded(put_object), methods=["PUT"]),
        Route(objects, guarded(get_object), methods=["GET"]),  # HEAD too
    ]
