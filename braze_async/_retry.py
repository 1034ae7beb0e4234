"""The retry policy: which failures are retried, how often, and how long to wait.

Hand-written rather than built on stamina or tenacity: the decision depends on *what* failed
(never sent / maybe processed / rate limited / Braze error) and the wait on Braze's headers,
and both libraries would need most of this logic in callbacks anyway.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping

import attrs

from ._limits import parse_number, parse_retry_after

__all__ = ["RetryPolicy", "rate_limit_delay"]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"RetryPolicy.{attribute.name} must be a finite number >= 0")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not (isinstance(value, int) and value >= 1):
        raise ValueError(f"RetryPolicy.{attribute.name} must be an integer >= 1")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how braze_async retries a request.

    ==================================  ======================================================
    failure                             what happens
    ==================================  ======================================================
    never sent (connect error/timeout)  retried with exponential backoff and full jitter
    5xx from Braze                      retried with backoff (Braze sent nothing for it)
    429 rate limited                    retried after ``X-RateLimit-Retry-After`` /
                                        ``Retry-After`` / ``X-RateLimit-Reset``; these
                                        retries have their own count, ``rate_limited_attempts``
    maybe processed (read timeout,      trigger sends: **not** retried, raises
    connection dropped after sending)   ``BrazeUnknownOutcomeError`` (a retry could message
                                        users twice) unless ``retry_ambiguous=True``;
                                        transactional sends with ``external_send_id``: retried
                                        (Braze deduplicates on it)
    other 4xx                           never retried
    ==================================  ======================================================

    >>> RetryPolicy(attempts=1)  # no retries at all, except after 429s
    RetryPolicy(attempts=1, ...)
    """

    #: Attempts in all for never-sent, 5xx and (when allowed) ambiguous failures.
    attempts: int = attrs.field(default=4, validator=_at_least_one)
    #: First backoff ceiling in seconds; doubles each retry (full jitter below it).
    backoff_initial: float = attrs.field(default=0.25, validator=_positive)
    #: Largest backoff ceiling in seconds.
    backoff_max: float = attrs.field(default=8.0, validator=_positive)
    #: Retries allowed after 429 answers (each waits for the reset Braze announces).
    rate_limited_attempts: int = attrs.field(default=20, validator=_at_least_one)
    #: Longest single wait after a 429, in seconds (Braze's hourly window can ask for ~1 h).
    max_rate_limit_wait: float = attrs.field(default=3700.0, validator=_positive)
    #: Retry trigger sends whose outcome is unknown, accepting possible duplicates.
    retry_ambiguous: bool = False

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(attempts={self.attempts}, backoff_initial={self.backoff_initial}, "
            f"backoff_max={self.backoff_max}, rate_limited_attempts={self.rate_limited_attempts}, "
            f"max_rate_limit_wait={self.max_rate_limit_wait}, "
            f"retry_ambiguous={self.retry_ambiguous})"
        )

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number *retry* (1-based): full jitter."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (retry - 1)))
        return rng.uniform(0, ceiling)


def rate_limit_delay(
    headers: Mapping[str, str], *, wallclock: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait after a 429, from Braze's headers; ``None`` when they say nothing.

    Order: ``X-RateLimit-Retry-After`` (seconds), ``Retry-After`` (seconds or HTTP date),
    then ``X-RateLimit-Reset`` (UTC epoch seconds). *headers* must be case-insensitive
    (``httpx.Headers``), since HTTP/2 lowercases names.
    """
    # One parser of these headers for the whole package: the limiter's.
    wall = wallclock()
    for name in ("x-ratelimit-retry-after", "retry-after"):
        seconds = parse_retry_after(headers.get(name), wall)
        if seconds is not None:
            return seconds
    reset = parse_number(headers.get("x-ratelimit-reset"))
    if reset is not None and reset > 1e9:  # an epoch timestamp, not a duration
        return max(0.0, reset - wall)
    return None
