"""The ``braze_async`` logger, and the consumer that turns each event into its log records.

:func:`log_event` is one consumer of a client's events (see :mod:`._events`), always the
first; its records carry structured ``extra`` fields (see ``docs/logging.md``): every attempt
and answer at DEBUG (and an attempt that got none); a limiter wait longer than a second and a
retry at INFO; a 429 retry, an unknown outcome, a final failure and Braze's non-fatal errors
at WARNING, each once.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Mapping

from ._events import (
    AnswerReceived,
    AttemptStarted,
    BrazeEvent,
    LimiterWaited,
    NoAnswer,
    OutcomeUnknown,
    PlainSuccess,
    RequestFailed,
    RequestSucceeded,
    RetryScheduled,
    Takes,
)

__all__ = ["LONG_WAIT", "log_event", "log_from_environment", "logger"]

logger = logging.getLogger("braze_async")
# A library's logger prints nothing unless the application (or BRAZE_LOG) says where:
# without this, Python's last-resort handler would print our warnings on stderr.
logger.addHandler(logging.NullHandler())

#: Limiter waits longer than this are logged at INFO (shorter ones at DEBUG).
LONG_WAIT = 1.0


def _extra(name: str, event: BrazeEvent, **fields: object) -> dict[str, object]:
    """A record's ``extra``: its name, the fields every event has, and *fields*."""
    return {
        "event": name,
        "endpoint": event.endpoint,
        "attempt": event.attempt,
        "recipients": event.recipients,
        "bucket": event.bucket,
        **fields,
    }


def _enabled(level: int) -> Callable[[], bool]:
    """Whether the logger is enabled for *level*, asked each time (it may change)."""
    return functools.partial(logger.isEnabledFor, level)


#: The events that log a record only at some level, and that level (the others always may).
_QUIET: dict[type[BrazeEvent], Takes] = {
    AttemptStarted: _enabled(logging.DEBUG),
    AnswerReceived: _enabled(logging.DEBUG),
    LimiterWaited: _enabled(logging.INFO),  # INFO beyond LONG_WAIT, DEBUG below
    RequestSucceeded: _enabled(logging.WARNING),  # (with non-fatal errors)
    PlainSuccess: False,  # logs nothing
}


class _LogRecords:
    """The log's consumer, :data:`log_event`."""

    def __repr__(self) -> str:
        return "log_event"

    def _takes(self, kind: type[BrazeEvent]) -> Takes:
        """An attempt, its answer, a limiter wait and a success log only at some levels: they
        are not made for the log otherwise (see _events.Selective)."""
        return _QUIET.get(kind, True)

    def __call__(self, event: BrazeEvent) -> None:
        _log(event)


def _log(event: BrazeEvent) -> None:
    """Log *event*'s records on the ``braze_async`` logger (none for most events above
    DEBUG: a plain success logs nothing at INFO)."""
    # The commonest first: every call starts, is answered and ends.
    if isinstance(event, AttemptStarted):
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s: attempt %d, %d recipients",
                event.endpoint,
                event.attempt,
                event.recipients,
                extra=_extra("attempt", event),
            )
    elif isinstance(event, AnswerReceived):
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s -> %d in %.1f ms (attempt %d)",
                event.endpoint,
                event.status,
                event.elapsed * 1000,
                event.attempt,
                extra=_extra("answer", event, status=event.status, elapsed=event.elapsed),
            )
    elif isinstance(event, RequestSucceeded):
        if event.errors:
            logger.warning(
                "POST %s succeeded with non-fatal errors: %s",
                event.endpoint,
                "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in event.errors),
                extra=_extra("non_fatal_errors", event, status=event.status, errors=event.errors),
            )
    elif isinstance(event, RetryScheduled):
        _no_answer(event, event.no_answer)
        # Only a 429 is retried as rate limited: worth a warning, a backoff is not.
        logger.log(
            logging.WARNING if event.status == 429 else logging.INFO,
            "POST %s failed: %s; retry in %.2f s",
            event.endpoint,
            event.reason,
            event.delay,
            extra=_extra("retry", event, status=event.status, delay=event.delay),
        )
    elif isinstance(event, (OutcomeUnknown, RequestFailed)):
        _no_answer(event, event.no_answer)
        unknown = isinstance(event, OutcomeUnknown)
        logger.warning(
            "POST %s %s: %s",
            event.endpoint,
            "ended with an unknown outcome" if unknown else "failed",
            event.error,
            extra=_extra("unknown" if unknown else "failed", event, status=event.status),
        )
    elif isinstance(event, LimiterWaited):
        level = logging.INFO if event.waited > LONG_WAIT else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "POST %s waited %.2f s for the %s rate limit",
                event.endpoint,
                event.waited,
                event.bucket,
                extra=_extra("limiter_wait", event, waited=event.waited),
            )


#: Logs an event's records on the ``braze_async`` logger: the first consumer of every client.
log_event = _LogRecords()


def _no_answer(event: BrazeEvent, no_answer: NoAnswer | None) -> None:
    """The DEBUG record of an attempt that got no answer (told with its decision)."""
    if no_answer is not None and logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "POST %s: no answer to attempt %d: %s",
            event.endpoint,
            event.attempt,
            no_answer.reason,
            extra=_extra("no_answer", event, reason=no_answer.reason),
        )


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
