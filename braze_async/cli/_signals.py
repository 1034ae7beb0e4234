"""Ctrl-C and SIGTERM during ``braze-async send``.

The first one stops the job cleanly: no new requests, those in flight are answered and
journaled. A second one abandons those in flight: their recipients become 'unknown'.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

__all__ = ["stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event, say: Callable[[str], None]) -> Iterator[list[int]]:
    """SIGINT / SIGTERM set ``stop``; a second one cancels the current task.

    Yields the signals received, in order (empty if none); ``say`` tells the user what the
    first one does.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def handle(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            stop.set()
            say(
                f"{signal.Signals(signum).name}: stopping; no new requests, waiting for those in "
                "flight (press Ctrl-C again to abandon them: they become 'unknown')"
            )
        elif task is not None:
            task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, handle, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
            pass
    try:
        yield received
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
