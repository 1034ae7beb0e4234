"""Batching of send_one: who shares a request, when it leaves, and who gets which outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from _fake_time import FakeTime
from _senders import RequestSender

from braze_async import (
    BrazeClient,
    BrazeConnectionError,
    BrazeError,
    BrazeEvent,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    Campaign,
    Canvas,
    Recipient,
    RetryPolicy,
    SendResponse,
)
from braze_async._batching import DEFAULT_MAX_PENDING, Batcher, Batching
from braze_async._deprecated import target_of
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async.events import AttemptStarted
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio


class FakeSender(RequestSender):
    """Records every request; holds them at a gate when one is set; fails on demand."""

    def __init__(self) -> None:
        self.requests: list[CampaignTriggerRequest | CanvasTriggerRequest] = []
        self.gate: asyncio.Event | None = None
        self.fail_if: str | None = None
        self.error = BrazeServerError("boom", status_code=500)

    def sizes(self) -> list[int]:
        return [len(r.recipients or ()) for r in self.requests]

    def ids(self, index: int) -> list[str | None]:
        return [r.external_user_id for r in self.requests[index].recipients or ()]

    async def _send(
        self,
        request: CampaignTriggerRequest | CanvasTriggerRequest,
        on_admitted: Callable[[], object] | None,
    ) -> SendResponse:
        if on_admitted is not None:
            on_admitted()
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_if and any(
            r.external_user_id == self.fail_if for r in request.recipients or ()
        ):
            raise self.error
        return SendResponse(dispatch_id=f"d{len(self.requests)}", message="success")

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        return await self._send(request, on_admitted)

    async def send_canvas_request(
        self,
        request: CanvasTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        return await self._send(request, on_admitted)


def user(i: int | str) -> Recipient:
    return Recipient(external_user_id=f"u{i}")


WEEKLY = Campaign("weekly")


async def settle() -> None:
    """Let every ready callback and task run a few rounds."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
async def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
async def batcher(sender: FakeSender) -> AsyncIterator[Batcher]:
    b = Batcher(sender, max_concurrency=1)
    yield b
    if sender.gate is not None:
        sender.gate.set()
    await b.aclose()


async def test_lone_call_leaves_alone_without_a_timer(sender: FakeSender) -> None:
    """A single call is sent at the next tick, in a request of its own."""
    batcher = Batcher(sender, linger=0)
    result = await asyncio.wait_for(batcher.send(user(1), WEEKLY), timeout=5)
    assert sender.sizes() == [1]
    assert result.batch_size == 1
    assert result.dispatch_id == "d1"
    await batcher.aclose()


async def test_same_tick_callers_share_requests_of_at_most_50(sender: FakeSender) -> None:
    """120 calls made in one tick ride in 50 + 50 + 20."""
    batcher = Batcher(sender)
    results = await asyncio.gather(*(batcher.send(user(i), WEEKLY) for i in range(120)))
    assert sorted(sender.sizes()) == [20, 50, 50]
    assert [r.recipient.external_user_id for r in results] == [f"u{i}" for i in range(120)]
    assert {r.batch_size for r in results[:50]} == {50}
    assert len({r.dispatch_id for r in results}) == 3
    await batcher.aclose()


async def test_only_identical_request_fields_share_a_request(sender: FakeSender) -> None:
    """Recipients are grouped by endpoint, id, send_id and canonical request properties."""
    batcher = Batcher(sender)
    targets: list[Campaign | Canvas] = [
        Campaign("weekly", trigger_properties={"a": 1, "b": [1, 2]}),
        Campaign("weekly", trigger_properties={"b": [1, 2], "a": 1}),  # same JSON
        Campaign("weekly", trigger_properties={"a": 2, "b": [1, 2]}),
        Campaign("weekly", send_id="s1"),
        Campaign("monthly"),
        Canvas("weekly"),
    ]
    assert targets[0] == targets[1] and hash(targets[0]) == hash(targets[1])
    await asyncio.gather(*(batcher.send(user(i), t) for i, t in enumerate(targets)))
    assert sorted(sender.sizes()) == [1, 1, 1, 1, 2]
    shared = next(r for r in sender.requests if len(r.recipients or ()) == 2)
    assert isinstance(shared, CampaignTriggerRequest)
    assert shared.trigger_properties == {"a": 1, "b": [1, 2]}
    kinds = {type(r).__name__ for r in sender.requests}
    assert kinds == {"CampaignTriggerRequest", "CanvasTriggerRequest"}
    await batcher.aclose()


