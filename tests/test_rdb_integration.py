"""``cb.rdb`` against both servers: real PostgreSQL + PostgREST 12, and the local engine.

Every test takes the module-scoped ``server`` fixture, parametrized ``postgrest`` /
``local`` (``tests/support/rdb_servers.py``): one PostgREST (schema ``SCHEMA_SQL`` in
``tests/peers/postgrest.py``) or one ``LocalCloudBase`` (the same tables in the engine's
subset) per module, and the same test body for both. The schema: ``students`` (unique,
not-null name; a foreign key to ``classes`` for embedding), ``strings`` (for the
round-trip property test), ``items`` (5,000 rows), ``secrets`` (no grants; PostgREST
only), functions ``add_numbers``, ``students_older_than`` and ``reserved_args`` (SQL on
PostgreSQL, Python twins on the engine), and schema ``other`` reached with the profile
headers. The SDK acts as role ``authenticated`` (a JWT, or a signed-in user's token), or
anonymously.

What the engine's subset cannot express stays PostgREST-only, with its reason
(``@postgrest_only(...)``); what the engine refuses (array and JSON containment,
full-text search) is asserted as its 400 naming the feature. Without PostgREST the
``postgrest`` half skips (fails under ``CI``) and the ``local`` half still runs; set
``CLOUDBASE_TEST_NO_POSTGREST=1`` to see that.

Tests share each server's database, so each one writes rows under its own unique names.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cloudbase_async import (
    AuthenticationError,
    BadRequestError,
    CloudBase,
    ConflictError,
    InvalidRequestError,
    MultipleRowsError,
    NoRowsError,
    NotFoundError,
    PermissionDeniedError,
)
from cloudbase_async.local.rdb import UNSUPPORTED_CODE
from cloudbase_async.rdb import filters as f
from tests.support.pool import checked_out
from tests.support.rdb_servers import KINDS, RdbServer, rdb_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[RdbServer]:
    with rdb_server(request.param) as started:
        yield started


def postgrest_only(reason: str) -> pytest.MarkDecorator:
    """Run a test on PostgREST only: it needs ``reason``, outside the engine's subset."""
    local = pytest.param("local", marks=pytest.mark.skip(reason=f"PostgREST only: {reason}"))
    return pytest.mark.parametrize("server", ["postgrest", local], indirect=True)


@pytest.fixture
async def cb(server: RdbServer) -> AsyncIterator[CloudBase]:
    async with server.client() as c:
        yield c
        assert checked_out(c) == 0


