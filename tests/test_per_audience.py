"""The per-audience broadcast limit (api_limits.md: "10 requests per minute per unique
audience"): each request's ``audience_key``, the limiter's per-key logs (local and Redis),
and end to end against the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import _redis_server
import pytest
import redis
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
from braze_async._limits import Bucket, LimiterClosed, RateLimiter, WaitTooLong
from braze_async._limits._redis import RedisLog
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async._schedule import ScheduleCreateRequest
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

FILTER = {"last_used_app": {"comparison": "after", "value": "2020-01-01T00:00:00Z"}}
REORDERED = {"last_used_app": {"value": "2020-01-01T00:00:00Z", "comparison": "after"}}
OTHER = {"last_used_app": {"comparison": "before", "value": "2020-01-01T00:00:00Z"}}
A = Bucket.AUDIENCE
E = Bucket.EXTERNAL_ID
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


# -- the limiter's per-audience logs, in this process ---------------------------------------

PER = Rate(3, 10.0)


def limiter(ft: FakeTime, audience: Rate = Rate(250, 60.0)) -> RateLimiter:  # noqa: B008
    return RateLimiter(RateLimits(per_audience=PER, audience=audience), clock=ft)


def run(main: Callable[[FakeTime], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main(FakeTime()))


def test_one_key_is_held_to_its_rate_and_others_go_on() -> None:
    """Three slots of key k; the fourth waits until the first released slot expired
    (release + period), while key j goes at once; the wait shows as a wait."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft)
        permits = [await lim.acquire(A, audience="k") for _ in range(3)]
        fourth = asyncio.ensure_future(lim.acquire(A, audience="k"))
        await ft.settle()
        assert not fourth.done()
        other = await lim.acquire(A, audience="j")  # another audience: at once
        await ft.advance(2.0)
        for permit in permits:
            permit.release(sent=True)  # counted until 12.0
        await ft.run([fourth])
        assert ft.now == pytest.approx(12.0)
        assert fourth.result().waited == pytest.approx(12.0)
        assert lim.snapshot(A).waited == 1
        other.release()
        fourth.result().release()

    run(main)


