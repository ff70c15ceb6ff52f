"""Inserts, upserts, updates and deletes with PostgreSQL's checks, in its order.

PostgreSQL reads the whole JSON body into typed rows first (so a bad value fails
before anything is written or any sequence moves), then handles one row at a time:
defaults (a sequence advances even if the row then fails), ``NOT NULL`` in column
order, unique keys (the primary key first, then the others as declared), and only at
the end of the statement the foreign keys. The error for the first failing check is
the answer, with PostgreSQL's message and details (``Failing row contains (...)``,
``Key (name)=(x) already exists.``). This module does the same over SQLite, inside the
request's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from ._catalog import Catalog, Column, ForeignKey, Table, UniqueKey, quote_ident
from ._datetime import now_text, today_text
from ._errors import RdbError
from ._json import JsonObject, JsonValue
from ._read import Row
from ._store import Store, sequence_name

__all__ = [
    "DEFAULT",
    "MISSING",
    "Payload",
    "SqlText",
    "delete_rows",
    "evaluate_default",
    "failing_row",
    "insert_rows",
    "payload_from_body",
    "update_rows",
]

_MAX_FIELD = 64


@attrs.frozen
class Payload:
    """Rows to write: the columns named and, per row, their JSON values (absent keys
    are ``MISSING``)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


#: A key the body lacks (``columns=`` names it): NULL, or the default with missing=default.
MISSING: Any = object()
#: ``DEFAULT`` in ``INSERT ... VALUES``.
DEFAULT: Any = object()


class SqlText(str):
    """A constant from SQL (``INSERT ... VALUES``): read by the type's input function,
    so ``'null'`` is JSON null in a json column, not SQL NULL."""

    __slots__ = ()


def _clip(text: str) -> str:
    # ExecBuildSlotValueDescription cuts each value at 64 bytes and adds "...".
    encoded = text.encode()
    if len(encoded) <= _MAX_FIELD:
        return text
    return encoded[:_MAX_FIELD].decode("utf-8", "ignore") + "..."


def _text(column: Column, value: Any) -> str:
    return "null" if value is None else column.type.to_text(value)


def failing_row(table: Table, row: Row) -> str:
    values = ", ".join(_clip(_text(c, row[c.name])) for c in table.columns)
    return f"Failing row contains ({values})."


def _key_text(table: Table, columns: Sequence[str], row: Row) -> str:
    names = ", ".join(columns)
    values = ", ".join(_text(table.column(c), row[c]) for c in columns)  # type: ignore[arg-type]
    return f"({names})=({values})"


def evaluate_default(store: Store, table: Table, column: Column) -> Any:
    default = column.default
    if default is None:
        return None
    if default.kind == "sequence":
        return store.nextval(sequence_name(table, column.name))
    if default.kind == "value":
        return default.value
    if default.kind == "uuid":
        return str(uuid.uuid4())
    text = today_text() if default.kind == "today" else now_text()
    return column.type.parse(text)


def _convert(column: Column, value: JsonValue) -> Any:
    if isinstance(value, SqlText):
        return column.type.coerce(column.type.parse(str(value)))
    stored = column.type.from_json(value)
    return None if stored is None else column.type.coerce(stored)


def _check_not_null(table: Table, row: Row) -> None:
    for column in table.columns:
        if column.not_null and row[column.name] is None:
            raise RdbError(
                400,
                "23502",
                f'null value in column "{column.name}" of relation "{table.name}" violates not-null constraint',
                details=failing_row(table, row),
            )


def _unique_order(table: Table) -> list[UniqueKey]:
    return sorted(table.uniques, key=lambda u: not u.primary)


def _conflict(
    store: Store, table: Table, key: UniqueKey, row: Row, exclude: int | None
) -> int | None:
    """The rowid of another row with the same values for ``key`` (NULLs never clash)."""
    values = [row[c] for c in key.columns]
    if any(v is None for v in values):
        return None
    where = " AND ".join(f"{quote_ident(c)} = ?" for c in key.columns)
    sql = f"SELECT rowid FROM {table.sqlite_name} WHERE {where}"
    params: list[Any] = list(values)
    if exclude is not None:
        sql += " AND rowid <> ?"
        params.append(exclude)
    found = store.rows(sql + " LIMIT 1", params)
    return found[0][0] if found else None


def _check_unique(store: Store, table: Table, row: Row, exclude: int | None) -> None:
    for key in _unique_order(table):
        if _conflict(store, table, key, row, exclude) is not None:
            raise RdbError(
                409,
                "23505",
                f'duplicate key value violates unique constraint "{key.name}"',
                details=f"Key {_key_text(table, key.columns, row)} already exists.",
            )


