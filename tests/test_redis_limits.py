"""The fleet-wide limiter against a real redis-server: exact across processes, leases, feedback.

Real time here (Redis's clock decides), so periods are short and bounds generous.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import random
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import _redis_server
import pytest
import redis

from braze_async._limits import (
    Bucket,
    LimiterUnavailable,
    Permit,
    Priority,
    Rate,
    RateLimiter,
    RateLimits,
    WaitTooLong,
)

A = Bucket.AUDIENCE
#: Every wait of a test on the code under test: far above any bound it should meet.
GUARD = 60.0
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for this test session."""
    with _redis_server.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def workspace() -> str:
    """A budget name no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


def limiter(url: str, workspace: str, rate: Rate, *, lease: float = 120.0) -> RateLimiter:
    """A Redis-backed limiter with *rate* for audience sends."""
    return RateLimiter(RateLimits(audience=rate, redis_url=url, workspace=workspace, lease=lease))


def scores(client: redis.Redis, key: str) -> list[float]:
    """The scores of the sorted set *key*."""
    pairs = cast("list[tuple[bytes, float]]", client.zrange(key, 0, -1, withscores=True))
    return [score for _, score in pairs]


def worst_window(intervals: list[tuple[float, float]], period: float) -> int:
    """Most requests one server window of *period* could count (see test_limits)."""
    best = 0
    for _, done in intervals:
        best = max(best, sum(1 for t, c in intervals if c >= done and t < done + period))
    return best


def in_redis(url: str, key: str, *, within: float = 5.0) -> None:
    """Wait until *key* exists in Redis: what a process publishes in the background is there
    for the others (a test failure after *within* seconds, never a guess at a grace)."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + within
    while not client.exists(key):
        assert time.monotonic() < deadline, f"{key} never reached Redis"
        time.sleep(0.005)


def test_admits_up_to_the_limit_then_waits_for_expiry(redis_url: str, workspace: str) -> None:
    """limit permits at once; the next one when the first released slot expires."""

    async def main() -> tuple[float, float]:
        async with limiter(redis_url, workspace, Rate(3, 1.0)) as lim:
            start = time.monotonic()
            permits = [await lim.acquire(A) for _ in range(3)]
            burst = time.monotonic() - start
            for p in permits:
                p.release()
            released = time.monotonic()
            (await lim.acquire(A)).release()
            return burst, time.monotonic() - released

    burst, wait = asyncio.run(main())
    assert burst < 0.5
    assert 0.8 <= wait < 3.0


def test_unsent_release_frees_the_slot(redis_url: str, workspace: str) -> None:
    """release(sent=False) removes the slot: the next request goes at once."""

    async def main() -> None:
        async with limiter(redis_url, workspace, Rate(1, 60.0)) as lim:
            (await lim.acquire(A)).release(sent=False)
            permit = await asyncio.wait_for(lim.acquire(A), timeout=2.0)
            permit.release(sent=False)
            assert lim.snapshot(A).unsent == 2

    asyncio.run(main())
    assert not redis.Redis.from_url(redis_url).exists(f"braze_async:{{{workspace}}}:audience")


def test_slots_live_in_one_sorted_set_that_expires(redis_url: str, workspace: str) -> None:
    """Slots are members of braze_async:{workspace}:bucket, which carries a TTL."""
    client = redis.Redis.from_url(redis_url)
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> None:
        async with limiter(redis_url, workspace, Rate(5, 2.0), lease=3.0) as lim:
            permits = [await lim.acquire(A) for _ in range(2)]
            assert client.zcard(key) == 2
            assert 0 < client.pttl(key) <= (3.0 + 2.0) * 1000 + 1000
            seconds, micros = client.time()
            now_us = seconds * 1_000_000 + micros
            for score in scores(client, key):
                assert score == pytest.approx(now_us + 5_000_000, abs=500_000)
            for p in permits:
                p.release()
        for score in scores(client, key):
            assert score == pytest.approx(now_us + 2_000_000, abs=500_000)

    asyncio.run(main())


