"""TC3-HMAC-SHA256 signatures for CloudBase gateway calls made with a Tencent Cloud secret.

This is the variant CloudBase's own server SDK uses on the gateway
(``@cloudbase/signature-nodejs`` with ``isCloudApi: true``), which differs from the
standard Tencent Cloud API signature in four places: the canonical URI is the real
request path, the raw query string is signed for every method, every header given is
signed, and the timestamp (and a temporary key's token) travel inside the
``Authorization`` value rather than in ``X-TC-*`` headers.

Everything here is a pure function of its inputs: the transport passes what it is about
to send (method, URL string, headers, body bytes) and a timestamp, and gets back the
``Authorization`` value. Each step is exposed on its own so tests can compare the
intermediate strings with the official signer's.

What this module does *not* copy from the official signer, on purpose:

* It hashes the body bytes that are sent. The official signer hashes
  ``JSON.stringify(body)``, which equals the bytes only for JSON bodies (a string body
  is hashed with quotes around it, a Buffer as ``{"type":"Buffer",...}``).
* It signs the URL string as given, which must be the encoded form that goes on the
  wire. Node's legacy ``url.parse`` (used by the official signer) rewrites some URLs
  before signing them: it keeps raw non-ASCII and escapes spaces, ``{``, ``|`` and the
  like (all refused here: httpx never sends them raw) and escapes ``'`` as ``%27``
  (signed here as sent, ``'``, since that is what the gateway receives from httpx).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final, TypeAlias
from urllib.parse import quote, urlsplit

import attrs
import httpx

from .errors import ConfigurationError, InvalidRequestError
from .redact import redact

__all__ = [
    "ALGORITHM",
    "HOP_BY_HOP_HEADERS",
    "SERVICE",
    "CanonicalRequest",
    "HeadersInput",
    "Tc3Credentials",
    "Tc3Signer",
    "authorization",
    "canonical_request",
    "credential_scope",
    "signable_headers",
    "signature",
    "signing_timestamp",
    "string_to_sign",
]

ALGORITHM: Final = "TC3-HMAC-SHA256"
#: The service name in the credential scope (the official signer's default; the
#: node-sdk passes none).
SERVICE: Final = "tcb"

#: Headers that describe one connection, not the request (RFC 9110 section 7.6.1). A
#: proxy or an HTTP/2 connection drops them, so the gateway never sees them: signing
#: one would make every such request fail verification.
HOP_BY_HOP_HEADERS: Final = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"}
)

HeadersInput: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]

# RFC 9110 token characters: what a header name (and a method) may be made of.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What may stand in a header value as sent: visible ASCII, space and tab. httpx encodes
# values as ASCII, and on ASCII JavaScript's trim() and toLowerCase() are str.strip(" \t")
# and str.lower() (no other whitespace can occur once CR, LF and controls are refused).
_FIELD_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")
# What may stand in a URL as sent (RFC 3986: unreserved, reserved and "%").
_URL_CHARS: Final = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
# Visible ASCII without "," or "/", which separate the fields of the Authorization value.
_CREDENTIAL_FIELD: Final = re.compile(r"[\x21-\x2b\x2d\x2e\x30-\x7e]+")

_MULTIPART: Final = "multipart/form-data"
_MAX_TIMESTAMP: Final = 253_402_300_799  # 9999-12-31T23:59:59Z: a four-digit year

# The official signer sorts header names with JavaScript's localeCompare, i.e. ICU's
# root collation (the same in en-US, de-DE, ...). After lower-casing and
# percent-encoding (below), a name can only contain these characters plus the
# upper-case hex digits of an escape, and for them ICU's order is this one, with case
# ignored (checked against Node in tests/test_tc3.py). Case never decides: an upper-case
# letter only occurs as a hex digit right after "%", so two names equal but for case
# are equal. On names made of [a-z0-9-], which is every header the SDK sends, this
# order *is* ASCII order ("-" < digits < letters in both), which is why a plain sort
# would do for them. It differs from ASCII for "_", ".", "%" and "~": ICU puts all four
# before the digits ("_" even before "-"), ASCII puts "%" before "-" and "_" and "~"
# after the digits.
_COLLATION: Final = {c: i for i, c in enumerate("_-.%~0123456789abcdefghijklmnopqrstuvwxyz")}


def _collation_key(name: str) -> tuple[int, ...]:
    return tuple(_COLLATION[c] for c in name.lower())


def _check_credential_field(value: object, what: str, *, printable: bool) -> None:
    # Messages name the field, never its value: these are secrets.
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} must be a non-empty string.")
    if value != value.strip():
        raise ConfigurationError(f"{what} has leading or trailing whitespace.")
    if printable and not _CREDENTIAL_FIELD.fullmatch(value):
        raise ConfigurationError(
            f"{what} may only contain visible ASCII characters other than ',' and '/'."
        )


def _empty_as_none(value: str | None) -> str | None:
    # An unset TENCENTCLOUD_SESSIONTOKEN is often set to "" (cloud functions do this);
    # the node-sdk treats "" as no token, and so do we.
    return value or None


@attrs.frozen(repr=False)
class Tc3Credentials:
    """A Tencent Cloud secret: a ``SecretId``/``SecretKey`` pair and, for a temporary
    key, its session token.

    An empty ``session_token`` is the same as none. Invalid values raise
    :class:`~cloudbase_async.ConfigurationError`, whose message never shows them.
    """

    secret_id: str
    secret_key: str
    session_token: str | None = attrs.field(default=None, converter=_empty_as_none)

    def __attrs_post_init__(self) -> None:
        _check_credential_field(self.secret_id, "secret_id", printable=True)
        _check_credential_field(self.secret_key, "secret_key", printable=False)
        if self.session_token is not None:
            _check_credential_field(self.session_token, "session_token", printable=True)

    def __repr__(self) -> str:
        return (
            f"Tc3Credentials(secret_id={self.secret_id!r}, "
            f"secret_key={redact(self.secret_key)}, "
            f"session_token={redact(self.session_token)})"
        )


@attrs.frozen
class CanonicalRequest:
    """The request as TC3 sees it: step 1 of the signature.

    ``headers`` holds the signed ``(name, value)`` pairs, canonicalised and in signing
    order; ``text`` is the string whose SHA-256 goes into the string to sign.
    """

    method: str
    uri: str
    query: str
    headers: tuple[tuple[str, str], ...]
    payload_hash: str

    @property
    def signed_headers(self) -> str:
        """The ``SignedHeaders`` field: the header names joined with ``;``."""
        return ";".join(name for name, _ in self.headers)

    @property
    def text(self) -> str:
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in self.headers)
        return "\n".join(
            (
                self.method,
                self.uri,
                self.query,
                canonical_headers,
                self.signed_headers,
                self.payload_hash,
            )
        )


def signing_timestamp(now: float | None = None) -> int:
    """The timestamp to sign with at ``now`` (default: the current time), in seconds.

    One second early, as the node-sdk does: a signature dated slightly in the past is
    still accepted by a gateway whose clock runs a little behind ours.
    """
    return math.floor(time.time() if now is None else now) - 1


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise InvalidRequestError("The TC3 timestamp must be an int (seconds since the epoch).")
    if not 0 < timestamp <= _MAX_TIMESTAMP:
        raise InvalidRequestError(f"The TC3 timestamp {timestamp} is out of range.")


def _date(timestamp: int) -> str:
    """The UTC date of ``timestamp`` (``YYYY-MM-DD``), as the credential scope has it."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def credential_scope(timestamp: int) -> str:
    """``<UTC date>/tcb/tc3_request`` for ``timestamp``."""
    _check_timestamp(timestamp)
    return f"{_date(timestamp)}/{SERVICE}/tc3_request"


