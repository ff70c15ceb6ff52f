"""MongoDB Extended JSON (EJSON), as the CloudBase document database speaks it.

The document database accepts Relaxed or Strict (canonical) EJSON in requests and always
answers Strict EJSON. This module turns Python values into either and back:

=====================================  ==============================================
Python                                 EJSON
=====================================  ==============================================
:class:`ObjectId`                      ``{"$oid": "..."}``
aware :class:`~datetime.datetime`      ``{"$date": {"$numberLong": "<ms>"}}`` (strict),
                                       ``{"$date": "<ISO-8601>"}`` (relaxed, 1970-9999)
``int`` in int32 range                 ``{"$numberInt": "..."}`` (strict), number (relaxed)
other ``int`` / :class:`Int64`         ``{"$numberLong": "..."}`` (strict), number (relaxed)
``float``                              ``{"$numberDouble": "..."}`` (strict), number
                                       (relaxed; NaN and ±Infinity stay wrapped)
:class:`~decimal.Decimal`              ``{"$numberDecimal": "..."}``
``bytes`` / :class:`Binary`            ``{"$binary": {"base64": "...", "subType": "00"}}``
:class:`~uuid.UUID`                    ``$binary`` with subtype ``04``
:class:`Regex` / ``re.Pattern``        ``{"$regex": "...", "$options": "..."}``
``dict`` / ``list`` / ``tuple``        object / array (keys must be ``str``)
``str`` / ``bool`` / ``None``          themselves
=====================================  ==============================================

Regular expressions are written in the legacy ``$regex``/``$options`` form because it is
the form the CloudBase documentation shows and, inside a query, it is also the ``$regex``
query operator; :func:`decode` reads both it and ``$regularExpression``.

Dates carry milliseconds (the BSON date precision): microseconds are truncated when
encoding. Naive datetimes are refused: their meaning depends on the machine's clock.
Decoded dates are aware UTC datetimes. ``$numberLong`` decodes to a plain ``int``;
wrap an ``int`` in :class:`Int64` to force a Long for a small value.

Dicts whose keys start with ``$`` are passed through untouched, so query and update
operators (``{"age": {"$gt": 18}}``, ``{"$set": {...}}``) encode as they are.

Values nest arrays and objects at most :data:`MAX_DEPTH` levels deep (MongoDB stores at
most 100); their EJSON text, two more for type wrappers. Anything :func:`decode` or
:func:`loads` cannot turn into Python values raises :class:`EJSONDecodeError`, a
``ValueError``: text that is not JSON, a type wrapper whose value is malformed or out of
range, nesting too deep. Nothing else escapes them.
"""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeAlias

import attrs

__all__ = [
    "MAX_DEPTH",
    "Binary",
    "EJSONDecodeError",
    "Int64",
    "Mode",
    "ObjectId",
    "Regex",
    "decode",
    "dumps",
    "encode",
    "loads",
]

Mode: TypeAlias = Literal["relaxed", "strict"]

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HEX24: Final = re.compile(r"[0-9a-fA-F]{24}")

#: How deeply arrays and objects may nest in a value (the outermost counts as 1). MongoDB
#: stores documents of at most 100 levels; the rest leaves room for queries and answer
#: envelopes. EJSON text may nest two levels more: a type wrapper adds up to two
#: (``{"$date": {"$numberLong": ...}}``).
MAX_DEPTH: Final = 200
_WRAPPER_LEVELS: Final = 2

# Python's re flags ↔ the MongoDB option letters that mean the same thing.
_RE_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.VERBOSE, "x"),
)


def _lower(value: str) -> str:
    return value.lower() if isinstance(value, str) else value


