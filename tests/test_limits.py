"""The in-process rate limiter: exact windows, full budget, FIFO, cancellation, server feedback.

Everything runs on a fake clock: :class:`FakeTime` jumps from one timer to the next as soon as
every task is blocked, so no test sleeps for real (aiolimiter's leak, the contrast, is measured in
benchmarks/bench_limiter.py).
"""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import math
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import attrs
import pytest
from _fake_time import EPOCH, FakeTime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from braze_async._limits import Bucket, LimiterError, Permit, Rate, RateLimiter, RateLimits

T = TypeVar("T")
A = Bucket.AUDIENCE
E = Bucket.EXTERNAL_ID
DEFAULTS = RateLimits()


def make(
    ft: FakeTime,
    limits: RateLimits | None = None,
    *,
    audience: Rate = DEFAULTS.audience,
    external_id: Rate = DEFAULTS.external_id,
) -> RateLimiter:
    """A limiter on fake time."""
    limits = limits or RateLimits(audience=audience, external_id=external_id)
    return RateLimiter(limits, clock=ft)


def run(main: Callable[[FakeTime], Coroutine[Any, Any, T]]) -> T:
    ft = FakeTime()
    return asyncio.run(main(ft))


def worst_window(intervals: list[tuple[float, float]], period: float) -> int:
    """Most requests one server window of *period* could count, for the worst arrival choice.

    A request is counted at some moment of ``[admitted, completed]``; an adversary picks them.
    Requests that can share a window ``(a, a + period]`` are those whose intervals meet it,
    and the largest such set is found with ``a`` just below some completion time.
    """
    best = 0
    for _, done in intervals:
        best = max(best, sum(1 for t, c in intervals if c >= done and t < done + period))
    return best


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"limit": 0, "period": 1.0}, "limit", id="zero-limit"),
        pytest.param({"limit": -3, "period": 1.0}, "limit", id="negative-limit"),
        pytest.param({"limit": 2.5, "period": 1.0}, "limit", id="float-limit"),
        pytest.param({"limit": True, "period": 1.0}, "limit", id="bool-limit"),
        pytest.param({"limit": "10", "period": 1.0}, "limit", id="str-limit"),
        pytest.param({"limit": 1, "period": 0}, "period", id="zero-period"),
        pytest.param({"limit": 1, "period": -1.0}, "period", id="negative-period"),
        pytest.param({"limit": 1, "period": math.inf}, "period", id="infinite-period"),
        pytest.param({"limit": 1, "period": math.nan}, "period", id="nan-period"),
        pytest.param({"limit": 1, "period": "60"}, "period", id="str-period"),
    ],
)
def test_rate_rejects_bad_values(kwargs: dict[str, Any], field: str) -> None:
    """A Rate that makes no sense is refused, and the error names the field."""
    with pytest.raises(ValueError, match=f"Rate.{field}"):
        Rate(**kwargs)


def test_rate_accepts_int_period() -> None:
    """An int period is stored as a float."""
    assert Rate(5, 2) == Rate(5, 2.0)
    assert isinstance(Rate(5, 2).period, float)


def test_rate_limits_defaults_are_brazes() -> None:
    """By default: 250 per minute for audience sends, 250,000 per hour by external ID."""
    limits = RateLimits()
    assert limits.audience == Rate(250, 60.0)
    assert limits.external_id == Rate(250_000, 3600.0)
    assert limits.redis_url is None
    assert limits.workspace is None
    assert limits.margin == 0.0
    assert limits.rate(A) is limits.audience
    assert limits.rate(E) is limits.external_id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"margin": -0.1}, "margin", id="negative-margin"),
        pytest.param({"margin": math.inf}, "margin", id="infinite-margin"),
        pytest.param({"lease": 0.0}, "lease", id="zero-lease"),
        pytest.param({"redis_url": ""}, "redis_url", id="empty-url"),
        pytest.param({"workspace": ""}, "workspace", id="empty-workspace"),
        pytest.param({"audience": (250, 60)}, "audience", id="tuple-rate"),
    ],
)
def test_rate_limits_rejects_bad_values(kwargs: dict[str, Any], field: str) -> None:
    """Bad configuration fails at construction, naming the field."""
    with pytest.raises(ValueError, match=f"RateLimits.{field}"):
        RateLimits(**kwargs)


