"""A collection of the document database."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from .._core.convert import unstructure
from .._core.errors import InvalidRequestError, NotFoundError, ResponseValidationError
from .._core.responses import Response
from .._core.transport import Transport
from .._core.types import Timeout
from ._encoding import (
    Order,
    Projection,
    check_data,
    encode_order,
    encode_projection,
    encode_value,
    id_segment,
    is_empty_query,
    name_segment,
    query_text,
    update_data,
)
from ._models import (
    Counted,
    DeleteResult,
    Inserted,
    Listing,
    UpdateAnswer,
    UpdateResult,
    as_listing,
)
from ._service import DocumentService, Params, Scope, structured

__all__ = ["Collection", "Document", "DocumentIterator"]

T = TypeVar("T")
M = TypeVar("M")

#: What a collection returns unless told otherwise (``returns(Model)``).
Document = dict[str, Any]

_WRITE_STAGES: Final = frozenset({"$out", "$merge"})


class DocumentIterator(Generic[T]):
    """The documents of :meth:`Collection.iterate`, one page read at a time.

    A class-based async iterator rather than an async generator: one abandoned halfway
    (a ``break``) holds nothing that the garbage collector would have to finalise.
    """

    __slots__ = ("_buffer", "_done", "_fetch", "_offset", "_page_size")

    def __init__(self, fetch: Callable[..., Awaitable[list[T]]], page_size: int) -> None:
        self._fetch = fetch  # find(), all but the offset given
        self._page_size = page_size
        self._buffer: deque[T] = deque()
        self._offset = 0
        self._done = False

    def __aiter__(self) -> DocumentIterator[T]:
        return self

    async def __anext__(self) -> T:
        while not self._buffer:
            if self._done:
                raise StopAsyncIteration
            page = await self._fetch(offset=self._offset)
            self._offset += len(page)
            self._done = len(page) < self._page_size
            self._buffer.extend(page)
        return self._buffer.popleft()


def _as_document(doc: object, what: str) -> Mapping[str, Any]:
    """A mapping to write: plain mappings as they are, attrs instances unstructured."""
    if attrs.has(type(doc)):
        doc = unstructure(doc)
    if not isinstance(doc, Mapping):
        raise InvalidRequestError(f"{what} must be a mapping, got {type(doc).__name__}")
    return doc


class Collection(DocumentService, Generic[T]):
    """One collection. Cheap to make; holds no state besides where it points.

    Calls return decoded Python values (:mod:`cloudbase_async.ejson`): documents are
    ``dict`` unless :meth:`returns` gave a model class to structure them into.
    """

    __slots__ = ("_document_type", "_path", "name")

    def __init__(
        self,
        transport: Transport,
        scope: Scope,
        name: str,
        document_type: type[Any] = Document,
    ) -> None:
        super().__init__(transport, scope)
        self._path = f"/collections/{name_segment(name, 'collection name')}"
        self.name = name
        self._document_type = document_type

    def __repr__(self) -> str:
        tx = self._scope.transaction
        in_tx = f" transaction={tx.id!r}" if tx is not None else ""
        return f"<Collection {self.name!r} at {self._scope.base!r}{in_tx}>"

    def returns(self, model: type[M]) -> Collection[M]:
        """The same collection, structuring documents into ``model`` (an attrs class...)."""
        return Collection(self._transport, self._scope, self.name, model)

    def _document(self, doc: Any, response: Response) -> T:
        """A document of an answer, structured as :meth:`returns` asked (``dict`` by default)."""
        return cast(T, structured(doc, response, self._document_type, "a document"))

    # ------------------------------------------------------------------------- reads

    def _find_params(
        self,
        query: Mapping[str, Any] | None,
        projection: Projection | None,
        order: Order | None,
        limit: int | None,
        offset: int | None,
    ) -> Params:
        params: Params = [("query", query_text(query, self._scope.mode))]
        if projection is not None:
            params.append(("projection", encode_projection(projection)))
        if order:
            params.append(("order", encode_order(order)))
        if offset is not None:
            if offset < 0:
                raise InvalidRequestError(f"offset must be >= 0, got {offset}")
            params.append(("offset", offset))
        if limit is not None:
            if limit < 1:
                raise InvalidRequestError(f"limit must be >= 1, got {limit}")
            params.append(("limit", limit))
        return params

    async def find(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        projection: Projection | None = None,
        order: Order | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: Timeout = None,
    ) -> list[T]:
        """One page of documents matching ``query`` (all documents when ``None``).

        Without ``limit`` the server's default page size applies (20); use
        :meth:`iterate` to read every match. ``order`` is ``[("age", "desc"), ...]``,
        ``projection`` ``{"name": 1}`` or ``["name", ...]``.
        """
        params = self._find_params(query, projection, order, limit, offset)
        request = self._request(
            "GET", self._path + "/documents", params=params, read=True, timeout=timeout
        )
        body, response = await self._json(request)
        page = structured(as_listing(body), response, Listing, "a page of documents")
        return [self._document(doc, response) for doc in page.items]

    async def find_one(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        projection: Projection | None = None,
        order: Order | None = None,
        offset: int | None = None,
        timeout: Timeout = None,
    ) -> T | None:
        """The first document matching ``query``, or ``None``."""
        docs = await self.find(
            query, projection=projection, order=order, limit=1, offset=offset, timeout=timeout
        )
        return docs[0] if docs else None

    def iterate(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        projection: Projection | None = None,
        order: Order | None = None,
        page_size: int = 100,
        timeout: Timeout = None,
    ) -> DocumentIterator[T]:
        """Every document matching ``query``, fetched ``page_size`` at a time:
        ``async for doc in coll.iterate(...)``.

        Pages are read by offset, so without an ``order`` this orders by ``_id`` to keep
        pages from overlapping. Documents written while iterating may be seen or missed.
        Nothing is held open between pages: breaking out early costs nothing.
        """
        if page_size < 1:
            raise InvalidRequestError(f"page_size must be >= 1, got {page_size}")
        fetch = functools.partial(
            self.find,
            query,
            projection=projection,
            order=order or [("_id", "asc")],
            limit=page_size,
            timeout=timeout,
        )
        return DocumentIterator(fetch, page_size)

    async def count(
        self, query: Mapping[str, Any] | None = None, *, timeout: Timeout = None
    ) -> int:
        """How many documents match ``query`` (all documents when ``None``)."""
        params: Params = [("query", query_text(query, self._scope.mode)), ("count", "true")]
        request = self._request(
            "GET", self._path + "/documents", params=params, read=True, timeout=timeout
        )
        counted = await self._answer(request, Counted, "a count ({'total': n})")
        return counted.total

    async def get(
        self, doc_id: object, *, projection: Projection | None = None, timeout: Timeout = None
    ) -> T | None:
        """The document with ``_id == doc_id``, or ``None`` when there is none.

        ``None`` answers only ``DOCUMENT_NOT_FOUND``; a missing collection still raises
        :class:`~cloudbase_async.NotFoundError`.
        """
        params: Params | None = None
        if projection:
            params = [("projection", encode_projection(projection))]
        path = f"{self._path}/documents/{id_segment(doc_id)}"
        request = self._request("GET", path, params=params, read=True, timeout=timeout)
        try:
            body, response = await self._json(request)
        except NotFoundError as exc:
            if exc.code == "DOCUMENT_NOT_FOUND":
                return None
            raise
        return self._document(body, response)

    async def aggregate(
        self,
        pipeline: Sequence[Mapping[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: Timeout = None,
    ) -> list[Any]:
        """Run an aggregation ``pipeline``; return its output documents decoded.

        The output is not structured with :meth:`returns`' model: stages reshape
        documents. The body is ``{"pipeline": [...], **options}`` and the result is read
        from a JSON array or a ``list``/``data`` field: the call is not in the public
        documentation (see :class:`NoSQLPaths` to change its path).
        """
        if isinstance(pipeline, Mapping | str) or not all(
            isinstance(stage, Mapping) for stage in pipeline
        ):
            raise InvalidRequestError("an aggregation pipeline is a list of stage mappings")
        body: dict[str, Any] = {
            "pipeline": encode_value(list(pipeline), self._scope.mode, "pipeline"),
            **(options or {}),
        }
        # An aggregation only reads unless a stage writes its output somewhere.
        reads_only = not any(_WRITE_STAGES & stage.keys() for stage in pipeline)
        name = name_segment(self.name, "collection name")
        path = self._scope.paths.aggregate.format(collection=name)
        request = self._request("POST", path, json=body, read=reads_only, timeout=timeout)
        answer, response = await self._json(request)
        return structured(as_listing(answer), response, Listing, "aggregation output").items

    # ------------------------------------------------------------------------ writes

    async def insert_one(self, document: Any, *, timeout: Timeout = None) -> Any:
        """Insert one document; return its ``_id`` (the server makes one if absent).

        A document is data: a ``$`` key at any depth is refused (see :meth:`update_one`).
        """
        (inserted,) = await self._insert([_as_document(document, "document")], timeout)
        return inserted

    async def insert_many(self, documents: Sequence[Any], *, timeout: Timeout = None) -> list[Any]:
        """Insert documents in one call; return their ids in order."""
        if isinstance(documents, Mapping) or not documents:
            raise InvalidRequestError("insert_many() takes a non-empty list of documents")
        docs = [_as_document(doc, "each document") for doc in documents]
        return await self._insert(docs, timeout)

    async def _insert(self, docs: list[Mapping[str, Any]], timeout: Timeout) -> list[Any]:
        data = encode_value(docs, self._scope.mode, "documents")
        for doc in docs:
            check_data(doc, "a document")
        request = self._request(
            "POST", self._path + "/documents", json={"data": data}, timeout=timeout
        )
        body, response = await self._json(request)
        ids = structured(body, response, Inserted, "the insertedIds of an insert").insertedIds
        if len(ids) != len(docs):
            raise ResponseValidationError(
                f"{len(docs)} documents were inserted but the answer holds {len(ids)} ids",
                status_code=response.status_code,
                request_id=response.request_id,
                body=body,
            )
        return ids

    def _update_body(self, update: Any, data: Any, *, replace: bool) -> dict[str, Any]:
        """``{"data": ..., "replaceMode"?}``: the update as :func:`update_data` has it."""
        if data is not None:
            data = _as_document(data, "the update data")
        elif replace and update is not None:
            update = _as_document(update, "the replacement document")
        encoded = encode_value(
            update_data(update, data, replace=replace), self._scope.mode, "update"
        )
        return {"data": encoded, "replaceMode": True} if replace else {"data": encoded}

    async def _update(
        self,
        query: Mapping[str, Any] | None,
        update: Any,
        data: Any,
        *,
        multi: bool,
        upsert: bool,
        replace: bool,
        timeout: Timeout,
    ) -> UpdateResult:
        body: dict[str, Any] = {
            "query": encode_value(query or {}, self._scope.mode, "query"),
            **self._update_body(update, data, replace=replace),
            "multi": multi,
            "upsert": upsert,
        }
        request = self._request("PATCH", self._path + "/documents", json=body, timeout=timeout)
        answer = await self._answer(request, UpdateAnswer, "an update's counts")
        return answer.result()

    async def update_one(
        self,
        query: Mapping[str, Any] | None,
        update: Mapping[str, Any] | None = None,
        *,
        data: Mapping[str, Any] | None = None,
        upsert: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Update the first document matching ``query``, with exactly one of:

        * ``update``: an operator document (``{"$set": ..., "$inc": ...}``) your program
          wrote, sent as it is; or a plain document without any ``$`` key, sent as
          ``{"$set": update}``. Mixing the two is refused.
        * ``data=``: plain fields to set, sent as ``{"$set": data}``, never read as
          operators: a ``$`` key at any depth is refused. Pass values that come from
          outside your program (a form, a request body) this way.
        """
        return await self._update(
            query, update, data, multi=False, upsert=upsert, replace=False, timeout=timeout
        )

    async def update_many(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any] | None = None,
        *,
        data: Mapping[str, Any] | None = None,
        upsert: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Update every document matching ``query``; an empty query is refused.

        ``update`` and ``data`` are :meth:`update_one`'s. To really update all
        documents, match them explicitly, e.g. ``{"_id": {"$exists": True}}``.
        """
        if is_empty_query(query):
            raise InvalidRequestError(
                "update_many() with an empty query would update every document; "
                'pass an explicit filter such as {"_id": {"$exists": True}}'
            )
        return await self._update(
            query, update, data, multi=True, upsert=upsert, replace=False, timeout=timeout
        )

    async def replace_one(
        self,
        query: Mapping[str, Any] | None,
        document: Any,
        *,
        upsert: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Replace the first document matching ``query`` with ``document`` (``_id`` kept).

        The document is data: a ``$`` key at any depth is refused.
        """
        return await self._update(
            query, document, None, multi=False, upsert=upsert, replace=True, timeout=timeout
        )

    async def update_by_id(
        self,
        doc_id: object,
        update: Mapping[str, Any] | None = None,
        *,
        data: Any = None,
        upsert: bool = False,
        replace: bool = False,
        return_doc: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Update (or with ``replace=True`` replace) the document ``doc_id``.

        ``update`` and ``data`` are :meth:`update_one`'s; a replacement is data, given
        either way. ``return_doc=True`` asks the server for the document after the
        update, in :attr:`UpdateResult.doc` (decoded, and structured when
        :meth:`returns` was used).
        """
        body = {**self._update_body(update, data, replace=replace), "upsert": upsert}
        if return_doc:
            body["returnDoc"] = True
        path = f"{self._path}/documents/{id_segment(doc_id)}"
        request = self._request("PATCH", path, json=body, timeout=timeout)
        answer, response = await self._json(request)
        result = structured(answer, response, UpdateAnswer, "an update's counts").result()
        if result.doc is not None:
            result = attrs.evolve(result, doc=self._document(result.doc, response))
        return result

    async def _remove(
        self, query: Mapping[str, Any], *, multi: bool, timeout: Timeout
    ) -> DeleteResult:
        if is_empty_query(query):
            raise InvalidRequestError(
                "a delete with an empty query would remove every document; pass a filter"
            )
        body = {"query": encode_value(query, self._scope.mode, "query"), "multi": multi}
        # POST, and not safe to repeat: a delete whose first try landed would report 0.
        request = self._request(
            "POST", self._path + "/documents/remove", json=body, timeout=timeout
        )
        return await self._answer(request, DeleteResult, "a delete's count")

    async def delete_one(
        self, query: Mapping[str, Any], *, timeout: Timeout = None
    ) -> DeleteResult:
        """Delete the first document matching ``query`` (which must not be empty)."""
        return await self._remove(query, multi=False, timeout=timeout)

    async def delete_many(
        self, query: Mapping[str, Any], *, timeout: Timeout = None
    ) -> DeleteResult:
        """Delete every document matching ``query`` (which must not be empty)."""
        return await self._remove(query, multi=True, timeout=timeout)

    async def delete_by_id(self, doc_id: object, *, timeout: Timeout = None) -> DeleteResult:
        """Delete the document ``doc_id``; ``deleted`` is 0 when there was none."""
        path = f"{self._path}/documents/{id_segment(doc_id)}"
        request = self._request("DELETE", path, timeout=timeout)
        return await self._answer(request, DeleteResult, "a delete's count")
