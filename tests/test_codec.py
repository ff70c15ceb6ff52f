"""JSON in and out: request bodies, response bodies, and 2xx bodies that are errors."""

from __future__ import annotations

import json

import pytest

from cloudbase_async import AuthenticationError, InvalidRequestError, RateLimitError
from cloudbase_async._core.codec import UnreadableBody, body_error, dumps, loads, loads_lenient


def test_request_bodies_are_compact_utf8() -> None:
    value = {"名": "张三", "n": [1, 2]}
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"bytes", object()])
def test_values_json_cannot_carry_are_the_callers_error(value: object) -> None:
    with pytest.raises(InvalidRequestError, match="cannot be sent as JSON"):
        dumps({"x": value})


def test_a_body_nested_too_deeply_is_refused() -> None:
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(InvalidRequestError, match="nested too deeply"):
        dumps(nested)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"a": tru', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_bodies_say_why_without_their_text(content: bytes, reason: str) -> None:
    with pytest.raises(UnreadableBody, match=reason) as info:
        loads(content)
    assert "tru" not in info.value.reason or reason == "not valid JSON"


def test_error_bodies_are_json_or_text() -> None:
    assert loads(b"") is None
    assert loads_lenient(b'{"code": "X"}') == {"code": "X"}
    assert loads_lenient(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert loads_lenient(b"[" * 100_000) == "[" * 65536  # kept text is bounded


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"error": "invalid_grant", "error_description": "used"}, AuthenticationError),
        ({"error": {"code": "rate_limit_exceeded", "message": "slow down"}}, RateLimitError),
        ({"code": "EXCEED_REQUEST_LIMIT", "message": "m"}, RateLimitError),
    ],
)
def test_a_2xx_body_can_be_an_error(body: object, cls: type[Exception]) -> None:
    error = body_error(200, body, "rid")
    assert isinstance(error, cls)
    assert error.request_id == "rid"


@pytest.mark.parametrize(
    "body", [{"code": "NORMAL", "x": 1}, {"a": 1}, [1], "text", None, {"error": ""}]
)
def test_a_normal_body_is_not_an_error(body: object) -> None:
    assert body_error(200, body, None) is None
