"""From a parsed query string to a typed plan, failing the way PostgREST does.

PostgREST turns a request into one SQL statement; which error a bad request gets
depends on when each part is checked. This module keeps that order:

1. PostgREST's own planning: relationships for embeds (``PGRST200``), filters and
   orders on resources that are not embedded (``PGRST108``);
2. PostgreSQL's analysis of the statement: embedded subqueries first (they sit in the
   ``FROM`` clause), then the root's columns, its ``WHERE`` (logic trees before plain
   filters) and its ``ORDER BY``: unknown columns (``42703``), operators a type lacks
   (``42883``, ``42804``);
3. binding the parameters, in the order they appear: values that do not parse as the
   column's type (``22P02``...).

Steps 1 and 2 build the plan (:func:`plan_read`); step 3 is :func:`._bind.bind`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import attrs

from ._catalog import Catalog, Column, Relationship, Table
from ._errors import RdbError, undefined_column, unsupported
from ._fuzzy import fuzzy_matches
from ._pgtype import Stored
from ._query import (
    Field,
    Filter,
    In,
    Is,
    IsDistinct,
    LogicExpr,
    Op,
    OrderTerm,
    QueryParams,
    SelectField,
    SelectRelation,
)
from ._types import JsonType, TextType

__all__ = [
    "Cond",
    "Embed",
    "EmbedNull",
    "Group",
    "Level",
    "Node",
    "OrderItem",
    "Output",
    "plan_read",
]

_COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@attrs.frozen
class Cond:
    """One filter on one column. ``texts`` are the raw values; :func:`bind` fills
    ``values`` with them read as the column's type."""

    column: Column
    kind: Literal["cmp", "in", "is", "like", "distinct"]
    op: str = ""
    texts: tuple[str, ...] = ()
    quantifier: Literal["any", "all"] | None = None
    negated: bool = False
    values: tuple[Stored, ...] = ()


@attrs.frozen
class Group:
    op: Literal["and", "or"]
    children: tuple[Node, ...]
    negated: bool = False


@attrs.frozen
class EmbedNull:
    """``teams=is.null``: the embedded resource is (or, negated, is not) empty."""

    key: str
    negated: bool


Node: TypeAlias = Cond | Group | EmbedNull


@attrs.frozen
class Output:
    key: str
    column: Column


@attrs.frozen
class Unknown:
    """A selected name that is no column: an error once the checks reach it."""

    name: str


@attrs.frozen
class OrderItem:
    column: Column
    descending: bool
    nulls_first: bool
    embed: str | None = None  # order by a column of this to-one embed


@attrs.frozen
class Embed:
    key: str
    names: tuple[str, ...]  # what filters may call it: the alias and the relation name
    relationship: Relationship
    inner: bool
    level: Level


@attrs.frozen
class Level:
    table: Table
    alias: str
    items: tuple[Output | Embed | Unknown, ...]
    where: tuple[Node, ...] = ()
    order: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int = 0

    @property
    def embeds(self) -> tuple[Embed, ...]:
        return tuple(item for item in self.items if isinstance(item, Embed))

    def embed(self, name: str) -> Embed | None:
        return next((e for e in self.embeds if name in e.names), None)


# --- relationships ------------------------------------------------------------------


def _matches(rel: Relationship, target: str, hint: str | None) -> bool:
    pairs = rel.join_pairs()
    single = pairs[0] if len(pairs) == 1 else None
    named = (
        rel.target.name == target
        or rel.key.name == target
        or (single is not None and single[0] == target)
    )
    if not named:
        return False
    return hint is None or rel.key.name == hint or (single is not None and hint in single)


def _no_relationship(catalog: Catalog, source: Table, target: str, hint: str | None) -> RdbError:
    related = [r.target.name for r in catalog.relationships(source)]
    if related:
        suggestion = next(
            (name for score, name in fuzzy_matches(target, related) if score < 1.0), None
        )
        replaced = target
    else:
        parents = [t.name for t in catalog.in_schema(source.schema) if catalog.relationships(t)]
        found = fuzzy_matches(source.name, parents)
        suggestion, replaced = (found[0][1] if found else None), source.name
    using = f" using the hint '{hint}'" if hint else ""
    return RdbError(
        400,
        "PGRST200",
        f"Could not find a relationship between '{source.name}' and '{target}' in the schema cache",
        details=(
            f"Searched for a foreign key relationship between '{source.name}' and "
            f"'{target}'{using} in the schema '{source.schema}', but no matches were found."
        ),
        hint=f"Perhaps you meant '{suggestion}' instead of '{replaced}'." if suggestion else None,
    )


