"""The per-audience broadcast limit (api_limits.md: "10 requests per minute per unique
audience"): each request's ``audience_key``, the limiter's per-key logs (local and Redis),
and end to end against the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from _fake_time import FakeTime

from braze_async import (
    BrazeClient,
    Campaign,
    Canvas,
    Messages,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
    Schedule,
    SmsMessage,
)
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async._schedule import ScheduleCreateRequest
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

FILTER = {"last_used_app": {"comparison": "after", "value": "2020-01-01T00:00:00Z"}}
REORDERED = {"last_used_app": {"value": "2020-01-01T00:00:00Z", "comparison": "after"}}
OTHER = {"last_used_app": {"comparison": "before", "value": "2020-01-01T00:00:00Z"}}
#: Every wait of a test on the code under test: far above any bound it should meet.
GUARD = 30.0
SMS = Messages.of({"sms": SmsMessage(subscription_group_id="g", body="Hi", app_id="app")})


def key(target: Any, **how: Any) -> str | None:
    return target.request(None, **how).audience_key  # type: ignore[no-any-return]


# -- the key ---------------------------------------------------------------------------------


def test_a_send_to_recipients_has_no_audience_key() -> None:
    """Only broadcasts are counted per audience: a send naming recipients has no key."""
    request = Campaign("c").request([Recipient(external_user_id="u")], audience=FILTER)
    assert request.audience_key is None


def test_key_order_in_the_audience_object_does_not_matter() -> None:
    """The same filters written in another key order are the same audience."""
    assert key(Campaign("c"), audience=FILTER) == key(Campaign("c"), audience=REORDERED)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param((Campaign("a"), {"broadcast": True}), (Campaign("b"), {"broadcast": True}),
                     id="campaign-a-and-b"),
        pytest.param((Campaign("a"), {"audience": FILTER}), (Campaign("a"), {"audience": OTHER}),
                     id="two-filters"),
        pytest.param((Campaign("a"), {"broadcast": True}), (Canvas("a"), {"broadcast": True}),
                     id="campaign-and-canvas-of-one-id"),
        pytest.param((SMS, {"segment_id": "s1"}), (SMS, {"segment_id": "s2"}),
                     id="two-segments"),
        pytest.param((Campaign("a"), {"audience": FILTER}), (Campaign("a"), {"broadcast": True}),
                     id="filter-and-whole-segment"),
    ],
)  # fmt: skip
def test_different_audiences_have_different_keys(
    first: tuple[Any, dict[str, Any]], second: tuple[Any, dict[str, Any]]
) -> None:
    """The campaign or Canvas, the segment and the audience filter each make the key."""
    assert key(first[0], **first[1]) != key(second[0], **second[1])


def test_the_key_ignores_what_is_not_the_audience() -> None:
    """Trigger properties or context are not part of the audience: one key."""
    plain = CampaignTriggerRequest(campaign_id="c", broadcast=True)
    personal = CampaignTriggerRequest(campaign_id="c", broadcast=True, trigger_properties={"a": 1})
    assert plain.audience_key == personal.audience_key is not None
    canvas = CanvasTriggerRequest(canvas_id="c", broadcast=True, context={"a": 1})
    assert canvas.audience_key == CanvasTriggerRequest(canvas_id="c", broadcast=True).audience_key


def test_a_schedule_create_shares_the_sends_key() -> None:
    """The page's key names no endpoint: scheduling the same broadcast spends the same
    audience's budget; /messages/schedule/create is not on the page's list (no key)."""
    at = Schedule(at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    send = Campaign("c").request(None, audience=FILTER)
    assert ScheduleCreateRequest(send=send, schedule=at).audience_key == send.audience_key
    messages = SMS.request(None, segment_id="s")
    assert messages.audience_key is not None
    assert ScheduleCreateRequest(send=messages, schedule=at).audience_key is None


def test_the_setting_is_checked() -> None:
    """``per_audience`` is a Rate like the others, 10 a minute by default."""
    assert RateLimits().per_audience == Rate(10, 60.0)
    with pytest.raises(ValueError, match="RateLimits.per_audience"):
        RateLimits(per_audience=(10, 60))  # type: ignore[arg-type]


# -- end to end: the client against the simulator, over loopback HTTP, on one fake clock ----


async def broadcast_35_times(limits: RateLimits) -> tuple[int, float]:
    """35 sends of one broadcast, one after the other, over loopback HTTP on one fake clock
    (a FakeClock's sleeps move it at once: one sender at a time keeps it exact); the
    simulator's 429s and the fake time it took."""
    clock = FakeClock()
    async with (
        BrazeSimulator(clock=clock) as sim,
        BrazeClient(
            api_key=sim.api_key,
            base_url=sim.base_url,
            clock=clock,
            rate_limits=limits,
            retry=RetryPolicy(rate_limited_attempts=50),
        ) as braze,
    ):
        for _ in range(35):
            sent = await asyncio.wait_for(braze.send(Campaign("c"), audience=FILTER), GUARD)
            assert sent.dispatch_id
        assert sim.stats.accepted == 35
        return sim.stats.rate_limited, clock.now


async def test_one_broadcast_repeated_earns_no_429() -> None:
    """The must-show: repeating ONE broadcast (35 sends of one campaign and filter) is held
    to Braze's 10 a minute per unique audience by the client: all sent, 0 x 429, in the
    three more minutes it must take."""
    throttled, took = await broadcast_35_times(RateLimits())
    assert throttled == 0
    assert took >= 3 * 60


async def test_without_the_per_audience_limit_braze_answers_429() -> None:
    """The same run with the client's per-audience limit out of the way: the simulator
    (Braze) refuses with 429s (so the test above can fail); all are sent after retries."""
    throttled, _ = await broadcast_35_times(RateLimits(per_audience=Rate(10**6, 60)))
    assert throttled > 0


def test_concurrent_broadcasts_of_one_audience_earn_no_429() -> None:
    """35 sends of one broadcast at once (on FakeTime, whose timers overlap as real ones
    do, through the simulator's in-process transport): 0 x 429, all sent."""

    async def main(ft: FakeTime) -> int:
        sim = BrazeSimulator(clock=ft.simulator_clock())
        braze = BrazeClient(
            api_key=sim.api_key,
            base_url="https://rest.iad-01.braze.com",
            transport=sim.transport(),
            retry=RetryPolicy(rate_limited_attempts=50),
            clock=ft,
        )
        async with braze:
            sends = [
                asyncio.ensure_future(braze.send(Canvas("k"), audience=FILTER)) for _ in range(35)
            ]
            await ft.run(sends)
        assert sim.stats.accepted == 35
        return sim.stats.rate_limited

    assert asyncio.run(main(FakeTime())) == 0
