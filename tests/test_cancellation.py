"""Cancellation: a cancelled caller, bulk job or client leaves nothing behind and loses nobody.

``send_to_user`` callers, bulk jobs and whole clients are cancelled mid-run by
``task.cancel()``, ``asyncio.timeout`` and anyio cancel scopes (``move_on_after``,
``CancelScope.cancel``), against a simulator in a background thread with latency. The
cancellation comes from an ``on_event`` hook when a chosen attempt leaves, never after a
sleep: what is in flight and what waits is then the same on any machine. Afterwards
no task of ours is left running, no socket to the simulator stays open (ResourceWarnings are
errors too), and a cancelled bulk job's journal is consistent: resuming it resends nobody
confirmed sent and reports the batches that were in flight as unknown.
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import anyio
import orjson
import psutil
import pytest

from braze_async import (
    Batching,
    BrazeClient,
    BrazeError,
    BrazeEvent,
    Campaign,
    Recipient,
    SendResult,
)
from braze_async.events import AttemptStarted
from braze_async.simulator import ThreadedSimulator

pytestmark = pytest.mark.anyio

KEY = "sk-cancel-0123456789"
#: ``asyncio.timeout`` (Python 3.11+); the tests using it are skipped on 3.10.
asyncio_timeout: Any = getattr(asyncio, "timeout", None)
needs_asyncio_timeout = pytest.mark.skipif(
    asyncio_timeout is None, reason="asyncio.timeout is Python 3.11+"
)


@pytest.fixture
def sim() -> Iterator[ThreadedSimulator]:
    with ThreadedSimulator(KEY, latency=0.1, seed=3) as s:
        yield s


def users(n: int, prefix: str = "u") -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(external_user_id=f"{prefix}{i}")


def open_sockets_to(sim: ThreadedSimulator) -> list[Any]:
    port = int(sim.base_url.rsplit(":", 1)[1])
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status != psutil.CONN_TIME_WAIT
    ]


async def assert_nothing_left(before: set[asyncio.Task[Any]], sim: ThreadedSimulator) -> None:
    """No task of ours still running, no socket to the simulator open (after a short settle)."""
    me = asyncio.current_task()
    deadline = time.monotonic() + 5.0
    while True:
        gc.collect()  # an unclosed session or transport warns now, inside the test
        tasks = {t for t in asyncio.all_tasks() if t is not me and t not in before}
        sockets = open_sockets_to(sim)
        if not tasks and not sockets:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"left behind: tasks={tasks} sockets={sockets}")
        await asyncio.sleep(0.02)


def tasks_now() -> set[asyncio.Task[Any]]:
    return set(asyncio.all_tasks())


class OnAttempt:
    """An ``on_event`` hook that runs ``action`` once, as the ``nth`` attempt leaves: in the
    attempt's own task, before its request is written, so nothing has been answered yet."""

    def __init__(self, nth: int = 1) -> None:
        self.nth = nth
        self.started = 0
        self.action: Callable[[], object] | None = None

    def __call__(self, event: BrazeEvent) -> None:
        if isinstance(event, AttemptStarted):
            self.started += 1
            if self.started == self.nth and self.action is not None:
                self.action()


def expire_now(scope: Any) -> Callable[[], object]:
    """Make an ``asyncio.timeout`` scope expire at the next tick."""
    return lambda: scope.reschedule(asyncio.get_running_loop().time())


def deadline_now(scope: anyio.CancelScope) -> Callable[[], object]:
    """Move an anyio scope's deadline to now (it cancels at once)."""
    return lambda: setattr(scope, "deadline", anyio.current_time())


# -- send_to_user ------------------------------------------------------------------------------


async def test_cancelled_callers_leave_their_batch_or_ride_it_and_nothing_leaks(
    sim: ThreadedSimulator,
) -> None:
    """Callers cancelled while waiting are never sent; those cancelled in flight are; no leak."""
    before = tasks_now()
    first_leaves = OnAttempt()
    braze = BrazeClient(
        api_key=KEY,
        base_url=sim.base_url,
        on_event=first_leaves,
        batching=Batching(max_concurrency=1),
    )
    recipients = list(users(120))
    calls = [asyncio.create_task(braze.send_one(Campaign("welcome"), r)) for r in recipients]

    def cancel_the_last_80() -> None:  # the first 50 are in flight, 70 wait
        for call in calls[40:]:
            call.cancel()

    first_leaves.action = cancel_the_last_80
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, SendResult) for r in results[:40])
    assert all(isinstance(r, asyncio.CancelledError) for r in results[40:])
    await braze.aclose()
    delivered = sim.delivered_counts()
    # In flight when cancelled: sent anyway (it had left). Still waiting: never sent.
    assert delivered == {f"external_user_id:u{i}": 1 for i in range(50)}
    await assert_nothing_left(before, sim)


