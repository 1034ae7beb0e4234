"""Bulk sends: stream any number of recipients to one target, 50 per request.

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

A batch's life
==============
Up to 50 recipients ride in one batch, and one request. A batch is in one state at a time,
``_Batch.state``, which only moves forward (``_MOVES``), each move made in one place:

* **filling**: the producer reads items into it (``_Job.take``), then, full, waits for a free
  slot of the ``concurrency``;
* **waiting**: handed to a task of its own (``_Job.dispatch``), its request waits for the
  rate limiter;
* **admitted**: the limiter admitted it, and its begin record is written just before the
  request leaves (``_Batch.admit``, the sender's ``on_admitted`` hook); it is in flight, or
  waiting to be retried;
* **answered**: its request's outcome is known, sent, failed or unknown (``_Job.answered``);
* **ended**: its outcome is journaled and reported (``_Job.end``); or it ended early: never
  sent (``_Job.unsent``, from waiting), abandoned in flight by a cancel
  (``_Job.cancelled``, from admitted), or not attempted (``_Job.abandon``, from filling).

What the journal holds in each state, what a kill (SIGKILL, a crash) leaves for the resumed
run, and what the ``stop`` event does (a power loss may also lose the end records that
``journal_fsync`` did not force to the disk: their batches read as admitted):

=========  ========================  =============================  =========================
state      the journal holds         killed here, the resumed run   the stop event here
=========  ========================  =============================  =========================
filling    nothing of it             reads its items again and      not attempted
                                     sends them
waiting    nothing of it             sends it: it was never sent    its wait ends: failed,
                                                                    never sent (no record)
admitted   its begin record          reports it unknown and does    in flight: it finishes;
                                     not resend it: it may have     waiting to be retried:
                                     reached Braze                  the wait ends, failed
                                                                    (never sent), or unknown
                                                                    after an ambiguous answer
answered   its begin record; the     as admitted (unknown), unless  it is journaled as it
           end record is being       the end record reached the     came
           written                   file: then as ended
ended      its begin and end         by the end record: skips it    nothing (it is over)
           records; nothing when it  (sent), sends it again
           was never admitted        (failed), reports it unknown;
                                     without records, sends it
=========  ========================  =============================  =========================

Scheduled jobs
==============
With a ``schedule``, each batch's request is a schedule create of its recipients
(``/campaigns/trigger/schedule/create`` and the like) instead of a send, and all of the above
holds as it is: Braze does not deduplicate a create any more than a send, so its begin record
is written before it leaves, an unknown outcome is neither retried nor resent, and *sent*
means scheduled, the batch's ``schedule_id`` kept in its end record and in
:attr:`BulkReport.schedule_ids`. The time is checked by the client's clock before the job
starts (a time passed is refused, nothing opened) and again before each batch leaves: once
it has passed, that batch is failed without leaving (no record: nothing was scheduled) and
the job stops, the rest not attempted. A batch whose time passes while it waits for the rate
limiter goes, and Braze refuses it: failed, nothing scheduled.

Stopping
========
Setting the ``stop`` event stops a job cleanly, by one mechanism: the event goes down with
each batch's request (the senders' ``stop`` keyword), and every wait on the way, for the rate
limiter or before a retry, is raced against it (:func:`braze_async._stop.until`); the
reading of an async input is raced against it too (``_Job.read``: an idle input does not hold
the stop). So no new batch starts, the requests in flight finish and are journaled, and the
stop waits for their answers only, never for a spent budget. Cancelling the job's task
instead abandons every batch: those admitted become unknown (no end record), those waiting
failed (never sent). A job also stops by itself when every request would fail alike: on a
401 or 403, a ``notice``, a rate limiter that cannot admit anything, and after
:data:`STOP_AFTER_NEVER_SENT` requests in a row that never left (Braze unreachable). After
any early stop, :attr:`BulkReport.stopped_at` is the first input item not attempted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import hashlib
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Literal, NamedTuple, TypeAlias

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
    INPUT_CHANGED_ADVICE,
    SENT,
    TODO,
    UNKNOWN,
    FsyncPolicy,
    InputChangedError,
    Journal,
    JournalError,
    JournalHeader,
    Outcome,
)
from ._limits import LimiterUnavailable
from ._models import MAX_RECIPIENTS, Recipient, SendResponse
from ._readers import InputRow
from ._schedule import Schedule, Scheduled
from ._stop import Stopped
from ._targets import Target, canonical
from ._wire import converter, dumps

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
    #: A scheduled job's schedules: the ``schedule_id`` of each batch scheduled, by earlier
    #: runs (read from the journal) and then by this one, in the order their answers came.
    #: ``Scheduled(target, schedule_id=id)`` updates or cancels one. Empty for a send.
    schedule_ids: list[str] = attrs.field(factory=list)

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


class _State(enum.Enum):
    """Where a batch is in its life (the table in the module docstring)."""

    FILLING = "filling"
    WAITING = "waiting"
    ADMITTED = "admitted"
    ANSWERED = "answered"
    ENDED = "ended"


#: The moves a batch may make: forward only, each made in one place (see the docstring).
_MOVES: Mapping[_State, frozenset[_State]] = {
    _State.FILLING: frozenset({_State.WAITING, _State.ENDED}),
    _State.WAITING: frozenset({_State.ADMITTED, _State.ENDED}),
    _State.ADMITTED: frozenset({_State.ANSWERED, _State.ENDED}),
    _State.ANSWERED: frozenset({_State.ENDED}),
    _State.ENDED: frozenset(),
}


class _Batch:
    """Up to 50 recipients sent in one request, and where they are in their life."""

    __slots__ = ("batch_id", "begin_error", "journal", "lines", "positions", "recipients", "state")

    def __init__(self, journal: Journal | None) -> None:
        self.journal = journal
        self.positions: list[int] = []
        self.recipients: list[Recipient] = []
        self.lines: list[int | None] = []
        self.state = _State.FILLING
        #: The journal's id of the batch (-1 without a journal), once admitted.
        self.batch_id = -1
        #: What writing the begin record raised: the request was not sent.
        self.begin_error: Exception | None = None

    def __len__(self) -> int:
        return len(self.positions)

    def move(self, to: _State) -> None:
        """The one writer of ``state``."""
        assert to in _MOVES[self.state], f"a batch cannot go from {self.state} to {to}"
        self.state = to

    def admit(self) -> None:
        """Waiting -> admitted: journal the batch as begun. The sender's ``on_admitted`` hook,
        called once the rate limiter admitted the request, just before it leaves (so a kill
        before admission leaves no begin record, and the next job sends the batch). If the
        journal refuses the record, the request is not sent."""
        if self.journal is not None:
            try:
                self.batch_id = self.journal.begin(self.positions, [r.key for r in self.recipients])
            except Exception as exc:
                self.begin_error = exc
                raise
        self.move(_State.ADMITTED)


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


#: Why a batch the rate limiter had not admitted yet was not sent: the job was stopped, or
#: cancelled, first.
_NOT_ADMITTED = (
    "not sent: the job was {} before the rate limiter admitted this request; safe to send again"
)


class _Outcome(NamedTuple):
    """What came of one batch's request."""

    kind: Outcome
    reason: str = ""
    status: int | None = None
    code: str | None = None
    dispatch_id: str | None = None
    non_fatal: tuple[ErrorDetail, ...] = ()
    schedule_id: str | None = None


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
        total: int | None,
        max_details: int,
        schedule: Schedule | None = None,
    ) -> None:
        self.sender = sender
        self.target = target
        #: A scheduled job's schedule: each batch is a schedule create (None: a send).
        self.schedule = schedule
        #: Whether the target refuses some recipients (see Messages.check).
        self.checks_recipients = target.kind == "messages"
        self.journal = journal
        self.on_progress = on_progress
        self.on_outcome = on_outcome
        #: Handed down with every request: its waits end once it is set (see _stop.py).
        self.stop = stop
        self.total = total
        self.max_details = max_details
        self.slots = asyncio.Semaphore(concurrency)
        #: The batch the producer is filling.
        self.filling = _Batch(journal)
        #: Full batches not handed out yet: a resumed job holds them until its input was
        #: checked against every position the journal names (``check_until``), so that a
        #: changed input is refused before anyone is sent.
        self.ready: collections.deque[_Batch] = collections.deque()
        self.check_until = journal.journaled_end if journal is not None else 0
        #: The batches handed out, by the task sending each, until that task is done.
        self.tasks: dict[asyncio.Task[None], _Batch] = {}
        self.report = BulkReport()
        if journal is not None:
            self.report.schedule_ids.extend(journal.loaded_schedule_ids)
        self.started = time.monotonic()
        self.processed = 0
        self.skipped = 0
        #: Requests in a row, by completion, that never left (see STOP_AFTER_NEVER_SENT).
        self.never_sent = 0
        #: An error of a batch task that must end the job (e.g. the journal cannot be written).
        self.fatal: BaseException | None = None

    @property
    def in_progress(self) -> int:
        """Items read and not decided yet: in the batch being filled, or in one not ended."""
        return (
            len(self.filling)
            + sum(len(batch) for batch in self.ready)
            + sum(len(batch) for batch in self.tasks.values() if batch.state is not _State.ENDED)
        )

    def halt(self, reason: str) -> None:
        """Start no more batches, for *reason*: the first one given is the report's (the one
        place ``stop_reason`` is set)."""
        report = self.report
        if report.stop_reason is None:
            report.stop_reason = reason
            report.interrupted = True

    def heed_stop(self) -> None:
        """A set stop event halts the job, "stopped"; heeded before any failure the stop
        causes is counted, so that the report names the stop, not what it caused."""
        if self.stop is not None and self.stop.is_set():
            self.halt("stopped")

    def halted(self) -> bool:
        """Whether to start no more batches."""
        self.heed_stop()
        return self.report.stop_reason is not None or self.fatal is not None

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
        outcome: OutcomeKind,
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
        in_progress = self.in_progress
        decided = self.processed - self.skipped - in_progress
        self.on_progress(
            BulkProgress(
                sent=r.sent,
                already_sent=r.already_sent,
                rejected=r.rejected,
                failed=r.failed,
                unknown=r.unknown,
                requests=r.requests,
                processed=self.processed,
                in_progress=in_progress,
                total=self.total,
                elapsed=elapsed,
                rate=decided / elapsed if elapsed > 0 else 0.0,
            )
        )

    # -- the producer: filling, then waiting ---------------------------------------------------

    async def run(self, items: BulkInput) -> BulkReport:
        try:
            await self.read(items)
            self.abandon()  # stopped with batches full or half filled
            # Inside the try: a job cancelled while its last answers are awaited abandons
            # those requests (reported, journaled as unknown) instead of leaving them running.
            await self.drain(cancel=False)
        except asyncio.CancelledError:
            # Abandon the requests in flight: those admitted have no end record, so a
            # resumed job reports them unknown; the others have no begin record.
            self.abandon()
            await self.drain(cancel=True)
            raise
        except BaseException:
            # The input or a callback failed: what is in flight finishes and is journaled.
            self.abandon()
            await self.drain(cancel=False)
            raise
        self.report.elapsed = time.monotonic() - self.started
        self.progress()
        if self.fatal is not None:
            raise self.fatal
        self.finish()
        return self.report

    async def read(self, items: BulkInput) -> None:
        """Fill batches from the input and hand them out (:meth:`fill`), the reading of an
        async input raced against the stop.

        An async input may wait for a long time, or for ever, for its next item (a queue
        nobody feeds, a cursor waiting on its database): the stop must not wait for it. So
        once the stop is set, the filling is cancelled wherever it waits, for the input or for
        a free slot; the item being read is not read, the batch being filled is not
        attempted, and the stop waits for the requests in flight only.
        """
        if self.stop is None or not isinstance(items, AsyncIterable):
            await self.fill(items)  # a sync input waits for nothing but a slot, and heeds it
            return
        filling = asyncio.ensure_future(self.fill(items))
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait((filling, stopped), return_when=asyncio.FIRST_COMPLETED)
            if not filling.done():
                filling.cancel()
                await asyncio.wait((filling,))
            if filling.cancelled():
                self.heed_stop()
                self.note_stop(self.processed, None)  # the first item not read
                return
            filling.result()  # the input's own error, if it failed
        finally:
            stopped.cancel()
            if not filling.done():  # the job itself is cancelled: so is its filling
                filling.cancel()
                await asyncio.wait((filling,))

    async def fill(self, items: BulkInput) -> None:
        """Filling -> waiting: read items into the batch being filled, and hand it out when
        full, until the input ends or the job halts."""
        async for position, item in _enumerate(items):
            self.processed += 1
            if self.halted():
                self.report.not_attempted += 1  # read, not attempted
                self.note_stop(position, item.line if isinstance(item, InputRow) else None)
                return
            self.take(position, item)
            if len(self.filling) >= MAX_RECIPIENTS:
                self.ready.append(self.filling)
                self.filling = _Batch(self.journal)
            # Nothing leaves before the input was checked against every journaled position.
            if self.ready and position + 1 >= self.check_until:
                if not await self.dispatch():
                    return
            elif not self.processed % _YIELD_EVERY:
                self.progress()
        if len(self.filling):
            self.ready.append(self.filling)
            self.filling = _Batch(self.journal)
        await self.dispatch()  # when refused (stopped), abandon() ends the rest

    def abandon(self) -> None:
        """Filling -> ended: the batches not handed out (full, or being filled) are not
        attempted (the job stopped)."""
        for batch in (*self.ready, self.filling):
            if len(batch):
                self.note_stop(batch.positions[0], batch.lines[0])
                self.report.not_attempted += len(batch)
                batch.move(_State.ENDED)
        self.ready.clear()
        self.filling = _Batch(self.journal)

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

    def take(self, position: int, item: BulkItem) -> None:
        """Put *item* in the batch being filled, or account for it at once (rejected, or
        decided by an earlier run)."""
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
        # Journaled, whatever its outcome: the same recipient must be there (a refused row
        # deleted moves the next, maybe sent, into a failed position).
        if (
            journal is not None
            and journal.status(position) != TODO
            and (recipient is None or not journal.same_key(position, recipient.key))
        ):
            raise self.changed(position, line)
        if recipient is None:
            self.record(
                RecipientOutcome(
                    position=position, outcome="rejected", reason=reason, line=line, data=data
                )
            )
            return
        if journal is not None:
            state = journal.status(position)
            if state in (SENT, UNKNOWN):
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
        batch = self.filling
        batch.positions.append(position)
        batch.recipients.append(recipient)
        batch.lines.append(line)

    def changed(self, position: int, line: int | None) -> JournalError:
        where = f"line {line}" if line is not None else f"input position {position}"
        path = self.journal.path if self.journal is not None else "the journal"
        # Raised for journaled positions only, all checked before any batch is handed out.
        return InputChangedError(
            f"the input changed since {path} was written: {where} is not the recipient that "
            f"was sent from there (nothing was sent by this run); {INPUT_CHANGED_ADVICE}"
        )

    async def dispatch(self) -> bool:
        """Filling -> waiting: hand each full batch held in ``ready`` to a task of its own,
        in order, once a slot is free (False: the job stopped meanwhile; ``abandon`` ends
        the batches left)."""
        while self.ready:
            await self.slots.acquire()
            if self.halted():
                self.slots.release()
                return False
            batch = self.ready.popleft()
            batch.move(_State.WAITING)
            task = asyncio.get_running_loop().create_task(self.send(batch))
            self.tasks[task] = batch
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

    # -- one batch's request: waiting, admitted, answered, ended -------------------------------

    async def send(self, batch: _Batch) -> None:
        try:
            result: SendResponse | Scheduled | Exception
            try:
                result = await self.sender._send_batch(
                    self.target,
                    batch.recipients,
                    on_admitted=batch.admit,
                    stop=self.stop,
                    schedule=self.schedule,
                )
            except Exception as exc:  # what came of the request, like an answer
                result = exc
            self.answered(batch, result)
            self.progress()
        except asyncio.CancelledError:
            # Only the await above is cancelled: nothing after it awaits.
            try:
                self.cancelled(batch)
            except Exception as exc:  # a callback failed: the job ends with it
                if self.fatal is None:
                    self.fatal = exc
            raise
        except Exception as exc:  # the journal or a callback failed: stop the job
            if self.fatal is None:
                self.fatal = exc
        finally:
            self.slots.release()

    def answered(self, batch: _Batch, result: SendResponse | Scheduled | Exception) -> None:
        """What came of a batch's request: admitted -> answered -> ended; or, never
        admitted, waiting -> ended (nothing was sent: no record, a resumed job sends it)."""
        self.heed_stop()
        if batch.state is _State.WAITING:
            if result is batch.begin_error:
                self.not_begun(batch, result)
                return
            if _stopped(result):
                self.unsent(batch, _NOT_ADMITTED.format("stopped"))
                return
            if isinstance(result, BrazeValidationError) and result.field == "schedule.at":
                # The schedule's time passed during the job (the sender checks it before
                # each batch leaves): nothing left, and every later batch would be refused.
                self.halt(f"{result}: the rest was not scheduled")
                self.unsent(batch, f"not scheduled: {result}")
                return
            if isinstance(result, BrazeValidationError):
                # Refused as it left by a rule of the clock (a card expiring more than 30 days
                # after the send): nothing left; its recipients are rejected with the reason,
                # and the job goes on (a later batch, at its own time, may meet the rule).
                batch.move(_State.ENDED)
                self.record_batch(batch, "rejected", str(result))
                return
        outcome = self.outcome(result)
        self.report.requests += 1
        self.count_never_sent(result)
        if batch.state is _State.WAITING:
            if outcome.kind == "failed":  # never admitted, so never sent
                self.unsent(batch, outcome.reason, outcome.status, outcome.code)
                return
            # A sender of the caller's that never called on_admitted: what may have left
            # must be journaled as begun.
            batch.admit()
        batch.move(_State.ANSWERED)
        self.end(batch, outcome)

    def outcome(self, result: SendResponse | Scheduled | Exception) -> _Outcome:
        """What a request's result means for its batch. Halts the job when every later
        request would meet the same."""
        if isinstance(result, Scheduled):
            return _Outcome("sent", dispatch_id=result.dispatch_id, schedule_id=result.schedule_id)
        if isinstance(result, SendResponse):
            if result.notice is None:
                return _Outcome("sent", dispatch_id=result.dispatch_id, non_fatal=result.errors)
            # A success that sends nothing (a paused Canvas): failed, safe to resend; and
            # every later request would be answered alike.
            reason = f"Braze will not send: {result.notice}"
            self.halt(reason)
            return _Outcome("failed", reason, result.status_code)
        if isinstance(result, BrazeUnknownOutcomeError):
            return _Outcome("unknown", str(result))
        if isinstance(result, BrazeAPIError):
            if result.status_code in _HALTING_STATUSES:
                self.halt(str(result))
            code = next((e.code for e in result.errors if e.code), None)
            return _Outcome("failed", str(result), result.status_code, code)
        if isinstance(result, BrazeError):  # never sent (connection error) or refused locally
            if _limiter_unavailable(result):
                self.halt(str(result))
            return _Outcome("failed", str(result))
        # A bug below us: whether it left, nobody knows.
        return _Outcome("unknown", f"unexpected {type(result).__name__}: {result}")

    def end(self, batch: _Batch, outcome: _Outcome) -> None:
        """Answered -> ended: journal the batch's outcome, then report it. If the journal
        cannot be written, the job stops."""
        if self.journal is not None:
            details: dict[str, Any]
            if outcome.kind == "sent":
                details = {"dispatch_id": outcome.dispatch_id}
                if outcome.schedule_id is not None:
                    details["schedule_id"] = outcome.schedule_id
            else:
                details = {"reason": outcome.reason}
                if outcome.status is not None:
                    details["status"] = outcome.status
                if outcome.code:
                    details["code"] = outcome.code
            try:
                self.journal.end(batch.batch_id, outcome.kind, **details)
            except JournalError as exc:
                raise JournalError(
                    f"{exc}; the job stopped: a batch's outcome could not be journaled, so a "
                    "resumed job reports that batch unknown (it is not resent)"
                ) from exc
        batch.move(_State.ENDED)
        if outcome.kind == "sent":
            self.report.sent += len(batch)
            self.keep_non_fatal(outcome.non_fatal)
            if outcome.schedule_id is not None:
                self.report.schedule_ids.append(outcome.schedule_id)
        else:
            self.record_batch(batch, outcome.kind, outcome.reason, outcome.status, outcome.code)

    def count_never_sent(self, result: SendResponse | Scheduled | Exception) -> None:
        """Stop the job after STOP_AFTER_NEVER_SENT requests in a row that never left."""
        if not isinstance(result, BrazeConnectionError):
            self.never_sent = 0
            return
        self.never_sent += 1
        if self.never_sent >= STOP_AFTER_NEVER_SENT:
            self.halt(
                f"{STOP_AFTER_NEVER_SENT} requests in a row never reached Braze ({result}); "
                "the rest was not attempted and is safe to send again"
            )

    def unsent(
        self, batch: _Batch, reason: str, status: int | None = None, code: str | None = None
    ) -> None:
        """Waiting -> ended: never admitted, so never sent. No record: a resumed job sends
        the batch."""
        batch.move(_State.ENDED)
        self.record_batch(batch, "failed", reason, status, code)

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
        self.unsent(batch, f"not sent: {exc}")

    def cancelled(self, batch: _Batch) -> None:
        """Abandoned by a hard stop (the job's task cancelled): admitted -> ended, unknown (it
        may have left; no end record, so a resumed job reports it unknown too); or, not
        admitted yet, never sent."""
        if batch.state is _State.ADMITTED:
            batch.move(_State.ENDED)
            self.record_batch(
                batch,
                "unknown",
                "the job was cancelled while this request was in flight: it may or may not "
                "have been processed; not resent",
            )
        else:
            self.unsent(batch, _NOT_ADMITTED.format("cancelled"))


