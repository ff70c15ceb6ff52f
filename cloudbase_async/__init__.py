"""Async-first Python SDK for the Tencent CloudBase HTTP API."""

import importlib
from typing import TYPE_CHECKING, Any, Final

from ._client import CloudBase
from ._core.config import ClientConfig
from ._core.credentials import CredentialProvider, StaticCredential
from ._core.errors import (
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
    RedirectError,
    ResponseTooLargeError,
    ResponseValidationError,
    ServerTimeoutError,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from ._core.retry import RetryPolicy
from ._core.transport import Response
from ._version import __version__

if TYPE_CHECKING:
    from ._core.sse import EventSource, EventTooLargeError, ServerSentEvent
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

# Service modules load on first use, so `import cloudbase_async` stays fast for code that
# needs one service (PEP 562). The names still import from here as usual.
_LAZY: Final[dict[str, str]] = {
    "Auth": ".auth",
    "AuthEvent": ".auth",
    "FileStore": ".auth",
    "MemoryStore": ".auth",
    "Session": ".auth",
    "SessionStore": ".auth",
    "User": ".auth",
    "Verification": ".auth",
    "EventSource": "._core.sse",
    "EventTooLargeError": "._core.sse",
    "ServerSentEvent": "._core.sse",
    "ObjectId": ".ejson",
    "FunctionResult": ".functions",
    "Functions": ".functions",
    "Collection": ".nosql",
    "Database": ".nosql",
    "DeleteResult": ".nosql",
    "NoSQL": ".nosql",
    "NoSQLPaths": ".nosql",
    "Transaction": ".nosql",
    "UpdateResult": ".nosql",
    "MultipleRowsError": ".rdb",
    "NoRowsError": ".rdb",
    "Rdb": ".rdb",
    "RdbPage": ".rdb",
    "RdbResult": ".rdb",
    "RowCountError": ".rdb",
    "BatchResult": ".storage",
    "CopiedObject": ".storage",
    "DeletedObject": ".storage",
    "DownloadedFile": ".storage",
    "DownloadUrl": ".storage",
    "ItemError": ".storage",
    "ObjectStream": ".storage",
    "Storage": ".storage",
    "StorageBatchError": ".storage",
    "UploadResult": ".storage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Auth",
    "AuthEvent",
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
    "DeletedObject",
    "DownloadUrl",
    "DownloadedFile",
    "EventSource",
    "EventTooLargeError",
    "FileStore",
    "FunctionResult",
    "Functions",
    "InternalServerError",
    "InvalidRequestError",
    "ItemError",
    "MemoryStore",
    "MultipleRowsError",
    "NoRowsError",
    "NoSQL",
    "NoSQLPaths",
    "NotFoundError",
    "ObjectId",
    "ObjectStream",
    "PermissionDeniedError",
    "RateLimitError",
    "Rdb",
    "RdbPage",
    "RdbResult",
    "RedirectError",
    "Response",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryPolicy",
    "RowCountError",
    "ServerSentEvent",
    "ServerTimeoutError",
    "Session",
    "SessionStore",
    "StaticCredential",
    "Storage",
    "StorageBatchError",
    "StreamClosedError",
    "StreamError",
    "StreamInterruptedError",
    "Transaction",
    "UpdateResult",
    "UploadResult",
    "User",
    "Verification",
    "__version__",
]
