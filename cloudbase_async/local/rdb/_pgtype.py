"""The base of every column type, and the helpers all of them share."""

from __future__ import annotations

from typing import ClassVar, Final, TypeAlias

import attrs

from ._errors import RdbError
from ._json import JsonValue, dumps_compact

__all__ = ["SPACE", "PgType", "Stored", "invalid_syntax", "json_input_text"]

Stored: TypeAlias = int | float | str
#: C's isspace: what PostgreSQL's input functions skip.
SPACE: Final = " \t\n\r\f\v"


def invalid_syntax(type_name: str, text: str) -> RdbError:
    return RdbError(400, "22P02", f'invalid input syntax for type {type_name}: "{text}"')


def json_input_text(value: JsonValue) -> str:
    """The text PostgreSQL's ``json_to_record`` hands a non-JSON column's input function."""
    if isinstance(value, str):  # a JSON string (or a number, which keeps its text)
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    return dumps_compact(value)


@attrs.frozen
class PgType:
    """A column type. Subclasses override :meth:`parse` and the output methods."""

    name: ClassVar[str] = ""
    sqlite: ClassVar[str] = "TEXT"
    #: Comparison operators (eq, lt...) exist for the type.
    comparable: ClassVar[bool] = True
    #: LIKE/ILIKE exist for the type (text types only).
    textlike: ClassVar[bool] = False

    @property
    def display(self) -> str:
        """The name with modifiers, as PostgreSQL prints it (``character varying(20)``)."""
        return self.name

    @property
    def type_name(self) -> str:
        """The name without modifiers (``operator does not exist: integer ~~ unknown``)."""
        return self.display

    @property
    def input_name(self) -> str:
        """The name in ``invalid input syntax for type ...`` messages."""
        return self.type_name

    def parse(self, text: str) -> Stored:
        """A value from its text form (a filter value, a JSON string)."""
        raise NotImplementedError

    def coerce(self, value: Stored) -> Stored:
        """Apply the column's modifiers to a value being written (length, scale)."""
        return value

    def from_json(self, value: JsonValue) -> Stored | None:
        """A body value written to a column of this type."""
        return None if value is None else self.parse(json_input_text(value))

    def to_text(self, value: Stored) -> str:
        """PostgreSQL's text output (error details)."""
        return str(value)

    def to_json(self, value: Stored) -> str:
        """The JSON fragment PostgreSQL's row-to-JSON writes."""
        return self.to_text(value)
