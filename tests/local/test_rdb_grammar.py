"""The PostgREST query-string grammar and its Parsec-style errors (pure functions).

Expected messages are PostgREST 12.0's own answers (checked against a running one; the
differential test keeps checking the same kinds of input end to end).
"""

from __future__ import annotations

import pytest

from cloudbase_async.local.rdb._errors import RdbError
from cloudbase_async.local.rdb._grammar import decode_query, parse_query, read_integer
from cloudbase_async.local.rdb._parsec import (
    haskell_show_char,
    haskell_show_string,
    source_position,
)
from cloudbase_async.local.rdb._query import (
    Field,
    Filter,
    In,
    Is,
    IsDistinct,
    JsonStep,
    LogicExpr,
    Op,
    OrderTerm,
    SelectField,
    SelectRelation,
)


@pytest.mark.parametrize(
    ("query", "message", "details"),
    [
        (
            "age=foo",
            '"failed to parse filter (foo)" (line 1, column 1)',
            'unexpected "f" expecting "not" or operator (eq, gt, ...)',
        ),
        (
            "age=eq",
            '"failed to parse filter (eq)" (line 1, column 3)',
            "unexpected end of input expecting operator (eq, gt, ...)",
        ),
        (
            "age=not.foo",
            '"failed to parse filter (not.foo)" (line 1, column 5)',
            'unexpected "f" expecting operator (eq, gt, ...)',
        ),
        (
            "age=in.1,2",
            '"failed to parse filter (in.1,2)" (line 1, column 4)',
            'unexpected "1" expecting "("',
        ),
        (
            "age=is.not_null",
            '"failed to parse filter (is.not_null)" (line 1, column 5)',
            'unexpected "o" expecting null or trilean value (unknown, true, false)',
        ),
        (
            "or=(age.eq.1",
            '"failed to parse logic tree ((age.eq.1)" (line 1, column 12)',
            'unexpected end of input expecting "," or ")"',
        ),
        (
            "or=()",
            '"failed to parse logic tree (())" (line 1, column 4)',
            'unexpected ")" expecting field name (* or [a..z0..9_$]), negation operator '
            "(not) or logic operator (and, or)",
        ),
        (
            "select=id,",
            '"failed to parse select parameter (id,)" (line 1, column 4)',
            'unexpected end of input expecting "...", field name (* or [a..z0..9_$]), "*" '
            'or "count()"',
        ),
        (
            "select=%20",
            '"failed to parse select parameter ( )" (line 1, column 2)',
            'unexpected end of input expecting "*", field name (* or [a..z0..9_$]) or "count()"',
        ),
        (
            "select=name->",
            '"failed to parse select parameter (name->)" (line 1, column 7)',
            'unexpected end of input expecting "-", digit or any non reserved character '
            "different from: .,>()",
        ),
        (
            "order=id.ac",
            '"failed to parse order (id.ac)" (line 1, column 4)',
            'unexpected "c" expecting "asc", "desc", "nullsfirst" or "nullslast"',
        ),
        (
            "order=id.descc",
            '"failed to parse order (id.descc)" (line 1, column 8)',
            "unexpected 'c' expecting delimiter (.), \",\" or end of input",
        ),
    ],
)
def test_syntax_errors_read_as_postgrest_writes_them(
    query: str, message: str, details: str
) -> None:
    with pytest.raises(RdbError) as caught:
        parse_query(query)
    assert (caught.value.status, caught.value.code) == (400, "PGRST100")
    assert (caught.value.message, caught.value.details) == (message, details)


def test_parameters_are_parsed_in_postgrest_order() -> None:
    # order= is read before select=: its error wins although it comes later.
    with pytest.raises(RdbError) as caught:
        parse_query("select=id,&order=id.ac")
    assert "failed to parse order" in caught.value.message


def test_select_tree() -> None:
    parsed = parse_query('select=id,who:name,t:teams!inner(*,"a b"),people!fk!left(id)')
    assert parsed.select == (
        SelectField(Field("id")),
        SelectField(Field("name"), alias="who"),
        SelectRelation(
            "teams", "t", None, "inner", (SelectField(Field("*")), SelectField(Field("a b")))
        ),
        SelectRelation("people", None, "fk", "left", (SelectField(Field("id")),)),
    )
    assert parse_query("select=meta->a->>0").select == (
        SelectField(Field("meta", (JsonStep("->", "a", False), JsonStep("->>", "+0", True)))),
    )
    assert parse_query("select=").select == ()  # PostgREST: all columns


def test_filters_and_operators() -> None:
    parsed = parse_query(
        'age=not.gte.5&name=like(any).{a*,b}&id=in.(1, 2 ,"3,4")&x=is.NULL&y=isdistinct.z'
        "&teams.name=eq.Red"
    )
    assert parsed.filters == (
        ((), Filter(Field("age"), Op("gte", "5"), negated=True)),
        ((), Filter(Field("name"), Op("like", "{a*,b}", quantifier="any"))),
        ((), Filter(Field("id"), In(("1", " 2 ", "3,4")))),
        ((), Filter(Field("x"), Is("null"))),
        ((), Filter(Field("y"), IsDistinct("z"))),
        (("teams",), Filter(Field("name"), Op("eq", "Red"))),
    )


def test_top_level_values_are_verbatim() -> None:
    parsed = parse_query("name=eq.a,b(c)%22d%22")
    assert parsed.filters[0][1].operation == Op("eq", 'a,b(c)"d"')


def test_logic_trees() -> None:
    parsed = parse_query('not.or=(age.eq.1,and(name.eq."a,b",age.not.is.null))')
    assert parsed.logic == (
        (
            (),
            LogicExpr(
                "or",
                (
                    Filter(Field("age"), Op("eq", "1")),
                    LogicExpr(
                        "and",
                        (
                            Filter(Field("name"), Op("eq", "a,b")),
                            Filter(Field("age"), Is("null"), negated=True),
                        ),
                    ),
                ),
                negated=True,
            ),
        ),
    )


def test_order_limits_columns() -> None:
    parsed = parse_query(
        "order=a.desc.nullslast,b,teams(name).asc&limit=5&offset=2&teams.limit=1"
        "&columns=x,y&on_conflict=x"
    )
    assert parsed.order == (
        (
            (),
            (
                OrderTerm(Field("a"), "desc", "nullslast"),
                OrderTerm(Field("b"), None, None),
                OrderTerm(Field("name"), "asc", None, relation="teams"),
            ),
        ),
    )
    assert parsed.limits == (((), 5, 2), (("teams",), 1, None))
    assert (parsed.columns, parsed.on_conflict) == (("x", "y"), ("x",))


def test_rpc_reads_take_plain_values_as_arguments() -> None:
    parsed = parse_query("a=1&b=eq.2", rpc_read=True)
    assert parsed.rpc_args == (("a", "1"),)
    assert parsed.filters == (((), Filter(Field("b"), Op("eq", "2"))),)


def test_decode_query_like_http_types() -> None:
    assert decode_query("a=1&&b=x+y;c=%3B&d") == [("a", "1"), ("b", "x y"), ("c", ";"), ("d", None)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        (" 7 ", 7),
        ("-3", -3),
        ("0x10", 16),
        ("0o17", 15),
        ("+5", None),
        ("1e3", None),
        ("abc", None),
    ],
)
def test_limits_are_read_as_haskell_reads_an_integer(text: str, value: int | None) -> None:
    assert read_integer(text) == value


def test_haskell_show() -> None:
    assert haskell_show_string('a"b') == '"a\\"b"'
    assert haskell_show_string("é1") == '"\\233\\&1"'
    assert haskell_show_string("\x7f\x0eH\t") == '"\\DEL\\SO\\&H\\t"'
    assert haskell_show_char("'") == "'\\''"
    assert haskell_show_char("张") == "'\\24352'"


def test_source_positions_count_tabs_to_the_next_stop_of_eight() -> None:
    assert source_position("ab\tc", 3) == (1, 9)
    assert source_position("a\nbc", 3) == (2, 2)
