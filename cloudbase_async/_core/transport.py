"""The transport: one pooled ``httpx.AsyncClient`` per client family, and the request loop.

Services describe a call as a :class:`Request` and get a :class:`Response` back. Between
the two, and only here: service roots, SDK headers, credentials, admission in front of
the pool, retries with backoff, the one refresh-and-retry after a rejected token, error
mapping and logging. Services never retry, sleep, or touch httpx clients themselves.
"""

from __future__ import annotations

import abc
import logging
import random
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import anyio.lowlevel
import attrs
import httpx

from .._version import __version__
from .codec import MAX_KEPT_TEXT, UnreadableBody, dumps, loads, loads_lenient
from .config import ClientConfig, Service
from .credentials import CredentialProvider
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientClosedError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
    make_api_error,
)
from .retry import is_retryable_status, parse_retry_after
from .types import UNSET, Content, QueryParams, Timeout

__all__ = [
    "Pool",
    "ReplayableBody",
    "Request",
    "Response",
    "Transport",
    "redact_url",
]

log: Final = logging.getLogger("cloudbase_async")

SDK_VERSION: Final = f"cloudbase-async/{__version__}"


class ReplayableBody(AsyncIterable[bytes], abc.ABC):
    """A streamed request body that starts again from its first byte each time it is iterated.

    Subclass it (for a file reopened per attempt, say) to let the transport retry a
    request whose body is too large to hold in memory: httpx iterates the same object
    again on every attempt (it only refuses to re-iterate async generators).
    """

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[bytes]: ...


_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})

# Query parameters whose values are secrets, in any service's URLs (matched lowercased).
_SECRET_PARAMS: Final = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "sudo_token",
        "captcha_token",
        "client_secret",
        "code",
        "code_verifier",
        "sign",
        "signature",
        "q-signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-cos-security-token",
    }
)


def redact_url(url: str) -> str:
    """``url`` with secret query values and userinfo replaced, for logs and messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if not parts.query:
        return urlunsplit(parts._replace(netloc=netloc))
    pairs = [
        (k, "<redacted>" if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(pairs, safe="<>()*,.:")))


@attrs.frozen
class Request:
    """A description of one API call, built by a service and sent by the transport.

    ``service`` selects the endpoint root that ``path`` is appended to. An absolute
    ``url`` (a presigned storage URL, say) bypasses the roots and is sent with only the
    given headers: no credentials, no SDK headers. ``retry_safe`` says whether the call
    may be repeated after it may have reached the server; by default only
    GET/HEAD/OPTIONS are. ``retry_on_status=True`` retries a call that is not safe to
    repeat when, and only when, the server answered with a retryable status (408, 429,
    5xx) before any body: for calls where such an answer proves nothing ran (AI chat
    completions). ``authenticated=False`` sends no user ``Authorization``.
    """

    method: str
    service: Service | None = None
    path: str = ""
    params: QueryParams = None
    headers: Mapping[str, str] = _NO_HEADERS
    json: object = UNSET
    content: Content = None
    retry_safe: bool | None = None
    retry_on_status: bool = False
    authenticated: bool = True
    timeout: Timeout = None
    url: str | None = None

    @property
    def safe_to_repeat(self) -> bool:
        if self.retry_safe is not None:
            return self.retry_safe
        return self.method.upper() in _SAFE_METHODS

    @property
    def replayable(self) -> bool:
        """The body can be sent again (a plain async iterable is consumed by the first try)."""
        return self.content is None or isinstance(self.content, bytes | ReplayableBody)


@attrs.define(slots=True, eq=False, repr=False)
class Response:
    """An HTTP response with the request id and the number of retries it took.

    For streams (:meth:`Transport.open_stream`) the body is unread; iterate ``http`` and
    call :meth:`aclose`, which is idempotent and returns the connection to the pool.
    """

    http: httpx.Response
    request_id: str | None
    retries_taken: int

    @property
    def status_code(self) -> int:
        return self.http.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http.headers

    @property
    def content(self) -> bytes:
        return self.http.content

    @property
    def text(self) -> str:
        return self.http.text

    def json(self) -> Any:
        """The body decoded as JSON (``None`` for an empty body).

        :raises ResponseValidationError: the body is not valid UTF-8 JSON.
        """
        content = self.http.content
        try:
            return loads(content)
        except UnreadableBody as exc:
            raise ResponseValidationError(
                f"The server answered {self.status_code} with a body this SDK cannot "
                f"read: {exc.reason}.",
                status_code=self.status_code,
                request_id=self.request_id,
                body=content[: MAX_KEPT_TEXT * 4].decode("utf-8", "replace")[:MAX_KEPT_TEXT],
            ) from None

    async def aclose(self) -> None:
        await _close(self.http)

    def __repr__(self) -> str:
        return (
            f"<Response [{self.http.status_code}] request_id={self.request_id!r} "
            f"retries_taken={self.retries_taken}>"
        )


class _ReleasingStream(httpx.AsyncByteStream):
    """Wraps a response body so closing it also frees the admission slot, exactly once.

    Closing through httpx is not enough on its own: a response that arrives already
    read (``httpx.MockTransport``, custom transports) is marked closed and httpx never
    closes its stream again. So the transport also calls :meth:`release` itself.
    """

    __slots__ = ("_inner", "_release")

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self.release()

    def release(self) -> None:
        """Free the admission slot; later calls do nothing."""
        release, self._release = self._release, None
        if release is not None:
            release()


async def _close(response: httpx.Response) -> None:
    """Close ``response`` (shielded) and free its admission slot, whatever httpx did."""
    if not response.is_closed:
        # Shielded: a cancelled caller must still hand the connection back at once.
        with anyio.CancelScope(shield=True):
            await response.aclose()
    if isinstance(response.stream, _ReleasingStream):
        response.stream.release()


class Pool:
    """The family's one ``httpx.AsyncClient`` and the admission gate in front of it.

    At most ``max_concurrency`` requests are inside httpx at once; the rest wait here,
    in order, without a pool timeout ticking. (On httpx defaults, 500 concurrent
    requests fail mostly with ``PoolTimeout``; behind the gate they all complete.)
    """

    def __init__(
        self, http: httpx.AsyncClient, *, owned: bool, max_concurrency: int | None
    ) -> None:
        self.http = http
        self.owned = owned
        self.closed = False
        self._gate = anyio.Semaphore(max_concurrency) if max_concurrency else None

    async def acquire(self) -> None:
        if self._gate is None:
            return
        # The uncontended path skips the two event-loop round trips of acquire() but is
        # still a cancellation point. It stays fair: a released slot goes straight to a
        # waiter, if any.
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            self._gate.acquire_nowait()
        except anyio.WouldBlock:
            await self._gate.acquire()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.release()

    async def aclose(self) -> None:
        """Close the httpx client if this pool created it. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.owned:
            await self.http.aclose()


