"""Tools for testing code that uses braze_async.

The simulator (:mod:`braze_async.simulator`, and the ``braze_simulator`` pytest fixture) plays
Braze; :class:`FakeClock` makes a client's waits instant and deterministic. Give the same
clock to the client (its retry waits and its rate limiter) and to the simulator (its rate-limit
windows): a 429's ``Retry-After``, a full window and a limiter's wait then take exactly as long
as they say, on any machine, without sleeping::

    from braze_async import BrazeClient, Recipient
    from braze_async.simulator import BrazeSimulator
    from braze_async.testing import FakeClock

    clock = FakeClock()
    async with (
        BrazeSimulator(external_id_rate="1/60", clock=clock) as sim,   # one send a minute
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, clock=clock) as braze,
    ):
        for user in ("a", "b"):   # the second is answered 429, then waits for the window
            await braze.trigger_campaign("c", recipients=[Recipient(external_user_id=user)])
    assert clock.sleeps == [60.0]           # exactly one window, slept in no time
    assert sim.stats.accepted == 2

A retry's backoff is drawn at random below its ceiling; ``RetryPolicy(jitter=False)`` makes
it the ceiling itself, for waits a test can assert exactly.
"""

from __future__ import annotations

import asyncio
import math

from ._clock import Clock

__all__ = ["Clock", "FakeClock"]


class FakeClock:
    """A :class:`Clock` that stands still until something sleeps on it.

    A ``sleep(delay)`` moves it on at once by *delay*, then yields to the event loop once (so
    other tasks run, as they would during a real wait); :meth:`advance` moves it without a
    sleep. It also fits the simulator's clock (``BrazeSimulator(clock=...)``): both then share
    one time.

    Sleeps do not overlap: two tasks sleeping 1 s each move it on by 2 s in all. That is
    exact for one sender, and an upper bound for concurrent ones.

    :param epoch: the wall time (UTC epoch seconds) at monotonic time 0; by default
        2023-11-14 00:00:00 UTC, a midnight: on a boundary of every window that divides a day
        (a minute, an hour), as Braze's fixed windows are aligned to the epoch.
    """

    __slots__ = ("_now", "epoch", "sleeps")

    def __init__(self, *, epoch: float = 1_699_920_000.0) -> None:
        self._now = 0.0
        #: The wall time at monotonic time 0.
        self.epoch = epoch
        #: Every delay slept on this clock, in order (a retry's backoff, a limiter's wait).
        self.sleeps: list[float] = []

    @property
    def now(self) -> float:
        """Seconds since the clock was made (its monotonic reading)."""
        return self._now

    def monotonic(self) -> float:
        """Seconds since the clock was made."""
        return self._now

    def time(self) -> float:
        """UTC epoch seconds: ``epoch`` plus the seconds since the clock was made."""
        return self.epoch + self._now

    async def sleep(self, delay: float) -> None:
        """Move the clock on by *delay* (negative: not at all), then yield once to the loop."""
        if math.isnan(delay) or delay == math.inf:
            raise ValueError(f"a FakeClock cannot sleep for ever: nothing would wake it ({delay})")
        self.sleeps.append(delay)
        self._now += max(delay, 0.0)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move the clock on by *seconds* (finite, >= 0) without sleeping."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"a clock moves forward by a finite number of seconds, not {seconds}")
        self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now:g})"
