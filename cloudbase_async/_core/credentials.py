"""Where the ``Authorization`` header comes from.

The transport asks a :class:`CredentialProvider` for a header value before each attempt
and tells it when the server rejected one. Static keys implement it here; the auth
service's session manager implements it with single-flight refresh.
"""

from __future__ import annotations

from typing import Literal, Protocol, TypeAlias, runtime_checkable

import attrs
import httpx

from .redact import redact

__all__ = [
    "CredentialKind",
    "CredentialProvider",
    "NoCredential",
    "RequestSigner",
    "StaticCredential",
]

CredentialKind: TypeAlias = Literal["api_key", "publishable_key", "access_token"]


@runtime_checkable
class CredentialProvider(Protocol):
    """Supplies the ``Authorization`` header for data-plane calls."""

    async def authorization(self) -> str | None:
        """The header value to send now (``"Bearer ..."``), or ``None`` to send none.

        May refresh an expired token first; concurrent callers must share that work.
        """
        ...

    async def rejected(self, authorization: str | None) -> bool:
        """The server refused ``authorization`` (401 / ``ACCESS_TOKEN_EXPIRED``).

        Return ``True`` when a different, fresh value is ready, so the transport retries
        the request once; ``False`` lets the error reach the caller.
        """
        ...


@runtime_checkable
class RequestSigner(Protocol):
    """Signs requests instead of (or besides) handing out a Bearer value.

    A credential that needs the whole request (a TC3 signature covers the method, URL,
    headers and body) implements this as well; the transport asks it on every attempt,
    after the request is complete, so each attempt carries a fresh signature.
    """

    async def signs(self, service: str | None) -> bool:
        """Whether calls to ``service`` are signed (else they carry ``authorization()``)."""
        ...

    def sign(self, request: httpx.Request) -> str:
        """The ``Authorization`` value for ``request`` exactly as it will be sent (it may
        first add a header the signature requires)."""
        ...


@attrs.frozen(repr=False)
class StaticCredential:
    """An API key, publishable key or access token that never changes."""

    kind: CredentialKind
    token: str

    async def authorization(self) -> str:
        return f"Bearer {self.token}"

    async def rejected(self, authorization: str | None) -> bool:
        return False

    def __repr__(self) -> str:
        return f"StaticCredential(kind={self.kind!r}, token={redact(self.token)})"


@attrs.frozen
class NoCredential:
    """No ``Authorization`` header at all (a gateway that needs none, or a local emulator)."""

    async def authorization(self) -> None:
        return None

    async def rejected(self, authorization: str | None) -> bool:
        return False
