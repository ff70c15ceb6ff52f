"""Cloud functions: invoke event functions and call HTTP ("web") functions.

``POST /v1/functions/{name}`` sends the event as the JSON body and answers with whatever
the function returned (JSON or text, no envelope). HTTP functions are reached at
``/v1/functions/{name}{path}?webfn=true`` with any method.

A function may have run even when its answer never arrived, so invocations are *not*
retried after the request may have reached the gateway (connection failures before
anything was sent are still retried by the transport). Pass ``retry_safe=True`` for a
function that is safe to run twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any

import attrs

from ._core.codec import UnreadableBody, dumps, loads
from ._core.errors import InvalidRequestError
from ._core.passthrough import body_content, check_method, check_name, encode_subpath
from ._core.responses import Response
from ._core.service import Service
from ._core.transport import Request
from ._core.types import UNSET, ParamValue, QueryParams, Timeout

__all__ = ["FunctionResult", "Functions", "decode_result", "validate_function_name"]


@attrs.frozen
class FunctionResult:
    """What an invocation returned.

    ``result`` is the decoded body: a JSON value for ``application/json`` (or ``+json``),
    a ``str`` for ``text/*``, ``None`` for an empty body and ``bytes`` for anything else.
    ``request_id`` is the gateway's id for the call (quote it to support).
    """

    result: Any
    request_id: str | None
    status_code: int = 200
    content_type: str | None = None
    retries_taken: int = 0


def validate_function_name(name: str) -> str:
    """Return ``name`` if the gateway accepts it, else raise :class:`InvalidRequestError`."""
    return check_name(name, "function")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


def _decode_text(content_type: str | None, content: bytes) -> str:
    """The body as text, in the charset the content type names (UTF-8 by default)."""
    charset = "utf-8"
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return content.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return content.decode("utf-8", "replace")


def decode_result(content_type: str | None, content: bytes, text: str | None = None) -> Any:
    """Decode a function's answer by its content type (see :class:`FunctionResult`).

    ``text`` is the body already decoded, if the caller has it; otherwise it is decoded
    only when the result is text. A body labelled JSON that is not valid JSON is
    returned as text rather than lost.
    """
    if not content:
        return None
    media = _media_type(content_type)
    if media == "application/json" or media.endswith("+json"):
        try:
            return loads(content)
        except UnreadableBody:
            pass
    elif media and not media.startswith("text/"):
        return content
    return _decode_text(content_type, content) if text is None else text


def _encode_event(data: object) -> bytes:
    return dumps({} if data is None else data)


def encode_web_path(path: str) -> str:
    """Percent-encode every segment of an HTTP function's sub-path, keeping the slashes.

    The path is taken literally (``%`` is encoded too, and so is every reserved
    character): see :func:`~cloudbase_async._core.passthrough.encode_subpath` for what is
    refused. The path must start with ``/`` (``"/"`` is the function itself).
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidRequestError(f"The path must start with '/', got {path!r}.")
    return encode_subpath(path, safe="")


def _query(params: QueryParams, *fixed: tuple[str, ParamValue]) -> list[tuple[str, ParamValue]]:
    """``fixed`` pairs first, then the caller's (any of theirs with a fixed key dropped)."""
    if params is None:
        return list(fixed)
    taken = {key for key, _ in fixed}
    pairs = params.items() if isinstance(params, Mapping) else params
    return [*fixed, *((key, value) for key, value in pairs if key not in taken)]


class Functions(Service):
    """``cb.functions``: cloud functions of the client's environment."""

    __slots__ = ()

    async def invoke(
        self,
        name: str,
        data: object = None,
        *,
        qualifier: str | None = None,
        timeout: Timeout = None,
        retry_safe: bool = False,
    ) -> Any:
        """Run the event function ``name`` with ``data`` and return what it returned.

        The result is decoded as :class:`FunctionResult` describes (JSON → a Python
        value, text → ``str``). For the request id, status and retries as well, use
        :meth:`invoke_with_response`; errors carry the request id themselves. The
        arguments are :meth:`invoke_with_response`'s.
        """
        result = await self.invoke_with_response(
            name, data, qualifier=qualifier, timeout=timeout, retry_safe=retry_safe
        )
        return result.result

    async def invoke_with_response(
        self,
        name: str,
        data: object = None,
        *,
        qualifier: str | None = None,
        timeout: Timeout = None,
        retry_safe: bool = False,
    ) -> FunctionResult:
        """Run the event function ``name`` with ``data`` (JSON; ``None`` sends ``{}``).

        :param qualifier: the version to run, sent as ``X-Qualifier`` (named by the API
            reference; unconfirmed, since no official SDK sends a version over the
            gateway); default: the gateway's traffic rules.
        :param timeout: seconds (or ``httpx.Timeout``) for this call.
        :param retry_safe: allow retries (5xx, 429, lost connections) after the request
            may have reached the function. Only for functions that are safe to run twice.
        :raises NotFoundError: ``FUNCTION_NOT_FOUND`` / ``FUNCTION_QUALIFIER_NOT_FOUND``.
        :raises ServerTimeoutError: ``FUNCTION_TIME_LIMIT_EXCEEDED``.
        """
        validate_function_name(name)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if qualifier is not None:
            if not qualifier or not qualifier.isprintable():
                raise InvalidRequestError(f"Invalid qualifier {qualifier!r}.")
            headers["X-Qualifier"] = qualifier
        response = await self._send(
            Request(
                "POST",
                "functions",
                f"/{name}",
                headers=headers,
                content=_encode_event(data),
                # Not safe by default: the function may have run before the failure.
                retry_safe=retry_safe,
                timeout=timeout,
            )
        )
        content_type = response.headers.get("content-type")
        return FunctionResult(
            result=decode_result(content_type, response.content),
            request_id=response.request_id,
            status_code=response.status_code,
            content_type=content_type,
            retries_taken=response.retries_taken,
        )

    async def request(
        self,
        name: str,
        method: str,
        path: str = "/",
        *,
        json: object = UNSET,
        content: bytes | str | AsyncIterable[bytes] | None = None,
        params: QueryParams = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
        retry_safe: bool = False,
    ) -> Response:
        """Call the HTTP function ``name``: ``{method} /v1/functions/{name}{path}?webfn=true``.

        ``path`` is taken literally and every segment is percent-encoded; query values
        in ``params`` are encoded too. Send a body with ``json=`` or ``content=`` (not
        both). Returns the :class:`~cloudbase_async.Response` (``status_code``,
        ``headers``, ``json()``, ``text``, ``content``, ``request_id``); a 4xx/5xx answer
        raises the mapped :class:`~cloudbase_async.APIError`. Nothing is retried after it
        may have reached the function unless ``retry_safe=True`` (even for GET).
        """
        validate_function_name(name)
        method = check_method(method)
        body = body_content(json, content)
        # "/" is the function itself: the gateway's documented URL has no trailing slash.
        suffix = encode_web_path(path)
        suffix = "" if suffix == "/" else suffix
        return await self._send(
            Request(
                method,
                "functions",
                f"/{name}{suffix}",
                params=_query(params, ("webfn", "true")),
                headers=headers or {},
                json=json,
                content=body,
                # An HTTP function runs on every request whatever its method.
                retry_safe=retry_safe,
                timeout=timeout,
            )
        )
