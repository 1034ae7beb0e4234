"""Where braze_async reads time and waits: one :class:`Clock`, so that a test replaces time once.

Three readings are needed, and one object gives all three to the retry policy and the rate
limiter alike:

* :meth:`Clock.monotonic`: seconds that never go backwards (any origin). The limiter's log,
  its 429 pauses and Remaining caps, and every deadline are timed on it: immune to NTP steps.
* :meth:`Clock.time`: UTC epoch seconds, only to read Braze's ``X-RateLimit-Reset`` (an epoch
  time) into a wait.
* :meth:`Clock.sleep`: the waits themselves: a retry's backoff or ``Retry-After``, and a
  rate limiter's wait for its budget.

:class:`SystemClock` is the real one (the default). Tests give a client
:class:`braze_async.testing.FakeClock`, which stands still until something sleeps on it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What braze_async needs from time: two readings and an async sleep.

    Tests give a client a :class:`~braze_async.testing.FakeClock`; the default is the system's
    clock (``time.monotonic``, ``time.time``, ``asyncio.sleep``).
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (any origin)."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch, UTC."""
        ...

    async def sleep(self, delay: float) -> None:
        """Wait *delay* seconds (a cancellation ends the wait)."""
        ...


class SystemClock:
    """The real time: :func:`time.monotonic`, :func:`time.time` and :func:`asyncio.sleep`."""

    __slots__ = ()

    def monotonic(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def time(self) -> float:
        """Seconds from :func:`time.time`."""
        return time.time()

    async def sleep(self, delay: float) -> None:
        """:func:`asyncio.sleep` for *delay* seconds."""
        await asyncio.sleep(delay)

    def __repr__(self) -> str:
        return "SystemClock()"

    # Every SystemClock reads the same time: equal, so that clients given one each still
    # share their workspace's rate limiter (the shared limiter's budget names its clock).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, SystemClock)

    def __hash__(self) -> int:
        return hash(SystemClock)


#: The clock used when none is given (it holds no state, so one serves everyone).
SYSTEM_CLOCK = SystemClock()
