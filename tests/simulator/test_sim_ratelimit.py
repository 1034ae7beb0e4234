"""Rate limits as Braze applies them, on a fake clock: headers, 429s, windows, buckets."""

from __future__ import annotations

import math
from typing import Literal

import httpx
import pytest
from simulator_support import (
    AUTH,
    CAMPAIGNS,
    CANVAS,
    KEY,
    MESSAGES,
    MSG,
    TRANSACTIONAL,
    FakeClock,
    campaign,
)

from braze_async.simulator import BrazeSimulator

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio

Window = Literal["fixed", "sliding"]
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
BROADCAST = {"campaign_id": "c", "broadcast": True}


def make(clock: FakeClock, window: Window) -> BrazeSimulator:
    return BrazeSimulator(
        KEY, clock=clock, window=window, external_id_rate=(3, 4), audience_rate=(2, 60)
    )


def http(sim: BrazeSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH)


async def send(
    client: httpx.AsyncClient, path: str = CAMPAIGNS, body: object = None
) -> httpx.Response:
    return await client.post(path, json=campaign() if body is None else body)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(CAMPAIGNS, campaign(), id="campaign-201"),
        pytest.param(CAMPAIGNS, {"campaign_id": 1}, id="campaign-400"),
        pytest.param(CANVAS, {"canvas_id": "c", "broadcast": True}, id="canvas-broadcast"),
        pytest.param(MESSAGES, {"external_user_ids": ["u"], "messages": MSG},
                     id="messages"),
    ],
)  # fmt: skip
async def test_limited_answers_carry_headers(clock: FakeClock, path: str, body: object) -> None:
    """Every answer of a limited endpoint has Limit, Remaining and an integer epoch Reset."""
    async with http(make(clock, "sliding")) as client:
        response = await send(client, path, body)
    for name in RATE_HEADERS:
        assert response.headers[name].isdigit(), name
    assert int(response.headers["X-RateLimit-Reset"]) >= clock.wall


async def test_transactional_is_not_limited(clock: FakeClock) -> None:
    """Transactional sends carry no rate-limit headers and are never refused for volume."""
    async with http(make(clock, "sliding")) as client:
        statuses = [
            (await send(client, TRANSACTIONAL, {"recipient": {"external_user_id": "u"}}))
            for _ in range(10)
        ]
    assert {r.status_code for r in statuses} == {201}
    assert not any(name in statuses[0].headers for name in RATE_HEADERS)


async def test_sliding_window_refuses_over_limit_then_recovers(clock: FakeClock) -> None:
    """Sliding: the 4th request in 4 s is 429; each slot returns 4 s after its request."""
    async with http(make(clock, "sliding")) as client:
        first = await send(client)
        assert first.headers["X-RateLimit-Remaining"] == "2"
        assert first.headers["X-RateLimit-Reset"] == str(math.ceil(clock.wall + 4))
        clock.advance(1.5)
        assert (await send(client)).headers["X-RateLimit-Remaining"] == "1"
        assert (await send(client)).headers["X-RateLimit-Remaining"] == "0"
        refused = await send(client)
        assert refused.status_code == 429
        assert refused.json() == {
            "message": "rate limit exceeded",
            "errors": [
                {"code": "rate_limited", "message": "API rate limit exceeded for this endpoint"}
            ],
        }
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        # the first request leaves the window 4 s after it was made: 2.5 s from now, rounded up
        assert refused.headers["Retry-After"] == "3"
        assert refused.headers["X-RateLimit-Reset"] == str(math.ceil(clock.wall + 2.5))
        clock.advance(2.4)
        assert (await send(client)).status_code == 429
        clock.advance(0.1)  # exactly 4 s after the first request
        assert (await send(client)).status_code == 201
        assert (await send(client)).status_code == 429
        clock.advance(1.5)  # the two requests at t=1.5 have left
        assert (await send(client)).status_code == 201
        assert (await send(client)).status_code == 201
        assert (await send(client)).status_code == 429


async def test_sliding_window_has_no_boundary_burst(clock: FakeClock) -> None:
    """Sliding: no window of 4 s ever admits more than 3, wherever it starts."""
    admitted: list[float] = []
    async with http(make(clock, "sliding")) as client:
        for _ in range(80):
            if (await send(client)).status_code == 201:
                admitted.append(clock.mono)
            clock.advance(0.3)
    assert len(admitted) >= 15
    for start in admitted:
        assert sum(start <= t < start + 4 for t in admitted) <= 3


async def test_fixed_window_resets_on_epoch_boundaries() -> None:
    """Fixed: windows are aligned to the epoch; Reset is the next boundary."""
    clock = FakeClock(wall=1_700_000_001.0)  # 1 s into a 4 s window (1_700_000_000 % 4 == 0)
    async with http(make(clock, "fixed")) as client:
        answers = [await send(client) for _ in range(4)]
        assert [r.status_code for r in answers] == [201, 201, 201, 429]
        assert {r.headers["X-RateLimit-Reset"] for r in answers} == {"1700000004"}
        assert answers[-1].headers["Retry-After"] == "3"
        clock.advance(2.9)
        assert (await send(client)).status_code == 429
        clock.advance(0.1)  # on the boundary: a fresh window
        fresh = await send(client)
        assert fresh.status_code == 201
        assert fresh.headers["X-RateLimit-Remaining"] == "2"
        assert fresh.headers["X-RateLimit-Reset"] == "1700000008"


