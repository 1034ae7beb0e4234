"""What the client tells: hooks (``on_event``) and the ``braze_async`` logger.

End to end against the simulator over loopback HTTP where it can make the case (success,
lost answers, refusals, 429s, limiter waits), ``httpx.MockTransport`` where a precise
sequence of answers is needed (a 503 then a 201, non-fatal errors).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence

import httpx
import orjson
import pytest

from braze_async import (
    BrazeAuthenticationError,
    BrazeClient,
    BrazeEvent,
    BrazeUnknownOutcomeError,
    Campaign,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
)
from braze_async._events import Events
from braze_async._logs import log_event
from braze_async.events import (
    AnswerReceived,
    AttemptStarted,
    LimiterWaited,
    OutcomeUnknown,
    RequestFailed,
    RequestSucceeded,
    RetryScheduled,
)
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(backoff_initial=0.001, backoff_max=0.002)
TWO = [Recipient(external_user_id="u1"), Recipient(external_user_id="u2")]
OK = {"dispatch_id": "d1", "message": "success"}


def kinds(events: Sequence[BrazeEvent]) -> list[tuple[str, int]]:
    return [(type(e).__name__, e.attempt) for e in events]


def answers(*replies: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    queue: Iterator[httpx.Response] = iter(replies)
    return lambda request: next(queue)


def notable(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(level, event) of the records at INFO and above."""
    return [
        (r.levelname, getattr(r, "event", "?"))
        for r in caplog.records
        if r.name == "braze_async" and r.levelno >= logging.INFO
    ]


async def test_a_success_is_told_attempt_answer_success() -> None:
    """Hooks see the attempt leave, the answer and the success, with the same fields."""
    seen: list[BrazeEvent] = []
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, on_event=seen.append) as braze,
    ):
        await braze.send(Campaign("c"), recipients=TWO)
    assert kinds(seen) == [
        ("AttemptStarted", 1),
        ("AnswerReceived", 1),
        ("RequestSucceeded", 1),
    ]
    for event in seen:
        assert (event.endpoint, event.recipients, event.bucket) == (
            "/campaigns/trigger/send",
            2,
            "external_id",
        )
    answer = seen[1]
    assert isinstance(answer, AnswerReceived)
    assert answer.status == 201
    assert answer.elapsed > 0
    assert answer.headers["x-ratelimit-limit"] == "250000"


async def test_a_retry_is_told_with_its_delay_and_the_failed_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """503 then 201: the retry decision is one event and one INFO record, then attempt 2."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []
    transport = httpx.MockTransport(answers(httpx.Response(503), httpx.Response(201, json=OK)))
    async with BrazeClient(
        api_key="k", instance="iad-01", transport=transport, retry=FAST, on_event=[seen.append]
    ) as braze:
        await braze.send(Campaign("c"), recipients=TWO)
    assert kinds(seen) == [
        ("AttemptStarted", 1),
        ("AnswerReceived", 1),
        ("RetryScheduled", 1),
        ("AttemptStarted", 2),
        ("AnswerReceived", 2),
        ("RequestSucceeded", 2),
    ]
    retry = seen[2]
    assert isinstance(retry, RetryScheduled)
    assert (retry.status, retry.reason) == (503, "HTTP 503")
    assert 0 <= retry.delay <= 0.001
    assert notable(caplog) == [("INFO", "retry")]
    record = next(r for r in caplog.records if getattr(r, "event", "") == "retry")
    assert (record.endpoint, record.status, record.attempt, record.recipients) == (  # type: ignore[attr-defined]
        "/campaigns/trigger/send",
        503,
        1,
        2,
    )


async def test_an_unknown_outcome_is_told_once(caplog: pytest.LogCaptureFixture) -> None:
    """A connection dropped after processing: no answer, one OutcomeUnknown, one WARNING."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []
    async with (
        BrazeSimulator(drop_after=1.0, seed=1) as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, on_event=seen.append) as braze,
    ):
        with pytest.raises(BrazeUnknownOutcomeError) as info:
            await braze.send(Campaign("c"), recipients=TWO)
    assert kinds(seen) == [("AttemptStarted", 1), ("OutcomeUnknown", 1)]
    unknown = seen[1]
    assert isinstance(unknown, OutcomeUnknown)
    assert unknown.error is info.value
    assert unknown.status is None
    assert notable(caplog) == [("WARNING", "unknown")]