def unique(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@attrs.frozen
class Student:
    id: int
    name: str
    age: int | None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


async def test_crud_with_returning(cb: CloudBase) -> None:
    students = cb.rdb.table("students")
    a, b = unique(), unique()
    inserted = await students.insert(
        [{"name": a, "age": 10}, {"name": b}], returning="representation"
    ).execute()
    assert inserted.status_code == 201
    assert [(row["name"], row["age"]) for row in inserted.data] == [(a, 10), (b, None)]
    ids = [row["id"] for row in inserted.data]

    minimal = await students.insert({"name": unique()}).execute()
    assert (minimal.data, minimal.status_code) == ([], 201)

    found = (
        await students.select("id,name,age").in_("id", ids).order("id").returns(Student).execute()
    )
    assert found.data == [Student(ids[0], a, 10), Student(ids[1], b, None)]

    updated = await (
        students.update({"age": 11}, returning="representation").eq("name", a).select("name,age")
    ).execute()
    assert updated.data == [{"name": a, "age": 11}]

    deleted = await students.delete(returning="representation").in_("id", ids).execute()
    assert sorted(row["name"] for row in deleted.data) == sorted([a, b])
    assert (await students.select().in_("id", ids).execute()).data == []


async def test_bulk_insert_missing_keys_null_or_default(cb: CloudBase) -> None:
    students = cb.rdb.table("students")
    rows = [{"name": unique(), "note": "given"}, {"name": unique()}]
    as_null = await students.insert(rows, returning="representation").execute()
    assert [row["note"] for row in as_null.data] == ["given", None]
    rows = [{"name": unique(), "note": "given"}, {"name": unique()}]
    as_default = await students.insert(
        rows, returning="representation", default_to_null=False
    ).execute()
    assert [row["note"] for row in as_default.data] == ["given", "none"]


async def test_upsert_merge_and_ignore(cb: CloudBase) -> None:
    students = cb.rdb.table("students")
    name, other = unique(), unique()
    await students.insert({"name": name, "age": 1}).execute()
    merged = await students.upsert(
        [{"name": name, "age": 2}, {"name": other, "age": 5}],
        on_conflict="name",
        returning="representation",
        count="exact",
    ).execute()
    assert sorted((r["name"], r["age"]) for r in merged.data) == sorted([(name, 2), (other, 5)])
    assert merged.count == 2
    ignored = await students.upsert(
        {"name": name, "age": 3}, on_conflict="name", ignore_duplicates=True, count="exact"
    ).execute()
    assert ignored.count == 0
    row = await students.select("age").eq("name", name).single().execute()
    assert row.data == {"age": 2}


async def test_counts(cb: CloudBase) -> None:
    students = cb.rdb.table("students")
    tag = unique("tag")
    inserted = await students.insert(
        [{"name": unique(), "note": tag, "age": i} for i in range(5)]
    ).execute()
    assert inserted.count is None  # Content-Range */*: nobody asked
    page = (
        await students.select("age", count="exact").eq("note", tag).order("age").limit(2).execute()
    )
    assert (page.data, page.count, page.status_code) == ([{"age": 0}, {"age": 1}], 5, 206)
    head = await students.select(count="exact", head=True).eq("note", tag).execute()
    assert (head.data, head.count) == ([], 5)
    plain = await students.select("age").eq("note", tag).execute()
    assert (len(plain.data), plain.count) == (5, None)
    updated = await students.update({"age": 9}, count="exact").eq("note", tag).execute()
    assert (updated.data, updated.count) == ([], 5)  # Content-Range */5
    deleted = await students.delete(count="exact").eq("note", tag).gte("age", 9).execute()
    assert deleted.count == 5


async def test_ranges_and_order(cb: CloudBase) -> None:
    items = cb.rdb.table("items").select("id")
    window = await items.order("id").range(10, 14).execute()
    assert [row["id"] for row in window.data] == [11, 12, 13, 14, 15]
    newest = await items.order("id", desc=True).limit(2).offset(1).execute()
    assert [row["id"] for row in newest.data] == [4999, 4998]


async def test_single_and_maybe_single(cb: CloudBase) -> None:
    students = cb.rdb.table("students")
    tag = unique("tag")
    name = unique()
    await students.insert([{"name": name, "note": tag}, {"name": unique(), "note": tag}]).execute()

    one = await students.select("name").eq("name", name).single().execute()
    assert one.data == {"name": name}
    with pytest.raises(NoRowsError) as none:
        await students.select().eq("name", unique()).single().execute()
    assert isinstance(none.value, NotFoundError)
    assert (none.value.status_code, none.value.code, none.value.rows) == (406, "PGRST116", 0)
    with pytest.raises(MultipleRowsError) as many:
        await students.select().eq("note", tag).single().execute()
    assert many.value.rows == 2

    assert (await students.select().eq("name", unique()).maybe_single().execute()).data is None
    maybe = students.select("id,name,age").eq("name", name).maybe_single().returns(Student)
    found = (await maybe.execute()).data
    assert isinstance(found, Student)
    assert (found.name, found.age) == (name, None)
    with pytest.raises(MultipleRowsError):
        await students.select().eq("note", tag).maybe_single().execute()

    created = (
        await students.insert({"name": unique()}, returning="representation").single().execute()
    )
    assert created.data["note"] == "none"


async def test_embedding(cb: CloudBase) -> None:
    grade = int(uuid.uuid4().int % 1_000_000) + 10
    classes = (
        await cb.rdb.table("classes")
        .insert(
            [{"grade": grade, "class_number": 1}, {"grade": grade, "class_number": 2}],
            returning="representation",
        )
        .execute()
    )
    first, second = (row["id"] for row in classes.data)
    a, b, c = unique("a"), unique("b"), unique("c")
    await (
        cb.rdb.table("students")
        .insert(
            [
                {"name": a, "class_id": first},
                {"name": b, "class_id": first},
                {"name": c, "class_id": second},
            ]
        )
        .execute()
    )

    forward = await (
        cb.rdb.table("students")
        .select("name", "class:classes(grade,class_number)")
        .eq("name", c)
        .single()
        .execute()
    )
    assert forward.data == {"name": c, "class": {"grade": grade, "class_number": 2}}

    reverse = await (
        cb.rdb.table("classes")
        .select("class_number,students(name)")
        .eq("grade", grade)
        .order("class_number")
        .order("name", desc=True, referenced_table="students")
        .limit(1, referenced_table="students")
        .execute()
    )
    assert reverse.data == [
        {"class_number": 1, "students": [{"name": b}]},
        {"class_number": 2, "students": [{"name": c}]},
    ]

    inner = await (
        cb.rdb.table("classes")
        .select("class_number,students!inner(name)")
        .eq("grade", grade)
        .eq("students.name", a)
        .execute()
    )
    assert inner.data == [{"class_number": 1, "students": [{"name": a}]}]


async def _filter_rows(cb: CloudBase) -> tuple[Any, list[str], str]:
    """Three students under a fresh tag: the query of their names, the names, the tag."""
    students = cb.rdb.table("students")
    tag = unique("tag")
    odd = 'O\'Brien, (Jr.) "x\\y" 张三'
    names = [unique("p"), unique("q"), odd + tag]
    await students.insert(
        [
            {"name": names[0], "age": 10, "note": tag, "tags": ["a", "b c"], "meta": {"k": 1}},
            {"name": names[1], "age": 20, "note": tag, "tags": ["d"], "meta": {"k": 2}},
            {"name": names[2], "age": None, "note": tag, "tags": [], "meta": None},
        ]
    ).execute()
    return students.select("name").eq("note", tag).order("name"), names, tag


async def names_of(query: Any) -> list[str]:
    return [row["name"] for row in (await query.execute()).data]


async def test_filters_or_and_not(cb: CloudBase) -> None:
    base, names, tag = await _filter_rows(cb)
    assert await names_of(base.or_(f.eq("age", 10), f.eq("name", names[2]))) == sorted(
        [names[0], names[2]]
    )
    assert await names_of(
        base.or_(f.and_(f.gte("age", 15), f.lt("age", 25)), f.is_("age", None))
    ) == sorted([names[1], names[2]])
    assert await names_of(base.not_("age", "eq", 10)) == [names[1]]  # NULL <> 10 is unknown
    assert await names_of(base.not_(f.in_("name", [names[0], names[1]]))) == [names[2]]
    assert await names_of(base.or_(~f.is_("age", None), f.like("name", "O'Brien%"))) == sorted(
        names
    )
    assert await names_of(base.like("name", "%(Jr.)%")) == [names[2]]
    assert await names_of(base.ilike("name", "o'brien*")) == [names[2]]
    assert await names_of(base.like_any_of("name", [f"{names[0][:3]}%", "O'B%"])) == sorted(
        [names[0], names[2]]
    )
    assert await names_of(base.match({"age": 20, "note": tag})) == [names[1]]
    assert await names_of(base.filter("age", "not.is", None)) == sorted(names[:2])


async def test_array_json_and_text_search_filters(server: RdbServer, cb: CloudBase) -> None:
    # PostgREST answers these; the engine (no arrays, no jsonb operators, no text
    # search) must refuse each one loudly, naming the operator.
    base, names, _ = await _filter_rows(cb)
    cases = [
        (base.contains("tags", ["b c"]), [names[0]], "array/range/json containment (cs)"),
        (base.overlaps("tags", ["a", "d"]), sorted(names[:2]), "array/range overlap (ov)"),
        (
            base.contained_by("tags", ["d", "e"]),
            sorted(names[1:]),
            "array/range/json containment (cd)",
        ),
        (base.contains("meta", {"k": 2}), [names[1]], "array/range/json containment (cs)"),
        (base.text_search("name", "brien", config="simple"), [names[2]], "full-text search (fts)"),
    ]
    for query, expected, feature in cases:
        if server.kind == "postgrest":
            assert await names_of(query) == expected, feature
            continue
        with pytest.raises(BadRequestError) as refused:
            await query.execute()
        assert (refused.value.status_code, refused.value.code) == (400, UNSUPPORTED_CODE)
        assert feature in refused.value.message, feature


async def test_errors(server: RdbServer, cb: CloudBase) -> None:
    students = cb.rdb.table("students")
    name = unique()
    await students.insert({"name": name}).execute()
    with pytest.raises(ConflictError) as conflict:
        await students.insert({"name": name}).execute()
    assert (conflict.value.status_code, conflict.value.code) == (409, "23505")
    assert conflict.value.details == f"Key (name)=({name}) already exists."

    with pytest.raises(BadRequestError) as unknown:
        await students.select("nope").execute()
    assert (unknown.value.status_code, unknown.value.code) == (400, "42703")
    with pytest.raises(BadRequestError) as hinted:
        await students.select().eq("nme", 1).execute()
    assert hinted.value.hint is not None
    assert "students" in hinted.value.hint

    with pytest.raises(BadRequestError) as not_null:
        await students.insert({"age": 1}).execute()
    assert not_null.value.code == "23502"

    with pytest.raises(NotFoundError) as missing:
        await cb.rdb.table("no_such_table").select().execute()
    assert missing.value.code == "42P01"

    async with server.client("anon") as anon:
        assert isinstance((await anon.rdb.table("students").select().limit(1).execute()).data, list)
        with pytest.raises(PermissionDeniedError) as anon_denied:
            await anon.rdb.table("students").insert({"name": unique()}).execute()
        assert (anon_denied.value.status_code, anon_denied.value.code) == (401, "42501")

    async with server.client_with_token("not.a.jwt") as bad:
        with pytest.raises(AuthenticationError) as rejected:
            await bad.rdb.table("students").select().execute()
        assert rejected.value.code == "PGRST301"

    with pytest.raises(InvalidRequestError):
        await students.delete().execute()


@postgrest_only("grants: the engine's roles are coarse, without per-table privileges")
async def test_a_table_without_grants_is_denied(cb: CloudBase) -> None:
    with pytest.raises(PermissionDeniedError) as denied:
        await cb.rdb.table("secrets").select().execute()
    assert (denied.value.status_code, denied.value.code) == (403, "42501")


async def test_unfiltered_delete_opt_in(cb: CloudBase) -> None:
    table = cb.rdb.mysql("other").table("notes")
    await table.insert([{"body": "x"}, {"body": "y"}]).execute()
    with pytest.raises(InvalidRequestError):
        await table.update({"body": "z"}).execute()
    changed = await table.update({"body": "z"}, count="exact").all_rows().execute()
    assert changed.count is not None
    assert changed.count >= 2
    assert {row["body"] for row in (await table.select("body").execute()).data} == {"z"}


async def test_rpc(cb: CloudBase) -> None:
    assert (await cb.rdb.rpc("add_numbers", {"a": 2, "b": 3}).execute()).data == 5
    assert (await cb.rdb.rpc("add_numbers", {"a": 2, "b": 3}, get=True).execute()).data == 5
    tag = unique("tag")
    names = sorted(unique() for _ in range(3))
    await (
        cb.rdb.table("students")
        .insert([{"name": n, "age": 200 + i, "note": tag} for i, n in enumerate(names)])
        .execute()
    )
    older = await (
        cb.rdb.rpc("students_older_than", {"min_age": 199}, count="exact")
        # PostgREST 12.0 filters a function's rows after select=: keep filtered columns.
        .select("name,note")
        .eq("note", tag)
        .order("name", desc=True)
        .limit(2)
        .execute()
    )
    assert older.data == [{"name": names[2], "note": tag}, {"name": names[1], "note": tag}]
    assert older.count == 3
    nobody = await (
        cb.rdb.rpc("students_older_than", {"min_age": 1_000_000}, count="exact")
        .select("name,note")
        .eq("note", tag)
        .order("name")
        .execute()
    )
    assert (nobody.data, nobody.count) == ([], 0)  # an empty set is still a set


async def test_mysql_mode_selects_the_schema_with_profile_headers(cb: CloudBase) -> None:
    other = cb.rdb.mysql("other")
    body = unique("note")
    created = (
        await other.table("notes").insert({"body": body}, returning="representation").execute()
    )
    assert created.data[0]["body"] == body
    found = await other.table("notes").select("body").eq("body", body).single().execute()
    assert found.data == {"body": body}
    with pytest.raises(NotFoundError):  # public has no "notes" table
        await cb.rdb.table("notes").select().execute()


async def test_pagination_over_5000_rows(cb: CloudBase) -> None:
    items = cb.rdb.table("items")
    ids = [row["id"] async for row in items.select("id").paginate(page_size=700)]
    assert ids == list(range(1, 5001))

    by_bucket = [
        (row["bucket"], row["id"])
        async for row in items.select("id,bucket").order("bucket").paginate(page_size=999)
    ]
    assert len(by_bucket) == 5000
    assert by_bucket == sorted(by_bucket)  # bucket, then the id tie-breaker

    filtered = [
        row.extra["n"]
        async for row in (
            items.select("id,n").eq("bucket", 3).returns(_Item).paginate(page_size=128)
        )
    ]
    assert len(filtered) == 500

    page = await items.select("id").order("id").page(7, page_size=300)
    assert (page.count, page.total_pages, page.has_next) == (5000, 17, True)
    assert [row["id"] for row in page.items][:2] == [1801, 1802]
    past = await items.select("id").order("id").page(18, page_size=300)
    assert (past.items, past.count) == ([], 5000)
    assert checked_out(cb) == 0


@attrs.frozen
class _Item:
    id: int
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


# --- names PostgREST reserves for its own parameters ----------------------------------

RESERVED = ["select", "columns", "on_conflict", "order", "limit", "offset", "and", "or", "not"]


async def test_reserved_names_never_pass_as_a_row_filter(server: RdbServer, cb: CloudBase) -> None:
    # The calls that once changed every row of a table without such columns: PostgREST
    # took the keys for its own parameters, so the write had no filter at all.
    students = cb.rdb.table("students")
    name = unique()
    await students.insert([{"name": name, "age": 1}, {"name": unique(), "age": 2}]).execute()
    before = server.count("students")
    calls = [
        students.delete().match({"columns": "1"}),
        students.delete().match({"on_conflict": "x"}),
        students.update({"age": 99}).eq("on_conflict", "1"),
        *(students.delete().eq(word, "1") for word in RESERVED),
        *(students.update({"age": 99}).eq(word, "1") for word in RESERVED),
    ]
    for call in calls:
        with pytest.raises(BadRequestError) as caught:  # a filter on a column students lacks
            await call.execute()
        assert caught.value.code == "42703", call
    assert server.count("students") == before
    assert server.count("students", "age = 99") == 0
    # A JSON key with a dot would be read as a parameter too: refused before sending.
    with pytest.raises(InvalidRequestError, match="quote the JSON key"):
        await students.delete().eq("meta->a.limit", 1).execute()
    # ... and a filter whose key holds a dot does not count as a row filter.
    with pytest.raises(InvalidRequestError, match="all_rows"):
        await students.delete().eq("meta->a.b", 1).execute()
    assert server.count("students") == before


async def test_columns_named_like_reserved_words_filter_update_and_delete(
    server: RdbServer, cb: CloudBase
) -> None:
    words = cb.rdb.table("reserved_words")
    tag = unique("tag")
    rows = [{"tag": tag, **{word: f"{word}-{i}" for word in RESERVED}} for i in range(3)]
    inserted = await words.insert(rows, returning="representation").execute()
    ids = [row["id"] for row in inserted.data]
    mine = words.select("id").eq("tag", tag)

    for word in RESERVED:
        found = await mine.eq(word, f"{word}-1").execute()
        assert found.data == [{"id": ids[1]}], word
        inside = mine.or_(f.eq(word, f"{word}-0"), f.eq(word, f"{word}-2")).order("id")
        assert (await inside.execute()).data == [{"id": ids[0]}, {"id": ids[2]}], word
        matched = await mine.match({word: f"{word}-2", "tag": tag}).execute()
        assert matched.data == [{"id": ids[2]}], word

    # Selected, ordered, and written back by those names.
    listed = await (
        words.select("order,limit").eq("tag", tag).order("order", desc=True).limit(1)
    ).execute()
    assert listed.data == [{"order": "order-2", "limit": "limit-2"}]
    for word in RESERVED:
        updated = await (
            words.update({word: "changed"}, count="exact").eq("tag", tag).eq(word, f"{word}-0")
        ).execute()
        assert updated.count == 1, word
        assert server.count("reserved_words", f"tag = '{tag}' AND \"{word}\" = 'changed'") == 1
    deleted = await words.delete(count="exact").eq("tag", tag).eq("columns", "changed").execute()
    assert deleted.count == 1
    alone = words.delete(returning="representation").eq("on_conflict", "on_conflict-1")
    assert [row["id"] for row in (await alone.execute()).data] == [ids[1]]
    assert server.count("reserved_words", f"tag = '{tag}'") == 1


async def test_embedded_columns_named_like_reserved_words(cb: CloudBase) -> None:
    words = cb.rdb.table("reserved_words")
    tag = unique("tag")
    created = await words.insert([{"tag": tag}, {"tag": tag}], returning="representation").execute()
    first, second = (row["id"] for row in created.data)
    await (
        cb.rdb.table("reserved_kids")
        .insert([{"word_id": first, "order": "a", "limit": "x"}, {"word_id": second, "order": "b"}])
        .execute()
    )
    found = await (
        words.select("id,reserved_kids!inner(order)")
        .eq("tag", tag)
        .eq("reserved_kids.order", "b")
        .execute()
    )
    assert found.data == [{"id": second, "reserved_kids": [{"order": "b"}]}]
    limited = await (
        words.select("id,reserved_kids!inner(id)")
        .eq("tag", tag)
        .eq("reserved_kids.limit", "x")
        .execute()
    )
    assert [row["id"] for row in limited.data] == [first]


async def test_function_arguments_named_like_reserved_words(cb: CloudBase) -> None:
    args = {"limit": 3, "order": "desc"}
    assert (await cb.rdb.rpc("reserved_args", args, get=True).execute()).data == "desc:3"
    assert (await cb.rdb.rpc("reserved_args", args).execute()).data == "desc:3"


async def test_dot_names_are_refused_before_sending(cb: CloudBase) -> None:
    for make in (
        lambda name: cb.rdb.table(name),
        lambda name: cb.rdb.schema(name),
        lambda name: cb.rdb.instance(name),
        lambda name: cb.rdb.rpc(name),
    ):
        for name in (".", ".."):
            with pytest.raises(InvalidRequestError, match="must not be"):
                make(name)


# --- the encoder, end to end: any string finds exactly its own row --------------------

_SPECIAL = [
    "",
    " ",
    "null",
    "NULL",
    "true",
    "a,b",
    "(x)",
    'say "hi"',
    "back\\slash",
    '\\"',
    "%",
    "*",
    "50%_off*",
    "a.b:c",
    "{1,2}",
    "+plus+",
    "张三",
    "tab\there",
    "line\nbreak",
    "  padded  ",
    "é́ combining",
    "🙂",
]
_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30
)


