"""What secrets look like in reprs, logs and messages: nothing of them.

Every repr, log line and error message that could show a token, a key, a signed URL or
a server's free text goes through these functions.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["loggable", "redact", "redact_url"]

# Query parameters whose values are secrets, in any service's URLs (matched lowercased).
_SECRET_PARAMS: Final = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "sudo_token",
        "captcha_token",
        "client_secret",
        "code",
        "code_verifier",
        "sign",
        "signature",
        "q-signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-cos-security-token",
    }
)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def redact(secret: str | None) -> str:
    """What a secret looks like in reprs and logs."""
    return "<none>" if not secret else "<redacted>"


def redact_url(url: str) -> str:
    """``url`` with secret query values and any userinfo (``user:pass@``) removed."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if not parts.query:
        return urlunsplit(parts._replace(netloc=netloc))
    pairs = [
        (k, "<redacted>" if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(pairs, safe="<>()*,.:")))


def loggable(text: object) -> str:
    """``text`` with control characters escaped, so a server's value (a code, a request
    id) can never start a forged line in a log."""
    value = "" if text is None else str(text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
