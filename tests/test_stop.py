"""A stop ends every wait of a request: ``_stop.until``, and the client's send path with it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from braze_async import (
    BrazeClient,
    BrazeConnectionError,
    BrazeUnknownOutcomeError,
    Campaign,
    Rate,
    RateLimiter,
    RateLimits,
    Recipient,
    RecipientOutcome,
    RetryPolicy,
)
from braze_async._limits import Bucket
from braze_async._models import CampaignTriggerRequest
from braze_async._stop import Stopped, until
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

KEY = "sk-test-0123456789-SECRET"
REQUEST = CampaignTriggerRequest(campaign_id="c", recipients=[Recipient(external_user_id="u1")])


# -- until ------------------------------------------------------------------------------------


async def test_without_a_stop_until_is_the_awaitable() -> None:
    """No stop event: the result, as if awaited directly."""

    async def answer() -> int:
        return 42

    assert await until(None, answer()) == 42
    assert await until(asyncio.Event(), answer()) == 42


async def test_a_stop_set_before_starts_nothing() -> None:
    """Once the stop is set no wait begins: the coroutine never runs (and is closed, so no
    'never awaited' warning)."""
    stop = asyncio.Event()
    stop.set()
    ran: list[str] = []

    async def wait() -> None:
        ran.append("started")

    with pytest.raises(Stopped, match="nothing was sent"):
        await until(stop, wait())
    assert ran == []


async def test_a_stop_cancels_the_wait_and_lets_it_unwind_first() -> None:
    """The stop set during the wait: the awaitable is cancelled, and its cleanup has run by
    the time Stopped is raised."""
    stop = asyncio.Event()
    steps: list[str] = []
    started = asyncio.Event()

    async def wait() -> None:
        steps.append("waiting")
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            steps.append("unwound")

    waiter = asyncio.ensure_future(until(stop, wait()))
    await started.wait()
    stop.set()
    with pytest.raises(Stopped):
        await waiter
    assert steps == ["waiting", "unwound"]


async def test_a_result_that_came_with_the_stop_is_used() -> None:
    """Both at once: the result wins (a permit granted is used, never dropped)."""
    stop = asyncio.Event()
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(until(stop, done))
    await asyncio.sleep(0)
    done.set_result("permit")
    stop.set()
    assert await waiter == "permit"


async def test_a_result_nobody_takes_after_a_cancel_goes_to_unused() -> None:
    """The caller cancelled just as the result came: the result is handed to ``unused`` (a
    permit given back), not lost."""
    stop = asyncio.Event()
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    given_back: list[str] = []
    waiter = asyncio.ensure_future(until(stop, done, unused=given_back.append))
    await asyncio.sleep(0)
    done.set_result("permit")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert given_back == ["permit"]


async def test_a_stopped_acquire_leaves_the_line_and_takes_nothing() -> None:
    """The rate limiter's wait, raced from outside: the stop ends it, the waiter leaves the
    line, and the budget is whole for the next caller."""
    limiter = RateLimiter(RateLimits(external_id=Rate(1, 3600.0)))
    held = await limiter.acquire(Bucket.EXTERNAL_ID)
    stop = asyncio.Event()
    waiter = asyncio.ensure_future(until(stop, limiter.acquire(Bucket.EXTERNAL_ID)))
    # No event tells of a caller joining the line: poll the limiter's public state.
    while limiter.snapshot(Bucket.EXTERNAL_ID).waiting < 1:  # noqa: ASYNC110
        await asyncio.sleep(0)
    stop.set()
    with pytest.raises(Stopped):
        await waiter
    stats = limiter.snapshot(Bucket.EXTERNAL_ID)
    assert (stats.waiting, stats.in_flight) == (0, 1)
    held.release(sent=False)
    again = await asyncio.wait_for(limiter.acquire(Bucket.EXTERNAL_ID), timeout=5)
    again.release()
    await limiter.aclose()


# -- the client's send path ---------------------------------------------------------------------


class Forever(FakeClock):
    """A clock whose sleeps never end by themselves (only a stop ends them)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float] = []

    async def sleep(self, delay: float) -> None:
        self.asked.append(delay)
        await asyncio.Event().wait()


