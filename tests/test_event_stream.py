"""The event stream builds an event only for a consumer that takes it.

The log's consumer takes an attempt's start and its answer only while the ``braze_async``
logger is enabled for DEBUG (and a plain success only for WARNING); OpenTelemetry takes
neither an answer nor a limiter wait (it reads the attempt's end); a plain hook takes every
event. An event nobody takes is never made, and what each consumer gets is the whole,
unchanged event: the construction counts below prove both.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from braze_async import BrazeClient, BrazeEvent, Campaign, OpenTelemetry, Recipient, events
from braze_async._errors import BrazeServerError, ErrorDetail
from braze_async._events import Events
from braze_async._http import Answer, MaybeProcessed
from braze_async._logs import log_event
from braze_async._retry import GiveUp, Retry
from braze_async.events import (
    AnswerReceived,
    AttemptStarted,
    LimiterWaited,
    OutcomeUnknown,
    RequestFailed,
    RequestSucceeded,
    RetryScheduled,
)

pytestmark = pytest.mark.anyio

#: Every kind of event a user can be handed.
KINDS = [
    kind
    for kind in vars(events).values()
    if isinstance(kind, type) and issubclass(kind, BrazeEvent)
]
OK = Answer(201, {"content-type": "application/json"}, b"{}")
TWO = [Recipient(external_user_id="u1"), Recipient(external_user_id="u2")]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the events made, by kind (every construction goes through ``__init__``)."""
    made: Counter[str] = Counter()
    for kind in KINDS:
        original = kind.__init__

        def counting(self: Any, *args: Any, __original: Any = original, **kw: Any) -> None:
            made[type(self).__name__] += 1
            __original(self, *args, **kw)

        monkeypatch.setattr(kind, "__init__", counting)
    return made


@pytest.fixture
def quiet() -> Iterator[None]:
    """The ``braze_async`` logger at WARNING, as an application that configured nothing."""
    logger = logging.getLogger("braze_async")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def a_success(events: Events, waited: float | None = 0.0) -> None:
    """One call's steps, as the request path reports them: admitted, started, answered 201."""
    trace = events.trace("/campaigns/trigger/send", "external_id", 2)
    if waited is not None:
        trace.admitted(waited)
    trace.started()
    trace.answered(OK)
    trace.succeeded(())


