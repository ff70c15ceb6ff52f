"""Who is calling: the one identity every local service resolves a request to.

The gateway knows three kinds of caller, as the real one does: the administrator (the
API key; ``service_role`` in the relational database), the anonymous role (the
publishable key; ``anon``) and a user (an access token the gateway issued;
``authenticated``). Services receive a :class:`Caller` and never parse credentials
themselves.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import attrs

__all__ = ["Caller", "CredentialError", "Role"]

Role: TypeAlias = Literal["admin", "anon", "user"]

_RDB_ROLES: Final[dict[Role, str]] = {
    "admin": "service_role",
    "anon": "anon",
    "user": "authenticated",
}


@attrs.frozen
class Caller:
    """The identity behind one request.

    ``uid`` is the user's id for ``role == "user"`` (``None`` otherwise);
    ``anonymous`` marks a user who signed in anonymously (still a user, with a uid).
    """

    role: Role
    uid: str | None = None
    anonymous: bool = False

    @property
    def rdb_role(self) -> str:
        """The PostgreSQL role this caller acts as in the relational database."""
        return _RDB_ROLES[self.role]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class CredentialError(Exception):
    """The request's credential is missing, malformed, expired or unknown.

    Each service answers it in its own error shape with ``status`` (401) and ``code``
    (a gateway code such as ``INVALID_ACCESS_TOKEN`` or ``ACCESS_TOKEN_EXPIRED``).
    """

    def __init__(self, code: str, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
