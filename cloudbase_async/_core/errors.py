"""The one exception hierarchy, and the pure mapping from an HTTP error response onto it.

CloudBase services answer errors in four body shapes; :func:`parse_error_body` reads
all of them into the same fields so that callers catch classes, not shapes:

* gateway (functions, CloudRun, storage, AI): ``{"code", "message", "requestId"}``
* document database: ``{"code", "message", "request_id"}``
* auth (OAuth style): ``{"error", "error_code", "error_description", "details"}``
* PostgREST: ``{"code", "message", "details", "hint"}``

PG-mode storage (Supabase style) adds a fifth, ``{"statusCode", "error", "message"}``,
answered with HTTP 400 for most failures while ``statusCode`` holds the real status as
a string (``"404"``, ``"409"``): that status is the one an error reports and is
classified by (see :func:`make_api_error`).

The module is a little over 500 lines because the classes and the mapping onto them
are read together: which class a code or status picks is only clear beside the class.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CaptchaRequiredError",
    "ClientClosedError",
    "CloudBaseError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerTimeoutError",
    "SessionStoreError",
    "StreamClosedError",
    "StreamError",
    "StreamInterruptedError",
    "describe",
]


class CloudBaseError(Exception):
    """Base class of every error this SDK raises."""


E = TypeVar("E", bound=BaseException)


def _rebuild(cls: type[E], message: str, fields: dict[str, Any]) -> E:
    """Unpickle an error whose ``__init__`` takes keywords: the message, then its fields."""
    error = cls.__new__(cls)
    BaseException.__init__(error, message)
    vars(error).update(fields)
    return error


class ConfigurationError(CloudBaseError, ValueError):
    """The client was configured with missing or invalid settings."""


class InvalidRequestError(CloudBaseError, ValueError):
    """A request was refused before anything was sent (bad argument, unsafe operation)."""


class ClientClosedError(CloudBaseError, RuntimeError):
    """The client's connection pool was closed; create a new client."""


class SessionStoreError(CloudBaseError):
    """The session store (Redis, the session file, your own) failed or did not answer in
    time. Calls that needed it (a token refresh, the first read of the session, a sign-in
    or sign-out on a shared store) raise this; calls whose token is still valid go on
    without the store. The cause is chained (``__cause__``); the message names only its
    type, since a store's own error text may quote keys or connection URLs."""


class APIError(CloudBaseError):
    """The server answered with an error.

    ``code`` is the service's own error code (``"INVALID_PARAM"``, ``"invalid_grant"``,
    ``"23505"``...), ``request_id`` the server's id for the call (quote it to support),
    ``body`` the decoded body as received. ``details`` and ``hint`` carry the extra
    fields some services send (PostgREST, auth).
    """

    status_code: int
    code: str | None
    message: str
    request_id: str | None
    body: object
    details: object
    hint: str | None
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        body: object = None,
        details: object = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        self.details = details
        self.hint = hint
        self.retry_after = retry_after

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"HTTP {self.status_code}{code}: {self.message}{rid}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args); ours take keywords, so rebuild from the fields
        # (multiprocessing, Celery and arq move errors between processes this way).
        return (_rebuild, (type(self), self.message, dict(vars(self))))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIError):
    """HTTP 400, or a code saying the request's parameters are invalid."""


class AuthenticationError(APIError):
    """HTTP 401: missing, expired or invalid credentials."""


class CaptchaRequiredError(APIError):
    """Auth asked for a captcha (``captcha_required``).

    Solve it in a browser through the auth captcha flow, then retry the call with the
    ``x-captcha-token`` header (``cb.with_options(headers={"x-captcha-token": token})``).
    """

    def __str__(self) -> str:
        # Say what to do, not only what happened: this error is the caller's next step.
        return (
            f"{super().__str__()} - the server wants a captcha before this call: have "
            "the user solve one, then repeat the call with its token (captcha_token= on "
            "sign-in and verification calls, or the x-captcha-token header)."
        )


class PermissionDeniedError(APIError):
    """HTTP 403, or a code saying this identity may not do this."""


class NotFoundError(APIError):
    """HTTP 404, or a code naming a missing function, service, document or object."""


class ConflictError(APIError):
    """HTTP 409: a unique value exists already, or a transaction conflicted."""


class RateLimitError(APIError):
    """HTTP 429 or an ``EXCEED_*_LIMIT`` code; ``retry_after`` says how long to wait."""


class InternalServerError(APIError):
    """HTTP 5xx: the server failed."""


class ServerTimeoutError(InternalServerError):
    """The server gave up waiting (HTTP 504, ``*_TIMEOUT`` and time-limit codes)."""


class RedirectError(APIError):
    """The server answered 3xx. Redirects are never followed (a credential would go
    along to wherever they point), and a 3xx is not a success. ``location`` is the
    redirect's target with secrets removed."""

    location: str | None

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class ResponseValidationError(APIError):
    """A 2xx answer this SDK cannot read: not JSON, not UTF-8, nested too deeply, or not
    the shape the API documents. ``body`` holds what arrived (text, at most 64 KiB)."""


