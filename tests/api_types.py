"""The public API's types, pinned: mypy --strict checks this file; nothing runs it.

If a change to braze_async breaks a line here, it breaks users' type-checked code too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from typing_extensions import assert_type

from braze_async import (
    AiohttpTransport,
    ApplePush,
    Attachment,
    Batching,
    BrazeAPIError,
    BrazeClient,
    BrazeError,
    BrazeEvent,
    BrazeRateLimitError,
    BrazeRateLimitWaitError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    BucketStats,
    BulkReport,
    Campaign,
    Canvas,
    EmailMessage,
    ErrorDetail,
    EventHook,
    Messages,
    OpenTelemetry,
    Rate,
    RateLimiter,
    RateLimits,
    Recipient,
    RetryPolicy,
    SendResponse,
    SendResult,
    TransactionalEvent,
    TransactionalResponse,
    UserAlias,
    parse_transactional_postback,
)
from braze_async.events import AnswerReceived, NoAnswer, RetryScheduled
from braze_async.simulator import BrazeSimulator, Delivery, SimulatorOptions, ThreadedSimulator
from braze_async.testing import Clock, FakeClock


async def client_api(key: str) -> None:
    braze = BrazeClient(
        api_key=key,
        instance="iad-01",
        retry=RetryPolicy(attempts=3, retry_ambiguous=False),
        rate_limits=RateLimits(audience=Rate(250, 60.0), external_id=Rate(250_000, 3600.0)),
    )
    BrazeClient(api_key=key, base_url="https://rest.iad-01.braze.com", rate_limits=None)
    shared = RateLimiter(RateLimits(workspace="prod", redis_timeout=1.0, redis_retry_for=5.0))
    BrazeClient(api_key=key, instance="iad-01", rate_limits=shared)
    BrazeClient(api_key=key, instance="iad-01", retry=RetryPolicy(max_rate_limit_wait=5.0))
    BrazeClient(
        api_key=key,
        instance="iad-01",
        batching=Batching(max_concurrency=8, linger=0.01, max_pending=1_000),
    )
    async with braze:
        r = await braze.send(
            Campaign(
                "c",
                trigger_properties={"b": [1, 2]},
                send_id="s",
                attachments=[Attachment("f", "https://x/f.pdf")],
            ),
            recipients=[Recipient(external_user_id="u", trigger_properties={"a": 1})],
        )
        assert_type(r, SendResponse)
        assert_type(r.dispatch_id, str | None)
        assert_type(r.errors, tuple[ErrorDetail, ...])
        assert_type(r.notice, str | None)
        assert_type(r.send_id, str | None)
        assert_type(r.will_send, bool)
        assert_type(await braze.send(Campaign("c"), broadcast=True), SendResponse)
        assert_type(
            await braze.send(
                Campaign("c"),
                audience={
                    "AND": [
                        {
                            "custom_attribute": {
                                "custom_attribute_name": "eye_color",
                                "comparison": "exists",
                            }
                        }
                    ]
                },
            ),
            SendResponse,
        )
        assert_type(
            await braze.send(Canvas("cv"), recipients=[Recipient(user_alias=UserAlias("n", "l"))]),
            SendResponse,
        )
        t = await braze.send_transactional(
            "t", Recipient(external_user_id="u"), external_send_id="o-1"
        )
        assert_type(t, TransactionalResponse)
        assert_type(t.send_id, str | None)
        assert_type(t.dispatch_id, str | None)
        assert_type(t.metadata["k"], Any)
        assert_type(await braze.send(Canvas("cv", context={"a": 1}), broadcast=True), SendResponse)
        m = await braze.send(
            Messages(
                email=EmailMessage(app_id="a", from_="S <s@x.io>", body="b"),
                apple_push=ApplePush(alert="hi"),
                web_push={"alert": "hi"},
                campaign_id="c",
                message_variation_id="v",
                send_id="s",
                override_frequency_capping=True,
                recipient_subscription_state="all",
            ),
            recipients=[Recipient(external_user_id="u")],
        )
        assert_type(m, SendResponse)
        assert_type(await braze.send(Messages(sms={}), segment_id="s"), SendResponse)
        one = await braze.send_one(Campaign("c"), Recipient(external_user_id="u"))
        assert_type(one, SendResult)
        assert_type(one.dispatch_id, str | None)
        report = await braze.send_bulk(Campaign("c"), [Recipient(external_user_id="u")])
        assert_type(report, BulkReport)
        assert_type(report.non_fatal_errors, list[ErrorDetail])
        assert_type(
            await braze.send_bulk(
                Canvas("cv", canvas_entry_properties={"a": 1}), [Recipient(braze_id="b")]
            ),
            BulkReport,
        )
        assert_type(report.sent + report.rejected + report.failed + report.unknown, int)
        assert_type(report.stopped_at, int | None)
        assert_type(report.stopped_at_line, int | None)
        await braze.send_bulk(Campaign("c"), [], journal="j", journal_fsync="always")
    await braze.aclose()


async def ergonomics_api(key: str) -> None:
    def hook(event: BrazeEvent) -> None:
        assert_type(event.endpoint, str)
        assert_type(event.attempt, int)
        assert_type(event.bucket, str | None)
        if isinstance(event, AnswerReceived):
            assert_type(event.status, int)
            assert_type(event.headers, Mapping[str, str])
        if isinstance(event, RetryScheduled):
            assert_type(event.delay, float)
            assert_type(event.no_answer, NoAnswer | None)
            if event.started is not None:
                assert_type(event.started.waited, float | None)
                assert_type(event.started.time_ns, int)
        assert_type(event.base_url, str)

    hooks: list[EventHook] = [hook, print]
    braze = BrazeClient(
        api_key=key,
        instance="iad-01",
        on_event=hooks,
        transport=AiohttpTransport(
            limits=httpx.Limits(max_connections=128, keepalive_expiry=10.0),
            proxy="http://proxy:3128",
        ),
    )
    BrazeClient(api_key=key, instance="iad-01", transport=AiohttpTransport(trust_env=True))
    BrazeClient(api_key=key, instance="iad-01", transport=httpx.AsyncClient())
    BrazeClient(api_key=key, instance="iad-01", on_event=OpenTelemetry())
    BrazeClient(
        api_key=key,
        instance="iad-01",
        on_event=[hook, OpenTelemetry(tracer_provider=None, meter_provider=None)],
    )
    view = braze.with_options(timeout=httpx.Timeout(2.0), attempt_timeout=2.0)
    assert_type(view, BrazeClient)
    braze.with_options(timeout=None, retry=RetryPolicy(attempts=1))
    braze.with_options(retry=None)  # type: ignore[arg-type]
    status = braze.rate_limit_status()
    assert_type(status, dict[str, BucketStats])
    assert_type(status["external_id"].waiting, int)
    assert_type(status["external_id"].paused_until, float | None)
    assert_type(status["external_id"].server_remaining, int | None)
    r = await view.send(Campaign("c"), broadcast=True)
    assert_type(r.headers, Mapping[str, str])
    assert_type(r.request_id, str | None)
    await braze.aclose()


def errors_api(exc: BrazeError) -> None:
    if isinstance(exc, BrazeValidationError):
        assert_type(exc.field, str)
        assert_type(exc.rule, str)
    if isinstance(exc, BrazeAPIError):
        assert_type(exc.status_code, int | None)  # None: a BrazeRateLimitWaitError
        assert_type(exc.headers, Mapping[str, str])
        assert_type(exc.request_id, str | None)
        assert_type(exc.errors, tuple[ErrorDetail, ...])
    if isinstance(exc, BrazeRateLimitError):
        assert_type(exc.retry_after, float | None)
    if isinstance(exc, BrazeRateLimitWaitError):
        assert_type(exc.max_wait, float)
    if isinstance(exc, BrazeUnknownOutcomeError):
        assert_type(exc.endpoint, str)


def postback_api(body: bytes, data: dict[str, Any]) -> None:
    assert_type(parse_transactional_postback(body), TransactionalEvent)
    assert_type(parse_transactional_postback(data).external_send_id, str | None)
    assert_type(parse_transactional_postback(data).dispatch_id, str)
    assert_type(parse_transactional_postback(data).current_status, str)


async def simulator_api() -> None:
    async with BrazeSimulator(external_id_rate="50/4", window="sliding", seed=1) as sim:
        assert_type(sim.base_url, str)
        assert_type(sim.api_key, str)
        assert_type(sim.delivered(), list[Delivery])
        assert_type(sim.delivered_to(external_user_id="u"), list[Delivery])
        assert_type(sim.delivered_to(user_alias=("name", "label")), list[Delivery])
        assert_type(sim.delivered_to(email="a@example.com"), list[Delivery])
        assert_type(sim.delivered_counts()["external_user_id:u"], int)
        sim.delivered_to(user_alias="name/label")  # type: ignore[arg-type]
    options: SimulatorOptions = {"external_id_rate": "50/4", "fault_5xx": 0.1, "seed": 7}
    bad: SimulatorOptions = {"latency": "slow"}  # type: ignore[typeddict-item]
    with ThreadedSimulator(**options) as threaded:
        assert_type(threaded.base_url, str)
        assert_type(threaded.delivered(), list[Delivery])
    ThreadedSimulator("key", external_id_rate=(50, 4.0), window="fixed", latency=0.01, port=0)
    ThreadedSimulator(window="hourly")  # type: ignore[arg-type]
    ThreadedSimulator(latency="slow")  # type: ignore[arg-type]
    ThreadedSimulator(no_such_option=1)  # type: ignore[call-arg]
    assert_type(bad, SimulatorOptions)


def braze_simulator_options() -> SimulatorOptions:
    """How a user overrides the pytest plugin's options fixture, typed."""
    return {"api_key": "k", "window": "fixed", "clock": None}


