"""What a call reports, as a hook given to ``BrazeClient(on_event=...)`` receives it.

Each call of a client emits typed events, in order: :class:`LimiterWaited` (when the rate
limiter held the request back), then per attempt :class:`AttemptStarted` and
:class:`AnswerReceived` (or, instead of an answer, the :class:`NoAnswer` carried by what
follows), :class:`RetryScheduled` between attempts, and one of :class:`RequestSucceeded`,
:class:`RequestFailed` or :class:`OutcomeUnknown` to end the call. Every event is a
:class:`~braze_async.BrazeEvent`; the log and :class:`~braze_async.OpenTelemetry` consume the
same stream (see ``docs/logging.md``)::

    from braze_async.events import RetryScheduled

    def on_event(event: BrazeEvent) -> None:
        if isinstance(event, RetryScheduled):
            metrics.increment("braze.retries", tags={"reason": event.reason})
"""

from __future__ import annotations

from ._events import (
    AnswerReceived,
    AttemptStarted,
    BrazeEvent,
    EventHook,
    LimiterWaited,
    NoAnswer,
    OutcomeUnknown,
    RequestFailed,
    RequestSucceeded,
    RetryScheduled,
)

__all__ = [
    "AnswerReceived",
    "AttemptStarted",
    "BrazeEvent",
    "EventHook",
    "LimiterWaited",
    "NoAnswer",
    "OutcomeUnknown",
    "RequestFailed",
    "RequestSucceeded",
    "RetryScheduled",
]
