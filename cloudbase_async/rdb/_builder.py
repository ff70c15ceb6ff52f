"""Immutable query builders and the pure function that turns one into a request.

A builder holds a frozen :class:`QuerySpec`; every method returns a new builder with a
new spec, so a base query can be reused without leaking filters between uses::

    base = cb.rdb.table("students").select("id,name")
    adults, minors = base.gte("age", 18), base.lt("age", 18)   # base is unchanged

:func:`build_request` is pure (spec in, :class:`Request` out): the unit tests check
params, headers and bodies at string level without any HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final, Generic, Literal, Self, TypeAlias, TypeVar, overload

import attrs

from .._core.errors import APIError, InvalidRequestError
from .._core.transport import Request, Response, Transport
from .._core.types import UNSET, Timeout
from . import filters as f
from ._encode import (
    Condition,
    Group,
    clean_columns,
    format_array,
    format_scalar,
    jsonable,
    quote_column,
    render_top,
)
from ._result import NoRowsError, RdbPage, RdbResult, parse_content_range, row_count_error

__all__ = [
    "CountMethod",
    "MaybeSingleQuery",
    "QueryBuilder",
    "QuerySpec",
    "Returning",
    "RowData",
    "Rows",
    "RpcBuilder",
    "SingleQuery",
    "Table",
    "build_request",
]

Row = TypeVar("Row")
M = TypeVar("M")
Returning: TypeAlias = Literal["minimal", "representation"]
#: A row to write: a dict of column values or an attrs instance (unstructured first).
RowData: TypeAlias = Mapping[str, object] | attrs.AttrsInstance
#: One row or a list of them.
Rows: TypeAlias = RowData | Sequence[RowData]
CountMethod: TypeAlias = Literal["exact", "planned", "estimated"]

_OBJECT: Final = "application/vnd.pgrst.object+json"
_READS: Final = frozenset({"GET", "HEAD"})
_COUNTS: Final = ("exact", "planned", "estimated")

Keyed: TypeAlias = tuple[tuple[str | None, Any], ...]  # (referenced table or None, value)


def _set_keyed(items: Keyed, table: str | None, value: object) -> Keyed:
    return (*((t, v) for t, v in items if t != table), (table, value))


@attrs.frozen
class QuerySpec:
    """Everything one request says, before it is encoded. Built only by builders."""

    method: str
    path: str
    select: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    root_filtered: bool = False
    orders: Keyed = ()
    limits: Keyed = ()
    offsets: Keyed = ()
    args: tuple[tuple[str, str], ...] = ()
    body: object = UNSET
    returning: Returning | None = None
    count: CountMethod | None = None
    resolution: Literal["merge-duplicates", "ignore-duplicates"] | None = None
    on_conflict: str | None = None
    columns: str | None = None
    missing_default: bool = False
    single_object: bool = False
    all_rows: bool = False
    instance: str | None = None
    profile: str | None = None
    rpc: bool = False

    @property
    def is_read(self) -> bool:
        return self.method in _READS

    @property
    def is_insert(self) -> bool:
        return self.method == "POST" and not self.rpc


def _check_count(count: str | None) -> None:
    if count is not None and count not in _COUNTS:
        raise InvalidRequestError(f"count must be one of {', '.join(_COUNTS)}, got {count!r}")


def _check_returning(returning: str) -> None:
    if returning not in ("minimal", "representation"):
        raise InvalidRequestError(
            f"returning must be 'minimal' or 'representation', got {returning!r}"
        )


def _scoped(referenced_table: str | None, key: str) -> str:
    return f"{referenced_table}.{key}" if referenced_table else key


def build_request(spec: QuerySpec, *, timeout: Timeout = None) -> Request:
    """The :class:`Request` for ``spec``: method, path, ordered params, headers, body.

    Refuses (``InvalidRequestError``) an update or delete without a filter on the table
    itself unless ``all_rows()`` was called.
    """
    if spec.method in ("PATCH", "DELETE") and not spec.root_filtered and not spec.all_rows:
        verb = "update" if spec.method == "PATCH" else "delete"
        raise InvalidRequestError(
            f"Refusing to {verb} every row of {spec.path.rpartition('/')[2]!r}: add a "
            f"filter (eq, in_, ...) or call .all_rows() to {verb} the whole table."
        )
    if spec.is_insert and spec.filters:
        raise InvalidRequestError("insert() and upsert() take no filters")

    params: list[tuple[str, str | int | float | bool | None]] = []
    if spec.select is not None:
        params.append(("select", spec.select))
    params.extend(spec.args)
    params.extend(spec.filters)
    if spec.columns is not None:
        params.append(("columns", spec.columns))
    if spec.on_conflict is not None:
        params.append(("on_conflict", spec.on_conflict))
    # One order= per table (its keys comma-joined, in call order); "classes.limit"...
    for table in dict.fromkeys(t for t, _ in spec.orders):
        joined = ",".join(item for t, item in spec.orders if t == table)
        params.append((_scoped(table, "order"), joined))
    params.extend((_scoped(table, "limit"), str(n)) for table, n in spec.limits)
    params.extend((_scoped(table, "offset"), str(n)) for table, n in spec.offsets)

    headers: dict[str, str] = {}
    prefer = []
    if spec.returning is not None:
        prefer.append(f"return={spec.returning}")
    if spec.count is not None:
        prefer.append(f"count={spec.count}")
    if spec.resolution is not None:
        prefer.append(f"resolution={spec.resolution}")
    if spec.missing_default:
        prefer.append("missing=default")
    if prefer:
        headers["Prefer"] = ",".join(prefer)
    headers["Accept"] = _OBJECT if spec.single_object else "application/json"
    if spec.instance is not None:
        headers["X-Db-Instance"] = spec.instance
    if spec.profile is not None:
        # PostgREST (and CloudBase's MySQL gateway) pick the schema/database of a read
        # from Accept-Profile and of a write from Content-Profile.
        headers["Accept-Profile" if spec.is_read else "Content-Profile"] = spec.profile

    extra: dict[str, Any] = {}
    if spec.body is not UNSET:
        extra["json"] = spec.body
    return Request(
        spec.method,
        "rdb",
        spec.path,
        params=params,
        headers=headers,
        timeout=timeout,
        **extra,
    )


def _rows(response: Response) -> Any:
    """The decoded body; an empty body (``return=minimal``, HEAD, 204) is no rows."""
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def _structure_rows(rows: Any, row_type: type[Any] | None) -> Any:
    if row_type is None or rows is None:
        return rows
    from .._core.convert import structure

    if isinstance(rows, list):
        return [structure(row, row_type) for row in rows]
    return structure(rows, row_type)


def _is_root_column(column: str) -> bool:
    # "classes.grade" filters the embedded resource "classes", not the table itself.
    return "." not in column.split("->", 1)[0]


@attrs.frozen
class QueryBuilder(Generic[Row]):
    """A query on one table (or function). Immutable: each method returns a new one.

    ``await query.execute()`` sends it and returns an :class:`RdbResult` whose ``data``
    is a list of rows (dicts, or the class given to :meth:`returns`).
    """

    transport: Transport = attrs.field(repr=False)
    spec: QuerySpec
    row_type: type[Row] | None = None

    def _evolve(self, **changes: Any) -> Self:
        return attrs.evolve(self, spec=attrs.evolve(self.spec, **changes))

    # --- filters -----------------------------------------------------------------

    def where(self, *conditions: Condition | Group) -> Self:
        """Add conditions built with :mod:`cloudbase_async.rdb.filters` (all must hold)."""
        result = self
        for condition in conditions:
            result = result._add(condition)
        return result

    def _add(self, condition: Condition | Group, referenced_table: str | None = None) -> Self:
        if (
            isinstance(condition, Group)
            and condition.kind == "and"
            and not condition.negated
            and referenced_table is None
            and all(isinstance(item, Condition) for item in condition.items)
        ):
            # Top-level filters are and-ed already: flatten into plain pairs.
            return self.where(*condition.items)  # type: ignore[arg-type]
        key, value = render_top(condition, referenced_table)
        if isinstance(condition, Condition):
            root = _is_root_column(condition.column)
        else:
            root = referenced_table is None
        return self._evolve(
            filters=(*self.spec.filters, (key, value)),
            root_filtered=self.spec.root_filtered or root,
        )

    def eq(self, column: str, value: object) -> Self:
        """``column = value`` (``None`` is refused: use :meth:`is_`)."""
        return self._add(f.eq(column, value))

    def neq(self, column: str, value: object) -> Self:
        return self._add(f.neq(column, value))

    def gt(self, column: str, value: object) -> Self:
        return self._add(f.gt(column, value))

    def gte(self, column: str, value: object) -> Self:
        return self._add(f.gte(column, value))

    def lt(self, column: str, value: object) -> Self:
        return self._add(f.lt(column, value))

    def lte(self, column: str, value: object) -> Self:
        return self._add(f.lte(column, value))

    def like(self, column: str, pattern: str) -> Self:
        """SQL ``LIKE``: ``%`` (or ``*``) any run of characters, ``_`` one."""
        return self._add(f.like(column, pattern))

    def ilike(self, column: str, pattern: str) -> Self:
        return self._add(f.ilike(column, pattern))

    def like_all_of(self, column: str, patterns: Sequence[str]) -> Self:
        return self._add(f.like_all_of(column, patterns))

    def like_any_of(self, column: str, patterns: Sequence[str]) -> Self:
        return self._add(f.like_any_of(column, patterns))

    def ilike_all_of(self, column: str, patterns: Sequence[str]) -> Self:
        return self._add(f.ilike_all_of(column, patterns))

    def ilike_any_of(self, column: str, patterns: Sequence[str]) -> Self:
        return self._add(f.ilike_any_of(column, patterns))

    def is_(self, column: str, value: bool | Literal["unknown"] | None) -> Self:
        return self._add(f.is_(column, value))

    def in_(self, column: str, values: Sequence[object]) -> Self:
        return self._add(f.in_(column, values))

    def contains(self, column: str, value: object) -> Self:
        return self._add(f.contains(column, value))

    def contained_by(self, column: str, value: object) -> Self:
        return self._add(f.contained_by(column, value))

    def overlaps(self, column: str, value: object) -> Self:
        return self._add(f.overlaps(column, value))

    def range_gt(self, column: str, value: object) -> Self:
        return self._add(f.range_gt(column, value))

    def range_gte(self, column: str, value: object) -> Self:
        return self._add(f.range_gte(column, value))

    def range_lt(self, column: str, value: object) -> Self:
        return self._add(f.range_lt(column, value))

    def range_lte(self, column: str, value: object) -> Self:
        return self._add(f.range_lte(column, value))

    def range_adjacent(self, column: str, value: object) -> Self:
        return self._add(f.range_adjacent(column, value))

    def text_search(
        self,
        column: str,
        query: str,
        *,
        config: str | None = None,
        type: f.TextSearchType | None = None,
    ) -> Self:
        return self._add(f.text_search(column, query, config=config, type=type))

    def match(self, query: Mapping[str, object]) -> Self:
        """``column = value`` for every pair of ``query``."""
        return self.where(*(f.eq(column, value) for column, value in query.items()))

    def filter(self, column: str, operator: str, value: object) -> Self:
        """Any PostgREST operator by name, e.g. ``filter("tags", "cs", ["a"])``."""
        return self._add(f.filter(column, operator, value))

    @overload
    def not_(self, condition: Condition | Group, /) -> Self: ...
    @overload
    def not_(self, column: str, operator: str, value: object) -> Self: ...
    def not_(
        self, column: str | Condition | Group, operator: str | None = None, value: object = None
    ) -> Self:
        """Negate: ``not_("age", "gte", 18)`` or ``not_(f.in_("grade", [1, 2]))``."""
        if isinstance(column, Condition | Group):
            return self._add(~column)
        if operator is None:
            raise InvalidRequestError("not_(column, operator, value) needs an operator")
        return self._add(~f.filter(column, operator, value))

    def or_(self, *items: Condition | Group | str, referenced_table: str | None = None) -> Self:
        """At least one of ``items`` holds. Strings are PostgREST syntax, as given
        (``or_("grade.eq.1,grade.eq.2")``); conditions are encoded safely."""
        if not items:
            raise InvalidRequestError("or_() needs at least one condition")
        return self._add(f.or_(*items), referenced_table)

    def and_(self, *items: Condition | Group | str, referenced_table: str | None = None) -> Self:
        """All of ``items`` hold (useful on an embedded resource, or with strings)."""
        if not items:
            raise InvalidRequestError("and_() needs at least one condition")
        return self._add(Group("and", items), referenced_table)

    # --- modifiers ---------------------------------------------------------------

    def select(self, *columns: str) -> Self:
        """Columns to return, e.g. ``"id,name,classes(grade)"``. On a write this also
        asks for the written rows back (``return=representation``)."""
        value = clean_columns(",".join(columns) or "*")
        if self.spec.is_read or self.spec.rpc:
            return self._evolve(select=value)
        return self._evolve(select=value, returning="representation")

    def order(
        self,
        column: str,
        *,
        desc: bool = False,
        nulls_first: bool | None = None,
        referenced_table: str | None = None,
    ) -> Self:
        """Sort by ``column``; call again for more keys (earlier calls sort first)."""
        item = f"{column}.{'desc' if desc else 'asc'}"
        if nulls_first is not None:
            item += ".nullsfirst" if nulls_first else ".nullslast"
        return self._evolve(orders=(*self.spec.orders, (referenced_table, item)))

    def limit(self, count: int, *, referenced_table: str | None = None) -> Self:
        if count < 0:
            raise InvalidRequestError(f"limit must be >= 0, got {count}")
        return self._evolve(limits=_set_keyed(self.spec.limits, referenced_table, count))

    def offset(self, count: int, *, referenced_table: str | None = None) -> Self:
        if count < 0:
            raise InvalidRequestError(f"offset must be >= 0, got {count}")
        return self._evolve(offsets=_set_keyed(self.spec.offsets, referenced_table, count))

    def range(self, start: int, end: int, *, referenced_table: str | None = None) -> Self:
        """Rows ``start`` to ``end``, both included, counted from 0."""
        if start < 0 or end < start:
            raise InvalidRequestError(f"range needs 0 <= start <= end, got {start}, {end}")
        return self.offset(start, referenced_table=referenced_table).limit(
            end - start + 1, referenced_table=referenced_table
        )

    def all_rows(self) -> Self:
        """Allow this ``update()``/``delete()`` to touch every row (no filter needed)."""
        return self._evolve(all_rows=True)

    def returns(self, model: type[M]) -> QueryBuilder[M]:
        """Structure each row into ``model`` (an attrs class) with the SDK's converter."""
        return QueryBuilder(self.transport, self.spec, model)

    def single(self) -> SingleQuery[Row]:
        """Exactly one row: ``data`` is that row. No row raises :class:`NoRowsError`
        (a :class:`NotFoundError`); several raise :class:`MultipleRowsError`."""
        return SingleQuery(self.transport, self._evolve(single_object=True).spec, self.row_type)

    def maybe_single(self) -> MaybeSingleQuery[Row]:
        """At most one row: ``data`` is that row or ``None``; several raise
        :class:`MultipleRowsError`."""
        spec = self._evolve(single_object=True).spec
        return MaybeSingleQuery(self.transport, spec, self.row_type)

    # --- running -----------------------------------------------------------------

    def build(self, *, timeout: Timeout = None) -> Request:
        """The request :meth:`execute` would send (for logging, tests, debugging)."""
        return build_request(self.spec, timeout=timeout)

    async def execute(self, *, timeout: Timeout = None) -> RdbResult[list[Row]]:
        """Send the query. Reads (GET/HEAD) are retried when safe; writes never."""
        response = await self.transport.send(build_request(self.spec, timeout=timeout))
        rows = _rows(response)
        return RdbResult(
            data=_structure_rows(rows, self.row_type) if rows is not None else [],
            count=parse_content_range(response.headers.get("content-range")),
            status_code=response.status_code,
            request_id=response.request_id,
        )

    def _require_read(self, what: str) -> None:
        if not self.spec.is_read:
            raise InvalidRequestError(f"{what}() works on select() queries only")

    async def page(
        self,
        number: int = 1,
        page_size: int = 50,
        *,
        count: CountMethod = "exact",
        timeout: Timeout = None,
    ) -> RdbPage[Row]:
        """Page ``number`` (from 1) of ``page_size`` rows, with the total ``count``.

        Keep an :meth:`order` on the query so pages do not overlap. A page past the end
        is empty (it is not an error).
        """
        self._require_read("page")
        if number < 1 or page_size < 1:
            raise InvalidRequestError("page numbers and sizes start at 1")
        _check_count(count)
        query = self._evolve(count=count).range((number - 1) * page_size, number * page_size - 1)
        try:
            result = await query.execute(timeout=timeout)
        except APIError as exc:
            # PostgREST answers an offset past the end with 416 PGRST103 when counting.
            if exc.code != "PGRST103":
                raise
            total = _total_from_details(exc.details)
            return RdbPage([], total, number, page_size, exc.request_id)
        return RdbPage(result.data, result.count, number, page_size, result.request_id)

    async def paginate(
        self, page_size: int = 500, *, key: str = "id", timeout: Timeout = None
    ) -> AsyncIterator[Row]:
        """Every matching row, fetched ``page_size`` at a time.

        Without an :meth:`order`, pages follow ``key`` (a unique column, by default
        ``id``): each page asks for ``key > last seen``, so rows inserted meanwhile do
        not shift pages. With an order, pages use offsets and ``key`` is added as the
        last sort key so equal sort values still have one stable order.
        """
        self._require_read("paginate")
        if page_size < 1:
            raise InvalidRequestError("page_size must be >= 1")
        if any(t is None for t, _ in (*self.spec.limits, *self.spec.offsets)):
            raise InvalidRequestError("paginate() sets limit/offset itself; remove yours")
        # Rows are structured here, after the key is read; no count is needed per page.
        spec = attrs.evolve(self.spec, count=None)
        raw: QueryBuilder[Any] = QueryBuilder(self.transport, spec, None)
        keyset = not any(t is None for t, _ in self.spec.orders)
        if keyset or not any(
            t is None and str(v).split(".")[0] == key for t, v in self.spec.orders
        ):
            raw = raw.order(key)
        raw = raw.limit(page_size)
        last: object = None
        offset = 0
        while True:
            query = raw
            if keyset and last is not None:
                query = query.gt(key, last)
            elif not keyset:
                query = query.offset(offset)
            rows = (await query.execute(timeout=timeout)).data
            full = len(rows) == page_size
            if keyset and full:
                # Checked before yielding: a caller never gets half the rows, then an error.
                last_row = rows[-1]
                if not isinstance(last_row, Mapping) or key not in last_row:
                    raise InvalidRequestError(
                        f"paginate() pages by {key!r}: select that column or pass key="
                    )
                last = last_row[key]
            for row in rows:
                yield _structure_rows(row, self.row_type)
            if not full:
                return
            offset += len(rows)


