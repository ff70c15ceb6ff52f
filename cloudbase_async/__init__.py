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
from .functions import FunctionResult, Functions
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
    "ConfigurationError",
    "ConflictError",
    "CopiedObject",
    "CredentialProvider",
    "DeletedObject",
    "DownloadUrl",
    "DownloadedFile",
    "FunctionResult",
    "Functions",
    "InternalServerError",
    "InvalidRequestError",
    "ItemError",
    "NotFoundError",
    "ObjectStream",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "RetryPolicy",
    "ServerTimeoutError",
    "StaticCredential",
    "Storage",
    "StorageBatchError",
    "StreamError",
    "UploadResult",
    "__version__",
]
