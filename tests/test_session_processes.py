"""Many processes, one session, against real servers: 8 worker processes x 25 concurrent
callers share one session through a real ``redis-server`` (or 4 through one FileStore),
over several expiry cycles, against a loopback auth server that enforces single-use
refresh tokens. Then the same with the lease holder killed (SIGKILL) in the middle of
its refresh, and with Redis restarted (empty) in the middle of the run.

Counts and outcomes are asserted, never timings: token lifetimes are short so that the
cycles fit in a few seconds, and everything else has generous margins (a loaded 2-core
machine runs these).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from cloudbase_async import CloudBase, FileStore, RedisStore, SessionStore
from tests.support.auth_server import AuthServer
from tests.support.fleet import fleet
from tests.support.redis import RedisServer, redis_or_skip
from tests.support.server import serve

pytestmark = pytest.mark.integration

LIFETIME = 1.5  # access token lifetime, seconds
MARGIN = 0.5  # refresh this long before expiry: one refresh per second
PERIOD = LIFETIME - MARGIN
CYCLES = 3
KEY = "credentials_env-1"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with redis_or_skip() as server:
        yield server


@pytest.fixture
def auth() -> Iterator[tuple[AuthServer, str]]:
    app = AuthServer(lifetime=LIFETIME, grace=2.0)
    app.add_user("+86 13800138000", name="Ada")
    with serve(app) as url:
        yield app, url


def sign_in(url: str, store: SessionStore) -> None:
    """Sign in once (in this process), leaving the session in the shared store."""

    async def main() -> None:
        async with CloudBase(env="env-1", base_url=url, session_store=store) as cb:
            await cb.auth.sign_in_with_password(username="Ada", password="pw")
        if isinstance(store, RedisStore):
            await store.aclose()

    anyio.run(main)


def stored_refresh_token(store: SessionStore) -> str | None:
    async def main() -> str | None:
        raw = await store.get(KEY)
        if isinstance(store, RedisStore):
            await store.aclose()
        return None if raw is None else str(json.loads(raw)["refresh_token"])

    return anyio.run(main)


def assert_all_succeeded(results: list[dict[str, Any]], workers: int) -> None:
    assert len(results) == workers
    for result in results:
        assert result["failures"] == {}, result["samples"]
        assert result["calls"] > 0


def assert_one_session(app: AuthServer, store: SessionStore, duration: float) -> None:
    cycles = duration / PERIOD
    assert app.stats["invalid_grant"] == 0, app.stats
    assert app.stats["auth_call_with_authorization"] == 0
    assert app.stats["refresh"] <= cycles + 2, app.stats
    # Nothing lost: the stored session is the newest one the server knows.
    assert stored_refresh_token(store) in app.live_refresh_tokens()


def test_8_processes_x_25_callers_share_one_session_through_redis(
    redis_server: RedisServer, auth: tuple[AuthServer, str]
) -> None:
    app, url = auth
    duration = CYCLES * PERIOD
    with fleet(8, url, redis_server.url, duration=duration, margin=MARGIN) as workers:
        sign_in(url, RedisStore.from_url(redis_server.url))
        workers.go()
        results = workers.results()
    assert_all_succeeded(results, 8)
    assert app.stats["refresh"] >= CYCLES - 1, app.stats  # refreshed ahead, each cycle
    assert_one_session(app, RedisStore.from_url(redis_server.url), duration)


def test_the_lease_holder_killed_mid_refresh_another_process_takes_over(
    redis_server: RedisServer, auth: tuple[AuthServer, str]
) -> None:
    app, url = auth
    duration = 6.0  # the first refresh stalls; the lease (3.5 s) runs out; 2 more cycles
    with fleet(8, url, redis_server.url, duration=duration, margin=MARGIN) as workers:
        sign_in(url, RedisStore.from_url(redis_server.url))
        app.stall_next_refresh()
        workers.go()
        assert app.stalled.wait(30), "no refresh arrived"
        holder = int(app.stalled_worker or 0)
        assert holder in workers.pids
        os.kill(holder, signal.SIGKILL)
        results = workers.results()
    assert app.stats["abandoned"] == 1  # its refresh never reached the token logic
    assert_all_succeeded(results, 7)
    assert holder not in [r["pid"] for r in results]
    assert app.stats["refresh"] >= 1
    assert_one_session(app, RedisStore.from_url(redis_server.url), duration)


def test_4_processes_share_one_session_through_a_file_store(
    tmp_path: Path, auth: tuple[AuthServer, str]
) -> None:
    app, url = auth
    path = tmp_path / "session.json"
    duration = CYCLES * PERIOD
    with fleet(4, url, f"file:{path}", duration=duration, margin=MARGIN) as workers:
        sign_in(url, FileStore(path))
        workers.go()
        results = workers.results()
    assert_all_succeeded(results, 4)
    assert app.stats["refresh"] >= CYCLES - 1, app.stats
    assert_one_session(app, FileStore(path), duration)


def test_the_file_store_lease_holder_killed_mid_refresh(
    tmp_path: Path, auth: tuple[AuthServer, str]
) -> None:
    app, url = auth
    path = tmp_path / "session.json"
    duration = 6.0
    with fleet(4, url, f"file:{path}", duration=duration, margin=MARGIN) as workers:
        sign_in(url, FileStore(path))
        app.stall_next_refresh()
        workers.go()
        assert app.stalled.wait(30), "no refresh arrived"
        os.kill(int(app.stalled_worker or 0), signal.SIGKILL)
        results = workers.results()
    assert app.stats["abandoned"] == 1
    assert_all_succeeded(results, 3)
    assert_one_session(app, FileStore(path), duration)


def test_redis_restarted_mid_run_only_refreshes_fail_and_everything_recovers(
    redis_server: RedisServer, auth: tuple[AuthServer, str]
) -> None:
    app, url = auth
    duration = 6.0
    with fleet(8, url, redis_server.url, duration=duration, margin=MARGIN) as workers:
        sign_in(url, RedisStore.from_url(redis_server.url))
        workers.go()
        # Right after the first refresh was stored, Redis goes away for longer than
        # the rest of the token's life, and comes back empty.
        deadline = time.monotonic() + 30
        while app.stats["refresh"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        down_at = time.monotonic() - workers.started
        redis_server.restart(down_for=1.5)
        up_at = time.monotonic() - workers.started
        results = workers.results()
    assert len(results) == 8
    for result in results:
        # Only calls that needed the store failed, with the typed error, and only
        # while Redis was away or just back; then every worker went on.
        assert set(result["failures"]) <= {"SessionStoreError"}, result["samples"]
        for at, message in result["samples"]:
            assert down_at - 0.5 <= at <= up_at + 3.0, (down_at, up_at, at, message)
        if result["last_failure"] is not None:
            assert result["last_failure"] <= up_at + 3.0, (up_at, result)
        assert result["ok_since_failure"] > 0
        assert result["calls"] > 0
    assert app.stats["invalid_grant"] == 0, app.stats
    # The session went back into the empty Redis and is the newest one.
    assert stored_refresh_token(RedisStore.from_url(redis_server.url)) in (
        app.live_refresh_tokens()
    )
