"""CloudRun: call a container service through the gateway, ``/v1/cloudrun/{service}{path}``.

The gateway passes method, path, query, headers and body through to the service, and
the service's answer back. Two gateway habits matter to a client: it adds
``Content-Disposition: attachment`` to every GET response (and to non-text ones), which
says nothing about how to decode the body and is ignored here; and it answers its own
failures with ``{code, message, requestId}`` (``SERVICE_NOT_FOUND``, ``SERVICE_TIMEOUT``...),
mapped onto the error hierarchy like every other service.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final, Self

from ._core.errors import StreamClosedError
from ._core.passthrough import body_content, check_method, check_name, encode_subpath
from ._core.responses import BodyStream, Response
from ._core.service import Service
from ._core.sse import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_EVENT_SIZE, EventSource
from ._core.streams import Opener, OwnedStream
from ._core.transport import Request
from ._core.types import UNSET, Content, QueryParams, Timeout

__all__ = ["CloudRun", "CloudRunStream", "service_path"]

# Characters left as they are in a path: RFC 3986 pchar minus "%" (a literal "%" in a
# path is encoded, so "/100%" reaches the service as "/100%25" and decodes back).
_PATH_SAFE: Final = "-._~!$&'()*+,;=:@"


def service_path(service: str, path: str) -> str:
    """``/{service}{path}`` with the name checked and the path percent-encoded.

    ``path`` is the decoded path the service should see ("/files/a b.txt"); a missing
    leading ``/`` is added; see :func:`~cloudbase_async._core.passthrough.encode_subpath`
    for what is refused.
    """
    return f"/{check_name(service, 'CloudRun service')}{encode_subpath(path, safe=_PATH_SAFE)}"


class CloudRun(Service):
    """``cb.cloudrun``: requests to CloudRun services."""

    __slots__ = ()

    def _request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any,
        content: Content | str,
        params: QueryParams,
        headers: Mapping[str, str] | None,
        timeout: Timeout,
        stream: bool,
    ) -> Request:
        content = body_content(json, content)
        sent_headers = dict(headers or {})
        if stream and not any(k.lower() == "accept" for k in sent_headers):
            # Without it the gateway ends long requests at 60 s; pass your own Accept
            # (e.g. "*/*") for a service that negotiates on it.
            sent_headers["Accept"] = "text/event-stream"
        return Request(
            check_method(method),
            "cloudrun",
            service_path(service, path),
            params=params,
            headers=sent_headers,
            json=json,
            content=content,
            timeout=timeout,
        )

    async def request(
        self,
        service: str,
        method: str,
        path: str = "/",
        *,
        json: Any = UNSET,
        content: Content | str = None,
        params: QueryParams = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Response:
        """Send one request to ``service`` and return its whole response.

        ``json=`` sends a JSON body, ``content=`` bytes, a str (UTF-8) or an async
        iterable of bytes. The result has ``status_code``, ``headers``, ``content``,
        ``text``, ``json()`` and ``request_id``. An error status raises: gateway codes
        (``SERVICE_NOT_FOUND`` → :class:`~cloudbase_async.NotFoundError`...) or the
        service's own status (404 → ``NotFoundError``, 500 → ``InternalServerError``),
        with the body on ``error.body``. GET/HEAD are retried when safe; other methods
        only when the connection could not be made.
        """
        return await self._send(
            self._request(
                service,
                method,
                path,
                json=json,
                content=content,
                params=params,
                headers=headers,
                timeout=timeout,
                stream=False,
            )
        )

    def stream(
        self,
        service: str,
        method: str,
        path: str = "/",
        *,
        json: Any = UNSET,
        content: Content | str = None,
        params: QueryParams = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> CloudRunStream:
        """Open a streamed response: ``async with cb.cloudrun.stream(...) as resp``.

        Iterate ``resp`` (or ``resp.aiter_bytes()``) for bytes, or ``resp.sse()`` for
        server-sent events. ``Accept: text/event-stream`` is sent unless ``headers``
        has an ``Accept``. The connection is released when the block ends.
        """
        request = self._request(
            service,
            method,
            path,
            json=json,
            content=content,
            params=params,
            headers=headers,
            timeout=timeout,
            stream=True,
        )
        return CloudRunStream(functools.partial(self._transport.open_stream, request))


class CloudRunStream(OwnedStream):
    """A streamed CloudRun response, owned by an ``async with`` block.

    ``status_code``, ``headers``, ``request_id`` and ``response`` are available once
    entered. Read the body once: as bytes (``async for chunk in resp``), or as events
    (``async for event in resp.sse(idle_timeout=...)``). Leaving the block closes the
    response at once (shielded); reading after that raises
    :class:`~cloudbase_async.StreamClosedError`.
    """

    __slots__ = ("_body", "_events")

    def __init__(self, opener: Opener) -> None:
        super().__init__(opener)
        self._body: BodyStream | None = None
        self._events: EventSource | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        response = self._open_response()
        if self._events is not None:
            raise StreamClosedError("The body is being read as events (sse()).")
        if self._body is None:
            self._body = response.aiter_bytes()
        try:
            return await self._body.__anext__()
        except BaseException:  # the end, a broken connection, a cancellation
            await self.aclose()
            raise

    def aiter_bytes(self) -> Self:
        """The body as it arrives (the same as iterating the stream)."""
        return self

    def sse(
        self,
        *,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> EventSource:
        """The body as server-sent events, with an idle timeout between events
        (comments do not reset it) and a bound on one event's size."""
        response = self._open_response()
        if self._body is not None:
            raise StreamClosedError("The body is being read as bytes.")
        if self._events is None:
            self._events = EventSource(
                response, idle_timeout=idle_timeout, max_event_size=max_event_size
            )
        return self._events

    async def _close_readers(self) -> None:
        if self._events is not None:
            await self._events.aclose()
        if self._body is not None:
            await self._body.aclose()
