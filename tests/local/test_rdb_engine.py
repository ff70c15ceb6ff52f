"""What only the engine does (no PostgREST to compare with): roles, ``_openid``, what the
js-sdk sends, CloudBase's path form, persistence, reset, Python rpc functions, the
route layer. Through real HTTP on loopback where HTTP is the point."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from cloudbase_async import CloudBase, PermissionDeniedError
from cloudbase_async.local._identity import Caller
from cloudbase_async.local.rdb import (
    UNSUPPORTED_CODE,
    RdbEngine,
    RdbError,
    RdbRequest,
    RdbSchemaError,
)
from tests.local.rdb_harness import engine_server

pytestmark = pytest.mark.anyio

SCHEMA = """
CREATE TABLE notes (
    id serial PRIMARY KEY,
    body text NOT NULL,
    _openid text,
    created timestamptz DEFAULT now(),
    token uuid DEFAULT gen_random_uuid()
);
CREATE SCHEMA other;
CREATE TABLE other.notes (id serial PRIMARY KEY, body text);
CREATE TABLE "a/b" (id int PRIMARY KEY);
INSERT INTO notes (body) VALUES ('seed');
INSERT INTO "a/b" VALUES (1);
"""

USER = Caller("user", uid="u-42")
ADMIN = Caller("admin")


@pytest.fixture
def engine() -> Iterator[RdbEngine]:
    engine = RdbEngine(schema=SCHEMA)
    yield engine
    engine.close()


@pytest.fixture
def url(engine: RdbEngine) -> Iterator[str]:
    with engine_server(engine) as endpoint:
        yield endpoint


@pytest.fixture
async def http(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def _call(engine: RdbEngine, method: str, path: str, query: str = "", **kw: Any) -> Any:
    kw.setdefault("caller", ADMIN)
    return await engine.handle(RdbRequest(method, path, query, **kw))


def _sync(engine: RdbEngine, method: str, path: str, query: str = "", **kw: Any) -> Any:
    return anyio.run(functools.partial(_call, engine, method, path, query, **kw))


async def test_users_get_their_openid_and_anon_cannot_write(url: str) -> None:
    async with CloudBase(env="t", endpoints={"rdb": url}, access_token="user-u-42") as cb:
        created = (
            await cb.rdb.table("notes")
            .insert({"body": "mine", "_openid": "forged"}, returning="representation")
            .single()
            .execute()
        )
        assert created.data["_openid"] == "u-42"  # set from the token, not the body
        assert created.data["created"].endswith("+00:00")
        assert len(created.data["token"]) == 36
    async with CloudBase(env="t", endpoints={"rdb": url}) as anon:
        rows = await anon.rdb.table("notes").select("body").order("id").execute()
        assert [r["body"] for r in rows.data] == ["seed", "mine"]
        with pytest.raises(PermissionDeniedError) as denied:
            await anon.rdb.table("notes").insert({"body": "x"}).execute()
        assert (denied.value.status_code, denied.value.code) == (401, "42501")
    async with CloudBase(env="t", endpoints={"rdb": url}, access_token="admin") as admin:
        row = (
            await admin.rdb.table("notes")
            .insert({"body": "by admin", "_openid": "kept"}, returning="representation")
            .single()
            .execute()
        )
        assert row.data["_openid"] == "kept"


async def test_what_the_js_sdk_sends_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/notes",
        content=b'{"body": "js"}',
        headers={
            "Authorization": "Bearer user-u-1",
            "Content-Type": "application/json, application/json",
            "X-Db-Instance": "default",
            "Content-Profile": "public",
            "Prefer": "return=representation",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()[0]["body"] == "js"


async def test_schema_in_the_path_and_names_with_slashes(http: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer admin"}
    assert (await http.post("/other/notes", json={"body": "o"}, headers=headers)).status_code == 201
    found = await http.get("/other/notes", params={"select": "body"}, headers=headers)
    assert found.json() == [{"body": "o"}]
    assert (await http.get("/a%2Fb", headers=headers)).json() == [{"id": 1}]
    unknown = await http.get("/nope/notes", headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (406, "PGRST106")
    assert unknown.json()["message"] == "The schema must be one of the following: public, other"


async def test_bad_credentials_answer_pgrst301(http: httpx.AsyncClient) -> None:
    response = await http.get("/notes", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "PGRST301"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_head_and_folded_prefer_headers(http: httpx.AsyncClient) -> None:
    headers = [("Authorization", "Bearer admin"), ("Prefer", "count=exact"), ("Prefer", "x=y")]
    response = await http.head("/notes", headers=headers)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-range"] == "0-0/1"


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [("PUT", "/notes", "PUT"), ("OPTIONS", "/notes", "OPTIONS"), ("GET", "/", "OpenAPI")],
)
async def test_unsupported_requests_are_refused(
    http: httpx.AsyncClient, method: str, path: str, feature: str
) -> None:
    response = await http.request(method, path, headers={"Authorization": "Bearer admin"})
    body = response.json()
    assert (response.status_code, body["code"]) == (400, UNSUPPORTED_CODE)
    assert feature in body["message"]


async def test_python_functions(engine: RdbEngine) -> None:
    threads: list[str] = []

    @engine.function("whoami")
    def whoami(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return {"uid": caller.uid, "args": args}

    @engine.function("rows")
    async def rows(args: dict[str, Any], caller: Caller) -> list[dict[str, Any]]:
        await anyio.lowlevel.checkpoint()
        return [{"n": i, "even": i % 2 == 0, "f": i / 2, "tag": None} for i in range(5)]

    @engine.function("boom")
    def boom(args: dict[str, Any], caller: Caller) -> None:
        raise ValueError("it broke")

    @engine.function("refuse")
    def refuse(args: dict[str, Any], caller: Caller) -> None:
        raise RdbError(409, "P0001", "nope")

    answer = await _call(engine, "GET", "/rpc/whoami", "a=1&b=x", caller=USER)
    assert answer.body == b'{"uid":"u-42","args":{"a":"1","b":"x"}}'
    assert threads
    assert threads[0] != threading.main_thread().name  # a worker thread, not the loop
    answer = await _call(
        engine,
        "POST",
        "/rpc/rows",
        "select=n,f&even=is.true&order=n.desc&limit=2",
        headers={"prefer": "count=exact"},
        body=b"{}",
    )
    assert (answer.status, answer.header("content-range")) == (206, "0-1/3")
    assert answer.body == b'[{"n":4,"f":2}, {"n":2,"f":1}]'
    failed = await _call(engine, "POST", "/rpc/boom", body=b"{}")
    assert (failed.status, failed.body) == (
        400,
        b'{"code":"P0001","details":null,"hint":null,"message":"it broke"}',
    )
    assert (await _call(engine, "POST", "/rpc/refuse", body=b"{}")).status == 409
    missing = await _call(engine, "GET", "/rpc/nothing")
    assert missing.status == 404


async def test_requests_are_serialised(engine: RdbEngine) -> None:
    async def insert(i: int) -> None:
        answer = await _call(
            engine,
            "POST",
            "/notes",
            headers={"content-type": "application/json"},
            body=f'{{"body": "n{i}"}}'.encode(),
        )
        assert answer.status == 201

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(insert, i)
    counted = await _call(engine, "HEAD", "/notes", headers={"prefer": "count=exact"})
    assert counted.header("content-range") == "0-40/41"


def test_a_file_keeps_data_schema_and_sequences(tmp_path: Path) -> None:
    path = tmp_path / "rdb.sqlite"
    first = RdbEngine(path, schema=SCHEMA)
    first.execute("INSERT INTO notes (body) VALUES ('second')")
    first.close()
    again = RdbEngine(path, schema=SCHEMA)
    try:
        answer = _sync(
            again,
            "POST",
            "/notes",
            "select=id",
            headers={"prefer": "return=representation"},
            body=b'{"body":"third"}',
        )
        assert answer.body == b'[{"id":3}]'
        rows = _sync(again, "GET", "/notes", "select=body&order=id")
        assert rows.body == b'[{"body":"seed"}, {"body":"second"}, {"body":"third"}]'
    finally:
        again.close()
    with pytest.raises(RdbSchemaError, match="different schema"):
        RdbEngine(path, schema="CREATE TABLE x (a int)")


def test_reset_goes_back_to_the_schema(engine: RdbEngine) -> None:
    engine.execute("CREATE TABLE extra (a int); INSERT INTO notes (body) VALUES ('more')")
    engine.reset()
    rows = _sync(engine, "GET", "/notes", "select=id,body")
    assert rows.body == b'[{"id":1,"body":"seed"}]'
    missing = _sync(engine, "GET", "/extra")
    assert missing.status == 404


async def test_a_function_can_read_tables_through_the_engine(engine: RdbEngine) -> None:
    @engine.function("notes_like")
    async def notes_like(args: dict[str, Any], caller: Caller) -> Any:
        answer = await engine.handle(
            RdbRequest(
                "GET", "/notes", f"select=id,body&body=like.{args['prefix']}*", caller=caller
            )
        )
        return json.loads(answer.body)

    found = await _call(engine, "POST", "/rpc/notes_like", "select=body", body=b'{"prefix": "se"}')
    assert (found.status, found.body) == (200, b'[{"body":"seed"}]')


async def test_an_engine_failure_is_a_500_not_a_crash(
    engine: RdbEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: RdbRequest) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(engine._core, "handle", broken)
    answer = await _call(engine, "GET", "/notes")
    assert answer.status == 500
    assert json.loads(answer.body)["code"] == "LOCAL_ERROR"


async def test_a_request_without_a_caller_is_anonymous(engine: RdbEngine) -> None:
    answer = await engine.handle(RdbRequest("DELETE", "/notes", "id=eq.1"))
    assert (answer.status, json.loads(answer.body)["code"]) == (401, "42501")
