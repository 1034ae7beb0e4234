"""Hooks for testing code that uses braze_async.

The simulator (:mod:`braze_async.simulator`, and the ``braze_simulator`` pytest fixture) plays
Braze; this module makes a client's own waits deterministic::

    from braze_async.testing import set_retry_timing

    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)            # no real sleep: the test runs at full speed

    braze = BrazeClient(api_key=key, base_url=sim.base_url)
    set_retry_timing(braze, sleep=record, rng=random.Random(0))
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from ._client import BrazeClient

__all__ = ["set_retry_timing"]


def set_retry_timing(
    client: BrazeClient,
    *,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    rng: random.Random | None = None,
) -> BrazeClient:
    """Make *client*'s retry waits call *sleep* (instead of ``asyncio.sleep``) and draw their
    jitter from *rng*. Returns the client, so it can wrap the constructor.

    Only the retry policy's backoff and 429 waits go through *sleep*; the rate limiter's own
    waits are timed by its clock (see :class:`~braze_async.RateLimits`).
    """
    if sleep is not None:
        client._sleep = sleep
    if rng is not None:
        client._rng = rng
    return client
