"""``cb.rdb``: the entry point of the relational database REST API (PostgREST dialect)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import attrs

from .._core.errors import InvalidRequestError
from .._core.transport import Transport
from ._builder import CountMethod, QuerySpec, RpcBuilder, Table, _check_count, rpc_args_params
from ._encode import jsonable

__all__ = ["DEFAULT_MYSQL_INSTANCE", "Rdb"]

#: The instance id of the environment's own MySQL database.
DEFAULT_MYSQL_INSTANCE = "default"


def _segment(name: str, what: str) -> str:
    if not name or not name.strip():
        raise InvalidRequestError(f"A {what} name must not be empty")
    # Percent-encoded here, once: a "/" in a name must not become a path separator.
    # httpx leaves existing %XX escapes in a path alone.
    return quote(name, safe="")


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
        return attrs.evolve(self, schema_segment=_segment(name, "schema"))

    def instance(self, instance_id: str) -> Rdb:
        """Tables of a database instance, in the path: ``.instance(i).schema(db).table(t)``."""
        return attrs.evolve(self, instance_segment=_segment(instance_id, "instance"))

    def mysql(self, database: str | None = None, *, instance: str = DEFAULT_MYSQL_INSTANCE) -> Rdb:
        """MySQL mode: send ``X-Db-Instance: instance`` and name the database in
        ``Accept-Profile`` (reads) / ``Content-Profile`` (writes); by default the
        environment's own instance and the database named after the env id.

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
            f"{self._prefix()}/{_segment(name, 'table')}",
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
        _check_count(count)
        args = dict(args or {})
        path = f"{self._prefix()}/rpc/{_segment(function, 'function')}"
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
