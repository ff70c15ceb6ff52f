"""How the benchmarks call cloudbase_async: the public service API where it exists.

Services land one by one; until a service is there, its benchmark goes through the
transport (the layer every service is a thin shell over) and says so in its notes.
"""

from __future__ import annotations

from typing import Any

from cloudbase_async import CloudBase
from cloudbase_async._transport import Request

HAS_FUNCTIONS = hasattr(CloudBase, "functions")
HAS_RDB = hasattr(CloudBase, "rdb")
HAS_AI = hasattr(CloudBase, "ai")
HAS_AUTH = hasattr(CloudBase, "auth")
HAS_STORAGE = hasattr(CloudBase, "storage")

INVOKE_PATH = (
    "cb.functions.invoke()" if HAS_FUNCTIONS else "transport.send() (functions not merged yet)"
)
SELECT_PATH = "cb.rdb ... execute()" if HAS_RDB else "transport.send() (rdb not merged yet)"


async def invoke(cb: CloudBase, name: str, data: Any) -> Any:
    """POST JSON to a cloud function and decode the result."""
    if HAS_FUNCTIONS:
        result = await cb.functions.invoke(name, data)  # type: ignore[attr-defined]
        return result.result
    response = await cb._transport.send(Request("POST", "functions", f"/{name}", json=data))
    return response.json()


async def select3(cb: CloudBase, table: str) -> Any:
    """``select=*`` with three filters (eq, gte, like) and return the rows."""
    if HAS_RDB:
        result = await (
            cb.rdb.table(table)  # type: ignore[attr-defined]
            .select("*")
            .eq("level", 3)
            .gte("price", 10)
            .like("title", "course*")
            .execute()
        )
        return result.data
    params = [("select", "*"), ("level", "eq.3"), ("price", "gte.10"), ("title", "like.course*")]
    response = await cb._transport.send(
        Request("GET", "rdb", f"/{table}", params=params, retry_safe=True)
    )
    return response.json()
