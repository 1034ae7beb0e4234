"""``braze-async send``: send a campaign or Canvas to every recipient of a CSV or JSONL file.

::

    braze-async send --campaign-id weekly --recipients users.csv
    braze-async send --canvas-id onboarding --recipients users.jsonl --concurrency 4

The job streams the file (any size, flat memory), keeps a journal next to it
(``<input>.journal``) so that running the same command again after a crash or Ctrl-C skips
what was sent and sends the rest, and writes every recipient that was not sent to
``<input>.failures.jsonl`` in Braze's JSON form with ``_outcome`` / ``_reason`` / ``_line``
keys: fix those lines and send that file. Credentials come from ``--api-key``/``--base-url``
or ``$BRAZE_API_KEY``/``$BRAZE_REST_URL``; with neither, a local simulator stands in for
Braze (and says so, loudly).

Exit status: 0 when every recipient was sent, 1 when some were not, 2 for bad arguments or
an unreadable input, 130 after Ctrl-C (143 after SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any, TextIO

import attrs
import orjson

from ._bulk import BulkProgress, BulkReport, RecipientOutcome
from ._client import BrazeClient
from ._errors import BrazeError
from ._journal import JournalError
from ._readers import (
    Format,
    InputError,
    count_rows,
    detect_format,
    input_fingerprint,
    read_recipients,
)

__all__ = ["add_send_parser", "run_send"]

PROG = "braze-async send"
EXIT_OK, EXIT_NOT_ALL_SENT, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143
_BANNER = "SIMULATOR: nothing was sent to Braze"


class _UsageError(Exception):
    """A problem with the arguments or the input: one line on stderr, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def add_send_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``send`` subcommand to ``subparsers`` (from ``add_subparsers``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "send",
        help="send a campaign or Canvas to the recipients of a CSV or JSONL file",
        description=(
            "Send an API-triggered campaign or Canvas to every recipient of a CSV or JSONL "
            "file, 50 per request, resumably. Without credentials, a local simulator "
            "stands in for Braze."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--campaign-id", metavar="ID", help="the API-triggered campaign")
    target.add_argument("--canvas-id", metavar="ID", help="the API-triggered Canvas")
    parser.add_argument(
        "--recipients",
        required=True,
        metavar="FILE",
        help="recipients: .csv with a header, or JSONL (one Braze recipient object a line)",
    )
    parser.add_argument(
        "--format", choices=("csv", "jsonl"), help="the file's format (default: by extension)"
    )
    parser.add_argument(
        "--journal", metavar="FILE", help="resume journal (default: <recipients>.journal)"
    )
    parser.add_argument(
        "--no-journal", action="store_true", help="keep no journal (the job cannot resume)"
    )
    parser.add_argument(
        "--failures",
        metavar="FILE",
        help="where recipients not sent go (default: <recipients>.failures.jsonl)",
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, default=8, metavar="N", help="requests in flight"
    )
    parser.add_argument(
        "--trigger-properties",
        type=_json_object,
        metavar="JSON",
        help="request-level trigger_properties (campaigns)",
    )
    parser.add_argument(
        "--canvas-entry-properties",
        type=_json_object,
        metavar="JSON",
        help="request-level canvas_entry_properties (Canvas)",
    )
    parser.add_argument("--send-id", metavar="ID", help="the campaign send_id (campaigns)")
    parser.add_argument(
        "--api-key", metavar="KEY", help="REST API key (default: $BRAZE_API_KEY; prefer it)"
    )
    parser.add_argument(
        "--base-url", metavar="URL", help="REST endpoint (default: $BRAZE_REST_URL)"
    )
    parser.add_argument(
        "--progress-interval",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress lines when stderr is not a terminal (default 10)",
    )
    parser.set_defaults(handler=run_send)
    return parser


@attrs.frozen(kw_only=True)
class _Plan:
    path: str
    format: Format
    campaign_id: str | None
    canvas_id: str | None
    trigger_properties: Mapping[str, Any] | None
    canvas_entry_properties: Mapping[str, Any] | None
    send_id: str | None
    journal: str | None
    failures: str
    concurrency: int
    api_key: str | None
    base_url: str | None
    progress_interval: float

    @property
    def simulated(self) -> bool:
        return self.api_key is None and self.base_url is None

    @property
    def what(self) -> str:
        if self.campaign_id is not None:
            return f"campaign {self.campaign_id!r}"
        return f"Canvas {self.canvas_id!r}"


def _plan(args: argparse.Namespace, environ: Mapping[str, str]) -> _Plan:
    path: str = args.recipients
    campaign_id, canvas_id = args.campaign_id, args.canvas_id
    if (campaign_id is None) == (canvas_id is None):
        raise _UsageError("give exactly one of --campaign-id, --canvas-id")
    if not (campaign_id or canvas_id or "").strip():
        raise _UsageError("the campaign or Canvas id must not be empty")
    if campaign_id is not None and args.canvas_entry_properties is not None:
        raise _UsageError("--canvas-entry-properties is for Canvas sends")
    if canvas_id is not None and (args.trigger_properties is not None or args.send_id):
        raise _UsageError("--trigger-properties and --send-id are for campaign sends")
    api_key = args.api_key or environ.get("BRAZE_API_KEY") or None
    base_url = args.base_url or environ.get("BRAZE_REST_URL") or None
    if (api_key is None) != (base_url is None):
        missing = (
            "an API key (--api-key or BRAZE_API_KEY)"
            if api_key is None
            else ("the REST endpoint (--base-url or BRAZE_REST_URL)")
        )
        raise _UsageError(f"{missing} is missing; give both, or neither to use the simulator")
    if args.no_journal and args.journal:
        raise _UsageError("give --journal or --no-journal, not both")
    simulated = api_key is None
    # A simulated run journals nothing by default: a journal saying "sent" would make a
    # later real run skip people the simulator only pretended to message.
    journal = (
        None
        if args.no_journal or (simulated and not args.journal)
        else (args.journal or f"{path}.journal")
    )
    failures = args.failures or f"{path}.failures.jsonl"
    names = {os.path.abspath(p) for p in (path, failures, journal) if p is not None}
    if len(names) != (3 if journal is not None else 2):
        raise _UsageError("--recipients, --journal and --failures must be different files")
    return _Plan(
        path=path,
        format=args.format or detect_format(path),
        campaign_id=campaign_id,
        canvas_id=canvas_id,
        trigger_properties=args.trigger_properties,
        canvas_entry_properties=args.canvas_entry_properties,
        send_id=args.send_id,
        journal=journal,
        failures=failures,
        concurrency=args.concurrency,
        api_key=api_key,
        base_url=base_url,
        progress_interval=args.progress_interval,
    )


def run_send(args: argparse.Namespace) -> int:
    """Run ``braze-async send`` with parsed ``args``; return the exit status."""
    try:
        plan = _plan(args, os.environ)
        with contextlib.ExitStack() as stack:
            try:
                fh = stack.enter_context(open(plan.path, "rb"))
                # ETA needs a total: one cheap pass counting lines.
                total = count_rows(plan.path, plan.format)
                fingerprint = input_fingerprint(plan.path)
            except OSError as exc:
                raise _UsageError(f"cannot read {plan.path}: {exc.strerror or exc}") from None
            try:
                failures = _Failures(plan.failures, canvas=plan.canvas_id is not None)
            except OSError as exc:
                raise _UsageError(f"cannot write {plan.failures}: {exc.strerror or exc}") from None
            stack.callback(failures.close)
            job = _Job(plan, fh, failures, total, fingerprint, sys.stderr)
            try:
                return asyncio.run(job.run())
            except KeyboardInterrupt:  # before the job's own handler was installed
                print(f"{PROG}: interrupted", file=sys.stderr)
                return EXIT_SIGINT
    except _UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


# -- progress -------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(p: BulkProgress) -> str:
    """``sent 1,200/10,000 (12%) · rejected 3 · failed 0 · unknown 0 · 950/s · ETA 9s``."""
    done = p.processed - p.in_progress
    head = f"{done:,}/{p.total:,} ({100 * done / p.total:.0f}%)" if p.total else f"{done:,}"
    parts = [f"{head} done", f"sent {p.sent + p.already_sent:,}"]
    if p.already_sent:
        parts[-1] += f" ({p.already_sent:,} earlier)"
    parts += [f"rejected {p.rejected:,}", f"failed {p.failed:,}", f"unknown {p.unknown:,}"]
    parts.append(f"{p.rate:,.0f}/s")
    if p.eta is not None:
        parts.append(f"ETA {_duration(p.eta)}")
    return " · ".join(parts)


class _Progress:
    """A live line on a terminal, periodic plain lines otherwise."""

    def __init__(self, stream: TextIO, interval: float) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._interval = 0.1 if self._tty else interval
        self._last = time.monotonic()
        self._shown = False

    def __call__(self, progress: BulkProgress) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        self._show(progress_line(progress))

    def _show(self, line: str) -> None:
        if self._tty:
            self._stream.write(f"\r\x1b[K{line}")
            self._shown = True
        else:
            self._stream.write(f"{line}\n")
        self._stream.flush()

    def say(self, message: str) -> None:
        """Print ``message`` on its own line (clearing a live line first)."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._shown = False
        self._stream.write(f"{message}\n")
        self._stream.flush()


# -- failures file --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


class _Failures:
    """Streams not-sent recipients to a JSONL file; removes it when none were written."""

    def __init__(self, path: str, *, canvas: bool) -> None:
        self.path = path
        self.count = 0
        self._canvas = canvas
        self._fh: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()

    def __call__(self, outcome: RecipientOutcome) -> None:
        self._fh.write(orjson.dumps(outcome.to_json(canvas=self._canvas), default=_plain) + b"\n")
        self.count += 1

    def close(self) -> None:
        self._fh.close()
        if not self.count:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


# -- the job --------------------------------------------------------------------------------


@contextlib.contextmanager
def _signals(stop: asyncio.Event, progress: _Progress) -> Iterator[list[int]]:
    """SIGINT / SIGTERM stop the job cleanly; a second one abandons the requests in flight."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def handle(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            stop.set()
            progress.say(
                f"{signal.Signals(signum).name}: stopping; no new requests, waiting for those in "
                "flight (press Ctrl-C again to abandon them: they become 'unknown')"
            )
        elif task is not None:
            task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, handle, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
            pass
    try:
        yield received
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


class _Job:
    """One run of the command, in the event loop."""

    def __init__(
        self,
        plan: _Plan,
        fh: IO[bytes],
        failures: _Failures,
        total: int,
        fingerprint: str,
        err: TextIO,
    ) -> None:
        self.plan = plan
        self.fh = fh
        self.failures = failures
        self.total = total
        self.fingerprint = fingerprint
        self.progress = _Progress(err, plan.progress_interval)

    async def run(self) -> int:
        plan, progress = self.plan, self.progress
        rows = read_recipients(self.fh, plan.format, canvas=plan.canvas_id is not None)
        async with contextlib.AsyncExitStack() as stack:
            if plan.simulated:
                from .simulator import BrazeSimulator

                sim = await stack.enter_async_context(BrazeSimulator())
                api_key, base_url = sim.api_key, sim.base_url
                progress.say(
                    f"{'=' * 72}\n{_BANNER}.\nNo BRAZE_API_KEY / BRAZE_REST_URL (or --api-key / "
                    f"--base-url) given: a local Braze simulator on {base_url} stands in.\n"
                    f"{'=' * 72}"
                )
            else:
                assert plan.api_key is not None and plan.base_url is not None
                api_key, base_url = plan.api_key, plan.base_url
            try:
                client = await stack.enter_async_context(
                    BrazeClient(api_key=api_key, base_url=base_url)
                )
            except BrazeError as exc:
                raise _UsageError(str(exc)) from None
            stop = asyncio.Event()
            progress.say(
                f"sending {plan.what} to ~{self.total:,} recipients of {plan.path} "
                f"({plan.concurrency} requests at a time"
                + (f", journal {plan.journal})" if plan.journal else ", no journal)")
            )
            with _signals(stop, progress) as received:
                try:
                    report = await client.bulk_send(
                        rows,
                        campaign_id=plan.campaign_id,
                        canvas_id=plan.canvas_id,
                        trigger_properties=plan.trigger_properties,
                        canvas_entry_properties=plan.canvas_entry_properties,
                        send_id=plan.send_id,
                        concurrency=plan.concurrency,
                        journal=plan.journal,
                        input_fingerprint=self.fingerprint,
                        on_progress=progress,
                        on_outcome=self.failures,
                        stop=stop,
                        total=self.total,
                        max_details=0,
                    )
                except asyncio.CancelledError:
                    if not received:
                        raise
                    progress.say(
                        "abandoned the requests in flight: their recipients are 'unknown' "
                        "(the journal has them; they will not be resent)"
                    )
                    return EXIT_SIGINT if received[0] == signal.SIGINT else EXIT_SIGTERM
                except (JournalError, InputError, BrazeError) as exc:
                    raise _UsageError(str(exc)) from None
                except OSError as exc:
                    raise _UsageError(f"{exc.filename or 'I/O'}: {exc.strerror or exc}") from None
            _summary(plan, report, self.failures, progress)
        if received:
            return EXIT_SIGINT if received[0] == signal.SIGINT else EXIT_SIGTERM
        return EXIT_OK if report.ok else EXIT_NOT_ALL_SENT


def _summary(plan: _Plan, report: BulkReport, failures: _Failures, progress: _Progress) -> None:
    lines = []
    if plan.simulated:
        lines.append(f"{'=' * 72}\n{_BANNER}. (Set BRAZE_API_KEY and BRAZE_REST_URL.)")
    counts = (
        f"{report.sent:,} sent"
        + (f" (+{report.already_sent:,} by an earlier run)" if report.already_sent else "")
        + f", {report.rejected:,} rejected, {report.failed:,} failed, {report.unknown:,} unknown"
        + f" in {report.requests:,} requests, {_duration(report.elapsed)}"
    )
    lines.append(f"{plan.what} from {plan.path}: {counts}")
    if report.interrupted:
        lines.append(
            f"stopped before the end ({report.stop_reason or 'interrupted'}): run the same "
            "command again to send the rest"
            + ("" if plan.journal else " (no journal: it would start over)")
        )
    if failures.count:
        lines.append(
            f"{failures.count:,} recipients not sent are in {failures.path} "
            "(_outcome, _reason, _line say why; fix and send that file)"
        )
    if report.unknown:
        lines.append(
            f"{report.unknown:,} recipients may or may not have been messaged (no answer from "
            "Braze): check before sending them again"
        )
    if plan.simulated:
        lines.append("=" * 72)
    progress.say("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """``python -m braze_async._send_cli [send] ...``: the subcommand on its own.

    ``braze-async send`` is the way to run it; this stands in while the command line is
    being assembled.
    """
    parser = argparse.ArgumentParser(prog="braze-async")
    add_send_parser(parser.add_subparsers(dest="command", required=True))
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] != ["send"]:
        args.insert(0, "send")
    try:
        namespace = parser.parse_args(args)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    return run_send(namespace)


if __name__ == "__main__":
    raise SystemExit(main())
