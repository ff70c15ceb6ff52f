"""pytest fixtures for testing code that uses CloudBase, against the local gateway.

Installed with the package (entry point ``pytest11``); it imports nothing heavy until a
test asks for a fixture.

* ``cloudbase_local``: a :class:`~cloudbase_async.local.LocalCloudBase`, running, with
  nothing in it: no users, data, functions, CloudRun apps, fault rules or AI script
  (one server per test session, reset before each test).
* ``cloudbase``: a :class:`~cloudbase_async.CloudBase` on it with the API key, closed
  after the test. It is an async fixture: use it in ``@pytest.mark.anyio`` tests.
* ``cloudbase_local_options``: override it (session scope) to pass options to the
  gateway, e.g. ``{"verification_code": "123456"}``.

::

    @pytest.mark.anyio
    async def test_checkout(cloudbase_local, cloudbase):
        @cloudbase_local.function("charge")
        def charge(event, context):
            return {"ok": True}

        assert await cloudbase.functions.invoke("charge", {}) == {"ok": True}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .. import CloudBase
    from ._handle import LocalCloudBase

__all__ = ["cloudbase", "cloudbase_local", "cloudbase_local_options"]


@pytest.fixture(scope="session")
def cloudbase_local_options() -> dict[str, Any]:
    """Keyword arguments for the session's ``LocalCloudBase`` (override to change)."""
    return {}


@pytest.fixture(scope="session")
def _cloudbase_local_server(cloudbase_local_options: dict[str, Any]) -> Iterator[LocalCloudBase]:
    from ._handle import LocalCloudBase

    with LocalCloudBase(**cloudbase_local_options) as local:
        yield local


@pytest.fixture
def cloudbase_local(_cloudbase_local_server: LocalCloudBase) -> LocalCloudBase:
    """The local gateway, empty: state from earlier tests is gone."""
    _cloudbase_local_server.reset(registrations=True)
    return _cloudbase_local_server


@pytest.fixture
async def cloudbase(
    cloudbase_local: LocalCloudBase, anyio_backend: Any
) -> AsyncIterator[CloudBase]:
    """A client on ``cloudbase_local`` with its API key (administrator)."""
    async with cloudbase_local.client() as client:
        yield client
