"""The ``LocalCloudBase`` handle itself: lifecycle (sync, async, cancelled, restarted),
temporary data, what it refuses, and what its repr shows."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from cloudbase_async.local import LocalCloudBase

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


def test_not_running_and_running_twice() -> None:
    local = LocalCloudBase()
    assert not local.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = local.url
    with pytest.raises(RuntimeError, match="not running"):
        local.reset()
    with local:
        with pytest.raises(RuntimeError, match="already running"):
            local.start()
        assert local.api_key not in repr(local)
        assert local.publishable_key not in repr(local)
        assert local.url in repr(local)
    assert repr(local) == "<LocalCloudBase env='local-dev' stopped>"


def test_a_temporary_data_dir_goes_away_and_a_restart_starts_afresh() -> None:
    local = LocalCloudBase()
    with local:
        first_dir, first_key = local.data_dir, local.api_key
        assert (first_dir / "keys.json").exists()
    assert not first_dir.exists()
    with local:
        assert local.api_key != first_key


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="lifetimes"):
        LocalCloudBase(access_token_lifetime=0)
    with pytest.raises(ValueError, match="digits"):
        LocalCloudBase(verification_code="abc")
    local = LocalCloudBase()
    with pytest.raises(ValueError, match="function name"):
        local.function("x", lambda event, context: None)
    with pytest.raises(TypeError):
        local.cloudrun("service", "not an app")  # type: ignore[arg-type]


async def test_async_with_under_cancellation_leaves_nothing_running(tmp_path: Path) -> None:
    local = LocalCloudBase(data_dir=tmp_path)
    with anyio.CancelScope() as scope:
        scope.cancel()
        async with local:
            await anyio.sleep(10)  # cancelled here: the block's exit stops the gateway
    assert not local.running
    async with local:  # and it starts again on the same data
        assert local.data_dir == tmp_path


async def test_code_books(tmp_path: Path) -> None:
    async with LocalCloudBase(data_dir=tmp_path) as local, local.client(publishable_key=True) as cb:
        await cb.auth.send_verification(phone_number="13800138000")
        await cb.auth.send_verification(phone_number="13800138000")
        await cb.auth.send_verification(email="b@example.com")
        first, second = (c.code for c in local.sent_codes() if c.channel == "sms")
        assert local.sms_codes["138 0013 8000"] == second
        assert list(local.sms_codes) == ["+86 13800138000"]
        assert len(local.email_codes) == 1
        assert "+86 13900000000" not in local.sms_codes
        assert first.isdigit()
