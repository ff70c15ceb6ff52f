"""Both sides of the differential test, and how their answers are compared.

The engine is served over real HTTP on loopback (uvicorn in a thread) behind the
routes the gateway mounts; PostgREST 12 runs over PostgreSQL 15
(``tests/peers/postgrest.py``). Each side is reached through this SDK's ``CloudBase``
client; an httpx response hook keeps every raw answer, which is what is compared:
status, ``Content-Range``, ``Preference-Applied``, ``Content-Type`` and the body, parsed
strictly (number text kept, key order and duplicate keys kept, so ``12.50`` is not
``12.5``; embedded objects are compared as PostgreSQL's ``jsonb`` orders them).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from typing import Any, Literal

import attrs
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from cloudbase_async import CloudBase, CloudBaseError
from cloudbase_async._core.transport import Request
from cloudbase_async._core.types import ParamValue
from cloudbase_async.local._identity import Caller, CredentialError
from cloudbase_async.local.rdb import UNSUPPORTED_CODE, RdbEngine, routes
from tests.peers.postgrest import PeerMissing, PostgrestServer, running_postgrest
from tests.support.server import serve

Call = Callable[[CloudBase], Awaitable[object]]
Role = Literal["user", "anon"]
Compare = Literal["exact", "no-total"]
USER_TOKEN = "user-u1"


@attrs.frozen
class Case:
    """One request of the corpus. ``refused``: the engine must answer 400
    ``LOCAL_UNSUPPORTED`` with this text in its message (PostgREST is not asked)."""

    name: str
    call: Call
    refused: str | None = None
    role: Role = "user"
    compare: Compare = "exact"


def identify(authorization: str | None) -> Caller:
    """The test gateway's identities: no credential is anon, ``Bearer user-<id>`` a user."""
    if authorization is None:
        return Caller("anon")
    token = authorization.removeprefix("Bearer ").strip()
    if token.startswith("user-"):
        return Caller("user", uid=token.removeprefix("user-"))
    if token == "admin":
        return Caller("admin")
    raise CredentialError(
        "INVALID_ACCESS_TOKEN",
        "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)",
    )


@contextmanager
def engine_server(engine: RdbEngine) -> Iterator[str]:
    """The engine behind ``/v1/rdb/rest`` on loopback; yields that endpoint's URL."""
    app = Starlette(routes=[Mount("/v1/rdb/rest", routes=routes(engine, identify))])
    with serve(app) as url:
        yield f"{url}/v1/rdb/rest"


@contextmanager
def postgrest_or_skip(schema_sql: str) -> Iterator[PostgrestServer]:
    """PostgREST with ``schema_sql``; skipped (failed in CI) when it is not installed,
    as the SDK's rdb integration tests do."""
    try:
        server_cm = running_postgrest(schema_sql)
        server = server_cm.__enter__()
    except PeerMissing as exc:
        message = f"{exc}; run `bash scripts/install-peers.sh`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        server_cm.__exit__(None, None, None)


@attrs.define
class Side:
    """One server, a client per role (kept open across cases) and the last raw answer."""

    endpoint: str
    user_token: str
    answers: list[httpx.Response] = attrs.Factory(list)
    clients: dict[str, CloudBase] = attrs.Factory(dict)

    async def _keep(self, response: httpx.Response) -> None:
        await response.aread()
        self.answers.append(response)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Side]:
        async with (
            httpx.AsyncClient(event_hooks={"response": [self._keep]}, timeout=30) as http,
            AsyncExitStack() as stack,
        ):
            for role in ("user", "anon"):
                self.clients[role] = await stack.enter_async_context(
                    CloudBase(
                        env="test",
                        endpoints={"rdb": self.endpoint},
                        access_token=self.user_token if role == "user" else None,
                        max_retries=0,
                        http_client=http,
                    )
                )
            yield self
        self.clients.clear()

    async def run(self, call: Call, role: Role) -> httpx.Response:
        """Send ``call`` as ``role``; the last raw answer the SDK received."""
        self.answers.clear()
        with suppress(CloudBaseError):  # the raw answer is what is compared
            await call(self.clients[role])
        assert self.answers, "the SDK sent nothing (it refused the case itself)"
        return self.answers[-1]


class _Number(str):
    """A JSON number, compared by its text."""


def strict_json(text: str) -> Any:
    return json.loads(
        text,
        parse_float=lambda s: _Number("n:" + s),
        parse_int=lambda s: _Number("n:" + s),
        object_pairs_hook=list,
    )


def answer(response: httpx.Response, compare: Compare = "exact") -> dict[str, Any]:
    """The comparable parts of a raw answer."""
    content_range = response.headers.get("content-range")
    if compare == "no-total" and content_range is not None:
        content_range = content_range.rpartition("/")[0]
    body: Any = response.text
    if response.content:
        try:
            body = strict_json(response.text)
        except ValueError:
            body = ("not json", response.text)
    return {
        "status": response.status_code,
        "content-range": content_range,
        "preference-applied": response.headers.get("preference-applied"),
        "content-type": response.headers.get("content-type"),
        "body": body,
    }


def refusal_problem(response: httpx.Response, feature: str) -> str | None:
    """Why ``response`` is not the engine's refusal naming ``feature`` (None if it is)."""
    try:
        body = response.json()
    except ValueError:
        return f"status {response.status_code}, body {response.text!r}"
    if (
        response.status_code != 400
        or not isinstance(body, dict)
        or body.get("code") != UNSUPPORTED_CODE
        or feature not in str(body.get("message"))
    ):
        return f"status {response.status_code}, body {body!r}"
    return None


def raw(
    method: str,
    path: str,
    params: list[tuple[str, ParamValue]] | None = None,
    *,
    headers: dict[str, str] | None = None,
    json_body: object = None,
    content: bytes | None = None,
) -> Call:
    """A request in PostgREST syntax the builders would not write (malformed ones
    included), still sent by the SDK's transport."""

    async def call(cb: CloudBase) -> object:
        extra: dict[str, Any] = {}
        if json_body is not None:
            extra["json"] = json_body
        if content is not None:
            extra["content"] = content
        request = Request(method, "rdb", path, params=params or [], headers=headers or {}, **extra)
        return await cb.rdb.transport.send(request)

    return call


# --- short names for the corpus -------------------------------------------------------


def P(cb: CloudBase) -> Any:
    return cb.rdb.table("people")


def T(cb: CloudBase) -> Any:
    return cb.rdb.table("teams")


def I(cb: CloudBase) -> Any:  # noqa: E743
    return cb.rdb.table("items")


def C(name: str, call: Any, **kw: Any) -> Case:
    return Case(name, call, **kw)
