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
from .functions import FunctionResult, Functions
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
from .storage import (
    BatchResult,
    CopiedObject,
    DeletedObject,
    DownloadedFile,
    DownloadUrl,
    ItemError,
    ObjectStream,
    Storage,
    StorageBatchError,
    UploadResult,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "CaptchaRequiredError",
    "ClientClosedError",
    "ClientConfig",
    "CloudBase",
    "CloudBaseError",
    "Collection",
    "ConfigurationError",
    "ConflictError",
    "CopiedObject",
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
    "DeletedObject",
    "DownloadUrl",
    "DownloadedFile",
    "FunctionResult",
    "Functions",
    "ItemError",
    "ObjectStream",
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
    "Storage",
    "StorageBatchError",
    "StreamError",
    "Transaction",
    "UpdateResult",
    "UploadResult",
    "__version__",
]
