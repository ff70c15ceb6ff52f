"""JSON as PostgreSQL sees it: number text kept, duplicate keys kept, ``jsonb`` order.

Request bodies are decoded into a tree that loses nothing PostgreSQL would use: a
number keeps its text (``1.50`` is not ``1.5`` to a ``numeric`` column, and ``1e400``
is not ``inf``), an object keeps its pairs in order with duplicates (a ``json`` column
stores them all). :func:`jsonb_text` renders a value the way ``jsonb`` prints it: keys
ordered by length then bytes, the last duplicate winning, numbers as ``numeric``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

import attrs

__all__ = [
    "JsonNumber",
    "JsonObject",
    "JsonValue",
    "InvalidJson",
    "dumps_compact",
    "escape_json",
    "jsonb_text",
    "decimal_exponent",
    "loads",
]


_WIDE: Final = Context(prec=400_000)


class JsonNumber(str):
    """A JSON number, as its text."""

    __slots__ = ()


@attrs.frozen
class JsonObject:
    pairs: tuple[tuple[str, JsonValue], ...]

    def get(self, key: str) -> JsonValue | None:
        """The value of the last pair named ``key`` (what ``json_to_record`` reads)."""
        found: JsonValue | None = None
        for name, value in self.pairs:
            if name == key:
                found = value
        return found

    def keys(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.pairs))

    def __contains__(self, key: str) -> bool:
        return any(name == key for name, _ in self.pairs)


JsonValue: TypeAlias = "JsonObject | list[Any] | str | JsonNumber | bool | None"


class InvalidJson(ValueError):
    pass


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not JSON")


def loads(text: str | bytes) -> JsonValue:
    """Decode ``text``; raises :class:`InvalidJson` for anything but one JSON value."""
    try:
        return json.loads(  # type: ignore[no-any-return]
            text,
            parse_float=JsonNumber,
            parse_int=JsonNumber,
            parse_constant=_constant,
            object_pairs_hook=lambda pairs: JsonObject(tuple(pairs)),
        )
    except (ValueError, RecursionError) as exc:
        raise InvalidJson(str(exc)) from None


_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def escape_json(text: str) -> str:
    """A JSON string literal as PostgreSQL's ``escape_json`` writes it."""
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _dump(value: JsonValue, number: Callable[[str], str], obj: Callable[..., str]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JsonNumber):
        return number(value)
    if isinstance(value, str):
        return escape_json(value)
    if isinstance(value, list):
        return obj([_dump(item, number, obj) for item in value], None)
    return obj([(k, _dump(v, number, obj)) for k, v in value.pairs], True)


def dumps_compact(value: JsonValue) -> str:
    """``value`` as compact JSON, pairs and number text exactly as received."""

    def obj(items: list[Any], is_object: bool | None) -> str:
        if is_object:
            return "{" + ",".join(f"{escape_json(k)}:{v}" for k, v in items) + "}"
        return "[" + ",".join(items) + "]"

    return _dump(value, str, obj)


def decimal_exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: JSON and numeric_in have no NaN here
    return exponent


def numeric_text(text: str) -> str:
    """A JSON number as PostgreSQL's ``numeric`` prints it (``1e2`` -> ``100``)."""
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - JSON numbers always parse
        return text
    if number.is_zero():
        number = number.copy_abs()
    if decimal_exponent(number) > 0:
        number = number.quantize(Decimal(1), context=_WIDE)
    return format(number, "f")


def _jsonb_key(key: str) -> tuple[int, bytes]:
    encoded = key.encode()
    return len(encoded), encoded


def jsonb_text(value: JsonValue) -> str:
    """``value`` as ``jsonb`` prints it: ``{"a": 1, "bb": [1, 2]}``."""

    def obj(items: list[Any], is_object: bool | None) -> str:
        if not is_object:
            return "[" + ", ".join(items) + "]"
        last = dict(items)  # the last duplicate wins
        ordered = sorted(last.items(), key=lambda item: _jsonb_key(item[0]))
        return "{" + ", ".join(f"{escape_json(k)}: {v}" for k, v in ordered) + "}"

    return _dump(value, numeric_text, obj)
