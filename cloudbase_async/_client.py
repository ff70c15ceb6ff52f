"""The public client: configuration, service attributes, copies and lifecycle."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

import attrs
import httpx

from ._core.config import (
    DEFAULT_LIMITS,
    DEFAULT_REFRESH_MARGIN,
    DEFAULT_REFRESH_TIMEOUT,
    ClientConfig,
    as_timeout,
    check_credential,
    check_max_response_size,
    resolve_config,
    resolve_credential,
    resolve_retry,
)
from ._core.credentials import CredentialProvider, NoCredential, StaticCredential
from ._core.default_transport import new_http_client
from ._core.errors import ConfigurationError
from ._core.headers import check_headers
from ._core.lifecycle import AsyncCloseable
from ._core.redact import redact_url
from ._core.retry import RetryPolicy
from ._core.tc3 import Tc3Credentials
from ._core.transport import Pool, Transport

if TYPE_CHECKING:
    from .ai import AI
    from .auth import Auth, SessionStore
    from .auth._session import SessionManager
    from .cloudrun import CloudRun
    from .functions import Functions
    from .nosql import NoSQL
    from .rdb import Rdb
    from .storage import Storage

__all__ = ["CloudBase"]


class CloudBase(AsyncCloseable):
    """An async client for one CloudBase environment.

    One client (and every copy made with :meth:`with_options` or
    :meth:`with_access_token`) shares one pooled ``httpx.AsyncClient``. Create it once
    (for example in your web framework's lifespan) and close it with ``aclose()`` or
    ``async with``.

    Arguments left out are read from ``CLOUDBASE_ENV``, ``CLOUDBASE_REGION``,
    ``CLOUDBASE_BASE_URL``, ``CLOUDBASE_API_KEY``, ``CLOUDBASE_PUBLISHABLE_KEY`` and
    ``TENCENTCLOUD_SECRETID`` / ``TENCENTCLOUD_SECRETKEY`` / ``TENCENTCLOUD_SESSIONTOKEN``.

    :param env: the environment id (``"cloud1-9gabc123"``).
    :param region: decides the gateway host (default ``"ap-shanghai"``; regions outside
        the mainland and Hong Kong use ``*.api.intl.tcloudbasegateway.com``).
    :param base_url: the gateway origin, replacing the one derived from env and region
        (a local emulator or a proxy).
    :param endpoints: per-service roots replacing ``{base_url}/...``, keyed by service
        name (``auth``, ``rdb``, ``nosql``, ``functions``, ``cloudrun``, ``storage``, ``ai``).
    :param api_key: server-side administrator key; or ``publishable_key`` (anonymous
        identity) or ``access_token`` (a user's token); or a Tencent Cloud secret,
        ``secret_id`` with ``secret_key`` (and a temporary key's ``session_token``),
        which signs calls with TC3-HMAC-SHA256 the way the official server SDK does.
        At most one.
    :param timeout: seconds, or an ``httpx.Timeout``; applies to every call unless a
        call passes its own.
    :param max_retries: retries for failures that are safe to repeat (default 2).
    :param retry: the whole retry policy (:class:`~cloudbase_async.RetryPolicy`: retries,
        backoff, the longest ``Retry-After`` waited for), instead of ``max_retries``.
    :param max_response_size: the largest body a non-streamed call reads, in bytes after
        decompression (default 64 MiB); a larger one raises
        :class:`~cloudbase_async.ResponseTooLargeError`.
    :param headers: extra headers sent with every call.
    :param limits: connection pool limits of the client this creates.
    :param max_concurrency: requests allowed inside the pool at once; more wait in line
        (default: ``limits.max_connections``).
    :param http_client: bring your own ``httpx.AsyncClient``; you then own its lifetime.
    :param transport: an ``httpx.AsyncBaseTransport`` for the client this creates
        (tests, proxies, custom TLS).
    :param client_id: the auth client id sent with sign-in and token calls (default:
        the environment id).
    :param client_secret: the auth client's secret, for HTTP Basic client
        authentication where the auth API takes it (anonymous sign-in) and in token
        refreshes.
    :param session_store: where the signed-in session and the device id are kept
        (default: in memory; ``cloudbase_async.auth.FileStore(path)`` survives restarts).
    :param refresh_margin: seconds before expiry at which an access token is refreshed
        (default 30).
    :param refresh_timeout: seconds a token refresh may take in all (default 15). A
        refresh is shielded from cancellation, so that a rotated refresh token is never
        lost; this bounds how long it can hold the call that started it.
    """

    _transport: Transport
    _owns_pool: bool
    _manager: SessionManager

    def __init__(
        self,
        env: str | None = None,
        *,
        region: str | None = None,
        base_url: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        api_key: str | None = None,
        publishable_key: str | None = None,
        access_token: str | None = None,
        secret_id: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_response_size: int | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits | None = None,
        max_concurrency: int | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        session_store: SessionStore | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        refresh_timeout: float = DEFAULT_REFRESH_TIMEOUT,
    ) -> None:
        config = resolve_config(
            env=env,
            region=region,
            base_url=base_url,
            endpoints=endpoints,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            retry=retry,
            max_response_size=max_response_size,
        )
        credential = resolve_credential(
            api_key=api_key,
            publishable_key=publishable_key,
            access_token=access_token,
            secret_id=secret_id,
            secret_key=secret_key,
            session_token=session_token,
        )
        if http_client is not None and (transport is not None or limits is not None):
            raise ConfigurationError(
                "Pass either http_client or transport/limits: a client you bring is "
                "configured by you."
            )
        if max_concurrency is not None and max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if refresh_margin < 0:
            raise ConfigurationError(f"refresh_margin must be >= 0, got {refresh_margin}")
        if not refresh_timeout > 0:
            raise ConfigurationError(f"refresh_timeout must be > 0, got {refresh_timeout}")
        if client_id is not None:
            check_credential(client_id, "client_id")
        if client_secret is not None:
            check_credential(client_secret, "client_secret")
        # Auth loads with the first client, not with the package: importing
        # cloudbase_async should cost little more than importing httpx.
        from .auth._client_credential import ClientCredential
        from .auth._session import SessionManager

        limits = limits or DEFAULT_LIMITS
        owned = http_client is None
        if http_client is None:
            # aiohttp's pool under asyncio when installed, else httpx's (or `transport`).
            http_client = new_http_client(
                limits=limits, timeout=config.timeout, transport=transport
            )
        pool = Pool(
            http_client,
            owned=owned,
            max_concurrency=max_concurrency or limits.max_connections,
        )
        # The family's identity: the static credential until a user signs in, then the
        # session. Token calls go through a credential-less transport on the same pool.
        plain = Transport(config, pool, NoCredential())
        fallback: CredentialProvider
        if isinstance(credential, Tc3Credentials):
            fallback = ClientCredential(plain, credential)
        else:
            fallback = credential or NoCredential()
        self._manager = SessionManager(
            plain,
            fallback=fallback,
            store=session_store,
            client_id=client_id or config.env,
            client_secret=client_secret,
            refresh_margin=refresh_margin,
            refresh_timeout=refresh_timeout,
        )
        signer = self._manager if isinstance(fallback, ClientCredential) else None
        self._transport = Transport(config, pool, self._manager, signer)
        self._owns_pool = True

    def _copy(self, transport: Transport) -> Self:
        """A client on the same pool that does not own it (closing it closes nothing)."""
        clone = object.__new__(type(self))
        clone._transport = transport
        clone._owns_pool = False
        clone._manager = self._manager
        return clone

    @property
    def config(self) -> ClientConfig:
        """The resolved configuration (no secrets in it)."""
        return self._transport.config

    @property
    def credentials(self) -> CredentialProvider:
        """Where this client's ``Authorization`` header comes from."""
        return self._transport.credentials

    @property
    def is_closed(self) -> bool:
        return self._transport.pool.closed

    # --- services: each imported and built on first use, on this client's transport --

    @functools.cached_property
    def auth(self) -> Auth:
        """Auth v2: sign-in flows, the session, the user's profile and security."""
        from .auth import Auth

        return Auth(self._transport, self._manager)

    @functools.cached_property
    def rdb(self) -> Rdb:
        """The relational database REST API (PostgREST dialect)."""
        from .rdb import Rdb

        return Rdb(self._transport)

    @functools.cached_property
    def nosql(self) -> NoSQL:
        """The document database: ``cb.nosql.collection("todos")``."""
        from .nosql import NoSQL

        return NoSQL(self._transport)

    @functools.cached_property
    def functions(self) -> Functions:
        """Cloud functions: ``await cb.functions.invoke("name", {...})``."""
        from .functions import Functions

        return Functions(self._transport)

    @functools.cached_property
    def cloudrun(self) -> CloudRun:
        """CloudRun services: ``cb.cloudrun.request(...)`` and ``.stream(...)``."""
        from .cloudrun import CloudRun

        return CloudRun(self._transport)

    @functools.cached_property
    def storage(self) -> Storage:
        """Cloud storage: upload, download, stream, temporary URLs, delete, copy."""
        from .storage import Storage

        return Storage(self._transport)

    @functools.cached_property
    def ai(self) -> AI:
        """The AI model API: ``cb.ai.chat.completions.create/stream``, raw paths."""
        from .ai import AI

        return AI(self._transport)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_response_size: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A copy with other defaults, sharing this client's pool and identity.

        ``headers`` are added to (and override) the current ones. Copies are cheap: make
        one per call for a per-call setting
        (``cb.with_options(max_response_size=512 << 20).functions.invoke(...)``).
        """
        config = self.config
        changes: dict[str, Any] = {}
        if timeout is not None:
            changes["timeout"] = as_timeout(timeout)
        if retry is not None:
            changes["retry"] = resolve_retry(retry, max_retries)
        elif max_retries is not None:
            resolve_retry(None, max_retries)  # validates
            changes["retry"] = attrs.evolve(config.retry, max_retries=max_retries)
        if max_response_size is not None:
            changes["max_response_size"] = check_max_response_size(max_response_size)
        if headers:
            check_headers(headers, configuring="headers")
            changes["headers"] = MappingProxyType({**config.headers, **headers})
        return self._copy(attrs.evolve(self._transport, config=attrs.evolve(config, **changes)))

    def with_access_token(self, access_token: str) -> Self:
        """A copy acting as the user who owns ``access_token``, sharing the pool.

        Meant for servers calling CloudBase on behalf of each request's user. The token
        is used as given and never refreshed by this copy.
        """
        check_credential(access_token, "access_token")
        credential = StaticCredential(kind="access_token", token=access_token)
        return self._copy(attrs.evolve(self._transport, credentials=credential, signer=None))

    def with_session(self, key: str) -> Self:
        """A copy whose session lives in the session store under your ``key``, sharing
        the pool: the backend-for-frontend pattern.

        ``key`` is your own id for a user's session (say, the opaque id in their
        cookie). A sign-in on the copy stores the session under that key, later copies
        with the same key act as that user and keep the token fresh (refreshed once
        across every process sharing the store), and ``auth.sign_out()`` deletes it.
        One client per process serves any number of users this way. Named like
        :meth:`with_options` and :meth:`with_access_token`: a cheap copy made per request.
        """
        manager = self._manager.for_key(key)
        clone = self._copy(attrs.evolve(self._transport, credentials=manager))
        clone._manager = manager
        return clone

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent; a copy's ``aclose()`` closes nothing."""
        if self._owns_pool:
            await self._transport.pool.aclose()

    def __repr__(self) -> str:
        config = self.config
        return (
            f"CloudBase(env={config.env!r}, region={config.region!r}, "
            f"base_url={redact_url(config.base_url)!r}, credentials={self.credentials!r})"
        )
