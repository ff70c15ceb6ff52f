"""Async-first Python SDK for the Tencent CloudBase HTTP API."""

from ._client import CloudBase
from ._config import ClientConfig
from ._credentials import CredentialProvider, StaticCredential
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CaptchaRequiredError,
    ClientClosedError,
    CloudBaseError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerTimeoutError,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from ._retry import RetryPolicy
from ._sse import EventSource, EventTooLargeError, ServerSentEvent
from ._transport import Response
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CaptchaRequiredError",
    "ClientClosedError",
    "ClientConfig",
    "CloudBase",
    "CloudBaseError",
    "ConfigurationError",
    "ConflictError",
    "CredentialProvider",
    "EventSource",
    "EventTooLargeError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "RetryPolicy",
    "ServerSentEvent",
    "ServerTimeoutError",
    "StaticCredential",
    "StreamClosedError",
    "StreamError",
    "StreamInterruptedError",
    "__version__",
]
