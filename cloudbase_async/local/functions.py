"""Cloud functions: Python callables as event functions, ASGI apps as web functions.

``POST /v1/functions/{name}`` runs an event function with the JSON body as its event
and answers its return value as the whole body (JSON, no envelope), like the gateway.
``/v1/functions/{name}[/{path}]?webfn=true`` (or with ``X-Tcb-Webfn: true``) hands the
request to a web function's ASGI app, any method, streamed both ways.

Event functions are ``(event, context) -> JSON value``, sync or ``async``. Sync ones
run in a worker thread so a slow one does not stall the gateway. A function may also
return a Starlette ``Response`` to answer text, bytes or its own headers.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any, Final, TypeAlias

import anyio
import anyio.to_thread
import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..functions import validate_function_name
from ._asgi import forward, strip_query_param, sub_path
from ._http import gateway_error, read_json, request_id
from ._identity import Caller, CredentialError, Identify

__all__ = ["FunctionContext", "FunctionHandler", "Functions", "routes"]

log: Final = logging.getLogger("cloudbase_async.local")

PREFIX: Final = "/v1/functions"


@attrs.frozen
class FunctionContext:
    """What an event function learns about its invocation besides the event."""

    function_name: str
    request_id: str
    env: str
    #: Who called: ``caller.role`` is ``"admin"``, ``"anon"`` or ``"user"``.
    caller: Caller
    #: ``X-Qualifier`` when the caller named a version.
    qualifier: str | None = None

    @property
    def uid(self) -> str | None:
        """The calling user's id (``None`` for the API key or the publishable key)."""
        return self.caller.uid


FunctionHandler: TypeAlias = Callable[[Any, FunctionContext], Any]


@attrs.frozen
class _Event:
    handler: FunctionHandler
    timeout: float | None


@attrs.frozen
class _Web:
    app: ASGIApp


class Functions:
    """The registry of functions: ``local.function(...)`` and ``local.web_function(...)``
    end up here. (Registration replaces a function of the same name.)"""

    def __init__(self, env: str) -> None:
        self.env = env
        # Single dict assignments: safe while the server thread reads them.
        self._entries: dict[str, _Event | _Web] = {}

    def add(self, name: str, handler: FunctionHandler, *, timeout: float | None = None) -> None:
        """Register an event function; ``timeout`` (seconds) makes a longer run answer
        ``FUNCTION_TIME_LIMIT_EXCEEDED``."""
        validate_function_name(name)
        if not callable(handler):
            raise TypeError(f"A function must be callable, got {handler!r}.")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be > 0 seconds, or None.")
        self._entries[name] = _Event(handler, timeout)

    def add_web(self, name: str, app: ASGIApp) -> None:
        """Register a web function: an ASGI app reached with ``?webfn=true``."""
        validate_function_name(name)
        if not callable(app):
            raise TypeError(f"A web function must be an ASGI app, got {app!r}.")
        self._entries[name] = _Web(app)

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def clear(self) -> None:
        self._entries.clear()

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> _Event | _Web | None:
        return self._entries.get(name)


def _is_webfn(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    if any(pair.lower() == b"webfn=true" for pair in query.split(b"&")):
        return True
    headers: dict[bytes, bytes] = dict(scope.get("headers", []))
    return headers.get(b"x-tcb-webfn", b"").lower() == b"true"


def _encode(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    body = json.dumps(result, ensure_ascii=False, allow_nan=False).encode()
    return Response(body, media_type="application/json")


async def _call(entry: _Event, event: Any, context: FunctionContext) -> Any:
    handler = entry.handler
    with anyio.fail_after(entry.timeout) if entry.timeout else contextlib.nullcontext():
        if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004 - async callable objects
        ):
            return await handler(event, context)
        result = await anyio.to_thread.run_sync(functools.partial(handler, event, context))
        if inspect.isawaitable(result):
            return await result
        return result


class _Endpoint:
    """The ASGI endpoint behind both function routes."""

    def __init__(self, registry: Functions, identify: Identify) -> None:
        self._registry = registry
        self._identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        name: str = scope["path_params"]["name"]
        rest: str = scope["path_params"].get("rest", "")
        try:
            caller = self._identify(request.headers.get("authorization"))
        except CredentialError as exc:
            await gateway_error(request, exc.status, exc.code, exc.message)(scope, receive, send)
            return
        entry = self._registry.get(name)
        webfn = _is_webfn(scope)
        if entry is None or (rest and not webfn):
            answer: Response = gateway_error(
                request, 404, "FUNCTION_NOT_FOUND", f"Function {name!r} does not exist."
            )
        elif isinstance(entry, _Web):
            if not webfn:
                answer = gateway_error(
                    request,
                    400,
                    "FUNCTION_PARAM_INVALID",
                    f"{name!r} is an HTTP function: call it with ?webfn=true.",
                )
            else:
                path, raw = sub_path(scope, f"{PREFIX}/{name}", rest)
                await forward(
                    entry.app,
                    scope,
                    receive,
                    send,
                    path=path,
                    raw_path=raw,
                    query_string=strip_query_param(scope.get("query_string", b""), "webfn"),
                    caller=caller,
                    request_id=request_id(scope),
                )
                return
        elif webfn:
            answer = gateway_error(
                request,
                400,
                "FUNCTION_PARAM_INVALID",
                f"{name!r} is an event function: call it without webfn.",
            )
        else:
            answer = await self._invoke(request, name, entry, caller)
        await answer(scope, receive, send)

    async def _invoke(self, request: Request, name: str, entry: _Event, caller: Caller) -> Response:
        if request.method in ("GET", "HEAD"):
            event: Any = dict(request.query_params)
        else:
            try:
                event = await read_json(request)
            except ValueError as exc:
                return gateway_error(
                    request, 400, "FUNCTION_PARAM_INVALID", f"The event is not JSON: {exc}"
                )
        context = FunctionContext(
            function_name=name,
            request_id=request_id(request.scope),
            env=self._registry.env,
            caller=caller,
            qualifier=request.headers.get("x-qualifier"),
        )
        try:
            result = await _call(entry, {} if event is None else event, context)
            return _encode(result)
        except TimeoutError:
            return gateway_error(
                request,
                504,
                "FUNCTION_TIME_LIMIT_EXCEEDED",
                f"Function {name!r} ran longer than {entry.timeout} s.",
            )
        except Exception as exc:
            log.warning("function %r raised", name, exc_info=True)
            message = str(exc) or type(exc).__name__
            return gateway_error(request, 500, "FUNCTION_INVOCATION_FAILED", message)


def routes(registry: Functions, identify: Identify) -> list[BaseRoute]:
    """``/v1/functions/{name}`` and its web sub-paths."""
    endpoint = _Endpoint(registry, identify)
    return [
        Route(PREFIX + "/{name}", endpoint),
        Route(PREFIX + "/{name}/{rest:path}", endpoint),
    ]