def test_rate_limits_is_frozen() -> None:
    """Configuration is a value."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        RateLimits().margin = 1.0  # type: ignore[misc]


# -- the guarantee ---------------------------------------------------------------------------

request = st.tuples(
    st.integers(0, 40).map(lambda q: q / 4),  # when the caller asks (multiples of 0.25 s: ties)
    st.integers(0, 16).map(lambda q: q / 8),  # latency: from instant to twice a period
    st.booleans() | st.just(True),  # sent (False: the connection failed)
    st.none() | st.integers(0, 12).map(lambda q: q / 4),  # patience before cancelling the wait
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.integers(1, 6),
    period=st.sampled_from([0.5, 1.0, 2.0]),
    margin=st.sampled_from([0.0, 0.25]),
    requests=st.lists(request, min_size=1, max_size=40),
)
def test_no_window_ever_holds_more_than_limit(
    limit: int,
    period: float,
    margin: float,
    requests: list[tuple[float, float, bool, float | None]],
) -> None:
    """Whenever the server counts each request, no window of `period` sees more than `limit`."""

    async def main(ft: FakeTime) -> list[tuple[float, float]]:
        limiter = make(ft, RateLimits(audience=Rate(limit, period), margin=margin))
        counted: list[tuple[float, float]] = []

        async def one(start: float, latency: float, sent: bool, patience: float | None) -> None:
            await ft.sleep(start)
            permit = await acquire_with_patience(ft, limiter, A, patience)
            if permit is None:
                return
            admitted = ft.now
            await ft.sleep(latency)
            if sent:
                counted.append((admitted, ft.now))
            permit.release(sent=sent)

        tasks = [asyncio.ensure_future(one(*r)) for r in requests]
        await ft.run(tasks)
        stats = limiter.snapshot(A)
        assert stats.in_flight == 0
        assert stats.admitted == len(counted) + stats.unsent
        return counted

    counted = run(main)
    assert worst_window(counted, period) <= limit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.integers(1, 6),
    period=st.sampled_from([0.5, 1.0, 2.0]),
    requests=st.lists(
        st.tuples(
            st.integers(0, 40).map(lambda q: q / 4),  # when the caller asks
            st.integers(0, 16).map(lambda q: q / 8),  # until the answer, or until we give up
            st.sampled_from(["answered", "unknown", "unsent"]),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_no_window_holds_more_than_limit_when_braze_counts_late(
    limit: int, period: float, requests: list[tuple[float, float, str]]
) -> None:
    """The proof's first assumption, as restated: a request whose outcome is unknown (we gave
    up on its answer) may be counted by Braze up to one period after we gave up. Released
    with outcome_unknown, no window of `period` still sees more than `limit`."""

    async def main(ft: FakeTime) -> list[tuple[float, float]]:
        limiter = make(ft, audience=Rate(limit, period))
        counted: list[tuple[float, float]] = []

        async def one(start: float, latency: float, outcome: str) -> None:
            await ft.sleep(start)
            permit = await limiter.acquire(A)
            admitted = ft.now
            await ft.sleep(latency)
            if outcome == "answered":
                counted.append((admitted, ft.now))
            elif outcome == "unknown":
                counted.append((admitted, ft.now + period))  # counted up to a period late
            permit.release(sent=outcome != "unsent", outcome_unknown=outcome == "unknown")

        await ft.run([asyncio.ensure_future(one(*r)) for r in requests])
        return counted

    assert worst_window(run(main), period) <= limit


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.integers(1, 6),
    period=st.sampled_from([1.0, 2.0, 4.0]),
    kind=st.sampled_from(["fixed", "sliding"]),
    requests=st.lists(
        st.tuples(
            st.integers(0, 40).map(lambda q: q / 4),  # when the caller asks
            st.integers(0, 16).map(lambda q: q / 8),  # latency
            st.integers(0, 4).map(lambda q: q / 4),  # where in [send, answer] Braze counts it
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_a_server_counting_in_its_own_windows_never_refuses_us(
    limit: int, period: float, kind: str, requests: list[tuple[float, float, float]]
) -> None:
    """Judged as a server would: Braze's windows (fixed, aligned to the epoch, or sliding)
    count each request at some moment between send and answer, and every answer carries the
    window's Remaining/Reset, fed back to the limiter. The server never has to refuse one."""
    from braze_async.simulator._ratelimit import FixedWindow, SlidingWindow

    async def main(ft: FakeTime) -> list[int]:
        limiter = make(ft, audience=Rate(limit, period))
        window_kind = FixedWindow if kind == "fixed" else SlidingWindow
        window = window_kind(limit, period, ft.simulator_clock())
        refused: list[int] = []

        async def one(number: int, start: float, latency: float, where: float) -> None:
            await ft.sleep(start)
            permit = await limiter.acquire(A)
            await ft.sleep(latency * where)
            counted = window.acquire() == 1
            quota = window.quota()
            await ft.sleep(latency * (1 - where))
            permit.release(sent=True)
            headers = {
                "X-RateLimit-Limit": str(quota.limit),
                "X-RateLimit-Remaining": str(quota.remaining),
                "X-RateLimit-Reset": str(quota.reset),
            }
            if not counted:
                refused.append(number)
                headers["Retry-After"] = str(quota.retry_after)
            limiter.observe(A, 201 if counted else 429, headers)

        tasks = [asyncio.ensure_future(one(i, *r)) for i, r in enumerate(requests)]
        await ft.run(tasks)
        return refused

    assert run(main) == []