def test_unsent_frees_the_key_at_once_unknown_counts_longer() -> None:
    """``sent=False`` gives the audience's slot back at once; an unknown outcome keeps it
    one period more (Braze may count the request late)."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft)
        permits = [await lim.acquire(A, audience="k") for _ in range(3)]
        permits[0].release(sent=False)
        again = await asyncio.wait_for(lim.acquire(A, audience="k", max_wait=0), GUARD)
        permits[1].release(outcome_unknown=True)  # counted until 20.0
        permits[2].release(sent=True)  # until 10.0
        again.release(sent=True)  # until 10.0
        await ft.advance(10.0)
        await lim.acquire(A, audience="k", max_wait=0)
        await lim.acquire(A, audience="k", max_wait=0)
        with pytest.raises(WaitTooLong):
            await lim.acquire(A, audience="k", max_wait=9.0)
        late = asyncio.ensure_future(lim.acquire(A, audience="k"))
        await ft.run([late])
        assert ft.now == pytest.approx(20.0)

    run(main)


def test_max_wait_fails_at_once_when_the_key_frees_later() -> None:
    """When the audience's log frees later than ``max_wait``: WaitTooLong at once, saying
    when; nothing is taken (the bucket's permit neither)."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft)
        for _ in range(3):
            (await lim.acquire(A, audience="k")).release(sent=True)
        with pytest.raises(WaitTooLong) as caught:
            await lim.acquire(A, audience="k", max_wait=5.0)
        assert ft.now == 0.0
        assert caught.value.wait == pytest.approx(10.0)
        assert lim.snapshot(A).in_flight == 0

    run(main)


def test_cancelled_while_waiting_for_the_key_or_the_budget_leaves_no_slot() -> None:
    """A caller cancelled in the audience's line leaves no slot and no place; one cancelled
    while it held the audience's slot and waited for the budget gives that slot back."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft, audience=Rate(1, 60.0))
        first = await lim.acquire(A, audience="k")  # k: 1 of 3, the budget: 1 of 1
        in_key_line = [asyncio.ensure_future(lim.acquire(A, audience="j")) for _ in range(3)]
        await ft.settle()  # j: 3 slots taken, all waiting for the budget
        for task in in_key_line:
            task.cancel()
        await asyncio.gather(*in_key_line, return_exceptions=True)
        first.release(sent=False)
        assert len(lim._audiences) == 0  # j's three slots were given back: nothing counts
        (await lim.acquire(A, audience="j", max_wait=0)).release(sent=False)

    run(main)


def test_in_process_a_slot_held_through_an_hour_long_wait_stays_counted() -> None:
    """The in-process log has no lease (its holders are this process; Redis's lease is
    tested below): broadcasts holding their audience's slots
    while they wait an hour for the budget keep them, never renewed, never expired."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft, audience=Rate(1, 60.0))
        spender = await lim.acquire(A)
        waiting = [asyncio.ensure_future(lim.acquire(A, audience="k")) for _ in range(3)]
        await ft.settle()  # k: 3 of 3 slots held, all waiting for the budget
        await ft.advance(3600.0)
        assert not any(task.done() for task in waiting)
        with pytest.raises(WaitTooLong):
            await lim.acquire(A, audience="k", max_wait=0)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        spender.release(sent=False)

    run(main)


def test_cancelled_in_the_keys_line_leaves_nothing() -> None:
    """Waiters queued for a full audience, cancelled: the key's three slots are the only
    ones counted, and the line is empty."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft)
        permits = [await lim.acquire(A, audience="k") for _ in range(3)]
        waiting = [asyncio.ensure_future(lim.acquire(A, audience="k")) for _ in range(4)]
        await ft.settle()
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        for permit in permits:
            permit.release(sent=False)
        for _ in range(3):
            await lim.acquire(A, audience="k", max_wait=0)  # all three free again
        assert lim.snapshot(A).in_flight == 3

    run(main)


def test_closing_fails_the_keys_waiters() -> None:
    """aclose() wakes a caller waiting for its audience and fails it (nothing sent)."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft)
        for _ in range(3):
            await lim.acquire(A, audience="k")
        waiting = asyncio.ensure_future(lim.acquire(A, audience="k"))
        await ft.settle()
        await lim.aclose()
        with pytest.raises(LimiterClosed):
            await asyncio.wait_for(waiting, GUARD)

    run(main)


def test_many_keys_leave_no_growing_state() -> None:
    """1,000 audiences over time: the logs that count nothing any more are dropped."""

    async def main(ft: FakeTime) -> None:
        lim = limiter(ft, audience=Rate(10**6, 60.0))
        for i in range(1000):
            (await lim.acquire(A, audience=f"k{i}")).release(sent=True)
            await ft.advance(0.1)  # 100 audiences counted per period of 10 s
        assert len(lim._audiences) <= 110

    run(main)


def test_an_audience_key_goes_with_the_audience_budget_only() -> None:
    """A key with another bucket is a programming error."""

    async def main(ft: FakeTime) -> None:
        with pytest.raises(ValueError, match="AUDIENCE"):
            await limiter(ft).acquire(E, audience="k")

    run(main)


# -- the per-audience logs in Redis, shared by a fleet ---------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for these tests."""
    with _redis_server.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def fleet_limiter(url: str, workspace: str) -> RateLimiter:
    return RateLimiter(RateLimits(per_audience=Rate(3, 1.0), redis_url=url, workspace=workspace))


def test_two_processes_share_one_audiences_budget_in_redis(redis_url: str) -> None:
    """Two limiters on one Redis (two processes of one workspace) send one broadcast 8
    times between them: no window of the period holds more than 3 of it, as the server
    could count them; another audience goes at once; the key is the workspace's, and
    expires in Redis."""
    workspace = f"test-{uuid.uuid4().hex[:12]}"

    async def main() -> tuple[list[tuple[float, float]], float]:
        async with (
            fleet_limiter(redis_url, workspace) as one,
            fleet_limiter(redis_url, workspace) as two,
        ):
            intervals: list[tuple[float, float]] = []

            async def send(lim: RateLimiter) -> None:
                permit = await lim.acquire(A, audience="k")
                admitted = time.monotonic()
                await asyncio.sleep(0.01)  # the request in flight
                permit.release(sent=True)
                intervals.append((admitted, time.monotonic()))

            start = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*(send((one, two)[i % 2]) for i in range(8))), 60)
            other = time.monotonic()
            (await asyncio.wait_for(two.acquire(A, audience="other", max_wait=0), 60)).release()
            return intervals, other - start

    intervals, took = asyncio.run(main())
    assert len(intervals) == 8
    assert worst_window(intervals, 1.0) <= 3
    assert took >= 1.8  # 8 at 3 per second: two more periods at least
    client = redis.Redis.from_url(redis_url)
    key = f"braze_async:{{{workspace}}}:audience:k"
    assert client.exists(key)
    assert 0 < client.pttl(key) <= 130_000


