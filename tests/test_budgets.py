"""Whose budget a send spends, one table for the client and the simulator.

api_limits.md, "Rate limits by request type": for ``/messages/send``,
``/campaigns/trigger/send`` and ``/canvas/trigger/send``, "250 requests per minute for
broadcast calls (when only specifying a segment or Connected Audience). Otherwise, 250,000
requests per hour". A request that names recipients spends the hourly budget, with or without
an audience filter; only a request naming nobody spends the broadcast one.
"""

from __future__ import annotations

from typing import Literal

import pytest

from braze_async import BrazeClient, Messages, Recipient, UserAlias
from braze_async._messages import MessagesSendRequest
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

Request = CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest
Budget = Literal["external_id", "audience"]

ONE = [Recipient(external_user_id="u")]
AUDIENCE = {
    "AND": [
        {"custom_attribute": {"custom_attribute_name": "a", "comparison": "equals", "value": 1}}
    ]
}
SMS = Messages(sms={"subscription_group_id": "g", "body": "hi", "app_id": "a"})

WHOSE_BUDGET: list[tuple[str, Request, Budget]] = [
    ("campaign-recipients", CampaignTriggerRequest(campaign_id="c", recipients=ONE),
     "external_id"),
    ("campaign-recipients-and-audience",
     CampaignTriggerRequest(campaign_id="c", recipients=ONE, audience=AUDIENCE), "external_id"),
    ("campaign-audience", CampaignTriggerRequest(campaign_id="c", audience=AUDIENCE), "audience"),
    ("campaign-whole-segment", CampaignTriggerRequest(campaign_id="c", broadcast=True),
     "audience"),
    ("canvas-recipients", CanvasTriggerRequest(canvas_id="v", recipients=ONE), "external_id"),
    ("canvas-recipients-and-audience",
     CanvasTriggerRequest(canvas_id="v", recipients=ONE, audience=AUDIENCE), "external_id"),
    ("canvas-audience", CanvasTriggerRequest(canvas_id="v", audience=AUDIENCE), "audience"),
    ("messages-ids", MessagesSendRequest(external_user_ids=["u"], messages=SMS), "external_id"),
    ("messages-aliases", MessagesSendRequest(user_aliases=[UserAlias("n", "l")], messages=SMS),
     "external_id"),
    ("messages-ids-and-segment",
     MessagesSendRequest(external_user_ids=["u"], segment_id="s", messages=SMS), "external_id"),
    ("messages-ids-and-audience",
     MessagesSendRequest(external_user_ids=["u"], audience=AUDIENCE, messages=SMS),
     "external_id"),
    ("messages-segment", MessagesSendRequest(segment_id="s", messages=SMS), "audience"),
    ("messages-audience", MessagesSendRequest(audience=AUDIENCE, messages=SMS), "audience"),
]  # fmt: skip


async def send(braze: BrazeClient, request: Request) -> None:
    if isinstance(request, CampaignTriggerRequest):
        await braze._post("/campaigns/trigger/send", request)
    elif isinstance(request, CanvasTriggerRequest):
        await braze._post("/canvas/trigger/send", request)
    else:
        await braze._post("/messages/send", request)


@pytest.mark.parametrize(
    ("request_", "budget"), [pytest.param(r, b, id=name) for name, r, b in WHOSE_BUDGET]
)
async def test_client_and_simulator_charge_the_same_budget(
    request_: Request, budget: Budget
) -> None:
    """The client's bucket (``targets_audience``) and the simulator's are the page's."""
    assert request_.targets_audience == (budget == "audience")
    other: Budget = "audience" if budget == "external_id" else "external_id"
    async with (
        BrazeSimulator(
            external_id_rate="1000/3600", audience_rate="1000/3600", window="sliding"
        ) as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        await send(braze, request_)
        assert sim.consume_budget(budget, 1000) == 999  # one spent by the send
        assert sim.consume_budget(other, 1000) == 1000
