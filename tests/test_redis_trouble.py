"""The fleet limiter when Redis is in trouble: stalled (SIGSTOP), killed, restarted empty.

A real redis-server per test, tormented on cue. Transitions happen on events (the limiter's
"retrying" log line, a bulk job's progress), never on a timer; Redis's own timeouts are real
time, so the bounds are short (``redis_timeout`` 0.25 s) and every wait of the test itself is
guarded (``asyncio.wait_for``), so a regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import _redis_server
import httpx
import pytest
import redis
from _fake_time import FakeTime

from braze_async import BrazeClient, BulkProgress, Campaign, Rate, RateLimits, Recipient
from braze_async._limits import Bucket, LimiterUnavailable, RateLimiter, WaitTooLong
from braze_async.simulator import BrazeSimulator

A = Bucket.AUDIENCE
E = Bucket.EXTERNAL_ID
#: Every wait of a test on the code under test: far above any bound it should meet.
GUARD = 60.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_redis_server.RedisServer]:
    """A redis-server of this test's own, to stop, kill and restart."""
    with _redis_server.redis_process(tmp_path) as srv:
        yield srv


@pytest.fixture
def workspace() -> str:
    return f"trouble-{uuid.uuid4().hex[:10]}"


class OnRetry(logging.Handler):
    """Runs *action* once, the first time the limiter logs that it is retrying Redis."""

    def __init__(self, action: Callable[[], object]) -> None:
        super().__init__(logging.WARNING)
        self.action: Callable[[], object] | None = action
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying for up to" in record.getMessage():
            self.seen += 1
            action, self.action = self.action, None
            if action is not None:
                action()


@pytest.fixture
def on_retry() -> Iterator[Callable[[Callable[[], object]], OnRetry]]:
    logger = logging.getLogger("braze_async")
    handlers: list[OnRetry] = []

    def install(action: Callable[[], object]) -> OnRetry:
        handler = OnRetry(action)
        logger.addHandler(handler)
        handlers.append(handler)
        return handler

    yield install
    for handler in handlers:
        logger.removeHandler(handler)


def fleet_limits(url: str, workspace: str, **kwargs: Any) -> RateLimits:
    defaults: dict[str, Any] = {"redis_timeout": 0.25, "redis_retry_for": 1.0}
    return RateLimits(redis_url=url, workspace=workspace, **{**defaults, **kwargs})


# -- timeouts and bounded retries -------------------------------------------------------------


def test_a_stalled_redis_fails_acquisitions_after_the_bound(
    server: _redis_server.RedisServer, workspace: str
) -> None:
    """SIGSTOP: every call times out (redis_timeout), the acquisition retries for
    redis_retry_for, then fails as LimiterUnavailable; it never hangs (redis-py 5.0 has no
    default timeout: before, it hung for ever). Once Redis answers again, so does the limiter."""

    async def main() -> float:
        limits = fleet_limits(server.url, workspace, audience=Rate(10, 1.0))
        async with RateLimiter(limits) as lim:
            (await lim.acquire(A)).release()  # connected
            server.pause()
            started = time.monotonic()
            with pytest.raises(LimiterUnavailable, match="Timeout"):
                await asyncio.wait_for(lim.acquire(A), GUARD)
            elapsed = time.monotonic() - started
            server.resume()
            (await asyncio.wait_for(lim.acquire(A), GUARD)).release()
            return elapsed

    assert asyncio.run(main()) >= 1.0  # it retried for the whole bound first


@pytest.mark.parametrize("trouble", ["stalled", "killed"])
def test_a_blip_shorter_than_the_bound_costs_nothing(
    server: _redis_server.RedisServer,
    workspace: str,
    on_retry: Callable[[Callable[[], object]], OnRetry],
    trouble: str,
) -> None:
    """Redis stalls (or dies and comes back empty) while requests wait: they are retried and
    admitted once it answers, nothing fails."""
    heal = server.resume if trouble == "stalled" else server.restart
    watcher = on_retry(heal)

    async def main() -> None:
        limits = fleet_limits(server.url, workspace, audience=Rate(10, 60.0), redis_retry_for=30)
        async with RateLimiter(limits) as lim:
            (await lim.acquire(A)).release()
            server.pause() if trouble == "stalled" else server.kill()
            permits = await asyncio.wait_for(
                asyncio.gather(*(lim.acquire(A) for _ in range(3))), GUARD
            )
            for permit in permits:
                permit.release()

    asyncio.run(main())
    assert watcher.seen == 1


def users(n: int, prefix: str = "u") -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(external_user_id=f"{prefix}{i}")


def fleet_client(sim: BrazeSimulator, limits: RateLimits) -> BrazeClient:
    return BrazeClient(
        api_key=sim.api_key,
        base_url="https://rest.iad-01.braze.com",
        transport=sim.transport(),
        rate_limits=limits,
    )


