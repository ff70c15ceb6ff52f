"""The session manager on a shared store: one refresh between processes, adoption,
leases that outlive dead holders, failures of the store, and with_session().

Two clients on one store stand for two processes (each has its own manager and its own
store object; for Redis, its own client of one fakeredis server). The auth server is
``tests/support/auth_server`` in process, enforcing single-use refresh tokens; the
clients' clocks are fake and shared (one machine), so staleness is set, not waited for.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import fakeredis
import pytest

from cloudbase_async import (
    AuthenticationError,
    AuthEvent,
    CloudBase,
    FileStore,
    InvalidRequestError,
    MemoryStore,
    RedisStore,
    SessionStore,
    SessionStoreError,
    SharedSessionStore,
)
from cloudbase_async._core.transport import Request
from cloudbase_async.auth import StoreState
from tests.support.auth_server import AuthServer, InProcess
from tests.support.redis import free_port

pytestmark = pytest.mark.anyio

KEY = "credentials_env-1"
LIFETIME = 3600.0  # server side; the clients' fake clocks decide staleness
STALE = LIFETIME - 10  # past the 30 s margin, before expiry
EXPIRED = LIFETIME + 10
# Store timeout and refresh timeout: a lease lasts refresh_timeout + timeout + 1 s.
TIMEOUT = 1.0
REFRESH_TIMEOUT = 5.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Machine:
    """What the "processes" of one test share: the server, its transport, the clocks and
    a way to make a store object over the same data."""

    def __init__(self, new_store: Callable[[], SharedSessionStore]) -> None:
        self.app = AuthServer(lifetime=LIFETIME)
        self.app.add_user("+86 13800138000", name="Ada")
        self.transport = InProcess(self.app)
        self.mono = Clock(1000.0)
        self.wall = Clock(1_700_000_000.0)
        self.new_store = new_store
        self.clients: list[CloudBase] = []

    def process(self, **kwargs: Any) -> CloudBase:
        cb = CloudBase(
            env="env-1",
            base_url="http://auth.test",
            transport=self.transport,
            publishable_key="pk-1",
            session_store=kwargs.pop("store", None) or self.new_store(),
            refresh_timeout=REFRESH_TIMEOUT,
            **kwargs,
        )
        cb._manager._clock = self.mono
        cb._manager._wall_clock = self.wall
        self.clients.append(cb)
        return cb

    def advance(self, seconds: float) -> None:
        self.mono.now += seconds
        self.wall.now += seconds

    @property
    def refreshes(self) -> int:
        return self.app.stats["refresh"]


def redis_machine() -> Machine:
    server = fakeredis.FakeServer()
    return Machine(lambda: RedisStore(fakeredis.FakeAsyncRedis(server=server), timeout=TIMEOUT))


def file_machine(path: Path) -> Machine:
    return Machine(lambda: FileStore(path, timeout=TIMEOUT))


@pytest.fixture(params=["redis", "file"])
async def machine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Machine]:
    made = redis_machine() if request.param == "redis" else file_machine(tmp_path / "s.json")
    yield made
    for cb in made.clients:
        await cb.aclose()


async def echo(cb: CloudBase) -> str:
    response = await cb._transport.send(Request("POST", "functions", "/echo", json={}))
    return str(response.json()["token"])


async def gather(n: int, fn: Callable[[], Any]) -> list[Any]:
    results: list[Any] = [None] * n

    async def one(i: int) -> None:
        try:
            results[i] = await fn()
        except Exception as exc:
            results[i] = exc

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return results


async def signed_in(machine: Machine) -> tuple[CloudBase, CloudBase]:
    a, b = machine.process(), machine.process()
    await a.auth.sign_in_with_password(username="Ada", password="pw")
    return a, b


async def stored(store: SessionStore, key: str = KEY) -> dict[str, Any] | None:
    raw = await store.get(key)
    return None if raw is None else json.loads(raw)


# -- one refresh between processes -----------------------------------------------------


async def test_two_processes_with_a_stale_session_refresh_it_once(machine: Machine) -> None:
    a, b = await signed_in(machine)
    assert await echo(b) == "at-1"  # b loads the session a signed in
    machine.advance(STALE)
    results = await gather(300, lambda: echo(a)) + await gather(300, lambda: echo(b))
    assert machine.refreshes == 1
    assert machine.app.stats["invalid_grant"] == 0
    assert results == ["at-2"] * 600
    assert (await stored(a._manager.store) or {})["refresh_token"] == "rt-2"


async def test_processes_stale_at_once_share_the_one_refresh(machine: Machine) -> None:
    a, b = await signed_in(machine)
    c = machine.process()
    for cb in (b, c):
        await echo(cb)
    machine.advance(STALE)
    machine.transport.gate = anyio.Event()  # hold the refresh until everyone waits
    results: list[str] = []

    async def call(cb: CloudBase) -> None:
        results.append(await echo_or_error(cb))

    async with anyio.create_task_group() as tg:
        for cb in (a, b, c):
            for _ in range(50):
                tg.start_soon(call, cb)
        await refresh_waiting(machine)
        await anyio.sleep(0.2)  # the others found the lease held and wait
        machine.transport.gate.set()
    assert machine.refreshes == 1
    assert results == ["at-2"] * 150


async def refresh_waiting(machine: Machine) -> None:
    """Until a refresh is held at the (gated) server."""
    with anyio.fail_after(10):
        while True:
            if machine.transport.refreshes_waiting:
                return
            await anyio.sleep(0.01)


async def echo_or_error(cb: CloudBase) -> str:
    try:
        return await echo(cb)
    except Exception as exc:
        return repr(exc)


async def test_a_process_adopts_a_refresh_made_elsewhere_without_sending_one(
    machine: Machine,
) -> None:
    a, b = await signed_in(machine)
    await echo(b)
    events: list[AuthEvent] = []
    b.auth.on_auth_state_change(lambda event, session: events.append(event))
    machine.advance(STALE)
    assert await echo(a) == "at-2"  # a refreshes; b still holds the old, stale session
    assert machine.refreshes == 1
    # b finds a's session in the store and takes it: no refresh of its own.
    assert await gather(50, lambda: echo(b)) == ["at-2"] * 50
    assert machine.refreshes == 1
    assert machine.app.stats["invalid_grant"] == 0
    assert events == [AuthEvent.TOKEN_REFRESHED]


async def test_a_401_follows_the_same_path(machine: Machine) -> None:
    a, b = await signed_in(machine)
    await echo(b)
    await a.auth.refresh_session()
    del machine.app.access["at-1"]  # the server no longer accepts b's token
    # b's token is fresh by its clock: the 401 makes it look at the store and adopt.
    assert await echo(b) == "at-2"
    assert machine.refreshes == 1


async def test_a_refused_refresh_token_signs_out_every_process(machine: Machine) -> None:
    a, b = await signed_in(machine)
    await echo(b)
    machine.app.revoked.add(machine.app.refresh["rt-1"])
    machine.advance(STALE)
    events: list[AuthEvent] = []
    b.auth.on_auth_state_change(lambda event, session: events.append(event))
    with pytest.raises(AuthenticationError, match="sign in again"):
        await a.auth.get_session()
    assert await stored(a._manager.store) is None
    # b sees the deletion (not a store that lost its data): no refresh, signed out too.
    assert await b.auth.get_session() is None
    assert machine.refreshes == 1
    assert events == [AuthEvent.SIGNED_OUT]
    assert machine.app.stats["ok"] == 1


# -- leases ----------------------------------------------------------------------------


async def test_a_dead_holders_lease_runs_out_and_another_process_refreshes(
    machine: Machine,
) -> None:
    a, b = await signed_in(machine)
    await echo(b)
    store = b._manager.store
    assert isinstance(store, SharedSessionStore)
    raw = await store.get(KEY)
    # A process took the lease and died: nobody releases it.
    dead = await store.claim(KEY, raw, 0.01)
    assert dead.lease is not None
    machine.advance(STALE)
    with anyio.fail_after(10):
        assert await echo(b) == "at-2"
    assert machine.refreshes == 1
    assert await echo(a) == "at-2"  # adopted, no second refresh
    assert machine.refreshes == 1


async def test_a_refusal_while_another_holds_the_lease_waits_for_its_session(
    machine: Machine,
) -> None:
    """b's lease ran out while its refresh was on the way; another holder took over and
    refreshed first, so the server refuses b's refresh token. b must not delete the
    session: it waits for the holder and adopts what it stores."""
    _, b = await signed_in(machine)
    store = b._manager.store
    assert isinstance(store, SharedSessionStore)
    await echo(b)
    machine.advance(STALE)
    machine.transport.gate = anyio.Event()
    outcome: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_collect, outcome, b)
        await refresh_waiting(machine)
        # b holds the lease, its refresh waits at the server. Its lease "runs out" and
        # another process takes it and uses rt-1 first:
        raw = await store.get(KEY)
        await _steal_lease(store, raw)
        newer = machine.app.route(
            "/auth/v1/token", {}, {"grant_type": "refresh_token", "refresh_token": "rt-1"}
        )[1]
        machine.transport.gate.set()  # b's refresh arrives now: invalid_grant
        await anyio.sleep(0.3)
        assert outcome == []  # b waits for the holder instead of signing out
        session = dict(json.loads(raw or "{}"), access_token=newer["access_token"])
        session["refresh_token"] = newer["refresh_token"]
        assert (await store.commit(KEY, raw, json.dumps(session), None)).written
    assert outcome == ["at-2"]
    assert (await stored(store) or {})["refresh_token"] == "rt-2"
    assert machine.app.stats["invalid_grant"] == 1


async def _collect(outcome: list[str], cb: CloudBase) -> None:
    outcome.append(await echo(cb))


async def _steal_lease(store: SharedSessionStore, raw: str | None) -> None:
    if isinstance(store, RedisStore):
        client = store._client
        await client.set("cloudbase:lease:" + KEY, "other-holder", px=30_000)
    else:
        assert isinstance(store, FileStore)
        record = {KEY: {"token": "other-holder", "until": time.time() + 30, "span": 30.0}}
        await anyio.Path(str(store.path) + ".lock").write_text(json.dumps(record))


async def test_a_cancelled_waiter_hands_the_flight_to_the_next(machine: Machine) -> None:
    _, b = await signed_in(machine)
    store = b._manager.store
    assert isinstance(store, SharedSessionStore)
    await echo(b)
    raw = await store.get(KEY)
    held = await store.claim(KEY, raw, 30.0)  # another process refreshing, for long
    assert held.lease is not None
    machine.advance(STALE)
    results: list[str] = []
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as first:
            async with anyio.create_task_group() as inner:
                inner.start_soon(echo, b)  # owns b's flight, waits for the other process
                await anyio.sleep(0.2)
                tg.start_soon(_collect, results, b)  # joins that flight
                await anyio.sleep(0.1)
                first.cancel()
        # The holder finishes: the second caller, now owning a new flight, adopts it.
        await store.release(KEY, held.lease)
    assert results == ["at-2"]
    assert machine.refreshes == 1


# -- the store fails ---------------------------------------------------------------------


class Flaky:
    """A shared store that can be switched off (Redis down), or refuse commits only;
    ``calls`` names the operations asked of it."""

    def __init__(self, inner: SharedSessionStore) -> None:
        self.inner = inner
        self.down = False
        self.commits_fail = False
        self.calls: list[str] = []

    def _check(self, operation: str) -> None:
        self.calls.append(operation)
        if self.down or (operation == "commit" and self.commits_fail):
            raise SessionStoreError("Redis failed (ConnectionError).")

    async def get(self, key: str) -> str | None:
        self._check("get")
        return await self.inner.get(key)

    async def set(self, key: str, value: str) -> None:
        self._check("set")
        await self.inner.set(key, value)

    async def delete(self, key: str) -> None:
        self._check("delete")
        await self.inner.delete(key)

    async def snapshot(self, key: str) -> StoreState:
        self._check("snapshot")
        return await self.inner.snapshot(key)

    async def claim(self, key: str, expected: str | None, ttl: float) -> StoreState:
        self._check("claim")
        return await self.inner.claim(key, expected, ttl)

    async def commit(
        self,
        key: str,
        expected: str | None,
        value: str | None,
        lease: str | None,
        *,
        defer: bool = False,
    ) -> StoreState:
        self._check("commit")
        return await self.inner.commit(key, expected, value, lease, defer=defer)

    async def release(self, key: str, lease: str) -> None:
        self._check("release")
        await self.inner.release(key, lease)

    async def wait(self, key: str, expected: str | None, timeout: float) -> None:
        self._check("wait")
        await self.inner.wait(key, expected, timeout)


async def flaky_pair(machine: Machine) -> tuple[CloudBase, Flaky]:
    flaky = Flaky(machine.new_store())
    cb = machine.process(store=flaky)
    await cb.auth.sign_in_with_password(username="Ada", password="pw")
    return cb, flaky


async def test_store_down_a_still_valid_token_keeps_working(machine: Machine) -> None:
    cb, flaky = await flaky_pair(machine)
    flaky.down = True
    machine.advance(STALE)  # due for a refresh, not expired
    assert await gather(50, lambda: echo(cb)) == ["at-1"] * 50
    assert machine.refreshes == 0  # never without the lease


async def test_store_down_calls_that_need_a_refresh_raise_and_recover(machine: Machine) -> None:
    cb, flaky = await flaky_pair(machine)
    flaky.down = True
    machine.advance(EXPIRED)
    results = await gather(50, lambda: echo(cb))
    assert all(isinstance(r, SessionStoreError) for r in results)
    assert machine.refreshes == 0
    assert cb.auth._manager.current is not None  # kept
    flaky.down = False
    assert await echo(cb) == "at-2"
    assert machine.refreshes == 1


async def test_store_down_a_401_raises_a_session_store_error(machine: Machine) -> None:
    cb, flaky = await flaky_pair(machine)
    flaky.down = True
    del machine.app.access["at-1"]
    with pytest.raises(SessionStoreError):
        await echo(cb)
    assert machine.refreshes == 0


async def test_a_rotated_session_the_store_refused_is_kept_and_written_later(
    machine: Machine,
) -> None:
    cb, flaky = await flaky_pair(machine)
    other = machine.process()
    flaky.commits_fail = True  # the store dies after the lease was taken
    machine.advance(STALE)
    assert await echo(cb) == "at-2"  # the refresh went through: it is used
    assert machine.refreshes == 1
    assert (await stored(flaky.inner) or {})["refresh_token"] == "rt-1"  # not yet stored
    flaky.commits_fail = False
    machine.advance(1.5)  # the flush is retried once a second
    assert await echo(cb) == "at-2"
    assert (await stored(flaky.inner) or {})["refresh_token"] == "rt-2"
    assert await echo(other) == "at-2"  # another process gets it; nothing was lost
    assert machine.refreshes == 1
    assert machine.app.stats["invalid_grant"] == 0


async def test_a_sign_in_the_store_refused_raises_and_is_written_later(machine: Machine) -> None:
    flaky = Flaky(machine.new_store())
    cb = machine.process(store=flaky)
    await cb.auth.get_session()  # loaded (nothing)
    await cb._manager.device_id()  # known before the store goes down
    flaky.down = True
    with pytest.raises(SessionStoreError):
        await cb.auth.sign_in_with_password(username="Ada", password="pw")
    assert await echo(cb) == "at-1"  # in effect here
    flaky.down = False
    machine.advance(1.5)
    await echo(cb)
    assert (await stored(flaky.inner) or {})["access_token"] == "at-1"


async def test_a_sign_out_the_store_refused_raises_and_deletes_later(machine: Machine) -> None:
    cb, flaky = await flaky_pair(machine)
    flaky.down = True
    with pytest.raises(SessionStoreError):
        await cb.auth.sign_out()
    assert cb.auth._manager.current is None
    flaky.down = False
    machine.advance(1.5)
    assert await cb.auth.get_session() is None
    assert await stored(flaky.inner) is None


async def test_a_redis_that_lost_its_data_gets_the_session_back() -> None:
    # (A file does not forget its content by itself: this is Redis's case.)
    machine = redis_machine()
    a, b = await signed_in(machine)
    await echo(b)
    store = a._manager.store
    assert isinstance(store, RedisStore)
    await store._client.flushall()  # Redis restarted without persistence
    events: list[AuthEvent] = []
    b.auth.on_auth_state_change(lambda event, session: events.append(event))
    machine.advance(STALE)
    assert await gather(20, lambda: echo(a)) + await gather(20, lambda: echo(b)) == ["at-2"] * 40
    assert machine.refreshes == 1  # a put it back through one refresh; b adopted it
    assert (await stored(store) or {})["refresh_token"] == "rt-2"
    assert events == [AuthEvent.TOKEN_REFRESHED]
    assert machine.app.stats["invalid_grant"] == 0
    for cb in machine.clients:
        await cb.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_file_store_shares_one_refresh_under_trio(tmp_path: Path) -> None:
    machine = file_machine(tmp_path / "s.json")
    a, b = await signed_in(machine)
    await echo(b)
    machine.advance(STALE)
    assert await gather(100, lambda: echo(a)) + await gather(100, lambda: echo(b)) == ["at-2"] * 200
    assert machine.refreshes == 1
    for cb in machine.clients:
        await cb.aclose()


# -- with_session ----------------------------------------------------------------------


async def test_with_session_keeps_each_users_session_under_its_key(machine: Machine) -> None:
    machine.app.add_user("+86 13900139000", name="Bob")
    cb = machine.process()
    ada, bob = cb.with_session("sid-ada"), cb.with_session("sid-bob")
    await ada.auth.sign_in_with_password(username="Ada", password="pw")
    await bob.auth.sign_in_with_password(username="Bob", password="pw")
    store = cb._manager.store
    assert (await stored(store, "session:sid-ada:" + KEY) or {})["user_id"] == "u-1"
    assert (await stored(store, "session:sid-bob:" + KEY) or {})["user_id"] == "u-2"
    assert await stored(store) is None  # the shared client stays signed out
    assert await cb.auth.get_session() is None
    assert await echo(cb.with_session("sid-ada")) == "at-1"
    assert await echo(cb.with_session("sid-bob")) == "at-2"
    # Each key is its own device (its own anonymous user).
    devices = {await store.get(f"session:{k}:device_id") for k in ("sid-ada", "sid-bob")}
    assert len(devices) == 2
    assert None not in devices


async def test_with_session_is_refreshed_once_across_processes(machine: Machine) -> None:
    first, second = machine.process(), machine.process()
    await first.with_session("sid-1").auth.sign_in_with_password(username="Ada", password="pw")
    # Past expiry: a session loaded with little time left is used a while first (its
    # margin is capped at half of what remains), so "stale" is set as expired here.
    machine.advance(EXPIRED)
    results = await gather(100, lambda: echo(first.with_session("sid-1"))) + await gather(
        100, lambda: echo(second.with_session("sid-1"))
    )
    assert results == ["at-2"] * 200
    assert machine.refreshes == 1


async def test_with_session_sign_out_deletes_the_key(machine: Machine) -> None:
    cb = machine.process()
    user = cb.with_session("sid-1")
    await user.auth.sign_in_with_password(username="Ada", password="pw")
    assert await cb._manager.store.get("session:sid-1:device_id") is not None
    await user.auth.sign_out()
    assert await cb._manager.store.get("session:sid-1:" + KEY) is None
    assert await cb._manager.store.get("session:sid-1:device_id") is None  # nothing left
    assert machine.app.stats["revoked"] == 1
    assert await cb.with_session("sid-1").auth.get_session() is None


async def test_with_session_copies_share_one_manager_while_in_use() -> None:
    cb = CloudBase(env="env-1", session_store=MemoryStore())
    first = cb.with_session("sid-1")
    assert cb.with_session("sid-1")._manager is first._manager
    assert cb.with_session("sid-2")._manager is not first._manager
    assert first.with_options(timeout=3).auth._bound
    assert first.with_options(timeout=3)._manager is first._manager
    assert first._transport.pool is cb._transport.pool
    manager_id = id(first._manager)
    del first
    gc.collect()
    assert len(cb._manager._family) == 0 or id(cb.with_session("sid-1")._manager) != manager_id
    await cb.aclose()


@pytest.mark.parametrize("key", ["", " sid", "sid\n", "a" * 257, "\x00"])
async def test_with_session_refuses_keys_it_cannot_keep(key: str) -> None:
    cb = CloudBase(env="env-1")
    with pytest.raises(InvalidRequestError):
        cb.with_session(key)
    with pytest.raises(InvalidRequestError, match="set_session"):
        cb.with_session(object())  # type: ignore[arg-type]
    await cb.aclose()


async def test_a_process_without_a_session_picks_up_a_sign_in_made_elsewhere(
    machine: Machine,
) -> None:
    a, b = machine.process(), machine.process()
    assert await b.auth.get_session() is None  # loaded: nobody signed in yet
    await a.auth.sign_in_with_password(username="Ada", password="pw")
    events: list[AuthEvent] = []
    b.auth.on_auth_state_change(lambda event, session: events.append(event))
    assert await b.auth.get_session() is None  # looked less than a second ago
    machine.advance(1.5)
    assert await echo(b) == "at-1"
    assert events == [AuthEvent.SIGNED_IN]


async def test_after_a_loss_an_outdated_copy_never_deletes_the_newest_session() -> None:
    """Redis dies after a took the lease and refreshed, before its write; it comes back
    empty. b, holding the older session, cannot put that back (its refresh token is
    used up): it gets a SessionStoreError and drops its copy, and a's newest session,
    written when the store answers again, is what b picks up."""
    machine = redis_machine()
    flaky = Flaky(machine.new_store())
    a = machine.process(store=flaky)
    b = machine.process()
    await a.auth.sign_in_with_password(username="Ada", password="pw")
    await echo(b)
    machine.advance(STALE)
    flaky.commits_fail = True
    assert await echo(a) == "at-2"  # refreshed; the write failed
    store = b._manager.store
    assert isinstance(store, RedisStore)
    await store._client.flushall()  # and Redis restarted empty
    flaky.commits_fail = False
    with pytest.raises(SessionStoreError, match="outdated"):
        await echo(b)
    assert b.auth._manager.current is None
    assert machine.app.stats["invalid_grant"] == 1  # b's try with the used token
    machine.advance(1.5)
    assert await echo(a) == "at-2"  # a writes its session back
    assert (await stored(store) or {})["refresh_token"] == "rt-2"
    assert await echo(b) == "at-2"  # and b picks it up
    assert machine.refreshes == 2
    for cb in machine.clients:
        await cb.aclose()


async def test_a_session_key_never_shows_in_reprs_or_errors(machine: Machine) -> None:
    cb = machine.process()
    user = cb.with_session("cookie-secret-123")
    await user.auth.sign_in_with_password(username="Ada", password="pw")
    shown = [repr(user), repr(user.auth), repr(user._manager), repr(user._manager._shared)]
    assert not [text for text in shown if "cookie-secret-123" in text or "at-1" in text]
    unreachable = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    other = machine.process(store=unreachable).with_session("cookie-secret-123")
    with pytest.raises(SessionStoreError) as info:
        await other.auth.get_session()
    assert "cookie-secret-123" not in str(info.value)
    assert "cookie-secret-123" not in repr(info.value)
    await unreachable.aclose()


async def test_n_waiters_in_one_process_make_one_flight_and_one_claim(machine: Machine) -> None:
    counting = Flaky(machine.new_store())
    cb = machine.process(store=counting)
    await cb.auth.sign_in_with_password(username="Ada", password="pw")
    counting.calls.clear()
    machine.advance(STALE)
    assert await gather(500, lambda: echo(cb)) == ["at-2"] * 500
    assert counting.calls == ["claim", "commit"]  # one round trip each, for all 500
    assert machine.refreshes == 1


async def test_an_anonymous_session_signs_in_again_once_for_every_process(
    machine: Machine,
) -> None:
    a, b = machine.process(), machine.process()
    first = await a.auth.sign_in_anonymously()
    await echo(b)
    machine.app.revoked.add(machine.app.refresh["rt-1"])  # its refresh token is refused
    machine.advance(STALE)
    events: list[AuthEvent] = []
    a.auth.on_auth_state_change(lambda event, session: events.append(event))
    assert await gather(50, lambda: echo(a)) + await gather(50, lambda: echo(b)) == ["at-2"] * 100
    assert machine.app.stats["sign_in"] == 2  # the first one, and one re-login for all
    assert machine.app.stats["refresh"] == 1
    again = await b.auth.get_session()
    assert again is not None
    assert again.user_id == first.user_id  # the same device id: the same anonymous user
    assert events == [AuthEvent.SIGNED_IN]


async def test_cancelling_the_lease_holders_caller_still_stores_the_rotated_session(
    machine: Machine,
) -> None:
    a, b = await signed_in(machine)
    await echo(b)
    machine.advance(STALE)
    machine.transport.gate = anyio.Event()
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(echo, a)  # takes the lease; its refresh waits at the server
            await refresh_waiting(machine)
            scope.cancel()  # the caller goes away while the server rotates the token
            machine.transport.gate.set()
    assert scope.cancelled_caught
    machine.transport.gate = None
    assert (await stored(a._manager.store) or {})["refresh_token"] == "rt-2"
    assert await echo(b) == "at-2"  # adopted: nothing was lost, no second refresh
    assert await echo(a) == "at-2"
    assert machine.refreshes == 1
