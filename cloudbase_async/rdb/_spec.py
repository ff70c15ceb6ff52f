"""What one relational database request says, and the pure function that encodes it.

:class:`QuerySpec` is everything a request says before it is encoded; builders never
copy one per step: they record each step as an :class:`Edit` linked to the step
before it, and :func:`apply_edits` folds the chain into one spec when the request is
built. :func:`build_request` is pure (spec in, :class:`Request` out): the unit tests
check params, headers and bodies at string level without any HTTP.

Nothing here does I/O; the builders that send requests live in ``_builder.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, NamedTuple, TypeAlias

import attrs

from .._core.errors import InvalidRequestError
from .._core.transport import Request
from .._core.types import UNSET, ParamValue, Timeout
from ._encode import format_array, format_scalar, jsonable, query_key, quote_column, restricts_rows

__all__ = [
    "COUNT_METHODS",
    "CountMethod",
    "Edit",
    "QuerySpec",
    "Returning",
    "RowData",
    "Rows",
    "apply_edits",
    "build_request",
    "check_count",
    "check_returning",
    "rows_payload",
    "rpc_args_params",
]

Returning: TypeAlias = Literal["minimal", "representation"]
#: A row to write: a dict of column values or an attrs instance (unstructured first).
RowData: TypeAlias = Mapping[str, object] | attrs.AttrsInstance
#: One row or a list of them.
Rows: TypeAlias = RowData | Sequence[RowData]
CountMethod: TypeAlias = Literal["exact", "planned", "estimated"]
#: The ``count=`` values PostgREST knows.
COUNT_METHODS: Final[tuple[CountMethod, ...]] = ("exact", "planned", "estimated")

Keyed: TypeAlias = tuple[tuple[str | None, Any], ...]  # (referenced table or None, value)

_OBJECT: Final = "application/vnd.pgrst.object+json"
_READS: Final = frozenset({"GET", "HEAD"})


@attrs.frozen
class QuerySpec:
    """Everything one request says, before it is encoded. Built only by builders."""

    method: str
    path: str
    select: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
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


class Edit(NamedTuple):
    """One builder step: set ``field`` of the spec to ``value`` (see :func:`apply_edits`).

    Each step links to the one before it, so a step costs one small tuple whatever the
    spec holds, and a base query shared by two branches is shared, never copied.
    """

    previous: Edit | None
    field: str
    value: Any


#: Fields whose edits add an item (filters and sort keys, in call order).
_APPENDED: Final = frozenset({"filters", "orders"})
#: Fields whose edits are ``(referenced table, value)``: one value per table, the last.
_KEYED: Final = frozenset({"limits", "offsets"})
_FIELDS: Final = tuple(field.name for field in attrs.fields(QuerySpec))
_set: Final = object.__setattr__


def apply_edits(base: QuerySpec, edits: Edit | None) -> QuerySpec:
    """``base`` with the chain of ``edits`` applied, oldest first.

    A filter or ``order`` edit adds an item; a ``limit``/``offset`` edit replaces the
    value for its table (and moves it last); any other edit sets its field.
    """
    if edits is None:
        return base
    chain: list[Edit] = []
    while edits is not None:
        chain.append(edits)
        edits = edits.previous
    changes: dict[str, Any] = {}
    for edit in reversed(chain):
        name, value = edit.field, edit.value
        if name in _APPENDED:
            changes[name] = (*changes.get(name, getattr(base, name)), value)
        elif name in _KEYED:
            table = value[0]
            kept = (item for item in changes.get(name, getattr(base, name)) if item[0] != table)
            changes[name] = (*kept, value)
        else:
            changes[name] = value
    # The copy attrs.evolve would make, without its per-call introspection of the class
    # (3x the cost; this runs once per request built). Values were checked when each
    # edit was made, so there is nothing for __init__ to validate.
    spec = object.__new__(QuerySpec)
    for name in _FIELDS:
        _set(spec, name, changes[name] if name in changes else getattr(base, name))
    return spec


def check_count(count: str | None) -> None:
    """Refuse (``InvalidRequestError``) a ``count=`` PostgREST does not know."""
    if count is not None and count not in COUNT_METHODS:
        raise InvalidRequestError(f"count must be one of {', '.join(COUNT_METHODS)}, got {count!r}")


def check_returning(returning: str) -> None:
    """Refuse (``InvalidRequestError``) a ``returning=`` other than the two PostgREST knows."""
    if returning not in ("minimal", "representation"):
        raise InvalidRequestError(
            f"returning must be 'minimal' or 'representation', got {returning!r}"
        )


def _scoped(referenced_table: str | None, key: str) -> str:
    return f"{referenced_table}.{key}" if referenced_table else key


def build_request(spec: QuerySpec, *, timeout: Timeout = None) -> Request:
    """The :class:`Request` for ``spec``: method, path, ordered params, headers, body.

    Refuses (``InvalidRequestError``) an update or delete unless one of the filters it
    sends restricts the table's own rows (see :func:`~._encode.restricts_rows`) or
    ``all_rows()`` was called.
    """
    if (
        spec.method in ("PATCH", "DELETE")
        and not spec.all_rows
        and not any(restricts_rows(key) for key, _ in spec.filters)
    ):
        verb = "update" if spec.method == "PATCH" else "delete"
        raise InvalidRequestError(
            f"Refusing to {verb} every row of {spec.path.rpartition('/')[2]!r}: add a "
            f"filter (eq, in_, ...) or call .all_rows() to {verb} the whole table."
        )
    if spec.is_insert and spec.filters:
        raise InvalidRequestError("insert() and upsert() take no filters")

    params: list[tuple[str, ParamValue]] = []
    if spec.select is not None:
        params.append(("select", spec.select))
    params.extend(spec.args)
    params.extend(spec.filters)
    if spec.columns is not None:
        params.append(("columns", spec.columns))
    if spec.on_conflict is not None:
        params.append(("on_conflict", spec.on_conflict))
    if spec.orders:
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
        # PostgREST picks the schema of a read from Accept-Profile and of a write from
        # Content-Profile; the official SDKs send both on every MySQL-mode request, and
        # so does this one (the gateway may read either).
        headers["Accept-Profile"] = spec.profile
        headers["Content-Profile"] = spec.profile

    # spec.body is UNSET (no body) unless the verb sends one: the transport's own "not given".
    return Request(
        spec.method,
        "rdb",
        spec.path,
        params=params,
        headers=headers,
        json=spec.body,
        timeout=timeout,
    )


def rpc_args_params(args: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Function arguments as query pairs (for ``get=True``); lists become arrays.

    An argument named like a PostgREST parameter (``limit``, ``order``...) is sent
    quoted, which PostgREST reads as the argument's name.
    """
    pairs = []
    for name, value in args.items():
        text = format_array(value) if isinstance(value, list | tuple) else format_scalar(value)
        pairs.append((query_key(name), text))
    return tuple(pairs)


def rows_payload(rows: Rows) -> tuple[object, str | None]:
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
