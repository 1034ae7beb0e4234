"""The requests a bulk job has in flight, as the tasks it started: what a second Ctrl-C
abandons.

``send_bulk`` runs each request in a task of its own, started by the task that awaits the
job. Cancelling those tasks, not the job, abandons the requests and nothing else: each one
ends as it does when the job is cancelled (``unknown`` once the rate limiter admitted it,
``failed``, never sent, before), ``on_outcome`` hears of it, and the job, stopped already by
the first signal, returns its report as after any stop. The command can then print its
summary, unknowns included, and write the failures file whole.

Cancelling the job's own task instead would end it with a ``CancelledError`` and no report.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

__all__ = ["tasks_started"]


@contextlib.contextmanager
def tasks_started() -> Iterator[Callable[[], None]]:
    """While in the block, keep the tasks the current task starts; yield ``abandon``.

    ``abandon()`` cancels those still running, and any the current task starts after it (in
    the block). Tasks started by other tasks or callbacks are left alone. The loop's task
    factory is restored on leaving the block.
    """
    loop = asyncio.get_running_loop()
    owner = asyncio.current_task()
    previous = loop.get_task_factory()
    running: set[asyncio.Future[Any]] = set()
    abandoned = False

    def factory(
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = (
            previous(loop, coro, **kwargs)
            if previous is not None
            else asyncio.Task(coro, loop=loop, **kwargs)
        )
        # The factory runs inside create_task: the current task is the one starting it.
        if asyncio.current_task(loop) is owner:
            if abandoned:
                task.cancel()
            else:
                running.add(task)
                task.add_done_callback(running.discard)
        return task

    def abandon() -> None:
        nonlocal abandoned
        abandoned = True
        for task in list(running):
            task.cancel()

    loop.set_task_factory(factory)
    try:
        yield abandon
    finally:
        loop.set_task_factory(previous)
