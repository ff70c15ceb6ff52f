"""The transport: one pooled ``httpx.AsyncClient`` per client family, and the request loop.

Services describe a call as a :class:`Request` and get a
:class:`~cloudbase_async._core.responses.Response` back. Between the two, and only here:
service roots, SDK headers, credentials, admission in front of the pool, deadlines,
retries with backoff, the one refresh-and-retry after a rejected token, error mapping
and logging (how bodies are read is :mod:`.responses`). Services never retry, sleep, or
touch httpx clients themselves.

Time bounds (the README's "Time limits" section documents them for users):

* Waiting for a slot in front of the pool is bounded by the pool timeout.
* Each attempt of a call must be answered completely within its *deadline*: the
  largest of the timeout's connect, read and write values (``timeout=5`` gives 5 s).
  A server that drips its headers or body byte by byte cannot stretch a call past it.
  While a streamed request body (an upload) is being sent, the deadline is pushed back
  with every chunk it yields, so a large upload may take as long as it keeps moving.
* Streamed responses (``open_stream``) are bounded by the deadline until their headers
  arrive; their bodies then by the read timeout of each read (and SSE by its idle
  timeout).

The module is over 500 lines because the request loop is one piece: admission,
deadlines, credentials and signatures per attempt, retries and error mapping decide
together what happens next, and splitting them would scatter one state machine.
"""

from __future__ import annotations

import abc
import functools
import logging
import math
import random
import sys
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from types import MappingProxyType
from typing import Final

import anyio
import anyio.lowlevel
import attrs
import httpx

from .._version import __version__
from .codec import dumps, loads_lenient
from .config import ClientConfig, Service, as_timeout
from .credentials import CredentialProvider, RequestSigner
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientClosedError,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    RedirectError,
    describe,
    make_api_error,
)
from .headers import check_headers
from .redact import loggable, redact_url
from .responses import (
    MAX_ERROR_BODY,
    ReleasingStream,
    Response,
    close_response,
    read_bounded,
)
from .retry import is_retryable_status, parse_retry_after
from .types import UNSET, Content, QueryParams, Timeout

__all__ = ["Pool", "ReplayableBody", "Request", "Transport", "attempt_deadline"]

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
#: Parsed service URLs kept per pool (one per function or table name, typically).
_MAX_CACHED_URLS: Final = 512
_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


@attrs.frozen(repr=False)
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

    def __repr__(self) -> str:
        # Bodies, header values and query values may be passwords or tokens: names only.
        where = redact_url(self.url) if self.url is not None else f"{self.service}:{self.path}"
        params = self.params.keys() if isinstance(self.params, Mapping) else self.params or ()
        keys = [key if isinstance(key, str) else key[0] for key in params]
        return (
            f"<Request {self.method} {where} params={keys!r} headers={sorted(self.headers)!r}"
            f" body={'json' if self.json is not UNSET else type(self.content).__name__}>"
        )


