"""What ``braze-async send`` will do: the flags checked together, the credentials, the files.

Credentials come from ``--api-key``/``--base-url`` or ``$BRAZE_API_KEY``/``$BRAZE_REST_URL``.
Only ``--simulate`` (which ignores the environment's) sends to the local simulator: without
credentials and without it, the command refuses to run (a cron job with an empty environment
must not "succeed" sending nothing).
The journal defaults to ``<input>.journal`` and the failures file to ``<input>.failures.jsonl``.
The request-level fields are checked here as a request would check them, so that a bad one
stops the job (or the dry run) before anything is read or sent.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from typing import Any

import attrs

from .._errors import BrazeValidationError
from .._journal import DEFAULT_FSYNC, FsyncPolicy
from .._limits import Rate, RateLimits
from .._readers import Format, detect_format
from .._schedule import Schedule
from .._targets import Campaign, Canvas

__all__ = ["Plan", "UsageError", "make_plan"]


class UsageError(Exception):
    """A problem with the arguments or the input: one line on stderr, exit status 2."""


@attrs.frozen(kw_only=True)
class Plan:
    """A checked ``send`` job: what is sent, to whom, through which endpoint, where files go."""

    path: str
    format: Format
    campaign_id: str | None
    canvas_id: str | None
    trigger_properties: Mapping[str, Any] | None
    #: The request-level ``context`` of a Canvas (``--context``, or its older name
    #: ``--canvas-entry-properties``).
    context: Mapping[str, Any] | None
    send_id: str | None
    journal: str | None
    failures: str
    concurrency: int
    api_key: str | None
    base_url: str | None
    progress_interval: float
    #: Read and check only; send nothing.
    dry_run: bool = False
    #: ``--simulate``: the local simulator stands in for Braze (no credentials then).
    simulated: bool = False
    #: When journal records reach the disk (``--journal-fsync``).
    journal_fsync: FsyncPolicy = DEFAULT_FSYNC
    #: ``--new-send-id``: create a send ID first and send with it (see _runner).
    new_send_id: bool = False
    #: The budget for sends by external ID (``--external-id-rate``); Braze's when None.
    external_id_rate: Rate | None = None
    #: ``--at`` (and ``--in-local-time``): schedule each request instead of sending it.
    schedule: Schedule | None = None

    @property
    def rate_limits(self) -> RateLimits:
        """The client's rate limits: Braze's, or ``--external-id-rate`` for sends by ID."""
        if self.external_id_rate is None:
            return RateLimits()
        return RateLimits(external_id=self.external_id_rate)

    @property
    def target(self) -> Campaign | Canvas:
        """What the job sends: the campaign or the Canvas, with its request-level fields."""
        return _target(
            self.campaign_id, self.canvas_id, self.trigger_properties, self.context, self.send_id
        )

    @property
    def what(self) -> str:
        """``campaign 'weekly'`` or ``Canvas 'onboarding'``, for messages."""
        if self.campaign_id is not None:
            return f"campaign {self.campaign_id!r}"
        return f"Canvas {self.canvas_id!r}"

    @property
    def at(self) -> str:
        """When a scheduled job's messages leave, for messages ("" for a send)."""
        if self.schedule is None:
            return ""
        if self.schedule.in_local_time:
            wall = self.schedule.at.replace(tzinfo=None).isoformat()
            return f"{wall} in each recipient's time zone"
        return self.schedule.at.isoformat()


def make_plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Plan:
    """The plan for parsed ``send`` flags and ``environ``; raises :class:`UsageError`.

    The checks run in a fixed order (what is sent, the credentials, the files), so that the
    error reported for several bad flags is always the same one.
    """
    path: str = args.recipients
    campaign_id, canvas_id = args.campaign_id, args.canvas_id
    context = _context(args)
    api_key, base_url = _credentials(args, environ)
    journal, failures = _files(args, path)
    simulated: bool = args.simulate
    return Plan(
        path=path,
        format=args.format or detect_format(path),
        campaign_id=campaign_id,
        canvas_id=canvas_id,
        trigger_properties=args.trigger_properties,
        context=context,
        send_id=args.send_id,
        journal=journal,
        failures=failures,
        concurrency=args.concurrency,
        api_key=api_key,
        base_url=base_url,
        progress_interval=args.progress_interval,
        dry_run=args.dry_run,
        simulated=simulated,
        journal_fsync=args.journal_fsync,
        external_id_rate=args.external_id_rate,
        schedule=_schedule(args),
        new_send_id=args.new_send_id,
    )


