"""One waiter's place in a line of the rate limiter: between two looks it sleeps on a
future of its own, which one function, :func:`wake`, ends (its timer, a release, the line
moving, closing). Shared by the budgets' lines (:mod:`._limiter`) and the audiences' lines
(:mod:`._audiences`)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeAlias

__all__ = ["Sleep", "Waiter", "wake"]

#: An async sleep: waits the given seconds.
Sleep: TypeAlias = Callable[[float], Awaitable[object]]


class Waiter:
    """One acquisition's place in line; between two looks it waits on a future of its own."""

    __slots__ = ("_fut", "bulk", "number")

    def __init__(self, number: int, bulk: bool) -> None:
        self._fut: asyncio.Future[None] | None = None
        #: Its place in the order of arrival (to tell who was in line when the engine failed).
        self.number = number
        #: Its lane: bulk waits behind every interactive waiter and leaves the reserve.
        self.bulk = bulk

    def wake(self) -> None:
        """End the current wait, if any: the waiter looks again."""
        if self._fut is not None:
            wake(self._fut)

    async def wait(self, delay: float, sleep: Sleep | None) -> None:
        """Sleep until woken, or until *delay* seconds passed (``inf``: no timer).

        The timer is the event loop's, or one that awaits *sleep* when given (tests' fake).
        """
        loop = asyncio.get_running_loop()
        fut = self._fut = loop.create_future()
        alarm: asyncio.TimerHandle | asyncio.Task[None] | None = None
        if not math.isinf(delay):
            delay = max(delay, 1e-6)
            if sleep is None:
                alarm = loop.call_later(delay, wake, fut)
            else:
                alarm = loop.create_task(wake_after(sleep, delay, fut))
        try:
            await fut
        finally:
            self._fut = None
            if alarm is not None:
                alarm.cancel()


def wake(fut: asyncio.Future[None]) -> None:
    """The one way a sleeping waiter is woken, whoever wakes it."""
    if not fut.done():
        fut.set_result(None)


async def wake_after(sleep: Sleep, delay: float, fut: asyncio.Future[None]) -> None:
    """Wake *fut* once *sleep* slept *delay* seconds (a clock that is not the event loop's)."""
    await sleep(delay)
    wake(fut)
