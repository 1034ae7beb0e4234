"""Micro-batching of single sends: many ``send_one`` calls, few requests to Braze.

A call joins the pending queue of its target (a :class:`~braze_async.Campaign`,
:class:`~braze_async.Canvas` or :class:`~braze_async.Messages`, compared by their canonical
JSON): only recipients whose requests would be identical apart from the recipient list
share a request.

When requests go out
====================
* A lone call is never kept waiting for a timer: when nothing is in flight, everything that
  arrived in the same event-loop tick is collected, then sent at the next tick.
* While requests are in flight, a partial batch waits up to ``linger`` (default 5 ms) for
  company; a full one never waits. At moderate load this turns requests of two or three
  recipients into requests of a dozen or more, which matters because every request spends
  rate budget (``linger=0`` turns it off).
* At most ``max_concurrency`` requests are in flight. While they are all busy, newcomers
  accumulate, so under load requests fill up to :data:`MAX_RECIPIENTS` (50) by themselves.
* Several targets with waiting recipients take turns (round robin), oldest first.
* At most ``max_pending`` callers wait at once (default 10,000: about 11 MiB of waiting
  callers). Past it a call fails at once, never sent, with a
  :class:`~braze_async.BrazeConnectionError` that says so: when Braze's budget is paused, a
  web app sheds load instead of growing without end.

Outcomes
========
Each caller gets its own outcome: the :class:`SendResult` of the request it rode in, or the
exception that request raised (the very same exception object for every caller of that
request). A 400 that names one bad recipient still fails the whole request: Braze refused the
request as a whole and sent nothing, so every caller of that batch gets the
:class:`~braze_async.BrazeBadRequestError`; the batch is not split and resent behind their
backs (retrying the others is safe and up to them). A success that carries a ``notice``
(a paused, stopped or archived Canvas: Braze sends nothing) is no success for its callers:
each gets a :class:`~braze_async.BrazeNotSentError`.

Who rides in a request is decided when the rate limiter admits it, just before it leaves
(again before a retry): a caller cancelled until then (a web app's timeout while Braze's
budget is paused) is not sent, and a request whose callers all left is not sent at all.
Once its request left, cancelling a caller does not affect the others.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from ._errors import (
    BrazeConnectionError,
    BrazeError,
    BrazeNotSentError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
)
from ._models import MAX_RECIPIENTS, Recipient, SendResponse
from ._schedule import Schedule, Scheduled
from ._targets import Target, canonical, check_target
from ._validate import check_count, check_seconds

__all__ = [
    "DEFAULT_LINGER",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_PENDING",
    "Batcher",
    "Batchers",
    "Batching",
    "SendResult",
    "Sender",
]

#: Default bound on the requests a :class:`Batcher` has in flight at once.
DEFAULT_MAX_CONCURRENCY = 16
#: Default wait for company of a partial batch while other requests are in flight.
DEFAULT_LINGER = 0.005
#: Default bound on the callers a :class:`Batcher` keeps waiting (queued or in flight).
DEFAULT_MAX_PENDING = 10_000


class Sender(Protocol):
    """What a batch is sent through: :class:`~braze_async.BrazeClient` is one.

    ``riders``, when given, is called each time the rate limiter admits an attempt, just
    before it leaves: it returns who of ``recipients`` still ride (in order; fewer when
    callers left), and the attempt carries them; if it raises, nothing is sent and its
    exception propagates.

    ``on_admitted``, when given, is called once, after the rate limiter admitted the request
    and before its first attempt leaves; if it raises, nothing is sent and its exception
    propagates (a bulk job journals the batch there).

    ``stop``, when given, is a bulk job's stop event: once it is set, no attempt starts and
    every wait on the way (for the rate limiter, before a retry) ends, the request failing as
    never sent (a :class:`~braze_async.BrazeError` caused by a
    :class:`~braze_async._stop.Stopped`), or unknown after an attempt that may have been
    processed; requests in flight finish (see :mod:`braze_async._stop`).

    ``schedule``, when given (a bulk job's, never with ``riders``), makes the request a
    schedule create of the same recipients, answered by a :class:`~braze_async.Scheduled`;
    a time that has passed by the sender's clock raises a
    :class:`~braze_async.BrazeValidationError` (field ``schedule.at``) before anything leaves.
    """

    async def _send_batch(
        self,
        target: Target,
        recipients: Sequence[Recipient],
        *,
        riders: Callable[[], Sequence[Recipient]] | None = None,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
        schedule: Schedule | None = None,
    ) -> SendResponse | Scheduled: ...


@attrs.frozen(slots=True, kw_only=True)
class Batching:
    """How :meth:`~braze_async.BrazeClient.send_one` batches concurrent callers; give it to
    the client, ``BrazeClient(batching=Batching(linger=0.002))``.
    """

    #: Batched requests in flight at once (default 16).
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    #: Seconds a partial batch may wait for company while other batched requests are in
    #: flight (default 5 ms); a lone call never waits.
    linger: float = DEFAULT_LINGER
    #: Callers of ``send_one`` waiting at once, at most (default 10,000, about 11 MiB); past
    #: it a call fails at once as never sent (:class:`~braze_async.BrazeConnectionError`)
    #: instead of queueing without end.
    max_pending: int = DEFAULT_MAX_PENDING

    def __attrs_post_init__(self) -> None:
        check_count(self.max_concurrency, "max_concurrency")
        check_seconds(self.linger, "linger", zero=True)
        check_count(self.max_pending, "max_pending")


@attrs.frozen(slots=True, kw_only=True)
class SendResult:
    """The outcome of one :meth:`~braze_async.BrazeClient.send_one` call."""

    #: The recipient that was sent.
    recipient: Recipient
    #: Braze's answer to the request this recipient rode in (shared with its batch-mates).
    response: SendResponse
    #: How many recipients that request carried.
    batch_size: int

    @property
    def dispatch_id(self) -> str | None:
        """The dispatch of the request; ``None`` when Braze gave none (HTTP 202, or a bare
        ``{"message": "success"}``)."""
        return self.response.dispatch_id


class _Deserted(Exception):
    """Every caller of a batch left before it was admitted: it is not sent."""


class _Waiter:
    __slots__ = ("future", "recipient", "taken")

    def __init__(self, recipient: Recipient, future: asyncio.Future[SendResult]) -> None:
        self.recipient = recipient
        self.future = future
        #: Set once the waiter is part of a batch: cancelled, it leaves when the batch's
        #: request is admitted (see Batcher._run), not from the queue.
        self.taken = False


class Batcher:
    """Collects single sends into requests of up to 50 recipients.

    :param sender: sends a finished batch (a :class:`~braze_async.BrazeClient`).
    :param max_concurrency: requests in flight at once.
    :param linger: seconds a partial batch may wait for company while other requests are in
        flight (0: the next loop tick); a lone call never waits.
    :param max_batch: recipients per request (at most :data:`MAX_RECIPIENTS`).
    :param max_pending: callers waiting at once (queued or in flight) at most; past it,
        :meth:`send` fails at once as never sent.

    ::

        batcher = Batcher(braze, max_concurrency=8)
        target = Campaign("welcome")
        result = await batcher.send(Recipient(external_user_id="u1"), target)
        await batcher.aclose()
    """

    def __init__(
        self,
        sender: Sender,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        linger: float = DEFAULT_LINGER,
        max_batch: int = MAX_RECIPIENTS,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        Batching(max_concurrency=max_concurrency, linger=linger, max_pending=max_pending)
        if isinstance(max_batch, bool) or not isinstance(max_batch, int):
            raise BrazeValidationError("max_batch", "must be an integer")
        if not 1 <= max_batch <= MAX_RECIPIENTS:
            raise BrazeValidationError("max_batch", f"must be between 1 and {MAX_RECIPIENTS}")
        self._sender = sender
        self._max_concurrency = max_concurrency
        self._linger = float(linger)
        self._max_batch = max_batch
        self._max_pending = max_pending
        #: Callers of send() not yet answered (queued or in flight).
        self._callers = 0
        #: Waiting callers per target (by its canonical JSON), with the target; insertion
        #: order is the round-robin order.
        self._pending: dict[bytes, tuple[Target, collections.deque[_Waiter]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._closed = False
        #: Requests sent so far (whatever their outcome).
        self.requests = 0
        #: Recipients sent so far, in those requests.
        self.recipients = 0

    @property
    def in_flight(self) -> int:
        """Requests on their way now."""
        return len(self._tasks)

    @property
    def pending(self) -> int:
        """Callers waiting for a batch to leave."""
        return sum(len(q) for _, q in self._pending.values())

    async def send(self, recipient: Recipient, target: Target) -> SendResult:
        """Send ``recipient`` to ``target`` in a batch; return its own outcome.

        Raises what the batch's request raised (the same exception for each of its callers),
        or, when ``max_pending`` callers are waiting already, ``BrazeConnectionError`` at once.
        """
        if self._closed:
            raise BrazeError("the client is closed")
        if not isinstance(recipient, Recipient):
            raise BrazeValidationError(
                "recipient", f"must be a Recipient, not {type(recipient).__name__}"
            )
        check_target(target).check(recipient)
        if self._callers >= self._max_pending:
            raise BrazeConnectionError(
                f"{self._callers} send_to_user() calls are already waiting, the most allowed "
                "(Batching(max_pending=...)); nothing was sent for this one"
            )
        loop = asyncio.get_running_loop()
        waiter = _Waiter(recipient, loop.create_future())
        key = canonical(target)
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = (target, collections.deque())
        queue = entry[1]
        queue.append(waiter)
        self._schedule(loop, full=len(queue) >= self._max_batch)
        self._callers += 1
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if not waiter.taken:
                self._forget(key, waiter)
            elif waiter.future.done() and not waiter.future.cancelled():
                waiter.future.exception()  # its outcome arrived as we were cancelled: seen
            raise
        finally:
            self._callers -= 1

    def _forget(self, key: bytes, waiter: _Waiter) -> None:
        entry = self._pending.get(key)
        if entry is None:
            return
        queue = entry[1]
        try:
            queue.remove(waiter)
        except ValueError:  # pragma: no cover - taken waiters are not looked up
            return
        if not queue:
            del self._pending[key]

    def _schedule(self, loop: asyncio.AbstractEventLoop, *, full: bool = False) -> None:
        """Arrange a flush: at the next tick, or after ``linger`` unless a batch is full."""
        if len(self._tasks) >= self._max_concurrency:
            return  # a completing request flushes
        if self._flush_handle is not None:
            if not (full and isinstance(self._flush_handle, asyncio.TimerHandle)):
                return
            self._flush_handle.cancel()
        if self._linger and not full and self._tasks:
            # Requests are in flight, so this is not a lone call: wait a little for company
            # rather than spend a request (and rate budget) on a handful of recipients.
            self._flush_handle = loop.call_later(self._linger, self._flush)
        else:
            # call_soon runs after every callback already queued for this tick: the callers
            # that arrive in the same tick are collected into the same batch.
            self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        while self._pending and len(self._tasks) < self._max_concurrency:
            key = next(iter(self._pending))
            target, queue = self._pending.pop(key)
            batch: list[_Waiter] = []
            while queue and len(batch) < self._max_batch:
                waiter = queue.popleft()
                if waiter.future.done():  # cancelled while waiting
                    continue
                waiter.taken = True
                batch.append(waiter)
            if queue:
                self._pending[key] = (target, queue)  # to the back of the line: round robin
            if batch:
                task = asyncio.get_running_loop().create_task(self._run(target, batch))
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._pending and self._flush_handle is None:
            self._flush()

    async def _run(self, target: Target, batch: list[_Waiter]) -> None:
        riders = batch

        def board() -> list[Recipient]:
            """Who rides, decided as each attempt is admitted: the callers still waiting (a
            cancelled one, e.g. timed out while the budget was paused, leaves)."""
            nonlocal riders
            first, riders = riders is batch, [w for w in riders if not w.future.done()]
            if not riders:
                raise _Deserted  # nobody left: no request
            self.requests += first
            return [w.recipient for w in riders]

        try:
            response = await self._sender._send_batch(
                target, [w.recipient for w in batch], riders=board
            )
        except _Deserted:
            return
        except asyncio.CancelledError:
            # Only aclose() being cancelled, or loop teardown, cancels a batch: it may have
            # reached Braze already.
            error = BrazeUnknownOutcomeError(
                "the batch was cancelled while in flight; it may or may not have been processed"
            )
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
            raise
        except Exception as exc:
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
        else:
            assert isinstance(response, SendResponse)  # send_one never gives a schedule
            if response.notice is not None:
                # Braze will send nothing: no caller of this batch was sent.
                refused = BrazeNotSentError(
                    response.notice,
                    status_code=response.status_code,
                    dispatch_id=response.dispatch_id,
                    endpoint=target.path,
                )
                for waiter in batch:
                    if not waiter.future.done():
                        waiter.future.set_exception(refused)
                return
            size = len(riders)
            self.recipients += size
            for waiter in riders:
                if not waiter.future.done():
                    waiter.future.set_result(
                        SendResult(recipient=waiter.recipient, response=response, batch_size=size)
                    )

    async def aclose(self) -> None:
        """Send what is waiting, wait for the requests in flight, refuse new calls.

        If this is cancelled, the requests in flight are cancelled: their callers get
        :class:`~braze_async.BrazeUnknownOutcomeError`, waiting callers a ``BrazeError``.
        """
        self._closed = True
        try:
            while self._pending or self._tasks:
                if self._flush_handle is not None:
                    self._flush_handle.cancel()
                    self._flush_handle = None
                if self._pending and len(self._tasks) < self._max_concurrency:
                    self._flush()
                if self._tasks:
                    await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._abort()
            raise

    def _abort(self) -> None:
        error = BrazeError("the client was closed before this recipient was sent")
        for _, queue in self._pending.values():
            for waiter in queue:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
        self._pending.clear()
        for task in self._tasks:
            task.cancel()


class Batchers:
    """The batchers of a client and its views, one per rate-limiter lane, each created on
    first use (``send_one(..., priority="bulk")`` batches wait in the bulk lane)."""

    __slots__ = ("_batchers", "batching")

    def __init__(self, batching: Batching) -> None:
        #: How they batch.
        self.batching = batching
        self._batchers: dict[str, Batcher] = {}

    def of(self, lane: str, sender: Callable[[], Sender]) -> Batcher:
        """The batcher of *lane*, sending through ``sender()`` (made on first use)."""
        batcher = self._batchers.get(lane)
        if batcher is None:
            batching = self.batching
            batcher = self._batchers[lane] = Batcher(
                sender(),
                max_concurrency=batching.max_concurrency,
                linger=batching.linger,
                max_pending=batching.max_pending,
            )
        return batcher

    def started(self) -> bool:
        """Whether any batcher was made (the 0.x ``configure_batching`` came too late)."""
        return bool(self._batchers)

    def configure(self, batching: Batching) -> None:
        """Batch with *batching* from now on (before any batcher was made)."""
        self.batching = batching

    async def aclose(self) -> None:
        """Send what waits, wait for what is in flight, in every lane."""
        for batcher in self._batchers.values():
            await batcher.aclose()
