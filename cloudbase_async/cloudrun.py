"""CloudRun: call a container service through the gateway, ``/v1/cloudrun/{service}{path}``.

The gateway passes method, path, query, headers and body through to the service, and
the service's answer back. Two gateway habits matter to a client: it adds
``Content-Disposition: attachment`` to every GET response (and to non-text ones), which
says nothing about how to decode the body and is ignored here; and it answers its own
failures with ``{code, message, requestId}`` (``SERVICE_NOT_FOUND``, ``SERVICE_TIMEOUT``...),
mapped onto the error hierarchy like every other service.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Final, Self

import anyio
import httpx

from ._core.errors import StreamClosedError
from ._core.passthrough import body_content, check_method, check_name, encode_subpath
from ._core.sse import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_EVENT_SIZE, EventSource, _read_error
from ._core.transport import Request, Response, Transport
from ._core.types import UNSET, Content, QueryParams

__all__ = ["CloudRun", "CloudRunStream", "service_path"]

# Characters left as they are in a path: RFC 3986 pchar minus "%" (a literal "%" in a
# path is encoded, so "/100%" reaches the service as "/100%25" and decodes back).
_PATH_SAFE: Final = "-._~!$&'()*+,;=:@"


def service_path(service: str, path: str) -> str:
    """``/{service}{path}`` with the name checked and the path percent-encoded.

    ``path`` is the decoded path the service should see ("/files/a b.txt"); a missing
    leading ``/`` is added; see :func:`~cloudbase_async._passthrough.encode_subpath`
    for what is refused.
    """
    return f"/{check_name(service, 'CloudRun service')}{encode_subpath(path, safe=_PATH_SAFE)}"


class CloudRun:
    """``cb.cloudrun``: requests to CloudRun services."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

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
        timeout: float | httpx.Timeout | None,
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
        timeout: float | httpx.Timeout | None = None,
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
        return await self._transport.send(
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
        timeout: float | httpx.Timeout | None = None,
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
        return CloudRunStream(self._transport, request)


class CloudRunStream:
    """A streamed CloudRun response, owned by an ``async with`` block.

    ``status_code``, ``headers``, ``request_id`` and ``response`` are available once
    entered. Read the body once: as bytes (``async for chunk in resp``), or as events
    (``async for event in resp.sse(idle_timeout=...)``). Leaving the block closes the
    response at once (shielded); reading after that raises
    :class:`~cloudbase_async.StreamClosedError`.
    """

    __slots__ = ("_chunks", "_closed", "_events", "_pending", "_response")

    def __init__(self, transport: Transport, request: Request) -> None:
        self._pending: tuple[Transport, Request] | None = (transport, request)
        self._response: Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._events: EventSource | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        if self._pending is None:
            raise StreamClosedError("A stream can be entered only once.")
        transport, request = self._pending
        self._pending = None
        self._response = await transport.open_stream(request)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def response(self) -> Response:
        if self._response is None:
            raise StreamClosedError("The stream is not open: use `async with ... as resp:`.")
        return self._response

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def request_id(self) -> str | None:
        return self.response.request_id

    def _open_response(self) -> Response:
        response = self.response
        if self._closed:
            raise StreamClosedError("This stream is closed (its `async with` block ended).")
        return response

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        response = self._open_response()
        if self._events is not None:
            raise StreamClosedError("The body is being read as events (sse()).")
        if self._chunks is None:
            self._chunks = response.http.aiter_bytes()
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            await self.aclose()
            raise
        except httpx.TransportError as exc:
            await self.aclose()
            raise _read_error(exc, response.request_id) from exc
        except BaseException:
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
        if self._chunks is not None:
            raise StreamClosedError("The body is being read as bytes.")
        if self._events is None:
            self._events = EventSource(
                response, idle_timeout=idle_timeout, max_event_size=max_event_size
            )
        return self._events

    async def aclose(self) -> None:
        """Close the response now (idempotent, shielded)."""
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._events is not None:
                await self._events.aclose()
            if self._chunks is not None:
                # RuntimeError: another task is inside it; closing the response ends that.
                with contextlib.suppress(RuntimeError):
                    await self._chunks.aclose()  # type: ignore[attr-defined]
            if self._response is not None:
                await self._response.aclose()
