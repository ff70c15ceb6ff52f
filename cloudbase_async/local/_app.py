"""The gateway as one ASGI app: every service's routes at the real paths, the admin API
under ``/_local``, and three pure-ASGI layers in front (request ids, faults, then TC3
signatures checked).

Each service module exposes ``routes(engine, identify) -> list[BaseRoute]`` with
absolute paths; a :class:`Mounted` pairs a service's engine with that function, and
:func:`build_app` composes whatever list it is given. Mounting another service is one
``Mounted(...)`` line where the handle builds its list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from . import _admin
from ._faults import Faults, FaultsMiddleware
from ._http import RequestIdMiddleware, gateway_error
from ._identity import Identify, Keys, TokenSigner
from ._tc3 import Tc3Gate

__all__ = ["Engine", "Mounted", "build_app"]


class Engine(Protocol):
    """What the handle needs from a stateful service's engine."""

    def reset(self) -> None: ...

    def close(self) -> None: ...


@attrs.frozen
class Mounted:
    """A service of the gateway: its engine (or registry) and its routes."""

    name: str
    engine: Any
    routes: Callable[[Any, Identify], list[BaseRoute]]


async def _no_cloud_metadata(request: Request) -> Response:
    # The js-sdk's Node build asks the cloud metadata service who it runs as before
    # most calls; "not on a cloud VM" is the answer that lets it go on.
    return Response(status_code=404)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return gateway_error(request, 404, "RESOURCE_NOT_FOUND", f"No API at {request.url.path}.")
    if status == 405:
        return gateway_error(
            request, 405, "INVALID_REQUEST", f"{request.method} is not allowed here."
        )
    return gateway_error(request, status, "SYS_ERR", "The local gateway failed.")


def build_app(
    services: Sequence[Mounted],
    *,
    identify: Identify,
    admin: _admin.AdminTarget,
    faults: Faults,
    keys: Keys,
    signer: TokenSigner,
    clock: Callable[[], float],
) -> ASGIApp:
    """The composed ASGI app."""
    routes: list[BaseRoute] = [
        *_admin.routes(admin, identify),
        Route("/latest/meta-data/{rest:path}", _no_cloud_metadata, methods=["GET"]),
    ]
    for service in services:
        routes.extend(service.routes(service.engine, identify))
    app = Starlette(
        routes=routes,
        exception_handlers={404: _http_error, 405: _http_error, 500: _http_error},
    )
    # Outermost first: the request id exists before a fault answers with it, and a fault
    # answers whatever the credential (as a broken gateway would).
    verified = Tc3Gate(app, keys, signer, clock=clock)
    return RequestIdMiddleware(FaultsMiddleware(verified, faults, exempt=_admin.PATHS))
