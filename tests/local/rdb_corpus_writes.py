"""The differential corpus, second part: writes (checked by the reads after them) and
the requests the engine must refuse. Data, one case per entry: long on purpose."""

from __future__ import annotations

from typing import Any

from cloudbase_async import CloudBase
from tests.local.rdb_harness import C, Case, P, T, raw


def _codes(cb: CloudBase) -> Any:
    return cb.rdb.table("codes")


def _badges(cb: CloudBase) -> Any:
    return cb.rdb.table("badges")


def writes() -> list[Case]:
    return [
        C("insert minimal", lambda cb: P(cb).insert({"name": "w1", "age": 3}).execute()),
        C(
            "insert representation",
            lambda cb: (
                P(cb)
                .insert(
                    [{"name": "w2", "age": 4}, {"name": "w3", "age": None}],
                    returning="representation",
                )
                .execute()
            ),
        ),
        C(
            "insert select",
            lambda cb: (
                P(cb)
                .insert({"name": "w4", "score": 1.005, "amount": "1.50"})
                .select("id,name,score,amount,note,active")
                .execute()
            ),
        ),
        C(
            "insert bulk missing null",
            lambda cb: (
                P(cb)
                .insert([{"name": "w5", "note": "given"}, {"name": "w6"}])
                .select("name,note")
                .execute()
            ),
        ),
        C(
            "insert bulk missing default",
            lambda cb: (
                P(cb)
                .insert([{"name": "w7", "note": "given"}, {"name": "w8"}], default_to_null=False)
                .select("name,note")
                .execute()
            ),
        ),
        C(
            "insert count",
            lambda cb: P(cb).insert([{"name": "w9"}, {"name": "w10"}], count="exact").execute(),
        ),
        C(
            "insert json conversions",
            lambda cb: (
                P(cb)
                .insert(
                    {
                        "name": 5,
                        "age": "7",
                        "active": "yes",
                        "meta": "str",
                        "raw": 5,
                        "ratio": "1e-3",
                        "weight": 16777217,
                    }
                )
                .select("name,age,active,meta,raw,ratio,weight")
                .execute()
            ),
        ),
        C(
            "insert object into text",
            lambda cb: (
                P(cb).insert({"name": {"a": 1}, "nick": [1, 2]}).select("name,nick").execute()
            ),
        ),
        C(
            "insert times",
            lambda cb: (
                P(cb)
                .insert(
                    {
                        "name": "t1",
                        "born": "2020-02-29",
                        "seen": "2024-01-02T03:04:05.1234567+05",
                        "seen_tz": "2024-01-02T03:04:05.5+05:30",
                        "token": "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12}",
                    }
                )
                .select("born,seen,seen_tz,token")
                .execute()
            ),
        ),
        C(
            "insert jsonb normalised",
            raw(
                "POST",
                "/people",
                [("select", "meta,raw")],
                headers={"Prefer": "return=representation", "Content-Type": "application/json"},
                content=b'{"name":"j1","meta":{"bb":1,"a":[1.50,1e2,-0],"a ":null},'
                b'"raw":{"z":1, "z":2.50}}',
            ),
        ),
        C(
            "insert bool from number",
            lambda cb: P(cb).insert({"name": "b1", "active": 0}).select("active").execute(),
        ),
        C("insert bad integer", lambda cb: P(cb).insert({"name": "e1", "age": True}).execute()),
        C(
            "insert fractional integer",
            lambda cb: P(cb).insert({"name": "e2", "age": 1.5}).execute(),
        ),
        C(
            "insert varchar too long",
            lambda cb: P(cb).insert({"name": "e3", "nick": "123456789012345678901"}).execute(),
        ),
        C(
            "insert varchar trailing spaces",
            lambda cb: (
                P(cb)
                .insert({"name": "e4", "nick": "12345678901234567890    "})
                .select("nick")
                .execute()
            ),
        ),
        C(
            "insert numeric rounds",
            lambda cb: P(cb).insert({"name": "e5", "score": 123456.789}).select("score").execute(),
        ),
        C(
            "insert numeric overflow",
            lambda cb: P(cb).insert({"name": "e6", "score": 1234567}).execute(),
        ),
        C(
            "insert real overflow",
            lambda cb: P(cb).insert({"name": "e7", "weight": 1e39}).execute(),
        ),
        C("insert not null", lambda cb: P(cb).insert({"age": 1}).execute()),
        C(
            "insert empty object",
            raw("POST", "/people", headers={"Prefer": "return=representation"}, json_body={}),
        ),
        C("insert unique", lambda cb: P(cb).insert({"name": "e8", "nick": "al"}).execute()),
        C(
            "insert unique in batch",
            lambda cb: (
                P(cb)
                .insert([{"name": "e9", "nick": "q1"}, {"name": "e10", "nick": "q1"}])
                .execute()
            ),
        ),
        C("insert foreign key", lambda cb: P(cb).insert({"name": "e11", "team_id": 99}).execute()),
        C(
            "insert unknown columns",
            raw("POST", "/teams", json_body=[{"zz": 1, "aa": 2, "name": "x"}]),
        ),
        C(
            "insert columns param unknown",
            raw("POST", "/teams", [("columns", "name,zz")], json_body={"name": "x"}),
        ),
        C("insert keys differ", raw("POST", "/teams", json_body=[{"name": "k1"}, {"city": "k2"}])),
        C("insert scalars", raw("POST", "/teams", json_body=[1, 2])),
        C(
            "insert empty array",
            raw("POST", "/teams", headers={"Prefer": "return=representation"}, json_body=[]),
        ),
        C(
            "insert invalid json",
            raw("POST", "/teams", headers={"Content-Type": "application/json"}, content=b"{nope"),
        ),
        C(
            "insert empty body",
            raw("POST", "/teams", headers={"Content-Type": "application/json"}, content=b""),
        ),
        C(
            "after failed inserts",
            lambda cb: P(cb).select("id,name,nick,age").gt("id", 21).order("id").execute(),
        ),
        C(
            "insert after failures takes next id",
            lambda cb: P(cb).insert({"name": "w11"}).select("id").execute(),
        ),
        C(
            "insert identity always",
            lambda cb: _codes(cb).insert({"code": "z", "label": "x", "serial_no": 5}).execute(),
        ),
        C(
            "insert identity always default",
            lambda cb: _codes(cb).insert({"code": "z", "label": "zed"}).select().execute(),
        ),
        C(
            "insert text key duplicate",
            lambda cb: _codes(cb).insert({"code": "a", "label": "again"}).execute(),
        ),
        C(
            "insert label too long",
            lambda cb: _codes(cb).insert({"code": "y", "label": "123456789"}).execute(),
        ),
        C(
            "upsert merge by key",
            lambda cb: (
                T(cb).upsert({"id": 1, "name": "Red2"}, returning="representation").execute()
            ),
        ),
        C(
            "upsert merge mixed",
            lambda cb: (
                T(cb)
                .upsert(
                    [{"name": "u1", "city": "x"}, {"name": "blue", "city": "Bleu"}],
                    on_conflict="name",
                    returning="representation",
                    count="exact",
                )
                .execute()
            ),
        ),
        C(
            "upsert merge missing default",
            raw(
                "POST",
                "/teams",
                [("on_conflict", "name"), ("columns", "name,city"), ("select", "name,city")],
                headers={
                    "Prefer": "resolution=merge-duplicates,missing=default,return=representation"
                },
                json_body=[{"name": "u2"}, {"name": "Émeraude"}],
            ),
        ),
        C(
            "upsert ignore",
            lambda cb: (
                T(cb)
                .upsert(
                    [{"name": "u3"}, {"name": "Red2"}],
                    on_conflict="name",
                    ignore_duplicates=True,
                    returning="representation",
                )
                .execute()
            ),
        ),
        C(
            "upsert ignore all",
            lambda cb: (
                T(cb)
                .upsert(
                    [{"name": "u3"}],
                    on_conflict="name",
                    ignore_duplicates=True,
                    returning="representation",
                )
                .execute()
            ),
        ),
        C(
            "upsert twice in batch",
            lambda cb: T(cb).upsert([{"name": "u4"}, {"name": "u4"}], on_conflict="name").execute(),
        ),
        C(
            "upsert no unique",
            lambda cb: T(cb).upsert([{"name": "u5"}], on_conflict="city").execute(),
        ),
        C(
            "upsert composite",
            lambda cb: (
                _badges(cb)
                .upsert(
                    [
                        {"person_id": 1, "label": "gold", "level": 9},
                        {"person_id": 2, "label": "new", "level": 1},
                    ],
                    on_conflict="person_id,label",
                    returning="representation",
                )
                .execute()
            ),
        ),
        C(
            "upsert minimal merged",
            lambda cb: T(cb).upsert({"name": "u1", "city": "y"}, on_conflict="name").execute(),
        ),
        C(
            "upsert violates other key",
            lambda cb: T(cb).upsert({"id": 2, "name": "Red2"}).execute(),
        ),
        C(
            "missing default takes a sequence value per row",
            raw(
                "POST",
                "/teams",
                [("columns", "id,name"), ("select", "id,name")],
                headers={"Prefer": "missing=default,return=representation"},
                json_body=[{"name": "md1"}, {"id": 77, "name": "md2"}],
            ),
        ),
        C(
            "next id after missing default",
            lambda cb: T(cb).insert({"name": "md3"}).select("id").execute(),
        ),
        C("teams after upserts", lambda cb: T(cb).select().order("id").execute()),
        C(
            "insert composite key violation",
            lambda cb: (
                cb.rdb.table("reviews")
                .insert({"person_id": 1, "label": "nope", "stars": 1})
                .execute()
            ),
        ),
        C(
            "insert composite key half null",
            lambda cb: (
                cb.rdb.table("reviews")
                .insert({"person_id": 1, "stars": 2})
                .select("person_id,label,stars")
                .execute()
            ),
        ),
        C(
            "update composite referenced key",
            lambda cb: (
                cb.rdb.table("badges")
                .update({"label": "platinum"})
                .eq("person_id", 1)
                .eq("label", "gold")
                .execute()
            ),
        ),
        C(
            "update ignores order",
            raw(
                "PATCH",
                "/people",
                [("name", "like.w*"), ("order", "name.desc"), ("select", "name")],
                headers={"Prefer": "return=representation"},
                json_body={"note": "o"},
            ),
        ),
        C("update", lambda cb: P(cb).update({"age": 9}).eq("name", "w1").execute()),
        C(
            "update representation",
            lambda cb: (
                P(cb)
                .update({"age": 8, "note": "n"}, returning="representation")
                .like("name", "w*")
                .select("name,age,note")
                .execute()
            ),
        ),
        C(
            "update count",
            lambda cb: P(cb).update({"active": False}, count="exact").eq("age", 8).execute(),
        ),
        C(
            "update count representation",
            lambda cb: (
                P(cb).update({"active": True}, count="exact").eq("age", 8).select("id").execute()
            ),
        ),
        C(
            "update no match",
            lambda cb: (
                P(cb).update({"age": 1}, returning="representation").eq("name", "nobody").execute()
            ),
        ),
        C(
            "update no match minimal",
            lambda cb: P(cb).update({"age": 1}, count="exact").eq("name", "nobody").execute(),
        ),
        C("update unique", lambda cb: P(cb).update({"nick": "al"}).eq("name", "bob").execute()),
        C(
            "update foreign key",
            lambda cb: P(cb).update({"team_id": 99}).eq("name", "bob").execute(),
        ),
        C("update not null", lambda cb: P(cb).update({"name": None}).eq("name", "bob").execute()),
        C("update bad value", lambda cb: P(cb).update({"age": "old"}).eq("name", "bob").execute()),
        C(
            "update unknown column",
            lambda cb: P(cb).update({"agee": 1}).eq("name", "bob").execute(),
        ),
        C("update referenced key", lambda cb: T(cb).update({"id": 50}).eq("id", 1).execute()),
        C(
            "update identity always",
            lambda cb: _codes(cb).update({"serial_no": 3}).eq("code", "a").execute(),
        ),
        C("update empty body", raw("PATCH", "/teams", [("id", "eq.1")], json_body={})),
        C(
            "update with embed",
            lambda cb: (
                P(cb)
                .update({"team_id": 3}, returning="representation")
                .eq("name", "w2")
                .select("name,teams(name)")
                .execute()
            ),
        ),
        C(
            "update single object",
            raw(
                "PATCH",
                "/people",
                [("name", "like.w*")],
                headers={
                    "Accept": "application/vnd.pgrst.object+json",
                    "Prefer": "return=representation",
                },
                json_body={"note": "many"},
            ),
        ),
        C(
            "people after updates",
            lambda cb: (
                P(cb).select("id,name,age,note,active,team_id").gt("id", 21).order("id").execute()
            ),
        ),
        C("physical order after updates", lambda cb: P(cb).select("id").execute()),
        C(
            "delete",
            lambda cb: (
                _badges(cb).delete(returning="representation").eq("label", "silver").execute()
            ),
        ),
        C(
            "delete count",
            lambda cb: _badges(cb).delete(count="exact").eq("label", "nothing").execute(),
        ),
        C("delete cascades", lambda cb: P(cb).delete(count="exact").eq("name", "bob").execute()),
        C("badges after cascade", lambda cb: _badges(cb).select().order("id").execute()),
        C("delete referenced", lambda cb: T(cb).delete().eq("name", "Red2").execute()),
        C(
            "a badge to cascade",
            lambda cb: _badges(cb).insert({"person_id": 13, "label": "jade"}).execute(),
        ),
        C(
            "delete shows embeds as they were",
            lambda cb: (
                P(cb)
                .delete(returning="representation")
                .eq("id", 13)
                .select("name,badges(label)")
                .execute()
            ),
        ),
        C("delete blocked through a cascade", lambda cb: P(cb).delete().eq("id", 1).execute()),
        C(
            "delete sets null",
            lambda cb: (
                P(cb).delete(returning="representation").eq("id", 3).select("id,name").execute()
            ),
        ),
        C(
            "profiles after set null",
            lambda cb: cb.rdb.table("profiles").select().order("id").execute(),
        ),
        C(
            "badges after set null",
            lambda cb: cb.rdb.table("badges").select().order("id").execute(),
        ),
        C(
            "delete unreferenced",
            lambda cb: (
                T(cb).delete(returning="representation").eq("name", "u3").select("name").execute()
            ),
        ),
        C(
            "delete representation many",
            lambda cb: (
                P(cb)
                .delete(returning="representation", count="exact")
                .like("name", "w1*")
                .select("name")
                .execute()
            ),
        ),
        C(
            "delete single object",
            raw(
                "DELETE",
                "/people",
                [("name", "like.w*")],
                headers={"Accept": "application/vnd.pgrst.object+json"},
            ),
        ),
        C(
            "other schema insert",
            lambda cb: (
                cb.rdb.mysql("other")
                .table("notes")
                .insert({"body": "third"}, returning="representation")
                .execute()
            ),
        ),
        C("anon read", lambda cb: T(cb).select("name").order("id").execute(), role="anon"),
        C("anon insert", lambda cb: T(cb).insert({"name": "anon"}).execute(), role="anon"),
        C("anon update", lambda cb: T(cb).update({"city": "x"}).eq("id", 1).execute(), role="anon"),
        C("anon delete", lambda cb: T(cb).delete().eq("id", 1).execute(), role="anon"),
        C("everyone at the end", lambda cb: P(cb).select().order("id").execute()),
        C("teams at the end", lambda cb: T(cb).select("*,people(id)").order("id").execute()),
    ]