def worst_window(intervals: list[tuple[float, float]], period: float) -> int:
    """Most requests one server window of *period* could count, each counted at some moment
    between its admission and its release (see tests/test_limits.py)."""
    best = 0
    for _, done in intervals:
        best = max(best, sum(1 for t, c in intervals if c >= done and t < done + period))
    return best


# -- the lease of an audience's slot in Redis, held through any wait for the budget ---------
# Real Redis time is real time: the lease and periods are short (lease=0.2 s, a period of
# 0.5 s), each wait on the code under test is bounded by GUARD, and each real wait that proves
# something lasts twice the life of an unrenewed slot (lease + period).


#: The lease and per-audience rate of the tests of the lease: real time, kept short.
LEASE = 0.2
PER_AUDIENCE = Rate(1, 0.5)
#: Longer than an unrenewed audience slot lives in Redis (lease + period), twice over.
OUTLIVE = 2 * (LEASE + PER_AUDIENCE.period)


def new_workspace() -> str:
    """A budget name no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


def process(url: str, workspace: str, budget: int, *, lease: float = LEASE) -> RateLimiter:
    """One process of the fleet: a short lease, one broadcast per audience per 0.5 s, and
    *budget* broadcasts per minute across audiences. (Two processes given different budgets
    share one sorted set: the one given 1 is held back by a slot that lets the other's 100
    through, so one waits for the budget while the other does not.)"""
    limits = RateLimits(
        lease=lease,
        per_audience=PER_AUDIENCE,
        audience=Rate(budget, 60.0),
        redis_url=url,
        workspace=workspace,
    )
    return RateLimiter(limits)


def members(url: str, workspace: str, audience: str | None) -> int:
    """Slots of *audience* (None: of the budget across audiences) counted in Redis now,
    unexpired by Redis's clock."""
    client = redis.Redis.from_url(url)
    seconds, micros = client.time()
    now = seconds * 1_000_000 + micros
    key = f"braze_async:{{{workspace}}}:{A.value}"
    if audience is not None:
        key = f"braze_async:{{{workspace}}}:audience:{audience}"
    return int(client.zcount(key, f"({now}", "+inf"))


