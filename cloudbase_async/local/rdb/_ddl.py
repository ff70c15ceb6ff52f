"""The PostgreSQL-flavoured DDL the engine accepts, parsed into catalog changes.

Supported statements (anything else is refused with :class:`RdbSchemaError` naming it):

* ``CREATE SCHEMA [IF NOT EXISTS] name``
* ``CREATE TABLE [IF NOT EXISTS] [schema.]name (...)`` with column types
  ``smallint integer bigint serial bigserial smallserial text varchar(n)
  character varying(n) boolean numeric[(p[,s])] decimal real double precision date
  timestamp timestamptz uuid json jsonb``; column constraints ``NOT NULL``, ``NULL``,
  ``DEFAULT`` (a constant, ``now()``/``current_timestamp``, ``current_date``,
  ``gen_random_uuid()``), ``PRIMARY KEY``, ``UNIQUE``,
  ``REFERENCES t [(col)] [ON DELETE NO ACTION|RESTRICT|CASCADE|SET NULL]``,
  ``GENERATED {ALWAYS|BY DEFAULT} AS IDENTITY``, ``CONSTRAINT name``; table constraints
  ``PRIMARY KEY (...)``, ``UNIQUE (...)``, ``FOREIGN KEY (...) REFERENCES ...``.
* ``CREATE [UNIQUE] INDEX [name] ON table (columns)`` (a plain index changes nothing)
* ``DROP TABLE [IF EXISTS] name [, ...] [CASCADE]``
* ``INSERT INTO table [(columns)] VALUES (...), ...`` with constants, ``NULL``,
  ``DEFAULT`` and the default functions above
* ``COMMENT ON ...``, ``BEGIN``, ``COMMIT`` are accepted and change nothing.

Constraint names follow PostgreSQL's rules (``people_pkey``, ``people_nick_key``,
``people_team_id_fkey``, truncated to 63 bytes, numbered on a clash) because they
appear in error messages. A little over 500 lines: one parser for one statement
language, each statement a function.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, Literal, TypeAlias, cast

import attrs

from ._catalog import Column, Default, FkAction, ForeignKey, Table, UniqueKey
from ._errors import RdbError, RdbSchemaError
from ._pgtype import PgType
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
from ._types import SERIALS, resolve_type

__all__ = ["parse_script"]

_TOKEN: Final = re.compile(
    r"""(?P<space>\s+|--[^\n]*)
    |(?P<string>'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")*")
    |(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<word>[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*)
    |(?P<op>::|[(),;.\[\]=+\-*<>!/%^|&~])""",
    re.VERBOSE,
)


@attrs.frozen
class Token:
    kind: str
    value: str
    position: int


def _tokens(sql: str) -> Iterator[Token]:
    i = 0
    while i < len(sql):
        if sql.startswith("/*", i):
            depth, j = 1, i + 2
            while depth and j < len(sql):
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise RdbSchemaError("unterminated /* comment */")
            i = j
            continue
        if (sql[i] in "eEuU" and sql[i + 1 : i + 2] in ("'", "&")) or sql[i] == "$":
            raise RdbSchemaError(
                f"escape strings, Unicode strings and dollar quoting are not supported "
                f"(at {sql[i : i + 12]!r})"
            )
        match = _TOKEN.match(sql, i)
        if match is None:
            raise RdbSchemaError(f"unexpected character {sql[i]!r} in the schema")
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            text = match.group()
            if kind == "word":
                text = text.lower()
            elif kind == "quoted":
                text = text[1:-1].replace('""', '"')
            elif kind == "string":
                text = text[1:-1].replace("''", "'")
            yield Token(kind, text, i)
        i = match.end()


_ACTIONS: Final[dict[str, FkAction]] = {
    "no action": "no action",
    "restrict": "restrict",
    "cascade": "cascade",
    "set null": "set null",
}


class _Parser:
    def __init__(self, tokens: list[Token], sql: str) -> None:
        self.tokens = tokens
        self.sql = sql
        self.i = 0

    # -- token helpers
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *words: str) -> bool:
        for k, word in enumerate(words):
            token = self.peek(k)
            if token is None or token.value != word or token.kind not in ("word", "op"):
                return False
        return True

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(f"expected {' '.join(words)!r}")

    def error(self, message: str) -> RdbSchemaError:
        token = self.peek()
        where = repr(self.sql[token.position : token.position + 30]) if token else "the end"
        return RdbSchemaError(f"{message} at {where}")

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of the statement")
        self.i += 1
        return token

    def identifier(self) -> str:
        token = self.next()
        if token.kind not in ("word", "quoted"):
            self.i -= 1
            raise self.error("expected a name")
        return token.value

    def qualified(self) -> tuple[str, str]:
        first = self.identifier()
        if self.accept("."):
            return first, self.identifier()
        return "public", first

    def name_list(self) -> tuple[str, ...]:
        self.expect("(")
        names = [self.identifier()]
        while self.accept(","):
            names.append(self.identifier())
        self.expect(")")
        return tuple(names)

    def unsupported(self, what: str) -> RdbSchemaError:
        return self.error(f"{what} is not supported by the local rdb engine")

    # -- statements
    def statements(self) -> Iterator[tuple[Statement, str]]:
        while self.peek() is not None:
            if self.accept(";"):
                continue
            start = self.peek()
            assert start is not None
            statement = self.statement()
            if self.peek() is not None and not self.accept(";"):
                raise self.error("expected ';'")
            end = self.peek()
            text = self.sql[start.position : end.position if end else len(self.sql)]
            yield (statement if not isinstance(statement, Ignored) else Ignored(text)), text

    def statement(self) -> Statement:
        if self.accept("create", "schema"):
            if_not_exists = self.accept("if", "not", "exists")
            return CreateSchema(self.identifier(), if_not_exists)
        if self.accept("create", "table"):
            return self.create_table()
        if self.at("create", "index") or self.at("create", "unique", "index"):
            return self.create_index()
        if self.accept("drop", "table"):
            return self.drop_table()
        if self.accept("insert", "into"):
            return self.insert()
        if self.at("comment", "on") or self.at("begin") or self.at("commit"):
            while self.peek() is not None and not self.at(";"):
                self.i += 1
            return Ignored("")
        raise self.error("this statement is not supported by the local rdb engine")

    def create_table(self) -> CreateTable:
        if_not_exists = self.accept("if", "not", "exists")
        schema, name = self.qualified()
        self.expect("(")
        spec = _TableSpec(schema, name)
        while True:
            if (
                self.at("constraint")
                or self.at("primary")
                or self.at("unique")
                or self.at("foreign")
                or self.at("check")
                or self.at("exclude")
            ):
                self.table_constraint(spec)
            else:
                self.column(spec)
            if not self.accept(","):
                break
        self.expect(")")
        if self.peek() is not None and not self.at(";"):
            raise self.unsupported("table options after the column list")
        return CreateTable(spec.build(), if_not_exists)  # names resolved by the engine

    def column_type(self) -> tuple[PgType, bool]:
        """The type and whether it is a serial type."""
        words = [self.identifier()]
        if words[0] == "double":
            self.expect("precision")
            words.append("precision")
        elif words[0] == "character":
            if not self.accept("varying"):
                raise self.unsupported("character(n) (blank-padded text)")
            words.append("varying")
        elif words[0] in ("timestamp", "time") and self.at("("):
            raise self.unsupported("a precision on timestamp")
        if words[0] == "timestamp":
            if self.accept("with", "time", "zone"):
                words += ["with", "time", "zone"]
            elif self.accept("without", "time", "zone"):
                words += ["without", "time", "zone"]
        modifiers: list[int] = []
        if self.accept("("):
            while True:
                token = self.next()
                if token.kind != "number" or not token.value.isdigit():
                    raise self.error("expected a type modifier")
                modifiers.append(int(token.value))
                if not self.accept(","):
                    break
            self.expect(")")
        if self.at("[") or self.at("array"):
            raise self.unsupported("array types")
        name = " ".join(words)
        try:
            return resolve_type(name, tuple(modifiers)), name in SERIALS
        except RdbSchemaError as exc:
            raise self.error(str(exc)) from None

    def column(self, spec: _TableSpec) -> None:
        name = self.identifier()
        pg_type, serial = self.column_type()
        column = _ColumnSpec(name, pg_type, serial)
        while self.peek() is not None and not self.at(",") and not self.at(")"):
            constraint_name = self.identifier() if self.accept("constraint") else None
            if self.accept("not", "null"):
                column.not_null = True
            elif self.accept("null"):
                pass
            elif self.accept("default"):
                column.default = self.default_value()
            elif self.accept("primary", "key"):
                spec.keys.append((constraint_name, (name,), True))
            elif self.accept("unique"):
                spec.keys.append((constraint_name, (name,), False))
            elif self.accept("references"):
                spec.fks.append((constraint_name, (name,), *self.references()))
            elif self.accept("generated"):
                column.identity = self.identity()
            elif self.at("check"):
                raise self.unsupported("CHECK constraints")
            elif self.at("collate"):
                raise self.unsupported("COLLATE")
            else:
                raise self.error("unknown column constraint")
        spec.columns.append(column)

    def identity(self) -> Literal["always", "by default"]:
        kind: Literal["always", "by default"]
        if self.accept("always"):
            kind = "always"
        elif self.accept("by", "default"):
            kind = "by default"
        else:
            raise self.error("expected ALWAYS or BY DEFAULT")
        if self.at("as", "("):
            raise self.unsupported("generated columns")
        self.expect("as", "identity")
        if self.at("("):
            raise self.unsupported("identity options")
        return kind

    def references(self) -> tuple[str, str, tuple[str, ...] | None, FkAction]:
        schema, table = self.qualified()
        columns = self.name_list() if self.at("(") else None
        action: FkAction = "no action"
        while self.accept("on"):
            event = self.identifier()
            words = [self.identifier()]
            if words[0] in ("no", "set"):
                words.append(self.identifier())
            text = " ".join(words)
            if event == "delete" and text in _ACTIONS:
                action = _ACTIONS[text]
            elif event == "update" and text in ("no action", "restrict"):
                pass
            else:
                raise self.unsupported(f"ON {event.upper()} {text.upper()}")
        if self.at("match") or self.at("deferrable") or self.at("initially"):
            raise self.unsupported("MATCH/DEFERRABLE on foreign keys")
        return schema, table, columns, action

    def table_constraint(self, spec: _TableSpec) -> None:
        name = self.identifier() if self.accept("constraint") else None
        if self.accept("primary", "key"):
            spec.keys.append((name, self.name_list(), True))
        elif self.accept("unique"):
            spec.keys.append((name, self.name_list(), False))
        elif self.accept("foreign", "key"):
            columns = self.name_list()
            self.expect("references")
            spec.fks.append((name, columns, *self.references()))
        else:
            raise self.unsupported(f"the {self.next().value.upper()} constraint")

    def default_value(self) -> RawValue:
        if self.accept("("):
            inner = self.default_value()
            self.expect(")")
            return inner
        value = self.constant()
        if value is None:
            raise self.unsupported("this DEFAULT expression")
        return value

    def constant(self) -> RawValue | None:
        """A constant or an evaluable function call, with an optional ``::type``."""
        token = self.peek()
        if token is None:
            return None
        value: RawValue
        if token.kind == "string":
            self.i += 1
            value = RawValue("text", token.value)
        elif token.kind == "number" or (token.value in "+-" and token.kind == "op"):
            sign = ""
            if token.kind == "op":
                self.i += 1
                sign = "-" if token.value == "-" else ""
            number = self.next()
            if number.kind != "number":
                raise self.error("expected a number")
            value = RawValue("text", sign + number.value)
        elif self.accept("true") or self.accept("false"):
            value = RawValue("text", self.tokens[self.i - 1].value)
        elif self.accept("null"):
            value = RawValue("null")
        elif self.accept("now", "(", ")") or self.accept("current_timestamp"):
            value = RawValue("now")
        elif self.accept("current_date"):
            value = RawValue("today")
        elif self.accept("gen_random_uuid", "(", ")"):
            value = RawValue("uuid")
        else:
            return None
        if self.accept("::"):
            self.column_type()  # the column's own type decides how the text is read
        return value

    def create_index(self) -> CreateIndex:
        self.expect("create")
        unique = self.accept("unique")
        self.expect("index")
        self.accept("if", "not", "exists")
        name = None if self.at("on") else self.identifier()
        self.expect("on")
        schema, table = self.qualified()
        if self.accept("using") and self.identifier() != "btree":
            raise self.unsupported("index methods other than btree")
        columns = self.name_list()
        if self.peek() is not None and not self.at(";"):
            raise self.unsupported("index options (WHERE, INCLUDE, ...)")
        key = UniqueKey(name or "", columns) if unique else None
        return CreateIndex(schema, table, key)

    def drop_table(self) -> DropTable:
        if_exists = self.accept("if", "exists")
        names = [self.qualified()]
        while self.accept(","):
            names.append(self.qualified())
        cascade = self.accept("cascade")
        if not cascade:
            self.accept("restrict")
        return DropTable(tuple(names), if_exists, cascade)

    def insert(self) -> InsertRows:
        schema, table = self.qualified()
        columns = self.name_list() if self.at("(") else None
        self.expect("values")
        rows = []
        while True:
            self.expect("(")
            row = [self.insert_value()]
            while self.accept(","):
                row.append(self.insert_value())
            self.expect(")")
            rows.append(tuple(row))
            if not self.accept(","):
                break
        if self.peek() is not None and not self.at(";"):
            raise self.unsupported("INSERT ... ON CONFLICT/RETURNING")
        return InsertRows(schema, table, columns, tuple(rows))

    def insert_value(self) -> RawValue:
        if self.accept("default"):
            return RawValue("default")
        value = self.constant()
        if value is None:
            raise self.unsupported("this expression in VALUES")
        return value


@attrs.define
class _ColumnSpec:
    name: str
    type: PgType
    serial: bool
    not_null: bool = False
    default: RawValue | None = None
    identity: Literal["always", "by default"] | None = None


KeySpec: TypeAlias = tuple[str | None, tuple[str, ...], bool]
FkSpec: TypeAlias = tuple[str | None, tuple[str, ...], str, str, tuple[str, ...] | None, FkAction]


@attrs.define
class _TableSpec:
    schema: str
    name: str
    columns: list[_ColumnSpec] = attrs.Factory(list)
    keys: list[KeySpec] = attrs.Factory(list)
    fks: list[FkSpec] = attrs.Factory(list)

    def build(self) -> Table:
        """A table whose keys carry only the names given; :func:`resolve_table` names
        the rest against the catalog."""
        return Table(
            self.schema,
            self.name,
            tuple(
                Column(
                    c.name,
                    c.type,
                    c.not_null,
                    _spec_default(c),
                    c.identity,
                )
                for c in self.columns
            ),
            tuple(UniqueKey(name or "", cols, primary) for name, cols, primary in self.keys),
            tuple(
                ForeignKey(name or "", cols, s, t, ref or (), action)
                for name, cols, s, t, ref, action in self.fks
            ),
        )


def _spec_default(column: _ColumnSpec) -> Default | None:
    if column.serial or column.identity:
        if column.default is not None:
            raise RdbSchemaError(f"column {column.name!r}: a DEFAULT on a serial/identity column")
        return Default("sequence")
    if column.default is None:
        return None
    raw = column.default
    if raw.kind == "text":
        try:
            return Default("value", column.type.coerce(column.type.parse(raw.text)))
        except RdbError as exc:
            raise RdbSchemaError(f"column {column.name!r}: {exc.message}") from None
    if raw.kind == "null":
        return None
    if raw.kind == "now" and column.type.display not in (
        "timestamp with time zone",
        "timestamp without time zone",
        "date",
    ):
        raise RdbSchemaError(f"column {column.name!r}: now() needs a date/timestamp column")
    if raw.kind == "uuid" and column.type.display != "uuid":
        raise RdbSchemaError(f"column {column.name!r}: gen_random_uuid() needs a uuid column")
    return Default(cast(Literal["now", "today", "uuid"], raw.kind))


def parse_script(sql: str) -> list[tuple[Statement, str]]:
    """Every statement of ``sql`` with its text (names are resolved when applied)."""
    return list(_Parser(list(_tokens(sql)), sql).statements())
