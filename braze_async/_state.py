"""What a client and its :meth:`~braze_async.BrazeClient.with_options` views share, and
change as they are used: closed or not, the event loop it belongs to, the batchers."""

from __future__ import annotations

import asyncio

from ._batching import Batchers, Batching

__all__ = ["Shared"]


class Shared:
    """The state of a client, shared with its views."""

    __slots__ = ("batchers", "closed", "loop")

    def __init__(self, batching: Batching) -> None:
        self.closed = False
        #: The event loop of the first use (see BrazeClient._check_loop).
        self.loop: asyncio.AbstractEventLoop | None = None
        #: The batchers behind send_one, one per lane, created on first use.
        self.batchers = Batchers(batching)
