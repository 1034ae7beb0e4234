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
* :mod:`._limiter`: :class:`RateLimiter` and :class:`Permit`, FIFO waiters and cancellation
  in front of either engine.
"""

from __future__ import annotations

from ._config import Bucket, BucketStats, Rate, RateLimits
from ._headers import parse_number, parse_retry_after
from ._limiter import Permit, RateLimiter

__all__ = [
    "Bucket",
    "BucketStats",
    "Permit",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "parse_number",
    "parse_retry_after",
]
