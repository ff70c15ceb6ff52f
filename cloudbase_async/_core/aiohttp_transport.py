"""An ``httpx`` transport that carries the bytes with aiohttp (asyncio only; the ``aiohttp`` extra).

httpx stays the client: it builds requests, applies the mounts for proxies from the
environment, decodes ``Content-Encoding`` and hands out ``httpx.Response`` objects, so
nothing above the transport changes. Only the connection pool and the HTTP/1.1 wire
work move to aiohttp, whose pool takes and returns a connection in constant time and
whose parser is compiled: at a few hundred requests in flight, httpcore's pool walks
every connection (and polls each idle socket) whenever a request starts or ends.

What the rest of the SDK relies on, and how it is kept here:

* **Errors say truthfully whether the request may have been sent.** Only a failure
  while *establishing* a connection (refused, DNS, TLS, the connect or pool timeout)
  becomes ``httpx.ConnectError``/``ConnectTimeout``, which the transport above treats
  as "never sent". A connection that broke or was closed by the server after the
  request went out (``ServerDisconnectedError``, ``ClientOSError``) becomes
  ``httpx.RemoteProtocolError``/``ReadError``: it may have been sent.
* **aiohttp retries nothing on its own** (it would silently resend a PUT or DELETE on a
  dropped keep-alive connection); retries are the SDK's decision.
* **No redirects, no cookies, no decompression, no added headers**: httpx does those
  (or, for redirects, the SDK refuses them), so the bytes on the wire are the ones
  httpx built, and ``aiter_raw()`` gives the body as sent.
* **Bodies are class-based streams.** Closing a response that was not read to the end
  closes its connection; an abandoned one leaves nothing for the garbage collector.
* **A streamed request body is checked against its ``Content-Length``** (httpcore
  refuses a mismatch with ``LocalProtocolError``, and so does this), and an error raised
  by the body itself propagates unchanged.
* **Timeouts**: ``connect`` bounds opening a socket, ``read`` each read, ``pool`` plus
  ``connect`` waiting for and opening a connection. aiohttp has no write timeout; the
  SDK's per-attempt deadline bounds sending.

Limits: ``max_connections`` bounds the pool and ``keepalive_expiry`` how long an idle
connection is kept; aiohttp keeps every idle connection up to ``max_connections``, so
``max_keepalive_connections`` has no separate effect.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from collections.abc import AsyncIterator
from typing import Any, Final, NoReturn

import aiohttp
import httpx
from yarl import URL

__all__ = ["SUPPORTED", "AiohttpTransport", "map_error"]


def _major_minor(version: str) -> tuple[int, int]:
    major, _, rest = version.partition(".")
    minor = "".join(c for c in rest.partition(".")[0] if c.isdigit())
    return (int(major), int(minor or 0))


#: aiohttp 3.10 introduced the timeout errors that say whether a connection was being
#: opened (``ConnectionTimeoutError``) or a read stalled (``SocketTimeoutError``).
SUPPORTED: Final = _major_minor(aiohttp.__version__) >= (3, 10)

#: Headers aiohttp would add when httpx did not send them (httpx sends what it means to).
_SKIP_AUTO_HEADERS: Final = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
#: Longest header line aiohttp accepts (its default, 8 KiB, is stricter than httpcore's).
_MAX_HEADER_LINE: Final = 64 * 1024
_HTTP11: Final = b"HTTP/1.1"


def map_error(exc: BaseException) -> httpx.TransportError | None:
    """The httpx error for an aiohttp failure (``None``: not a transport failure).

    The order matters: aiohttp's classes inherit from each other, so the more specific
    (and the "never sent" ones) come first.
    """
    message = type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)  # waiting for or opening a connection
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return httpx.ProxyError(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)  # nothing was sent on this connection
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message)  # may have been sent
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)  # a response aiohttp could not parse
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientError | OSError):
        return httpx.ReadError(message)  # a broken connection: may have been sent
    return None


def _raise_mapped(exc: BaseException) -> NoReturn:
    mapped = map_error(exc)
    if mapped is None:
        raise exc
    raise mapped from exc


class _CheckedBody:
    """A streamed request body counted against its declared ``Content-Length``.

    aiohttp iterates it in a writer task of its own, so a failure of the body itself
    (a file that cannot be read, say) would reach the caller wrapped as a connection
    error; it is kept in ``error`` and raised as it was instead.
    """

    __slots__ = ("_chunks", "_declared", "_sent", "error")

    def __init__(self, stream: httpx.AsyncByteStream, declared: int | None) -> None:
        self._chunks: AsyncIterator[bytes] = stream.__aiter__()
        self._declared = declared
        self._sent = 0
        self.error: BaseException | None = None

    def __aiter__(self) -> _CheckedBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            if self._declared is not None and self._sent != self._declared:
                self.error = httpx.LocalProtocolError("Too little data for declared Content-Length")
                raise self.error from None
            raise
        except Exception as exc:
            self.error = exc
            raise
        self._sent += len(chunk)
        if self._declared is not None and self._sent > self._declared:
            self.error = httpx.LocalProtocolError("Too much data for declared Content-Length")
            raise self.error
        return chunk


class _ResponseBody(httpx.AsyncByteStream):
    """The body of an aiohttp response as httpx reads it: network reads, passed on."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    def __aiter__(self) -> _ResponseBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._response.content.readany()
        except Exception as exc:  # mapped, or re-raised as it was
            _raise_mapped(exc)
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        response = self._response
        if response.content.at_eof():
            response.release()  # the connection goes back to the pool
        else:
            response.close()  # unread bytes on it: the connection cannot be reused


