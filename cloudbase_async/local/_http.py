"""What every local service's route layer shares: request ids, lenient JSON bodies and
the gateway's error body.

The real gateway answers its own failures (functions, CloudRun, storage, AI) with
``{"code", "message", "requestId"}`` and puts ``X-Request-Id`` on every response; the
request id is made once per request by the app's outer middleware and read here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware", "gateway_error", "read_json", "request_id"]

_STATE_KEY: Final = "cloudbase_local_request_id"


def request_id(scope: Scope) -> str:
    """The id of the request ``scope`` belongs to (made by :class:`RequestIdMiddleware`)."""
    state = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if rid is None:
        rid = state[_STATE_KEY] = uuid.uuid4().hex
    return str(rid)


class RequestIdMiddleware:
    """Gives each request an id and answers it as ``X-Request-Id`` (pure ASGI: a streamed
    response passes through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*headers, (b"x-request-id", rid)]}
            await send(message)

        await self.app(scope, receive, send_with_id)


def gateway_error(
    request: Request | Scope,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The gateway's error answer: ``{code, message, requestId}``."""
    scope = request.scope if isinstance(request, Request) else request
    return JSONResponse(
        {"code": code, "message": message, "requestId": request_id(scope)},
        status_code=status,
        headers=dict(headers or {}),
    )


async def read_json(request: Request) -> Any:
    """The body as JSON whatever its content type (``None`` when empty).

    The official js-sdk sends JSON labelled ``text/plain;charset=UTF-8`` on auth calls,
    and writes sometimes carry ``application/json, application/json``: the label is not
    to be trusted, the bytes are. Raises ``ValueError`` for a body that is not JSON.
    """
    raw = await request.body()
    if not raw.strip():
        return None
    return json.loads(raw)
