"""The retry policy: which failures are retried, how often, and how long to wait.

:class:`RetryPolicy` is the user's setting; :class:`Attempts` applies it to one call. It is a
small state object with no I/O: fed the outcome of each failed attempt, it answers
:class:`Retry` (after ``delay`` seconds), :class:`GiveUp` (raise this error: nothing was
processed, or Braze refused) or :class:`Unknown` (raise this error: the request may have been
processed). The client's loop drives it (``BrazeClient._call``).

Hand-written rather than built on stamina or tenacity: the decision depends on *what* failed
(never sent / maybe processed / rate limited / Braze error) and the wait on Braze's headers,
and both libraries would need most of this logic in callbacks anyway.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import TypeAlias

import attrs

from ._errors import (
    BrazeAPIError,
    BrazeConnectionError,
    BrazeError,
    BrazeRateLimitWaitError,
    BrazeUnknownOutcomeError,
)
from ._http import CannotSend, ExchangeError, NeverSent
from ._limits import WaitTooLong, parse_number, parse_retry_after
from ._stop import Stopped
from ._validate import check_count, check_flag, check_seconds

__all__ = [
    "AMBIGUOUS_STATUSES",
    "Attempts",
    "Decision",
    "GiveUp",
    "NotAdmitted",
    "Outcome",
    "Retry",
    "RetryPolicy",
    "Unknown",
    "rate_limit_delay",
]


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_seconds(value, f"RetryPolicy.{attribute.name}", zero=True)


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_count(value, f"RetryPolicy.{attribute.name}")


def _flag(_: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    check_flag(value, f"RetryPolicy.{attribute.name}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how braze_async retries a request.

    ==================================  ======================================================
    failure                             what happens
    ==================================  ======================================================
    never sent (connect error/timeout)  retried with exponential backoff and full jitter
    500, 502, 503 and other 5xx         retried with backoff (not processed: a 502 failed
                                        before reaching Braze, errors.md)
    429 rate limited                    retried after ``X-RateLimit-Retry-After`` /
                                        ``Retry-After`` / ``X-RateLimit-Reset``; these
                                        retries have their own count, ``rate_limited_attempts``
    maybe processed (read timeout,      trigger sends: **not** retried, raises
    connection dropped after sending,   ``BrazeUnknownOutcomeError`` (a retry could message
    504 from a gateway)                 users twice) unless ``retry_ambiguous=True``;
                                        transactional sends with ``external_send_id``: retried
                                        (Braze deduplicates on it)
    other 4xx                           never retried
    ==================================  ======================================================

    >>> RetryPolicy(attempts=1)  # no retries at all, except after 429s
    RetryPolicy(attempts=1, ...)
    """

    #: Attempts in all for never-sent, 5xx and (when allowed) ambiguous failures.
    attempts: int = attrs.field(default=4, validator=_at_least_one)
    #: First backoff ceiling in seconds; doubles each retry (full jitter below it).
    backoff_initial: float = attrs.field(default=0.25, validator=_positive)
    #: Largest backoff ceiling in seconds.
    backoff_max: float = attrs.field(default=8.0, validator=_positive)
    #: Retries allowed after 429 answers (each waits for the reset Braze announces).
    rate_limited_attempts: int = attrs.field(default=20, validator=_at_least_one)
    #: Longest single wait for the rate-limit budget, in seconds: after a 429, or, with the
    #: client's rate limiter, before a request is admitted (a call that would wait longer
    #: raises ``BrazeRateLimitWaitError`` at once, never sent). The default suits bulk jobs
    #: (Braze's hourly window can ask for ~1 h); a web app can set a few seconds.
    max_rate_limit_wait: float = attrs.field(default=3700.0, validator=_positive)
    #: Retry trigger sends whose outcome is unknown, accepting possible duplicates.
    retry_ambiguous: bool = attrs.field(default=False, validator=_flag)
    #: Draw each backoff at random below its ceiling ("full jitter", so that clients that
    #: failed together do not retry together). ``False`` waits the ceiling itself: tests use
    #: it (with :class:`braze_async.testing.FakeClock`) for waits they can assert exactly.
    jitter: bool = attrs.field(default=True, validator=_flag)

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(attempts={self.attempts}, backoff_initial={self.backoff_initial}, "
            f"backoff_max={self.backoff_max}, rate_limited_attempts={self.rate_limited_attempts}, "
            f"max_rate_limit_wait={self.max_rate_limit_wait}, "
            f"retry_ambiguous={self.retry_ambiguous}, jitter={self.jitter})"
        )

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number *retry* (1-based): full jitter drawn from
        *rng*, or the ceiling itself without ``jitter``."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (retry - 1)))
        return rng.uniform(0, ceiling) if self.jitter else ceiling


