"""What every test module shares.

* ``anyio_backend``: tests marked ``anyio`` run on asyncio; a module (or test) also
  marked ``both_backends`` runs on asyncio and trio.
* ``backoff`` (autouse): the transport's retry backoff is recorded instead of waited
  out, so retry tests never sleep; the fixture's value is the list of delays asked for.
  Mark a test ``real_backoff`` when it must really wait (a Retry-After measured from
  outside the SDK).
* ``mock``: a respx router for the test (unmatched calls fail; unused routes do not).

Under ``CI`` Hypothesis tries the same examples on every run (``derandomize``), so a
red CI always means the change, never a newly drawn example; runs elsewhere draw fresh
examples and keep what fails in ``.hypothesis/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import anyio.lowlevel
import pytest
import respx
from hypothesis import settings

from cloudbase_async._core import transport

BACKENDS = ("asyncio", "trio")

settings.register_profile("cloudbase-ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("cloudbase-ci")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    definition = metafunc.definition
    chosen = any(
        "anyio_backend" in str(mark.args[0]) for mark in definition.iter_markers("parametrize")
    )
    if (
        "anyio_backend" in metafunc.fixturenames
        and definition.get_closest_marker("both_backends")
        and not chosen  # a test that names its backend itself keeps that choice
    ):
        metafunc.parametrize("anyio_backend", BACKENDS)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    if request.node.get_closest_marker("real_backoff") is None:

        async def record(seconds: float) -> None:
            recorded.append(seconds)
            await anyio.lowlevel.checkpoint()

        monkeypatch.setattr(transport, "_backoff", record)
    return recorded


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router
