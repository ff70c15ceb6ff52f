"""Running a bound plan: the root query, the count, the embeds, and the JSON answer.

The root rows come from one SQLite query; each embed is one more query for all parent
rows at once, grouped by key in Python (a to-many embed's ``limit``/``offset`` apply
per parent, as PostgREST's lateral subquery does). Rows render the way PostgREST's SQL
renders them: a root row is ``row_to_json`` (keys in select order, duplicates kept), an
embedded row went through ``jsonb`` (keys by length then bytes, numbers as ``numeric``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from ._catalog import Column, quote_ident
from ._json import escape_json, jsonb_text
from ._json import loads as json_loads
from ._plan import Embed, Level, Output
from ._sql import Fragment, column_sql, order_sql, where_sql
from ._store import Store
from ._types import NumericType

__all__ = ["Row", "count_rows", "read_rows", "render_rows", "select_sql"]

#: A stored row: column name -> stored value, plus ``"rowid"``.
Row: TypeAlias = dict[str, Any]

_CHUNK = 10_000


def select_sql(level: Level, alias: str) -> str:
    columns = ", ".join(column_sql(alias, c) for c in level.table.columns)
    return f"SELECT {alias}.rowid, {columns} FROM {level.table.sqlite_name} AS {alias}"


def _as_rows(level: Level, raw: Sequence[tuple[Any, ...]]) -> list[Row]:
    names = ("rowid", *level.table.column_names)
    return [dict(zip(names, values, strict=True)) for values in raw]


def read_rows(store: Store, level: Level) -> list[Row]:
    """The root rows of ``level``: filtered, ordered, windowed."""
    query = Fragment(select_sql(level, "t0")) + where_sql(level, "t0") + order_sql(level, "t0")
    window = ""
    if level.limit is not None or level.offset:
        window = f" LIMIT {-1 if level.limit is None else level.limit} OFFSET {level.offset}"
    return _as_rows(level, store.rows(query.sql + window, query.params))


def count_rows(store: Store, level: Level) -> int:
    query = Fragment(f"SELECT count(*) FROM {level.table.sqlite_name} AS t0") + where_sql(
        level, "t0"
    )
    return int(store.rows(query.sql, query.params)[0][0])


def _key_part(column: Column, value: Any) -> Any:
    # numeric keys compare by value ("1.0" = "1.00"), like PostgreSQL's equality.
    return Decimal(value) if isinstance(column.type, NumericType) and value is not None else value


def _fetch_embed(
    store: Store, embed: Embed, parents: list[Row]
) -> dict[tuple[Any, ...], list[Row]]:
    pairs = embed.relationship.join_pairs()
    source_columns = [embed.relationship.source.column(s) for s, _ in pairs]
    target_columns = [embed.level.table.column(t) for _, t in pairs]
    keys = {
        tuple(parent[s] for s, _ in pairs)
        for parent in parents
        if all(parent[s] is not None for s, _ in pairs)
    }
    grouped: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    level = embed.level
    ordered_keys = sorted(keys, key=repr)
    for start in range(0, len(ordered_keys), _CHUNK):
        chunk = ordered_keys[start : start + _CHUNK]
        targets = ", ".join(column_sql("c", c) for c in target_columns if c is not None)
        marks = ", ".join("(" + ", ".join("?" for _ in pairs) + ")" for _ in chunk)
        match = Fragment(f"({targets}) IN (VALUES {marks})", tuple(v for key in chunk for v in key))
        query = (
            Fragment(select_sql(level, "c"))
            + where_sql(level, "c", [match])
            + order_sql(level, "c")
        )
        for row in _as_rows(level, store.rows(query.sql, query.params)):
            key = tuple(
                _key_part(col, row[t])
                for col, (_, t) in zip(target_columns, pairs, strict=True)  # type: ignore[arg-type]
            )
            grouped[key].append(row)
    del source_columns
    return grouped


def _parent_key(embed: Embed, parent: Row) -> tuple[Any, ...]:
    pairs = embed.relationship.join_pairs()
    targets = [embed.level.table.column(t) for _, t in pairs]
    return tuple(_key_part(col, parent[s]) for col, (s, _) in zip(targets, pairs, strict=True))  # type: ignore[arg-type]


def _value_json(column: Column, value: Any) -> str:
    return "null" if value is None else column.type.to_json(value)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{escape_json(k)}:{v}" for k, v in pairs) + "}"


def _embedded(level: Level, rows: list[Row]) -> list[str]:
    """Rows of an embed, each as ``jsonb`` prints it."""
    out = []
    for row in rows:
        pairs = [
            (i.key, _value_json(i.column, row[i.column.name]))
            for i in level.items
            if isinstance(i, Output)
        ]
        out.append(jsonb_text(json_loads(_object(pairs))))
    return out


def render_rows(store: Store, level: Level, rows: list[Row]) -> list[str]:
    """Each root row as the JSON object PostgREST returns, embeds included."""
    embedded: dict[str, dict[tuple[Any, ...], list[Row]]] = {
        e.key: _fetch_embed(store, e, rows) for e in level.embeds
    }
    out = []
    for row in rows:
        pairs = []
        for item in level.items:
            if isinstance(item, Output):
                pairs.append((item.key, _value_json(item.column, row[item.column.name])))
                continue
            children = embedded[item.key].get(_parent_key(item, row), [])
            child = item.level
            stop = None if child.limit is None else child.offset + child.limit
            window = children[child.offset : stop]
            rendered = _embedded(child, window)
            if item.relationship.to_one:
                pairs.append((item.key, rendered[0] if rendered else "null"))
            else:
                pairs.append((item.key, "[" + ", ".join(rendered) + "]"))
        out.append(_object(pairs))
    return out


def quote(name: str) -> str:  # re-exported for the write path
    return quote_ident(name)
