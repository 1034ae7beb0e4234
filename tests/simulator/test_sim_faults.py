"""Seeded fault injection over real sockets: 5xx, 429, latency, dropped connections."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import orjson
import pytest
from simulator_support import AUTH, CAMPAIGNS, KEY, TRANSACTIONAL, campaign

from braze_async.simulator import BrazeSimulator

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio


async def post_raw(base_url: str, body: bytes) -> bytes:
    """Send one request on a raw socket; return every byte the server wrote before EOF."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"POST {CAMPAIGNS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), timeout=5)
        except ConnectionResetError:
            return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_fault_5xx_answers_an_error_and_delivers_nothing() -> None:
    """fault_5xx: 500 or 503 in Braze's error shape; nothing delivered, no budget spent."""
    async with BrazeSimulator(
        KEY, fault_5xx=1.0, seed=1, external_id_rate="5/60", window="sliding"
    ) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http:
            answers = [await http.post(CAMPAIGNS, json=campaign()) for _ in range(20)]
        assert {r.status_code for r in answers} == {500, 503}
        assert all(r.json()["errors"][0]["code"] for r in answers)
        assert answers[0].headers["X-RateLimit-Remaining"] == "5"
        assert sim.delivered() == []
        assert sim.stats.faults_5xx == 20
        assert sim.consume_budget("external_id", 10) == 5


async def test_fault_429_looks_like_braze_and_counts_nothing() -> None:
    """fault_429: the documented 429 body and headers; nothing delivered or counted."""
    async with BrazeSimulator(
        KEY, fault_429=1.0, seed=1, external_id_rate="5/60", window="sliding"
    ) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http:
            response = await http.post(CAMPAIGNS, json=campaign())
            tx = await http.post(TRANSACTIONAL, json={"recipient": {"external_user_id": "u"}})
        assert response.status_code == tx.status_code == 429
        assert response.json() == {
            "message": "rate limit exceeded",
            "errors": [
                {"code": "rate_limited", "message": "API rate limit exceeded for this endpoint"}
            ],
        }
        assert response.headers["Retry-After"] == "1"
        assert response.headers["X-RateLimit-Limit"] == "5"
        assert response.headers["X-RateLimit-Remaining"] == "5"
        assert response.headers["X-RateLimit-Reset"].isdigit()
        assert sim.delivered() == []
        assert sim.stats.injected_429 == 2
        assert sim.stats.rate_limited == 0
        assert sim.consume_budget("external_id", 10) == 5


async def test_latency_delays_every_answer() -> None:
    """latency: the answer arrives no sooner than the configured delay."""
    async with (
        BrazeSimulator(KEY, latency=0.2) as sim,
        httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http,
    ):
        started = time.perf_counter()
        response = await http.post(CAMPAIGNS, json=campaign())
        elapsed = time.perf_counter() - started
    assert response.status_code == 201
    assert elapsed >= 0.2


async def test_latency_jitter_is_seeded() -> None:
    """latency_jitter adds a uniform extra delay drawn from the seeded random source."""
    delays = []
    for _ in range(2):
        sim = BrazeSimulator(KEY, latency=0.01, latency_jitter=0.05, seed=4)
        delays.append([sim._core._faults.delay() for _ in range(5)])
    assert delays[0] == delays[1]
    assert all(0.01 <= d <= 0.06 for d in delays[0])
    assert len(set(delays[0])) == 5


@pytest.mark.parametrize("fault", ["drop_before", "drop_after"])
async def test_drops_close_the_socket_without_a_byte(fault: str) -> None:
    """Both drops close the TCP connection without writing any part of a response."""
    async with BrazeSimulator(KEY, **{fault: 1.0}, seed=1) as sim:  # type: ignore[arg-type]
        received = await post_raw(sim.base_url, orjson.dumps(campaign()))
        assert received == b""
        assert getattr(sim.stats, fault.replace("drop_", "drops_")) == 1


async def test_raw_client_sees_an_answer_without_faults() -> None:
    """Control for the raw-socket check: without faults the same request gets a 201."""
    async with BrazeSimulator(KEY) as sim:
        received = await post_raw(sim.base_url, orjson.dumps(campaign()))
    assert received.startswith(b"HTTP/1.1 201 ")


async def test_drop_before_delivers_nothing() -> None:
    """drop_before: httpx sees a disconnection; nothing was processed."""
    async with BrazeSimulator(KEY, drop_before=1.0, seed=1) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(CAMPAIGNS, json=campaign())
        assert sim.delivered() == []
        assert sim.stats.drops_before == 1
        assert sim.stats.accepted == 0


async def test_drop_after_delivers_but_does_not_answer() -> None:
    """drop_after: the ambiguous case, delivered although the client saw no answer."""
    async with BrazeSimulator(
        KEY, drop_after=1.0, seed=1, external_id_rate="5/60", window="sliding"
    ) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(CAMPAIGNS, json=campaign(2))
        assert [d.recipient for d in sim.delivered()] == [
            "external_user_id:u0",
            "external_user_id:u1",
        ]
        assert sim.stats.drops_after == 1
        assert sim.consume_budget("external_id", 10) == 4  # the request was counted


async def test_server_keeps_serving_after_drops() -> None:
    """A dropped connection affects only its request; the next connection is answered."""
    outcomes = []
    async with (
        BrazeSimulator(KEY, drop_before=0.5, seed=2) as sim,
        httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http,
    ):
        for _ in range(30):
            try:
                outcomes.append((await http.post(CAMPAIGNS, json=campaign())).status_code)
            except httpx.RemoteProtocolError:
                outcomes.append(0)
    assert outcomes.count(201) == sim.stats.accepted > 0
    assert outcomes.count(0) == sim.stats.drops_before > 0


@pytest.mark.parametrize("fault", ["drop_before", "drop_after"])
async def test_in_process_drops_look_like_a_disconnection(fault: str) -> None:
    """On the in-process transport both drops raise httpx's own disconnection error."""
    sim = BrazeSimulator(KEY, **{fault: 1.0}, seed=1)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        with pytest.raises(
            httpx.RemoteProtocolError, match=r"^Server disconnected without sending a response\.$"
        ):
            await c.post(CAMPAIGNS, json=campaign())
    assert len(sim.delivered()) == (1 if fault == "drop_after" else 0)


async def test_same_seed_fails_the_same_requests() -> None:
    """Faults are drawn from random.Random(seed): one seed, one sequence of outcomes."""

    async def outcomes(seed: int) -> list[int]:
        sim = BrazeSimulator(
            KEY, fault_5xx=0.2, fault_429=0.2, drop_before=0.1, drop_after=0.1, seed=seed
        )
        async with httpx.AsyncClient(
            transport=sim.transport(), base_url="http://b", headers=AUTH
        ) as c:
            result = []
            for _ in range(60):
                try:
                    result.append((await c.post(CAMPAIGNS, json=campaign())).status_code)
                except httpx.RemoteProtocolError:
                    result.append(0)
            return result

    first, again, other = await outcomes(11), await outcomes(11), await outcomes(12)
    assert first == again
    assert first != other
    assert {0, 201, 429}.issubset(first)
    assert {500, 503} & set(first)
