"""The rate limiter at its edges: other consumers at window boundaries, late counting, clock
steps, bounded waits.

Everything runs on :class:`FakeTime`: a :class:`BrazeClient` whose limiter is on fake time
(``limiter=``) sends through the simulator's in-process transport, and the simulator's fixed
or sliding windows read the same fake clock. No test sleeps for real.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

import httpx
import pytest
from _fake_time import EPOCH, FakeTime

from braze_async import (
    Batching,
    BrazeClient,
    BrazeConnectionError,
    BrazeRateLimitError,
    BrazeRateLimitWaitError,
    BrazeUnknownOutcomeError,
    Campaign,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
)
from braze_async._limits import Bucket, RateLimiter, WaitTooLong
from braze_async.simulator import BrazeSimulator

T = TypeVar("T")
E = Bucket.EXTERNAL_ID
KEY = "sim-key"
Window = Literal["fixed", "sliding"]


def run(main: Callable[[FakeTime], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main(FakeTime()))


def limiter(ft: FakeTime, rate: Rate, **limits: Any) -> RateLimiter:
    """A limiter on fake time, *rate* for sends to recipients."""
    return RateLimiter(RateLimits(external_id=rate, **limits), clock=ft)


def simulator(ft: FakeTime, window: Window, rate: Rate) -> BrazeSimulator:
    """The simulator on the same fake time (Braze's clock: never stepped)."""
    return BrazeSimulator(
        KEY,
        clock=ft.simulator_clock(),
        window=window,
        external_id_rate=(rate.limit, rate.period),
    )


class Latency(httpx.AsyncBaseTransport):
    """The simulator *latency* seconds away (fake time): Braze counts a request half way."""

    def __init__(self, ft: FakeTime, sim: BrazeSimulator, latency: float = 0.25) -> None:
        self.ft = ft
        self.inner = sim.transport()
        self.half = latency / 2

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.ft.sleep(self.half)
        response = await self.inner.handle_async_request(request)
        await self.ft.sleep(self.half)
        return response


def client(
    ft: FakeTime,
    lim: RateLimiter,
    transport: httpx.AsyncBaseTransport,
    retry: RetryPolicy | None = None,
    batching: Batching = Batching(),  # noqa: B008 - frozen
) -> BrazeClient:
    """A client sending through *transport*, admitted by *lim*, retry waits on fake time."""
    return BrazeClient(
        api_key=KEY,
        base_url="https://rest.iad-01.braze.com",
        transport=transport,
        rate_limits=lim,
        retry=retry or RetryPolicy(rate_limited_attempts=50),
        batching=batching,
        clock=ft,
    )


async def send(braze: BrazeClient, user: str) -> None:
    await braze.send(Campaign("c"), recipients=[Recipient(external_user_id=user)])


def sends(braze: BrazeClient, prefix: str, n: int) -> list[asyncio.Task[None]]:
    return [asyncio.ensure_future(send(braze, f"{prefix}{i}")) for i in range(n)]


# -- 1. another consumer at a fixed-window boundary -------------------------------------------


def test_another_consumer_at_a_fixed_window_boundary_meets_at_most_one_429() -> None:
    """8 of ours in window k; another consumer spends 8 at the start of window k+1; we send
    on. Our sliding log still holds window k's 8, but Braze does not count them in k+1: the
    usage they cannot explain is someone else's, so we are capped (before: 8 of 8 met 429)."""
    rate = Rate(10, 10.0)

    async def main(ft: FakeTime) -> tuple[int, Counter[str]]:
        sim = simulator(ft, "fixed", rate)
        async with client(ft, limiter(ft, rate), Latency(ft, sim)) as braze:
            await ft.advance(1.0)  # window k is [0, 10)
            await ft.run(sends(braze, "k", 8))
            await ft.advance(9.0)  # window k+1 begins
            assert sim.consume_budget("external_id", 8) == 8
            await ft.advance(0.5)
            await ft.run(sends(braze, "next", 12))
            return sim.stats.rate_limited, sim.delivered_counts()

    throttled, delivered = run(main)
    assert throttled <= 1
    assert delivered == Counter(
        {f"external_user_id:{p}{i}": 1 for p, n in (("k", 8), ("next", 12)) for i in range(n)}
    )


@pytest.mark.parametrize("window", ["fixed", "sliding"])
def test_alone_we_still_use_the_whole_budget(window: Window) -> None:
    """Our own usage is still ours: steady load alone gets the whole budget, no 429, no idle
    second per window for Reset's rounding (fixed and sliding windows, 0.25 s latency)."""
    rate, duration = Rate(10, 10.0), 100.0

    async def main(ft: FakeTime) -> tuple[int, int]:
        sim = simulator(ft, window, rate)
        delivered = 0
        async with client(ft, limiter(ft, rate), Latency(ft, sim)) as braze:
            await ft.advance(0.5)  # off the window boundary

            async def worker(w: int) -> None:
                nonlocal delivered
                for i in range(1000):
                    if ft.now >= duration:
                        return
                    await send(braze, f"w{w}-{i}")
                    delivered += 1

            await ft.run([asyncio.ensure_future(worker(w)) for w in range(4)])
        return sim.stats.rate_limited, delivered

    throttled, delivered = run(main)
    assert throttled == 0
    # Each slot is reused every period + latency: all of that, not a second less per window.
    assert delivered >= 0.99 * rate.limit * duration / (rate.period + 0.25)


# -- 2. a request Braze counts after we gave up on it ---------------------------------------


class TimesOutOnce(httpx.AsyncBaseTransport):
    """The first request times out after 1 s; Braze counts it 4 s after that (it was queued).

    Every other request goes to the simulator as is.
    """

    def __init__(self, ft: FakeTime, sim: BrazeSimulator) -> None:
        self.ft = ft
        self.sim = sim
        self.inner = sim.transport()
        self.timed_out = False
        self.late: asyncio.Task[None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.timed_out:
            return await self.inner.handle_async_request(request)
        self.timed_out = True
        self.late = asyncio.ensure_future(self.count_later())
        await self.ft.sleep(1.0)
        raise httpx.ReadTimeout("timed out", request=request)

    async def count_later(self) -> None:
        await self.ft.sleep(5.0)
        assert self.sim.consume_budget("external_id", 1) == 1


def test_a_request_counted_after_we_gave_up_keeps_its_slot_one_more_period() -> None:
    """A request whose answer never came is released as 'outcome unknown': Braze may still
    count it later, so its slot counts one more period and the next admission waits (before:
    it went at once and met a 429)."""
    rate = Rate(2, 10.0)

    async def main(ft: FakeTime) -> tuple[int, float]:
        sim = simulator(ft, "sliding", rate)
        transport = TimesOutOnce(ft, sim)
        async with client(ft, limiter(ft, rate), transport) as braze:
            lost = asyncio.ensure_future(send(braze, "lost"))
            await ft.run([asyncio.ensure_future(send(braze, "a"))])
            await ft.advance(1.0)
            with pytest.raises(BrazeUnknownOutcomeError):
                await lost
            await ft.advance(9.5)  # "a"'s slot is free (t=10), the lost one's is not (t=21)
            await ft.run([*sends(braze, "b", 2), *([transport.late] if transport.late else [])])
            return sim.stats.rate_limited, ft.now

    throttled, finished = run(main)
    assert throttled == 0
    assert finished >= 20.0  # the second of "b" waited for a slot, not for a 429


# -- 3. clock steps -------------------------------------------------------------------------


@pytest.mark.parametrize("step", [-3600.0, 3600.0], ids=["back-an-hour", "forward-an-hour"])
def test_a_wall_clock_step_neither_stalls_nor_lifts_a_cap(step: float) -> None:
    """Remaining: 0 until Reset holds for the seconds Braze said, on the monotonic clock: a
    wall clock stepped back an hour does not stall us for an hour (before: it did), stepped
    forward it does not lift the cap early (before: it did)."""

    async def main(ft: FakeTime) -> float:
        lim = limiter(ft, Rate(100, 60.0))
        (await lim.acquire(E)).release()
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(ft.time() + 7)}
        lim.observe(E, 200, headers)
        ft.step_wall(step)
        waiting = asyncio.ensure_future(lim.acquire(E))
        await ft.run([waiting], limit=7200.0)
        return ft.now

    assert run(main) == pytest.approx(7.0)


@pytest.mark.parametrize("step", [-3600.0, 3600.0], ids=["back-an-hour", "forward-an-hour"])
def test_clock_steps_against_the_simulator_earn_no_429_and_no_stall(step: float) -> None:
    """Another consumer leaves 3 of 10 in a fixed window; our wall clock steps an hour just
    after we learnt it: our 10 sends still meet no 429, and finish within two windows."""
    rate = Rate(10, 10.0)

    async def main(ft: FakeTime) -> tuple[int, float]:
        sim = simulator(ft, "fixed", rate)
        async with client(ft, limiter(ft, rate), sim.transport()) as braze:
            await ft.advance(1.0)
            sim.consume_budget("external_id", 7)
            await ft.run(sends(braze, "first", 1))  # its answer: Remaining 2 until t=10
            ft.step_wall(step)
            await ft.run(sends(braze, "u", 10), limit=7200.0)
            return sim.stats.rate_limited, ft.now

    throttled, finished = run(main)
    assert throttled == 0
    assert finished < 20.0


def test_a_reset_further_than_one_period_is_held_one_period_at_most() -> None:
    """A Reset an hour ahead (a host clock behind Braze's) on a one-minute window is not
    believed: the cap holds for one period (and Reset's rounding second), no longer."""

    async def main(ft: FakeTime) -> float:
        lim = RateLimiter(RateLimits(audience=Rate(100, 60.0)), clock=ft)
        a = Bucket.AUDIENCE
        (await lim.acquire(a)).release()
        lim.observe(a, 200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(EPOCH + 100)})
        waiting = asyncio.ensure_future(lim.acquire(a))
        await ft.run([waiting])
        return ft.now

    assert run(main) == pytest.approx(61.0)


