"""Scheduled sends: the Schedule value, each schedule endpoint end to end against the
simulator (on one fake clock), the bodies on the wire against Braze's examples, and the
budgets they spend.

Pages: paths under ``_docs/_api/`` of braze-inc/braze-docs (objects_filters/schedule_object.md,
endpoints/messaging/schedule_messages/*.md, api_limits.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from braze_async import (
    BrazeBadRequestError,
    BrazeClient,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    Campaign,
    Canvas,
    Messages,
    Recipient,
    RetryPolicy,
    Schedule,
    Scheduled,
    ScheduledBroadcast,
    UserAlias,
)
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio
pytest_plugins = ["sim_on_clock"]

UTC = dt.timezone.utc
#: The fake clock's start (sim_on_clock): 2023-11-14 00:00 UTC.
START = 1_699_920_000.0
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime.fromtimestamp(START, UTC)
TOMORROW_9 = dt.datetime(2023, 11, 15, 9, tzinfo=UTC)
EMAIL: dict[str, Any] = {
    "app_id": "a",
    "subject": "Hi",
    "from": "Shop <s@example.com>",
    "body": "<p>Hi</p>",
}


def users(*ids: str) -> list[Recipient]:
    return [Recipient(external_user_id=i) for i in ids]


# -- the value ------------------------------------------------------------------------------


def test_schedule_is_sent_in_utc_and_local_time_without_a_zone() -> None:
    """schedule_object.md: time "in UTC"; for local time no zone designator."""
    at = dt.datetime(2026, 12, 24, 9, tzinfo=PARIS)
    assert Schedule(at).time == "2026-12-24T08:00:00Z"
    assert Schedule(at, in_local_time=True).time == "2026-12-24T09:00:00"
    assert Schedule(at, at_optimal_time=True).time == "2026-12-24T09:00:00"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(lambda: Schedule(dt.datetime(2026, 1, 1)), "schedule.at", id="naive"),
        pytest.param(lambda: Schedule("2026-01-01T00:00Z"), "schedule.at", id="string"),  # type: ignore[arg-type]
        pytest.param(
            lambda: Schedule(TOMORROW_9, in_local_time=True, at_optimal_time=True),
            "schedule.at_optimal_time",
            id="local-and-optimal",
        ),
        pytest.param(
            lambda: Schedule(TOMORROW_9, in_local_time=1),  # type: ignore[arg-type]
            "schedule.in_local_time",
            id="flag-not-bool",
        ),
        pytest.param(lambda: Scheduled(Campaign("c"), schedule_id=""), "schedule_id", id="no-id"),
        pytest.param(lambda: Scheduled("c", schedule_id="s"), "target", id="not-a-target"),  # type: ignore[arg-type]
    ],
)
def test_bad_values_are_refused_naming_the_field(make: Any, field: str) -> None:
    """Every value is checked on creation."""
    with pytest.raises(BrazeValidationError) as info:
        make()
    assert info.value.field == field


def test_scheduled_is_rebuilt_from_stored_ids() -> None:
    """A schedule outlives its process: equal values from equal ids."""
    one = Scheduled(Campaign("weekly"), schedule_id="s1", dispatch_id="d1")
    assert one == Scheduled(Campaign("weekly"), schedule_id="s1", dispatch_id="d1")
    assert Scheduled(Campaign("weekly"), schedule_id="s1").dispatch_id is None


# -- create and deliver ---------------------------------------------------------------------


async def test_campaign_schedule_is_delivered_at_its_time(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """Nothing is delivered before the time; every recipient at it."""
    scheduled = await braze.schedule(
        Campaign("weekly"), Schedule(TOMORROW_9), recipients=users("u1", "u2")
    )
    assert scheduled.target == Campaign("weekly")
    assert scheduled.schedule_id and scheduled.dispatch_id
    clock.advance((TOMORROW_9 - NOW).total_seconds() - 1)
    assert sim.delivered() == []
    clock.advance(1)
    delivered = sim.delivered()
    assert [d.recipient for d in delivered] == ["external_user_id:u1", "external_user_id:u2"]
    assert {d.schedule_id for d in delivered} == {scheduled.schedule_id}
    assert {d.sent_at for d in delivered} == {TOMORROW_9}
    assert delivered[0].endpoint == "/campaigns/trigger/schedule/create"
    clock.advance(86400)
    assert len(sim.delivered()) == 2  # once each


async def test_local_time_reaches_each_user_at_its_wall_clock_time(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """in_local_time: 9:00 in Paris, then 9:00 UTC, then 9:00 in New York."""
    sim.set_time_zone("paris", "Europe/Paris")
    sim.set_time_zone("ny", "America/New_York")
    await braze.schedule(
        Campaign("weekly"),
        Schedule(TOMORROW_9, in_local_time=True),
        recipients=users("ny", "paris", "utc"),
    )
    clock.advance(86400 + 8 * 3600)  # 8:00 UTC = 9:00 in Paris
    assert [d.recipient for d in sim.delivered()] == ["external_user_id:paris"]
    clock.advance(3600 + 5 * 3600)  # 14:00 UTC = 9:00 in New York
    delivered = sim.delivered()
    assert [d.recipient for d in delivered] == [
        "external_user_id:paris",
        "external_user_id:utc",
        "external_user_id:ny",
    ]
    assert delivered[0].sent_at == dt.datetime(2023, 11, 15, 9, tzinfo=PARIS)
    assert delivered[2].sent_at == dt.datetime(2023, 11, 15, 9, tzinfo=NEW_YORK)


async def test_a_time_in_the_past_is_refused_before_the_network(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """By the client's clock; a local time only once it has passed in every zone."""
    past = NOW - dt.timedelta(minutes=1)
    with pytest.raises(BrazeValidationError, match="has passed") as info:
        await braze.schedule(Campaign("c"), Schedule(past), recipients=users("u1"))
    assert info.value.field == "schedule.at"
    gone = NOW - dt.timedelta(hours=12, minutes=1)
    with pytest.raises(BrazeValidationError, match="every time zone"):
        await braze.schedule(
            Campaign("c"), Schedule(gone, in_local_time=True), recipients=users("u1")
        )
    assert sim.stats.requests == 0
    # Still ahead west of UTC: accepted.
    await braze.schedule(Campaign("c"), Schedule(past, in_local_time=True), recipients=users("u"))


