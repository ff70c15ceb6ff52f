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
from typing import Any, Final, Literal, cast

import attrs

from ._catalog import Catalog, Column, ForeignKey, Table, UniqueKey
from ._datetime import now_text, today_text
from ._errors import RdbError
from ._json import JsonObject, JsonValue
from ._store import Row, Store, sequence_name

__all__ = [
    "DEFAULT",
    "MISSING",
    "InsertResult",
    "Payload",
    "SqlText",
    "delete_rows",
    "evaluate_default",
    "failing_row",
    "insert_rows",
    "payload_from_body",
    "update_rows",
]

#: ExecBuildSlotValueDescription cuts each value at 64 bytes (and adds "...").
_MAX_FIELD: Final = 64
#: A key the body lacks (``columns=`` names it): NULL, or the default with missing=default.
MISSING: Any = object()
#: ``DEFAULT`` in ``INSERT ... VALUES``.
DEFAULT: Any = object()


@attrs.frozen
class Payload:
    """Rows to write: the columns named and, per row, their values (JSON values, or
    ``MISSING``/``DEFAULT``/:class:`SqlText`)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


class SqlText(str):
    """A constant from SQL (``INSERT ... VALUES``): read by the type's input function,
    so ``'null'`` is JSON null in a json column, not SQL NULL."""

    __slots__ = ()


@attrs.frozen
class InsertResult:
    rows: list[Row]
    inserted: int  # rows inserted (not merged into existing ones)


# --- PostgreSQL's words -------------------------------------------------------------


def _clip(text: str) -> str:
    encoded = text.encode()
    if len(encoded) <= _MAX_FIELD:
        return text
    return encoded[:_MAX_FIELD].decode("utf-8", "ignore") + "..."


def _text(column: Column | None, value: Any) -> str:
    return "null" if value is None or column is None else column.type.to_text(value)


def failing_row(table: Table, row: Row) -> str:
    values = ", ".join(_clip(_text(c, row[c.name])) for c in table.columns)
    return f"Failing row contains ({values})."


def _key_text(table: Table, columns: Sequence[str], row: Row) -> str:
    values = ", ".join(_text(table.column(c), row[c]) for c in columns)
    return f"({', '.join(columns)})=({values})"


def _not_null(table: Table, row: Row) -> None:
    for column in table.columns:
        if column.not_null and row[column.name] is None:
            raise RdbError(
                400,
                "23502",
                f'null value in column "{column.name}" of relation "{table.name}" '
                "violates not-null constraint",
                details=failing_row(table, row),
            )


def _unique(store: Store, table: Table, row: Row, exclude: int | None) -> None:
    # PostgreSQL builds the primary key's index first, then the others as declared.
    for key in sorted(table.uniques, key=lambda u: not u.primary):
        if _clash(store, table, key, row, exclude) is not None:
            raise RdbError(
                409,
                "23505",
                f'duplicate key value violates unique constraint "{key.name}"',
                details=f"Key {_key_text(table, key.columns, row)} already exists.",
            )


def _clash(store: Store, table: Table, key: UniqueKey, row: Row, exclude: int | None) -> int | None:
    values = [row[c] for c in key.columns]
    if any(v is None for v in values):
        return None  # NULLs are never equal
    return store.find(table, key.columns, values, exclude)


def _references(store: Store, catalog: Catalog, table: Table, rows: Sequence[Row]) -> None:
    """End of statement: every written row's foreign keys point at existing rows."""
    for row in rows:
        for key in table.foreign_keys:
            values = [row[c] for c in key.columns]
            if any(v is None for v in values):
                continue  # MATCH SIMPLE: a NULL in the key means no check
            target = catalog.table(key.ref_schema, key.ref_table)
            assert target is not None
            if store.find(target, key.ref_columns, values) is None:
                raise RdbError(
                    409,
                    "23503",
                    f'insert or update on table "{table.name}" violates foreign key '
                    f'constraint "{key.name}"',
                    details=(
                        f"Key {_key_text(table, key.columns, row)} is not present in table "
                        f'"{target.name}".'
                    ),
                )


def _still_referenced(store: Store, table: Table, other: Table, key: ForeignKey, row: Row) -> None:
    if _referencing(store, other, key, row):
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


def _referencing(store: Store, other: Table, key: ForeignKey, row: Row) -> list[Row]:
    values = [row[c] for c in key.ref_columns]
    if any(v is None for v in values):
        return []
    return store.where_equal(other, key.columns, values)


def _identity_always(
    table: Table, columns: Sequence[str], verb: Literal["insert", "update"]
) -> None:
    for name in columns:
        column = table.column(name)
        if column is None or column.identity != "always":
            continue
        if verb == "insert":
            message = f'cannot insert a non-DEFAULT value into column "{name}"'
        else:
            message = f'column "{name}" can only be updated to DEFAULT'
        raise RdbError(
            400,
            "428C9",
            message,
            details=f'Column "{name}" is an identity column defined as GENERATED ALWAYS.',
            hint="Use OVERRIDING SYSTEM VALUE to override." if verb == "insert" else None,
        )


# --- values -------------------------------------------------------------------------


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
    return column.type.parse(today_text() if default.kind == "today" else now_text())


