"""The public rate limiter: two FIFO lines per bucket in front of an engine's sliding log.

:class:`RateLimiter` keeps one budget per :class:`.Bucket`: its two lines of waiters, the
counters of :class:`.BucketStats`, its :class:`._feedback.Feedback` and its engine's log
(:mod:`._local` by default, where the guarantee and its proof are; :mod:`._redis` with
``RateLimits(redis_url=...)``, which then also shares 429 pauses and Remaining caps with the
fleet). The order, cancellation and the local view of server feedback are handled here, in
front of either engine; the engines only keep the log.

Two lanes
=========
Every acquisition is *interactive* (a user waits on it) or *bulk* (a job). Waiting
interactive requests are admitted before waiting bulk ones, each lane first come, first
served; and a bulk request is admitted only while ``RateLimits.reserved(bucket)`` slots of the
window stay free (in the log, and in Braze's Remaining when a cap is in force), so that an
interactive request arriving while a bulk job runs finds a slot at once. Pauses after a 429
hold both lanes.

The reserve under a cap is taken from what Braze says is left, less nothing our own
interactive requests explain: a bulk request needs ``1 + max(reserve - ours, 0)`` of every
cap's allowance, *ours* being the interactive slots Braze can have counted in the cap's
window (in flight, or released after it began). Interactive requests already sent spent
their part of the reserve; charging them again would stop bulk at ``limit - reserve - ours``.
So another consumer's spending shrinks the bulk lane first, our own web traffic never does.
With the Redis engine the fleet's interactive slots are known only in Redis: the acquire
script checks the reserve against the fleet's caps (:attr:`.SlotLog.checks_reserve_in_caps`),
and each process's own caps hold both lanes at their allowance only, and only as a backstop,
once the log says it lost the fleet's slots (:meth:`.SlotLog.backstop`: after Redis restarts
empty they are what holds the fleet back; in a steady run they would idle it, see
:mod:`._redis`). The local engine's caps (set only when another consumer spends) still
charge this process's interactive slots to the reserve: its log does not count them per
window.

Priority is strict: interactive requests beyond the reserve wait ahead of every bulk one (a
web app's burst delays a bulk job, never the reverse).

Waking up
=========
Only the head tries to admit: the first interactive waiter, else the first bulk one. A waiter
that may not go yet sleeps on a future of its own (``Waiter.wait``, in :mod:`._waiter`) and one
function, ``wake``, ends that wait. Four things call it:

* the wait's own timer, armed for the delay that the feedback or the log asked for (none
  when the log said "until a release");
* a release took effect in the log (the log's *on_release* hook): the head looks again;
* the line moved (the head was admitted or gave up) or the rules changed (an answer was
  observed): the head looks again;
* :meth:`RateLimiter.aclose` and :meth:`RateLimiter.nudge` (a user stopped waiting), which
  wake every waiter, heads or not.

A woken waiter simply looks again from the top: closed? head of the line? feedback delay?
room in the log? So a spurious wake-up costs a look, never a wrong admission.

Every wait is bounded
=====================
An acquisition may be given ``max_wait``: when the budget frees later than that (a 429 pause,
a spent Remaining cap, a full log), it raises :class:`.WaitTooLong` at once, without waiting;
when nobody can tell (every slot held by a request in flight), it waits until the bound. It
may be given ``give_up``: once that answers True, an acquisition that would have to wait
raises :class:`.LimiterClosed` (a client that closes fails its waiters, not its neighbours').
An engine that cannot reach its store retries with backoff within its own bound; past it,
:class:`.LimiterUnavailable` fails the head *and everyone in line behind it* at once: they
would wait for the same Redis.

Clocks
======
One :class:`~braze_async.Clock` (``clock``) gives the limiter its time. Admission runs on its
**monotonic** reading: the local log's expiries, 429 pauses, Remaining caps, and the timers
(the event loop's, itself monotonic, for the :class:`~braze_async.SystemClock`; the clock's
``sleep`` for any other, e.g. a test's fake). Its **wall** reading (UTC epoch seconds) serves
only to read Braze's ``X-RateLimit-Reset`` when an answer is observed. The Redis engine times
its log on **Redis's** clock, inside its scripts, and its retries on the monotonic reading.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .._clock import SYSTEM_CLOCK, Clock, SystemClock
from ._audiences import Audiences, Held
from ._config import PRIORITIES, Bucket, BucketStats, Priority, RateLimits
from ._engine import Engine, Slot, SlotLog
from ._errors import LimiterClosed, LimiterError, LimiterUnavailable, WaitTooLong
from ._feedback import Feedback
from ._headers import read_rate_limit_headers
from ._local import LocalEngine
from ._waiter import Sleep, Waiter

__all__ = ["Permit", "RateLimiter", "Sleep"]  # Sleep: from ._waiter


class _NotYet(NamedTuple):
    """A look that admitted nothing: what the waiter does next."""

    #: Seconds to sleep before looking again (``math.inf``: until woken).
    delay: float
    #: Seconds until the budget frees, when known (0 when not).
    free_in: float
    #: The limiter's monotonic time after the look.
    now: float


class _Budget:
    """Everything about one bucket: its two lines, its counters, its feedback and its log.

    The head of the budget, the one waiter that tries to admit, is the first interactive
    waiter, else the first bulk one (first come, first served within a lane).
    """

    __slots__ = (
        "admitted",
        "arrivals",
        "bulk",
        "failed_through",
        "failure",
        "feedback",
        "in_flight",
        "interactive",
        "log",
        "reserved",
        "throttled",
        "trouble",
        "unsent",
        "waited",
    )

    def __init__(self, bucket: Bucket, limits: RateLimits, engine: Engine) -> None:
        rate = limits.rate(bucket)
        self.interactive: collections.deque[Waiter] = collections.deque()
        self.bulk: collections.deque[Waiter] = collections.deque()
        #: Slots of each window that bulk requests leave to interactive ones.
        self.reserved = limits.reserved(bucket)
        self.feedback = Feedback(rate.period, limits.margin)
        self.log = engine.open(bucket, rate, self.wake_head)
        self.in_flight = 0
        self.admitted = 0
        self.waited = 0
        self.unsent = 0
        self.throttled = 0
        #: Waiters that ever joined a line (each one's ``number``).
        self.arrivals = 0
        #: The engine gave up: every waiter numbered up to this one fails with ``failure``.
        self.failed_through = -1
        self.failure = ""
        #: What the engine is retrying through right now (None when it answers).
        self.trouble: str | None = None

    def line(self, waiter: Waiter) -> collections.deque[Waiter]:
        """The line *waiter* stands in."""
        return self.bulk if waiter.bulk else self.interactive

    def head(self) -> Waiter | None:
        """The waiter that looks for a slot: interactive ones first."""
        line = self.interactive or self.bulk
        return line[0] if line else None

    def waiting(self) -> int:
        """Waiters in both lines."""
        return len(self.interactive) + len(self.bulk)

    def join(self, bulk: bool) -> Waiter:
        """A new waiter at the end of its lane's line."""
        waiter = Waiter(self.arrivals, bulk)
        self.arrivals += 1
        self.line(waiter).append(waiter)
        return waiter

    def admit(self, waiter: Waiter, *, waited: bool) -> None:
        """*waiter*, the head of its line when it looked, was given a slot: it leaves the
        line, counted, and the next looks (an interactive newcomer may have become the head
        while a bulk head's look awaited the engine: the line is still its own)."""
        self.line(waiter).popleft()
        self.feedback.spend()
        self.in_flight += 1
        self.admitted += 1
        self.waited += waited
        self.trouble = None
        self.wake_head()  # the next in line may go too

    def leave(self, waiter: Waiter) -> None:
        """*waiter* gives up its place (an error, a cancellation); a new head looks."""
        was_head = self.head() is waiter
        line = self.line(waiter)
        if waiter in line:
            line.remove(waiter)
        if was_head:
            self.wake_head()

    def wake_head(self) -> None:
        """Make the head waiter look again (a slot was released or the rules changed)."""
        head = self.head()
        if head is not None:
            head.wake()

    def wake_all(self) -> None:
        """Make every waiter look again, heads or not."""
        for waiter in (*self.interactive, *self.bulk):
            waiter.wake()

    def fail_line(self, reason: str) -> None:
        """The engine gave up: everyone in line now fails with *reason*, newcomers try."""
        self.failed_through = self.arrivals - 1
        self.failure = reason
        self.trouble = None
        self.wake_all()

    def release(self, slot: Slot, sent: bool, outcome_unknown: bool) -> None:
        """Count a permit's release, then hand its slot back to the log."""
        self.in_flight -= 1
        if not (sent or outcome_unknown):
            self.unsent += 1
        self.log.release(slot, sent=sent, outcome_unknown=outcome_unknown)