async def test_fixed_window_allows_a_burst_across_the_boundary() -> None:
    """Fixed: 3 at the end of one window and 3 at the start of the next are all admitted."""
    clock = FakeClock(wall=1_700_000_003.5)
    async with http(make(clock, "fixed")) as client:
        before = [(await send(client)).status_code for _ in range(3)]
        clock.advance(0.6)
        after = [(await send(client)).status_code for _ in range(3)]
    assert before == after == [201, 201, 201]


@pytest.mark.parametrize("window", ["fixed", "sliding"])
async def test_refused_requests_are_not_counted(clock: FakeClock, window: Window) -> None:
    """A 429 spends nothing: hammering a full window does not push recovery back."""
    sim = make(clock, window)
    async with http(sim) as client:
        for _ in range(3):
            await send(client)
        for _ in range(20):
            assert (await send(client)).status_code == 429
        clock.advance(4)
        assert (await send(client)).status_code == 201
    assert sim.stats.rate_limited == 20
    assert sim.stats.accepted == 4


@pytest.mark.parametrize("window", ["fixed", "sliding"])
async def test_bad_requests_spend_budget(clock: FakeClock, window: Window) -> None:
    """Requests refused with 400 after parsing are counted, as Braze counts them."""
    async with http(make(clock, window)) as client:
        for _ in range(3):
            assert (await send(client, body=campaign(campaign_id=""))).status_code == 400
        assert (await send(client)).status_code == 429


async def test_unparseable_bodies_do_not_spend_budget(clock: FakeClock) -> None:
    """A body that is not JSON is refused before it is counted."""
    async with http(make(clock, "sliding")) as client:
        for _ in range(5):
            response = await client.post(
                CAMPAIGNS, content=b"{", headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 400
        assert (await send(client)).headers["X-RateLimit-Remaining"] == "2"


async def test_trigger_endpoints_share_the_recipient_bucket(clock: FakeClock) -> None:
    """Campaign, Canvas and /messages/send sends to recipients spend one budget."""
    async with http(make(clock, "sliding")) as client:
        assert (await send(client)).status_code == 201
        canvas = {"canvas_id": "c", "recipients": [{"external_user_id": "u"}]}
        assert (await send(client, CANVAS, canvas)).status_code == 201
        messages = {
            "user_aliases": [{"alias_name": "a", "alias_label": "b"}],
            "messages": MSG,
        }
        assert (await send(client, MESSAGES, messages)).status_code == 201
        assert (await send(client, CANVAS, canvas)).status_code == 429


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(CAMPAIGNS, BROADCAST, id="broadcast"),
        pytest.param(
            CAMPAIGNS,
            {
                "campaign_id": "c",
                "audience": {
                    "last_used_app": {"comparison": "after", "value": "2020-01-01T00:00:00Z"}
                },
            },
            id="audience",
        ),
        pytest.param(MESSAGES, {"segment_id": "s", "messages": MSG}, id="segment"),
    ],
)
async def test_audience_sends_use_their_own_bucket(
    clock: FakeClock, path: str, body: object
) -> None:
    """Segment, Connected Audience and broadcast sends spend the audience budget only (which
    bucket every kind of request spends: tests/test_budget_buckets.py, shared with the
    client)."""
    async with http(make(clock, "sliding")) as client:
        answers = [await send(client, path, body) for _ in range(3)]
        assert [r.status_code for r in answers] == [201, 201, 429]
        assert answers[0].headers["X-RateLimit-Limit"] == "2"
        recipients = await send(client)
    assert recipients.status_code == 201
    assert recipients.headers["X-RateLimit-Remaining"] == "2"


@pytest.mark.parametrize("window", ["fixed", "sliding"])
async def test_consume_budget_acts_like_another_consumer(clock: FakeClock, window: Window) -> None:
    """Budget spent by another consumer shows in Remaining and causes 429s."""
    sim = make(clock, window)
    assert sim.consume_budget("external_id", 2) == 2
    assert sim.consume_budget("audience", 5) == 2  # only what fits is spent
    async with http(sim) as client:
        first = await send(client)
        assert first.status_code == 201
        assert first.headers["X-RateLimit-Remaining"] == "0"
        assert (await send(client)).status_code == 429
        assert (await send(client, body=BROADCAST)).status_code == 429
        clock.advance(60)
        assert (await send(client)).status_code == 201
        assert (await send(client, body=BROADCAST)).status_code == 201
    assert sim.consume_budget("external_id", 0) == 0


async def test_consume_budget_validates_its_arguments(clock: FakeClock) -> None:
    """An unknown bucket or a negative count is a ValueError."""
    sim = make(clock, "sliding")
    with pytest.raises(ValueError, match="bucket"):
        sim.consume_budget("segments", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be"):
        sim.consume_budget("audience", -1)


async def test_scaled_down_hour(clock: FakeClock) -> None:
    """A scaled-down 50 per 4 s budget admits exactly 50 in a burst, then 50 more 4 s later."""
    sim = BrazeSimulator(KEY, clock=clock, external_id_rate="50/4")
    async with http(sim) as client:
        burst = [(await send(client)).status_code for _ in range(60)]
        clock.advance(4)
        later = [(await send(client)).status_code for _ in range(60)]
    assert burst.count(201) == later.count(201) == 50
    assert sim.stats.rate_limited == 20