async def acquire_with_patience(
    ft: FakeTime, limiter: RateLimiter, bucket: Bucket, patience: float | None
) -> Permit | None:
    if patience is None:
        return await limiter.acquire(bucket)
    acquiring = asyncio.ensure_future(limiter.acquire(bucket))
    timer = asyncio.ensure_future(ft.sleep(patience))
    await asyncio.wait({acquiring, timer}, return_when=asyncio.FIRST_COMPLETED)
    timer.cancel()
    if acquiring.cancel():
        with pytest.raises(asyncio.CancelledError):
            await acquiring
        return None
    return acquiring.result()


def test_steady_load_uses_the_whole_budget() -> None:
    """With latency << period, steady load gets >= 95% of limit per period, and never more."""
    limit, period, latency, duration = 100, 10.0, 0.01, 100.0

    async def main(ft: FakeTime) -> list[tuple[float, float]]:
        limiter = make(ft, audience=Rate(limit, period))
        log: list[tuple[float, float]] = []

        async def worker() -> None:
            while True:
                permit = await limiter.acquire(A)
                admitted = ft.now
                if admitted >= duration:
                    permit.release(sent=False)
                    return
                await ft.sleep(latency)
                log.append((admitted, ft.now))
                permit.release()

        await ft.run([asyncio.ensure_future(worker()) for _ in range(20)])
        return log

    log = run(main)
    assert len(log) >= 0.95 * limit * duration / period
    assert worst_window(log, period) <= limit


def test_burst_up_to_limit_then_nothing_until_a_slot_expires() -> None:
    """A full burst goes at once; the next request waits for the first slot to expire."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(10, 1.0))
        permits = [await limiter.acquire(A) for _ in range(10)]
        assert ft.now == 0.0
        await ft.advance(0.2)
        for p in permits:
            p.release()  # completed at 0.2: slots expire at 1.2
        late = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(0.999)
        assert not late.done()
        await ft.advance(0.001)
        assert late.done()
        assert ft.now == pytest.approx(1.2)
        assert limiter.snapshot(A).waited == 1

    run(main)


def test_in_flight_slots_never_expire() -> None:
    """A request still waiting for its answer keeps its slot, however long it takes."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(1, 1.0))
        permit = await limiter.acquire(A)
        nxt = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(50.0)
        assert not nxt.done()
        permit.release()
        await ft.advance(0.999)
        assert not nxt.done()
        await ft.advance(0.001)
        assert nxt.done()

    run(main)


def test_margin_keeps_slots_longer() -> None:
    """With a margin, a released slot counts period + margin."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, RateLimits(audience=Rate(1, 1.0), margin=0.5))
        (await limiter.acquire(A)).release()
        nxt = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(1.49)
        assert not nxt.done()
        await ft.advance(0.01)
        assert nxt.done()

    run(main)


# -- fairness and cancellation ---------------------------------------------------------------


def test_waiters_are_served_first_come_first_served() -> None:
    """Waiters are admitted in the order they asked."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(1, 1.0))
        order: list[int] = []

        async def waiter(i: int) -> None:
            permit = await limiter.acquire(A)
            order.append(i)
            permit.release()

        first = await limiter.acquire(A)
        tasks = []
        for i in range(6):
            tasks.append(asyncio.ensure_future(waiter(i)))
            await ft.settle()
        first.release()
        await ft.run(tasks)
        assert order == list(range(6))
        assert ft.now == pytest.approx(6.0)

    run(main)


def test_newcomer_does_not_jump_the_queue() -> None:
    """A slot freed while others wait goes to the head of the line, not to a newcomer."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(1, 1.0))
        first = await limiter.acquire(A)
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.settle()
        first.release(sent=False)
        newcomer = asyncio.ensure_future(limiter.acquire(A))
        await ft.settle()
        assert waiting.done()
        assert not newcomer.done()
        waiting.result().release(sent=False)
        await ft.settle()
        assert newcomer.done()

    run(main)


@pytest.mark.parametrize("position", ["head", "middle"])
def test_cancelled_waiter_consumes_nothing_and_does_not_stall_others(position: str) -> None:
    """Cancelling a wait gives the place back; those behind it still get their turn."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(1, 1.0))
        first = await limiter.acquire(A)
        tasks = []
        for _ in range(3):
            tasks.append(asyncio.ensure_future(limiter.acquire(A)))
            await ft.settle()
        victim = tasks.pop(0 if position == "head" else 1)
        victim.cancel()
        await ft.settle()
        assert victim.cancelled()
        assert limiter.snapshot(A).in_flight == 1
        first.release(sent=False)
        await ft.settle()
        assert tasks[0].done()
        assert not tasks[1].done()
        tasks[0].result().release()
        await ft.advance(1.0)
        assert tasks[1].done()
        assert limiter.snapshot(A).admitted == 3

    run(main)


def test_cancellation_by_timeout_and_cancel_scope() -> None:
    """asyncio.wait_for, asyncio timeouts and anyio cancel scopes all leave no trace."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(1, 1.0))
        held = await limiter.acquire(A)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(limiter.acquire(A), timeout=0.01)
        if sys.version_info >= (3, 11):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.01):
                    await limiter.acquire(A)
        with anyio.CancelScope() as scope:
            asyncio.get_running_loop().call_soon(scope.cancel)
            await limiter.acquire(A)
        assert scope.cancelled_caught
        held.release(sent=False)
        permit = await asyncio.wait_for(limiter.acquire(A), timeout=0.01)
        stats = limiter.snapshot(A)
        assert (stats.admitted, stats.in_flight) == (2, 1)
        permit.release()

    run(main)


def test_unsent_release_gives_the_slot_back_and_release_is_idempotent() -> None:
    """release(sent=False) frees the slot at once; a second release changes nothing."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(2, 1.0))
        p1 = await limiter.acquire(A)
        p2 = await limiter.acquire(A)
        p1.release(sent=False)
        p1.release(sent=False)
        p1.release()
        assert p1.released
        assert limiter.snapshot(A).in_flight == 1
        assert limiter.snapshot(A).unsent == 1
        p3 = await asyncio.wait_for(limiter.acquire(A), timeout=0.01)
        p2.release()
        p2.release()
        assert limiter.snapshot(A).counted == 2
        blocked = asyncio.ensure_future(limiter.acquire(A))
        await ft.settle()
        assert not blocked.done()
        p3.release()
        await ft.advance(1.0)
        assert blocked.done()

    run(main)


