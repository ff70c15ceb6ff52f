"""Builders → requests, at string level: method, path, ordered params, headers, body."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from cloudbase_async import CloudBase, InvalidRequestError
from cloudbase_async._core.transport import Request
from cloudbase_async._core.types import UNSET
from cloudbase_async.rdb import Rdb, filters as f
from cloudbase_async.rdb._builder import QueryBuilder


@pytest.fixture
def rdb() -> Rdb:
    # Building requests sends nothing: the client's pool is never opened.
    return CloudBase(env="env-1", api_key="k").rdb


def params(request: Request) -> list[tuple[str, Any]]:
    assert isinstance(request.params, list)
    return request.params


def q(rdb: Rdb) -> QueryBuilder[dict[str, Any]]:
    return rdb.table("students").select()


def filter_pair(query: QueryBuilder[Any]) -> tuple[str, Any]:
    pairs = params(query.build())
    assert pairs[0] == ("select", "*")
    assert len(pairs) == 2, pairs
    return pairs[1]


def test_select_request(rdb: Rdb) -> None:
    request = rdb.table("students").select("id, name", "classes(grade, class_number)").build()
    assert request.method == "GET"
    assert request.service == "rdb"
    assert request.path == "/students"
    assert params(request) == [("select", "id,name,classes(grade,class_number)")]
    assert request.headers == {"Accept": "application/json"}
    assert request.json is UNSET
    assert request.retry_safe is None  # GET: the transport retries it


@pytest.mark.parametrize(
    ("build", "pair"),
    [
        (lambda b: b.eq("name", "张三"), ("name", "eq.张三")),
        (lambda b: b.eq("name", "a,b(c)"), ("name", "eq.a,b(c)")),
        (lambda b: b.neq("age", 3), ("age", "neq.3")),
        (lambda b: b.gt("age", 3), ("age", "gt.3")),
        (lambda b: b.gte("age", 3.5), ("age", "gte.3.5")),
        (lambda b: b.lt("born", dt.date(2000, 1, 2)), ("born", "lt.2000-01-02")),
        (lambda b: b.lte("age", 3), ("age", "lte.3")),
        (lambda b: b.like("name", "%张三%"), ("name", "like.%张三%")),
        (lambda b: b.ilike("name", "a*"), ("name", "ilike.a*")),
        (lambda b: b.like_all_of("name", ["a*", "*b"]), ("name", "like(all).{a*,*b}")),
        (lambda b: b.like_any_of("name", ["a b*"]), ("name", 'like(any).{"a b*"}')),
        (lambda b: b.ilike_all_of("name", ["a*"]), ("name", "ilike(all).{a*}")),
        (lambda b: b.ilike_any_of("name", ["a*", "b*"]), ("name", "ilike(any).{a*,b*}")),
        (lambda b: b.is_("age", None), ("age", "is.null")),
        (lambda b: b.is_("ok", True), ("ok", "is.true")),
        (lambda b: b.is_("ok", False), ("ok", "is.false")),
        (lambda b: b.in_("grade", [1, 2]), ("grade", "in.(1,2)")),
        (lambda b: b.in_("name", ["a,b", 'x"y', "null"]), ("name", 'in.("a,b","x\\"y","null")')),
        (lambda b: b.in_("name", []), ("name", "in.()")),
        (lambda b: b.contains("tags", ["a", "b c"]), ("tags", 'cs.{a,"b c"}')),
        (lambda b: b.contains("meta", {"a": 1}), ("meta", 'cs.{"a":1}')),
        (lambda b: b.contains("period", "[1,5)"), ("period", "cs.[1,5)")),
        (lambda b: b.contained_by("tags", ["a"]), ("tags", "cd.{a}")),
        (lambda b: b.overlaps("tags", ["a", "b"]), ("tags", "ov.{a,b}")),
        (lambda b: b.overlaps("period", (1, 5)), ("period", "ov.[1,5)")),
        (lambda b: b.range_gt("period", (1, 5)), ("period", "sr.[1,5)")),
        (lambda b: b.range_gte("period", "(1,5]"), ("period", "nxl.(1,5]")),
        (lambda b: b.range_lt("period", (1, 5)), ("period", "sl.[1,5)")),
        (lambda b: b.range_lte("period", (1, 5)), ("period", "nxr.[1,5)")),
        (lambda b: b.range_adjacent("period", (1, 5)), ("period", "adj.[1,5)")),
        (lambda b: b.text_search("doc", "cat & dog"), ("doc", "fts.cat & dog")),
        (
            lambda b: b.text_search("doc", "cat dog", config="english", type="plain"),
            ("doc", "plfts(english).cat dog"),
        ),
        (lambda b: b.text_search("doc", "a b", type="phrase"), ("doc", "phfts.a b")),
        (lambda b: b.text_search("doc", '"a" -b', type="websearch"), ("doc", 'wfts."a" -b')),
        (lambda b: b.filter("tags", "cs", ["x"]), ("tags", "cs.{x}")),
        (lambda b: b.filter("id", "in", "(1,2)"), ("id", "in.(1,2)")),
        (lambda b: b.filter("id", "not.in", [1, 2]), ("id", "not.in.(1,2)")),
        (lambda b: b.filter("x", "is", None), ("x", "is.null")),
        (lambda b: b.not_("age", "gte", 18), ("age", "not.gte.18")),
        (lambda b: b.not_(f.in_("grade", [1, 2])), ("grade", "not.in.(1,2)")),
        (lambda b: b.not_(f.or_(f.eq("a", 1), f.eq("b", 2))), ("not.or", "(a.eq.1,b.eq.2)")),
        (
            lambda b: b.or_(f.eq("name", "a,b"), f.and_(f.gte("age", 18), f.is_("note", None))),
            ("or", '(name.eq."a,b",and(age.gte.18,note.is.null))'),
        ),
        (lambda b: b.or_("grade.eq.1,grade.eq.2"), ("or", "(grade.eq.1,grade.eq.2)")),
        (
            lambda b: b.or_(f.eq("grade", 1), referenced_table="classes"),
            ("classes.or", "(grade.eq.1)"),
        ),
        (lambda b: b.and_(f.eq("a", 1), "b.eq.2"), ("and", "(a.eq.1,b.eq.2)")),
        (lambda b: b.eq("classes.grade", 1), ("classes.grade", "eq.1")),
        (lambda b: b.eq("meta->>k", "v"), ("meta->>k", "eq.v")),
    ],
)
def test_every_filter(rdb: Rdb, build: Any, pair: tuple[str, str]) -> None:
    assert filter_pair(build(q(rdb))) == pair


def test_match_and_where_add_one_pair_per_column(rdb: Rdb) -> None:
    request = q(rdb).match({"a": 1, "b": "x y"}).where(f.match({"c": True})).build()
    assert params(request) == [("select", "*"), ("a", "eq.1"), ("b", "eq.x y"), ("c", "eq.true")]


def test_repeated_keys_keep_their_order(rdb: Rdb) -> None:
    request = q(rdb).gte("age", 1).lte("age", 9).or_("a.eq.1").or_("b.eq.2").build()
    assert params(request) == [
        ("select", "*"),
        ("age", "gte.1"),
        ("age", "lte.9"),
        ("or", "(a.eq.1)"),
        ("or", "(b.eq.2)"),
    ]


def test_builders_are_immutable(rdb: Rdb) -> None:
    base = q(rdb).eq("grade", 1)
    a = base.eq("name", "a")
    b = base.eq("name", "b").order("id")
    assert params(base.build()) == [("select", "*"), ("grade", "eq.1")]
    assert params(a.build()) == [("select", "*"), ("grade", "eq.1"), ("name", "eq.a")]
    assert params(b.build()) == [
        ("select", "*"),
        ("grade", "eq.1"),
        ("name", "eq.b"),
        ("order", "id.asc"),
    ]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        base.spec = b.spec  # type: ignore[misc]


def test_modifiers(rdb: Rdb) -> None:
    request = (
        q(rdb)
        .order("grade", desc=True, nulls_first=False)
        .order("name")
        .order("number", nulls_first=True, referenced_table="classes")
        .limit(10)
        .offset(5)
        .limit(2, referenced_table="classes")
        .build()
    )
    assert params(request) == [
        ("select", "*"),
        ("order", "grade.desc.nullslast,name.asc"),
        ("classes.order", "number.asc.nullsfirst"),
        ("limit", "10"),
        ("classes.limit", "2"),
        ("offset", "5"),
    ]


def test_range_is_inclusive_and_replaces_limit_offset(rdb: Rdb) -> None:
    request = q(rdb).limit(3).range(10, 19).build()
    assert params(request) == [("select", "*"), ("limit", "10"), ("offset", "10")]
    with pytest.raises(InvalidRequestError):
        q(rdb).range(5, 4)
    with pytest.raises(InvalidRequestError):
        q(rdb).limit(-1)


def test_count_and_head(rdb: Rdb) -> None:
    request = rdb.table("t").select("id", count="exact", head=True).build()
    assert request.method == "HEAD"
    assert request.headers["Prefer"] == "count=exact"
    planned = rdb.table("t").select(count="planned").build()
    assert planned.method == "GET"
    assert planned.headers["Prefer"] == "count=planned"
    with pytest.raises(InvalidRequestError):
        rdb.table("t").select(count="all")  # type: ignore[arg-type]


def test_single_and_maybe_single_ask_for_one_object(rdb: Rdb) -> None:
    for query in (q(rdb).eq("id", 1).single(), q(rdb).eq("id", 1).maybe_single()):
        assert query.build().headers["Accept"] == "application/vnd.pgrst.object+json"


def test_insert_one_row(rdb: Rdb) -> None:
    request = rdb.table("t").insert({"name": "a", "born": dt.date(2000, 1, 1)}).build()
    assert request.method == "POST"
    assert request.path == "/t"
    assert params(request) == []
    assert request.headers == {"Prefer": "return=minimal", "Accept": "application/json"}
    assert request.json == {"name": "a", "born": "2000-01-01"}


def test_bulk_insert_sends_columns_and_options(rdb: Rdb) -> None:
    request = (
        rdb.table("t")
        .insert(
            [{"name": "a"}, {"name": "b", "age": 3}],
            returning="representation",
            count="exact",
            default_to_null=False,
        )
        .build()
    )
    assert params(request) == [("columns", '"name","age"')]
    assert request.headers["Prefer"] == "return=representation,count=exact,missing=default"
    assert request.json == [{"name": "a"}, {"name": "b", "age": 3}]


def test_insert_attrs_instances(rdb: Rdb) -> None:
    @attrs.frozen
    class Student:
        name: str
        age: int | None = None

    request = rdb.table("t").insert([Student("a"), Student("b", 2)]).build()
    assert request.json == [{"name": "a", "age": None}, {"name": "b", "age": 2}]


def test_write_select_asks_for_representation(rdb: Rdb) -> None:
    request = rdb.table("t").insert({"name": "a"}).select("id, name").build()
    assert params(request) == [("select", "id,name")]
    assert request.headers["Prefer"] == "return=representation"


def test_insert_refuses_filters_and_bad_rows(rdb: Rdb) -> None:
    with pytest.raises(InvalidRequestError):
        rdb.table("t").insert({"a": 1}).eq("a", 1).build()
    with pytest.raises(InvalidRequestError):
        rdb.table("t").insert("row")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        rdb.table("t").insert([1, 2])  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError):
        rdb.table("t").insert({"a": 1}, returning="all")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ignore", "resolution"),
    [(False, "merge-duplicates"), (True, "ignore-duplicates")],
)
def test_upsert(rdb: Rdb, ignore: bool, resolution: str) -> None:
    request = (
        rdb.table("t")
        .upsert(
            [{"name": "a", "age": 1}],
            on_conflict="name, school",
            ignore_duplicates=ignore,
            returning="representation",
        )
        .build()
    )
    assert request.method == "POST"
    assert params(request) == [("columns", '"name","age"'), ("on_conflict", "name,school")]
    assert request.headers["Prefer"] == f"return=representation,resolution={resolution}"


def test_update_and_delete(rdb: Rdb) -> None:
    update = rdb.table("t").update({"age": 4}, count="exact").eq("id", 7).build()
    assert update.method == "PATCH"
    assert params(update) == [("id", "eq.7")]
    assert update.json == {"age": 4}
    assert update.headers["Prefer"] == "return=minimal,count=exact"
    delete = rdb.table("t").delete(returning="representation").in_("id", [1, 2]).build()
    assert delete.method == "DELETE"
    assert params(delete) == [("id", "in.(1,2)")]
    assert delete.json is UNSET
    assert delete.headers["Prefer"] == "return=representation"
    with pytest.raises(InvalidRequestError):
        rdb.table("t").update({})


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_unfiltered_update_or_delete_is_refused(rdb: Rdb, verb: str) -> None:
    table = rdb.table("t")
    query = table.update({"a": 1}) if verb == "update" else table.delete()
    with pytest.raises(InvalidRequestError, match="all_rows"):
        query.build()
    # Limits and filters on an embedded resource do not restrict the table's rows.
    with pytest.raises(InvalidRequestError):
        query.limit(1).order("id").build()
    with pytest.raises(InvalidRequestError):
        query.eq("classes.grade", 1).build()
    with pytest.raises(InvalidRequestError):
        query.or_(f.eq("a", 1), referenced_table="classes").build()
    assert params(query.all_rows().build()) == []
    assert params(query.or_(f.eq("a", 1), f.eq("a", 2)).build()) == [("or", "(a.eq.1,a.eq.2)")]
    assert params(query.is_("a", None).build()) == [("a", "is.null")]


@pytest.mark.parametrize(
    "build",
    [
        lambda t: t.delete().match({"columns": "1"}),
        lambda t: t.delete().match({"on_conflict": "x"}),
        lambda t: t.update({"a": 1}).eq("on_conflict", "1"),
        lambda t: t.delete().where(f.eq("limit", 1)),
        lambda t: t.delete().filter("order", "gt", 1),
        lambda t: t.delete().not_("offset", "eq", 1),
    ],
)
def test_reserved_column_names_are_quoted_filters(rdb: Rdb, build: Any) -> None:
    pairs = params(build(rdb.table("t")).build())
    assert len(pairs) == 1
    key, _ = pairs[0]
    assert key.startswith('"')
    assert key.endswith('"')


def test_reserved_names_in_every_position(rdb: Rdb) -> None:
    request = (
        rdb.table("t")
        .select("order,limit")
        .eq("columns", 1)
        .eq("classes.order", 2)
        .or_(f.eq("or", 3), f.eq("select", 4))
        .order("limit", desc=True)
        .limit(5)
        .build()
    )
    assert params(request) == [
        ("select", "order,limit"),
        ('"columns"', "eq.1"),
        ('classes."order"', "eq.2"),
        ("or", "(or.eq.3,select.eq.4)"),  # inside a tree a name is only a name
        ("order", "limit.desc"),
        ("limit", "5"),
    ]


def test_a_filter_key_with_a_dot_does_not_satisfy_the_guard(rdb: Rdb) -> None:
    with pytest.raises(InvalidRequestError, match="all_rows"):
        rdb.table("t").delete().eq("meta->a.b", 1).build()
    with pytest.raises(InvalidRequestError, match="quote the JSON key"):
        rdb.table("t").delete().eq("meta->a.or", 1)
    assert params(rdb.table("t").delete().eq("meta->>k", 1).build()) == [("meta->>k", "eq.1")]


def test_rpc_arguments_named_like_parameters_are_quoted(rdb: Rdb) -> None:
    request = rdb.rpc("fn", {"limit": 1, "order": "x", "n": 2}, get=True).build()
    assert params(request) == [('"limit"', "1"), ('"order"', "x"), ("n", "2")]


@pytest.mark.parametrize("name", [".", "..", "", "a\nb", "a\x00"])
def test_names_that_would_leave_their_path_are_refused(rdb: Rdb, name: str) -> None:
    for make in (rdb.table, rdb.from_, rdb.schema, rdb.instance, rdb.rpc):
        with pytest.raises(InvalidRequestError):
            make(name)
    assert rdb.table("...").select().build().path == "/..."  # only . and .. are special


def test_paths(rdb: Rdb) -> None:
    assert rdb.from_("students").select().build().path == "/students"
    assert rdb.schema("db1").table("t").select().build().path == "/db1/t"
    assert rdb.instance("ins-1").schema("db1").table("t").select().build().path == "/ins-1/db1/t"
    assert rdb.table("表 a/b").select().build().path == "/%E8%A1%A8%20a%2Fb"
    with pytest.raises(InvalidRequestError):
        rdb.instance("ins-1").table("t")
    with pytest.raises(InvalidRequestError):
        rdb.table("")


def test_mysql_mode_sends_instance_and_both_profiles_on_every_request(rdb: Rdb) -> None:
    # The official SDKs send X-Db-Instance and both profile headers whatever the verb.
    mysql = rdb.mysql()
    read = mysql.table("t").select().build()
    assert read.path == "/t"
    assert read.headers == {
        "Accept": "application/json",
        "X-Db-Instance": "default",
        "Accept-Profile": "env-1",
        "Content-Profile": "env-1",
    }
    shop = rdb.mysql("shop", instance="ins-9")
    requests = [
        shop.table("t").select().build(),
        shop.table("t").select(head=True).build(),
        shop.table("t").insert({"a": 1}).build(),
        shop.table("t").upsert({"a": 1}).build(),
        shop.table("t").update({"a": 1}).eq("id", 1).build(),
        shop.table("t").delete().eq("id", 1).build(),
        shop.rpc("fn", {"a": 1}).build(),
        shop.rpc("fn", {"a": 1}, get=True).build(),
    ]
    for request in requests:
        mysql_headers = {k: v for k, v in request.headers.items() if k not in ("Accept", "Prefer")}
        assert mysql_headers == {
            "X-Db-Instance": "ins-9",
            "Accept-Profile": "shop",
            "Content-Profile": "shop",
        }, request.method
    plain = rdb.table("t").select().build()
    for header in ("X-Db-Instance", "Accept-Profile", "Content-Profile"):
        assert header not in plain.headers


def test_rpc(rdb: Rdb) -> None:
    post = rdb.rpc("add", {"a": 1, "when": dt.date(2024, 1, 1)}, count="exact").build()
    assert post.method == "POST"
    assert post.path == "/rpc/add"
    assert post.json == {"a": 1, "when": "2024-01-01"}
    assert post.headers["Prefer"] == "count=exact"
    assert params(post) == []
    get = rdb.rpc("find", {"tags": ["a", "b c"], "n": 2}, get=True).gt("age", 3).limit(2).build()
    assert get.method == "GET"
    assert get.json is UNSET
    assert params(get) == [("tags", '{a,"b c"}'), ("n", "2"), ("age", "gt.3"), ("limit", "2")]
    head = rdb.rpc("find", head=True, count="exact").build()
    assert head.method == "HEAD"
    selected = rdb.rpc("rows", {}).select("name").build()
    assert params(selected) == [("select", "name")]
    assert "Prefer" not in selected.headers  # a function call is not a write


def test_none_in_comparisons_is_refused(rdb: Rdb) -> None:
    with pytest.raises(InvalidRequestError, match="is_"):
        q(rdb).eq("a", None)
    with pytest.raises(InvalidRequestError):
        q(rdb).in_("a", [1, None])
    with pytest.raises(InvalidRequestError):
        q(rdb).in_("a", "abc")


def test_public_names_stay_where_they_were() -> None:
    import cloudbase_async.rdb as rdb_package

    for name in (
        "Condition",
        "CountMethod",
        "DEFAULT_MYSQL_INSTANCE",
        "Group",
        "MaybeSingleQuery",
        "MultipleRowsError",
        "NoRowsError",
        "QueryBuilder",
        "Rdb",
        "RdbPage",
        "RdbResult",
        "Returning",
        "RowCountError",
        "RpcBuilder",
        "SingleQuery",
        "Table",
        "filters",
        "parse_content_range",
    ):
        assert name in rdb_package.__all__
        assert getattr(rdb_package, name) is not None
    for name in f.__all__:
        assert callable(getattr(f, name)), name
