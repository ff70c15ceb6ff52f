"""The official ``@cloudbase/js-sdk`` 3.7.0 (its Node build, unchanged) against the
local gateway: anonymous and SMS sign-in, a function call, sign-out, the document
database (add, get, query, count, operator updates, set, removals, an error), the
relational database (insert, select, update, delete), a streamed and a plain chat,
CloudRun, a storage upload, download and delete, and a custom-login ticket minted by
the official ``@cloudbase/node-sdk``. What the js-sdk wrote is read
back through this SDK, so both clients see one gateway."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest

from cloudbase_async import CloudBase, NotFoundError
from cloudbase_async.local import FunctionContext, LocalCloudBase
from tests.js.runner import require_js_sdk, run_steps
from tests.js.tc3 import oracle
from tests.support.server import read_body

pytestmark = pytest.mark.integration

T = TypeVar("T")


@pytest.fixture
def local() -> Iterator[LocalCloudBase]:
    require_js_sdk()
    gateway = LocalCloudBase("js-sdk-env")

    @gateway.function("echo")
    def echo(event: Any, context: FunctionContext) -> dict[str, Any]:
        return {"event": event, "uid": context.uid, "anonymous": context.caller.anonymous}

    with gateway:
        yield gateway


def as_admin(local: LocalCloudBase, call: Callable[[CloudBase], Awaitable[T]]) -> T:
    """``call(cb)`` with this SDK, as the administrator (the tests around it are sync)."""

    async def run() -> T:
        async with local.client() as cb:
            return await call(cb)

    return anyio.run(run)


def as_app(local: LocalCloudBase, call: Callable[[CloudBase], Awaitable[T]]) -> T:
    """``call(cb)`` with this SDK, as an app (the publishable key)."""

    async def run() -> T:
        async with local.client(publishable_key=True) as cb:
            return await call(cb)

    return anyio.run(run)


def test_anonymous_sign_in_then_a_function_call_as_that_user(local: LocalCloudBase) -> None:
    results = run_steps(local, "anonymous", "function")

    signed_in = results["anonymous"]
    assert signed_in["loggedIn"] is True
    assert signed_in["isAnonymous"] is True
    called = results["function"]
    assert called["result"] == {
        "event": {"hello": "from js-sdk"},
        "uid": signed_in["uid"],
        "anonymous": True,
    }
    assert called["hasRequestId"] is True


def test_sign_out_revokes_the_token_on_the_gateway(local: LocalCloudBase) -> None:
    results = run_steps(local, "anonymous", "signout")
    token = results["signout"]["accessToken"]
    introspected = httpx.get(
        f"{local.url}/auth/v1/token/introspect", headers={"Authorization": f"Bearer {token}"}
    )
    assert introspected.json() == {}  # the gateway no longer knows the token


def test_a_document_added_by_the_js_sdk_is_read_back_by_it_and_by_this_sdk(
    local: LocalCloudBase,
) -> None:
    as_admin(local, lambda cb: cb.nosql.create_collection("todos"))

    results = run_steps(local, "anonymous", "nosql", "nosql-error")

    uid = results["anonymous"]["uid"]
    nosql = results["nosql"]
    doc_id = nosql["id"]
    assert nosql["got"] == {
        "_id": doc_id,
        "_openid": uid,  # the gateway stamped the signed-in user as the owner
        "title": "from js-sdk",
        "done": False,
        "n": 2,
        "at": {"date": "2024-01-02T00:00:00.000Z"},  # a Date again, through EJSON
    }
    assert nosql["queried"] == [doc_id]
    assert nosql["total"] == 1
    assert results["nosql-error"] == {
        "code": "DATABASE_COLLECTION_NOT_EXIST",
        "message": "collection no_such_collection does not exist",
    }

    stored = as_admin(local, lambda cb: cb.nosql.collection("todos").get(doc_id))
    assert stored == {
        "_id": doc_id,
        "_openid": uid,
        "title": "from js-sdk",
        "done": False,
        "n": 2,
        "at": datetime(2024, 1, 2, tzinfo=UTC),
    }


def test_a_file_uploaded_by_the_js_sdk_downloads_byte_for_byte(
    local: LocalCloudBase, tmp_path: Path
) -> None:
    results = run_steps(local, "anonymous", "storage")

    storage = results["storage"]
    sent = base64.b64decode(storage["sent"])
    # Through the js-sdk: downloadFile, and a plain fetch of getTempFileURL's URL.
    assert base64.b64decode(storage["downloaded"]) == sent
    assert base64.b64decode(storage["fetched"]) == sent
    assert storage["fileID"] == f"cloud://js-sdk-env.local-bucket/{storage['cloudPath']}"
    # The download URL needs no credential, and serves the type the js-sdk signed.
    fetched = httpx.get(storage["tempFileURL"])
    assert fetched.status_code == 200
    assert fetched.content == sent
    assert fetched.headers["content-type"] == "text/plain"

    target = tmp_path / "hello.txt"
    as_admin(local, lambda cb: cb.storage.download(storage["fileID"], target))
    assert target.read_bytes() == sent


def test_a_ticket_minted_by_the_node_sdk_signs_the_js_sdk_in(
    local: LocalCloudBase, tmp_path: Path
) -> None:
    """The official pair end to end: a backend with ``@cloudbase/node-sdk`` mints a ticket
    with the gateway's key file, and an app with the js-sdk signs in with it."""
    key_file = local.write_custom_login_key(tmp_path / "custom-login-key.json")
    case = {
        "nowMs": int(datetime.now(UTC).timestamp() * 1000),
        "env": local.env,
        "credentials": json.loads(key_file.read_text("utf-8")),
        "uid": "shop-customer-7",
    }
    [minted] = oracle.run("ticket.js", [case], package="@cloudbase/node-sdk")
    assert "ticket" in minted, minted

    results = run_steps(local, "custom-ticket", "function", context={"ticket": minted["ticket"]})

    signed_in = results["custom-ticket"]
    assert signed_in["isAnonymous"] is False
    assert results["function"]["result"] == {
        "event": {"hello": "from js-sdk"},
        "uid": signed_in["uid"],
        "anonymous": False,
    }

    ticket = local.custom_ticket("shop-customer-7")  # minted in Python this time
    session = as_app(local, lambda cb: cb.auth.sign_in_with_custom_ticket(ticket))
    assert session.user_id == signed_in["uid"]  # one user, whoever mints


