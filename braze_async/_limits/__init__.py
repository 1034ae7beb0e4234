"""Exact client-side rate limiting for Braze's two send budgets.

No window of ``period`` ever holds more than ``limit`` of our requests as Braze counts them,
while the whole budget stays usable: the guarantee and its proof (a sliding log of *release*
times) are in :mod:`._local`. The parts, from the bottom up:

* :mod:`._config`: :class:`Rate`, :class:`RateLimits`, :class:`Bucket`, :class:`BucketStats`;
* :mod:`._headers`: Braze's ``X-RateLimit-*`` and ``Retry-After`` headers, read into a value;
* :mod:`._feedback`: what those headers make a bucket do (Remaining caps, 429 pauses, backoff);
* :mod:`._engine`: what an engine is (where a bucket's log is kept);
* :mod:`._local`: the log in this process (the default), with the proof;
* :mod:`._redis`: the same log in Redis, for a fleet (imported only with ``redis_url``);
* :mod:`._errors`: what an acquisition raises when nothing is admitted;
* :mod:`._waiter`: one waiter's wait, and the one function that wakes it;
* :mod:`._audiences`: a broadcast's second budget, per unique audience (``audience_key``);
* :mod:`._limiter`: :class:`RateLimiter` and :class:`Permit`, FIFO waiters, cancellation and
  bounded waits in front of either engine;
* :mod:`._shared`: :class:`LimiterShare`, one limiter per workspace in a process, shared by
  its clients.
"""

from __future__ import annotations

from ._config import PRIORITIES, Bucket, BucketStats, Priority, Rate, RateLimits
from ._errors import LimiterClosed, LimiterError, LimiterUnavailable, WaitTooLong
from ._headers import parse_number, parse_retry_after
from ._limiter import Permit, RateLimiter
from ._shared import LimiterShare

__all__ = [
    "PRIORITIES",
    "Bucket",
    "BucketStats",
    "LimiterClosed",
    "LimiterError",
    "LimiterShare",
    "LimiterUnavailable",
    "Permit",
    "Priority",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "WaitTooLong",
    "parse_number",
    "parse_retry_after",
]
