"""Fault injection in front of every service: ``local.faults`` and ``/_local/faults``.

A rule matches a method and a path glob (``"POST /v1/functions/*"``, ``"/v1/ai/*"``,
``"*"``), optionally a predicate, and fires ``times`` times (``None``: for ever). What
it does, in this order:

* ``delay``: wait before the request goes on (alone, or before another effect);
* ``status``: answer that status with the service's own error body (gateway
  ``{code, message, requestId}``; auth ``{error, error_code, error_description}``;
  NoSQL ``{code, message, request_id}``), ``Retry-After`` when ``retry_after`` is set;
  ``status=200`` with a ``code`` is the "error in a 200 body" some model groups send;
* ``reset``: the connection drops after the status line, before any body arrives;
* ``cut_after`` / ``stall_after`` / ``malformed_after``: for streamed answers, after
  ``N`` server-sent events the connection drops, goes silent until the client leaves,
  or carries one frame that is not JSON (and then goes on).

The middleware is pure ASGI and passes bytes through as they come: a stream is never
buffered, only split at event boundaries.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import anyio
import attrs
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._http import request_id

__all__ = ["Fault", "FaultRequest", "Faults", "FaultsMiddleware", "ResetFilter"]

_EVENT_END: Final = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_MALFORMED: Final = b'data: {"choices": [{"delta": {"content": "cut\n\n'

# status -> the gateway's code for it (faults that name no code)
_GATEWAY_CODES: Final[Mapping[int, str]] = {
    400: "INVALID_PARAM",
    401: "INVALID_ACCESS_TOKEN",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_NOT_FOUND",
    408: "SERVER_TIMEOUT",
    429: "EXCEED_REQUEST_LIMIT",
    504: "SERVER_TIMEOUT",
}
_AUTH_ERRORS: Final[Mapping[int, tuple[str, int]]] = {
    400: ("invalid_argument", 3),
    401: ("unauthenticated", 16),
    403: ("permission_denied", 7),
    404: ("not_found", 5),
    429: ("resource_exhausted", 8),
    503: ("unavailable", 14),
}


class FaultReset(Exception):
    """Raised inside the server to make it drop a connection (filtered from its log)."""


class ResetFilter(logging.Filter):
    """Keeps uvicorn from logging the connection drops faults cause as app errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, FaultReset)


