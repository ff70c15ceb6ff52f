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
appear in error messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, Literal, TypeAlias

import attrs

from ._catalog import Catalog, Column, Default, FkAction, ForeignKey, Table, UniqueKey
from ._errors import RdbError, RdbSchemaError
from ._pgtype import PgType
from ._types import SERIALS, resolve_type

__all__ = [
    "CreateIndex",
    "CreateSchema",
    "CreateTable",
    "DropTable",
    "Ignored",
    "InsertRows",
    "RawValue",
    "Statement",
    "parse_script",
]

_TOKEN: Final = re.compile(
    r"""(?P<space>\s+|--[^\n]*)
    |(?P<string>'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")*")
    |(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<word>[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*)
    |(?P<op>::|[(),;.\[\]=+\-*])""",
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


# --- statements ---------------------------------------------------------------------


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

_ACTIONS: Final[dict[str, FkAction]] = {
    "no action": "no action",
    "restrict": "restrict",
    "cascade": "cascade",
    "set null": "set null",
}
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
    kind: Literal["now", "today", "uuid"] = raw.kind  # type: ignore[assignment]
    return Default(kind)


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


def parse_script(sql: str) -> list[tuple[Statement, str]]:
    """Every statement of ``sql`` with its text (names are resolved when applied)."""
    return list(_Parser(list(_tokens(sql)), sql).statements())
