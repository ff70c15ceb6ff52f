"""Signatures: COS-style HMAC for the classic flow, HS256 JWTs for PG-mode URLs.

Every purpose signs with its own key, derived from the engine's secret
(``HMAC-SHA256(secret, purpose)``), so a signature made for one use (a download) is
worthless for another (an upload).

Classic upload (what COS checks, in our own format): the grant's ``authorization``
value reads ``q-sign-algorithm=hmac-sha256&q-ak=local&q-sign-time=<start>;<end>&
q-key-time=<start>;<end>&q-header-list=<names>&q-url-param-list=&q-signature=<hex>``,
where the signature covers the method, the object's path, the time window and the
*values* of the listed headers (``content-type`` and ``content-length`` when they were
signed, always ``x-cos-meta-fileid`` and ``x-cos-security-token``). A PUT whose headers
differ from what was signed fails like COS fails it: 403 ``SignatureDoesNotMatch``.

Classic download URLs carry ``?t=<expiry, unix seconds>&sign=<hex>`` over the path.
PG-mode tokens are JWTs: downloads ``{url: "bucket/name", iat, exp}``, uploads
``{url, upsert, iat, exp}`` (the claims supabase storage-api puts in them).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs
import jwt

__all__ = ["SignatureProblem", "Signer", "UploadGrant"]

_ALGORITHM: Final = "hmac-sha256"


class SignatureProblem(Exception):
    """Why a signed request is refused: ``code`` is COS's (``SignatureDoesNotMatch``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.frozen
class UploadGrant:
    """What a verified classic upload signature allows: its header names and values."""

    headers: Mapping[str, str]


def _hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class Signer:
    """Signs and checks with keys derived from ``secret`` (never shown in a repr)."""

    def __init__(self, secret: bytes, clock: Any = time.time) -> None:
        if not secret:
            raise ValueError("the storage secret must not be empty")
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return "<Signer>"

    def now(self) -> int:
        return int(self._clock())

    def _key(self, purpose: str) -> bytes:
        return hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest()

    # ------------------------------------------------------------- classic upload

    @staticmethod
    def _canonical(path: str, window: str, names: list[str], values: Mapping[str, str]) -> str:
        lines = ["put", path, window, ";".join(names)]
        lines += [f"{name}={values.get(name, '')}" for name in names]
        return "\n".join(lines)

    def upload_authorization(self, path: str, headers: Mapping[str, str], lifetime: int) -> str:
        """The ``authorization`` value allowing ``PUT path`` with exactly ``headers``."""
        start = self.now()
        window = f"{start};{start + lifetime}"
        names = sorted(name.lower() for name in headers)
        values = {name.lower(): value for name, value in headers.items()}
        signature = _hex(self._key("classic-upload"), self._canonical(path, window, names, values))
        return (
            f"q-sign-algorithm={_ALGORITHM}&q-ak=local&q-sign-time={window}&q-key-time={window}"
            f"&q-header-list={';'.join(names)}&q-url-param-list=&q-signature={signature}"
        )

    def check_upload(
        self, path: str, authorization: str | None, headers: Mapping[str, str]
    ) -> UploadGrant:
        """The grant ``authorization`` gives for ``PUT path`` with the request's ``headers``."""
        if not authorization:
            raise SignatureProblem("AccessDenied", "Access Denied: no Authorization header")
        fields = dict(parse_qsl(authorization, keep_blank_values=True))
        window = fields.get("q-sign-time", "")
        start, _, end = window.partition(";")
        if fields.get("q-sign-algorithm") != _ALGORITHM or not (start.isdigit() and end.isdigit()):
            raise SignatureProblem("AccessDenied", "Access Denied: malformed Authorization")
        if not int(start) <= self.now() <= int(end):
            raise SignatureProblem("AccessDenied", "Request has expired")
        names = [name for name in fields.get("q-header-list", "").split(";") if name]
        if not {"x-cos-meta-fileid", "x-cos-security-token"} <= set(names):
            raise SignatureProblem("AccessDenied", "Access Denied: required headers not signed")
        values = {name: headers.get(name, "") for name in names}
        expected = _hex(self._key("classic-upload"), self._canonical(path, window, names, values))
        if not hmac.compare_digest(expected, fields.get("q-signature", "")):
            raise SignatureProblem(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided."
                " Check your key and signing method.",
            )
        return UploadGrant(values)

    # ----------------------------------------------------------- classic download

    def download_query(self, path: str, lifetime: int) -> str:
        expires = self.now() + lifetime
        signature = _hex(self._key("classic-download"), f"get\n{path}\n{expires}")
        return f"t={expires}&sign={signature}"

    def check_download(self, path: str, expires: str | None, sign: str | None) -> None:
        if not expires or not sign or not expires.isdigit():
            raise SignatureProblem("AccessDenied", "Access Denied: the URL is not signed")
        expected = _hex(self._key("classic-download"), f"get\n{path}\n{expires}")
        if not hmac.compare_digest(expected, sign):
            raise SignatureProblem(
                "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if int(expires) < self.now():
            raise SignatureProblem("AccessDenied", "Request has expired")

    # ------------------------------------------------------------------ PG tokens

    def token(self, purpose: str, claims: Mapping[str, Any], lifetime: int) -> str:
        issued = self.now()
        payload = {**claims, "iat": issued, "exp": issued + lifetime}
        return jwt.encode(payload, self._key(f"pg-{purpose}"), algorithm="HS256")

    def check_token(self, purpose: str, token: str) -> dict[str, Any]:
        """The claims of a valid, unexpired token; :class:`SignatureProblem` otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(f"pg-{purpose}"),
                algorithms=["HS256"],
                # Expiry is checked below against our own clock (tests can move it).
                options={"require": ["exp", "url"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError as exc:
            raise SignatureProblem("InvalidJWT", f"invalid token: {exc}") from None
        if not isinstance(claims["exp"], int) or claims["exp"] < self.now():
            raise SignatureProblem("InvalidJWT", "jwt expired")
        return claims
