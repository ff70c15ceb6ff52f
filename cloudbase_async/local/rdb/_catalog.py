"""The schema the engine serves: schemas, tables, columns, keys and relationships.

Immutable values: DDL builds a new :class:`Catalog` (``Catalog.with_table`` ...), so a
request always sees one consistent schema. Relationships for embedding are derived
from foreign keys the way PostgREST derives them: many-to-one from the table holding
the key, one-to-many (or one-to-one when the key columns are unique) from the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal, TypeAlias

import attrs

from ._pgtype import PgType, Stored

__all__ = [
    "Catalog",
    "Column",
    "Default",
    "ForeignKey",
    "Relationship",
    "Table",
    "UniqueKey",
]


@attrs.frozen
class Default:
    """A column default: a constant, or one of the few functions the engine evaluates."""

    kind: Literal["value", "now", "today", "uuid", "sequence"]
    value: Stored | None = None


@attrs.frozen
class Column:
    name: str
    type: PgType
    not_null: bool = False
    default: Default | None = None
    identity: Literal["always", "by default"] | None = None

    @property
    def sequence(self) -> bool:
        return self.default is not None and self.default.kind == "sequence"


@attrs.frozen
class UniqueKey:
    name: str
    columns: tuple[str, ...]
    primary: bool = False


FkAction: TypeAlias = Literal["no action", "restrict", "cascade", "set null"]


@attrs.frozen
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: FkAction = "no action"


@attrs.frozen
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    uniques: tuple[UniqueKey, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def sqlite_name(self) -> str:
        """The SQLite table holding the rows (one SQLite database for all schemas)."""
        return quote_ident(f"{self.schema}.{self.name}")

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def require(self, name: str) -> Column:
        """The column ``name``, known to exist (names checked earlier)."""
        column = self.column(name)
        if column is None:
            raise KeyError(name)
        return column

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def primary_key(self) -> UniqueKey | None:
        return next((u for u in self.uniques if u.primary), None)

    def is_unique(self, columns: tuple[str, ...]) -> bool:
        return any(set(u.columns) == set(columns) for u in self.uniques)


@attrs.frozen
class Relationship:
    """One way of embedding ``target`` in rows of ``source``."""

    source: Table
    target: Table
    key: ForeignKey
    #: many-to-one: ``source`` holds the key; one-to-many / one-to-one: ``target`` does.
    cardinality: Literal["m2o", "o2m", "o2o"]

    @property
    def to_one(self) -> bool:
        return self.cardinality != "o2m"

    def join_pairs(self) -> tuple[tuple[str, str], ...]:
        """(source column, target column) pairs equal across the join."""
        pairs = zip(self.key.columns, self.key.ref_columns, strict=True)
        if self.cardinality == "m2o":
            return tuple(pairs)
        return tuple((ref, col) for col, ref in pairs)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@attrs.frozen
class Catalog:
    schemas: tuple[str, ...] = ("public",)
    tables: Mapping[tuple[str, str], Table] = attrs.field(factory=dict)

    def table(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def with_schema(self, name: str) -> Catalog:
        return attrs.evolve(self, schemas=(*self.schemas, name))

    def with_table(self, table: Table) -> Catalog:
        tables = dict(self.tables)
        tables[(table.schema, table.name)] = table
        return attrs.evolve(self, tables=tables)

    def without_table(self, schema: str, name: str) -> Catalog:
        tables = {key: t for key, t in self.tables.items() if key != (schema, name)}
        return attrs.evolve(self, tables=tables)

    def in_schema(self, schema: str) -> Iterator[Table]:
        return (t for (s, _), t in self.tables.items() if s == schema)

    def referencing(self, table: Table) -> Iterator[tuple[Table, ForeignKey]]:
        """Every foreign key, in any table, that points at ``table``."""
        for other in self.tables.values():
            for key in other.foreign_keys:
                if (key.ref_schema, key.ref_table) == (table.schema, table.name):
                    yield other, key

    def relationships(self, source: Table) -> list[Relationship]:
        """Every relationship from ``source`` within its schema, in a stable order."""
        found = [
            Relationship(source, target, key, "m2o")
            for key in source.foreign_keys
            if key.ref_schema == source.schema
            and (target := self.table(key.ref_schema, key.ref_table)) is not None
        ]
        for other, key in self.referencing(source):
            if other.schema == source.schema:
                cardinality: Literal["o2m", "o2o"] = (
                    "o2o" if other.is_unique(key.columns) else "o2m"
                )
                found.append(Relationship(source, other, key, cardinality))
        return found

    def junctions(self, source: Table, target_name: str) -> list[Table]:
        """Tables with foreign keys to both ``source`` and a table named ``target_name``:
        PostgREST would offer a many-to-many relationship through them."""
        out = []
        for junction in self.in_schema(source.schema):
            refs = {(k.ref_schema, k.ref_table) for k in junction.foreign_keys}
            both = {(source.schema, source.name), (source.schema, target_name)} <= refs
            if both and junction.name not in (source.name, target_name):
                out.append(junction)
        return out
