"""PostgreSQL's column types: their text input, storage in SQLite, and JSON output.

Each type reads values the way PostgreSQL's input function does (the same accepted
spellings, the same errors: ``22P02`` for bad syntax, ``22003`` out of range...),
stores them in a SQLite form that compares and sorts as PostgreSQL would (integers and
booleans as INTEGER, floats as REAL, ``numeric`` as its text under a collation that
compares values, dates and times as fixed-width ISO text, UTC for ``timestamptz``) and
prints them as PostgreSQL's JSON output does (``numeric`` keeps its scale, floats use
the shortest exact digits, timestamps ISO 8601).
"""

from __future__ import annotations

import math
import re
import struct
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, ClassVar, Final

import attrs

from ._datetime import DateType, TimestampType
from ._errors import RdbError, RdbSchemaError, unsupported
from ._json import (
    JsonValue,
    decimal_exponent,
    dumps_compact,
    escape_json,
    jsonb_text,
    loads as json_loads,
)
from ._pgtype import SPACE, PgType, Stored, invalid_syntax

__all__ = [
    "BoolType",
    "FloatType",
    "IntType",
    "JsonType",
    "NumericType",
    "TextType",
    "UuidType",
    "numeric_collation",
    "resolve_type",
]

# --- integers -----------------------------------------------------------------------

_INT: Final = re.compile(r"([+-]?)([0-9]*)(.*)", re.DOTALL)


@attrs.frozen
class IntType(PgType):
    bits: int = 32
    sqlite: ClassVar[str] = "INTEGER"

    @property
    def display(self) -> str:
        return {16: "smallint", 32: "integer", 64: "bigint"}[self.bits]

    def parse(self, text: str) -> Stored:
        match = _INT.fullmatch(text.lstrip(SPACE))
        assert match is not None
        sign, digits, rest = match.groups()
        if digits:
            value = int(sign + digits)
            limit = 1 << (self.bits - 1)
            if not -limit <= value < limit:
                raise RdbError(
                    400, "22003", f'value "{text}" is out of range for type {self.display}'
                )
        if not digits or rest.strip(SPACE):
            raise invalid_syntax(self.display, text)
        return value


# --- numeric ------------------------------------------------------------------------

_NUMERIC: Final = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)", re.DOTALL)
_EXPONENT: Final = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)(.*)", re.DOTALL)
_WIDE: Final = Context(prec=400_000)
_SPECIAL_NUMERIC: Final = ("nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf")


def _overflow() -> RdbError:
    return RdbError(400, "22003", "value overflows numeric format")


def parse_decimal(text: str) -> Decimal:
    """``numeric_in`` without modifiers."""
    stripped = text.lstrip(SPACE)
    lowered = stripped.lower()
    for word in _SPECIAL_NUMERIC:
        if lowered.startswith(word) and not lowered[len(word) :].strip(SPACE):
            raise unsupported("NaN and infinite numeric values", text)
    match = _NUMERIC.fullmatch(stripped)
    assert match is not None
    sign, whole, fraction, rest = match.groups()
    if not whole and not fraction:
        raise invalid_syntax("numeric", text)
    exponent = 0
    if rest[:1] in ("e", "E"):
        found = _EXPONENT.fullmatch(rest[1:])
        if found is None:
            raise invalid_syntax("numeric", text)
        exponent, rest = int(found.group(1)), found.group(2)
        if abs(exponent) >= (2**31 - 1) // 2:
            raise _overflow()
    if rest.strip(SPACE):
        raise invalid_syntax("numeric", text)
    value = Decimal(f"{sign}{whole or '0'}.{fraction or ''}E{exponent}")
    scale = -decimal_exponent(value)
    if scale > 16383 or (not value.is_zero() and value.adjusted() >= 131072):
        raise _overflow()
    return value


def decimal_text(value: Decimal) -> str:
    """``numeric_out``: fixed point, the value's own scale, no negative zero."""
    if value.is_zero():
        value = value.copy_abs()
    if decimal_exponent(value) > 0:
        value = value.quantize(Decimal(1), context=_WIDE)
    return format(value, "f")


def numeric_collation(left: str, right: str) -> int:
    """SQLite collation for stored ``numeric`` text: compare the values."""
    a, b = Decimal(left), Decimal(right)
    return (a > b) - (a < b)


@attrs.frozen
class NumericType(PgType):
    precision: int | None = None
    scale: int = 0
    name: ClassVar[str] = "numeric"
    sqlite: ClassVar[str] = "TEXT COLLATE pg_numeric"

    @property
    def display(self) -> str:
        if self.precision is None:
            return "numeric"
        return f"numeric({self.precision},{self.scale})"

    @property
    def type_name(self) -> str:
        return "numeric"

    def parse(self, text: str) -> Stored:
        return decimal_text(parse_decimal(text))

    def coerce(self, value: Stored) -> Stored:
        if self.precision is None:
            return value
        number = Decimal(str(value)).quantize(
            Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP, context=_WIDE
        )
        digits = self.precision - self.scale
        if not number.is_zero() and number.adjusted() >= digits:
            limit = f"10^{digits}" if digits else "1"
            raise RdbError(
                400,
                "22003",
                "numeric field overflow",
                details=(
                    f"A field with precision {self.precision}, scale {self.scale} must "
                    f"round to an absolute value less than {limit}."
                ),
            )
        return decimal_text(number)


