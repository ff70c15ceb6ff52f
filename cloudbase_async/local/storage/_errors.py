"""The three ways storage says no.

* :class:`GatewayError`: the CloudBase gateway's ``{"code", "message", "requestId"}``
  (credentials, permissions, missing buckets, request-level problems);
* :class:`SupabaseError`: PG-mode storage's own ``{"statusCode", "error", "message"}``,
  Supabase style: HTTP 400 with the real status as a *string* in ``statusCode``
  (missing objects, duplicates, invalid keys, bad tokens...);
* :class:`CosError`: the object store's XML error, on the byte URLs of the classic flow.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CosError",
    "GatewayError",
    "SupabaseError",
    "bucket_not_found",
    "duplicate",
    "invalid_key",
    "invalid_request",
    "object_not_found",
    "permission_denied",
]


class GatewayError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class SupabaseError(Exception):
    def __init__(self, status_code: str, error: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.message = message
        self.status = status


class CosError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


NOT_FOUND_MESSAGE: Final = "Object not found"


def object_not_found() -> SupabaseError:
    return SupabaseError("404", "not_found", NOT_FOUND_MESSAGE)


def duplicate() -> SupabaseError:
    return SupabaseError("409", "Duplicate", "The resource already exists")


def invalid_key(name: str) -> SupabaseError:
    return SupabaseError("400", "InvalidKey", f"Invalid key: {name}")


def invalid_request(message: str) -> SupabaseError:
    return SupabaseError("400", "InvalidRequest", message)


def bucket_not_found(bucket: str) -> GatewayError:
    return GatewayError("STORAGE_BUCKET_NOT_FOUND", f"Bucket not found: {bucket}", 404)


def permission_denied(message: str) -> GatewayError:
    return GatewayError("STORAGE_PERMISSION_DENIED", message, 403)
