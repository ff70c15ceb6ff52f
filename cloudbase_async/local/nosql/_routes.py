"""HTTP for the document database: the real REST paths, EJSON in, Strict EJSON out.

Requests may be Relaxed or Strict EJSON (the ``query`` parameter, the bodies); bodies
are parsed as JSON whatever their content type. Answers carry documents and ids in
Strict EJSON and the envelope's counts as plain numbers; errors are the service's own
``{"code", "message", "request_id"}`` with the status of the code.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ... import ejson
from .._identity import Caller, CredentialError
from ._commands import run_command
from ._engine import NoSQLEngine, Scope
from ._errors import NoSQLError
from ._rules import Direction

__all__ = ["routes"]

log: Final = logging.getLogger("cloudbase_async.local")

PREFIX: Final = "/v1/database/instances/{instance}/databases/{database}"
_ALL_METHODS: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

Identify = Callable[[str | None], Caller]


@attrs.frozen
class _Call:
    """One request, decoded: who, where, the body and the query parameters."""

    scope: Scope
    body: dict[str, Any]
    params: Mapping[str, str]
    path: Mapping[str, str]

    @property
    def collection(self) -> str:
        return self.path["collection"]


Handler = Callable[[NoSQLEngine, _Call], Awaitable[tuple[int, Any]]]


def _json_response(status: int, payload: Any, request_id: str) -> Response:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(
        text, status, headers={"X-Request-Id": request_id}, media_type="application/json"
    )


def _error(code: str, message: str, status: int, request_id: str) -> Response:
    return _json_response(
        status, {"code": code, "message": message, "request_id": request_id}, request_id
    )


def _wire(value: Any) -> Any:
    return ejson.encode(value, mode="strict")


def _decode_text(text: str, what: str) -> Any:
    try:
        return ejson.loads(text)
    except (ValueError, TypeError) as exc:
        raise NoSQLError("INVALID_PARAM", f"{what} is not valid EJSON: {exc}") from exc


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = _decode_text(raw.decode("utf-8", "replace"), "the body")
    if not isinstance(data, dict):
        raise NoSQLError("INVALID_PARAM", "the body must be a JSON object")
    return data


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text in (None, ""):
        return default
    try:
        return int(text)
    except ValueError:
        raise NoSQLError("INVALID_PARAM", f"{name} must be an integer, got {text!r}") from None


def _order(params: Mapping[str, str]) -> list[tuple[str, Direction]]:
    text = params.get("order")
    if not text:
        return []
    items = _decode_text(text, "order")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise NoSQLError("INVALID_PARAM", 'order is [{"field": ..., "direction": "asc"|"desc"}]')
    return [(item.get("field"), str(item.get("direction", "asc")).lower()) for item in items]  # type: ignore[misc]


def _mapping_param(params: Mapping[str, str], name: str) -> dict[str, Any] | None:
    text = params.get(name)
    if not text:
        return None
    value = _decode_text(text, name)
    if not isinstance(value, dict):
        raise NoSQLError("INVALID_PARAM", f"{name} must be a JSON object")
    return value


# ------------------------------------------------------------------------ handlers


async def _create_collection(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    await engine.create_collection(call.scope, call.body.get("collectionName"))  # type: ignore[arg-type]
    return 201, {}


async def _documents(engine: NoSQLEngine, call: _Call, method: str) -> tuple[int, Any]:
    if method == "POST":
        ids = await engine.insert(call.scope, call.collection, call.body.get("data") or [])
        return 200, {"insertedIds": _wire(ids)}
    if method == "PATCH":
        outcome = await engine.update(
            call.scope,
            call.collection,
            call.body.get("query"),
            call.body.get("data"),  # type: ignore[arg-type]
            multi=bool(call.body.get("multi")),
            upsert=bool(call.body.get("upsert")),
            replace=bool(call.body.get("replaceMode")),
        )
        return 200, _update_answer(outcome)
    query = _mapping_param(call.params, "query")
    if call.params.get("count") == "true":
        return 200, {"total": await engine.count(call.scope, call.collection, query)}
    page = await engine.find(
        call.scope,
        call.collection,
        query,
        offset=_int_param(call.params, "offset", 0),
        limit=_int_param(call.params, "limit", 20),
        order=_order(call.params),
        projection=_mapping_param(call.params, "projection"),
    )
    return 200, {
        "offset": page.offset,
        "limit": page.limit,
        "total": page.total,
        "list": _wire(page.documents),
    }


def _update_answer(outcome: Any) -> dict[str, Any]:
    answer = {
        "updated": outcome.updated,
        "matched": outcome.matched,
        "upsert_id": _wire(outcome.upsert_id),
    }
    if outcome.doc is not None:
        answer["doc"] = _wire(outcome.doc)
    return answer


async def _document(engine: NoSQLEngine, call: _Call, method: str) -> tuple[int, Any]:
    doc_id = call.path["doc_id"]
    if method == "GET":
        projection = _mapping_param(call.params, "projection")
        doc = await engine.get(call.scope, call.collection, doc_id, projection=projection)
        return 200, _wire(doc)
    if method == "PATCH":
        outcome = await engine.update_by_id(
            call.scope,
            call.collection,
            doc_id,
            call.body.get("data"),  # type: ignore[arg-type]
            upsert=bool(call.body.get("upsert")),
            replace=bool(call.body.get("replaceMode")),
            return_doc=bool(call.body.get("returnDoc")),
        )
        return 200, _update_answer(outcome)
    return 200, {"deleted": await engine.delete_by_id(call.scope, call.collection, doc_id)}


async def _remove(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    query = call.body.get("query")
    if not isinstance(query, dict):
        raise NoSQLError("INVALID_PARAM", "param.query can't be empty")
    multi = bool(call.body.get("multi"))
    return 200, {"deleted": await engine.remove(call.scope, call.collection, query, multi=multi)}


async def _aggregate(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    pipeline = call.body.get("pipeline")
    if not isinstance(pipeline, list):
        raise NoSQLError("INVALID_PARAM", "pipeline must be a list of stages")
    return 200, {"list": _wire(await engine.aggregate(call.scope, call.collection, pipeline))}


async def _start(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    return 200, {"transactionId": await engine.start_transaction(call.scope)}


async def _commit(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    await engine.commit(call.scope, call.path["transaction_id"])
    return 200, {}


async def _rollback(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    await engine.rollback(call.scope, call.path["transaction_id"])
    return 200, {}


async def _commands(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    """``{"commands": [EJSON text or objects]}`` → an array of replies, in order.

    A body without ``commands`` is one command itself and gets its one reply (what
    ``Database.command(body)`` of this SDK sends).
    """
    commands = call.body.get("commands")
    if commands is None:
        body = {k: v for k, v in call.body.items() if k != "transactionId"}
        return 200, _wire(await run_command(engine, call.scope, body))
    if not isinstance(commands, list):
        raise NoSQLError("INVALID_PARAM", "commands must be a list")
    replies = []
    for command in commands:
        parsed = _decode_text(command, "a command") if isinstance(command, str) else command
        replies.append(await run_command(engine, call.scope, parsed))
    return 200, _wire(replies)


async def _not_found(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
    raise NoSQLError("RESOURCE_NOT_FOUND", "no such document-database call")


# ------------------------------------------------------------------------- wiring


def _endpoint(
    engine: NoSQLEngine, identify: Identify, handler: Callable[[NoSQLEngine, _Call], Any]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        request_id = uuid.uuid4().hex
        try:
            caller = identify(request.headers.get("authorization"))
            body = await _body(request)
            params = request.query_params
            transaction_id = body.get("transactionId") or params.get("transactionId") or None
            scope = Scope(
                caller,
                request.path_params.get("instance", ""),
                request.path_params.get("database", ""),
                transaction_id if isinstance(transaction_id, str) else None,
            )
            call = _Call(scope, body, params, request.path_params)
            status, payload = await handler(engine, call)
        except CredentialError as exc:
            return _error(exc.code, exc.message, exc.status, request_id)
        except NoSQLError as exc:
            return _error(exc.code, exc.message, exc.status, request_id)
        except Exception as exc:  # the service answers SYS_ERR and keeps serving
            log.exception("document database: %s %s failed", request.method, request.url.path)
            return _error("SYS_ERR", f"{type(exc).__name__}: {exc}", 500, request_id)
        return _json_response(status, payload, request_id)

    return endpoint


def routes(engine: NoSQLEngine, identify: Identify) -> list[BaseRoute]:
    """The document database's routes, at the real gateway's absolute paths."""

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(PREFIX + path, _endpoint(engine, identify, handler), methods=methods)

    collection = "/collections/{collection}/documents"
    return [
        route("/collections", _create_collection, ["POST"]),
        *(
            route(collection, _bind(_documents, method), [method])
            for method in ("GET", "POST", "PATCH")
        ),
        route(collection + "/remove", _remove, ["POST"]),
        route(collection + "/aggregations", _aggregate, ["POST"]),
        *(
            route(collection + "/{doc_id}", _bind(_document, method), [method])
            for method in ("GET", "PATCH", "DELETE")
        ),
        route("/transactions", _start, ["POST"]),
        route("/transactions/{transaction_id}/commit", _commit, ["POST"]),
        route("/transactions/{transaction_id}/rollback", _rollback, ["POST"]),
        route("/commands", _commands, ["POST"]),
        Route(
            "/v1/database/{rest:path}",
            _endpoint(engine, identify, _not_found),
            methods=_ALL_METHODS,
        ),
    ]


def _bind(
    handler: Callable[[NoSQLEngine, _Call, str], Awaitable[tuple[int, Any]]], method: str
) -> Handler:
    async def bound(engine: NoSQLEngine, call: _Call) -> tuple[int, Any]:
        return await handler(engine, call, method)

    return bound
