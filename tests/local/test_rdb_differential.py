"""The local rdb engine answers as PostgREST 12 over PostgreSQL 15 does.

Every request of the corpus (``rdb_corpus.py``) goes through this SDK to both servers,
in order, and the answers must be identical: status, ``Content-Range``,
``Preference-Applied``, ``Content-Type`` and body (rows in order, number text and key
order included). Requests the engine refuses must get its 400 naming the feature.
Hypothesis then throws generated filter values at both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudbase_async.local._identity import Caller
from cloudbase_async.local.rdb import RdbEngine
from tests.local.rdb_corpus import corpus
from tests.local.rdb_harness import (
    USER_TOKEN,
    Side,
    answer,
    refusal_problem,
    engine_server,
    postgrest_or_skip,
)
from tests.local.rdb_schema import ENGINE_SCHEMA, POSTGRES_SCHEMA

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def register_functions(engine: RdbEngine) -> None:
    """The Python twins of the SQL functions PostgreSQL gets in ``rdb_schema``."""

    @engine.function("add_numbers")
    def add_numbers(args: dict[str, Any], caller: Caller) -> int:
        return int(args["a"]) + int(args["b"])

    @engine.function("squares")
    async def squares(args: dict[str, Any], caller: Caller) -> list[dict[str, Any]]:
        n = int(args["n"])
        return [{"i": i, "sq": i * i, "label": f"#{i}"} for i in range(1, n + 1)]


@pytest.fixture(scope="module")
def sides() -> Iterator[tuple[Side, Side]]:
    with postgrest_or_skip(POSTGRES_SCHEMA) as postgrest:
        engine = RdbEngine(schema=ENGINE_SCHEMA)
        register_functions(engine)
        try:
            with engine_server(engine) as url:
                yield Side(url, USER_TOKEN), Side(postgrest.url, postgrest.token())
        finally:
            engine.close()


async def test_corpus_matches_postgrest(sides: tuple[Side, Side]) -> None:
    ours, theirs = sides
    cases = corpus()
    assert len(cases) >= 200
    mismatches = []
    for case in cases:
        mine = await ours.run(case.call, case.role)
        if case.refused is not None:
            problem = refusal_problem(mine, case.refused)
            if problem is not None:
                mismatches.append(f"{case.name}: not refused naming {case.refused!r}: {problem}")
            continue
        real = await theirs.run(case.call, case.role)
        expected, got = answer(real, case.compare), answer(mine, case.compare)
        if expected != got:
            mismatches.append(f"{case.name}:\n  postgrest: {expected}\n  engine:    {got}")
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(mismatches)
