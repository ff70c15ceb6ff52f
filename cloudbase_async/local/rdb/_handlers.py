"""One function per kind of request: read, insert, update, delete, rpc result.

Each takes what the engine resolved (catalog, table, parsed query, preferences, media
type) and returns an :class:`RdbResponse`; errors are raised as :class:`RdbError`.
They run inside the engine's lock and the request's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from .._identity import Caller
from ._bind import bind
from ._catalog import Catalog, Table, UniqueKey
from ._errors import RdbError, permission_denied, unsupported
from ._http import JSON, OBJECT, RdbResponse
from ._json import InvalidJson, JsonObject, JsonValue, loads as json_loads
from ._plan import Level, plan_read
from ._query import QueryParams
from ._read import count_rows, read_rows, render_rows
from ._request import MediaType, Preferences
from ._store import Store
from ._write import delete_rows, insert_rows, payload_from_body, update_rows

__all__ = [
    "Context",
    "handle_delete",
    "handle_insert",
    "handle_read",
    "handle_update",
    "read_answer",
    "rows_answer",
]


@attrs.frozen
class Context:
    """One resolved request: where it goes, what it asks, who asks."""

    store: Store
    catalog: Catalog
    table: Table
    query: QueryParams
    prefer: Preferences
    media: MediaType
    caller: Caller
    method: str
    body: bytes = b""
    root_range: tuple[int, int | None] = (0, None)


def _headers(*pairs: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in pairs if v is not None)


def _content_range(lower: int, count: int, total: int | None) -> str:
    upper = lower + count - 1
    shown = f"{lower}-{upper}" if total != 0 and lower <= upper else "*"
    return f"{shown}/{'*' if total is None else total}"


def _single(rows: Sequence[str]) -> None:
    if len(rows) != 1:
        raise RdbError(
            406,
            "PGRST116",
            "JSON object requested, multiple (or no) rows returned",
            details=f"The result contains {len(rows)} rows",
            # PostgREST 12 sends both content types with this error.
            headers=(("content-type", OBJECT),),
        )


def _body(rows: Sequence[str], media: MediaType) -> bytes:
    if media == "object":
        return rows[0].encode()
    return ("[" + ", ".join(rows) + "]").encode()


def _content_type(media: MediaType) -> str:
    return OBJECT if media == "object" else JSON


def _check_write(ctx: Context) -> None:
    if ctx.caller.rdb_role == "anon":
        raise permission_denied(ctx.table.name, anonymous=True)


# --- reads --------------------------------------------------------------------------


def read_answer(ctx: Context, level: Level, *, head: bool) -> RdbResponse:
    """Run a bound read plan and answer it (shared by tables and rpc results)."""
    rows = read_rows(ctx.store, level)
    total = count_rows(ctx.store, level) if ctx.prefer.count else None
    rendered = render_rows(ctx.store, level, rows)
    return rows_answer(ctx.prefer, ctx.media, rendered, level.offset, total, head=head)


def rows_answer(
    prefer: Preferences,
    media: MediaType,
    rendered: Sequence[str],
    lower: int,
    total: int | None,
    *,
    head: bool,
) -> RdbResponse:
    """The answer for rendered rows starting at offset ``lower`` (of ``total``, when
    counted): its range, preferences and media type applied."""
    applied = prefer.applied(insert=False, write=False)
    if total is not None and lower > total:
        raise RdbError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            details=f"An offset of {lower} was requested, but there are only {total} rows.",
            headers=_headers(("content-range", f"*/{total}"), ("preference-applied", applied)),
        )
    if media == "object":
        _single(rendered)
    status = 206 if total is not None and len(rendered) < total else 200
    headers = _headers(
        ("content-range", _content_range(lower, len(rendered), total)),
        ("preference-applied", applied),
        ("content-type", _content_type(media)),
    )
    return RdbResponse(status, headers, b"" if head else _body(rendered, media))


def handle_read(ctx: Context) -> RdbResponse:
    level = bind(plan_read(ctx.catalog, ctx.table, ctx.query, root_range=ctx.root_range))
    return read_answer(ctx, level, head=ctx.method == "HEAD")


# --- writes -------------------------------------------------------------------------


def _decode(body: bytes) -> JsonValue:
    invalid = RdbError(400, "PGRST102", "Empty or invalid json")
    if not body.strip():
        raise invalid
    try:
        return json_loads(body)
    except (InvalidJson, UnicodeDecodeError):
        raise invalid from None


def _unknown_column(table: Table, names: Sequence[str]) -> None:
    for name in sorted(set(names)):
        if table.column(name) is None:
            raise RdbError(
                400, "PGRST204", f"Column '{name}' of relation '{table.name}' does not exist"
            )


def _wants_rows(ctx: Context) -> bool:
    return ctx.prefer.representation == "representation"


def _write_answer(
    ctx: Context,
    level: Level,
    rows: list[dict[str, Any]],
    status: int,
    content_range: str,
    rendered: list[str] | None = None,
) -> RdbResponse:
    """The answer to a write: the rows (``return=representation``) or none.

    ``status`` is the answer with rows; without them an update or delete says 204.
    ``rendered``: the rows already rendered (a delete renders them first).
    """
    representation = _wants_rows(ctx)
    if rendered is None:
        rendered = render_rows(ctx.store, level, rows) if representation else []
    if ctx.media == "object":
        _single(rendered if representation else ["row"] * len(rows))
    applied = ctx.prefer.applied(insert=ctx.method == "POST", write=True)
    if not representation:
        headers = _headers(("content-range", content_range), ("preference-applied", applied))
        return RdbResponse(status if ctx.method == "POST" else 204, headers)
    headers = _headers(
        ("content-range", content_range),
        ("preference-applied", applied),
        ("content-type", _content_type(ctx.media)),
    )
    return RdbResponse(status, headers, _body(rendered, ctx.media))


def _conflict_key(ctx: Context) -> UniqueKey | None:
    if ctx.prefer.resolution is None:
        return None
    columns = ctx.query.on_conflict
    if columns is None:
        key = ctx.table.primary_key
        if key is None:
            raise unsupported("upserts without on_conflict on a table without a primary key")
        return key
    for key in ctx.table.uniques:
        if set(key.columns) == set(columns):
            return key
    raise RdbError(
        400,
        "42P10",
        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
    )


def handle_insert(ctx: Context) -> RdbResponse:
    if ctx.query.filters or ctx.query.logic:
        raise unsupported("filters on an insert")
    body = _decode(ctx.body)
    payload = payload_from_body(body, ctx.query.columns)
    if isinstance(payload, str):
        raise RdbError(400, "PGRST102", payload)
    _unknown_column(ctx.table, payload.columns)
    level = bind(plan_read(ctx.catalog, ctx.table, ctx.query, with_filters=False))
    conflict = _conflict_key(ctx)
    _check_write(ctx)
    owner = None
    if ctx.caller.role == "user" and ctx.table.column("_openid") is not None:
        owner = ("_openid", ctx.caller.uid or "")
    result = insert_rows(
        ctx.store,
        ctx.catalog,
        ctx.table,
        payload,
        missing_default=ctx.prefer.missing_default,
        resolution=ctx.prefer.resolution,
        conflict_key=conflict,
        owner=owner,
    )
    total = len(result.rows) if ctx.prefer.count else None
    merged = ctx.prefer.resolution == "merge-duplicates"
    status = 200 if merged and payload.rows and result.inserted == 0 else 201
    return _write_answer(ctx, level, result.rows, status, f"*/{'*' if total is None else total}")


def _matched(ctx: Context, level: Level) -> list[dict[str, Any]]:
    if any(path == () for path, *_ in ctx.query.limits):
        raise unsupported("limit/offset on update and delete")
    return read_rows(ctx.store, attrs.evolve(level, order=(), limit=None, offset=0))


def _mutation_range(count: int, total: int | None, *, delete: bool) -> str:
    if delete:
        return f"*/{'*' if total is None else total}"
    return _content_range(0, count, total)


def handle_update(ctx: Context) -> RdbResponse:
    body = _decode(ctx.body)
    if isinstance(body, list):
        if len(body) != 1:
            raise unsupported("PATCH with an array body of several objects")
        body = body[0]
    if not isinstance(body, JsonObject):
        raise unsupported("PATCH with a body that is not a JSON object")
    values = {name: body.get(name) for name in body.keys()}  # noqa: SIM118 - not a dict
    _unknown_column(ctx.table, list(values))
    level = bind(plan_read(ctx.catalog, ctx.table, ctx.query))
    _check_write(ctx)
    if not values:
        return _write_answer(ctx, level, [], 200, "*/*")
    matched = _matched(ctx, level)
    written = update_rows(ctx.store, ctx.catalog, ctx.table, values, matched)
    total = len(written) if ctx.prefer.count else None
    return _write_answer(
        ctx, level, written, 200, _mutation_range(len(written), total, delete=False)
    )


def handle_delete(ctx: Context) -> RdbResponse:
    level = bind(plan_read(ctx.catalog, ctx.table, ctx.query))
    _check_write(ctx)
    matched = _matched(ctx, level)
    # PostgreSQL renders the deleted rows' embeds from the statement's snapshot: as
    # they were before the delete (and its cascades).
    rendered = render_rows(ctx.store, level, matched) if _wants_rows(ctx) else None
    deleted = delete_rows(ctx.store, ctx.catalog, ctx.table, matched)
    total = len(deleted) if ctx.prefer.count else None
    content_range = _mutation_range(len(deleted), total, delete=True)
    return _write_answer(ctx, level, deleted, 200, content_range, rendered)
