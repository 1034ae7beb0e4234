"""The request path: one POST to Braze under the retry policy, read on one screen.

:meth:`RequestPath.call` is the loop. Each attempt is admitted by the rate limiter (when the
request spends a budget), posted by the exchange, and answered: a 2xx is read into the
endpoint's response model; anything else goes to :meth:`Attempts.decide
<braze_async._retry.Attempts.decide>`, which answers *retry after d seconds*, *give up with
this error* or *unknown outcome: raise this error*. The loop only sleeps, reports and raises.
Every step is reported to the call's :class:`~braze_async._events.Trace`; a bulk job's stop
ends every wait on the way (:mod:`braze_async._stop`).

A client and its :meth:`~braze_async.BrazeClient.with_options` views share one path; what a
view changes (its retry policy, its timeouts) is given with each call.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

from ._answers import AnswerReader
from ._clock import Clock
from ._errors import BrazeMalformedResponseError
from ._events import Events, Trace
from ._http import Answer, Exchange, ExchangeError, MaybeProcessed, Timeouts
from ._limits import Bucket, LimiterShare, Priority
from ._redact import Redactor
from ._retry import AMBIGUOUS_STATUSES, Attempts, Decision, NotAdmitted, Retry, RetryPolicy, Unknown
from ._stop import Stopped, until

__all__ = ["Body", "Reader", "RequestPath"]

T = TypeVar("T")

#: What makes a typed response of a decoded 2xx body (path, status, body, headers), or says
#: the body is unreadable (the request's outcome is then unknown).
Reader = Callable[[str, int, Mapping[str, Any], Mapping[str, str]], T | BrazeMalformedResponseError]


class _Done(Generic[T]):
    """A call's result, read from Braze's 2xx answer."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


#: A request's body, or what makes it each time an attempt is admitted, just before the
#: attempt leaves: the body and how many recipients it names (``send_one``'s batches decide
#: there who rides, see _batching.py). If it raises, nothing is sent and the error propagates.
Body: TypeAlias = "bytes | Callable[[], tuple[bytes, int]]"


def _once(callback: Callable[[], object]) -> Callable[[], object]:
    """*callback*, run by the first call only (``on_admitted``: before the first attempt that
    is admitted, whichever attempt that is)."""
    pending = [callback]

    def run() -> object:
        return pending.pop()() if pending else None

    return run


@attrs.define(kw_only=True)  # not frozen: a frozen init costs 3x, once per call
class _Call:
    """What every attempt of one call needs."""

    path: str
    #: The JSON body (or what makes it once admitted, see :data:`Body`); None: a GET (its
    #: query in the path).
    body: Body | None
    #: The budget it spends (None: not rate limited).
    bucket: Bucket | None
    #: A broadcast's unique audience (``audience_key``): its own budget too (None: none).
    audience_key: str | None
    timeouts: Timeouts
    #: The rate limiter's lane it waits in.
    priority: Priority
    #: The longest wait for the rate limiter this call accepts.
    max_wait: float | None
    on_admitted: Callable[[], object] | None
    trace: Trace
    stop: asyncio.Event | None

    def leaving(self) -> bytes | None:
        """What an admitted attempt sends (None: a GET), made now if it is made late;
        *on_admitted* runs before the first one leaves."""
        body = self.body
        if body is not None and not isinstance(body, bytes):
            body, recipients = body()
            self.trace.name(recipients)
        if self.on_admitted is not None:
            self.on_admitted()
        return body


