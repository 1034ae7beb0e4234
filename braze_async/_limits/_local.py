"""The sliding log of release times, in this process: the rule every engine applies.

Braze counts requests per workspace in windows of a fixed length (250 per minute for segment
and Connected Audience sends, 250,000 per hour for sends by external ID) and does not say
whether the windows are fixed or rolling. Token and leaky buckets (``aiolimiter`` included)
admit a burst *and* keep leaking, so some window sees up to about twice the limit: 429s.

The guarantee
=============
No window of length ``period`` ever holds more than ``limit`` of our requests *as the server
counts them*, for fixed and sliding windows alike, while the whole budget stays usable.

The server counts a request at an unknown moment between the moment we send it and the moment
its answer comes back, so a log of *send* times is not enough (it earns 429s at window edges).
We keep a sliding log of **release** times instead:

* each admitted request holds a *slot* from admission until it completes;
* when it completes, its slot expires at ``completion + period + margin``; a slot whose request
  is still in flight never expires;
* a request is admitted at time ``t`` only if fewer than ``limit`` slots are unexpired at ``t``.

Proof. Take any server window ``W = (a, a + T]`` and the set ``S`` of our requests that the
server counted in it, at arrival times ``s_i``. Let ``*`` be the member of ``S`` admitted last,
at ``t*``; its arrival ``s*`` lies in ``[t*, completion*]`` and in ``W``, so
``a >= s* - T >= t* - T``. Every other member ``i`` was admitted before ``t*`` and arrived at
``s_i > a >= t* - T``; it completed at ``c_i >= s_i > t* - T``, so at ``t*`` its slot (expiring
at ``c_i + T`` or later, or never if still in flight) was unexpired. Admission of ``*`` needed
fewer than ``limit`` unexpired slots, so ``|S| - 1 < limit``: ``|S| <= limit``. A fixed window is
one particular ``W``. Under steady load each slot is reused every ``period + latency`` seconds,
so throughput is ``limit / (period + latency)``: all of the budget when latency << period.

Here the log is a count of held slots and a deque of the released ones' expiry times on the
limiter's monotonic clock (~8 MB at 250,000 slots, ~2 µs per uncontended acquire + release).
:mod:`._redis` keeps the same log in Redis for a fleet of processes.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable

from ._config import Bucket, Rate
from ._engine import Clock, Slot

__all__ = ["LocalEngine", "LocalLog"]

# The local log's slots are interchangeable, so they need no name.
_ANY_SLOT: Slot = ""


class LocalEngine:
    """The default engine: every bucket's log lives in this process.

    :param clock: monotonic seconds.
    :param margin: extra seconds a released slot stays counted.
    """

    __slots__ = ("_clock", "_margin")

    def __init__(self, clock: Clock, margin: float) -> None:
        self._clock = clock
        self._margin = margin

    def open(self, bucket: Bucket, rate: Rate, on_release: Callable[[], None]) -> LocalLog:
        """A fresh, empty log for *bucket*."""
        del bucket  # one process, one log per bucket: no name needed
        return LocalLog(rate, self._clock, self._margin, on_release)

    async def aclose(self) -> None:
        """Nothing to let go of."""


class LocalLog:
    """One bucket's sliding log of release times, in this process."""

    __slots__ = ("_clock", "_expiries", "_held", "_limit", "_margin", "_on_release", "_period")

    def __init__(
        self, rate: Rate, clock: Clock, margin: float, on_release: Callable[[], None]
    ) -> None:
        self._limit = rate.limit
        self._period = rate.period
        self._clock = clock
        self._margin = margin
        self._on_release = on_release
        #: Slots taken and not yet released (their requests are in flight).
        self._held = 0
        #: Expiry times of released slots, in increasing order.
        self._expiries: collections.deque[float] = collections.deque()

    async def try_admit(self) -> Slot | float:
        """Take a slot if fewer than ``limit`` are counted, else the seconds until one expires."""
        now = self._clock()
        expiries = self._expiries
        while expiries and expiries[0] <= now:
            expiries.popleft()
        if self._held + len(expiries) < self._limit:
            self._held += 1
            return _ANY_SLOT
        # Full: the earliest released slot frees first; if all are in flight, wait for a release.
        return expiries[0] - now if expiries else math.inf

    def release(self, slot: Slot, *, sent: bool) -> None:
        """Date the slot's expiry from now (*sent*) or drop it, then call *on_release*."""
        del slot
        self._held -= 1
        if sent:
            expiry = self._clock() + self._period + self._margin
            if self._expiries and expiry < self._expiries[-1]:  # a clock that went backwards
                expiry = self._expiries[-1]
            self._expiries.append(expiry)
        self._on_release()

    def counted(self) -> int:
        """Slots counted now: held + released but unexpired."""
        now = self._clock()
        expiries = self._expiries
        while expiries and expiries[0] <= now:
            expiries.popleft()
        return self._held + len(expiries)

    def share(self, *, pause: float | None, cap: tuple[float, int] | None) -> None:
        """Nothing to share: this process is the log's only user."""