def _is_token_rejection(error: APIError) -> bool:
    return error.status_code == 401 or error.code == "ACCESS_TOKEN_EXPIRED"


def _is_retryable_error(error: APIError) -> bool:
    return is_retryable_status(error.status_code) or isinstance(
        error, RateLimitError | InternalServerError
    )


def _connection_error(exc: httpx.TransportError, request_id: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__
        return APITimeoutError(f"Request timed out ({kind}).", request_id=request_id)
    return APIConnectionError(
        f"Connection error: {type(exc).__name__}: {exc}", request_id=request_id
    )


# The request never left: always safe to try again, whatever the method.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@attrs.frozen
class Transport:
    """Sends :class:`Request` objects for one client (copies share ``pool``)."""

    config: ClientConfig
    pool: Pool = attrs.field(repr=False)
    credentials: CredentialProvider
    rng: random.Random = attrs.field(factory=random.Random, repr=False, eq=False)

    async def send(self, request: Request) -> Response:
        """Send ``request`` and read the whole body; raise the mapped error on failure."""
        return await self._exchange(request, stream=False)

    async def open_stream(self, request: Request) -> Response:
        """Send ``request`` and return with the body unread once a 2xx status arrived.

        Retries happen only before any of a 2xx body has been read. The caller owns the
        response and must ``await response.aclose()`` (it is idempotent and shielded).
        """
        return await self._exchange(request, stream=True)

    def url(self, request: Request) -> str:
        if request.url is not None:
            return request.url
        if request.service is None:
            raise ValueError("a Request needs a service or an absolute url")
        return self.config.endpoints[request.service] + request.path

    def _build(self, request: Request, request_id: str, authorization: str | None) -> httpx.Request:
        headers: dict[str, str]
        if request.url is not None:
            headers = dict(request.headers)
        else:
            headers = {"X-SDK-Version": SDK_VERSION, **self.config.headers}
            if not request.authenticated:
                # A stale user token on a sign-in or refresh call gets it refused.
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers.update(request.headers)
            headers["X-Request-Id"] = request_id
            if authorization is not None:
                headers["Authorization"] = authorization
        content = request.content
        if request.json is not UNSET:
            content = dumps(request.json)
            headers.setdefault("Content-Type", "application/json")
        timeout = self.config.timeout if request.timeout is None else request.timeout
        return self.pool.http.build_request(
            request.method,
            self.url(request),
            params=request.params,
            headers=headers,
            content=content,
            timeout=timeout,
        )

    async def _exchange(self, request: Request, *, stream: bool) -> Response:
        if self.pool.closed:
            raise ClientClosedError("This CloudBase client is closed.")
        request_id = str(uuid.uuid4())
        sends_credentials = request.authenticated and request.url is None
        authorization = await self.credentials.authorization() if sends_credentials else None
        http_request = self._build(request, request_id, authorization)
        retries = 0
        refreshed = False
        while True:
            if sends_credentials and (retries or refreshed):
                # A later attempt: the token may have been refreshed in the meantime.
                current = await self.credentials.authorization()
                if current != authorization:
                    authorization = current
                    if current is None:
                        http_request.headers.pop("Authorization", None)
                    else:
                        http_request.headers["Authorization"] = current
            started = time.perf_counter()
            try:
                response = await self._send_once(http_request, read=not stream)
            except httpx.TransportError as exc:
                error = _connection_error(exc, request_id)
                may_retry = isinstance(exc, _NOT_SENT) or (
                    request.safe_to_repeat and request.replayable
                )
                delay = self.config.retry.delay(retries, None, self.rng) if may_retry else None
                self._log_failure(http_request, error, started, retries, delay)
                if delay is None:
                    raise error from exc
                await anyio.sleep(delay)
                retries += 1
                continue

            server_id = response.headers.get("x-request-id") or request_id
            if response.status_code < 400:
                self._log_success(http_request, response, server_id, started, retries)
                return Response(response, server_id, retries)

            api_error = make_api_error(
                response.status_code,
                loads_lenient(response.content),
                request_id=server_id,
                reason=response.reason_phrase,
                retry_after=parse_retry_after(response.headers),
            )
            if (
                sends_credentials
                and not refreshed
                and request.replayable
                and _is_token_rejection(api_error)
            ):
                refreshed = True
                if await self.credentials.rejected(authorization):
                    self._log_failure(http_request, api_error, started, retries, 0.0)
                    continue
            delay = None
            if (
                (request.safe_to_repeat or request.retry_on_status)
                and request.replayable
                and _is_retryable_error(api_error)
            ):
                delay = self.config.retry.delay(retries, api_error.retry_after, self.rng)
            self._log_failure(http_request, api_error, started, retries, delay)
            if delay is None:
                raise api_error
            await anyio.sleep(delay)
            retries += 1

    async def _send_once(self, http_request: httpx.Request, *, read: bool) -> httpx.Response:
        """One attempt inside the admission gate. Reads the body unless it is a 2xx stream."""
        pool = self.pool
        await pool.acquire()
        try:
            response = await pool.http.send(http_request, stream=True)
        except BaseException:
            pool.release()
            raise
        response.stream = _ReleasingStream(response.stream, pool.release)  # type: ignore[arg-type]
        if read or response.status_code >= 400:
            try:
                await response.aread()
            finally:
                await _close(response)
        return response

    def _log_success(
        self,
        http_request: httpx.Request,
        response: httpx.Response,
        request_id: str,
        started: float,
        retries: int,
    ) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d (request_id=%s, %.1f ms, retries=%d)",
                http_request.method,
                redact_url(str(http_request.url)),
                response.status_code,
                request_id,
                (time.perf_counter() - started) * 1000,
                retries,
            )

    def _log_failure(
        self,
        http_request: httpx.Request,
        error: APIError | APIConnectionError,
        started: float,
        retries: int,
        delay: float | None,
    ) -> None:
        level = logging.INFO if delay is not None else logging.DEBUG
        if not log.isEnabledFor(level):
            return
        what = (
            f"{error.status_code} {error.code or ''}".rstrip()
            if isinstance(error, APIError)
            else type(error).__name__
        )
        then = "giving up" if delay is None else f"retrying in {delay:.2f} s"
        log.log(
            level,
            "%s %s -> %s (request_id=%s, %.1f ms, retries=%d); %s",
            http_request.method,
            redact_url(str(http_request.url)),
            what,
            error.request_id,
            (time.perf_counter() - started) * 1000,
            retries,
            then,
        )
