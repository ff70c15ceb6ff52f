"""``python -m cloudbase_async demo``: the SDK's main job, service by service, in one command.

Without ``CLOUDBASE_ENV`` it starts the local gateway in-process (the ``local`` extra)
and walks through every service offline: anonymous and SMS sign-in, a relational insert
and filtered select, a cloud function, documents inserted and queried, a file uploaded
and streamed back, a chat streamed token by token, and a tool run where the model calls
a Python function. Each step prints its result and how long it took.

With ``CLOUDBASE_ENV`` and a key (``CLOUDBASE_API_KEY``) it walks the same way through
your environment, creating only what it deletes again. Steps that need something only
you have are skipped, naming the variable that enables them:

* ``CLOUDBASE_DEMO_PHONE``: a phone number for the SMS sign-in (the code is asked for);
* ``CLOUDBASE_DEMO_TABLE``: a table with a ``title text`` column (its demo row is
  deleted again);
* ``CLOUDBASE_DEMO_FUNCTION``: a deployed function, called with ``{"name": "CloudBase"}``;
* ``CLOUDBASE_DEMO_COLLECTION``: an existing collection (its demo documents are deleted);
* ``CLOUDBASE_AI_PROVIDER`` / ``CLOUDBASE_AI_MODEL``: the model group and model
  (default ``cloudbase`` / ``hy3-preview``).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final, TextIO

import anyio
import attrs

from ._client import CloudBase
from ._core.errors import CloudBaseError

__all__ = ["main"]

PHONE: Final = "13800138000"
SCHEMA: Final = """
CREATE TABLE todos (
    id serial PRIMARY KEY,
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    _openid text
);
"""
GREETING: Final = "Hello from CloudBase: every service just answered you, offline."


class Skipped(Exception):
    """A step that cannot run here; the message says what would enable it."""


@attrs.frozen
class Setup:
    """Where the walk runs: a client for data (the API key), one for signing in, and
    what the local gateway needs scripting (``None`` against CloudBase)."""

    data: CloudBase
    users: CloudBase
    settings: Mapping[str, str]
    local: Any = None

    @property
    def model(self) -> tuple[str, str]:
        return (
            self.settings.get("CLOUDBASE_AI_PROVIDER", "cloudbase"),
            self.settings.get("CLOUDBASE_AI_MODEL", "hy3-preview"),
        )

    def need(self, name: str) -> str:
        if self.local is not None:
            return ""
        value = self.settings.get(name)
        if not value:
            raise Skipped(f"set {name} to run it against your environment")
        return value


# --- the steps ------------------------------------------------------------------------


async def anonymous(setup: Setup, out: TextIO) -> str:
    session = await setup.users.auth.sign_in_anonymously()
    return f"signed in as anonymous user {session.user_id}"


async def sms(setup: Setup, out: TextIO) -> str:
    phone = setup.need("CLOUDBASE_DEMO_PHONE") or PHONE
    handle = await setup.users.auth.sign_in_with_otp(phone_number=phone)
    if setup.local is not None:
        code = setup.local.sms_codes[phone]
    else:
        code = await anyio.to_thread.run_sync(input, f"    the code sent to {phone}: ")
    session = await handle.verify(code)
    action = "signed in" if handle.is_user else "signed up"
    return f"code {code} sent to {phone}; {action} as user {session.user_id}"


async def rdb(setup: Setup, out: TextIO) -> str:
    table = setup.need("CLOUDBASE_DEMO_TABLE") or "todos"
    marker = f"cloudbase-async demo {uuid.uuid4().hex[:8]}"
    rows = setup.data.rdb.table(table)
    inserted = await rows.insert({"title": marker}, returning="representation").execute()
    try:
        found = await rows.select("id,title").eq("title", marker).execute()
    finally:
        if setup.local is None:
            await rows.delete().eq("title", marker).execute()
    return f"inserted {inserted.data[0]!r}; select ...eq('title', …) found {len(found.data)} row"


async def function(setup: Setup, out: TextIO) -> str:
    name = setup.need("CLOUDBASE_DEMO_FUNCTION") or "hello"
    result = await setup.data.functions.invoke(name, {"name": "CloudBase"})
    return f"{name}({{'name': 'CloudBase'}}) returned {result!r}"


async def documents(setup: Setup, out: TextIO) -> str:
    name = setup.need("CLOUDBASE_DEMO_COLLECTION") or "notes"
    if setup.local is not None:
        await setup.data.nosql.create_collection(name)
    notes = setup.data.nosql.collection(name)
    batch = uuid.uuid4().hex[:8]
    ids = await notes.insert_many(
        [{"batch": batch, "text": text, "stars": n} for n, text in enumerate("abc", 1)]
    )
    try:
        starred = await notes.find(
            {"batch": batch, "stars": {"$gte": 2}}, order=[("stars", "desc")]
        )
    finally:
        if setup.local is None:
            await notes.delete_many({"batch": batch})
    return f"inserted {len(ids)} documents; found {[d['text'] for d in starred]} with stars >= 2"


async def storage(setup: Setup, out: TextIO) -> str:
    payload = (GREETING + "\n").encode() * 1000
    path = f"cloudbase-async-demo/{uuid.uuid4().hex[:8]}.txt"
    uploaded = await setup.data.storage.upload(path, payload, content_type="text/plain")
    try:
        received = 0
        async with setup.data.storage.stream(uploaded.cloud_id) as body:
            async for chunk in body:
                received += len(chunk)
    finally:
        if setup.local is None:
            await setup.data.storage.delete([uploaded.cloud_id])
    return f"uploaded {len(payload):,} bytes to {uploaded.cloud_id}; streamed back {received:,}"


async def chat(setup: Setup, out: TextIO) -> str:
    if setup.local is not None:
        setup.local.ai.reply(GREETING)
    provider, model = setup.model
    messages = [{"role": "user", "content": "Say hello in one sentence."}]
    out.write("    ")
    async with setup.data.ai.chat.completions.stream(
        provider=provider, model=model, messages=messages
    ) as stream:
        async for text in stream.text_stream:
            out.write(text)
            out.flush()
        final = await stream.get_final_completion()
    out.write("\n")
    return f"{len(final.content or '')} characters streamed from {provider}/{model}"


async def tools(setup: Setup, out: TextIO) -> str:
    from .ai import ToolCallStarted, ToolResult, tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    if setup.local is not None:
        from .local import ToolCall

        setup.local.ai.script(ToolCall("add", {"a": 2, "b": 3}), "2 + 3 = 5.")
    provider, model = setup.model
    calls = []
    async with setup.data.ai.chat.completions.run_tools(
        provider=provider,
        model=model,
        messages=[{"role": "user", "content": "What is 2 + 3? Use the add tool."}],
        tools=[add],
    ) as run:
        async for event in run:
            if isinstance(event, ToolCallStarted):
                calls.append(f"{event.name}({event.arguments})")
            elif isinstance(event, ToolResult):
                calls[-1] += f" -> {event.content}"
        final = await run.get_final_completion()
    return f"the model called {', '.join(calls) or 'no tool'}; then answered {final.content!r}"


STEPS: Final[tuple[tuple[str, Callable[[Setup, TextIO], Awaitable[str]]], ...]] = (
    ("auth: anonymous sign-in", anonymous),
    ("auth: SMS sign-in", sms),
    ("rdb: insert, then a filtered select", rdb),
    ("functions: invoke", function),
    ("nosql: insert, then a query", documents),
    ("storage: upload, then a streamed download", storage),
    ("ai: a chat, streamed token by token", chat),
    ("ai: a tool run (the model calls a Python function)", tools),
)


# --- the walk -------------------------------------------------------------------------


@asynccontextmanager
async def _local(settings: Mapping[str, str]) -> AsyncIterator[Setup]:
    try:
        from .local import LocalCloudBase
    except ImportError:  # pragma: no cover - depends on the install
        raise SystemExit(
            "The offline demo needs the local gateway: pip install 'cloudbase-async[local]'"
        ) from None
    local = LocalCloudBase(env="local-demo", rdb_schema=SCHEMA)

    @local.function("hello")
    def hello(event: Any, context: Any) -> dict[str, str]:
        return {"greeting": f"Hello, {event.get('name', 'you')}!", "caller": context.caller.role}

    async with local, local.client() as data, local.client(publishable_key=True) as users:
        yield Setup(data, users, settings, local)


@asynccontextmanager
async def _cloud(settings: Mapping[str, str]) -> AsyncIterator[Setup]:
    async with CloudBase() as data, CloudBase() as users:
        yield Setup(data, users, settings)


async def walk(settings: Mapping[str, str], out: TextIO) -> int:
    """Run every step; the number that failed (skipped ones do not count)."""
    offline = not settings.get("CLOUDBASE_ENV")
    started = time.perf_counter()
    failed = 0
    async with (_local if offline else _cloud)(settings) as setup:
        where = f"the local gateway at {setup.local.url}" if offline else settings["CLOUDBASE_ENV"]
        out.write(f"cloudbase_async demo against {where}\n\n")
        for number, (title, step) in enumerate(STEPS, 1):
            out.write(f"{number}. {title}\n")
            out.flush()
            began = time.perf_counter()
            try:
                summary = await step(setup, out)
            except Skipped as exc:
                out.write(f"    skipped: {exc}\n")
                continue
            except CloudBaseError as exc:
                failed += 1
                out.write(f"    FAILED: {type(exc).__name__}: {exc}\n")
                continue
            out.write(f"    {summary}  ({(time.perf_counter() - began) * 1000:.0f} ms)\n")
    total = time.perf_counter() - started
    verdict = "all steps ran" if not failed else f"{failed} step(s) failed"
    out.write(f"\n{verdict} in {total:.1f} s.\n")
    return failed


def main(args: list[str], settings: Mapping[str, str]) -> int:
    """``python -m cloudbase_async demo``, with the ``CLOUDBASE_*`` environment."""
    if args != ["demo"]:
        sys.stderr.write("usage: python -m cloudbase_async demo\n\n" + (__doc__ or ""))
        return 2
    return 1 if anyio.run(walk, settings, sys.stdout) else 0