async def until(check: Callable[[], bool], *, within: float = GUARD) -> None:
    """Wait until *check()* holds (what a process does in the background reaches Redis)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


def test_a_slot_held_through_a_long_wait_for_the_budget_stays_counted(redis_url: str) -> None:
    """A broadcast holding its audience's slot waits for the budget longer than lease +
    period: meanwhile another process cannot take that audience's slot; once admitted, the
    slot is still counted for the request."""
    workspace = new_workspace()

    async def main() -> None:
        async with (
            process(redis_url, workspace, budget=1) as one,
            process(redis_url, workspace, budget=100) as two,
        ):
            spender = await one.acquire(A)  # the budget of `one` is spent
            waiting = asyncio.ensure_future(one.acquire(A, audience="k"))
            await until(lambda: members(redis_url, workspace, "k") == 1)  # k's slot is held
            await asyncio.sleep(OUTLIVE)  # longer than the slot lives unrenewed
            assert not waiting.done()
            with pytest.raises(WaitTooLong):
                (await asyncio.wait_for(two.acquire(A, audience="k", max_wait=0), GUARD)).release()
            assert members(redis_url, workspace, "k") == 1
            spender.release(sent=False)
            permit = await asyncio.wait_for(waiting, GUARD)
            assert members(redis_url, workspace, "k") == 1
            with pytest.raises(WaitTooLong):
                await asyncio.wait_for(two.acquire(A, audience="k", max_wait=0), GUARD)
            permit.release(sent=True)

    asyncio.run(main())


def test_a_slot_lost_during_the_wait_is_taken_again_before_sending(redis_url: str) -> None:
    """Redis lost the holder's audience slot (a FLUSHDB, a restart) and another process took
    that audience: the holder does not send uncounted; it waits for the audience again (its
    budget slot given back meanwhile) and goes once the other's slot is given back."""
    workspace = new_workspace()

    async def main() -> None:
        async with (
            process(redis_url, workspace, budget=2, lease=2.0) as one,
            process(redis_url, workspace, budget=100, lease=2.0) as two,
        ):
            spenders = [await one.acquire(A), await one.acquire(A)]
            waiting = asyncio.ensure_future(one.acquire(A, audience="k"))
            await until(lambda: members(redis_url, workspace, "k") == 1)
            redis.Redis.from_url(redis_url).delete(f"braze_async:{{{workspace}}}:audience:k")
            other = await asyncio.wait_for(two.acquire(A, audience="k", max_wait=0), GUARD)
            for spender in spenders:  # the budget has room for `one` again: 1 of 2 held
                spender.release(sent=False)
            # Time enough to look at the budget (every 0.1 s at most), within the lease of
            # the other's slot in flight (2 s).
            await asyncio.sleep(0.5)
            assert not waiting.done()  # k's only slot is the other's
            assert members(redis_url, workspace, None) == 1  # the budget: the other's only
            other.release(sent=False)
            permit = await asyncio.wait_for(waiting, GUARD)
            assert members(redis_url, workspace, "k") == 1
            permit.release(sent=False)

    asyncio.run(main())


def test_cancelled_during_a_long_wait_for_the_budget_leaves_no_slot(redis_url: str) -> None:
    """Cancelled after its slot was renewed through a long wait, a broadcast gives the
    audience's slot back: another process takes it at once."""
    workspace = new_workspace()

    async def main() -> None:
        async with (
            process(redis_url, workspace, budget=1) as one,
            process(redis_url, workspace, budget=100) as two,
        ):
            spender = await one.acquire(A)
            waiting = asyncio.ensure_future(one.acquire(A, audience="k"))
            await until(lambda: members(redis_url, workspace, "k") == 1)
            await asyncio.sleep(OUTLIVE)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(waiting, GUARD)
            await until(lambda: members(redis_url, workspace, "k") == 0)
            (await asyncio.wait_for(two.acquire(A, audience="k", max_wait=0), GUARD)).release()
            spender.release(sent=False)

    asyncio.run(main())


def test_one_renewal_at_most_when_the_wait_was_shorter_than_half_a_lease(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broadcast admitted at its first look costs no renewal (two script calls, as
    before); one that waited for the budget less than half a lease, one: at its admission,
    so that its request has a whole lease."""
    workspace = new_workspace()
    renewals: list[str] = []
    renew = RedisLog.renew

    async def counted(log: RedisLog, slot: str) -> bool | None:
        renewals.append(slot)
        return await renew(log, slot)

    monkeypatch.setattr(RedisLog, "renew", counted)

    async def main() -> None:
        async with process(redis_url, workspace, budget=1, lease=120.0) as one:
            (await asyncio.wait_for(one.acquire(A, audience="k"), GUARD)).release(sent=False)
            assert renewals == []
            spender = await one.acquire(A)
            waiting = asyncio.ensure_future(one.acquire(A, audience="j"))
            await until(lambda: members(redis_url, workspace, "j") == 1)
            spender.release(sent=False)
            (await asyncio.wait_for(waiting, GUARD)).release(sent=False)
            assert len(renewals) == 1

    asyncio.run(main())
