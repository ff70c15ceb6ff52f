"""The synchronous core: schema changes, and one request from path to response.

:class:`Core` owns the SQLite store and the current catalog. It is not thread-safe;
:class:`~cloudbase_async.local.rdb.RdbEngine` calls it from one worker thread at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import attrs

from ._catalog import Catalog, Column, Default, Table
from ._ddl import (
    CreateIndex,
    CreateSchema,
    CreateTable,
    DropTable,
    Ignored,
    InsertRows,
    RawValue,
    Statement,
    parse_script,
    resolve_index,
    resolve_table,
)
from ._errors import RdbError, RdbSchemaError, undefined_table, unsupported
from ._grammar import parse_query
from ._handlers import (
    Context,
    handle_delete,
    handle_insert,
    handle_read,
    handle_update,
    read_answer,
)
from ._http import RdbRequest, RdbResponse, error_response
from ._plan import bind, plan_read
from ._request import body_is_json, negotiate, parse_preferences, root_range_of
from ._rpc import RpcCall, is_rows, result_table, rpc_call, value_answer
from ._store import Store
from ._write import DEFAULT, Payload, SqlText, evaluate_default, insert_rows

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
                self.catalog = self._apply_to_catalog(statement)

    # --- schema ---------------------------------------------------------------------

    def execute(self, sql: str) -> None:
        """Run DDL and ``INSERT ... VALUES`` statements, each in its own transaction."""
        for statement, text in parse_script(sql):
            with self.store.transaction():
                self._apply(statement, text)

    def _apply_to_catalog(self, statement: Statement) -> Catalog:
        catalog = self.catalog
        if isinstance(statement, CreateSchema):
            if statement.name in catalog.schemas:
                if statement.if_not_exists:
                    return catalog
                raise RdbSchemaError(f'schema "{statement.name}" already exists')
            return catalog.with_schema(statement.name)
        if isinstance(statement, CreateTable):
            table = statement.table
            if catalog.table(table.schema, table.name) is not None and statement.if_not_exists:
                return catalog
            return catalog.with_table(resolve_table(table, catalog))
        if isinstance(statement, CreateIndex):
            table = resolve_index(statement, catalog)
            return catalog if table is None else catalog.with_table(table)
        if isinstance(statement, DropTable):
            for schema, name in statement.names:
                table = catalog.table(schema, name)
                if table is None:
                    if statement.if_exists:
                        continue
                    raise RdbSchemaError(f'table "{name}" does not exist')
                catalog = catalog.without_table(schema, name)
                for other, key in list(catalog.referencing(table)):
                    if not statement.cascade:
                        raise RdbSchemaError(
                            f"cannot drop table {name} because other objects depend on it "
                            f"(constraint {key.name} on table {other.name})"
                        )
                    kept = tuple(k for k in other.foreign_keys if k != key)
                    catalog = catalog.with_table(attrs.evolve(other, foreign_keys=kept))
            return catalog
        return catalog

    def _apply(self, statement: Statement, text: str) -> None:
        if isinstance(statement, InsertRows):
            self._insert_values(statement)
            return
        if isinstance(statement, Ignored):
            return
        before = self.catalog
        after = self._apply_to_catalog(statement)
        if isinstance(statement, CreateTable):
            table = after.table(statement.table.schema, statement.table.name)
            if table is not None and before.table(table.schema, table.name) is None:
                self.store.create_table(table)
        elif isinstance(statement, CreateIndex) and statement.key is not None:
            table = after.table(statement.schema, statement.table)
            assert table is not None
            self.store.add_unique_index(table, table.uniques[-1])
        elif isinstance(statement, DropTable):
            for schema, name in statement.names:
                table = before.table(schema, name)
                if table is not None:
                    self.store.drop_table(table)
        self.store.save_ddl(text)
        self.catalog = after

    def _insert_values(self, statement: InsertRows) -> None:
        table = self.catalog.table(statement.schema, statement.table)
        if table is None:
            raise RdbSchemaError(f'relation "{statement.schema}.{statement.table}" does not exist')
        names = statement.columns or table.column_names
        for name in names:
            if table.column(name) is None:
                raise RdbSchemaError(f'column "{name}" of relation "{table.name}" does not exist')
        rows = []
        for values in statement.rows:
            if len(values) != len(names):
                raise RdbSchemaError("INSERT has more expressions than target columns")
            rows.append(
                tuple(
                    self._raw_value(table, table.column(n), v)
                    for n, v in zip(names, values, strict=True)
                )
            )  # type: ignore[arg-type]
        try:
            insert_rows(self.store, self.catalog, table, Payload(tuple(names), tuple(rows)))
        except RdbError as exc:
            detail = f" ({exc.details})" if exc.details else ""
            raise RdbSchemaError(f"{exc.message}{detail}") from None

    def _raw_value(self, table: Table, column: Column, raw: RawValue) -> Any:
        """A VALUES item as the JSON-like value the write path reads."""
        if raw.kind == "default":
            return DEFAULT
        if raw.kind == "null":
            return None
        if raw.kind == "text":
            return SqlText(raw.text)
        function = attrs.evolve(column, default=Default(raw.kind))  # type: ignore[arg-type]
        return evaluate_default(self.store, table, function)

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
