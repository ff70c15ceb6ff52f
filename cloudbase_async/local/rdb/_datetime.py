"""``date``, ``timestamp`` and ``timestamptz``: ISO 8601 input, PostgreSQL's output.

PostgreSQL's date/time parser accepts a great many spellings (``Jan 2 2024``,
``20240102``, ``today``...). The engine reads ISO 8601 (``2024-01-02``,
``2024-01-02 03:04:05.5``, ``2024-01-02T03:04:05+08:00``) exactly as PostgreSQL does,
fields checked the same way (``22008`` for ``2024-02-30``), and refuses the other
spellings by name instead of guessing; text with no digits at all is PostgreSQL's
``22007`` (it cannot be a date in any spelling).

Values are stored as fixed-width text that sorts by time: ``YYYY-MM-DD`` and
``YYYY-MM-DD HH:MM:SS.ffffff``; ``timestamptz`` in UTC, the session time zone the engine
answers in (PostgreSQL prints ``timestamptz`` in its ``TimeZone`` setting).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import ClassVar, Final

import attrs

from ._errors import RdbError, unsupported
from ._pgtype import PgType, Stored

__all__ = ["DateType", "TimestampType", "now_text", "today_text"]

_SPACE: Final = " \t\n\r\f\v"
_ISO: Final = re.compile(
    r"(?P<year>[0-9]{4,})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]| +)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]*))?)?)?"
    r" *(?P<zone>[Zz]|[+-][0-9]{1,2}(?::?[0-9]{2}(?::?[0-9]{2})?)?)?"
)
_SPECIAL_WORDS: Final = frozenset(
    {
        "epoch",
        "infinity",
        "-infinity",
        "+infinity",
        "now",
        "today",
        "tomorrow",
        "yesterday",
        "allballs",
    }
)


def _out_of_range(text: str) -> RdbError:
    return RdbError(400, "22008", f'date/time field value out of range: "{text}"')


_ZONE: Final = re.compile(r"([+-])([0-9]{1,2})(?::?([0-9]{2})(?::?([0-9]{2}))?)?")


def _zone_offset(zone: str | None) -> dt.timedelta:
    if zone is None or zone in ("Z", "z"):
        return dt.timedelta(0)
    match = _ZONE.fullmatch(zone)
    assert match is not None
    sign, hours, minutes, seconds = match.groups()
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes or 0), seconds=int(seconds or 0))
    if int(hours) > 15 or int(minutes or 0) > 59 or int(seconds or 0) > 59:
        raise unsupported("time zone offsets beyond ±15:59", zone)
    return -offset if sign == "-" else offset


def parse_datetime(text: str, type_name: str) -> tuple[dt.date, dt.timedelta, dt.timedelta]:
    """The day, the time of day and the zone offset (0 if none) written in ``text``."""
    stripped = text.strip(_SPACE)
    match = _ISO.fullmatch(stripped)
    if match is None:
        if stripped.lower() in _SPECIAL_WORDS:
            raise unsupported(f"the special {type_name} input {stripped!r}", text)
        if not any(c.isdigit() for c in stripped):
            raise RdbError(400, "22007", f'invalid input syntax for type {type_name}: "{text}"')
        raise unsupported(f"{type_name} input other than ISO 8601 (YYYY-MM-DD[ HH:MM:SS])", text)
    year = int(match["year"])
    if year > 9999:
        raise unsupported("years after 9999", text)
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    second = int(match["second"] or 0)
    fraction = match["fraction"] or ""
    # PostgreSQL rounds the fraction as a double: rint(frac * 1e6).
    micros = round(float(f"0.{fraction}") * 1_000_000) if fraction else 0
    if hour > 24 or minute > 59 or second > 60 or (hour == 24 and (minute or second or micros)):
        raise _out_of_range(text)
    month, day_of_month = int(match["month"]), int(match["day"])
    if not 1 <= month <= 12 or not 1 <= day_of_month <= 31:
        # PostgreSQL's DTERR_MD_FIELD_OVERFLOW: the fields may be in another order.
        error = _out_of_range(text)
        error.hint = 'Perhaps you need a different "datestyle" setting.'
        raise error
    try:
        day = dt.date(year, month, day_of_month)
    except ValueError:
        raise _out_of_range(text) from None
    time = dt.timedelta(hours=hour, minutes=minute, seconds=second, microseconds=micros)
    return day, time, _zone_offset(match["zone"])


def _fraction(moment: dt.datetime) -> str:
    return f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""


def now_text() -> str:
    """``now()`` as stored: UTC, microseconds."""
    moment = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="microseconds")


def today_text() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


@attrs.frozen
class DateType(PgType):
    name: ClassVar[str] = "date"

    def parse(self, text: str) -> Stored:
        day, _, _ = parse_datetime(text, "date")
        return day.isoformat()

    def to_json(self, value: Stored) -> str:
        return f'"{value}"'


@attrs.frozen
class TimestampType(PgType):
    with_zone: bool = False

    @property
    def input_name(self) -> str:
        return "timestamp with time zone" if self.with_zone else "timestamp"

    @property
    def display(self) -> str:
        return "timestamp with time zone" if self.with_zone else "timestamp without time zone"

    def parse(self, text: str) -> Stored:
        day, time, offset = parse_datetime(text, self.input_name)
        try:
            moment = dt.datetime.combine(day, dt.time()) + time
            if self.with_zone:
                moment -= offset
        except OverflowError:
            raise unsupported("timestamps outside the years 1 to 9999", text) from None
        return moment.isoformat(sep=" ", timespec="microseconds")

    def _moment(self, value: Stored) -> dt.datetime:
        return dt.datetime.fromisoformat(str(value))

    def to_text(self, value: Stored) -> str:
        moment = self._moment(value)
        text = moment.isoformat(sep=" ", timespec="seconds") + _fraction(moment)
        return text + "+00" if self.with_zone else text

    def to_json(self, value: Stored) -> str:
        moment = self._moment(value)
        text = moment.isoformat(timespec="seconds") + _fraction(moment)
        return f'"{text}+00:00"' if self.with_zone else f'"{text}"'