def _next_rowid(store: Store, table: Table) -> int:
    found = store.rows(f"SELECT max(rowid) FROM {table.sqlite_name}")[0][0]
    return (found or 0) + 1


def _store_row(store: Store, table: Table, row: Row, rowid: int | None = None) -> int:
    """Insert ``row`` (or rewrite the row ``rowid``) at the end of the table."""
    position = _next_rowid(store, table)
    names = table.column_names
    if rowid is not None:
        assignments = ", ".join(f"{quote_ident(n)} = ?" for n in names)
        store.execute(
            f"UPDATE {table.sqlite_name} SET rowid = ?, {assignments} WHERE rowid = ?",
            [position, *(row[n] for n in names), rowid],
        )
    else:
        columns = ", ".join(["rowid", *map(quote_ident, names)])
        marks = ", ".join("?" for _ in range(len(names) + 1))
        store.execute(
            f"INSERT INTO {table.sqlite_name} ({columns}) VALUES ({marks})",
            [position, *(row[n] for n in names)],
        )
    row["rowid"] = position
    return position


def _check_references(store: Store, catalog: Catalog, table: Table, rows: Sequence[Row]) -> None:
    """End of statement: every written row's foreign keys point at existing rows."""
    for row in rows:
        for key in table.foreign_keys:
            values = [row[c] for c in key.columns]
            if any(v is None for v in values):
                continue
            target = catalog.table(key.ref_schema, key.ref_table)
            assert target is not None
            where = " AND ".join(f"{quote_ident(c)} = ?" for c in key.ref_columns)
            if not store.rows(f"SELECT 1 FROM {target.sqlite_name} WHERE {where} LIMIT 1", values):
                raise RdbError(
                    409,
                    "23503",
                    f'insert or update on table "{table.name}" violates foreign key constraint "{key.name}"',
                    details=(
                        f"Key {_key_text(table, key.columns, row)} is not present in table "
                        f'"{target.name}".'
                    ),
                )


def _identity_always(
    table: Table, columns: Sequence[str], verb: Literal["insert", "update"]
) -> None:
    for name in columns:
        column = table.column(name)
        if column is not None and column.identity == "always":
            message = (
                f'cannot insert a non-DEFAULT value into column "{name}"'
                if verb == "insert"
                else f'column "{name}" can only be updated to DEFAULT'
            )
            raise RdbError(
                400,
                "428C9",
                message,
                details=f'Column "{name}" is an identity column defined as GENERATED ALWAYS.',
                hint="Use OVERRIDING SYSTEM VALUE to override." if verb == "insert" else None,
            )


@attrs.frozen
class InsertResult:
    rows: list[Row]
    inserted: int


def insert_rows(
    store: Store,
    catalog: Catalog,
    table: Table,
    payload: Payload,
    *,
    missing_default: bool = False,
    resolution: Literal["merge-duplicates", "ignore-duplicates"] | None = None,
    conflict_key: UniqueKey | None = None,
    owner: tuple[str, str] | None = None,
) -> InsertResult:
    """``INSERT`` (``ON CONFLICT`` for an upsert); ``owner`` is (column, value) to set on
    every row (``_openid``). Returns the rows written, in order."""
    _identity_always(table, payload.columns, "insert")
    columns = [table.column(name) for name in payload.columns]
    defaulted = {c.name for c in columns if c is not None and missing_default and c.default}
    converted: list[dict[str, Any]] = []
    for values in payload.rows:  # all values are read before any row is written
        converted.append(
            {
                c.name: value if value is MISSING or value is DEFAULT else _convert(c, value)  # type: ignore[union-attr]
                for c, value in zip(columns, values, strict=True)
            }
        )
    written: list[Row] = []
    touched: set[int] = set()
    inserted = 0
    for given in converted:
        row: Row = {}
        for column in table.columns:
            value = given.get(column.name, DEFAULT)
            if column.name in defaulted:
                # missing=default: PostgREST computes the defaults for every row first.
                default = evaluate_default(store, table, column)
                row[column.name] = default if value is MISSING else value
            elif value is DEFAULT:
                row[column.name] = evaluate_default(store, table, column)
            else:
                row[column.name] = None if value is MISSING else value
        if owner is not None and owner[0] in row:
            row[owner[0]] = owner[1]
        _check_not_null(table, row)
        if resolution is not None and conflict_key is not None:
            existing = _conflict(store, table, conflict_key, row, None)
            if existing is not None:
                if resolution == "ignore-duplicates":
                    continue
                if existing in touched:
                    raise RdbError(
                        400,
                        "21000",
                        "ON CONFLICT DO UPDATE command cannot affect row a second time",
                        hint="Ensure that no rows proposed for insertion within the same command have duplicate constrained values.",
                    )
                current = _fetch(store, table, existing)
                for name in payload.columns:
                    current[name] = row[name]
                _check_not_null(table, current)
                _check_unique(store, table, current, exclude=existing)
                touched.add(_store_row(store, table, current, rowid=existing))
                written.append(current)
                continue
        _check_unique(store, table, row, exclude=None)
        touched.add(_store_row(store, table, row))
        written.append(row)
        inserted += 1
    _check_references(store, catalog, table, written)
    return InsertResult(written, inserted)