def test_a_bulk_job_rides_out_a_redis_blip(
    server: _redis_server.RedisServer,
    workspace: str,
    on_retry: Callable[[Callable[[], object]], OnRetry],
) -> None:
    """Redis stalls in the middle of a bulk job and answers again a moment later (on the
    limiter's first retry): every recipient is sent, none failed, the job not interrupted."""
    sim = BrazeSimulator()
    watcher = on_retry(server.resume)
    n = 2_000

    def stall_once(progress: BulkProgress) -> None:
        if progress.requests >= 5 and watcher.action is not None and server.proc is not None:
            server.pause()

    async def main() -> Any:
        limits = fleet_limits(server.url, workspace, redis_retry_for=30)
        async with fleet_client(sim, limits) as braze:
            return await asyncio.wait_for(
                braze.send_bulk(Campaign("c"), users(n), concurrency=4, on_progress=stall_once),
                GUARD,
            )

    report = asyncio.run(main())
    assert watcher.seen == 1
    assert (report.sent, report.failed, report.interrupted) == (n, 0, False)
    assert sim.delivered_counts() == Counter({f"external_user_id:u{i}": 1 for i in range(n)})


def test_a_redis_that_stays_away_stops_a_bulk_job_and_the_rest_is_resent(
    server: _redis_server.RedisServer, workspace: str, tmp_path: Path
) -> None:
    """Redis dies in the middle of a 20,000-recipient job and stays away: after
    redis_retry_for the job stops (interrupted, a stop_reason naming the limiter and Redis),
    with only the requests then waiting marked failed (before: every recipient failed in a
    tenth of a second). Run again with the same journal once Redis is back: the rest is sent,
    each recipient exactly once."""
    sim = BrazeSimulator()
    journal = tmp_path / "job.journal"
    n, concurrency = 20_000, 8

    def kill_once(progress: BulkProgress) -> None:
        if progress.requests >= 10 and server.proc is not None:
            server.kill()

    async def job(on_progress: Callable[[BulkProgress], object] | None) -> Any:
        async with fleet_client(sim, fleet_limits(server.url, workspace)) as braze:
            return await asyncio.wait_for(
                braze.send_bulk(
                    Campaign("c"),
                    users(n),
                    concurrency=concurrency,
                    journal=journal,
                    on_progress=on_progress,
                ),
                GUARD,
            )

    first = asyncio.run(job(kill_once))
    assert first.interrupted
    assert first.stop_reason is not None
    assert "rate limiter" in first.stop_reason and "Redis" in first.stop_reason
    assert 0 < first.failed <= concurrency * 50
    assert first.sent >= 10 * 50
    assert first.unknown == 0

    server.restart()
    second = asyncio.run(job(None))
    assert second.ok
    assert second.already_sent == first.sent
    assert second.sent == n - first.sent
    assert sim.delivered_counts() == Counter({f"external_user_id:u{i}": 1 for i in range(n)})


# -- a restart empties the log; Braze's Remaining still caps the fleet ------------------------


def test_after_a_restart_remaining_caps_still_hold_the_fleet_back(
    server: _redis_server.RedisServer, workspace: str
) -> None:
    """Two processes (limiters) spend a fixed window of 10 between them; Redis restarts empty,
    so its log would admit 10 more at once. Each process still holds the Remaining it last
    saw: of the 10 they try, one request at most reaches Braze (and meets the 429 that pauses
    the fleet), the other nine wait for the window's end."""
    ft = FakeTime()  # frozen: the whole test happens inside one window
    sim = BrazeSimulator(clock=ft.simulator_clock(), window="fixed", external_id_rate=(10, 60))
    key = f"braze_async:{{{workspace}}}:{E.value}"
    auth = {"Authorization": f"Bearer {sim.api_key}"}

    async def send(lim: RateLimiter, http: httpx.AsyncClient, user: str) -> int | None:
        """One request if admitted at once: its status; None when the limiter held it back."""
        try:
            permit = await asyncio.wait_for(lim.acquire(E, max_wait=0.0), GUARD)
        except WaitTooLong:
            return None
        try:
            body = {"campaign_id": "c", "recipients": [{"external_user_id": user}]}
            answer = await http.post("/campaigns/trigger/send", json=body, headers=auth)
        finally:
            permit.release()
        lim.observe(E, answer.status_code, answer.headers)
        return answer.status_code

    async def main() -> list[int | None]:
        limits = fleet_limits(server.url, workspace, external_id=Rate(10, 60.0))
        fleet = [RateLimiter(limits, clock=ft) for _ in range(2)]
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b") as http:
            for i in range(5):
                for p, lim in enumerate(fleet):
                    assert await send(lim, http, f"p{p}-{i}") == 201
            server.restart()  # (the loop does not turn meanwhile: no release lands late)
            assert redis.Redis.from_url(server.url).zcard(key) == 0  # the log is empty
            after = [await send(lim, http, f"p{p}-late{i}") for i in range(5) for p, lim in
                     enumerate(fleet)]  # fmt: skip
        for lim in fleet:
            await lim.aclose()
        return after

    after = asyncio.run(main())
    assert sum(status is not None for status in after) <= 1
    assert sim.stats.rate_limited <= 1