def client(answers: list[httpx.Response], sleep: Forever, **kwargs: Any) -> BrazeClient:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answers.pop(0)

    kwargs.setdefault("rate_limits", None)
    return BrazeClient(
        api_key=KEY,
        instance="iad-01",
        transport=httpx.MockTransport(handler),
        clock=sleep,
        **kwargs,
    )


async def stopped_while_sleeping(braze: BrazeClient, sleep: Forever) -> BaseException:
    """Send REQUEST with a stop, set it once the retry's sleep began; what the call raised."""
    stop = asyncio.Event()
    call = asyncio.ensure_future(braze._post("/campaigns/trigger/send", REQUEST, stop=stop))
    while not sleep.asked:
        assert not call.done(), call
        await asyncio.sleep(0)
    stop.set()
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the test asserts the type
        await asyncio.wait_for(call, timeout=5)  # bounded: a regression sleeps for ever
    return caught.value


async def test_a_stop_ends_a_retrys_sleep_and_the_request_fails_unsent() -> None:
    """A 503, then the backoff sleep: the stop ends it, no second attempt is made, and the
    call fails as never sent (Braze refused the first)."""
    sleep = Forever()
    answers = [httpx.Response(503, json={"message": "down"})]
    async with client(answers, sleep) as braze:
        error = await stopped_while_sleeping(braze, sleep)
    assert isinstance(error, BrazeConnectionError), error
    assert "stopped waiting" in str(error) and "nothing was sent" in str(error)
    assert isinstance(error.__cause__, Stopped)
    assert answers == []  # exactly one attempt


async def test_a_stop_after_an_ambiguous_answer_leaves_the_request_unknown() -> None:
    """A 504 retried (retry_ambiguous), the stop during the sleep: unknown, never failed."""
    sleep = Forever()
    answers = [httpx.Response(504, json={"message": "gateway timeout"})]
    policy = RetryPolicy(retry_ambiguous=True)
    async with client(answers, sleep, retry=policy) as braze:
        error = await stopped_while_sleeping(braze, sleep)
    assert isinstance(error, BrazeUnknownOutcomeError), error


async def test_a_stop_set_before_the_call_sends_nothing() -> None:
    """With or without a rate limiter, a set stop: no attempt leaves, never sent."""
    for limits in (None, RateLimits()):
        sleep = Forever()
        answers = [httpx.Response(201, json={"dispatch_id": "d", "message": "success"})]
        stop = asyncio.Event()
        stop.set()
        async with client(answers, sleep, rate_limits=limits) as braze:
            with pytest.raises(BrazeConnectionError, match="nothing was sent"):
                await braze._post("/campaigns/trigger/send", REQUEST, stop=stop)
        assert len(answers) == 1  # nobody asked


async def test_a_bulk_jobs_stop_ends_its_retries_backoff_and_the_journal_says_failed(
    tmp_path: Path,
) -> None:
    """Two batches answered 503, each waiting out its backoff (no rate limiter on the way):
    the stop ends both waits at once, the batches are failed and journaled so (a resumed job
    sends them), and the report says "stopped"."""
    sleep = Forever()
    journal = tmp_path / "job.journal"
    answers = [httpx.Response(503, json={"message": "down"}) for _ in range(2)]
    stop = asyncio.Event()
    outcomes: list[RecipientOutcome] = []
    async with client(answers, sleep) as braze:
        job = asyncio.ensure_future(
            braze.send_bulk(
                Campaign("weekly"),
                [Recipient(external_user_id=f"u{i}") for i in range(100)],
                journal=journal,
                concurrency=2,
                stop=stop,
                on_outcome=outcomes.append,
            )
        )
        while len(sleep.asked) < 2:
            assert not job.done(), job
            await asyncio.sleep(0)
        stop.set()
        report = await asyncio.wait_for(job, timeout=5)  # bounded: a regression sleeps
    assert (report.sent, report.failed, report.unknown, report.requests) == (0, 100, 0, 2)
    assert report.stop_reason == "stopped"
    assert {o.outcome for o in outcomes} == {"failed"}
    assert all("stopped waiting" in o.reason for o in outcomes)
    ends = [orjson.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert [e["outcome"] for e in ends if "end" in e] == ["failed", "failed"]
