"""Server-side rate-limit windows, as Braze applies them to the send endpoints.

api_limits.md counts its budgets per hour and per minute (and per day for send IDs): the
simulator's default reads them as fixed windows on the wall clock, reset on the hour and on
the minute. A rolling reading stays available, and a client must survive both:

* :class:`FixedWindow` (the default) counts requests in windows aligned to the Unix epoch,
  so to the UTC clock (an hour window resets on the hour); ``Reset`` is the next boundary.
* :class:`SlidingWindow` keeps an exact log of admission times; a request is admitted while
  fewer than ``limit`` were counted in the last ``period`` seconds. ``Reset`` is the moment the
  oldest counted request leaves the window, rounded up.

Both only count what they admit: a refused request spends nothing.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple, Protocol

from ._clock import Clock

__all__ = ["FixedWindow", "Quota", "SlidingWindow", "Window"]


class Quota(NamedTuple):
    """The state of a window as reported in the rate-limit headers."""

    #: ``X-RateLimit-Limit``.
    limit: int
    #: ``X-RateLimit-Remaining``.
    remaining: int
    #: ``X-RateLimit-Reset``: UTC epoch seconds, an integer.
    reset: int
    #: Seconds (rounded up, >= 1) until one more request would be admitted; ``Retry-After``.
    retry_after: int


class Window(Protocol):
    """A rate-limit window: admit and count requests, report the headers' numbers."""

    limit: int
    period: float

    def acquire(self, n: int = 1) -> int:
        """Count up to ``n`` requests if there is room; return how many were counted."""
        ...

    def quota(self) -> Quota:
        """The current state, without counting anything."""
        ...

    def clear(self) -> None:
        """Forget every counted request."""
        ...


def _ceil_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class FixedWindow:
    """Windows ``[k * period, (k + 1) * period)`` of wall-clock time, aligned to the epoch."""

    __slots__ = ("_clock", "_index", "_used", "limit", "period")

    def __init__(self, limit: int, period: float, clock: Clock) -> None:
        #: Requests admitted per window.
        self.limit = limit
        #: Window length in seconds.
        self.period = period
        self._clock = clock
        self._index = -1
        self._used = 0

    def _roll(self) -> float:
        now = self._clock.time()
        index = math.floor(now / self.period)
        if index != self._index:
            self._index = index
            self._used = 0
        return now

    def acquire(self, n: int = 1) -> int:
        """Count up to ``n`` requests in the current window; return how many fitted."""
        self._roll()
        granted = min(n, self.limit - self._used)
        self._used += granted
        return granted

    def quota(self) -> Quota:
        """Remaining budget of the current window and its end."""
        now = self._roll()
        end = (self._index + 1) * self.period
        return Quota(self.limit, self.limit - self._used, math.ceil(end), _ceil_seconds(end - now))

    def clear(self) -> None:
        """Forget every counted request."""
        self._index = -1
        self._used = 0


class SlidingWindow:
    """An exact sliding log: at most ``limit`` admissions in any ``period`` seconds.

    The log holds ``[monotonic time, count]`` pairs so a burst at one instant (or a large
    :meth:`acquire` from ``consume_budget``) costs one entry, not one per request.
    """

    __slots__ = ("_clock", "_log", "_used", "limit", "period")

    def __init__(self, limit: int, period: float, clock: Clock) -> None:
        #: Requests admitted per ``period``.
        self.limit = limit
        #: Window length in seconds.
        self.period = period
        self._clock = clock
        self._log: deque[list[float]] = deque()
        self._used = 0

    def _prune(self) -> float:
        now = self._clock.monotonic()
        cutoff = now - self.period
        log = self._log
        while log and log[0][0] <= cutoff:
            self._used -= int(log.popleft()[1])
        return now

    def acquire(self, n: int = 1) -> int:
        """Count up to ``n`` requests now; return how many fitted."""
        now = self._prune()
        granted = min(n, self.limit - self._used)
        if granted > 0:
            log = self._log
            if log and log[-1][0] == now:
                log[-1][1] += granted
            else:
                log.append([now, granted])
            self._used += granted
        return max(granted, 0)

    def quota(self) -> Quota:
        """Remaining budget now, and when the oldest counted request leaves the window."""
        now = self._prune()
        wall = self._clock.time()
        if not self._log:
            return Quota(self.limit, self.limit, math.ceil(wall), 1)
        wait = self._log[0][0] + self.period - now
        return Quota(
            self.limit, self.limit - self._used, math.ceil(wall + wait), _ceil_seconds(wait)
        )

    def clear(self) -> None:
        """Forget every counted request."""
        self._log.clear()
        self._used = 0
