"""Priority lanes and the reserve: a bulk job never starves the interactive sends of its
workspace (the in-process limiter on fake time; the Redis script's lanes are in
test_redis_limits.py, the client's ``priority=`` at the end here)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from _fake_time import FakeTime

from braze_async import BrazeClient, BrazeValidationError, Campaign, Recipient
from braze_async._limits import Bucket, Permit, Rate, RateLimiter, RateLimits
from braze_async._limits._config import PRIORITIES, Priority

T = TypeVar("T")
A = Bucket.AUDIENCE
#: A bound on every wait of a test that would hang on a regression.
GUARD = 5.0


def make(ft: FakeTime, rate: Rate, reserve: float) -> RateLimiter:
    """A limiter on fake time with *rate* for audience sends and *reserve*."""
    return RateLimiter(RateLimits(audience=rate, reserve=reserve), clock=ft)


def run(main: Callable[[FakeTime], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(asyncio.wait_for(main(FakeTime()), GUARD))


async def take(limiter: RateLimiter, count: int, priority: Priority) -> list[Permit]:
    """*count* permits that must be admitted at once."""
    return [
        await asyncio.wait_for(limiter.acquire(A, priority=priority), 0.01) for _ in range(count)
    ]


# -- the reserve in the configuration -----------------------------------------------------------


def test_the_default_reserve_keeps_a_tenth_for_interactive_sends() -> None:
    """RateLimits() reserves 10% of each budget; 0 turns it off."""
    assert RateLimits().reserve == 0.1
    assert RateLimits(reserve=0).reserve == 0.0


@pytest.mark.parametrize(
    "reserve",
    [
        pytest.param(1.0, id="everything"),
        pytest.param(-0.1, id="negative"),
        pytest.param(math.nan, id="nan"),
        pytest.param(True, id="bool"),
        pytest.param("0.1", id="str"),
    ],
)
def test_a_reserve_outside_zero_to_one_is_refused(reserve: Any) -> None:
    """reserve is a fraction in [0, 1): at 1 a bulk job could never send."""
    with pytest.raises(ValueError, match=r"RateLimits\.reserve"):
        RateLimits(reserve=reserve)


def test_an_unknown_priority_is_refused_before_waiting() -> None:
    """acquire(priority=...) names one of the two lanes."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(1, 1.0), 0.0)
        with pytest.raises(ValueError, match="priority"):
            await limiter.acquire(A, priority="urgent")  # type: ignore[arg-type]
        assert limiter.snapshot(A).waiting == 0

    run(main)


# -- the order of the two lanes -----------------------------------------------------------------


def test_waiting_interactive_requests_go_before_waiting_bulk_ones() -> None:
    """However they arrived, interactive waiters are admitted first, each lane in order."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(1, 1.0), 0.0)
        order: list[str] = []

        async def waiter(name: str, priority: Priority) -> None:
            permit = await limiter.acquire(A, priority=priority)
            order.append(name)
            permit.release()

        first = await limiter.acquire(A, priority="bulk")
        tasks = []
        for name in ["b0", "b1", "i0", "b2", "i1"]:
            lane: Priority = "interactive" if name[0] == "i" else "bulk"
            tasks.append(asyncio.ensure_future(waiter(name, lane)))
            await ft.settle()
        assert limiter.snapshot(A).waiting == 5
        first.release()
        await ft.run(tasks)
        assert order == ["i0", "i1", "b0", "b1", "b2"]
        assert ft.now == pytest.approx(5.0)  # one per window: nothing lost to the lanes

    run(main)


def test_an_interactive_newcomer_takes_the_slot_a_bulk_head_waited_for() -> None:
    """A bulk head sleeping until a slot expires is overtaken by an interactive request
    that arrives meanwhile; it goes next."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(1, 1.0), 0.0)
        (await limiter.acquire(A, priority="bulk")).release()
        bulk = asyncio.ensure_future(limiter.acquire(A, priority="bulk"))
        await ft.advance(0.5)
        interactive = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(0.5)
        assert interactive.done() and not bulk.done()
        interactive.result().release()
        await ft.advance(1.0)
        assert bulk.done()

    run(main)


# -- the reserve --------------------------------------------------------------------------------


