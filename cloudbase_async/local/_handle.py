"""The public handle, :class:`LocalCloudBase`: configuration, registration, lifecycle,
and what a test reads (URL, keys, codes) and does (reset, tickets, clients).

A little over 500 lines: it is the gateway's whole public surface, documented member by
member; the machinery behind each member lives in the service packages."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar, overload

import anyio
import anyio.to_thread
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from ..auth import TicketCredentials, create_ticket, normalize_phone_number
from ..auth._ticket import DEFAULT_REFRESH
from . import (
    ai as ai_service,
    auth as auth_service,
    cloudrun as cloudrun_service,
    functions as functions_service,
    nosql as nosql_service,
    rdb as rdb_service,
    storage as storage_service,
)
from ._app import Mounted, build_app
from ._faults import Faults
from ._identity import Identify, Identity, Keys, TokenSigner
from ._server import ServerThread
from .ai import ScriptedModel
from .auth import AuthEngine, AuthSettings, CustomLoginKey, SentCode
from .auth._custom_login import KEY_FILE, write_key_file
from .cloudrun import CloudRunServices
from .functions import FunctionHandler, Functions
from .nosql import NoSQLEngine
from .rdb import RdbEngine, RdbFunction
from .storage import StorageEngine

if TYPE_CHECKING:
    from .. import CloudBase

__all__ = ["CodeBook", "LocalCloudBase"]

log: Final = logging.getLogger("cloudbase_async.local")

F = TypeVar("F", bound=FunctionHandler)
RF = TypeVar("RF", bound=RdbFunction)


class RdbHandle:
    """``local.rdb``: the relational database behind ``/v1/rdb/rest``.

    Functions registered with :meth:`function` (before or after the gateway starts) are
    callable as ``rpc/{name}`` and survive restarts and resets; :meth:`execute` runs DDL
    and ``INSERT ... VALUES`` on the running database.
    """

    def __init__(self) -> None:
        self._functions: dict[str, RdbFunction] = {}
        self._engine: RdbEngine | None = None

    def function(self, name: str) -> Callable[[RF], RF]:
        """Register ``fn(args, caller)`` (sync or async) as ``rpc/{name}``."""

        def register(fn: RF) -> RF:
            self._functions[name] = fn
            if self._engine is not None:
                self._engine.function(name)(fn)
            return fn

        return register

    def execute(self, sql: str) -> None:
        """Run DDL and ``INSERT ... VALUES`` statements on the running database."""
        self.engine.execute(sql)

    @property
    def engine(self) -> RdbEngine:
        """The running engine (:class:`~cloudbase_async.local.rdb.RdbEngine`)."""
        if self._engine is None:
            raise RuntimeError("The gateway is not running: use `async with local:` (or start()).")
        return self._engine

    def open(self, path: Path, schema: str | Path | None) -> RdbEngine:
        """Start the engine for a data directory (called by the gateway when it starts)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(schema, Path) or (isinstance(schema, str) and schema.endswith(".sql")):
            schema = Path(schema).read_text(encoding="utf-8")
        engine = RdbEngine(path, schema=schema)
        for name, fn in self._functions.items():
            engine.function(name)(fn)
        self._engine = engine
        return engine

    def closed(self) -> None:
        """The gateway stopped (and closed the engine)."""
        self._engine = None


def _rdb_routes(engine: RdbEngine, identify: Identify) -> list[BaseRoute]:
    return [Mount("/v1/rdb/rest", routes=rdb_service.routes(engine, identify))]