async def test_newcomers_accumulate_while_requests_are_in_flight(
    sender: FakeSender, batcher: Batcher
) -> None:
    """With every slot busy, later callers fill the next batches up to 50."""
    sender.gate = asyncio.Event()
    first = asyncio.ensure_future(batcher.send(user("first"), WEEKLY))
    await settle()
    assert sender.sizes() == [1]
    rest = [asyncio.ensure_future(batcher.send(user(i), WEEKLY)) for i in range(60)]
    await settle()
    assert sender.sizes() == [1] and batcher.pending == 60
    sender.gate.set()
    await asyncio.gather(first, *rest)
    assert sender.sizes() == [1, 50, 10]


async def test_an_error_reaches_exactly_the_callers_of_its_request(sender: FakeSender) -> None:
    """The failed request's callers all get the same exception; other batches succeed."""
    batcher = Batcher(sender, max_batch=10)
    sender.fail_if = "u13"
    results = await asyncio.gather(
        *(batcher.send(user(i), WEEKLY) for i in range(30)), return_exceptions=True
    )
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == list(range(10, 20))
    assert all(results[i] is sender.error for i in failed)
    assert all(not isinstance(r, BaseException) and r.batch_size == 10 for r in results[:10])
    await batcher.aclose()


async def test_cancelled_before_sending_leaves_the_batch(
    sender: FakeSender, batcher: Batcher
) -> None:
    """A caller cancelled while waiting is not sent; the others of its batch are."""
    sender.gate = asyncio.Event()
    busy = asyncio.ensure_future(batcher.send(user("busy"), WEEKLY))
    await settle()
    waiting = [asyncio.ensure_future(batcher.send(user(i), WEEKLY)) for i in range(3)]
    await settle()
    waiting[1].cancel()
    await settle()
    assert batcher.pending == 2
    sender.gate.set()
    await asyncio.gather(busy, waiting[0], waiting[2])
    assert [w.result().recipient.external_user_id for w in (waiting[0], waiting[2])] == [
        "u0",
        "u2",
    ]
    assert waiting[1].cancelled()
    assert sender.ids(1) == ["u0", "u2"]


async def test_cancelled_after_sending_does_not_disturb_the_others(
    sender: FakeSender, batcher: Batcher
) -> None:
    """Once the request left, cancelling one caller changes nothing for its batch-mates."""
    sender.gate = asyncio.Event()
    calls = [asyncio.ensure_future(batcher.send(user(i), WEEKLY)) for i in range(3)]
    await settle()
    assert sender.sizes() == [3]
    calls[0].cancel()
    await settle()
    sender.gate.set()
    results = await asyncio.gather(calls[1], calls[2])
    assert [r.batch_size for r in results] == [3, 3]
    assert calls[0].cancelled()
    assert sender.sizes() == [3]


async def test_linger_waits_for_company_only_while_requests_are_in_flight(
    sender: FakeSender,
) -> None:
    """With linger, a lone call still leaves at once when nothing is in flight; while a request
    is in flight, callers of different ticks wait for company and share; 50 never wait."""
    # A linger far longer than the few ticks between the calls and the check below (which
    # must still see them waiting), short enough for the test to wait it out once.
    batcher = Batcher(sender, linger=1.0)
    sender.gate = asyncio.Event()
    first = asyncio.ensure_future(batcher.send(user("first"), WEEKLY))
    await settle()
    assert sender.sizes() == [1]  # nothing was in flight: no timer
    calls = []
    for i in range(5):
        calls.append(asyncio.ensure_future(batcher.send(user(i), WEEKLY)))
        await asyncio.sleep(0)
    await settle()
    assert sender.sizes() == [1]  # waiting for company while the first is in flight
    sender.gate.set()
    await asyncio.gather(first, *calls)
    assert sender.sizes() == [1, 5]
    slow = Batcher(sender, linger=60)
    sender.gate = asyncio.Event()
    held = asyncio.ensure_future(slow.send(user("held"), WEEKLY))
    await settle()
    full = asyncio.ensure_future(asyncio.gather(*(slow.send(user(i), WEEKLY) for i in range(50))))
    await settle()
    assert sender.sizes() == [1, 5, 1, 50]  # a full batch does not wait for the timer
    sender.gate.set()
    await asyncio.wait_for(asyncio.gather(held, full), timeout=10)
    await batcher.aclose()
    await slow.aclose()


async def test_aclose_sends_what_waits_then_refuses(sender: FakeSender) -> None:
    """aclose() flushes waiting callers and waits for them; later calls are refused."""
    batcher = Batcher(sender, max_concurrency=1)
    sender.gate = asyncio.Event()
    calls = [asyncio.ensure_future(batcher.send(user(i), WEEKLY)) for i in range(80)]
    await settle()
    closing = asyncio.ensure_future(batcher.aclose())
    await settle()
    assert not closing.done()
    sender.gate.set()
    await closing
    assert all(c.done() and not c.cancelled() for c in calls)
    assert sum(sender.sizes()) == 80
    with pytest.raises(BrazeError, match="closed"):
        await batcher.send(user(1), WEEKLY)