# --- floating point -----------------------------------------------------------------

_STRTOD: Final = re.compile(
    r"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)"
)


def _float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def _shortest_digits(value: float, bits: int) -> tuple[int, str, int]:
    """(sign, digits, exponent of the first digit) of the shortest exact decimal."""
    if bits == 64:
        text = repr(value)
    else:
        candidates = (f"{value:.{p}e}" for p in range(9))
        text = next(c for c in candidates if _float32(float(c)) == value)
    sign, digit_tuple, exponent = Decimal(text).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    return sign, digits, len(digits) + int(exponent) - 1


def shortest_float_text(value: float, bits: int) -> str:
    """``float8out``/``float4out``: shortest exact digits, fixed point for decimal
    exponents from -4 up to 15 (6 for ``real``), else ``1.5e+20``."""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = _shortest_digits(value, bits)
    prefix = "-" if sign else ""
    if -4 <= exponent < (15 if bits == 64 else 6):
        point = exponent + 1
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return prefix + digits + "0" * (point - len(digits))
        return f"{prefix}{digits[:point]}.{digits[point:]}"
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{prefix}{head}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _nonzero_mantissa(number: str) -> bool:
    bare = number.lstrip("+-").lower()
    if bare.startswith("0x"):
        return bool(re.search("[1-9a-f]", bare[2:].split("p")[0]))
    return bool(re.search("[1-9]", bare.split("e")[0]))


@attrs.frozen
class FloatType(PgType):
    bits: int = 64
    sqlite: ClassVar[str] = "REAL"

    @property
    def display(self) -> str:
        return "double precision" if self.bits == 64 else "real"

    def _out_of_range(self, number: str, text: str) -> RdbError:
        # float8in quotes the number it read, float4in the whole input.
        shown = number if self.bits == 64 else text
        return RdbError(400, "22003", f'"{shown}" is out of range for type {self.display}')

    def parse(self, text: str) -> Stored:
        """``float8in``/``float4in``: what ``strtod`` reads, range errors first (before
        any trailing garbage is looked at), then the rest must be blank."""
        stripped = text.lstrip(SPACE)
        match = _STRTOD.match(stripped)
        if match is None:
            raise invalid_syntax(self.display, text)
        number, rest = match.group(), stripped[match.end() :]
        bare = number.lstrip("+-").lower()
        if bare.startswith("nan"):
            if rest.strip(SPACE):
                raise invalid_syntax(self.display, text)
            raise unsupported("NaN in real/double precision columns", text)
        if bare.startswith("inf"):
            value = -math.inf if number.startswith("-") else math.inf
        else:
            try:
                value = float.fromhex(number) if bare.startswith("0x") else float(number)
                if self.bits == 32:
                    value = _float32(value)
            except OverflowError:
                raise self._out_of_range(number, text) from None
            if math.isinf(value) or (value == 0 and _nonzero_mantissa(number)):
                raise self._out_of_range(number, text)
        if rest.strip(SPACE):
            raise invalid_syntax(self.display, text)
        return value

    def to_text(self, value: Stored) -> str:
        return shortest_float_text(float(value), self.bits)

    def to_json(self, value: Stored) -> str:
        number = float(value)
        if math.isinf(number):
            return '"Infinity"' if number > 0 else '"-Infinity"'
        return shortest_float_text(number, self.bits)


# --- booleans, text, uuid, json -------------------------------------------------------


def parse_bool(text: str) -> bool | None:
    """``parse_bool``: unique prefixes of true/false/yes/no, on/off, 1/0."""
    value = text.strip(SPACE).lower()
    if not value:
        return None
    for word, result in (("true", True), ("false", False), ("yes", True), ("no", False)):
        if value[0] == word[0]:
            return result if word.startswith(value) else None
    if value[0] == "o":
        if value == "on":
            return True
        return False if len(value) >= 2 and "off".startswith(value) else None
    return {"1": True, "0": False}.get(value)


@attrs.frozen
class BoolType(PgType):
    name: ClassVar[str] = "boolean"
    sqlite: ClassVar[str] = "INTEGER"

    def parse(self, text: str) -> Stored:
        value = parse_bool(text)
        if value is None:
            raise invalid_syntax("boolean", text)
        return int(value)

    def to_text(self, value: Stored) -> str:
        return "t" if value else "f"

    def to_json(self, value: Stored) -> str:
        return "true" if value else "false"