def uses_the_fixture(braze_simulator: ThreadedSimulator) -> None:
    """The braze_simulator fixture, annotated as its documented type."""
    assert_type(braze_simulator.delivered_to(external_user_id="u1"), list[Delivery])
    assert_type(braze_simulator.stats.accepted, int)


async def testing_api(key: str) -> None:
    clock = FakeClock()
    braze = BrazeClient(
        api_key=key, instance="iad-01", retry=RetryPolicy(jitter=False), clock=clock
    )
    BrazeSimulator(clock=clock)  # the simulator takes the same clock
    RateLimiter(RateLimits(), clock=clock)
    one: Clock = clock
    assert_type(clock.sleeps, list[float])
    assert_type(one.monotonic(), float)
    assert_type(one.time(), float)
    clock.advance(1.0)
    await one.sleep(0.5)
    await braze.aclose()


def targets_api() -> None:
    """A target is a frozen value whose fields the type checker knows: a Canvas's ``context``
    is no field of a Campaign, a campaign's ``trigger_properties`` none of a Canvas."""
    campaign = Campaign("c", trigger_properties={"a": 1}, send_id="s")
    assert_type(campaign.campaign_id, str)
    Campaign("c", context={"a": 1})  # type: ignore[call-arg]
    Campaign("c", canvas_entry_properties={"a": 1})  # type: ignore[call-arg]
    Canvas("cv", trigger_properties={"a": 1})  # type: ignore[call-arg]
    Canvas("cv", send_id="s")  # type: ignore[call-arg]
    Messages(sms={}, context={"a": 1})  # type: ignore[call-arg]
    campaign.campaign_id = "d"  # type: ignore[misc]