def find_relationship(
    catalog: Catalog, source: Table, target: str, hint: str | None
) -> Relationship:
    found = [r for r in catalog.relationships(source) if _matches(r, target, hint)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise unsupported(
            f"ambiguous embedding of '{target}' in '{source.name}' (several foreign keys "
            "match; PostgREST answers 300 PGRST201)"
        )
    if catalog.junctions(source, target):
        raise unsupported(f"many-to-many embedding ('{target}' through a junction table)")
    raise _no_relationship(catalog, source, target, hint)


# --- select -------------------------------------------------------------------------


def _check_field(field: Field, what: str) -> None:
    if field.json_path:
        raise unsupported(f"JSON paths (->, ->>) in {what}", field.name)


def _embed(catalog: Catalog, level_table: Table, item: SelectRelation, depth: int) -> Embed:
    if item.spread:
        raise unsupported("spread embedding (...relation)", item.name)
    if depth > 0:
        raise unsupported("embedding deeper than one level", item.name)
    hint = item.hint
    relationship = find_relationship(catalog, level_table, item.name, hint)
    key = item.alias or item.name
    names = tuple(dict.fromkeys(n for n in (item.alias, item.name) if n))
    target = relationship.target
    child = Level(
        target, f"{target.name}_1", _select_items(catalog, target, item.children, depth + 1)
    )
    return Embed(key, names, relationship, item.join == "inner", child)


def _select_items(
    catalog: Catalog, table: Table, items: Sequence[SelectField | SelectRelation], depth: int
) -> tuple[Output | Embed | Unknown, ...]:
    """Outputs and embeds in select order. Columns are checked later (see module doc),
    so an unknown one is kept as a placeholder ``Column`` with no type."""
    out: list[Output | Embed | Unknown] = []
    if not items:
        items = (SelectField(Field("*")),)
    for item in items:
        if isinstance(item, SelectRelation):
            out.append(_embed(catalog, table, item, depth))
            continue
        if item.aggregate is not None:
            raise RdbError(400, "PGRST123", "Use of aggregate functions is not allowed")
        if item.cast is not None:
            raise unsupported("casts in select (column::type)", item.cast)
        _check_field(item.field, "select")
        if item.field.name == "*":
            out.extend(Output(c.name, c) for c in table.columns)
            continue
        column = table.column(item.field.name)
        if column is None:
            # Reported later, in PostgreSQL's order (see the module docstring).
            out.append(Unknown(item.field.name))
        else:
            out.append(Output(item.alias or item.field.name, column))
    return tuple(out)


# --- filters ------------------------------------------------------------------------


def _operator_error(column: Column, operator: str, right: str = "unknown") -> RdbError:
    return RdbError(
        404,
        "42883",
        f"operator does not exist: {column.type.type_name} {operator} {right}",
        hint="No operator matches the given name and argument types. "
        "You might need to add explicit type casts.",
    )


def _cond(column: Column, flt: Filter) -> Cond:
    operation = flt.operation
    pg_type = column.type
    if isinstance(operation, Is):
        if operation.value != "null" and pg_type.type_name != "boolean":
            raise RdbError(
                400,
                "42804",
                f"argument of IS {operation.value.upper()} must be type boolean, "
                f"not type {pg_type.type_name}",
            )
        return Cond(column, "is", operation.value, negated=flt.negated)
    if isinstance(operation, In):
        if isinstance(pg_type, JsonType):
            if pg_type.binary:
                raise unsupported("comparing jsonb values (in)")
            raise _operator_error(column, "=")
        values = operation.values
        return Cond(column, "in", texts=() if values == ("",) else values, negated=flt.negated)
    if isinstance(operation, IsDistinct):
        if isinstance(pg_type, JsonType):
            raise unsupported("isdistinct on json/jsonb columns")
        return Cond(column, "distinct", texts=(operation.value,), negated=flt.negated)
    assert isinstance(operation, Op)
    name = operation.operator
    if name in ("like", "ilike"):
        if not isinstance(pg_type, TextType):
            raise _operator_error(column, "~~" if name == "like" else "~~*")
        return Cond(column, "like", name, (operation.value,), operation.quantifier, flt.negated)
    if name in _COMPARISONS:
        if isinstance(pg_type, JsonType):
            if pg_type.binary:
                raise unsupported(f"comparing jsonb values ({name})")
            raise _operator_error(column, _COMPARISONS[name])
        return Cond(
            column, "cmp", _COMPARISONS[name], (operation.value,), operation.quantifier, flt.negated
        )
    words = {
        "match": "regular expression matching (match)",
        "imatch": "regular expression matching (imatch)",
        "fts": "full-text search (fts)",
        "plfts": "full-text search (plfts)",
        "phfts": "full-text search (phfts)",
        "wfts": "full-text search (wfts)",
        "cs": "array/range/json containment (cs)",
        "cd": "array/range/json containment (cd)",
        "ov": "array/range overlap (ov)",
        "sl": "range operators (sl)",
        "sr": "range operators (sr)",
        "nxl": "range operators (nxl)",
        "nxr": "range operators (nxr)",
        "adj": "range operators (adj)",
    }
    raise unsupported(words.get(name, f"the operator {name}"))


@attrs.frozen
class _Scope:
    """Names a filter at one level can use: its table's columns and its embeds."""

    level: Level

    def column(self, field: Field) -> Column:
        _check_field(field, "filters")
        table = self.level.table
        column = table.column(field.name)
        if column is None:
            raise undefined_column(self.level.alias, field.name, table.column_names)
        return column


def _filter_node(scope: _Scope, flt: Filter) -> Node:
    embed = scope.level.embed(flt.field.name) if not flt.field.json_path else None
    if embed is not None and scope.level.table.column(flt.field.name) is None:
        if isinstance(flt.operation, Is) and flt.operation.value == "null":
            return EmbedNull(embed.key, flt.negated)
        raise unsupported("filters on an embedded resource other than is.null", flt.field.name)
    return _cond(scope.column(flt.field), flt)


def _logic_node(scope: _Scope, tree: LogicExpr) -> Group:
    children: list[Node] = []
    for child in tree.children:
        if isinstance(child, LogicExpr):
            children.append(_logic_node(scope, child))
        else:
            children.append(_cond(scope.column(child.field), child))
    return Group(tree.operator, tuple(children), tree.negated)


def _order_items(scope: _Scope, terms: Sequence[OrderTerm]) -> tuple[OrderItem, ...]:
    items = []
    for term in terms:
        _check_field(term.field, "order")
        embed_key = None
        level = scope.level
        if term.relation is not None:
            embed = level.embed(term.relation)
            if embed is None:
                raise _not_embedded(term.relation)
            if not embed.relationship.to_one:
                raise unsupported("ordering by a column of a one-to-many embed", term.relation)
            embed_key, level = embed.key, embed.level
        column = _Scope(level).column(term.field)
        if isinstance(column.type, JsonType):
            if column.type.binary:
                raise unsupported("ordering by jsonb columns")
            raise RdbError(
                404,
                "42883",
                "could not identify an ordering operator for type json",
                hint="Use an explicit ordering operator or modify the query.",
            )
        descending = term.direction == "desc"
        nulls_first = term.nulls == "nullsfirst" if term.nulls else descending
        items.append(OrderItem(column, descending, nulls_first, embed_key))
    return tuple(items)


def _not_embedded(name: str) -> RdbError:
    return RdbError(
        400,
        "PGRST108",
        f"'{name}' is not an embedded resource in this request",
        hint=f"Verify that '{name}' is included in the 'select' query parameter.",
    )


def _check_columns(level: Level) -> None:
    for item in level.items:
        if isinstance(item, Unknown):
            raise undefined_column(level.alias, item.name, level.table.column_names)


def _check_paths(root: Level, query: QueryParams) -> None:
    paths = {path for path, *_ in query.limits} | {p for p, _ in query.filters}
    paths |= {p for p, _ in query.logic} | {p for p, _ in query.order}
    for path in sorted(paths, key=len):
        if path and root.embed(path[0]) is None:
            raise _not_embedded(path[0])
        if len(path) > 1:
            raise unsupported("filters, orders or limits on nested embeds", ".".join(path))


def _with_filters(level: Level, query: QueryParams, paths: Sequence[tuple[str, ...]]) -> Level:
    """``level`` with the logic trees, filters, orders and limits addressed to it."""
    scope = _Scope(level)
    where: list[Node] = [_logic_node(scope, t) for p, t in query.logic if p in paths]
    where += [_filter_node(scope, f) for p, f in query.filters if p in paths]
    order = tuple(i for p, terms in query.order if p in paths for i in _order_items(scope, terms))
    limit, offset = None, 0
    for p, lim, off in query.limits:
        if p in paths:
            limit, offset = lim, max(off or 0, 0)
    return attrs.evolve(level, where=tuple(where), order=order, limit=limit, offset=offset)


def plan_read(
    catalog: Catalog,
    table: Table,
    query: QueryParams,
    *,
    root_range: tuple[int, int | None] = (0, None),
    with_filters: bool = True,
) -> Level:
    """The plan of ``query`` on ``table`` (values still unbound).

    ``root_range`` is the (offset, limit) the request asks of the root.
    ``with_filters=False`` plans only the shape (select, embeds and their own filters):
    writes filter the root themselves.
    """
    root = Level(table, table.name, _select_items(catalog, table, query.select, 0))
    _check_paths(root, query)
    items: list[Output | Embed | Unknown] = []
    for item in root.items:
        if isinstance(item, Embed):
            _check_columns(item.level)
            paths = [(name,) for name in item.names]
            item = attrs.evolve(item, level=_with_filters(item.level, query, paths))
        items.append(item)
    root = attrs.evolve(root, items=tuple(items))
    _check_columns(root)
    if not with_filters:
        return root
    root = _with_filters(root, query, [()])
    offset, limit = root_range
    return attrs.evolve(root, offset=offset, limit=limit)
