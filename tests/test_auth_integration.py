"""Real HTTP on loopback against a tiny auth server that enforces what CloudBase does:
single-use refresh tokens and short-lived access tokens (``tests/support/auth_server``)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import anyio
import pytest

from cloudbase_async import CloudBase
from cloudbase_async._core.transport import Request
from tests.support.auth_server import AuthServer
from tests.support.pool import checked_out
from tests.support.server import serve

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

# Seconds. Short, so several expiry cycles fit in a short test.
ACCESS_LIFETIME = 1.0
REFRESH_MARGIN = 0.4
# The server still accepts an access token this long after its expiry. Loopback latency
# on a busy shared 2-core machine (client and server share one interpreter here) reaches
# a second at p99.9, and more under stress-ng, so a token chosen in time can arrive late;
# the client's proactive refresh is proven by the refresh count instead. Refresh tokens
# get no grace at all.
ACCESS_GRACE = 4.0
CALLERS = 200


@pytest.fixture
def server() -> Iterator[tuple[AuthServer, str]]:
    app = AuthServer(lifetime=ACCESS_LIFETIME, grace=ACCESS_GRACE)
    with serve(app) as url:
        yield app, url


async def test_200_callers_over_several_expiry_cycles_never_see_invalid_grant(
    server: tuple[AuthServer, str],
) -> None:
    app, url = server
    failures: list[BaseException] = []
    calls = 0
    duration = 3 * ACCESS_LIFETIME
    # Default pool limits: calls beyond 100 wait in the admission line, and the refresh
    # must get through that line too.
    async with CloudBase(env="env-1", base_url=url, refresh_margin=REFRESH_MARGIN) as cb:
        await cb.auth.sign_in_anonymously()
        deadline = time.monotonic() + duration

        async def caller() -> None:
            nonlocal calls
            rng = random.Random()
            await anyio.sleep(rng.uniform(0, 0.3))  # callers do not start in lockstep
            while time.monotonic() < deadline:
                try:
                    await cb._transport.send(Request("POST", "functions", "/echo", json={}))
                    calls += 1
                except Exception as exc:
                    failures.append(exc)
                await anyio.sleep(rng.uniform(0.3, 0.6))

        async with anyio.create_task_group() as tg:
            for _ in range(CALLERS):
                tg.start_soon(caller)
        assert checked_out(cb) == 0

    assert failures == [], app.stats
    assert app.stats["invalid_grant"] == 0
    assert app.stats["auth_call_with_authorization"] == 0
    cycles = duration / ACCESS_LIFETIME
    # Refreshed ahead of expiry in every cycle, and only about once per cycle.
    assert cycles - 1 <= app.stats["refresh"] <= 2 * cycles + 2, app.stats
    # Every caller got through at least once (how many times depends on the machine).
    assert app.stats["ok"] == calls >= CALLERS
