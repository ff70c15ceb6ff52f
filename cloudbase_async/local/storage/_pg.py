"""PG-mode storage ("pgstore"): Supabase-style buckets, objects and signed URLs.

Answers have the shapes of ``pg-storage-notes`` (what the official js-sdk reads):
buckets as Supabase returns them, uploads ``{"Key", "Id"}``, the cursor-form list
``{"folders", "objects", "hasNext", "nextCursor"}``, signed URLs relative to the
storage root. Object names are any text without control characters or empty,
``.`` or ``..`` segments (CloudBase does not restrict them to ASCII, as Supabase does).

Who may do what (row-level security policies are not emulated; this is the coarse
rule in their place): the administrator (``service_role``) does everything and alone
manages buckets; users (``authenticated``) read and write objects in every bucket;
the anonymous role reads objects of public buckets only. Signed and public URLs need
no credential at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any, Final, Literal

import attrs

from .._identity import Caller
from ._errors import (
    GatewayError,
    SupabaseError,
    bucket_not_found,
    duplicate,
    invalid_request,
    object_not_found,
    permission_denied,
)
from ._pg_shapes import (
    bucket_json,
    check_bucket_id,
    check_name,
    decode_cursor,
    encode_cursor,
    entries,
    full_object,
    info_json,
    mime_allowed,
    mime_types,
    parse_size,
    positive_int,
    signed_path,
    too_large,
)
from ._signing import SignatureProblem, Signer
from ._store import BucketRecord, Exists, ObjectRecord, ObjectStore, TooLarge, now_text

__all__ = ["MAX_REMOVE", "MAX_SIGN", "Mode", "PgStorage", "Upload"]

MAX_REMOVE: Final = 100  # CloudBase's batch-delete limit (Supabase allows 1000)
MAX_SIGN: Final = 500  # CloudBase's batch-sign limit
MAX_LIST: Final = 1000
SIGN_FAILED: Final = "Either the object does not exist or you do not have access to it"

_BUCKET_SORT: Final = frozenset({"id", "name", "created_at", "updated_at"})
_OBJECT_SORT: Final = frozenset({"name", "created_at", "updated_at"})

Mode = Literal["create", "replace", "upsert"]


@attrs.frozen
class Upload:
    """What an upload says about its bytes besides the bytes themselves."""

    content_type: str | None = None
    cache_control: str | None = None  # "max-age=3600"
    metadata: dict[str, Any] | None = None
    length: int | None = None


# ----------------------------------------------------------------------- engine


class PgStorage:
    """Buckets and objects of PG-mode storage, over the shared object store."""

    def __init__(self, store: ObjectStore, signer: Signer, *, signed_upload_lifetime: int) -> None:
        self._store = store
        self._signer = signer
        self.signed_upload_lifetime = signed_upload_lifetime

    # -------------------------------------------------------------- permissions

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise permission_denied("managing buckets needs the service role (an API key)")

    async def _bucket(self, caller: Caller, bucket_id: str, *, write: bool) -> BucketRecord:
        """The bucket, if ``caller`` may read (or ``write``) its objects."""
        bucket = await self._store.bucket(check_bucket_id(bucket_id))
        if bucket is None:
            raise bucket_not_found(bucket_id)
        if caller.is_admin or (caller.role == "user" and caller.uid):
            return bucket
        if write or not bucket.public:
            raise permission_denied(
                f"the anonymous role may not {'write' if write else 'read'}"
                f" objects of bucket {bucket_id}"
            )
        return bucket

    async def _object(self, bucket: BucketRecord, name: str) -> ObjectRecord:
        record = await self._store.get("pg", bucket.id, check_name(name))
        if record is None:
            raise object_not_found()
        return record

    # ------------------------------------------------------------------ buckets

    async def list_buckets(
        self,
        caller: Caller,
        *,
        limit: int | None = None,
        offset: int = 0,
        sort_column: str = "name",
        sort_order: str = "asc",
        search: str | None = None,
    ) -> list[dict[str, Any]]:
        if sort_column not in _BUCKET_SORT or sort_order not in ("asc", "desc"):
            raise invalid_request("sortColumn is id|name|created_at|updated_at, sortOrder asc|desc")
        if offset < 0 or (limit is not None and limit < 0):
            raise invalid_request("limit and offset must be >= 0")
        buckets = await self._store.buckets()
        if not (caller.is_admin or caller.role == "user"):
            buckets = [b for b in buckets if b.public]
        if search:
            buckets = [b for b in buckets if search.lower() in b.name.lower()]
        buckets.sort(key=lambda b: (getattr(b, sort_column), b.id), reverse=sort_order == "desc")
        chosen = buckets[offset:] if limit is None else buckets[offset : offset + limit]
        return [bucket_json(b) for b in chosen]

    async def get_bucket(self, caller: Caller, bucket_id: str) -> dict[str, Any]:
        return bucket_json(await self._bucket(caller, bucket_id, write=False))

    async def create_bucket(self, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        self._require_admin(caller)
        bucket_id = check_bucket_id(body.get("id") or body.get("name"))
        name = body.get("name") or bucket_id
        if not isinstance(name, str) or len(name) > 256:
            raise invalid_request("name must be a string of at most 256 characters")
        if body.get("type", "STANDARD") != "STANDARD":
            raise invalid_request("type must be STANDARD")
        stamp = now_text()
        record = BucketRecord(
            id=bucket_id,
            name=name,
            owner=caller.uid,
            public=body.get("public") is True,
            file_size_limit=parse_size(body.get("file_size_limit")),
            allowed_mime_types=mime_types(body.get("allowed_mime_types")),
            created_at=stamp,
            updated_at=stamp,
        )
        try:
            await self._store.save_bucket(record, create=True)
        except Exists:
            raise duplicate() from None
        return {"name": bucket_id}

    async def update_bucket(
        self, caller: Caller, bucket_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._require_admin(caller)
        bucket = await self._bucket(caller, bucket_id, write=True)
        changes: dict[str, Any] = {"updated_at": now_text()}
        if "public" in body:
            changes["public"] = body["public"] is True
        if "file_size_limit" in body:
            changes["file_size_limit"] = parse_size(body["file_size_limit"])
        if "allowed_mime_types" in body:
            changes["allowed_mime_types"] = mime_types(body["allowed_mime_types"])
        await self._store.save_bucket(attrs.evolve(bucket, **changes), create=False)
        return {"message": "Successfully updated"}

    async def delete_bucket(self, caller: Caller, bucket_id: str) -> dict[str, Any]:
        self._require_admin(caller)
        outcome = await self._store.delete_bucket(check_bucket_id(bucket_id))
        if outcome == "missing":
            raise bucket_not_found(bucket_id)
        if outcome == "not empty":
            raise SupabaseError(
                "409", "InvalidRequest", "The bucket you tried to delete is not empty"
            )
        return {"message": "Successfully deleted"}

    # ------------------------------------------------------------------ uploads

    async def upload(
        self,
        caller: Caller,
        bucket_id: str,
        name: str,
        body: AsyncIterable[bytes],
        upload: Upload,
        *,
        mode: Mode,
    ) -> ObjectRecord:
        """``POST`` (``mode`` create or upsert, per ``x-upsert``) or ``PUT`` (replace)."""
        bucket = await self._bucket(caller, bucket_id, write=True)
        return await self._receive(bucket, name, body, upload, mode=mode, owner=caller.uid)

    async def _receive(
        self,
        bucket: BucketRecord,
        name: str,
        body: AsyncIterable[bytes],
        upload: Upload,
        *,
        mode: Mode,
        owner: str | None,
    ) -> ObjectRecord:
        check_name(name)
        content_type = upload.content_type or "application/octet-stream"
        if not mime_allowed(content_type, bucket.allowed_mime_types):
            raise SupabaseError(
                "415", "invalid_mime_type", f"mime type {content_type} is not supported"
            )
        limit = bucket.file_size_limit
        if limit is not None and upload.length is not None and upload.length > limit:
            raise too_large()
        if mode == "create" and await self._store.get("pg", bucket.id, name) is not None:
            raise duplicate()  # before reading a byte of the body
        try:
            blob = await self._store.receive(body, limit=limit)
        except TooLarge:
            raise too_large() from None
        try:
            return await self._store.publish(
                blob,
                space="pg",
                bucket=bucket.id,
                name=name,
                content_type=content_type,
                cache_control=upload.cache_control,
                metadata=upload.metadata,
                owner=owner,
                mode=mode,
            )
        except Exists:
            raise duplicate() from None
        except KeyError:
            raise object_not_found() from None

    async def sign_upload(
        self, caller: Caller, bucket_id: str, name: str, *, upsert: bool
    ) -> tuple[str, str]:
        """A signed upload URL (relative) and its token, valid ``signed_upload_lifetime``."""
        bucket = await self._bucket(caller, bucket_id, write=True)
        check_name(name)
        if not upsert and await self._store.get("pg", bucket.id, name) is not None:
            raise duplicate()
        claims: dict[str, Any] = {"url": f"{bucket.id}/{name}", "upsert": upsert}
        if caller.uid:
            claims["owner"] = caller.uid
        token = self._signer.token("upload", claims, self.signed_upload_lifetime)
        return signed_path("upload/sign", bucket.id, name, token), token

    async def upload_signed(
        self,
        bucket_id: str,
        name: str,
        token: str | None,
        body: AsyncIterable[bytes],
        upload: Upload,
    ) -> ObjectRecord:
        """``PUT /object/upload/sign/...?token=``: the token is the only credential."""
        claims = self._claims("upload", bucket_id, name, token)
        bucket = await self._public_route_bucket(bucket_id, public_only=False)
        mode: Mode = "upsert" if claims.get("upsert") is True else "create"
        owner = claims.get("owner") if isinstance(claims.get("owner"), str) else None
        return await self._receive(bucket, name, body, upload, mode=mode, owner=owner)

    # -------------------------------------------------------------------- reads

    async def open(self, caller: Caller, bucket_id: str, name: str) -> ObjectRecord:
        """The object to download with a credential."""
        return await self._object(await self._bucket(caller, bucket_id, write=False), name)

    async def _public_route_bucket(self, bucket_id: str, *, public_only: bool) -> BucketRecord:
        # On the credential-free routes Supabase answers its own shape (W: 400, "404").
        bucket = await self._store.bucket(check_bucket_id(bucket_id))
        if bucket is None or (public_only and not bucket.public):
            raise SupabaseError("404", "Bucket not found", "Bucket not found")
        return bucket

    async def open_public(self, bucket_id: str, name: str) -> ObjectRecord:
        return await self._object(
            await self._public_route_bucket(bucket_id, public_only=True), name
        )

    def _claims(self, purpose: str, bucket_id: str, name: str, token: str | None) -> dict[str, Any]:
        if not token:
            raise invalid_request("querystring must have required property 'token'")
        try:
            claims = self._signer.check_token(purpose, token)
        except SignatureProblem as problem:
            raise SupabaseError("400", problem.code, problem.message) from None
        if claims.get("url") != f"{bucket_id}/{name}":
            raise SupabaseError("400", "InvalidSignature", "The url do not match the signature")
        return claims

    async def open_signed(self, bucket_id: str, name: str, token: str | None) -> ObjectRecord:
        self._claims("download", bucket_id, name, token)
        return await self._object(
            await self._public_route_bucket(bucket_id, public_only=False), name
        )

    async def info(self, caller: Caller, bucket_id: str, name: str) -> dict[str, Any]:
        return info_json(await self.open(caller, bucket_id, name))

    async def list_objects(
        self, caller: Caller, bucket_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The cursor-form list (Supabase's ``list-v2``): folders and objects, a page."""
        bucket = await self._bucket(caller, bucket_id, write=False)
        prefix = body.get("prefix") or ""
        limit = body.get("limit", MAX_LIST)
        sort = body.get("sortBy") or {}
        if not isinstance(prefix, str) or not isinstance(sort, Mapping):
            raise invalid_request("prefix is a string and sortBy an object")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIST:
            raise invalid_request(f"body/limit must be between 1 and {MAX_LIST}")
        column, order = sort.get("column", "name"), sort.get("order", "asc")
        if column not in _OBJECT_SORT or order not in ("asc", "desc"):
            raise invalid_request("sortBy.column is name|created_at|updated_at, order asc|desc")
        records = await self._store.with_prefix("pg", bucket.id, prefix)
        found = entries(records, prefix, bool(body.get("with_delimiter")), column)
        found.sort(key=lambda entry: entry[0], reverse=order == "desc")
        cursor = body.get("cursor")
        if cursor:
            after = decode_cursor(str(cursor))
            found = [e for e in found if (e[0] < after if order == "desc" else e[0] > after)]
        page, rest = found[:limit], found[limit:]
        answer: dict[str, Any] = {
            "folders": [payload for _, kind, payload in page if kind == "folder"],
            "objects": [payload for _, kind, payload in page if kind == "object"],
            "hasNext": bool(rest),
        }
        if rest:
            answer["nextCursor"] = encode_cursor(page[-1][0])
            answer["nextCursorKey"] = page[-1][2]["name"]
        return answer

    # ----------------------------------------------------------- delete, copy, move

    async def delete(self, caller: Caller, bucket_id: str, name: str) -> dict[str, Any]:
        bucket = await self._bucket(caller, bucket_id, write=True)
        if not await self._store.delete("pg", bucket.id, [check_name(name)]):
            raise object_not_found()
        return {"message": "Successfully deleted"}

    async def delete_many(
        self, caller: Caller, bucket_id: str, prefixes: object
    ) -> list[dict[str, Any]]:
        bucket = await self._bucket(caller, bucket_id, write=True)
        if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
            raise invalid_request("body/prefixes must be a list of object names")
        if len(prefixes) > MAX_REMOVE:
            raise GatewayError("INVALID_PARAM", f"at most {MAX_REMOVE} prefixes per request", 400)
        deleted = await self._store.delete("pg", bucket.id, prefixes)
        return [full_object(record) for record in deleted]

    async def copy(
        self,
        caller: Caller,
        body: Mapping[str, Any],
        *,
        upsert: bool,
        header_metadata: dict[str, Any] | None,
    ) -> dict[str, Any]:
        source_bucket = await self._bucket(caller, str(body.get("bucketId")), write=False)
        target_bucket = await self._bucket(
            caller, str(body.get("destinationBucket") or source_bucket.id), write=True
        )
        source = await self._object(source_bucket, body.get("sourceKey"))  # type: ignore[arg-type]
        target = check_name(body.get("destinationKey"))
        metadata = None
        if body.get("copyMetadata") is False:
            given = body.get("metadata")
            metadata = given if isinstance(given, dict) else (header_metadata or {})
        if not mime_allowed(source.content_type, target_bucket.allowed_mime_types):
            raise SupabaseError(
                "415", "invalid_mime_type", f"mime type {source.content_type} is not supported"
            )
        limit = target_bucket.file_size_limit
        if limit is not None and source.size > limit:
            raise too_large()
        if (source.bucket, source.name) == (target_bucket.id, target) and metadata is None:
            record = source
        else:
            try:
                record = await self._store.copy(
                    source,
                    space="pg",
                    bucket=target_bucket.id,
                    name=target,
                    overwrite=upsert,
                    metadata=metadata,
                    owner=caller.uid,
                )
            except Exists:
                raise duplicate() from None
        return {"Key": f"{record.bucket}/{record.name}", "Id": record.id, **full_object(record)}

    async def move(self, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        source_bucket = await self._bucket(caller, str(body.get("bucketId")), write=True)
        target_bucket = await self._bucket(
            caller, str(body.get("destinationBucket") or source_bucket.id), write=True
        )
        source = await self._object(source_bucket, body.get("sourceKey"))  # type: ignore[arg-type]
        target = check_name(body.get("destinationKey"))
        record = source
        if (source.bucket, source.name) != (target_bucket.id, target):
            try:
                record = await self._store.rename(source, bucket=target_bucket.id, name=target)
            except Exists:
                raise duplicate() from None
            except KeyError:
                raise object_not_found() from None
        return {
            "message": "Successfully moved",
            "Id": record.id,
            "Key": f"{record.bucket}/{record.name}",
        }

    # -------------------------------------------------------------------- signing

    async def sign(self, caller: Caller, bucket_id: str, name: str, expires_in: object) -> str:
        """A signed download URL for one object, relative to the storage root."""
        seconds = positive_int(expires_in, "expiresIn")
        record = await self.open(caller, bucket_id, name)
        token = self._signer.token("download", {"url": f"{record.bucket}/{record.name}"}, seconds)
        return signed_path("sign", record.bucket, record.name, token)

    async def sign_many(
        self, caller: Caller, bucket_id: str, paths: object, expires_in: object
    ) -> list[dict[str, Any]]:
        """Signed URLs for ``paths`` (at most 500); a failing path gets ``error`` instead."""
        seconds = positive_int(expires_in, "expiresIn")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise invalid_request("body/paths must be a list of object names")
        if len(paths) > MAX_SIGN:
            raise GatewayError("INVALID_PARAM", f"at most {MAX_SIGN} paths per request", 400)
        bucket = await self._bucket(caller, bucket_id, write=False)
        answers = []
        for path in paths:
            record = await self._store.get("pg", bucket.id, path)
            if record is None:
                answers.append({"error": SIGN_FAILED, "path": path, "signedURL": None})
                continue
            token = self._signer.token("download", {"url": f"{bucket.id}/{path}"}, seconds)
            url = signed_path("sign", bucket.id, path, token)
            answers.append({"error": None, "path": path, "signedURL": url})
        return answers
