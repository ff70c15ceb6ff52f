"""``/_local/...``: the emulator's own admin API (never under a real CloudBase path).

Everything the Python handle can do for a test, over HTTP for other languages and for
the server mode: reset the state, read the codes that were "sent", manage fault rules,
mint custom sign-in tickets or fetch the custom-login key that signs them (for a backend
that mints its own). Every call needs the gateway's API key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import anyio.to_thread
import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..auth import TicketCredentials
from ._faults import Fault, Faults
from ._http import gateway_error, read_json
from ._identity import CredentialError, Identify
from .auth import SentCode
from .auth._custom_login import key_file_json

__all__ = ["PATHS", "AdminTarget", "routes"]

#: The admin API's paths (other ``/_local/...`` paths belong to services: storage's
#: signed URLs).
PATHS: Final = (
    "/_local/reset",
    "/_local/codes",
    "/_local/faults",
    "/_local/custom-tickets",
    "/_local/custom-login-key",
    "/_local/info",
)


class AdminTarget(Protocol):
    """What the admin API acts on (the :class:`~cloudbase_async.local.LocalCloudBase`)."""

    @property
    def faults(self) -> Faults: ...

    def reset(self) -> None: ...

    def sent_codes(self) -> list[SentCode]: ...

    @property
    def custom_login_key(self) -> TicketCredentials: ...

    def custom_ticket(self, uid: str) -> str: ...

    def info(self) -> dict[str, Any]: ...


_FAULT_FIELDS = frozenset(a.name for a in attrs.fields(Fault)) - {"when"}


def routes(target: AdminTarget, identify: Identify) -> list[BaseRoute]:
    def admin(
        handler: Callable[[Request], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                caller = identify(request.headers.get("authorization"))
            except CredentialError as exc:
                return gateway_error(request, exc.status, exc.code, exc.message)
            if not caller.is_admin:
                return gateway_error(
                    request, 403, "PERMISSION_DENIED", "The admin API needs the API key."
                )
            try:
                result = await handler(request)
            except (ValueError, TypeError) as exc:
                return gateway_error(request, 400, "INVALID_PARAM", str(exc))
            return (
                result
                if isinstance(result, Response)
                else JSONResponse({} if result is None else result)
            )

        return endpoint

    @admin
    async def reset(request: Request) -> Any:
        await anyio.to_thread.run_sync(target.reset)

    @admin
    async def codes(request: Request) -> Any:
        to = request.query_params.get("to")
        found = [attrs.asdict(c) for c in target.sent_codes() if to is None or c.to == to]
        return {"codes": found}

    @admin
    async def faults(request: Request) -> Any:
        if request.method == "GET":
            return {"faults": target.faults.list()}
        if request.method == "DELETE":
            target.faults.clear()
            return None
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("match"), str):
            raise TypeError('Send {"match": ""POST /v1/functions/*", "status": 503, ...}.')
        unknown = sorted(set(body) - _FAULT_FIELDS)
        if unknown:
            raise ValueError(f"Unknown fault fields: {', '.join(unknown)}.")
        return {"id": target.faults.add_fault(Fault(**body))}

    @admin
    async def fault(request: Request) -> Any:
        if not target.faults.remove(int(request.path_params["id"])):
            return gateway_error(request, 404, "RESOURCE_NOT_FOUND", "No such fault rule.")
        return None

    @admin
    async def tickets(request: Request) -> Any:
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) != {"uid"} or not isinstance(body["uid"], str):
            # No lifetime: a ticket is valid for 10 minutes, as the node-sdk mints it.
            raise TypeError('Send {"uid": "your-user-id"}.')
        ticket = await anyio.to_thread.run_sync(target.custom_ticket, body["uid"])
        return {"ticket": ticket}

    @admin
    async def custom_login_key(request: Request) -> Any:
        credentials = await anyio.to_thread.run_sync(lambda: target.custom_login_key)
        return Response(key_file_json(credentials), media_type="application/json")

    @admin
    async def info(request: Request) -> Any:
        return target.info()

    return [
        Route("/_local/reset", reset, methods=["POST"]),
        Route("/_local/codes", codes, methods=["GET"]),
        Route("/_local/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_local/faults/{id:int}", fault, methods=["DELETE"]),
        Route("/_local/custom-tickets", tickets, methods=["POST"]),
        Route("/_local/custom-login-key", custom_login_key, methods=["GET"]),
        Route("/_local/info", info, methods=["GET"]),
    ]
