"""The Starlette routes for ``/v1/rdb/rest``: HTTP in, :class:`RdbRequest` out, and back.

The only logic here is HTTP's: who is calling (``identify``; a bad credential answers
PostgREST's 401 ``PGRST301``), the raw path and query (kept percent-encoded, so a ``/``
inside a name stays in the name) and header folding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._identity import Caller, CredentialError
from ._errors import RdbError
from ._http import RdbRequest, error_response

if TYPE_CHECKING:
    from . import RdbEngine

__all__ = ["routes"]

_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]


def _raw_path(request: Request) -> str:
    """The path below the mount, still percent-encoded."""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return "/" + str(request.path_params.get("path", ""))
    path = raw.decode("latin-1").split("?", 1)[0]
    root = str(request.scope.get("root_path", ""))
    return (path[len(root) :] or "/") if root and path.startswith(root) else path


def _headers(request: Request) -> dict[str, str]:
    folded: dict[str, str] = {}
    for name, value in request.headers.items():
        folded[name] = f"{folded[name]}, {value}" if name in folded else value
    return folded


def routes(engine: RdbEngine, identify: Callable[[str | None], Caller]) -> list[BaseRoute]:
    """Routes with absolute paths, to mount under ``/v1/rdb/rest``."""

    async def endpoint(request: Request) -> Response:
        try:
            caller = identify(request.headers.get("authorization"))
        except CredentialError as exc:
            error = RdbError(
                exc.status,
                "PGRST301",
                exc.message,
                headers=(
                    (
                        "www-authenticate",
                        f'Bearer error="invalid_token", error_description="{exc.message}"',
                    ),
                ),
            )
            answer = error_response(error)
        else:
            answer = await engine.handle(
                RdbRequest(
                    request.method,
                    _raw_path(request),
                    request.scope.get("query_string", b"").decode("latin-1"),
                    _headers(request),
                    await request.body(),
                    caller,
                )
            )
        response = Response(answer.body, answer.status)
        # raw headers: a name may repeat (PGRST116 carries two content types).
        response.raw_headers = [
            *(h for h in response.raw_headers if h[0] != b"content-type"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers),
        ]
        return response

    return [Route("/{path:path}", endpoint, methods=_METHODS)]
