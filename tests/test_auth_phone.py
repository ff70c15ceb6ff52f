"""Phone normalisation: a pure function, table and property tests."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from cloudbase_async import InvalidRequestError
from cloudbase_async.auth import normalize_phone_number

WANTED = re.compile(r"^\+[1-9][0-9]{0,2} [0-9]{4,14}$")


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        # the four spellings the issue names
        ("13800138000", "+86 13800138000"),
        ("+8613800138000", "+86 13800138000"),
        ("+86 13800138000", "+86 13800138000"),
        ("86-138-0013-8000", "+86 13800138000"),
        # more ways people type Chinese mobiles
        (" 138 0013 8000 ", "+86 13800138000"),
        ("138-0013-8000", "+86 13800138000"),
        ("8613800138000", "+86 13800138000"),
        ("008613800138000", "+86 13800138000"),
        ("+86-138-0013-8000", "+86 13800138000"),
        ("+86 (138) 0013.8000", "+86 13800138000"),
        ("+ 86 13800138000", "+86 13800138000"),
        # other countries keep their code
        ("+1 (415) 555-0100", "+1 4155550100"),
        ("+14155550100", "+1 4155550100"),
        ("+7 701 234 5678", "+7 7012345678"),
        ("+44 20 7946 0958", "+44 2079460958"),
        ("+44 (0)20 7946 0958", "+44 2079460958"),
        ("0044 20 7946 0958", "+44 2079460958"),
        ("+852 5123 4567", "+852 51234567"),
        ("+85251234567", "+852 51234567"),
        ("+886 912 345 678", "+886 912345678"),
        ("+65 8123 4567", "+65 81234567"),
        ("+81 90-1234-5678", "+81 9012345678"),
        ("+39 06 1234 5678", "+39 0612345678"),  # Italy keeps its leading 0
    ],
)
def test_normalises(given_: str, expected: str) -> None:
    assert normalize_phone_number(given_) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "+",
        "phone",
        "138OO138000",  # letters O, not zeros
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "23800138000",  # not a mobile, no country code
        "020 7946 0958",  # national number of another country: ambiguous
        "+86 1380013800",  # +86 but not 11 digits
        "+86 23800138000",  # +86 but not a mobile
        "+0 123456",
        "+44 12",  # too short
        "+44 1234567890123456",  # too long for E.164
        "+1 415 555 0100 ext 2",
        "+1 415*555",
        "13800138000#",
    ],
)
def test_refuses(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="phone number"):
        normalize_phone_number(bad)


def test_refuses_non_strings() -> None:
    with pytest.raises(InvalidRequestError):
        normalize_phone_number(13800138000)  # type: ignore[arg-type]


china_mobile = st.from_regex(r"1[0-9]{10}", fullmatch=True)
separator = st.sampled_from(["", " ", "-", ".", "  "])


@given(
    china_mobile,
    st.lists(separator, min_size=10, max_size=10),
    st.sampled_from(["", "86", "+86", "0086", "+86 "]),
)
def test_any_spelling_of_a_china_mobile(mobile: str, seps: list[str], prefix: str) -> None:
    spelled = prefix + "".join(d + s for d, s in zip(mobile, [*seps, ""], strict=True))
    assert normalize_phone_number(spelled) == f"+86 {mobile}"


@given(st.text(alphabet="0123456789 +-().", max_size=24))
def test_output_has_the_wanted_form_and_is_idempotent(text: str) -> None:
    try:
        result = normalize_phone_number(text)
    except InvalidRequestError:
        return
    assert WANTED.match(result), result
    assert normalize_phone_number(result) == result