# -- bounds and reports -----------------------------------------------------------------------

#: Nobody listens there: every connection is refused at once.
NOWHERE = "redis://127.0.0.1:1/0"


def test_a_max_wait_shorter_than_the_retry_bound_ends_a_redis_retry(workspace: str) -> None:
    """Redis refuses, redis_retry_for is 30 s, the caller waits 0.2 s at most: it fails at its
    own bound with LimiterUnavailable naming the trouble (not WaitTooLong: no budget is
    spent, Redis is away)."""

    async def main() -> float:
        async with RateLimiter(fleet_limits(NOWHERE, workspace, redis_retry_for=30.0)) as lim:
            started = time.monotonic()
            with pytest.raises(LimiterUnavailable, match="retrying Redis: ConnectionError"):
                await asyncio.wait_for(lim.acquire(A, max_wait=0.2), GUARD)
            return time.monotonic() - started

    assert asyncio.run(main()) < 30.0  # not retried for the engine's whole bound


def test_a_redis_that_stays_away_is_reported_once_per_outage(
    workspace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Past redis_retry_for every acquisition fails (each later one after a single try), but
    the log says "requests fail as never sent" once for the outage, not once per request."""

    async def main() -> None:
        async with RateLimiter(fleet_limits(NOWHERE, workspace, redis_retry_for=0.2)) as lim:
            for _ in range(3):
                with pytest.raises(LimiterUnavailable, match="Redis has failed"):
                    await asyncio.wait_for(lim.acquire(A), GUARD)

    with caplog.at_level(logging.WARNING, logger="braze_async"):
        asyncio.run(main())
    gave_up = [r for r in caplog.records if "fail as never sent" in r.getMessage()]
    assert len(gave_up) == 1


def test_aclose_gives_up_on_a_release_that_a_stalled_redis_holds(
    server: _redis_server.RedisServer, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis stalls (SIGSTOP) with a release pending, retried within redis_retry_for (30 s):
    aclose() waits for it only so long (5 s; 0.3 s here), then cancels it and closes. The
    slot, never rescored, still counts by its lease once Redis is back."""
    from braze_async._limits import _redis

    monkeypatch.setattr(_redis, "_CLOSE_WAIT", 0.3)
    key = f"braze_async:{{{workspace}}}:{A.value}"

    async def main() -> float:
        limits = fleet_limits(
            server.url, workspace, audience=Rate(1, 60.0), redis_retry_for=30.0, lease=5.0
        )
        lim = RateLimiter(limits)
        permit = await lim.acquire(A)
        server.pause()
        try:
            permit.release()  # in the background: it cannot reach Redis now
            started = time.monotonic()
            await asyncio.wait_for(lim.aclose(), GUARD)
            return time.monotonic() - started
        finally:
            server.resume()

    assert asyncio.run(main()) < 30.0  # the release's retries were not waited out
    client = redis.Redis.from_url(server.url)
    ((_, score),) = cast("list[tuple[bytes, float]]", client.zrange(key, 0, -1, withscores=True))
    seconds, micros = client.time()
    assert score / 1e6 - (seconds + micros / 1e6) > 60.0  # lease + period, not period


def test_a_cancelled_acquisition_whose_script_then_fails_leaves_nothing_behind(
    server: _redis_server.RedisServer, workspace: str
) -> None:
    """Cancelled while a stalled Redis holds its acquire script: the script's own failure (its
    timeout) comes later and is consumed quietly (no "exception was never retrieved"), and
    the caller holds nothing. (Redis may still run the script once resumed: that slot ends
    with its lease, like any whose acquisition timed out.)"""
    unhandled: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: unhandled.append(ctx))
        async with RateLimiter(fleet_limits(server.url, workspace, audience=Rate(1, 60.0))) as lim:
            await lim.acquire(A)  # connected (its slot is kept: no release to stall)
            server.pause()
            try:
                cancelled = asyncio.ensure_future(lim.acquire(A))
                await asyncio.sleep(0)  # it sent the script and waits for the reply
                cancelled.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await cancelled
                # The script times out (redis_timeout) on its own: wait until it has.
                deadline = time.monotonic() + GUARD
                while len(asyncio.all_tasks()) > 1:
                    assert time.monotonic() < deadline, "the acquire script never ended"
                    await asyncio.sleep(0.01)
            finally:
                server.resume()
            stats = lim.snapshot(A)
            assert (stats.waiting, stats.in_flight, stats.admitted) == (0, 1, 1)
        gc.collect()

    asyncio.run(main())
    assert not unhandled
