"""The DDL subset: what parses, how constraints are named, what is refused."""

from __future__ import annotations

import pytest

from cloudbase_async.local.rdb import RdbEngine, RdbSchemaError
from cloudbase_async.local.rdb._catalog import Catalog
from cloudbase_async.local.rdb._ddl import parse_script
from cloudbase_async.local.rdb._resolve import make_object_name, resolve_table
from cloudbase_async.local.rdb._schema import changed_catalog
from cloudbase_async.local.rdb._statements import CreateTable


def _catalog(sql: str) -> Catalog:
    catalog = Catalog()
    for statement, _ in parse_script(sql):
        catalog = changed_catalog(catalog, statement)
    return catalog


def test_tables_keys_and_postgresql_names() -> None:
    catalog = _catalog(
        """
        -- a comment; /* and /* nested */ ones */
        CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
        CREATE TABLE "People" (
            id bigint GENERATED ALWAYS AS IDENTITY,
            team_id integer REFERENCES teams ON DELETE CASCADE,
            a int, b int,
            CONSTRAINT people_pk PRIMARY KEY (id),
            UNIQUE (a, b)
        );
        CREATE UNIQUE INDEX ON "People" (b);
        """
    )
    teams = catalog.table("public", "teams")
    people = catalog.table("public", "People")
    assert teams is not None
    assert people is not None
    assert [u.name for u in teams.uniques] == ["teams_pkey", "teams_name_key"]
    assert [u.name for u in people.uniques] == ["people_pk", "People_a_b_key", "People_b_idx"]
    (fk,) = people.foreign_keys
    assert (fk.name, fk.ref_columns, fk.on_delete) == ("People_team_id_fkey", ("id",), "cascade")
    identity = people.column("id")
    assert identity is not None
    assert (identity.identity, identity.not_null, identity.sequence) == ("always", True, True)


def test_long_names_are_cut_like_postgresql() -> None:
    name = make_object_name("t" * 40, "c" * 40, "key")
    assert len(name.encode()) == 63
    assert name == "t" * 29 + "_" + "c" * 29 + "_key"


def test_clashing_names_are_numbered() -> None:
    # A unique key's index is a relation: its name must not be any table's.
    catalog = _catalog("CREATE TABLE t_a_key (x int); CREATE TABLE t (a int UNIQUE);")
    table = catalog.table("public", "t")
    assert table is not None
    assert table.uniques[0].name == "t_a_key1"
    with pytest.raises(RdbSchemaError, match='relation "t_a_key" already exists'):
        _catalog("CREATE TABLE t (a int UNIQUE); CREATE TABLE t_a_key (x int);")
    ((statement, _),) = parse_script("CREATE TABLE u (a int, CONSTRAINT mine UNIQUE (a))")
    assert isinstance(statement, CreateTable)
    assert resolve_table(statement.table, Catalog()).uniques[0].name == "mine"


def test_defaults_are_checked_when_declared() -> None:
    catalog = _catalog(
        "CREATE TABLE t (n numeric(5,1) DEFAULT '1.25', d date DEFAULT current_date)"
    )
    table = catalog.table("public", "t")
    assert table is not None
    n = table.column("n")
    assert n is not None
    assert n.default is not None
    assert n.default.value == "1.3"
    with pytest.raises(RdbSchemaError, match="invalid input syntax for type integer"):
        _catalog("CREATE TABLE t (a int DEFAULT 'x')")


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("CREATE TABLE t (a int CHECK (a > 0))", "CHECK constraints"),
        ("CREATE TABLE t (a text[])", "array types"),
        ("CREATE TABLE t (a char(3))", "blank-padded"),
        ("CREATE TABLE t (a interval)", "'interval' is not supported"),
        ("CREATE TABLE t (a timestamp(3))", "a precision on timestamp"),
        ("CREATE TABLE t (a int DEFAULT 1 + 1)", "unknown column constraint"),
        ("CREATE TABLE t (a int DEFAULT nextval('s'))", "DEFAULT expression"),
        ("CREATE TABLE t (a int REFERENCES u ON DELETE SET DEFAULT)", "SET DEFAULT"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", "dollar quoting"),
        ("GRANT SELECT ON t TO anon", "not supported"),
        ("INSERT INTO t SELECT 1", "expected 'values'"),
        ("SELECT E'a'", "escape strings"),
    ],
)
def test_outside_the_subset_is_refused_by_name(sql: str, what: str) -> None:
    with pytest.raises(RdbSchemaError, match=what):
        _catalog(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE t (a int REFERENCES nope)", 'relation "nope" does not exist'),
        ("CREATE TABLE t (a int); CREATE TABLE t (b int)", 'relation "t" already exists'),
        ("CREATE TABLE t (a int, a int)", 'column "a" specified more than once'),
        ("CREATE TABLE u (a int); CREATE TABLE t (b int REFERENCES u (a))", "no unique constraint"),
        ("CREATE TABLE t (a int PRIMARY KEY, b int PRIMARY KEY)", "multiple primary keys"),
        ("CREATE TABLE nope.t (a int)", 'schema "nope" does not exist'),
    ],
)
def test_what_postgresql_rejects_is_rejected(sql: str, message: str) -> None:
    with pytest.raises(RdbSchemaError, match=message):
        _catalog(sql)


def test_inserts_use_defaults_sequences_and_constraints() -> None:
    engine = RdbEngine(
        schema="""
        CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL, note text DEFAULT 'n', j jsonb);
        INSERT INTO t (name, j) VALUES ('a', 'null'), ('b', '{"y": 1, "x": 2}');
        INSERT INTO t VALUES (DEFAULT, 'c', DEFAULT, NULL);
        """
    )
    try:
        with pytest.raises(RdbSchemaError, match="null value in column"):
            engine.execute("INSERT INTO t (name) VALUES (NULL)")
        engine.execute("CREATE TABLE IF NOT EXISTS t (x int); COMMENT ON TABLE t IS 'x'")
        engine.execute("DROP TABLE IF EXISTS nope, t CASCADE")
        with pytest.raises(RdbSchemaError, match='table "t" does not exist'):
            engine.execute("DROP TABLE t")
    finally:
        engine.close()


def test_drop_refuses_a_referenced_table_without_cascade() -> None:
    sql = "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (a_id int REFERENCES a);"
    with pytest.raises(RdbSchemaError, match="other objects depend on it"):
        _catalog(sql + "DROP TABLE a")
    b = _catalog(sql + "DROP TABLE a CASCADE").table("public", "b")
    assert b is not None
    assert b.foreign_keys == ()
