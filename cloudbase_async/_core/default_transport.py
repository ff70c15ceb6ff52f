"""The transport a client uses when it is given none: the fastest one for the running loop.

Under asyncio, with aiohttp installed (``pip install 'cloudbase-async[aiohttp]'``), the
bytes travel through :class:`~cloudbase_async._core.aiohttp_transport.AiohttpTransport`;
under trio, or without aiohttp, through httpx's own ``AsyncHTTPTransport`` (httpcore),
exactly as an ``httpx.AsyncClient`` built with the same limits would. Both use the TLS
settings httpx would (built once, with the client, as httpx builds them).

What is loaded when: a client built inside a running event loop loads the transport
that loop will use (aiohttp under asyncio, httpcore under trio) so that no request pays
for an import; one built outside any loop loads httpcore, as httpx does, and aiohttp on
its first request under asyncio. aiohttp's session is created on first use, in the
event loop it belongs to.

Test tools that intercept httpx by patching it (respx patches httpcore's pool,
pytest-httpx httpx's transport) keep working: while such a patch is in place, requests
go through httpx's own transport, where the patch sees them.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import httpx
import sniffio

__all__ = ["DefaultTransport", "intercepted", "new_http_client"]


def _patched(cls: type, module: str) -> bool:
    # Compared by name, so a patch already in place when this module was imported is
    # recognised too.
    function = cls.handle_async_request  # type: ignore[attr-defined]
    return getattr(function, "__qualname__", "") != f"{cls.__name__}.handle_async_request" or (
        not getattr(function, "__module__", "").startswith(module)
    )


def intercepted() -> bool:
    """Whether httpx's or httpcore's request handling is patched (by respx, say)."""
    if _patched(httpx.AsyncHTTPTransport, "httpx."):
        return True
    # httpx imports httpcore only once a transport of its own is built (and so does
    # anything that patches it): if it is not loaded, nothing patched it.
    httpcore = sys.modules.get("httpcore")
    return httpcore is not None and _patched(httpcore.AsyncConnectionPool, "httpcore.")


class DefaultTransport(httpx.AsyncBaseTransport):
    """Dispatches each request to aiohttp (asyncio, when installed) or httpcore.

    ``limits`` apply to whichever pool carries the request; the two are separate, and
    :meth:`aclose` closes both.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        # What httpx's own transport builds (certifi, SSL_CERT_FILE...), shared by both.
        self._ssl = httpx.create_ssl_context(trust_env=True)
        self._has_aiohttp = importlib.util.find_spec("aiohttp") is not None
        self._httpcore: httpx.AsyncHTTPTransport | None = None
        self._aiohttp: Any = None  # an AiohttpTransport
        if _running() != "asyncio" or self._aiohttp_transport() is None:
            self._httpcore_transport()

    def _aiohttp_transport(self) -> httpx.AsyncBaseTransport | None:
        """aiohttp's transport (built once), or ``None`` if aiohttp cannot serve."""
        if self._aiohttp is None and self._has_aiohttp:
            from . import aiohttp_transport

            if aiohttp_transport.SUPPORTED:
                self._aiohttp = aiohttp_transport.AiohttpTransport(self._limits, self._ssl)
            else:
                self._has_aiohttp = False  # an older aiohttp, installed for something else
        return self._aiohttp  # type: ignore[no-any-return]

    def _httpcore_transport(self) -> httpx.AsyncHTTPTransport:
        if self._httpcore is None:
            self._httpcore = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
        return self._httpcore

    def _pick(self) -> httpx.AsyncBaseTransport:
        """aiohttp's transport if it may carry this request, else httpx's own."""
        if self._has_aiohttp and sniffio.current_async_library() == "asyncio" and not intercepted():
            fast = self._aiohttp_transport()
            if fast is not None:
                return fast
        return self._httpcore_transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._pick()
        return await transport.handle_async_request(request)

    def connections(self) -> tuple[int, int]:
        """``(checked out or waited for, open)`` over both pools (for tests)."""
        busy = opened = 0
        if self._aiohttp is not None:
            busy, opened = self._aiohttp.connections()
        if self._httpcore is not None:
            pool = self._httpcore._pool  # httpcore's pool; its connections are public
            busy += sum(1 for conn in pool.connections if not conn.is_idle())
            busy += len(pool._requests)
            opened += len(pool.connections)
        return (busy, opened)

    async def aclose(self) -> None:
        fast, self._aiohttp = self._aiohttp, None
        standard, self._httpcore = self._httpcore, None
        try:
            if fast is not None and sniffio.current_async_library() == "asyncio":
                await fast.aclose()
        finally:
            if standard is not None:
                await standard.aclose()


def _running() -> str | None:
    """The async library running this code, if any."""
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None


class _Cookies(httpx.Cookies):
    """httpx's cookie store, skipping the work when a response sets no cookie.

    httpx hands every response to ``http.cookiejar`` through compatibility objects
    (a ``urllib`` request and an ``email`` message of all headers): a sixth of the CPU
    of a small call. Without a ``Set-Cookie`` header the jar would find nothing.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """``httpx.AsyncClient`` with the cookie store above (cookies behave as before)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sdk_cookies = _Cookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._sdk_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._sdk_cookies = _Cookies(cookies)


def new_http_client(
    *, limits: httpx.Limits, timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` a CloudBase client creates when not given one."""
    return _Client(limits=limits, timeout=timeout, transport=transport or DefaultTransport(limits))
