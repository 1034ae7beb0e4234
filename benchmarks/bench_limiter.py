"""Limiter cost: one acquire + release when the budget is free, and per request end to end."""

from __future__ import annotations

import asyncio
import time

from braze_async import Rate, RateLimits
from braze_async._limits import Bucket, RateLimiter

from ._common import Row, echo_server, standalone
from .bench_overhead import measure

SECTION = "Rate limiter overhead (budget free)"
HOW_TO_READ = (
    "what the limiter's bookkeeping costs when it never has to wait; the ratio of client CPU "
    "per request with the limiter on over off should be close to 1."
)
PLOTS: tuple[str, ...] = ()


async def acquire_release(n: int) -> float:
    """Microseconds per acquire + release on Braze's default limits."""
    limiter = RateLimiter(RateLimits())
    start = time.perf_counter()
    for _ in range(n):
        (await limiter.acquire(Bucket.EXTERNAL_ID)).release()
    elapsed = time.perf_counter() - start
    await limiter.aclose()
    return elapsed / n * 1e6


async def first_second(limit: int) -> tuple[int, int]:
    """Admissions in the first 0.95 s of a fresh limiter of *limit* per second: aiolimiter's
    AsyncLimiter, then ours (the baseline a leaky bucket gives, against the exact log)."""
    import aiolimiter

    async def count(acquire: object) -> int:
        start = time.monotonic()
        admitted = 0
        while True:
            await acquire()  # type: ignore[operator]
            if time.monotonic() - start >= 0.95:
                return admitted
            admitted += 1

    leaky = aiolimiter.AsyncLimiter(limit, 1.0)
    ours = RateLimiter(RateLimits(audience=Rate(limit, 1.0)))

    async def ours_acquire() -> None:
        (await ours.acquire(Bucket.AUDIENCE)).release()

    theirs = await count(leaky.acquire)
    exact = await count(ours_acquire)
    await ours.aclose()
    return theirs, exact


def run(quick: bool) -> list[Row]:
    n = 20_000 if quick else 200_000  # under the 250,000/hour default, so nothing waits
    per_permit = min(asyncio.run(acquire_release(n)) for _ in range(3))
    requests = 600 if quick else 3000
    with echo_server() as url:
        with_limiter = measure(url, "braze_async", 16, requests)
        without = measure(url, "braze_async-nolimit", 16, requests)
    leaky, exact = asyncio.run(first_second(10))
    return [
        Row(
            SECTION,
            "admitted in the first second at 10/s: aiolimiter.AsyncLimiter(10, 1.0)",
            leaky,
            "requests",
            "the limit",
            leaky / 10,
            note="a leaky bucket admits a burst and keeps leaking: over the limit",
        ),
        Row(
            SECTION,
            "admitted in the first second at 10/s: braze_async RateLimiter",
            exact,
            "requests",
            "the limit",
            exact / 10,
            "<= 1.0x",
            exact <= 10,
        ),
        Row(SECTION, "acquire + release, free budget", per_permit, "us", note=f"{n:,} permits"),
        Row(
            SECTION,
            "client CPU per request, limiter on (c=16)",
            with_limiter,
            "us",
            "limiter off",
            with_limiter / without,
            "~1.0x",
        ),
        Row(SECTION, "client CPU per request, limiter off (c=16)", without, "us"),
    ]


if __name__ == "__main__":
    standalone(run)
