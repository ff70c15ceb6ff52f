"""A collection of the document database, and the state of an open transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final, Generic, Literal, TypeVar, cast

import attrs

from .. import ejson
from .._core.convert import structure, unstructure
from .._core.errors import APIError, InvalidRequestError, NotFoundError
from .._core.transport import Request, Transport
from .._core.types import UNSET, QueryParams, Timeout
from ._encoding import (
    Order,
    Projection,
    encode_order,
    encode_projection,
    encode_value,
    path_segment,
    query_text,
    update_data,
)
from ._models import DeleteResult, NoSQLPaths, UpdateResult

__all__ = ["Collection", "Document", "Scope", "TransactionState"]

T = TypeVar("T")
M = TypeVar("M")

#: What a collection returns unless told otherwise (``returns(Model)``).
Document = dict[str, Any]

_WRITE_STAGES: Final = frozenset({"$out", "$merge"})


class TransactionState:
    """The id of a transaction and whether calls may still join it."""

    __slots__ = ("id", "status")

    def __init__(self, transaction_id: str) -> None:
        self.id = transaction_id
        self.status: Literal["active", "committed", "rolled back", "failed"] = "active"

    def check_active(self) -> None:
        if self.status != "active":
            raise InvalidRequestError(
                f"transaction {self.id} is {self.status}; start a new one for more calls"
            )

    def __repr__(self) -> str:
        return f"<TransactionState {self.id!r} {self.status}>"


@attrs.frozen
class Scope:
    """Everything a call needs besides its arguments: where and how to send it."""

    transport: Transport = attrs.field(repr=False)
    base: str  # "/instances/(default)/databases/(default)"
    mode: ejson.Mode = "strict"
    paths: NoSQLPaths = attrs.field(factory=NoSQLPaths)
    transaction: TransactionState | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str | int | float | bool | None]] | None = None,
        json: Mapping[str, Any] | None = None,
        read: bool = False,
        timeout: Timeout = None,
    ) -> Request:
        """A request carrying the transaction id, when in one, in the right place.

        Reads are safe to repeat, except inside a transaction: a conflict there (503)
        has aborted the transaction, and trying the read again cannot help.
        """
        tx = self.transaction
        if tx is not None:
            tx.check_active()
            if method == "GET" or method == "DELETE":
                params = [*(params or []), ("transactionId", tx.id)]
            else:
                json = {**(json or {}), "transactionId": tx.id}
        return Request(
            method,
            "nosql",
            self.base + path,
            params=cast(QueryParams, params),
            json=UNSET if json is None else json,
            retry_safe=read and tx is None,
            timeout=timeout,
        )

    async def send(self, request: Request) -> tuple[Any, str | None]:
        """Send ``request``; return the decoded (EJSON) body and the server's request id."""
        response = await self.transport.send(request)
        try:
            body = ejson.decode(response.json())
        except ValueError as exc:
            raise APIError(
                f"the document database answered a body that is not valid EJSON: {exc}",
                status_code=response.status_code,
                request_id=response.request_id,
                body=response.text,
            ) from exc
        return body, response.request_id


def _unexpected(body: object, what: str, request_id: str | None) -> APIError:
    return APIError(
        f"unexpected {what} response from the document database: {body!r:.300}",
        status_code=200,
        request_id=request_id,
        body=body,
    )


def _int_field(body: object, key: str, request_id: str | None) -> int:
    value = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _unexpected(body, key, request_id)
    return value


def _document_list(body: object, request_id: str | None, *keys: str) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        for key in keys:
            value = body.get(key)
            if isinstance(value, list):
                return value
    raise _unexpected(body, "list", request_id)


def _update_result(body: object, request_id: str | None) -> UpdateResult:
    if not isinstance(body, Mapping):
        raise _unexpected(body, "update", request_id)
    known = {"matched", "updated", "upsert_id", "doc"}
    return UpdateResult(
        matched=_int_field(body, "matched", request_id),
        updated=_int_field(body, "updated", request_id),
        upserted_id=body.get("upsert_id") or None,
        doc=body.get("doc"),
        request_id=request_id,
        extra={k: v for k, v in body.items() if k not in known},
    )


def _delete_result(body: object, request_id: str | None) -> DeleteResult:
    deleted = _int_field(body, "deleted", request_id)
    extra = {k: v for k, v in cast(Mapping[str, Any], body).items() if k != "deleted"}
    return DeleteResult(deleted=deleted, request_id=request_id, extra=extra)


