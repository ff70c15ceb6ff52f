"""Results of relational database calls, ``Content-Range`` parsing and row-count errors."""

from __future__ import annotations

import math
import re
from typing import Any, Final, Generic, TypeVar

import attrs

from .._core.errors import APIError, NotFoundError

__all__ = [
    "MultipleRowsError",
    "NoRowsError",
    "RdbPage",
    "RdbResult",
    "RowCountError",
    "parse_content_range",
    "row_count_error",
]

T = TypeVar("T")
Row = TypeVar("Row")

_CONTENT_RANGE: Final = re.compile(r"^\s*(?:\*|\d+-\d+)\s*/\s*(\*|\d+)\s*$")
_ROWS_IN_DETAILS: Final = re.compile(r"(\d+)\s+rows?")


def parse_content_range(value: str | None) -> int | None:
    """The total in a ``Content-Range`` header: ``0-9/100`` → 100, ``*/5`` → 5.

    ``None`` when the total is unknown (``0-9/*``, ``*/*``), absent or malformed.
    """
    if not value:
        return None
    match = _CONTENT_RANGE.match(value)
    if match is None or match.group(1) == "*":
        return None
    return int(match.group(1))


@attrs.frozen
class RdbResult(Generic[T]):
    """What a query returned.

    ``data`` is the list of rows (``[]`` for writes sent with ``returning="minimal"``
    and for ``head=True``), one row for ``single()``, one row or ``None`` for
    ``maybe_single()``, or a function's result for ``rpc()``. ``count`` is the total
    from ``Content-Range`` when a count was asked for (``None`` otherwise or unknown).
    """

    data: T
    count: int | None
    status_code: int
    request_id: str | None


@attrs.frozen
class RdbPage(Generic[Row]):
    """One page of rows from :meth:`QueryBuilder.page`, with the total ``count``."""

    items: list[Row]
    count: int | None
    number: int
    page_size: int
    request_id: str | None = None

    @property
    def total_pages(self) -> int | None:
        if self.count is None:
            return None
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def has_next(self) -> bool:
        if self.count is None:
            return len(self.items) == self.page_size
        return self.number * self.page_size < self.count

    @property
    def has_previous(self) -> bool:
        return self.number > 1


class RowCountError(APIError):
    """``single()``/``maybe_single()`` found a number of rows other than one.

    ``rows`` is how many rows matched, when the server said (PostgREST's ``PGRST116``).
    """

    rows: int | None

    def __init__(self, message: str, *, rows: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.rows = rows


class NoRowsError(RowCountError, NotFoundError):
    """``single()`` matched no row (so ``except NotFoundError`` catches it too)."""


class MultipleRowsError(RowCountError):
    """``single()`` or ``maybe_single()`` matched more than one row."""


def row_count_error(error: APIError) -> RowCountError | None:
    """The row-count error for PostgREST's 406 ``PGRST116``, else ``None``.

    PostgREST says ``"The result contains 0 rows"`` (or ``2 rows``...) in ``details``.
    """
    if error.code != "PGRST116":
        return None
    details = error.details if isinstance(error.details, str) else ""
    match = _ROWS_IN_DETAILS.search(details)
    rows = int(match.group(1)) if match else None
    cls: type[RowCountError]
    if rows == 0:
        cls, message = NoRowsError, "single() matched no row"
    else:
        count = "several" if rows is None else str(rows)
        cls, message = MultipleRowsError, f"single() needs one row, {count} matched"
    return cls(
        message,
        rows=rows,
        status_code=error.status_code,
        code=error.code,
        request_id=error.request_id,
        body=error.body,
        details=error.details,
        hint=error.hint,
    )
