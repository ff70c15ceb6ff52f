"""Cloud functions: the requests sent and the results decoded, against respx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from cloudbase_async import (
    APIConnectionError,
    CloudBase,
    FunctionResult,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerTimeoutError,
)
from cloudbase_async.functions import decode_result, encode_web_path, validate_function_name

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

FN = "https://env-1.api.tcloudbasegateway.com/v1/functions"


def client(**kwargs: Any) -> CloudBase:
    return CloudBase(env="env-1", api_key="sk-secret", **kwargs)


async def test_invoke_posts_the_event_and_decodes_json(mock: respx.MockRouter) -> None:
    route = mock.post(f"{FN}/sum").mock(
        return_value=httpx.Response(200, json={"total": 3}, headers={"X-Request-Id": "r1"})
    )
    async with client() as cb:
        result = await cb.functions.invoke_with_response("sum", {"a": 1, "b": 2, "note": "ü"})
    sent = route.calls.last.request
    assert sent.content == '{"a":1,"b":2,"note":"ü"}'.encode()
    assert sent.headers["Content-Type"] == "application/json; charset=utf-8"
    assert sent.headers["Authorization"] == "Bearer sk-secret"
    assert "X-Qualifier" not in sent.headers
    assert sent.url.query == b""
    assert result == FunctionResult(
        result={"total": 3}, request_id="r1", content_type="application/json"
    )


async def test_invoke_returns_the_decoded_value_itself(mock: respx.MockRouter) -> None:
    mock.post(f"{FN}/sum").mock(return_value=httpx.Response(200, json={"total": 3}))
    mock.post(f"{FN}/hello").mock(
        return_value=httpx.Response(200, text="hi", headers={"Content-Type": "text/plain"})
    )
    async with client() as cb:
        assert await cb.functions.invoke("sum", {"a": 1}) == {"total": 3}
        assert await cb.functions.invoke("hello") == "hi"


async def test_invoke_with_no_data_sends_an_empty_event_and_the_qualifier(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{FN}/hello").mock(
        return_value=httpx.Response(200, text="hi there", headers={"Content-Type": "text/plain"})
    )
    async with client() as cb:
        result = await cb.functions.invoke_with_response("hello", qualifier="3")
    assert route.calls.last.request.content == b"{}"
    assert route.calls.last.request.headers["X-Qualifier"] == "3"
    assert result.result == "hi there"


@pytest.mark.parametrize(
    ("content_type", "content", "expected"),
    [
        ("application/json; charset=utf-8", b"[1,2]", [1, 2]),
        ("application/problem+json", b'{"a":null}', {"a": None}),
        ("application/json", b"123", 123),
        ("application/json", b"not json", "not json"),
        ("text/html; charset=utf-8", b"<p>x</p>", "<p>x</p>"),
        (None, b"plain", "plain"),
        ("application/octet-stream", b"\x00\x01", b"\x00\x01"),
        ("application/json", b"", None),
    ],
)
def test_decode_result(content_type: str | None, content: bytes, expected: object) -> None:
    assert decode_result(content_type, content, content.decode("latin-1")) == expected


@pytest.mark.parametrize(
    "name", ["", "a", "1abc", "abc-", "ab c", "ab/c", "a" * 61, "ä" * 3, "a_", None]
)
async def test_invalid_names_are_refused_before_sending(name: Any) -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="function name"):
            await cb.functions.invoke(name)
        with respx.mock, pytest.raises(InvalidRequestError, match="function name"):
            await cb.functions.request(name, "GET")


@pytest.mark.parametrize("name", ["ab", "a" * 60, "my_fn-2", "A9"])
def test_valid_names(name: str) -> None:
    assert validate_function_name(name) == name


async def test_a_non_json_event_is_refused_before_sending() -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="JSON"):
            await cb.functions.invoke("fn", {"when": object()})
        with respx.mock, pytest.raises(InvalidRequestError, match="JSON"):
            await cb.functions.invoke("fn", float("nan"))


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (404, "FUNCTION_NOT_FOUND", NotFoundError),
        (404, "FUNCTION_QUALIFIER_NOT_FOUND", NotFoundError),
        (500, "FUNCTION_INVOCATION_FAILED", InternalServerError),
        (429, "FUNCTION_EXCEED_RESOURCE_LIMIT", RateLimitError),
        (504, "FUNCTION_TIME_LIMIT_EXCEEDED", ServerTimeoutError),
    ],
)
async def test_errors_are_mapped_and_not_retried(
    mock: respx.MockRouter, status: int, code: str, error: type[Exception]
) -> None:
    route = mock.post(f"{FN}/fn").mock(
        return_value=httpx.Response(
            status,
            json={"code": code, "message": "it failed", "requestId": "r-err"},
            headers={"Retry-After": "0"},
        )
    )
    async with client() as cb:
        with pytest.raises(error) as caught:
            await cb.functions.invoke("fn", {})
    assert route.call_count == 1  # the function may have run: never repeated
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert caught.value.request_id == "r-err"  # type: ignore[attr-defined]


async def test_a_lost_answer_is_not_retried_unless_opted_in(mock: respx.MockRouter) -> None:
    route = mock.post(f"{FN}/fn").mock(
        side_effect=[httpx.ReadError("reset"), httpx.ReadError("reset"), httpx.Response(200)]
    )
    async with client() as cb:
        with pytest.raises(APIConnectionError):
            await cb.functions.invoke("fn")
        assert route.call_count == 1
        result = await cb.with_options(max_retries=2).functions.invoke_with_response(
            "fn", retry_safe=True
        )
    assert route.call_count == 3
    assert result.retries_taken == 1
    assert result.result is None


async def test_a_never_sent_request_is_retried(mock: respx.MockRouter) -> None:
    route = mock.post(f"{FN}/fn").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=1)]
    )
    async with client() as cb:
        result = await cb.functions.invoke_with_response("fn")
    assert route.call_count == 2
    assert result.result == 1


async def test_timeout_applies_to_this_call(mock: respx.MockRouter) -> None:
    route = mock.post(f"{FN}/fn").mock(return_value=httpx.Response(200, json=1))
    async with client() as cb:
        await cb.functions.invoke("fn", timeout=2.5)
    assert route.calls.last.request.extensions["timeout"]["read"] == 2.5


# --- HTTP ("web") functions -----------------------------------------------------------


async def test_request_encodes_path_and_query_and_adds_webfn(mock: respx.MockRouter) -> None:
    route = mock.route(method="DELETE", url__startswith=f"{FN}/web/").mock(
        return_value=httpx.Response(200, json={"deleted": True}, headers={"X-Request-Id": "r2"})
    )
    async with client() as cb:
        response = await cb.functions.request(
            "web",
            "delete",
            "/users/a b&c/ü;x",
            params={"q": "x&y=z", "webfn": "false", "n": 1},
            headers={"X-Custom": "1"},
        )
    sent = route.calls.last.request
    assert sent.method == "DELETE"
    assert sent.url.raw_path == (
        b"/v1/functions/web/users/a%20b%26c/%C3%BC%3Bx?webfn=true&q=x%26y%3Dz&n=1"
    )
    assert sent.headers["X-Custom"] == "1"
    assert sent.headers["Authorization"] == "Bearer sk-secret"
    assert response.json() == {"deleted": True}
    assert response.request_id == "r2"


async def test_request_to_the_root_has_no_trailing_slash_and_sends_json(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{FN}/web").mock(return_value=httpx.Response(201, text="made"))
    async with client() as cb:
        response = await cb.functions.request("web", "POST", json={"name": "x"})
    sent = route.calls.last.request
    assert sent.url.raw_path == b"/v1/functions/web?webfn=true"
    assert json.loads(sent.content) == {"name": "x"}
    assert sent.headers["Content-Type"] == "application/json"
    assert (response.status_code, response.text) == (201, "made")


async def test_request_is_not_retried_even_for_get(mock: respx.MockRouter) -> None:
    route = mock.get(url__startswith=f"{FN}/web").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "0"})
    )
    async with client() as cb:
        with pytest.raises(InternalServerError):
            await cb.functions.request("web", "GET", "/")
        assert route.call_count == 1
        with pytest.raises(InternalServerError):
            await cb.functions.request("web", "GET", "/", retry_safe=True)
    assert route.call_count == 1 + 3


@pytest.mark.parametrize("path", ["users", "/a/../b", "/a/./b", "/a?x=1", "/a#frag", ""])
async def test_bad_web_paths_are_refused(path: str) -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError):
            await cb.functions.request("web", "GET", path)


async def test_json_and_content_together_are_refused() -> None:
    async with client() as cb:
        with respx.mock, pytest.raises(InvalidRequestError, match="not both"):
            await cb.functions.request("web", "POST", json={}, content=b"x")
        with respx.mock, pytest.raises(InvalidRequestError, match="method"):
            await cb.functions.request("web", "GE T")


def test_encode_web_path_keeps_slashes_and_encodes_percent() -> None:
    assert encode_web_path("/a/b%20c/") == "/a/b%2520c/"
    assert encode_web_path("/") == "/"


async def test_services_are_cached_per_client_and_copies_get_their_own(
    mock: respx.MockRouter,
) -> None:
    route = mock.post(f"{FN}/fn").mock(return_value=httpx.Response(200, json=1))
    async with client() as cb:
        assert cb.functions is cb.functions
        assert cb.storage is cb.storage
        await cb.functions.invoke("fn")
        await cb.with_options(headers={"X-Trace": "t1"}).functions.invoke("fn")
    first, second = route.calls
    assert "X-Trace" not in first.request.headers
    assert second.request.headers["X-Trace"] == "t1"