# -- 5. every wait is bounded ------------------------------------------------------------------


def test_max_wait_raises_at_once_when_the_budget_frees_too_late() -> None:
    """A pause longer than max_wait raises WaitTooLong at once, saying how long it would be;
    one shorter than max_wait is waited out."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft, Rate(100, 3600.0))
        lim.observe(E, 429, {"Retry-After": "1800"})
        with pytest.raises(WaitTooLong) as caught:
            await lim.acquire(E, max_wait=30.0)
        assert caught.value.wait == pytest.approx(1800.0)
        assert ft.now == 0.0
        await ft.advance(1790.0)
        waiting = asyncio.ensure_future(lim.acquire(E, max_wait=30.0))
        await ft.run([waiting])
        assert ft.now == pytest.approx(1800.0)

    run(main)


def test_max_wait_bounds_a_wait_nobody_can_foresee() -> None:
    """Every slot held by a request in flight: nobody knows when one frees, so the caller
    waits max_wait, then fails; those behind the head are bounded too."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft, Rate(1, 60.0))
        held = await lim.acquire(E)
        waiting = [asyncio.ensure_future(lim.acquire(E, max_wait=5.0)) for _ in range(3)]
        await ft.advance(5.0)
        for task in waiting:
            with pytest.raises(WaitTooLong) as caught:
                await task
            assert caught.value.wait is None
        held.release()

    run(main)


