"""The record of deliveries and the counters."""

from __future__ import annotations

from collections import Counter
from typing import Any

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

from braze_async.simulator import BrazeSimulator, Delivery, SimulatorStats

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio

ALIAS = {"alias_name": "n", "alias_label": "l"}
#: A connected audience filter (objects_filters/connected_audience.md).
RECENT = {"last_used_app": {"comparison": "after", "value": "2020-01-01T00:00:00Z"}}


async def test_every_accepted_recipient_is_recorded(
    sim: BrazeSimulator, client: httpx.AsyncClient
) -> None:
    """Each recipient becomes a Delivery with the request's ids and the object as received."""
    recipients: list[dict[str, Any]] = [
        {"external_user_id": "u1", "trigger_properties": {"k": 1}},
        {"user_alias": ALIAS},
        {"email": "a@b.co", "prioritization": ["identified"]},
    ]
    answer = (
        await client.post(CAMPAIGNS, json={"campaign_id": "c1", "recipients": recipients})
    ).json()
    canvas = await client.post(
        CANVAS, json={"canvas_id": "v1", "recipients": [{"external_user_id": "u1"}]}
    )
    messages = await client.post(
        MESSAGES,
        json={"external_user_ids": ["u2"], "user_aliases": [ALIAS], "messages": MSG},
    )
    tx = await client.post(TRANSACTIONAL, json={"recipient": {"external_user_id": "u3"}})
    dispatch = answer["dispatch_id"]
    assert sim.delivered()[:3] == [
        Delivery(CAMPAIGNS, "c1", None, dispatch, "external_user_id:u1", recipients[0]),
        Delivery(CAMPAIGNS, "c1", None, dispatch, "user_alias:n/l", recipients[1]),
        Delivery(CAMPAIGNS, "c1", None, dispatch, "email:a@b.co", recipients[2]),
    ]
    assert sim.delivered()[3] == Delivery(
        CANVAS,
        None,
        "v1",
        canvas.json()["dispatch_id"],
        "external_user_id:u1",
        {"external_user_id": "u1"},
    )
    assert [d.recipient for d in sim.delivered()[4:6]] == ["external_user_id:u2", "user_alias:n/l"]
    assert {d.dispatch_id for d in sim.delivered()[4:6]} == {messages.json()["dispatch_id"]}
    assert sim.delivered()[6] == Delivery(
        "/transactional/v1/campaigns/{campaign_id}/send",
        "tx-1",
        None,
        tx.json()["dispatch_id"],
        "external_user_id:u3",
        {"external_user_id": "u3"},
    )
    assert sim.delivered_counts() == {
        "external_user_id:u1": 2,
        "user_alias:n/l": 2,
        "email:a@b.co": 1,
        "external_user_id:u2": 1,
        "external_user_id:u3": 1,
    }


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        pytest.param(CAMPAIGNS, {"campaign_id": "c", "broadcast": True}, "broadcast",
                     id="broadcast"),
        pytest.param(CAMPAIGNS, {"campaign_id": "c", "audience": {"OR": [RECENT]}}, "audience",
                     id="audience"),
        pytest.param(MESSAGES, {"segment_id": "s9", "messages": MSG}, "segment:s9",
                     id="segment"),
    ],
)  # fmt: skip
async def test_audience_send_is_recorded_once(
    sim: BrazeSimulator, client: httpx.AsyncClient, path: str, body: dict[str, object], key: str
) -> None:
    """A send without recipients is one pseudo-recipient naming its audience."""
    await client.post(path, json=body)
    [delivery] = sim.delivered()
    assert delivery.recipient == key
    assert sim.stats.recipients_per_request == {0: 1}


async def test_counters_and_histogram(sim: BrazeSimulator, client: httpx.AsyncClient) -> None:
    """Stats count requests by outcome and recipients per accepted request."""
    await client.post(CAMPAIGNS, json=campaign(50))
    await client.post(CAMPAIGNS, json=campaign(50))
    await client.post(CAMPAIGNS, json=campaign(3))
    await client.post(CAMPAIGNS, json=campaign(51))
    await client.post(CAMPAIGNS, json=campaign(), headers={"Authorization": "Bearer nope"})
    assert sim.stats == SimulatorStats(
        requests=5,
        accepted=3,
        rejected_400=1,
        unauthorized=1,
        recipients_per_request=Counter({50: 2, 3: 1}),
    )
    assert sim.stats.summary().startswith("requests=5 accepted=3 rejected_400=1 unauthorized=1 ")


async def test_duplicates_show_in_delivered_counts(
    sim: BrazeSimulator, client: httpx.AsyncClient
) -> None:
    """Sending the same recipient twice is visible: the check for exactly-once delivery."""
    await client.post(CAMPAIGNS, json=campaign(2))
    await client.post(CAMPAIGNS, json=campaign(1))
    counts = sim.delivered_counts()
    assert counts["external_user_id:u0"] == 2
    assert [key for key, n in counts.items() if n > 1] == ["external_user_id:u0"]


