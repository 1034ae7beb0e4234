"""Send IDs and Live Activities: each endpoint end to end against the simulator (on one fake
clock), the bodies on the wire against Braze's examples, bad input refused before any
request, and the daily send ID budget spent without a 429.

Pages: paths under ``_docs/_api/`` of braze-inc/braze-docs
(endpoints/messaging/send_messages/post_create_send_ids.md,
endpoints/messaging/live_activity/start.md and update.md, api_limits.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
import pytest

from braze_async import (
    BrazeBadRequestError,
    BrazeClient,
    BrazeRateLimitError,
    BrazeRateLimitWaitError,
    BrazeValidationError,
    Campaign,
    LiveActivityStart,
    LiveActivityUpdate,
    RateLimits,
    Recipient,
    UserAlias,
)
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio
pytest_plugins = ["sim_on_clock"]

UTC = dt.timezone.utc
START = 1_699_920_000.0  # 2023-11-14 00:00 UTC, as sim_on_clock
ALERT = {"alert": {"body": "The game is starting! Tune in soon!", "title": "Chiefs v. Bills"}}


def start(**changes: Any) -> LiveActivityStart:
    fields: dict[str, Any] = {
        "app_id": "app",
        "activity_id": "football-chiefs-bills-2024-01-21",
        "activity_attributes_type": "FootballActivity",
        "activity_attributes": {"team1Name": "Chiefs", "team2Name": "Bills"},
        "content_state": {"teamOneScore": 0, "teamTwoScore": 0},
        "notification": ALERT,
        "external_user_ids": ["user-id1", "user-id2"],
    }
    fields.update(changes)
    return LiveActivityStart(**fields)


def _recording(seen: list[httpx.Request], answer: dict[str, Any]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=answer)

    return httpx.MockTransport(handle)


async def _wire(call: Any, answer: dict[str, Any]) -> dict[str, Any]:
    seen: list[httpx.Request] = []
    async with BrazeClient(
        api_key="k", base_url="https://rest.iad-01.braze.com", transport=_recording(seen, answer)
    ) as braze:
        await call(braze)
    assert len(seen) == 1
    body: dict[str, Any] = orjson.loads(seen[0].content)
    return body


# -- send IDs -------------------------------------------------------------------------------


async def test_create_send_id_end_to_end(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """post_create_send_ids.md: the answer's send_id is returned; Braze makes one when none
    is given; a Campaign carries it into the send."""
    assert await braze.create_send_id("weekly", send_id="wk-48") == "wk-48"
    made = await braze.create_send_id("weekly")
    assert made and made != "wk-48"
    assert sim.send_ids() == [("weekly", "wk-48"), ("weekly", made)]
    await braze.send(Campaign("weekly", send_id=made), recipients=[Recipient(external_user_id="u")])
    assert sim.stats.rate_limited == 0


async def test_create_send_id_body_is_the_example() -> None:
    """post_create_send_ids.md, "Example request"."""
    body = await _wire(
        lambda b: b.create_send_id("campaign_identifier", send_id="send_identifier"),
        {"message": "success", "send_id": "send_identifier"},
    )
    assert body == {"campaign_id": "campaign_identifier", "send_id": "send_identifier"}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(("",), "campaign_id", id="empty-campaign"),
        pytest.param((7,), "campaign_id", id="int-campaign"),
        pytest.param(("c", ""), "send_id", id="empty-send-id"),
        pytest.param(("c", 5), "send_id", id="int-send-id"),
    ],
)
async def test_create_send_id_refuses_bad_input(
    braze: BrazeClient, sim: BrazeSimulator, args: tuple[Any, ...], field: str
) -> None:
    """Bad input names its field and sends nothing."""
    with pytest.raises(BrazeValidationError) as caught:
        await braze.create_send_id(*args)
    assert caught.value.field == field
    assert sim.stats.requests == 0


async def test_the_daily_send_id_budget_is_spent_without_a_429(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """api_limits.md: 100 send IDs a day per workspace. The 101st is refused by the client at
    once (no long silent wait), naming the daily limit; none reaches Braze to get a 429; a
    day later the budget is back."""
    for n in range(100):
        await braze.create_send_id("c", send_id=f"s{n}")
    clock.advance(3600.0)
    with pytest.raises(BrazeRateLimitWaitError) as caught:
        await braze.create_send_id("c", send_id="s100")
    message = str(caught.value)
    assert "100 send IDs a day" in message and "RateLimits.send_ids" in message
    assert caught.value.retry_after is not None and caught.value.retry_after > 80_000
    assert sim.stats.requests == 100 and sim.stats.rate_limited == 0
    clock.advance(86_400.0)
    assert await braze.create_send_id("c", send_id="s100") == "s100"
    assert sim.stats.rate_limited == 0


async def test_the_simulator_answers_429_past_its_daily_budget(
    sim: BrazeSimulator, clock: FakeClock
) -> None:
    """The simulator's own window: 100 a day on its clock (a client without limiting meets
    it), free again after a day."""
    async with BrazeClient(
        api_key=sim.api_key,
        base_url="http://127.0.0.1",
        transport=sim.transport(),
        clock=clock,
        rate_limits=None,
    ) as braze:
        assert sim.consume_budget("send_ids", 100) == 100
        with pytest.raises(BrazeRateLimitError, match="100 send IDs a day") as caught:
            await braze.create_send_id("c", send_id="late")
        assert caught.value.status_code == 429
        assert sim.stats.rate_limited == 2  # one retry, not twenty
    assert sim.send_ids() == []


async def test_a_send_id_spends_only_its_own_budget(braze: BrazeClient) -> None:
    """The send ID bucket is its own: the send budgets are untouched."""
    await braze.create_send_id("c")
    status = braze.rate_limit_status()
    assert status["send_ids"].counted == 1
    assert status["external_id"].counted == 0 and status["audience"].counted == 0
    assert RateLimits().send_ids.limit == 100 and RateLimits().send_ids.period == 86400.0


# -- Live Activities ------------------------------------------------------------------------


async def test_start_live_activity_end_to_end(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """start.md: 201 {"message": "success"}; the simulator records one delivery per user."""
    answer = await braze.start_live_activity(
        start(user_aliases=[UserAlias("user-name", "user-label")])
    )
    assert answer.message == "success" and answer.status_code == 201
    delivered = [d for d in sim.delivered() if d.endpoint == "/messages/live_activity/start"]
    assert [d.recipient for d in delivered] == [
        "external_user_id:user-id1",
        "external_user_id:user-id2",
        "user_alias:user-name/user-label",
    ]
    assert delivered[0].data["content_state"] == {"teamOneScore": 0, "teamTwoScore": 0}


async def test_start_to_a_segment_and_an_audience(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """The other two targeting methods are recorded as the segment and the audience."""
    await braze.start_live_activity(start(external_user_ids=None, segment_id="fans"))
    await braze.start_live_activity(
        start(external_user_ids=None, custom_audience={"AND": [{"custom_attribute": {}}]})
    )
    assert [d.recipient for d in sim.delivered()] == ["segment:fans", "audience"]


async def test_update_live_activity_end_to_end(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """update.md: the update (and the end) answers success and is recorded per activity."""
    update = LiveActivityUpdate(
        app_id="app",
        activity_id="live-activity-1",
        content_state={"teamOneScore": 2, "teamTwoScore": 4},
        end_activity=True,
        dismissal_date=dt.datetime(2023, 2, 28, tzinfo=UTC),  # in the past: removed at once
    )
    answer = await braze.update_live_activity(update)
    assert answer.message == "success"
    [delivery] = sim.delivered()
    assert delivery.recipient == "live_activity:live-activity-1"
    assert delivery.data["end_activity"] is True


async def test_start_body_is_the_example() -> None:
    """start.md, "Example request" (newest: no dismissal_date; ids and aliases together)."""
    activity = start(
        app_id="{YOUR_APP_API_IDENTIFIER}",
        stale_date=dt.datetime(2024, 1, 22, 16, 55, 49, tzinfo=UTC),
        user_aliases=[UserAlias("user-name", "user-label")],
    )
    body = await _wire(lambda b: b.start_live_activity(activity), {"message": "success"})
    assert body == {
        "app_id": "{YOUR_APP_API_IDENTIFIER}",
        "activity_id": "football-chiefs-bills-2024-01-21",
        "content_state": {"teamOneScore": 0, "teamTwoScore": 0},
        "activity_attributes_type": "FootballActivity",
        "activity_attributes": {"team1Name": "Chiefs", "team2Name": "Bills"},
        "stale_date": "2024-01-22T16:55:49+0000",
        "notification": ALERT,
        "external_user_ids": ["user-id1", "user-id2"],
        "user_aliases": [{"alias_name": "user-name", "alias_label": "user-label"}],
    }


async def test_update_body_is_the_example() -> None:
    """update.md, "Example request"; a date in another zone is sent in UTC."""
    update = LiveActivityUpdate(
        app_id="{YOUR-APP-API-IDENTIFIER}",
        activity_id="live-activity-1",
        content_state={"teamOneScore": 2, "teamTwoScore": 4},
        end_activity=False,
        dismissal_date=dt.datetime(2023, 2, 28, tzinfo=UTC),
        stale_date=dt.datetime(2023, 2, 27, 17, 55, 49, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        notification={
            "alert": {"body": "It's halftime! Let's look at the scores", "title": "Halftime"}
        },
    )
    body = await _wire(lambda b: b.update_live_activity(update), {"message": "success"})
    assert body == {
        "app_id": "{YOUR-APP-API-IDENTIFIER}",
        "activity_id": "live-activity-1",
        "content_state": {"teamOneScore": 2, "teamTwoScore": 4},
        "end_activity": False,
        "dismissal_date": "2023-02-28T00:00:00+0000",
        "stale_date": "2023-02-27T16:55:49+0000",
        "notification": {
            "alert": {"body": "It's halftime! Let's look at the scores", "title": "Halftime"}
        },
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"app_id": ""}, "app_id", id="empty-app"),
        pytest.param({"activity_id": 3}, "activity_id", id="int-activity"),
        pytest.param({"activity_attributes_type": None}, "activity_attributes_type", id="type"),
        pytest.param({"activity_attributes": []}, "activity_attributes", id="attributes"),
        pytest.param({"content_state": "x"}, "content_state", id="content-state"),
        pytest.param({"content_state": {1: 2}}, "content_state", id="content-state-key"),
        pytest.param({"notification": {}}, "notification.alert", id="no-alert"),
        pytest.param(
            {"notification": {"alert": {"title": "t"}}}, "notification.alert.body", id="no-body"
        ),
        pytest.param(
            {"stale_date": dt.datetime(2024, 1, 1)},
            "stale_date",
            id="naive-date",
        ),
        pytest.param({"stale_date": "2024-01-01"}, "stale_date", id="text-date"),
        pytest.param({"external_user_ids": None}, "external_user_ids", id="no-target"),
        pytest.param({"external_user_ids": []}, "external_user_ids", id="empty-ids"),
        pytest.param(
            {"external_user_ids": [f"u{i}" for i in range(51)]}, "external_user_ids", id="51"
        ),
        pytest.param(
            {
                "external_user_ids": [f"u{i}" for i in range(50)],
                "user_aliases": [UserAlias("a", "b")],
            },
            "external_user_ids",
            id="51-together",
        ),
        pytest.param({"segment_id": "s"}, "segment_id", id="ids-and-segment"),
        pytest.param({"custom_audience": {"AND": []}}, "custom_audience", id="ids-and-audience"),
        pytest.param(
            {"external_user_ids": None, "custom_audience": {}}, "custom_audience", id="empty-aud"
        ),
    ],
)
def test_start_refuses_bad_input(changes: dict[str, Any], field: str) -> None:
    """start.md's rules, each refused naming the field."""
    with pytest.raises(BrazeValidationError) as caught:
        start(**changes)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"activity_id": ""}, "activity_id", id="empty-activity"),
        pytest.param({"content_state": None}, "content_state", id="no-content-state"),
        pytest.param({"end_activity": "yes"}, "end_activity", id="end-not-bool"),
        pytest.param(
            {"dismissal_date": dt.datetime(2024, 1, 1)},
            "dismissal_date",
            id="naive",
        ),
        pytest.param({"notification": "hi"}, "notification", id="notification"),
    ],
)
def test_update_refuses_bad_input(changes: dict[str, Any], field: str) -> None:
    """update.md's rules, each refused naming the field."""
    fields: dict[str, Any] = {"app_id": "a", "activity_id": "g", "content_state": {"s": 1}}
    with pytest.raises(BrazeValidationError) as caught:
        LiveActivityUpdate(**{**fields, **changes})
    assert caught.value.field == field


async def test_the_methods_refuse_the_wrong_value(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """A start given an update (and the reverse) is refused before any request."""
    update = LiveActivityUpdate(app_id="a", activity_id="g", content_state={})
    with pytest.raises(BrazeValidationError, match="LiveActivityStart"):
        await braze.start_live_activity(update)  # type: ignore[arg-type]
    with pytest.raises(BrazeValidationError, match="LiveActivityUpdate"):
        await braze.update_live_activity(start())  # type: ignore[arg-type]
    assert sim.stats.requests == 0


async def test_the_simulator_refuses_what_the_pages_refuse(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """A body broken past the client (here, raw) is a 400 naming the field."""
    for path, body, word in [
        ("/messages/live_activity/start", {"app_id": "a"}, "activity_id"),
        ("/messages/live_activity/update", {"app_id": "a", "activity_id": "g"}, "content_state"),
        ("/sends/id/create", {"send_id": "s"}, "campaign_id"),
    ]:
        with pytest.raises(BrazeBadRequestError, match=word):
            await braze._call(
                path, orjson.dumps(body), lambda *a: None, audience=False, retry_ambiguous=False
            )
    assert sim.stats.rejected_400 == 3
