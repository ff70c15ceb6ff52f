"""The public surface of ``cloudbase_async``: exactly these names, each importable.

Changing the surface is a decision: it means editing ``EXPECTED`` here, in the same
commit as the change (and a CHANGELOG line).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cloudbase_async

EXPECTED = sorted(
    [
        # the client and its configuration
        "CloudBase",
        "ClientConfig",
        "CredentialProvider",
        "StaticCredential",
        "RetryPolicy",
        "Response",
        "__version__",
        # errors
        "CloudBaseError",
        "ConfigurationError",
        "InvalidRequestError",
        "ClientClosedError",
        "APIError",
        "BadRequestError",
        "AuthenticationError",
        "CaptchaRequiredError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "RateLimitError",
        "InternalServerError",
        "ServerTimeoutError",
        "RedirectError",
        "ResponseValidationError",
        "ResponseTooLargeError",
        "StreamError",
        "APIConnectionError",
        "APITimeoutError",
        "StreamInterruptedError",
        "StreamClosedError",
        # auth
        "Auth",
        "AuthEvent",
        "Session",
        "SessionStore",
        "MemoryStore",
        "FileStore",
        "RedisStore",
        "SharedSessionStore",
        "SessionStoreError",
        "User",
        "Verification",
        # AI models
        "AI",
        "AIEventStream",
        "ChatCompletion",
        "ChatCompletionChunk",
        "ChatCompletionStream",
        # CloudRun and server-sent events
        "CloudRun",
        "CloudRunStream",
        "EventSource",
        "EventTooLargeError",
        "ServerSentEvent",
        # cloud functions
        "Functions",
        "FunctionResult",
        # the document database
        "NoSQL",
        "Database",
        "Collection",
        "Transaction",
        "NoSQLPaths",
        "UpdateResult",
        "DeleteResult",
        "ObjectId",
        # the relational database
        "Rdb",
        "RdbResult",
        "RdbPage",
        "NoRowsError",
        "MultipleRowsError",
        "RowCountError",
        # storage
        "Storage",
        "UploadResult",
        "DownloadUrl",
        "DownloadedFile",
        "DeletedObject",
        "CopiedObject",
        "BatchResult",
        "ItemError",
        "StorageBatchError",
        "ObjectStream",
        # storage in PostgreSQL environments
        "Buckets",
        "Bucket",
        "BucketInfo",
        "ObjectEntry",
        "ObjectInfo",
        "ObjectList",
        "ObjectRef",
        "SignedUrl",
        "SignedUploadUrl",
    ]
)


def test_the_public_names_are_exactly_these() -> None:
    assert cloudbase_async.__all__ == EXPECTED
    assert dir(cloudbase_async) == EXPECTED


def test_every_public_name_resolves_to_an_object_of_the_package() -> None:
    for name in EXPECTED:
        value = getattr(cloudbase_async, name)
        if name != "__version__":
            assert value.__module__.startswith("cloudbase_async."), name


def test_the_lazy_table_and_its_type_checking_mirror_agree() -> None:
    tree = ast.parse(Path(cloudbase_async.__file__).read_text())
    mirrored: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                for alias in statement.names:
                    mirrored[alias.name] = "." * statement.level + (statement.module or "")
    assert mirrored == cloudbase_async._LAZY


def test_importing_the_package_loads_no_service_module_nor_the_local_gateway() -> None:
    probe = (
        "import sys, cloudbase_async\n"
        "heavy = ['cloudbase_async.' + m for m in ('ai', 'rdb', 'nosql', 'storage', "
        "'functions', 'cloudrun', 'local')]\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
