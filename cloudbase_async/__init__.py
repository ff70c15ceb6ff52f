"""Async-first Python SDK for the Tencent CloudBase HTTP API."""

import importlib
from typing import TYPE_CHECKING, Any, Final

from ._client import CloudBase as CloudBase
from ._core.config import ClientConfig as ClientConfig
from ._core.credentials import (
    CredentialProvider as CredentialProvider,
    StaticCredential as StaticCredential,
)
from ._core.errors import (
    APIConnectionError as APIConnectionError,
    APIError as APIError,
    APITimeoutError as APITimeoutError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    CaptchaRequiredError as CaptchaRequiredError,
    ClientClosedError as ClientClosedError,
    CloudBaseError as CloudBaseError,
    ConfigurationError as ConfigurationError,
    ConflictError as ConflictError,
    InternalServerError as InternalServerError,
    InvalidRequestError as InvalidRequestError,
    NotFoundError as NotFoundError,
    PermissionDeniedError as PermissionDeniedError,
    RateLimitError as RateLimitError,
    RedirectError as RedirectError,
    ResponseTooLargeError as ResponseTooLargeError,
    ResponseValidationError as ResponseValidationError,
    ServerTimeoutError as ServerTimeoutError,
    SessionStoreError as SessionStoreError,
    StreamClosedError as StreamClosedError,
    StreamError as StreamError,
    StreamInterruptedError as StreamInterruptedError,
)
from ._core.responses import Response as Response
from ._core.retry import RetryPolicy as RetryPolicy
from ._version import __version__ as __version__

# The public surface: the client, its configuration, the errors, each service's class
# (the type of every `cb.<service>` attribute) and the results services return. Everything
# else is imported from its service's module (`cloudbase_async.ai`, `.rdb.filters`...).
#
# Service modules load on first use, so `import cloudbase_async` stays fast for code that
# needs one service (PEP 562). `_LAZY` is the one list of those names; the
# TYPE_CHECKING block below mirrors it for type checkers (tests/test_exported_members.py
# checks that the two agree).
_LAZY: Final[dict[str, str]] = {
    # AI models
    "AI": ".ai",
    "AIEventStream": ".ai",
    "ChatCompletion": ".ai",
    "ChatCompletionChunk": ".ai",
    "ChatCompletionStream": ".ai",
    # CloudRun
    "CloudRun": ".cloudrun",
    "CloudRunStream": ".cloudrun",
    # auth
    "Auth": ".auth",
    "AuthEvent": ".auth",
    "FileStore": ".auth",
    "MemoryStore": ".auth",
    "RedisStore": ".auth",
    "Session": ".auth",
    "SessionStore": ".auth",
    "SharedSessionStore": ".auth",
    "User": ".auth",
    "Verification": ".auth",
    # server-sent events, read from CloudRun or raw AI streams
    "EventSource": "._core.sse",
    "EventTooLargeError": "._core.sse",
    "ServerSentEvent": "._core.sse",
    # cloud functions
    "FunctionResult": ".functions",
    "Functions": ".functions",
    # the document database
    "Collection": ".nosql",
    "Database": ".nosql",
    "DeleteResult": ".nosql",
    "NoSQL": ".nosql",
    "NoSQLPaths": ".nosql",
    "ObjectId": ".ejson",
    "Transaction": ".nosql",
    "UpdateResult": ".nosql",
    # the relational database
    "MultipleRowsError": ".rdb",
    "NoRowsError": ".rdb",
    "Rdb": ".rdb",
    "RdbPage": ".rdb",
    "RdbResult": ".rdb",
    "RowCountError": ".rdb",
    # storage
    "BatchResult": ".storage",
    "Bucket": ".storage",
    "BucketInfo": ".storage",
    "Buckets": ".storage",
    "CopiedObject": ".storage",
    "DeletedObject": ".storage",
    "DownloadUrl": ".storage",
    "DownloadedFile": ".storage",
    "ItemError": ".storage",
    "ObjectEntry": ".storage",
    "ObjectInfo": ".storage",
    "ObjectList": ".storage",
    "ObjectRef": ".storage",
    "ObjectStream": ".storage",
    "SignedUploadUrl": ".storage",
    "SignedUrl": ".storage",
    "Storage": ".storage",
    "StorageBatchError": ".storage",
    "UploadResult": ".storage",
}

if TYPE_CHECKING:
    from ._core.sse import (
        EventSource as EventSource,
        EventTooLargeError as EventTooLargeError,
        ServerSentEvent as ServerSentEvent,
    )
    from .ai import (
        AI as AI,
        AIEventStream as AIEventStream,
        ChatCompletion as ChatCompletion,
        ChatCompletionChunk as ChatCompletionChunk,
        ChatCompletionStream as ChatCompletionStream,
    )
    from .auth import (
        Auth as Auth,
        AuthEvent as AuthEvent,
        FileStore as FileStore,
        MemoryStore as MemoryStore,
        RedisStore as RedisStore,
        Session as Session,
        SessionStore as SessionStore,
        SharedSessionStore as SharedSessionStore,
        User as User,
        Verification as Verification,
    )
    from .cloudrun import CloudRun as CloudRun, CloudRunStream as CloudRunStream
    from .ejson import ObjectId as ObjectId
    from .functions import FunctionResult as FunctionResult, Functions as Functions
    from .nosql import (
        Collection as Collection,
        Database as Database,
        DeleteResult as DeleteResult,
        NoSQL as NoSQL,
        NoSQLPaths as NoSQLPaths,
        Transaction as Transaction,
        UpdateResult as UpdateResult,
    )
    from .rdb import (
        MultipleRowsError as MultipleRowsError,
        NoRowsError as NoRowsError,
        Rdb as Rdb,
        RdbPage as RdbPage,
        RdbResult as RdbResult,
        RowCountError as RowCountError,
    )
    from .storage import (
        BatchResult as BatchResult,
        Bucket as Bucket,
        BucketInfo as BucketInfo,
        Buckets as Buckets,
        CopiedObject as CopiedObject,
        DeletedObject as DeletedObject,
        DownloadedFile as DownloadedFile,
        DownloadUrl as DownloadUrl,
        ItemError as ItemError,
        ObjectEntry as ObjectEntry,
        ObjectInfo as ObjectInfo,
        ObjectList as ObjectList,
        ObjectRef as ObjectRef,
        ObjectStream as ObjectStream,
        SignedUploadUrl as SignedUploadUrl,
        SignedUrl as SignedUrl,
        Storage as Storage,
        StorageBatchError as StorageBatchError,
        UploadResult as UploadResult,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def _is_public(name: str, value: object) -> bool:
    return not name.startswith("_") and getattr(value, "__module__", "").startswith(__name__ + ".")


# Every public name: the explicit re-exports above and the lazy table.
__all__ = sorted(
    {
        *_LAZY,
        "__version__",
        *(name for name, value in globals().items() if _is_public(name, value)),
    }
)
