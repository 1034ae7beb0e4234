"""What the client tells about each request: typed events, log records and telemetry.

The request loop (``BrazeClient._call``) reports each step of a call to its :class:`Trace`,
one line per step. The trace turns each step into

- a log record on the ``braze_async`` logger, with structured ``extra`` fields
  (see ``docs/logging.md``): every attempt and answer at DEBUG; a limiter wait longer than
  a second and a retry at INFO; a 429 retry, an unknown outcome, a final failure and Braze's
  non-fatal errors at WARNING, each once;
- a :class:`BrazeEvent` for the hooks given as ``BrazeClient(on_event=...)``;
- a span and measurements for OpenTelemetry (:mod:`._telemetry`), when it is installed.

Nothing here carries the API key: reasons and errors come redacted from the HTTP and answer
layers, and answer headers are redacted before they get here.

Hooks are called synchronously, in the task of the call, in the order given; a hook that
raises never breaks a send: its first failure is logged (WARNING, with the traceback) and
later ones of the same hook are not.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from ._errors import BrazeError, BrazeUnknownOutcomeError, ErrorDetail
from ._http import Answer, ExchangeError
from ._retry import Decision, GiveUp, NotAdmitted, Retry
from ._urls import route_template

if TYPE_CHECKING:
    from ._telemetry import Telemetry

__all__ = [
    "AnswerReceived",
    "AttemptStarted",
    "BrazeEvent",
    "EventHook",
    "Events",
    "LimiterWaited",
    "OutcomeUnknown",
    "RequestFailed",
    "RequestSucceeded",
    "RetryScheduled",
    "Trace",
    "log_from_environment",
]

logger = logging.getLogger("braze_async")
# A library's logger prints nothing unless the application (or BRAZE_LOG) says where:
# without this, Python's last-resort handler would print our warnings on stderr.
logger.addHandler(logging.NullHandler())

#: Limiter waits longer than this are logged at INFO (shorter ones at DEBUG).
LONG_WAIT = 1.0


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


@attrs.frozen(kw_only=True)
class LimiterWaited(BrazeEvent):
    """The client-side rate limiter admitted the attempt after a wait."""

    #: Seconds spent in line.
    waited: float


@attrs.frozen(kw_only=True)
class AttemptStarted(BrazeEvent):
    """The attempt leaves now (admitted by the rate limiter, if any)."""


@attrs.frozen(kw_only=True)
class AnswerReceived(BrazeEvent):
    """Braze answered the attempt (any status)."""

    #: The HTTP status.
    status: int
    #: Seconds from the attempt's start to the answer's last byte.
    elapsed: float
    #: The answer's headers, names lower-cased.
    headers: Mapping[str, str] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class RetryScheduled(BrazeEvent):
    """The attempt failed and will be retried after ``delay`` seconds."""

    #: Seconds until the retry (0 after a 429 the rate limiter paces: it waits there).
    delay: float
    #: What failed, e.g. ``"HTTP 503"`` or ``"rate limited"``.
    reason: str
    #: The failed answer's status; None when no answer came.
    status: int | None


@attrs.frozen(kw_only=True)
class OutcomeUnknown(BrazeEvent):
    """The call ends in an unknown outcome: Braze may or may not have processed it."""

    #: The error the call raises.
    error: BrazeUnknownOutcomeError
    #: The last answer's status; None when no answer came.
    status: int | None


@attrs.frozen(kw_only=True)
class RequestFailed(BrazeEvent):
    """The call ends in a definitive failure: nothing was processed."""

    #: The error the call raises.
    error: BrazeError
    #: The last answer's status; None when no answer came.
    status: int | None


@attrs.frozen(kw_only=True)
class RequestSucceeded(BrazeEvent):
    """Braze accepted the request."""

    #: The HTTP status (201, or 202 when queued).
    status: int
    #: Non-fatal errors Braze reported beside the success (empty almost always).
    errors: tuple[ErrorDetail, ...] = ()


#: A hook: called with each event.
EventHook: TypeAlias = Callable[[BrazeEvent], object]


class Events:
    """Where a client's calls report: its hooks and its telemetry (see the module docstring).

    :param hooks: called with each :class:`BrazeEvent`.
    :param telemetry: the OpenTelemetry recorder, when OpenTelemetry is installed.
    """

    __slots__ = ("_failed", "hooks", "telemetry")

    def __init__(self, hooks: Sequence[EventHook] = (), telemetry: Telemetry | None = None) -> None:
        self.hooks = tuple(hooks)
        self.telemetry = telemetry
        self._failed: set[int] = set()

    def trace(self, endpoint: str, bucket: str | None, recipients: int) -> Trace:
        """The :class:`Trace` of one call."""
        return Trace(self, endpoint, bucket, recipients)

    def emit(self, event: BrazeEvent) -> None:
        """Call every hook with *event*; a hook's failure is logged once and goes no further."""
        for index, hook in enumerate(self.hooks):
            try:
                result = hook(event)
                if hasattr(result, "__await__"):
                    getattr(result, "close", lambda: None)()  # never awaited: no warning
                    raise TypeError("on_event hooks are called synchronously; this one is async")
            except Exception:
                if index not in self._failed:
                    self._failed.add(index)
                    logger.warning(
                        "on_event hook %r raised on %s; the send goes on (later failures of "
                        "this hook are not logged)",
                        hook,
                        type(event).__name__,
                        exc_info=True,
                        extra={"event": "hook_failed", "endpoint": event.endpoint},
                    )