async def test_a_final_failure_is_told_once(caplog: pytest.LogCaptureFixture) -> None:
    """A refused key: one answer, one RequestFailed with the error raised, one WARNING."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []
    async with (
        BrazeSimulator(api_key="right") as sim,
        BrazeClient(api_key="wrong", base_url=sim.base_url, on_event=seen.append) as braze,
    ):
        with pytest.raises(BrazeAuthenticationError) as info:
            await braze.send(Campaign("c"), broadcast=True)
    assert kinds(seen) == [("AttemptStarted", 1), ("AnswerReceived", 1), ("RequestFailed", 1)]
    failed = seen[2]
    assert isinstance(failed, RequestFailed)
    assert (failed.error, failed.status, failed.bucket, failed.recipients) == (
        info.value,
        401,
        "audience",
        0,
    )
    assert notable(caplog) == [("WARNING", "failed")]


async def test_a_429_is_logged_once_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Braze's 429 (the client's own limiter off) is retried after its reset: one WARNING."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []
    clock = FakeClock()
    async with (
        BrazeSimulator(external_id_rate="1/60", clock=clock) as sim,
        BrazeClient(
            api_key=sim.api_key,
            base_url=sim.base_url,
            rate_limits=None,
            on_event=seen.append,
            clock=clock,
        ) as braze,
    ):
        await braze.send(Campaign("c"), recipients=TWO)
        await braze.send(Campaign("c"), recipients=TWO)  # the window is full: 429
    assert [r for r in notable(caplog)] == [("WARNING", "retry")]
    retry = next(e for e in seen if isinstance(e, RetryScheduled))
    assert retry.status == 429
    assert retry.reason == "rate limited"
    assert retry.delay == 60.0
    assert (sim.stats.rate_limited, sim.stats.accepted) == (1, 2)


async def test_a_limiter_wait_is_told_with_the_seconds_waited() -> None:
    """A request the client-side limiter holds back: LimiterWaited before its attempt."""
    seen: list[BrazeEvent] = []
    clock = FakeClock()
    async with BrazeSimulator() as sim:
        limits = RateLimits(external_id=Rate(1, 0.2))
        # The limiter on fake time: the second request waits exactly the window.
        async with BrazeClient(
            api_key=sim.api_key,
            base_url=sim.base_url,
            rate_limits=limits,
            on_event=seen.append,
            clock=clock,
        ) as braze:
            await braze.send(Campaign("c"), recipients=TWO)
            await braze.send(Campaign("c"), recipients=TWO)
    waits = [e for e in seen if isinstance(e, LimiterWaited)]
    assert len(waits) == 1
    assert waits[0].waited == pytest.approx(0.2)
    assert (waits[0].attempt, waits[0].bucket) == (1, "external_id")
    assert isinstance(seen[seen.index(waits[0]) + 1], AttemptStarted)


def test_limiter_waits_longer_than_a_second_are_info(caplog: pytest.LogCaptureFixture) -> None:
    """The threshold: a wait of 1.5 s is an INFO record with ``waited``; 0.5 s is DEBUG."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    trace = Events([log_event]).trace("/campaigns/trigger/send", "external_id", 3)
    trace.admitted(0.5)
    trace.admitted(1.5)
    records = [r for r in caplog.records if getattr(r, "event", "") == "limiter_wait"]
    assert [(r.levelname, r.waited) for r in records] == [("DEBUG", 0.5), ("INFO", 1.5)]  # type: ignore[attr-defined]
    assert records[1].recipients == 3  # type: ignore[attr-defined]


async def test_non_fatal_errors_are_logged_once_and_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A success that carries Braze's non-fatal errors: one WARNING naming them."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []
    body = {**OK, "errors": [{"code": "unknown_user", "message": "u2 not found"}]}
    transport = httpx.MockTransport(answers(httpx.Response(201, json=body)))
    # (a key long enough not to occur in the answer: answers are redacted for it)
    async with BrazeClient(
        api_key="test-key-1234", instance="iad-01", transport=transport, on_event=seen.append
    ) as braze:
        await braze.send(Campaign("c"), recipients=TWO)
    assert notable(caplog) == [("WARNING", "non_fatal_errors")]
    assert "unknown_user: u2 not found" in caplog.records[-1].getMessage()
    done = seen[-1]
    assert isinstance(done, RequestSucceeded)
    assert [e.code for e in done.errors] == ["unknown_user"]


async def test_every_attempt_and_answer_is_a_debug_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At DEBUG each attempt and each answer is a record with structured fields."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        await braze.send(Campaign("c"), recipients=TWO)
    debug = [r for r in caplog.records if r.name == "braze_async" and r.levelno == logging.DEBUG]
    assert [getattr(r, "event", "") for r in debug] == ["attempt", "answer"]
    assert debug[1].getMessage().startswith("POST /campaigns/trigger/send -> 201 in ")
    assert debug[1].status == 201  # type: ignore[attr-defined]
    assert notable(caplog) == []  # a plain success says nothing above DEBUG


