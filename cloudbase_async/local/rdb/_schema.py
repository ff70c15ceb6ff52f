"""Applying DDL: each statement changes the catalog (pure) and then the SQLite store.

``INSERT ... VALUES`` statements go through the same write path as requests (defaults,
sequences, every constraint), so seed data behaves as PostgreSQL's would.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._catalog import Catalog, Column, Default, Table
from ._errors import RdbError, RdbSchemaError
from ._resolve import resolve_index, resolve_table
from ._statements import (
    CreateIndex,
    CreateSchema,
    CreateTable,
    DropTable,
    Ignored,
    InsertRows,
    RawValue,
    Statement,
)
from ._store import Store
from ._write import DEFAULT, Payload, SqlText, evaluate_default, insert_rows

__all__ = ["apply_statement", "changed_catalog"]


def _drop(catalog: Catalog, statement: DropTable) -> Catalog:
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


def changed_catalog(catalog: Catalog, statement: Statement) -> Catalog:
    """``catalog`` after a schema statement (inserts and ignored ones change nothing)."""
    if isinstance(statement, CreateSchema):
        if statement.name not in catalog.schemas:
            return catalog.with_schema(statement.name)
        if statement.if_not_exists:
            return catalog
        raise RdbSchemaError(f'schema "{statement.name}" already exists')
    if isinstance(statement, CreateTable):
        table = statement.table
        if catalog.table(table.schema, table.name) is not None and statement.if_not_exists:
            return catalog
        return catalog.with_table(resolve_table(table, catalog))
    if isinstance(statement, CreateIndex):
        indexed = resolve_index(statement, catalog)
        return catalog if indexed is None else catalog.with_table(indexed)
    if isinstance(statement, DropTable):
        return _drop(catalog, statement)
    return catalog


def apply_statement(store: Store, catalog: Catalog, statement: Statement, text: str) -> Catalog:
    """Run ``statement`` (its source ``text`` is saved with the data) in ``store``."""
    if isinstance(statement, Ignored):
        return catalog
    if isinstance(statement, InsertRows):
        _insert_values(store, catalog, statement)
        return catalog
    after = changed_catalog(catalog, statement)
    if isinstance(statement, CreateTable):
        created = after.table(statement.table.schema, statement.table.name)
        if created is not None and catalog.table(created.schema, created.name) is None:
            store.create_table(created)
    elif isinstance(statement, CreateIndex) and statement.key is not None:
        indexed = after.table(statement.schema, statement.table)
        assert indexed is not None
        store.add_unique_index(indexed, indexed.uniques[-1])
    elif isinstance(statement, DropTable):
        for schema, name in statement.names:
            dropped = catalog.table(schema, name)
            if dropped is not None:
                store.drop_table(dropped)
    store.save_ddl(text)
    return after


def _insert_values(store: Store, catalog: Catalog, statement: InsertRows) -> None:
    table = catalog.table(statement.schema, statement.table)
    if table is None:
        raise RdbSchemaError(f'relation "{statement.schema}.{statement.table}" does not exist')
    names = statement.columns or table.column_names
    columns = []
    for name in names:
        column = table.column(name)
        if column is None:
            raise RdbSchemaError(f'column "{name}" of relation "{table.name}" does not exist')
        columns.append(column)
    rows = []
    for values in statement.rows:
        if len(values) != len(columns):
            raise RdbSchemaError("INSERT has a different number of expressions and columns")
        rows.append(tuple(_value(store, table, c, v) for c, v in zip(columns, values, strict=True)))
    try:
        insert_rows(store, catalog, table, Payload(tuple(names), tuple(rows)))
    except RdbError as exc:
        detail = f" ({exc.details})" if exc.details else ""
        raise RdbSchemaError(f"{exc.message}{detail}") from None


def _value(store: Store, table: Table, column: Column, raw: RawValue) -> Any:
    """A VALUES item as the write path reads it."""
    if raw.kind == "default":
        return DEFAULT
    if raw.kind == "null":
        return None
    if raw.kind == "text":
        return SqlText(raw.text)
    function = attrs.evolve(column, default=Default(raw.kind))
    return evaluate_default(store, table, function)