def _convert(column: Column, value: Any) -> Any:
    """A body value (or SQL constant) as the column stores it, modifiers applied."""
    if value is MISSING or value is DEFAULT:
        return value
    if isinstance(value, SqlText):
        return column.type.coerce(column.type.parse(str(value)))
    stored = column.type.from_json(value)
    return None if stored is None else column.type.coerce(stored)


def payload_from_body(body: JsonValue, columns: tuple[str, ...] | None) -> Payload | str:
    """The rows of an insert body, or PostgREST's ``PGRST102`` message.

    Without ``columns=`` the keys come from the body (sorted, as PostgREST keeps them
    in a set) and every object must have the same ones.
    """
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(item, JsonObject) for item in items):
        # PostgREST inserts nothing for a lone scalar body.
        return "All object keys must match" if isinstance(body, list) else Payload((), ())
    objects = cast(list[JsonObject], items)
    if columns is None:
        first = set(objects[0].keys()) if objects else set()
        if any(set(o.keys()) != first for o in objects[1:]):
            return "All object keys must match"
        columns = tuple(sorted(first))
    rows = tuple(tuple(o.get(n) if n in o else MISSING for n in columns) for o in objects)
    return Payload(columns, rows)


# --- statements ---------------------------------------------------------------------


def _new_row(store: Store, table: Table, given: dict[str, Any], defaulted: set[str]) -> Row:
    row: Row = {}
    for column in table.columns:
        value = given.get(column.name, DEFAULT)
        if column.name in defaulted:
            # missing=default: PostgREST computes the defaults of every row first.
            default = evaluate_default(store, table, column)
            row[column.name] = default if value is MISSING else value
        elif value is DEFAULT:
            row[column.name] = evaluate_default(store, table, column)
        else:
            row[column.name] = None if value is MISSING else value
    return row


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
    """``INSERT`` (``ON CONFLICT`` on ``conflict_key`` for an upsert). ``owner`` is a
    (column, value) set on every row (``_openid``). Returns the rows written, in order."""
    _identity_always(table, payload.columns, "insert")
    columns = [table.require(name) for name in payload.columns]
    defaulted = {c.name for c in columns if missing_default and c.default is not None}
    # Every value is read before any row is written, as json_to_recordset does.
    converted = [
        {c.name: _convert(c, value) for c, value in zip(columns, values, strict=True)}
        for values in payload.rows
    ]
    written: list[Row] = []
    touched: set[int] = set()
    inserted = 0
    for given in converted:
        row = _new_row(store, table, given, defaulted)
        if owner is not None and owner[0] in row:
            row[owner[0]] = owner[1]
        _not_null(table, row)
        existing = None
        if resolution is not None and conflict_key is not None:
            existing = _clash(store, table, conflict_key, row, None)
        if existing is None:
            _unique(store, table, row, exclude=None)
            touched.add(store.put(table, row))
            written.append(row)
            inserted += 1
        elif resolution == "merge-duplicates":
            if existing in touched:
                raise RdbError(
                    400,
                    "21000",
                    "ON CONFLICT DO UPDATE command cannot affect row a second time",
                    hint="Ensure that no rows proposed for insertion within the same command "
                    "have duplicate constrained values.",
                )
            current = store.fetch(table, existing)
            current.update({name: row[name] for name in payload.columns})
            _not_null(table, current)
            _unique(store, table, current, exclude=existing)
            touched.add(store.put(table, current, rowid=existing))
            written.append(current)
    _references(store, catalog, table, written)
    return InsertResult(written, inserted)


def update_rows(
    store: Store, catalog: Catalog, table: Table, values: dict[str, JsonValue], matched: list[Row]
) -> list[Row]:
    """``UPDATE`` the ``matched`` rows (in scan order) with ``values``."""
    _identity_always(table, list(values), "update")
    converted = {name: _convert(table.require(name), value) for name, value in values.items()}
    pairs: list[tuple[Row, Row]] = []
    for old in matched:
        new = {**old, **converted}
        _not_null(table, new)
        _unique(store, table, new, exclude=old["rowid"])
        store.put(table, new, rowid=old["rowid"])
        pairs.append((old, new))
    # Foreign keys are checked only where their columns changed (as PostgreSQL's RI
    # triggers skip unchanged keys), then whether a changed key is still referenced.
    moved = [
        new
        for old, new in pairs
        if any(old[c] != new[c] for k in table.foreign_keys for c in k.columns)
    ]
    _references(store, catalog, table, moved)
    for old, new in pairs:
        for other, key in catalog.referencing(table):
            if any(old[c] != new[c] for c in key.ref_columns):
                _still_referenced(store, table, other, key, old)
    return [new for _, new in pairs]


def delete_rows(store: Store, catalog: Catalog, table: Table, matched: list[Row]) -> list[Row]:
    """``DELETE`` the ``matched`` rows, then apply the foreign keys' ``ON DELETE``."""
    for row in matched:
        store.remove(table, row["rowid"])
    for row in matched:
        for other, key in catalog.referencing(table):
            if key.on_delete in ("no action", "restrict"):
                _still_referenced(store, table, other, key, row)
                continue
            children = _referencing(store, other, key, row)
            if not children:
                continue
            if key.on_delete == "cascade":
                delete_rows(store, catalog, other, children)
            else:  # set null
                update_rows(store, catalog, other, dict.fromkeys(key.columns), children)
    return matched
