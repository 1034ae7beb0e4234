"""The lease of a broadcast's audience slot in Redis (:mod:`braze_async._limits._audiences`):
held through any wait for the :attr:`.Bucket.AUDIENCE` budget, never lapsing uncounted while
its holder lives, and given back when the holder stops waiting.

Real Redis time is real time: the lease and periods are short (``lease=0.2``, a period of
0.5 s), each wait on the code under test is bounded by :data:`GUARD`, and each real wait that
proves something lasts twice the life of an unrenewed slot (``lease + period``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator

import _redis_server
import pytest
import redis

from braze_async import Rate, RateLimits
from braze_async._limits import Bucket, RateLimiter, WaitTooLong
from braze_async._limits._redis import RedisLog

A = Bucket.AUDIENCE
#: Every wait of a test on the code under test: far above any bound it should meet.
GUARD = 30.0
LEASE = 0.2
PER_AUDIENCE = Rate(1, 0.5)
#: Longer than an unrenewed audience slot lives in Redis (lease + period), twice over.
OUTLIVE = 2 * (LEASE + PER_AUDIENCE.period)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for these tests."""
    with _redis_server.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def workspace() -> str:
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


def test_a_slot_held_through_a_long_wait_for_the_budget_stays_counted(
    redis_url: str, workspace: str
) -> None:
    """A broadcast holding its audience's slot waits for the budget longer than lease +
    period: meanwhile another process cannot take that audience's slot; once admitted, the
    slot is still counted for the request."""

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


def test_a_slot_lost_during_the_wait_is_taken_again_before_sending(
    redis_url: str, workspace: str
) -> None:
    """Redis lost the holder's audience slot (a FLUSHDB, a restart) and another process took
    that audience: the holder does not send uncounted; it waits for the audience again (its
    budget slot given back meanwhile) and goes once the other's slot is given back."""

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


def test_cancelled_during_a_long_wait_for_the_budget_leaves_no_slot(
    redis_url: str, workspace: str
) -> None:
    """Cancelled after its slot was renewed through a long wait, a broadcast gives the
    audience's slot back: another process takes it at once."""

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
    redis_url: str, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broadcast admitted at its first look costs no renewal (two script calls, as
    before); one that waited for the budget less than half a lease, one: at its admission,
    so that its request has a whole lease."""
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
