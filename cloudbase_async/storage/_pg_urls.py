"""PG-mode storage: where one bucket's calls go, and the URLs it hands out.

:class:`BucketUrls` is the base of :class:`~._pg.Bucket`: it knows the bucket's id and
builds the route of every call on one of its objects (``/object{kind}/{bucket}/{name}``,
the name cleaned and encoded by :mod:`._names`). The URLs it hands out
(``pg-storage-notes`` §3) are absolute and work without any credential: signed download
URLs, signed upload URLs (used by :meth:`Bucket.upload_to_signed_url
<cloudbase_async.storage.Bucket.upload_to_signed_url>`) and public URLs. Signing
changes nothing on the server, so it is retried like a read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .._core.errors import ResponseValidationError
from .._core.responses import Response
from .._core.service import Service, expect_mapping
from .._core.transport import Request, Transport
from .._core.types import Timeout
from ._batch import BatchResult, ItemError, in_chunks
from ._buckets import check_flag
from ._names import bucket_segment, name_list, object_name_path
from ._pg_models import SignedUploadUrl, SignedUrl
from ._pg_wire import Download, absolute_url, check_download, check_expiry, with_download

__all__ = ["SIGN_BATCH_SIZE", "BucketUrls", "refused"]

#: Paths per batch-signing request: CloudBase's limit.
SIGN_BATCH_SIZE: Final = 500
#: What a signed batch item that failed is recorded as (the server sends only a text).
_SIGN_REFUSED: Final = "not_found"


class BucketUrls(Service):
    """One bucket's routes and URLs (see the module docstring)."""

    __slots__ = ("_segment", "chunk_size", "id")

    def __init__(self, transport: Transport, bucket_id: str, *, chunk_size: int | None) -> None:
        super().__init__(transport)
        self._segment = bucket_segment(bucket_id)
        #: The bucket's id.
        self.id = bucket_id
        #: Bytes per read and per downloaded chunk (as on :class:`~._classic.Storage`).
        self.chunk_size = chunk_size

    def _route(self, kind: str, name: str) -> tuple[str, str]:
        """The cleaned ``name`` and its path ``/object{kind}/{bucket}/{name}``."""
        cleaned, encoded = object_name_path(name)
        return cleaned, f"/object{kind}/{self._segment}/{encoded}"

    def _root(self) -> str:
        return self._transport.config.root("storage")

    async def create_signed_url(
        self,
        path: str,
        expires_in: int,
        *,
        download: Download = None,
        timeout: Timeout = None,
    ) -> SignedUrl:
        """A URL that downloads the object without credentials for ``expires_in``
        seconds (``download=True`` or a file name: as an attachment)."""
        cleaned, route = self._route("/sign", path)
        payload = {"expiresIn": check_expiry(expires_in)}
        check_download(download)
        body, response = await self._json(
            Request("POST", "storage", route, json=payload, retry_safe=True, timeout=timeout)
        )
        answer = expect_mapping(body, response, "a signed URL")
        url = absolute_url(self._root(), answer, "fullSignedURL", "signedURL", response)
        return SignedUrl(cleaned, with_download(url, download), response.request_id)

    async def create_signed_urls(
        self,
        paths: Sequence[str],
        expires_in: int,
        *,
        download: Download = None,
        timeout: Timeout = None,
    ) -> BatchResult[SignedUrl]:
        """Signed download URLs for many objects, ``SIGN_BATCH_SIZE`` (500) per request.

        Per-item results in the order given: a :class:`SignedUrl`, or an
        :class:`~cloudbase_async.storage.ItemError` (code ``"not_found"``) for a path
        the server would not sign; one such path does not fail the others.
        """
        names = name_list(paths)
        keys = [*paths]
        seconds = check_expiry(expires_in)
        check_download(download)
        route = f"/object/sign/{self._segment}"

        async def send(part: slice) -> list[SignedUrl | ItemError]:
            body, response = await self._json(
                Request(
                    "POST",
                    "storage",
                    route,
                    json={"expiresIn": seconds, "paths": names[part]},
                    retry_safe=True,  # signing changes nothing
                    timeout=timeout,
                )
            )
            items = _answer_items(body, response, len(names[part]))
            return [
                self._signed_item(key, name, item, download, response)
                for key, name, item in zip(keys[part], names[part], items, strict=True)
            ]

        return await in_chunks(keys, SIGN_BATCH_SIZE, send)

    def _signed_item(
        self,
        key: str,
        name: str,
        item: Mapping[str, Any],
        download: Download,
        response: Response,
    ) -> SignedUrl | ItemError:
        error = item.get("error")
        if error:
            return refused(key, _SIGN_REFUSED, str(error), response)
        url = absolute_url(self._root(), item, "fullSignedURL", "signedURL", response)
        return SignedUrl(name, with_download(url, download), response.request_id)

    async def create_signed_upload_url(
        self, path: str, *, upsert: bool = False, timeout: Timeout = None
    ) -> SignedUploadUrl:
        """A URL (and its token) that uploads ``path`` without credentials, for
        :meth:`upload_to_signed_url` or anyone else; the server decides how long it
        lives. ``upsert=True`` lets it replace an existing object."""
        cleaned, route = self._route("/upload/sign", path)
        headers = {"x-upsert": "true"} if check_flag(upsert, "upsert") else {}
        body, response = await self._json(
            Request("POST", "storage", route, headers=headers, retry_safe=True, timeout=timeout)
        )
        answer = expect_mapping(body, response, "a signed upload URL")
        token = answer.get("token")
        if not (isinstance(token, str) and token):
            raise ResponseValidationError(
                "Storage answered a signed upload URL without its token.",
                status_code=response.status_code,
                request_id=response.request_id,
            )
        url = absolute_url(self._root(), answer, "fullURL", "url", response)
        return SignedUploadUrl(cleaned, url, token, response.request_id)

    def get_public_url(self, path: str, *, download: Download = None) -> str:
        """The object's URL in a public bucket (no request is made; fetching it needs
        no credential, and a private bucket answers it "Bucket not found")."""
        _, route = self._route("/public", path)
        return with_download(self._root() + route, check_download(download))


def refused(key: str, code: str, message: str, response: Response) -> ItemError:
    """The :class:`ItemError` for ``key`` that the server did not act on."""
    return ItemError(key=key, code=code, message=message, request_id=response.request_id)


def _answer_items(body: object, response: Response, count: int) -> list[Mapping[str, Any]]:
    """``body`` if it is a list of ``count`` JSON objects."""
    if (
        not isinstance(body, list)
        or len(body) != count
        or not all(isinstance(item, Mapping) for item in body)
    ):
        got = f"{len(body)} items" if isinstance(body, list) else type(body).__name__
        raise ResponseValidationError(
            f"Storage answered {got} for {count} paths; expected a list of as many objects.",
            status_code=response.status_code,
            request_id=response.request_id,
        )
    return body
