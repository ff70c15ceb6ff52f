"""Pure helpers of the transport: URL redaction and JSON body encoding."""

from __future__ import annotations

import json

import pytest

from cloudbase_async._core.codec import dumps as dumps_json
from cloudbase_async._core.redact import redact_url


def test_redact_url() -> None:
    assert redact_url("https://u:p@h/x?sudo_token=abc&limit=5&X-Amz-Signature=f") == (
        "https://h/x?sudo_token=<redacted>&limit=5&X-Amz-Signature=<redacted>"
    )
    assert redact_url("https://h/x") == "https://h/x"


def test_json_bodies_are_compact_utf8() -> None:
    assert (
        dumps_json({"名": "张三", "n": [1, 2]})
        == json.dumps(
            {"名": "张三", "n": [1, 2]}, ensure_ascii=False, separators=(",", ":")
        ).encode()
    )
    with pytest.raises(ValueError, match="JSON compliant"):
        dumps_json(float("nan"))
