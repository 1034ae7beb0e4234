"""What an engine is: where a bucket's sliding log of release times is kept.

The rule and its proof are in :mod:`._local`; an engine keeps the log and applies the rule,
nothing else. Two engines exist: :class:`._local.LocalEngine` (a deque in this process, the
default) and :class:`._redis.RedisEngine` (a sorted set in Redis, shared by a fleet). The
:class:`~._limiter.RateLimiter` in front of either owns everything else about a bucket: the
FIFO line of waiters, cancellation, the counters of :class:`.BucketStats` and the local view of
server feedback. An engine never touches those: it answers what happened (a slot, or how long
to wait) and says when a release took effect, through the *on_release* hook it was given.

Clocks: an engine is given the limiter's :class:`~braze_async.Clock`. The local engine times
slots on its monotonic reading; the Redis engine its retries, and its log on Redis's own clock
(``TIME`` inside its scripts), so that hosts' clocks never matter.

Failures: an engine that cannot reach its store (Redis) answers a :class:`Wait` naming the
trouble while it retries, and raises :class:`~._errors.LimiterUnavailable` once the trouble has
lasted past its bound; the limiter then fails the whole line at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol, TypeAlias

from ._config import Bucket, Rate

__all__ = ["Engine", "Slot", "SlotLog", "Wait"]

#: An engine's name for one slot it admitted, handed back to it when the slot is released.
Slot: TypeAlias = str


class Wait(NamedTuple):
    """An engine's answer when it admits nothing now."""

    #: Seconds before the head of the line should look again (``math.inf``: every slot is held
    #: by a request in flight; look again when the *on_release* hook is called).
    look_again_in: float
    #: Seconds until a slot frees at the earliest, when known (0 when not: a held log, trouble).
    free_in: float
    #: Why nothing could be looked at (the store is unreachable, retried), redacted; else None.
    trouble: str | None = None


class SlotLog(Protocol):
    """One bucket's sliding log of release times, wherever it is kept."""

    @property
    def checks_reserve_in_caps(self) -> bool:
        """Whether :meth:`try_admit` checks a bulk request's reserve against the Remaining
        caps itself, where all their users' interactive slots are known (Redis: the fleet's
        caps, in the acquire script). The limiter's local caps then hold each lane at their
        allowance only; else they also keep the reserve."""

    def backstop(self) -> bool:
        """Whether the limiter's own Remaining caps must hold admissions now. The local log:
        always (they are its only caps). Redis: only after it saw the store lose the fleet's
        log (a restart without persistence, a FLUSHDB), for as long as a lost slot could
        still count; meanwhile the fleet's caps in Redis govern."""

    async def try_admit(self, reserve: int = 0) -> Slot | Wait:
        """Take a slot now (its name) while fewer than ``limit - reserve`` are counted, and
        every Remaining cap in force allows more than *reserve*; or say how long to wait
        before trying again. (A bulk request leaves the reserve; an interactive one, 0.)

        Raises :class:`~._errors.LimiterUnavailable` when the store stayed away too long.
        """

    @property
    def lease(self) -> float:
        """Seconds a held slot stays held in the store from its admission or last
        :meth:`renew` before it starts to expire as a dead holder's (Redis:
        ``RateLimits.lease``; it is then counted one period more). ``math.inf`` when held
        slots never expire (the local log: its holders are this process)."""

    async def renew(self, slot: Slot) -> bool | None:
        """Date the lease of the held *slot* from now again: True; False when it is gone
        from the store (expired, or the store lost it: it no longer counts); None when the
        store could not be asked (try again later). Never re-adds a slot that is gone."""

    def release(self, slot: Slot, *, sent: bool, outcome_unknown: bool = False) -> None:
        """Give *slot* back, then call the *on_release* hook (at once, or once it took effect).

        ``sent=True``: the slot stays counted for ``period + margin`` from now;
        ``outcome_unknown=True`` (we gave up waiting for the answer; Braze may count the request
        later): for ``2 * period + margin``. ``sent=False``: the request never left, so the
        slot is free at once, as if never taken.
        """

    def counted(self) -> int | None:
        """Slots counted now (held + released but unexpired); None when kept elsewhere."""

    def accounts_for(self, count: int, since: float) -> bool | None:
        """Whether our own slots can explain *count* requests the server counted after the
        monotonic time *since*: at least *count* are in flight or were released after it.

        None when the log cannot tell (Redis: the fleet's slots are not ours alone to judge;
        its cap script judges them for the fleet's caps, as :meth:`share` hears the cap).
        """

    def share(self, *, pause: float | None, cap: tuple[float, int, int | None] | None) -> None:
        """Tell the log's other users: a 429 pause of *pause* s, or at most ``cap[1]`` more
        admissions before Braze's Reset ``cap[0]`` (UTC epoch seconds, Braze's clock) of
        Braze's limit ``cap[2]`` (None: unknown)."""


class Engine(Protocol):
    """Keeps the sliding logs of a limiter's buckets."""

    def open(self, bucket: Bucket, rate: Rate, on_release: Callable[[], None]) -> SlotLog:
        """The log of *bucket*, held to *rate*; it calls *on_release* after each release."""

    def open_audience(self, key: str, rate: Rate, on_release: Callable[[], None]) -> SlotLog:
        """The log of one unique audience (:mod:`._audiences`), like :meth:`open`'s (no caps,
        no pause, no reserve are ever set on it)."""

    async def aclose(self) -> None:
        """Let go of what the engine holds (connections, pending work)."""