@needs_asyncio_timeout
async def test_a_timeout_on_one_call_leaves_the_client_usable(sim: ThreadedSimulator) -> None:
    """asyncio.timeout around a send_to_user in flight: TimeoutError, then the next call works."""
    before = tasks_now()
    leaves = OnAttempt()
    async with BrazeClient(api_key=KEY, base_url=sim.base_url, on_event=leaves) as braze:

        async def late() -> None:
            async with asyncio_timeout(None) as timeout:
                leaves.action = expire_now(timeout)  # once the request is on its way
                await braze.send_one(Campaign("c"), Recipient(external_user_id="late"))

        with pytest.raises(TimeoutError):
            await late()
        result = await braze.send_one(Campaign("c"), Recipient(external_user_id="next"))
        assert result.dispatch_id
    await assert_nothing_left(before, sim)
    assert sim.delivered_counts()["external_user_id:next"] == 1


@pytest.mark.parametrize("how", ["move_on_after", "cancel_scope"])
async def test_anyio_cancel_scopes_around_send_to_user(sim: ThreadedSimulator, how: str) -> None:
    """anyio move_on_after / CancelScope.cancel around many callers, while their first request
    is in flight: all cancelled, none answered, no leak."""
    before = tasks_now()
    first_leaves = OnAttempt()
    async with BrazeClient(api_key=KEY, base_url=sim.base_url, on_event=first_leaves) as braze:
        done: list[SendResult] = []

        async def call(r: Recipient) -> None:
            done.append(await braze.send_one(Campaign("c"), r))

        if how == "move_on_after":
            with anyio.move_on_after(math.inf) as scope:
                first_leaves.action = deadline_now(scope)
                async with anyio.create_task_group() as tg:
                    for r in users(200):
                        tg.start_soon(call, r)
            assert scope.cancelled_caught
        else:
            async with anyio.create_task_group() as tg:
                first_leaves.action = tg.cancel_scope.cancel
                for r in users(200):
                    tg.start_soon(call, r)
            scope = tg.cancel_scope
        assert scope.cancel_called and not done
        again = await braze.send_one(Campaign("c"), Recipient(external_user_id="after"))
        assert again.dispatch_id
    await assert_nothing_left(before, sim)
    assert max(sim.delivered_counts().values()) == 1


async def test_cancelling_the_task_that_owns_the_client_closes_it(sim: ThreadedSimulator) -> None:
    """The whole client cancelled mid-run (its owner task): pool closed, no task, no socket."""
    before = tasks_now()
    fifth_leaves = OnAttempt(5)  # batches and bulk requests in flight

    async def owner() -> None:
        async with BrazeClient(api_key=KEY, base_url=sim.base_url, on_event=fifth_leaves) as b:
            await asyncio.gather(
                *(b.send_one(Campaign("c"), r) for r in users(300)),
                b.send_bulk(Campaign("bulk"), users(1_000, prefix="b")),
            )

    task = asyncio.create_task(owner())
    fifth_leaves.action = task.cancel
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fifth_leaves.started >= 5
    await assert_nothing_left(before, sim)
    # Nobody twice; the send_one callers cancelled before their request left are not sent
    # at all (their requests may not have left yet: possibly nobody was delivered).
    assert set(sim.delivered_counts().values()) <= {1}


async def test_the_whole_client_under_a_cancelled_anyio_scope_closes_cleanly(
    sim: ThreadedSimulator,
) -> None:
    """move_on_after around `async with BrazeClient`: aclose runs under a cancelled scope."""
    before = tasks_now()
    third_leaves = OnAttempt(3)
    with anyio.move_on_after(math.inf) as scope:
        third_leaves.action = deadline_now(scope)
        async with BrazeClient(api_key=KEY, base_url=sim.base_url, on_event=third_leaves) as braze:
            await braze.send_bulk(Campaign("bulk"), users(2_000))
    assert scope.cancelled_caught
    await assert_nothing_left(before, sim)
    with pytest.raises(BrazeError, match="closed"):
        await braze.send_one(Campaign("c"), Recipient(external_user_id="u"))


