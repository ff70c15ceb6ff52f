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

import attrs
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings, strategies as st

from cloudbase_async import CloudBase
from cloudbase_async.local._identity import Caller
from cloudbase_async.local.rdb import RdbEngine
from cloudbase_async.rdb import filters as f
from tests.local.rdb_corpus import corpus
from tests.local.rdb_harness import (
    USER_TOKEN,
    Call,
    Case,
    Side,
    answer,
    engine_server,
    postgrest_or_skip,
    refusal_problem,
)
from tests.local.rdb_schema import ENGINE_SCHEMA, POSTGRES_SCHEMA

pytestmark = [pytest.mark.integration]


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
def sides() -> Iterator[Sides]:
    """Both servers, and clients open on one event loop in a background thread (so the
    sync Hypothesis tests reuse connections instead of opening clients per example)."""
    with postgrest_or_skip(POSTGRES_SCHEMA) as postgrest:
        engine = RdbEngine(schema=ENGINE_SCHEMA)
        register_functions(engine)
        try:
            with engine_server(engine) as url, start_blocking_portal() as portal:
                ours_cm = portal.wrap_async_context_manager(Side(url, USER_TOKEN).open())
                theirs_cm = portal.wrap_async_context_manager(
                    Side(postgrest.url, postgrest.token()).open()
                )
                with ours_cm as ours, theirs_cm as theirs:
                    yield Sides(portal, ours, theirs)
        finally:
            engine.close()


@attrs.frozen
class Sides:
    portal: BlockingPortal
    ours: Side
    theirs: Side

    def difference(self, case: Case) -> str | None:
        return self.portal.call(_compare, case, self.ours, self.theirs)


async def _compare(case: Case, ours: Side, theirs: Side) -> str | None:
    """Why ``case`` is answered differently (None when it is not)."""
    mine = await ours.run(case.call, case.role)
    if case.refused is not None:
        problem = refusal_problem(mine, case.refused)
        return None if problem is None else f"{case.name}: not refused: {problem}"
    real = await theirs.run(case.call, case.role)
    expected, got = answer(real, case.compare), answer(mine, case.compare)
    if expected != got:
        return f"{case.name}:\n  postgrest: {expected}\n  engine:    {got}"
    return None


def test_corpus_matches_postgrest(sides: Sides) -> None:
    cases = corpus()
    assert len(cases) >= 200
    problems = [problem for case in cases if (problem := sides.difference(case))]
    assert not problems, f"{len(problems)} of {len(cases)} differ:\n" + "\n".join(problems)


# --- generated filter values ----------------------------------------------------------

# PostgREST's grammar characters, mixed case, and letters whose case rules differ.
_ALPHABET = "aAzZ09 ,()\".:\\%_*'-+eéÉßẞΣσςİı张🙂\t"  # noqa: RUF001
_TEXT = st.text(alphabet=_ALPHABET, max_size=8)
_NUMBERISH = st.text(alphabet="0123456789 +-.eE", max_size=8) | st.integers().map(str)


def _name_filter(op: str, value: Any) -> Call:
    def call(cb: CloudBase) -> Any:
        query = cb.rdb.table("people").select("id,name").order("id")
        if op == "in":
            return query.in_("name", value).execute()
        if op == "or":
            return query.or_(f.eq("name", value[0]), f.like("name", value[1])).execute()
        return query.filter("name", op, value).execute()

    return call


def _typed_filter(column: str, op: str, value: str) -> Call:
    def call(cb: CloudBase) -> Any:
        return (
            cb.rdb.table("people")
            .select(f"id,{column}")
            .filter(column, op, value)
            .order("id")
            .execute()
        )

    return call


def _same(sides: Sides, call: Call) -> None:
    problem = sides.difference(Case("generated", call))
    assert problem is None, problem


_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(
    op=st.sampled_from(["eq", "neq", "lt", "gte", "like", "ilike"]),
    value=_TEXT,
)
def test_generated_text_filters(sides: Sides, op: str, value: str) -> None:
    _same(sides, _name_filter(op, value))


@_SETTINGS
@given(values=st.lists(_TEXT, min_size=1, max_size=3), pair=st.tuples(_TEXT, _TEXT))
def test_generated_lists_and_trees(sides: Sides, values: list[str], pair: tuple[str, str]) -> None:
    _same(sides, _name_filter("in", values))
    _same(sides, _name_filter("or", pair))


@_SETTINGS
@given(
    column=st.sampled_from(["age", "score", "ratio", "weight"]),
    op=st.sampled_from(["eq", "gt", "lte"]),
    value=_NUMBERISH,
)
def test_generated_numbers(sides: Sides, column: str, op: str, value: str) -> None:
    _same(sides, _typed_filter(column, op, value))


_WORDS = st.text(
    alphabet=st.characters(
        categories=["Lu", "Ll", "Lt", "Lm", "Nd", "Zs", "Po"], exclude_characters="\x00"
    ),
    min_size=1,
    max_size=6,
)


def _scratch_insert(value: str) -> Call:
    return lambda cb: (
        cb.rdb.table("scratch").insert({"value": value}, returning="representation").execute()
    )


def _scratch_find(op: str, pattern: str) -> Call:
    return lambda cb: (
        cb.rdb.table("scratch")
        .select("id,value")
        .filter("value", op, pattern)
        .order("id")
        .execute()
    )


@_SETTINGS
@given(value=_WORDS, other=_TEXT)
def test_generated_case_folding(sides: Sides, value: str, other: str) -> None:
    """Whatever is stored is found again by ``ilike`` in any case, and compared and
    sorted the same way on both sides."""
    _same(sides, _scratch_insert(value))
    for pattern in (value.upper(), value.lower(), value.swapcase(), f"*{other}*"):
        _same(sides, _scratch_find("ilike", pattern.replace("\\", "\\\\")))
    _same(sides, _scratch_find("gt", value))
    _same(sides, lambda cb: cb.rdb.table("scratch").select("value").order("value").execute())
