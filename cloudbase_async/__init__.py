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
from .ejson import ObjectId
from .nosql import (
    Collection,
    Database,
    DeleteResult,
    NoSQL,
    NoSQLPaths,
    Transaction,
    UpdateResult,
)

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
    "Collection",
    "ConfigurationError",
    "ConflictError",
    "CredentialProvider",
    "Database",
    "DeleteResult",
    "InternalServerError",
    "InvalidRequestError",
    "NoSQL",
    "NoSQLPaths",
    "NotFoundError",
    "ObjectId",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "RetryPolicy",
    "ServerTimeoutError",
    "StaticCredential",
    "StreamError",
    "Transaction",
    "UpdateResult",
    "__version__",
]
