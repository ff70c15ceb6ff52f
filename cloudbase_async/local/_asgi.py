"""Handing a request to a user's ASGI app (a web function, a CloudRun service), unbuffered.

The app gets a fresh scope as the service behind the real gateway would see it: the
sub-path below the gateway's prefix (raw bytes kept as they arrived), the query, the
headers and the body, plus the caller in ``scope["state"]["caller"]`` (Starlette and
FastAPI: ``request.state.caller``). ``receive`` and ``send`` are the server's own, so
the body streams in and the answer streams out chunk by chunk: an SSE response reaches
the client event by event.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._identity import Caller

__all__ = ["forward", "strip_query_param", "sub_path"]

log: Final = logging.getLogger("cloudbase_async.local")

_KEPT: Final = (
    "type",
    "asgi",
    "http_version",
    "method",
    "scheme",
    "server",
    "client",
    "headers",
    "extensions",
)


def sub_path(scope: Scope, prefix: str, rest: str) -> tuple[str, bytes]:
    """(decoded, raw) path below ``prefix``; ``"/"`` when there is none."""
    path = "/" + rest.lstrip("/") if rest else "/"
    raw: bytes | None = scope.get("raw_path")
    encoded_prefix = prefix.encode()
    if raw is not None and raw.startswith(encoded_prefix):
        raw_rest = raw[len(encoded_prefix) :]
        return path, raw_rest if raw_rest.startswith(b"/") else b"/" + raw_rest
    return path, quote(path).encode()


def strip_query_param(query: bytes, name: str) -> bytes:
    """``query`` without the ``name=...`` pairs (the rest left byte for byte)."""
    key = name.encode()
    pairs = [p for p in query.split(b"&") if p and p.partition(b"=")[0] != key]
    return b"&".join(pairs)


async def forward(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    path: str,
    raw_path: bytes,
    query_string: bytes,
    caller: Caller,
    request_id: str,
) -> None:
    """Run ``app`` for this request. An app that fails before answering gets a plain
    500, as its own server would send; one that fails mid-answer cuts the connection."""
    inner: dict[str, Any] = {key: scope[key] for key in _KEPT if key in scope}
    inner.update(
        path=path,
        raw_path=raw_path,
        root_path="",
        query_string=query_string,
        state={"caller": caller, "request_id": request_id},
    )
    started = False

    async def tracked_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(inner, receive, tracked_send)
    except Exception:
        if started:
            raise
        log.exception("the app behind %s failed", scope.get("path"))
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
