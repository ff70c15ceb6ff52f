"""The synchronous core: schema changes, and one request from path to response.

:class:`Core` owns the SQLite store and the current catalog. It is not thread-safe;
:class:`~cloudbase_async.local.rdb.RdbEngine` calls it from one worker thread at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import attrs

from ._bind import bind
from ._catalog import Catalog
from ._ddl import parse_script
from ._errors import RdbError, undefined_table, unsupported
from ._grammar import parse_query
from ._handlers import (
    Context,
    handle_delete,
    handle_insert,
    handle_read,
    handle_update,
    read_answer,
    rows_answer,
)
from ._http import RdbRequest, RdbResponse, error_response
from ._plan import plan_read
from ._request import body_is_json, negotiate, parse_preferences, root_range_of
from ._rpc import RpcCall, is_rows, result_table, rpc_call, value_answer
from ._schema import apply_statement, changed_catalog
from ._store import Store

__all__ = ["Core", "RpcCall"]

_WRITES: Final = frozenset({"POST", "PATCH", "DELETE"})


@attrs.frozen
class _Target:
    schema: str
    name: str
    rpc: bool


class Core:
    def __init__(self, path: Path | None) -> None:
        self.store = Store(path)
        self.catalog = Catalog()
        for sql in self.store.saved_ddl():
            for statement, _ in parse_script(sql):
                self.catalog = changed_catalog(self.catalog, statement)

    def execute(self, sql: str) -> None:
        """Run DDL and ``INSERT ... VALUES`` statements, each in its own transaction."""
        for statement, text in parse_script(sql):
            with self.store.transaction():
                self.catalog = apply_statement(self.store, self.catalog, statement, text)

    def reset(self) -> None:
        self.store.wipe()
        self.catalog = Catalog()

    def close(self) -> None:
        self.store.close()

    # --- requests -------------------------------------------------------------------

    def _target(self, request: RdbRequest) -> _Target:
        parts = (
            [unquote(p) for p in request.path.strip("/").split("/")]
            if request.path.strip("/")
            else []
        )
        schemas = self.catalog.schemas
        profile_header = (
            "accept-profile" if request.method in ("GET", "HEAD") else "content-profile"
        )
        profile = request.headers.get(profile_header)
        schema = profile if profile else schemas[0]
        if len(parts) == 1:
            target = _Target(schema, parts[0], False)
        elif len(parts) == 2 and parts[0] == "rpc":
            target = _Target(schema, parts[1], True)
        elif len(parts) == 2:
            target = _Target(parts[0], parts[1], False)
        elif len(parts) == 3 and parts[1] == "rpc":
            target = _Target(parts[0], parts[2], True)
        elif not parts:
            raise unsupported("the OpenAPI description at the root path")
        else:
            raise unsupported(
                "paths with a database instance (/instance/schema/table)", request.path
            )
        if target.schema not in schemas:
            raise RdbError(
                406,
                "PGRST106",
                "The schema must be one of the following: " + ", ".join(schemas),
            )
        return target

    def handle(self, request: RdbRequest) -> RdbResponse | RpcCall:
        """Answer ``request``, or say which function it calls (run outside the lock)."""
        try:
            return self._handle(request)
        except RdbError as exc:
            return error_response(exc)

    def _handle(self, request: RdbRequest) -> RdbResponse | RpcCall:
        method = request.method.upper()
        target = self._target(request)
        if method not in ("GET", "HEAD", *_WRITES):
            raise unsupported(f"the {method} method")
        if target.rpc:
            return rpc_call(request, target.schema, target.name)
        query = parse_query(request.query)
        prefer = parse_preferences(_values(request.headers.get("prefer")))
        media = negotiate(request.headers.get("accept"))
        root_range = root_range_of(query, request.headers if method in ("GET", "HEAD") else {})
        table = self.catalog.table(target.schema, target.name)
        if table is None:
            raise undefined_table(target.schema, target.name)
        if method in ("POST", "PATCH"):
            body_is_json(request.headers.get("content-type"))
        ctx = Context(
            self.store,
            self.catalog,
            table,
            query,
            prefer,
            media,
            request.caller,
            method,
            request.body,
            root_range,
        )
        handler = {
            "GET": handle_read,
            "HEAD": handle_read,
            "POST": handle_insert,
            "PATCH": handle_update,
            "DELETE": handle_delete,
        }[method]
        with self.store.transaction():
            response = handler(ctx)
        return response

    # --- rpc ------------------------------------------------------------------------

    def rpc_result(self, call: RpcCall, result: Any) -> RdbResponse:
        """Apply the request's select, filters, order and range to a function's result."""
        try:
            return self._rpc_result(call, result)
        except RdbError as exc:
            return error_response(exc)

    def _rpc_result(self, call: RpcCall, result: Any) -> RdbResponse:
        request = call.request
        prefer = parse_preferences(_values(request.headers.get("prefer")))
        media = negotiate(request.headers.get("accept"))
        if result == []:
            # The empty set of rows: with no row to type them, its columns are unknown,
            # so select, filters and order match nothing rather than being checked.
            lower, _ = root_range_of(call.query, request.headers)
            total = 0 if prefer.count else None
            return rows_answer(prefer, media, [], lower, total, head=call.head)
        if not is_rows(result):
            return value_answer(call, result, media)
        table, rows = result_table(call, result)
        with self.store.temporary(table):
            self.store.load(table, rows)
            catalog = self.catalog.with_table(table)
            root_range = root_range_of(call.query, request.headers)
            level = bind(plan_read(catalog, table, call.query, root_range=root_range))
            ctx = Context(
                self.store, catalog, table, call.query, prefer, media, request.caller, "GET"
            )
            return read_answer(ctx, level, head=call.head)


def _values(header: str | None) -> list[str]:
    return [] if header is None else [header]
