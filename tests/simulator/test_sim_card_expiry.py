"""The simulator refuses a Content Card expiring more than 30 days after it would be sent
(content_cards_object.md: "a maximum expiration time exists of 30 days"), over a real
socket, on a fake clock: for ``/messages/send`` by its clock at the request, for a schedule
create or update by the schedule's time. A time without an offset is read leniently, in the
zone that makes the card expire first (UTC+14), and a local-time schedule at its last zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from simulator_support import AUTH, KEY, MESSAGES, FakeClock

from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

UTC = dt.timezone.utc
#: The fake clock's wall time: 2023-11-14 22:13:20 UTC.
START = 1_700_000_000.0
NOW = dt.datetime.fromtimestamp(START, UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def http(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking HTTP to a simulator serving on a loopback port."""
    async with (
        BrazeSimulator(KEY, clock=clock) as sim,
        httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as client,
    ):
        yield client


def later(days: float = 0, *, hours: float = 0, seconds: float = 0, zone: bool = True) -> str:
    """NOW plus the time given, in UTC, with its offset written or without (wall-clock)."""
    at = NOW + dt.timedelta(days=days, hours=hours, seconds=seconds)
    return at.isoformat() if zone else at.replace(tzinfo=None).isoformat()


def card(expire_at: str, **extra: Any) -> dict[str, Any]:
    return {"type": "CLASSIC", "title": "t", "description": "d", "expire_at": expire_at, **extra}


def send(expire_at: str, **extra: Any) -> dict[str, Any]:
    return {"external_user_ids": ["u1"], "messages": {"content_card": card(expire_at, **extra)}}


def scheduled(expire_at: str, time: str, **flags: bool) -> dict[str, Any]:
    return {**send(expire_at), "schedule": {"time": time, **flags}}


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["errors"][0]
    assert error["code"] == "invalid_content_card"
    assert "content_card.expire_at" in error["message"] and "30 days" in error["message"]


@pytest.mark.parametrize(
    ("expire_at", "extra", "ok"),
    [
        pytest.param(later(29), {}, True, id="29-days"),
        pytest.param(later(30), {}, True, id="30-days"),
        pytest.param(later(30, seconds=1), {}, False, id="30-days-and-a-second"),
        pytest.param(later(31), {}, False, id="31-days"),
        # Without an offset, read where it comes first (UTC+14): 14 hours earlier than UTC.
        pytest.param(later(30, hours=14, zone=False), {}, True, id="no-offset-at-utc+14"),
        pytest.param(
            later(30, hours=14, seconds=1, zone=False), {}, False, id="no-offset-a-second-late"
        ),
        # In users' local time, the earliest reading of the wall-clock time counts.
        pytest.param(later(30, hours=14), {"expire_in_local_time": True}, True, id="local"),
        pytest.param(
            later(30, hours=14, seconds=1),
            {"expire_in_local_time": True},
            False,
            id="local-a-second-late",
        ),
        pytest.param(later(-1), {}, True, id="past-not-documented-as-refused"),
    ],
)
async def test_a_send_counts_from_the_clock(
    http: httpx.AsyncClient, expire_at: str, extra: dict[str, Any], ok: bool
) -> None:
    """/messages/send: refused only past 30 days in every reading."""
    answer = await http.post(MESSAGES, json=send(expire_at, **extra))
    if ok:
        assert answer.status_code == 201, answer.text
    else:
        assert_refused(answer)


async def test_the_clock_moves_the_line(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """The same card, refused today, is taken two days later (its expiry is nearer)."""
    body = send(later(31))
    assert_refused(await http.post(MESSAGES, json=body))
    clock.advance(2 * 86400)
    assert (await http.post(MESSAGES, json=body)).status_code == 201


async def test_a_schedule_create_counts_from_its_time(http: httpx.AsyncClient) -> None:
    """10 days ahead: a card expiring 35 days ahead is taken, 45 days ahead refused."""
    create = "/messages/schedule/create"
    answer = await http.post(create, json=scheduled(later(35), later(10)))
    assert answer.status_code == 201, answer.text
    assert_refused(await http.post(create, json=scheduled(later(45), later(10))))


async def test_a_local_time_schedule_counts_from_its_last_zone(http: httpx.AsyncClient) -> None:
    """Its wall-clock time comes last at UTC-12: 30 days from there."""
    create = "/messages/schedule/create"
    wall = later(10, zone=False)
    ok = scheduled(later(40, hours=12), wall, in_local_time=True)
    assert (await http.post(create, json=ok)).status_code == 201
    late = scheduled(later(40, hours=12, seconds=1), wall, in_local_time=True)
    assert_refused(await http.post(create, json=late))


async def test_an_update_counts_from_the_schedule_it_leaves_with(http: httpx.AsyncClient) -> None:
    """New messages against the stored schedule, a new schedule against the stored card."""
    answer = await http.post("/messages/schedule/create", json=scheduled(later(35), later(10)))
    schedule_id = answer.json()["schedule_id"]
    update = "/messages/schedule/update"
    late_card = {"schedule_id": schedule_id, "messages": {"content_card": card(later(45))}}
    assert_refused(await http.post(update, json=late_card))
    earlier = {"schedule_id": schedule_id, "schedule": {"time": later(1)}}
    assert_refused(await http.post(update, json=earlier))
    both = {**earlier, "messages": {"content_card": card(later(20))}}
    assert (await http.post(update, json=both)).status_code == 201
