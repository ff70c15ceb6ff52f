"""Rules shared by the services that pass a caller's HTTP request through the gateway.

HTTP ("web") functions and CloudRun services both take a name, a method, a sub-path and
a body from the caller; these pure checks refuse what the gateway would reject or
misroute, before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable
from typing import Final

from .errors import InvalidRequestError
from .paths import subpath
from .types import UNSET

__all__ = ["NAME", "body_content", "check_method", "check_name", "encode_subpath"]

#: The gateway's rule for function and CloudRun service names.
NAME: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,58}[a-zA-Z0-9]$")
_METHOD: Final = re.compile(r"^[A-Za-z]+$")


def check_name(name: str, kind: str) -> str:
    """``name`` if the gateway accepts it as a ``kind`` name, else ``InvalidRequestError``."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidRequestError(
            f"Invalid {kind} name {name!r}: 2-60 characters, starting with a letter, "
            "then letters, digits, '_' or '-', ending with a letter or digit."
        )
    return name


def check_method(method: str) -> str:
    """The upper-cased HTTP method, or ``InvalidRequestError`` for anything else."""
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise InvalidRequestError(f"Invalid HTTP method {method!r}.")
    return method.upper()


def encode_subpath(path: str, *, safe: str) -> str:
    """The caller's decoded sub-path, percent-encoded (see :func:`~.paths.subpath`)."""
    return subpath(path, "the path", safe=safe)


def body_content(
    json: object, content: bytes | str | AsyncIterable[bytes] | None
) -> bytes | AsyncIterable[bytes] | None:
    """The raw body to send: ``content`` (text as UTF-8), refusing it alongside ``json``."""
    if json is not UNSET and content is not None:
        raise InvalidRequestError("Pass json= or content=, not both.")
    return content.encode() if isinstance(content, str) else content