def _total_from_details(details: object) -> int | None:
    match = re.search(r"only (\d+) rows", details if isinstance(details, str) else "")
    return int(match.group(1)) if match else None


@attrs.frozen
class SingleQuery(Generic[Row]):
    """A query whose ``data`` is exactly one row (see :meth:`QueryBuilder.single`)."""

    transport: Transport = attrs.field(repr=False)
    spec: QuerySpec
    row_type: type[Row] | None = None

    def returns(self, model: type[M]) -> SingleQuery[M]:
        return SingleQuery(self.transport, self.spec, model)

    def build(self, *, timeout: Timeout = None) -> Request:
        return build_request(self.spec, timeout=timeout)

    async def execute(self, *, timeout: Timeout = None) -> RdbResult[Row]:
        response = await _send_single(self.transport, self.spec, timeout)
        row = _rows(response)
        if row is None:
            raise InvalidRequestError(
                "single() got no row back: a write needs returning='representation' "
                "(or .select()) to return its row"
            )
        return RdbResult(
            data=_structure_rows(row, self.row_type),
            count=parse_content_range(response.headers.get("content-range")),
            status_code=response.status_code,
            request_id=response.request_id,
        )


@attrs.frozen
class MaybeSingleQuery(Generic[Row]):
    """A query whose ``data`` is one row or ``None`` (see :meth:`QueryBuilder.maybe_single`)."""

    transport: Transport = attrs.field(repr=False)
    spec: QuerySpec
    row_type: type[Row] | None = None

    def returns(self, model: type[M]) -> MaybeSingleQuery[M]:
        return MaybeSingleQuery(self.transport, self.spec, model)

    def build(self, *, timeout: Timeout = None) -> Request:
        return build_request(self.spec, timeout=timeout)

    async def execute(self, *, timeout: Timeout = None) -> RdbResult[Row | None]:
        try:
            response = await _send_single(self.transport, self.spec, timeout)
        except APIError as exc:
            if isinstance(exc, NoRowsError):
                return RdbResult(None, None, exc.status_code, exc.request_id)
            raise
        return RdbResult(
            data=_structure_rows(_rows(response), self.row_type),
            count=parse_content_range(response.headers.get("content-range")),
            status_code=response.status_code,
            request_id=response.request_id,
        )