# -- bulk jobs and their journal -------------------------------------------------------------


Job = Callable[[], Coroutine[Any, Any, Any]]


async def _by_task_cancel(job: Job, when: OnAttempt) -> None:
    task = asyncio.create_task(job())
    when.action = task.cancel
    with pytest.raises(asyncio.CancelledError):
        await task


async def _by_asyncio_timeout(job: Job, when: OnAttempt) -> None:
    async def bounded() -> None:
        async with asyncio_timeout(None) as timeout:
            when.action = expire_now(timeout)
            await job()

    with pytest.raises(TimeoutError):
        await bounded()


async def _by_anyio_move_on_after(job: Job, when: OnAttempt) -> None:
    with anyio.move_on_after(math.inf) as scope:
        when.action = deadline_now(scope)
        await job()
    assert scope.cancelled_caught


def journal_state(path: Path) -> tuple[set[int], set[int], set[int]]:
    """Positions the journal shows (sent, failed, begun without an end or ended unknown)."""
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    begun: dict[int, list[int]] = {}
    for r in records:
        if "begin" in r:
            flat = r["pos"]
            begun[r["begin"]] = [p for i in range(0, len(flat), 2) for p in range(*flat[i : i + 2])]
    ends = {r["end"]: r["outcome"] for r in records if "end" in r}
    sent = {p for b, ps in begun.items() if ends.get(b) == "sent" for p in ps}
    failed = {p for b, ps in begun.items() if ends.get(b) == "failed" for p in ps}
    unknown = {p for b, ps in begun.items() if ends.get(b, "unknown") == "unknown" for p in ps}
    return sent, failed, unknown


@pytest.mark.parametrize(
    "cancel",
    [
        pytest.param(_by_task_cancel, id="task.cancel"),
        pytest.param(_by_asyncio_timeout, id="asyncio.timeout", marks=needs_asyncio_timeout),
        pytest.param(_by_anyio_move_on_after, id="anyio.move_on_after"),
    ],
)
@pytest.mark.parametrize("scope", ["job", "client"])
async def test_a_cancelled_bulk_job_resumes_without_resending_anyone(
    tmp_path: Path,
    sim: ThreadedSimulator,
    cancel: Callable[[Job, OnAttempt], Awaitable[None]],
    scope: str,
) -> None:
    """Cancelled mid-job (or with its client): resume skips the sent, reports in-flight unknown."""
    n = 2_000
    journal = tmp_path / "job.journal"
    before = tasks_now()
    # As the sixth request leaves: four slots, so at least two batches were answered and
    # journaled before it (a slot is freed after its end record), and it is in flight.
    sixth_leaves = OnAttempt(6)

    if scope == "job":
        braze = BrazeClient(api_key=KEY, base_url=sim.base_url, on_event=sixth_leaves)

        async def job() -> Any:
            return await braze.send_bulk(
                Campaign("weekly"), users(n), journal=journal, concurrency=4
            )

        await cancel(job, sixth_leaves)
        await braze.aclose()
    else:

        async def job() -> Any:
            async with BrazeClient(
                api_key=KEY, base_url=sim.base_url, on_event=sixth_leaves
            ) as owned:
                return await owned.send_bulk(
                    Campaign("weekly"), users(n), journal=journal, concurrency=4
                )

        await cancel(job, sixth_leaves)
    await assert_nothing_left(before, sim)

    sent, failed, unknown = journal_state(journal)
    first = sim.delivered_counts()
    assert len(sent) >= 100 and len(unknown) >= 50, "in flight when cancelled: unknown"
    assert len(sent) + len(unknown) < n, "cancelled mid-job"
    assert not failed
    assert all(first[f"external_user_id:u{p}"] == 1 for p in sent)

    async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
        report = await braze.send_bulk(Campaign("weekly"), users(n), journal=journal)
    assert report.already_sent == len(sent)
    assert report.unknown == len(unknown)
    assert report.sent == n - len(sent) - len(unknown)
    delivered = sim.delivered_counts()
    assert max(delivered.values()) == 1, "nobody confirmed sent (or maybe sent) was resent"
    everyone = {f"external_user_id:u{i}" for i in range(n)}
    maybe = {f"external_user_id:u{p}" for p in unknown}
    assert everyone - maybe <= delivered.keys() <= everyone
    await assert_nothing_left(before, sim)
