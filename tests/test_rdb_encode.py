"""The one filter-value encoder, at string level (no HTTP)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

import httpx
import pytest

from cloudbase_async import InvalidRequestError
from cloudbase_async.rdb import filters as f, parse_content_range
from cloudbase_async.rdb._encode import (
    RESERVED_KEYS,
    RESERVED_LAST_WORDS,
    clean_columns,
    format_array,
    format_list,
    format_range,
    format_scalar,
    is_parameter_key,
    jsonable,
    query_key,
    quote_item,
    render_top,
    render_tree,
    restricts_rows,
)


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ("a,b.c:(d)", "a,b.c:(d)"),  # top-level text is never quoted
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.5, "1.5"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (Decimal("1.10"), "1.10"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2024-01-02T03:04:05+00:00"),
        (dt.time(12, 30), "12:30:00"),
        (Color.RED, "red"),
        (["a", "b c"], '{a,"b c"}'),
        ({"k": "张"}, '{"k":"张"}'),
    ],
)
def test_format_scalar(value: object, text: str) -> None:
    assert format_scalar(value) == text


def test_format_scalar_refuses_none_and_unknown_types() -> None:
    with pytest.raises(InvalidRequestError, match="is_"):
        format_scalar(None)
    with pytest.raises(InvalidRequestError, match="bytes"):
        format_scalar(b"x")


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("abc", "abc"),
        ("张三", "张三"),
        ("", '""'),
        ("a,b", '"a,b"'),
        ("a.b", '"a.b"'),
        ("a:b", '"a:b"'),
        ("f(x)", '"f(x)"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        (" lead", '" lead"'),
        ("tab\t", '"tab\t"'),
        ("{x}", '"{x}"'),
        ("null", '"null"'),
        ("NULL", '"NULL"'),
        ("true", '"true"'),
        ("50%*", "50%*"),  # wildcards are not grammar; httpx percent-encodes % once
    ],
)
def test_quote_item(text: str, item: str) -> None:
    assert quote_item(text) == item


def test_format_list() -> None:
    # true is quoted like the string "true": the same text either way
    assert format_list([1, "a,b", 'q"', True]) == '(1,"a,b","q\\"","true")'
    assert format_list([]) == "()"
    # A lone empty item would read as the empty list.
    assert format_list([""]) == '("","")'
    assert format_list(["", "x"]) == '("",x)'
    with pytest.raises(InvalidRequestError):
        format_list([None])


def test_format_array() -> None:
    assert format_array([1, 2]) == "{1,2}"
    assert format_array(["a b", "", "NULL", None, 'q"', "x\\y"]) == (
        '{"a b","","NULL",NULL,"q\\"","x\\\\y"}'
    )
    assert format_array([[1, 2], [3, 4]]) == "{{1,2},{3,4}}"


def test_format_range() -> None:
    assert format_range("(1,5]") == "(1,5]"
    assert format_range((1, 10)) == "[1,10)"
    assert format_range((None, dt.date(2024, 1, 1))) == "[,2024-01-01)"
    with pytest.raises(InvalidRequestError):
        format_range((1, 2, 3))


def test_clean_columns_keeps_quoted_whitespace() -> None:
    assert (
        clean_columns(' id, name ,classes ( grade ), "my col" ')
        == 'id,name,classes(grade),"my col"'
    )


def test_render_top_and_tree() -> None:
    condition = f.eq("name", "a,b")
    assert render_top(condition) == ("name", "eq.a,b")
    assert render_tree(condition) == 'name.eq."a,b"'
    assert render_top(~condition) == ("name", "not.eq.a,b")
    group = f.or_(f.eq("a", 1), f.and_(f.gt("b", 2), ~f.is_("c", None)), "d.eq.raw")
    assert render_top(group) == ("or", "(a.eq.1,and(b.gt.2,c.not.is.null),d.eq.raw)")
    assert render_top(~group, "classes") == (
        "classes.not.or",
        "(a.eq.1,and(b.gt.2,c.not.is.null),d.eq.raw)",
    )
    assert render_tree(f.in_("x", ["a b", 1])) == 'x.in.("a b",1)'
    assert render_tree(f.contains("tags", ["a", "b"])) == 'tags.cs."{a,b}"'


def test_is_never_quoted_even_in_trees() -> None:
    assert render_tree(f.is_("c", None)) == "c.is.null"
    assert render_tree(f.is_("c", True)) == "c.is.true"
    assert render_tree(f.is_("c", "unknown")) == "c.is.unknown"
    with pytest.raises(InvalidRequestError):
        f.is_("c", "maybe")  # type: ignore[arg-type]


def test_percent_encoding_happens_once_in_httpx() -> None:
    key, value = render_top(f.like("name", "%张三%"))
    url = httpx.Request("GET", "http://h/t", params=[(key, value)]).url
    assert str(url) == "http://h/t?name=like.%25%E5%BC%A0%E4%B8%89%25"
    assert url.params["name"] == "like.%张三%"


def test_jsonable() -> None:
    value = {
        "d": dt.date(2024, 1, 1),
        "u": uuid.UUID(int=2),
        "n": Decimal("0.1"),
        "e": Color.RED,
        "l": [dt.time(1, 2)],
        "x": None,
    }
    assert jsonable(value) == {
        "d": "2024-01-01",
        "u": "00000000-0000-0000-0000-000000000002",
        "n": "0.1",
        "e": "red",
        "l": ["01:02:00"],
        "x": None,
    }
    with pytest.raises(InvalidRequestError):
        jsonable({"b": b"x"})


@pytest.mark.parametrize(
    ("header", "total"),
    [
        ("0-9/100", 100),
        ("*/5", 5),
        ("*/0", 0),
        ("*/*", None),
        ("0-9/*", None),
        (None, None),
        ("", None),
        ("garbage", None),
        ("items 0-9/10", None),
    ],
)
def test_parse_content_range(header: str | None, total: int | None) -> None:
    assert parse_content_range(header) == total


def test_the_reserved_names_of_postgrest_12() -> None:
    # PostgREST 12's QueryParams.hs: `reserved` and `reservedEmbeddable`.
    assert {"select", "columns", "on_conflict"} == RESERVED_KEYS
    assert {"order", "limit", "offset", "and", "or"} == RESERVED_LAST_WORDS


@pytest.mark.parametrize(
    ("key", "reserved"),
    [
        ("select", True),
        ("columns", True),
        ("on_conflict", True),
        ("order", True),
        ("limit", True),
        ("offset", True),
        ("and", True),
        ("or", True),
        ("not.or", True),
        ("classes.order", True),
        ("classes.limit", True),
        ("classes.select", False),  # only the table's own select= is reserved
        ("not", False),
        ("is", False),
        ("in", False),
        ("Select", False),  # PostgREST compares case-sensitively
        ('"columns"', False),
        ('classes."order"', False),
        ("meta->>order", False),
        ("ordering", False),
    ],
)
def test_is_parameter_key(key: str, reserved: bool) -> None:
    assert is_parameter_key(key) is reserved


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("name", "name"),
        ("columns", '"columns"'),
        ("on_conflict", '"on_conflict"'),
        ("select", '"select"'),
        ("or", '"or"'),
        ("not", "not"),
        ("classes.order", 'classes."order"'),
        ("a.b.limit", 'a.b."limit"'),
        ("classes.select", "classes.select"),
        ("meta->>limit", "meta->>limit"),
        ('meta->"a.limit"', 'meta->"a.limit"'),
    ],
)
def test_query_key_quotes_reserved_names(column: str, key: str) -> None:
    assert query_key(column) == key
    assert not is_parameter_key(query_key(column))


def test_query_key_refuses_a_json_key_it_cannot_make_safe() -> None:
    with pytest.raises(InvalidRequestError, match="quote the JSON key"):
        query_key("meta->a.limit")


@pytest.mark.parametrize(
    ("key", "restricts"),
    [
        ("name", True),
        ('"columns"', True),
        ("meta->>k", True),
        ("or", True),
        ("and", True),
        ("not.or", True),
        ("not.and", True),
        ("classes.grade", False),
        ("classes.or", False),
        ('classes."order"', False),
        ("meta->a.b", False),  # PostgREST reads a key with a dot as an embedded filter
        ('"a.b"', False),
        ("columns", False),
        ("limit", False),
        ("select", False),
    ],
)
def test_restricts_rows(key: str, restricts: bool) -> None:
    assert restricts_rows(key) is restricts
