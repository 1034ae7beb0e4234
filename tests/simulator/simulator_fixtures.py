"""Fixtures of the simulator's tests, loaded with ``pytest_plugins = ["simulator_fixtures"]``.

Not a ``conftest.py``: mypy checks the whole ``tests`` tree and refuses two modules named
``conftest`` (``tests/conftest.py`` exists; this folder has no ``__init__.py`` by design).
Test modules must not import this module (pytest rewrites its asserts when it loads it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from simulator_support import AUTH, KEY, FakeClock

from braze_async.simulator import BrazeSimulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> BrazeSimulator:
    """A simulator on the fake clock, not serving: use it through ``client``."""
    return BrazeSimulator(KEY, clock=clock, external_id_rate="50/4", audience_rate="5/60")


@pytest.fixture
async def client(sim: BrazeSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the in-process transport of ``sim``, authenticated."""
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url="http://braze.test", headers=AUTH
    ) as http:
        yield http