class Permit:
    """The right to send one request; hand it back with :meth:`release` when the answer came.

    Releasing twice is harmless. ``release(sent=False)`` says the request never left this
    process (the connection failed): its slot is freed at once, as if never admitted. An answer
    is ``sent=True``: the server counted it, so the slot stays counted for ``period + margin``
    from now. A request we stopped waiting for (a read timeout, a connection lost after
    sending, a cancellation mid-flight) is ``outcome_unknown=True``: Braze may still count it
    later, so its slot stays counted one period longer (see the proof in :mod:`._local`).

    ``waited`` is how long the acquisition waited in line, in seconds of the limiter's clock
    (0.0 when it was admitted at its first look).
    """

    __slots__ = ("_budget", "_held", "_slot", "waited")

    def __init__(
        self, budget: _Budget, slot: Slot, waited: float = 0.0, held: Held | None = None
    ) -> None:
        self._budget: _Budget | None = budget
        self._slot = slot
        self.waited = waited
        #: The slot of its audience's own log, if it was given one (:mod:`._audiences`).
        self._held = held

    def release(self, *, sent: bool = True, outcome_unknown: bool = False) -> None:
        """Give the slot back (idempotent); ``outcome_unknown`` implies it was sent."""
        budget, self._budget = self._budget, None
        if budget is not None:
            budget.release(self._slot, sent, outcome_unknown)
            if self._held is not None:
                self._held.release(sent=sent, outcome_unknown=outcome_unknown)

    @property
    def released(self) -> bool:
        """Whether :meth:`release` was called."""
        return self._budget is None


