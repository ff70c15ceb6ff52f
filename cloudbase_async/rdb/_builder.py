"""Immutable query builders: filters and modifiers, and the calls that send them.

Every method returns a new builder, so a base query can be reused without leaking
filters between uses::

    base = cb.rdb.table("students").select("id,name")
    adults, minors = base.gte("age", 18), base.lt("age", 18)   # base is unchanged

A step does not copy the request's spec: it links one :class:`~._spec.Edit` (a small
tuple) to the chain it extends, so its cost does not grow with what the query already
holds, and two queries grown from one base share that base. The spec is folded from
the chain once, when the request is built by the pure :func:`~._spec.build_request`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Generic, Literal, Self, TypeVar, overload

import attrs

from .._core.errors import APIError, InvalidRequestError
from .._core.responses import Response
from .._core.transport import Request, Transport
from .._core.types import Timeout
from . import filters as f
from ._encode import Condition, Group, clean_columns, render_top
from ._result import (
    NoRowsError,
    RdbPage,
    RdbResult,
    decoded_body,
    result_of,
    row_count_error,
    row_list,
    structure_rows,
)
from ._spec import (
    CountMethod,
    Edit,
    QuerySpec,
    apply_edits,
    build_request,
    check_count,
)

__all__ = ["MaybeSingleQuery", "QueryBuilder", "RpcBuilder", "SingleQuery"]

Row = TypeVar("Row")
M = TypeVar("M")


@attrs.frozen
class QueryBuilder(Generic[Row]):
    """A query on one table (or function). Immutable: each method returns a new one.

    ``await query.execute()`` sends it and returns an :class:`RdbResult` whose ``data``
    is a list of rows (dicts, or the class given to :meth:`returns`).
    """

    transport: Transport = attrs.field(repr=False)
    #: The spec the verb (``select()``, ``update()``...) started from.
    base: QuerySpec = attrs.field(repr=False)
    row_type: type[Row] | None = None
    #: The steps since, newest first (``None``: none yet).
    edits: Edit | None = attrs.field(default=None, repr=False)

    @property
    def spec(self) -> QuerySpec:
        """Everything the request says so far (folded from the steps on each access)."""
        return apply_edits(self.base, self.edits)

    def _edit(self, field: str, value: object) -> Self:
        return type(self)(self.transport, self.base, self.row_type, Edit(self.edits, field, value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, row_type={self.row_type!r})"

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
        return self._edit("filters", render_top(condition, referenced_table))

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
        if self.base.is_read or self.base.rpc:
            return self._edit("select", value)
        return self._edit("select", value)._edit("returning", "representation")

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
        return self._edit("orders", (referenced_table, item))

    def limit(self, count: int, *, referenced_table: str | None = None) -> Self:
        if count < 0:
            raise InvalidRequestError(f"limit must be >= 0, got {count}")
        return self._edit("limits", (referenced_table, count))

    def offset(self, count: int, *, referenced_table: str | None = None) -> Self:
        if count < 0:
            raise InvalidRequestError(f"offset must be >= 0, got {count}")
        return self._edit("offsets", (referenced_table, count))

    def range(self, start: int, end: int, *, referenced_table: str | None = None) -> Self:
        """Rows ``start`` to ``end``, both included, counted from 0."""
        if start < 0 or end < start:
            raise InvalidRequestError(f"range needs 0 <= start <= end, got {start}, {end}")
        return self.offset(start, referenced_table=referenced_table).limit(
            end - start + 1, referenced_table=referenced_table
        )

    def all_rows(self) -> Self:
        """Allow this ``update()``/``delete()`` to touch every row (no filter needed)."""
        return self._edit("all_rows", True)

    def returns(self, model: type[M]) -> QueryBuilder[M]:
        """Structure each row into ``model`` (an attrs class) with the SDK's converter."""
        return QueryBuilder(self.transport, self.base, model, self.edits)

    def single(self) -> SingleQuery[Row]:
        """Exactly one row: ``data`` is that row. No row raises :class:`NoRowsError`
        (a :class:`NotFoundError`); several raise :class:`MultipleRowsError`."""
        spec = self._edit("single_object", True).spec
        return SingleQuery(self.transport, spec, self.row_type)

    def maybe_single(self) -> MaybeSingleQuery[Row]:
        """At most one row: ``data`` is that row or ``None``; several raise
        :class:`MultipleRowsError`."""
        spec = self._edit("single_object", True).spec
        return MaybeSingleQuery(self.transport, spec, self.row_type)

    # --- running -----------------------------------------------------------------

    def build(self, *, timeout: Timeout = None) -> Request:
        """The request :meth:`execute` would send (for logging, tests, debugging)."""
        return build_request(self.spec, timeout=timeout)

    async def execute(self, *, timeout: Timeout = None) -> RdbResult[list[Row]]:
        """Send the query. Reads (GET/HEAD) are retried when safe; writes never."""
        response = await self.transport.send(build_request(self.spec, timeout=timeout))
        rows = structure_rows(
            row_list(response),
            self.row_type,
            status_code=response.status_code,
            request_id=response.request_id,
        )
        return result_of(response, rows)

    def _require_read(self, what: str) -> None:
        if not self.base.is_read:
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
        check_count(count)
        query = self._edit("count", count).range((number - 1) * page_size, number * page_size - 1)
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
        spec = self.spec
        if any(t is None for t, _ in (*spec.limits, *spec.offsets)):
            raise InvalidRequestError("paginate() sets limit/offset itself; remove yours")
        # Rows are structured here, after the key is read; no count is needed per page.
        raw: QueryBuilder[Any] = QueryBuilder(self.transport, attrs.evolve(spec, count=None))
        keyset = not any(t is None for t, _ in spec.orders)
        if keyset or not any(t is None and str(v).split(".")[0] == key for t, v in spec.orders):
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
            result = await query.execute(timeout=timeout)
            rows = result.data
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
                yield structure_rows(
                    row,
                    self.row_type,
                    status_code=result.status_code,
                    request_id=result.request_id,
                )
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
        row = decoded_body(response)
        if row is None:
            raise InvalidRequestError(
                "single() got no row back: a write needs returning='representation' "
                "(or .select()) to return its row"
            )
        return result_of(response, _structured(response, row, self.row_type))


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
        return result_of(response, _structured(response, decoded_body(response), self.row_type))


def _structured(response: Response, rows: Any, row_type: type[Any] | None) -> Any:
    return structure_rows(
        rows, row_type, status_code=response.status_code, request_id=response.request_id
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

    def returns(self, model: type[M]) -> RpcBuilder:
        """Structure the result (each row, or the one value) into ``model``."""
        return RpcBuilder(self.transport, self.base, model, self.edits)

    async def execute(self, *, timeout: Timeout = None) -> RdbResult[Any]:
        response = await self.transport.send(build_request(self.spec, timeout=timeout))
        return result_of(response, _structured(response, decoded_body(response), self.row_type))