@attrs.frozen
class TextType(PgType):
    length: int | None = None
    varchar: bool = False
    textlike: ClassVar[bool] = True

    @property
    def display(self) -> str:
        if not self.varchar:
            return "text"
        return "character varying" + (f"({self.length})" if self.length is not None else "")

    @property
    def type_name(self) -> str:
        return "character varying" if self.varchar else "text"

    def parse(self, text: str) -> Stored:
        if "\x00" in text:
            raise unsupported("NUL characters in text values")
        return text

    def coerce(self, value: Stored) -> Stored:
        text = str(value)
        if self.length is None or len(text) <= self.length:
            return text
        if text[self.length :].strip(" "):
            raise RdbError(400, "22001", f"value too long for type {self.display}")
        return text[: self.length]

    def to_json(self, value: Stored) -> str:
        return escape_json(str(value))


_HEX: Final = frozenset("0123456789abcdefABCDEF")


def parse_uuid(text: str) -> str | None:
    """``string_to_uuid``: optional braces, a hyphen allowed after any 4 hex digits."""
    i, braces = 0, text.startswith("{")
    i += braces
    digits = []
    for group in range(16):
        pair = text[i : i + 2]
        if len(pair) < 2 or not set(pair) <= _HEX:
            return None
        digits.append(pair.lower())
        i += 2
        if text[i : i + 1] == "-" and group % 2 == 1 and group < 15:
            i += 1
    if braces:
        if text[i : i + 1] != "}":
            return None
        i += 1
    if i != len(text):
        return None
    h = "".join(digits)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@attrs.frozen
class UuidType(PgType):
    name: ClassVar[str] = "uuid"

    def parse(self, text: str) -> Stored:
        value = parse_uuid(text)
        if value is None:
            raise invalid_syntax("uuid", text)
        return value

    def to_json(self, value: Stored) -> str:
        return f'"{value}"'


@attrs.frozen
class JsonType(PgType):
    binary: bool = True
    comparable: ClassVar[bool] = False

    @property
    def display(self) -> str:
        return "jsonb" if self.binary else "json"

    def _store(self, value: JsonValue) -> str:
        return jsonb_text(value) if self.binary else dumps_compact(value)

    def parse(self, text: str) -> Stored:
        try:
            return self._store(json_loads(text))
        except ValueError:
            raise invalid_syntax(self.display, text) from None

    def from_json(self, value: JsonValue) -> Stored | None:
        return None if value is None else self._store(value)


# --- names --------------------------------------------------------------------------

_NAMES: Final[dict[str, Any]] = {
    "smallint": lambda: IntType(16),
    "int2": lambda: IntType(16),
    "integer": lambda: IntType(32),
    "int": lambda: IntType(32),
    "int4": lambda: IntType(32),
    "bigint": lambda: IntType(64),
    "int8": lambda: IntType(64),
    "boolean": BoolType,
    "bool": BoolType,
    "text": TextType,
    "real": lambda: FloatType(32),
    "float4": lambda: FloatType(32),
    "double precision": lambda: FloatType(64),
    "float8": lambda: FloatType(64),
    "float": lambda: FloatType(64),
    "date": DateType,
    "timestamp": lambda: TimestampType(False),
    "timestamp without time zone": lambda: TimestampType(False),
    "timestamptz": lambda: TimestampType(True),
    "timestamp with time zone": lambda: TimestampType(True),
    "uuid": UuidType,
    "json": lambda: JsonType(False),
    "jsonb": lambda: JsonType(True),
}
#: serial types: the integer type and whether the column gets a sequence.
SERIALS: Final = {
    "smallserial": 16,
    "serial2": 16,
    "serial": 32,
    "serial4": 32,
    "bigserial": 64,
    "serial8": 64,
}


def resolve_type(name: str, modifiers: tuple[int, ...] = ()) -> PgType:
    """The type a DDL name (lower-cased, spaces normalised) stands for."""
    if name in ("varchar", "character varying"):
        if len(modifiers) > 1:
            raise RdbSchemaError(f"{name} takes one length")
        return TextType(modifiers[0] if modifiers else None, varchar=True)
    if name in ("numeric", "decimal"):
        if not modifiers:
            return NumericType()
        precision, scale = modifiers[0], modifiers[1] if len(modifiers) > 1 else 0
        if not 1 <= precision <= 1000 or not 0 <= scale <= precision:
            raise RdbSchemaError(f"numeric({precision},{scale}) is outside the supported range")
        return NumericType(precision, scale)
    if name in SERIALS:
        return IntType(SERIALS[name])
    if name in ("char", "character", "bpchar"):
        raise RdbSchemaError(
            "character(n) (blank-padded text) is not supported: use text or varchar"
        )
    factory = _NAMES.get(name)
    if factory is None:
        raise RdbSchemaError(f"the column type {name!r} is not supported by the local rdb engine")
    if modifiers:
        raise RdbSchemaError(f"type modifiers on {name} are not supported")
    result: PgType = factory()
    return result
