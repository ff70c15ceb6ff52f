"""The shared-store protocol (leases, compare-and-set, waiting, epochs), the same for
every store that implements it: RedisStore on fakeredis and on a real redis-server, and
FileStore. Store-specific behaviour follows the contract tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import fakeredis
import pytest
import redis.asyncio as aioredis

from cloudbase_async import (
    CloudBaseError,
    ConfigurationError,
    FileStore,
    RedisStore,
    SessionStore,
    SessionStoreError,
    SharedSessionStore,
)
from tests.support.redis import RedisServer, free_port, redis_or_skip

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
# Store timeout for these tests: a lease lasts ttl + timeout + 1 s of slack.
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with redis_or_skip() as server:
        yield server


@pytest.fixture(params=["fakeredis", "redis", "file"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SharedSessionStore]:
    if request.param == "file":
        yield FileStore(tmp_path / "s.json", timeout=TIMEOUT)
        return
    if request.param == "fakeredis":
        client = fakeredis.FakeAsyncRedis()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = aioredis.from_url(server.url)  # type: ignore[assignment]
        await client.flushall()
    try:
        yield RedisStore(client, timeout=TIMEOUT)
    finally:
        await client.aclose()


async def test_it_is_a_shared_session_store(store: SharedSessionStore) -> None:
    assert isinstance(store, SessionStore)
    assert isinstance(store, SharedSessionStore)


async def test_plain_get_set_delete(store: SharedSessionStore) -> None:
    assert await store.get("k") is None
    await store.set("k", '{"a": "é"}')
    assert await store.get("k") == '{"a": "é"}'
    await store.delete("k")
    await store.delete("k")
    assert await store.get("k") is None


async def test_one_lease_at_a_time(store: SharedSessionStore) -> None:
    first = await store.claim("k", None, 5.0)
    assert first.value is None
    assert first.lease is not None
    second = await store.claim("k", None, 5.0)
    assert second.lease is None
    assert 4.0 < second.held_for <= 5.0 + TIMEOUT + 1.0
    assert first.epoch == second.epoch
    # The lease outlives the refresh it is for (ttl) by the store's own bound and slack.
    assert second.held_for > 5.0


async def test_a_claim_on_a_value_that_moved_on_takes_no_lease(store: SharedSessionStore) -> None:
    await store.set("k", "new")
    state = await store.claim("k", "old", 5.0)
    assert (state.value, state.lease) == ("new", None)
    assert (await store.claim("k", "new", 5.0)).lease is not None


async def test_commit_is_a_compare_and_set_that_releases_the_lease(
    store: SharedSessionStore,
) -> None:
    await store.set("k", "v0")
    lease = (await store.claim("k", "v0", 5.0)).lease
    assert lease is not None
    late = await store.commit("k", "older", "v-late", None)
    assert not late.written
    assert late.value == "v0"
    done = await store.commit("k", "v0", "v1", lease)
    assert done.written
    assert done.value == "v1"
    assert await store.get("k") == "v1"
    # Released: the next claim (on the new value) gets the lease at once.
    assert (await store.claim("k", "v1", 5.0)).lease is not None
    # A writer that started from v0 can never replace v1.
    assert not (await store.commit("k", "v0", "v0-again", None)).written
    assert await store.get("k") == "v1"


async def test_commit_can_delete_and_expect_absence(store: SharedSessionStore) -> None:
    assert (await store.commit("k", None, "v", None)).written  # set if absent
    assert not (await store.commit("k", None, "other", None)).written
    gone = await store.commit("k", "v", None, None)
    assert gone.written
    assert gone.value is None
    assert await store.get("k") is None


async def test_a_deferred_deletion_waits_for_another_holder(store: SharedSessionStore) -> None:
    await store.set("k", "v0")
    holder = (await store.claim("k", "v0", 5.0)).lease
    assert holder is not None
    deferred = await store.commit("k", "v0", None, "not-the-holder", defer=True)
    assert not deferred.written
    assert deferred.held_for > 0
    assert await store.get("k") == "v0"
    # Fresh tokens are written whoever holds the lease (they are valid either way).
    assert (await store.commit("k", "v0", "v1", "not-the-holder")).written
    # The holder still holds its lease: only its own token releases it.
    assert (await store.claim("k", "v1", 5.0)).lease is None
    await store.release("k", "not-the-holder")
    assert (await store.claim("k", "v1", 5.0)).lease is None
    await store.release("k", holder)
    assert (await store.claim("k", "v1", 5.0)).lease is not None


async def test_a_lease_expires_by_itself(store: SharedSessionStore) -> None:
    assert (await store.claim("k", None, 0.01)).lease is not None
    held = await store.claim("k", None, 0.01)
    assert held.lease is None
    await anyio.sleep(held.held_for + 0.05)
    assert (await store.claim("k", None, 0.01)).lease is not None


async def test_wait_returns_when_the_holder_commits(store: SharedSessionStore) -> None:
    await store.set("k", "v0")
    lease = (await store.claim("k", "v0", 5.0)).lease
    assert lease is not None
    woke_after: list[float] = []

    async def waiter() -> None:
        started = time.monotonic()
        await store.wait("k", "v0", 10.0)
        woke_after.append(time.monotonic() - started)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.2)
        assert not woke_after
        await store.commit("k", "v0", "v1", lease)
    assert woke_after[0] < 5.0  # not the lease's end, nor the timeout


async def test_wait_returns_at_once_when_nothing_is_held(store: SharedSessionStore) -> None:
    await store.set("k", "v0")
    with anyio.fail_after(5):
        await store.wait("k", "v0", 30.0)  # no lease
        await store.wait("k", "other", 30.0)  # the value moved on


async def test_wait_gives_up_after_its_timeout(store: SharedSessionStore) -> None:
    assert (await store.claim("k", None, 30.0)).lease is not None
    started = time.monotonic()
    await store.wait("k", None, 0.3)
    assert 0.25 <= time.monotonic() - started < 10


async def test_snapshot_reads_the_value_and_a_stable_epoch(store: SharedSessionStore) -> None:
    await store.set("k", "v")
    first = await store.snapshot("k")
    assert first.value == "v"
    assert first.epoch
    assert (await store.snapshot("other")).epoch == first.epoch
    assert (await store.commit("k", "v", "w", None)).epoch == first.epoch


# -- RedisStore ------------------------------------------------------------------------


async def test_redis_keys_live_under_the_prefix() -> None:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    store = RedisStore(client, prefix="app1:")
    await store.set("credentials_env-1", "{}")
    lease = (await store.claim("credentials_env-1", "{}", 5.0)).lease
    assert sorted(await client.keys("*")) == [
        "app1:credentials_env-1",
        "app1:epoch",
        "app1:lease:credentials_env-1",
    ]
    assert await client.get("app1:lease:credentials_env-1") == lease
    assert 5000 < await client.pttl("app1:lease:credentials_env-1") <= 8000
    other = RedisStore(client, prefix="app2:")
    assert await other.get("credentials_env-1") is None


async def test_redis_losing_its_data_changes_the_epoch() -> None:
    client = fakeredis.FakeAsyncRedis()
    store = RedisStore(client)
    await store.set("k", "v")
    before = await store.snapshot("k")
    await client.flushall()  # what a restart without persistence leaves
    after = await store.snapshot("k")
    assert after.value is None
    assert after.epoch != before.epoch
    assert (await store.snapshot("k")).epoch == after.epoch


async def test_redis_unreachable_is_a_session_store_error_within_the_timeout() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    started = time.monotonic()
    for operation in (store.get("k"), store.claim("k", None, 1.0), store.set("k", "v")):
        with pytest.raises(SessionStoreError) as info:
            await operation
        assert isinstance(info.value, CloudBaseError)
        assert info.value.__cause__ is not None
    assert time.monotonic() - started < 5
    await store.aclose()
    await store.aclose()


async def test_redis_that_never_answers_is_bounded_by_the_timeout() -> None:
    # A listener that accepts and says nothing: only the store's own bound ends the wait.
    with _silent_listener() as port:
        client = aioredis.from_url(f"redis://127.0.0.1:{port}/0")  # no socket timeouts
        store = RedisStore(client, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(SessionStoreError, match="did not answer"):
            await store.get("k")
        assert time.monotonic() - started < 3
        await client.aclose()


async def test_redis_from_url_refuses_a_bad_url_without_quoting_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisStore.from_url("http://user:s3cret@host/0")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigurationError):
        RedisStore(fakeredis.FakeAsyncRedis(), timeout=0)


async def test_redis_repr_shows_no_connection_details() -> None:
    store = RedisStore.from_url("redis://:s3cret@127.0.0.1:1/0")
    assert repr(store) == "RedisStore(prefix='cloudbase:')"
    await store.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_redis_under_trio_says_it_needs_asyncio() -> None:
    store = RedisStore(fakeredis.FakeAsyncRedis())
    with pytest.raises(SessionStoreError, match="asyncio only"):
        await store.get("k")


def _silent_listener() -> Any:
    import contextlib
    import socket

    @contextlib.contextmanager
    def listener() -> Iterator[int]:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        try:
            yield sock.getsockname()[1]
        finally:
            sock.close()

    return listener()


# -- FileStore -------------------------------------------------------------------------

_WRITER = """
import sys, anyio
from cloudbase_async import FileStore