async def scheduling(braze: BrazeClient) -> None:
    import datetime as dt

    from braze_async import Schedule, Scheduled, ScheduledBroadcast

    at = dt.datetime(2026, 12, 24, 9, tzinfo=dt.timezone.utc)
    scheduled = await braze.schedule(Campaign("c"), Schedule(at, in_local_time=True))
    assert_type(scheduled, Scheduled)
    assert_type(scheduled.schedule_id, str)
    assert_type(scheduled.dispatch_id, str | None)
    assert_type(await braze.update_schedule(scheduled, Schedule(at)), Scheduled)
    assert_type(await braze.delete_schedule(scheduled), None)
    listed = await braze.scheduled_broadcasts(until=dt.date(2026, 12, 31))
    assert_type(listed, list[ScheduledBroadcast])
    assert_type(listed[0].next_send_time, dt.datetime | None)


async def send_ids_and_live_activities(braze: BrazeClient) -> None:
    import datetime as dt

    from braze_async import LiveActivityStart, LiveActivityUpdate

    assert_type(await braze.create_send_id("c"), str)
    assert_type(await braze.create_send_id("c", send_id="s"), str)
    start = LiveActivityStart(
        app_id="a",
        activity_id="game",
        activity_attributes_type="Game",
        activity_attributes={"home": "A"},
        content_state={"score": 0},
        notification={"alert": {"title": "t", "body": "b"}},
        segment_id="s",
        stale_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    )
    assert_type(await braze.start_live_activity(start), SendResponse)
    update = LiveActivityUpdate(app_id="a", activity_id="game", content_state={}, end_activity=True)
    assert_type(await braze.update_live_activity(update), SendResponse)
    assert_type(update.dismissal_date, dt.datetime | None)
    await braze.start_live_activity(update)  # type: ignore[arg-type]
