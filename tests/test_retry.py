"""The retry arithmetic: Retry-After parsing and jittered backoff, without a clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from cloudbase_async import RetryPolicy
from cloudbase_async._core.retry import is_retryable_status, parse_retry_after

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": " 7 "}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after": format_datetime(NOW + timedelta(seconds=30), usegmt=True)}, 30.0),
        ({"retry-after": format_datetime(NOW - timedelta(seconds=30), usegmt=True)}, 0.0),
        ({"retry-after": "Sun, 22 Nov 2026 12:00:10"}, 10.0),  # no zone: read as UTC
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_backoff_is_full_jitter_bounded_by_exponential_ceiling() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=3.0)
    rng = random.Random(7)
    for retries_taken, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)]:
        samples = [policy.backoff(retries_taken, rng) for _ in range(300)]
        assert all(0.0 <= s <= ceiling for s in samples)
        # full jitter spreads over the whole range, not just near the ceiling
        assert min(samples) < ceiling * 0.1
        assert max(samples) > ceiling * 0.9


def test_delay_stops_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    rng = random.Random(1)
    assert policy.delay(0, None, rng) is not None
    assert policy.delay(1, None, rng) is not None
    assert policy.delay(2, None, rng) is None
    assert RetryPolicy(max_retries=0).delay(0, 1.0, rng) is None


def test_delay_uses_retry_after_and_refuses_one_above_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    rng = random.Random(1)
    assert policy.delay(0, 4.0, rng) == 4.0
    assert policy.delay(0, 60.0, rng) == 60.0
    assert policy.delay(0, 61.0, rng) is None


def test_policy_validates() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (425, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (400, False),
        (401, False),
        (404, False),
        (409, False),
        (501, False),
    ],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable
