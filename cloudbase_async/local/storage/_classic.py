"""Classic (COS-style) storage: batch calls on one bucket, bytes through signed URLs.

``get-objects-upload-info`` grants one PUT to ``/_local/storage/{bucket}/{path}``: the
answer's ``authorization`` signs the method, the path, a time window and the values
of ``content-type`` and ``content-length`` (when the client asked to sign them),
``x-cos-meta-fileid`` (``cloudObjectMeta``) and ``x-cos-security-token`` (``token``).
The PUT is checked the way COS checks it and its body streamed to disk. Download URLs
are the same path with ``?t=<expiry>&sign=<hmac>``, fetched with no credential.

Who may do what (coarse, like the default "everyone reads, the creator writes" rule):
any caller reads (download info); users write new paths and objects they created;
the administrator writes everything and alone copies; the anonymous role only reads.
Refusals are per item, ``STORAGE_EXCEED_AUTHORITY``, as the gateway answers them.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

from .._identity import Caller
from ._errors import CosError, GatewayError
from ._signing import SignatureProblem, Signer
from ._store import ObjectRecord, ObjectStore, TooLarge

__all__ = ["CLOUD_ID_PREFIX", "ClassicStorage"]

CLOUD_ID_PREFIX: Final = "cloud://"
#: Items the gateway takes per ``get-objects-download-info`` call.
MAX_DOWNLOAD_ITEMS: Final = 50
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_SIGNABLE: Final = frozenset({"content-type", "content-length"})

Item = dict[str, Any]


class _ItemProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check_path(path: object) -> str:
    if not isinstance(path, str) or not path or path.startswith("/") or _CONTROL.search(path):
        raise _ItemProblem("INVALID_PARAM", f"invalid object path {path!r}")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise _ItemProblem("INVALID_PARAM", f"invalid object path {path!r}")
    return path


def _error(code: str, message: str, **key: Any) -> Item:
    return {**key, "code": code, "message": message}


def _encode_token(caller: Caller) -> str:
    """The security token: who may own the upload, signed into the grant."""
    claims = {"uid": caller.uid, "admin": caller.is_admin, "nonce": uuid.uuid4().hex}
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return "local." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any]:
    body = token.removeprefix("local.")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if not isinstance(claims, dict):
        raise ValueError("not a token")  # noqa: TRY004 - a malformed value, as json's own
    return claims


def _signed_headers(signed: object) -> dict[str, str]:
    """The headers a client asked to sign (``{"content-type": ["image/png"], ...}``)."""
    if signed is None:
        return {}
    if not isinstance(signed, Mapping):
        raise _ItemProblem("INVALID_PARAM", "signedHeader must be an object")
    headers = {}
    for name, values in signed.items():
        value = values[0] if isinstance(values, list) and values else values
        if name.lower() not in _SIGNABLE or not isinstance(value, str):
            raise _ItemProblem("INVALID_PARAM", f"cannot sign header {name!r}")
        if name.lower() == "content-length" and not value.isdigit():
            raise _ItemProblem("INVALID_PARAM", "content-length must be a number")
        headers[name.lower()] = value
    return headers


class ClassicStorage:
    """The environment's one classic bucket, ``cloud://{env}.{bucket}/{path}``."""

    def __init__(
        self,
        store: ObjectStore,
        signer: Signer,
        *,
        env: str,
        bucket: str,
        upload_lifetime: int,
        download_lifetime: int,
    ) -> None:
        self._store = store
        self._signer = signer
        self.env = env
        self.bucket = bucket
        self.upload_lifetime = upload_lifetime
        self.download_lifetime = download_lifetime

    # ------------------------------------------------------------------- naming

    def cloud_id(self, path: str) -> str:
        return f"{CLOUD_ID_PREFIX}{self.env}.{self.bucket}/{path}"

    def object_url(self, origin: str, path: str) -> str:
        return f"{origin}/_local/storage/{quote(self.bucket, safe='')}/{quote(path, safe='/')}"

    def _signed_path(self, path: str) -> str:
        return f"/{self.bucket}/{path}"

    def _path_of(self, value: object, *, paths_too: bool = False) -> str:
        """The object path a cloud id (or, for copies, a bare path) names."""
        if isinstance(value, str) and value.startswith(CLOUD_ID_PREFIX):
            where, _, path = value[len(CLOUD_ID_PREFIX) :].partition("/")
            _check_path(path)
            if where != f"{self.env}.{self.bucket}":
                raise _ItemProblem("OBJECT_NOT_EXIST", "Object not exist.")
            return path
        if paths_too:
            return _check_path(value)
        raise _ItemProblem("INVALID_PARAM", f"invalid cloudObjectId {value!r}")

    def download_url(self, origin: str, path: str, lifetime: int | None = None) -> str:
        query = self._signer.download_query(
            self._signed_path(path), lifetime or self.download_lifetime
        )
        return f"{self.object_url(origin, path)}?{query}"

    @staticmethod
    def _may_write(caller: Caller, existing: ObjectRecord | None) -> bool:
        if caller.is_admin:
            return True
        if caller.role != "user" or not caller.uid:
            return False
        return existing is None or existing.owner == caller.uid

    # ----------------------------------------------------------- batch calls

    async def _each(
        self, items: list[Item], key: str, answer: Callable[[Item], Awaitable[Item]]
    ) -> list[Item]:
        """Answer every item; a refused one answers ``{key, code, message}`` instead."""
        answers = []
        for item in items:
            try:
                answers.append(await answer(item))
            except _ItemProblem as problem:
                answers.append(_error(problem.code, problem.message, **{key: item.get(key)}))
        return answers

    async def upload_info(self, caller: Caller, items: list[Item], origin: str) -> list[Item]:
        async def answer(item: Item) -> Item:
            path = _check_path(item.get("objectId"))
            existing = await self._store.get("classic", self.bucket, path)
            if not self._may_write(caller, existing):
                raise _ItemProblem("STORAGE_EXCEED_AUTHORITY", "permission denied to write")
            return self._upload_grant(
                caller, path, _signed_headers(item.get("signedHeader")), origin
            )

        return await self._each(items, "objectId", answer)

    def _upload_grant(self, caller: Caller, path: str, signed: dict[str, str], origin: str) -> Item:
        meta = uuid.uuid4().hex
        token = _encode_token(caller)
        headers = signed | {"x-cos-meta-fileid": meta, "x-cos-security-token": token}
        authorization = self._signer.upload_authorization(
            self._signed_path(path), headers, self.upload_lifetime
        )
        download = self.download_url(origin, path)
        return {
            "objectId": path,
            "uploadUrl": self.object_url(origin, path),
            "downloadUrl": download,
            "downloadUrlEncoded": download,
            "token": token,
            "authorization": authorization,
            "cloudObjectMeta": meta,
            "cloudObjectId": self.cloud_id(path),
        }

    async def download_info(self, caller: Caller, items: list[Item], origin: str) -> list[Item]:
        if len(items) > MAX_DOWNLOAD_ITEMS:
            raise GatewayError(
                "INVALID_PARAM", f"at most {MAX_DOWNLOAD_ITEMS} items per request", 400
            )

        async def answer(item: Item) -> Item:
            cloud_id = item.get("cloudObjectId")
            path = self._path_of(cloud_id)
            lifetime = item.get("maxAge")
            if lifetime is not None and (
                not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime < 1
            ):
                raise _ItemProblem("INVALID_PARAM", "maxAge must be a positive integer")
            if await self._store.get("classic", self.bucket, path) is None:
                raise _ItemProblem("OBJECT_NOT_EXIST", "Object not exist.")
            url = self.download_url(origin, path, lifetime)
            return {"cloudObjectId": cloud_id, "downloadUrl": url, "downloadUrlEncoded": url}

        return await self._each(items, "cloudObjectId", answer)

    async def delete(self, caller: Caller, items: list[Item]) -> list[Item]:
        async def answer(item: Item) -> Item:
            cloud_id = item.get("cloudObjectId")
            path = self._path_of(cloud_id)
            existing = await self._store.get("classic", self.bucket, path)
            if existing is None:
                raise _ItemProblem("OBJECT_NOT_EXIST", "Object not exist.")
            if not self._may_write(caller, existing):
                raise _ItemProblem("STORAGE_EXCEED_AUTHORITY", "permission denied to delete")
            if not await self._store.delete("classic", self.bucket, [path]):
                raise _ItemProblem("OBJECT_NOT_EXIST", "Object not exist.")
            return {"cloudObjectId": cloud_id}

        return await self._each(items, "cloudObjectId", answer)

    async def copy(self, caller: Caller, items: list[Item]) -> list[Item]:
        if not caller.is_admin:
            raise GatewayError("ACTION_FORBIDDEN", "copy-objects is for administrators only", 403)

        async def answer(item: Item) -> Item:
            source = self._path_of(item.get("srcPath"), paths_too=True)
            target = self._path_of(item.get("dstPath"), paths_too=True)
            record = await self._store.get("classic", self.bucket, source)
            if record is None:
                raise _ItemProblem("OBJECT_NOT_EXIST", "Object not exist.")
            overwrite = item.get("overwrite", True) is not False
            if source != target:
                if not overwrite and await self._store.get("classic", self.bucket, target):
                    raise _ItemProblem("INVALID_PARAM", "the destination exists (overwrite false)")
                await self._store.copy(
                    record,
                    space="classic",
                    bucket=self.bucket,
                    name=target,
                    overwrite=overwrite,
                    owner=record.owner,
                )
                if item.get("removeOriginal") is True:
                    await self._store.delete("classic", self.bucket, [source])
            return {"cloudObjectId": self.cloud_id(target)}

        return await self._each(items, "srcPath", answer)

    # ------------------------------------------------------------- byte URLs

    async def receive(
        self,
        path: str,
        authorization: str | None,
        headers: Mapping[str, str],
        body: AsyncIterable[bytes],
    ) -> ObjectRecord:
        """Store the body of a signed PUT; :class:`CosError` when COS would refuse it."""
        try:
            _check_path(path)
            grant = self._signer.check_upload(self._signed_path(path), authorization, headers)
            claims = _decode_token(grant.headers["x-cos-security-token"])
        except SignatureProblem as problem:
            raise CosError(problem.code, problem.message, 403) from None
        except (_ItemProblem, ValueError) as exc:
            raise CosError("InvalidArgument", str(exc), 400) from None
        existing = await self._store.get("classic", self.bucket, path)
        owner = claims.get("uid")
        if existing is not None and not claims.get("admin") and existing.owner != owner:
            raise CosError("AccessDenied", "Access Denied: the object belongs to another user", 403)
        declared = grant.headers.get("content-length")
        try:
            blob = await self._store.receive(
                body, limit=None if declared is None else int(declared)
            )
        except TooLarge:
            raise CosError(
                "EntityTooLarge", "more bytes than the signed content-length", 400
            ) from None
        if declared is not None and blob.size != int(declared):
            await self._store.discard(blob)
            raise CosError("IncompleteBody", "fewer bytes than the signed content-length", 400)
        content_type = headers.get("content-type") or "application/octet-stream"
        return await self._store.publish(
            blob,
            space="classic",
            bucket=self.bucket,
            name=path,
            content_type=content_type,
            metadata={"fileid": grant.headers["x-cos-meta-fileid"]},
            owner=owner if existing is None else existing.owner,
        )

    async def open(self, path: str, expires: str | None, sign: str | None) -> ObjectRecord:
        """The object a signed download URL names; :class:`CosError` if refused."""
        try:
            self._signer.check_download(self._signed_path(path), expires, sign)
        except SignatureProblem as problem:
            raise CosError(problem.code, problem.message, 403) from None
        record = await self._store.get("classic", self.bucket, path)
        if record is None:
            raise CosError("NoSuchKey", "The specified key does not exist.", 404)
        return record