class CodeBook(Mapping[str, str]):
    """The last code sent to each phone number (or email): ``book["13800138000"]``.

    Keys are looked up the way the API spells them (``"+86 13800138000"``); any
    spelling the SDK accepts works.
    """

    def __init__(self, codes: Callable[[], list[SentCode]], channel: str) -> None:
        self._codes = codes
        self._channel = channel

    def _key(self, key: str) -> str:
        if self._channel == "email":
            return key.strip().lower()
        try:
            return normalize_phone_number(key)
        except ValueError:
            return key

    def _latest(self) -> dict[str, str]:
        return {c.to: c.code for c in self._codes() if c.channel == self._channel}

    def __getitem__(self, key: str) -> str:
        return self._latest()[self._key(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._latest())

    def __len__(self) -> int:
        return len(self._latest())


class LocalCloudBase:
    """A local CloudBase gateway: auth, functions, CloudRun and the AI model API on real
    HTTP, for tests, demos and offline development.

    :param env: the environment id clients use (any valid id; default ``"local-dev"``).
    :param data_dir: where state lives (SQLite files, keys, the custom-login key file).
        ``None``: a temporary directory, removed when the gateway stops. A directory
        keeps users, keys and data across restarts.
    :param host: the address to listen on (loopback by default).
    :param port: ``0`` picks a free port; ``url`` tells which.
    :param access_token_lifetime: seconds an access token lives (``expires_in``).
    :param refresh_token_lifetime: seconds a refresh token lives if unused.
    :param verification_code: ``None``: a random six-digit code per SMS or email
        (logged, and readable as ``sms_codes`` / ``email_codes``); a string: always
        this code.
    :param code_resend_interval: seconds between two codes to one contact (``0``: no
        limit); sooner answers ``resource_exhausted`` (HTTP 429).
    :param rdb_schema: SQL text or a path to a ``.sql`` file: the relational database's
        tables (the PostgreSQL-flavoured subset the README lists), created when the data
        directory is new. ``local.rdb.execute(sql)`` adds more while it runs.
    """

    def __init__(
        self,
        env: str = "local-dev",
        *,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token_lifetime: float = 7200.0,
        refresh_token_lifetime: float = 31 * 86400.0,
        verification_code: str | None = None,
        code_resend_interval: float = 0.0,
        rdb_schema: str | Path | None = None,
    ) -> None:
        if access_token_lifetime <= 0 or refresh_token_lifetime <= 0:
            raise ValueError("Token lifetimes must be > 0 seconds.")
        if verification_code is not None and not verification_code.isdigit():
            raise ValueError("verification_code must be digits, like '123456'.")
        self.env = env
        self.host = host
        self.port = port
        self._data_dir = None if data_dir is None else Path(data_dir)
        self._auth_settings = AuthSettings(
            env=env,
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            verification_code=verification_code,
            code_resend_interval=code_resend_interval,
        )
        self.rdb_schema = rdb_schema
        #: The relational database: ``@local.rdb.function("name")``, ``local.rdb.execute``.
        self.rdb = RdbHandle()
        #: Fault rules for every service (``local.faults.add("POST /v1/functions/*", status=503)``).
        self.faults = Faults()
        #: The scripted model behind ``/v1/ai`` (``local.ai.reply(...)``, ``.script(...)``).
        self.ai = ScriptedModel()
        self._functions = Functions(env)
        self._cloudrun = CloudRunServices()
        self._running: _Running | None = None

    # -- registering code ------------------------------------------------------------

    @overload
    def function(
        self, name: str, handler: None = None, *, timeout: float | None = None
    ) -> Callable[[F], F]: ...

    @overload
    def function(self, name: str, handler: F, *, timeout: float | None = None) -> F: ...

    def function(
        self, name: str, handler: F | None = None, *, timeout: float | None = None
    ) -> F | Callable[[F], F]:
        """Register an event function ``(event, context) -> JSON value`` (sync or async),
        as a decorator or directly. ``timeout`` seconds make a longer run answer
        ``FUNCTION_TIME_LIMIT_EXCEEDED``. A raising function answers
        ``FUNCTION_INVOCATION_FAILED`` with its message."""

        def register(fn: F) -> F:
            self._functions.add(name, fn, timeout=timeout)
            return fn

        return register if handler is None else register(handler)

    def web_function(self, name: str, app: ASGIApp) -> None:
        """Register an HTTP function: ``app`` (ASGI) serves
        ``/v1/functions/{name}/...?webfn=true``."""
        self._functions.add_web(name, app)

    def cloudrun(self, name: str, app: ASGIApp) -> None:
        """Register a CloudRun service: ``app`` (ASGI) serves ``/v1/cloudrun/{name}/...``."""
        self._cloudrun.add(name, app)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running is not None

    def start(self) -> Self:
        """Start serving (blocking until it accepts connections). ``with``/``async with``
        call this for you."""
        if self._running is not None:
            raise RuntimeError("The gateway is already running.")
        self._running = _Running.start(self)
        log.info("local CloudBase %r serving at %s", self.env, self._running.server.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the engines (a temporary data directory is removed)."""
        running, self._running = self._running, None
        if running is not None:
            running.stop()
            self.rdb.closed()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # Shielded: a start that finished must reach the block, whose exit stops it; a
        # cancellation arrives at the block's first checkpoint instead.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    def _state(self) -> _Running:
        if self._running is None:
            raise RuntimeError("The gateway is not running: use `async with local:` (or start()).")
        return self._running

    # -- what a test reads and does ------------------------------------------------------

    @property
    def url(self) -> str:
        """The gateway's base URL (``http://127.0.0.1:<port>``): pass it as ``base_url``."""
        return self._state().server.url

    @property
    def data_dir(self) -> Path:
        return self._state().data_dir

    @property
    def api_key(self) -> str:
        """The administrator key (``service_role``); stable for a data directory."""
        return self._state().keys.api_key

    @property
    def publishable_key(self) -> str:
        """The publishable key (the ``anon`` role); stable for a data directory."""
        return self._state().keys.publishable_key

    @property
    def secret_id(self) -> str:
        """The SecretId of the Tencent Cloud secret whose TC3 signatures the gateway
        accepts (as the administrator); stable for a data directory."""
        return self._state().keys.secret_id

    @property
    def secret_key(self) -> str:
        """The SecretKey that goes with :attr:`secret_id`."""
        return self._state().keys.secret_key

    def client(
        self,
        *,
        publishable_key: bool = False,
        access_token: str | None = None,
        tc3: bool = False,
        **options: Any,
    ) -> CloudBase:
        """A :class:`~cloudbase_async.CloudBase` wired to this gateway.

        With the API key by default; ``publishable_key=True`` for the anonymous role
        (what a browser or app has before its user signs in); ``access_token=`` to act
        as that user; ``tc3=True`` to sign with the gateway's Tencent Cloud secret, as a
        backend configured with ``secret_id``/``secret_key`` does. ``options`` go to
        ``CloudBase`` (``timeout``, ``max_retries``, ``session_store``,
        ``refresh_margin``...).
        """
        from .. import CloudBase

        keys = self._state().keys
        if access_token is not None:
            options["access_token"] = access_token
        elif publishable_key:
            options["publishable_key"] = keys.publishable_key
        elif tc3:
            options["secret_id"] = keys.secret_id
            options["secret_key"] = keys.secret_key
        else:
            options["api_key"] = keys.api_key
        return CloudBase(env=self.env, base_url=self.url, **options)

    def reset(self, *, registrations: bool = False) -> None:
        """Back to an empty gateway: no users, codes, sessions or data; no fault rules;
        the model echoing. The keys stay. ``registrations=True`` also forgets the
        registered functions, web functions and CloudRun services."""
        running = self._state()
        running.auth.reset()
        for service in running.stateful:
            service.engine.reset()
        self.faults.clear()
        self.ai.reset()
        if registrations:
            self._functions.clear()
            self._cloudrun.clear()

    def sent_codes(self) -> list[SentCode]:
        """Every SMS and email code sent, oldest first."""
        return self._state().auth.sent_codes()

    @property
    def sms_codes(self) -> CodeBook:
        """The last SMS code per phone number: ``local.sms_codes["+86 13800138000"]``."""
        return CodeBook(self.sent_codes, "sms")

    @property
    def email_codes(self) -> CodeBook:
        """The last email code per address."""
        return CodeBook(self.sent_codes, "email")

    @property
    def custom_login_key(self) -> TicketCredentials:
        """The environment's custom-login private key, as the console's key file holds it
        (``private_key_id``, ``private_key``, ``env_id``): mint tickets with it
        (``cloudbase_async.auth.create_ticket`` or the node-sdk's ``createTicket``) and
        sign in with them at ``POST /auth/v1/signin/custom``. Stable for a data
        directory; made on first use."""
        return self._state().custom_login.credentials

    @property
    def custom_login_key_file(self) -> Path:
        """The key file in the data directory (what ``serve`` prints), written if new."""
        return self._state().custom_login.file()

    def write_custom_login_key(self, path: str | os.PathLike[str]) -> Path:
        """Write the custom-login key file (the console's JSON, mode 0600) at ``path``,
        for a backend that loads it with ``TicketCredentials.from_file`` or the
        node-sdk's ``init({credentials: require(path)})``; returns the path."""
        target = Path(path)
        write_key_file(target, self.custom_login_key)
        return target

    def custom_ticket(
        self,
        uid: str,
        *,
        refresh: timedelta = DEFAULT_REFRESH,
        expire: datetime | None = None,
        now: datetime | None = None,
    ) -> str:
        """A ticket for ``cb.auth.sign_in_with_custom_ticket`` naming your user id ``uid``,
        minted with :attr:`custom_login_key` exactly as your backend would mint it
        (``create_ticket``: valid for 10 minutes after ``now``). A bad ``uid`` raises
        :class:`~cloudbase_async.InvalidRequestError`."""
        return create_ticket(
            uid, credentials=self.custom_login_key, refresh=refresh, expire=expire, now=now
        )

    def info(self) -> dict[str, Any]:
        """What is served (``GET /_local/info``)."""
        running = self._state()
        return {
            "env": self.env,
            "url": running.server.url,
            "services": [
                "auth",
                "functions",
                "cloudrun",
                "ai",
                *(s.name for s in running.stateful),
            ],
            "functions": self._functions.names(),
            "cloudrun": self._cloudrun.names(),
        }

    def __repr__(self) -> str:
        where = self._running.server.url if self._running else "stopped"
        return f"<LocalCloudBase env={self.env!r} {where}>"


class _Running:
    """Everything that exists while the gateway runs (engines, keys, the server)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        temporary: bool,
        keys: Keys,
        custom_login: CustomLoginKey,
        auth: AuthEngine,
        stateful: list[Mounted],
        server: ServerThread,
    ) -> None:
        self.data_dir = data_dir
        self.temporary = temporary
        self.keys = keys
        self.custom_login = custom_login
        self.auth = auth
        self.stateful = stateful
        self.server = server

    @classmethod
    def start(cls, local: LocalCloudBase) -> _Running:
        temporary = local._data_dir is None
        data_dir = (
            Path(tempfile.mkdtemp(prefix="cloudbase-local-")) if temporary else local._data_dir
        )
        assert data_dir is not None
        data_dir.mkdir(parents=True, exist_ok=True)
        keys = Keys.load_or_create(data_dir)
        issuer = f"cloudbase-local/{local.env}"
        signer = TokenSigner(keys.token_secret, issuer)
        custom_login = CustomLoginKey(data_dir / KEY_FILE, local.env)
        auth = AuthEngine(
            data_dir / "auth.sqlite3",
            signer=signer,
            custom_login=custom_login,
            settings=local._auth_settings,
        )
        identity = Identity(keys, signer, session_active=auth.session_active, clock=time.time)
        stateful = _stateful_services(local, data_dir, keys)
        services = [
            Mounted("auth", auth, auth_service.routes),
            Mounted("functions", local._functions, functions_service.routes),
            Mounted("cloudrun", local._cloudrun, cloudrun_service.routes),
            Mounted("ai", local.ai, ai_service.routes),
            *stateful,
        ]
        app = build_app(
            services,
            identify=identity,
            admin=local,
            faults=local.faults,
            keys=keys,
            signer=signer,
            clock=time.time,
        )
        server = ServerThread(app, host=local.host, port=local.port)
        running = cls(
            data_dir=data_dir,
            temporary=temporary,
            keys=keys,
            custom_login=custom_login,
            auth=auth,
            stateful=stateful,
            server=server,
        )
        try:
            server.start()
        except BaseException:
            running.close()
            raise
        return running

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.close()

    def close(self) -> None:
        for service in self.stateful:
            service.engine.close()
        self.auth.close()
        if self.temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _stateful_services(local: LocalCloudBase, data_dir: Path, keys: Keys) -> list[Mounted]:
    """The data services (their engines keep state under ``data_dir``).

    The relational database (``data_dir / "rdb"``), the document database
    (``data_dir / "nosql"``) and storage (``data_dir / "storage"``, signing its URLs
    with ``keys.url_secret``), one ``Mounted(...)`` each.
    """
    return [
        Mounted(
            "rdb", local.rdb.open(data_dir / "rdb" / "rdb.sqlite3", local.rdb_schema), _rdb_routes
        ),
        Mounted("nosql", NoSQLEngine(data_dir), nosql_service.routes),
        Mounted(
            "storage",
            StorageEngine(data_dir, env=local.env, secret=keys.url_secret.encode()),
            storage_service.routes,
        ),
    ]
