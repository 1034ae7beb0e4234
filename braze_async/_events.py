"""What the client tells about each request: one stream of typed events.

The request loop (``BrazeClient._call``) reports each step of a call to its :class:`Trace`,
one line per step. The trace turns each step into a :class:`BrazeEvent` and hands it to the
client's consumers, in order: every consumer sees every event. The trace knows none of them;
the client composes them (``BrazeClient.__init__``):

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
from typing import Any, TypeAlias

import attrs

from ._errors import BrazeError, BrazeUnknownOutcomeError, ErrorDetail
from ._http import Answer, ExchangeError
from ._retry import Decision, NotAdmitted, Retry, Unknown

__all__ = [
    "AnswerReceived",
    "AttemptStarted",
    "BrazeEvent",
    "EventHook",
    "Events",
    "LimiterWaited",
    "NoAnswer",
    "OutcomeUnknown",
    "RequestFailed",
    "RequestSucceeded",
    "RetryScheduled",
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


class Events:
    """A client's event stream: where its calls report (see the module docstring).

    :param consumers: called with each :class:`BrazeEvent`, in this order.
    :param base_url: the client's REST endpoint, told in every event.
    """

    __slots__ = ("_failed", "base_url", "consumers")

    def __init__(self, consumers: Iterable[EventHook] = (), *, base_url: str = "") -> None:
        #: Who sees the events, in order.
        self.consumers = tuple(consumers)
        #: The client's REST endpoint.
        self.base_url = base_url
        self._failed: set[int] = set()

    def trace(self, endpoint: str, bucket: str | None, recipients: int) -> Trace:
        """The :class:`Trace` of one call."""
        return Trace(self, endpoint, bucket, recipients)

    def emit(self, event: BrazeEvent) -> None:
        """Hand *event* to every consumer; a failure is logged once and goes no further."""
        for index, consumer in enumerate(self.consumers):
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
    attempt), or ``succeeded``. Each builds its event and emits it; the last two end the
    attempt.
    """

    __slots__ = (
        "_bucket",
        "_endpoint",
        "_events",
        "_no_answer",
        "_perf_started",
        "_recipients",
        "_started",
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
        #: The attempt in progress (None: none left since the last one ended).
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
            self._events.emit(LimiterWaited(**self._common(self.attempt + 1), waited=waited))

    def started(self) -> None:
        """The next attempt leaves now."""
        self._perf_started = time.perf_counter()
        self._started = started = AttemptStarted(
            **self._common(self.attempt + 1), waited=self._waited, time_ns=time.time_ns()
        )
        self._waited = None
        self._events.emit(started)

    def answered(self, outcome: Answer | ExchangeError | NotAdmitted) -> None:
        """The attempt's answer, or what came instead of one (told with the decision)."""
        self.attempt += 1
        if isinstance(outcome, Answer):
            self._status = outcome.status
            self._no_answer = None
            elapsed = time.perf_counter() - self._perf_started
            self._events.emit(
                AnswerReceived(
                    **self._common(self.attempt),
                    status=outcome.status,
                    elapsed=elapsed,
                    headers=outcome.headers,
                )
            )
            return
        self._status = None
        # (A NotAdmitted attempt never started: the last start was ended by its decision.)
        self._no_answer = NoAnswer(type(outcome).__name__, outcome.reason)

    def decided(self, decision: Decision) -> None:
        """The retry policy's decision after a failed attempt."""
        started, self._started = self._started, None
        common = self._common(self.attempt)
        ending: dict[str, Any] = {
            "status": self._status,
            "no_answer": self._no_answer,
            "started": started,
        }
        event: BrazeEvent
        if isinstance(decision, Retry):
            event = RetryScheduled(**common, **ending, delay=decision.delay, reason=decision.reason)
        elif isinstance(decision, Unknown):
            event = OutcomeUnknown(**common, **ending, error=decision.error)
        else:
            event = RequestFailed(**common, **ending, error=decision.error)
        self._events.emit(event)

    def succeeded(self, errors: tuple[ErrorDetail, ...]) -> None:
        """Braze accepted the request, reporting *errors* beside the success."""
        started, self._started = self._started, None
        status = self._status if self._status is not None else 0
        self._events.emit(
            RequestSucceeded(
                **self._common(self.attempt), status=status, errors=errors, started=started
            )
        )
