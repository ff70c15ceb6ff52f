"""What both storage route modules share: error bodies, callers, files out."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response

from .._identity import Caller, CredentialError
from ._errors import CosError, GatewayError, SupabaseError
from ._store import ObjectRecord

__all__ = ["Identify", "guarded", "object_response", "origin", "request_id"]

log: Final = logging.getLogger("cloudbase_async.local")

Identify = Callable[[str | None], Caller]
Endpoint = Callable[[Request], Awaitable[Response]]


def request_id() -> str:
    return uuid.uuid4().hex


def origin(request: Request) -> str:
    """The gateway's origin as the client addressed it (for absolute URLs)."""
    return str(request.base_url).rstrip("/")


def _gateway(code: str, message: str, status: int, rid: str) -> Response:
    body = {"code": code, "message": message, "requestId": rid}
    return JSONResponse(body, status, headers={"X-Request-Id": rid})


def _cos(error: CosError, resource: str, rid: str) -> Response:
    body = (
        "<?xml version='1.0' encoding='utf-8' ?>\n<Error>\n"
        f"  <Code>{escape(error.code)}</Code>\n  <Message>{escape(error.message)}</Message>\n"
        f"  <Resource>{escape(resource)}</Resource>\n  <RequestId>{rid}</RequestId>\n</Error>\n"
    )
    return Response(
        body, error.status, media_type="application/xml", headers={"x-cos-request-id": rid}
    )


def guarded(handler: Endpoint) -> Endpoint:
    """Answer every failure in its own shape and keep serving."""

    async def endpoint(request: Request) -> Response:
        rid = request_id()
        try:
            return await handler(request)
        except CredentialError as exc:
            return _gateway(exc.code, exc.message, exc.status, rid)
        except GatewayError as exc:
            return _gateway(exc.code, exc.message, exc.status, rid)
        except SupabaseError as exc:
            body = {"statusCode": exc.status_code, "error": exc.error, "message": exc.message}
            return JSONResponse(body, exc.status, headers={"X-Request-Id": rid})
        except CosError as exc:
            return _cos(exc, request.url.path, rid)
        except ClientDisconnect:
            # The client went away mid-body: nothing was stored, nobody reads an answer.
            return Response(status_code=400)
        except Exception as exc:
            log.exception("storage: %s %s failed", request.method, request.url.path)
            return _gateway("SYS_ERR", f"{type(exc).__name__}: {exc}", 500, rid)

    return endpoint


def object_response(
    path: Any, record: ObjectRecord, *, download: str | None = None, **headers: str
) -> Response:
    """The object's bytes, streamed from its blob (ranges and HEAD handled by Starlette)."""
    # The stored type exactly (Starlette would add a charset to a text/* media type).
    out = {"Content-Type": record.content_type, "ETag": f'"{record.etag}"', **headers}
    if record.cache_control:
        out["Cache-Control"] = record.cache_control
    if download is not None:
        name = download or record.name.rsplit("/", 1)[-1]
        out["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    return FileResponse(path, headers=out)
