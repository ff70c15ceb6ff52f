"""The document database on the service skeleton: where its calls go, the transaction
they join, and the one place its answers are decoded.

Collections, databases and transactions are :class:`DocumentService` objects. A method
checks its arguments, describes the call with :meth:`DocumentService._request` (which
adds the transaction id, when in one), and reads the answer with
:meth:`~DocumentService._answer` into a model of :mod:`._models`.

Two things differ from other services, both in :meth:`DocumentService._json`:

* answers are EJSON, decoded here and nowhere else; what cannot be decoded is a
  :class:`~cloudbase_async.ResponseValidationError`;
* a 2xx body is never taken for an error because of a ``code`` or ``error`` key
  (:func:`~cloudbase_async._core.codec.body_error`): the bodies hold the caller's own
  documents, which may well have such fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import attrs

from .. import ejson
from .._core.codec import MAX_KEPT_TEXT, loads_lenient
from .._core.convert import structure_answer
from .._core.errors import InvalidRequestError, ResponseValidationError
from .._core.responses import Response
from .._core.service import Service, with_request_id
from .._core.transport import Request, Transport
from .._core.types import UNSET, ParamValue, Timeout
from ._models import NoSQLPaths

__all__ = ["DocumentService", "Scope", "TransactionState", "structured"]

T = TypeVar("T")

Params = list[tuple[str, ParamValue]]


class TransactionState:
    """The id of a transaction and whether calls may still join it (shared, mutable:
    every collection of the transaction sees it end)."""

    __slots__ = ("id", "status")

    def __init__(self, transaction_id: str) -> None:
        self.id = transaction_id
        self.status: Literal["active", "committed", "rolled back", "failed"] = "active"

    def check_active(self) -> None:
        if self.status != "active":
            raise InvalidRequestError(
                f"transaction {self.id} is {self.status}; start a new one for more calls"
            )

    def __repr__(self) -> str:
        return f"<TransactionState {self.id!r} {self.status}>"


@attrs.frozen
class Scope:
    """Where calls go and how their values are written, besides their own arguments."""

    base: str  # "/instances/(default)/databases/(default)", segments encoded
    mode: ejson.Mode = "strict"
    paths: NoSQLPaths = attrs.field(factory=NoSQLPaths)
    transaction: TransactionState | None = None

    def joined(self, transaction: TransactionState) -> Scope:
        """The same scope, with every call joining ``transaction``."""
        return attrs.evolve(self, transaction=transaction)


def structured(body: Any, response: Response, cls: type[T], what: str) -> T:
    """``body`` (decoded) as ``cls``, with the call's request id when ``cls`` has one;
    a :class:`~cloudbase_async.ResponseValidationError` when it does not fit."""
    return structure_answer(
        with_request_id(body, cls, response.request_id),
        cls,
        status_code=response.status_code,
        request_id=response.request_id,
        what=what,
    )


class DocumentService(Service):
    """What collections, databases and transactions share: a transport and a scope."""

    __slots__ = ("_scope",)

    def __init__(self, transport: Transport, scope: Scope) -> None:
        super().__init__(transport)
        self._scope = scope

    def _request(
        self,
        method: Literal["GET", "POST", "PATCH", "DELETE"],
        path: str,
        *,
        params: Params | None = None,
        json: Mapping[str, Any] | None = None,
        read: bool = False,
        timeout: Timeout = None,
    ) -> Request:
        """The call ``method path`` (relative to the scope's database), carrying the
        transaction id when in one: in the query string of GET and DELETE, in the body
        otherwise.

        Reads are safe to repeat, except inside a transaction: a conflict there (503)
        has aborted the transaction, and trying the read again cannot help.
        """
        tx = self._scope.transaction
        if tx is not None:
            tx.check_active()
            if method in ("GET", "DELETE"):
                params = [*(params or []), ("transactionId", tx.id)]
            else:
                json = {**(json or {}), "transactionId": tx.id}
        return Request(
            method,
            "nosql",
            self._scope.base + path,
            params=params,
            json=UNSET if json is None else json,
            retry_safe=read and tx is None,
            timeout=timeout,
        )

    async def _json(self, request: Request) -> tuple[Any, Response]:
        """Send ``request``; its body, JSON and then EJSON decoded (see the module)."""
        response = await self._send(request)
        body = response.json()
        try:
            return ejson.decode(body), response
        except ejson.EJSONDecodeError as exc:
            raise ResponseValidationError(
                f"The document database answered a body that is not valid EJSON: {exc}",
                status_code=response.status_code,
                request_id=response.request_id,
                body=loads_lenient(response.content[: MAX_KEPT_TEXT * 4]),
            ) from None

    async def _answer(self, request: Request, cls: type[T], what: str) -> T:
        """Send ``request``; its decoded answer as ``cls`` (see :func:`structured`)."""
        body, response = await self._json(request)
        return structured(body, response, cls, what)
