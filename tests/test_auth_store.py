"""Session stores: memory, the JSON file store, and surviving a restart."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from cloudbase_async import CloudBase, FileStore, MemoryStore, SessionStore, SessionStoreError
from cloudbase_async._core.transport import Request

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

AUTH = "https://env-1.api.tcloudbasegateway.com/auth/v1"
DATA = "https://env-1.api.tcloudbasegateway.com/v1/functions/echo"


def tokens(n: int, *, scope: str = "anonymous") -> dict[str, Any]:
    return {
        "access_token": f"at-{n}",
        "refresh_token": f"m.rt-{n}",
        "expires_in": 7200,
        "scope": scope,
        "sub": "uid-1",
        "groups": ["a"],
        "surprise": {"kept": True},
    }


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("make", [MemoryStore, lambda p: FileStore(p / "s.json")])
async def test_store_protocol(tmp_path: Path, make: Any) -> None:
    store = make(tmp_path) if make is not MemoryStore else MemoryStore()
    assert isinstance(store, SessionStore)
    assert await store.get("k") is None
    await store.set("k", '{"a": 1}')
    await store.set("other", "x")
    assert await store.get("k") == '{"a": 1}'
    await store.delete("k")
    await store.delete("k")  # deleting a missing key is fine
    assert await store.get("k") is None
    assert await store.get("other") == "x"


async def test_file_store_writes_0600_atomically(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "session.json"
    store = FileStore(path)
    await store.set("k", "v")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"k": "v"}
    # No temporary file left; the lock file (never world-readable either) stays.
    assert names(path.parent) == ["session.json", "session.json.lock"]
    assert stat.S_IMODE(os.stat(path.parent / "session.json.lock").st_mode) == 0o600

    fresh = FileStore(path)  # another "process"
    assert await fresh.get("k") == "v"


async def test_file_store_keeps_the_old_content_when_a_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.json"
    store = FileStore(path)
    await store.set("k", "old")

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SessionStoreError, match="No space") as info:
        await store.set("k", "new")
    assert isinstance(info.value.__cause__, OSError)
    assert json.loads(path.read_text()) == {"k": "old"}
    assert await store.get("k") == "old"
    assert names(tmp_path) == ["session.json", "session.json.lock"]


@pytest.mark.parametrize(
    "damage", [b"[1, 2]", b'{"credentials_env-1": "{\\"acc', b"\xff\xfe not utf-8", b"[" * 100_000]
)
async def test_a_damaged_file_counts_as_empty_and_is_replaced_on_sign_in(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "session.json"
    path.write_bytes(damage)
    with respx.mock:
        anon = respx.post(f"{AUTH}/signin/anonymously").mock(
            return_value=httpx.Response(200, json=tokens(1))
        )
        respx.post(DATA).mock(return_value=httpx.Response(200, json={}))
        async with CloudBase(env="env-1", session_store=FileStore(path)) as cb:
            # Calls work: the file is read as empty (with a warning), not raised from.
            await cb._transport.send(Request("POST", "functions", "/echo", json={}))
            assert await cb.auth.get_session() is None
            await cb.auth.sign_in_anonymously()
        assert anon.called
    assert "unreadable session file" in caplog.text
    stored = json.loads(path.read_text())
    assert json.loads(stored["credentials_env-1"])["access_token"] == "at-1"


async def test_session_and_device_id_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cloudbase-session.json"
    with respx.mock:
        anon = respx.post(f"{AUTH}/signin/anonymously").mock(
            return_value=httpx.Response(200, json=tokens(1))
        )
        data = respx.post(DATA).mock(return_value=httpx.Response(200, json={}))

        async with CloudBase(env="env-1", session_store=FileStore(path)) as first:
            session = await first.auth.sign_in_anonymously()
        device_id = anon.calls.last.request.headers["x-device-id"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

        # "Restart": a new client and a new store object over the same file.
        async with CloudBase(env="env-1", session_store=FileStore(path)) as second:
            restored = await second.auth.get_session()
            assert restored == session  # tokens, expiry, scope, groups, unknown fields
            assert restored is not None
            assert restored.extra == {"surprise": {"kept": True}}
            await second._transport.send(Request("POST", "functions", "/echo", json={}))
            assert data.calls.last.request.headers["authorization"] == "Bearer at-1"
            await second.auth.sign_in_anonymously()
        assert anon.calls.last.request.headers["x-device-id"] == device_id


async def test_sessions_are_kept_per_client_id(tmp_path: Path) -> None:
    store = MemoryStore()
    with respx.mock:
        respx.post(f"{AUTH}/signin/anonymously").mock(
            return_value=httpx.Response(200, json=tokens(1))
        )
        async with CloudBase(env="env-1", session_store=store, client_id="app-a") as a:
            await a.auth.sign_in_anonymously()
        async with CloudBase(env="env-1", session_store=store, client_id="app-b") as b:
            assert await b.auth.get_session() is None
    assert await store.get("credentials_app-a") is not None