def _timeout(values: dict[str, float | None]) -> aiohttp.ClientTimeout:
    connect, read, pool = values.get("connect"), values.get("read"), values.get("pool")
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect, sock_read=read)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over aiohttp's pool, for an ``httpx.AsyncClient`` on asyncio.

    The aiohttp session is created on the first request (it belongs to the running
    event loop) and closed by :meth:`aclose`. ``ssl_context`` is used for ``https``
    (the one httpx's own transport would build).
    """

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext) -> None:
        self._limits = limits
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        limits = self._limits
        expiry = limits.keepalive_expiry
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=math.inf if expiry is None else expiry,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,  # httpx mounts the proxies from the environment itself
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            max_line_size=_MAX_HEADER_LINE,
            max_field_size=_MAX_HEADER_LINE,
        )
        # aiohttp resends idempotent methods (PUT and DELETE included) once on a dropped
        # keep-alive connection; whether a call is repeated is the SDK's decision.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session = session
        self._loop = asyncio.get_running_loop()
        return session

    def _session_here(self) -> aiohttp.ClientSession:
        session = self._session
        if session is not None and self._loop is asyncio.get_running_loop():
            return session
        # First use, or a new event loop (connections of the old one cannot be used).
        return self._open()

    def _client_timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        values = request.extensions.get("timeout") or {}
        key = (values.get("connect"), values.get("read"), values.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) > 64:  # per-call timeouts: keep the cache bounded
                self._timeouts.clear()
            timeout = self._timeouts[key] = _timeout(values)
        return timeout

    def _ssl_for(self, url: httpx.URL) -> ssl.SSLContext | bool:
        return self._ssl if url.scheme == "https" else True  # (unused for http)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_here()
        headers = request.headers
        body: Any = None
        checked: _CheckedBody | None = None
        if isinstance(request.stream, httpx.ByteStream):
            body = request.content or None
        else:
            length = headers.get("content-length")
            checked = _CheckedBody(
                request.stream,  # type: ignore[arg-type]
                int(length) if length and length.isdigit() else None,
            )
            body = checked
        encoding = headers.encoding  # what httpx encoded them with; aiohttp re-encodes
        pairs = [
            (name.decode(encoding), value.decode(encoding))
            for name, value in headers.raw
            if name.lower() != b"transfer-encoding"  # aiohttp frames the body itself
        ]
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),  # exactly as httpx encoded it
                headers=pairs,
                data=body,
                allow_redirects=False,
                timeout=self._client_timeout(request),
                ssl=self._ssl_for(request.url),
            )
        except Exception as exc:
            body_error = None if checked is None else checked.error
            if body_error is None:
                _raise_mapped(exc)
        else:
            body_error = None
        if body_error is not None:
            # Raised outside the handler: aiohttp's wrapper has the body's error as its
            # cause, so raising it in there would chain the two into a loop.
            raise body_error
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_ResponseBody(response),
            extensions={
                "http_version": _HTTP11,
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    def connections(self) -> tuple[int, int]:
        """``(checked out or waited for, open)``: what tests look at to prove nothing leaks."""
        connector = None if self._session is None else self._session.connector
        if not isinstance(connector, aiohttp.TCPConnector):
            return (0, 0)
        # aiohttp has no public view of its pool; these are its own bookkeeping.
        busy = len(connector._acquired)
        waiting = sum(len(waiters) for waiters in connector._waiters.values())
        idle = sum(len(conns) for conns in connector._conns.values())
        return (busy + waiting, busy + idle)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._loop is asyncio.get_running_loop():
            await session.close()
