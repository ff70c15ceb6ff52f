"""Local CloudBase: an embedded gateway that speaks the CloudBase HTTP API offline.

Install with the ``local`` extra. ``import cloudbase_async`` never imports this package,
and importing this package imports nothing until a name is used (the pytest plugin
lives inside it and must stay light for every test run).

::

    from cloudbase_async.local import LocalCloudBase

    local = LocalCloudBase()

    @local.function("echo")
    async def echo(event, context):
        return {"event": event, "uid": context.uid}

    async with local:                          # real HTTP on a free loopback port
        async with local.client() as cb:       # a CloudBase client with the API key
            print(await cb.functions.invoke("echo", {"hi": 1}))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ._faults import Fault, FaultRequest, Faults
    from ._handle import CodeBook, LocalCloudBase
    from ._identity import Caller, CredentialError
    from .ai import Reply, ScriptedModel, ToolCall
    from .auth import SentCode
    from .functions import FunctionContext

__all__ = [
    "Caller",
    "CodeBook",
    "CredentialError",
    "Fault",
    "FaultRequest",
    "Faults",
    "FunctionContext",
    "LocalCloudBase",
    "Reply",
    "ScriptedModel",
    "SentCode",
    "ToolCall",
]

_HOMES: Final = {
    "Caller": "._identity",
    "CodeBook": "._handle",
    "CredentialError": "._identity",
    "Fault": "._faults",
    "FaultRequest": "._faults",
    "Faults": "._faults",
    "FunctionContext": ".functions",
    "LocalCloudBase": "._handle",
    "Reply": ".ai",
    "ScriptedModel": ".ai",
    "SentCode": ".auth",
    "ToolCall": ".ai",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value
