"""The data services of the local gateway (NoSQL and storage) on loopback, for tests.

``serve_data(tmp_path)`` composes their routes into one Starlette app with a simple
``identify`` and serves it with uvicorn in a thread (real HTTP: streams are not
buffered), yielding a :class:`DataServer` with both engines and the base URL.

Credentials the test ``identify`` knows: ``Bearer admin-key`` (administrator),
``Bearer anon-key`` (the anonymous role), ``Bearer user:<uid>`` (a signed-in user);
no header raises ``MISSING_CREDENTIALS``, anything else ``INVALID_ACCESS_TOKEN``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from starlette.applications import Starlette

from cloudbase_async.local import nosql, storage
from cloudbase_async.local._identity import Caller, CredentialError
from tests.support.server import serve

ENV = "test-env"
SECRET = b"test-secret-of-the-local-gateway"
ADMIN = "admin-key"
ANON = "anon-key"


def identify(authorization: str | None) -> Caller:
    if authorization is None:
        raise CredentialError("MISSING_CREDENTIALS", "no credential")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        if token == ADMIN:
            return Caller("admin")
        if token == ANON:
            return Caller("anon")
        if token.startswith("user:") and len(token) > 5:
            return Caller("user", token[5:])
        if token == "expired":
            raise CredentialError("ACCESS_TOKEN_EXPIRED", "the access token expired")
    raise CredentialError("INVALID_ACCESS_TOKEN", "unknown credential")


def user(uid: str) -> str:
    """The credential of user ``uid`` for this test server."""
    return f"user:{uid}"


@attrs.frozen
class DataServer:
    url: str
    nosql: nosql.NoSQLEngine
    storage: storage.StorageEngine


def make_app(nosql_engine: nosql.NoSQLEngine, storage_engine: storage.StorageEngine) -> Starlette:
    return Starlette(
        routes=[
            *nosql.routes(nosql_engine, identify),
            *storage.routes(storage_engine, identify),
        ]
    )


@contextmanager
def serve_data(data_dir: Path, **storage_options: Any) -> Iterator[DataServer]:
    """Both engines on ``data_dir``; ``storage_options`` go to :class:`StorageEngine`."""
    nosql_engine = nosql.NoSQLEngine(data_dir)
    storage_engine = storage.StorageEngine(data_dir, env=ENV, secret=SECRET, **storage_options)
    try:
        with serve(make_app(nosql_engine, storage_engine)) as url:
            yield DataServer(url, nosql_engine, storage_engine)
    finally:
        nosql_engine.close()
        storage_engine.close()
