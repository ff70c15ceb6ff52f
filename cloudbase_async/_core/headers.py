"""Header names and values, checked before anything is built or sent.

httpx and h11 refuse a header value with a newline or a non-ASCII character, but they
say so by quoting the value, and a credential read from a file or a Kubernetes secret
often ends in a newline: the whole key would land in the error text, the traceback and
httpcore's debug log. So every header is checked here first, and the error names the
header, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from .errors import ConfigurationError, InvalidRequestError

__all__ = ["bad_header", "check_headers"]

# RFC 9110 token characters.
_NAME: Final = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Visible ASCII, spaces and tabs inside; nothing that could end or split a header line.
_VALUE: Final = re.compile(r"^[\x20-\x7e\t]*$")


def bad_header(name: object, value: object) -> str | None:
    """Why ``name: value`` cannot be sent, or ``None`` when it can (the reason never
    contains the value)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"invalid header name {name!r}"
    if not isinstance(value, str):
        return f"the value of header {name!r} must be a string, not {type(value).__name__}"
    if not _VALUE.fullmatch(value):
        return (
            f"the value of header {name!r} contains a line break, a control character or "
            "a non-ASCII character"
        )
    if value != value.strip(" \t"):
        return f"the value of header {name!r} starts or ends with whitespace"
    return None


def check_headers(headers: Mapping[str, str], *, configuring: str | None = None) -> None:
    """Refuse headers that cannot be sent: :class:`InvalidRequestError` for a call's
    headers, :class:`ConfigurationError` naming the argument when ``configuring``."""
    for name, value in headers.items():
        reason = bad_header(name, value)
        if reason is not None:
            if configuring is not None:
                raise ConfigurationError(f"{configuring}: {reason}.")
            raise InvalidRequestError(f"Cannot send the request: {reason}.")
