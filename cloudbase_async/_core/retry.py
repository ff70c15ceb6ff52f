"""When to retry and how long to wait: pure functions over a frozen policy.

The transport owns the loop and the sleeping; everything here is arithmetic that can be
tested without a clock.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Mapping
from datetime import UTC, datetime

import attrs

__all__ = ["RetryPolicy", "is_retryable_status", "parse_retry_after"]

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@attrs.frozen
class RetryPolicy:
    """How many times to retry and how to space the attempts.

    Backoff is exponential with full jitter: attempt ``n`` waits a uniform random time
    in ``[0, min(max_delay, initial_delay * 2**n)]``. A ``Retry-After`` from the server
    is used instead when present; one asking for more than ``max_retry_after`` seconds
    is not waited for, and the error is raised with its ``retry_after`` set.
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    initial_delay: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))

    def backoff(self, retries_taken: int, rng: random.Random) -> float:
        """The jittered wait before retry number ``retries_taken + 1``."""
        ceiling = min(self.max_delay, self.initial_delay * (2.0**retries_taken))
        return rng.uniform(0.0, ceiling)

    def delay(
        self, retries_taken: int, retry_after: float | None, rng: random.Random
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to stop retrying."""
        if retries_taken >= self.max_retries:
            return None
        if retry_after is None:
            return self.backoff(retries_taken, rng)
        if retry_after > self.max_retry_after:
            return None
        return retry_after


def is_retryable_status(status_code: int) -> bool:
    """Statuses that say "this did not happen, try again" (for requests safe to repeat)."""
    return status_code in _RETRYABLE_STATUS


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After-Ms`` or ``Retry-After``.

    ``Retry-After`` may be delta-seconds or an HTTP date; a date in the past means 0.
    Anything unparseable or negative is ignored (``None``).
    """
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            pass
        else:
            return value if value >= 0 and value == value else None
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
