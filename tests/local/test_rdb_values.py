"""Values as PostgreSQL reads and prints them, and the header rules (pure functions).

Expected texts are PostgreSQL 15's / PostgREST 12's output for the same input.
"""

from __future__ import annotations

import pytest

from cloudbase_async.local.rdb._datetime import DateType, TimestampType
from cloudbase_async.local.rdb._errors import UNSUPPORTED_CODE, RdbError, closest_columns
from cloudbase_async.local.rdb._fuzzy import fuzzy_matches
from cloudbase_async.local.rdb._json import jsonb_text, loads
from cloudbase_async.local.rdb._request import (
    body_is_json,
    header_range,
    negotiate,
    parse_preferences,
)
from cloudbase_async.local.rdb._store import like_match, pg_lower
from cloudbase_async.local.rdb._types import (
    BoolType,
    FloatType,
    IntType,
    NumericType,
    TextType,
    UuidType,
    shortest_float_text,
)


def _error(call: object, *args: object) -> RdbError:
    with pytest.raises(RdbError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e15, "1e+15"),
        (123456789012345.0, "123456789012345"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (1e-4, "0.0001"),
        (1e-5, "1e-05"),
        (100.0, "100"),
        (5e-324, "5e-324"),
        (-0.0, "-0"),
        (float("inf"), "Infinity"),
    ],
)
def test_double_output(value: float, text: str) -> None:
    assert shortest_float_text(value, 64) == text


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("0.1", "0.1"),
        ("16777217", "1.6777216e+07"),
        ("1234567", "1.234567e+06"),
        ("999999", "999999"),
        ("1e-45", "1e-45"),
    ],
)
def test_real_output(text: str, out: str) -> None:
    real = FloatType(32)
    assert real.to_json(real.parse(text)) == out


def test_float_input() -> None:
    double, real = FloatType(64), FloatType(32)
    assert double.parse(" 0x1p-1 ") == 0.5
    assert double.to_json(double.parse("-inf")) == '"-Infinity"'
    assert (
        _error(double.parse, "1e400").message == '"1e400" is out of range for type double precision'
    )
    assert _error(double.parse, "1e-400").code == "22003"
    # float4in quotes the whole input, and checks the range before trailing text.
    assert _error(real.parse, " 1E40E").message == '" 1E40E" is out of range for type real'
    assert (
        _error(double.parse, "1.5x").message
        == 'invalid input syntax for type double precision: "1.5x"'
    )
    assert _error(double.parse, "NaN").code == UNSUPPORTED_CODE


def test_integer_input() -> None:
    integer = IntType(32)
    assert integer.parse("  +7 ") == 7
    assert integer.parse("-2147483648") == -(2**31)
    assert (
        _error(integer.parse, "2147483648").message
        == 'value "2147483648" is out of range for type integer'
    )
    # Overflow is found while reading digits, before the trailing garbage.
    assert _error(integer.parse, "99999999999x").code == "22003"
    assert _error(integer.parse, "1.5").message == 'invalid input syntax for type integer: "1.5"'
    assert _error(IntType(16).parse, "40000").message.endswith("type smallint")


def test_numeric_keeps_scale_and_rounds_half_away() -> None:
    plain, money = NumericType(), NumericType(8, 2)
    assert [plain.parse(t) for t in ("1.50", "1e3", "1.5e-3", "-0", " 12 ")] == [
        "1.50",
        "1000",
        "0.0015",
        "0",
        "12",
    ]
    assert [money.coerce(plain.parse(t)) for t in ("12.345", "-12.345", "12.355")] == [
        "12.35",
        "-12.35",
        "12.36",
    ]
    overflow = _error(money.coerce, plain.parse("1234567"))
    assert (overflow.message, overflow.details) == (
        "numeric field overflow",
        "A field with precision 8, scale 2 must round to an absolute value less than 10^6.",
    )
    assert _error(plain.parse, "1e999999").message == "value overflows numeric format"
    assert _error(plain.parse, ".").code == "22P02"


def test_booleans_accept_postgresql_spellings() -> None:
    boolean = BoolType()
    assert [boolean.parse(t) for t in ("t", "TRUE", " yes ", "on", "of", "0")] == [1, 1, 1, 1, 0, 0]
    for bad in ("o", "tx", "2", ""):
        assert _error(boolean.parse, bad).code == "22P02"


def test_text_modifiers() -> None:
    nick = TextType(5, varchar=True)
    assert nick.coerce("abcde   ") == "abcde"  # the excess is only spaces: cut
    assert _error(nick.coerce, "abcdefg").message == "value too long for type character varying(5)"


