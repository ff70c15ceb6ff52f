"""``cb.rdb`` and its tables: where every relational database query starts.

:class:`Rdb` names the path (schema, instance, table, function) and the MySQL-mode
headers; :class:`Table` starts a query with a verb and hands it to the builders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._core.errors import InvalidRequestError
from .._core.paths import segment
from .._core.transport import Transport
from ._builder import QueryBuilder, RpcBuilder
from ._encode import clean_columns, jsonable
from ._spec import (
    CountMethod,
    QuerySpec,
    Returning,
    RowData,
    Rows,
    check_count,
    check_returning,
    rows_payload,
    rpc_args_params,
)

__all__ = ["DEFAULT_MYSQL_INSTANCE", "Rdb", "Table"]

#: The instance id of the environment's own MySQL database.
DEFAULT_MYSQL_INSTANCE = "default"


@attrs.frozen
class Table:
    """One table (or view) of the database; start a query with a verb."""

    transport: Transport = attrs.field(repr=False)
    path: str
    instance: str | None = None
    profile: str | None = None

    def _spec(self, method: str, **fields: Any) -> QuerySpec:
        return QuerySpec(method, self.path, instance=self.instance, profile=self.profile, **fields)

    def _query(self, spec: QuerySpec) -> QueryBuilder[dict[str, Any]]:
        return QueryBuilder(self.transport, spec)

    def select(
        self, *columns: str, count: CountMethod | None = None, head: bool = False
    ) -> QueryBuilder[dict[str, Any]]:
        """Read rows: ``select("id,name,classes(grade,class_number)")`` (default ``*``).

        ``count`` asks for the total (``result.count``); ``head=True`` asks for the
        count only (a HEAD request, no rows).
        """
        check_count(count)
        columns_text = clean_columns(",".join(columns) or "*")
        return self._query(self._spec("HEAD" if head else "GET", select=columns_text, count=count))

    def insert(
        self,
        rows: Rows,
        *,
        returning: Returning = "minimal",
        count: CountMethod | None = None,
        default_to_null: bool = True,
    ) -> QueryBuilder[dict[str, Any]]:
        """Insert one row (dict or attrs instance) or a list of rows.

        ``returning="representation"`` returns the inserted rows. In a list, a key that
        some rows lack is written as NULL, or as the column default when
        ``default_to_null=False``.
        """
        return self._query(self._write_spec(rows, returning, count, default_to_null))

    def _write_spec(
        self,
        rows: Rows,
        returning: Returning,
        count: CountMethod | None,
        default_to_null: bool,
        **fields: Any,
    ) -> QuerySpec:
        check_returning(returning)
        check_count(count)
        body, columns = rows_payload(rows)
        return self._spec(
            "POST",
            body=body,
            columns=columns,
            returning=returning,
            count=count,
            missing_default=not default_to_null,
            **fields,
        )

    def upsert(
        self,
        rows: Rows,
        *,
        on_conflict: str | None = None,
        ignore_duplicates: bool = False,
        returning: Returning = "minimal",
        count: CountMethod | None = None,
        default_to_null: bool = True,
    ) -> QueryBuilder[dict[str, Any]]:
        """Insert, or on a conflict (primary key, or the unique columns named in
        ``on_conflict``) update the existing row (merge) or keep it
        (``ignore_duplicates=True``)."""
        spec = self._write_spec(
            rows,
            returning,
            count,
            default_to_null,
            resolution="ignore-duplicates" if ignore_duplicates else "merge-duplicates",
            on_conflict=clean_columns(on_conflict) if on_conflict else None,
        )
        return self._query(spec)

    def update(
        self,
        values: RowData,
        *,
        returning: Returning = "minimal",
        count: CountMethod | None = None,
    ) -> QueryBuilder[dict[str, Any]]:
        """Set ``values`` on the rows the filters select. Without a filter it is refused
        before sending, unless ``.all_rows()`` says every row is meant."""
        check_returning(returning)
        check_count(count)
        body = jsonable(values)
        if not isinstance(body, Mapping) or not body:
            raise InvalidRequestError("update() takes a non-empty dict of column values")
        return self._query(self._spec("PATCH", body=body, returning=returning, count=count))

    def delete(
        self, *, returning: Returning = "minimal", count: CountMethod | None = None
    ) -> QueryBuilder[dict[str, Any]]:
        """Delete the rows the filters select. Without a filter it is refused before
        sending, unless ``.all_rows()`` says every row is meant."""
        check_returning(returning)
        check_count(count)
        return self._query(self._spec("DELETE", returning=returning, count=count))


@attrs.frozen
class Rdb:
    """The relational database of the environment, at ``{base}/v1/rdb/rest``.

    * ``cb.rdb.table("students")`` (or ``from_``): ``/v1/rdb/rest/students``
    * ``cb.rdb.schema("db").table("t")``: ``/v1/rdb/rest/db/t``
    * ``cb.rdb.instance("i").schema("db").table("t")``: ``/v1/rdb/rest/i/db/t``
    * ``cb.rdb.mysql(database=..., instance=...)``: the same paths as ``table()``, with
      the ``X-Db-Instance`` and ``Accept-Profile``/``Content-Profile`` headers the
      MySQL gateway reads (defaults: instance ``"default"``, database = the env id).
    * ``cb.rdb.rpc("fn", {...})``: ``/v1/rdb/rest/rpc/fn``

    Every name placed into a path is percent-encoded as one segment (a ``/`` in a name
    stays inside it); an empty name, ``"."``, ``".."`` or a control character is
    refused with ``InvalidRequestError`` before anything is sent.
    """

    transport: Transport = attrs.field(repr=False)
    instance_segment: str | None = None
    schema_segment: str | None = None
    instance_header: str | None = None
    profile: str | None = None

    def _prefix(self) -> str:
        parts = [p for p in (self.instance_segment, self.schema_segment) if p is not None]
        if self.instance_segment is not None and self.schema_segment is None:
            raise InvalidRequestError("instance(...) needs a schema: .instance(i).schema(db)")
        return "".join(f"/{part}" for part in parts)

    def schema(self, name: str) -> Rdb:
        """Tables of schema/database ``name``, addressed in the path (``/{name}/{table}``)."""
        return attrs.evolve(self, schema_segment=segment(name, "An rdb schema name"))

    def instance(self, instance_id: str) -> Rdb:
        """Tables of a database instance, in the path: ``.instance(i).schema(db).table(t)``."""
        return attrs.evolve(self, instance_segment=segment(instance_id, "An rdb instance id"))

    def mysql(self, database: str | None = None, *, instance: str = DEFAULT_MYSQL_INSTANCE) -> Rdb:
        """MySQL mode: send ``X-Db-Instance: instance`` and name the database in both
        ``Accept-Profile`` and ``Content-Profile`` on every request, as the official
        SDKs do; by default the environment's own instance and the database named after
        the env id.

        Against PostgreSQL/PostgREST the profile headers select the schema.
        """
        return attrs.evolve(
            self,
            instance_header=instance,
            profile=database if database is not None else self.transport.config.env,
        )

    def table(self, name: str) -> Table:
        """A table or view: start a query with ``select``/``insert``/``upsert``/
        ``update``/``delete``."""
        return Table(
            self.transport,
            f"{self._prefix()}/{segment(name, 'An rdb table name')}",
            instance=self.instance_header,
            profile=self.profile,
        )

    def from_(self, name: str) -> Table:
        """Alias of :meth:`table` (the name PostgREST clients use)."""
        return self.table(name)

    def rpc(
        self,
        function: str,
        args: Mapping[str, object] | None = None,
        *,
        get: bool = False,
        head: bool = False,
        count: CountMethod | None = None,
    ) -> RpcBuilder:
        """Call the database function ``function`` with named ``args``.

        POST by default (a function may write, so it is never retried). ``get=True``
        sends the arguments in the query string of a GET, for read-only functions:
        retried like any read. Filters, ``order`` and ``limit`` apply to functions that
        return rows.
        """
        check_count(count)
        args = dict(args or {})
        path = f"{self._prefix()}/rpc/{segment(function, 'An rdb function name')}"
        if get or head:
            spec = QuerySpec(
                "HEAD" if head else "GET",
                path,
                args=rpc_args_params(args),
                count=count,
                instance=self.instance_header,
                profile=self.profile,
                rpc=True,
            )
        else:
            spec = QuerySpec(
                "POST",
                path,
                body=jsonable(args),
                count=count,
                instance=self.instance_header,
                profile=self.profile,
                rpc=True,
            )
        return RpcBuilder(self.transport, spec)
