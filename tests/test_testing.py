"""braze_async.testing.FakeClock: a clock for users' tests that stands still until slept on."""

from __future__ import annotations

import asyncio
import math

import pytest

from braze_async import BrazeClient, Campaign, Rate, RateLimiter, RateLimits, Recipient
from braze_async._clock import SystemClock
from braze_async._limits import Bucket
from braze_async.simulator import BrazeSimulator
from braze_async.simulator import Clock as SimulatorClock
from braze_async.testing import Clock, FakeClock

pytestmark = pytest.mark.anyio


async def test_it_stands_still_until_something_sleeps_on_it() -> None:
    """Reading it moves nothing; a sleep moves it at once by the delay, and advance() too."""
    clock = FakeClock()
    assert (clock.monotonic(), clock.time()) == (0.0, clock.epoch)
    await asyncio.sleep(0.01)  # real time passes: the fake one does not
    assert clock.monotonic() == 0.0
    await clock.sleep(2.5)
    clock.advance(0.5)
    await clock.sleep(-1.0)  # a late timer: no wait, time does not go back
    assert clock.now == clock.monotonic() == 3.0
    assert clock.time() == clock.epoch + 3.0
    assert clock.sleeps == [2.5, -1.0]


async def test_a_sleep_lets_the_other_tasks_run() -> None:
    """A sleep yields to the event loop, as a real wait would: a task ready meanwhile runs."""
    clock = FakeClock()
    ran: list[float] = []

    async def other() -> None:
        ran.append(clock.monotonic())

    task = asyncio.ensure_future(other())
    await clock.sleep(1.0)
    assert task.done() and ran == [1.0]


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf], ids=["back", "nan", "inf"])
def test_it_never_goes_back_nor_to_infinity(seconds: float) -> None:
    """advance() refuses a negative, NaN or infinite step, and the clock keeps its time."""
    clock = FakeClock()
    with pytest.raises(ValueError, match="clock"):
        clock.advance(seconds)
    assert clock.monotonic() == 0.0


async def test_an_endless_sleep_is_refused() -> None:
    """Nothing would ever wake an infinite sleep on a clock that moves only when slept on."""
    with pytest.raises(ValueError, match="for ever"):
        await FakeClock().sleep(math.inf)


def test_it_is_a_clock_for_the_client_and_for_the_simulator() -> None:
    """One FakeClock fits braze_async.Clock and the simulator's clock; SystemClocks are one."""
    assert isinstance(FakeClock(), Clock) and isinstance(FakeClock(), SimulatorClock)
    assert isinstance(SystemClock(), Clock)
    assert SystemClock() == SystemClock() and hash(SystemClock()) == hash(SystemClock())
    assert repr(FakeClock()) == "FakeClock(now=0)"


async def test_one_clock_times_the_simulator_the_limiter_and_the_retries() -> None:
    """The example of braze_async.testing: Braze's window of a minute, the 429 it answers
    and the client's wait for the window all run on one fake time, in no real time."""
    clock = FakeClock()
    async with (
        BrazeSimulator(external_id_rate="1/60", clock=clock) as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, clock=clock) as braze,
    ):
        for user in ("a", "b"):
            await braze.send(Campaign("c"), recipients=[Recipient(external_user_id=user)])
    assert clock.sleeps == [60.0]
    assert (sim.stats.rate_limited, sim.stats.accepted) == (1, 2)


async def test_a_limiter_on_a_fake_clock_waits_on_it() -> None:
    """RateLimiter(clock=...): its waits sleep on that clock, for exactly the window."""
    clock = FakeClock()
    async with RateLimiter(RateLimits(external_id=Rate(1, 10.0)), clock=clock) as limiter:
        (await limiter.acquire(Bucket.EXTERNAL_ID)).release()
        permit = await limiter.acquire(Bucket.EXTERNAL_ID)
    assert clock.monotonic() == pytest.approx(10.0)
    assert permit.waited == pytest.approx(10.0)


async def test_clients_on_other_clocks_keep_their_own_limiter() -> None:
    """The shared limiter of a workspace runs on one clock: a client on another clock gets
    its own; every SystemClock is the same clock, so those clients share."""
    fake = FakeClock()
    clients = [
        BrazeClient(api_key="k", instance="iad-01", clock=fake),
        BrazeClient(api_key="k", instance="iad-01", clock=FakeClock()),
        BrazeClient(api_key="k", instance="iad-01", clock=SystemClock()),
        BrazeClient(api_key="k", instance="iad-01"),
    ]
    limiters = [braze._limiter.limiter for braze in clients if braze._limiter is not None]
    assert len({id(limiter) for limiter in limiters}) == 3
    assert limiters[2] is limiters[3]
    for braze in clients:
        await braze.aclose()
