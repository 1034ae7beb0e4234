"""A wait that a stop ends: how a bulk job's stop reaches every wait of its requests.

A bulk job hands its stop event down with each request (the ``stop`` keyword of the send
path, see :class:`~braze_async._batching.Sender`), and every wait on the request's way, the
rate limiter's and a retry's sleep, is :func:`until` that event. A wait the stop ends raises
:class:`Stopped`: the request is not sent (its outcome stays whatever its earlier attempts
made it). One mechanism, in the task of the request itself: nothing is copied, nudged or
cancelled from outside.

What is raced must be safe to cancel: a cancelled ``RateLimiter.acquire`` leaves its line and
takes nothing (see ``braze_async/_limits/_limiter.py``); a cancelled sleep is just over.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["Stopped", "until"]

T = TypeVar("T")


class Stopped(Exception):
    """The stop came first: what was awaited was abandoned, and nothing was sent for it."""

    def __init__(
        self, message: str = "the job stopped waiting before the request could go"
    ) -> None:
        super().__init__(f"{message}; nothing was sent")


async def until(
    stop: asyncio.Event | None,
    awaitable: Awaitable[T],
    *,
    unused: Callable[[T], object] | None = None,
) -> T:
    """*awaitable*'s result, unless *stop* is set first: then *awaitable* is cancelled (and
    has unwound when this returns) and :class:`Stopped` is raised.

    Once *stop* is set, no wait begins: *awaitable* is not even started. When both happen at
    once, the result wins (a permit that was granted is used, never dropped). When the
    caller is cancelled instead, *awaitable* is cancelled too, and a result it still comes to
    is handed to *unused* (e.g. a permit, to give back): nothing is lost.
    """
    if stop is None:
        return await awaitable
    if stop.is_set():
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never started: nothing to undo
        raise Stopped
    work = asyncio.ensure_future(awaitable)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((work, stopped), return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            work.cancel()
            # Let it unwind (leave the limiter's line) before the caller goes on.
            await asyncio.wait((work,))
    except BaseException:  # the caller was cancelled: nobody will take the result
        work.cancel()
        work.add_done_callback(functools.partial(_hand_over, unused))
        raise
    finally:
        stopped.cancel()
    if work.cancelled():
        raise Stopped
    return work.result()


def _hand_over(unused: Callable[[T], object] | None, work: asyncio.Future[T]) -> None:
    """Give a result nobody awaits any more to *unused* (and retrieve any exception)."""
    if work.cancelled() or work.exception() is not None:
        return
    if unused is not None:
        unused(work.result())