def test_no_event_is_made_when_nothing_takes_it(
    built: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Only the log listens, and at WARNING a plain success logs nothing: no event at all.
    A success with Braze's non-fatal errors is made for the log, with its attempt's start."""
    caplog.set_level(logging.WARNING, logger="braze_async")
    a_success(Events([log_event]))
    a_success(Events([]))
    assert built == Counter()
    trace = Events([log_event]).trace("/campaigns/trigger/send", "external_id", 2)
    trace.started()
    trace.answered(OK)
    trace.succeeded((ErrorDetail("unknown_user", "u2 not found"),))
    assert built == Counter({"RequestSucceeded": 1, "AttemptStarted": 1})
    assert [getattr(r, "event", "") for r in caplog.records] == ["non_fatal_errors"]
    caplog.set_level(logging.ERROR, logger="braze_async")
    trace = Events([log_event]).trace("/campaigns/trigger/send", "external_id", 2)
    trace.started()
    trace.answered(OK)
    trace.succeeded((ErrorDetail("unknown_user", "u2 not found"),))
    assert built == Counter({"RequestSucceeded": 1, "AttemptStarted": 1})  # none more


def test_at_debug_the_log_takes_the_start_and_the_answer(
    built: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The log's level is read at each event: turned to DEBUG, the next call's start and answer
    are made and logged."""
    events = Events([log_event])
    caplog.set_level(logging.INFO, logger="braze_async")
    a_success(events)
    assert built == Counter()
    caplog.set_level(logging.DEBUG, logger="braze_async")
    a_success(events)
    assert built == Counter({"AttemptStarted": 1, "AnswerReceived": 1})
    assert [getattr(r, "event", "") for r in caplog.records] == ["attempt", "answer"]


def test_opentelemetry_is_handed_the_start_and_the_end_only(
    built: Counter[str], quiet: None
) -> None:
    """OpenTelemetry records the wait at the start and the span at the end: the answer and the
    limiter's wait are not made for it."""
    recorder = OpenTelemetry(TracerProvider(), MeterProvider())
    a_success(Events([log_event, recorder]), waited=0.5)
    assert built == Counter({"AttemptStarted": 1, "RequestSucceeded": 1})


def test_a_hook_gets_every_event_whole(built: Counter[str], quiet: None) -> None:
    """A plain hook takes everything, in order, with every field, as without the others."""
    seen: list[BrazeEvent] = []
    a_success(Events([log_event, seen.append, OpenTelemetry()], base_url="https://b"), 0.5)
    assert [type(e) for e in seen] == [
        LimiterWaited,
        AttemptStarted,
        AnswerReceived,
        RequestSucceeded,
    ]
    assert built == Counter(type(e).__name__ for e in seen)  # each made once, shared
    waited, started, answer, success = seen
    common = ("/campaigns/trigger/send", 1, 2, "external_id", "https://b")
    for event in seen:
        assert (event.endpoint, event.attempt, event.recipients, event.bucket) == common[:4]
        assert event.base_url == common[4]
    assert isinstance(waited, LimiterWaited) and waited.waited == 0.5
    assert isinstance(started, AttemptStarted)
    assert started.waited == 0.5 and started.time_ns > 0
    assert isinstance(answer, AnswerReceived)
    assert (answer.status, answer.headers) == (201, OK.headers) and answer.elapsed >= 0
    assert isinstance(success, RequestSucceeded)
    assert (success.status, success.errors) == (201, ()) and success.started is started


class TakesTheEnds:
    """A consumer that takes only what ends an attempt, as OpenTelemetry does."""

    def __init__(self) -> None:
        self.seen: list[BrazeEvent] = []

    def __call__(self, event: BrazeEvent) -> None:
        self.seen.append(event)

    def _takes(self, kind: type[BrazeEvent]) -> bool | Callable[[], bool]:
        return kind in (RetryScheduled, OutcomeUnknown, RequestFailed, RequestSucceeded)


def test_an_attempts_start_is_made_late_for_the_event_that_ends_it(
    built: Counter[str], quiet: None
) -> None:
    """Nobody took the start when the attempt left: the end still carries it, told as it was
    then (its attempt, its wait, its time), one per attempt; a retry, then a final failure."""
    ends = TakesTheEnds()
    trace = Events([ends]).trace("/messages/send", None, 0)
    trace.started()
    trace.answered(MaybeProcessed("connection reset"))
    trace.decided(Retry(0.25, "connection reset"))
    trace.admitted(1.5)
    trace.started()
    failure = Answer(500, {}, b"{}")
    trace.answered(failure)
    error = BrazeServerError("HTTP 500", status_code=500)
    trace.decided(GiveUp(error))
    retry, failed = ends.seen
    assert isinstance(retry, RetryScheduled) and isinstance(failed, RequestFailed)
    assert retry.no_answer is not None and retry.no_answer.kind == "MaybeProcessed"
    assert (retry.delay, retry.status) == (0.25, None)
    assert failed.error is error and failed.status == 500 and failed.no_answer is None
    first, second = retry.started, failed.started
    assert isinstance(first, AttemptStarted) and isinstance(second, AttemptStarted)
    assert (first.attempt, first.waited, first.bucket) == (1, None, None)
    assert (second.attempt, second.waited) == (2, 1.5)
    assert 0 < first.time_ns <= second.time_ns
    assert built == Counter({"RetryScheduled": 1, "RequestFailed": 1, "AttemptStarted": 2})


async def test_a_client_with_a_hook_tells_the_same_story_as_before(quiet: None) -> None:
    """End to end: a hook beside the log and OpenTelemetry sees the whole call."""
    seen: list[BrazeEvent] = []
    transport = httpx.MockTransport(
        lambda request: httpx.Response(201, json={"dispatch_id": "d1", "message": "success"})
    )
    async with BrazeClient(
        api_key="k", instance="iad-01", transport=transport, on_event=seen.append
    ) as braze:
        await braze.send(Campaign("c"), recipients=TWO)
    assert [type(e) for e in seen] == [AttemptStarted, AnswerReceived, RequestSucceeded]
    assert seen[-1].started is seen[0]  # type: ignore[attr-defined]