def test_an_sms_sign_in_from_the_js_sdk_signs_up_a_user_this_sdk_sees() -> None:
    require_js_sdk()
    with LocalCloudBase("js-sdk-env", verification_code="246810") as local:
        results = run_steps(local, "otp", context={"phone": "+8613800138001", "code": "246810"})

        assert local.sms_codes["+86 13800138001"] == "246810"  # what the js-sdk was sent

        async def sign_in(cb: CloudBase) -> str:
            handle = await cb.auth.sign_in_with_otp(phone_number="13800138001")
            session = await handle.verify("246810")
            assert session.user_id is not None
            return session.user_id

        assert as_app(local, sign_in) == results["otp"]["uid"]  # one user, either SDK


def test_rows_written_by_the_js_sdk_are_the_rows_this_sdk_reads(local: LocalCloudBase) -> None:
    local.rdb.execute("create table notes (id serial primary key, title text, _openid text)")

    results = run_steps(local, "anonymous", "rdb")

    uid = results["anonymous"]["uid"]
    rdb = results["rdb"]
    assert rdb["inserted"] == [{"id": 1, "title": "from js-sdk", "_openid": uid}]
    assert rdb["selected"] == [{"id": 1, "title": "from js-sdk"}]
    assert rdb["updated"] == [{"id": 1, "title": "edited", "_openid": uid}]
    assert rdb["deletedStatus"] == 204
    rows = as_admin(local, lambda cb: cb.rdb.table("notes").select("*").execute())
    assert rows.data == [{"id": 1, "title": "edited", "_openid": uid}]


def test_a_chat_streams_to_the_js_sdk(local: LocalCloudBase) -> None:
    results = run_steps(local, "anonymous", "ai")

    # The scripted model echoes the last user message, in chunks when streamed.
    assert results["ai"] == {"streamed": "streamed to the js-sdk", "plain": "answered whole"}


def test_documents_updated_and_removed_by_the_js_sdk(local: LocalCloudBase) -> None:
    as_admin(local, lambda cb: cb.nosql.create_collection("todos"))

    results = run_steps(local, "anonymous", "nosql-write")

    written = results["nosql-write"]
    a, b = written["ids"]
    assert written["ordered"] == [{"_id": b, "n": 5}, {"_id": a, "n": 1}]
    assert written["incremented"] == 1
    assert written["afterUpdate"] == [{"_id": a, "n": 11, "tags": ["x", "z"]}]
    assert written["replaced"] == 1
    # js-sdk 3.7.0 sends `set` as PATCH .../documents with `replaceMode: false` (its
    # `merge: false` never reaches the wire), which the documented API merges.
    assert written["afterSet"] == [{"_id": b, "n": 7, "tags": ["y"]}]
    assert written["removed"] == 1
    assert (written["marked"], written["swept"], written["left"]) == (1, 1, 0)
    assert as_admin(local, lambda cb: cb.nosql.collection("todos").count()) == 0


def test_a_file_deleted_by_the_js_sdk_is_gone(local: LocalCloudBase, tmp_path: Path) -> None:
    results = run_steps(local, "anonymous", "storage-delete")

    file_id = results["storage-delete"]["fileID"]
    assert results["storage-delete"]["deleted"] == [{"code": "SUCCESS", "fileID": file_id}]
    assert results["storage-delete"]["after"] == [{"code": "OBJECT_NOT_EXIST", "fileID": file_id}]
    with pytest.raises(NotFoundError):
        as_admin(local, lambda cb: cb.storage.download(file_id, tmp_path / "gone.txt"))


def test_a_cloudrun_call_from_the_js_sdk(local: LocalCloudBase) -> None:
    seen: list[dict[str, Any]] = []

    async def echo_run(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        body = json.loads(await read_body(receive))
        seen.append({"method": scope["method"], "path": scope["path"], "body": body})
        await send(
            {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json")]}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"ran": true}'})

    local.cloudrun("echo-run", echo_run)

    results = run_steps(local, "anonymous", "cloudrun")

    assert results["cloudrun"]["body"] == {"ran": True}
    assert seen == [{"method": "POST", "path": "/hello", "body": {"a": 1}}]