@attrs.frozen
class FaultRequest:
    """What a predicate (``when=``) sees of a request."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


@attrs.frozen
class Fault:
    """One fault rule (see the module docs). ``match`` is ``"[METHOD ]PATH-GLOB"``."""

    match: str
    status: int | None = None
    code: str | None = None
    message: str | None = None
    body: Any = None
    retry_after: float | None = attrs.field(default=None, validator=_positive)
    delay: float | None = attrs.field(default=None, validator=_positive)
    reset: bool = False
    cut_after: int | None = attrs.field(default=None, validator=_positive)
    stall_after: int | None = attrs.field(default=None, validator=_positive)
    malformed_after: int | None = attrs.field(default=None, validator=_positive)
    times: int | None = attrs.field(default=1, validator=_positive)
    when: Callable[[FaultRequest], bool] | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        effects = [self.status is not None, self.reset, self.stream_effect is not None]
        if sum(effects) > 1:
            raise ValueError("A fault does one of: status, reset, or one stream effect.")
        if not any(effects) and self.delay is None:
            raise ValueError("A fault needs an effect: status, delay, reset or a stream effect.")
        streams = [self.cut_after, self.stall_after, self.malformed_after]
        if sum(v is not None for v in streams) > 1:
            raise ValueError("Pick one of cut_after, stall_after and malformed_after.")
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError(f"status must be 200-599, got {self.status}")
        if self.status == 200 and not (self.code or self.body is not None):
            raise ValueError("A status=200 fault needs a code (or a body) to be an error.")
        path = self.pattern[1]
        if not path.startswith("/") and path != "*":
            raise ValueError(f"The path glob must start with '/', got {path!r}")

    @property
    def pattern(self) -> tuple[str | None, str]:
        method, _, path = self.match.strip().rpartition(" ")
        return (method.strip().upper() or None), path

    @property
    def stream_effect(self) -> tuple[str, int] | None:
        for name in ("cut_after", "stall_after", "malformed_after"):
            value = getattr(self, name)
            if value is not None:
                return name, int(value)
        return None

    def matches(self, request: FaultRequest) -> bool:
        method, path = self.pattern
        if method is not None and method != request.method:
            return False
        if not fnmatch.fnmatchcase(request.path, path):
            return False
        return self.when is None or bool(self.when(request))

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, filter=lambda a, v: a.name != "when" and v is not None)
        return {**data, "when": self.when is not None}


@attrs.define
class _Rule:
    id: int
    fault: Fault
    remaining: int | None
    fired: int = 0


class Faults:
    """The rules in force; thread-safe (tests add rules while the server runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._ids = itertools.count(1)

    def add(self, match: str, **options: Any) -> int:
        """Add ``Fault(match, **options)``; returns its id (for :meth:`remove`)."""
        return self.add_fault(Fault(match, **options))

    def add_fault(self, fault: Fault) -> int:
        with self._lock:
            rule = _Rule(next(self._ids), fault, fault.times)
            self._rules.append(rule)
            return rule.id

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        """The rules, with how many times each fired and may still fire."""
        with self._lock:
            return [
                {"id": r.id, **r.fault.to_json(), "fired": r.fired, "remaining": r.remaining}
                for r in self._rules
            ]

    def take(self, request: FaultRequest) -> Fault | None:
        """The first rule matching ``request`` that may still fire (counted as fired)."""
        with self._lock:
            for rule in self._rules:
                if rule.remaining == 0 or not rule.fault.matches(request):
                    continue
                rule.fired += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule.fault
        return None


def error_body(path: str, status: int, fault: Fault, rid: str) -> Any:
    """The body a service answers for an injected status."""
    if fault.body is not None:
        return fault.body
    message = fault.message or f"Injected fault (HTTP {status})."
    if path.startswith("/auth/"):
        error, number = _AUTH_ERRORS.get(
            status, ("internal" if status >= 500 else "invalid_argument", 13)
        )
        return {"error": fault.code or error, "error_code": number, "error_description": message}
    code = (
        fault.code
        or _GATEWAY_CODES.get(status)
        or ("SYS_ERR" if status >= 500 else "INVALID_PARAM")
    )
    key = "request_id" if path.startswith("/v1/database/") else "requestId"
    return {"code": code, "message": message, key: rid}


def _retry_after(seconds: float) -> bytes:
    return (str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))).encode()


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _StreamFault:
    """A ``send`` that applies a stream effect after ``count`` events of the body."""

    def __init__(self, send: Send, receive: Receive, effect: str, count: int) -> None:
        self._send = send
        self._receive = receive
        self._effect = effect
        self._left = count
        self._done = False
        self._tail = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] != "http.response.body" or self._done:
            await self._send(message)
            return
        data: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        cut = self._cut_point(data)
        if cut is None:
            await self._send(message)
            return
        self._done = True
        await self._send({"type": "http.response.body", "body": data[:cut], "more_body": True})
        if self._effect == "cut_after":
            raise FaultReset("stream cut by a fault")
        if self._effect == "stall_after":
            await _until_disconnected(self._receive)
            raise FaultReset("stream stalled by a fault, client gone")
        await self._send({"type": "http.response.body", "body": _MALFORMED, "more_body": True})
        await self._send({"type": "http.response.body", "body": data[cut:], "more_body": more})

    def _cut_point(self, data: bytes) -> int | None:
        """Where in ``data`` the ``count``-th event ends (``None``: not in this chunk)."""
        if self._left == 0:
            return 0
        buffer = self._tail + data
        start = 0
        for found in _EVENT_END.finditer(buffer):
            start = found.end()
            self._left -= 1
            if self._left == 0:
                return max(0, found.end() - len(self._tail))
        self._tail = buffer[start:][-3:]
        return None


class FaultsMiddleware:
    """Applies :class:`Faults` to every request but those under the ``exempt`` path
    prefixes (the admin API: a fault must not lock the test out of removing it)."""

    def __init__(self, app: ASGIApp, faults: Faults, *, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.faults = faults
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        request = FaultRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        )
        fault = self.faults.take(request)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay:
            await anyio.sleep(fault.delay)
        if fault.status is not None:
            await self._answer(scope, receive, send, fault)
        elif fault.reset:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            raise FaultReset("connection reset by a fault")
        elif (effect := fault.stream_effect) is not None:
            await self.app(scope, receive, _StreamFault(send, receive, *effect))
        else:
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, fault: Fault) -> None:
        status = int(fault.status or 500)
        body = json.dumps(error_body(scope["path"], status, fault, request_id(scope))).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault.retry_after is not None:
            headers.append((b"retry-after", _retry_after(fault.retry_after)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