class Pool:
    """The family's one ``httpx.AsyncClient`` and the admission gate in front of it.

    At most ``max_concurrency`` requests are inside httpx at once; the rest wait here,
    in order, for at most the pool timeout. (On httpx defaults, 500 concurrent requests
    fail mostly with ``PoolTimeout``; behind the gate they all complete.)
    """

    def __init__(
        self, http: httpx.AsyncClient, *, owned: bool, max_concurrency: int | None
    ) -> None:
        self.http = http
        self.owned = owned
        self.closed = False
        self._gate = anyio.Semaphore(max_concurrency) if max_concurrency else None
        # The client this pool created is configured once and never changed, so what
        # build_request() would merge into every request (its default headers) is
        # taken once; a client the caller brought is asked on every request.
        self.client_headers: tuple[tuple[str, str], ...] = (
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in http.headers.raw)
            if owned
            else ()
        )
        self._urls: dict[str, httpx.URL] = {}

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams,
        headers: list[tuple[str, str]],
        content: Content,
        timeout: httpx.Timeout,
        cache_url: bool,
    ) -> httpx.Request:
        """The ``httpx.Request`` for a call; ``headers`` already include the client's
        own when the pool owns the client (see :attr:`client_headers`)."""
        http = self.http
        if not self.owned:
            return http.build_request(
                method, url, params=params, headers=headers, content=content, timeout=timeout
            )
        return httpx.Request(
            method,
            self._url(url) if cache_url else url,
            params=params,
            headers=headers,
            content=content,
            cookies=http.cookies or None,  # cookies a server set earlier, as httpx sends them
            extensions={"timeout": timeout.as_dict()},
        )

    def _url(self, url: str) -> httpx.URL:
        """``url`` parsed once: a service's URLs repeat and ``httpx.URL`` is immutable."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= _MAX_CACHED_URLS:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    async def acquire(self, wait: float | None) -> None:
        """Take a slot, waiting at most ``wait`` seconds (``None``: no bound).

        :raises TimeoutError: no slot freed up in time.
        """
        if self._gate is None:
            return
        # The uncontended path skips the two event-loop round trips of acquire() but is
        # still a cancellation point. It stays fair: a released slot goes straight to a
        # waiter, if any.
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            self._gate.acquire_nowait()
        except anyio.WouldBlock:
            with anyio.fail_after(wait):
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


async def _backoff(seconds: float) -> None:
    """Wait before the next attempt (the one place the SDK sleeps; tests record it)."""
    await anyio.sleep(seconds)


def attempt_deadline(timeout: httpx.Timeout) -> float:
    """Seconds one attempt may take as a whole: the largest of connect, read and write
    (``inf`` when none is set). The pool wait is bounded on its own."""
    values = [t for t in (timeout.connect, timeout.read, timeout.write) if t is not None]
    return max(values) if values else math.inf


def _check_declared_length(request: Request) -> None:
    """A caller's ``Content-Length`` must be the length of the bytes it goes with."""
    declared = next((v for k, v in request.headers.items() if k.lower() == "content-length"), None)
    if declared is None or not isinstance(request.content, bytes):
        return
    if not declared.isdigit() or int(declared) != len(request.content):
        raise InvalidRequestError(
            f"The Content-Length header ({declared}) is not the length of the body "
            f"({len(request.content)} bytes)."
        )


def _names_authorization(headers: Mapping[str, str]) -> bool:
    return any(name.lower() == "authorization" for name in headers)


def _merge(headers: dict[str, tuple[str, str]], extra: Mapping[str, str]) -> None:
    for name, value in extra.items():
        headers[name.lower()] = (name, value)


