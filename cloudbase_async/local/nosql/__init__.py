"""The local gateway's document database: mongomock behind the real REST paths.

``NoSQLEngine`` holds the state (durable under its data directory) and knows no HTTP;
``routes(engine, identify)`` gives the Starlette routes that serve it at
``/v1/database/instances/{instance}/databases/{database}/...``.
"""

from ._commands import SUPPORTED as SUPPORTED_COMMANDS, run_command
from ._engine import DEFAULT, MAX_LIMIT, NoSQLEngine, Page, Scope, UpdateOutcome
from ._errors import STATUS, NoSQLError
from ._routes import routes

__all__ = [
    "DEFAULT",
    "MAX_LIMIT",
    "STATUS",
    "SUPPORTED_COMMANDS",
    "NoSQLEngine",
    "NoSQLError",
    "Page",
    "Scope",
    "UpdateOutcome",
    "routes",
    "run_command",
]
