"""The differential corpus: requests sent, in order, to the engine and to PostgREST.

This file holds the reads (of the seed in ``rdb_schema.py``) and the syntax errors;
``rdb_corpus_writes.py`` the writes and the refusals. Most requests are built with the
SDK's own builders; :func:`raw` sends what the builders would not write. The corpus
is data, one case per entry, so it is long on purpose.
"""

from __future__ import annotations

from cloudbase_async.rdb import filters as f
from tests.local.rdb_corpus_writes import refused, writes
from tests.local.rdb_harness import C, Case, I, P, T, raw


def _reads() -> list[Case]:
    cases = [
        C("all people by id", lambda cb: P(cb).select().order("id").execute()),
        C("all people, physical order", lambda cb: P(cb).select().execute()),
        C("teams, physical order", lambda cb: T(cb).select().execute()),
        C("codes by text key", lambda cb: cb.rdb.table("codes").select().order("code").execute()),
        C(
            "codes desc",
            lambda cb: cb.rdb.table("codes").select("code,rank").order("code", desc=True).execute(),
        ),
        C(
            "nulls last by default",
            lambda cb: P(cb).select("id,age").order("age").order("id").execute(),
        ),
        C(
            "nulls first when desc",
            lambda cb: P(cb).select("id,age").order("age", desc=True).order("id").execute(),
        ),
        C(
            "asc nullsfirst",
            lambda cb: P(cb).select("id,age").order("age", nulls_first=True).order("id").execute(),
        ),
        C(
            "desc nullslast",
            lambda cb: (
                P(cb)
                .select("id,age")
                .order("age", desc=True, nulls_first=False)
                .order("id")
                .execute()
            ),
        ),
        C(
            "text order is code point order",
            lambda cb: P(cb).select("name").order("name").execute(),
        ),
        C("text order desc", lambda cb: P(cb).select("name").order("name", desc=True).execute()),
        C("aliases", lambda cb: P(cb).select("who:name,years:age").order("id").limit(4).execute()),
        C(
            "duplicate columns",
            lambda cb: P(cb).select("id,id,name").order("id").limit(3).execute(),
        ),
        C("empty select", raw("GET", "/people", [("select", ""), ("order", "id"), ("limit", "2")])),
        C(
            "select with spaces",
            raw("GET", "/people", [("select", " id , name "), ("order", "id"), ("limit", "2")]),
        ),
        C(
            "quoted select name",
            raw("GET", "/people", [("select", '"name",age'), ("order", "id"), ("limit", "2")]),
        ),
        C("star and a column", lambda cb: T(cb).select("*,name").order("id").execute()),
    ]
    for column in (
        "score",
        "amount",
        "ratio",
        "weight",
        "born",
        "seen",
        "seen_tz",
        "token",
        "active",
        "meta",
    ):
        if column == "meta":
            continue
        cases.append(
            C(
                f"order by {column}",
                lambda cb, c=column: P(cb).select(f"id,{c}").order(c).order("id").execute(),
            )
        )
        cases.append(
            C(
                f"order by {column} desc",
                lambda cb, c=column: (
                    P(cb).select(f"id,{c}").order(c, desc=True).order("id").execute()
                ),
            )
        )
    return cases


