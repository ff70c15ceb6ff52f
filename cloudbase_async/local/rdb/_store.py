"""The SQLite database under the engine: tables, sequences, the saved schema.

One SQLite database holds every schema: table ``public.people`` is the SQLite table
``"public.people"``. SQLite's ``rowid`` plays PostgreSQL's physical row order (a heap
scan returns rows as stored, an updated row moving to the end), which is what an
unordered read returns. Unique keys get SQLite unique indexes (for lookups; the engine
checks them itself first, to report the constraint PostgreSQL would). Sequences live
in a side table and, as in PostgreSQL, keep their advance when a statement fails.

The DDL that built the schema is saved with the data, so a database file reopens with
its catalog.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

from ._catalog import Table, UniqueKey, quote_ident
from ._errors import RdbError
from ._types import numeric_collation

__all__ = ["Row", "Store", "like_match", "pg_lower", "sequence_name"]

T = TypeVar("T")
#: A stored row: column name -> stored value, plus ``"rowid"``.
Row: TypeAlias = dict[str, Any]

_META_TABLES: Final = ("_local_ddl", "_local_sequences", "_local_meta")


class LikeEscapeError(Exception):
    """A LIKE pattern ended with the escape character (found while matching)."""


def like_match(text: str, pattern: str) -> bool | None:
    """PostgreSQL's ``MatchText``: ``%``, ``_``, ``\\`` escapes, with its early exits.

    Returns True, False, or None for "abort" (no later start can match either). The
    error for a trailing escape is raised only when matching reaches it, as in
    PostgreSQL (``'abc' LIKE 'x\\'`` is simply false).
    """
    t, p = 0, 0
    while t < len(text) and p < len(pattern):
        c = pattern[p]
        if c == "\\":
            p += 1
            if p >= len(pattern):
                raise LikeEscapeError
            if pattern[p] != text[t]:
                return False
        elif c == "%":
            p += 1
            while p < len(pattern):
                if pattern[p] == "%":
                    p += 1
                elif pattern[p] == "_":
                    if t >= len(text):
                        return None
                    t += 1
                    p += 1
                else:
                    break
            if p >= len(pattern):
                return True
            if pattern[p] == "\\":
                if p + 1 >= len(pattern):
                    raise LikeEscapeError
                first = pattern[p + 1]
            else:
                first = pattern[p]
            while t < len(text):
                if text[t] == first:
                    matched = like_match(text[t:], pattern[p:])
                    if matched is not False:
                        return matched
                t += 1
            return None
        elif c == "_":
            t += 1
            p += 1
            continue
        elif c != text[t]:
            return False
        t += 1
        p += 1
    if t < len(text):
        return False
    while p < len(pattern) and pattern[p] == "%":
        p += 1
    return True if p >= len(pattern) else None


def pg_lower(text: str) -> str:
    """PostgreSQL's ``lower()`` in a UTF-8 database: a simple per-character mapping."""
    out = []
    for c in text:
        lowered = c.lower()
        out.append(lowered if len(lowered) == 1 else ("i" if c == "\u0130" else c))
    return "".join(out)


