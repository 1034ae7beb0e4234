"""Transactional ``external_send_id``: a repeat within 24 h is answered but not sent again."""

from __future__ import annotations

import httpx
import pytest
from simulator_support import AUTH, KEY, TRANSACTIONAL, FakeClock

from braze_async.simulator import BrazeSimulator

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio

DAY = 24 * 3600


def body(external_send_id: str | None, user: str = "u1") -> dict[str, object]:
    answer: dict[str, object] = {"recipient": {"external_user_id": user}}
    if external_send_id is not None:
        answer["external_send_id"] = external_send_id
    return answer


async def test_repeat_returns_the_same_dispatch_id_and_delivers_nothing(clock: FakeClock) -> None:
    """The second request with one key gets the first dispatch_id; one delivery, one dedup."""
    sim = BrazeSimulator(KEY, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        first = await c.post(TRANSACTIONAL, json=body("order-42"))
        clock.advance(DAY - 1)
        again = await c.post(TRANSACTIONAL, json=body("order-42"))
    assert first.status_code == again.status_code == 201
    assert first.json()["status"] == "queued"
    assert again.json() == first.json()
    assert len(sim.delivered()) == 1
    assert sim.delivered()[0].dispatch_id == first.json()["dispatch_id"]
    assert sim.stats.deduplicated == 1
    assert sim.stats.accepted == 2


async def test_key_expires_after_24_hours(clock: FakeClock) -> None:
    """After 24 h the same key is a new send."""
    sim = BrazeSimulator(KEY, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        first = await c.post(TRANSACTIONAL, json=body("order-42"))
        clock.advance(DAY)
        later = await c.post(TRANSACTIONAL, json=body("order-42"))
    assert later.json()["dispatch_id"] != first.json()["dispatch_id"]
    assert len(sim.delivered()) == 2
    assert sim.stats.deduplicated == 0


async def test_without_key_every_request_is_a_send(clock: FakeClock) -> None:
    """No external_send_id, no deduplication; different keys are different sends."""
    sim = BrazeSimulator(KEY, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        ids = {
            (await c.post(TRANSACTIONAL, json=payload)).json()["dispatch_id"]
            for payload in (body(None), body(None), body("a"), body("b"))
        }
    assert len(ids) == 4
    assert sim.delivered_counts() == {"external_user_id:u1": 4}


async def test_refused_request_does_not_register_its_key(clock: FakeClock) -> None:
    """A 400 does not reserve the key: the corrected request is delivered."""
    sim = BrazeSimulator(KEY, clock=clock)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        bad = await c.post(TRANSACTIONAL, json={**body("k"), "recipient": {}})
        good = await c.post(TRANSACTIONAL, json=body("k"))
    assert bad.status_code == 400
    assert good.status_code == 201
    assert sim.stats.deduplicated == 0
    assert len(sim.delivered()) == 1


async def test_dedup_ttl_is_configurable(clock: FakeClock) -> None:
    """``dedup_ttl`` shortens the memory (tests of retries need not wait a day)."""
    sim = BrazeSimulator(KEY, clock=clock, dedup_ttl=10)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        await c.post(TRANSACTIONAL, json=body("k"))
        clock.advance(9)
        await c.post(TRANSACTIONAL, json=body("k"))
        clock.advance(1)
        await c.post(TRANSACTIONAL, json=body("k"))
    assert sim.stats.deduplicated == 1
    assert len(sim.delivered()) == 2
