"""Auth v2: sign-in flows, sessions kept fresh under concurrency, stores and events."""

from .._core.errors import SessionStoreError
from ._events import AuthStateCallback, Subscription
from ._file import FileStore
from ._lease import SharedSessionStore, StoreState
from ._models import (
    AuthEvent,
    CaptchaChallenge,
    CaptchaToken,
    Provider,
    Session,
    SudoToken,
    TokenInfo,
    User,
    UserGroup,
    UserProvider,
    Verification,
    VerificationTarget,
    VerificationToken,
)
from ._otp import OtpSignIn
from ._phone import normalize_phone_number
from ._redis import RedisStore
from ._service import Auth
from ._session import DEFAULT_REFRESH_MARGIN, SessionManager
from ._store import MemoryStore, SessionStore
from ._ticket import TicketCredentials, create_ticket

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "Auth",
    "AuthEvent",
    "AuthStateCallback",
    "CaptchaChallenge",
    "CaptchaToken",
    "FileStore",
    "MemoryStore",
    "OtpSignIn",
    "Provider",
    "RedisStore",
    "Session",
    "SessionManager",
    "SessionStore",
    "SessionStoreError",
    "SharedSessionStore",
    "StoreState",
    "Subscription",
    "SudoToken",
    "TicketCredentials",
    "TokenInfo",
    "User",
    "UserGroup",
    "UserProvider",
    "Verification",
    "VerificationTarget",
    "VerificationToken",
    "create_ticket",
    "normalize_phone_number",
]