async def _round_trip(server: RdbServer, value: str) -> None:
    async with server.client() as cb:
        strings = cb.rdb.table("strings")
        inserted = await strings.insert({"value": value}, returning="representation").execute()
        row_id = inserted.data[0]["id"]
        # A list item no row holds: a fixed one ("x") may have been inserted by an
        # earlier example, and its row would then match too.
        decoy = unique("decoy")
        queries = {
            "eq": strings.select().eq("value", value),
            "in": strings.select().in_("value", [value]),
            "in2": strings.select().in_("value", [decoy, value]),
            "or": strings.select().or_(f.eq("value", value), f.eq("id", -1)),
            "or_in": strings.select().or_(f.in_("value", [value, decoy]), f.is_("id", None)),
            "not": strings.select().eq("id", row_id).not_("value", "neq", value),
        }
        for name, query in queries.items():
            rows = (await query.execute()).data
            assert row_id in {row["id"] for row in rows}, (name, value)
            assert all(row["value"] == value for row in rows), (name, value)


async def test_reserved_strings_round_trip(server: RdbServer) -> None:
    for value in _SPECIAL:
        await _round_trip(server, value)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.one_of(st.sampled_from(_SPECIAL), _TEXT))
def test_any_string_round_trips_through_filters(server: RdbServer, value: str) -> None:
    anyio.run(_round_trip, server, value)