def _merged(
    headers: Mapping[str, tuple[str, str]], extra: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    out = dict(headers)
    for name, value in extra:
        out[name.lower()] = (name, value)
    return out


def _is_token_rejection(error: APIError) -> bool:
    return error.status_code == 401 or error.code == "ACCESS_TOKEN_EXPIRED"


def _is_retryable_error(error: APIError) -> bool:
    return is_retryable_status(error.status_code) or isinstance(
        error, RateLimitError | InternalServerError
    )


def _connection_error(exc: httpx.TransportError, request_id: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out ({type(exc).__name__}).", request_id=request_id)
    return APIConnectionError(f"Connection error ({describe(exc)}).", request_id=request_id)


def _h11_errors() -> tuple[type[Exception], ...]:
    """h11's error for a request it refuses to send, if h11 is loaded.

    Only httpx's own transport (httpcore) uses h11, and loads it with its first
    connection: what is not loaded cannot have raised, so it is looked up rather than
    imported (an import would add h11 to ``import cloudbase_async``).
    """
    h11 = sys.modules.get("h11")
    return () if h11 is None else (h11.LocalProtocolError,)


# The request never left: always safe to try again, whatever the method.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _AdmissionTimeout(Exception):
    """No slot in front of the pool freed up within the pool timeout."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = math.inf if seconds is None else seconds


class _Deadline:
    """The cancel scope bounding one attempt, pushed back while a body is being sent."""

    __slots__ = ("scope", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.scope = anyio.CancelScope(deadline=anyio.current_time() + seconds)

    def extend(self) -> None:
        self.scope.deadline = anyio.current_time() + self.seconds


class _TimedBody(httpx.AsyncByteStream):
    """A streamed request body that pushes the attempt's deadline back with every chunk.

    Class-based (not an async generator), so an upload abandoned halfway leaves nothing
    for the garbage collector to finalise.
    """

    __slots__ = ("_body", "_chunks", "_deadline")

    def __init__(self, body: AsyncIterable[bytes], deadline: _Deadline) -> None:
        self._body = body
        self._deadline = deadline
        self._chunks: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> _TimedBody:
        self._deadline.extend()
        self._chunks = self._body.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        assert self._chunks is not None
        chunk = await self._chunks.__anext__()
        self._deadline.extend()
        return chunk


@attrs.frozen
class Transport:
    """Sends :class:`Request` objects for one client (copies share ``pool``).

    ``credentials`` supplies the ``Authorization`` value; a ``signer`` (a client
    configured with a Tencent Cloud secret) signs the calls it claims on every attempt.
    """

    config: ClientConfig
    pool: Pool = attrs.field(repr=False)
    credentials: CredentialProvider
    signer: RequestSigner | None = None
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

    def timeout(self, request: Request) -> httpx.Timeout:
        """The timeout ``request`` is sent with (its own, or the client's)."""
        return self.config.timeout if request.timeout is None else as_timeout(request.timeout)

    def _build(self, request: Request, request_id: str, authorization: str | None) -> httpx.Request:
        check_headers(request.headers)
        _check_declared_length(request)
        # Merged by lower-cased name, later entries replacing earlier ones: the client's
        # own defaults, then (for API calls) ours, the configured ones and the call's.
        headers = dict(self._base_headers(absolute=request.url is not None))
        if request.url is None:
            if not request.authenticated:
                # A stale user token on a sign-in or refresh call gets it refused.
                headers.pop("authorization", None)
            _merge(headers, request.headers)
            headers["x-request-id"] = ("X-Request-Id", request_id)
            if authorization is not None:
                headers["authorization"] = ("Authorization", authorization)
        else:
            _merge(headers, request.headers)
        content = request.content
        if request.json is not UNSET:
            content = dumps(request.json)
            headers.setdefault("content-type", ("Content-Type", "application/json"))
        try:
            return self.pool.build_request(
                request.method,
                self.url(request),
                params=request.params,
                headers=list(headers.values()),
                content=content,
                timeout=self.timeout(request),
                cache_url=request.url is None,
            )
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"The request cannot be built ({describe(exc)}).") from None

    def _base_headers(self, *, absolute: bool) -> dict[str, tuple[str, str]]:
        """The headers every request of this transport starts from (computed once)."""
        return self._bases[absolute]

    @functools.cached_property
    def _bases(self) -> dict[bool, dict[str, tuple[str, str]]]:
        client = _merged({}, self.pool.client_headers)
        api = _merged(client, [("X-SDK-Version", SDK_VERSION)])
        api = _merged(api, self.config.headers.items())
        return {False: api, True: client}

    async def _exchange(self, request: Request, *, stream: bool) -> Response:
        if self.pool.closed:
            raise ClientClosedError("This CloudBase client is closed.")
        request_id = str(uuid.uuid4())
        # An Authorization the caller set (on the call, or on the client for calls that
        # carry credentials) is sent as it is, alone: never a second one of ours.
        sends_credentials = (
            request.authenticated
            and request.url is None
            and not _names_authorization(request.headers)
            and "authorization" not in self._base_headers(absolute=False)
        )
        signer = self.signer
        if sends_credentials and signer is not None and await signer.signs(request.service):
            sends_credentials = False  # the signature is the credential, made per attempt
        else:
            signer = None
        authorization = await self.credentials.authorization() if sends_credentials else None
        http_request = self._build(request, request_id, authorization)
        timeout = self.timeout(request)
        retries = 0
        refreshed = False
        while True:
            if signer is not None:
                # Every attempt is signed anew: the signature covers a fresh timestamp.
                http_request.headers["Authorization"] = signer.sign(http_request)
            elif sends_credentials and (retries or refreshed):
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
                response = await self._attempt(request, http_request, timeout, stream=stream)
            except _AdmissionTimeout as exc:
                # Not retried: the wait was the budget, and trying again queues again.
                raise APITimeoutError(
                    f"No connection became free within the pool timeout ({exc.seconds:g} s): "
                    "every connection is busy (open streams hold theirs until closed).",
                    request_id=request_id,
                ) from None
            except Exception as exc:
                # h11's own error escapes httpcore when a streamed body disagrees with
                # its declared Content-Length; it says what went wrong but never how.
                if isinstance(exc, (httpx.LocalProtocolError, *_h11_errors())):
                    # Our request is malformed (a header value h11 refuses, a
                    # Content-Length that disagrees with the body): never retried.
                    raise InvalidRequestError(
                        f"The request cannot be sent ({describe(exc)}): check the "
                        "headers and the declared Content-Length."
                    ) from None
                if not isinstance(exc, httpx.TransportError):
                    raise
                error = _connection_error(exc, request_id)
                may_retry = isinstance(exc, _NOT_SENT) or (
                    request.safe_to_repeat and request.replayable
                )
                delay = self.config.retry.delay(retries, None, self.rng) if may_retry else None
                self._log_failure(http_request, error, started, retries, delay)
                if delay is None:
                    raise error from exc
                await _backoff(delay)
                retries += 1
                continue

            server_id = response.headers.get("x-request-id") or request_id
            status = response.status_code
            if 200 <= status < 300:
                self._log_success(http_request, response, server_id, started, retries)
                return Response(response.http, server_id, retries, response._content)

            api_error = self._status_error(response, server_id)
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
            await _backoff(delay)
            retries += 1

    def _status_error(self, response: Response, request_id: str) -> APIError:
        """The error for a non-2xx answer (a 3xx included: redirects are not followed)."""
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("location")
            shown = redact_url(location) if location else None
            return RedirectError(
                f"The server redirected the call ({status}) to {shown or 'nowhere'}; "
                "redirects are not followed. Check base_url / endpoints.",
                status_code=status,
                request_id=request_id,
                location=shown,
            )
        return make_api_error(
            status,
            loads_lenient(response.content),
            request_id=request_id,
            reason=response.http.reason_phrase,
            retry_after=parse_retry_after(response.headers),
        )

    async def _attempt(
        self, request: Request, http_request: httpx.Request, timeout: httpx.Timeout, *, stream: bool
    ) -> Response:
        """One attempt: admission, then send and read within the deadline."""
        pool = self.pool
        try:
            await pool.acquire(timeout.pool)
        except TimeoutError:
            raise _AdmissionTimeout(timeout.pool) from None
        deadline = _Deadline(attempt_deadline(timeout))
        with deadline.scope:
            if isinstance(request.content, AsyncIterable):
                http_request.stream = _TimedBody(request.content, deadline)
            try:
                http = await pool.http.send(http_request, stream=True)
            except BaseException:
                pool.release()
                raise
            http.stream = ReleasingStream(http.stream, pool.release)  # type: ignore[arg-type]
            status = http.status_code
            if stream and 200 <= status < 300:
                return Response(http, None, 0)
            success = 200 <= status < 300
            limit = self.config.max_response_size if success else MAX_ERROR_BODY
            try:
                content = await read_bounded(http, limit, truncate=not success)
            finally:
                await close_response(http)
            return Response(http, None, 0, content)
        # Only reached when the deadline cancelled the block (the connection is closed).
        raise httpx.ReadTimeout(f"no complete answer within {deadline.seconds:g} s")

    def _log_success(
        self,
        http_request: httpx.Request,
        response: Response,
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
                loggable(request_id),
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
            loggable(what),
            loggable(error.request_id),
            (time.perf_counter() - started) * 1000,
            retries,
            then,
        )