def test_bulk_stops_at_its_share_and_interactive_uses_the_rest() -> None:
    """With reserve=0.2 of 10, bulk takes 8 at most; interactive requests the last 2."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(10, 1.0), 0.2)
        await take(limiter, 8, "bulk")
        bulk = asyncio.ensure_future(limiter.acquire(A, priority="bulk"))
        await ft.settle()
        assert not bulk.done()
        await take(limiter, 2, "interactive")
        late = asyncio.ensure_future(limiter.acquire(A))
        await ft.settle()
        assert not late.done()
        assert limiter.snapshot(A).in_flight == 10
        for task in (bulk, late):
            task.cancel()

    run(main)


def test_the_reserve_at_the_windows_edge() -> None:
    """Bulk's share frees when its slots expire, at the window's edge and not before; the
    reserve stays free for interactive requests all along."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(10, 1.0), 0.2)
        for permit in await take(limiter, 8, "bulk"):
            permit.release()
        bulk = asyncio.ensure_future(limiter.acquire(A, priority="bulk"))
        await ft.advance(0.999)
        assert not bulk.done()
        await take(limiter, 1, "interactive")  # the reserve, at the last moment
        await ft.advance(0.001)
        assert bulk.done()
        # 8 expired; 1 bulk + 1 interactive counted: bulk may take 7 more, not 8.
        await take(limiter, 7, "bulk")
        blocked = asyncio.ensure_future(limiter.acquire(A, priority="bulk"))
        await ft.settle()
        assert not blocked.done()
        blocked.cancel()

    run(main)


def test_interactive_sends_within_the_reserve_cost_bulk_nothing() -> None:
    """Bulk's share is its own: interactive requests spending the reserve leave bulk its
    whole share, and bulk never takes the slots left after them."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(10, 1.0), 0.2)
        await take(limiter, 2, "interactive")
        await take(limiter, 8, "bulk")
        blocked = [asyncio.ensure_future(limiter.acquire(A, priority=p)) for p in PRIORITIES]
        await ft.settle()
        assert not any(task.done() for task in blocked)
        for task in blocked:
            task.cancel()

    run(main)


def test_bulk_waits_for_its_own_slots_to_expire() -> None:
    """Once bulk has spent its share, an interactive slot expiring does not let bulk in."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(10, 1.0), 0.2)
        for permit in await take(limiter, 1, "interactive"):
            permit.release()
        await ft.advance(0.5)
        for permit in await take(limiter, 8, "bulk"):
            permit.release()
        bulk = asyncio.ensure_future(limiter.acquire(A, priority="bulk"))
        await ft.advance(0.6)  # the interactive slot expired, bulk's have not
        assert not bulk.done()
        await ft.advance(0.4)
        assert bulk.done()

    run(main)


def test_a_tiny_budget_still_lets_bulk_send() -> None:
    """The reserve never takes a whole budget: a limit of 1 is bulk's too."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(1, 1.0), 0.5)
        await take(limiter, 1, "bulk")

    run(main)


def test_a_spent_remaining_shrinks_the_bulk_lane_first() -> None:
    """The reserve is taken from what Braze says is left: another consumer's spending stops
    bulk while interactive requests may still spend the last of it."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(10, 60.0), 0.2)
        reset = ft.time() + 10.0
        headers = {
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "3",
            "X-RateLimit-Reset": str(reset),
        }
        limiter.observe(A, 201, headers)  # 7 spent by someone else
        await take(limiter, 1, "bulk")
        bulk = asyncio.ensure_future(limiter.acquire(A, priority="bulk"))
        await ft.settle()
        assert not bulk.done()
        await take(limiter, 2, "interactive")
        late = asyncio.ensure_future(limiter.acquire(A))
        await ft.advance(9.99)
        assert not (bulk.done() or late.done())
        await ft.advance(0.02)  # Reset: both lanes go, interactive first
        assert late.done() and bulk.done()

    run(main)


def test_a_429_pauses_both_lanes() -> None:
    """A pause after a 429 holds interactive requests too."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(10, 60.0), 0.2)
        limiter.observe(A, 429, {"Retry-After": "2"})
        tasks = [
            asyncio.ensure_future(limiter.acquire(A, priority=p)) for p in ("interactive", "bulk")
        ]
        await ft.advance(1.99)
        assert not any(task.done() for task in tasks)
        await ft.advance(0.02)
        assert all(task.done() for task in tasks)

    run(main)


# -- cancellation in each lane ------------------------------------------------------------------


@pytest.mark.parametrize("lane", ["interactive", "bulk"])
def test_a_cancelled_waiter_gives_its_place_back_in_its_lane(lane: Priority) -> None:
    """Cancelling a waiter of either lane consumes nothing; the others go in order."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(1, 1.0), 0.0)
        first = await limiter.acquire(A)
        names = ["i0", "i1", "b0", "b1"]
        tasks = {
            name: asyncio.ensure_future(
                limiter.acquire(A, priority="interactive" if name[0] == "i" else "bulk")
            )
            for name in names
        }
        await ft.settle()
        victim = "i0" if lane == "interactive" else "b0"
        tasks.pop(victim).cancel()
        await ft.settle()
        assert limiter.snapshot(A).waiting == 3
        first.release(sent=False)
        order = []
        for _ in range(3):
            await ft.settle()
            done = [name for name, task in tasks.items() if task.done()]
            assert len(done) == 1
            order.append(done[0])
            tasks.pop(done[0]).result().release(sent=False)
        assert order == [n for n in names if n != victim]
        assert limiter.snapshot(A).admitted == 4

    run(main)