def test_dead_holders_slot_expires_after_its_lease(redis_url: str, workspace: str) -> None:
    """A process that dies holding a slot blocks it for lease + period, no longer."""

    async def main() -> float:
        dead = limiter(redis_url, workspace, Rate(1, 0.5), lease=0.5)
        await dead.acquire(A)  # never released: its process "died"
        await dead.aclose()
        async with limiter(redis_url, workspace, Rate(1, 0.5), lease=0.5) as alive:
            start = time.monotonic()
            (await alive.acquire(A)).release()
            return time.monotonic() - start

    assert 0.6 <= asyncio.run(main()) < 3.0


def test_cancelled_waiter_leaves_no_slot_behind(redis_url: str, workspace: str) -> None:
    """A wait cancelled by a timeout consumes nothing in Redis."""
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> None:
        async with limiter(redis_url, workspace, Rate(1, 60.0)) as lim:
            held = await lim.acquire(A)
            for _ in range(5):
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(lim.acquire(A), timeout=random.uniform(0.0, 0.15))
            held.release(sent=False)
            await asyncio.wait_for(lim.acquire(A), timeout=2.0)
            assert redis.Redis.from_url(redis_url).zcard(key) == 1
            assert lim.snapshot(A).in_flight == 1

    asyncio.run(main())


def test_a_429_pauses_the_whole_fleet(redis_url: str, workspace: str) -> None:
    """A 429 seen by one process holds back the others until Retry-After has passed."""
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> float:
        async with (
            limiter(redis_url, workspace, Rate(100, 60.0)) as one,
            limiter(redis_url, workspace, Rate(100, 60.0)) as other,
        ):
            start = time.monotonic()
            one.observe(A, 429, {"Retry-After": "1"})
            # The pause travels to Redis in the background: wait until it is there.
            await asyncio.to_thread(in_redis, redis_url, f"{key}:pause")
            (await other.acquire(A)).release()
            return time.monotonic() - start

    assert 0.9 <= asyncio.run(main()) < 3.0


def test_remaining_caps_the_whole_fleet(redis_url: str, workspace: str) -> None:
    """Remaining: r seen by one process caps every process: r, less the fleet's in flight."""
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> tuple[int, float]:
        async with (
            limiter(redis_url, workspace, Rate(100, 60.0)) as one,
            limiter(redis_url, workspace, Rate(100, 60.0)) as other,
        ):
            flying = await other.acquire(A)  # in flight: may not be counted by Braze yet
            reset = time.time() + 1.5
            headers = {"X-RateLimit-Remaining": "4", "X-RateLimit-Reset": repr(reset)}
            one.observe(A, 200, headers)
            # The cap travels to Redis in the background: wait until it is there.
            await asyncio.to_thread(in_redis, redis_url, f"{key}:caps")
            quick = 0
            for _ in range(3):
                await asyncio.wait_for(other.acquire(A), timeout=0.5)
                quick += 1
            await other.acquire(A)  # the fourth: 4 remaining, less the one in flight
            admitted = time.time()
            flying.release()
            return quick, reset - admitted

    quick, early = asyncio.run(main())
    assert quick == 3
    assert early < 0.05  # the fourth was admitted only once Reset had passed


def test_unreachable_redis_raises(workspace: str) -> None:
    """Without Redis nothing is admitted: after retrying for redis_retry_for, the error
    reaches the caller, naming Redis's (no chain of redis-py's frames rides along)."""

    async def main() -> None:
        limits = RateLimits(
            audience=Rate(1, 1.0),
            redis_url="redis://127.0.0.1:1/0",
            workspace=workspace,
            redis_retry_for=0.2,
        )
        async with RateLimiter(limits) as lim:
            await lim.acquire(A)

    with pytest.raises(LimiterUnavailable, match="ConnectionError") as caught:
        asyncio.run(main())
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_three_processes_share_one_budget_exactly(
    redis_url: str, workspace: str, tmp_path: Path
) -> None:
    """3 processes hammering one budget: never over the limit in any window, budget used."""
    limit, period, duration = 20, 2.0, 6.0
    start_at = time.time() + 3.0  # leave time for the interpreters to start
    logs = [tmp_path / f"worker-{i}.json" for i in range(3)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                redis_url,
                workspace,
                str(limit),
                str(period),
                str(start_at),
                str(duration),
                str(log),
            ],
            env=env,
            cwd=ROOT,
        )
        for log in logs
    ]
    try:
        for proc in procs:
            assert proc.wait(timeout=60) == 0
        intervals: list[tuple[float, float]] = []
        for log in logs:
            intervals += [(float(t), float(c)) for t, c in json.loads(log.read_text())]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    # Wall times read by the workers lie inside Redis's [admission, release] of each slot
    # (same host clock); shave 1 ms off each end for clock-reading granularity.
    shaved = [(t + 0.001, max(t + 0.001, c - 0.001)) for t, c in intervals]
    assert worst_window(shaved, period) <= limit
    admissions = sorted(t for t, _ in intervals)
    assert all(sum(1 for u in admissions if t <= u < t + period) <= limit for t in admissions), (
        "admissions alone exceed the limit"
    )
    possible = limit * math.ceil(duration / period)
    print(f"admitted {len(intervals)} of {possible} possible")
    assert len(intervals) >= 0.85 * possible, (len(intervals), possible)


