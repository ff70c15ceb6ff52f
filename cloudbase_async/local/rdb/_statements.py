"""The statements the DDL parser produces (see :mod:`._ddl` for the accepted subset)."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from ._catalog import Table, UniqueKey

__all__ = [
    "CreateIndex",
    "CreateSchema",
    "CreateTable",
    "DropTable",
    "Ignored",
    "InsertRows",
    "RawValue",
    "Statement",
]


@attrs.frozen
class RawValue:
    """One value of an ``INSERT ... VALUES`` row, before the column type reads it."""

    kind: Literal["text", "null", "default", "now", "today", "uuid"]
    text: str = ""


@attrs.frozen
class CreateSchema:
    name: str
    if_not_exists: bool = False


@attrs.frozen
class CreateTable:
    table: Table
    if_not_exists: bool = False


@attrs.frozen
class CreateIndex:
    schema: str
    table: str
    key: UniqueKey | None  # None: a plain index


@attrs.frozen
class DropTable:
    names: tuple[tuple[str, str], ...]
    if_exists: bool = False
    cascade: bool = False


@attrs.frozen
class InsertRows:
    schema: str
    table: str
    columns: tuple[str, ...] | None
    rows: tuple[tuple[RawValue, ...], ...]


@attrs.frozen
class Ignored:
    """A statement accepted for compatibility that changes nothing (``COMMENT ON``)."""

    text: str


Statement: TypeAlias = CreateSchema | CreateTable | CreateIndex | DropTable | InsertRows | Ignored
