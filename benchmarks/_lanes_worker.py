"""One process of bench_lanes' fleet run: the bulk job, or a web app's single sends.

``python -m benchmarks._lanes_worker ROLE URL REDIS_URL WORKSPACE LIMIT PERIOD RESERVE LANE
SECONDS EVERY`` builds a client whose limiter shares the budget through Redis, prints
``ready``, waits for a line on stdin (the start, as the runner's ``time.monotonic()``: one
clock for every process on the machine), then runs for ``SECONDS`` and prints one JSON line:
``{"times": [...]}`` for the bulk job (its requests' start times, s since the start) or
``{"waits": [[t, wait], ...]}`` for the web sends (their limiter waits, s, by when they left).

ROLE ``bulk`` runs ``send_bulk`` at concurrency 64 in the lane ``LANE``; ROLE ``web`` sends one
recipient every ``EVERY`` s (the verbs' default lane, interactive).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Iterator

from braze_async import BrazeClient, Campaign, Rate, RateLimits, Recipient
from braze_async._limits import PRIORITIES, Priority
from braze_async.events import AttemptStarted, BrazeEvent


def recipients(prefix: str) -> Iterator[Recipient]:
    """As many recipients as the job has time for (read lazily)."""
    for i in itertools.count():
        yield Recipient(external_user_id=f"{prefix}{i}")


async def main(argv: list[str]) -> dict[str, object]:
    role, url, redis_url, workspace = argv[:4]
    limit, period, reserve = int(argv[4]), float(argv[5]), float(argv[6])
    lane: Priority = next(p for p in PRIORITIES if p == argv[7])
    seconds, every = float(argv[8]), float(argv[9])
    limits = RateLimits(
        external_id=Rate(limit, period), reserve=reserve, redis_url=redis_url, workspace=workspace
    )
    started: list[tuple[float, float]] = []  # (when, waited) of every attempt
    t0 = 0.0

    def on_event(event: BrazeEvent) -> None:
        if isinstance(event, AttemptStarted) and event.waited is not None:
            started.append((time.monotonic() - t0, event.waited))

    loop = asyncio.get_running_loop()
    async with BrazeClient(
        api_key="sim-key", base_url=url, rate_limits=limits, on_event=on_event
    ) as client:
        print("ready", flush=True)
        t0 = float(await loop.run_in_executor(None, sys.stdin.readline))
        if role == "bulk":
            stop = asyncio.Event()
            loop.call_later(seconds, stop.set)
            job = recipients(f"{workspace}-b")
            await client.send_bulk(
                Campaign("weekly"), job, concurrency=64, stop=stop, priority=lane
            )
            return {"times": [t for t, _ in started]}
        sends = []
        for i in range(int(seconds / every)):
            one = [Recipient(external_user_id=f"{workspace}-w{role}{i}")]
            sends.append(asyncio.ensure_future(client.send(Campaign("reset"), recipients=one)))
            await asyncio.sleep(every)
        await asyncio.gather(*sends)
        return {"waits": started}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))), flush=True)