async def _worker(
    url: str, workspace: str, limit: int, period: float, start_at: float, duration: float
) -> list[tuple[float, float]]:
    log: list[tuple[float, float]] = []
    async with limiter(url, workspace, Rate(limit, period)) as lim:
        await asyncio.sleep(max(start_at - time.time(), 0.0))

        async def one() -> None:
            while True:
                permit = await lim.acquire(A)
                admitted = time.time()
                if admitted >= start_at + duration:
                    permit.release(sent=False)
                    return
                await asyncio.sleep(random.uniform(0.005, 0.05))
                log.append((admitted, time.time()))
                permit.release()

        await asyncio.gather(*(one() for _ in range(8)))
    return log


if __name__ == "__main__":
    url, ws, lim, per, at, dur, out = sys.argv[1:]
    result = asyncio.run(_worker(url, ws, int(lim), float(per), float(at), float(dur)))
    Path(out).write_text(json.dumps(result))


def test_an_acquisition_cancelled_while_redis_admits_it_gives_the_slot_back(
    redis_url: str, workspace: str
) -> None:
    """Cancelled while the acquire script is on its way: the script still runs (a reply is
    never cut in half), and the slot it admitted is removed again, as never sent; the one
    slot of the budget is free for the next caller at once, not after the lease."""
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> None:
        async with limiter(redis_url, workspace, Rate(2, 60.0)) as lim:
            held = await lim.acquire(A)  # connected; one slot of two left
            cancelled = asyncio.ensure_future(lim.acquire(A))
            await asyncio.sleep(0)  # it sent the script and waits for the reply
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            # Full until the undo lands, then admitted: not after the 120 s lease.
            permit = await asyncio.wait_for(lim.acquire(A), GUARD)
            assert redis.Redis.from_url(redis_url).zcard(key) == 2
            permit.release(sent=False)
            held.release(sent=False)

    asyncio.run(main())


def test_a_permit_released_after_its_event_loop_ended_expires_by_lease(
    redis_url: str, workspace: str
) -> None:
    """A permit released once its limiter was closed and its event loop is gone (sync code
    after asyncio.run) cannot reach Redis: the release is dropped quietly (no error, no
    never-awaited coroutine) and the slot stays counted until its lease ends, as for a
    holder that died."""
    key = f"braze_async:{{{workspace}}}:audience"
    lim = limiter(redis_url, workspace, Rate(2, 60.0), lease=5.0)

    async def take() -> Permit:
        permit = await lim.acquire(A)
        await lim.aclose()  # permits still out stay valid to release
        return permit

    permit = asyncio.run(take())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        permit.release()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    client = redis.Redis.from_url(redis_url)
    (score,) = scores(client, key)  # counted still
    seconds, micros = client.time()
    # Still scored by its lease (lease + period from admission), not rescored to period.
    assert score / 1e6 - (seconds + micros / 1e6) > 60.0


# -- the lanes across a fleet ---------------------------------------------------------------------


def lanes(url: str, workspace: str, rate: Rate, reserve: float) -> RateLimiter:
    """A Redis-backed limiter with *rate* for audience sends and *reserve*."""
    return RateLimiter(
        RateLimits(audience=rate, redis_url=url, workspace=workspace, reserve=reserve)
    )


