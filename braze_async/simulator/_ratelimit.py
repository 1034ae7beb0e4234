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

:class:`PerAudience` adds the second limit of broadcasts: one window per unique audience
(:func:`audience_of`), of the same kind, 10 a minute by default.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

import orjson

from ._clock import Clock

__all__ = ["FixedWindow", "PerAudience", "Quota", "SlidingWindow", "Window", "audience_of"]


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


def audience_of(body: Mapping[str, Any]) -> str:
    """The unique audience a broadcast targets, as api_limits.md defines it ("What counts as
    the same unique audience?"): requests of /messages/send, /campaigns/trigger/send,
    /canvas/trigger/send and the campaign and Canvas schedule creates target the same one
    "when all of the following match: the campaign or Canvas being triggered (the
    campaign_id or canvas_id [...], if specified); the audience being targeted (the segments
    or filters, or for API campaigns, the segment_id [...]); the connected audience filters
    (the audience object [...], if specified)". The endpoint is not part of it, nor who else
    the body names. A trigger send with ``broadcast: true`` and neither a segment nor an
    audience targets the campaign's (or Canvas's) own segment: its key is the campaign alone.
    Canonical JSON (sorted keys): the same filters in another key order are the same audience.
    """
    fields = {name: body.get(name) for name in ("campaign_id", "canvas_id", "segment_id")}
    fields["audience"] = body.get("audience")
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


class PerAudience:
    """One window per unique audience, made on first use; windows that count nothing are
    dropped whenever the map has doubled since the last sweep, so many audiences over time
    leave no growing state."""

    __slots__ = ("_make", "_sweep_at", "_windows")

    def __init__(self, make: Callable[[], Window]) -> None:
        self._make = make
        self._windows: dict[str, Window] = {}
        self._sweep_at = 64

    def window(self, key: str) -> Window:
        """The window of audience *key*."""
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self._sweep_at:
                idle = [k for k, w in self._windows.items() if w.quota().remaining == w.limit]
                for k in idle:
                    del self._windows[k]
                self._sweep_at = max(64, 2 * len(self._windows))
            window = self._windows[key] = self._make()
        return window

    def __len__(self) -> int:
        return len(self._windows)

    def clear(self) -> None:
        """Forget every audience."""
        self._windows.clear()
