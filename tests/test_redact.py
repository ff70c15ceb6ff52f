"""What secrets and server text look like in reprs, logs and messages."""

from __future__ import annotations

from cloudbase_async._core.redact import loggable, redact, redact_url


def test_redact_url_drops_userinfo_and_secret_query_values() -> None:
    assert redact_url("https://u:p@h/x?sudo_token=abc&limit=5&X-Amz-Signature=f") == (
        "https://h/x?sudo_token=<redacted>&limit=5&X-Amz-Signature=<redacted>"
    )
    assert redact_url("https://h/x") == "https://h/x"
    assert redact_url("https://h/o?q-sign-algorithm=sha1&q-signature=s3cr3t") == (
        "https://h/o?q-sign-algorithm=sha1&q-signature=<redacted>"
    )


def test_redact_shows_nothing_of_a_secret() -> None:
    assert redact("sk-123") == "<redacted>"
    assert redact(None) == redact("") == "<none>"


def test_loggable_escapes_control_characters() -> None:
    assert loggable("CODE\nINFO forged\r\x00") == "CODE\\x0aINFO forged\\x0d\\x00"
    assert loggable(None) == ""
    assert loggable(404) == "404"
