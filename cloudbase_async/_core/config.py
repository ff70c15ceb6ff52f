"""Client configuration: arguments, environment variables, regions and endpoint roots.

This is the only module that reads environment variables. Everything is resolved once,
when a client is built, into a frozen :class:`ClientConfig`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeAlias
from urllib.parse import urlsplit

import attrs
import httpx

from .credentials import CredentialKind, StaticCredential
from .errors import ConfigurationError
from .headers import bad_header, check_headers
from .redact import redact_url
from .retry import RetryPolicy
from .tc3 import Tc3Credentials

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_REFRESH_MARGIN",
    "DEFAULT_REFRESH_TIMEOUT",
    "DEFAULT_REGION",
    "DEFAULT_TIMEOUT",
    "SERVICES",
    "as_timeout",
    "ClientConfig",
    "Service",
    "gateway_url",
    "resolve_config",
    "resolve_credential",
]

Service: TypeAlias = Literal["auth", "rdb", "nosql", "functions", "cloudrun", "storage", "ai"]

#: Each service's root, relative to the gateway's base URL.
SERVICE_PATHS: Final[Mapping[Service, str]] = MappingProxyType(
    {
        "auth": "/auth/v1",
        "rdb": "/v1/rdb/rest",
        "nosql": "/v1/database",
        "functions": "/v1/functions",
        "cloudrun": "/v1/cloudrun",
        "storage": "/v1/storages",
        "ai": "/v1/ai",
    }
)
SERVICES: Final[tuple[Service, ...]] = tuple(SERVICE_PATHS)

DEFAULT_REGION: Final = "ap-shanghai"
#: Regions served by the mainland gateway host; every other region uses the intl host.
MAINLAND_REGIONS: Final = frozenset(
    {
        "ap-shanghai",
        "ap-guangzhou",
        "ap-beijing",
        "ap-nanjing",
        "ap-chengdu",
        "ap-chongqing",
        "ap-shenzhen-fsi",
        "ap-shanghai-fsi",
        "ap-hongkong",
    }
)

#: Short pool timeout, separate from read: waiting for a free connection is not the
#: same failure as a slow server. (Admission in front of the pool keeps it rarely hit.)
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0, pool=10.0)
DEFAULT_LIMITS: Final = httpx.Limits(
    max_connections=100, max_keepalive_connections=50, keepalive_expiry=30.0
)
#: Seconds before expiry at which a signed-in session's access token is refreshed.
DEFAULT_REFRESH_MARGIN: Final = 30.0
#: Seconds a token refresh may take in all (it is shielded from cancellation).
DEFAULT_REFRESH_TIMEOUT: Final = 15.0
#: The largest body a non-streamed call reads (after decompression), in bytes.
DEFAULT_MAX_RESPONSE_SIZE: Final = 64 * 1024 * 1024

# An env id is the first label of the gateway host name.
_ENV_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2,}-[a-z0-9-]+$")


def _redact_roots(roots: Mapping[Service, str]) -> str:
    return repr({service: redact_url(url) for service, url in roots.items()})


def _redact_headers(headers: Mapping[str, str]) -> str:
    return repr(sorted(headers))  # a header may carry a secret: names only


@attrs.frozen
class ClientConfig:
    """Everything a client family was configured with (secrets live in credentials)."""

    env: str
    region: str
    base_url: str = attrs.field(repr=redact_url)
    endpoints: Mapping[Service, str] = attrs.field(repr=_redact_roots)
    timeout: httpx.Timeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    headers: Mapping[str, str] = attrs.field(
        factory=lambda: MappingProxyType({}), repr=_redact_headers
    )
    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE

    def root(self, service: Service) -> str:
        """The URL every path of ``service`` is relative to (no trailing slash)."""
        return self.endpoints[service]


def gateway_url(env: str, region: str = DEFAULT_REGION) -> str:
    """The HTTP API gateway's base URL for an environment in a region."""
    if region in MAINLAND_REGIONS:
        return f"https://{env}.api.tcloudbasegateway.com"
    return f"https://{env}.api.intl.tcloudbasegateway.com"


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{what} must be an absolute http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{what} must not carry a query or fragment, got {url!r}")
    return url.rstrip("/")


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """Seconds (or ``None`` for the default) as an ``httpx.Timeout``."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds: {timeout!r}")
    # A bare number bounds connect/read/write; the pool wait stays short on purpose.
    return httpx.Timeout(timeout, pool=min(float(timeout), DEFAULT_TIMEOUT.pool or timeout))


def resolve_config(
    *,
    env: str | None,
    region: str | None,
    base_url: str | None,
    endpoints: Mapping[str, str] | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int | None,
    headers: Mapping[str, str] | None,
    retry: RetryPolicy | None = None,
    max_response_size: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Merge arguments with ``CLOUDBASE_*`` environment variables; arguments win.

    Values read from the environment lose surrounding whitespace (a trailing newline is
    what a secret mounted from a file usually brings along).
    """
    environ = _stripped(os.environ if environ is None else environ)
    env = env if env is not None else environ.get("CLOUDBASE_ENV")
    if not env:
        raise ConfigurationError(
            "No CloudBase environment id: pass CloudBase(env='your-env-id') or set CLOUDBASE_ENV."
        )
    if not _ENV_ID.fullmatch(env):
        raise ConfigurationError(
            f"Invalid CloudBase environment id {env!r}: expected letters, digits and "
            "hyphens (for example 'cloud1-9gabc123'), as shown in the CloudBase console."
        )
    region = region or environ.get("CLOUDBASE_REGION") or DEFAULT_REGION
    if not _REGION.fullmatch(region):
        raise ConfigurationError(
            f"Invalid region {region!r}: expected a Tencent Cloud region such as "
            "'ap-shanghai' or 'ap-singapore'."
        )
    base = base_url or environ.get("CLOUDBASE_BASE_URL") or gateway_url(env, region)
    base = _check_url(base, "base_url")

    overrides = dict(endpoints or {})
    unknown = sorted(set(overrides) - set(SERVICES))
    if unknown:
        raise ConfigurationError(
            f"Unknown service in endpoints: {', '.join(unknown)}; "
            f"known services are {', '.join(SERVICES)}."
        )
    roots = {
        service: _check_url(overrides[service], f"endpoints[{service!r}]")
        if service in overrides
        else base + path
        for service, path in SERVICE_PATHS.items()
    }
    extra_headers = dict(headers or {})
    check_headers(extra_headers, configuring="headers")
    return ClientConfig(
        env=env,
        region=region,
        base_url=base,
        endpoints=MappingProxyType(roots),
        timeout=as_timeout(timeout),
        retry=resolve_retry(retry, max_retries),
        headers=MappingProxyType(extra_headers),
        max_response_size=check_max_response_size(max_response_size),
    )


