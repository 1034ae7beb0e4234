"""One budget per workspace in one process: the clients of a workspace share a limiter.

Braze counts requests per workspace. Two clients of one workspace in one process, each with a
limiter of its own, would each spend the whole budget between them: 429s. So a client does not
build its limiter; it takes a :class:`LimiterShare`, which on first use picks the limiter of
its *budget* from a process-wide registry, or makes it. A budget is identified by:

* its **name**: ``RateLimits.workspace``, else the client's default derived from the REST
  endpoint and a hash of the key (same endpoint and key: same name);
* its **configuration**: the :class:`.RateLimits` value (clients configured differently keep
  apart: the registry never guesses which configuration should win);
* its **event loop**: a limiter's waiters are that loop's futures, so clients running in other
  loops (other threads) get limiters of their own. Across loops, as across processes, share
  the budget through Redis (``RateLimits(redis_url=...)``);
* its **clock**: a limiter runs on one :class:`~braze_async.Clock`, so clients on another
  clock (a test's fake) keep apart; every :class:`~braze_async.SystemClock` is the same one.

The loop is known only once a client is used, so the share looks its limiter up then (a
status read before, outside any loop, reports an idle limiter and takes none). The
registry holds each limiter for as long as a share uses it: the limiter is closed when its
last share closes, and forgotten if its shares are garbage-collected unclosed. A limiter
handed in by the caller (``BrazeClient(limiter=...)``) bypasses the registry and is the
caller's to close.

Each share also lets its own client stop waiting: :meth:`LimiterShare.stop_waiting` fails
that client's acquisitions that would have to wait, never those of the other clients sharing
the limiter.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping
from typing import NamedTuple

from .._clock import SYSTEM_CLOCK, Clock
from ._config import Bucket, BucketStats, Priority, RateLimits
from ._limiter import Permit, RateLimiter

__all__ = ["LimiterShare"]


class _Budget(NamedTuple):
    """What identifies one shared limiter."""

    loop: asyncio.AbstractEventLoop
    name: str
    limits: RateLimits
    clock: Clock


class _Entry:
    __slots__ = ("limiter", "users")

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.users = 0


_lock = threading.Lock()
_registry: dict[_Budget, _Entry] = {}
#: Give-backs of shares collected unclosed, applied under the lock by the next registry call:
#: a finalizer runs wherever the garbage collector does, possibly inside a locked section.
_collected: list[tuple[_Budget, RateLimiter]] = []


def _on_collected(budget: _Budget, limiter: RateLimiter) -> None:
    """A share was garbage-collected unclosed: queue its give-back (no lock taken here)."""
    _collected.append((budget, limiter))


def _take(budget: _Budget) -> RateLimiter:
    """The limiter of *budget*, made if needed, with one more user."""
    with _lock:
        _apply_collected()
        entry = _registry.get(budget)
        if entry is not None and not entry.limiter.closed:
            entry.users += 1
            return entry.limiter
    # Not under the lock: it imports.
    made = RateLimiter(budget.limits, namespace=budget.name, clock=budget.clock)
    with _lock:
        # Nobody took the budget meanwhile: it is the running loop's, so this thread's, and
        # making a limiter takes none.
        entry = _registry[budget] = _Entry(made)
        entry.users = 1
        return made


def _give_back(budget: _Budget, limiter: RateLimiter) -> bool:
    """One user less; True when it was the last (the caller then closes *limiter*)."""
    with _lock:
        _apply_collected()
        return _drop_user(budget, limiter)


def _apply_collected() -> None:
    while _collected:
        _drop_user(*_collected.pop())


def _drop_user(budget: _Budget, limiter: RateLimiter) -> bool:
    entry = _registry.get(budget)
    if entry is None or entry.limiter is not limiter:
        return False
    entry.users -= 1
    if entry.users > 0:
        return False
    del _registry[budget]
    return True


class LimiterShare:
    """One client's use of a rate limiter: the workspace's shared one, or one handed in.

    :param limits: the configuration of the shared limiter (ignored when *limiter* is given).
    :param name: the budget's name when ``limits.workspace`` is None.
    :param limiter: a limiter to use instead (not closed by :meth:`aclose`).
    :param clock: the clock of the shared limiter (ignored when *limiter* is given); the
        :class:`~braze_async.SystemClock` by default.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_finalizer",
        "_give_up",
        "_limiter",
        "_limits",
        "_name",
        "_stop",
    )

    def __init__(
        self,
        limits: RateLimits,
        *,
        name: str,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._limits = limits
        self._clock = SYSTEM_CLOCK if clock is None else clock
        self._name = limits.workspace or name
        self._limiter = limiter
        self._finalizer: weakref.finalize[[_Budget, RateLimiter], LimiterShare] | None = None
        self._stop = threading.Event()
        # Passed on every acquisition; bound to the event, not to self (no reference cycle:
        # an unclosed share is freed, and finalized, as soon as its client is).
        self._give_up = self._stop.is_set

    @property
    def limiter(self) -> RateLimiter:
        """The limiter, looked up in the registry for the running event loop on first use
        (in that loop: a RuntimeError outside any)."""
        limiter = self._limiter
        if limiter is None:
            budget = _Budget(asyncio.get_running_loop(), self._name, self._limits, self._clock)
            limiter = self._limiter = _take(budget)
            # Unclosed and collected: the registry must not keep the limiter for ever.
            self._finalizer = weakref.finalize(self, _on_collected, budget, limiter)
        return limiter

    async def acquire(
        self,
        bucket: Bucket,
        *,
        priority: Priority = "interactive",
        max_wait: float | None = None,
        audience: str | None = None,
    ) -> Permit:
        """:meth:`RateLimiter.acquire` in *priority*'s lane (with *audience*'s key: also
        within that audience's budget); fails instead of waiting once :meth:`stop_waiting`
        was called."""
        return await self.limiter.acquire(
            bucket, priority=priority, max_wait=max_wait, give_up=self._give_up, audience=audience
        )

    def observe(self, bucket: Bucket, status_code: int, headers: Mapping[str, str]) -> None:
        """:meth:`RateLimiter.observe`."""
        self.limiter.observe(bucket, status_code, headers)

    def snapshot(self, bucket: Bucket) -> BucketStats:
        """:meth:`RateLimiter.snapshot`; before the first use and outside any event loop,
        an idle limiter's: which limiter is the budget's depends on the loop to come."""
        if self._limiter is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                idle = RateLimiter(self._limits, namespace=self._name, clock=self._clock)
                return idle.snapshot(bucket)
        return self.limiter.snapshot(bucket)

    def stop_waiting(self) -> None:
        """From now on, this share's acquisitions that would have to wait fail
        (:class:`.LimiterClosed`), those waiting now included; those that can go at once
        still go. Other shares of the limiter are not affected."""
        self._stop.set()
        if self._limiter is not None:
            self._limiter.nudge()

    async def aclose(self) -> None:
        """Stop waiting, and let go of the limiter: the last share of a shared one closes it."""
        self.stop_waiting()
        finalizer, self._finalizer = self._finalizer, None
        taken = None if finalizer is None else finalizer.detach()
        if taken is None:
            return  # handed in, never used, or closed already
        budget, limiter = taken[2]
        if _give_back(budget, limiter):
            await limiter.aclose()
