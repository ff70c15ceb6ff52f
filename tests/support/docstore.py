"""A loopback document-database gateway for integration tests.

An ASGI app speaking the CloudBase NoSQL REST paths (``/v1/database/instances/{i}/
databases/{d}/...``) on top of mongomock, which supplies the query, update and
aggregation semantics: no hand-written matching here. Requests are decoded from
EJSON and answers written in Strict EJSON, as the real service does.

Transactions copy the database when they start; their calls work on the copy, and a
commit swaps it in, unless another write committed meanwhile, which answers
``DATABASE_TRANSACTION_CONFLICT`` like the real service.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

import mongomock

from cloudbase_async import ejson

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_PREFIX = re.compile(r"^/v1/database/instances/(?P<instance>[^/]+)/databases/(?P<database>[^/]+)")


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ------------------------------------------------------------ values: ours <-> mongomock


# ObjectIds are stored as our own (hashable, comparable) values: mongomock's stand-in,
# without bson installed, is not a 24-hex id.
def to_store(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: to_store(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_store(v) for v in value]
    if isinstance(value, ejson.Regex):
        return value.compile()
    if isinstance(value, ejson.Int64):
        return int(value)
    return value


def from_store(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: from_store(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_store(v) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # mongomock hands dates back naive UTC
    if isinstance(value, re.Pattern):
        return ejson.Regex.from_pattern(value)
    return value


class DocStore:
    """The gateway. ``requests`` records (method, path, query, body) of every call."""

    def __init__(self) -> None:
        self.client: mongomock.MongoClient[Any] = mongomock.MongoClient()
        self.version = 0  # bumped by every committed write
        self.transactions: dict[str, tuple[Any, int]] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    # ---------------------------------------------------------------------- ASGI

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
        path = unquote(scope["raw_path"].decode().split("?")[0])
        try:
            body = ejson.loads(raw) if raw else None
            self.requests.append((scope["method"], path, query, body))
            status, answer = self.route(scope["method"], path, query, body)
        except GatewayError as exc:
            status = exc.status
            answer = {"code": exc.code, "message": exc.message, "request_id": "rid-" + exc.code}
        except Exception as exc:  # answer like the service does, and keep serving
            status = 500
            answer = {"code": "SYS_ERR", "message": repr(exc), "request_id": "rid-SYS_ERR"}
        payload = ejson.dumps(from_store(answer), mode="strict").encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"srv-1")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    # --------------------------------------------------------------------- routing

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        match = _PREFIX.match(path)
        if match is None:
            raise GatewayError(404, "RESOURCE_NOT_FOUND", f"no route {path}")
        rest = path[match.end() :]
        tx_id = query.get("transactionId") or (body or {}).get("transactionId")
        db = self._database(match["instance"], match["database"], tx_id)
        parts = [p for p in rest.split("/") if p]
        if parts == ["collections"] and method == "POST":
            return self.create_collection(db, body)
        if parts == ["transactions"] and method == "POST":
            return self.start(match["instance"], match["database"])
        if len(parts) == 3 and parts[0] == "transactions" and method == "POST":
            return self.end(match["instance"], match["database"], parts[1], parts[2])
        if len(parts) >= 3 and parts[0] == "collections" and parts[2] == "documents":
            coll = self._collection(db, parts[1])
            tail = parts[3:]
            result = self.documents(coll, method, tail, query, body)
            if method != "GET" and tail != ["aggregations"] and tx_id is None:
                self.version += 1
            return result
        raise GatewayError(404, "RESOURCE_NOT_FOUND", f"no route {method} {path}")

    def _database(self, instance: str, database: str, tx_id: str | None) -> Any:
        if tx_id is not None:
            if tx_id not in self.transactions:
                raise GatewayError(400, "INVALID_PARAM", f"unknown transaction {tx_id}")
            return self.transactions[tx_id][0]
        return self.client[f"{instance}.{database}"]

    def _collection(self, db: Any, name: str) -> Any:
        if name not in db.list_collection_names():
            raise GatewayError(404, "DATABASE_COLLECTION_NOT_EXIST", f"no collection {name}")
        return db[name]

    def create_collection(self, db: Any, body: Any) -> tuple[int, Any]:
        name = body["collectionName"]
        if name in db.list_collection_names():
            raise GatewayError(409, "DATABASE_COLLECTION_ALREADY_EXIST", f"{name} exists")
        db.create_collection(name)
        return 201, {}

    # ---------------------------------------------------------------- transactions

    def start(self, instance: str, database: str) -> tuple[int, Any]:
        tx_id = uuid.uuid4().hex
        source = self.client[f"{instance}.{database}"]
        copy = mongomock.MongoClient()[f"tx-{tx_id}"]
        for name in source.list_collection_names():
            copy.create_collection(name)
            docs = list(source[name].find())
            if docs:
                copy[name].insert_many(docs)
        self.transactions[tx_id] = (copy, self.version)
        return 200, {"transactionId": tx_id}

    def end(self, instance: str, database: str, tx_id: str, action: str) -> tuple[int, Any]:
        if tx_id not in self.transactions:
            raise GatewayError(400, "INVALID_PARAM", f"unknown transaction {tx_id}")
        copy, base_version = self.transactions.pop(tx_id)
        if action == "rollback":
            return 200, {}
        if self.version != base_version:
            raise GatewayError(503, "DATABASE_TRANSACTION_CONFLICT", "write conflict")
        target = self.client[f"{instance}.{database}"]
        for name in copy.list_collection_names():
            target[name].drop()
            target.create_collection(name)
            docs = list(copy[name].find())
            if docs:
                target[name].insert_many(docs)
        self.version += 1
        return 200, {}

    # ------------------------------------------------------------------- documents

    def documents(
        self, coll: Any, method: str, tail: list[str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if not tail and method == "GET":
            return self.find(coll, query)
        if not tail and method == "POST":
            docs = [to_store(doc) for doc in body["data"]]
            for doc in docs:
                doc.setdefault("_id", uuid.uuid4().hex)
            coll.insert_many(docs)
            return 200, {"insertedIds": [doc["_id"] for doc in docs]}
        if not tail and method == "PATCH":
            return self.update(coll, to_store(body["query"]), body)
        if tail == ["remove"] and method == "POST":
            filter_ = to_store(body.get("query") or {})
            if not filter_:
                raise GatewayError(400, "INVALID_PARAM", "param.query can't be empty")
            result = coll.delete_many(filter_) if body.get("multi") else coll.delete_one(filter_)
            return 200, {"deleted": result.deleted_count}
        if tail == ["aggregations"] and method == "POST":
            return 200, {"list": list(coll.aggregate(to_store(body["pipeline"])))}
        if len(tail) == 1:
            doc_filter = {"_id": tail[0]}
            if method == "GET":
                projection = json.loads(query["projection"]) if "projection" in query else None
                doc = coll.find_one(doc_filter, projection)
                if doc is None:
                    raise GatewayError(404, "DOCUMENT_NOT_FOUND", "document not found")
                return 200, doc
            if method == "PATCH":
                status, answer = self.update(coll, doc_filter, body)
                if body.get("returnDoc"):
                    answer["doc"] = coll.find_one(doc_filter)
                return status, answer
            if method == "DELETE":
                return 200, {"deleted": coll.delete_one(doc_filter).deleted_count}
        raise GatewayError(404, "RESOURCE_NOT_FOUND", f"no route {method} {tail}")

    def find(self, coll: Any, query: dict[str, str]) -> tuple[int, Any]:
        filter_ = to_store(ejson.loads(query.get("query", "{}")))
        if query.get("count") == "true":
            return 200, {"total": coll.count_documents(filter_)}
        projection = json.loads(query["projection"]) if "projection" in query else None
        cursor = coll.find(filter_, projection)
        if "order" in query:
            cursor = cursor.sort(
                [
                    (o["field"], 1 if o["direction"] == "asc" else -1)
                    for o in json.loads(query["order"])
                ]
            )
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
        docs = list(cursor.skip(offset).limit(limit))
        return 200, {"offset": offset, "limit": limit, "list": docs}

    def update(self, coll: Any, filter_: Any, body: Any) -> tuple[int, Any]:
        data = to_store(body["data"])
        upsert = bool(body.get("upsert"))
        # Upserted documents get a string id, like the ones inserts get.
        new_id = filter_.get("_id") if isinstance(filter_.get("_id"), str) else uuid.uuid4().hex
        if body.get("replaceMode"):
            if upsert:
                data = {"_id": new_id, **data}
            result = coll.replace_one(filter_, data, upsert=upsert)
        else:
            if upsert and "_id" not in filter_:
                data = {**data, "$setOnInsert": {**data.get("$setOnInsert", {}), "_id": new_id}}
            update = coll.update_many if body.get("multi") else coll.update_one
            result = update(filter_, data, upsert=upsert)
        return 200, {
            "updated": result.modified_count,
            "matched": result.matched_count,
            "upsert_id": result.upserted_id,
        }
