"""The simulator's two clocks, behind one seam so tests can replace them.

Rate-limit windows need two readings of time: a *monotonic* one to measure how long ago a
request was counted (immune to NTP steps), and a *wall* one because Braze reports
``X-RateLimit-Reset`` in UTC epoch seconds and fixed windows are aligned to the epoch. Tests
inject a fake :class:`Clock` instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the simulator needs from a clock: a monotonic reading and the wall time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (any origin)."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    """The real clocks: :func:`time.monotonic` and :func:`time.time`."""

    __slots__ = ()

    def monotonic(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def time(self) -> float:
        """Seconds from :func:`time.time`."""
        return time.time()