def _filters() -> list[Case]:
    cases: list[Case] = []
    for op, value in [
        ("eq", "25"),
        ("eq", "  25 "),
        ("eq", "+7"),
        ("eq", "-4"),
        ("neq", "25"),
        ("gt", "30"),
        ("gte", "41"),
        ("lt", "0"),
        ("lte", "0"),
        ("eq", "abc"),
        ("eq", "99999999999"),
        ("eq", "1.5"),
        ("eq", ""),
        ("gt", "-2147483649"),
    ]:
        cases.append(
            C(
                f"age {op} {value!r}",
                lambda cb, o=op, v=value: (
                    P(cb).select("id,age").filter("age", o, v).order("id").execute()
                ),
            )
        )
    for column, op, value in [
        ("score", "eq", "7.25"),
        ("score", "gt", "7.249"),
        ("score", "eq", "7.250"),
        ("score", "lt", "-0.001"),
        ("score", "eq", "1e999999"),
        ("score", "eq", "abc"),
        ("score", "gte", "1e1"),
        ("amount", "eq", "12345678901234567890.123456789"),
        ("amount", "gt", "1e19"),
        ("amount", "eq", "0.00"),
        ("amount", "eq", "-0"),
        ("ratio", "gt", "0"),
        ("ratio", "eq", "0.1"),
        ("ratio", "lt", "-1e299"),
        ("ratio", "eq", "1e400"),
        ("ratio", "lt", "-Infinity"),
        ("ratio", "eq", "1e-7"),
        ("ratio", "eq", "0x1p-1"),
        ("ratio", "eq", "1e-400"),
        ("ratio", "eq", "one"),
        ("weight", "eq", "0.1"),
        ("weight", "eq", "3.4e38"),
        ("weight", "gt", "1e39"),
        ("weight", "gte", "1.5"),
        ("active", "eq", "true"),
        ("active", "eq", "t"),
        ("active", "eq", "YES"),
        ("active", "eq", " off "),
        ("active", "eq", "maybe"),
        ("active", "eq", "o"),
        ("born", "gt", "2000-01-01"),
        ("born", "eq", "2000-02-29"),
        ("born", "eq", "2024-02-30"),
        ("born", "eq", "garbage"),
        ("born", "lt", "1990-01-02 23:00"),
        ("born", "eq", "2000-13-01"),
        ("seen", "gt", "2000-01-01"),
        ("seen", "eq", "2024-01-02 03:04:05.5"),
        ("seen", "gte", "2024-01-02T03:04:05.4999995"),
        ("seen", "eq", "2000-01-01 00:00:00.1234564"),
        ("seen", "lt", "2000-01-01 24:00:00"),
        ("seen", "eq", "2024-01-02 25:00"),
        ("seen_tz", "eq", "2024-01-02 01:04:05+00"),
        ("seen_tz", "eq", "2024-01-02T03:04:05+02:00"),
        ("seen_tz", "lt", "2000-01-01 05:00+05"),
        ("seen_tz", "eq", "2000-01-01T04:30:00Z"),
        ("token", "eq", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
        ("token", "eq", "{a0eebc999c0b4ef8bb6d6bb9bd380a11}"),
        ("token", "eq", "xyz"),
        ("token", "gt", "00000000-0000-0000-0000-000000000000"),
        ("name", "eq", "Zoë"),
        ("name", "eq", "ZOË"),
        ("name", "eq", ""),
        ("name", "eq", "null"),
        ("name", "eq", "NULL"),
        ("name", "eq", "  padded  "),
        ("name", "eq", 'O\'Brien, (Jr.) "x\\y"'),
        ("name", "eq", "50%_off*"),
        ("name", "eq", "a.b:c"),
        ("name", "neq", "bob"),
        ("name", "gt", "Z"),
        ("name", "lt", "a"),
        ("name", "gte", "张"),
        ("nick", "eq", 'z,(x)"y'),
        ("name", "eq", "tab\there"),
        ("name", "eq", "line\nbreak"),
        ("name", "eq", "🙂 smile"),
    ]:
        cases.append(
            C(
                f"{column} {op} {value!r}",
                lambda cb, c=column, o=op, v=value: (
                    P(cb).select(f"id,{c}").filter(c, o, v).order("id").execute()
                ),
            )
        )
    for op, pattern in [
        ("like", "Z*"),
        ("like", "z*"),
        ("like", "*e"),
        ("like", "%_off%"),
        ("like", "50\\%*"),
        ("like", "*\\*"),
        ("like", "_"),
        ("like", "Zo_"),
        ("like", "*.*:*"),
        ("like", "* *"),
        ("like", 'O\'Brien, (Jr.) "x\\\\y"'),
        ("like", "x\\"),
        ("ilike", "zo*"),
        ("ilike", "ÉMILE"),
        ("ilike", "*SMILE"),
        ("ilike", "σίσυφος"),
        ("ilike", "ss"),
        ("ilike", "ß"),
        ("ilike", "*"),
        ("ilike", "%\\_%"),
        ("like", ""),
        ("ilike", "TAB*"),
        ("like", "line*"),
    ]:
        cases.append(
            C(
                f"{op} {pattern!r}",
                lambda cb, o=op, v=pattern: (
                    P(cb).select("id,name").filter("name", o, v).order("id").execute()
                ),
            )
        )
    cases += [
        C("like on integer", lambda cb: P(cb).select("id").like("age", "1*").execute()),
        C("ilike on uuid", lambda cb: P(cb).select("id").ilike("token", "a*").execute()),
        C("like on numeric", lambda cb: P(cb).select("id").like("score", "1*").execute()),
        C(
            "like on varchar",
            lambda cb: P(cb).select("id,nick").like("nick", "z*").order("id").execute(),
        ),
        C(
            "in names with grammar",
            lambda cb: (
                P(cb)
                .select("id,name")
                .in_("name", ["Zoë", 'O\'Brien, (Jr.) "x\\y"', "a.b:c", "", "null", "50%_off*"])
                .order("id")
                .execute()
            ),
        ),
        C("in raw empty list", raw("GET", "/people", [("select", "id"), ("name", "in.()")])),
        C("in raw quoted empty", raw("GET", "/people", [("select", "id"), ("name", 'in.("")')])),
        C("in raw two empties", raw("GET", "/people", [("select", "id"), ("name", "in.(,)")])),
        C(
            "in raw spaces kept",
            raw("GET", "/people", [("select", "id,nick"), ("nick", "in.( sp,  sp,zz )")]),
        ),
        C(
            "in raw quotes and escapes",
            raw("GET", "/people", [("select", "id"), ("nick", 'in.("z,(x)\\"y",ob)')]),
        ),
        C(
            "in integers with a bad one",
            lambda cb: P(cb).select("id").in_("age", [25, "x"]).execute(),
        ),
        C(
            "in integers",
            lambda cb: P(cb).select("id,age").in_("age", [25, 41, 7]).order("id").execute(),
        ),
        C("in null word on int", raw("GET", "/people", [("select", "id"), ("age", "in.(null)")])),
        C("is null", lambda cb: P(cb).select("id").is_("age", None).order("id").execute()),
        C(
            "not is null",
            lambda cb: P(cb).select("id").not_("age", "is", None).order("id").execute(),
        ),
        C("is true", lambda cb: P(cb).select("id").is_("active", True).order("id").execute()),
        C("is false", lambda cb: P(cb).select("id").is_("active", False).order("id").execute()),
        C(
            "not is true",
            lambda cb: P(cb).select("id").not_("active", "is", True).order("id").execute(),
        ),
        C("is unknown bool", lambda cb: P(cb).select("id").is_("active", "unknown").execute()),
        C("is true on integer", lambda cb: P(cb).select("id").is_("age", True).execute()),
        C(
            "is NULL upper",
            raw("GET", "/people", [("select", "id"), ("nick", "is.NULL"), ("order", "id")]),
        ),
        C(
            "isdistinct",
            raw("GET", "/people", [("select", "id"), ("age", "isdistinct.25"), ("order", "id")]),
        ),
        C(
            "not isdistinct",
            raw(
                "GET", "/people", [("select", "id"), ("age", "not.isdistinct.25"), ("order", "id")]
            ),
        ),
        C(
            "not eq keeps nulls out",
            lambda cb: P(cb).select("id").not_("age", "eq", 25).order("id").execute(),
        ),
        C(
            "not in",
            lambda cb: P(cb).select("id").not_(f.in_("age", [25, 18])).order("id").execute(),
        ),
        C(
            "not like",
            lambda cb: P(cb).select("id").not_("name", "like", "*e*").order("id").execute(),
        ),
        C(
            "or",
            lambda cb: (
                P(cb).select("id").or_(f.eq("age", 25), f.eq("name", "bob")).order("id").execute()
            ),
        ),
        C(
            "or with and",
            lambda cb: (
                P(cb)
                .select("id")
                .or_(f.and_(f.gte("age", 18), f.lt("age", 30)), f.is_("age", None))
                .order("id")
                .execute()
            ),
        ),
        C(
            "not or",
            lambda cb: (
                P(cb)
                .select("id")
                .not_(f.or_(f.eq("age", 25), f.is_("age", None)))
                .order("id")
                .execute()
            ),
        ),
        C(
            "or with grammar values",
            lambda cb: (
                P(cb)
                .select("id")
                .or_(
                    f.eq("name", 'O\'Brien, (Jr.) "x\\y"'),
                    f.eq("nick", 'z,(x)"y'),
                    f.eq("name", "a.b:c"),
                )
                .order("id")
                .execute()
            ),
        ),
        C(
            "or with in",
            lambda cb: (
                P(cb)
                .select("id")
                .or_(f.in_("name", ["bob", "Zoë"]), f.like("name", "*smile"))
                .order("id")
                .execute()
            ),
        ),
        C(
            "and on root",
            lambda cb: (
                P(cb).select("id").and_(f.gt("age", 10), f.lt("age", 40)).order("id").execute()
            ),
        ),
        C(
            "two or params",
            raw(
                "GET",
                "/people",
                [
                    ("select", "id"),
                    ("or", "(age.eq.25,age.eq.41)"),
                    ("or", "(name.like.Z*,name.like.z*)"),
                    ("order", "id"),
                ],
            ),
        ),
        C(
            "or raw spaces",
            raw(
                "GET",
                "/people",
                [("select", "id"), ("or", "( age.eq.25 , name.eq. bob )"), ("order", "id")],
            ),
        ),
        C(
            "or raw quoted",
            raw(
                "GET",
                "/people",
                [
                    ("select", "id"),
                    ("or", '(name.eq."a.b:c",name.eq."",nick.eq."  sp")'),
                    ("order", "id"),
                ],
            ),
        ),
        C(
            "or raw negated inside",
            raw(
                "GET",
                "/people",
                [("select", "id"), ("or", "(age.not.eq.25,active.is.false)"), ("order", "id")],
            ),
        ),
        C(
            "or type error",
            raw("GET", "/people", [("select", "id"), ("or", "(age.eq.x,name.eq.y)")]),
        ),
        C(
            "or unknown column",
            raw("GET", "/people", [("select", "id"), ("or", "(agee.eq.1,name.eq.y)")]),
        ),
        C(
            "or with array literal",
            raw(
                "GET",
                "/people",
                [("select", "id"), ("or", "(name.like(any).{Z*,b*},age.eq.0)"), ("order", "id")],
            ),
        ),
        C(
            "like any",
            lambda cb: P(cb).select("id").like_any_of("name", ["Z*", "b*"]).order("id").execute(),
        ),
        C(
            "ilike all",
            lambda cb: (
                P(cb).select("id").ilike_all_of("name", ["*o*", "*e*"]).order("id").execute()
            ),
        ),
        C(
            "eq any",
            raw("GET", "/people", [("select", "id"), ("age", "eq(any).{25,41}"), ("order", "id")]),
        ),
        C(
            "gt all",
            raw("GET", "/people", [("select", "id"), ("age", "gt(all).{1,20}"), ("order", "id")]),
        ),
        C(
            "eq any quoted",
            raw(
                "GET",
                "/people",
                [("select", "id"), ("name", 'eq(any).{"a.b:c", "Zoë",bob}'), ("order", "id")],
            ),
        ),
        C(
            "eq any bad element",
            raw("GET", "/people", [("select", "id"), ("age", "eq(any).{1,x}")]),
        ),
        C("eq any not an array", raw("GET", "/people", [("select", "id"), ("age", "eq(any).5")])),
        C(
            "match on a value",
            lambda cb: P(cb).select("id").match({"age": 25, "active": True}).execute(),
        ),
        C("json eq", lambda cb: P(cb).select("id").eq("raw", "{}").execute()),
        C("json gt", lambda cb: P(cb).select("id").gt("raw", "1").execute()),
        C("json in", raw("GET", "/people", [("select", "id"), ("raw", "in.(1)")])),
        C("json is null", lambda cb: P(cb).select("id").is_("raw", None).order("id").execute()),
        C(
            "jsonb is null",
            lambda cb: P(cb).select("id").not_("meta", "is", None).order("id").execute(),
        ),
        C("order by json", lambda cb: P(cb).select("id").order("raw").execute()),
        C("like on jsonb", lambda cb: P(cb).select("id").like("meta", "x").execute()),
        C("filter on unknown column", lambda cb: P(cb).select("id").eq("nme", 1).execute()),
        C("filter hint two columns", lambda cb: T(cb).select("id").eq("cime", 1).execute()),
        C("filter no hint", lambda cb: P(cb).select("id").eq("zzzzzz", 1).execute()),
        C("select unknown column", lambda cb: P(cb).select("nope").execute()),
        C("order unknown column", lambda cb: P(cb).select("id").order("agge").execute()),
        C("select before filter error", lambda cb: P(cb).select("nope").eq("nme", "x").execute()),
        C(
            "filter error before type error",
            raw("GET", "/people", [("age", "eq.x"), ("nme", "eq.1")]),
        ),
        C(
            "type errors in order",
            raw("GET", "/people", [("select", "id"), ("age", "eq.x"), ("born", "eq.y")]),
        ),
        C("unknown table", lambda cb: cb.rdb.table("nope").select().execute()),
        C("column named like a keyword", raw("GET", "/people", [("select", "id"), ("is", "eq.1")])),
    ]
    return cases


def _embeds() -> list[Case]:
    return [
        C("to-one embed", lambda cb: P(cb).select("name,teams(name,city)").order("id").execute()),
        C(
            "to-one embed alias",
            lambda cb: P(cb).select("name,t:teams(*)").order("id").limit(5).execute(),
        ),
        C("to-many embed", lambda cb: T(cb).select("name,people(name,age)").order("id").execute()),
        C(
            "to-many ordered",
            lambda cb: (
                T(cb)
                .select("name,people(name)")
                .order("id")
                .order("name", desc=True, referenced_table="people")
                .execute()
            ),
        ),
        C(
            "to-many limit",
            lambda cb: (
                T(cb)
                .select("name,people(id)")
                .order("id")
                .limit(1, referenced_table="people")
                .execute()
            ),
        ),
        C(
            "to-many offset",
            raw(
                "GET",
                "/teams",
                [
                    ("select", "name,people(id)"),
                    ("order", "id"),
                    ("people.offset", "1"),
                    ("people.order", "id"),
                ],
            ),
        ),
        C(
            "to-many window",
            raw(
                "GET",
                "/teams",
                [
                    ("select", "name,people(id)"),
                    ("order", "id"),
                    ("people.limit", "1"),
                    ("people.offset", "1"),
                    ("people.order", "id.desc"),
                ],
            ),
        ),
        C(
            "inner to-many with filter",
            lambda cb: (
                T(cb).select("name,people!inner(name)").gt("people.age", 30).order("id").execute()
            ),
        ),
        C(
            "inner to-one with filter",
            lambda cb: (
                P(cb).select("name,teams!inner(name)").eq("teams.name", "Red").order("id").execute()
            ),
        ),
        C(
            "embed filter without inner",
            lambda cb: P(cb).select("id,teams(name)").is_("teams.city", None).order("id").execute(),
        ),
        C(
            "embed not null filter",
            raw(
                "GET",
                "/people",
                [("select", "id,teams(name)"), ("teams", "not.is.null"), ("order", "id")],
            ),
        ),
        C(
            "embed null filter",
            raw(
                "GET",
                "/teams",
                [("select", "name,people(name)"), ("people", "is.null"), ("order", "id")],
            ),
        ),
        C(
            "embed by fk column",
            lambda cb: P(cb).select("name,team_id(name)").order("id").limit(3).execute(),
        ),
        C(
            "embed by constraint",
            lambda cb: (
                P(cb).select("name,people_team_id_fkey(name)").order("id").limit(3).execute()
            ),
        ),
        C(
            "embed hint constraint",
            lambda cb: (
                P(cb).select("name,teams!people_team_id_fkey(name)").order("id").limit(3).execute()
            ),
        ),
        C(
            "embed hint column",
            lambda cb: P(cb).select("name,teams!team_id(name)").order("id").limit(3).execute(),
        ),
        C("embed left", lambda cb: T(cb).select("name,people!left(name)").order("id").execute()),
        C(
            "embed badges ordered",
            lambda cb: (
                P(cb)
                .select("name,badges(label,level)")
                .order("id")
                .order("level", desc=True, nulls_first=False, referenced_table="badges")
                .limit(4)
                .execute()
            ),
        ),
        C("embed every type", lambda cb: T(cb).select("id,people(*)").order("id").execute()),
        C("embed all team columns", lambda cb: P(cb).select("id,teams(*)").order("id").execute()),
        C(
            "embed logic tree",
            raw(
                "GET",
                "/people",
                [
                    ("select", "id,teams(name)"),
                    ("teams.or", "(name.eq.Red,city.is.null)"),
                    ("order", "id"),
                    ("limit", "6"),
                ],
            ),
        ),
        C(
            "embed filter by alias",
            lambda cb: (
                P(cb).select("id,t:teams(name)").eq("t.name", "Red").order("id").limit(4).execute()
            ),
        ),
        C(
            "embed filter by name under alias",
            lambda cb: (
                P(cb)
                .select("id,t:teams(name)")
                .eq("teams.name", "blue")
                .order("id")
                .limit(4)
                .execute()
            ),
        ),
        C(
            "two embeds",
            lambda cb: (
                P(cb).select("name,teams(name),badges(label)").order("id").limit(4).execute()
            ),
        ),
        C(
            "order by embedded column",
            raw(
                "GET",
                "/people",
                [("select", "id,teams(name)"), ("order", "teams(name).desc,id"), ("limit", "6")],
            ),
        ),
        C("unknown relationship", lambda cb: P(cb).select("name,nope(*)").execute()),
        C("relationship hint", lambda cb: P(cb).select("name,team(*)").execute()),
        C("relationship bad hint", lambda cb: P(cb).select("name,teams!nope(*)").execute()),
        C(
            "no relationships at all",
            lambda cb: cb.rdb.table("codes").select("code,teams(*)").execute(),
        ),
        C("embed column error first", lambda cb: P(cb).select("nope,teams(nope)").execute()),
        C(
            "embed filter type error",
            lambda cb: T(cb).select("name,people(name)").eq("people.age", "x").execute(),
        ),
        C("filter on not embedded", lambda cb: P(cb).select("id").eq("teams.name", "x").execute()),
        C(
            "order on not embedded",
            raw("GET", "/people", [("select", "id"), ("teams.order", "name")]),
        ),
        C("limit on not embedded", raw("GET", "/people", [("select", "id"), ("teams.limit", "1")])),
        C(
            "one-to-one embed",
            lambda cb: P(cb).select("name,profiles(bio)").order("id").limit(6).execute(),
        ),
        C(
            "one-to-one reverse",
            lambda cb: cb.rdb.table("profiles").select("bio,people(name)").order("id").execute(),
        ),
        C(
            "composite key embed",
            lambda cb: (
                cb.rdb.table("reviews").select("stars,badges(label,level)").order("id").execute()
            ),
        ),
        C(
            "composite key reverse",
            lambda cb: cb.rdb.table("badges").select("label,reviews(stars)").order("id").execute(),
        ),
        C(
            "inner embed counted",
            lambda cb: (
                P(cb)
                .select("id,teams!inner(name)", count="exact")
                .neq("teams.name", "blue")
                .order("id")
                .limit(3)
                .execute()
            ),
        ),
        C(
            "head with embed",
            lambda cb: P(cb).select("id,teams(name)", count="exact", head=True).execute(),
        ),
        C(
            "not and",
            raw(
                "GET",
                "/people",
                [("select", "id"), ("not.and", "(age.gte.18,age.lte.30)"), ("order", "id")],
            ),
        ),
        C("aggregate", lambda cb: P(cb).select("count()").execute()),
        C("aggregate on column", raw("GET", "/people", [("select", "id.sum()")])),
    ]


def _ranges() -> list[Case]:
    return [
        C("limit offset", lambda cb: I(cb).select("id").order("id").limit(10).offset(5).execute()),
        C(
            "count exact",
            lambda cb: I(cb).select("id", count="exact").order("id").limit(5).execute(),
        ),
        C(
            "count exact all rows",
            lambda cb: cb.rdb.table("teams").select("id", count="exact").order("id").execute(),
        ),
        C(
            "count planned",
            lambda cb: I(cb).select("id", count="planned").order("id").limit(3).execute(),
            compare="no-total",
        ),
        C(
            "count estimated",
            lambda cb: I(cb).select("id", count="estimated").order("id").limit(3).execute(),
            compare="no-total",
        ),
        C(
            "head count",
            lambda cb: I(cb).select(count="exact", head=True).eq("bucket", 2).execute(),
        ),
        C("head no count", lambda cb: I(cb).select(head=True).execute()),
        C(
            "count filtered",
            lambda cb: (
                I(cb).select("id", count="exact").eq("bucket", 3).order("id").range(2, 5).execute()
            ),
        ),
        C("count empty", lambda cb: I(cb).select("id", count="exact").eq("bucket", 9).execute()),
        C(
            "range header",
            raw("GET", "/items", [("select", "id"), ("order", "id")], headers={"Range": "0-4"}),
        ),
        C(
            "range header open",
            raw(
                "GET",
                "/items",
                [("select", "id"), ("order", "id")],
                headers={"Range": "115-", "Prefer": "count=exact"},
            ),
        ),
        C(
            "range header past end",
            raw(
                "GET",
                "/items",
                [("select", "id"), ("order", "id")],
                headers={"Range": "200-210", "Prefer": "count=exact"},
            ),
        ),
        C(
            "range header reversed",
            raw("GET", "/items", [("select", "id")], headers={"Range": "5-3"}),
        ),
        C(
            "range header junk",
            raw(
                "GET",
                "/items",
                [("select", "id"), ("order", "id"), ("limit", "2")],
                headers={"Range": "items=0-1"},
            ),
        ),
        C(
            "range header and limit",
            raw(
                "GET",
                "/items",
                [("select", "id"), ("order", "id"), ("limit", "3")],
                headers={"Range": "1-10"},
            ),
        ),
        C(
            "offset past end counted",
            raw(
                "GET",
                "/items",
                [("select", "id"), ("offset", "200")],
                headers={"Prefer": "count=exact"},
            ),
        ),
        C("offset past end", raw("GET", "/items", [("select", "id"), ("offset", "200")])),
        C(
            "offset at end counted",
            raw(
                "GET",
                "/teams",
                [("select", "id"), ("offset", "4")],
                headers={"Prefer": "count=exact"},
            ),
        ),
        C(
            "limit zero counted",
            raw(
                "GET",
                "/items",
                [("select", "id"), ("limit", "0")],
                headers={"Prefer": "count=exact"},
            ),
        ),
        C("negative limit", raw("GET", "/items", [("select", "id"), ("limit", "-1")])),
        C(
            "negative offset",
            raw("GET", "/teams", [("select", "id"), ("offset", "-1"), ("order", "id")]),
        ),
        C(
            "limit not a number",
            raw("GET", "/teams", [("select", "id"), ("limit", "abc"), ("order", "id")]),
        ),
        C("limit hex", raw("GET", "/items", [("select", "id"), ("limit", "0x3"), ("order", "id")])),
        C(
            "ties in a small sort keep physical order",
            lambda cb: I(cb).select("id,bucket").lte("id", 6).order("bucket").execute(),
        ),
        C(
            "two keys",
            lambda cb: (
                I(cb)
                .select("id,bucket,n")
                .order("bucket")
                .order("n", desc=True)
                .order("id")
                .limit(12)
                .execute()
            ),
        ),
        C(
            "nulls in text order",
            lambda cb: (
                I(cb)
                .select("id,tag")
                .order("tag", nulls_first=True)
                .order("id")
                .limit(15)
                .execute()
            ),
        ),
        C("tag is null", lambda cb: I(cb).select("id").is_("tag", None).order("id").execute()),
        C("single", lambda cb: P(cb).select("id,name").eq("name", "Alice").single().execute()),
        C("single none", lambda cb: P(cb).select("id").eq("name", "nobody").single().execute()),
        C("single many", lambda cb: P(cb).select("id").eq("age", 25).single().execute()),
        C(
            "maybe single none",
            lambda cb: P(cb).select("id").eq("name", "nobody").maybe_single().execute(),
        ),
        C(
            "error with object accept",
            raw(
                "GET",
                "/teams",
                [("nme", "eq.1")],
                headers={"Accept": "application/vnd.pgrst.object+json"},
            ),
        ),
        C(
            "insert with object accept",
            raw(
                "POST",
                "/teams",
                headers={"Accept": "application/vnd.pgrst.object+json"},
                json_body={"name": "obj"},
            ),
        ),
        C(
            "accept object short",
            raw(
                "GET",
                "/teams",
                [("select", "name"), ("id", "eq.1")],
                headers={"Accept": "application/vnd.pgrst.object"},
            ),
        ),
        C(
            "accept list with json",
            raw(
                "GET",
                "/teams",
                [("select", "name"), ("order", "id"), ("limit", "1")],
                headers={"Accept": "application/json, text/plain, */*"},
            ),
        ),
        C(
            "accept star",
            raw(
                "GET",
                "/teams",
                [("select", "name"), ("order", "id"), ("limit", "1")],
                headers={"Accept": "*/*"},
            ),
        ),
        C(
            "accept unknown",
            raw("GET", "/teams", [("select", "name")], headers={"Accept": "text/html"}),
        ),
        C(
            "accept with q",
            raw(
                "GET",
                "/teams",
                [("select", "name"), ("order", "id"), ("limit", "1")],
                headers={"Accept": "application/json;q=0.5, text/html"},
            ),
        ),
        C(
            "other schema",
            lambda cb: cb.rdb.mysql("other").table("notes").select().order("id").execute(),
        ),
        C(
            "other schema by header",
            raw(
                "GET",
                "/notes",
                [("select", "body"), ("order", "id")],
                headers={"Accept-Profile": "other"},
            ),
        ),
        C("unknown schema", lambda cb: cb.rdb.mysql("nope").table("notes").select().execute()),
        C("table not in default schema", lambda cb: cb.rdb.table("notes").select().execute()),
        C(
            "prefer lenient applied",
            raw(
                "GET",
                "/teams",
                [("select", "id"), ("order", "id"), ("limit", "1")],
                headers={"Prefer": "handling=lenient, count=exact"},
            ),
        ),
        C(
            "prefer junk ignored",
            raw(
                "GET",
                "/teams",
                [("select", "id"), ("order", "id"), ("limit", "1")],
                headers={"Prefer": "count=bogus, tx=commit, return=minimal"},
            ),
        ),
        C(
            "prefer timezone utc",
            raw(
                "GET",
                "/people",
                [("select", "seen_tz"), ("order", "id"), ("limit", "1")],
                headers={"Prefer": "timezone=UTC"},
            ),
        ),
    ]


def _rpc() -> list[Case]:
    return [
        C("rpc scalar post", lambda cb: cb.rdb.rpc("add_numbers", {"a": 2, "b": 3}).execute()),
        C(
            "rpc scalar get",
            lambda cb: cb.rdb.rpc("add_numbers", {"a": 2, "b": 3}, get=True).execute(),
        ),
        C(
            "rpc scalar object",
            raw(
                "GET",
                "/rpc/add_numbers",
                [("a", "1"), ("b", "2")],
                headers={"Accept": "application/vnd.pgrst.object+json"},
            ),
        ),
        C("rpc rows", lambda cb: cb.rdb.rpc("squares", {"n": 5}).execute()),
        C(
            "rpc rows shaped",
            lambda cb: (
                cb.rdb.rpc("squares", {"n": 6}, count="exact")
                .select("i,label")
                .gt("i", 2)
                .order("i", desc=True)
                .limit(2)
                .execute()
            ),
        ),
        C(
            "rpc rows get",
            lambda cb: cb.rdb.rpc("squares", {"n": 3}, get=True).select("label").execute(),
        ),
        C(
            "rpc rows single",
            lambda cb: cb.rdb.rpc("squares", {"n": 4}).select("i,sq").eq("i", 2).single().execute(),
        ),
        C(
            "rpc rows like",
            lambda cb: (
                cb.rdb.rpc("squares", {"n": 12}).select("label").like("label", "#1*").execute()
            ),
        ),
        C(
            "rpc get with a filter",
            raw("GET", "/rpc/squares", [("n", "4"), ("i", "gt.2"), ("select", "i,sq")]),
        ),
        # A set-returning function with no rows: still a set, shaped as one.
        C("rpc no rows", lambda cb: cb.rdb.rpc("squares", {"n": 0}).execute()),
        C(
            "rpc no rows shaped",
            lambda cb: (
                cb.rdb.rpc("squares", {"n": 0}, count="exact")
                .select("i,label")
                .gt("i", 2)
                .order("i", desc=True)
                .limit(2)
                .execute()
            ),
        ),
        C("rpc no rows get", raw("GET", "/rpc/squares", [("n", "0"), ("select", "label")])),
        C("rpc no rows head", raw("HEAD", "/rpc/squares", [("n", "0")])),
        C(
            "rpc no rows single",
            lambda cb: cb.rdb.rpc("squares", {"n": 0}).select("i").single().execute(),
        ),
        C(
            "rpc no rows past the end",
            lambda cb: cb.rdb.rpc("squares", {"n": 0}, count="exact").range(1, 2).execute(),
        ),
        C("rpc missing with args", lambda cb: cb.rdb.rpc("nope", {"x": 1}).execute()),
        C("rpc missing two args", lambda cb: cb.rdb.rpc("nope", {"y": 1, "x": 2}).execute()),
        C("rpc missing without args", lambda cb: cb.rdb.rpc("nope").execute()),
        C("rpc missing get", lambda cb: cb.rdb.rpc("nope", get=True).execute()),
        C(
            "rpc anon",
            lambda cb: cb.rdb.rpc("add_numbers", {"a": 1, "b": 1}).execute(),
            role="anon",
        ),
    ]


def _syntax() -> list[Case]:
    cases = []
    for key, value in [
        ("age", "foo"),
        ("age", "eq"),
        ("age", "noop.1"),
        ("age", "not.foo"),
        ("age", "in.1,2"),
        ("age", "is.not_null"),
        ("age", "eq(any)1"),
        ("age", "eq()"),
        ("age", "is()"),
        ("or", "(age.eq.1"),
        ("or", "()"),
        ("or", "(age.eq.1,not.age.gt.3)"),
        ("and", "(ord(id.eq.1),id.eq.2)"),
        ("or", "(id.eq.1,not.xor(id.eq.2))"),
        ("or", "age.eq.1"),
        ("select", "id,"),
        ("select", " "),
        ("select", "name->"),
        ("select", "name!hint"),
        ("select", "id,teams(name[])"),
        ("select", "name::"),
        ("select", "data->>-78xy"),
        ("order", "id.ac"),
        ("order", "id.descc"),
        ("order", "id.nullslasttt"),
        ("order", "id.asc.smth34"),
        ("order", "teams(name,id)"),
        ("columns", ","),
        ("on_conflict", ""),
        ("age", "eq.\t"),
        ("a b!c", "eq.1"),
        ("x.y.z", "eq.1"),
        ("select", "*!hint"),
        ("select", "é,ü"),
        ("order", "é"),
    ]:
        cases.append(C(f"syntax {key}={value!r}", raw("GET", "/people", [(key, value)])))
    return cases


def corpus() -> list[Case]:
    """Every case, in the order they run: reads of the seed first, then writes (each
    checked by the reads after it), then what the engine refuses."""

    return [
        *_reads(),
        *_filters(),
        *_embeds(),
        *_ranges(),
        *_rpc(),
        *_syntax(),
        *writes(),
        *refused(),
    ]