def test_a_bulk_head_cancelled_behind_an_interactive_one_stalls_nobody() -> None:
    """The bulk lane's head leaving while an interactive request is ahead changes nothing
    for the others."""

    async def main(ft: FakeTime) -> None:
        limiter = make(ft, Rate(1, 1.0), 0.0)
        first = await limiter.acquire(A)
        interactive = asyncio.ensure_future(limiter.acquire(A))
        bulk = [asyncio.ensure_future(limiter.acquire(A, priority="bulk")) for _ in range(2)]
        await ft.settle()
        bulk[0].cancel()
        first.release(sent=False)
        await ft.settle()
        assert interactive.done() and not bulk[1].done()
        interactive.result().release(sent=False)
        await ft.settle()
        assert bulk[1].done()

    run(main)


# -- the client: priority= picks the lane --------------------------------------------------------

OK = {"dispatch_id": "d", "message": "success"}


def lanes_seen(limiter: RateLimiter) -> list[str]:
    """Records the lane of every acquisition of *limiter*."""
    seen: list[str] = []
    acquire = limiter.acquire

    async def spy(bucket: Bucket, **kwargs: Any) -> Permit:
        seen.append(kwargs.get("priority", "interactive"))
        return await acquire(bucket, **kwargs)

    limiter.acquire = spy  # type: ignore[method-assign]
    return seen


@pytest.mark.anyio
async def test_each_send_has_its_lane_and_priority_switches_it() -> None:
    """send, send_one, send_transactional are interactive and send_bulk bulk, unless the
    call says otherwise."""
    limiter = RateLimiter(RateLimits())
    seen = lanes_seen(limiter)

    def answer(request: httpx.Request) -> httpx.Response:
        if "transactional" in request.url.path:
            return httpx.Response(201, json={"send_id": "s", "status": "queued"})
        return httpx.Response(201, json=OK)

    one = [Recipient(external_user_id="u")]
    async with BrazeClient(
        api_key="k", instance="iad-01", transport=httpx.MockTransport(answer), rate_limits=limiter
    ) as braze:
        await braze.send(Campaign("c"), recipients=one)
        await braze.send(Campaign("c"), recipients=one, priority="bulk")
        await braze.send_one(Campaign("c"), one[0])
        await braze.send_one(Campaign("c"), one[0], priority="bulk")
        await braze.send_bulk(Campaign("c"), one)
        await braze.send_bulk(Campaign("c"), one, priority="interactive")
        # Transactional sends spend no budget: they never wait, in either lane.
        await braze.send_transactional("t", one[0], priority="bulk")
    assert seen == ["interactive", "bulk", "interactive", "bulk", "bulk", "interactive"]
    await limiter.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("verb", ["send", "send_one", "send_bulk", "send_transactional"])
async def test_an_unknown_priority_is_a_validation_error(verb: str) -> None:
    """priority= is checked before any network call."""
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json=OK)

    one = Recipient(external_user_id="u")
    async with BrazeClient(
        api_key="k", instance="iad-01", transport=httpx.MockTransport(answer)
    ) as braze:
        send: dict[str, Callable[[], Coroutine[Any, Any, object]]] = {
            "send": lambda: braze.send(Campaign("c"), recipients=[one], priority="now"),  # type: ignore[arg-type]
            "send_one": lambda: braze.send_one(Campaign("c"), one, priority="now"),  # type: ignore[arg-type]
            "send_bulk": lambda: braze.send_bulk(Campaign("c"), [one], priority="now"),  # type: ignore[arg-type]
            "send_transactional": lambda: braze.send_transactional("t", one, priority="now"),  # type: ignore[arg-type]
        }
        with pytest.raises(BrazeValidationError, match="priority"):
            await send[verb]()
    assert calls == []
