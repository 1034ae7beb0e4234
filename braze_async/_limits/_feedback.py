"""The feedback policy: what Braze's rate-limit headers make one bucket do.

The headers are authoritative (other consumers of the workspace spend the same budget).
:class:`Feedback` turns them into two local constraints that sit *on top of* the sliding log
(:mod:`._local`):

* ``X-RateLimit-Remaining: r`` with ``X-RateLimit-Reset: t`` caps admissions at ``r`` minus our
  requests now in flight (the server may not have counted them yet) until wall-clock ``t``.
  Answers arrive out of order, so caps only ever tighten within one window; a cap per distinct
  Reset is kept (a few at most) and each admission spends from all of them.
* a 429 pauses the bucket until ``X-RateLimit-Retry-After`` / ``Retry-After`` seconds, else until
  Reset, else for an exponential fallback (1 s, 2 s, 4 s, ... capped); pauses only lengthen.

Two clocks meet here, and each keeps its job: pauses are deadlines on the **monotonic** clock
(``now``), like every admission decision; the **wall** clock (``wall``, UTC epoch seconds) is
used only to read Braze's Reset, so caps are keyed and expired by wall-clock time.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._headers import RateLimitHeaders

__all__ = ["Feedback", "Update"]

# At most this many distinct Reset values are remembered per bucket; beyond it the two
# closest are merged conservatively (the lower allowance until the later Reset).
_MAX_CAPS = 4
# Fallback pause after a 429 that carries no usable header: 1 s, doubling, capped.
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 60.0


class Update(NamedTuple):
    """What one answer taught us that the rest of the fleet should hear too."""

    #: Seconds, from now, of a 429 pause that outlasts the one already in force.
    pause: float | None
    #: The answer's valid ``(reset, remaining)``: at most *remaining* more before *reset*.
    cap: tuple[float, int] | None


class Feedback:
    """What the server told us about one bucket: pauses after 429s and Remaining caps.

    :param period: the bucket's window, to tell absurd header times from real ones.
    :param margin: extra seconds a cap holds after its Reset (clock-skew safety).
    """

    __slots__ = (
        "caps",
        "horizon",
        "margin",
        "paused_until",
        "server_limit",
        "server_remaining",
        "server_reset",
        "strikes",
    )

    def __init__(self, period: float, margin: float) -> None:
        #: Monotonic time before which nothing is admitted (after a 429).
        self.paused_until = -math.inf
        #: Wall-clock Reset -> requests we may still start before it.
        self.caps: dict[float, int] = {}
        #: Consecutive 429s without a usable header (for the exponential fallback).
        self.strikes = 0
        #: Header times further than this are garbage (a window never ends that late).
        self.horizon = 2 * period + 60.0
        self.margin = margin
        #: Last valid ``X-RateLimit-Limit``, for diagnostics and to tell our usage from others'.
        self.server_limit: int | None = None
        #: Last valid ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` seen, as Braze sent
        #: them (for diagnostics: the caps above are what acts on them).
        self.server_remaining: int | None = None
        self.server_reset: float | None = None

    def delay(self, now: float, wall: float) -> float:
        """Seconds to wait before the next admission (0: go), dropping caps whose Reset passed."""
        wait = self.paused_until - now
        if self.caps:
            for reset in [r for r in self.caps if r + self.margin <= wall]:
                del self.caps[reset]
            for reset, allowance in self.caps.items():
                if allowance < 1:
                    wait = max(wait, reset + self.margin - wall)
        return max(wait, 0.0)

    def spend(self) -> None:
        """Count one admission against every live cap."""
        for reset in self.caps:
            self.caps[reset] -= 1

    def observe(
        self,
        *,
        now: float,
        wall: float,
        status: int,
        headers: RateLimitHeaders,
        in_flight: int,
        ours: int | None,
    ) -> Update:
        """Apply one answer; return what changed, for sharing with the fleet.

        :param in_flight: our requests now in flight, which the server may not have counted.
        :param ours: how many slots our own log counts now (in flight + unexpired), when known.
        """
        if headers.limit is not None:
            self.server_limit = headers.limit
        if headers.remaining is not None:
            self.server_remaining = headers.remaining
        if headers.reset is not None:
            self.server_reset = headers.reset
        reset = self._live_reset(headers.reset, wall)
        cap = None
        if reset is not None and headers.remaining is not None:
            cap = (reset, headers.remaining)
            if not self._explained_by(ours, headers.remaining):
                # Someone else spends this budget too. Our in-flight requests may not be
                # counted yet: they will spend from r as well.
                self._cap(reset, headers.remaining - in_flight)
        pause = None
        if status == 429:
            pause = self._pause(now, self._pause_length(headers.retry_after, reset, wall))
        elif 200 <= status < 300:
            self.strikes = 0
        return Update(pause, cap)

    def _live_reset(self, reset: float | None, wall: float) -> float | None:
        """*reset* if it ends a window that is still open; None if stale (past) or absurd."""
        if reset is not None and wall < reset <= wall + self.horizon:
            return reset
        return None

    def _explained_by(self, ours: int | None, remaining: int) -> bool:
        """Whether our own slots explain all of the server's usage (Limit - Remaining).

        Then the exact local log already governs them and no cap is needed. (Without this,
        Reset's whole-second rounding would idle up to a second per window.)
        """
        return (
            ours is not None
            and self.server_limit is not None
            and self.server_limit - remaining <= ours
        )

    def _cap(self, reset: float, allowance: int) -> None:
        """At most *allowance* more admissions before *reset*; caps only tighten."""
        allowance = max(allowance, 0)
        current = self.caps.get(reset)
        self.caps[reset] = allowance if current is None else min(current, allowance)
        while len(self.caps) > _MAX_CAPS:
            # Merge the two closest resets: the lower allowance holds until the later one.
            resets = sorted(self.caps)
            i = min(range(len(resets) - 1), key=lambda j: resets[j + 1] - resets[j])
            early, late = resets[i], resets[i + 1]
            self.caps[late] = min(self.caps.pop(early), self.caps[late])

    def _pause_length(self, retry_after: float | None, reset: float | None, wall: float) -> float:
        """Seconds a 429 pauses for: Retry-After, else until Reset, else the fallback backoff."""
        if retry_after is not None and retry_after <= self.horizon:
            return retry_after
        if reset is not None:
            return reset - wall
        pause = min(_BACKOFF_BASE * 2.0 ** min(self.strikes, 30), _BACKOFF_CAP)
        self.strikes += 1
        return pause

    def _pause(self, now: float, length: float) -> float | None:
        """Pause for *length* s unless already paused longer; the new pause, if it grew."""
        before = self.paused_until
        self.paused_until = max(before, now + length)
        return self.paused_until - now if self.paused_until > before else None