class Store:
    """The SQLite connection and what the engine keeps in it. Not thread-safe: the
    engine serialises access."""

    def __init__(self, path: Path | None) -> None:
        self.connection = sqlite3.connect(
            ":memory:" if path is None else str(path),
            isolation_level=None,
            check_same_thread=False,
        )
        self.connection.create_collation("pg_numeric", numeric_collation)
        self.connection.create_function("pg_like", 3, self._like, deterministic=True)
        self._udf_error: RdbError | None = None
        if path is not None:
            self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS _local_ddl (id INTEGER PRIMARY KEY, sql TEXT)"
        )
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS _local_sequences (name TEXT PRIMARY KEY, value INTEGER)"
        )
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS _local_meta (key TEXT PRIMARY KEY, value TEXT)"
        )
        self.sequences: dict[str, int] = dict(
            self.connection.execute("SELECT name, value FROM _local_sequences").fetchall()
        )

    def _like(self, value: str | None, pattern: str | None, insensitive: int) -> int | None:
        if value is None or pattern is None:
            return None
        if insensitive:
            value, pattern = pg_lower(value), pg_lower(pattern)
        try:
            return int(like_match(value, pattern) is True)
        except LikeEscapeError:
            self._udf_error = RdbError(
                400, "22025", "LIKE pattern must not end with escape character"
            )
            raise

    # --- queries ------------------------------------------------------------------

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self._guard(lambda: self.connection.execute(sql, tuple(params)).fetchall())

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._guard(lambda: self.connection.execute(sql, tuple(params)))

    def _guard(self, run: Callable[[], T]) -> T:
        """Run a statement; an error raised inside ``pg_like`` comes out as itself."""
        self._udf_error = None
        try:
            return run()
        except sqlite3.OperationalError:
            if self._udf_error is not None:
                raise self._udf_error from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One request: all or nothing, except sequences (never rolled back)."""
        before = dict(self.sequences)
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            if self.sequences != before:
                with self._autocommit():
                    self._save_sequences()
            raise
        else:
            self._save_sequences()
            self.connection.execute("COMMIT")

    @contextmanager
    def _autocommit(self) -> Iterator[None]:
        self.connection.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _save_sequences(self) -> None:
        self.connection.executemany(
            "INSERT INTO _local_sequences (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            list(self.sequences.items()),
        )

    def nextval(self, name: str) -> int:
        value = self.sequences.get(name, 0) + 1
        self.sequences[name] = value
        return value

    # --- rows of one table ------------------------------------------------------------
    # SQL text below is built only from quote_ident()-quoted names and "?" placeholders;
    # every value is a bound parameter (hence the S608 suppressions).

    def find(
        self,
        table: Table,
        columns: Sequence[str],
        values: Sequence[Any],
        exclude: int | None = None,
    ) -> int | None:
        """The rowid of a row whose ``columns`` equal ``values`` (other than ``exclude``)."""
        where = " AND ".join(f"{quote_ident(c)} = ?" for c in columns)
        sql = f"SELECT rowid FROM {table.sqlite_name} WHERE {where}"  # noqa: S608
        params = list(values)
        if exclude is not None:
            sql += " AND rowid <> ?"
            params.append(exclude)
        found = self.rows(sql + " LIMIT 1", params)
        return int(found[0][0]) if found else None

    def where_equal(self, table: Table, columns: Sequence[str], values: Sequence[Any]) -> list[Row]:
        """Every row whose ``columns`` equal ``values``, in physical order."""
        where = " AND ".join(f"{quote_ident(c)} = ?" for c in columns)
        found = self.rows(f"{_select(table)} WHERE {where} ORDER BY rowid", values)
        return [_row(table, values) for values in found]

    def fetch(self, table: Table, rowid: int) -> Row:
        return _row(table, self.rows(f"{_select(table)} WHERE rowid = ?", (rowid,))[0])

    def put(self, table: Table, row: Row, rowid: int | None = None) -> int:
        """Write ``row`` at the end of the table, as a new row or in place of ``rowid``
        (PostgreSQL writes an updated row as a new version: it moves to the end)."""
        last = self.rows(f"SELECT max(rowid) FROM {table.sqlite_name}")[0][0]  # noqa: S608
        position = (last or 0) + 1
        names = table.column_names
        values = [row[n] for n in names]
        if rowid is None:
            columns = ", ".join(["rowid", *map(quote_ident, names)])
            marks = ", ".join("?" * (len(names) + 1))
            sql = f"INSERT INTO {table.sqlite_name} ({columns}) VALUES ({marks})"  # noqa: S608
            self.execute(sql, [position, *values])
        else:
            assignments = ", ".join(f"{quote_ident(n)} = ?" for n in names)
            sql = f"UPDATE {table.sqlite_name} SET rowid = ?, {assignments} WHERE rowid = ?"  # noqa: S608
            self.execute(sql, [position, *values, rowid])
        row["rowid"] = position
        return position

    def remove(self, table: Table, rowid: int) -> None:
        self.execute(f"DELETE FROM {table.sqlite_name} WHERE rowid = ?", (rowid,))  # noqa: S608

    def load(self, table: Table, rows: Sequence[Sequence[Any]]) -> None:
        """Fill a table created for one request (an rpc result) with ``rows``."""
        marks = ", ".join("?" * len(table.columns))
        sql = f"INSERT INTO {table.sqlite_name} VALUES ({marks})"  # noqa: S608
        self._guard(lambda: self.connection.executemany(sql, rows))

    # --- schema ---------------------------------------------------------------------

    def create_table(self, table: Table) -> None:
        columns = ", ".join(f"{quote_ident(c.name)} {c.type.sqlite}" for c in table.columns)
        self.execute(f"CREATE TABLE {table.sqlite_name} ({columns})")
        for key in table.uniques:
            self.add_unique_index(table, key)

    @contextmanager
    def temporary(self, table: Table) -> Iterator[None]:
        """``table`` as a temporary table for the block (an rpc result)."""
        columns = ", ".join(f"{quote_ident(c.name)} {c.type.sqlite}" for c in table.columns)
        self.execute(f"DROP TABLE IF EXISTS temp.{table.sqlite_name}")
        self.execute(f"CREATE TEMP TABLE {table.sqlite_name} ({columns})")
        try:
            yield
        finally:
            self.execute(f"DROP TABLE IF EXISTS temp.{table.sqlite_name}")

    def add_unique_index(self, table: Table, key: UniqueKey) -> None:
        columns = ", ".join(quote_ident(c) for c in key.columns)
        name = quote_ident(f"{table.schema}.{key.name}")
        self.execute(f"CREATE UNIQUE INDEX {name} ON {table.sqlite_name} ({columns})")

    def drop_table(self, table: Table) -> None:
        self.execute(f"DROP TABLE {table.sqlite_name}")
        names = [sequence_name(table, c.name) for c in table.columns if c.sequence]
        for name in names:
            self.sequences.pop(name, None)
        self.connection.executemany(
            "DELETE FROM _local_sequences WHERE name = ?", [(name,) for name in names]
        )

    def saved_ddl(self) -> list[str]:
        return [sql for (sql,) in self.rows("SELECT sql FROM _local_ddl ORDER BY id")]

    def save_ddl(self, sql: str) -> None:
        self.execute("INSERT INTO _local_ddl (sql) VALUES (?)", (sql,))

    def meta(self, key: str) -> str | None:
        found = self.rows("SELECT value FROM _local_meta WHERE key = ?", (key,))
        return found[0][0] if found else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO _local_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def wipe(self) -> None:
        """Drop every table and forget the schema and sequences."""
        names = [
            name
            for (name,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in _META_TABLES and not name.startswith("sqlite_")
        ]
        with self._autocommit():
            for name in names:
                self.execute(f"DROP TABLE {quote_ident(name)}")
            for meta in _META_TABLES:
                self.execute(f"DELETE FROM {meta}")  # noqa: S608 - our own table names
        self.sequences.clear()

    def close(self) -> None:
        self.connection.close()


def sequence_name(table: Table, column: str) -> str:
    return f"{table.qualified}.{column}"


def _select(table: Table) -> str:
    columns = ", ".join(quote_ident(c) for c in table.column_names)
    return f"SELECT rowid, {columns} FROM {table.sqlite_name}"  # noqa: S608


def _row(table: Table, values: Sequence[Any]) -> Row:
    return dict(zip(("rowid", *table.column_names), values, strict=True))
