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
* a request whose outcome is unknown (we stopped waiting for its answer: a read timeout, a
  connection lost after sending) "completes" when we give up on it, but its slot expires one
  full period later than the others: at ``completion + 2 * period + margin``;
* a request is admitted at time ``t`` only if fewer than ``limit`` slots are unexpired at ``t``.

Assumptions, and what each one costs when it fails:

1. **Braze counts a request no earlier than our admission**, and no later than its completion
   as defined above: when its answer reaches us, or, when we gave up on it, within one period
   of giving up (it may still sit in a queue at Braze; a request counted later than that would
   need a queue a whole period long, an hour for the external-ID budget). A request counted
   later than its slot's expiry could meet a full window.
2. **Our clock runs at Braze's rate** (monotonic, no steps); ``margin`` absorbs drift and the
   reading granularity. Braze's windows are whatever they are: fixed or sliding, the proof
   needs no alignment.
3. **We are the only consumer of the budget.** Others spend it too in practice; that is what
   the Remaining caps of :mod:`._feedback` are for, on top of this log.

Proof. Take any server window ``W = (a, a + T]`` and the set ``S`` of our requests that the
server counted in it, at arrival times ``s_i``. Let ``*`` be the member of ``S`` admitted last,
at ``t*``; its arrival ``s*`` is no earlier than ``t*`` and lies in ``W``, so
``a >= s* - T >= t* - T``. Every other member ``i`` was admitted before ``t*`` and arrived at
``s_i > a >= t* - T``. If its answer came, it completed at ``c_i >= s_i > t* - T``, and its slot
expires at ``c_i + T > t*`` (or never, while in flight). If we gave up on it at ``c_i``, it
arrived at ``s_i <= c_i + T`` (assumption 1), so ``c_i > t* - 2T`` and its slot expires at
``c_i + 2T > t*``. Either way its slot was unexpired at ``t*``. Admission of ``*`` needed fewer
than ``limit`` unexpired slots, so ``|S| - 1 < limit``: ``|S| <= limit``. A fixed window is one
particular ``W``. Under steady load each slot is reused every ``period + latency`` seconds, so
throughput is ``limit / (period + latency)``: all of the budget when latency << period (an
unknown outcome, rare, costs one more period of its slot).

Here the log is a count of held slots and two deques of the released ones' expiry times on
the limiter's monotonic clock, each in increasing order: answered slots, and slots whose
outcome is unknown; the same again for the bulk lane's slots taken under a reserve, which
bulk requests may fill to ``limit - reserve`` only (:mod:`._limiter`). About 8 MB at
250,000 slots, ~2 µs per uncontended acquire + release. :mod:`._redis` keeps the same log in
Redis for a fleet of processes.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable

from .._clock import Clock
from ._config import Bucket, Rate
from ._engine import Slot, Wait

__all__ = ["LocalEngine", "LocalLog"]

# The local log's slots are interchangeable within a lane: their names say only that.
_ANY_SLOT: Slot = ""
#: A bulk request's slot under a reserve: counted in the bulk lane's share too.
_BULK_SLOT: Slot = "bulk"


class LocalEngine:
    """The default engine: every bucket's log lives in this process.

    :param clock: the limiter's clock; slots are timed on its monotonic reading.
    :param margin: extra seconds a released slot stays counted.
    """

    __slots__ = ("_clock", "_margin")

    def __init__(self, clock: Clock, margin: float) -> None:
        self._clock = clock.monotonic
        self._margin = margin

    def open(self, bucket: Bucket, rate: Rate, on_release: Callable[[], None]) -> LocalLog:
        """A fresh, empty log for *bucket*."""
        del bucket  # one process, one log per bucket: no name needed
        return LocalLog(rate, self._clock, self._margin, on_release)

    def open_audience(self, key: str, rate: Rate, on_release: Callable[[], None]) -> LocalLog:
        """A fresh, empty log for the audience *key* (its user keeps it while it counts)."""
        del key
        return LocalLog(rate, self._clock, self._margin, on_release)

    async def aclose(self) -> None:
        """Nothing to let go of."""


