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
    StreamError,
)
from ._retry import RetryPolicy
from ._transport import Response
from ._version import __version__
from .auth import (
    Auth,
    AuthEvent,
    FileStore,
    MemoryStore,
    Session,
    SessionStore,
    User,
    Verification,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Auth",
    "AuthEvent",
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
    "FileStore",
    "InternalServerError",
    "InvalidRequestError",
    "MemoryStore",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "RetryPolicy",
    "ServerTimeoutError",
    "Session",
    "SessionStore",
    "StaticCredential",
    "StreamError",
    "User",
    "Verification",
    "__version__",
]
