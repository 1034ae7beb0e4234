"""Exact client-side rate limiting for Braze's two send budgets.

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

Server feedback
===============
The headers are authoritative (other consumers of the workspace spend the same budget).
:meth:`RateLimiter.observe` turns them into two local constraints that sit *on top of* the log:

* ``X-RateLimit-Remaining: r`` with ``X-RateLimit-Reset: t`` caps admissions at ``r`` minus our
  requests now in flight (the server may not have counted them yet) until wall-clock ``t``.
  Answers arrive out of order, so caps only ever tighten within one window; a cap per distinct
  Reset is kept (a few at most) and each admission spends from all of them.
* a 429 pauses the bucket until ``X-RateLimit-Retry-After`` / ``Retry-After`` seconds, else until
  Reset, else for an exponential fallback (1 s, 2 s, 4 s, ... capped); pauses only lengthen.

Garbage values are ignored. Header names are matched case-insensitively on any mapping.

Engines
=======
By default the log lives in this process (a deque of expiry times: ~8 MB at 250,000 slots, ~2 µs
per uncontended acquire + release). With ``RateLimits(redis_url=...)`` it lives in Redis and is
shared by every process of the fleet (see :mod:`braze_async._redis_limits`), and so are 429
pauses and Remaining caps. FIFO order, cancellation and the local view of server feedback are
handled here, in front of either engine.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import enum
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol, TypeAlias

import attrs

__all__ = ["Bucket", "BucketStats", "Permit", "Rate", "RateLimiter", "RateLimits"]

Clock: TypeAlias = Callable[[], float]
Sleep: TypeAlias = Callable[[float], Awaitable[object]]

# At most this many distinct Reset values are remembered per bucket; beyond it the two
# closest are merged conservatively (the lower allowance until the later Reset).
_MAX_CAPS = 4
# Fallback pause after a 429 that carries no usable header: 1 s, doubling, capped.
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 60.0


def _check_limit(instance: Rate, attribute: attrs.Attribute[int], value: object) -> None:
    del instance, attribute
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Rate.limit must be an int >= 1, got {value!r}")


def _to_period(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"Rate.period must be a finite number of seconds > 0, got {value!r}")
    return float(value)


@attrs.frozen
class Rate:
    """At most ``limit`` requests in any ``period`` seconds.

    >>> Rate(250, 60.0)
    Rate(limit=250, period=60.0)
    """

    #: Requests allowed in any window of ``period`` seconds.
    limit: int = attrs.field(validator=_check_limit)
    #: Length of the window, in seconds.
    period: float = attrs.field(converter=_to_period)


def _non_negative_finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    del instance
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"RateLimits.{attribute.name} must be a finite number, got {value!r}")
    if value < 0 or (attribute.name == "lease" and value == 0):
        raise ValueError(f"RateLimits.{attribute.name} is out of range: {value!r}")


def _optional_name(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    del instance
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"RateLimits.{attribute.name} must be a non-empty str or None")


def _is_rate(instance: object, attribute: attrs.Attribute[Rate], value: object) -> None:
    del instance
    if not isinstance(value, Rate):
        raise ValueError(f"RateLimits.{attribute.name} must be a Rate, got {value!r}")


@attrs.frozen(kw_only=True)
class RateLimits:
    """How fast the client may send; Braze's published limits by default.

    >>> RateLimits(redis_url="redis://localhost:6379/0", workspace="acme-prod")  # doctest: +SKIP
    """

    #: Segment and Connected Audience sends (and scheduled triggers): 250 per minute.
    audience: Rate = attrs.field(default=Rate(250, 60.0), validator=_is_rate)
    #: Sends by external ID and every endpoint without a limit of its own: 250,000 per hour.
    external_id: Rate = attrs.field(default=Rate(250_000, 3600.0), validator=_is_rate)
    #: When set, the budgets are shared by every process using the same Redis and workspace.
    redis_url: str | None = attrs.field(default=None, validator=_optional_name)
    #: Name of the budget in Redis. Braze limits are per workspace, not per API key; when None
    #: the client derives a name from the REST endpoint and a hash of the key (never the key).
    workspace: str | None = attrs.field(default=None, validator=_optional_name)
    #: Extra seconds each slot stays counted after its request completed (clock-skew safety).
    margin: float = attrs.field(default=0.0, validator=_non_negative_finite)
    #: Redis only: longest a request may hold its slot (keep it above the HTTP timeout). A slot
    #: whose holder died expires ``lease + period`` after admission.
    lease: float = attrs.field(default=120.0, validator=_non_negative_finite)

    def rate(self, bucket: Bucket) -> Rate:
        """The :class:`Rate` configured for *bucket*."""
        return self.audience if bucket is Bucket.AUDIENCE else self.external_id


class Bucket(enum.Enum):
    """The two request budgets Braze enforces on sends."""

    AUDIENCE = "audience"
    EXTERNAL_ID = "external_id"


class Permit:
    """The right to send one request; hand it back with :meth:`release` when the answer came.

    Releasing twice is harmless. ``release(sent=False)`` says the request never left this
    process (the connection failed): its slot is freed at once, as if never admitted. Any other
    outcome (an answer, a timeout, a reset connection) must be ``sent=True``: the server may
    have counted it, so the slot stays counted for ``period + margin`` from now.
    """

    __slots__ = ("_release",)

    def __init__(self, release: Callable[[bool], None]) -> None:
        self._release: Callable[[bool], None] | None = release

    def release(self, *, sent: bool = True) -> None:
        """Give the slot back (idempotent)."""
        release, self._release = self._release, None
        if release is not None:
            release(sent)

    @property
    def released(self) -> bool:
        """Whether :meth:`release` was called."""
        return self._release is None


@attrs.frozen(kw_only=True)
class BucketStats:
    """Counters of one bucket, for tests, logs and benchmarks."""

    #: Permits handed out since the limiter was created.
    admitted: int
    #: Permits not yet released.
    in_flight: int
    #: Acquisitions that had to wait at least once.
    waited: int
    #: Permits released with ``sent=False``.
    unsent: int
    #: 429 answers observed.
    throttled: int
    #: Slots counted now (in flight + released but unexpired); None when kept in Redis.
    counted: int | None
    #: Seconds until admissions resume after a 429 (0 when not paused).
    paused_for: float
    #: Last valid ``X-RateLimit-Limit`` seen, for diagnostics (not acted upon).
    server_limit: int | None


def _header(headers: Mapping[str, str], lowered: dict[str, str] | None, name: str) -> str | None:
    # Case-insensitive mappings (httpx.Headers, multidict) answer the lower-case name directly.
    value = headers.get(name)
    if value is None and lowered is not None:
        value = lowered.get(name)
    return value if isinstance(value, str) else None


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
    """Parse a Retry-After value: delta seconds or an HTTP date; None when unusable."""
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


class _Feedback:
    """What the server told us about one bucket: pauses after 429s and Remaining caps."""

    __slots__ = ("caps", "horizon", "margin", "paused_until", "server_limit", "strikes")

    def __init__(self, period: float, margin: float) -> None:
        #: Monotonic time before which nothing is admitted (after a 429).
        self.paused_until = -math.inf
        #: Wall-clock Reset -> requests we may still start before it.
        self.caps: dict[float, int] = {}
        #: Consecutive 429s without a usable header (for the exponential fallback).
        self.strikes = 0
        #: Header times further than this are garbage (a window never ends that late).
        self.horizon = 2 * period + 60.0
        self.margin = margin
        self.server_limit: int | None = None

    def delay(self, now: float, wall: float) -> float:
        """Seconds to wait before the next admission (0: go)."""
        wait = self.paused_until - now
        if self.caps:
            for reset in [r for r in self.caps if r + self.margin <= wall]:
                del self.caps[reset]
            for reset, allowance in self.caps.items():
                if allowance < 1:
                    wait = max(wait, reset + self.margin - wall)
        return max(wait, 0.0)

    def spend(self) -> None:
        for reset in self.caps:
            self.caps[reset] -= 1

    def observe(
        self,
        *,
        now: float,
        wall: float,
        status: int,
        headers: Mapping[str, str],
        in_flight: int,
        ours: int | None = None,
    ) -> tuple[float, int] | None:
        """Apply one answer; return its valid ``(reset, remaining)``, if any, for sharing.

        *ours* is how many slots our own log counts now (in flight + unexpired), when known.
        If the server's usage (Limit - Remaining) is no more than that, our own requests
        explain all of it and the exact local log already governs them: no cap is needed.
        (Without this, Reset's whole-second rounding would idle up to a second per window.)
        """
        lowered: dict[str, str] | None = None
        try:
            if headers.get("x-ratelimit-remaining") is None:
                lowered = {str(k).lower(): v for k, v in headers.items()}
        except Exception:  # a broken mapping is garbage like any other
            return None
        remaining = parse_number(_header(headers, lowered, "x-ratelimit-remaining"))
        reset = parse_number(_header(headers, lowered, "x-ratelimit-reset"))
        limit = parse_number(_header(headers, lowered, "x-ratelimit-limit"))
        if limit is not None and limit >= 1 and limit.is_integer():
            self.server_limit = int(limit)
        if reset is not None and not wall < reset <= wall + self.horizon:
            reset = None  # stale (a past window) or absurd
        if remaining is not None and (remaining < 0 or not remaining.is_integer()):
            remaining = None
        cap = None
        if remaining is not None and reset is not None:
            cap = (reset, int(remaining))
            explained = (
                ours is not None
                and self.server_limit is not None
                and self.server_limit - remaining <= ours
            )
            if not explained:
                # Someone else spends this budget too. Our in-flight requests may not be
                # counted yet: they will spend from r as well.
                self._cap(reset, int(remaining) - in_flight)
        if status == 429:
            retry_after = parse_retry_after(
                _header(headers, lowered, "x-ratelimit-retry-after"), wall
            )
            if retry_after is None:
                retry_after = parse_retry_after(_header(headers, lowered, "retry-after"), wall)
            if retry_after is not None and retry_after <= self.horizon:
                pause = retry_after
            elif reset is not None:
                pause = reset - wall
            else:
                pause = min(_BACKOFF_BASE * 2.0 ** min(self.strikes, 30), _BACKOFF_CAP)
                self.strikes += 1
            self.paused_until = max(self.paused_until, now + pause)
        elif 200 <= status < 300:
            self.strikes = 0
        return cap

    def _cap(self, reset: float, allowance: int) -> None:
        allowance = max(allowance, 0)
        current = self.caps.get(reset)
        self.caps[reset] = allowance if current is None else min(current, allowance)
        while len(self.caps) > _MAX_CAPS:
            # Merge the two closest resets: the lower allowance holds until the later one.
            resets = sorted(self.caps)
            i = min(range(len(resets) - 1), key=lambda j: resets[j + 1] - resets[j])
            early, late = resets[i], resets[i + 1]
            self.caps[late] = min(self.caps.pop(early), self.caps[late])


class _Waiter:
    __slots__ = ("fut",)

    def __init__(self) -> None:
        self.fut: asyncio.Future[None] | None = None


class _Lane:
    """Everything about one bucket that does not depend on the engine."""

    __slots__ = (
        "admitted",
        "bucket",
        "expiries",
        "feedback",
        "in_flight",
        "queue",
        "rate",
        "throttled",
        "unsent",
        "waited",
    )

    def __init__(self, bucket: Bucket, rate: Rate, margin: float) -> None:
        self.bucket = bucket
        self.rate = rate
        self.queue: collections.deque[_Waiter] = collections.deque()
        self.feedback = _Feedback(rate.period, margin)
        #: In-process engine: expiry times of released slots, in increasing order.
        self.expiries: collections.deque[float] = collections.deque()
        self.in_flight = 0
        self.admitted = 0
        self.waited = 0
        self.unsent = 0
        self.throttled = 0

    def poke(self) -> None:
        """Make the head waiter look again (a slot was freed or the rules changed)."""
        if self.queue:
            fut = self.queue[0].fut
            if fut is not None and not fut.done():
                fut.set_result(None)


class _Engine(Protocol):
    async def try_admit(self, lane: _Lane) -> Permit | float:
        """Admit now (a Permit) or say how long to wait before trying again (inf: until poked)."""

    def observed(self, lane: _Lane, *, pause: float | None, cap: tuple[float, int] | None) -> None:
        """Share new feedback: a 429 pause of *pause* s, or at most ``cap[1]`` before ``cap[0]``."""

    async def aclose(self) -> None: ...


class _LocalEngine:
    """The sliding log of release times, in this process."""

    __slots__ = ("_clock", "_margin")

    def __init__(self, clock: Clock, margin: float) -> None:
        self._clock = clock
        self._margin = margin

    async def try_admit(self, lane: _Lane) -> Permit | float:
        now = self._clock()
        expiries = lane.expiries
        while expiries and expiries[0] <= now:
            expiries.popleft()
        if lane.in_flight + len(expiries) < lane.rate.limit:
            lane.in_flight += 1
            return Permit(lambda sent: self._release(lane, sent))
        # Full: the earliest released slot frees first; if all are in flight, wait for a release.
        return expiries[0] - now if expiries else math.inf

    def _release(self, lane: _Lane, sent: bool) -> None:
        lane.in_flight -= 1
        if sent:
            expiry = self._clock() + lane.rate.period + self._margin
            if lane.expiries and expiry < lane.expiries[-1]:  # a clock that went backwards
                expiry = lane.expiries[-1]
            lane.expiries.append(expiry)
        else:
            lane.unsent += 1
        lane.poke()

    def observed(self, lane: _Lane, *, pause: float | None, cap: tuple[float, int] | None) -> None:
        pass

    async def aclose(self) -> None:
        pass

    def counted(self, lane: _Lane) -> int:
        now = self._clock()
        expiries = lane.expiries
        while expiries and expiries[0] <= now:
            expiries.popleft()
        return lane.in_flight + len(expiries)


class RateLimiter:
    """Both Braze send budgets, with server feedback; asyncio only.

    >>> limiter = RateLimiter(RateLimits())
    >>> permit = await limiter.acquire(Bucket.EXTERNAL_ID)  # doctest: +SKIP
    >>> try:  # doctest: +SKIP
    ...     response = await send()
    ...     limiter.observe(Bucket.EXTERNAL_ID, response.status_code, response.headers)
    ... finally:
    ...     permit.release(sent=True)

    :param limits: the configuration; ``limits.redis_url`` selects the Redis engine.
    :param namespace: the Redis budget name used when ``limits.workspace`` is None.
    :param clock: monotonic seconds (in-process engine and local timers).
    :param wallclock: UTC epoch seconds, to read ``X-RateLimit-Reset``.
    :param sleep: an async sleep to time waits with (tests pass a fake); by default waits are
        timed by the event loop.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        namespace: str = "default",
        clock: Clock = time.monotonic,
        wallclock: Clock = time.time,
        sleep: Sleep | None = None,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._wallclock = wallclock
        self._sleep = sleep
        self._closed = False
        self._lanes = {b: _Lane(b, limits.rate(b), limits.margin) for b in Bucket}
        self._local: _LocalEngine | None = None
        self._engine: _Engine
        if limits.redis_url is None:
            self._engine = self._local = _LocalEngine(clock, limits.margin)
        else:
            try:
                from braze_async._redis_limits import RedisEngine
            except ImportError as exc:
                if not (exc.name or "").startswith("redis"):
                    raise
                raise ImportError(
                    "RateLimits(redis_url=...) needs the redis package: "
                    "pip install 'braze-async[redis]'"
                ) from exc
            self._engine = RedisEngine(
                limits.redis_url,
                workspace=limits.workspace or namespace,
                margin=limits.margin,
                lease=limits.lease,
                sleep=sleep,
            )

    async def acquire(self, bucket: Bucket) -> Permit:
        """Wait for the right to send one request of *bucket*, first come first served.

        Cancelling the wait (task cancellation, a cancel scope, ``asyncio.timeout``) gives the
        place in line back and consumes nothing.
        """
        lane = self._lanes[bucket]
        queue = lane.queue
        waiter = _Waiter()
        queue.append(waiter)
        waited = False
        try:
            while True:
                if self._closed:
                    raise RuntimeError("RateLimiter is closed")
                delay = math.inf
                if queue[0] is waiter:
                    delay = lane.feedback.delay(self._clock(), self._wallclock())
                    if delay <= 0:
                        result = await self._engine.try_admit(lane)
                        if isinstance(result, Permit):
                            queue.popleft()
                            lane.feedback.spend()
                            lane.admitted += 1
                            lane.waited += waited
                            lane.poke()
                            return result
                        delay = result
                waited = True
                await self._wait(waiter, delay)
        except BaseException:
            if queue and queue[0] is waiter:
                queue.popleft()
                lane.poke()
            elif waiter in queue:
                queue.remove(waiter)
            raise

    async def _wait(self, waiter: _Waiter, delay: float) -> None:
        loop = asyncio.get_running_loop()
        fut = waiter.fut = loop.create_future()
        if math.isinf(delay):
            try:
                await fut
            finally:
                waiter.fut = None
            return
        delay = max(delay, 1e-6)
        if self._sleep is None:
            handle = loop.call_later(delay, _wake, fut)
            try:
                await fut
            finally:
                waiter.fut = None
                handle.cancel()
        else:
            alarm = loop.create_task(self._alarm(delay, fut))
            try:
                await fut
            finally:
                waiter.fut = None
                alarm.cancel()

    async def _alarm(self, delay: float, fut: asyncio.Future[None]) -> None:
        assert self._sleep is not None
        await self._sleep(delay)
        _wake(fut)

    def observe(self, bucket: Bucket, status_code: int, headers: Mapping[str, str]) -> None:
        """Take the server's word on *bucket* from one answer's status and headers.

        *headers* may be any mapping: case-insensitive ones (``httpx.Headers``) are read
        directly, others are matched case-insensitively. Unusable values are ignored. Call it
        for every answer that reached us, in any order, before or after releasing its permit.
        """
        lane = self._lanes[bucket]
        now = self._clock()
        before = lane.feedback.paused_until
        cap = lane.feedback.observe(
            now=now,
            wall=self._wallclock(),
            status=status_code,
            headers=headers,
            in_flight=lane.in_flight,
            ours=None if self._local is None else self._local.counted(lane),
        )
        if status_code == 429:
            lane.throttled += 1
        paused_until = lane.feedback.paused_until
        pause = paused_until - now if paused_until > before else None
        if pause is not None or cap is not None:
            self._engine.observed(lane, pause=pause, cap=cap)
        lane.poke()

    def snapshot(self, bucket: Bucket) -> BucketStats:
        """Current counters of *bucket*."""
        lane = self._lanes[bucket]
        return BucketStats(
            admitted=lane.admitted,
            in_flight=lane.in_flight,
            waited=lane.waited,
            unsent=lane.unsent,
            throttled=lane.throttled,
            counted=None if self._local is None else self._local.counted(lane),
            paused_for=max(lane.feedback.paused_until - self._clock(), 0.0),
            server_limit=lane.feedback.server_limit,
        )

    async def aclose(self) -> None:
        """Wake and fail the waiters, then let go of the engine (Redis connections).

        Permits still out stay valid to release; with Redis, their slots expire by lease.
        """
        if self._closed:
            return
        self._closed = True
        for lane in self._lanes.values():
            _wake_all(lane.queue)
        await self._engine.aclose()

    async def __aenter__(self) -> RateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _wake_all(waiters: Iterable[_Waiter]) -> None:
    for waiter in waiters:
        if waiter.fut is not None:
            _wake(waiter.fut)
