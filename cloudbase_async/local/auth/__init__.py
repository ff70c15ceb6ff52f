"""The local auth service: :class:`AuthEngine` (no HTTP) and its ``/auth/v1`` routes."""

from ._custom_login import CustomLoginKey
from ._engine import AuthEngine, AuthError, AuthSettings, Channel, SentCode
from ._routes import routes

__all__ = [
    "AuthEngine",
    "AuthError",
    "AuthSettings",
    "Channel",
    "CustomLoginKey",
    "SentCode",
    "routes",
]