def test_uuid_spellings() -> None:
    uuid = UuidType()
    canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    for text in (
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "{a0eebc999c0b4ef8bb6d6bb9bd380a11}",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
    ):
        assert uuid.parse(text) == canonical
    for bad in (
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
        "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
    ):
        assert _error(uuid.parse, bad).code == "22P02"


def test_timestamps() -> None:
    naive, zoned, date = TimestampType(False), TimestampType(True), DateType()
    assert (
        naive.to_json(naive.parse("2024-01-02T03:04:05.1234567+05"))
        == '"2024-01-02T03:04:05.123457"'
    )
    assert zoned.to_json(zoned.parse("2024-01-02 03:04:05+02")) == '"2024-01-02T01:04:05+00:00"'
    assert zoned.to_text(zoned.parse("1999-12-31 23:00-05:30")) == "2000-01-01 04:30:00+00"
    assert naive.to_json(naive.parse("2000-01-01 24:00")) == '"2000-01-02T00:00:00"'
    assert date.parse("2000-01-01 24:00") == "2000-01-01"
    assert _error(date.parse, "2024-02-30").hint is None
    assert (
        _error(date.parse, "2024-13-01").hint == 'Perhaps you need a different "datestyle" setting.'
    )
    assert (
        _error(naive.parse, "garbage").message
        == 'invalid input syntax for type timestamp: "garbage"'
    )
    assert _error(date.parse, "Jan 2 2024").code == UNSUPPORTED_CODE
    assert _error(date.parse, "today").code == UNSUPPORTED_CODE


def test_jsonb_normalisation() -> None:
    value = loads('{"bb": 1, "a": [1.50, 1e2, -0, 1E-2], "a ": null, "bb": 2}')
    assert jsonb_text(value) == '{"a": [1.50, 100, 0, 0.01], "a ": null, "bb": 2}'


@pytest.mark.parametrize(
    ("text", "pattern", "result"),
    [
        ("abc", "a%", True),
        ("abc", "_b_", True),
        ("a%c", "a\\%c", True),
        ("abc", "a\\%c", False),
        ("abc", "%d", None),
        ("", "%", True),
        ("abc", "x\\", False),  # a trailing escape is only an error when reached
    ],
)
def test_like_matching(text: str, pattern: str, result: bool | None) -> None:
    assert like_match(text, pattern) is result


def test_like_reaching_a_trailing_escape_fails() -> None:
    from cloudbase_async.local.rdb._store import LikeEscapeError

    with pytest.raises(LikeEscapeError):
        like_match("abc", "a\\")


def test_lower_is_per_character() -> None:
    assert pg_lower("ẞİΣA") == "ßiσa"  # noqa: RUF001 - no final sigma, no dot above


def test_hints() -> None:
    assert closest_columns("nme", ["id", "name", "nick"]) == ("name",)
    assert closest_columns("cime", ["id", "name", "city"]) == ("name", "city")
    assert closest_columns("zzzzzz", ["id", "name"]) == ()
    assert fuzzy_matches("team", ["teams"])[0][1] == "teams"
    assert fuzzy_matches("nope", ["teams"]) == []
    assert fuzzy_matches("Teams", ["teams"]) == [(1.0, "teams")]


def test_preferences() -> None:
    prefer = parse_preferences(
        ["count=exact, return=representation, bogus, count=planned", "missing=default"]
    )
    assert (prefer.count, prefer.representation, prefer.missing_default) == (
        "exact",
        "representation",
        True,
    )
    assert (
        prefer.applied(insert=True, write=True)
        == "missing=default, return=representation, count=exact"
    )
    assert prefer.applied(insert=False, write=False) == "count=exact"
    assert _error(parse_preferences, ["return=headers-only"]).code == UNSUPPORTED_CODE


def test_media_types() -> None:
    assert negotiate(None) == "json"
    assert negotiate("application/json, text/plain, */*") == "json"
    assert negotiate("application/vnd.pgrst.object") == "object"
    assert negotiate("text/html;q=0.9, application/vnd.pgrst.object+json;q=0.5") == "object"
    missing = _error(negotiate, "text/html, image/png")
    assert (missing.status, missing.message) == (
        415,
        "None of these media types are available: text/html, image/png",
    )
    assert _error(negotiate, "text/csv").code == UNSUPPORTED_CODE


def test_request_bodies() -> None:
    body_is_json(None)
    body_is_json("application/json; charset=utf-8")
    body_is_json("application/json, application/json")  # what the js-sdk sends
    assert _error(body_is_json, "text/plain").message == "Content-Type not acceptable: text/plain"


def test_range_header() -> None:
    assert header_range({"range": "0-9"}) == (0, 10)
    assert header_range({"range": "5-"}) == (5, None)
    assert header_range({"range": "items=0-9"}) is None
    assert _error(header_range, {"range": "5-3"}).status == 416