def _fetch(store: Store, table: Table, rowid: int) -> Row:
    names = ("rowid", *table.column_names)
    values = store.rows(f"SELECT rowid, * FROM {table.sqlite_name} WHERE rowid = ?", (rowid,))[0]
    return dict(zip(names, values, strict=True))


def update_rows(
    store: Store,
    catalog: Catalog,
    table: Table,
    values: dict[str, JsonValue],
    matched: list[Row],
) -> list[Row]:
    """``UPDATE`` the ``matched`` rows (in scan order) with ``values``."""
    _identity_always(table, list(values), "update")
    converted = {name: _convert(table.column(name), value) for name, value in values.items()}  # type: ignore[arg-type]
    written = []
    changed_keys: list[tuple[Row, Row]] = []
    for old in matched:
        new = {**old, **converted}
        _check_not_null(table, new)
        _check_unique(store, table, new, exclude=old["rowid"])
        _store_row(store, table, new, rowid=old["rowid"])
        written.append(new)
        changed_keys.append((old, new))
    changed = [
        new
        for old, new in changed_keys
        if any(old[c] != new[c] for k in table.foreign_keys for c in k.columns)
    ]
    _check_references(store, catalog, table, changed)
    for old, new in changed_keys:
        for other, key in catalog.referencing(table):
            if any(old[c] != new[c] for c in key.ref_columns):
                _still_referenced(store, table, other, key, old)
    return written


def _referencing_rows(store: Store, other: Table, key: ForeignKey, row: Row) -> list[Row]:
    values = [row[c] for c in key.ref_columns]
    if any(v is None for v in values):
        return []
    where = " AND ".join(f"{quote_ident(c)} = ?" for c in key.columns)
    names = ("rowid", *other.column_names)
    found = store.rows(f"{select_sql_plain(other)} WHERE {where} ORDER BY rowid", values)
    return [dict(zip(names, v, strict=True)) for v in found]


def select_sql_plain(table: Table) -> str:
    columns = ", ".join(quote_ident(c) for c in table.column_names)
    return f"SELECT rowid, {columns} FROM {table.sqlite_name}"


def _still_referenced(store: Store, table: Table, other: Table, key: ForeignKey, row: Row) -> None:
    if _referencing_rows(store, other, key, row):
        raise RdbError(
            409,
            "23503",
            f'update or delete on table "{table.name}" violates foreign key constraint '
            f'"{key.name}" on table "{other.name}"',
            details=(
                f"Key {_key_text(table, key.ref_columns, row)} is still referenced from "
                f'table "{other.name}".'
            ),
        )


def delete_rows(store: Store, catalog: Catalog, table: Table, matched: list[Row]) -> list[Row]:
    """``DELETE`` the ``matched`` rows, then apply the foreign keys' ``ON DELETE``."""
    for row in matched:
        store.execute(f"DELETE FROM {table.sqlite_name} WHERE rowid = ?", (row["rowid"],))
    for row in matched:
        for other, key in catalog.referencing(table):
            if key.on_delete in ("no action", "restrict"):
                _still_referenced(store, table, other, key, row)
            elif key.on_delete == "cascade":
                children = _referencing_rows(store, other, key, row)
                if children:
                    delete_rows(store, catalog, other, children)
            else:  # set null
                children = _referencing_rows(store, other, key, row)
                if children:
                    update_rows(store, catalog, other, dict.fromkeys(key.columns), children)
    return matched


def payload_from_body(body: JsonValue, columns: tuple[str, ...] | None) -> Payload | str:
    """The rows of an insert body, or PostgREST's ``PGRST102`` message."""
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(item, JsonObject) for item in items):
        if isinstance(body, list):
            return "All object keys must match"
        return Payload((), ())
    objects: list[JsonObject] = items  # type: ignore[assignment]
    if columns is None:
        first = set(objects[0].keys()) if objects else set()
        if any(set(o.keys()) != first for o in objects[1:]):
            return "All object keys must match"
        names = tuple(sorted(first))
    else:
        names = columns
    rows = tuple(tuple(o.get(n) if n in o else MISSING for n in names) for o in objects)
    return Payload(names, rows)