async def main(path, worker):
    store = FileStore(path)
    for i in range(20):
        await store.set(f"w{worker}-{i}", str(i))

anyio.run(main, sys.argv[1], sys.argv[2])
"""


def test_file_store_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(w)],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for w in range(4)
    ]
    for writer in writers:
        assert writer.wait(120) == 0
    data = json.loads(path.read_text())
    assert len(data) == 80
    assert data == {f"w{w}-{i}": str(i) for w in range(4) for i in range(20)}


async def test_file_store_sees_another_processes_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    mine, theirs = FileStore(path), FileStore(path)
    await mine.set("k", "1")
    assert await theirs.get("k") == "1"
    await theirs.set("k", "2")
    await theirs.set("other", "x")
    assert await mine.get("k") == "2"  # re-read: the file was replaced
    await mine.delete("other")
    assert await theirs.get("other") is None
    assert await theirs.get("k") == "2"


async def test_file_store_lock_wait_is_bounded(tmp_path: Path) -> None:
    import fcntl
    import os

    store = FileStore(tmp_path / "s.json", timeout=0.3)
    await store.set("k", "v")
    fd = os.open(tmp_path / "s.json.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process sits on the lock
    try:
        started = time.monotonic()
        with pytest.raises(SessionStoreError, match="held the lock"):
            await store.set("k", "w")
        assert time.monotonic() - started < 5
        assert await store.get("k") == "v"  # reads need no lock
    finally:
        os.close(fd)
    await store.set("k", "w")


async def test_file_store_damaged_lease_records_count_as_free(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s.json")
    assert (await store.claim("k", None, 5.0)).lease is not None
    (tmp_path / "s.json.lock").write_bytes(b'{"k": {"token": "x", "unt')  # died mid-write
    assert (await store.claim("k", None, 5.0)).lease is not None


async def test_file_store_lease_set_far_in_the_future_counts_as_free(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s.json")
    record = {"k": {"token": "x", "until": time.time() + 3600, "span": 10.0}}
    (tmp_path / "s.json.lock").write_text(json.dumps(record))  # the clock was set back
    assert (await store.claim("k", None, 5.0)).lease is not None


async def test_redis_store_from_url_reconnects_after_a_restart(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url, timeout=1.0)
    await store.set("k", "v")
    before = await store.snapshot("k")
    await anyio.to_thread.run_sync(redis_server.restart)
    # The pooled connection died with the old server: the next call reconnects.
    after = await store.snapshot("k")
    assert after.value is None
    assert after.epoch != before.epoch
    await store.set("k", "w")
    assert await store.get("k") == "w"
    await store.aclose()


def test_cloudbase_async_imports_without_redis() -> None:
    # As if redis-py were not installed: importing the SDK must not need it, and only
    # making a RedisStore says what to install.
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import cloudbase_async\n"
        "from cloudbase_async import ConfigurationError, RedisStore\n"
        "assert 'redis.asyncio' not in sys.modules\n"
        "try:\n"
        "    RedisStore.from_url('redis://127.0.0.1:1/0')\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'cloudbase-async[redis]'" in done.stdout
