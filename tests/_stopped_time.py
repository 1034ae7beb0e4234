"""One fake time for the simulator's windows and the client's waits, so that nothing sleeps.

:class:`StoppedTime` stands still until something waits on it; a wait moves it on at once by
the wait's length. Give it to the simulator (``BrazeSimulator(clock=time)``), to the client's
retry waits (``set_retry_timing(braze, sleep=time.sleep)``) and to a rate limiter
(:meth:`limiter`): a 429's Retry-After, a full window and a limiter's wait then take exactly
as long as they say, on any machine.
"""

from __future__ import annotations

import asyncio

from braze_async import RateLimits
from braze_async._limits import RateLimiter

#: UTC epoch seconds at the start: on a window boundary, as the simulator's tests use.
EPOCH = 1_700_000_000.0


class StoppedTime:
    """A monotonic clock, a wall clock and an async sleep on one fake time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return EPOCH + self.now

    async def sleep(self, delay: float) -> None:
        self.now += max(delay, 0.0)
        await asyncio.sleep(0)

    def limiter(self, limits: RateLimits) -> RateLimiter:
        """A rate limiter on this time, for ``BrazeClient(rate_limits=...)``."""
        return RateLimiter(limits, clock=self.monotonic, wallclock=self.time, sleep=self.sleep)
