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
from .rdb import MultipleRowsError, NoRowsError, Rdb, RdbPage, RdbResult, RowCountError

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
    "MultipleRowsError",
    "NoRowsError",
    "NoSQL",
    "NoSQLPaths",
    "NotFoundError",
    "ObjectId",
    "PermissionDeniedError",
    "RateLimitError",
    "Rdb",
    "RdbPage",
    "RdbResult",
    "Response",
    "RetryPolicy",
    "RowCountError",
    "ServerTimeoutError",
    "StaticCredential",
    "StreamError",
    "Transaction",
    "UpdateResult",
    "__version__",
]