class ResponseTooLargeError(APIError):
    """A response body grew past ``max_response_size`` bytes (after decompression) and
    was abandoned unread; raise the limit with ``with_options(max_response_size=...)``
    or stream the body instead."""


class StreamError(APIError):
    """An error arrived inside a stream that had started well.

    ``partial`` holds what the stream delivered before the error, when known.
    """

    partial: object

    def __init__(self, message: str, *, partial: object = None, **kwargs: Any) -> None:
        kwargs.setdefault("status_code", 200)
        super().__init__(message, **kwargs)
        self.partial = partial


class APIConnectionError(CloudBaseError):
    """The request could not be completed at the transport level (connect, read, reset).

    ``partial`` holds what a stream delivered before the connection failed, when known.
    """

    request_id: str | None
    partial: object

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request_id: str | None = None,
        partial: object = None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.partial = partial

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), dict(vars(self))))


class APITimeoutError(APIConnectionError):
    """The request timed out on this side (connect, read, write, pool or stream idle)."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request_id: str | None = None,
        partial: object = None,
    ) -> None:
        super().__init__(message, request_id=request_id, partial=partial)


class StreamInterruptedError(APIConnectionError):
    """A stream that had started ended early: the connection broke, or the server
    finished the body before the stream's own end marker.

    ``partial`` holds what the stream delivered before it was cut (for AI chat, the
    :class:`~cloudbase_async.ai.ChatCompletion` assembled so far).
    """


class StreamClosedError(CloudBaseError, RuntimeError):
    """A stream was used after it was closed (its ``async with`` block ended)."""


# Codes whose meaning is clearer than the HTTP status they arrive with (NoSQL sends rate
# limits as 422, auth sends everything as 400/401/403, some gateways answer errors with 200).
# PG-mode storage's generic codes (InvalidRequest, InvalidKey) are not here: they come
# with several real statuses (a non-empty bucket is InvalidRequest and "409"), which say more.
_CODE_CLASSES: Mapping[str, type[APIError]] = {
    # credentials
    **dict.fromkeys(
        (
            "ACCESS_TOKEN_EXPIRED",
            "INVALID_ACCESS_TOKEN",
            "CHECK_LOGIN_FAILED",
            "MISSING_CREDENTIALS",
            "REFRESH_TOKEN_EXPIRED",
            "INVALID_REFRESH_TOKEN",
            "REFRESH_TOKEN_EXHAUSTED",
            "unauthenticated",
            "invalid_grant",
            "invalid_client",
            "unauthorized_client",
            "invalid_password",
            "invalid_api_key",
            "invalid_username_or_password",
            "invalid_credentials",
            "wrong_password",
            "PGRST301",
            "PGRST302",
        ),
        AuthenticationError,
    ),
    "captcha_required": CaptchaRequiredError,
    # permissions
    **dict.fromkeys(
        (
            "PERMISSION_DENIED",
            "ACTION_FORBIDDEN",
            "EXCEED_AUTHORITY",
            "SERVICE_FORBIDDEN",
            "STORAGE_EXCEED_AUTHORITY",
            "DATABASE_PERMISSION_DENIED",
            "permission_denied",
            "user_blocked",
            "login_method_disabled",
            "login_type_disabled",
            "provider_not_enabled",
            "AI_MODEL_DISABLED",
            "STORAGE_PERMISSION_DENIED",
            "42501",
        ),
        PermissionDeniedError,
    ),
    # missing things
    **dict.fromkeys(
        (
            "RESOURCE_NOT_FOUND",
            "FUNCTION_NOT_FOUND",
            "FUNCTION_QUALIFIER_NOT_FOUND",
            "SERVICE_NOT_FOUND",
            "SERVICE_VERSION_NOT_FOUND",
            "SERVICE_ENDPOINT_NOT_FOUND",
            "SERVICE_RESOURCE_NOT_FOUND",
            "DOCUMENT_NOT_FOUND",
            "DATABASE_COLLECTION_NOT_EXIST",
            "OBJECT_NOT_EXIST",
            "AI_MODEL_NOT_FOUND",
            "model_not_found",
            "STORAGE_BUCKET_NOT_FOUND",
            "Bucket not found",  # PG-mode storage's `error` for a missing or private bucket
            "not_found",
            "user_not_found",
        ),
        NotFoundError,
    ),
    # conflicts
    **dict.fromkeys(
        (
            "DATABASE_DUPLICATE_WRITE",
            "DATABASE_COLLECTION_ALREADY_EXIST",
            "DATABASE_TRANSACTION_CONFLICT",
            "already_exists",
            "Duplicate",  # PG-mode storage: the object or bucket exists already
            "aborted",
            "23505",
        ),
        ConflictError,
    ),
    # rate limits and quotas
    **dict.fromkeys(
        (
            "EXCEED_REQUEST_LIMIT",
            "EXCEED_CONCURRENT_REQUEST_LIMIT",
            "EXCEED_RATELIMIT",
            "EXCEED_TOKEN_QUOTA_LIMIT",
            "resource_exhausted",
            "FUNCTION_EXCEED_RESOURCE_LIMIT",
            # OpenAI-style codes from model providers behind the AI gateway
            "rate_limit_exceeded",
            "insufficient_quota",
        ),
        RateLimitError,
    ),
    # invalid input
    **dict.fromkeys(
        (
            "INVALID_PARAM",
            "INVALID_REQUEST",
            "FUNCTION_PARAM_INVALID",
            "AI_MODEL_PARAM_INVALID",
            "AI_MODEL_PARAM_REQUIRED",
            "AI_MODEL_NOT_SUPPORTED",
            "AI_MODEL_CONFIG_MISSING",
            "invalid_argument",
            "invalid_request",
            "invalid_verification_code",
            "captcha_invalid",
            "DATABASE_INVALID_OPERRATOR",
            "STORAGE_CONTENT_LENGTH_REQUIRED",
            "context_length_exceeded",
            "invalid_request_error",
        ),
        BadRequestError,
    ),
    # the upstream failed (the model provider behind the gateway)
    "AI_MODEL_REQUEST_FAILED": InternalServerError,
    # the server gave up in time
    **dict.fromkeys(
        (
            "SERVER_TIMEOUT",
            "DATABASE_TIMEOUT",
            "SERVICE_TIMEOUT",
            "FUNCTION_TIME_LIMIT_EXCEEDED",
        ),
        ServerTimeoutError,
    ),
}

_STATUS_CLASSES: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    504: ServerTimeoutError,
}


def error_class(status_code: int, code: str | None) -> type[APIError]:
    """The exception class for a status and service code: a known code wins."""
    if code is not None and (by_code := _CODE_CLASSES.get(code)) is not None:
        return by_code
    if (by_status := _STATUS_CLASSES.get(status_code)) is not None:
        return by_status
    if status_code >= 500:
        return InternalServerError
    return APIError


@attrs.frozen
class ErrorFields:
    """What an error body says, whatever its shape."""

    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    details: object = None
    hint: str | None = None
    #: The status the body says the call had (Supabase-style ``"statusCode": "404"``).
    status: int | None = None


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _status(value: object) -> int | None:
    """A body's ``statusCode`` as an error status (400-599), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    if not (len(text) == 3 and text.isdigit() and 400 <= int(text) <= 599):
        return None
    return int(text)


