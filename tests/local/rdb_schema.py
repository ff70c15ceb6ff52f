"""The schema both sides of the differential test load, with the awkward cases in it.

``ENGINE_SCHEMA`` is DDL in the engine's subset, which PostgreSQL runs unchanged; the
PostgreSQL side adds only what the engine has no notion of (roles, grants, functions,
the session time zone) and turns autovacuum off, so that PostgreSQL's physical row
order (which unordered reads return) stays the insertion order the engine keeps.
"""

from __future__ import annotations

ITEMS = 120

_PEOPLE = [
    # name, nick, age, score, amount, ratio, weight, active, born, seen, seen_tz, token, meta, raw, team
    (
        "Alice",
        "'al'",
        "30",
        "12.5",
        "1.50",
        "0.1",
        "0.1",
        "true",
        "'1990-01-02'",
        "'2024-01-02 03:04:05.5'",
        "'2024-01-02 03:04:05+02'",
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
        """'{"b": 1, "a": [1, 2.50]}'""",
        """'{"b": 1,  "a": 2}'""",
        "1",
    ),
    (
        "bob",
        "NULL",
        "NULL",
        "NULL",
        "1e3",
        "1e20",
        "3.4e38",
        "false",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "2",
    ),
    (
        "Zoë",
        "'z,(x)\"y'",
        "25",
        "-3",
        "0.0015",
        "-0.5",
        "100",
        "true",
        "'2000-02-29'",
        "'1999-12-31 23:59:59'",
        "'2000-01-01 00:00:00+00'",
        "NULL",
        "'[]'",
        "'null'",
        "NULL",
    ),
    (
        "ZOË",
        "'zz'",
        "25",
        "7.25",
        "-0",
        "1e-7",
        "1.5",
        "false",
        "'2000-03-01'",
        "'2000-01-01 00:00:00.123456'",
        "'1999-12-31 23:00:00-05:30'",
        "NULL",
        "'{}'",
        "NULL",
        "1",
    ),
    (
        "zoe",
        "NULL",
        "41",
        "7.25",
        "12345678901234567890.123456789",
        "2.5",
        "NULL",
        "true",
        "NULL",
        "'2024-06-30 12:00'",
        "NULL",
        "'00000000-0000-0000-0000-000000000000'",
        "NULL",
        "NULL",
        "3",
    ),
    (
        'O\'Brien, (Jr.) "x\\y"',
        "'ob'",
        "NULL",
        "0",
        "0",
        "0",
        "0",
        "true",
        "'1970-01-01'",
        "NULL",
        "NULL",
        "NULL",
        """'{"k": "v"}'""",
        """'[1, "two"]'""",
        "NULL",
    ),
    (
        "50%_off*",
        "'pct'",
        "18",
        "99.99",
        "1",
        "-1e300",
        "-2.5",
        "false",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "2",
    ),
    (
        "a.b:c",
        "NULL",
        "18",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "  padded  ",
        "'  sp'",
        "-4",
        "-0.01",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "",
        "'empty'",
        "0",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "null",
        "'n1'",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "false",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "NULL",
        "'n2'",
        "7",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "张三",
        "'zs'",
        "33",
        "1",
        "2",
        "3",
        "4",
        "true",
        "'2021-12-31'",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "3",
    ),
    (
        "Émile",
        "NULL",
        "60",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "1",
    ),
    (
        "émile",
        "NULL",
        "61",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "1",
    ),
    (
        "ß",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "SS",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "Σίσυφος",
        "NULL",
        "5",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "🙂 smile",
        "'emoji'",
        "5",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "tab\there",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
    (
        "line\nbreak",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "true",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
    ),
]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _people_rows() -> str:
    rows = []
    for name, *rest in _PEOPLE:
        rows.append("(" + ", ".join([_sql_text(name), *rest]) + ")")
    return ",\n".join(rows)


def _items_rows() -> str:
    return ",\n".join(
        f"({i}, {i * 7 % 50}, {i % 5}, {'NULL' if i % 9 == 0 else repr(f'v{i % 4}')})"
        for i in range(1, ITEMS + 1)
    )


ENGINE_SCHEMA = f"""
CREATE TABLE teams (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    city varchar(12),
    founded date
);
CREATE TABLE people (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    nick varchar(20) UNIQUE,
    age integer,
    score numeric(8,2),
    amount numeric,
    ratio double precision,
    weight real,
    active boolean NOT NULL DEFAULT true,
    born date,
    seen timestamp,
    seen_tz timestamptz,
    token uuid,
    meta jsonb,
    raw json,
    note text DEFAULT 'none',
    team_id integer REFERENCES teams (id)
);
-- One-to-many from people, deleted with them; a composite unique key for on_conflict.
CREATE TABLE badges (
    id serial PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    label text NOT NULL,
    level smallint DEFAULT 1,
    UNIQUE (person_id, label)
);
-- One-to-one (a unique foreign key), emptied when the person goes.
CREATE TABLE profiles (
    id serial PRIMARY KEY,
    person_id bigint UNIQUE REFERENCES people (id) ON DELETE SET NULL,
    bio text
);
-- A composite foreign key that blocks deleting what it points at.
CREATE TABLE reviews (
    id serial PRIMARY KEY,
    person_id bigint,
    label text,
    stars integer NOT NULL,
    FOREIGN KEY (person_id, label) REFERENCES badges (person_id, label) ON DELETE RESTRICT
);
-- A text primary key, no sequence; an identity that is ALWAYS generated.
CREATE TABLE codes (
    code text PRIMARY KEY,
    label varchar(8) NOT NULL,
    rank smallint,
    serial_no integer GENERATED ALWAYS AS IDENTITY
);
-- Rows for pagination, NULLs and ties in sorted columns.
CREATE TABLE items (
    id integer PRIMARY KEY,
    n integer NOT NULL,
    bucket integer NOT NULL,
    tag text
);
-- A junction table (composite primary key of two foreign keys): many-to-many.
CREATE TABLE tags (id serial PRIMARY KEY, word text NOT NULL);
CREATE TABLE people_tags (
    person_id bigint REFERENCES people (id) ON DELETE CASCADE,
    tag_id integer REFERENCES tags (id),
    PRIMARY KEY (person_id, tag_id)
);
-- Values the property tests insert, then find again.
CREATE TABLE scratch (id serial PRIMARY KEY, value text NOT NULL);
CREATE SCHEMA other;
CREATE TABLE other.notes (id serial PRIMARY KEY, body text NOT NULL, stars integer);

INSERT INTO teams (name, city, founded) VALUES
    ('Red', 'Paris', '1901-05-06'), ('blue', NULL, NULL), ('Émeraude', 'Lyon', '2000-01-01'),
    ('empty', 'Nowhere', NULL);
INSERT INTO people (name, nick, age, score, amount, ratio, weight, active, born, seen,
    seen_tz, token, meta, raw, team_id) VALUES
{_people_rows()};
INSERT INTO badges (person_id, label, level) VALUES
    (1, 'gold', 3), (1, 'silver', 2), (2, 'gold', NULL), (3, 'bronze', 1), (5, 'gold', 2);
INSERT INTO profiles (person_id, bio) VALUES (1, 'likes tea'), (3, NULL), (5, 'hi');
INSERT INTO reviews (person_id, label, stars) VALUES (1, 'gold', 5), (5, 'gold', 4), (NULL, NULL, 1);
INSERT INTO codes (code, label, rank) VALUES ('a', 'first', 1), ('B', 'second', NULL),
    ('b', 'third', 2), ('ä', 'umlaut', 3);
INSERT INTO items (id, n, bucket, tag) VALUES
{_items_rows()};
INSERT INTO tags (word) VALUES ('x'), ('y');
INSERT INTO people_tags (person_id, tag_id) VALUES (1, 1), (2, 2);
INSERT INTO other.notes (body, stars) VALUES ('from the other schema', 5), ('second', NULL);
"""

TABLES = (
    "teams",
    "people",
    "badges",
    "profiles",
    "reviews",
    "codes",
    "items",
    "tags",
    "people_tags",
    "scratch",
    "other.notes",
)

PG_PREAMBLE = """
CREATE ROLE web_anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT web_anon, authenticated TO authenticator;
ALTER DATABASE postgres SET timezone TO 'UTC';
"""

PG_GRANTS = (
    "\n".join(f"ALTER TABLE {t} SET (autovacuum_enabled = false);" for t in TABLES)
    + """
CREATE FUNCTION add_numbers(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION squares(n integer) RETURNS TABLE (i integer, sq integer, label text)
    LANGUAGE sql IMMUTABLE AS 'SELECT i, i * i, ''#'' || i FROM generate_series(1, n) AS i';
GRANT USAGE ON SCHEMA public, other TO web_anon, authenticated;
GRANT SELECT ON ALL TABLES IN SCHEMA public, other TO web_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, other TO authenticated;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, other TO authenticated;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO web_anon, authenticated;
"""
)

POSTGRES_SCHEMA = PG_PREAMBLE + ENGINE_SCHEMA + PG_GRANTS
