"""The official ``@cloudbase/js-sdk`` 3.7.0 (its Node build, unchanged) against the
local gateway: anonymous sign-in, a function call, sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cloudbase_async.local import FunctionContext, LocalCloudBase
from tests.js.runner import require_js_sdk, run_steps

pytestmark = pytest.mark.integration


@pytest.fixture
def local() -> Iterator[LocalCloudBase]:
    require_js_sdk()
    gateway = LocalCloudBase("js-sdk-env")

    @gateway.function("echo")
    def echo(event: Any, context: FunctionContext) -> dict[str, Any]:
        return {"event": event, "uid": context.uid, "anonymous": context.caller.anonymous}

    with gateway:
        yield gateway


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