class _Slots:
    """Slots held, and the expiry times of released ones (answered, and of unknown outcome:
    one period later), each deque in increasing order."""

    __slots__ = ("expiries", "held", "late")

    def __init__(self) -> None:
        #: Slots taken and not yet released (their requests are in flight).
        self.held = 0
        #: Expiry times of released, answered slots.
        self.expiries: collections.deque[float] = collections.deque()
        #: Expiry times of released slots whose outcome is unknown.
        self.late: collections.deque[float] = collections.deque()

    def prune(self, now: float) -> None:
        """Drop the slots expired at *now*."""
        for expiries in (self.expiries, self.late):
            while expiries and expiries[0] <= now:
                expiries.popleft()

    def count(self) -> int:
        """Slots counted (after a prune): held + released but unexpired."""
        return self.held + len(self.expiries) + len(self.late)

    def first(self) -> float:
        """The earliest expiry of a released slot (``inf``: every slot is held)."""
        expiries, late = self.expiries, self.late
        return min(expiries[0] if expiries else math.inf, late[0] if late else math.inf)

    def release(self, expiry: float | None, late: bool) -> None:
        """One held slot released: dropped (*expiry* None), or counted until *expiry*."""
        self.held -= 1
        if expiry is not None:
            expiries = self.late if late else self.expiries
            if expiries and expiry < expiries[-1]:  # a clock that went backwards
                expiry = expiries[-1]
            expiries.append(expiry)


class LocalLog:
    """One bucket's sliding log of release times, in this process: every slot, and the bulk
    lane's slots taken under a reserve (so that bulk's share is its own)."""

    __slots__ = ("_all", "_bulk", "_clock", "_keep", "_limit", "_on_release", "_period")

    #: The limiter's own caps keep the reserve: they are this log's only caps.
    checks_reserve_in_caps = False

    def backstop(self) -> bool:
        """Always: the limiter's own caps are this log's only caps."""
        return True

    def __init__(
        self, rate: Rate, clock: Callable[[], float], margin: float, on_release: Callable[[], None]
    ) -> None:
        self._limit = rate.limit
        self._period = rate.period
        self._clock = clock
        #: How long an answered slot stays counted after its release.
        self._keep = rate.period + margin
        self._on_release = on_release
        self._all = _Slots()
        self._bulk = _Slots()

    def _prune(self) -> float:
        """Drop the expired slots; the current time."""
        now = self._clock()
        self._all.prune(now)
        self._bulk.prune(now)
        return now

    async def try_admit(self, reserve: int = 0) -> Slot | Wait:
        """Take a slot if fewer than ``limit`` are counted and, for a bulk request leaving
        *reserve*, fewer than ``limit - reserve`` of the bulk lane's; else how long until
        one expires (the earliest expiry of the full set)."""
        now = self._prune()
        full = self._all
        if reserve and full.count() < self._limit:
            full = self._bulk
            if full.count() < self._limit - reserve:
                self._all.held += 1
                self._bulk.held += 1
                return _BULK_SLOT
        elif full.count() < self._limit:
            full.held += 1
            return _ANY_SLOT
        # Full: its earliest released slot frees first; if all are in flight, wait for a release.
        first = full.first()
        if math.isinf(first):
            return Wait(math.inf, 0.0)
        return Wait(first - now, first - now)

    #: No lease: a held slot is counted until its release (its holder is this process).
    lease = math.inf

    async def renew(self, slot: Slot) -> bool:
        """Nothing to do: a held slot never expires here."""
        del slot
        return True

    def release(self, slot: Slot, *, sent: bool, outcome_unknown: bool = False) -> None:
        """Date the slot's expiry from now (*sent*) or drop it, then call *on_release*."""
        expiry = None
        if sent or outcome_unknown:
            expiry = self._clock() + self._keep + (self._period if outcome_unknown else 0.0)
        self._all.release(expiry, outcome_unknown)
        if slot == _BULK_SLOT:
            self._bulk.release(expiry, outcome_unknown)
        self._on_release()

    def counted(self) -> int:
        """Slots counted now: held + released but unexpired."""
        self._prune()
        return self._all.count()

    def accounts_for(self, count: int, since: float) -> bool:
        """Whether at least *count* of our slots are held or were released after *since*.

        Cheap whatever the log's size: the answered slots are in release order, so one look
        at the *k*-th latest release decides (a deque reads near its ends quickly).
        """
        slots = self._all
        need = count - slots.held
        if need <= 0:
            return True
        late_keep = self._keep + self._period
        for expiry in reversed(slots.late):  # few: unknown outcomes are rare
            if expiry - late_keep <= since:
                break
            need -= 1
        if need <= 0:
            return True
        expiries = slots.expiries
        return len(expiries) >= need and expiries[-need] - self._keep > since

    def share(self, *, pause: float | None, cap: tuple[float, int, int | None] | None) -> None:
        """Nothing to share: this process is the log's only user."""