def _schedule(args: argparse.Namespace) -> Schedule | None:
    """``--at`` (``--in-local-time``): a time still ahead by this machine's clock."""
    if args.at is None:
        if args.in_local_time:
            raise UsageError("--in-local-time needs --at")
        return None
    try:
        schedule = Schedule(args.at, in_local_time=args.in_local_time)
        schedule.check_future(time.time())
    except BrazeValidationError as exc:
        raise UsageError(f"--at: {exc.rule}") from None
    return schedule


def _context(args: argparse.Namespace) -> Mapping[str, Any] | None:
    """Check what is sent (one campaign or Canvas, its fields); return the Canvas's context."""
    campaign_id, canvas_id = args.campaign_id, args.canvas_id
    if (campaign_id is None) == (canvas_id is None):
        raise UsageError("give exactly one of --campaign-id, --canvas-id")
    if not (campaign_id or canvas_id or "").strip():
        raise UsageError("the campaign or Canvas id must not be empty")
    context: Mapping[str, Any] | None = (
        args.context if args.context is not None else args.canvas_entry_properties
    )
    if campaign_id is not None and context is not None:
        flag = "--context" if args.context is not None else "--canvas-entry-properties"
        raise UsageError(f"{flag} is for Canvas sends")
    if canvas_id is not None and (
        args.trigger_properties is not None or args.send_id or args.new_send_id
    ):
        raise UsageError("--trigger-properties and --send-id are for campaign sends")
    if args.send_id is not None and args.new_send_id:
        raise UsageError("give one of --send-id, --new-send-id")
    _check_request_fields(args, context)
    return context


def _credentials(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The API key and REST endpoint: both, or neither for ``--simulate``."""
    if args.simulate and (args.api_key or args.base_url):
        raise UsageError(
            "--simulate sends to a local simulator: give it or --api-key/--base-url, not both"
        )
    if args.simulate:  # explicit: credentials in the environment are left alone
        api_key = base_url = None
    else:
        api_key = args.api_key or environ.get("BRAZE_API_KEY") or None
        base_url = args.base_url or environ.get("BRAZE_REST_URL") or None
        if api_key is None and base_url is None:
            raise UsageError(
                "no credentials: set BRAZE_API_KEY and BRAZE_REST_URL (or give --api-key and "
                "--base-url), or give --simulate to send to a local simulator"
            )
    if (api_key is None) != (base_url is None):
        missing = (
            "an API key (--api-key or BRAZE_API_KEY)"
            if api_key is None
            else ("the REST endpoint (--base-url or BRAZE_REST_URL)")
        )
        raise UsageError(f"{missing} is missing; give both (or --simulate for a local simulator)")
    return api_key, base_url


def _files(args: argparse.Namespace, path: str) -> tuple[str | None, str]:
    """The journal (None: none kept) and the failures file, both distinct from the input."""
    if args.no_journal and args.journal:
        raise UsageError("give --journal or --no-journal, not both")
    simulated: bool = args.simulate
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
        raise UsageError("--recipients, --journal and --failures must be different files")
    return journal, failures


def _check_request_fields(args: argparse.Namespace, context: Mapping[str, Any] | None) -> None:
    """The request-level fields, checked by the target a send would build."""
    try:
        _target(args.campaign_id, args.canvas_id, args.trigger_properties, context, args.send_id)
    except BrazeValidationError as exc:
        raise UsageError(str(exc)) from None


def _target(
    campaign_id: str | None,
    canvas_id: str | None,
    trigger_properties: Mapping[str, Any] | None,
    context: Mapping[str, Any] | None,
    send_id: str | None,
) -> Campaign | Canvas:
    if campaign_id is not None:
        return Campaign(campaign_id, trigger_properties=trigger_properties, send_id=send_id)
    assert canvas_id is not None
    return Canvas(canvas_id, context=context)