async def _send_single(transport: Transport, spec: QuerySpec, timeout: Timeout) -> Response:
    try:
        return await transport.send(build_request(spec, timeout=timeout))
    except APIError as exc:
        mapped = row_count_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


@attrs.frozen
class RpcBuilder(QueryBuilder[Any]):
    """A call of a database function; filters and modifiers apply to a set-returning
    function's rows. ``data`` is whatever the function returns (rows, a scalar...)."""

    async def execute(self, *, timeout: Timeout = None) -> RdbResult[Any]:
        response = await self.transport.send(build_request(self.spec, timeout=timeout))
        return RdbResult(
            data=_structure_rows(_rows(response), self.row_type),
            count=parse_content_range(response.headers.get("content-range")),
            status_code=response.status_code,
            request_id=response.request_id,
        )


def rpc_args_params(args: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Function arguments as query pairs (for ``get=True``); lists become arrays."""
    pairs = []
    for name, value in args.items():
        text = format_array(value) if isinstance(value, list | tuple) else format_scalar(value)
        pairs.append((name, text))
    return tuple(pairs)


def _rows_payload(rows: Rows) -> tuple[object, str | None]:
    """The JSON body for insert/upsert and, for a list, the ``columns=`` it writes."""
    if isinstance(rows, Mapping) or attrs.has(type(rows)):
        return jsonable(rows), None
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
        raise InvalidRequestError("insert()/upsert() take a dict, an attrs instance or a list")
    body = [jsonable(row) for row in rows]
    names: dict[str, None] = {}
    for row in body:
        if not isinstance(row, Mapping):
            raise InvalidRequestError("every row must be a dict or an attrs instance")
        names.update(dict.fromkeys(row))
    # PostgREST wants every object of a bulk insert to have the same keys unless it is
    # told the column list: with it, a key missing from a row means NULL (or DEFAULT).
    columns = ",".join(quote_column(name) for name in names) if names else None
    return body, columns


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
        _check_count(count)
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
        _check_returning(returning)
        _check_count(count)
        body, columns = _rows_payload(rows)
        return self._query(
            self._spec(
                "POST",
                body=body,
                columns=columns,
                returning=returning,
                count=count,
                missing_default=not default_to_null,
            )
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
        query = self.insert(rows, returning=returning, count=count, default_to_null=default_to_null)
        resolution = "ignore-duplicates" if ignore_duplicates else "merge-duplicates"
        on = clean_columns(on_conflict) if on_conflict else None
        return query._evolve(resolution=resolution, on_conflict=on)

    def update(
        self,
        values: RowData,
        *,
        returning: Returning = "minimal",
        count: CountMethod | None = None,
    ) -> QueryBuilder[dict[str, Any]]:
        """Set ``values`` on the rows the filters select. Without a filter it is refused
        before sending, unless ``.all_rows()`` says every row is meant."""
        _check_returning(returning)
        _check_count(count)
        body = jsonable(values)
        if not isinstance(body, Mapping) or not body:
            raise InvalidRequestError("update() takes a non-empty dict of column values")
        return self._query(self._spec("PATCH", body=body, returning=returning, count=count))

    def delete(
        self, *, returning: Returning = "minimal", count: CountMethod | None = None
    ) -> QueryBuilder[dict[str, Any]]:
        """Delete the rows the filters select. Without a filter it is refused before
        sending, unless ``.all_rows()`` says every row is meant."""
        _check_returning(returning)
        _check_count(count)
        return self._query(self._spec("DELETE", returning=returning, count=count))
