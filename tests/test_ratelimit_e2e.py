"""The rate limiter end to end: BrazeClient against the simulator over loopback HTTP.

Scaled-down windows (10 requests a second) stand in for Braze's hour; bounds are generous.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from _fake_time import FakeTime

from braze_async import BrazeClient, Campaign, Rate, RateLimits, Recipient, RetryPolicy
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

LIMIT, PERIOD = 10, 1.0


def client(sim: BrazeSimulator) -> BrazeClient:
    return BrazeClient(
        api_key=sim.api_key,
        base_url=sim.base_url,
        rate_limits=RateLimits(external_id=Rate(LIMIT, PERIOD)),
        retry=RetryPolicy(rate_limited_attempts=50),
    )


async def burst(braze: BrazeClient, n: int, prefix: str = "u") -> None:
    await asyncio.gather(
        *(
            braze.send(Campaign("c"), recipients=[Recipient(external_user_id=f"{prefix}{i}")])
            for i in range(n)
        )
    )


@pytest.mark.parametrize("window", ["sliding", "fixed"])
def test_unbounded_burst_earns_no_429(window: str) -> None:
    """40 requests fired at once against 10/s: zero 429s, every recipient delivered once, and
    the burst takes at least the three extra windows it must. On fake time: the simulator's
    windows and the client's limiter read the same clock, and no test time passes for real."""

    async def main(ft: FakeTime) -> float:
        sim = BrazeSimulator(
            "sim-key",
            clock=ft.simulator_clock(),
            window=window,  # type: ignore[arg-type]
            external_id_rate=(LIMIT, PERIOD),
        )
        # One clock for the client's limiter and its retry waits.
        braze = BrazeClient(
            api_key="sim-key",
            base_url="https://rest.iad-01.braze.com",
            transport=Slow(ft, sim.transport()),
            rate_limits=RateLimits(external_id=Rate(LIMIT, PERIOD)),
            retry=RetryPolicy(rate_limited_attempts=50),
            clock=ft,
        )
        async with braze:
            task = asyncio.ensure_future(burst(braze, 40))
            await ft.run([task])
        assert sim.stats.rate_limited == 0
        assert sim.delivered_counts() == Counter({f"external_user_id:u{i}": 1 for i in range(40)})
        return ft.now

    assert asyncio.run(main(FakeTime())) >= 3 * PERIOD


class Slow(httpx.AsyncBaseTransport):
    """*inner* 50 ms of fake time away; Braze counts a request half way."""

    def __init__(self, ft: FakeTime, inner: httpx.AsyncBaseTransport) -> None:
        self.ft = ft
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.ft.sleep(0.025)
        response = await self.inner.handle_async_request(request)
        await self.ft.sleep(0.025)
        return response


async def test_another_consumer_spending_the_budget_pauses_us() -> None:
    """After one answer shows the budget nearly spent by someone else, we hold back until the
    reset instead of hammering: no 429 at all, and nothing lost."""
    async with BrazeSimulator(external_id_rate=(LIMIT, PERIOD), window="fixed") as sim:
        async with client(sim) as braze:
            sim.consume_budget("external_id", LIMIT - 1)  # someone else spends nearly all
            await burst(braze, 1, prefix="first")  # its answer says: Remaining 0 until Reset
            await burst(braze, 12)
        assert sim.stats.rate_limited == 0
        counts = sim.delivered_counts()
        assert all(counts[f"external_user_id:u{i}"] == 1 for i in range(12))


async def test_429s_that_still_arrive_are_retried_never_dropped() -> None:
    """A burst into a budget another consumer emptied earns 429s; each is retried after the
    reset and every recipient is delivered exactly once."""
    async with BrazeSimulator(external_id_rate=(LIMIT, PERIOD), window="fixed") as sim:
        sim.consume_budget("external_id", LIMIT)
        async with client(sim) as braze:
            await burst(braze, 15)
        assert sim.stats.rate_limited > 0
        assert sim.delivered_counts() == Counter({f"external_user_id:u{i}": 1 for i in range(15)})