def parse_error_body(body: object) -> ErrorFields:
    """Read the error fields out of a decoded body of any of the known shapes."""
    if not isinstance(body, Mapping):
        return ErrorFields()
    error = body.get("error")
    if isinstance(error, Mapping):
        # OpenAI style, from model providers behind the AI gateway: {"error": {...}}
        return ErrorFields(
            code=_text(error.get("code")) or _text(error.get("type")),
            message=_text(error.get("message")),
            request_id=_text(body.get("requestId") or body.get("request_id")),
            details=error.get("param"),
        )
    if isinstance(error, str) and "code" not in body:
        # auth (OAuth style); supabase-style storage uses {"statusCode", "error", "message"}
        return ErrorFields(
            code=error,
            message=_text(body.get("error_description")) or _text(body.get("message")),
            request_id=_text(body.get("request_id") or body.get("requestId")),
            details=body.get("details", body.get("error_code")),
            status=_status(body.get("statusCode")),
        )
    return ErrorFields(
        code=_text(body.get("code")),
        message=_text(body.get("message")),
        request_id=_text(body.get("requestId") or body.get("request_id")),
        details=body.get("details"),
        hint=_text(body.get("hint")),
        status=_status(body.get("statusCode")),
    )


def make_api_error(
    status_code: int,
    body: object,
    *,
    request_id: str | None = None,
    reason: str = "",
    retry_after: float | None = None,
) -> APIError:
    """Build the right :class:`APIError` subclass for a status and a decoded body.

    ``request_id`` is the response header's value; the body's own id wins when present.
    A body's own ``statusCode`` replaces a 400 (or the 2xx of an error answered as a
    success): Supabase-style servers answer 400 for a missing object and say ``"404"``
    in the body, and the real status is the one to report, classify and retry by.
    """
    fields = parse_error_body(body)
    message = fields.message or fields.code
    if message is None:
        message = body.strip()[:500] if isinstance(body, str) and body.strip() else reason
    if fields.status is not None and (status_code == 400 or status_code < 300):
        status_code = fields.status
    cls = error_class(status_code, fields.code)
    return cls(
        message or f"HTTP {status_code}",
        status_code=status_code,
        code=fields.code,
        request_id=fields.request_id or request_id,
        body=body,
        details=fields.details,
        hint=fields.hint,
        retry_after=retry_after,
    )


def describe(exc: BaseException) -> str:
    """What went wrong, without the exception's text: httpx and h11 messages may quote
    header values (a token), so only the class and an OS error's own wording are used."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # chains can loop
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno is not None:
            name = errno.errorcode.get(cause.errno, str(cause.errno))
            return f"{type(exc).__name__}: {name}"
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__
