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

from ._client import set_retry_timing

__all__ = ["set_retry_timing"]