async def test_cancelled_aclose_fails_every_caller(sender: FakeSender) -> None:
    """If aclose() itself is cancelled, in-flight callers learn their outcome is unknown."""
    batcher = Batcher(sender, max_concurrency=1)
    sender.gate = asyncio.Event()
    in_flight = asyncio.ensure_future(batcher.send(user(1), WEEKLY))
    await settle()
    waiting = asyncio.ensure_future(batcher.send(user(2), WEEKLY))
    await settle()
    closing = asyncio.ensure_future(batcher.aclose())
    await settle()
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    with pytest.raises(BrazeUnknownOutcomeError):
        await in_flight
    with pytest.raises(BrazeError, match="closed before"):
        await waiting


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-target"),
        pytest.param({"campaign_id": "c", "canvas_id": "v"}, id="both-targets"),
        pytest.param({"canvas_id": "v", "trigger_properties": {"a": 1}}, id="canvas-trigger-props"),
        pytest.param({"canvas_id": "v", "send_id": "s"}, id="canvas-send-id"),
        pytest.param({"campaign_id": "c", "canvas_entry_properties": {}}, id="campaign-entry"),
        pytest.param({"campaign_id": ""}, id="empty-id"),
        pytest.param({"campaign_id": "c", "trigger_properties": {"x": float("nan")}}, id="nan"),
    ],
)
async def test_invalid_request_fields_are_refused_before_batching(
    kwargs: dict[str, object],
) -> None:
    """Request-level mistakes of the 0.x keywords raise BrazeValidationError for that caller
    alone (the targets refuse them by type: tests/api_types.py)."""
    with pytest.raises(BrazeValidationError):
        target_of(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_concurrency": 0}, id="concurrency-0"),
        pytest.param({"linger": -1}, id="negative-linger"),
        pytest.param({"max_batch": 51}, id="batch-51"),
        pytest.param({"max_pending": 0}, id="pending-0"),
    ],
)
async def test_invalid_batcher_settings(kwargs: dict[str, float]) -> None:
    """Settings outside their range are refused, by the Batching a client is given too."""
    with pytest.raises(BrazeValidationError):
        Batcher(FakeSender(), **kwargs)  # type: ignore[arg-type]
    if "max_batch" not in kwargs:
        with pytest.raises(BrazeValidationError, match=next(iter(kwargs))):
            Batching(**kwargs)  # type: ignore[arg-type]


async def test_callers_past_max_pending_fail_at_once_never_sent(sender: FakeSender) -> None:
    """With max_pending callers waiting (queued or in flight), the next call fails at once
    with a never-sent BrazeConnectionError saying why; once one is answered, calls go again."""
    sender.gate = asyncio.Event()
    batcher = Batcher(sender, max_concurrency=1, max_pending=3)
    waiting = [asyncio.ensure_future(batcher.send(user(i), WEEKLY)) for i in range(3)]
    await settle()
    with pytest.raises(BrazeConnectionError, match="max_pending") as refused:
        await batcher.send(user("late"), WEEKLY)
    assert "nothing was sent" in str(refused.value)
    assert sender.sizes() == [3]  # the refused caller never joined a batch
    sender.gate.set()
    await asyncio.gather(*waiting)
    assert (await batcher.send(user("again"), WEEKLY)).recipient == user("again")
    await batcher.aclose()


async def test_client_batching_has_a_documented_max_pending_default() -> None:
    """send_one bounds its waiting callers by default; Batching(max_pending=) sets the bound."""
    assert DEFAULT_MAX_PENDING == Batching().max_pending == 10_000
    sim = BrazeSimulator()
    async with BrazeClient(
        api_key=sim.api_key,
        base_url="https://b.example",
        transport=sim.transport(),
        batching=Batching(max_pending=1),
    ) as braze:
        first = asyncio.ensure_future(braze.send_one(Campaign("c"), user(1)))
        await asyncio.sleep(0)  # it waits for its batch
        with pytest.raises(BrazeConnectionError, match="max_pending"):
            await braze.send_one(Campaign("c"), user(2))
        assert (await first).dispatch_id