def rate_limit_delay(
    headers: Mapping[str, str], *, wallclock: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait after a 429, from Braze's headers; ``None`` when they say nothing.

    Order: ``X-RateLimit-Retry-After`` (seconds), ``Retry-After`` (seconds or HTTP date),
    then ``X-RateLimit-Reset`` (UTC epoch seconds). *headers* must be case-insensitive
    (``httpx.Headers``), since HTTP/2 lowercases names.
    """
    # One parser of these headers for the whole package: the limiter's.
    wall = wallclock()
    for name in ("x-ratelimit-retry-after", "retry-after"):
        seconds = parse_retry_after(headers.get(name), wall)
        if seconds is not None:
            return seconds
    reset = parse_number(headers.get("x-ratelimit-reset"))
    if reset is not None and reset > 1e9:  # an epoch timestamp, not a duration
        return max(0.0, reset - wall)
    return None


#: Gateway answers that may come after Braze's backend accepted the request: a 504 "indicates
#: a server didn't receive a response from another server upstream" (errors.md, "Errors").
#: Retrying it could message people twice, so it is "maybe processed" (retried only with
#: ``retry_ambiguous``). Every other 5xx was not processed and is retried with backoff, as the
#: page advises: a 502 "is a failure before it reaches the destination server", a 503 "made it
#: to the destination server, but we can't complete the request", a 500 is Braze refusing it.
AMBIGUOUS_STATUSES: frozenset[int] = frozenset({504})


@attrs.frozen
class NotAdmitted:
    """The rate limiter could not admit the attempt (e.g. Redis unreachable), or the caller's
    stop came first (the cause is a :class:`~braze_async._stop.Stopped`): nothing sent."""

    #: Why, key redacted.
    reason: str
    #: The limiter's exception.
    cause: BaseException


#: What one failed attempt came to: Braze's error answer, no answer, or no admission.
Outcome: TypeAlias = "BrazeAPIError | ExchangeError | NotAdmitted"


@attrs.frozen
class Retry:
    """Try again after ``delay`` seconds (0 after a 429 the limiter paces: it waits there)."""

    delay: float
    #: For the log line: what failed.
    reason: str
    #: The failure was a 429.
    rate_limited: bool = False


@attrs.frozen
class GiveUp:
    """Raise ``error``: a definitive failure, and no attempt may have been processed."""

    error: BrazeError


@attrs.frozen
class Unknown:
    """Raise ``error``: an attempt may have been processed; resending may duplicate it."""

    error: BrazeUnknownOutcomeError


Decision: TypeAlias = "Retry | GiveUp | Unknown"


class Attempts:
    """The attempts of one call so far, and what to do after each failure.

    Pure: no I/O and no clock; the jitter comes from *rng*. ::

        attempts = Attempts(policy, endpoint="/campaigns/trigger/send", retry_ambiguous=False,
                            paced=True, rng=random.Random(0))
        decision = attempts.decide(outcome)   # Retry | GiveUp | Unknown

    :param retry_ambiguous: an attempt whose outcome is unknown may be retried (Braze
        deduplicates it, or the caller accepts duplicates).
    :param paced: the rate limiter paces this call's bucket: after a 429 it pauses the bucket
        until Braze's reset, so the retry goes straight back to it.
    """

    __slots__ = (
        "_maybe_processed",
        "_paced",
        "_policy",
        "_retry_ambiguous",
        "_rng",
        "endpoint",
        "failures",
        "made",
        "rate_limited",
    )

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        endpoint: str,
        retry_ambiguous: bool,
        paced: bool,
        rng: random.Random,
    ) -> None:
        self._policy = policy
        self._retry_ambiguous = retry_ambiguous
        self._paced = paced
        self._rng = rng
        #: The endpoint, named in the errors.
        self.endpoint = endpoint
        #: Attempts whose outcome was decided so far.
        self.made = 0
        #: Never-sent, 5xx and ambiguous failures so far (bounded by ``policy.attempts``).
        self.failures = 0
        #: 429 answers so far (bounded by ``policy.rate_limited_attempts``).
        self.rate_limited = 0
        #: Why an earlier attempt may have been processed (set once we retried one).
        self._maybe_processed: str | None = None

    def decide(self, outcome: Outcome) -> Decision:
        """What to do after a failed attempt."""
        self.made += 1
        policy = self._policy
        if isinstance(outcome, BrazeAPIError):
            if outcome.status_code == 429:
                self.rate_limited += 1
                if self.rate_limited <= policy.rate_limited_attempts:
                    return Retry(self._rate_limit_wait(outcome), "rate limited", rate_limited=True)
            elif outcome.status_code in AMBIGUOUS_STATUSES:
                return self._maybe_processed_by(
                    f"HTTP {outcome.status_code} from a gateway: {outcome}", outcome
                )
            elif outcome.status_code is not None and outcome.status_code >= 500:
                self.failures += 1
                if self.failures < policy.attempts:
                    return self._backoff(f"HTTP {outcome.status_code}")
            return self._final(outcome)
        if isinstance(outcome, NotAdmitted):
            if isinstance(outcome.cause, Stopped):  # the caller's stop: no attempt was made
                return self._final(self._connection_error(outcome.reason), outcome.cause)
            if isinstance(outcome.cause, WaitTooLong):
                return self._final(self._wait_too_long(outcome.cause), outcome.cause)
            return self._final(
                self._connection_error(
                    f"the rate limiter could not admit the request: {outcome.reason}"
                ),
                outcome.cause,
            )
        if isinstance(outcome, CannotSend):
            return self._final(
                self._connection_error(f"the request cannot be sent: {outcome.reason}"),
                outcome.__cause__,
            )
        if isinstance(outcome, NeverSent):
            self.failures += 1
            if self.failures < policy.attempts:
                return self._backoff(f"never sent ({outcome.reason})")
            return self._final(
                self._connection_error(f"could not reach Braze: {outcome.reason}"),
                outcome.__cause__,
            )
        return self._maybe_processed_by(
            f"the request was sent but no answer came back ({outcome.reason})", outcome.__cause__
        )

    def _maybe_processed_by(self, reason: str, cause: BaseException | None) -> Retry | Unknown:
        """The attempt may have been processed: retried only when that is allowed."""
        self.failures += 1
        if self._retry_ambiguous and self.failures < self._policy.attempts:
            self._maybe_processed = reason
            return self._backoff(f"outcome unknown ({reason}), retrying")
        unknown = BrazeUnknownOutcomeError(
            f"{reason}; it may or may not have been processed",
            endpoint=self.endpoint,
            attempts=self.made,
        )
        unknown.__cause__ = cause
        return Unknown(unknown)

    def _rate_limit_wait(self, error: BrazeAPIError) -> float:
        if self._paced:
            return 0.0
        delay = error.retry_after
        if delay is None:
            delay = (
                self._policy.backoff(self.rate_limited, self._rng) + self._policy.backoff_initial
            )
        return min(delay, self._policy.max_rate_limit_wait)

    def _wait_too_long(self, cause: WaitTooLong) -> BrazeRateLimitWaitError:
        """The budget frees later than the policy waits: refused here, nothing was sent (no
        status: Braze did not answer this)."""
        return BrazeRateLimitWaitError(
            f"rate limited: {cause} (RetryPolicy.max_rate_limit_wait); nothing was sent",
            max_wait=cause.max_wait,
            endpoint=self.endpoint,
            attempts=self.made,
            retry_after=cause.wait,
        )

    def _backoff(self, reason: str) -> Retry:
        return Retry(self._policy.backoff(self.failures, self._rng), reason)

    def _connection_error(self, message: str) -> BrazeConnectionError:
        return BrazeConnectionError(message, endpoint=self.endpoint, attempts=self.made)

    def _final(self, error: BrazeError, cause: BaseException | None = None) -> GiveUp | Unknown:
        """Once an attempt may have been processed, a later definitive failure still leaves
        the outcome unknown (never "failed": resending could message people twice)."""
        if cause is not None:
            error.__cause__ = cause
        if isinstance(error, BrazeUnknownOutcomeError):
            return Unknown(error)
        if self._maybe_processed is None:
            return GiveUp(error)
        unknown = BrazeUnknownOutcomeError(
            f"an earlier attempt may have been processed ({self._maybe_processed}); "
            f"the last one failed: {error}",
            endpoint=self.endpoint,
            attempts=self.made,
        )
        unknown.__cause__ = error
        return Unknown(unknown)
