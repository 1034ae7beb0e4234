"""What the client tells about each request: one stream of typed events.

The request loop (``BrazeClient._call``) reports each step of a call to its :class:`Trace`,
one line per step. The trace turns each step into a :class:`BrazeEvent` and hands it to the
client's consumers, in order: every consumer sees every event it takes (a hook takes them
all; the log and OpenTelemetry say which they take, see :class:`Selective`), and an event
nobody takes is never made (a frozen event costs about 0.7 us; most calls need none). The
trace knows none of the consumers; the client composes them (``BrazeClient.__init__``):

- the log records of the ``braze_async`` logger (:mod:`._logs`), always first;
- the hooks given as ``BrazeClient(on_event=...)``, in the order given;
- OpenTelemetry's spans and metrics (:mod:`._telemetry`): an :class:`~._telemetry.OpenTelemetry`
  consumer given among the hooks, or, when ``opentelemetry-api`` is installed and none was
  given, one on the global providers, last.

Nothing here carries the API key: reasons and errors come redacted from the HTTP and answer
layers, and answer headers are redacted before they get here.

Consumers are called synchronously, in the task of the call; one that raises never breaks a
send: its first failure is logged (WARNING, with the traceback) and later ones of the same
consumer are not.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeAlias

import attrs

from ._errors import BrazeError, BrazeUnknownOutcomeError, ErrorDetail
from ._http import Answer, ExchangeError
from ._retry import Decision, GiveUp, NotAdmitted, Retry, Unknown

__all__ = [
    "AnswerReceived",
    "AttemptStarted",
    "BrazeEvent",
    "EventHook",
    "Events",
    "LimiterWaited",
    "NoAnswer",
    "OutcomeUnknown",
    "PlainSuccess",
    "RequestFailed",
    "RequestSucceeded",
    "RetryScheduled",
    "Selective",
    "Takes",
    "Trace",
]

# The library's logger (see _logs.py): here only for a consumer's failure, which the stream
# itself reports.
logger = logging.getLogger("braze_async")


@attrs.frozen(kw_only=True)
class BrazeEvent:
    """What every event tells: which request, which attempt.

    Match on the subclass to see what happened::

        def on_event(event: BrazeEvent) -> None:
            if isinstance(event, RetryScheduled):
                metrics.increment("braze.retry", tags={"endpoint": event.endpoint})
    """

    #: The endpoint's path, e.g. ``/campaigns/trigger/send``.
    endpoint: str
    #: The attempt this is about, from 1 (for the last events of a call: the last attempt).
    attempt: int
    #: Recipients in the request (0 for a broadcast or a Connected Audience send).
    recipients: int
    #: The rate-limit bucket, ``"audience"`` or ``"external_id"``; None when not limited.
    bucket: str | None
    #: The client's REST endpoint, e.g. ``https://rest.iad-01.braze.com`` (tells apart the
    #: workspaces of several clients sharing one hook).
    base_url: str = ""


@attrs.frozen(kw_only=True)
class LimiterWaited(BrazeEvent):
    """The client-side rate limiter admitted the attempt after a wait."""

    #: Seconds spent in line.
    waited: float


@attrs.frozen(kw_only=True)
class AttemptStarted(BrazeEvent):
    """The attempt leaves now (admitted by the rate limiter, if any)."""

    #: Seconds it waited for the client-side rate limiter (0.0: admitted at once); None
    #: when no limiter admits this request (it is not rate limited, or limiting is off).
    waited: float | None = None
    #: When it left: wall-clock nanoseconds since the epoch (``time.time_ns()``).
    time_ns: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class AnswerReceived(BrazeEvent):
    """Braze answered the attempt (any status)."""

    #: The HTTP status.
    status: int
    #: Seconds from the attempt's start to the answer's last byte.
    elapsed: float
    #: The answer's headers, names lower-cased.
    headers: Mapping[str, str] = attrs.field(eq=False, repr=False)


@attrs.frozen
class NoAnswer:
    """What came instead of an answer to an attempt."""

    #: What it was: ``NeverSent`` (nothing left this process), ``MaybeProcessed`` (sent,
    #: the answer lost), ``CannotSend`` (it never can be) or ``NotAdmitted`` (the rate
    #: limiter could not admit it).
    kind: str
    #: Why, e.g. ``connection refused`` (key redacted).
    reason: str


# The events that end an attempt (RetryScheduled, then one of the three that end the call)
# carry the attempt's AttemptStarted and, when no answer came, what came instead: with them
# a consumer tells the attempt's whole story (its span, say) without keeping any state.


@attrs.frozen(kw_only=True)
class RetryScheduled(BrazeEvent):
    """The attempt failed and will be retried after ``delay`` seconds."""

    #: Seconds until the retry (0 after a 429 the rate limiter paces: it waits there).
    delay: float
    #: What failed, e.g. ``"HTTP 503"`` or ``"rate limited"``.
    reason: str
    #: The failed answer's status; None when no answer came.
    status: int | None
    #: What came instead of an answer; None when one came.
    no_answer: NoAnswer | None = None
    #: The attempt's start.
    started: AttemptStarted | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class OutcomeUnknown(BrazeEvent):
    """The call ends in an unknown outcome: Braze may or may not have processed it."""

    #: The error the call raises.
    error: BrazeUnknownOutcomeError
    #: The last answer's status; None when no answer came.
    status: int | None
    #: What came instead of an answer to the last attempt; None when one came.
    no_answer: NoAnswer | None = None
    #: The last attempt's start.
    started: AttemptStarted | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class RequestFailed(BrazeEvent):
    """The call ends in a definitive failure: nothing was processed."""

    #: The error the call raises.
    error: BrazeError
    #: The last answer's status; None when no answer came.
    status: int | None
    #: What came instead of an answer to the last attempt; None when one came.
    no_answer: NoAnswer | None = None
    #: The last attempt's start; None when it never left (the limiter could not admit it).
    started: AttemptStarted | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class RequestSucceeded(BrazeEvent):
    """Braze accepted the request."""

    #: The HTTP status (201, or 202 when queued).
    status: int
    #: Non-fatal errors Braze reported beside the success (empty almost always).
    errors: tuple[ErrorDetail, ...] = ()
    #: The last attempt's start.
    started: AttemptStarted | None = attrs.field(default=None, eq=False, repr=False)


#: A hook, or any consumer of the events: called with each event.
EventHook: TypeAlias = Callable[[BrazeEvent], object]


def warn(message: str, *args: object, **kwargs: Any) -> None:
    """``logger.warning``, which never raises. Logging is telemetry: a handler may let an
    error out of the call (OpenTelemetry's ``LoggingHandler`` does, when a log record
    processor raises), and it must not change a send's outcome. Nothing is left to tell of
    such a failure: the logging is what failed."""
    with contextlib.suppress(Exception):
        logger.warning(message, *args, **kwargs)


#: Whether a consumer takes events of a kind: never (False), always (True), or as a test asked
#: before each event of that kind is made (the log's level may change at any time).
Takes: TypeAlias = "bool | Callable[[], bool]"


class Selective(Protocol):
    """A consumer that says which events it takes (the log's, OpenTelemetry): the others are
    not made for it. A plain hook, without ``_takes``, takes every event."""

    def __call__(self, event: BrazeEvent) -> object: ...

    def _takes(self, kind: type[BrazeEvent]) -> Takes: ...


class PlainSuccess(RequestSucceeded):
    """Never made: the route of a :class:`RequestSucceeded` without non-fatal errors, which a
    consumer may not take (the log only warns of the errors)."""

    __slots__ = ()


#: Every route of events: a kind of event (a plain success has its own).
KINDS: tuple[type[BrazeEvent], ...] = (
    LimiterWaited,
    AttemptStarted,
    AnswerReceived,
    RetryScheduled,
    OutcomeUnknown,
    RequestFailed,
    RequestSucceeded,
    PlainSuccess,
)

#: The event that tells each decision of the retry policy.
_ENDS: dict[type[Decision], type[BrazeEvent]] = {
    Retry: RetryScheduled,
    Unknown: OutcomeUnknown,
    GiveUp: RequestFailed,
}

#: Who may take events of one kind, in the consumers' order: (index, consumer, test), the
#: test None when the consumer takes them all.
_Route: TypeAlias = "tuple[tuple[int, EventHook, Callable[[], bool] | None], ...]"


class Events:
    """A client's event stream: where its calls report (see the module docstring).

    An event is made only when a consumer takes it (see :class:`Selective`): with no hook, a
    quiet log and no span to record, a call makes no event at all.

    :param consumers: called with each :class:`BrazeEvent` they take, in this order.
    :param base_url: the client's REST endpoint, told in every event.
    """

    __slots__ = ("_failed", "_routes", "base_url", "consumers")

    def __init__(self, consumers: Iterable[EventHook] = (), *, base_url: str = "") -> None:
        #: Who sees the events, in order.
        self.consumers = tuple(consumers)
        #: The client's REST endpoint.
        self.base_url = base_url
        self._failed: set[int] = set()
        self._routes = {kind: self._route(kind) for kind in KINDS}

    def _route(self, kind: type[BrazeEvent]) -> _Route:
        """Who may take a *kind* of event, in order, and what each asks first."""
        route = []
        for index, consumer in enumerate(self.consumers):
            takes = getattr(consumer, "_takes", None)
            test = True if takes is None else takes(kind)
            if test is not False:
                route.append((index, consumer, None if test is True else test))
        return tuple(route)

    def trace(self, endpoint: str, bucket: str | None, recipients: int) -> Trace:
        """The :class:`Trace` of one call."""
        return Trace(self, endpoint, bucket, recipients)

    def send(self, kind: type[BrazeEvent], make: Callable[[], BrazeEvent]) -> None:
        """Hand the event *make* makes to every consumer that takes a *kind*, made once, for
        the first of them (not at all if none does); a consumer's failure is logged once and
        goes no further."""
        event: BrazeEvent | None = None
        for index, consumer, test in self._routes[kind]:
            if test is not None and not test():
                continue
            if event is None:
                event = make()
            try:
                result = consumer(event)
                if result is not None and hasattr(result, "__await__"):
                    getattr(result, "close", lambda: None)()  # never awaited: no warning
                    raise TypeError("on_event hooks are called synchronously; this one is async")
            except Exception:
                if index not in self._failed:
                    self._failed.add(index)
                    warn(
                        "on_event hook %r raised on %s; the send goes on (later failures of "
                        "this hook are not logged)",
                        consumer,
                        type(event).__name__,
                        exc_info=True,
                        extra={"event": "hook_failed", "endpoint": event.endpoint},
                    )


class Trace:
    """One call's events: the request loop calls one method per step. Each attempt is::

        admitted(waited)?  started()  answered(outcome)  then  decided(decision) | succeeded()

    ``admitted`` only for a rate-limited request (``answered`` alone when the limiter could
    not admit it); ``answered`` with the answer or what came instead of one; ``decided``
    with the retry policy's decision after a failure (a :class:`Retry` starts the next
    attempt), or ``succeeded``. Each hands its event to the consumers that take it (made only
    then); the last two end the attempt, and carry its :class:`AttemptStarted`, made then if
    nobody took it when the attempt left.
    """

    __slots__ = (
        "_bucket",
        "_endpoint",
        "_events",
        "_no_answer",
        "_perf_started",
        "_recipients",
        "_started",
        "_started_attempt",
        "_started_ns",
        "_started_waited",
        "_status",
        "_waited",
        "attempt",
    )

    def __init__(self, events: Events, endpoint: str, bucket: str | None, recipients: int) -> None:
        self._events = events
        self._endpoint = endpoint
        self._bucket = bucket
        self._recipients = recipients
        #: Attempts answered (or failed) so far.
        self.attempt = 0
        #: The next attempt's wait for the rate limiter (None: not admitted by one).
        self._waited: float | None = None
        #: When the attempt in progress left (None: none left since the last one ended),
        #: its wait, and its event once made.
        self._started_ns: int | None = None
        self._started_attempt = 0
        self._started_waited: float | None = None
        self._started: AttemptStarted | None = None
        self._perf_started = 0.0  # for the answer's elapsed: a monotonic clock
        self._status: int | None = None
        self._no_answer: NoAnswer | None = None

    def _common(self, attempt: int) -> dict[str, Any]:
        """The fields every event of this call carries."""
        return {
            "endpoint": self._endpoint,
            "attempt": attempt,
            "recipients": self._recipients,
            "bucket": self._bucket,
            "base_url": self._events.base_url,
        }

    def name(self, recipients: int) -> None:
        """The request names *recipients* from the next attempt on (a batch whose callers
        left, see _batching.py)."""
        self._recipients = recipients

    def admitted(self, waited: float) -> None:
        """The rate limiter admitted the next attempt after *waited* seconds in line."""
        self._waited = waited
        if waited:
            self._events.send(LimiterWaited, lambda: self._limiter_waited(waited))

    def _limiter_waited(self, waited: float) -> LimiterWaited:
        return LimiterWaited(**self._common(self.attempt + 1), waited=waited)

    def started(self) -> None:
        """The next attempt leaves now."""
        self._perf_started = time.perf_counter()
        self._started_ns = time.time_ns()
        self._started_attempt = self.attempt + 1
        self._started_waited, self._waited = self._waited, None
        self._started = None
        self._events.send(AttemptStarted, self._attempt_started)

    def _attempt_started(self) -> AttemptStarted:
        """The start of the attempt in progress, made once (as it leaves, or at its end)."""
        started = self._started
        if started is None:
            assert self._started_ns is not None
            self._started = started = AttemptStarted(
                **self._common(self._started_attempt),
                waited=self._started_waited,
                time_ns=self._started_ns,
            )
        return started

    def answered(self, outcome: Answer | ExchangeError | NotAdmitted) -> None:
        """The attempt's answer, or what came instead of one (told with the decision)."""
        self.attempt += 1
        if isinstance(outcome, Answer):
            self._status = outcome.status
            self._no_answer = None
            elapsed = time.perf_counter() - self._perf_started
            self._events.send(AnswerReceived, lambda: self._answer(outcome, elapsed))
            return
        self._status = None
        # (A NotAdmitted attempt never started: the last start was ended by its decision.)
        self._no_answer = NoAnswer(type(outcome).__name__, outcome.reason)

    def _answer(self, answer: Answer, elapsed: float) -> AnswerReceived:
        return AnswerReceived(
            **self._common(self.attempt),
            status=answer.status,
            elapsed=elapsed,
            headers=answer.headers,
        )

    def _start(self) -> AttemptStarted | None:
        """The start of the attempt that ends now (None: none left since the last end)."""
        return None if self._started_ns is None else self._attempt_started()

    def decided(self, decision: Decision) -> None:
        """The retry policy's decision after a failed attempt."""
        self._events.send(_ENDS[type(decision)], lambda: self._decision(decision))
        self._started_ns = self._started = None

    def _decision(self, decision: Decision) -> BrazeEvent:
        common: dict[str, Any] = {
            **self._common(self.attempt),
            "status": self._status,
            "no_answer": self._no_answer,
            "started": self._start(),
        }
        if isinstance(decision, Retry):
            return RetryScheduled(**common, delay=decision.delay, reason=decision.reason)
        if isinstance(decision, Unknown):
            return OutcomeUnknown(**common, error=decision.error)
        return RequestFailed(**common, error=decision.error)

    def succeeded(self, errors: tuple[ErrorDetail, ...]) -> None:
        """Braze accepted the request, reporting *errors* beside the success."""
        kind = RequestSucceeded if errors else PlainSuccess
        self._events.send(kind, lambda: self._success(errors))
        self._started_ns = self._started = None

    def _success(self, errors: tuple[ErrorDetail, ...]) -> RequestSucceeded:
        return RequestSucceeded(
            **self._common(self.attempt),
            status=self._status if self._status is not None else 0,
            errors=errors,
            started=self._start(),
        )