def _check_oid(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not _HEX24.fullmatch(value):
        raise ValueError(f"an ObjectId is 24 hexadecimal digits, got {value!r}")


@attrs.frozen(order=True, repr=False)
class ObjectId:
    """A MongoDB ObjectId: 12 bytes written as 24 hex digits (kept lowercase).

    Comparable (ordering follows the hex string, i.e. creation time first) and hashable.
    """

    hex: str = attrs.field(converter=_lower, validator=_check_oid)

    @property
    def generation_time(self) -> datetime:
        """When the id was made: its first four bytes are seconds since the epoch."""
        return _EPOCH + timedelta(seconds=int(self.hex[:8], 16))

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"ObjectId({self.hex!r})"


def _sorted_options(value: str) -> str:
    return "".join(sorted(set(value)))


@attrs.frozen
class Regex:
    """A BSON regular expression: a pattern and MongoDB option letters (``"imsx"``...).

    Options are kept sorted and deduplicated, so equal regexes compare equal. Use
    :meth:`compile` for a Python pattern (options Python knows: ``i m s x``).
    """

    pattern: str
    options: str = attrs.field(default="", converter=_sorted_options)

    @classmethod
    def from_pattern(cls, pattern: re.Pattern[str]) -> Regex:
        if not isinstance(pattern.pattern, str):
            raise TypeError("only str patterns can be encoded as EJSON regexes")
        options = "".join(letter for flag, letter in _RE_FLAGS if pattern.flags & flag)
        return cls(pattern.pattern, options)

    def compile(self) -> re.Pattern[str]:
        """The equivalent Python pattern; options Python lacks (``l``, ``u``) are ignored."""
        flags = 0
        for flag, letter in _RE_FLAGS:
            if letter in self.options:
                flags |= flag
        return re.compile(self.pattern, flags)


def _check_subtype(_: object, __: object, value: int) -> None:
    if not 0 <= value <= 255:
        raise ValueError(f"a binary subtype is one byte (0-255), got {value}")


@attrs.frozen
class Binary:
    """Bytes with a BSON binary subtype other than the generic 0 (which decodes to ``bytes``)."""

    data: bytes
    subtype: int = attrs.field(default=0, validator=_check_subtype)


class Int64(int):
    """An ``int`` always written as ``$numberLong``, even when it would fit an int32."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


# ----------------------------------------------------------------------------- encoding


def _encode_int(value: int, mode: Mode, *, long: bool) -> Any:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"{value} does not fit a 64-bit integer (use Decimal)")
    if mode == "relaxed":
        return int(value)
    if not long and _INT32_MIN <= value <= _INT32_MAX:
        return {"$numberInt": str(int(value))}
    return {"$numberLong": str(int(value))}


def _double_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _encode_float(value: float, mode: Mode) -> Any:
    if mode == "relaxed" and math.isfinite(value):
        return value
    return {"$numberDouble": _double_text(value)}


def _date_millis(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} cannot be encoded: attach a timezone "
            "(for example datetime.now(timezone.utc) or value.replace(tzinfo=timezone.utc))"
        )
    delta = value - _EPOCH
    # Integer arithmetic: floats would round dates far from 1970.
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _encode_date(value: datetime, mode: Mode) -> Any:
    millis = _date_millis(value)
    if mode == "relaxed" and 0 <= millis <= 253_402_300_799_999:  # 1970 .. 9999-12-31
        moment = _EPOCH + timedelta(milliseconds=millis)
        return {"$date": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    return {"$date": {"$numberLong": str(millis)}}


def _encode_binary(data: bytes, subtype: int) -> Any:
    return {"$binary": {"base64": base64.b64encode(data).decode(), "subType": f"{subtype:02x}"}}


def _encode_regex(value: Regex) -> Any:
    return {"$regex": value.pattern, "$options": value.options}


def encode(value: object, *, mode: Mode = "relaxed") -> Any:
    """Turn ``value`` into JSON-ready data (dicts, lists, str, numbers) in EJSON form.

    Raises ``TypeError`` for a value EJSON has no form for and ``ValueError`` for one
    it cannot represent (a naive datetime, an int beyond 64 bits).
    """
    if mode not in ("relaxed", "strict"):
        raise ValueError(f"mode is 'relaxed' or 'strict', got {mode!r}")
    try:
        return _encode(value, mode, 0)
    except RecursionError:  # only when the caller's own stack is nearly exhausted
        raise ValueError("the value is nested too deeply to encode") from None


def _deeper(depth: int) -> int:
    if depth >= MAX_DEPTH:
        raise ValueError(f"the value nests arrays and objects deeper than {MAX_DEPTH} levels")
    return depth + 1


def _encode(value: object, mode: Mode, depth: int) -> Any:
    # bool before int: bool is an int subclass.
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return _encode_int(value, mode, long=isinstance(value, Int64))
    if isinstance(value, float):
        return _encode_float(value, mode)
    if isinstance(value, Mapping):
        depth = _deeper(depth)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"EJSON object keys must be str, got {key!r}")
            out[key] = _encode(item, mode, depth)
        return out
    if isinstance(value, list | tuple):
        depth = _deeper(depth)
        return [_encode(item, mode, depth) for item in value]
    if isinstance(value, ObjectId):
        return {"$oid": value.hex}
    if isinstance(value, datetime):
        return _encode_date(value, mode)
    if isinstance(value, Decimal):
        return {"$numberDecimal": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return _encode_binary(bytes(value), 0)
    if isinstance(value, Binary):
        return _encode_binary(value.data, value.subtype)
    if isinstance(value, uuid.UUID):
        return _encode_binary(value.bytes, 4)
    if isinstance(value, Regex):
        return _encode_regex(value)
    if isinstance(value, re.Pattern):
        return _encode_regex(Regex.from_pattern(value))
    raise TypeError(f"{type(value).__name__} values cannot be encoded as EJSON: {value!r}")


def dumps(value: object, *, mode: Mode = "relaxed") -> str:
    """Encode ``value`` as compact EJSON text, keys in the order given.

    ``mode="strict"`` writes the canonical form (every number typed), the stable text
    the document database expects in query strings.
    """
    return json.dumps(
        encode(value, mode=mode), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


# ----------------------------------------------------------------------------- decoding


class EJSONDecodeError(ValueError):
    """EJSON that cannot be turned into Python values.

    Raised by :func:`decode` and :func:`loads` for text that is not JSON, for a type
    wrapper whose value is malformed or out of range (a ``$date`` outside the years
    1-9999 a ``datetime`` can hold, a ``$numberLong`` beyond 64 bits, a ``$binary`` that
    is not base64...) and for nesting deeper than :data:`MAX_DEPTH`. The message says
    which; it quotes at most the start of the offending value.
    """


# The canonical text of numbers: no signs other than "-", no spaces, no "_" separators
# (all of which Python's int() and float() would accept).
_INT_TEXT: Final = re.compile(r"-?[0-9]+", re.ASCII)
_DOUBLE_TEXT: Final = re.compile(
    r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII
)
_SPECIAL_DOUBLES: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_SUBTYPE_TEXT: Final = re.compile(r"[0-9a-fA-F]{1,2}", re.ASCII)
# Enough digits for any 64-bit integer; longer text is refused before int() reads it.
_MAX_INT_DIGITS: Final = 20


def _shown(value: object) -> str:
    """``value`` for an error message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _decode_double(text: object) -> float:
    if not isinstance(text, str):
        raise EJSONDecodeError(f"$numberDouble holds a string, got {_shown(text)}")
    special = _SPECIAL_DOUBLES.get(text)
    if special is not None:
        return special
    if not _DOUBLE_TEXT.fullmatch(text):
        raise EJSONDecodeError(f"$numberDouble is not a number: {_shown(text)}")
    return float(text)


def _decode_int(text: object, key: str, low: int, high: int) -> int:
    if not isinstance(text, str):
        raise EJSONDecodeError(f"{key} holds a string, got {_shown(text)}")
    if not _INT_TEXT.fullmatch(text):
        raise EJSONDecodeError(f"{key} holds no integer (invalid literal {_shown(text)})")
    if len(text.lstrip("-")) > _MAX_INT_DIGITS or not low <= (number := int(text)) <= high:
        raise EJSONDecodeError(f"{key} {_shown(text)} is out of its range [{low}, {high}]")
    return number


def _decode_date(raw: object) -> datetime:
    # An inner {"$numberLong": ...} has been decoded to an int already.
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise EJSONDecodeError(f"$date is not an ISO-8601 date: {_shown(raw)}") from None
        if moment.tzinfo is None:
            raise EJSONDecodeError(f"$date without a timezone: {_shown(raw)}")
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # "0001-01-01T00:00+01:00" is in year 0 in UTC
            raise EJSONDecodeError(f"$date {_shown(raw)} is before the year 1 in UTC") from None
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            return _EPOCH + timedelta(milliseconds=raw)
        except OverflowError:
            raise EJSONDecodeError(
                f"$date of {raw} ms since 1970 is outside the years 1-9999 that a Python "
                "datetime can hold"
            ) from None
    raise EJSONDecodeError(f"unrecognised $date value {_shown(raw)}")


def _decode_binary(data: object, subtype: object) -> bytes | Binary | uuid.UUID:
    if not isinstance(data, str) or not isinstance(subtype, str):
        raise EJSONDecodeError(
            f"unrecognised $binary value: base64 {_shown(data)}, subtype {_shown(subtype)}"
        )
    if not _SUBTYPE_TEXT.fullmatch(subtype):
        raise EJSONDecodeError(f"a $binary subtype is 1-2 hex digits, got {_shown(subtype)}")
    try:
        payload = base64.b64decode(data, validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise EJSONDecodeError(f"$binary is not valid base64: {_shown(data)}") from None
    kind = int(subtype, 16)
    if kind == 0:
        return payload
    if kind == 4 and len(payload) == 16:
        return uuid.UUID(bytes=payload)
    return Binary(payload, kind)


def _decode_decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise EJSONDecodeError(f"$numberDecimal is not a decimal: {_shown(raw)}") from None


def _decode_object_id(raw: str) -> ObjectId:
    if not _HEX24.fullmatch(raw):
        raise EJSONDecodeError(f"an ObjectId is 24 hexadecimal digits, got {_shown(raw)}")
    return ObjectId(raw)


def _decode_wrapper(obj: dict[str, Any]) -> Any:
    """The typed value a single EJSON wrapper object stands for, or ``obj`` itself."""
    keys = obj.keys()
    if len(keys) == 1:
        (key,) = keys
        raw = obj[key]
        if key == "$oid" and isinstance(raw, str):
            return _decode_object_id(raw)
        if key == "$date":
            return _decode_date(raw)
        if key == "$numberInt":
            return _decode_int(raw, key, _INT32_MIN, _INT32_MAX)
        if key == "$numberLong":
            return _decode_int(raw, key, _INT64_MIN, _INT64_MAX)
        if key == "$numberDouble":
            return _decode_double(raw)
        if key == "$numberDecimal" and isinstance(raw, str):
            return _decode_decimal(raw)
        if key == "$binary" and isinstance(raw, Mapping):
            return _decode_binary(raw.get("base64"), raw.get("subType"))
        if key == "$regularExpression" and isinstance(raw, Mapping):
            pattern, options = raw.get("pattern"), raw.get("options", "")
            if isinstance(pattern, str) and isinstance(options, str):
                return Regex(pattern, options)
        if key == "$regex" and isinstance(raw, str):
            return Regex(raw)
        return obj
    if keys == {"$regex", "$options"}:
        pattern, options = obj["$regex"], obj["$options"]
        if isinstance(pattern, str) and isinstance(options, str):
            return Regex(pattern, options)
    elif keys == {"$binary", "$type"}:
        return _decode_binary(obj["$binary"], obj["$type"])
    return obj


def decode(value: Any) -> Any:
    """Turn decoded JSON data in EJSON form (Strict or Relaxed) into Python values.

    Objects that are not EJSON type wrappers (including operator documents such as
    ``{"$gt": 1}``) stay dicts.

    :raises EJSONDecodeError: a malformed or out-of-range wrapper, or nesting deeper
        than :data:`MAX_DEPTH`.
    """
    try:
        return _decode(value, 0)
    except RecursionError:  # only when the caller's own stack is nearly exhausted
        raise EJSONDecodeError("the value is nested too deeply to decode") from None


def _decode_deeper(depth: int) -> int:
    if depth >= MAX_DEPTH + _WRAPPER_LEVELS:
        raise EJSONDecodeError(
            f"arrays and objects nest deeper than {MAX_DEPTH + _WRAPPER_LEVELS} levels"
        )
    return depth + 1


def _decode(value: Any, depth: int) -> Any:
    # Children first: {"$date": {"$numberLong": "..."}} reaches _decode_date as an int.
    if isinstance(value, dict):
        depth = _decode_deeper(depth)
        decoded = {key: _decode(item, depth) for key, item in value.items()}
        first = next(iter(decoded), None)
        if isinstance(first, str) and first.startswith("$"):
            return _decode_wrapper(decoded)
        return decoded
    if isinstance(value, list):
        depth = _decode_deeper(depth)
        return [_decode(item, depth) for item in value]
    return value


def loads(text: str | bytes) -> Any:
    """Parse EJSON text (Strict or Relaxed) into Python values.

    :raises EJSONDecodeError: the text is not JSON, or :func:`decode` refuses it.
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise EJSONDecodeError("the text is nested too deeply to parse") from None
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise EJSONDecodeError(f"not JSON: {exc}") from None
    return decode(data)
