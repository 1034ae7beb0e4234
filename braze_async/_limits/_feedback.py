"""The feedback policy: what Braze's rate-limit headers make one bucket do.

The headers are authoritative (other consumers of the workspace spend the same budget).
:class:`Feedback` turns them into two local constraints that sit *on top of* the sliding log
(:mod:`._local`):

* ``X-RateLimit-Remaining: r`` with ``X-RateLimit-Reset: t`` caps admissions at ``r`` minus our
  requests now in flight (the server may not have counted them yet) until ``t``. Answers
  arrive out of order, so caps only ever tighten within one window; a cap per distinct Reset
  is kept (a few at most) and each admission spends from all of them.
* a 429 pauses the bucket until ``X-RateLimit-Retry-After`` / ``Retry-After`` seconds, else until
  Reset, else for an exponential fallback (1 s, 2 s, 4 s, ... capped); pauses only lengthen.

When is a cap needed? When the server's usage (``Limit - Remaining``) is more than our own
requests can explain, someone else spends the budget. Our log counts a *sliding* period, but a
fixed window starts afresh at its boundary: requests we made in the previous window are not in
the server's count, so they must not explain it. Only our slots that Braze can have counted in
its *current* window explain its usage: those in flight, and those released after the window
began, ``Reset - period`` (less one second, since Reset is rounded up to a whole second: a
sliding window's oldest request may lie up to that much earlier). Usage our slots explain is
left to the exact log (a cap would idle until the rounded Reset); any other usage is capped.
What the rounding leaves unknowable: in a fixed window, another consumer's usage can hide
behind our requests released in the last second before the window began.

Clocks. Every deadline is on the **monotonic** clock (``now``), like every admission decision:
a step of the wall clock (NTP, a VM resumed) neither stalls the limiter nor lifts a cap early.
The **wall** clock (``wall``, UTC epoch seconds) serves only to read Braze's Reset once, when an
answer is observed: ``Reset - wall`` seconds from now, checked against the period (a window
ends within one period; a Reset further away than that, from a host clock behind Braze's, is
held for one period at most; one beyond any window is garbage, ignored).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from ._headers import RateLimitHeaders

__all__ = ["Feedback", "Update"]

# At most this many distinct Reset values are remembered per bucket; beyond it the two
# closest are merged conservatively (the lower allowance until the later deadline).
_MAX_CAPS = 4
# Fallback pause after a 429 that carries no usable header: 1 s, doubling, capped.
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 60.0
# Braze's Reset is whole epoch seconds, rounded up.
_RESET_ROUNDING = 1.0

#: ``accounts_for(count, since)``: whether our own slots explain *count* requests counted
#: after the monotonic time *since* (None: cannot tell). See :meth:`.SlotLog.accounts_for`.
AccountsFor = Callable[[int, float], "bool | None"]


class Update(NamedTuple):
    """What one answer taught us that the rest of the fleet should hear too."""

    #: Seconds, from now, of a 429 pause that outlasts the one already in force.
    pause: float | None
    #: The answer's valid ``(reset, remaining, limit)``: at most *remaining* more before
    #: Braze's *reset* (UTC epoch seconds, as Braze sent it), of Braze's last *limit* (None
    #: when never sent: then every usage is someone else's).
    cap: tuple[float, int, int | None] | None


class _Cap:
    """At most ``allowance`` more admissions before the monotonic time ``until``."""

    __slots__ = ("allowance", "until")

    def __init__(self, until: float, allowance: int) -> None:
        self.until = until
        self.allowance = allowance


class Feedback:
    """What the server told us about one bucket: pauses after 429s and Remaining caps.

    :param period: the bucket's window, to check header times against.
    :param margin: extra seconds a cap holds after its Reset (clock-skew safety).
    """

    __slots__ = (
        "caps",
        "horizon",
        "margin",
        "paused_until",
        "period",
        "server_limit",
        "server_remaining",
        "server_reset",
        "strikes",
    )

    def __init__(self, period: float, margin: float) -> None:
        #: Monotonic time before which nothing is admitted (after a 429).
        self.paused_until = -math.inf
        #: Braze's Reset (as sent: it names the window) -> the cap until then.
        self.caps: dict[float, _Cap] = {}
        #: Consecutive 429s without a usable header (for the exponential fallback).
        self.strikes = 0
        self.period = period
        #: Header times further than this are garbage (a window never ends that late).
        self.horizon = 2 * period + 60.0
        self.margin = margin
        #: Last valid ``X-RateLimit-Limit``, for diagnostics and to tell our usage from others'.
        self.server_limit: int | None = None
        #: Last valid ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` seen, as Braze sent
        #: them (for diagnostics: the caps are what acts on them).
        self.server_remaining: int | None = None
        self.server_reset: float | None = None

    def delay(self, now: float, reserve: int = 0, *, capped: bool = True) -> float:
        """Seconds to wait before the next admission (0: go), dropping caps that ended.

        *reserve*: allowance the admission must leave in every cap (a bulk request leaves
        the reserve of what Braze says is left to interactive ones). *capped* False: only a
        pause holds (the caps are kept and spent, but the log's own caps govern).
        """
        wait = self.paused_until - now
        caps = self.caps
        if caps and capped:
            for reset in [r for r, cap in caps.items() if cap.until <= now]:
                del caps[reset]
            for cap in caps.values():
                if cap.allowance < 1 + reserve:
                    wait = max(wait, cap.until - now)
        return max(wait, 0.0)

    def spend(self) -> None:
        """Count one admission against every live cap."""
        for cap in self.caps.values():
            cap.allowance -= 1

    def observe(
        self,
        *,
        now: float,
        wall: float,
        status: int,
        headers: RateLimitHeaders,
        in_flight: int,
        accounts_for: AccountsFor | None,
    ) -> Update:
        """Apply one answer; return what changed, for sharing with the fleet.

        :param in_flight: our requests now in flight, which the server may not have counted.
        :param accounts_for: asks our log whether our own slots explain the server's usage
            (None: it cannot tell, so every usage is capped).
        """
        if headers.limit is not None:
            self.server_limit = headers.limit
        if headers.remaining is not None:
            self.server_remaining = headers.remaining
        if headers.reset is not None:
            self.server_reset = headers.reset
        ends = self._window_end(headers.reset, now, wall)
        cap = None
        if ends is not None and headers.remaining is not None:
            assert headers.reset is not None
            cap = (headers.reset, headers.remaining, self.server_limit)
            if not self._explained(accounts_for, headers.remaining, ends):
                # Someone else spends this budget too. Our in-flight requests may not be
                # counted yet: they will spend from r as well.
                self._cap(headers.reset, ends + self.margin, headers.remaining - in_flight)
        pause = None
        if status == 429:
            left = None if ends is None else ends - now
            pause = self._pause(now, self._pause_length(headers.retry_after, left))
        elif 200 <= status < 300:
            self.strikes = 0
        return Update(pause, cap)

    def _window_end(self, reset: float | None, now: float, wall: float) -> float | None:
        """The monotonic time Braze's window ends, from its wall-clock *reset*; None when
        *reset* is absent, past (stale) or absurd. At most one period (and Reset's rounding)
        from now: a window never ends later, whatever the host's clock says."""
        if reset is None:
            return None
        left = reset - wall
        if not 0 < left <= self.horizon:
            return None
        return now + min(left, self.period + _RESET_ROUNDING)

    def _explained(self, accounts_for: AccountsFor | None, remaining: int, ends: float) -> bool:
        """Whether our slots that Braze can have counted in its current window (the one
        ending at *ends*) explain all of its usage, ``Limit - Remaining``.

        Then the exact local log already governs them and no cap is needed. (Without this,
        Reset's whole-second rounding would idle up to a second per window.)
        """
        if accounts_for is None or self.server_limit is None:
            return False
        began = ends - self.period - _RESET_ROUNDING
        return accounts_for(self.server_limit - remaining, began) is True

    def _cap(self, reset: float, until: float, allowance: int) -> None:
        """At most *allowance* more admissions before *until*; caps only tighten."""
        allowance = max(allowance, 0)
        current = self.caps.get(reset)
        if current is None:
            self.caps[reset] = _Cap(until, allowance)
        else:
            current.allowance = min(current.allowance, allowance)
            current.until = max(current.until, until)
        while len(self.caps) > _MAX_CAPS:
            # Merge the two closest: the lower allowance holds until the later deadline.
            resets = sorted(self.caps, key=lambda r: self.caps[r].until)
            i = min(
                range(len(resets) - 1),
                key=lambda j: self.caps[resets[j + 1]].until - self.caps[resets[j]].until,
            )
            early = self.caps.pop(resets[i])
            late = self.caps[resets[i + 1]]
            late.allowance = min(early.allowance, late.allowance)

    def _pause_length(self, retry_after: float | None, left: float | None) -> float:
        """Seconds a 429 pauses for: Retry-After, else until Reset (*left* seconds from
        now), else the fallback backoff."""
        if retry_after is not None and retry_after <= self.horizon:
            return retry_after
        if left is not None:
            return left
        pause = min(_BACKOFF_BASE * 2.0 ** min(self.strikes, 30), _BACKOFF_CAP)
        self.strikes += 1
        return pause

    def _pause(self, now: float, length: float) -> float | None:
        """Pause for *length* s unless already paused longer; the new pause, if it grew."""
        before = self.paused_until
        self.paused_until = max(before, now + length)
        return self.paused_until - now if self.paused_until > before else None
