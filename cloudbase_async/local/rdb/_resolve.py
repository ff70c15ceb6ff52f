"""Checking a parsed ``CREATE TABLE``/``CREATE INDEX`` against the catalog, and naming
constraints the way PostgreSQL does (the names appear in error messages).

PostgreSQL names a primary key ``{table}_pkey``, a unique key ``{table}_{cols}_key``, a
foreign key ``{table}_{cols}_fkey``, an unnamed unique index ``{table}_{cols}_idx``;
names are cut to 63 bytes (the longer part first) and numbered on a clash.
"""

from __future__ import annotations

from typing import Final

import attrs

from ._catalog import Catalog, ForeignKey, Table
from ._errors import RdbSchemaError
from ._statements import CreateIndex

__all__ = ["choose_name", "make_object_name", "resolve_index", "resolve_table"]

_NAMEDATALEN: Final = 64


def _clip(name: str, limit: int) -> str:
    encoded = name.encode()[:limit]
    return encoded.decode("utf-8", "ignore")


def make_object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's ``makeObjectName``: the longer part is cut first to fit 63 bytes."""
    len1 = len(name1.encode())
    len2 = len(name2.encode()) if name2 is not None else 0
    overhead = (1 if name2 is not None else 0) + len(label.encode()) + 1
    available = _NAMEDATALEN - 1 - overhead
    while len1 + len2 > available:
        if len1 > len2:
            len1 -= 1
        else:
            len2 -= 1
    parts = [_clip(name1, len1)]
    if name2 is not None:
        parts.append(_clip(name2, len2))
    return "_".join([*parts, label])


def _column_addition(columns: tuple[str, ...]) -> str:
    out = ""
    for name in columns:
        out = f"{out}_{name}" if out else name
        if len(out.encode()) >= _NAMEDATALEN:
            break
    return _clip(out, _NAMEDATALEN - 1)


def choose_name(name1: str, name2: str | None, label: str, taken: set[str]) -> str:
    """``ChooseRelationName``/``ChooseConstraintName``: number the label on a clash."""
    candidate, attempt = make_object_name(name1, name2, label), 0
    while candidate in taken:
        attempt += 1
        candidate = make_object_name(name1, name2, f"{label}{attempt}")
    taken.add(candidate)
    return candidate


def names_in_schema(catalog: Catalog, schema: str) -> set[str]:
    """Relation and constraint names PostgreSQL would see as taken in ``schema``."""
    taken: set[str] = set()
    for table in catalog.in_schema(schema):
        taken.add(table.name)
        taken.update(u.name for u in table.uniques)
        taken.update(k.name for k in table.foreign_keys)
        taken.update(f"{table.name}_{c.name}_seq" for c in table.columns if c.sequence)
    return taken


def resolve_table(table: Table, catalog: Catalog) -> Table:
    """Check ``table`` against ``catalog`` and name its constraints as PostgreSQL would."""
    if table.schema not in catalog.schemas:
        raise RdbSchemaError(f'schema "{table.schema}" does not exist')
    names = [c.name for c in table.columns]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RdbSchemaError(f'column "{sorted(duplicates)[0]}" specified more than once')
    primaries = [u for u in table.uniques if u.primary]
    if len(primaries) > 1:
        raise RdbSchemaError(f'multiple primary keys for table "{table.name}" are not allowed')
    taken = names_in_schema(catalog, table.schema)
    if table.name in taken:
        raise RdbSchemaError(f'relation "{table.name}" already exists')
    taken.add(table.name)
    taken.update(f"{table.name}_{c.name}_seq" for c in table.columns if c.sequence)
    key_columns = [c for u in table.uniques for c in u.columns]
    key_columns += [c for k in table.foreign_keys for c in k.columns]
    for column in key_columns:
        if column not in names:
            raise RdbSchemaError(f'column "{column}" named in key does not exist')
    pk_columns = set(primaries[0].columns) if primaries else set()
    columns = tuple(
        attrs.evolve(c, not_null=True) if c.name in pk_columns or c.identity else c
        for c in table.columns
    )
    uniques = []
    for key in table.uniques:
        name = key.name or choose_name(
            table.name,
            None if key.primary else _column_addition(key.columns),
            "pkey" if key.primary else "key",
            taken,
        )
        taken.add(name)
        uniques.append(attrs.evolve(key, name=name))
    resolved = attrs.evolve(table, columns=columns, uniques=tuple(uniques))
    foreign_keys = tuple(
        _resolve_foreign_key(fk, resolved, catalog, taken) for fk in table.foreign_keys
    )
    return attrs.evolve(resolved, foreign_keys=foreign_keys)


def _resolve_foreign_key(
    fk: ForeignKey, table: Table, catalog: Catalog, taken: set[str]
) -> ForeignKey:
    """``fk`` of ``table`` with its referenced columns and name filled in."""
    own = (fk.ref_schema, fk.ref_table) == (table.schema, table.name)
    target = table if own else catalog.table(fk.ref_schema, fk.ref_table)
    if target is None:
        raise RdbSchemaError(f'relation "{fk.ref_table}" does not exist')
    ref_columns = fk.ref_columns
    if not ref_columns:
        if target.primary_key is None:
            raise RdbSchemaError(f'there is no primary key for referenced table "{target.name}"')
        ref_columns = target.primary_key.columns
    if len(ref_columns) != len(fk.columns):
        raise RdbSchemaError(
            "number of referencing and referenced columns for foreign key disagree"
        )
    if not target.is_unique(ref_columns):
        raise RdbSchemaError(
            "there is no unique constraint matching given keys for referenced table "
            f'"{target.name}"'
        )
    name = fk.name or choose_name(table.name, _column_addition(fk.columns), "fkey", taken)
    taken.add(name)
    return attrs.evolve(fk, name=name, ref_columns=ref_columns)


def resolve_index(statement: CreateIndex, catalog: Catalog) -> Table | None:
    """The table with the index's unique key added (``None`` for a plain index)."""
    table = catalog.table(statement.schema, statement.table)
    if table is None:
        raise RdbSchemaError(f'relation "{statement.table}" does not exist')
    for column in statement.key.columns if statement.key else ():
        if table.column(column) is None:
            raise RdbSchemaError(f'column "{column}" does not exist')
    if statement.key is None:
        return None
    taken = names_in_schema(catalog, table.schema)
    name = statement.key.name or choose_name(
        table.name, _column_addition(statement.key.columns), "idx", taken
    )
    if name in taken and statement.key.name:
        raise RdbSchemaError(f'relation "{name}" already exists')
    return attrs.evolve(table, uniques=(*table.uniques, attrs.evolve(statement.key, name=name)))
