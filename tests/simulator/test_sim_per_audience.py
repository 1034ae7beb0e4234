"""The per-audience broadcast limit (api_limits.md, "What counts as the same unique
audience?"): 10 requests a minute per unique audience, on top of the 250 a minute of every
broadcast, on a fake clock."""

from __future__ import annotations

from typing import Any, Literal

import httpx
import pytest
from simulator_support import AUTH, CAMPAIGNS, CANVAS, KEY, MESSAGES, MSG, FakeClock, campaign

from braze_async.simulator import BrazeSimulator

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio

Window = Literal["fixed", "sliding"]
FILTER = {"last_used_app": {"comparison": "after", "value": "2020-01-01T00:00:00Z"}}
SCHEDULE = {"schedule": {"time": "2030-01-01T00:00:00Z"}}


def make(clock: FakeClock, window: Window = "fixed", **rates: Any) -> BrazeSimulator:
    return BrazeSimulator(KEY, clock=clock, window=window, **rates)


def http(sim: BrazeSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH)


async def statuses(client: httpx.AsyncClient, n: int, path: str, body: object) -> list[int]:
    return [(await client.post(path, json=body)).status_code for _ in range(n)]


@pytest.mark.parametrize("window", ["fixed", "sliding"])
async def test_one_audience_gets_ten_a_minute(clock: FakeClock, window: Window) -> None:
    """The 11th broadcast to one audience within a minute is refused, well below the 250 of
    the whole budget; a minute later it goes again."""
    body = {"campaign_id": "c", "audience": FILTER}
    async with http(make(clock, window)) as client:
        assert await statuses(client, 11, CAMPAIGNS, body) == [201] * 10 + [429]
        clock.advance(60)
        assert await statuses(client, 1, CAMPAIGNS, body) == [201]


async def test_a_per_audience_429_has_the_headers_of_the_others(clock: FakeClock) -> None:
    """Limit, Remaining, Reset and Retry-After, of the audience's own window."""
    async with http(make(clock, per_audience_rate=(2, 60))) as client:
        await statuses(client, 2, CAMPAIGNS, {"campaign_id": "c", "broadcast": True})
        refused = await client.post(CAMPAIGNS, json={"campaign_id": "c", "broadcast": True})
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) == 1_700_000_040  # the next minute
    assert refused.headers["Retry-After"] == "40"


async def test_a_refused_request_spends_nothing(clock: FakeClock) -> None:
    """A request refused per audience spends none of the broadcast budget, and one refused
    by the broadcast budget spends none of its audience's."""
    sim = make(clock, "sliding", per_audience_rate=(2, 60), audience_rate=(3, 10))
    c, d, e = ({"campaign_id": name, "broadcast": True} for name in "cde")
    async with http(sim) as client:
        assert await statuses(client, 3, CAMPAIGNS, c) == [201, 201, 429]
        assert sim._core.quota("audience").remaining == 1  # c's third spent nothing
        assert await statuses(client, 1, CAMPAIGNS, d) == [201]
        assert await statuses(client, 2, CAMPAIGNS, e) == [429, 429]  # the budget is spent
        clock.advance(10)  # the budget is back; the audiences' minute is not over
        assert await statuses(client, 3, CAMPAIGNS, e) == [201, 201, 429]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            (CAMPAIGNS, {"campaign_id": "a", "broadcast": True}),
            (CAMPAIGNS, {"campaign_id": "b", "broadcast": True}),
            id="another-campaign",
        ),
        pytest.param(
            (CAMPAIGNS, {"campaign_id": "a", "broadcast": True}),
            (CANVAS, {"canvas_id": "a", "broadcast": True}),
            id="a-canvas-of-the-same-id",
        ),
        pytest.param(
            (CAMPAIGNS, {"campaign_id": "a", "audience": FILTER}),
            (CAMPAIGNS, {"campaign_id": "a", "broadcast": True}),
            id="another-filter",
        ),
        pytest.param(
            (MESSAGES, {"segment_id": "s1", "messages": MSG}),
            (MESSAGES, {"segment_id": "s2", "messages": MSG}),
            id="another-segment",
        ),
    ],
)
async def test_different_audiences_count_apart(
    clock: FakeClock, first: tuple[str, object], second: tuple[str, object]
) -> None:
    """Each unique combination of campaign/Canvas, segment and audience filter is counted
    independently."""
    async with http(make(clock, per_audience_rate=(1, 60))) as client:
        assert await statuses(client, 2, *first) == [201, 429]
        assert await statuses(client, 1, *second) == [201]


async def test_key_order_and_endpoint_do_not_matter(clock: FakeClock) -> None:
    """The same campaign and filter, written in another key order, or scheduled instead of
    sent, is the same audience (the page's key does not name the endpoint)."""
    reordered = {"last_used_app": {"value": "2020-01-01T00:00:00Z", "comparison": "after"}}
    sim = make(clock, per_audience_rate=(2, 60))
    async with http(sim) as client:
        sent = {"campaign_id": "c", "broadcast": True, "audience": FILTER}
        assert await statuses(client, 1, CAMPAIGNS, sent) == [201]
        scheduled = {"broadcast": True, "campaign_id": "c", "audience": reordered, **SCHEDULE}
        answers = await statuses(client, 2, "/campaigns/trigger/schedule/create", scheduled)
    assert answers[1] == 429


async def test_sends_to_recipients_are_not_counted_per_audience(clock: FakeClock) -> None:
    """Only broadcasts count: sends naming their recipients (with a filter or not) do not."""
    async with http(make(clock, per_audience_rate=(1, 60))) as client:
        body = campaign(1, audience=FILTER)
        assert await statuses(client, 3, CAMPAIGNS, body) == [201] * 3


def test_the_rate_is_configurable_and_checked() -> None:
    """``per_audience_rate`` takes what the other rates take, and refuses nonsense."""
    assert BrazeSimulator(per_audience_rate="5/30").per_audience_rate.limit == 5
    assert BrazeSimulator().per_audience_rate.limit == 10
    with pytest.raises(ValueError, match="rate"):
        BrazeSimulator(per_audience_rate="ten")


async def test_idle_audiences_are_forgotten(clock: FakeClock) -> None:
    """One window per audience, dropped once it counts nothing: many audiences over time
    leave no growing state."""
    sim = make(clock, "sliding")
    async with http(sim) as client:
        for i in range(300):
            await statuses(client, 1, CAMPAIGNS, {"campaign_id": f"c{i}", "broadcast": True})
            clock.advance(1)
    assert sim._core.audiences_counted() <= 130
