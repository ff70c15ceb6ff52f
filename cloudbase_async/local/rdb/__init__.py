"""The relational database of Local CloudBase: PostgREST 12's dialect over SQLite.

:class:`RdbEngine` answers ``/v1/rdb/rest/...`` requests the way PostgREST 12 over
PostgreSQL 15 answers them (statuses, bodies, ``Content-Range``, error codes and
messages) for the subset it implements, and refuses everything else with a 400 whose
message names the feature (``code: LOCAL_UNSUPPORTED``). ``tests/local`` proves the
claim with a differential test against a real PostgREST.

Why SQLite and not DuckDB
-------------------------
Both were tried on the awkward cases first. Neither matches PostgreSQL by itself: the
engine has to reproduce PostgreSQL's input functions, error messages, constraint
order, sequence behaviour and JSON output in Python either way, and then wants from the
database only storage, filtering, sorting and joins that it can control exactly.

* DuckDB's ``numeric`` is ``DECIMAL(18,3)``: it rejects or rounds values PostgreSQL
  keeps (``12345678901234567890.123456789``, ``1.50`` keeps its scale in PostgreSQL);
  its ``LIKE`` has no default escape character (``'a\\%' LIKE 'a\\%'`` is true; in
  PostgreSQL it is false); its constraint errors carry no constraint names and its
  foreign keys refuse deletes PostgreSQL allows within one statement.
* SQLite gets every one of these right once told exactly what to do: custom collations
  (``numeric`` compared by value, exact scale kept as text), Python functions for
  ``LIKE``/``ILIKE`` with PostgreSQL's escape and case rules, explicit
  ``NULLS FIRST/LAST``, row values for composite keys, window clauses for embedded
  ranges; and it is in the standard library, so the ``local`` extra needs nothing
  more. Its ``rowid`` stands in for PostgreSQL's physical row order.

Threads
-------
The SQLite work of one request runs in a worker thread (``anyio.to_thread``) under one
lock, so the event loop never waits on it; requests are short (one statement each).
Python rpc functions run outside the lock: async ones on the event loop, plain ones in
a worker thread.

Roles (coarse, by design)
-------------------------
``service_role`` (the API key) and ``authenticated`` (a user's token) may read and
write every table and call every function; ``anon`` (the publishable key) may read and
call functions; its writes answer ``401`` ``42501`` as PostgREST does for a role without
the privilege. On insert by a user, a ``_openid`` column is set to the user's id.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from .._identity import Caller
from ._engine import Core
from ._errors import UNSUPPORTED_CODE, RdbError, RdbSchemaError
from ._http import RdbRequest, RdbResponse, error_response
from ._routes import routes
from ._rpc import RpcCall, missing_function

__all__ = [
    "UNSUPPORTED_CODE",
    "RdbEngine",
    "RdbError",
    "RdbFunction",
    "RdbRequest",
    "RdbResponse",
    "RdbSchemaError",
    "routes",
]

_log = logging.getLogger(__name__)

#: A function callable with ``rpc/{name}``: ``(args, caller) -> JSON value or rows``,
#: plain or async.
RdbFunction = Callable[[dict[str, Any], Caller], Any]
F = TypeVar("F", bound=RdbFunction)


class RdbEngine:
    """The relational database engine behind ``/v1/rdb/rest``.

    ``path``: the SQLite file (``None``: in memory). ``schema``: DDL run when the
    database is new (see :mod:`._ddl` for the subset); a file built from a different
    schema text is refused (call :meth:`reset` or remove the file).
    """

    def __init__(self, path: Path | None = None, *, schema: str | None = None) -> None:
        self._lock = threading.Lock()
        self._core = Core(path)
        self._schema = schema
        self._functions: dict[str, RdbFunction] = {}
        if schema is not None:
            stored = self._core.store.meta("schema")
            if stored is None and not self._core.catalog.tables:
                self._load_schema()
            elif stored != schema:
                self._core.close()
                raise RdbSchemaError(
                    f"{path} holds a database made from a different schema; "
                    "reset() it or remove the file"
                )

    def _load_schema(self) -> None:
        assert self._schema is not None
        self._core.execute(self._schema)
        self._core.store.set_meta("schema", self._schema)

    def execute(self, sql: str) -> None:
        """Run DDL and ``INSERT ... VALUES`` statements (the subset of :mod:`._ddl`).

        Raises :class:`RdbSchemaError` for anything outside it or that PostgreSQL would
        reject; statements before the failing one stay applied. It runs in the calling
        thread (waiting for a request in progress): call it at start-up, or from a
        worker thread when a server is running.
        """
        with self._lock:
            self._core.execute(sql)

    def function(self, name: str) -> Callable[[F], F]:
        """Register ``fn(args, caller)`` as ``rpc/{name}``.

        A POST passes the JSON body as ``args``; a GET passes the query parameters that
        carry no operator, as strings. A list of dicts is a set of rows (``select``,
        filters, ``order``, ranges and counts apply, each column typed from its values),
        an empty list the empty set; anything else is answered as the JSON value
        itself. Raising :class:`RdbError` answers that error; any other exception
        answers 400 ``P0001`` with its message (PostgreSQL's ``RAISE EXCEPTION``).

        Functions run outside the engine's lock, so an async one may read tables by
        awaiting :meth:`handle` itself (``RdbRequest("GET", "/students", "age=gt.3")``).
        """

        def register(fn: F) -> F:
            self._functions[name] = fn
            return fn

        return register

    def reset(self) -> None:
        """Drop all data and tables, then run the schema again (the state after
        ``__init__``). Registered functions stay."""
        with self._lock:
            self._core.reset()
            if self._schema is not None:
                self._load_schema()

    def close(self) -> None:
        with self._lock:
            self._core.close()

    def _locked(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            return fn(*args)

    async def handle(self, request: RdbRequest) -> RdbResponse:
        """Answer one request (no HTTP involved: see :func:`routes` for that).

        A failure inside the engine itself (a bug) answers 500 ``LOCAL_ERROR`` and is
        logged, instead of reaching the HTTP server as an exception.
        """
        try:
            return await self._handle(request)
        except Exception:
            _log.exception("the local rdb engine failed on %s %s", request.method, request.path)
            return error_response(
                RdbError(500, "LOCAL_ERROR", "The local rdb engine failed; see its log")
            )

    async def _handle(self, request: RdbRequest) -> RdbResponse:
        answer = await anyio.to_thread.run_sync(self._locked, self._core.handle, request)
        if not isinstance(answer, RpcCall):
            return answer  # type: ignore[no-any-return]
        fn = self._functions.get(answer.name)
        if fn is None:
            return error_response(missing_function(answer))
        try:
            if inspect.iscoroutinefunction(fn):
                value = await fn(answer.args, request.caller)
            else:
                value = await anyio.to_thread.run_sync(fn, answer.args, request.caller)
                if inspect.isawaitable(value):
                    value = await value
        except RdbError as exc:
            return error_response(exc)
        except Exception as exc:  # a failing function answers like RAISE EXCEPTION
            return error_response(RdbError(400, "P0001", str(exc) or type(exc).__name__))
        result: RdbResponse = await anyio.to_thread.run_sync(
            self._locked, self._core.rpc_result, answer, value
        )
        return result
