"""Braze's rate-limit headers, read into one small typed value.

Every answer may carry ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (UTC epoch seconds); a 429 may also carry ``X-RateLimit-Retry-After``
or the standard ``Retry-After`` (delta seconds or an HTTP date). Header names are matched
case-insensitively on any mapping; garbage values read as absent. What the values *mean* for
the limiter (which Reset is stale, how long to pause) is :mod:`._feedback`'s business.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["RateLimitHeaders", "parse_number", "parse_retry_after", "read_rate_limit_headers"]


def parse_number(value: str | None) -> float | None:
    """A finite number from a header value; None when unusable."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_retry_after(value: str | None, wall: float) -> float | None:
    """Parse a Retry-After value: delta seconds or an HTTP date; None when unusable.

    *wall* is the current UTC epoch time, to turn a date into seconds from now.
    """
    seconds = parse_number(value)
    if seconds is None and value is not None:
        try:
            date = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if date.tzinfo is None:
            return None
        seconds = date.timestamp() - wall
        return max(seconds, 0.0)
    return seconds if seconds is not None and seconds >= 0 else None


class RateLimitHeaders(NamedTuple):
    """The usable rate-limit headers of one answer; None where absent or garbage."""

    #: ``X-RateLimit-Limit``: an integer >= 1.
    limit: int | None
    #: ``X-RateLimit-Remaining``: an integer >= 0.
    remaining: int | None
    #: ``X-RateLimit-Reset``: a finite UTC epoch time (not checked against the clock).
    reset: float | None
    #: Seconds to wait, from ``X-RateLimit-Retry-After``, else ``Retry-After``; read on a 429
    #: only, where it means something.
    retry_after: float | None


def read_rate_limit_headers(
    headers: Mapping[str, str], *, wall: float, throttled: bool
) -> RateLimitHeaders:
    """Read one answer's headers; a mapping that cannot be read has no usable header.

    :param wall: the current UTC epoch time, for a ``Retry-After`` given as a date.
    :param throttled: whether the answer is a 429 (only then is Retry-After read).
    """
    lowered: dict[str, str] | None = None
    try:
        if headers.get("x-ratelimit-remaining") is None:
            lowered = {str(k).lower(): v for k, v in headers.items()}
    except Exception:  # a broken mapping is garbage like any other
        return _NONE
    remaining = parse_number(_header(headers, lowered, "x-ratelimit-remaining"))
    reset = parse_number(_header(headers, lowered, "x-ratelimit-reset"))
    limit = parse_number(_header(headers, lowered, "x-ratelimit-limit"))
    retry_after = None
    if throttled:
        retry_after = parse_retry_after(_header(headers, lowered, "x-ratelimit-retry-after"), wall)
        if retry_after is None:
            retry_after = parse_retry_after(_header(headers, lowered, "retry-after"), wall)
    if limit is not None and not (limit >= 1 and limit.is_integer()):
        limit = None
    if remaining is not None and not (remaining >= 0 and remaining.is_integer()):
        remaining = None
    return RateLimitHeaders(
        None if limit is None else int(limit),
        None if remaining is None else int(remaining),
        reset,
        retry_after,
    )


#: An answer without any usable rate-limit header.
_NONE = RateLimitHeaders(None, None, None, None)


def _header(headers: Mapping[str, str], lowered: dict[str, str] | None, name: str) -> str | None:
    # Case-insensitive mappings (httpx.Headers, multidict) answer the lower-case name directly.
    value = headers.get(name)
    if value is None and lowered is not None:
        value = lowered.get(name)
    return value if isinstance(value, str) else None