class Trace:
    """One call's report: the request loop calls one method per step. Each attempt is::

        admitted(waited)?  started()  answered(outcome)  then  decided(decision) | succeeded()

    ``admitted`` only for a rate-limited request (``answered`` alone when the limiter could
    not admit it); ``answered`` with the answer or what came instead of one; ``decided``
    with the retry policy's decision after a failure (a :class:`Retry` starts the next
    attempt), or ``succeeded``. Each attempt's span is recorded at its decision.
    """

    __slots__ = (
        "_bucket",
        "_endpoint",
        "_events",
        "_recipients",
        "_started",
        "_started_ns",
        "_status",
        "_waited",
        "_why",
        "attempt",
    )

    def __init__(self, events: Events, endpoint: str, bucket: str | None, recipients: int) -> None:
        self._events = events
        self._endpoint = endpoint
        self._bucket = bucket
        self._recipients = recipients
        #: Attempts answered (or failed) so far.
        self.attempt = 0
        self._waited = 0.0
        self._started = 0.0
        self._started_ns = 0
        self._status: int | None = None
        self._why: str | None = None  # error.type of the attempt: status code or class name

    def _common(self, attempt: int) -> dict[str, Any]:
        """The fields every event and log record carries."""
        return {
            "endpoint": self._endpoint,
            "attempt": attempt,
            "recipients": self._recipients,
            "bucket": self._bucket,
        }

    def _extra(self, event: str, attempt: int, **fields: object) -> dict[str, object]:
        """A log record's ``extra``: the event's name, the common fields and *fields*."""
        return {"event": event, **self._common(attempt), **fields}

    def admitted(self, waited: float) -> None:
        """The rate limiter admitted the next attempt after *waited* seconds in line."""
        self._waited = waited
        events = self._events
        if events.telemetry is not None and self._bucket is not None:
            events.telemetry.limiter_waited(self._bucket, waited)
        if not waited:
            return
        level = logging.INFO if waited > LONG_WAIT else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "POST %s waited %.2f s for the %s rate limit",
                self._endpoint,
                waited,
                self._bucket,
                extra=self._extra("limiter_wait", self.attempt + 1, waited=waited),
            )
        if events.hooks:
            events.emit(LimiterWaited(**self._common(self.attempt + 1), waited=waited))

    def started(self) -> None:
        """The next attempt leaves now."""
        self._started = time.perf_counter()
        if self._events.telemetry is not None:
            self._started_ns = time.time_ns()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s: attempt %d, %d recipients",
                self._endpoint,
                self.attempt + 1,
                self._recipients,
                extra=self._extra("attempt", self.attempt + 1),
            )
        if self._events.hooks:
            self._events.emit(AttemptStarted(**self._common(self.attempt + 1)))

    def answered(self, outcome: Answer | ExchangeError | NotAdmitted) -> None:
        """The attempt's answer, or what came instead of one."""
        self.attempt += 1
        elapsed = time.perf_counter() - self._started
        if isinstance(outcome, Answer):
            self._status = status = outcome.status
            self._why = None if status < 400 else str(status)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "POST %s -> %d in %.1f ms (attempt %d)",
                    self._endpoint,
                    status,
                    elapsed * 1000,
                    self.attempt,
                    extra=self._extra("answer", self.attempt, status=status, elapsed=elapsed),
                )
            if self._events.hooks:
                common = self._common(self.attempt)
                headers = outcome.headers
                self._events.emit(
                    AnswerReceived(**common, status=status, elapsed=elapsed, headers=headers)
                )
            return
        self._status = None
        self._why = type(outcome).__name__
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s: no answer to attempt %d: %s",
                self._endpoint,
                self.attempt,
                outcome.reason,
                extra=self._extra("no_answer", self.attempt, reason=outcome.reason),
            )

    def decided(self, decision: Decision) -> None:
        """The retry policy's decision after a failed attempt: logged, told, recorded."""
        events, status = self._events, self._status
        if isinstance(decision, Retry):
            level = logging.WARNING if decision.rate_limited else logging.INFO
            logger.log(
                level,
                "POST %s failed: %s; retry in %.2f s",
                self._endpoint,
                decision.reason,
                decision.delay,
                extra=self._extra("retry", self.attempt, status=status, delay=decision.delay),
            )
            self._record("retry", decision.delay)
            if events.hooks:
                events.emit(
                    RetryScheduled(
                        **self._common(self.attempt),
                        delay=decision.delay,
                        reason=decision.reason,
                        status=status,
                    )
                )
            return
        error = decision.error
        unknown = not isinstance(decision, GiveUp)
        if self._why is None:  # a 2xx we could not read
            self._why = type(error).__name__
        logger.warning(
            "POST %s %s: %s",
            self._endpoint,
            "ended with an unknown outcome" if unknown else "failed",
            error,
            extra=self._extra("unknown" if unknown else "failed", self.attempt, status=status),
        )
        self._record("unknown" if unknown else "failed", None)
        if events.hooks:
            common = self._common(self.attempt)
            if isinstance(error, BrazeUnknownOutcomeError):
                events.emit(OutcomeUnknown(**common, error=error, status=status))
            else:
                events.emit(RequestFailed(**common, error=error, status=status))

    def succeeded(self, errors: tuple[ErrorDetail, ...]) -> None:
        """Braze accepted the request, reporting *errors* beside the success."""
        status = self._status if self._status is not None else 0
        if errors:
            logger.warning(
                "POST %s succeeded with non-fatal errors: %s",
                self._endpoint,
                "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in errors),
                extra=self._extra("non_fatal_errors", self.attempt, status=status, errors=errors),
            )
        self._record("success", None)
        if self._events.hooks:
            common = self._common(self.attempt)
            self._events.emit(RequestSucceeded(**common, status=status, errors=errors))

    def _record(self, outcome: str, delay: float | None) -> None:
        telemetry = self._events.telemetry
        if telemetry is None or not self._started_ns:
            return  # no telemetry, or no attempt left (the limiter could not admit it)
        telemetry.attempt(
            endpoint=self._endpoint,
            template=route_template(self._endpoint),
            bucket=self._bucket,
            recipients=self._recipients,
            attempt=self.attempt,
            waited=self._waited,
            status=self._status,
            error_type=self._why,
            outcome=outcome,
            delay=delay,
            started_ns=self._started_ns,
            ended_ns=time.time_ns(),
        )
        self._started_ns = 0
        self._waited = 0.0


def log_from_environment(environ: Mapping[str, str] = os.environ) -> None:
    """``BRAZE_LOG=info`` or ``debug`` (or ``warning``): a stderr handler on the ``braze_async``
    logger at that level, without code (as ``OPENAI_LOG`` does for OpenAI's SDK).

    Records still reach the application's handlers too. Any other value does nothing.
    """
    level = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}.get(
        environ.get("BRAZE_LOG", "").strip().lower()
    )
    if level is None:
        return
    if not any(getattr(h, "_braze_log", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter(
                "[%(asctime)s - %(name)s - %(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
        handler._braze_log = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
