"""The two servers ``tests/test_rdb_integration.py`` runs against, behind one interface.

* ``postgrest``: PostgreSQL 15 + PostgREST 12 (``tests/peers/postgrest.py``, schema
  ``SCHEMA_SQL`` there); the SDK acts as ``authenticated`` through an HS256 JWT, as
  ``anon`` without a token.
* ``local``: the local gateway (``LocalCloudBase``) and its embedded rdb engine, loaded
  with :data:`ENGINE_SCHEMA`; the SDK acts as ``authenticated`` with the access token of
  an anonymous sign-in, as ``anon`` with the publishable key. Nothing to install.

:data:`ENGINE_SCHEMA` is ``SCHEMA_SQL`` in the engine's DDL subset: the same tables,
columns, constraints and rows, except that

* ``students.tags`` is ``jsonb`` holding a JSON array: the engine has no array types.
  The SDK writes and reads the same JSON either way; the array operators are refused.
* ``items`` is filled by ``INSERT ... VALUES`` (the subset has no ``generate_series``).
* No roles, grants or ``secrets`` table: the engine's roles are coarse by design.
* The SQL functions are Python callables (:func:`register_functions`).

:meth:`RdbServer.count` reads rows behind the server's back (``psql`` on PostgreSQL, a
read-only SQLite connection to the engine's file on the local side): a witness that
goes through neither the SDK nor the server's HTTP layer.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any, Literal

import anyio
import attrs
import pytest

from cloudbase_async import CloudBase
from cloudbase_async.local import Caller, LocalCloudBase
from cloudbase_async.local.rdb import RdbRequest
from tests.peers.postgrest import PeerMissing, PostgrestServer, running_postgrest

__all__ = [
    "ENGINE_SCHEMA",
    "KINDS",
    "NO_POSTGREST_ENV",
    "RdbServer",
    "Role",
    "rdb_server",
    "register_functions",
]

Kind = Literal["postgrest", "local"]
KINDS: tuple[Kind, ...] = ("postgrest", "local")
Role = Literal["authenticated", "anon"]

#: Set (to anything) to act as if PostgREST were not installed: its half skips (fails
#: under ``CI``) and the local half shows it needs nothing.
NO_POSTGREST_ENV = "CLOUDBASE_TEST_NO_POSTGREST"

_ITEMS = ",\n".join(f"({i}, {i * 7 % 5000}, {i % 10})" for i in range(1, 5001))

ENGINE_SCHEMA = f"""
CREATE TABLE classes (
    id serial PRIMARY KEY,
    grade integer NOT NULL,
    class_number integer NOT NULL,
    UNIQUE (grade, class_number)
);

CREATE TABLE students (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    age integer,
    class_id integer REFERENCES classes (id),
    tags jsonb NOT NULL DEFAULT '[]',
    meta jsonb,
    note text DEFAULT 'none'
);

CREATE TABLE strings (
    id bigserial PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE items (
    id integer PRIMARY KEY,
    n integer NOT NULL,
    bucket integer NOT NULL
);
INSERT INTO items (id, n, bucket) VALUES
{_ITEMS};

CREATE TABLE reserved_words (
    id serial PRIMARY KEY,
    tag text NOT NULL,
    "select" text, "columns" text, "on_conflict" text, "order" text, "limit" text,
    "offset" text, "and" text, "or" text, "not" text
);
CREATE TABLE reserved_kids (
    id serial PRIMARY KEY,
    word_id integer NOT NULL REFERENCES reserved_words (id) ON DELETE CASCADE,
    "order" text,
    "limit" text
);

CREATE SCHEMA other;
CREATE TABLE other.notes (id serial PRIMARY KEY, body text NOT NULL);
INSERT INTO other.notes (body) VALUES ('from the other schema');
"""


def register_functions(local: LocalCloudBase) -> None:
    """The Python twins of ``SCHEMA_SQL``'s SQL functions, on ``local.rdb``."""

    @local.rdb.function("add_numbers")
    def add_numbers(args: dict[str, Any], caller: Caller) -> int:
        return int(args["a"]) + int(args["b"])

    @local.rdb.function("students_older_than")
    async def students_older_than(args: dict[str, Any], caller: Caller) -> Any:
        # RETURNS SETOF students: the rows, read through the engine as the caller.
        query = f"age=gt.{int(args['min_age'])}"
        answer = await local.rdb.engine.handle(RdbRequest("GET", "/students", query, caller=caller))
        return json.loads(answer.body)

    @local.rdb.function("reserved_args")
    def reserved_args(args: dict[str, Any], caller: Caller) -> str:
        return f"{args['order']}:{int(args['limit'])}"


@attrs.frozen
class RdbServer:
    """One server: clients for each role and the row-count witness."""

    kind: Kind
    #: ``(access_token or None for anon) -> CloudBase``.
    _connect: Callable[[str | None], CloudBase]
    _user_token: str
    _count: Callable[[str, str], int]

    def client(self, role: Role = "authenticated") -> CloudBase:
        """A client acting as ``role``."""
        return self._connect(self._user_token if role == "authenticated" else None)

    def client_with_token(self, access_token: str) -> CloudBase:
        """A client sending ``access_token`` as it is (a bad one, say)."""
        return self._connect(access_token)

    def count(self, table: str, where: str = "true") -> int:
        """Rows of ``table`` (in ``public``) matching the SQL condition ``where``."""
        return self._count(table, where)


@contextmanager
def rdb_server(kind: Kind) -> Iterator[RdbServer]:
    """The server ``kind`` with the schema loaded; PostgREST missing skips (fails in CI)."""
    if kind == "local":
        with _local() as server:
            yield server
        return
    try:
        if os.environ.get(NO_POSTGREST_ENV):
            raise PeerMissing(f"PostgREST is hidden by {NO_POSTGREST_ENV}")
        server_cm = running_postgrest()
        postgrest = server_cm.__enter__()
    except PeerMissing as exc:
        message = f"{exc}; run `bash scripts/install-peers.sh`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield _over_postgrest(postgrest)
    finally:
        server_cm.__exit__(None, None, None)


def _over_postgrest(postgrest: PostgrestServer) -> RdbServer:
    def connect(access_token: str | None) -> CloudBase:
        return CloudBase(env="test", endpoints={"rdb": postgrest.url}, access_token=access_token)

    def count(table: str, where: str) -> int:
        return int(postgrest.psql(f"SELECT count(*) FROM {table} WHERE {where}").strip())

    return RdbServer("postgrest", connect, postgrest.token("authenticated"), count)


@contextmanager
def _local() -> Iterator[RdbServer]:
    local = LocalCloudBase(rdb_schema=ENGINE_SCHEMA)
    register_functions(local)
    with local:
        database = local.data_dir / "rdb" / "rdb.sqlite3"

        def connect(access_token: str | None) -> CloudBase:
            if access_token is None:
                return local.client(publishable_key=True)
            return local.client(access_token=access_token)

        def count(table: str, where: str) -> int:
            # The engine keeps table public.t as the SQLite table "public.t".
            with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                row = db.execute(f'SELECT count(*) FROM "public.{table}" WHERE {where}').fetchone()
            return int(row[0])

        yield RdbServer("local", connect, anyio.run(_anonymous_token, local), count)


async def _anonymous_token(local: LocalCloudBase) -> str:
    async with local.client(publishable_key=True) as app:
        session = await app.auth.sign_in_anonymously()
    return session.access_token