async def admitted_at_once(limiter: RateLimiter, priority: Priority) -> int:
    """How many acquisitions of *priority* the fleet admits now (the next one would wait)."""
    count = 0
    while True:
        try:
            await asyncio.wait_for(limiter.acquire(A, priority=priority, max_wait=0.5), GUARD)
        except WaitTooLong:
            return count
        count += 1


def test_a_bulk_job_on_one_host_leaves_the_reserve_to_another(
    redis_url: str, workspace: str
) -> None:
    """The reserve holds across processes, in the acquire script: one host's bulk job stops
    at limit - reserve slots, another host's interactive requests take the rest."""

    async def main() -> tuple[int, int, int]:
        async with (
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as job,
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as web,
        ):
            bulk = await admitted_at_once(job, "bulk")
            interactive = await admitted_at_once(web, "interactive")
            return bulk, interactive, await admitted_at_once(job, "bulk")

    assert asyncio.run(main()) == (8, 2, 0)


def test_the_fleets_remaining_stops_bulk_at_the_reserve(redis_url: str, workspace: str) -> None:
    """Remaining: r heard by one host caps another's bulk lane at r - reserve, in Redis (the
    other host's own feedback knows nothing of it); its interactive requests spend the rest."""
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> tuple[int, int]:
        async with (
            lanes(redis_url, workspace, Rate(100, 60.0), 0.02) as heard,
            lanes(redis_url, workspace, Rate(100, 60.0), 0.02) as other,
        ):
            headers = {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": repr(time.time() + 30)}
            heard.observe(A, 200, headers)
            await asyncio.to_thread(in_redis, redis_url, f"{key}:caps")
            return (
                await admitted_at_once(other, "bulk"),
                await admitted_at_once(other, "interactive"),
            )

    assert asyncio.run(main()) == (3, 2)


def test_interactive_sends_on_one_host_cost_anothers_bulk_job_nothing(
    redis_url: str, workspace: str
) -> None:
    """Bulk's share is its own across the fleet: interactive slots within the reserve leave
    bulk its whole share; their release and expiry keep both sets right."""

    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> tuple[int, int]:
        async with lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as before:
            (await before.acquire(A, priority="bulk")).release(sent=False)
        # Closing waited for the release (in the background): gone from both sets.
        client = redis.Redis.from_url(redis_url)
        assert (client.zcard(key), client.zcard(f"{key}:bulk")) == (0, 0)
        async with (
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as job,
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as web,
        ):
            interactive = await admitted_at_once(web, "interactive")
            return interactive, await admitted_at_once(job, "bulk")

    assert asyncio.run(main()) == (10, 0)


def test_bulk_takes_its_whole_share_beside_interactive_slots(
    redis_url: str, workspace: str
) -> None:
    """Two interactive slots held on one host, another host's bulk job still gets 8 of 10."""

    async def main() -> tuple[int, int]:
        async with (
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as job,
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as web,
        ):
            for _ in range(2):
                await web.acquire(A)
            return await admitted_at_once(job, "bulk"), await admitted_at_once(web, "interactive")

    assert asyncio.run(main()) == (8, 0)


def test_the_daily_send_id_budget_is_shared_through_redis(redis_url: str, workspace: str) -> None:
    """RateLimits.send_ids (100 a day, api_limits.md) in Redis: two processes' limiters
    share it; the 101st send ID is refused at once (it frees in about a day), never waited."""

    async def main() -> WaitTooLong:
        limits = RateLimits(redis_url=redis_url, workspace=workspace)
        async with RateLimiter(limits) as one, RateLimiter(limits) as two:
            for n in range(100):
                (await (one if n % 2 else two).acquire(Bucket.SEND_IDS)).release()
            with pytest.raises(WaitTooLong) as caught:
                await two.acquire(Bucket.SEND_IDS, max_wait=60.0)
            (await one.acquire(Bucket.EXTERNAL_ID)).release()  # the other budgets are apart
            return caught.value

    refused = asyncio.run(main())
    assert refused.wait is not None and refused.wait > 86_000


def braze_saw(remaining: int, limit: int = 10) -> dict[str, str]:
    """Headers of an answer: *remaining* of Braze's *limit* left for 30 s more."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": repr(time.time() + 30),
    }


def test_interactive_sends_braze_counted_leave_another_hosts_bulk_its_share(
    redis_url: str, workspace: str
) -> None:
    """Braze counted two interactive sends of one host and four bulk ones of another: 4 of 10
    left, and each process caps at that. The two interactive sends took their part of the
    reserve already: bulk still gets its whole share (8 of 10: 4 more), not 4 - reserve."""

    async def main() -> int:
        async with (
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as job,
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as web,
        ):
            for _ in range(2):
                (await web.acquire(A)).release(sent=True)
            for _ in range(4):
                (await job.acquire(A, priority="bulk")).release(sent=True)
            job.observe(A, 200, braze_saw(4))  # the job's own cap: 4 left
            heard = lanes(redis_url, workspace, Rate(10, 60.0), 0.2)
            heard.observe(A, 200, braze_saw(4))
            await heard.aclose()  # what it shares is in Redis now
            return await admitted_at_once(job, "bulk")

    assert asyncio.run(main()) == 4


def test_another_consumers_usage_still_shrinks_the_bulk_lane_first(
    redis_url: str, workspace: str
) -> None:
    """One interactive send of the fleet, four bulk ones, and two of another consumer: 3 of 10
    left. The reserve (2) less the fleet's interactive send already counted leaves 1 to
    interactive requests: bulk takes 2 more (its share less the other consumer's 2), the web
    host the last one."""
    key = f"braze_async:{{{workspace}}}:audience"

    async def main() -> tuple[int, int]:
        async with (
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as job,
            lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as web,
        ):
            (await web.acquire(A)).release(sent=True)
            for _ in range(4):
                (await job.acquire(A, priority="bulk")).release(sent=True)
            job.observe(A, 200, braze_saw(3))
            await asyncio.to_thread(in_redis, redis_url, f"{key}:caps")
            return await admitted_at_once(job, "bulk"), await admitted_at_once(web, "interactive")

    assert asyncio.run(main()) == (2, 1)


def test_no_fleet_cap_where_the_fleets_own_slots_explain_brazes_usage(
    redis_url: str, workspace: str
) -> None:
    """Braze counted six, all the fleet's bulk slots, one of them still in flight when its
    answer was heard (so a cap would charge it twice: 4 left less 1 in flight). As in one
    process, usage the fleet's own slots explain sets no fleet cap: the log governs, and the
    bulk job gets its whole share (8 of 10: 2 more), not one less and a wait for Reset."""

    async def main() -> int:
        async with lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as job:
            for _ in range(5):
                (await job.acquire(A, priority="bulk")).release(sent=True)
            flying = await job.acquire(A, priority="bulk")
            heard = lanes(redis_url, workspace, Rate(10, 60.0), 0.2)
            heard.observe(A, 200, braze_saw(4))
            await heard.aclose()  # its cap, if any, is in Redis now
            flying.release(sent=True)
        # Closing waited for the release; a fresh process has no caps of its own.
        async with lanes(redis_url, workspace, Rate(10, 60.0), 0.2) as later:
            return await admitted_at_once(later, "bulk")

    assert asyncio.run(main()) == 2


def test_a_processs_own_cap_does_not_idle_bulk_once_braze_and_the_log_freed_the_window(
    redis_url: str, workspace: str
) -> None:
    """The job spent its share (8 of 10), Braze said 2 left until its (rounded) Reset; a
    period later the log has freed every slot and Braze, sliding, says 10 left under the same
    Reset. Nothing
    but the process's own cap from the first answer holds the job: it should get its share
    again (8), as in one process, not the 2 the first answer left."""

    async def main() -> int:
        async with lanes(redis_url, workspace, Rate(10, 1.0), 0.2) as job:
            for _ in range(8):
                (await job.acquire(A, priority="bulk")).release(sent=True)
            reset = repr(time.time() + 1.9)  # Braze's whole-second rounding: past the period
            job.observe(A, 200, {**braze_saw(2), "X-RateLimit-Reset": reset})
            await asyncio.sleep(1.2)  # the period: Redis's clock expires the 8 slots
            job.observe(A, 200, {**braze_saw(10), "X-RateLimit-Reset": reset})
            return await admitted_at_once(job, "bulk")

    assert asyncio.run(main()) == 8
