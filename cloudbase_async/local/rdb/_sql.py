"""SQLite text for a bound plan: conditions, orderings, the subqueries of embeds.

Every value is a parameter. Orderings always say ``NULLS FIRST``/``NULLS LAST`` (SQLite
sorts NULLs first by default, PostgreSQL last for ascending) and end with the rowid,
PostgreSQL's physical order, for rows equal on every key. ``LIKE``/``ILIKE`` go through
the ``pg_like`` function (SQLite's own ``LIKE`` ignores ASCII case).
"""

from __future__ import annotations

from typing import Any

import attrs

from ._catalog import Column, Relationship, quote_ident
from ._plan import Cond, Embed, EmbedNull, Level, Node, OrderItem

__all__ = ["Fragment", "column_sql", "embed_exists", "join_condition", "order_sql", "where_sql"]


@attrs.frozen
class Fragment:
    sql: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Fragment) -> Fragment:
        return Fragment(self.sql + other.sql, self.params + other.params)


def column_sql(alias: str, column: Column) -> str:
    return f"{alias}.{quote_ident(column.name)}"


def _joined(op: str, parts: list[Fragment]) -> Fragment:
    sql = f" {op} ".join(f"({p.sql})" for p in parts)
    return Fragment(sql, tuple(v for p in parts for v in p.params))


def _cond_sql(cond: Cond, alias: str) -> Fragment:
    col = column_sql(alias, cond.column)
    if cond.kind == "is":
        test = {"null": "IS NULL", "unknown": "IS NULL", "true": "IS TRUE", "false": "IS FALSE"}
        fragment = Fragment(f"{col} {test[cond.op]}")
    elif cond.kind == "in":
        if not cond.values:
            fragment = Fragment("0")
        else:
            marks = ", ".join("?" for _ in cond.values)
            fragment = Fragment(f"{col} IN ({marks})", cond.values)
    elif cond.kind == "distinct":
        fragment = Fragment(f"{col} IS NOT ?", cond.values)
    else:
        if cond.kind == "like":
            flag = 1 if cond.op == "ilike" else 0
            parts = [Fragment(f"pg_like({col}, ?, {flag})", (v,)) for v in cond.values]
        else:
            parts = [Fragment(f"{col} {cond.op} ?", (v,)) for v in cond.values]
        if cond.quantifier is None:
            fragment = parts[0]
        elif not parts:
            fragment = Fragment("1" if cond.quantifier == "all" else "0")
        else:
            fragment = _joined("OR" if cond.quantifier == "any" else "AND", parts)
    if cond.negated:
        return Fragment(f"NOT ({fragment.sql})", fragment.params)
    return fragment


def node_sql(node: Node, alias: str, level: Level) -> Fragment:
    if isinstance(node, Cond):
        return _cond_sql(node, alias)
    if isinstance(node, EmbedNull):
        embed = level.embed(node.key)
        assert embed is not None
        exists = embed_exists(embed, alias)
        # is.null: no embedded row; not.is.null: one at least.
        return Fragment(("" if node.negated else "NOT ") + exists.sql, exists.params)
    parts = [node_sql(child, alias, level) for child in node.children]
    fragment = _joined("AND" if node.op == "and" else "OR", parts)
    if node.negated:
        return Fragment(f"NOT ({fragment.sql})", fragment.params)
    return fragment


def where_sql(level: Level, alias: str, extra: list[Fragment] | None = None) -> Fragment:
    """``WHERE ...`` for ``level`` (its filters, then inner embeds), or nothing."""
    parts = [node_sql(node, alias, level) for node in level.where]
    parts += [embed_exists(e, alias) for e in level.embeds if e.inner]
    parts += extra or []
    if not parts:
        return Fragment("")
    return Fragment(" WHERE ") + _joined("AND", parts)


def join_condition(relationship: Relationship, parent: str, child: str) -> str:
    return " AND ".join(
        f"{child}.{quote_ident(target)} = {parent}.{quote_ident(source)}"
        for source, target in relationship.join_pairs()
    )


def _window(level: Level) -> str:
    if level.limit is None and not level.offset:
        return ""
    return f" LIMIT {-1 if level.limit is None else level.limit} OFFSET {level.offset}"


def embed_exists(embed: Embed, parent: str) -> Fragment:
    """``EXISTS (...)``: the embed has a row for the parent row (``!inner``)."""
    child = _child_alias(parent)
    level = embed.level
    where = where_sql(level, child, [Fragment(join_condition(embed.relationship, parent, child))])
    order = order_sql(level, child) if _window(level) else Fragment("")
    sql = f"EXISTS (SELECT 1 FROM {level.table.sqlite_name} AS {child}"  # noqa: S608
    return Fragment(sql) + where + order + Fragment(_window(level) + ")")


def _child_alias(parent: str) -> str:
    return f"{parent}_e"


def _embed_value(embed: Embed, item: OrderItem, parent: str) -> Fragment:
    child = _child_alias(parent)
    level = embed.level
    where = where_sql(level, child, [Fragment(join_condition(embed.relationship, parent, child))])
    order = order_sql(level, child) if _window(level) else Fragment("")
    head = f"(SELECT {column_sql(child, item.column)} FROM {level.table.sqlite_name} AS {child}"  # noqa: S608
    window = _window(level) or " LIMIT 1"
    return Fragment(head) + where + order + Fragment(window + ")")


def order_sql(level: Level, alias: str) -> Fragment:
    """``ORDER BY`` the level's terms, then physical order."""
    parts: list[Fragment] = []
    for item in level.order:
        if item.embed is not None:
            embed = level.embed(item.embed)
            assert embed is not None
            target = _embed_value(embed, item, alias)
        else:
            target = Fragment(column_sql(alias, item.column))
        direction = "DESC" if item.descending else "ASC"
        nulls = "NULLS FIRST" if item.nulls_first else "NULLS LAST"
        parts.append(target + Fragment(f" {direction} {nulls}"))
    parts.append(Fragment(f"{alias}.rowid"))
    sql = ", ".join(p.sql for p in parts)
    return Fragment(f" ORDER BY {sql}", tuple(v for p in parts for v in p.params))
