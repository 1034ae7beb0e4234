"""Bulk sends: stream any number of recipients to one campaign or Canvas, 50 per request.

The job reads its input lazily (memory stays flat however long the input), keeps up to
``concurrency`` requests in flight (each one through the client, so within its rate limits
and retry policy), and accounts for every input item exactly once:

=============  =================================================================  ==========
outcome        meaning                                                            on resume
=============  =================================================================  ==========
sent           Braze accepted the request it rode in                              skipped
rejected       the input row is invalid (line number and reason)                  rejected
failed         Braze refused the request, it never left, or Braze answered        sent again
               that it will send nothing (a ``notice``: a paused Canvas)
unknown        the request may or may not have been processed                     NOT resent
=============  =================================================================  ==========

A ``notice`` stops the job like a 401 or 403 does: every later request would meet it too.
Non-fatal errors Braze reports alongside a success are kept in
:attr:`BulkReport.non_fatal_errors`.

With a journal (see :mod:`braze_async._journal`) a job killed at any moment can be started
again with the same arguments: it skips what was confirmed sent, reports what may have been
sent as unknown, and sends the rest. A batch is journaled as begun only once the rate limiter
admitted its request, just before it leaves: a batch still waiting for the limiter when the
job is killed was never sent, and is sent by the next job.

Setting the ``stop`` event stops a job cleanly: no new batches, the requests in flight finish
and are journaled; batches still waiting for the rate limiter are failed (never sent), those
of :meth:`BrazeClient.bulk_send` waiting to be retried after a 429 too.
Cancelling the job's task instead abandons them all: those admitted become unknown, those
still waiting for the limiter failed (never sent). A job also stops by itself when every
request would fail alike: on a 401 or 403, and after
:data:`STOP_AFTER_NEVER_SENT` requests in a row that never left (Braze unreachable). After
any early stop, :attr:`BulkReport.stopped_at` is the first input item not attempted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Literal, TypeAlias

import attrs

from ._batching import Sender
from ._errors import (
    BrazeAPIError,
    BrazeConnectionError,
    BrazeError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    ErrorDetail,
)
from ._journal import (
    DEFAULT_FSYNC,
    FSYNC_POLICIES,
    SENT,
    TODO,
    FsyncPolicy,
    Journal,
    JournalError,
    JournalHeader,
    Outcome,
)
from ._limits import LimiterUnavailable
from ._models import MAX_RECIPIENTS, Recipient, SendResponse
from ._readers import InputRow
from ._targets import Target, canonical
from ._wire import converter

__all__ = ["BulkProgress", "BulkReport", "RecipientOutcome", "bulk_send"]

#: Default number of requests a bulk job keeps in flight.
DEFAULT_BULK_CONCURRENCY = 8
#: Default number of non-sent outcomes kept in :attr:`BulkReport.details`.
DEFAULT_MAX_DETAILS = 1000
#: Answers that stop a job: the key is wrong or lacks the permission, for every request.
_HALTING_STATUSES = frozenset({401, 403})
#: Requests in a row that never left (every attempt failed to reach Braze, retries spent)
#: after which a job stops: Braze is unreachable, and every later request would fail alike.
#: A request that got an answer in between starts the count again.
STOP_AFTER_NEVER_SENT = 10
#: Items read between two yields to the event loop when the input never awaits.
_YIELD_EVERY = 512

#: What a bulk job reads: recipients, or rows from :mod:`braze_async._readers`.
BulkItem: TypeAlias = Recipient | InputRow
#: The input of a bulk job.
BulkInput: TypeAlias = Iterable[BulkItem] | AsyncIterable[BulkItem]
OutcomeKind = Literal["rejected", "failed", "unknown"]


@attrs.frozen(slots=True, kw_only=True)
class RecipientOutcome:
    """One input item that was not sent, and why."""

    #: Its 0-based position in the input.
    position: int
    #: ``"rejected"``, ``"failed"`` or ``"unknown"``.
    outcome: OutcomeKind
    #: Why, in words.
    reason: str
    #: The input line, when the item came from a file.
    line: int | None = None
    #: The recipient (``None`` for a rejected row).
    recipient: Recipient | None = None
    #: For a rejected row, what could be read of it (see :class:`InputRow`).
    data: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    #: For ``failed``: the HTTP status Braze answered, if it answered.
    status_code: int | None = None
    #: For ``failed``: Braze's error code, if it gave one.
    code: str | None = None

    def to_json(self, *, canvas: bool = False) -> dict[str, Any]:
        """The recipient in Braze's JSON form plus ``_outcome``, ``_reason``, ``_line``...

        The JSONL reader ignores the ``_`` keys, so a fixed line can be sent again as it is.
        With ``canvas``, the recipient's properties are under ``context``, the name Braze's
        Canvas page gives them.
        """
        out: dict[str, Any]
        if self.recipient is not None:
            out = converter.unstructure(self.recipient)
            if canvas and "trigger_properties" in out:
                out["context"] = out.pop("trigger_properties")  # a Canvas's name for them
        else:
            out = {
                k: v for k, v in (self.data or {}).items() if k == "_raw" or not k.startswith("_")
            }
        out["_outcome"] = self.outcome
        out["_reason"] = self.reason
        if self.line is not None:
            out["_line"] = self.line
        if self.status_code is not None:
            out["_status"] = self.status_code
        if self.code:
            out["_code"] = self.code
        return out


@attrs.frozen(slots=True, kw_only=True)
class BulkProgress:
    """A snapshot of a running job, handed to ``on_progress``."""

    sent: int
    already_sent: int
    rejected: int
    failed: int
    unknown: int
    #: Requests made so far.
    requests: int
    #: Input items read so far.
    processed: int
    #: Items read and not yet decided (in a batch being filled or in flight).
    in_progress: int
    #: Expected number of input items, when the caller knows it.
    total: int | None
    #: Seconds since the job started.
    elapsed: float
    #: Items that needed a decision in this run (not skipped by the journal) per second.
    rate: float

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, when ``total`` is known."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0, self.total - self.processed + self.in_progress) / self.rate


@attrs.define(kw_only=True)
class BulkReport:
    """The result of a bulk job: every input item read counted exactly once.

    ``sent + already_sent + rejected + failed + unknown + not_attempted == total``, the number
    of input items read.
    """

    #: Recipients sent by this run.
    sent: int = 0
    #: Recipients the journal shows were sent by an earlier run (skipped).
    already_sent: int = 0
    #: Invalid input items.
    rejected: int = 0
    #: Recipients Braze refused or that could not be sent (nothing was sent for them).
    failed: int = 0
    #: Recipients whose request may or may not have been processed (not resent).
    unknown: int = 0
    #: Input items read but not attempted because the job stopped early (no request was made
    #: for them: safe to send). Items not read are in no count; see :attr:`stopped_at`.
    not_attempted: int = 0
    #: Requests made by this run.
    requests: int = 0
    #: True when the job stopped before attempting all of its input.
    interrupted: bool = False
    #: Why it stopped early: ``"stopped"`` (the stop event) or what stopped it: a 401 or 403
    #: answer, a ``notice`` (Braze will not send: a paused Canvas), a rate limiter that cannot
    #: admit anything (e.g. its Redis stayed away), or :data:`STOP_AFTER_NEVER_SENT` requests
    #: in a row that never reached Braze (every later request would fail the same way).
    stop_reason: str | None = None
    #: When the job stopped early, the 0-based input position of the first item it did not
    #: attempt (``None`` when it attempted every item it read and read to the end). Every
    #: item before it was sent, or has an outcome (``on_outcome`` heard of it); none at or
    #: after it was sent by this run: those read are in ``not_attempted`` (or ``rejected``),
    #: the others were not read. Without a journal, the job is finished by sending the input
    #: from there on.
    stopped_at: int | None = None
    #: The input line of :attr:`stopped_at`, when the items came from a file.
    stopped_at_line: int | None = None
    #: Seconds the job took.
    elapsed: float = 0.0
    #: The first ``max_details`` outcomes that were not "sent".
    details: list[RecipientOutcome] = attrs.field(factory=list)
    #: How many more such outcomes were not kept in ``details``.
    details_dropped: int = 0
    #: The first ``max_details`` non-fatal errors Braze reported alongside successes (their
    #: requests' recipients count as sent: errors.md says the messages an error does not
    #: affect are delivered).
    non_fatal_errors: list[ErrorDetail] = attrs.field(factory=list)
    #: How many more non-fatal errors were not kept in ``non_fatal_errors``.
    non_fatal_errors_dropped: int = 0

    @property
    def total(self) -> int:
        """Input items read, each accounted for in exactly one count."""
        return (
            self.sent
            + self.already_sent
            + self.rejected
            + self.failed
            + self.unknown
            + self.not_attempted
        )

    @property
    def ok(self) -> bool:
        """True when every input item was sent (by this run or an earlier one)."""
        return self.total == self.sent + self.already_sent and not self.interrupted

    def __repr__(self) -> str:
        # The counts, not the details: a thousand outcomes would make a repr of a quarter
        # of a megabyte in every log line and traceback that shows the report.
        kept = len(self.details)
        return (
            f"BulkReport(sent={self.sent}, already_sent={self.already_sent}, "
            f"rejected={self.rejected}, failed={self.failed}, unknown={self.unknown}, "
            f"not_attempted={self.not_attempted}, requests={self.requests}, "
            f"interrupted={self.interrupted}, stop_reason={self.stop_reason!r}, "
            f"elapsed={self.elapsed:.3f}, details=<{kept} outcome{'' if kept == 1 else 's'}>, "
            f"details_dropped={self.details_dropped})"
        )


class _Batch:
    __slots__ = ("lines", "positions", "recipients")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.recipients: list[Recipient] = []
        self.lines: list[int | None] = []

    def __len__(self) -> int:
        return len(self.positions)


class _Begin:
    """The ``on_admitted`` hook of one batch: journals it as begun once the rate limiter has
    admitted its request, just before the request leaves (so a hard stop before admission
    leaves no begin record, and the next job sends the batch)."""

    __slots__ = ("batch", "batch_id", "error", "journal")

    def __init__(self, journal: Journal | None, batch: _Batch) -> None:
        self.journal = journal
        self.batch = batch
        #: The journal's id of the batch (-1 without a journal); ``None`` until admitted.
        self.batch_id: int | None = None
        #: What writing the begin record raised: the request was not sent.
        self.error: Exception | None = None

    def __call__(self) -> None:
        if self.journal is None:
            self.batch_id = -1
            return
        try:
            self.batch_id = self.journal.begin(
                self.batch.positions, [r.key for r in self.batch.recipients]
            )
        except Exception as exc:
            self.error = exc
            raise

    @property
    def admitted(self) -> bool:
        return self.batch_id is not None

    def ensure(self) -> int:
        """The batch's journal id, journaling it as begun now if the sender never called the
        hook (a sender of the caller's that ignores it): what may have left must be there."""
        if self.batch_id is None:
            self()
        assert self.batch_id is not None
        return self.batch_id


async def _enumerate(items: BulkInput) -> AsyncIterator[tuple[int, BulkItem]]:
    position = 0
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield position, item
            position += 1
            if not position % _YIELD_EVERY:
                await asyncio.sleep(0)
    else:
        for item in items:
            yield position, item
            position += 1
            # A sync input never awaits: let the loop breathe (progress, signals, answers).
            if not position % _YIELD_EVERY:
                await asyncio.sleep(0)


class _Job:
    def __init__(
        self,
        sender: Sender,
        target: Target,
        *,
        concurrency: int,
        journal: Journal | None,
        on_progress: Callable[[BulkProgress], object] | None,
        on_outcome: Callable[[RecipientOutcome], object] | None,
        stop: asyncio.Event | None,
        on_stop: Callable[[], object] | None,
        total: int | None,
        max_details: int,
    ) -> None:
        self.sender = sender
        self.target = target
        #: Whether the target refuses some recipients (see Messages.check).
        self.checks_recipients = target.kind == "messages"
        self.journal = journal
        self.on_progress = on_progress
        self.on_outcome = on_outcome
        self.stop = stop
        self.on_stop = on_stop
        self.total = total
        self.max_details = max_details
        self.slots = asyncio.Semaphore(concurrency)
        #: The batch tasks running, with each one's begin hook (admitted or not yet).
        self.tasks: dict[asyncio.Task[None], _Begin] = {}
        self.report = BulkReport()
        self.started = time.monotonic()
        self.processed = 0
        self.in_progress = 0
        self.skipped = 0
        #: Requests in a row, by completion, that never left (see STOP_AFTER_NEVER_SENT).
        self.never_sent = 0
        #: An error of a batch task that must end the job (e.g. the journal cannot be written).
        self.fatal: BaseException | None = None

    def stop_set(self) -> bool:
        """Whether the stop event is set: batches not admitted yet are not sent."""
        return self.stop is not None and self.stop.is_set()

    def halted(self) -> bool:
        """Whether to start no more batches; notes why in the report."""
        if self.report.stop_reason is None and self.stop_set():
            self.report.stop_reason = "stopped"
        if self.report.stop_reason is not None or self.fatal is not None:
            self.report.interrupted = True
            return True
        return False

    # -- outcomes --------------------------------------------------------------------------

    def record(self, outcome: RecipientOutcome) -> None:
        report = self.report
        if outcome.outcome == "rejected":
            report.rejected += 1
        elif outcome.outcome == "failed":
            report.failed += 1
        else:
            report.unknown += 1
        if len(report.details) < self.max_details:
            report.details.append(outcome)
        else:
            report.details_dropped += 1
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def record_batch(
        self,
        batch: _Batch,
        outcome: Literal["failed", "unknown"],
        reason: str,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        for position, recipient, line in zip(
            batch.positions, batch.recipients, batch.lines, strict=True
        ):
            self.record(
                RecipientOutcome(
                    position=position,
                    outcome=outcome,
                    reason=reason,
                    line=line,
                    recipient=recipient,
                    status_code=status,
                    code=code,
                )
            )

    def keep_non_fatal(self, errors: tuple[ErrorDetail, ...]) -> None:
        report = self.report
        room = max(0, self.max_details - len(report.non_fatal_errors))
        report.non_fatal_errors.extend(errors[:room])
        report.non_fatal_errors_dropped += max(0, len(errors) - room)

    def progress(self) -> None:
        if self.on_progress is None:
            return
        r = self.report
        elapsed = time.monotonic() - self.started
        decided = self.processed - self.skipped - self.in_progress
        self.on_progress(
            BulkProgress(
                sent=r.sent,
                already_sent=r.already_sent,
                rejected=r.rejected,
                failed=r.failed,
                unknown=r.unknown,
                requests=r.requests,
                processed=self.processed,
                in_progress=self.in_progress,
                total=self.total,
                elapsed=elapsed,
                rate=decided / elapsed if elapsed > 0 else 0.0,
            )
        )

    # -- the producer ----------------------------------------------------------------------

    async def run(self, items: BulkInput) -> BulkReport:
        watcher = None
        if self.stop is not None:
            watcher = asyncio.get_running_loop().create_task(self.watch(self.stop))
        try:
            return await self.produce(items)
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def watch(self, stop: asyncio.Event) -> None:
        """On the stop event, take back the batches still waiting for the rate limiter: they
        were never sent (failed, safe to send again). The requests in flight finish, so a stop
        waits for them only, not for a budget that may be spent for an hour. (A batch already
        admitted once, waiting to be retried after a 429, is the sender's to give up:
        :meth:`BrazeClient.bulk_send` does, through ``on_stop``.)"""
        await stop.wait()
        self.halted()  # the report says "stopped", before any failure the stop causes
        if self.on_stop is not None:
            self.on_stop()
        # Every batch task has started by now (a task cancelled before its first step would
        # run none of its handlers): it was scheduled before the stop was set, as no batch is
        # dispatched once it is, and the loop runs callbacks in the order they were scheduled.
        for task, begin in list(self.tasks.items()):
            if not begin.admitted:
                task.cancel()

    async def produce(self, items: BulkInput) -> BulkReport:
        batch = _Batch()
        try:
            async for position, item in _enumerate(items):
                if self.halted():
                    self.report.not_attempted += 1  # read, not attempted
                    self.processed += 1
                    self.note_stop(position, item.line if isinstance(item, InputRow) else None)
                    break
                self.processed += 1
                self.take(position, item, batch)
                if len(batch) >= MAX_RECIPIENTS:
                    if not await self.dispatch(batch):
                        break
                    batch = _Batch()
                elif not self.processed % _YIELD_EVERY:
                    self.progress()
            else:
                if len(batch):
                    await self.dispatch(batch)  # when refused (stopped), it abandons the batch
                batch = _Batch()
            if len(batch):  # stopped with a batch half filled
                self.abandon(batch)
                batch = _Batch()
            # Inside the try: a job cancelled while its last answers are awaited abandons
            # those requests (reported, journaled as unknown) instead of leaving them running.
            await self.drain(cancel=False)
        except asyncio.CancelledError:
            # Abandon the requests in flight: those admitted have no end record, so a
            # resumed job reports them unknown; the others have no begin record.
            self.abandon(batch)
            await self.drain(cancel=True)
            raise
        except BaseException:
            # The input or a callback failed: what is in flight finishes and is journaled.
            self.abandon(batch)
            await self.drain(cancel=False)
            raise
        self.report.elapsed = time.monotonic() - self.started
        self.progress()
        if self.fatal is not None:
            raise self.fatal
        self.finish()
        return self.report

    def abandon(self, batch: _Batch) -> None:
        if len(batch):
            self.note_stop(batch.positions[0], batch.lines[0])
        self.report.not_attempted += len(batch)
        self.in_progress -= len(batch)
        batch.positions.clear()

    def note_stop(self, position: int, line: int | None) -> None:
        """Note ``position`` as not attempted: the report names the first such item."""
        report = self.report
        if report.stopped_at is None or position < report.stopped_at:
            report.stopped_at, report.stopped_at_line = position, line

    def finish(self) -> None:
        """Note in the journal that the run stopped early (informational: nothing needs it)."""
        report = self.report
        if self.journal is None or not report.interrupted:
            return
        with contextlib.suppress(JournalError):  # rolled back; the job's outcome stands
            self.journal.stopped(
                report.stop_reason or "stopped",
                read=self.processed,
                first_not_attempted=report.stopped_at,
                line=report.stopped_at_line,
            )

    def take(self, position: int, item: BulkItem, batch: _Batch) -> None:
        journal = self.journal
        data: Mapping[str, Any] | None = None
        if isinstance(item, InputRow):
            line: int | None = item.line
            recipient = item.recipient
            reason = item.reason or "invalid"
            data = item.data
        elif isinstance(item, Recipient):
            line, recipient, reason = None, item, ""
        else:
            self.record(
                RecipientOutcome(
                    position=position,
                    outcome="rejected",
                    reason=f"not a Recipient: {type(item).__name__}",
                )
            )
            return
        if recipient is not None and self.checks_recipients:
            try:
                self.target.check(recipient)
            except BrazeValidationError as exc:
                reason, data = str(exc), converter.unstructure(recipient)
                recipient = None
        if recipient is None:
            if journal is not None and journal.status(position) != TODO:
                raise self.changed(position, line)
            self.record(
                RecipientOutcome(
                    position=position, outcome="rejected", reason=reason, line=line, data=data
                )
            )
            return
        if journal is not None:
            state = journal.status(position)
            if state != TODO:
                if not journal.same_key(position, recipient.key):
                    raise self.changed(position, line)
                self.skipped += 1
                if state == SENT:
                    self.report.already_sent += 1
                else:
                    self.record(
                        RecipientOutcome(
                            position=position,
                            outcome="unknown",
                            reason="an earlier run sent it and got no answer (journal); not resent",
                            line=line,
                            recipient=recipient,
                        )
                    )
                return
        batch.positions.append(position)
        batch.recipients.append(recipient)
        batch.lines.append(line)
        self.in_progress += 1

    def changed(self, position: int, line: int | None) -> JournalError:
        where = f"line {line}" if line is not None else f"input position {position}"
        path = self.journal.path if self.journal is not None else "the journal"
        return JournalError(
            f"the input changed since {path} was written: {where} is not the recipient that "
            "was sent from there; restore the input, or give another journal to start over"
        )

    async def dispatch(self, batch: _Batch) -> bool:
        await self.slots.acquire()
        if self.halted():
            self.slots.release()
            self.abandon(batch)
            return False
        begin = _Begin(self.journal, batch)
        task = asyncio.get_running_loop().create_task(self.send(batch, begin))
        self.tasks[task] = begin
        task.add_done_callback(self.forget)
        return True

    def forget(self, task: asyncio.Task[None]) -> None:
        del self.tasks[task]

    async def drain(self, *, cancel: bool) -> None:
        if cancel:
            for task in self.tasks:
                task.cancel()
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    # -- one request -------------------------------------------------------------------------

    async def send(self, batch: _Batch, begin: _Begin) -> None:
        try:
            try:
                response = await self.sender._send_batch(
                    self.target, batch.recipients, on_admitted=begin
                )
            except Exception as exc:
                self.in_progress -= len(batch)
                if exc is begin.error:
                    self.not_begun(batch, exc)
                else:
                    self.failed(begin, batch, exc)
            else:
                self.in_progress -= len(batch)
                self.succeeded(begin, batch, response)
            self.progress()
        except asyncio.CancelledError:
            # Only the await above is cancelled: nothing after it awaits.
            self.in_progress -= len(batch)
            try:
                self.cancelled(begin, batch)
            except Exception as exc:  # a callback failed: the job ends with it
                if self.fatal is None:
                    self.fatal = exc
            raise
        except Exception as exc:  # the journal or a callback failed: stop the job
            if self.fatal is None:
                self.fatal = exc
        finally:
            self.slots.release()

    def succeeded(self, begin: _Begin, batch: _Batch, response: SendResponse) -> None:
        self.report.requests += 1
        self.never_sent = 0
        if response.notice is not None:
            # A success that sends nothing (a paused Canvas): failed, safe to resend; and every
            # later request would be answered alike, so the job stops.
            reason = f"Braze will not send: {response.notice}"
            if self.report.stop_reason is None:
                self.report.stop_reason = reason
            self.end(begin, "failed", reason=reason, status=response.status_code)
            self.record_batch(batch, "failed", reason, response.status_code)
            return
        self.report.sent += len(batch)
        self.end(begin, "sent", dispatch_id=response.dispatch_id)
        if response.errors:
            self.keep_non_fatal(response.errors)

    def failed(self, begin: _Begin, batch: _Batch, exc: Exception) -> None:
        outcome: Literal["failed", "unknown"]
        status: int | None = None
        code: str | None = None
        if isinstance(exc, BrazeUnknownOutcomeError):
            outcome, reason = "unknown", str(exc)
        elif isinstance(exc, BrazeAPIError):
            outcome, reason, status = "failed", str(exc), exc.status_code
            code = next((e.code for e in exc.errors if e.code), None)
            if status in _HALTING_STATUSES and self.report.stop_reason is None:
                self.report.stop_reason = reason
        elif isinstance(exc, BrazeError):  # never sent (connection error) or refused locally
            outcome, reason = "failed", str(exc)
            if _limiter_unavailable(exc) and self.report.stop_reason is None:
                self.report.stop_reason = reason
        else:  # a bug below us: whether it left, nobody knows
            outcome, reason = "unknown", f"unexpected {type(exc).__name__}: {exc}"
        self.report.requests += 1
        self.count_never_sent(exc)
        # A batch never admitted was never sent: no record, so a resumed job sends it.
        if begin.admitted or outcome == "unknown":
            details: dict[str, Any] = {"reason": reason}
            if status is not None:
                details["status"] = status
            if code:
                details["code"] = code
            self.end(begin, outcome, **details)
        self.record_batch(batch, outcome, reason, status, code)

    def end(self, begin: _Begin, outcome: Outcome, **details: Any) -> None:
        """Journal the outcome of a batch; if that fails, the job stops."""
        if self.journal is None:
            return
        try:
            self.journal.end(begin.ensure(), outcome, **details)
        except JournalError as exc:
            raise JournalError(
                f"{exc}; the job stopped: a batch's outcome could not be journaled, so a "
                "resumed job reports that batch unknown (it is not resent)"
            ) from exc

    def count_never_sent(self, exc: Exception) -> None:
        """Stop the job after STOP_AFTER_NEVER_SENT requests in a row that never left."""
        if not isinstance(exc, BrazeConnectionError):
            self.never_sent = 0
            return
        self.never_sent += 1
        if self.never_sent >= STOP_AFTER_NEVER_SENT and self.report.stop_reason is None:
            self.report.stop_reason = (
                f"{STOP_AFTER_NEVER_SENT} requests in a row never reached Braze ({exc}); "
                "the rest was not attempted and is safe to send again"
            )

    def not_begun(self, batch: _Batch, exc: Exception) -> None:
        """The journal refused the begin record: nothing was sent, and the job stops."""
        if self.fatal is None:
            error = JournalError(
                f"{exc}; the job stopped before the request it was about to journal (nothing "
                "was sent for it): run the job again, once the journal can be written, to "
                "send the rest"
            )
            error.__cause__ = exc
            self.fatal = error
        self.record_batch(batch, "failed", f"not sent: {exc}")

    def cancelled(self, begin: _Begin, batch: _Batch) -> None:
        """Abandoned by a hard stop, or by a stop before the limiter admitted it: unknown once
        admitted (it may have left), failed before (never sent; no begin record, so a resumed
        job sends it)."""
        if begin.admitted:
            # No end record: a resumed job reports it unknown, too.
            self.record_batch(
                batch,
                "unknown",
                "the job was cancelled while this request was in flight: it may or may not "
                "have been processed; not resent",
            )
        else:
            self.record_batch(
                batch,
                "failed",
                f"not sent: the job was {'stopped' if self.stop_set() else 'cancelled'} before "
                "the rate limiter admitted this request; safe to send again",
            )


def _limiter_unavailable(error: BrazeError) -> bool:
    """Whether *error* says the rate limiter cannot admit anything (its Redis stayed away
    past its retry bound, or the client is closing): every later request would fail the same
    way, so the job stops, the rest resendable, instead of failing every recipient."""
    return isinstance(error, BrazeConnectionError) and isinstance(
        error.__cause__, LimiterUnavailable
    )


def job_header(target: Target, input_fingerprint: str = "", destination: str = "") -> JournalHeader:
    """The journal header of a job sending ``target`` from ``input_fingerprint``."""
    return JournalHeader(
        target=f"{target.kind}:{target.target_id}",
        request="sha256:" + hashlib.sha256(canonical(target)).hexdigest()[:32],
        input=input_fingerprint,
        destination=destination,
    )


async def bulk_send(
    sender: Sender,
    recipients: BulkInput,
    target: Target,
    *,
    concurrency: int = DEFAULT_BULK_CONCURRENCY,
    journal: str | os.PathLike[str] | None = None,
    input_fingerprint: str = "",
    destination: str = "",
    journal_fsync: FsyncPolicy = DEFAULT_FSYNC,
    on_progress: Callable[[BulkProgress], object] | None = None,
    on_outcome: Callable[[RecipientOutcome], object] | None = None,
    stop: asyncio.Event | None = None,
    on_stop: Callable[[], object] | None = None,
    total: int | None = None,
    max_details: int = DEFAULT_MAX_DETAILS,
) -> BulkReport:
    """Send ``target`` to every recipient of ``recipients``, 50 per request.

    See :meth:`braze_async.BrazeClient.send_bulk`, which calls this with the client as the
    ``sender`` and its base URL as the ``destination`` (a journal names the Braze endpoint it
    was written against: a journal of a simulated run is refused by a real one).

    ``on_stop`` is called once, when the job sees ``stop`` set: the client nudges its rate
    limiter there, so that its requests waiting to be retried give up too.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError("concurrency must be an integer >= 1")
    if isinstance(recipients, (str, bytes, Recipient, InputRow)):
        raise TypeError("recipients must be an iterable of Recipient")
    if journal_fsync not in FSYNC_POLICIES:
        raise ValueError(
            "journal_fsync must be one of "
            + ", ".join(repr(p) for p in FSYNC_POLICIES)
            + f", not {journal_fsync!r}"
        )
    opened = (
        Journal.open(
            journal, job_header(target, input_fingerprint, destination), fsync=journal_fsync
        )
        if journal is not None
        else None
    )
    try:
        job = _Job(
            sender,
            target,
            concurrency=concurrency,
            journal=opened,
            on_progress=on_progress,
            on_outcome=on_outcome,
            stop=stop,
            on_stop=on_stop,
            total=total,
            max_details=max_details,
        )
        return await job.run(recipients)
    finally:
        if opened is not None:
            opened.close()
