"""Phone numbers in the one form the auth API accepts: ``"+<country code> <digits>"``.

The verification, sign-up and reset endpoints refuse ``"+8613800138000"`` and
``"13800138000"``: they want the country code, one space, then the national number
(``"+86 13800138000"``). People type numbers every which way, so this module turns the
usual spellings into that form, and refuses what it cannot read *before* a request is
sent (a wrong number would burn an SMS and count against the send-rate limit).

Rules, in order:

* Spaces, hyphens, dots, slashes and parentheses are separators and are dropped; any
  other non-digit (letters, ``*``, ``#``...) makes the number unreadable.
* ``+`` or ``00`` in front means an international number. The country code is the ITU
  code the digits start with: the plan is prefix-free (``+1``, ``+7``, the listed
  two-digit codes, otherwise three digits), so where the caller put spaces does not
  matter. A ``(0)`` trunk marker (``"+44 (0)20 ..."``) is dropped.
* Without ``+``/``00``, only mainland China mobile numbers are accepted: 11 digits
  starting with ``1``, optionally preceded by ``86`` (``"86-138-0013-8000"``). Any other
  number is ambiguous without its country code and is refused.
* ``+86`` numbers must be 11-digit mobile numbers starting with ``1``; other countries
  need 4 to 14 national digits and at most 15 digits in all (E.164).
"""

from __future__ import annotations

import re
from typing import Final

from .._core.errors import InvalidRequestError

__all__ = ["normalize_phone_number"]

CHINA: Final = "86"

# Two-digit ITU-T E.164 country codes. With "1" and "7" (one digit), every other code
# is three digits long; the plan is prefix-free, so the digits alone tell the length.
_TWO_DIGIT_TABLE: Final = (
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98"
)
_TWO_DIGIT_CODES: Final = frozenset(_TWO_DIGIT_TABLE.split())

_ALLOWED: Final = re.compile(r"^[0-9 \-./()]+$")
_SEPARATORS: Final = re.compile(r"[ \-./()]+")
_CHINA_MOBILE: Final = re.compile(r"^1[0-9]{10}$")


def _split_country_code(digits: str) -> tuple[str, str]:
    """Split international digits (no ``+``) into country code and national number."""
    if digits[:1] in ("1", "7"):
        size = 1
    elif digits[:2] in _TWO_DIGIT_CODES:
        size = 2
    else:
        size = 3
    return digits[:size], digits[size:]


def _invalid(value: str, why: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Cannot read phone number {value!r}: {why}. "
        "Write it with its country code, for example '+86 13800138000'."
    )


def normalize_phone_number(value: str) -> str:
    """``value`` in the auth API's form ``"+86 13800138000"``.

    Raises :class:`~cloudbase_async.InvalidRequestError` when ``value`` is not a phone
    number this function can read unambiguously.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"A phone number must be a string, got {type(value).__name__}.")
    text = value.strip()
    international = False
    if text.startswith("+"):
        international, text = True, text[1:].lstrip()
    elif text.startswith("00"):
        international, text = True, text[2:]
    if not text:
        raise _invalid(value, "it has no digits")
    if not _ALLOWED.fullmatch(text):
        raise _invalid(value, "it contains characters other than digits and separators")

    if international:
        # "(0)" after the country code is a trunk prefix that is never dialled from abroad.
        text = text.replace("(0)", " ")
        groups = [g for g in _SEPARATORS.split(text) if g]
        if not groups:
            raise _invalid(value, "it has no digits")
        digits = "".join(groups)
        if digits.startswith("0"):
            raise _invalid(value, "a country code cannot start with 0")
        country, national = _split_country_code(digits)
    else:
        digits = _SEPARATORS.sub("", text)
        if _CHINA_MOBILE.match(digits):
            country, national = CHINA, digits
        elif digits.startswith(CHINA) and _CHINA_MOBILE.match(digits[2:]):
            country, national = CHINA, digits[2:]
        else:
            raise _invalid(
                value,
                "without a country code only mainland China mobile numbers "
                "(11 digits starting with 1) are understood",
            )

    if country == CHINA:
        if not _CHINA_MOBILE.match(national):
            raise _invalid(value, "a +86 number must be 11 digits starting with 1")
    elif not 4 <= len(national) <= 14 or len(country) + len(national) > 15:
        raise _invalid(value, f"+{country} {national} does not have a valid length")
    return f"+{country} {national}"