def refused() -> list[Case]:
    return [
        C(
            "fts",
            lambda cb: P(cb).select("id").text_search("name", "x").execute(),
            refused="full-text search",
        ),
        C(
            "contains",
            lambda cb: P(cb).select("id").contains("meta", {"k": "v"}).execute(),
            refused="containment",
        ),
        C(
            "overlaps",
            lambda cb: P(cb).select("id").filter("meta", "ov", "{1}").execute(),
            refused="overlap",
        ),
        C(
            "range operator",
            lambda cb: P(cb).select("id").range_gt("age", (1, 2)).execute(),
            refused="range operators",
        ),
        C("regex", raw("GET", "/people", [("name", "match.^A")]), refused="regular expression"),
        C("json path select", raw("GET", "/people", [("select", "meta->b")]), refused="JSON paths"),
        C("json path filter", raw("GET", "/people", [("meta->>k", "eq.v")]), refused="JSON paths"),
        C("cast", raw("GET", "/people", [("select", "id::text")]), refused="casts"),
        C("spread", raw("GET", "/people", [("select", "...teams(name)")]), refused="spread"),
        C(
            "nested embed",
            lambda cb: P(cb).select("name,teams(name,people(name))").execute(),
            refused="deeper than one level",
        ),
        C(
            "many to many",
            lambda cb: P(cb).select("name,tags(word)").execute(),
            refused="many-to-many",
        ),
        C("csv", raw("GET", "/people", headers={"Accept": "text/csv"}), refused="text/csv"),
        C(
            "headers only",
            raw(
                "POST", "/teams", headers={"Prefer": "return=headers-only"}, json_body={"name": "h"}
            ),
            refused="return=headers-only",
        ),
        C(
            "strict handling",
            raw("GET", "/teams", headers={"Prefer": "handling=strict"}),
            refused="handling=strict",
        ),
        C(
            "time zone",
            raw("GET", "/teams", headers={"Prefer": "timezone=Asia/Shanghai"}),
            refused="timezone",
        ),
        C(
            "put",
            raw("PUT", "/teams", [("id", "eq.1")], json_body={"id": 1, "name": "x"}),
            refused="PUT",
        ),
        C(
            "order by a to-many embed",
            raw("GET", "/teams", [("select", "id,people(name)"), ("order", "people(name)")]),
            refused="one-to-many",
        ),
        C(
            "jsonb comparison",
            lambda cb: P(cb).select("id").eq("meta", "{}").execute(),
            refused="jsonb",
        ),
        C("order by jsonb", lambda cb: P(cb).select("id").order("meta").execute(), refused="jsonb"),
        C(
            "limited update",
            raw("PATCH", "/people", [("name", "eq.x"), ("limit", "1")], json_body={"age": 1}),
            refused="limit/offset on update",
        ),
        C(
            "date spelling",
            lambda cb: P(cb).select("id").eq("born", "Jan 2 2024").execute(),
            refused="ISO 8601",
        ),
        C(
            "special date",
            lambda cb: P(cb).select("id").eq("born", "today").execute(),
            refused="special date",
        ),
        C("numeric nan", lambda cb: P(cb).select("id").eq("score", "NaN").execute(), refused="NaN"),
        C("float nan", lambda cb: P(cb).select("id").eq("ratio", "nan").execute(), refused="NaN"),
        C("openapi root", raw("GET", "/"), refused="OpenAPI"),
        C(
            "form body",
            raw(
                "POST",
                "/teams",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                content=b"name=x",
            ),
            refused="request bodies",
        ),
    ]