async def test_a_hook_that_raises_never_breaks_a_send(caplog: pytest.LogCaptureFixture) -> None:
    """A failing hook is logged once, with its traceback; the sends succeed and the other
    hooks still see every event. An async hook is refused the same way, never awaited."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []

    def broken(event: BrazeEvent) -> None:
        raise RuntimeError("hook bug")

    async def not_sync(event: BrazeEvent) -> None:
        return None

    async with (
        BrazeSimulator() as sim,
        BrazeClient(
            api_key=sim.api_key, base_url=sim.base_url, on_event=[broken, not_sync, seen.append]
        ) as braze,
    ):
        for _ in range(3):
            r = await braze.send(Campaign("c"), recipients=TWO)
            assert r.dispatch_id
    assert len(seen) == 9
    failures = [r for r in caplog.records if getattr(r, "event", "") == "hook_failed"]
    assert len(failures) == 2
    assert failures[0].exc_info is not None and "hook bug" in str(failures[0].exc_info[1])
    assert "synchronously" in str(failures[1].exc_info[1])  # type: ignore[index]


def run_with_env(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A send through MockTransport in a fresh interpreter with *env*."""
    code = (
        "import asyncio, httpx\n"
        "from braze_async import BrazeClient, Campaign, Recipient\n"
        "async def main():\n"
        "    t = httpx.MockTransport(lambda r: httpx.Response(201,"
        " json={'dispatch_id': 'd', 'message': 'success'}))\n"
        "    async with BrazeClient(api_key='sk-ENVLOG-secret', instance='iad-01', transport=t)"
        " as b:\n"
        "        await b.send(Campaign('c'), recipients=[Recipient(external_user_id='u')])\n"
        "asyncio.run(main())\n"
    )
    clean = {k: v for k, v in os.environ.items() if k != "BRAZE_LOG"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_braze_log_debug_turns_a_stderr_handler_on() -> None:
    """BRAZE_LOG=debug prints every attempt and answer on stderr, with no code; unset, the
    library prints nothing; the key never shows."""
    out = run_with_env({"BRAZE_LOG": "debug"})
    assert "DEBUG] POST /campaigns/trigger/send -> 201 in " in out.stderr
    assert "braze_async" in out.stderr
    assert "sk-ENVLOG-secret" not in out.stderr + out.stdout
    assert run_with_env({"BRAZE_LOG": "info"}).stderr == ""  # a success is quiet at INFO
    assert run_with_env({}).stderr == ""


def test_braze_log_adds_one_handler_however_often_it_is_read() -> None:
    """Reading the environment twice does not print records twice."""
    from braze_async._logs import log_from_environment, logger

    before = list(logger.handlers)
    level = logger.level
    try:
        log_from_environment({"BRAZE_LOG": "INFO"})
        log_from_environment({"BRAZE_LOG": "debug"})
        assert len(logger.handlers) == len(before) + 1
        assert logger.level == logging.DEBUG
        log_from_environment({"BRAZE_LOG": "loud"})  # unknown: nothing changes
        assert logger.level == logging.DEBUG
    finally:
        logger.handlers[:] = before
        logger.setLevel(level)


async def test_events_are_plain_values() -> None:
    """Events are frozen attrs values with a readable repr (headers left out of it)."""
    seen: list[BrazeEvent] = []
    body = orjson.dumps(OK)
    transport = httpx.MockTransport(lambda r: httpx.Response(201, content=body))
    async with BrazeClient(
        api_key="k", instance="iad-01", transport=transport, on_event=seen.append
    ) as braze:
        await braze.send_transactional("t", Recipient(external_user_id="u"))
    assert "AnswerReceived(endpoint='/transactional/v1/campaigns/t/send', attempt=1" in repr(
        seen[1]
    )
    assert "headers" not in repr(seen[1])
    assert seen[0].bucket is None
    assert seen[0].recipients == 1


async def test_the_events_that_end_an_attempt_tell_its_whole_story(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lost answer, then a 201 (ambiguous retries allowed): the retry carries the attempt's
    start and what came instead of an answer (logged at DEBUG from it); the success carries
    its own start. Every event names the client's REST endpoint."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    seen: list[BrazeEvent] = []
    replies = iter([None, httpx.Response(201, json=OK)])

    def reply(request: httpx.Request) -> httpx.Response:
        answer = next(replies)
        if answer is None:
            raise httpx.ReadTimeout("slow", request=request)  # sent: the answer is lost
        return answer

    async with BrazeClient(
        api_key="k",
        instance="iad-01",
        transport=httpx.MockTransport(reply),
        retry=RetryPolicy(backoff_initial=0.001, backoff_max=0.002, retry_ambiguous=True),
        on_event=seen.append,
    ) as braze:
        await braze.send(Campaign("c"), recipients=TWO)
    assert kinds(seen) == [
        ("AttemptStarted", 1),
        ("RetryScheduled", 1),
        ("AttemptStarted", 2),
        ("AnswerReceived", 2),
        ("RequestSucceeded", 2),
    ]
    first, retry, second, _, done = seen
    assert isinstance(retry, RetryScheduled) and isinstance(done, RequestSucceeded)
    assert retry.started is first and done.started is second
    assert retry.no_answer is not None and retry.no_answer.kind == "MaybeProcessed"
    assert isinstance(first, AttemptStarted) and first.waited == 0.0 and first.time_ns > 0
    assert {e.base_url for e in seen} == {"https://rest.iad-01.braze.com"}
    records = [(r.levelname, getattr(r, "event", "?")) for r in caplog.records]
    assert records[:3] == [("DEBUG", "attempt"), ("DEBUG", "no_answer"), ("INFO", "retry")]
    assert caplog.records[1].reason == retry.no_answer.reason  # type: ignore[attr-defined]
