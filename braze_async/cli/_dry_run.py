"""``braze-async send --dry-run``: read and check the whole file, send nothing, and tell what a
send would do.

No client is built and no simulator started: the dry run opens no socket at all. It prints
the recipients it would send to, the rejected rows (line and reason, into the failures file as
a send would), the requests it would make, and how long the send would take at least under
the rate budget. Exit status 0 when every row is valid, 1 otherwise.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from .._bulk import RecipientOutcome
from .._limits import Bucket
from .._models import MAX_RECIPIENTS
from .._readers import InputRow
from ._estimate import Estimate
from ._failures import FailuresFile
from ._plan import Plan
from ._progress import duration

__all__ = ["dry_run"]


def _per(seconds: float) -> str:
    return {60.0: "minute", 3600.0: "hour"}.get(seconds, f"{seconds:g} seconds")


def dry_run(
    plan: Plan,
    rows: Iterable[InputRow],
    failures: FailuresFile,
    out: TextIO,
    now: Callable[[], float] = time.time,
) -> int:
    """Read ``rows`` to the end, write the rejected ones to ``failures``, report on ``out``;
    for ``--at``, whether every request can be made before the time by ``now``.

    Returns the exit status: 0 when every row is valid, 1 otherwise.
    """
    valid = rejected = 0
    for position, row in enumerate(rows):
        if row.recipient is not None:
            valid += 1
            continue
        rejected += 1
        failures(
            RecipientOutcome(
                position=position,
                outcome="rejected",
                reason=row.reason or "invalid",
                line=row.line,
                data=row.data,
            )
        )
    requests = math.ceil(valid / MAX_RECIPIENTS)
    limits = plan.rate_limits
    rate, reserved = limits.external_id, limits.reserved(Bucket.EXTERNAL_ID)
    # The embedded simulator starts afresh: nothing of its budget is spent. Braze tells what
    # is spent only in the headers of its answers, and a dry run asks nothing.
    estimate = Estimate(
        requests=requests,
        rate=rate,
        concurrency=plan.concurrency,
        used=0 if plan.simulated else None,
        share=rate.limit - reserved,  # a send is a bulk job: it leaves the reserve
    )
    whose = "--external-id-rate" if plan.external_id_rate is not None else "Braze's limit"
    lines = [
        f"dry run of {plan.what} from {plan.path}, for "
        + ("the local simulator" if plan.simulated else str(plan.base_url))
        + ": nothing was sent",
        f"  recipients  {valid:,} valid, {rejected:,} rejected"
        + (f" (line and reason in {failures.path})" if rejected else ""),
        f"  requests    {requests:,} of up to {MAX_RECIPIENTS} recipients, "
        f"{plan.concurrency} at a time",
        f"  budget      {rate.limit:,} requests per {_per(rate.period)} for sends by external ID "
        f"({whose})",
        f"  lane        {_lane(rate.limit, reserved, limits.reserve)}",
        f"  duration    {_duration(estimate)}",
    ]
    if plan.schedule is not None:
        lines += _in_time(plan, estimate, now())
    if estimate.used is None and estimate.worst_wait > estimate.wait:
        lines += [
            "              (what the workspace spent already is unknown: Braze tells it only in",
            "              its answers; if other senders spent it all, up to "
            f"{duration(estimate.worst_wait - estimate.wait)} more)",
        ]
    if plan.journal is not None and os.path.exists(plan.journal):
        lines.append(
            f"  journal     {plan.journal} exists: a send resumes from it (fewer requests)"
        )
    if plan.new_send_id:
        lines.append("  send ID     a send would create one first (1 of Braze's 100 a day)")
    out.write("\n".join(lines) + "\n")
    out.flush()
    return 0 if rejected == 0 else 1


def _in_time(plan: Plan, estimate: Estimate, now: float) -> list[str]:
    """Whether the last schedule create can be made before the time: at the instant, or for
    a local time before it reaches the earliest zone (UTC+14), where its users would get it
    late. The budget's wait is the least the job takes (the round trips come on top)."""
    schedule = plan.schedule
    assert schedule is not None
    deadline = schedule.first_moment().timestamp()
    where = " in the earliest time zone (UTC+14)" if schedule.local else ""
    margin = deadline - now - estimate.wait
    head = f"  schedule    {estimate.requests:,} schedule creates for {plan.at}"
    if margin > 0:
        return [
            head,
            f"              in time: the budget lets the last one leave {duration(margin)} "
            f"before the time{where}",
        ]
    return [
        head,
        f"              NOT in time: at this budget the last would leave {duration(-margin)} "
        f"after the time{where}; the job stops once the time has passed"
        + (" everywhere" if schedule.local else "")
        + " (the rest not scheduled): start earlier or choose a later time",
    ]


def _lane(limit: int, reserved: int, reserve: float) -> str:
    """The bulk lane's share of the budget, and the reserve kept for interactive sends."""
    if not reserved:
        return "bulk: the whole budget (no reserve for interactive sends)"
    return (
        f"bulk: at most {limit - reserved:,} of them, {reserved:,} ({reserve:.0%}) kept for "
        "interactive sends"
    )


def _duration(estimate: Estimate) -> str:
    n = estimate.round_trips
    trips = f"{n:,} round trip{'s' if n != 1 else ''} ({estimate.concurrency} requests at a time)"
    if not estimate.wait:
        return f"no wait for the budget: the send takes {trips}"
    return f"at least {duration(estimate.wait)} waiting for the budget, plus {trips}"
