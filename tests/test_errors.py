"""Every known error body shape lands on the right class with the right fields."""

from __future__ import annotations

import pytest

from cloudbase_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CaptchaRequiredError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerTimeoutError,
)
from cloudbase_async._core.codec import loads_lenient as decode_body
from cloudbase_async._core.errors import make_api_error, parse_error_body


def test_gateway_shape() -> None:
    body = {"code": "FUNCTION_NOT_FOUND", "message": "no such function", "requestId": "g-1"}
    error = make_api_error(404, body, request_id="header-id")
    assert type(error) is NotFoundError
    assert (error.status_code, error.code, error.message) == (
        404,
        "FUNCTION_NOT_FOUND",
        "no such function",
    )
    assert error.request_id == "g-1"  # the body's id wins over the header's
    assert error.body == body
    assert str(error) == "HTTP 404 FUNCTION_NOT_FOUND: no such function (request_id=g-1)"


def test_nosql_shape_uses_snake_case_request_id() -> None:
    body = {"code": "DATABASE_DUPLICATE_WRITE", "message": "dup", "request_id": "n-1"}
    error = make_api_error(409, body)
    assert type(error) is ConflictError
    assert error.request_id == "n-1"


def test_auth_shape() -> None:
    body = {"error": "invalid_grant", "error_code": 16, "error_description": "refresh token used"}
    error = make_api_error(400, body, request_id="h-2")
    assert type(error) is AuthenticationError  # the code is clearer than the 400
    assert error.code == "invalid_grant"
    assert error.message == "refresh token used"
    assert error.request_id == "h-2"
    assert error.details == 16


def test_auth_captcha_is_its_own_class() -> None:
    error = make_api_error(400, {"error": "captcha_required", "error_description": "solve"})
    assert isinstance(error, CaptchaRequiredError)
    assert "captcha" in (CaptchaRequiredError.__doc__ or "")


def test_postgrest_shape_keeps_hint_and_details() -> None:
    body = {
        "code": "23505",
        "details": "Key (email)=(a) already exists.",
        "hint": None,
        "message": "duplicate key value violates unique constraint",
    }
    error = make_api_error(409, body)
    assert type(error) is ConflictError
    assert error.details == "Key (email)=(a) already exists."
    body = {
        "code": "42703",
        "details": None,
        "hint": "Perhaps you meant x",
        "message": "column t.y does not exist",
    }
    error = make_api_error(400, body)
    assert type(error) is BadRequestError
    assert error.hint == "Perhaps you meant x"


def test_supabase_style_storage_shape() -> None:
    error = make_api_error(404, {"statusCode": "404", "error": "not_found", "message": "gone"})
    assert type(error) is NotFoundError
    assert (error.code, error.message) == ("not_found", "gone")


@pytest.mark.parametrize(
    ("body", "cls", "status"),
    [
        # Supabase-style servers answer 400 and put the real status in the body.
        ({"statusCode": "404", "error": "Bucket not found", "message": "b"}, NotFoundError, 404),
        (
            {"statusCode": "404", "error": "not_found", "message": "Object not found"},
            NotFoundError,
            404,
        ),
        ({"statusCode": "409", "error": "Duplicate", "message": "exists"}, ConflictError, 409),
        (
            {"statusCode": "403", "error": "Unauthorized", "message": "rls"},
            PermissionDeniedError,
            403,
        ),
        ({"statusCode": "400", "error": "InvalidKey", "message": "k"}, BadRequestError, 400),
        # A generic code: the real status classifies it (a non-empty bucket).
        ({"statusCode": "409", "error": "InvalidRequest", "message": "busy"}, ConflictError, 409),
        ({"statusCode": "413", "error": "Payload too large", "message": "big"}, APIError, 413),
        ({"statusCode": "429", "error": "SlowDown", "message": "wait"}, RateLimitError, 429),
        ({"statusCode": 404, "code": "NoSuchKey", "message": "gone"}, NotFoundError, 404),
        # Not a status: the wire's 400 stands.
        ({"statusCode": "abc", "error": "InvalidRequest", "message": "m"}, BadRequestError, 400),
        ({"statusCode": "200", "error": "weird", "message": "m"}, BadRequestError, 400),
        ({"statusCode": True, "error": "weird", "message": "m"}, BadRequestError, 400),
    ],
)
def test_supabase_style_status_in_the_body_is_the_real_status(
    body: dict[str, object], cls: type[APIError], status: int
) -> None:
    error = make_api_error(400, body)
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == body["message"]
    assert error.body == body


def test_the_gateway_shape_keeps_its_codes_whatever_the_status() -> None:
    body = {"code": "STORAGE_PERMISSION_DENIED", "message": "rls", "requestId": "g"}
    assert type(make_api_error(403, body)) is PermissionDeniedError
    body = {"code": "STORAGE_BUCKET_NOT_FOUND", "message": "no bucket", "requestId": "g"}
    assert type(make_api_error(404, body)) is NotFoundError


def test_a_specific_wire_status_is_not_replaced_by_the_body() -> None:
    # Only Supabase's catch-all 400 (or an error answered as a success) defers to the body.
    error = make_api_error(503, {"statusCode": "404", "error": "not_found", "message": "m"})
    assert (type(error), error.status_code) == (NotFoundError, 503)  # the code still wins
    error = make_api_error(502, {"statusCode": "409", "error": "x", "message": "m"})
    assert (type(error), error.status_code) == (InternalServerError, 502)
    error = make_api_error(200, {"statusCode": "403", "error": "Unauthorized", "message": "m"})
    assert (type(error), error.status_code) == (PermissionDeniedError, 403)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (422, "EXCEED_REQUEST_LIMIT", RateLimitError),
        (422, "EXCEED_CONCURRENT_REQUEST_LIMIT", RateLimitError),
        (200, "EXCEED_TOKEN_QUOTA_LIMIT", RateLimitError),
        (429, None, RateLimitError),
        (401, "DATABASE_PERMISSION_DENIED", PermissionDeniedError),
        (403, "EXCEED_AUTHORITY", PermissionDeniedError),
        (504, "DATABASE_TIMEOUT", ServerTimeoutError),
        (502, "SERVICE_TIMEOUT", ServerTimeoutError),
        (504, None, ServerTimeoutError),
        (503, "DATABASE_TRANSACTION_CONFLICT", ConflictError),
        (500, "SYS_ERR", InternalServerError),
        (503, None, InternalServerError),
        (401, "ACCESS_TOKEN_EXPIRED", AuthenticationError),
        (400, "AI_MODEL_PARAM_REQUIRED", BadRequestError),
        (404, "SERVICE_NOT_FOUND", NotFoundError),
        (418, "SOMETHING_NEW", APIError),
        (422, None, APIError),
    ],
)
def test_code_and_status_table(status: int, code: str | None, cls: type[APIError]) -> None:
    error = make_api_error(status, {"code": code, "message": "m"} if code else None)
    assert type(error) is cls
    assert error.status_code == status


def test_unknown_bodies_keep_text_and_fall_back_to_reason() -> None:
    assert decode_body(b"") is None
    assert decode_body(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    error = make_api_error(502, decode_body(b"<html>bad gateway</html>"), reason="Bad Gateway")
    assert type(error) is InternalServerError
    assert error.message == "<html>bad gateway</html>"
    assert error.code is None
    error = make_api_error(503, None, reason="Service Unavailable")
    assert error.message == "Service Unavailable"
    assert parse_error_body(["not", "a", "mapping"]).code is None