def _stopped(result: SendResponse | Scheduled | Exception) -> bool:
    """Whether *result* is the failure of a request that the stop ended before it was sent
    (see braze_async._stop)."""
    return isinstance(result, BrazeError) and isinstance(result.__cause__, Stopped)


def _limiter_unavailable(error: BrazeError) -> bool:
    """Whether *error* says the rate limiter cannot admit anything (its Redis stayed away
    past its retry bound, or the client is closing): every later request would fail the same
    way, so the job stops, the rest resendable, instead of failing every recipient."""
    return isinstance(error, BrazeConnectionError) and isinstance(
        error.__cause__, LimiterUnavailable
    )


def job_header(
    target: Target,
    input_fingerprint: str = "",
    destination: str = "",
    schedule: Schedule | None = None,
) -> JournalHeader:
    """The journal header of a job sending ``target`` from ``input_fingerprint`` (or
    scheduling it: a resumed job keeps the time it was started with)."""
    return JournalHeader(
        target=f"{target.kind}:{target.target_id}",
        request="sha256:" + hashlib.sha256(canonical(target)).hexdigest()[:32],
        input=input_fingerprint,
        destination=destination,
        schedule="" if schedule is None else dumps(schedule).decode(),
    )


def _check_arguments(recipients: object, **arguments: object) -> None:
    """Refuse a wrong argument of :func:`bulk_send` before anything is opened or sent: found
    later, it would end a job halfway, its report (who was sent) lost with it.

    :raises BrazeValidationError: naming the argument and the rule.
    """

    def whole(name: str, least: int, optional: bool = False) -> None:
        value = arguments[name]
        if optional and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            given = f"{type(value).__name__} {value!r}"
            raise BrazeValidationError(name, f"must be an integer >= {least}, not {given}")

    if isinstance(recipients, str | bytes | Recipient | InputRow) or not isinstance(
        recipients, Iterable | AsyncIterable
    ):
        raise BrazeValidationError(
            "recipients",
            "must be an iterable or async iterable of Recipient (or of input rows), "
            f"not {type(recipients).__name__}",
        )
    whole("concurrency", 1)
    whole("max_details", 0)
    whole("total", 0, optional=True)
    journal = arguments["journal"]
    if journal is not None and not isinstance(journal, str | os.PathLike):
        raise BrazeValidationError(
            "journal", f"must be a file path or None, not {type(journal).__name__}"
        )
    for name in ("input_fingerprint", "destination"):
        if not isinstance(arguments[name], str):
            raise BrazeValidationError(
                name, f"must be a string, not {type(arguments[name]).__name__}"
            )
    fsync = arguments["journal_fsync"]
    if not isinstance(fsync, str) or fsync not in FSYNC_POLICIES:
        raise BrazeValidationError(
            "journal_fsync",
            f"must be one of {', '.join(repr(p) for p in FSYNC_POLICIES)}, not {fsync!r}",
        )
    for name in ("on_progress", "on_outcome"):
        hook = arguments[name]
        if hook is not None and not callable(hook):
            raise BrazeValidationError(
                name, f"must be a callable or None, not {type(hook).__name__}"
            )
    stop = arguments["stop"]
    if stop is not None and not isinstance(stop, asyncio.Event):
        raise BrazeValidationError(
            "stop", f"must be an asyncio.Event or None, not {type(stop).__name__}"
        )
    schedule = arguments["schedule"]
    if schedule is not None and not isinstance(schedule, Schedule):
        raise BrazeValidationError(
            "schedule", f"must be a Schedule or None, not {type(schedule).__name__}"
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
    total: int | None = None,
    max_details: int = DEFAULT_MAX_DETAILS,
    schedule: Schedule | None = None,
) -> BulkReport:
    """Send ``target`` to every recipient of ``recipients``, 50 per request (or, with a
    ``schedule``, schedule each batch: see "Scheduled jobs" in the module docstring).

    See :meth:`braze_async.BrazeClient.send_bulk`, which calls this with the client as the
    ``sender`` and its base URL as the ``destination`` (a journal names the Braze endpoint it
    was written against: a journal of a simulated run is refused by a real one).

    ``stop`` goes down with each request (the ``stop`` keyword of :class:`Sender`): once it
    is set, the sender's waits end; the requests in flight finish.
    """
    _check_arguments(
        recipients,
        concurrency=concurrency,
        journal=journal,
        input_fingerprint=input_fingerprint,
        destination=destination,
        journal_fsync=journal_fsync,
        on_progress=on_progress,
        on_outcome=on_outcome,
        stop=stop,
        total=total,
        max_details=max_details,
        schedule=schedule,
    )
    header = job_header(target, input_fingerprint, destination, schedule)
    opened = Journal.open(journal, header, fsync=journal_fsync) if journal is not None else None
    try:
        job = _Job(
            sender,
            target,
            concurrency=concurrency,
            journal=opened,
            on_progress=on_progress,
            on_outcome=on_outcome,
            stop=stop,
            total=total,
            max_details=max_details,
            schedule=schedule,
        )
        return await job.run(recipients)
    finally:
        if opened is not None:
            opened.close()
