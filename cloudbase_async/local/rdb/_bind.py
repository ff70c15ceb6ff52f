"""Binding a plan's values: each filter value read as its column's type.

PostgREST passes every value as a parameter; PostgreSQL reads the parameters in the
order they appear in the statement (embedded subqueries first), so that is the order
in which a bad value is reported (``22P02``, ``22003``...).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._errors import RdbError, unsupported
from ._plan import Cond, Embed, Group, Level, Node

__all__ = ["bind", "parse_array"]


def _bind_node(node: Node, parse: Callable[[Cond], Cond]) -> Node:
    if isinstance(node, Cond):
        return parse(node)
    if isinstance(node, Group):
        return attrs.evolve(node, children=tuple(_bind_node(c, parse) for c in node.children))
    return node


def bind_cond(cond: Cond) -> Cond:
    """Read ``cond``'s values as its column's type (the ``22P02``... errors)."""
    pg_type = cond.column.type
    if cond.kind == "is":
        return cond
    if cond.kind == "like":
        texts = cond.texts
        if cond.quantifier is not None:
            texts = parse_array(texts[0])
        return attrs.evolve(cond, values=tuple(text.replace("*", "%") for text in texts))
    texts = cond.texts
    if cond.quantifier is not None:
        texts = parse_array(texts[0])
    return attrs.evolve(cond, values=tuple(pg_type.parse(text) for text in texts))


def bind(level: Level) -> Level:
    """Parse every value of ``level`` and its embeds, in PostgreSQL's parameter order
    (embedded subqueries first)."""
    embeds = {
        e.key: attrs.evolve(
            e,
            level=attrs.evolve(
                e.level, where=tuple(_bind_node(n, bind_cond) for n in e.level.where)
            ),
        )
        for e in level.embeds
    }
    items = tuple(embeds.get(i.key, i) if isinstance(i, Embed) else i for i in level.items)
    where = tuple(_bind_node(n, bind_cond) for n in level.where)
    return attrs.evolve(level, items=items, where=where)


def parse_array(text: str) -> tuple[str, ...]:
    """A one-dimensional PostgreSQL array literal, as text elements (``array_in``)."""
    stripped = text.strip(" \t\n\r\f\v")
    if not stripped.startswith("{"):
        raise RdbError(
            400,
            "22P02",
            f'malformed array literal: "{text}"',
            details='Array value must start with "{" or dimension information.',
        )
    body, i, items = stripped, 1, []
    if body[1:].strip() == "}":
        return ()
    while True:
        while i < len(body) and body[i] in " \t\n\r\f\v":
            i += 1
        if i < len(body) and body[i] == '"':
            i += 1
            out = []
            while i < len(body) and body[i] != '"':
                if body[i] == "\\" and i + 1 < len(body):
                    i += 1
                out.append(body[i])
                i += 1
            if i >= len(body):
                raise unsupported("this malformed array literal", text)
            i += 1
            value: str | None = "".join(out)
        else:
            start = i
            while i < len(body) and body[i] not in ",}":
                if body[i] in '{"\\':
                    raise unsupported("nested or escaped array literals", text)
                i += 1
            raw = body[start:i].strip(" \t\n\r\f\v")
            if not raw:
                raise unsupported("this malformed array literal", text)
            value = None if raw.upper() == "NULL" else raw
        if value is None:
            raise unsupported("NULL elements in array literals", text)
        items.append(value)
        while i < len(body) and body[i] in " \t\n\r\f\v":
            i += 1
        if i < len(body) and body[i] == ",":
            i += 1
            continue
        if i < len(body) and body[i] == "}" and not body[i + 1 :].strip():
            return tuple(items)
        raise unsupported("this malformed array literal", text)
