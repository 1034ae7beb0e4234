"""``braze-async send``: send a campaign or Canvas to every recipient of a CSV or JSONL file.

::

    braze-async send --campaign-id weekly --recipients users.csv
    braze-async send --canvas-id onboarding --recipients users.jsonl --concurrency 4
    braze-async send --dry-run --campaign-id weekly --recipients users.csv

The job streams the file (any size, flat memory), keeps a journal next to it
(``<input>.journal``) so that running the same command again after a crash or Ctrl-C skips
what was sent and sends the rest, and writes every recipient that was not sent to
``<input>.failures.jsonl`` in Braze's JSON form with ``_outcome`` / ``_reason`` / ``_line``
keys (see :mod:`._failures`). Credentials come from ``--api-key``/``--base-url`` or
``$BRAZE_API_KEY``/``$BRAZE_REST_URL``; ``--simulate`` sends to a local simulator instead
(and says so, loudly); with neither, the command refuses to run. ``--dry-run`` sends nothing
(see :mod:`._dry_run`).

What the summary advises is always safe: "run the same command again" only when a journal
makes that skip whoever was sent; without one, which rows to send to finish the job (the
failed ones, and the input from the first line not attempted on).

Exit status: 0 when every recipient was sent, 1 when some were not (or the file holds none),
2 for bad arguments or an unreadable input, 130 after Ctrl-C (143 after SIGTERM); the same when
stderr's reader went away (``... 2>&1 | head``): a summary that cannot be shown loses nobody,
the failures file and the journal are the record.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TextIO

import attrs

from .._bulk import BulkReport
from .._client import BrazeClient
from .._errors import BrazeError
from .._journal import InputChangedError, JournalError
from .._readers import InputError, InputRow
from ._dry_run import dry_run
from ._failures import FailuresFile
from ._in_flight import tasks_started
from ._input import open_input
from ._plan import Plan, UsageError, make_plan
from ._progress import Progress, duration, write_line
from ._signals import stop_on_signals
from ._simulator import BANNER, RULE, embedded_simulator

__all__ = ["run_send"]

PROG = "braze-async send"
EXIT_OK, EXIT_NOT_ALL_SENT, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143
#: How a job's stop reason starts when Braze answered a ``notice`` (a paused or archived
#: Canvas): the words of ``send_bulk`` and of ``BrazeNotSentError``.
_NOTICE = "Braze will not send"
#: Non-fatal errors of accepted requests the summary shows.
_SAMPLES = 5


def run_send(args: argparse.Namespace) -> int:
    """Run ``braze-async send`` with parsed ``args``; return the exit status."""
    try:
        plan = make_plan(args, os.environ)
        with contextlib.ExitStack() as stack:
            source = open_input(plan, stack)
            if source.rows is None:
                write_line(sys.stderr, f"{PROG}: warning: {source.empty_reason}")
                return EXIT_NOT_ALL_SENT
            failures = FailuresFile(plan.failures, canvas=plan.canvas_id is not None)
            stack.callback(_put_in_place, failures)
            if plan.dry_run:
                _claim(failures)  # a dry run keeps no journal: nothing to lock first
                try:
                    return dry_run(plan, source.rows, failures, sys.stdout)
                except InputError as exc:
                    raise UsageError(str(exc)) from None
                except OSError as exc:
                    raise UsageError(f"{exc.filename or 'I/O'}: {exc.strerror or exc}") from None
            job = _Job(plan, source.rows, failures, source.total, source.fingerprint, sys.stderr)
            try:
                return asyncio.run(job.run())
            except KeyboardInterrupt:  # before the job's own handler was installed
                write_line(sys.stderr, f"{PROG}: interrupted")
                return EXIT_SIGINT
    except UsageError as exc:
        write_line(sys.stderr, f"{PROG}: error: {exc}")
        return EXIT_USAGE


def _claim(failures: FailuresFile) -> None:
    try:
        failures.claim()
    except OSError as exc:
        raise UsageError(f"cannot write {failures.path}: {exc.strerror or exc}") from None


def _put_in_place(failures: FailuresFile) -> None:
    try:
        failures.close()
    except OSError as exc:
        raise UsageError(f"cannot write {failures.path}: {exc.strerror or exc}") from None


def _signal_exit(signum: int) -> int:
    return EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM


class _Job:
    """One run of the command, in the event loop."""

    def __init__(
        self,
        plan: Plan,
        rows: Iterator[InputRow],
        failures: FailuresFile,
        total: int,
        fingerprint: str,
        err: TextIO,
    ) -> None:
        self.plan = plan
        self.rows = rows
        self.failures = failures
        self.total = total
        self.fingerprint = fingerprint
        self.progress = Progress(err, plan.progress_interval)

    def read(self) -> Iterator[InputRow]:
        """The input, as ``send_bulk`` reads it.

        ``send_bulk`` opens (and locks) the journal before it reads its first row: from then
        on, no other job on this input runs, and the failures file is this job's to write.
        """
        _claim(self.failures)
        yield from self.rows

    async def run(self) -> int:
        """Send to every recipient, then put the failures file in place and print the summary.

        Returns the exit status: the signal's after a stop by signal, else whether every
        recipient was sent.
        """
        progress = self.progress
        async with contextlib.AsyncExitStack() as stack:
            client = await self._client(stack)
            plan = self.plan = await self._with_new_send_id(client)
            stop = asyncio.Event()
            progress.say(
                ("sending " if plan.schedule is None else f"scheduling for {plan.at} ")
                + f"{plan.what} to ~{self.total:,} recipients of {plan.path} "
                f"({plan.concurrency} requests at a time"
                + (f", journal {plan.journal})" if plan.journal else ", no journal)")
            )
            with (
                tasks_started() as abandon,
                stop_on_signals(stop, abandon, progress.say) as received,
                progress.shown(),
            ):
                try:
                    report = await client.send_bulk(
                        plan.target,
                        self.read(),
                        concurrency=plan.concurrency,
                        journal=plan.journal,
                        input_fingerprint=self.fingerprint,
                        journal_fsync=plan.journal_fsync,
                        on_progress=progress,
                        on_outcome=self.failures,
                        stop=stop,
                        total=self.total,
                        # Not-sent outcomes go to the failures file: keep only a few, for
                        # the samples of non-fatal errors the summary shows.
                        max_details=_SAMPLES,
                        schedule=plan.schedule,
                    )
                except (JournalError, InputError, BrazeError, OSError) as exc:
                    raise self._stopped_by(exc) from None
                if not report.interrupted:
                    progress.finished()
            if report.stopped_at is not None:
                self._note_stop(report)
            _put_in_place(self.failures)  # before the summary names it
            _summary(plan, report, self.failures, progress)
        if received:
            return _signal_exit(received[0])
        return EXIT_OK if report.ok else EXIT_NOT_ALL_SENT

    async def _with_new_send_id(self, client: BrazeClient) -> Plan:
        """The plan, with the send ID ``--new-send-id`` asks for created now and printed (a
        resumed job must name it: ``--send-id``, which the journal checks)."""
        plan = self.plan
        if not plan.new_send_id:
            return plan
        assert plan.campaign_id is not None  # _plan refuses --new-send-id for a Canvas
        try:
            send_id = await client.create_send_id(plan.campaign_id)
        except BrazeError as exc:
            raise UsageError(f"could not create a send ID: {exc}") from None
        self.progress.say(
            f"send ID {send_id} created for {plan.what}; to resume this job, give "
            f"--send-id {send_id}"
        )
        return attrs.evolve(plan, send_id=send_id, new_send_id=False)

    async def _client(self, stack: contextlib.AsyncExitStack) -> BrazeClient:
        """The client, open in ``stack``: to Braze, or to a simulator started in ``stack``."""
        plan = self.plan
        if plan.simulated:
            api_key, base_url = await stack.enter_async_context(
                embedded_simulator(self.progress.say)
            )
        else:
            assert plan.api_key is not None and plan.base_url is not None
            api_key, base_url = plan.api_key, plan.base_url
        try:
            return await stack.enter_async_context(
                BrazeClient(api_key=api_key, base_url=base_url, rate_limits=plan.rate_limits)
            )
        except BrazeError as exc:
            raise UsageError(str(exc)) from None

    def _stopped_by(self, exc: JournalError | InputError | BrazeError | OSError) -> UsageError:
        """The error that ended the send early, noted first in the failures file."""
        message = (
            f"{exc.filename or 'I/O'}: {exc.strerror or exc}"
            if isinstance(exc, OSError)
            else str(exc)
        )
        if isinstance(exc, InputChangedError):
            # Refused before anything was sent: the earlier run's failures file (the rows to
            # send with a new journal, as the advice says) stays as it was.
            self.failures.discard()
            return UsageError(message)
        self.failures.stopped_early(
            f"braze-async send stopped with an error ({message}): this file holds only the "
            f"recipients not sent among the rows of {self.plan.path} read before it",
            None,
        )
        return UsageError(message)

    def _note_stop(self, report: BulkReport) -> None:
        """Say in the failures file that a stop left the rest of the input unread."""
        self.failures.stopped_early(
            f"braze-async send stopped before the end ({report.stop_reason}): this file holds "
            f"only the recipients not sent among the rows of {self.plan.path} read before the "
            f"stop; nothing from line {report.stopped_at_line} on was attempted",
            report.stopped_at_line,
        )


def _summary(plan: Plan, report: BulkReport, failures: FailuresFile, progress: Progress) -> None:
    lines = []
    if plan.simulated:
        lines.append(f"{RULE}\n{BANNER}.")
    counts = (
        f"{report.sent:,} {'sent' if plan.schedule is None else 'scheduled'}"
        + (f" (+{report.already_sent:,} by an earlier run)" if report.already_sent else "")
        + f", {report.rejected:,} rejected, {report.failed:,} failed, {report.unknown:,} unknown"
        + f" in {report.requests:,} request{'s' if report.requests != 1 else ''}, "
        + duration(report.elapsed)
    )
    lines.append(f"{plan.what} from {plan.path}: {counts}")
    if report.schedule_ids:
        lines.append(
            f"{len(report.schedule_ids):,} schedules for {plan.at}"
            + (f" (their schedule_id in {plan.journal})" if plan.journal else "")
        )
    if report.interrupted:
        where = report.stopped_at_line
        lines.append(
            f"stopped before the end ({report.stop_reason or 'interrupted'})"
            + (f": nothing from line {where:,} on was attempted" if where is not None else "")
        )
    lines += _non_fatal(report)
    if failures.count:
        lines.append(
            f"{failures.count:,} recipients not sent are in {failures.path} "
            "(_outcome, _reason, _line say why)"
        )
    lines += _to_finish(plan, report, failures)
    if report.ok and report.already_sent and not report.sent:
        # A recurring job (a weekly cron) on one journal would send nobody from now on.
        lines.append(
            "this journal's job is complete: nothing to send; use a new journal for a new "
            "run (e.g. --journal weekly-$(date +%F).journal)"
        )
    if report.unknown:
        lines.append(
            f"{report.unknown:,} recipients may or may not have been messaged (no answer from "
            "Braze): check before sending them again"
        )
    if plan.simulated:
        lines.append(RULE)
    progress.say("\n".join(lines))


def _non_fatal(report: BulkReport) -> list[str]:
    """Braze's non-fatal errors on accepted requests: a count and a few samples."""
    count = len(report.non_fatal_errors) + report.non_fatal_errors_dropped
    if not count:
        return []
    return [
        f"Braze reported {count:,} non-fatal error{'s' if count != 1 else ''} on accepted "
        "requests (their recipients count as sent)"
        + (", e.g.:" if report.non_fatal_errors else ""),
        *(
            f"  {error.code}: {error.message}" if error.code else f"  {error.message}"
            for error in report.non_fatal_errors[:_SAMPLES]
        ),
    ]


