"""PG-mode storage's wire shapes and input checks (pure functions, no state).

Shapes follow what supabase storage-api answers and the js-sdk reads: buckets,
full object rows, object info, list entries; signed paths are relative to the
storage root (``/object/sign/{bucket}/{name}?token=...``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote

from ._errors import SupabaseError, invalid_key, invalid_request
from ._store import BucketRecord, ObjectRecord

__all__ = [
    "bucket_json",
    "check_bucket_id",
    "check_name",
    "decode_cursor",
    "encode_cursor",
    "entries",
    "full_object",
    "info_json",
    "mime_allowed",
    "mime_types",
    "parse_size",
    "positive_int",
    "signed_path",
    "too_large",
]

_BAD_BUCKET: Final = re.compile(r"[\x00-\x20\x7f/\\?#%]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_SIZE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)\s*$", re.IGNORECASE)
_UNITS: Final = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}


# ------------------------------------------------------------------ wire shapes


def bucket_json(bucket: BucketRecord) -> dict[str, Any]:
    return {
        "id": bucket.id,
        "name": bucket.name,
        "owner": bucket.owner,
        "owner_id": bucket.owner,
        "public": bucket.public,
        "type": "STANDARD",
        "file_size_limit": bucket.file_size_limit,
        "allowed_mime_types": bucket.allowed_mime_types,
        "created_at": bucket.created_at,
        "updated_at": bucket.updated_at,
    }


def system_metadata(record: ObjectRecord) -> dict[str, Any]:
    return {
        "eTag": f'"{record.etag}"',
        "size": record.size,
        "mimetype": record.content_type,
        "cacheControl": record.cache_control,
        "lastModified": record.updated_at,
        "contentLength": record.size,
        "httpStatusCode": 200,
    }


def full_object(record: ObjectRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "bucket_id": record.bucket,
        "owner": record.owner,
        "owner_id": record.owner,
        "id": record.id,
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "last_accessed_at": record.last_accessed_at,
        "metadata": system_metadata(record),
        "user_metadata": record.metadata,
    }


def info_json(record: ObjectRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "version": record.version,
        "bucket_id": record.bucket,
        "size": record.size,
        "content_type": record.content_type,
        "cache_control": record.cache_control,
        "etag": f'"{record.etag}"',
        "metadata": record.metadata,
        "last_modified": record.updated_at,
        "created_at": record.created_at,
    }


def signed_path(kind: str, bucket: str, name: str, token: str) -> str:
    """``/object/{kind}/{bucket}/{name}?token=...``, relative to the storage root."""
    return f"/object/{kind}/{bucket}/{quote(name, safe='/')}?token={token}"


# ------------------------------------------------------------------- validation


def check_bucket_id(bucket_id: object) -> str:
    if (
        not isinstance(bucket_id, str)
        or not bucket_id
        or len(bucket_id) > 256
        or _BAD_BUCKET.search(bucket_id)
    ):
        raise invalid_request(f"Bucket name invalid: {bucket_id!r}")
    return bucket_id


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name.encode()) > 1024:
        raise invalid_key(str(name))
    if _CONTROL.search(name) or any(part in ("", ".", "..") for part in name.split("/")):
        raise invalid_key(name)
    return name


def parse_size(value: object) -> int | None:
    """A ``file_size_limit``: bytes, or text like ``"100MB"`` (decimal units, as Supabase)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        if value.strip().isdigit():
            return int(value)
        match = _SIZE.match(value)
        if match:
            return round(float(match[1]) * _UNITS[match[2].upper()])
    raise invalid_request(f"file_size_limit must be bytes or a size like '100MB': {value!r}")


def mime_types(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid_request("allowed_mime_types must be a list of MIME types")
    return list(value)


def mime_allowed(content_type: str, allowed: list[str] | None) -> bool:
    if not allowed:
        return True
    base = content_type.split(";", 1)[0].strip().lower()
    for pattern in (p.lower() for p in allowed):
        if pattern == base or (pattern.endswith("/*") and base.startswith(pattern[:-1])):
            return True
    return False


def positive_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid_request(f"body/{what} must be >= 1")
    return value


def encode_cursor(key: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, ...]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise invalid_request("invalid cursor") from None
    if not isinstance(key, list) or not all(isinstance(part, str) for part in key):
        raise invalid_request("invalid cursor")
    return tuple(key)


def too_large() -> SupabaseError:
    return SupabaseError("413", "Payload too large", "The object exceeded the maximum allowed size")


def entries(
    records: list[ObjectRecord], prefix: str, delimited: bool, column: str
) -> list[tuple[tuple[str, ...], str, dict[str, Any]]]:
    """(sort key, kind, answer) for every folder and object under ``prefix``.

    Keys are tuples of text, so a cursor is just the last key: by name they are
    ``(name,)``; by a time column ``(time, name)``, folders having the empty time
    (they sort first ascending, last descending).
    """
    entries: list[tuple[tuple[str, ...], str, dict[str, Any]]] = []
    folders: dict[str, None] = {}
    for record in records:
        rest = record.name[len(prefix) :]
        if delimited and "/" in rest:
            folders[prefix + rest.split("/", 1)[0] + "/"] = None
            continue
        key = (record.name,) if column == "name" else (getattr(record, column), record.name)
        entries.append(
            (
                key,
                "object",
                {
                    "key": record.name,
                    "name": record.name,
                    "id": record.id,
                    "updated_at": record.updated_at,
                    "created_at": record.created_at,
                    "last_accessed_at": record.last_accessed_at,
                    "metadata": system_metadata(record),
                },
            )
        )
    for folder in folders:
        key = (folder,) if column == "name" else ("", folder)
        entries.append((key, "folder", {"key": folder, "name": folder}))
    return entries
