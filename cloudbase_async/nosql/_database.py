"""The document database service: databases, collections, commands and transactions."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import anyio
import attrs

from .. import ejson
from .._core.errors import ConflictError, InvalidRequestError, ResponseValidationError
from .._core.service import Service
from .._core.transport import Transport
from .._core.types import Timeout
from ._collection import Collection, Document
from ._encoding import encode_value, name_segment
from ._models import Listing, NoSQLPaths, TransactionStarted, as_listing
from ._service import DocumentService, Scope, TransactionState, structured

__all__ = ["DEFAULT", "Database", "NoSQL", "Transaction"]

log: Final = logging.getLogger("cloudbase_async")

#: The name of the default instance and of the default database, parentheses included.
DEFAULT: Final = "(default)"


class Database(DocumentService):
    """One database of one instance: collections, transactions, raw commands."""

    __slots__ = ("database", "instance")

    def __init__(self, transport: Transport, scope: Scope, instance: str, database: str) -> None:
        super().__init__(transport, scope)
        self.instance = instance
        self.database = database

    def __repr__(self) -> str:
        return f"<Database instance={self.instance!r} database={self.database!r}>"

    def collection(self, name: str) -> Collection[Document]:
        """The collection ``name`` (no request is made)."""
        return Collection[Document](self._transport, self._scope, name)

    async def create_collection(
        self, name: str, *, exist_ok: bool = False, timeout: Timeout = None
    ) -> Collection[Document]:
        """Create the collection ``name`` (administrators only) and return it.

        An existing collection raises :class:`~cloudbase_async.ConflictError`
        (``DATABASE_COLLECTION_ALREADY_EXIST``) unless ``exist_ok=True``.
        """
        collection = self.collection(name)  # checks the name before anything is sent
        request = self._request(
            "POST", "/collections", json={"collectionName": name}, timeout=timeout
        )
        try:
            await self._json(request)
        except ConflictError as exc:
            if not (exist_ok and exc.code == "DATABASE_COLLECTION_ALREADY_EXIST"):
                raise
        return collection

    async def commands(
        self, commands: Sequence[Mapping[str, Any]], *, timeout: Timeout = None
    ) -> list[Any]:
        """Run MongoDB database commands in order (``POST /commands``, administrators
        only); return one decoded result per command, in order.

        The body is ``{"commands": [<each command as EJSON>], "transactionId"?}`` and
        the answer ``{"list": [...]}``, whose ``list[i]`` is the result of
        ``commands[i]`` as the server gives it (the documentation shows a list of
        documents: ``[{"cursor": {...}, "ok": 1}]``). Not retried: commands may write.
        """
        if isinstance(commands, Mapping | str) or not commands:
            raise InvalidRequestError("commands() takes a non-empty list of command mappings")
        if not all(isinstance(command, Mapping) for command in commands):
            raise InvalidRequestError("each command is a mapping, such as {'ping': 1}")
        body = {"commands": encode_value(list(commands), self._scope.mode, "commands")}
        request = self._request("POST", self._scope.paths.commands, json=body, timeout=timeout)
        answer, response = await self._json(request)
        results = structured(as_listing(answer), response, Listing, "command results").items
        if len(results) != len(commands):
            raise ResponseValidationError(
                f"{len(commands)} commands were run but the answer holds {len(results)} results",
                status_code=response.status_code,
                request_id=response.request_id,
                body=answer,
            )
        return results

    async def command(self, command: Mapping[str, Any], *, timeout: Timeout = None) -> Any:
        """Run one database command: :meth:`commands` with a list of one; its result."""
        if not isinstance(command, Mapping):
            raise InvalidRequestError("a command is a mapping, such as {'ping': 1}")
        (result,) = await self.commands([command], timeout=timeout)
        return result

    def transaction(
        self,
        *,
        options: Mapping[str, Any] | None = None,
        rollback_timeout: float = 10.0,
    ) -> Transaction:
        """``async with db.transaction() as tx:`` — calls through ``tx`` join it.

        The transaction commits when the block ends normally and rolls back when it
        raises or is cancelled (the rollback is shielded from the cancellation and
        bounded by ``rollback_timeout`` seconds). ``options`` go into the start call's
        body as they are.
        """
        return Transaction(
            self._transport,
            self._scope,
            names=(self.instance, self.database),
            options=options,
            rollback_timeout=rollback_timeout,
        )


class Transaction(DocumentService):
    """An open transaction; use it as an async context manager.

    Inside the block, ``tx.collection(name)`` gives collections whose every call
    carries ``transactionId``, and ``tx.commands(...)``/``tx.command(...)`` run
    commands in it. A transaction that conflicts with another write fails with
    :class:`~cloudbase_async.ConflictError` (``DATABASE_TRANSACTION_CONFLICT``): run
    the whole block again if that is what your code wants.
    """

    __slots__ = ("_names", "_options", "_rollback_timeout", "_state")

    def __init__(
        self,
        transport: Transport,
        scope: Scope,
        *,
        names: tuple[str, str],
        options: Mapping[str, Any] | None,
        rollback_timeout: float,
    ) -> None:
        if scope.transaction is not None:
            raise InvalidRequestError("transactions do not nest")
        super().__init__(transport, scope)
        self._names = names  # (instance, database)
        self._options = dict(options or {})
        self._rollback_timeout = rollback_timeout
        self._state: TransactionState | None = None

    @property
    def id(self) -> str:
        """The server's transaction id (once started)."""
        return self._started().id

    @property
    def status(self) -> str:
        """``"not started"``, ``"active"``, ``"committed"``, ``"rolled back"`` or ``"failed"``."""
        return "not started" if self._state is None else self._state.status

    def __repr__(self) -> str:
        ident = "" if self._state is None else f" {self._state.id!r}"
        return f"<Transaction{ident} {self.status}>"

    def _started(self) -> TransactionState:
        if self._state is None:
            raise InvalidRequestError("the transaction has not started: use `async with`")
        return self._state

    def _joined(self) -> Database:
        """The database, with every call joining this transaction."""
        return Database(self._transport, self._scope.joined(self._started()), *self._names)

    def collection(self, name: str) -> Collection[Document]:
        """The collection ``name`` inside this transaction."""
        return self._joined().collection(name)

    async def commands(
        self, commands: Sequence[Mapping[str, Any]], *, timeout: Timeout = None
    ) -> list[Any]:
        """Run database commands inside this transaction (see :meth:`Database.commands`)."""
        return await self._joined().commands(commands, timeout=timeout)

    async def command(self, command: Mapping[str, Any], *, timeout: Timeout = None) -> Any:
        """Run one database command inside this transaction."""
        return await self._joined().command(command, timeout=timeout)

    async def start(self) -> Transaction:
        """Start the transaction (``async with`` does this); returns ``self``."""
        if self._state is not None:
            raise InvalidRequestError("a transaction starts only once")
        request = self._request("POST", self._scope.paths.transactions, json=self._options)
        started = await self._answer(
            request, TransactionStarted, "a start-transaction answer with a transactionId"
        )
        assert started.found is not None  # the model refuses an answer without one
        self._state = TransactionState(started.found)
        return self

    async def _end(self, path_template: str, timeout: Timeout) -> None:
        state = self._started()
        path = path_template.format(transaction_id=name_segment(state.id, "transaction id"))
        # The database scope: the id travels in the path, not again in the body.
        request = self._request("POST", path, json={}, timeout=timeout)
        try:
            await self._json(request)
        except BaseException:
            state.status = "failed"
            raise

    async def commit(self, *, timeout: Timeout = None) -> None:
        """Make the transaction's writes visible to everyone."""
        state = self._started()
        state.check_active()
        await self._end(self._scope.paths.commit, timeout)
        state.status = "committed"

    async def rollback(self, *, timeout: Timeout = None) -> None:
        """Undo the transaction's writes (also allowed after a failed commit)."""
        state = self._started()
        if state.status not in ("active", "failed"):
            raise InvalidRequestError(f"transaction {state.id} is {state.status} already")
        await self._end(self._scope.paths.rollback, timeout)
        state.status = "rolled back"

    async def _rollback_quietly(self, reason: BaseException | None) -> None:
        """Roll back after a failure, never hiding the failure that caused it.

        Shielded: a cancelled block must still end its transaction rather than leave
        it holding locks until the server times it out; bounded by ``rollback_timeout``.
        A rollback that fails is logged and noted on ``reason``.
        """
        problem: str | None = None
        with anyio.move_on_after(self._rollback_timeout, shield=True) as scope:
            try:
                await self.rollback(timeout=self._rollback_timeout)
            except Exception as exc:
                problem = str(exc)
        if scope.cancelled_caught:
            problem = f"no answer within {self._rollback_timeout} s"
        if problem is not None:
            log.warning("rolling back transaction %s failed: %s", self.id, problem)
            if reason is not None:
                reason.add_note(f"(rolling back transaction {self.id} failed: {problem})")

    async def __aenter__(self) -> Transaction:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        state = self._started()
        if state.status in ("committed", "rolled back"):
            return  # ended explicitly inside the block
        if exc is not None:
            await self._rollback_quietly(exc)
            return
        if state.status == "failed":
            # An explicit commit failed and the caller went on: do not leave it open.
            await self._rollback_quietly(None)
            return
        try:
            await self.commit()
        except BaseException as commit_error:
            # Cancelled or failed mid-commit: ask the server to roll back. If the commit
            # did land, the server refuses the rollback and we only log that.
            await self._rollback_quietly(commit_error)
            raise