def _to_finish(plan: Plan, report: BulkReport, failures: FailuresFile) -> list[str]:
    """What to do to send the rest, safely: "run the same command again" only where a journal
    makes it skip whoever was sent; without one, which rows to send."""
    reason = report.stop_reason or ""
    if reason.startswith(_NOTICE):
        first = "the Canvas is paused or archived: resume it in Braze, then "
    elif report.interrupted and reason != "stopped":
        first = "once what stopped it is fixed, "
    else:
        first = ""
    unknown = " (not the unknown ones: check them first)" if report.unknown else ""
    if not (report.interrupted or report.failed):
        if report.rejected:
            return [f"fix the rejected rows in {failures.path} and send that file{unknown}"]
        return []
    if plan.journal is not None:
        return [
            f"{first}run the same command again to send the rest: the journal skips whoever was "
            "sent"
            + (" and does not resend the unknown" if report.unknown else "")
            + (
                "; fix a row Braze refused in place, on its own line (a row deleted moves the "
                "others: the journal then refuses the input)"
                if report.failed
                else ""
            )
        ]
    rows = " and ".join(
        name
        for name, count in (("failed", report.failed), ("(fixed) rejected", report.rejected))
        if count
    )
    parts = [f"the {rows} rows of {failures.path}{unknown}"] if rows else []
    if report.stopped_at_line is not None:
        parts.append(f"the input from line {report.stopped_at_line:,} on")
    if not parts:
        return []
    return [
        "no journal: running the same command again would message everyone sent a second "
        f"time; to finish, {first}send {' and '.join(parts)}"
    ]
