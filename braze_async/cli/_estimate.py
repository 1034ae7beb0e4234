"""How long a send of N requests takes at least under a rate budget (for ``--dry-run``).

The client admits a request only while fewer than ``limit`` of its requests were counted in
the last ``period`` (see :mod:`braze_async._limits`). With ``used`` of the budget already
spent when the job starts, request ``k`` (from 0) cannot start before window
``(k + used) // limit`` has opened, one ``period`` after the one before; so the last of ``n``
requests waits at least ``(n - 1 + used) // limit`` periods. The round trips of the requests
themselves come on top: ``ceil(n / concurrency)`` of them, one after another at best.

A bulk job (the command line's lane) is admitted within its *share* of the budget,
``limit - RateLimits.reserved``: the rest is kept for interactive sends, so its windows hold
``share`` requests, not ``limit``.
"""

from __future__ import annotations

import math

import attrs

from .._limits import Rate

__all__ = ["Estimate", "budget_wait"]


def budget_wait(requests: int, rate: Rate, *, used: int = 0, share: int | None = None) -> float:
    """Seconds the budget makes the last of ``requests`` wait, with ``used`` already spent,
    when ``share`` of each window is theirs (the whole ``limit`` when None).

    >>> budget_wait(250, Rate(250, 60.0)), budget_wait(251, Rate(250, 60.0))
    (0.0, 60.0)
    """
    if requests <= 0:
        return 0.0
    per_window = rate.limit if share is None else share
    return (requests - 1 + max(used, 0)) // per_window * rate.period


@attrs.frozen(kw_only=True)
class Estimate:
    """What a send of ``requests`` requests would take, at least."""

    #: Requests the send would make.
    requests: int
    #: The budget they are admitted under.
    rate: Rate
    #: Requests in flight at a time.
    concurrency: int
    #: The part of the budget already spent when the send starts; None when unknown (Braze
    #: tells it only in the headers of its answers, and a dry run asks nothing).
    used: int | None
    #: Requests of each window the send's lane may use (a bulk job's share); None: all.
    share: int | None = None

    @property
    def wait(self) -> float:
        """Seconds spent waiting for the budget (taking it as unused when unknown)."""
        return budget_wait(self.requests, self.rate, used=self.used or 0, share=self.share)

    @property
    def worst_wait(self) -> float:
        """Seconds spent waiting for the budget if its share were all spent at the start."""
        used = (self.share or self.rate.limit) if self.used is None else self.used
        return budget_wait(self.requests, self.rate, used=used, share=self.share)

    @property
    def round_trips(self) -> int:
        """Round trips one after another, at the least, with ``concurrency`` in flight."""
        return math.ceil(self.requests / self.concurrency)
