"""Fixtures (a pytest plugin: ``pytest_plugins = ["sim_on_clock"]``): a simulator and a
client on one fake clock, starting at :data:`START`, for the endpoint tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from braze_async import BrazeClient
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

#: The fake clock's start: 2023-11-14 00:00 UTC.
START = 1_699_920_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(epoch=START)


@pytest.fixture
def sim(clock: FakeClock) -> BrazeSimulator:
    return BrazeSimulator(clock=clock)


@pytest.fixture
async def braze(sim: BrazeSimulator, clock: FakeClock) -> AsyncIterator[BrazeClient]:
    async with BrazeClient(
        api_key=sim.api_key, base_url="http://127.0.0.1", transport=sim.transport(), clock=clock
    ) as client:
        yield client
