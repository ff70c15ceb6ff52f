"""What every service is: a transport, and one way to make a call.

A service method checks its arguments, *describes* the call as a
:class:`~cloudbase_async._core.transport.Request`, and hands it to one of three methods
here, which send it and decode the answer:

* :meth:`Service._send`: the whole :class:`~cloudbase_async.Response` (raw bodies,
  pass-through services);
* :meth:`Service._json`: the decoded JSON body, raising the error a 2xx body may carry;
* :meth:`Service._model`: that body structured into an attrs model by the one converter.

The decoding steps are also plain functions (:func:`decode_json`, :func:`decode_model`)
for the one caller that is not a service: the session manager's token calls.

A model with a ``request_id`` field gets the server's id for the call. Everything else
(retries, credentials, deadlines, error statuses) happens in the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from .codec import body_error
from .convert import structure_answer
from .errors import ResponseValidationError
from .responses import Response
from .transport import Request, Transport

__all__ = ["Service", "decode_json", "decode_model", "expect_mapping", "with_request_id"]

T = TypeVar("T")


class Service:
    """Base class of the services (``cb.functions``, ``cb.nosql``...)."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _send(self, request: Request) -> Response:
        """Send ``request``; the whole response (any 2xx), errors raised as mapped."""
        return await self._transport.send(request)

    async def _json(self, request: Request) -> tuple[Any, Response]:
        """Send ``request``; its decoded JSON body (and the response), see :func:`decode_json`."""
        response = await self._transport.send(request)
        return decode_json(response), response

    async def _model(self, request: Request, cls: type[T]) -> T:
        """Send ``request``; its body as ``cls``, see :func:`decode_model`."""
        return decode_model(await self._transport.send(request), cls)


def decode_json(response: Response) -> Any:
    """The decoded JSON body of a 2xx answer; a body that is really an error
    (``{"error": ...}``, a ``code`` other than ``NORMAL``) raises that error."""
    body = response.json()
    error = body_error(response.status_code, body, response.request_id)
    if error is not None:
        raise error
    return body


def decode_model(response: Response, cls: type[T]) -> T:
    """The body as ``cls``: :func:`decode_json`, then the one converter (a
    :class:`ResponseValidationError` when it does not fit)."""
    body = decode_json(response)
    return structure_answer(
        with_request_id(body, cls, response.request_id),
        cls,
        status_code=response.status_code,
        request_id=response.request_id,
    )


def with_request_id(body: Any, cls: type[Any], request_id: str | None) -> Any:
    """``body`` with the call's ``request_id`` added when ``cls`` declares one."""
    # attrs keeps a class's fields in a tuple whose items are also attributes by name.
    if isinstance(body, Mapping) and hasattr(getattr(cls, "__attrs_attrs__", ()), "request_id"):
        return {**body, "request_id": request_id}
    return body


def expect_mapping(body: Any, response: Response, what: str) -> Mapping[str, Any]:
    """``body`` if it is a JSON object, else a :class:`ResponseValidationError` saying
    the answer was not ``what``."""
    if not isinstance(body, Mapping):
        raise ResponseValidationError(
            f"Expected {what}, got {type(body).__name__}: {str(body)[:200]}",
            status_code=response.status_code,
            request_id=response.request_id,
            body=body,
        )
    return body
