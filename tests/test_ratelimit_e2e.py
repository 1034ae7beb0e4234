"""The rate limiter end to end: BrazeClient against the simulator over loopback HTTP.

Scaled-down windows (10 requests a second) stand in for Braze's hour; bounds are generous.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from braze_async import BrazeClient, Rate, RateLimits, Recipient, RetryPolicy
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
            braze.trigger_campaign("c", recipients=[Recipient(external_user_id=f"{prefix}{i}")])
            for i in range(n)
        )
    )


@pytest.mark.parametrize("window", ["sliding", "fixed"])
async def test_unbounded_burst_earns_no_429(window: str) -> None:
    """40 requests fired at once against 10/s: zero 429s, every recipient delivered once,
    and the run takes at least the three extra windows it must."""
    async with BrazeSimulator(external_id_rate=(LIMIT, PERIOD), window=window) as sim:  # type: ignore[arg-type]
        started = time.monotonic()
        async with client(sim) as braze:
            await burst(braze, 40)
        elapsed = time.monotonic() - started
        assert sim.stats.rate_limited == 0
        assert sim.delivered_counts() == Counter({f"external_user_id:u{i}": 1 for i in range(40)})
    assert 2.9 <= elapsed < 20


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
