"""Results of relational database calls: reading a response into rows, ``Content-Range``
parsing, and the row-count errors.

A 2xx body is decoded by :meth:`Response.json` (invalid JSON or UTF-8 is a
:class:`~cloudbase_async.ResponseValidationError`) and rows become ``returns(Model)``
instances through :func:`~cloudbase_async._core.convert.structure_answer`, so a row that
does not fit the model is one as well: never a bare ``ValueError`` or cattrs error.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final, Generic, TypeVar

import attrs

from .._core.convert import structure_answer
from .._core.errors import APIError, NotFoundError, ResponseValidationError
from .._core.responses import Response

__all__ = [
    "MultipleRowsError",
    "NoRowsError",
    "RdbPage",
    "RdbResult",
    "RowCountError",
    "decoded_body",
    "parse_content_range",
    "result_of",
    "row_count_error",
    "row_list",
    "structure_rows",
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


def result_of(response: Response, data: T) -> RdbResult[T]:
    """The :class:`RdbResult` of ``response`` carrying ``data``."""
    return RdbResult(
        data=data,
        count=parse_content_range(response.headers.get("content-range")),
        status_code=response.status_code,
        request_id=response.request_id,
    )


def decoded_body(response: Response) -> Any:
    """The decoded JSON body; ``None`` for an empty one (``return=minimal``, HEAD, 204)."""
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def row_list(response: Response) -> list[Any]:
    """The rows of a query's answer: a JSON array (``[]`` for an empty body)."""
    body = decoded_body(response)
    if body is None:
        return []
    if not isinstance(body, list):
        raise ResponseValidationError(
            f"Expected a JSON array of rows in the answer, got: {str(body)[:200]}",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        )
    return body


def structure_rows(
    rows: Any, row_type: type[Any] | None, *, status_code: int, request_id: str | None
) -> Any:
    """``rows`` (a list of rows, or one row) as ``row_type`` instances; unchanged when no
    type was asked for. A row that does not fit is a ``ResponseValidationError``."""
    if row_type is None or rows is None:
        return rows
    what = f"a {getattr(row_type, '__name__', row_type)} row"

    def one(row: Any) -> Any:
        return structure_answer(
            row, row_type, status_code=status_code, request_id=request_id, what=what
        )

    if isinstance(rows, list):
        return [one(row) for row in rows]
    return one(rows)


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
