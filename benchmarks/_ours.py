"""How the benchmarks call cloudbase_async: its public service API, in one place."""

from __future__ import annotations

from typing import Any

from cloudbase_async import CloudBase

INVOKE_PATH = "cb.functions.invoke()"
SELECT_PATH = "cb.rdb.table(...).select().eq().gte().like().execute()"


async def invoke(cb: CloudBase, name: str, data: Any) -> Any:
    """POST JSON to a cloud function and return the decoded result."""
    return await cb.functions.invoke(name, data)


async def select3(cb: CloudBase, table: str) -> Any:
    """``select=*`` with three filters (eq, gte, like) and return the rows."""
    result = await (
        cb.rdb.table(table)
        .select("*")
        .eq("level", 3)
        .gte("price", 10)
        .like("title", "course*")
        .execute()
    )
    return result.data