def test_buckets_are_independent() -> None:
    """Spending the audience budget leaves the external-ID budget untouched, and back."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(1, 60.0), external_id=Rate(2, 60.0))
        await limiter.acquire(A)
        await limiter.acquire(E)
        await limiter.acquire(E)
        limiter.observe(A, 429, {"Retry-After": "30"})
        blocked = [asyncio.ensure_future(limiter.acquire(b)) for b in (A, E)]
        await ft.settle()
        assert not any(t.done() for t in blocked)
        assert limiter.snapshot(E).paused_for == 0.0
        assert limiter.snapshot(A).paused_for == 30.0
        for t in blocked:
            t.cancel()
        await ft.settle()

    run(main)


def test_closed_limiter_fails_waiters() -> None:
    """aclose() wakes the waiters with an error; later acquisitions fail too."""

    async def main(ft: FakeTime) -> None:
        async with make(ft, audience=Rate(1, 1.0)) as limiter:
            await limiter.acquire(A)
            waiting = asyncio.ensure_future(limiter.acquire(A))
            await ft.settle()
        await ft.settle()
        with pytest.raises(RuntimeError, match="closed"):
            waiting.result()
        with pytest.raises(RuntimeError, match="closed"):
            await limiter.acquire(E)

    run(main)


def test_acquire_without_injected_sleep_uses_loop_timers() -> None:
    """With the default clock and timers, a wait ends when the slot expires (real time)."""

    async def main() -> float:
        limiter = RateLimiter(RateLimits(audience=Rate(1, 0.05)))
        (await limiter.acquire(A)).release()
        start = time.monotonic()
        (await limiter.acquire(A)).release()
        return time.monotonic() - start

    assert 0.03 <= asyncio.run(main()) < 1.0


# -- server feedback -------------------------------------------------------------------------


def test_remaining_zero_pauses_until_reset() -> None:
    """Remaining: 0 with a Reset ahead stops admissions until Reset, then the log governs."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        (await limiter.acquire(A)).release()
        reset = ft.time() + 7.0
        limiter.observe(A, 200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(6.99)
        assert not waiting.done()
        await ft.advance(0.01)
        assert waiting.done()

    run(main)


def test_exhaustion_we_caused_ourselves_adds_no_pause() -> None:
    """Remaining: 0 explained by our own counted slots leaves the exact log in charge, so
    Reset's whole-second rounding costs no idle time."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(2, 2.0))
        await ft.advance(0.5)
        for _ in range(2):
            (await limiter.acquire(A)).release()
        # A sliding window's Reset: when its oldest request (0.5 s) leaves, rounded up to
        # the second (3 s), half a second past when our slots expire (2.5 s).
        reset = EPOCH + 3.0
        limiter.observe(
            A,
            201,
            {
                "X-RateLimit-Limit": "2",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        )
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(1.99)
        assert not waiting.done()
        await ft.advance(0.02)
        assert waiting.done()

    run(main)


def test_exhaustion_by_another_consumer_still_pauses() -> None:
    """The same answer when our log holds fewer slots than the server counted: someone else
    spends this budget, so we wait for Reset."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(5, 6.0))
        (await limiter.acquire(A)).release()
        reset = ft.time() + 5.0
        limiter.observe(
            A,
            201,
            {
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        )
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(4.99)
        assert not waiting.done()
        await ft.advance(0.02)
        assert waiting.done()

    run(main)


def test_low_remaining_caps_admissions_minus_in_flight() -> None:
    """Remaining: r allows r more requests before Reset, less those still in flight."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        in_flight = await limiter.acquire(A)
        reset = int(ft.time()) + 10
        headers = {"x-ratelimit-remaining": "4", "x-ratelimit-reset": str(reset)}
        limiter.observe(A, 200, headers)
        for _ in range(3):
            await asyncio.wait_for(limiter.acquire(A), timeout=0.01)
        blocked = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(reset - ft.time() - 0.01)
        assert not blocked.done()
        await ft.advance(0.01)
        assert blocked.done()
        in_flight.release()

    run(main)


def test_out_of_order_answers_never_loosen_the_cap() -> None:
    """An older answer with a higher Remaining, arriving late, does not raise the cap."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        reset = str(ft.time() + 10)
        limiter.observe(A, 200, {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": reset})
        limiter.observe(A, 200, {"X-RateLimit-Remaining": "50", "X-RateLimit-Reset": reset})
        await asyncio.wait_for(limiter.acquire(A), timeout=0.01)
        blocked = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(9.9)
        assert not blocked.done()
        await ft.advance(0.1)
        assert blocked.done()

    run(main)


@pytest.mark.parametrize(
    ("headers", "pause"),
    [
        pytest.param({"Retry-After": "5"}, 5.0, id="retry-after"),
        pytest.param({"X-RateLimit-Retry-After": "3.5"}, 3.5, id="x-retry-after"),
        pytest.param({"X-RATELIMIT-RESET": str(EPOCH + 8)}, 8.0, id="reset-only"),
        pytest.param(
            {"retry-after": "Tue, 14 Nov 2023 22:13:32 GMT"}, 12.0, id="retry-after-http-date"
        ),
    ],
)
def test_429_pauses_everyone_until_the_server_says(headers: dict[str, str], pause: float) -> None:
    """After a 429 nobody is admitted until Retry-After (or Reset) has passed."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        limiter.observe(A, 429, headers)
        assert limiter.snapshot(A).paused_for == pytest.approx(pause)
        assert limiter.snapshot(A).throttled == 1
        waiting = [asyncio.ensure_future(limiter.acquire(A)) for _ in range(3)]
        await ft.advance(pause - 0.01)
        assert not any(w.done() for w in waiting)
        await ft.advance(0.01)
        assert all(w.done() for w in waiting)

    run(main)  # the HTTP date above is EPOCH + 12 s


def test_429_without_headers_backs_off_exponentially() -> None:
    """Without any header, successive 429s pause 1 s, 2 s, 4 s...; a success resets that."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        pauses = []
        for _ in range(4):
            limiter.observe(A, 429, {})
            pauses.append(limiter.snapshot(A).paused_for)
            await ft.advance(pauses[-1])
        assert pauses == [1.0, 2.0, 4.0, 8.0]
        limiter.observe(A, 201, {})
        limiter.observe(A, 429, {})
        assert limiter.snapshot(A).paused_for == 1.0

    run(main)


def test_a_late_short_retry_after_does_not_shorten_a_pause() -> None:
    """Pauses only lengthen: an answer arriving late cannot cut one short."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        limiter.observe(A, 429, {"Retry-After": "10"})
        limiter.observe(A, 429, {"Retry-After": "1"})
        assert limiter.snapshot(A).paused_for == 10.0

    run(main)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "soon"}, id="words"),
        pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "nan"}, id="nan-reset"),
        pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "inf"}, id="inf-reset"),
        pytest.param({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, id="past-reset"),
        pytest.param(
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999999"}, id="far-reset"
        ),
        pytest.param({"X-RateLimit-Remaining": "-1", "X-RateLimit-Reset": "x"}, id="negative"),
        pytest.param({"X-RateLimit-Remaining": "0.5", "X-RateLimit-Reset": ""}, id="fraction"),
        pytest.param({"X-RateLimit-Remaining": "0"}, id="no-reset"),
        pytest.param({"X-RateLimit-Limit": "a lot"}, id="limit-words"),
        pytest.param({"X-RateLimit-Limit": "0"}, id="limit-zero"),
        pytest.param({"X-RateLimit-Limit": "2.5"}, id="limit-fraction"),
    ],
)
def test_garbage_headers_are_ignored(headers: dict[str, str]) -> None:
    """Unusable header values neither crash nor slow anything down."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(3, 60.0))
        limiter.observe(A, 200, headers)
        for _ in range(3):
            await asyncio.wait_for(limiter.acquire(A), timeout=0.01)
        assert limiter.snapshot(A).server_limit is None

    run(main)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Retry-After": "-3"}, id="negative"),
        pytest.param({"Retry-After": "tomorrow"}, id="words"),
        pytest.param({"Retry-After": "1e12"}, id="absurd"),
        pytest.param({"Retry-After": "Mon, 99 Foo 2023 25:61:00"}, id="bad-date"),
        # No zone: which clock it is on is anyone's guess (an HTTP date says GMT).
        pytest.param({"Retry-After": "Tue, 14 Nov 2023 22:13:32"}, id="date-without-zone"),
    ],
)
def test_429_with_garbage_retry_after_falls_back(headers: dict[str, str]) -> None:
    """A 429 whose Retry-After is unusable pauses for the fallback second."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(3, 60.0))
        limiter.observe(A, 429, headers)
        assert limiter.snapshot(A).paused_for == 1.0

    run(main)


def test_server_limit_is_recorded() -> None:
    """X-RateLimit-Limit is kept for diagnostics."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft)
        limiter.observe(E, 200, {"X-RateLimit-Limit": "250000"})
        assert limiter.snapshot(E).server_limit == 250_000

    run(main)


def test_missing_redis_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for Redis without the redis package says which extra to install."""
    monkeypatch.delitem(sys.modules, "braze_async._limits._redis", raising=False)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ImportError, match=r"braze-async\[redis\]"):
        RateLimiter(RateLimits(redis_url="redis://127.0.0.1:1/0"))


class _DependencyMissing(importlib.abc.MetaPathFinder):
    """Fails the import of redis.asyncio as a redis install without its own dependency does
    (redis-py on Python 3.10 needs async_timeout)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        del path, target
        if fullname == "redis.asyncio":
            raise ImportError("No module named 'async_timeout'", name="async_timeout")
        return None


def test_a_broken_redis_install_is_not_mistaken_for_a_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """redis is installed but one of its own dependencies is missing: the ImportError naming
    that dependency reaches the caller, not a misleading "install braze-async[redis]"."""
    monkeypatch.delitem(sys.modules, "braze_async._limits._redis", raising=False)
    monkeypatch.delitem(sys.modules, "redis.asyncio", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_DependencyMissing(), *sys.meta_path])
    with pytest.raises(ImportError) as caught:
        RateLimiter(RateLimits(redis_url="redis://127.0.0.1:1/0"))
    assert caught.value.name == "async_timeout"
    assert "braze-async[redis]" not in str(caught.value)


class _Unreadable(Mapping[str, str]):
    """Headers that fail whenever they are read."""

    def __getitem__(self, key: str) -> str:
        raise RuntimeError("unreadable")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("unreadable")

    def __len__(self) -> int:
        return 1


def test_a_429_with_unreadable_headers_pauses_like_one_without_headers() -> None:
    """A headers mapping that raises when read is garbage like any other: observe() does not
    raise, and a 429 still pauses everyone for the fallback second (before, it paused
    nobody), then a success with it changes nothing."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))
        limiter.observe(A, 429, _Unreadable())
        stats = limiter.snapshot(A)
        assert (stats.paused_for, stats.throttled) == (1.0, 1)
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(0.99)
        assert not waiting.done()
        await ft.advance(0.01)
        assert waiting.done()
        limiter.observe(A, 200, _Unreadable())
        stats = limiter.snapshot(A)
        assert (stats.server_limit, stats.server_remaining, stats.server_reset) == (None,) * 3

    run(main)


def test_more_distinct_resets_than_kept_merge_the_closest_conservatively() -> None:
    """Caps for a fifth distinct Reset (beyond the four kept) merge the two closest into
    one: the lower allowance holds until the later deadline. Here Remaining 0 until +40 s
    and Remaining 5 until +41 s become 0 until +41 s: admissions resume at 41 s, not 40 s."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, audience=Rate(100, 60.0))

        def answer(reset_in: float, remaining: int) -> None:
            headers = {
                "X-RateLimit-Limit": "100",  # others spent it: our log explains none of it
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(ft.time() + reset_in),
            }
            limiter.observe(A, 200, headers)

        for reset_in, remaining in [(10, 5), (20, 5), (30, 5), (40, 0)]:
            answer(reset_in, remaining)
        answer(41, 5)  # one Reset too many: merged with +40 s, the closest
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(40.5)
        assert not waiting.done()  # four caps alone would have let it go at 40 s
        await ft.advance(0.5)
        assert waiting.done() and waiting.result().waited == 41.0

    run(main)


def test_closing_twice_is_harmless() -> None:
    """aclose() a second time (an ``async with`` and an explicit close) returns at once;
    the limiter stays closed and permits still out can be released."""

    async def main(ft: FakeTime) -> None:
        async with make(ft, audience=Rate(1, 1.0)) as limiter:
            permit = await limiter.acquire(A)
            await limiter.aclose()
            assert limiter.closed
        await limiter.aclose()
        assert limiter.closed
        permit.release()
        with pytest.raises(RuntimeError, match="closed"):
            await limiter.acquire(A)

    run(main)


def test_a_limiter_waits_in_the_event_loop_it_first_waited_in_only() -> None:
    """A limiter's waiters are futures of one event loop: in another (another asyncio.run), an
    acquisition that would wait raises LimiterError saying so and leaves no waiter behind;
    one admitted at its first look still goes."""
    ft = FakeTime()
    limiter = make(ft, audience=Rate(1, 1.0))

    async def first() -> None:
        (await limiter.acquire(A)).release()
        waiting = asyncio.ensure_future(limiter.acquire(A))
        await ft.run([waiting])  # waited (in this loop) until t=1
        waiting.result().release()  # its slot counts until t=2

    async def second() -> None:
        with pytest.raises(LimiterError, match="create one per event loop"):
            await limiter.acquire(A)
        assert limiter.snapshot(A).waiting == 0
        ft.now = 2.0
        (await limiter.acquire(A)).release()

    asyncio.run(first())
    asyncio.run(second())