def _as_document(doc: object, what: str) -> Mapping[str, Any]:
    """A mapping to write: plain mappings as they are, attrs instances unstructured."""
    if attrs.has(type(doc)):
        doc = unstructure(doc)
    if not isinstance(doc, Mapping):
        raise InvalidRequestError(f"{what} must be a mapping, got {type(doc).__name__}")
    return doc


class Collection(Generic[T]):
    """One collection. Cheap to make; holds no state besides where it points.

    Calls return decoded Python values (:mod:`cloudbase_async.ejson`): documents are
    ``dict`` unless :meth:`returns` gave a model class to structure them into.
    """

    __slots__ = ("_model", "_path", "_scope", "name")

    def __init__(self, scope: Scope, name: str, model: type[T] | None = None) -> None:
        self._scope = scope
        self.name = name
        self._path = f"/collections/{path_segment(name, 'collection name')}"
        self._model = model

    def __repr__(self) -> str:
        tx = self._scope.transaction
        in_tx = f" transaction={tx.id!r}" if tx is not None else ""
        return f"<Collection {self.name!r} at {self._scope.base!r}{in_tx}>"

    def returns(self, model: type[M]) -> Collection[M]:
        """The same collection, structuring documents into ``model`` (an attrs class...)."""
        return Collection(self._scope, self.name, model)

    def _out(self, doc: Any) -> T:
        if self._model is None:
            return cast(T, doc)
        return structure(doc, self._model)

    # ------------------------------------------------------------------------- reads

    def _find_params(
        self,
        query: Mapping[str, Any] | None,
        projection: Projection | None,
        order: Order | None,
        limit: int | None,
        offset: int | None,
    ) -> list[tuple[str, str | int | float | bool | None]]:
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("query", query_text(query, self._scope.mode))
        ]
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
        request = self._scope.request(
            "GET", self._path + "/documents", params=params, read=True, timeout=timeout
        )
        body, request_id = await self._scope.send(request)
        return [self._out(doc) for doc in _document_list(body, request_id, "list", "data")]

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

    async def iterate(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        projection: Projection | None = None,
        order: Order | None = None,
        page_size: int = 100,
        timeout: Timeout = None,
    ) -> AsyncIterator[T]:
        """Every document matching ``query``, fetched ``page_size`` at a time.

        Pages are read by offset, so without an ``order`` this orders by ``_id`` to keep
        pages from overlapping. Documents written while iterating may be seen or missed.
        Nothing is held open between pages: breaking out early costs nothing.
        """
        if page_size < 1:
            raise InvalidRequestError(f"page_size must be >= 1, got {page_size}")
        order = order or [("_id", "asc")]
        offset = 0
        while True:
            page = await self.find(
                query,
                projection=projection,
                order=order,
                limit=page_size,
                offset=offset,
                timeout=timeout,
            )
            for doc in page:
                yield doc
            if len(page) < page_size:
                return
            offset += len(page)

    async def count(
        self, query: Mapping[str, Any] | None = None, *, timeout: Timeout = None
    ) -> int:
        """How many documents match ``query`` (all documents when ``None``)."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("query", query_text(query, self._scope.mode)),
            ("count", "true"),
        ]
        request = self._scope.request(
            "GET", self._path + "/documents", params=params, read=True, timeout=timeout
        )
        body, request_id = await self._scope.send(request)
        return _int_field(body, "total", request_id)

    async def get(
        self, doc_id: object, *, projection: Projection | None = None, timeout: Timeout = None
    ) -> T | None:
        """The document with ``_id == doc_id``, or ``None`` when there is none.

        ``None`` answers only ``DOCUMENT_NOT_FOUND``; a missing collection still raises
        :class:`~cloudbase_async.NotFoundError`.
        """
        params: list[tuple[str, str | int | float | bool | None]] | None = None
        if projection:
            params = [("projection", encode_projection(projection))]
        path = f"{self._path}/documents/{path_segment(doc_id, 'document id')}"
        request = self._scope.request("GET", path, params=params, read=True, timeout=timeout)
        try:
            body, _ = await self._scope.send(request)
        except NotFoundError as exc:
            if exc.code == "DOCUMENT_NOT_FOUND":
                return None
            raise
        return self._out(body)

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
        path = self._scope.paths.aggregate.format(collection=path_segment(self.name, "name"))
        request = self._scope.request("POST", path, json=body, read=reads_only, timeout=timeout)
        result, request_id = await self._scope.send(request)
        return _document_list(result, request_id, "list", "data")

    # ------------------------------------------------------------------------ writes

    async def insert_one(self, document: Any, *, timeout: Timeout = None) -> Any:
        """Insert one document; return its ``_id`` (the server makes one if absent)."""
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
        request = self._scope.request(
            "POST", self._path + "/documents", json={"data": data}, timeout=timeout
        )
        body, request_id = await self._scope.send(request)
        ids = body.get("insertedIds") if isinstance(body, Mapping) else None
        if not isinstance(ids, list) or len(ids) != len(docs):
            raise _unexpected(body, "insert", request_id)
        return ids

    async def _update(
        self,
        query: Mapping[str, Any] | None,
        data: Mapping[str, Any],
        *,
        multi: bool,
        upsert: bool,
        replace: bool,
        timeout: Timeout,
    ) -> UpdateResult:
        mode = self._scope.mode
        body: dict[str, Any] = {
            "query": encode_value(query or {}, mode, "query"),
            "data": encode_value(update_data(data, replace=replace), mode, "update"),
            "multi": multi,
            "upsert": upsert,
        }
        if replace:
            body["replaceMode"] = True
        request = self._scope.request(
            "PATCH", self._path + "/documents", json=body, timeout=timeout
        )
        result, request_id = await self._scope.send(request)
        return _update_result(result, request_id)

    async def update_one(
        self,
        query: Mapping[str, Any] | None,
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Update the first document matching ``query``.

        ``update`` is an operator document (``{"$set": ..., "$inc": ...}``) or a plain
        document, which is sent as ``{"$set": update}``.
        """
        return await self._update(
            query, update, multi=False, upsert=upsert, replace=False, timeout=timeout
        )

    async def update_many(
        self,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Update every document matching ``query``; an empty query is refused.

        To really update all documents, match them explicitly, e.g.
        ``{"_id": {"$exists": True}}``.
        """
        if not query:
            raise InvalidRequestError(
                "update_many() with an empty query would update every document; "
                'pass an explicit filter such as {"_id": {"$exists": True}}'
            )
        return await self._update(
            query, update, multi=True, upsert=upsert, replace=False, timeout=timeout
        )

    async def replace_one(
        self,
        query: Mapping[str, Any] | None,
        document: Any,
        *,
        upsert: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Replace the first document matching ``query`` with ``document`` (``_id`` kept)."""
        doc = _as_document(document, "document")
        return await self._update(
            query, doc, multi=False, upsert=upsert, replace=True, timeout=timeout
        )

    async def update_by_id(
        self,
        doc_id: object,
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        replace: bool = False,
        return_doc: bool = False,
        timeout: Timeout = None,
    ) -> UpdateResult:
        """Update (or with ``replace=True`` replace) the document ``doc_id``.

        ``return_doc=True`` asks the server for the document after the update, in
        :attr:`UpdateResult.doc` (decoded, and structured when :meth:`returns` was used).
        """
        doc = _as_document(update, "update") if replace else update
        body: dict[str, Any] = {
            "data": encode_value(update_data(doc, replace=replace), self._scope.mode, "update"),
            "upsert": upsert,
        }
        if replace:
            body["replaceMode"] = True
        if return_doc:
            body["returnDoc"] = True
        path = f"{self._path}/documents/{path_segment(doc_id, 'document id')}"
        request = self._scope.request("PATCH", path, json=body, timeout=timeout)
        result, request_id = await self._scope.send(request)
        outcome = _update_result(result, request_id)
        if outcome.doc is not None and self._model is not None:
            outcome = attrs.evolve(outcome, doc=self._out(outcome.doc))
        return outcome

    async def _remove(
        self, query: Mapping[str, Any], *, multi: bool, timeout: Timeout
    ) -> DeleteResult:
        if not query:
            raise InvalidRequestError(
                "a delete with an empty query would remove every document; pass a filter"
            )
        body = {"query": encode_value(query, self._scope.mode, "query"), "multi": multi}
        # POST, and not safe to repeat: a delete whose first try landed would report 0.
        request = self._scope.request(
            "POST", self._path + "/documents/remove", json=body, timeout=timeout
        )
        result, request_id = await self._scope.send(request)
        return _delete_result(result, request_id)

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
        path = f"{self._path}/documents/{path_segment(doc_id, 'document id')}"
        request = self._scope.request("DELETE", path, timeout=timeout)
        result, request_id = await self._scope.send(request)
        return _delete_result(result, request_id)
