"""The local gateway's storage: classic (COS-style) storage and PG-mode storage.

``StorageEngine`` keeps bytes and metadata under its data directory and knows no
HTTP; ``routes(engine, identify)`` serves it at ``/v1/storages/...`` (both flavours)
and at ``/_local/storage/...`` (the byte URLs the classic flow hands out).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from ._classic import ClassicStorage
from ._engine import StorageEngine
from ._errors import CosError, GatewayError, SupabaseError
from ._http import Identify
from ._pg import MAX_REMOVE, MAX_SIGN, PgStorage, Upload
from ._routes_classic import classic_routes
from ._routes_pg import pg_routes

__all__ = [
    "MAX_REMOVE",
    "MAX_SIGN",
    "ClassicStorage",
    "CosError",
    "GatewayError",
    "PgStorage",
    "StorageEngine",
    "SupabaseError",
    "Upload",
    "routes",
]


def routes(engine: StorageEngine, identify: Identify) -> list[BaseRoute]:
    """Every storage route, at the real gateway's absolute paths."""
    return [*classic_routes(engine, identify), *pg_routes(engine, identify)]