def resolve_retry(retry: RetryPolicy | None, max_retries: int | None) -> RetryPolicy:
    """The retry policy from ``retry=`` or ``max_retries=`` (one of them, or neither)."""
    if retry is not None and max_retries is not None:
        raise ConfigurationError(
            "Pass max_retries= or retry=RetryPolicy(max_retries=...), not both."
        )
    if retry is not None:
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        return retry
    if max_retries is not None and (isinstance(max_retries, bool) or max_retries < 0):
        raise ConfigurationError(f"max_retries must be >= 0, got {max_retries!r}")
    return RetryPolicy(max_retries=2 if max_retries is None else max_retries)


def check_max_response_size(size: int | None) -> int:
    if size is None:
        return DEFAULT_MAX_RESPONSE_SIZE
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigurationError(f"max_response_size must be a positive number of bytes: {size!r}")
    return size


def _stripped(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value.strip()
        for name, value in environ.items()
        if name.startswith(("CLOUDBASE_", "TENCENTCLOUD_"))
    }


def resolve_credential(
    *,
    api_key: str | None,
    publishable_key: str | None,
    access_token: str | None,
    secret_id: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> StaticCredential | Tc3Credentials | None:
    """The one credential the client starts with, if any.

    At most one may be passed explicitly (a secret is ``secret_id`` with ``secret_key``,
    and a temporary one's ``session_token``). From the environment, in this order: an
    API key, a publishable key, a Tencent Cloud secret (``TENCENTCLOUD_SECRETID`` /
    ``TENCENTCLOUD_SECRETKEY`` / ``TENCENTCLOUD_SESSIONTOKEN``) — a server that has an
    API key means to act as the administrator through it.
    """
    keys: tuple[tuple[CredentialKind, str | None], ...] = (
        ("api_key", api_key),
        ("publishable_key", publishable_key),
        ("access_token", access_token),
    )
    given: list[str] = [kind for kind, value in keys if value is not None]
    if secret_id is not None or secret_key is not None or session_token is not None:
        given.append("secret_id/secret_key")
    if len(given) > 1:
        raise ConfigurationError(f"Pass only one credential; got {' and '.join(given)}.")
    if given == ["secret_id/secret_key"]:
        return _secret(secret_id, secret_key, session_token)
    for kind, value in keys:
        if value is not None:
            return StaticCredential(kind=kind, token=check_credential(value, kind))
    environ = _stripped(os.environ if environ is None else environ)
    from_env: tuple[tuple[CredentialKind, str], ...] = (
        ("api_key", "CLOUDBASE_API_KEY"),
        ("publishable_key", "CLOUDBASE_PUBLISHABLE_KEY"),
    )
    for kind, var in from_env:
        if environ.get(var):
            return StaticCredential(kind=kind, token=check_credential(environ[var], var))
    if environ.get("TENCENTCLOUD_SECRETID") or environ.get("TENCENTCLOUD_SECRETKEY"):
        return _secret(
            environ.get("TENCENTCLOUD_SECRETID"),
            environ.get("TENCENTCLOUD_SECRETKEY"),
            environ.get("TENCENTCLOUD_SESSIONTOKEN"),
        )
    return None


def _secret(
    secret_id: str | None, secret_key: str | None, session_token: str | None
) -> Tc3Credentials:
    if not secret_id or not secret_key:
        raise ConfigurationError(
            "A Tencent Cloud secret needs both secret_id and secret_key "
            "(TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY)."
        )
    return Tc3Credentials(secret_id, secret_key, session_token)


def check_credential(value: object, name: str) -> str:
    """``value`` if it can be sent as ``Authorization: Bearer <value>``; else a
    :class:`ConfigurationError` naming ``name`` (never quoting the value)."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, not {type(value).__name__}.")
    if not value.strip():
        raise ConfigurationError(f"{name} is empty.")
    if value != value.strip():
        raise ConfigurationError(
            f"{name} starts or ends with whitespace (often a newline from the file it was "
            "read from); strip it before passing it."
        )
    if bad_header("Authorization", value) is not None or any(c in value for c in " \t"):
        raise ConfigurationError(
            f"{name} contains characters a header cannot carry (spaces, control or "
            "non-ASCII characters); check that it is the whole key and nothing else."
        )
    return value
