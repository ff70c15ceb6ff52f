"""Errors of the object store itself (COS, or any S3-style store behind a signed URL).

Bytes go straight to the object store, which answers errors in XML
(``<Error><Code>SignatureDoesNotMatch</Code><Message>…</Message>…``), a shape the
gateway's error mapping does not read. :func:`object_store_error` re-reads such a body
so that its code and message reach the caller, mapped onto the same hierarchy.
"""

from __future__ import annotations

import re
from typing import Final

from .._core.errors import APIError, make_api_error

__all__ = ["object_store_error", "parse_object_store_error"]

# A regular expression, not an XML parser: the three fields are flat text, and an error
# body from a hostile server must not get the chance to expand entities.
_XML_FIELD: Final = re.compile(r"<(Code|Message|RequestId)>([^<]*)</\1>")
_NAMES: Final = {"Code": "code", "Message": "message", "RequestId": "requestId"}
#: Only the start of a body is searched (the fields come first).
_SEARCHED: Final = 65536


def parse_object_store_error(text: str) -> dict[str, str]:
    """The ``Code``/``Message``/``RequestId`` of a COS or S3 XML error body, if any."""
    found = {name: value.strip() for name, value in _XML_FIELD.findall(text[:_SEARCHED])}
    return {_NAMES[name]: value for name, value in found.items() if value}


def object_store_error(exc: APIError, what: str) -> APIError:
    """``exc`` re-read from the store's XML (``what: message``), or ``exc`` itself when
    its body is not such XML (a redirect, a JSON error, an empty body)."""
    if not isinstance(exc.body, str):
        return exc
    fields = parse_object_store_error(exc.body)
    if "code" not in fields:
        return exc
    message = fields.get("message") or fields["code"]
    error = make_api_error(
        exc.status_code,
        {**fields, "message": f"{what}: {message}"},
        request_id=exc.request_id,
        retry_after=exc.retry_after,
    )
    error.body = exc.body
    return error