def test_max_rate_limit_wait_with_the_limiter_raises_rate_limit_error_never_sent() -> None:
    """RetryPolicy.max_rate_limit_wait holds with the limiter on: after a 429 asking for 30
    minutes, a policy of 60 s raises BrazeRateLimitError at once, and a later call too,
    without sending anything."""
    rate = Rate(10, 3600.0)
    posted: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(1)
        return httpx.Response(
            429, json={"message": "rate limited"}, headers={"Retry-After": "1800"}
        )

    async def main(ft: FakeTime) -> None:
        policy = RetryPolicy(max_rate_limit_wait=60.0)
        async with client(ft, limiter(ft, rate), httpx.MockTransport(handler), policy) as braze:
            with pytest.raises(BrazeRateLimitError, match="max_rate_limit_wait") as first:
                await send(braze, "u1")
            assert first.value.retry_after == pytest.approx(1800.0)
            # Refused here, not answered by Braze: its own class, and no status code.
            assert isinstance(first.value, BrazeRateLimitWaitError)
            assert first.value.status_code is None and first.value.max_wait == 60.0
            with pytest.raises(BrazeRateLimitError, match="nothing was sent"):
                await send(braze, "u2")
        assert ft.now == 0.0
        assert posted == [1]

    run(main)


def test_aclose_is_prompt_under_a_paused_budget() -> None:
    """After a 429 with Retry-After 1800, aclose() does not wait for the budget: the callers
    waiting for it get a never-sent BrazeConnectionError at once, the request in flight
    finishes, and then aclose() returns (before: it waited the 30 minutes)."""
    rate = Rate(10, 3600.0)
    answered = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if b"paused" in request.content:
            return httpx.Response(429, json={"message": "no"}, headers={"Retry-After": "1800"})
        await answered.wait()  # in flight while the client closes
        return httpx.Response(201, json={"dispatch_id": "d", "message": "success"})

    async def main(ft: FakeTime) -> None:
        braze = client(
            ft, limiter(ft, rate), httpx.MockTransport(handler), batching=Batching(linger=0)
        )

        def batched(user: str) -> asyncio.Task[object]:
            return asyncio.ensure_future(
                braze.send_one(Campaign("c"), Recipient(external_user_id=user))
            )

        in_flight = batched("flying")
        await ft.settle()
        paused = asyncio.ensure_future(send(braze, "paused"))  # 429: its retry waits 1800 s
        await ft.settle()
        assert braze._limiter is not None
        assert braze._limiter.snapshot(E).paused_for == pytest.approx(1800.0)
        waiting = [batched(f"w{i}") for i in range(3)]
        await ft.settle()
        closing = asyncio.ensure_future(braze.aclose())
        await ft.settle()
        for task in [paused, *waiting]:
            with pytest.raises(BrazeConnectionError, match="rate limiter"):
                await task
        assert not closing.done()  # the request in flight finishes first
        answered.set()
        await ft.settle()
        assert closing.done()
        result = await in_flight
        assert getattr(result, "dispatch_id", None) == "d"
        assert ft.now == 0.0

    run(main)