def _split_url(url: str) -> tuple[str, str, str]:
    """``(host, path, query)`` of the URL string that is sent, each exactly as written
    (the host lower-cased, as Node's ``url.parse`` does)."""
    if not isinstance(url, str):
        raise InvalidRequestError("The URL to sign must be a string.")
    if not _URL_CHARS.fullmatch(url):
        raise InvalidRequestError(
            "The URL to sign must be in the percent-encoded form that is sent (no spaces, "
            "non-ASCII or other characters a URL cannot carry raw); pass str(httpx_request.url)."
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequestError("The URL to sign must be an absolute http(s) URL.")
    if "@" in parts.netloc:
        raise InvalidRequestError("The URL to sign must not carry user information.")
    # The fragment is never sent, so it is not signed.
    return parts.netloc.lower(), parts.path or "/", parts.query


def _header_pairs(headers: HeadersInput) -> Iterable[tuple[str, str]]:
    return headers.items() if isinstance(headers, Mapping) else headers


def _canonical_header(name: object, value: object) -> tuple[str, str]:
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise InvalidRequestError(f"Invalid header name {name!r}.")
    if not isinstance(value, str) or not _FIELD_VALUE.fullmatch(value):
        # The value is not shown: it may be a credential.
        raise InvalidRequestError(
            f"The value of header {name!r} must be a string of visible ASCII, spaces and tabs."
        )
    # The official signer percent-encodes names (a no-op for [a-z0-9-]); quote() with no
    # safe characters escapes exactly what it does (all but letters, digits and "-_.~").
    canonical = quote(name.lower(), safe="")
    if canonical != "content-type":
        return canonical, value.strip(" \t").lower()
    # Content-Type is signed verbatim (neither trimmed nor lower-cased), and a multipart
    # one without its boundary (the prefix test is case-sensitive, as the official one).
    if value != value.strip(" \t"):
        # The server sees the value without that whitespace; the signature could not match.
        raise InvalidRequestError("The Content-Type header has leading or trailing whitespace.")
    return canonical, _MULTIPART if value.startswith(_MULTIPART) else value


def _canonical_headers(headers: HeadersInput, host: str) -> tuple[tuple[str, str], ...]:
    canonical: dict[str, str] = {}
    for name, value in _header_pairs(headers):
        key, text = _canonical_header(name, value)
        if key == "authorization":
            raise InvalidRequestError(
                "The headers to sign must not contain Authorization: it is what signing makes."
            )
        if key in canonical:
            raise InvalidRequestError(f"Header {name!r} is given twice; join the values first.")
        canonical[key] = text
    # The official signer's preconditions: the server checks both, so a request without
    # them could never verify.
    if canonical.get("host") != host:
        raise InvalidRequestError(
            "The headers to sign need a Host header equal to the URL's host (with its port)."
        )
    if not canonical.get("content-type"):
        raise InvalidRequestError("The headers to sign need a non-empty Content-Type header.")
    return tuple(sorted(canonical.items(), key=lambda item: _collation_key(item[0])))


def canonical_request(
    method: str, url: str, headers: HeadersInput, body: bytes
) -> CanonicalRequest:
    """Step 1: the canonical request for what is about to be sent.

    :param method: the method as sent (upper case, as httpx sends it).
    :param url: the absolute URL string as sent (``str(httpx_request.url)``): its path is
        the canonical URI and its raw query the canonical query, neither re-encoded.
    :param headers: every header to sign, ``Host`` and ``Content-Type`` included,
        ``Authorization`` not (see :func:`signable_headers`).
    :param body: the exact body bytes (``b""`` for none); a streamed body cannot be
        signed up front.
    :raises InvalidRequestError: when any of these cannot be signed as given.
    """
    if not isinstance(method, str) or not _TOKEN.fullmatch(method) or method != method.upper():
        raise InvalidRequestError(
            f"Invalid method {method!r} to sign: pass it as sent, in upper case."
        )
    if not isinstance(body, bytes):
        raise InvalidRequestError(
            "TC3 signs the body's bytes before it is sent: pass bytes (a streamed body "
            "cannot be signed; read it into memory first)."
        )
    host, uri, query = _split_url(url)
    return CanonicalRequest(
        method=method,
        uri=uri,
        query=query,
        headers=_canonical_headers(headers, host),
        payload_hash=hashlib.sha256(body).hexdigest(),
    )


def string_to_sign(canonical: CanonicalRequest, timestamp: int) -> str:
    """Step 2: ``TC3-HMAC-SHA256\\n<timestamp>\\n<scope>\\n<sha256 of the canonical request>``."""
    digest = hashlib.sha256(canonical.text.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{credential_scope(timestamp)}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signature(secret_key: str, timestamp: int, to_sign: str) -> str:
    """Step 3: the hex signature of ``to_sign`` with the key derived for that day."""
    _check_timestamp(timestamp)
    derived = _hmac(("TC3" + secret_key).encode(), _date(timestamp))
    for part in (SERVICE, "tc3_request"):
        derived = _hmac(derived, part)
    return hmac.new(derived, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(
    method: str,
    url: str,
    headers: HeadersInput,
    body: bytes,
    *,
    credentials: Tc3Credentials,
    timestamp: int,
) -> str:
    """The ``Authorization`` value for a request, signed at ``timestamp``.

    ``TC3-HMAC-SHA256 Credential=<SecretId>/<date>/tcb/tc3_request,
    SignedHeaders=<names>, Signature=<hex>, Timestamp=<timestamp>`` and, with a session
    token, ``, Token=<token>``. The arguments are those of :func:`canonical_request`;
    sign each attempt anew with a fresh :func:`signing_timestamp`.
    """
    canonical = canonical_request(method, url, headers, body)
    signed = signature(credentials.secret_key, timestamp, string_to_sign(canonical, timestamp))
    value = (
        f"{ALGORITHM} Credential={credentials.secret_id}/{credential_scope(timestamp)}, "
        f"SignedHeaders={canonical.signed_headers}, Signature={signed}, Timestamp={timestamp}"
    )
    if credentials.session_token is not None:
        value += f", Token={credentials.session_token}"
    return value


def signable_headers(headers: HeadersInput) -> list[tuple[str, str]]:
    """The headers of a request to pass to :func:`authorization`: all but
    ``Authorization`` and the hop-by-hop ones (:data:`HOP_BY_HOP_HEADERS`)."""
    skip = HOP_BY_HOP_HEADERS | {"authorization"}
    return [(name, value) for name, value in _header_pairs(headers) if name.lower() not in skip]


@attrs.frozen
class Tc3Signer:
    """Signs every attempt of calls to ``services`` with a Tencent Cloud secret.

    A :class:`~cloudbase_async.CredentialProvider` that hands out no Bearer value, and a
    :class:`~cloudbase_async._core.credentials.RequestSigner` that signs the complete
    request with a fresh timestamp each time. A streamed body cannot be hashed before
    it is sent, so it is refused with :class:`~cloudbase_async.InvalidRequestError`.
    """

    credentials: Tc3Credentials
    services: frozenset[str]

    async def authorization(self) -> None:
        return None

    async def rejected(self, authorization: str | None) -> bool:
        return False  # a signature refused once is refused again

    async def signs(self, service: str | None) -> bool:
        return service in self.services

    def sign(self, request: httpx.Request) -> str:
        """The signature of ``request``, adding the ``Content-Type`` it needs when it has
        none (``application/json``, as the official server SDK's callers send)."""
        request.headers.setdefault("Content-Type", "application/json")
        if not isinstance(request.stream, httpx.ByteStream):
            raise InvalidRequestError(
                "A streamed request body cannot be signed with TC3 (the signature covers "
                "the body's hash, known only once it is sent): pass the body as bytes where "
                "the call takes them, or use an API key or access token (uploads to "
                "PostgreSQL-mode storage always stream)."
            )
        return authorization(
            request.method,
            str(request.url),
            signable_headers(request.headers.multi_items()),
            request.content,
            credentials=self.credentials,
            timestamp=signing_timestamp(),
        )
