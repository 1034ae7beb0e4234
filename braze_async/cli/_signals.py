"""Ctrl-C and SIGTERM during ``braze-async send``.

The first one stops the job cleanly: no new requests, those still waiting for the rate limiter
are not sent ('failed', safe to send again), those in flight are answered and journaled. A
second one abandons those in flight (see :mod:`._in_flight`): their recipients become
'unknown' (or 'failed', never sent, if the rate limiter had not admitted them yet), and the
job still ends with its summary. Later ones change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

__all__ = ["stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals(
    stop: asyncio.Event, abandon: Callable[[], None], say: Callable[[str], None]
) -> Iterator[list[int]]:
    """SIGINT / SIGTERM set ``stop``; a second one calls ``abandon``.

    Yields the signals received, in order (empty if none); ``say`` tells the user what each
    of the first two does.
    """
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def handle(signum: int) -> None:
        received.append(signum)
        name = signal.Signals(signum).name
        if len(received) == 1:
            stop.set()
            say(
                f"{name}: stopping; no new requests (none waits for the rate limiter), "
                "waiting for those in flight (press Ctrl-C again to abandon them: they "
                "become 'unknown')"
            )
        elif len(received) == 2:
            abandon()
            say(
                f"{name} again: abandoned the requests in flight: their recipients are "
                "'unknown' (not resent), or 'failed' if still waiting for the rate limiter"
            )

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
