"""A parsed query string: select items, filters, logic trees, orders, ranges."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

__all__ = [
    "EmbedPath",
    "Field",
    "Filter",
    "In",
    "Is",
    "IsDistinct",
    "JsonStep",
    "LogicExpr",
    "NoOp",
    "Op",
    "Operation",
    "OrderTerm",
    "QueryParams",
    "SelectField",
    "SelectItem",
    "SelectRelation",
]


@attrs.frozen
class JsonStep:
    """One ``->key`` / ``->>0`` step of a JSON path."""

    arrow: Literal["->", "->>"]
    key: str
    index: bool


@attrs.frozen
class Field:
    name: str
    json_path: tuple[JsonStep, ...] = ()


@attrs.frozen
class SelectField:
    field: Field
    alias: str | None = None
    cast: str | None = None
    aggregate: str | None = None
    aggregate_cast: str | None = None


@attrs.frozen
class SelectRelation:
    name: str
    alias: str | None
    hint: str | None
    join: Literal["left", "inner"] | None
    children: tuple[SelectItem, ...]
    spread: bool = False


SelectItem: TypeAlias = SelectField | SelectRelation


@attrs.frozen
class Op:
    """``eq.x``, ``like(any).{a,b}``, ``fts(english).x``..."""

    operator: str
    value: str
    quantifier: Literal["any", "all"] | None = None
    language: str | None = None


@attrs.frozen
class In:
    values: tuple[str, ...]


@attrs.frozen
class Is:
    value: Literal["null", "unknown", "true", "false"]


@attrs.frozen
class IsDistinct:
    value: str


@attrs.frozen
class NoOp:
    """A GET rpc argument: a value with no operator."""

    value: str


Operation: TypeAlias = Op | In | Is | IsDistinct


@attrs.frozen
class Filter:
    field: Field
    operation: Operation
    negated: bool = False


@attrs.frozen
class LogicExpr:
    operator: Literal["and", "or"]
    children: tuple[Filter | LogicExpr, ...]
    negated: bool = False


@attrs.frozen
class OrderTerm:
    field: Field
    direction: Literal["asc", "desc"] | None
    nulls: Literal["nullsfirst", "nullslast"] | None
    relation: str | None = None


EmbedPath: TypeAlias = tuple[str, ...]


@attrs.frozen
class QueryParams:
    """A parsed query string. Lists keep the query-string order."""

    select: tuple[SelectItem, ...]
    filters: tuple[tuple[EmbedPath, Filter], ...]
    logic: tuple[tuple[EmbedPath, LogicExpr], ...]
    order: tuple[tuple[EmbedPath, tuple[OrderTerm, ...]], ...]
    limits: tuple[tuple[EmbedPath, int | None, int | None], ...]  # (path, limit, offset)
    columns: tuple[str, ...] | None
    on_conflict: tuple[str, ...] | None
    rpc_args: tuple[tuple[str, str], ...]
