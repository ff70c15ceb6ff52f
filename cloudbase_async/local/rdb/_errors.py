"""The one error the engine raises, in PostgREST's shape, and the answers it reuses.

Every failure becomes an :class:`RdbError` carrying the HTTP status PostgREST 12 answers
with and the body ``{code, details, hint, message}``. PostgreSQL's SQLSTATE codes are
used where PostgreSQL would raise (``23505``, ``42703``...), PostgREST's ``PGRST...``
codes where PostgREST itself would. What the engine does not implement is refused with
:func:`unsupported`: a 400 whose message names the feature, never a different answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

__all__ = [
    "UNSUPPORTED_CODE",
    "RdbError",
    "RdbSchemaError",
    "permission_denied",
    "undefined_column",
    "undefined_table",
    "unsupported",
]

#: The ``code`` of every refusal: not a PostgREST code, so no client mistakes it for one.
UNSUPPORTED_CODE: Final = "LOCAL_UNSUPPORTED"


class RdbError(Exception):
    """A request failed: ``status`` and the PostgREST error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: str | None = None,
        hint: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = tuple(headers)

    def body(self) -> bytes:
        """The JSON body, keys in PostgREST's order."""
        fields = {
            "code": self.code,
            "details": self.details,
            "hint": self.hint,
            "message": self.message,
        }
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()

    def __repr__(self) -> str:
        return f"RdbError({self.status}, {self.code!r}, {self.message!r})"


class RdbSchemaError(ValueError):
    """DDL outside the supported subset, or DDL that PostgreSQL would reject."""


def unsupported(feature: str, detail: str | None = None) -> RdbError:
    """The loud refusal: 400, naming ``feature``."""
    return RdbError(
        400,
        UNSUPPORTED_CODE,
        f"The local rdb engine does not support {feature}",
        details=detail,
        hint="Run the request against PostgREST, or leave out what the message names",
    )


def undefined_table(schema: str, name: str) -> RdbError:
    return RdbError(404, "42P01", f'relation "{schema}.{name}" does not exist')


def permission_denied(table: str, *, anonymous: bool) -> RdbError:
    # PostgREST answers 401 when the anonymous role lacks a privilege (a token might
    # help) and 403 for an authenticated role.
    return RdbError(401 if anonymous else 403, "42501", f"permission denied for table {table}")


# --- PostgreSQL's "Perhaps you meant" hint -----------------------------------------

_MAX_FUZZY_DISTANCE: Final = 3


def _levenshtein(a: str, b: str) -> int:
    # Byte-wise on UTF-8, as PostgreSQL's varstr_levenshtein compares.
    x, y = a.encode(), b.encode()
    previous = list(range(len(y) + 1))
    for i, cx in enumerate(x, 1):
        current = [i]
        for j, cy in enumerate(y, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (cx != cy)))
        previous = current
    return previous[-1]


def closest_columns(wanted: str, columns: Sequence[str]) -> tuple[str, ...]:
    """The columns PostgreSQL's hint suggests for ``wanted``: none, one or two.

    PostgreSQL keeps the best distance seen (at most 3, and at most half the length of
    the name looked for) and up to two columns at it; a third at the same distance
    drops them all, and only a strictly closer column brings a suggestion back.
    """
    best = _MAX_FUZZY_DISTANCE + 1
    found: list[str] = []
    length = len(wanted.encode())
    for column in columns:
        distance = _levenshtein(column, wanted)
        if distance > length // 2:
            continue
        if distance < best:
            best, found = distance, [column]
        elif distance == best and best <= _MAX_FUZZY_DISTANCE:
            found = [] if len(found) != 1 else [*found, column]
    return tuple(found)


def undefined_column(alias: str, column: str, columns: Sequence[str]) -> RdbError:
    """``42703`` for ``alias.column``, with PostgreSQL's hint when a column is close."""
    hint = None
    match closest_columns(column, columns):
        case (one,):
            hint = f'Perhaps you meant to reference the column "{alias}.{one}".'
        case (one, two):
            hint = (
                f'Perhaps you meant to reference the column "{alias}.{one}" '
                f'or the column "{alias}.{two}".'
            )
    return RdbError(400, "42703", f"column {alias}.{column} does not exist", hint=hint)
