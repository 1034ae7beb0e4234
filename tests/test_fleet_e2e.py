"""A fleet of three processes shares one Redis budget against the simulator: zero 429s.

Each process runs its own BrazeClient with ``RateLimits(redis_url=..., workspace=...)`` and
fires a burst at once; the simulator (in this process, on a loopback port) enforces the same
limit. Real time: short windows and generous bounds.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import _redis_server
import pytest

from braze_async.simulator import ThreadedSimulator

ROOT = Path(__file__).resolve().parent.parent
LIMIT, PERIOD, PER_PROCESS = 10, 1.0, 15

WORKER = f"""
import asyncio, sys
from braze_async import BrazeClient, Campaign, Rate, RateLimits, Recipient, RetryPolicy

async def main(url, redis_url, workspace, name, n):
    limits = RateLimits(
        external_id=Rate({LIMIT}, {PERIOD}), redis_url=redis_url, workspace=workspace
    )
    async with BrazeClient(api_key="sim-key", base_url=url, rate_limits=limits,
                           retry=RetryPolicy(rate_limited_attempts=50)) as braze:
        await asyncio.gather(*(
            braze.send(Campaign("c"), recipients=[Recipient(external_user_id=f"{{name}}-{{i}}")])
            for i in range(n)
        ))

asyncio.run(main(*sys.argv[1:5], int(sys.argv[5])))
"""


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for this module."""
    with _redis_server.redis_server(tmp_path_factory.mktemp("redis-fleet")) as url:
        yield url


def test_three_processes_share_one_budget_with_zero_429s(redis_url: str) -> None:
    """45 requests from three processes at once against 10/s: no 429, each delivered once,
    and it takes the windows it must (the budget really is shared)."""
    workspace = f"fleet-{uuid.uuid4().hex[:8]}"
    with ThreadedSimulator(external_id_rate=(LIMIT, PERIOD), window="sliding") as sim:
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    sim.base_url,
                    redis_url,
                    workspace,
                    f"p{k}",
                    str(PER_PROCESS),
                ],
                cwd=ROOT,
            )
            for k in range(3)
        ]
        codes = [p.wait(timeout=120) for p in procs]
        elapsed = time.monotonic() - started
        assert codes == [0, 0, 0]
        assert sim.stats.rate_limited == 0
        expected = Counter({f"external_user_id:p{k}-{i}": 1 for k in range(3) for i in range(15)})
        assert sim.delivered_counts() == expected
    # 45 requests at 10 per second need at least four more windows after the first burst.
    assert elapsed >= 3.5
