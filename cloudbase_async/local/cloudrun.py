"""CloudRun: ASGI apps registered per service name at ``/v1/cloudrun/{name}[/{path}]``.

Method, sub-path, query, headers and body pass through to the app, and its answer
back, unbuffered (an SSE endpoint streams event by event). Like the gateway, answers
to GET requests and answers that are not text get ``Content-Disposition: attachment``;
event streams are exempt.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..functions import validate_function_name
from ._asgi import forward, sub_path
from ._http import gateway_error, request_id
from ._identity import CredentialError, Identify

__all__ = ["CloudRunServices", "routes"]

PREFIX: Final = "/v1/cloudrun"
_TEXT_TYPES: Final = (b"application/json", b"application/x-www-form-urlencoded", b"text/plain")


class CloudRunServices:
    """The registry behind ``local.cloudrun(name, app)``."""

    def __init__(self) -> None:
        # Single dict assignments: safe while the server thread reads them.
        self._apps: dict[str, ASGIApp] = {}

    def add(self, name: str, app: ASGIApp) -> None:
        validate_function_name(name)  # the same name rule as functions
        if not callable(app):
            raise TypeError(f"A CloudRun service must be an ASGI app, got {app!r}.")
        self._apps[name] = app

    def remove(self, name: str) -> None:
        self._apps.pop(name, None)

    def clear(self) -> None:
        self._apps.clear()

    def names(self) -> list[str]:
        return sorted(self._apps)

    def get(self, name: str) -> ASGIApp | None:
        return self._apps.get(name)


def _needs_attachment(method: str, headers: list[tuple[bytes, bytes]]) -> bool:
    found = {key.lower(): value for key, value in headers}
    if b"content-disposition" in found:
        return False
    media = found.get(b"content-type", b"").split(b";")[0].strip().lower()
    if media == b"text/event-stream":
        return False
    return method == "GET" or media not in _TEXT_TYPES


class _Endpoint:
    def __init__(self, services: CloudRunServices, identify: Identify) -> None:
        self._services = services
        self._identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        name: str = scope["path_params"]["name"]
        try:
            caller = self._identify(request.headers.get("authorization"))
        except CredentialError as exc:
            await gateway_error(request, exc.status, exc.code, exc.message)(scope, receive, send)
            return
        app = self._services.get(name)
        if app is None:
            answer = gateway_error(
                request, 404, "SERVICE_NOT_FOUND", f"No CloudRun service {name!r}."
            )
            await answer(scope, receive, send)
            return
        method = scope["method"]

        async def gateway_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if _needs_attachment(method, headers):
                    headers.append((b"content-disposition", b"attachment"))
                    message = {**message, "headers": headers}
            await send(message)

        path, raw = sub_path(scope, f"{PREFIX}/{name}", scope["path_params"].get("rest", ""))
        await forward(
            app,
            scope,
            receive,
            gateway_send,
            path=path,
            raw_path=raw,
            query_string=scope.get("query_string", b""),
            caller=caller,
            request_id=request_id(scope),
        )


def routes(services: CloudRunServices, identify: Identify) -> list[BaseRoute]:
    endpoint = _Endpoint(services, identify)
    return [
        Route(PREFIX + "/{name}", endpoint),
        Route(PREFIX + "/{name}/{rest:path}", endpoint),
    ]
