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
from typing import Any, Final

from ._catalog import Column
from ._json import escape_json, jsonb_text, loads as json_loads
from ._plan import Embed, Level, Output
from ._sql import Fragment, column_sql, order_sql, where_sql
from ._store import Row, Store
from ._types import NumericType

__all__ = ["count_rows", "read_rows", "render_rows"]

#: Parent keys per embed query (SQLite allows 32766 parameters).
_CHUNK: Final = 5_000


def _select(level: Level, alias: str) -> Fragment:
    columns = ", ".join(column_sql(alias, c) for c in level.table.columns)
    # Quoted names only: every value is a bound parameter.
    sql = f"SELECT {alias}.rowid, {columns} FROM {level.table.sqlite_name} AS {alias}"  # noqa: S608
    return Fragment(sql)


def _as_rows(level: Level, raw: Sequence[tuple[Any, ...]]) -> list[Row]:
    names = ("rowid", *level.table.column_names)
    return [dict(zip(names, values, strict=True)) for values in raw]


def _window(level: Level) -> str:
    if level.limit is None and not level.offset:
        return ""
    return f" LIMIT {-1 if level.limit is None else level.limit} OFFSET {level.offset}"


def read_rows(store: Store, level: Level) -> list[Row]:
    """The root rows of ``level``: filtered, ordered, windowed."""
    query = _select(level, "t0") + where_sql(level, "t0") + order_sql(level, "t0")
    return _as_rows(level, store.rows(query.sql + _window(level), query.params))


def count_rows(store: Store, level: Level) -> int:
    count = Fragment(f"SELECT count(*) FROM {level.table.sqlite_name} AS t0")  # noqa: S608
    query = count + where_sql(level, "t0")
    return int(store.rows(query.sql, query.params)[0][0])


def _key_part(column: Column | None, value: Any) -> Any:
    # numeric keys compare by value ("1.0" = "1.00"), like PostgreSQL's equality.
    if column is not None and isinstance(column.type, NumericType) and value is not None:
        return Decimal(value)
    return value


def _fetch_embed(
    store: Store, embed: Embed, parents: list[Row]
) -> dict[tuple[Any, ...], list[Row]]:
    """The embedded rows of every parent, filtered and ordered, grouped by join key."""
    pairs = embed.relationship.join_pairs()
    level = embed.level
    targets = [level.table.column(t) for _, t in pairs]
    keys = sorted(
        {tuple(p[s] for s, _ in pairs) for p in parents if all(p[s] is not None for s, _ in pairs)},
        key=repr,
    )
    grouped: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    columns = ", ".join(column_sql("c", c) for c in targets if c is not None)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ", ".join("(" + ", ".join("?" * len(pairs)) + ")" for _ in chunk)
        match = Fragment(f"({columns}) IN (VALUES {marks})", tuple(v for key in chunk for v in key))
        query = _select(level, "c") + where_sql(level, "c", [match]) + order_sql(level, "c")
        for row in _as_rows(level, store.rows(query.sql, query.params)):
            key = tuple(_key_part(c, row[t]) for c, (_, t) in zip(targets, pairs, strict=True))
            grouped[key].append(row)
    return grouped


def _parent_key(embed: Embed, parent: Row) -> tuple[Any, ...]:
    pairs = embed.relationship.join_pairs()
    targets = [embed.level.table.column(t) for _, t in pairs]
    return tuple(_key_part(c, parent[s]) for c, (s, _) in zip(targets, pairs, strict=True))


def _value_json(column: Column, value: Any) -> str:
    return "null" if value is None else column.type.to_json(value)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{escape_json(k)}:{v}" for k, v in pairs) + "}"


def _embedded(level: Level, rows: list[Row]) -> list[str]:
    """Rows of an embed, each as ``jsonb`` prints it."""
    out = []
    for row in rows:
        pairs = [
            (item.key, _value_json(item.column, row[item.column.name]))
            for item in level.items
            if isinstance(item, Output)
        ]
        out.append(jsonb_text(json_loads(_object(pairs))))
    return out


def render_rows(store: Store, level: Level, rows: list[Row]) -> list[str]:
    """Each root row as the JSON object PostgREST returns, embeds included."""
    embedded = {e.key: _fetch_embed(store, e, rows) for e in level.embeds}
    out = []
    for row in rows:
        pairs = []
        for item in level.items:
            if isinstance(item, Output):
                pairs.append((item.key, _value_json(item.column, row[item.column.name])))
            elif isinstance(item, Embed):
                pairs.append((item.key, _embed_json(item, embedded[item.key], row)))
        out.append(_object(pairs))
    return out


def _embed_json(item: Embed, embedded: dict[tuple[Any, ...], list[Row]], row: Row) -> str:
    """The embedded value of one parent row: an object, ``null`` or an array."""
    child = item.level
    stop = None if child.limit is None else child.offset + child.limit
    rendered = _embedded(child, embedded.get(_parent_key(item, row), [])[child.offset : stop])
    if item.relationship.to_one:
        return rendered[0] if rendered else "null"
    return "[" + ", ".join(rendered) + "]"
