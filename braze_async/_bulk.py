"""Bulk sends: stream any number of recipients to one campaign or Canvas, 50 per request.

The job reads its input lazily (memory stays flat however long the input), keeps up to
``concurrency`` requests in flight (each one through the client, so within its rate limits
and retry policy), and accounts for every input item exactly once:

=============  =================================================================  ==========
outcome        meaning                                                            on resume
=============  =================================================================  ==========
sent           Braze accepted the request it rode in                              skipped
rejected       the input row is invalid (line number and reason)                  rejected
failed         Braze refused the request, or it never left (status and code)      sent again
unknown        the request may or may not have been processed                     NOT resent
=============  =================================================================  ==========

With a journal (see :mod:`braze_async._journal`) a job killed at any moment can be started
again with the same arguments: it skips what was confirmed sent, reports what may have been
sent as unknown, and sends the rest. Setting the ``stop`` event stops a job cleanly: no new
batches, the requests in flight finish and are journaled. Cancelling the job's task instead
abandons the requests in flight (they become unknown).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Literal, TypeAlias

import attrs

from ._batching import Sender, SendTarget
from ._errors import BrazeAPIError, BrazeConnectionError, BrazeError, BrazeUnknownOutcomeError
from ._journal import SENT, TODO, Journal, JournalError, JournalHeader
from ._limits import LimiterUnavailable
from ._models import MAX_RECIPIENTS, Recipient
from ._readers import InputRow
from ._wire import converter

__all__ = ["BulkProgress", "BulkReport", "RecipientOutcome", "bulk_send"]

#: Default number of requests a bulk job keeps in flight.
DEFAULT_BULK_CONCURRENCY = 8
#: Default number of non-sent outcomes kept in :attr:`BulkReport.details`.
DEFAULT_MAX_DETAILS = 1000
#: Answers that stop a job: the key is wrong or lacks the permission, for every request.
_HALTING_STATUSES = frozenset({401, 403})
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
        """
        out: dict[str, Any]
        if self.recipient is not None:
            out = converter.unstructure(self.recipient)
            if canvas and "trigger_properties" in out:
                out["canvas_entry_properties"] = out.pop("trigger_properties")
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
    """The result of a bulk job: every input item counted exactly once.

    ``sent + already_sent + rejected + failed + unknown + not_attempted == total``.
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
    #: Recipients read but not sent because the job was stopped (the rest was not read).
    not_attempted: int = 0
    #: Requests made by this run.
    requests: int = 0
    #: True when the job was stopped before reading all of its input.
    interrupted: bool = False
    #: Why it stopped early: ``"stopped"`` (the stop event) or the error that stopped it
    #: (401 and 403 answers stop a job: every later request would fail the same way; so does
    #: a rate limiter that cannot admit anything, e.g. its Redis stayed away).
    stop_reason: str | None = None
    #: Seconds the job took.
    elapsed: float = 0.0
    #: The first ``max_details`` outcomes that were not "sent".
    details: list[RecipientOutcome] = attrs.field(factory=list)
    #: How many more such outcomes were not kept in ``details``.
    details_dropped: int = 0

    @property
    def total(self) -> int:
        """Input items accounted for."""
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


class _Batch:
    __slots__ = ("lines", "positions", "recipients")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.recipients: list[Recipient] = []
        self.lines: list[int | None] = []

    def __len__(self) -> int:
        return len(self.positions)


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
        target: SendTarget,
        *,
        concurrency: int,
        journal: Journal | None,
        on_progress: Callable[[BulkProgress], object] | None,
        on_outcome: Callable[[RecipientOutcome], object] | None,
        stop: asyncio.Event | None,
        total: int | None,
        max_details: int,
    ) -> None:
        self.sender = sender
        self.target = target
        self.journal = journal
        self.on_progress = on_progress
        self.on_outcome = on_outcome
        self.stop = stop
        self.total = total
        self.max_details = max_details
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.report = BulkReport()
        self.started = time.monotonic()
        self.processed = 0
        self.in_progress = 0
        self.skipped = 0
        #: An error of a batch task that must end the job (e.g. the journal cannot be written).
        self.fatal: BaseException | None = None

    def halted(self) -> bool:
        """Whether to start no more batches; notes why in the report."""
        if self.report.stop_reason is None and self.stop is not None and self.stop.is_set():
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
        batch = _Batch()
        try:
            async for position, item in _enumerate(items):
                if self.halted():
                    self.report.not_attempted += 1  # read, not attempted
                    self.processed += 1
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
        except asyncio.CancelledError:
            # Abandon the requests in flight: without end records they read as unknown.
            self.abandon(batch)
            await self.drain(cancel=True)
            raise
        except BaseException:
            # The input or a callback failed: what is in flight finishes and is journaled.
            self.abandon(batch)
            await self.drain(cancel=False)
            raise
        if len(batch):  # stopped with a batch half filled
            self.abandon(batch)
        await self.drain(cancel=False)
        self.report.elapsed = time.monotonic() - self.started
        self.progress()
        if self.fatal is not None:
            raise self.fatal
        return self.report

    def abandon(self, batch: _Batch) -> None:
        self.report.not_attempted += len(batch)
        self.in_progress -= len(batch)
        batch.positions.clear()

    def take(self, position: int, item: BulkItem, batch: _Batch) -> None:
        journal = self.journal
        if isinstance(item, InputRow):
            line: int | None = item.line
            recipient = item.recipient
            if recipient is None:
                if journal is not None and journal.status(position) != TODO:
                    raise self.changed(position, line)
                self.record(
                    RecipientOutcome(
                        position=position,
                        outcome="rejected",
                        reason=item.reason or "invalid",
                        line=line,
                        data=item.data,
                    )
                )
                return
        elif isinstance(item, Recipient):
            line, recipient = None, item
        else:
            self.record(
                RecipientOutcome(
                    position=position,
                    outcome="rejected",
                    reason=f"not a Recipient: {type(item).__name__}",
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
        try:
            batch_id = (
                self.journal.begin(batch.positions, [r.key for r in batch.recipients])
                if self.journal is not None
                else -1
            )
        except BaseException:
            self.slots.release()
            raise
        task = asyncio.get_running_loop().create_task(self.send(batch_id, batch))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def drain(self, *, cancel: bool) -> None:
        if cancel:
            for task in self.tasks:
                task.cancel()
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    # -- one request -------------------------------------------------------------------------

    async def send(self, batch_id: int, batch: _Batch) -> None:
        size = len(batch)
        outcome: Literal["failed", "unknown"] | None = None
        status: int | None = None
        code: str | None = None
        try:
            try:
                response = await self.target.send(self.sender, batch.recipients)
            except BrazeUnknownOutcomeError as exc:
                outcome, reason = "unknown", str(exc)
            except BrazeAPIError as exc:
                outcome, reason, status = "failed", str(exc), exc.status_code
                code = next((e.code for e in exc.errors if e.code), None)
                if status in _HALTING_STATUSES and self.report.stop_reason is None:
                    self.report.stop_reason = reason
            except BrazeError as exc:  # never sent (connection error) or refused locally
                outcome, reason = "failed", str(exc)
                if _limiter_unavailable(exc) and self.report.stop_reason is None:
                    self.report.stop_reason = reason
            except Exception as exc:  # a bug below us: whether it left, nobody knows
                outcome, reason = "unknown", f"unexpected {type(exc).__name__}: {exc}"
            self.report.requests += 1
            if outcome is None:
                if self.journal is not None:
                    self.journal.end(batch_id, "sent", dispatch_id=response.dispatch_id)
                self.report.sent += size
            else:
                if self.journal is not None:
                    details: dict[str, Any] = {"reason": reason}
                    if status is not None:
                        details["status"] = status
                    if code:
                        details["code"] = code
                    self.journal.end(batch_id, outcome, **details)
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
            self.in_progress -= size
            self.progress()
        except asyncio.CancelledError:
            # Abandoned in flight: no end record, so a resumed job reports it unknown.
            self.in_progress -= size
            self.report.unknown += size
            raise
        except Exception as exc:  # the journal or a callback failed: stop the job
            if self.fatal is None:
                self.fatal = exc
        finally:
            self.slots.release()


def _limiter_unavailable(error: BrazeError) -> bool:
    """Whether *error* says the rate limiter cannot admit anything (its Redis stayed away
    past its retry bound, or the client is closing): every later request would fail the same
    way, so the job stops, the rest resendable, instead of failing every recipient."""
    return isinstance(error, BrazeConnectionError) and isinstance(
        error.__cause__, LimiterUnavailable
    )


def job_header(
    target: SendTarget, input_fingerprint: str = "", destination: str = ""
) -> JournalHeader:
    """The journal header of a job sending ``target`` from ``input_fingerprint``."""
    return JournalHeader(
        target=f"{target.kind}:{target.target_id}",
        request="sha256:" + hashlib.sha256(target.canonical).hexdigest()[:32],
        input=input_fingerprint,
        destination=destination,
    )


async def bulk_send(
    sender: Sender,
    recipients: BulkInput,
    target: SendTarget,
    *,
    concurrency: int = DEFAULT_BULK_CONCURRENCY,
    journal: str | os.PathLike[str] | None = None,
    input_fingerprint: str = "",
    destination: str = "",
    journal_fsync: bool = False,
    on_progress: Callable[[BulkProgress], object] | None = None,
    on_outcome: Callable[[RecipientOutcome], object] | None = None,
    stop: asyncio.Event | None = None,
    total: int | None = None,
    max_details: int = DEFAULT_MAX_DETAILS,
) -> BulkReport:
    """Send ``target`` to every recipient of ``recipients``, 50 per request.

    See :meth:`braze_async.BrazeClient.bulk_send`, which calls this with the client as the
    ``sender`` and its base URL as the ``destination`` (a journal names the Braze endpoint it
    was written against: a journal of a simulated run is refused by a real one).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError("concurrency must be an integer >= 1")
    if isinstance(recipients, (str, bytes, Recipient, InputRow)):
        raise TypeError("recipients must be an iterable of Recipient")
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
            total=total,
            max_details=max_details,
        )
        return await job.run(recipients)
    finally:
        if opened is not None:
            opened.close()
