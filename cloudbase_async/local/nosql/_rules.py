"""The rules every write and query follows: who sees what, what an update may say,
and write *plans* (the documents a write may touch, planned before it runs, so the
engine can check transaction conflicts first and undo a half-done write after).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import mongomock

from .._identity import Caller
from ._errors import NoSQLError
from ._values import StoredObjectId

__all__ = [
    "Direction",
    "UpdateOutcome",
    "Write",
    "admin_only",
    "as_mapping",
    "id_candidates",
    "mongo_errors",
    "new_id",
    "owner_of",
    "replace_plan",
    "restrict",
    "sort_spec",
    "update_document",
    "update_plan",
]

Direction = Literal["asc", "desc"]

_IMMUTABLE: Final = frozenset({"_id", "_openid"})
_HEX24: Final = re.compile(r"[0-9a-fA-F]{24}")
# The base of mongomock's errors; its type stubs do not declare it.
_MONGO_ERROR: Final[type[Exception]] = vars(mongomock)["PyMongoError"]


@attrs.frozen
class UpdateOutcome:
    matched: int
    updated: int
    upsert_id: Any = None
    doc: dict[str, Any] | None = None


@attrs.frozen
class Write:
    """A write, planned: the documents it may change or create, and how to run it."""

    run: Callable[[], Any]
    targets: list[Any] = attrs.field(factory=list)
    created: list[Any] = attrs.field(factory=list)


@contextlib.contextmanager
def mongo_errors() -> Iterator[None]:
    """Turn mongomock's exceptions into the service's error codes."""
    try:
        yield
    except NoSQLError:
        raise
    except mongomock.DuplicateKeyError as exc:
        raise NoSQLError("DATABASE_DUPLICATE_WRITE", f"duplicate _id: {exc}") from exc
    except mongomock.OperationFailure as exc:
        message = str(exc)
        code = "DATABASE_INVALID_OPERRATOR" if "unknown" in message.lower() else "INVALID_PARAM"
        raise NoSQLError(code, message) from exc
    except _MONGO_ERROR as exc:  # InvalidName, InvalidOperation...
        raise NoSQLError("INVALID_PARAM", str(exc)) from exc
    except NotImplementedError as exc:
        raise NoSQLError(
            "DATABASE_REQUEST_FAILED", f"not supported by the local emulator (mongomock): {exc}"
        ) from exc
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise NoSQLError(
            "DATABASE_REQUEST_FAILED",
            f"the local emulator could not run this ({type(exc).__name__}: {exc})",
        ) from exc


def owner_of(caller: Caller) -> str | None:
    """``None`` for the administrator, the uid for a user; refuses the anonymous role."""
    if caller.is_admin:
        return None
    if caller.role == "user" and caller.uid:
        return caller.uid
    raise NoSQLError(
        "DATABASE_PERMISSION_DENIED", "sign in: the anonymous role cannot use the database"
    )


def admin_only(caller: Caller, what: str) -> None:
    if not caller.is_admin:
        raise NoSQLError("DATABASE_PERMISSION_DENIED", f"{what} is for administrators only")


def restrict(query: dict[str, Any], owner: str | None) -> dict[str, Any]:
    if owner is None:
        return query
    if "_openid" in query:
        return {"$and": [query, {"_openid": owner}]}
    return {**query, "_openid": owner}


def as_mapping(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise NoSQLError("INVALID_PARAM", f"{what} must be an object")
    return dict(value)


def update_document(data: object, *, replace: bool) -> dict[str, Any]:
    """``data`` checked: operators only (plain fields wrapped in ``$set``), or a replacement."""
    update = as_mapping(data, "data")
    if not update:
        raise NoSQLError("INVALID_PARAM", "data must not be empty")
    operators = [key.startswith("$") for key in update]
    if replace:
        if any(operators):
            raise NoSQLError("INVALID_PARAM", "a replacement document cannot hold $ operators")
        return update
    if not any(operators):
        update = {"$set": update}
    elif not all(operators):
        raise NoSQLError("INVALID_PARAM", "data mixes $ operators and plain fields")
    for operator, fields in update.items():
        if not isinstance(fields, Mapping):
            raise NoSQLError("INVALID_PARAM", f"{operator} takes an object")
        if operator == "$setOnInsert":
            continue
        names = list(fields)
        if operator == "$rename":
            names += [str(value) for value in fields.values()]
        touched = {name.split(".", 1)[0] for name in names}
        if touched & _IMMUTABLE:
            raise NoSQLError("INVALID_PARAM", "_id and _openid cannot be changed")
    return update


def sort_spec(order: Sequence[tuple[str, Direction]]) -> list[tuple[str, int]]:
    spec = []
    for field, direction in order:
        if direction not in ("asc", "desc") or not isinstance(field, str) or not field:
            raise NoSQLError("INVALID_PARAM", f"bad order entry {(field, direction)!r}")
        spec.append((field, 1 if direction == "asc" else -1))
    return spec


def id_candidates(doc_id: str) -> list[Any]:
    """A path's id matches a string ``_id`` or, when it is 24 hex digits, an ObjectId."""
    candidates: list[Any] = [doc_id]
    if _HEX24.fullmatch(doc_id):
        candidates.append(StoredObjectId(doc_id.lower()))
    return candidates


def new_id() -> str:
    return uuid.uuid4().hex  # what the service makes: a string of 32 hex digits


def update_plan(
    coll: Any,
    flt: dict[str, Any],
    update: dict[str, Any],
    targets: list[Any],
    *,
    multi: bool,
    upsert: bool,
    owner: str | None,
) -> Write:
    created: list[Any] = []
    inserting = upsert and not targets
    if inserting:
        on_insert = dict(update.get("$setOnInsert", {}))
        given = flt.get("_id")
        if given is None or isinstance(given, dict):
            on_insert.setdefault("_id", new_id())
        if owner is not None:
            on_insert["_openid"] = owner
        update = {**update, "$setOnInsert": on_insert}
        created = [on_insert.get("_id", given)]
    method = coll.update_many if multi else coll.update_one

    def run() -> UpdateOutcome:
        result = method(flt, update, upsert=inserting)
        return UpdateOutcome(result.matched_count, result.modified_count, result.upserted_id)

    return Write(run, targets, created)


def replace_plan(
    coll: Any,
    flt: dict[str, Any],
    document: dict[str, Any],
    targets: list[Any],
    *,
    upsert: bool,
    owner: str | None,
) -> Write:
    doc = dict(document)
    given = doc.pop("_id", None)
    if targets:
        (target,) = targets
        if given is not None and given != target:
            raise NoSQLError("INVALID_PARAM", "_id cannot be changed")
        # _openid is immutable too: the replacement keeps the one the document had.
        existing = coll.find_one({"_id": target}, {"_openid": 1})
        doc.pop("_openid", None)
        if "_openid" in existing:
            doc["_openid"] = existing["_openid"]

        def replace() -> UpdateOutcome:
            result = coll.replace_one({"_id": target}, doc)
            return UpdateOutcome(result.matched_count, result.modified_count)

        return Write(replace, targets)
    if not upsert:
        return Write(lambda: UpdateOutcome(0, 0))
    from_filter = flt.get("_id")
    doc_id = given if given is not None else from_filter
    if doc_id is None or isinstance(doc_id, dict):
        doc_id = new_id()
    new = {"_id": doc_id, **doc}
    if owner is not None:
        new["_openid"] = owner

    def insert() -> UpdateOutcome:
        coll.insert_one(new)
        return UpdateOutcome(0, 0, doc_id)

    return Write(insert, created=[doc_id])
