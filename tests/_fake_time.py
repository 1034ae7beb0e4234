"""A fake clock for the rate limiter's tests of concurrent waiters: time moves only when told.

:class:`FakeTime` is a :class:`braze_async.Clock` (pass it as ``clock=``) whose sleeps are
timers: it jumps from one timer to the next as soon as every task is blocked, so no test
sleeps for real and concurrent waits overlap as they would in real time. The public
:class:`braze_async.testing.FakeClock` serves every other test: its sleeps move time at once
and one after the other, which cannot tell two waiters woken at the same instant from two
woken in turn, and which needs no look at asyncio's private ready queue (``settle`` does).
Its wall clock can be stepped (NTP, a resumed VM) without moving the monotonic one;
:meth:`FakeTime.simulator_clock` gives the Braze simulator the same time.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
from collections.abc import Iterable
from typing import Any

__all__ = ["EPOCH", "FakeTime"]

#: The wall time at fake time 0: on a boundary of every window of 1, 2, 4, 10 or 60 s.
EPOCH = 1_700_000_000.0


class FakeTime:
    """A :class:`braze_async.Clock` whose sleeps are timers fired when all tasks are idle."""

    def __init__(self) -> None:
        self.now = 0.0
        #: How far the wall clock was stepped away from EPOCH + now.
        self.wall_step = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return EPOCH + self.now + self.wall_step

    def step_wall(self, seconds: float) -> None:
        """Step the wall clock (only) by *seconds*, forward or back."""
        self.wall_step += seconds

    def simulator_clock(self) -> SimulatorClock:
        """This time as the simulator's clock (its wall time is Braze's, never stepped)."""
        return SimulatorClock(self)

    async def sleep(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(delay, 0.0), next(self._seq), fut))
        await fut

    async def settle(self) -> None:
        """Yield until no other task is ready to run."""
        loop = asyncio.get_running_loop()
        ready: collections.deque[object] = getattr(loop, "_ready")  # noqa: B009
        for _ in range(1_000_000):
            await asyncio.sleep(0)
            if not ready:
                return
        raise AssertionError("the event loop never went idle")

    async def _fire_next(self, until: float) -> bool:
        while self._timers and self._timers[0][0] <= until:
            when, _, fut = heapq.heappop(self._timers)
            if fut.done():  # its sleeper was cancelled
                continue
            self.now = max(self.now, when)
            fut.set_result(None)
            await self.settle()
            return True
        return False

    async def advance(self, seconds: float) -> None:
        """Let *seconds* of fake time pass, firing every timer due on the way."""
        target = self.now + seconds
        await self.settle()
        while await self._fire_next(target):
            pass
        self.now = target
        await self.settle()

    async def run(self, tasks: Iterable[asyncio.Future[Any]], *, limit: float = 1e9) -> None:
        """Jump from timer to timer until every task is done."""
        pending = list(tasks)
        await self.settle()
        while not all(t.done() for t in pending):
            if not await self._fire_next(limit):
                raise AssertionError(f"deadlock at t={self.now}")
        for t in pending:
            t.result()


class SimulatorClock:
    """:class:`FakeTime` seen by the Braze simulator: Braze's clock does not step with ours."""

    def __init__(self, ft: FakeTime) -> None:
        self._ft = ft

    def monotonic(self) -> float:
        return self._ft.now

    def time(self) -> float:
        return EPOCH + self._ft.now
