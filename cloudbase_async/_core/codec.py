"""JSON in and out, decoded in one place for every service.

* :func:`dumps` encodes request bodies; a value JSON cannot carry (NaN, a set, ...) is
  the caller's :class:`~cloudbase_async.InvalidRequestError`, raised before sending.
* :func:`loads` decodes response bodies; invalid UTF-8, invalid JSON and nesting too deep
  for Python's parser all become one :class:`UnreadableBody` that the transport turns
  into :class:`~cloudbase_async.ResponseValidationError`.
* :func:`loads_lenient` reads error bodies, which may be anything: JSON, or the text.
* :func:`body_error` is the one rule for a 2xx body that is really an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .errors import APIError, InvalidRequestError, make_api_error

__all__ = ["UnreadableBody", "body_error", "dumps", "loads", "loads_lenient"]

#: How much of an unreadable body an error keeps, in characters.
MAX_KEPT_TEXT: Final = 64 * 1024


class UnreadableBody(ValueError):
    """A body that is not the JSON it should be; ``reason`` says why, without its text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON, the encoding of every JSON request body."""
    try:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
    except (TypeError, ValueError) as exc:
        # NaN/Infinity (JSON has no such numbers), sets, bytes, objects of unknown types.
        raise InvalidRequestError(f"The request body cannot be sent as JSON: {exc}") from exc
    except RecursionError:
        raise InvalidRequestError("The request body is nested too deeply for JSON.") from None


def loads(content: bytes) -> Any:
    """The JSON value of ``content`` (``None`` for an empty body), or :class:`UnreadableBody`."""
    if not content:
        return None
    try:
        # UTF-8, as JSON on the wire must be (json.loads would guess UTF-16/32 from bytes).
        return json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableBody("the body is not valid UTF-8") from None
    except ValueError as exc:
        raise UnreadableBody(f"the body is not valid JSON ({exc})") from None
    except RecursionError:
        raise UnreadableBody("the body's JSON is nested too deeply to decode") from None


def loads_lenient(content: bytes) -> object:
    """JSON if the body is JSON, else its text (lossy), for error bodies of any shape."""
    try:
        return loads(content)
    except UnreadableBody:
        return content[: MAX_KEPT_TEXT * 4].decode("utf-8", "replace")[:MAX_KEPT_TEXT]


def body_error(status_code: int, body: object, request_id: str | None) -> APIError | None:
    """The error carried by a 2xx JSON body, or ``None`` for a normal one.

    Auth, storage and the AI API (and gateways in front of them) sometimes answer 200
    with an error: an OAuth ``{"error": "..."}``, an OpenAI ``{"error": {...}}``, or a
    gateway ``{"code": "...", "message": ...}`` whose code is not ``"NORMAL"``. The
    official SDKs treat each as an error; so does every service here that can meet one.
    (Services whose 2xx bodies are the caller's own data, such as function results or
    database rows, never apply this rule.)
    """
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    code = body.get("code")
    if not (isinstance(error, str | Mapping) and error) and (not code or code == "NORMAL"):
        return None
    return make_api_error(status_code, body, request_id=request_id)