async def test_reset_forgets_everything(clock: FakeClock) -> None:
    """reset() clears deliveries, counters, windows and dedup keys; stats stays the same object."""
    sim = BrazeSimulator(KEY, clock=clock, external_id_rate="1/60")
    stats = sim.stats
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        await c.post(CAMPAIGNS, json=campaign())
        await c.post(
            TRANSACTIONAL, json={"external_send_id": "k", "recipient": {"external_user_id": "u"}}
        )
        assert (await c.post(CAMPAIGNS, json=campaign())).status_code == 429
        sim.reset()
        assert sim.delivered() == []
        assert sim.stats is stats
        assert stats == SimulatorStats()
        assert (await c.post(CAMPAIGNS, json=campaign())).status_code == 201
        await c.post(
            TRANSACTIONAL, json={"external_send_id": "k", "recipient": {"external_user_id": "u"}}
        )
    assert stats.deduplicated == 0
    assert len(sim.delivered()) == 2


async def test_record_false_keeps_counters_only(clock: FakeClock) -> None:
    """With record=False nothing is kept per recipient, but the counters still count."""
    sim = BrazeSimulator(KEY, clock=clock, record=False)
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH) as c:
        await c.post(CAMPAIGNS, json=campaign(5))
    assert sim.delivered() == []
    assert sim.stats.accepted == 1
    assert sim.stats.recipients_per_request == {5: 1}


async def test_deliveries_read_while_sending_stay_in_order(
    sim: BrazeSimulator, client: httpx.AsyncClient
) -> None:
    """Reading the record between sends returns every delivery once, in order."""
    seen = []
    for i in range(3):
        await client.post(
            CAMPAIGNS, json={"campaign_id": "c", "recipients": [{"external_user_id": f"u{i}"}]}
        )
        seen.append(len(sim.delivered()))
    assert seen == [1, 2, 3]
    assert [d.recipient for d in sim.delivered()] == [f"external_user_id:u{i}" for i in range(3)]


async def test_the_record_is_read_by_recipient_as_named_in_the_request(
    sim: BrazeSimulator, client: httpx.AsyncClient
) -> None:
    """delivered_to(...) names a recipient as the request did, not by a key format: an
    external id (a string, or the integer Braze also takes), an alias, an email, a Braze id."""
    tricky = {"alias_name": "a/b", "alias_label": "c"}  # the same key as ("a", "b/c")
    recipients: list[dict[str, Any]] = [
        {"external_user_id": "u1", "trigger_properties": {"k": 1}},
        {"external_user_id": 12345},
        {"user_alias": ALIAS},
        {"user_alias": tricky},
        {"email": "a@b.co", "prioritization": ["identified"]},
        {"braze_id": "b-9"},
    ]
    await client.post(CAMPAIGNS, json={"campaign_id": "c1", "recipients": recipients})
    await client.post(CANVAS, json={"canvas_id": "v1", "recipients": [{"external_user_id": "u1"}]})
    first, second = sim.delivered_to(external_user_id="u1")
    assert (first.campaign_id, first.data["trigger_properties"]) == ("c1", {"k": 1})
    assert (second.canvas_id, second.data) == ("v1", {"external_user_id": "u1"})
    assert [d.data for d in sim.delivered_to(external_user_id=12345)] == [recipients[1]]
    assert [d.data for d in sim.delivered_to(external_user_id="12345")] == [recipients[1]]
    assert [d.data for d in sim.delivered_to(user_alias=("n", "l"))] == [recipients[2]]
    assert [d.data for d in sim.delivered_to(user_alias=("a/b", "c"))] == [recipients[3]]
    assert sim.delivered_to(user_alias=("a", "b/c")) == []
    assert [d.data for d in sim.delivered_to(email="a@b.co")] == [recipients[4]]
    assert [d.data for d in sim.delivered_to(braze_id="b-9")] == [recipients[5]]
    assert sim.delivered_to(external_user_id="nobody") == []


@pytest.mark.parametrize(
    "named",
    [
        pytest.param({}, id="none"),
        pytest.param({"external_user_id": "u1", "email": "a@b.co"}, id="two"),
    ],
)
def test_a_recipient_is_named_exactly_one_way(sim: BrazeSimulator, named: dict[str, Any]) -> None:
    """No name, or two: a ValueError saying how to name one."""
    with pytest.raises(ValueError, match="name the recipient one way"):
        sim.delivered_to(**named)


async def test_delivered_is_a_snapshot_and_deliveries_its_deprecated_alias(
    sim: BrazeSimulator, client: httpx.AsyncClient
) -> None:
    """delivered() is a new list each call (what was delivered then); the old property
    ``deliveries`` still answers the same, with a DeprecationWarning."""
    await client.post(CAMPAIGNS, json=campaign(1))
    before = sim.delivered()
    before.clear()  # the caller's own list: the record is untouched
    await client.post(CAMPAIGNS, json=campaign(2))
    assert len(sim.delivered()) == 3
    with pytest.deprecated_call(match=r"call delivered\(\)"):
        old = sim.deliveries
    assert old == sim.delivered()
