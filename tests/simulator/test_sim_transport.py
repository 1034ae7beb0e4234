"""The in-process httpx transport: no sockets, same state as the HTTP server."""

from __future__ import annotations

import time

import httpx
import pytest
from simulator_support import AUTH, CAMPAIGNS, KEY, campaign

from braze_async.simulator import BrazeSimulator, SimulatorTransport

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio


async def test_transport_needs_no_server() -> None:
    """A simulator that never started still answers through its transport."""
    sim = BrazeSimulator(KEY)
    transport = sim.transport()
    assert isinstance(transport, SimulatorTransport)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://anything", headers=AUTH
    ) as c:
        response = await c.post(CAMPAIGNS, json=campaign())
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(RuntimeError, match="not serving"):
        sim.base_url  # noqa: B018


async def test_transport_and_server_share_state() -> None:
    """Requests over sockets and in process spend one budget and fill one record."""
    async with (
        BrazeSimulator(KEY, external_id_rate="3/60", window="sliding") as sim,
        httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as wire,
        httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as local,
    ):
        statuses = [
            (await wire.post(CAMPAIGNS, json=campaign())).status_code,
            (await local.post(CAMPAIGNS, json=campaign())).status_code,
            (await wire.post(CAMPAIGNS, json=campaign())).status_code,
            (await local.post(CAMPAIGNS, json=campaign())).status_code,
        ]
    assert statuses == [201, 201, 201, 429]
    assert len(sim.delivered()) == 3


async def test_transport_latency_is_awaited() -> None:
    """Latency applies in process too (awaited, not blocking the loop)."""
    sim = BrazeSimulator(KEY, latency=0.05)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        started = time.perf_counter()
        response = await c.post(CAMPAIGNS, json=campaign())
        elapsed = time.perf_counter() - started
    assert response.status_code == 201
    assert elapsed >= 0.05


async def test_server_restarts_and_closes_cleanly() -> None:
    """start() twice is refused; after aclose() the state stays readable and it can restart."""
    sim = BrazeSimulator(KEY)
    async with sim:
        with pytest.raises(RuntimeError, match="already running"):
            await sim.start()
        first_url = sim.base_url
        async with httpx.AsyncClient(base_url=first_url, headers=AUTH) as http:
            await http.post(CAMPAIGNS, json=campaign())
    assert len(sim.delivered()) == 1
    async with sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
    assert "not serving" in repr(sim)
