"""Raw database commands (``POST /commands``): MongoDB command documents, MongoDB replies.

A command is a document whose first key names it, as in MongoDB's ``runCommand``:
``{"find": "todos", "filter": {...}, "sort": {"due": 1}, "skip": 0, "limit": 10}``.
Supported: ``find``, ``count``, ``insert``, ``update``, ``delete``, ``aggregate``,
``create``, ``drop``, ``listCollections`` and ``ping``; each answers MongoDB's reply
(``{"cursor": {"firstBatch": [...], "id": 0, "ns": ...}, "ok": 1}``, ``{"n": ..., "ok": 1}``...).
Commands run through the engine's own calls, so they share its transactions, its
atomic writes and its journal. They are for the administrator only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from ._engine import MAX_LIMIT, NoSQLEngine, Scope
from ._errors import NoSQLError
from ._rules import Direction

__all__ = ["SUPPORTED", "run_command"]

Handler = Callable[[NoSQLEngine, Scope, Mapping[str, Any]], Awaitable[dict[str, Any]]]


def _name(command: Mapping[str, Any], key: str) -> str:
    value = command.get(key)
    if not isinstance(value, str) or not value:
        raise NoSQLError("INVALID_PARAM", f"{key} takes a collection name")
    return value


def _cursor(scope: Scope, collection: str, batch: list[Any]) -> dict[str, Any]:
    return {
        "cursor": {"firstBatch": batch, "id": 0, "ns": f"{scope.database}.{collection}"},
        "ok": 1,
    }


def _order(sort: object) -> list[tuple[str, Direction]]:
    if sort is None:
        return []
    if not isinstance(sort, Mapping):
        raise NoSQLError("INVALID_PARAM", "sort takes an object such as {'age': -1}")
    return [(field, "desc" if value == -1 else "asc") for field, value in sort.items()]


async def _find(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    collection = _name(command, "find")
    limit = int(command.get("limit") or MAX_LIMIT)
    page = await engine.find(
        scope,
        collection,
        command.get("filter"),
        offset=int(command.get("skip") or 0),
        limit=limit,
        order=_order(command.get("sort")),
        projection=command.get("projection"),
    )
    return _cursor(scope, collection, page.documents)


async def _count(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    return {"n": await engine.count(scope, _name(command, "count"), command.get("query")), "ok": 1}


async def _insert(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    ids = await engine.insert(scope, _name(command, "insert"), command.get("documents") or [])
    return {"n": len(ids), "ok": 1}


async def _update(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    collection = _name(command, "update")
    n = modified = 0
    upserted = []
    for index, statement in enumerate(command.get("updates") or []):
        update = statement.get("u")
        # As in MongoDB: an update document without operators is a replacement.
        replace = isinstance(update, Mapping) and not any(k.startswith("$") for k in update)
        outcome = await engine.update(
            scope,
            collection,
            statement.get("q"),
            update,
            multi=bool(statement.get("multi")),
            upsert=bool(statement.get("upsert")),
            replace=replace,
        )
        n += outcome.matched
        modified += outcome.updated
        if outcome.upsert_id is not None:
            n += 1
            upserted.append({"index": index, "_id": outcome.upsert_id})
    reply: dict[str, Any] = {"n": n, "nModified": modified, "ok": 1}
    if upserted:
        reply["upserted"] = upserted
    return reply


async def _delete(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    collection = _name(command, "delete")
    n = 0
    for statement in command.get("deletes") or []:
        multi = statement.get("limit", 0) == 0
        n += await engine.remove(scope, collection, statement.get("q") or {}, multi=multi)
    return {"n": n, "ok": 1}


async def _aggregate(
    engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]
) -> dict[str, Any]:
    collection = _name(command, "aggregate")
    docs = await engine.aggregate(scope, collection, command.get("pipeline") or [])
    return _cursor(scope, collection, docs)


async def _create(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    await engine.create_collection(scope, _name(command, "create"))
    return {"ok": 1}


async def _drop(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    collection = _name(command, "drop")
    await engine.drop_collection(scope, collection)
    return {"ns": f"{scope.database}.{collection}", "ok": 1}


async def _list_collections(
    engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]
) -> dict[str, Any]:
    names = engine.collection_names(scope)
    return _cursor(
        scope, "$cmd.listCollections", [{"name": n, "type": "collection"} for n in names]
    )


async def _ping(engine: NoSQLEngine, scope: Scope, command: Mapping[str, Any]) -> dict[str, Any]:
    return {"ok": 1}


_HANDLERS: Final[Mapping[str, Handler]] = {
    "find": _find,
    "count": _count,
    "insert": _insert,
    "update": _update,
    "delete": _delete,
    "aggregate": _aggregate,
    "create": _create,
    "drop": _drop,
    "listCollections": _list_collections,
    "ping": _ping,
}
SUPPORTED: Final = frozenset(_HANDLERS)


async def run_command(engine: NoSQLEngine, scope: Scope, command: object) -> dict[str, Any]:
    """Run one command document; return MongoDB's reply for it."""
    if not scope.caller.is_admin:
        raise NoSQLError("DATABASE_PERMISSION_DENIED", "commands are for administrators only")
    if not isinstance(command, Mapping) or not command:
        raise NoSQLError("INVALID_PARAM", "a command is a non-empty object")
    name = next(iter(command))
    handler = _HANDLERS.get(name)
    if handler is None:
        raise NoSQLError(
            "INVALID_PARAM", f"command {name!r} is not supported (supported: {sorted(SUPPORTED)})"
        )
    return await handler(engine, scope, command)
