"""What ``braze-async send`` will do: the flags checked together, the credentials, the files.

Credentials come from ``--api-key``/``--base-url`` or ``$BRAZE_API_KEY``/``$BRAZE_REST_URL``;
with neither, the job is simulated. The journal defaults to ``<input>.journal`` and the
failures file to ``<input>.failures.jsonl``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

import attrs

from .._readers import Format, detect_format

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
        """No credentials at all: the local simulator stands in for Braze."""
        return self.api_key is None and self.base_url is None

    @property
    def what(self) -> str:
        """``campaign 'weekly'`` or ``Canvas 'onboarding'``, for messages."""
        if self.campaign_id is not None:
            return f"campaign {self.campaign_id!r}"
        return f"Canvas {self.canvas_id!r}"


def make_plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Plan:
    """The plan for parsed ``send`` flags and ``environ``; raises :class:`UsageError`."""
    path: str = args.recipients
    campaign_id, canvas_id = args.campaign_id, args.canvas_id
    if (campaign_id is None) == (canvas_id is None):
        raise UsageError("give exactly one of --campaign-id, --canvas-id")
    if not (campaign_id or canvas_id or "").strip():
        raise UsageError("the campaign or Canvas id must not be empty")
    if campaign_id is not None and args.canvas_entry_properties is not None:
        raise UsageError("--canvas-entry-properties is for Canvas sends")
    if canvas_id is not None and (args.trigger_properties is not None or args.send_id):
        raise UsageError("--trigger-properties and --send-id are for campaign sends")
    api_key = args.api_key or environ.get("BRAZE_API_KEY") or None
    base_url = args.base_url or environ.get("BRAZE_REST_URL") or None
    if (api_key is None) != (base_url is None):
        missing = (
            "an API key (--api-key or BRAZE_API_KEY)"
            if api_key is None
            else ("the REST endpoint (--base-url or BRAZE_REST_URL)")
        )
        raise UsageError(f"{missing} is missing; give both, or neither to use the simulator")
    if args.no_journal and args.journal:
        raise UsageError("give --journal or --no-journal, not both")
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
        raise UsageError("--recipients, --journal and --failures must be different files")
    return Plan(
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