class RequestPath:
    """Every request of a client (and of its views) goes through here.

    :param exchange: posts the bytes (any transport, see :mod:`braze_async._http`).
    :param limiter: the workspace's rate limiter (None: limiting is off).
    :param answers: reads answers, the key redacted.
    :param events: where each call reports (the log, the hooks, OpenTelemetry).
    :param clock: what retry waits sleep on.
    :param redact: hides the key in what a failing limiter (Redis) says.
    """

    __slots__ = ("answers", "clock", "events", "exchange", "limiter", "redact", "rng")

    def __init__(
        self,
        *,
        exchange: Exchange,
        limiter: LimiterShare | None,
        answers: AnswerReader,
        events: Events,
        clock: Clock,
        redact: Redactor,
    ) -> None:
        self.exchange = exchange
        self.limiter = limiter
        self.answers = answers
        self.events = events
        self.clock = clock
        self.redact = redact
        #: Where the retries' jitter comes from (``RetryPolicy(jitter=False)``: none).
        self.rng = random.Random()

    async def call(
        self,
        path: str,
        body: Body | None,
        read: Reader[T],
        *,
        policy: RetryPolicy,
        timeouts: Timeouts,
        audience: bool | Bucket | None,
        retry_ambiguous: bool,
        on_admitted: Callable[[], object] | None = None,
        recipients: int = 0,
        stop: asyncio.Event | None = None,
        priority: Priority = "interactive",
        audience_key: str | None = None,
    ) -> T:
        """POST *body* to *path* (``None``: GET *path*) under *policy*; return what *read*
        makes of the decoded 2xx body and the answer's headers.

        *audience* names the rate-limit bucket (``True``: segment / audience, ``False``:
        recipients, a :class:`Bucket`: that one, ``None``: not rate limited), and
        *audience_key* a broadcast's unique audience, whose own budget each attempt also
        waits for (``RateLimits.per_audience``; None: not a broadcast); *on_admitted*
        runs once, before the first attempt leaves; *recipients* (how many the request
        names) goes into logs, events and spans; *body* may be made late, as each attempt is
        admitted (see :data:`Body`); once *stop* is set, no attempt starts and every wait
        ends (see _stop.py); *priority* is the rate limiter's lane the attempts wait in.
        Answers are handled in :meth:`_step`, so that no frame of an error's traceback holds
        what a server sent (a hostile one may echo the key).
        """
        if audience is None or isinstance(audience, Bucket):
            bucket = audience
        else:
            bucket = Bucket.AUDIENCE if audience else Bucket.EXTERNAL_ID
        attempts = Attempts(
            policy,
            endpoint=path,
            retry_ambiguous=retry_ambiguous,
            paced=bucket is not None and self.limiter is not None,
            rng=self.rng,
        )
        trace = self.events.trace(path, None if bucket is None else bucket.value, recipients)
        call = _Call(
            path=path,
            body=body,
            bucket=bucket,
            audience_key=audience_key if bucket is Bucket.AUDIENCE else None,
            timeouts=timeouts,
            priority=priority,
            max_wait=policy.max_rate_limit_wait,
            on_admitted=None if on_admitted is None else _once(on_admitted),
            trace=trace,
            stop=stop,
        )
        while True:
            step = await self._step(call, read, attempts)
            if isinstance(step, _Done):
                trace.succeeded(getattr(step.value, "errors", ()))
                return step.value
            trace.decided(step)
            if not isinstance(step, Retry):
                raise step.error
            if step.delay:
                with contextlib.suppress(Stopped):  # the next attempt sees the stop
                    await until(stop, self.clock.sleep(step.delay))

    async def _step(self, call: _Call, read: Reader[T], attempts: Attempts) -> _Done[T] | Decision:
        """One attempt and what comes of it: the result, or the retry policy's decision."""
        outcome = await self._attempt(call)
        call.trace.answered(outcome)
        if not isinstance(outcome, Answer):
            return attempts.decide(outcome)
        path = call.path
        if not 200 <= outcome.status < 300:
            return attempts.decide(self.answers.error(path, outcome, attempts.made + 1))
        data = self.answers.success(path, outcome, attempts.made + 1)
        if isinstance(data, BrazeMalformedResponseError):
            return Unknown(data)
        result = read(path, outcome.status, data, outcome.headers)
        if isinstance(result, BrazeMalformedResponseError):
            return Unknown(result)
        return _Done(result)

    async def _attempt(self, call: _Call) -> Answer | ExchangeError | NotAdmitted:
        """One attempt, admitted by the rate limiter (when there is one for its bucket); none
        once the stop is set, whose setting ends the wait for the limiter."""
        if call.stop is not None and call.stop.is_set():
            stopped = Stopped()
            return NotAdmitted(str(stopped), stopped)
        limiter, bucket, trace = self.limiter, call.bucket, call.trace
        if limiter is None or bucket is None:
            body = call.leaving()
            trace.started()
            try:
                return await self.exchange.post(call.path, body, call.timeouts)
            except ExchangeError as exc:
                return exc
        try:
            permit = await until(
                call.stop,
                limiter.acquire(
                    bucket,
                    priority=call.priority,
                    max_wait=call.max_wait,
                    audience=call.audience_key,
                ),
                unused=lambda permit: permit.release(sent=False),
            )
        except Stopped as exc:  # the wait was given up: nothing taken, nothing sent
            return NotAdmitted(str(exc), exc)
        except Exception as exc:  # e.g. Redis unreachable: nothing was sent
            reason = self.redact.describe(exc)
            # Without its traceback: the Redis client's frames hold its connection settings.
            return NotAdmitted(reason, self.redact.exception(exc) or RuntimeError(reason))
        try:
            body = call.leaving()
        except BaseException:
            permit.release(sent=False)  # nothing was sent: the slot is given back
            raise
        trace.admitted(permit.waited)
        trace.started()
        try:
            answer = await self.exchange.post(call.path, body, call.timeouts)
        except MaybeProcessed as exc:
            permit.release(outcome_unknown=True)  # it may reach Braze late: counts longer
            return exc
        except ExchangeError as exc:
            permit.release(sent=False)  # nothing left this process: the slot is given back
            return exc
        except BaseException:
            permit.release(outcome_unknown=True)  # cancelled mid-flight: it may reach Braze
            raise
        # A gateway's 504 may come before Braze counts the request: counted longer (a 502
        # failed before reaching Braze, errors.md: an ordinary answer).
        permit.release(sent=True, outcome_unknown=answer.status in AMBIGUOUS_STATUSES)
        limiter.observe(bucket, answer.status, answer.headers)
        return answer
