"""Whose budget: one table, read by the client's rate limiter and by the simulator alike.

Braze's limits page: the 250/minute bucket is for broadcast calls, "when only specifying a
segment or Connected Audience"; a request that names recipients, with or without an audience
filter, spends the 250,000/hour bucket. Transactional sends spend neither. Every row is sent
through a client (when the client can send it) to the simulator, and both must charge the
row's bucket.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
import pytest

from braze_async import BrazeClient, Recipient
from braze_async._limits import Bucket
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async._wire import converter
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

KEY = "sim-key"
CAMPAIGNS = "/campaigns/trigger/send"
CANVAS = "/canvas/trigger/send"
MESSAGES = "/messages/send"
TRANSACTIONAL = "/transactional/v1/campaigns/tx/send"
USER = [{"external_user_id": "u"}]
VIP = {"custom_attribute_name": "vip", "comparison": "equals", "value": True}
FILTER = {"AND": [{"custom_attribute": VIP}]}
SMS: dict[str, Any] = {"sms": {"subscription_group_id": "g", "body": "b", "app_id": "a"}}

BucketName = Literal["audience", "external_id"] | None


def row(path: str, bucket: BucketName, case: str, **body: Any) -> Any:
    """One row of the table: *body* posted to *path* spends *bucket* (None: neither)."""
    return pytest.param(path, body, bucket, id=case)


#: Every kind of send, and the bucket Braze's limits page charges it to.
TABLE = [
    row(CAMPAIGNS, "audience", "campaign-broadcast", campaign_id="c", broadcast=True),
    row(CAMPAIGNS, "audience", "campaign-audience-only", campaign_id="c", audience=FILTER),
    row(CAMPAIGNS, "external_id", "campaign-recipients", campaign_id="c", recipients=USER),
    row(CAMPAIGNS, "external_id", "campaign-recipients-and-audience",
        campaign_id="c", recipients=USER, audience=FILTER),
    row(CANVAS, "audience", "canvas-broadcast", canvas_id="c", broadcast=True),
    row(CANVAS, "audience", "canvas-audience-only", canvas_id="c", audience=FILTER),
    row(CANVAS, "external_id", "canvas-recipients", canvas_id="c", recipients=USER),
    row(CANVAS, "external_id", "canvas-recipients-and-audience",
        canvas_id="c", recipients=USER, audience=FILTER),
    row(MESSAGES, "audience", "messages-segment", segment_id="s", messages=SMS),
    row(MESSAGES, "external_id", "messages-external-ids", external_user_ids=["u"], messages=SMS),
    row(MESSAGES, "external_id", "messages-ids-and-segment",
        external_user_ids=["u"], segment_id="s", messages=SMS),
    row(TRANSACTIONAL, None, "transactional", recipient={"external_user_id": "u"}),
]  # fmt: skip

#: The rows the client can send as trigger requests (the transactional row: see the last test).
TRIGGERS = [row for row in TABLE if row.values[0] in (CAMPAIGNS, CANVAS)]


def spent(sim: BrazeSimulator) -> dict[str, int]:
    """Requests counted in each of the simulator's windows of 100 (read by filling them)."""
    return {
        "audience": 100 - sim.consume_budget("audience", 100),
        "external_id": 100 - sim.consume_budget("external_id", 100),
    }


@pytest.mark.parametrize(("path", "body", "bucket"), TABLE)
async def test_the_simulator_charges_the_bucket_of_the_limits_page(
    path: str, body: dict[str, Any], bucket: BucketName
) -> None:
    """The simulator spends the row's bucket, and only that one."""
    sim = BrazeSimulator(KEY, external_id_rate=(100, 60), audience_rate=(100, 60), window="sliding")
    auth = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b") as http:
        response = await http.post(path, json=body, headers=auth)
    assert response.status_code == 201, response.text
    assert spent(sim) == {b: int(b == bucket) for b in ("audience", "external_id")}


@pytest.mark.parametrize(("path", "body", "bucket"), TRIGGERS)
async def test_the_client_waits_on_the_bucket_the_simulator_charges(
    path: str, body: dict[str, Any], bucket: BucketName
) -> None:
    """The client's limiter admits the row on the bucket the simulator charges."""
    model: type[CampaignTriggerRequest | CanvasTriggerRequest]
    model = CampaignTriggerRequest if path == CAMPAIGNS else CanvasTriggerRequest
    sim = BrazeSimulator(KEY, external_id_rate=(100, 60), audience_rate=(100, 60), window="sliding")
    request = converter.structure(body, model)
    async with BrazeClient(
        api_key=KEY, base_url="https://rest.iad-01.braze.com", transport=sim.transport()
    ) as braze:
        if isinstance(request, CampaignTriggerRequest):
            await braze._post("/campaigns/trigger/send", request)
        else:
            await braze._post("/canvas/trigger/send", request)
        assert braze._limiter is not None
        admitted = {b.value: braze._limiter.snapshot(b).admitted for b in Bucket}
    expected = {b.value: int(b.value == bucket) for b in Bucket}
    assert admitted == expected
    assert spent(sim) == {b: expected[b] for b in ("audience", "external_id")}


async def test_the_client_sends_transactional_outside_both_buckets() -> None:
    """The transactional row, through the client: neither bucket, on either side."""
    sim = BrazeSimulator(KEY, external_id_rate=(100, 60), audience_rate=(100, 60), window="sliding")
    async with BrazeClient(
        api_key=KEY, base_url="https://rest.iad-01.braze.com", transport=sim.transport()
    ) as braze:
        await braze.send_transactional("tx", Recipient(external_user_id="u"))
        assert braze._limiter is not None
        assert all(braze._limiter.snapshot(b).admitted == 0 for b in Bucket)
    assert spent(sim) == {"audience": 0, "external_id": 0}
