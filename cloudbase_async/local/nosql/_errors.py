"""The document database's own errors: a code, a message, and the HTTP status the code has.

The real service answers ``{"code", "message", "request_id"}`` (snake case, unlike the
rest of the gateway) with the status its documentation gives each code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["STATUS", "NoSQLError"]

#: Each error code and its HTTP status, as the API reference lists them.
STATUS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "INVALID_PARAM": 400,
        "DATABASE_PERMISSION_DENIED": 401,
        "DATABASE_INVALID_OPERRATOR": 403,  # sic: the service spells it so
        "DATABASE_COLLECTION_NOT_EXIST": 404,
        "DOCUMENT_NOT_FOUND": 404,
        "RESOURCE_NOT_FOUND": 404,
        "DATABASE_COLLECTION_ALREADY_EXIST": 409,
        "DATABASE_DUPLICATE_WRITE": 409,
        "EXCEED_REQUEST_LIMIT": 422,
        "EXCEED_CONCURRENT_REQUEST_LIMIT": 422,
        "DATABASE_REQUEST_FAILED": 500,
        "SYS_ERR": 500,
        "DATABASE_TRANSACTION_CONFLICT": 503,
        "DATABASE_TRANSACTION_FAIL": 503,
        "DATABASE_TIMEOUT": 504,
    }
)


class NoSQLError(Exception):
    """A failure the service reports with ``code`` (one of :data:`STATUS`)."""

    def __init__(self, code: str, message: str) -> None:
        if code not in STATUS:
            raise ValueError(f"unknown document-database error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def __repr__(self) -> str:
        return f"NoSQLError({self.code!r}, {self.message!r})"