async def test_callers_cancelled_while_the_budget_is_paused_are_never_sent() -> None:
    """Who rides is decided when the rate limiter admits the request: callers cancelled
    while their batch waits out a 429's pause (a web app's timeout) are not sent, their
    batch-mates are, and a batch whose callers all left sends no request at all."""
    time = FakeTime()
    sim = BrazeSimulator(external_id_rate="1/60", clock=time.simulator_clock())
    started: list[int] = []

    def count(event: BrazeEvent) -> None:
        if isinstance(event, AttemptStarted):
            started.append(event.recipients)

    async with BrazeClient(
        api_key=sim.api_key,
        base_url="https://b.example",
        transport=sim.transport(),
        clock=time,
        retry=RetryPolicy(jitter=False),
        batching=Batching(linger=0),
        on_event=count,
    ) as braze:
        assert (await braze.send_one(WEEKLY, user("first"))).dispatch_id  # the window's one
        # Five callers in one request: answered 429, it waits for the window to reopen.
        riders = [asyncio.ensure_future(braze.send_one(WEEKLY, user(i))) for i in range(5)]
        await time.settle()
        assert braze.rate_limit_status()["external_id"].paused_until is not None
        # Three more, in a request of their own that waits for the same pause.
        deserters = [asyncio.ensure_future(braze.send_one(WEEKLY, user(f"d{i}"))) for i in range(3)]
        await time.settle()
        assert started == [1, 5]  # the second request waits for the limiter
        for call in (*riders[1:4], *deserters):  # they time out
            call.cancel()
        await time.settle()
        await asyncio.wait_for(time.advance(120), timeout=10)
        kept = await asyncio.wait_for(asyncio.gather(riders[0], riders[4]), timeout=10)
    assert [r.batch_size for r in kept] == [2, 2]
    assert all(call.cancelled() for call in (*riders[1:4], *deserters))
    assert [d.recipient for d in sim.delivered()] == [
        "external_user_id:ufirst",
        "external_user_id:u0",
        "external_user_id:u4",
    ]
    assert started == [1, 5, 2]  # the deserted request never left
    assert sim.stats.requests == 3


# -- end to end against the simulator over loopback HTTP ----------------------------------------


async def test_burst_against_the_simulator_is_delivered_once_in_full_batches() -> None:
    """1,000 concurrent send_one calls: each user messaged once, ~20 requests."""
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        results = await asyncio.gather(
            *(
                braze.send_one(
                    Campaign("welcome"),
                    Recipient(external_user_id=f"u{i}", trigger_properties={"n": i}),
                )
                for i in range(1000)
            )
        )
    counts = sim.delivered_counts()
    assert counts == {f"external_user_id:u{i}": 1 for i in range(1000)}
    assert sim.stats.requests <= 25
    by_user = {d.recipient: d for d in sim.delivered()}
    for i, result in enumerate(results):
        delivery = by_user[f"external_user_id:u{i}"]
        assert result.dispatch_id == delivery.dispatch_id
        assert delivery.data["trigger_properties"] == {"n": i}


async def test_canvas_properties_travel_as_context() -> None:
    """A batched Canvas send carries per-recipient ``context``; a request-level one given under
    either name (canvas_entry_properties is the older) makes the same request."""
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        await asyncio.gather(
            *(
                braze.send_one(
                    Canvas(
                        "onboarding",
                        context={"brand": "x"} if i % 2 else None,
                        canvas_entry_properties=None if i % 2 else {"brand": "x"},
                    ),
                    Recipient(external_user_id=f"u{i}", trigger_properties={"i": i}),
                )
                for i in range(3)
            )
        )
    assert sim.stats.requests == 1  # either name: the same request
    assert {d.canvas_id for d in sim.delivered()} == {"onboarding"}
    assert sim.delivered()[0].data["context"] == {"i": 0}


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param({"fault_5xx": 1.0}, BrazeServerError, id="5xx"),
        pytest.param({"drop_after": 1.0}, BrazeUnknownOutcomeError, id="dropped-after"),
    ],
)
async def test_simulator_failures_reach_every_caller_of_the_batch(
    fault: dict[str, float], error: type[Exception]
) -> None:
    """Every caller of a failed request gets that request's error, as the same type."""
    async with (
        BrazeSimulator(seed=1, **fault) as sim,  # type: ignore[arg-type]
        BrazeClient(
            api_key=sim.api_key, base_url=sim.base_url, retry=RetryPolicy(attempts=1)
        ) as braze,
    ):
        results = await asyncio.gather(
            *(braze.send_one(Campaign("c"), user(i)) for i in range(5)),
            return_exceptions=True,
        )
    assert all(isinstance(r, error) for r in results)
    assert len({id(r) for r in results}) == 1


async def test_client_aclose_sends_what_is_waiting() -> None:
    """Closing the client sends the callers still waiting for a batch, then closes."""
    async with BrazeSimulator() as sim:
        braze = BrazeClient(api_key=sim.api_key, base_url=sim.base_url)
        calls = [asyncio.ensure_future(braze.send_one(Campaign("c"), user(i))) for i in range(3)]
        await asyncio.sleep(0)  # they join the batch; it would leave at the next tick
        await braze.aclose()
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert [getattr(r, "batch_size", r) for r in results] == [3, 3, 3]
    assert len(sim.delivered()) == 3