@attrs.frozen
class _Settings:
    mode: ejson.Mode = "strict"
    paths: NoSQLPaths = attrs.field(factory=NoSQLPaths)


class NoSQL(Service):
    """The document database (``cb.nosql``).

    ``cb.nosql.collection(name)`` uses the default instance and database (both named
    ``(default)``); ``cb.nosql.database(instance=..., database=...)`` others.

    Request bodies and query strings are Strict (canonical) EJSON by default, which
    keeps every number's BSON type; ``with_options(mode="relaxed")`` sends Relaxed.
    """

    __slots__ = ("_default", "_settings")

    def __init__(
        self,
        transport: Transport,
        *,
        mode: ejson.Mode = "strict",
        paths: NoSQLPaths | None = None,
    ) -> None:
        if mode not in ("strict", "relaxed"):
            raise InvalidRequestError(f"mode is 'strict' or 'relaxed', got {mode!r}")
        super().__init__(transport)
        self._settings = _Settings(mode=mode, paths=paths or NoSQLPaths())
        self._default = self.database()

    def __repr__(self) -> str:
        return f"<NoSQL mode={self._settings.mode!r}>"

    def with_options(
        self, *, mode: ejson.Mode | None = None, paths: NoSQLPaths | None = None
    ) -> NoSQL:
        """A copy with another EJSON ``mode`` or other gateway ``paths``."""
        return NoSQL(
            self._transport,
            mode=mode or self._settings.mode,
            paths=paths or self._settings.paths,
        )

    def database(self, *, instance: str = DEFAULT, database: str = DEFAULT) -> Database:
        """The database ``database`` of the instance ``instance`` (no request is made)."""
        base = (
            f"/instances/{name_segment(instance, 'instance')}"
            f"/databases/{name_segment(database, 'database')}"
        )
        scope = Scope(base, self._settings.mode, self._settings.paths)
        return Database(self._transport, scope, instance, database)

    def collection(self, name: str) -> Collection[Document]:
        """The collection ``name`` of the default database."""
        return self._default.collection(name)

    async def create_collection(
        self, name: str, *, exist_ok: bool = False, timeout: Timeout = None
    ) -> Collection[Document]:
        """Create a collection in the default database (see :meth:`Database.create_collection`)."""
        return await self._default.create_collection(name, exist_ok=exist_ok, timeout=timeout)

    def transaction(
        self, *, options: Mapping[str, Any] | None = None, rollback_timeout: float = 10.0
    ) -> Transaction:
        """A transaction on the default database (see :meth:`Database.transaction`)."""
        return self._default.transaction(options=options, rollback_timeout=rollback_timeout)

    async def commands(
        self, commands: Sequence[Mapping[str, Any]], *, timeout: Timeout = None
    ) -> list[Any]:
        """Database commands on the default database (see :meth:`Database.commands`)."""
        return await self._default.commands(commands, timeout=timeout)

    async def command(self, command: Mapping[str, Any], *, timeout: Timeout = None) -> Any:
        """One database command on the default database (see :meth:`Database.command`)."""
        return await self._default.command(command, timeout=timeout)
