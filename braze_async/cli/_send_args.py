"""The flags of ``braze-async send``.

Each flag is checked on its own here (argparse reports a bad one in one line); what they mean
together, and what comes from the environment, is :mod:`._plan`'s job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from typing import Any

import orjson

from .._journal import DEFAULT_FSYNC, FSYNC_POLICIES
from .._limits import Rate
from .._validate import iso_time

__all__ = ["add_send_parser"]


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


def _rate(text: str) -> Rate:
    """``N/SECONDS``: at most N requests in any SECONDS seconds."""
    limit, slash, period = text.partition("/")
    try:
        if not slash:
            raise ValueError
        return Rate(int(limit), float(period))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected N/SECONDS (e.g. 250000/3600) with N >= 1 and SECONDS > 0, got {text!r}"
        ) from None


def _aware_time(text: str) -> dt.datetime:
    """An ISO 8601 time with its UTC offset: ``2026-12-24T09:00:00+01:00``."""
    try:
        value = iso_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"give the time's UTC offset (e.g. {text}+01:00, or Z for UTC): {text!r}"
        )
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
    """Add the ``send`` subcommand to ``subparsers`` (from ``add_subparsers``); return it.

    The flags are added in the order ``--help`` lists them: what is sent to whom, the job's
    files, how many requests at a time, the request-level fields, where the requests go, and
    how the job runs.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "send",
        help="send a campaign or Canvas to the recipients of a CSV or JSONL file",
        description=(
            "Send an API-triggered campaign or Canvas to every recipient of a CSV or JSONL "
            "file, 50 per request, resumably. Credentials come from $BRAZE_API_KEY and "
            "$BRAZE_REST_URL; --simulate sends to a local simulator instead. --dry-run checks "
            "the file and tells what a send would do, sending nothing."
        ),
    )
    _add_target_and_recipients(parser)
    _add_job_files(parser)
    parser.add_argument(
        "--concurrency", type=_positive_int, default=8, metavar="N", help="requests in flight"
    )
    _add_request_fields(parser)
    _add_endpoint(parser)
    _add_run_modes(parser)
    return parser


def _add_target_and_recipients(parser: argparse.ArgumentParser) -> None:
    """The campaign or Canvas sent, and the file of recipients it goes to."""
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


def _add_job_files(parser: argparse.ArgumentParser) -> None:
    """The files the job writes besides the input: its resume journal and its failures."""
    parser.add_argument(
        "--journal", metavar="FILE", help="resume journal (default: <recipients>.journal)"
    )
    parser.add_argument(
        "--no-journal", action="store_true", help="keep no journal (the job cannot resume)"
    )
    parser.add_argument(
        "--journal-fsync",
        choices=FSYNC_POLICIES,
        default=DEFAULT_FSYNC,
        help="which journal records reach the disk before the job goes on: 'begin' (the "
        "default: a power loss messages nobody twice), 'always' (end records too: fewer "
        "unknowns after a power loss), 'never' (survives a kill, not a power loss)",
    )
    parser.add_argument(
        "--failures",
        metavar="FILE",
        help="where recipients not sent go (default: <recipients>.failures.jsonl)",
    )


def _add_request_fields(parser: argparse.ArgumentParser) -> None:
    """The request-level fields every request of the job carries (campaign or Canvas ones)."""
    parser.add_argument(
        "--trigger-properties",
        type=_json_object,
        metavar="JSON",
        help="request-level trigger_properties (campaigns)",
    )
    context = parser.add_mutually_exclusive_group()
    context.add_argument(
        "--context",
        type=_json_object,
        metavar="JSON",
        help="request-level context (Canvas; sent as context)",
    )
    context.add_argument(
        "--canvas-entry-properties",
        type=_json_object,
        metavar="JSON",
        help="the older name of --context (also sent as context)",
    )
    parser.add_argument("--send-id", metavar="ID", help="the campaign send_id (campaigns)")
    parser.add_argument(
        "--at",
        type=_aware_time,
        metavar="TIME",
        help="schedule the send instead, for this ISO 8601 time with its offset "
        "(e.g. 2026-12-24T09:00:00+01:00): each request is a schedule create",
    )
    parser.add_argument(
        "--in-local-time",
        action="store_true",
        help="with --at: its wall-clock time (9:00) in each recipient's time zone",
    )
    parser.add_argument(
        "--new-send-id",
        action="store_true",
        help="create a send ID for the campaign first (/sends/id/create; Braze allows 100 a "
        "day), print it and send with it; resume the job with --send-id and that ID",
    )


def _add_endpoint(parser: argparse.ArgumentParser) -> None:
    """Where the requests go: Braze, with these credentials, or the local simulator."""
    parser.add_argument(
        "--api-key", metavar="KEY", help="REST API key (default: $BRAZE_API_KEY; prefer it)"
    )
    parser.add_argument(
        "--base-url", metavar="URL", help="REST endpoint (default: $BRAZE_REST_URL)"
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="send to a local Braze simulator: nothing reaches Braze (without credentials, "
        "the command refuses to run unless this is given)",
    )


def _add_run_modes(parser: argparse.ArgumentParser) -> None:
    """How the job runs: for real or as a dry run, at which pace, reporting how often."""
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="read and check the whole file, send nothing: print the recipients, the rejected "
        "rows (into the failures file), the requests and how long the send would take",
    )
    parser.add_argument(
        "--external-id-rate",
        type=_rate,
        metavar="N/SECONDS",
        help="the budget for sends by external ID, if your workspace's differs from Braze's "
        "default 250000/3600 (or to leave room for other senders)",
    )
    parser.add_argument(
        "--progress-interval",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress lines when stderr is not a terminal (default 10)",
    )
