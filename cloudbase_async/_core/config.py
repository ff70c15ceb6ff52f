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
from .retry import RetryPolicy

__all__ = [
    "DEFAULT_LIMITS",
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

# An env id is the first label of the gateway host name.
_ENV_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2,}-[a-z0-9-]+$")


@attrs.frozen
class ClientConfig:
    """Everything a client family was configured with (secrets live in credentials)."""

    env: str
    region: str
    base_url: str
    endpoints: Mapping[Service, str]
    timeout: httpx.Timeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    headers: Mapping[str, str] = attrs.field(factory=lambda: MappingProxyType({}))

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
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return DEFAULT_TIMEOUT
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
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Merge arguments with ``CLOUDBASE_*`` environment variables; arguments win."""
    environ = os.environ if environ is None else environ
    env = env if env is not None else environ.get("CLOUDBASE_ENV")
    if not env:
        raise ConfigurationError(
            "No CloudBase environment id: pass CloudBase(env='your-env-id') or set CLOUDBASE_ENV."
        )
    if not _ENV_ID.match(env):
        raise ConfigurationError(
            f"Invalid CloudBase environment id {env!r}: expected letters, digits and "
            "hyphens (for example 'cloud1-9gabc123'), as shown in the CloudBase console."
        )
    region = region or environ.get("CLOUDBASE_REGION") or DEFAULT_REGION
    if not _REGION.match(region):
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
    if max_retries is not None and max_retries < 0:
        raise ConfigurationError(f"max_retries must be >= 0, got {max_retries}")
    return ClientConfig(
        env=env,
        region=region,
        base_url=base,
        endpoints=MappingProxyType(roots),
        timeout=as_timeout(timeout),
        retry=RetryPolicy(max_retries=2 if max_retries is None else max_retries),
        headers=MappingProxyType(dict(headers or {})),
    )


def resolve_credential(
    *,
    api_key: str | None,
    publishable_key: str | None,
    access_token: str | None,
    environ: Mapping[str, str] | None = None,
) -> StaticCredential | None:
    """The one static credential the client starts with, if any.

    At most one may be passed explicitly. From the environment, an API key wins over a
    publishable key (a server that has both means to act as administrator).
    """
    explicit: tuple[tuple[CredentialKind, str | None], ...] = (
        ("api_key", api_key),
        ("publishable_key", publishable_key),
        ("access_token", access_token),
    )
    given = [(kind, value) for kind, value in explicit if value is not None]
    if len(given) > 1:
        names = " and ".join(kind for kind, _ in given)
        raise ConfigurationError(f"Pass only one credential; got {names}.")
    if not given:
        environ = os.environ if environ is None else environ
        from_env: tuple[tuple[CredentialKind, str], ...] = (
            ("api_key", "CLOUDBASE_API_KEY"),
            ("publishable_key", "CLOUDBASE_PUBLISHABLE_KEY"),
        )
        given = [(kind, environ[var]) for kind, var in from_env if environ.get(var)][:1]
    if not given:
        return None
    kind, value = given[0]
    if not value.strip():
        raise ConfigurationError(f"{kind} is empty.")
    return StaticCredential(kind=kind, token=value)