async def test_the_send_rules_apply_to_a_schedule(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """Same recipients and targeting as the immediate send; no attachments (not on the page)."""
    with pytest.raises(BrazeValidationError) as info:
        await braze.schedule(Campaign("c"), Schedule(TOMORROW_9))
    assert info.value.field == "broadcast"
    with pytest.raises(BrazeValidationError) as info:
        await braze.schedule(Canvas("cv"), Schedule(TOMORROW_9), segment_id="s", broadcast=True)
    assert info.value.field == "segment_id"
    with pytest.raises(BrazeValidationError) as info:
        await braze.schedule(
            Messages(email=EMAIL, message_variation_id="v"),
            Schedule(TOMORROW_9),
            broadcast=True,
            segment_id="s",
        )
    assert info.value.field == "message_variation_id"
    assert sim.stats.requests == 0


async def test_simulator_refuses_a_past_time(sim: BrazeSimulator) -> None:
    """schedule_object.md: an error once the time has passed in all time zones."""
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://braze") as http:
        answer = await http.post(
            "/campaigns/trigger/schedule/create",
            json={
                "campaign_id": "c",
                "broadcast": True,
                "schedule": {"time": "2023-11-13T11:00:00", "in_local_time": True},
            },
            headers={"Authorization": f"Bearer {sim.api_key}"},
        )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "invalid_schedule"


# -- update and delete ------------------------------------------------------------------------


async def test_update_moves_a_campaign_schedule(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """The new schedule replaces the old one entirely."""
    scheduled = await braze.schedule(Campaign("c"), Schedule(TOMORROW_9), recipients=users("u1"))
    later = TOMORROW_9 + dt.timedelta(hours=3)
    assert await braze.update_schedule(scheduled, Schedule(later)) == scheduled
    clock.advance((TOMORROW_9 - NOW).total_seconds())
    assert sim.delivered() == []
    clock.advance(3 * 3600)
    assert [d.sent_at for d in sim.delivered()] == [later]


async def test_delete_cancels_and_a_rebuilt_scheduled_works(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """Cancelled from stored ids: nothing is delivered; a second delete changes nothing."""
    made = await braze.schedule(Canvas("cv"), Schedule(TOMORROW_9), recipients=users("u1"))
    stored = Scheduled(Canvas("cv"), schedule_id=made.schedule_id)
    await braze.delete_schedule(stored)
    await braze.delete_schedule(stored)
    clock.advance(2 * 86400)
    assert sim.delivered() == []


async def test_update_rules_are_checked_before_the_network(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """A campaign's update takes a schedule only; a Messages update one of two."""
    campaign = Scheduled(Campaign("c"), schedule_id="s")
    with pytest.raises(BrazeValidationError) as info:
        await braze.update_schedule(campaign)
    assert info.value.field == "schedule"
    with pytest.raises(BrazeValidationError) as info:
        await braze.update_schedule(campaign, Schedule(TOMORROW_9), messages=Messages(email=EMAIL))
    assert info.value.field == "messages"
    with pytest.raises(BrazeValidationError) as info:
        await braze.update_schedule(Scheduled(Messages(email=EMAIL), schedule_id="s"))
    assert info.value.field == "schedule"
    with pytest.raises(BrazeValidationError) as info:
        await braze.update_schedule(campaign, Schedule(NOW - dt.timedelta(seconds=1)))
    assert info.value.field == "schedule.at"
    assert sim.stats.requests == 0


async def test_unknown_schedule_id_is_a_bad_request(braze: BrazeClient) -> None:
    """A schedule_id never made (or of another campaign) is refused by the server."""
    with pytest.raises(BrazeBadRequestError) as info:
        await braze.delete_schedule(Scheduled(Campaign("c"), schedule_id="nope"))
    assert info.value.errors[0].code == "invalid_schedule_id"


async def test_local_schedule_is_not_updated_once_it_started_somewhere(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """post_update_scheduled_triggered_campaigns.md: "Updates aren't applied if the original
    schedule used local time and the original time has already passed in any time zone"."""
    scheduled = await braze.schedule(
        Campaign("c"), Schedule(TOMORROW_9, in_local_time=True), recipients=users("u1")
    )
    clock.advance(86400 - 4 * 3600)  # 20:00 UTC: 9:00 has come at UTC+13
    await braze.update_schedule(scheduled, Schedule(TOMORROW_9 + dt.timedelta(days=1)))
    clock.advance(13 * 3600)
    assert [d.sent_at for d in sim.delivered()] == [TOMORROW_9]


# -- Canvas and Messages ---------------------------------------------------------------------


async def test_canvas_and_messages_schedules(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """Each target schedules on its own endpoint, and a Messages update may change the
    messages."""
    canvas = await braze.schedule(
        Canvas("cv", context={"plan": "pro"}), Schedule(TOMORROW_9), recipients=users("u1")
    )
    messages = await braze.schedule(
        Messages(email=EMAIL, override_frequency_capping=True),
        Schedule(TOMORROW_9),
        recipients=[Recipient(user_alias=UserAlias("a", "crm"))],
    )
    new = Messages(email={**EMAIL, "subject": "Hello"})
    updated = await braze.update_schedule(messages, messages=new)
    assert updated.target == new and updated.schedule_id == messages.schedule_id
    clock.advance(2 * 86400)
    by_endpoint = {d.endpoint: d for d in sim.delivered()}
    assert by_endpoint["/canvas/trigger/schedule/create"].canvas_id == "cv"
    assert by_endpoint["/canvas/trigger/schedule/create"].schedule_id == canvas.schedule_id
    assert by_endpoint["/messages/schedule/create"].recipient == "user_alias:a/crm"


# -- the list ---------------------------------------------------------------------------------


async def test_scheduled_broadcasts_lists_upcoming_ones(
    braze: BrazeClient, clock: FakeClock
) -> None:
    """GET /messages/scheduled_broadcasts: campaign and Canvas broadcasts before the end."""
    await braze.schedule(Campaign("weekly"), Schedule(TOMORROW_9), broadcast=True)
    await braze.schedule(Canvas("cv"), Schedule(TOMORROW_9, in_local_time=True), broadcast=True)
    await braze.schedule(
        Campaign("far"), Schedule(TOMORROW_9 + dt.timedelta(days=9)), broadcast=True
    )
    await braze.schedule(Campaign("users"), Schedule(TOMORROW_9), recipients=users("u1"))
    listed = await braze.scheduled_broadcasts(until=dt.date(2023, 11, 20))
    assert listed == [
        ScheduledBroadcast(
            name="weekly",
            id="weekly",
            type="Campaign",
            tags=(),
            next_send_time=TOMORROW_9,
            schedule_type="UTC",
        ),
        ScheduledBroadcast(
            name="cv",
            id="cv",
            type="Canvas",
            tags=(),
            next_send_time=dt.datetime(2023, 11, 15, 9),
            schedule_type="local_time_zones",
        ),
    ]
    with pytest.raises(BrazeValidationError) as info:
        await braze.scheduled_broadcasts(until=dt.datetime(2023, 11, 20))
    assert info.value.field == "until"


async def test_scheduled_broadcasts_over_a_socket(clock: FakeClock) -> None:
    """The GET goes through our aiohttp transport too, its query intact."""
    async with (
        BrazeSimulator(clock=clock) as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, clock=clock) as braze,
    ):
        await braze.schedule(Campaign("weekly"), Schedule(TOMORROW_9), broadcast=True)
        end = dt.datetime(2023, 11, 16, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
        [one] = await braze.scheduled_broadcasts(until=end)
    assert one.id == "weekly"


# -- budgets and retries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "bucket"),
    [
        pytest.param("campaign-recipients", "external_id", id="campaign-create-recipients"),
        pytest.param("campaign-broadcast", "audience", id="campaign-create-broadcast"),
        pytest.param("messages-segment", "external_id", id="messages-create-segment"),
        pytest.param("delete", "external_id", id="delete"),
        pytest.param("list", "external_id", id="list"),
    ],
)
async def test_each_endpoint_spends_its_budget(braze: BrazeClient, call: str, bucket: str) -> None:
    """api_limits.md: campaign and Canvas creates share the trigger sends' budgets; the
    messages create, updates, deletes and the list are on the shared 250,000 an hour."""
    before = braze.rate_limit_status()
    if call == "campaign-recipients":
        await braze.schedule(Campaign("c"), Schedule(TOMORROW_9), recipients=users("u1"))
    elif call == "campaign-broadcast":
        await braze.schedule(Campaign("c"), Schedule(TOMORROW_9), broadcast=True)
    elif call == "messages-segment":
        await braze.schedule(Messages(email=EMAIL), Schedule(TOMORROW_9), segment_id="s")
    elif call == "delete":
        made = await braze.schedule(Campaign("c"), Schedule(TOMORROW_9), recipients=users("u"))
        before = braze.rate_limit_status()
        await braze.delete_schedule(made)
    else:
        await braze.scheduled_broadcasts(until=dt.date(2023, 12, 1))
    after = braze.rate_limit_status()
    spent = {b: after[b].counted - before[b].counted for b in ("audience", "external_id")}  # type: ignore[operator]
    assert spent == {bucket: 1, ({"audience", "external_id"} - {bucket}).pop(): 0}


def _answers(*bodies: bytes | None, seen: list[httpx.Request]) -> httpx.MockTransport:
    """Answers in turn: a body (201) or None (the connection drops after the request)."""
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = queue.pop(0)
        if body is None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(201, content=body, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


async def test_a_create_is_not_retried_but_a_delete_is(clock: FakeClock) -> None:
    """A create of unknown outcome may exist: retrying could schedule it twice. A delete
    (and an update) sets the same state however often it is repeated."""
    seen: list[httpx.Request] = []
    ok = orjson.dumps({"message": "success"})
    transport = _answers(None, None, ok, seen=seen)
    async with BrazeClient(
        api_key="k",
        base_url="https://rest.iad-01.braze.com",
        transport=transport,
        clock=clock,
        retry=RetryPolicy(retry_ambiguous=True),
    ) as braze:
        with pytest.raises(BrazeUnknownOutcomeError):
            await braze.schedule(Campaign("c"), Schedule(TOMORROW_9), recipients=users("u"))
        assert len(seen) == 1
        await braze.delete_schedule(Scheduled(Campaign("c"), schedule_id="s"))
    assert len(seen) == 3


async def test_create_answer_without_schedule_id_is_unknown(clock: FakeClock) -> None:
    """The create pages answer dispatch_id, schedule_id and "success": no id, no schedule
    we could name (it may exist)."""
    seen: list[httpx.Request] = []
    transport = _answers(orjson.dumps({"message": "success"}), seen=seen)
    async with BrazeClient(
        api_key="k", base_url="https://rest.iad-01.braze.com", transport=transport, clock=clock
    ) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="schedule_id"):
            await braze.schedule(Campaign("c"), Schedule(TOMORROW_9), recipients=users("u"))


# -- the wire against the pages' examples -------------------------------------------------------

AUDIENCE: dict[str, Any] = {"AND": [{"custom_attribute": {"custom_attribute_name": "eye_color",
    "comparison": "equals", "value": "blue"}}]}  # fmt: skip


async def _wire_of(call: Any, clock: FakeClock) -> tuple[str, str, Any]:
    seen: list[httpx.Request] = []
    answer = orjson.dumps({"dispatch_id": "d", "schedule_id": "s", "message": "success"})
    async with BrazeClient(
        api_key="k",
        base_url="https://rest.iad-01.braze.com",
        transport=_answers(answer, seen=seen),
        clock=clock,
    ) as braze:
        await call(braze)
    [request] = seen
    body = orjson.loads(request.content) if request.content else None
    return request.method, str(request.url.copy_with(query=None).path), body


async def test_wire_of_each_endpoint_is_the_pages_example(clock: FakeClock) -> None:
    """Each body equals its page's "Example request", with the page's placeholders filled in
    (``"time": ""``; one identifier per recipient, as recipient_object.md asks) and the
    time written as schedule_object.md asks (UTC ``Z``; local time without a zone, where the
    update pages' examples print ``Z``)."""
    schedule = {"time": "2023-11-15T09:00:00Z"}
    local = Schedule(TOMORROW_9, in_local_time=True)
    # post_schedule_triggered_campaigns.md
    got = await _wire_of(
        lambda b: b.schedule(
            Campaign("campaign_identifier", send_id="send_identifier", trigger_properties={"a": 1}),
            Schedule(TOMORROW_9),
            recipients=[Recipient(external_user_id="external_user_identifier")],
            audience=AUDIENCE,
        ),
        clock,
    )
    assert got == (
        "POST",
        "/campaigns/trigger/schedule/create",
        {
            "campaign_id": "campaign_identifier",
            "send_id": "send_identifier",
            "trigger_properties": {"a": 1},
            "audience": AUDIENCE,
            "recipients": [{"external_user_id": "external_user_identifier"}],
            "schedule": schedule,
        },
    )
    # post_schedule_triggered_canvases.md (the newest: ``context``)
    got = await _wire_of(
        lambda b: b.schedule(
            Canvas("canvas_identifier", context={"a": 1}), Schedule(TOMORROW_9), broadcast=True
        ),
        clock,
    )
    assert got[1:] == (
        "/canvas/trigger/schedule/create",
        {"canvas_id": "canvas_identifier", "context": {"a": 1}, "broadcast": True,
         "schedule": schedule},
    )  # fmt: skip
    # post_schedule_messages.md: override_messaging_limits, not override_frequency_capping
    got = await _wire_of(
        lambda b: b.schedule(
            Messages(
                # The variation in the message: the schedule page has no request-level one.
                email={**EMAIL, "message_variation_id": "variation_identifier"},
                campaign_id="campaign_identifier",
                send_id="send_identifier",
                override_frequency_capping=False,
                recipient_subscription_state="subscribed",
            ),
            Schedule(TOMORROW_9, at_optimal_time=True),
            recipients=[Recipient(external_user_id="external_user_identifier")],
        ),
        clock,
    )
    assert got[1:] == (
        "/messages/schedule/create",
        {
            "external_user_ids": ["external_user_identifier"],
            "campaign_id": "campaign_identifier",
            "send_id": "send_identifier",
            "override_messaging_limits": False,
            "recipient_subscription_state": "subscribed",
            "messages": {"email": {**EMAIL, "message_variation_id": "variation_identifier"}},
            "schedule": {"time": "2023-11-15T09:00:00", "at_optimal_time": True},
        },
    )
    # post_update_scheduled_triggered_campaigns.md, ..._canvases.md
    for target, key, path in (
        (Campaign("campaign_identifier"), "campaign_id", "/campaigns/trigger/schedule/update"),
        (Canvas("canvas_identifier"), "canvas_id", "/canvas/trigger/schedule/update"),
    ):
        scheduled = Scheduled(target, schedule_id="schedule_identifier")
        got = await _wire_of(lambda b, s=scheduled: b.update_schedule(s, local), clock)
        assert got[1:] == (
            path,
            {
                key: target.target_id,
                "schedule_id": "schedule_identifier",
                "schedule": {"time": "2023-11-15T09:00:00", "in_local_time": True},
            },
        )
    # post_update_scheduled_messages.md
    new = Messages(apple_push={"alert": "Updated Message!", "badge": 1})
    got = await _wire_of(
        lambda b: b.update_schedule(
            Scheduled(Messages(email=EMAIL), schedule_id="schedule_identifier"),
            Schedule(TOMORROW_9),
            messages=new,
        ),
        clock,
    )
    assert got[1:] == (
        "/messages/schedule/update",
        {
            "schedule_id": "schedule_identifier",
            "schedule": schedule,
            "messages": {"apple_push": {"alert": "Updated Message!", "badge": 1}},
        },
    )
    # post_delete_scheduled_triggered_messages.md, ..._canvases.md, ..._messages.md
    deletes: list[tuple[Campaign | Canvas | Messages, dict[str, str], str]] = [
        (Campaign("campaign_identifier"), {"campaign_id": "campaign_identifier"},
         "/campaigns/trigger/schedule/delete"),
        (Canvas("canvas_identifier"), {"canvas_id": "canvas_identifier"},
         "/canvas/trigger/schedule/delete"),
        (Messages(email=EMAIL), {}, "/messages/schedule/delete"),
    ]  # fmt: skip
    for deleted, extra, path in deletes:
        scheduled = Scheduled(deleted, schedule_id="schedule_identifier")
        got = await _wire_of(lambda b, s=scheduled: b.delete_schedule(s), clock)
        assert got[1:] == (path, {**extra, "schedule_id": "schedule_identifier"})


async def test_list_request_is_the_pages_example(clock: FakeClock) -> None:
    """get_messages_scheduled.md: ``GET ...?end_time=2018-09-01T00:00:00-04:00``."""
    seen: list[httpx.Request] = []
    transport = _answers(orjson.dumps({"scheduled_broadcasts": []}), seen=seen)
    async with BrazeClient(
        api_key="k", base_url="https://rest.iad-01.braze.com", transport=transport, clock=clock
    ) as braze:
        end = dt.datetime(2018, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
        assert await braze.scheduled_broadcasts(until=end) == []
    [request] = seen
    assert request.method == "GET" and not request.content
    assert request.url.path == "/messages/scheduled_broadcasts"
    assert request.url.params["end_time"] == "2018-09-01T00:00:00-04:00"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-12-24T09:00:00Z", id="z"),
        pytest.param("2026-12-24T09:00:00+0000", id="bare-offset"),
        pytest.param("2026-12-24T10:00:00+01:00", id="offset"),
    ],
)
def test_iso_times_are_read_alike_on_every_python(text: str) -> None:
    """Braze writes UTC as ``Z`` and offsets without a colon; Python 3.10's fromisoformat
    takes neither, so both sides read them through one helper."""
    from braze_async._validate import iso_time
    from braze_async.simulator._rules import iso_time as simulator_iso_time

    expected = dt.datetime(2026, 12, 24, 9, tzinfo=dt.timezone.utc)
    assert iso_time(text) == simulator_iso_time(text) == expected