class RateLimiter:
    """Both Braze send budgets, with server feedback; asyncio only, one event loop.

    >>> limiter = RateLimiter(RateLimits())
    >>> permit = await limiter.acquire(Bucket.EXTERNAL_ID)  # doctest: +SKIP
    >>> try:  # doctest: +SKIP
    ...     response = await send()
    ...     limiter.observe(Bucket.EXTERNAL_ID, response.status_code, response.headers)
    ... finally:
    ...     permit.release(sent=True)

    A limiter belongs to the event loop it first waited in (its waiters are that loop's
    futures); waiting in another raises :class:`.LimiterError`.

    :param limits: the configuration; ``limits.redis_url`` selects the Redis engine.
    :param namespace: the Redis budget name used when ``limits.workspace`` is None.
    :param clock: where time is read and waits sleep (monotonic: the in-process engine,
        deadlines and timers; wall: to read ``X-RateLimit-Reset``); the
        :class:`~braze_async.SystemClock` by default, whose waits are the event loop's timers.
        Tests pass :class:`braze_async.testing.FakeClock`.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        namespace: str = "default",
        clock: Clock | None = None,
    ) -> None:
        clock = SYSTEM_CLOCK if clock is None else clock
        self.limits = limits
        # Its readings kept bound: they are read at every look.
        self._monotonic = clock.monotonic
        self._wallclock = clock.time
        # The real clock's waits are the event loop's timers (no task per wait); any other
        # clock's waits sleep on it, so a fake clock times them.
        self._sleep: Sleep | None = None if isinstance(clock, SystemClock) else clock.sleep
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine = _engine_for(limits, namespace, clock)
        self._budgets = {b: _Budget(b, limits, self._engine) for b in Bucket}
        self._audiences = Audiences(
            self._engine, limits.per_audience, self._monotonic, self._sleep, self._check_usable
        )

    async def acquire(
        self,
        bucket: Bucket,
        *,
        priority: Priority = "interactive",
        max_wait: float | None = None,
        give_up: Callable[[], bool] | None = None,
        audience: str | None = None,
    ) -> Permit:
        """Wait for the right to send one request of *bucket*: waiting interactive requests
        first, then bulk ones, first come first served within a lane.

        With an *audience* key (a broadcast's ``audience_key``; :attr:`.Bucket.AUDIENCE`
        only), a slot of that audience's own log is taken first, within the same *max_wait*
        (``RateLimits.per_audience``, see :mod:`._audiences`); the permit releases both.

        Cancelling the wait (task cancellation, a cancel scope, ``asyncio.timeout``) gives the
        place in line back and consumes nothing.

        :param priority: the request's lane: ``"interactive"`` may use the whole budget;
            ``"bulk"`` waits behind every interactive waiter and leaves
            :meth:`RateLimits.reserved` slots of each window (and of Braze's Remaining) to them.
        :param max_wait: seconds this caller may wait at most: when the budget frees later
            (a pause, a spent cap, a full log), :class:`.WaitTooLong` is raised at once; when
            nobody can tell, at the bound. None: no bound.
        :param give_up: asked at every look; once it answers True, the acquisition raises
            :class:`.LimiterClosed` instead of waiting (call :meth:`nudge` when it turns).
        :raises LimiterError: nothing was admitted (see :mod:`._errors`).
        """
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be 'interactive' or 'bulk', not {priority!r}")
        if audience is None:
            return await self._acquire(bucket, priority, max_wait, give_up, None)
        if bucket is not Bucket.AUDIENCE:
            raise ValueError(f"an audience key goes with Bucket.AUDIENCE, not {bucket}")
        deadline = math.inf if max_wait is None else self._monotonic() + max_wait

        def left() -> float | None:
            return None if max_wait is None else max(deadline - self._monotonic(), 0.0)

        while True:  # again only when the audience's slot was lost while waiting (_Lapsed)
            held = await self._audiences.take(audience, left(), give_up)
            try:
                return await self._acquire(bucket, priority, left(), give_up, held)
            except _Lapsed:
                held.release(sent=False)  # gone from the log already; nothing was sent
            except BaseException:
                held.release(sent=False)  # nothing was sent: the audience's slot is given back
                raise

    async def _acquire(
        self,
        bucket: Bucket,
        priority: Priority,
        max_wait: float | None,
        give_up: Callable[[], bool] | None,
        held: Held | None,
    ) -> Permit:
        """:meth:`acquire` of *bucket*'s permit, once *held* (if any) was taken."""
        budget = self._budgets[bucket]
        waiter = budget.join(bulk=priority == "bulk")
        deadline = math.inf
        # When the first wait began (None: not waited yet), the audience's wait included.
        since = None if held is None else held.since
        slept = False  # in this line: then the audience's slot is renewed before it is used
        try:
            while True:
                self._check_open(budget, waiter)
                now = self._monotonic()
                if max_wait is not None and deadline == math.inf:
                    deadline = now + max_wait
                # The audience's slot outlives any wait; lost, it is taken again.
                if held is not None and held.renew_in(now) <= 0 and await held.renew(now) is False:
                    raise _Lapsed
                look = await self._look(budget, waiter, now)
                if isinstance(look, str):
                    if held is not None and slept:
                        await _renew_for_use(held, budget.log, look, self._monotonic())
                    budget.admit(waiter, waited=since is not None)
                    waited = 0.0 if since is None else self._monotonic() - since
                    return Permit(budget, look, waited, held)
                delay, free_in, now = look
                # Behind the head, only a pause says for sure that this caller must wait;
                # otherwise the head decides first and the line moves on at once.
                sure = free_in > 0 or budget.head() is waiter
                if sure and give_up is not None and give_up():
                    raise LimiterClosed(
                        "the caller stopped waiting (its client is closing or its job "
                        "stopped); nothing was sent"
                    )
                if now + free_in > deadline or now >= deadline:
                    raise _too_long(budget, free_in, max_wait)
                if since is None:
                    since = now
                self._check_loop()  # a wait needs futures of this limiter's loop
                if held is not None:  # the audience's slot must outlive the wait
                    delay = min(delay, held.renew_in(now))
                slept = True
                await waiter.wait(min(delay, deadline - now), self._sleep)
        except BaseException:
            budget.leave(waiter)
            raise

    def _check_usable(self, waiting: bool) -> None:
        """Raise when this limiter admits nothing: closed, or (*waiting*) in another loop."""
        if self._closed:
            raise LimiterClosed("RateLimiter is closed")
        if waiting:
            self._check_loop()

    def _check_open(self, budget: _Budget, waiter: Waiter) -> None:
        """Raise when nothing may be admitted any more: closed, or the engine gave up on the
        line *waiter* stands in."""
        if self._closed:
            raise LimiterClosed("RateLimiter is closed")
        if waiter.number <= budget.failed_through:
            raise LimiterUnavailable(budget.failure)

    async def _look(self, budget: _Budget, waiter: Waiter, now: float) -> Slot | _NotYet:
        """One look at time *now*: a slot when *waiter* is admitted, else why not yet (what
        the engine is retrying through, if anything, is left on the budget)."""
        # A pause holds everyone in line; a spent Remaining holds bulk at the reserve (in the
        # log's caps instead when it keeps them for a fleet: see the lanes above).
        reserve = budget.reserved if waiter.bulk else 0
        local_reserve = 0 if budget.log.checks_reserve_in_caps else reserve
        capped = budget.log.backstop()
        delay = free_in = budget.feedback.delay(now, local_reserve, capped=capped)
        if budget.head() is not waiter:
            return _NotYet(math.inf, free_in, now)  # behind the head: until the line moves
        if delay > 0:
            return _NotYet(delay, free_in, now)
        try:
            answer = await budget.log.try_admit(reserve)
        except LimiterUnavailable as exc:
            budget.fail_line(str(exc))  # they all wait for the same store
            raise
        if isinstance(answer, str):
            if not capped and budget.log.backstop():
                # This very look found that the store lost the fleet's log: our own caps
                # hold from now on, this admission included.
                now = self._monotonic()
                later = budget.feedback.delay(now, local_reserve)
                if later > 0:
                    budget.log.release(answer, sent=False)
                    return _NotYet(later, later, now)
            return answer
        budget.trouble = answer.trouble
        return _NotYet(answer.look_again_in, answer.free_in, self._monotonic())

    def observe(self, bucket: Bucket, status_code: int, headers: Mapping[str, str]) -> None:
        """Take the server's word on *bucket* from one answer's status and headers.

        *headers* may be any mapping: case-insensitive ones (``httpx.Headers``) are read
        directly, others are matched case-insensitively. Unusable values are ignored. Call it
        for every answer that reached us, in any order, before or after releasing its permit.
        """
        budget = self._budgets[bucket]
        now = self._monotonic()
        wall = self._wallclock()
        update = budget.feedback.observe(
            now=now,
            wall=wall,
            status=status_code,
            headers=read_rate_limit_headers(headers, wall=wall, throttled=status_code == 429),
            in_flight=budget.in_flight,
            accounts_for=budget.log.accounts_for,
        )
        if update.pause is not None or update.cap is not None:
            budget.log.share(pause=update.pause, cap=update.cap)
        if status_code == 429:
            budget.throttled += 1
        budget.wake_head()

    def snapshot(self, bucket: Bucket) -> BucketStats:
        """Current counters of *bucket*."""
        budget = self._budgets[bucket]
        paused_for = max(budget.feedback.paused_until - self._monotonic(), 0.0)
        return BucketStats(
            rate=self.limits.rate(bucket),
            waiting=budget.waiting(),
            paused_until=self._wallclock() + paused_for if paused_for else None,
            server_remaining=budget.feedback.server_remaining,
            server_reset=budget.feedback.server_reset,
            admitted=budget.admitted,
            in_flight=budget.in_flight,
            waited=budget.waited,
            unsent=budget.unsent,
            throttled=budget.throttled,
            counted=budget.log.counted(),
            paused_for=paused_for,
            server_limit=budget.feedback.server_limit,
        )

    def nudge(self) -> None:
        """Make every waiter look again (e.g. a ``give_up`` predicate turned true)."""
        for budget in self._budgets.values():
            budget.wake_all()
        self._audiences.wake_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Wake and fail the waiters, then let go of the engine (Redis connections).

        Permits still out stay valid to release; with Redis, their slots expire by lease.
        """
        if self._closed:
            return
        self._closed = True
        self.nudge()
        await self._engine.aclose()

    async def __aenter__(self) -> RateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise LimiterError(
                "this RateLimiter belongs to the event loop it was first used in; "
                "create one per event loop"
            )


def _engine_for(limits: RateLimits, namespace: str, clock: Clock) -> Engine:
    """The engine *limits* asks for; Redis is imported only then, since it is optional."""
    if limits.redis_url is None:
        return LocalEngine(clock, limits.margin)
    try:
        from ._redis import RedisEngine
    except ImportError as exc:
        if not (exc.name or "").startswith("redis"):
            raise
        raise ImportError(
            "RateLimits(redis_url=...) needs the redis package: pip install 'braze-async[redis]'"
        ) from exc
    return RedisEngine(
        limits.redis_url,
        workspace=limits.workspace or namespace,
        margin=limits.margin,
        lease=limits.lease,
        timeout=limits.redis_timeout,
        retry_for=limits.redis_retry_for,
        clock=clock,
    )


class _Lapsed(Exception):
    """The audience's slot of an acquisition waiting for its budget is gone from the log (the
    store lost it): the acquisition takes a fresh one, never sending uncounted."""


async def _renew_for_use(held: Held, log: SlotLog, slot: Slot, now: float) -> None:
    """Renew *held*'s lease from *now* for the request about to be sent on the budget's
    *slot* (of *log*), which is given back unsent when that fails: :class:`_Lapsed` when the
    audience's slot is gone, or cannot be vouched for (its store failed)."""
    try:
        renewed = await held.renew(now)
    except BaseException:
        log.release(slot, sent=False)
        raise
    if not renewed:
        log.release(slot, sent=False)
        raise _Lapsed


def _too_long(budget: _Budget, free_in: float, max_wait: float | None) -> LimiterError:
    """What a wait past the caller's bound raises: the engine's trouble, when it is why
    nothing can be told, else :class:`.WaitTooLong`."""
    if budget.trouble is not None:
        return LimiterUnavailable(budget.trouble)
    return WaitTooLong(free_in if free_in > 0 else None, max_wait or 0.0)
