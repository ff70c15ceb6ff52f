"""``/rpc/{name}``: the arguments of a call, and the answer made of its result.

The functions are Python callables registered on the engine, so there is no SQL
signature to read: a POST's JSON object is the arguments, a GET's parameters without an
operator are (as strings). A result that is a list of dicts is a set of rows: it is
loaded into a temporary table typed from its values (booleans, integers, floats, text;
anything else ``json``) and answered like a table read, so ``select``, filters,
``order``, ranges, counts and single-object answers behave as on a table. An empty
list is the empty set of rows (a set-returning function that found nothing): there is
no row to learn its columns from, so ``select``, filters and ``order`` are not checked
and match nothing. Any other result is the JSON answer itself, as PostgREST answers a
function returning a value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import attrs

from ._catalog import Column, Table
from ._errors import RdbError, unsupported
from ._grammar import parse_query
from ._http import JSON, OBJECT, RdbRequest, RdbResponse
from ._pgtype import PgType
from ._query import QueryParams
from ._request import MediaType, body_is_json
from ._types import BoolType, FloatType, IntType, JsonType, TextType

__all__ = ["RpcCall", "missing_function", "result_table", "rpc_call", "value_answer"]

_INT32: Final = 2**31


@attrs.frozen
class RpcCall:
    """An rpc request resolved: the function, its arguments, the rest of the request."""

    name: str
    schema: str
    args: dict[str, Any]
    query: QueryParams
    request: RdbRequest

    @property
    def head(self) -> bool:
        return self.request.method.upper() == "HEAD"


def rpc_call(request: RdbRequest, schema: str, name: str) -> RpcCall:
    method = request.method.upper()
    if method not in ("GET", "HEAD", "POST"):
        raise unsupported(f"{method} on a function")
    query = parse_query(request.query, rpc_read=method != "POST")
    if method != "POST":
        return RpcCall(name, schema, dict(query.rpc_args), query, request)
    body_is_json(request.headers.get("content-type"))
    try:
        args = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        raise RdbError(400, "PGRST102", "Empty or invalid json") from None
    if not isinstance(args, dict):
        raise unsupported("rpc bodies other than a JSON object")
    return RpcCall(name, schema, args, query, request)


def missing_function(call: RpcCall) -> RdbError:
    """PostgREST's ``PGRST202``, worded for the arguments given."""
    names = sorted(call.args)
    qualified = f"{call.schema}.{call.name}"
    if names:
        message = f"Could not find the function {qualified}({', '.join(names)}) in the schema cache"
        searched = f"with parameter{'s' if len(names) > 1 else ''} {', '.join(names)}"
    else:
        message = f"Could not find the function {qualified} without parameters in the schema cache"
        searched = "without parameters"
    if call.request.method.upper() == "POST":
        searched += " or with a single unnamed json/jsonb parameter"
    details = (
        f"Searched for the function {qualified} {searched}, but no matches were found in "
        "the schema cache."
    )
    return RdbError(404, "PGRST202", message, details=details)


def is_rows(result: Any) -> bool:
    return isinstance(result, list) and bool(result) and all(isinstance(r, dict) for r in result)


def value_answer(call: RpcCall, result: Any, media: MediaType) -> RdbResponse:
    """The answer for a function that returned a value (not rows)."""
    query = call.query
    if query.filters or query.logic or query.order or query.limits:
        raise unsupported("filters, order or limits on a function that returns a value")
    try:
        body = json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RdbError(
            500, "P0001", f"the function returned a value that is not JSON: {exc}"
        ) from None
    headers = (("content-range", "0-0/*"), ("content-type", JSON if media == "json" else OBJECT))
    return RdbResponse(200, headers, b"" if call.head else body.encode())


def _column_type(values: Sequence[Any]) -> PgType:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return BoolType()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return IntType(32 if all(-_INT32 <= v < _INT32 for v in present) else 64)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return FloatType(64)
    if all(isinstance(v, str) for v in present):
        return TextType()
    return JsonType(binary=False)


def _stored(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, JsonType):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(column.type, BoolType):
        return int(value)
    if isinstance(column.type, FloatType):
        return float(value)
    return value


def result_table(call: RpcCall, rows: list[dict[str, Any]]) -> tuple[Table, list[tuple[Any, ...]]]:
    """A table for the rows a function returned (columns in first-seen order) and the
    rows as it stores them."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    columns = tuple(Column(k, _column_type([row.get(k) for row in rows])) for k in keys)
    table = Table(call.schema, f"rpc:{call.name}", columns)
    stored = [tuple(_stored(c, row.get(c.name)) for c in columns) for row in rows]
    return table, stored
